/*
 * kafka_producer.hpp — the librdkafka producer behind cdc_kafka.h.
 *
 * Owns one rd_kafka_t configured for at-least-once delivery (idempotent,
 * acks=all, no message timeout, Java-compatible murmur2_random partitioner)
 * plus user properties on top, and the AckTracker fed by its delivery
 * reports. Callbacks run only inside poll() on the caller's thread; they
 * record data and never call out of the core.
 */
#ifndef CDC_KAFKA_PRODUCER_HPP
#define CDC_KAFKA_PRODUCER_HPP

#include "core_only.hpp"

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ack_tracker.hpp"

namespace cdc_core {

/* "name=value;name=value" -> pairs; throws naming the bad entry. */
std::vector<std::pair<std::string, std::string>> parse_kafka_properties(std::string_view text);

/* The properties the producer is built with, defaults first, user's on top. */
std::vector<std::pair<std::string, std::string>>
producer_properties(std::string_view bootstrap_servers, std::string_view user_properties);

class KafkaProducer
{
public:
	struct LogLine
	{
		int level;				/* cdc_log_level */
		std::string text;
	};

	KafkaProducer(std::string_view bootstrap_servers, std::string_view properties, int wake_fd);
	~KafkaProducer();
	KafkaProducer(const KafkaProducer &) = delete;
	KafkaProducer &operator=(const KafkaProducer &) = delete;

	/* Builds (and frees) an rd_kafka_conf_t only: validates without threads. */
	static void validate(std::string_view bootstrap_servers, std::string_view properties);

	/*
	 * 0 queued, 1 queue full (poll and send again); throws on other
	 * errors, and for a message the queue could never hold.
	 */
	int send(const char *topic, const void *key, size_t keylen,
			 const void *value, size_t valuelen);
	void poll(int timeout_ms);

	AckTracker &tracker() { return tracker_; }
	const AckTracker &tracker() const { return tracker_; }
	int broker_state() const { return broker_state_; }
	bool failed() const { return !failure_.empty(); }
	const std::string &failure() const { return failure_; }
	bool next_log(LogLine *out);

	/* librdkafka callbacks (static trampolines call these) */
	void on_delivery(const rd_kafka_message_t *msg);
	void on_error(int err, const char *reason);
	void on_log(int level, const char *fac, const char *buf);
	void on_stats(const char *json, size_t len);

private:
	rd_kafka_topic_t *topic_handle(const char *topic);
	void add_log(int level, std::string text);
	[[noreturn]] void refuse_too_large(uint64_t size);

	rd_kafka_t *rk_ = nullptr;
	int wake_fd_ = -1;
	uint64_t queue_max_bytes_ = 0;	/* queue.buffering.max.kbytes in bytes; 0: unknown */			/* write end, given to librdkafka */
	AckTracker tracker_;
	std::unordered_map<std::string, rd_kafka_topic_t *> topics_;
	std::string last_topic_name_;
	rd_kafka_topic_t *last_topic_ = nullptr;
	std::deque<LogLine> logs_;
	uint64_t dropped_logs_ = 0;
	int broker_state_ = -1;
	std::string failure_;
};

}							/* namespace cdc_core */

#endif							/* CDC_KAFKA_PRODUCER_HPP */
