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
#include "cdc_kafka.h"

namespace cdc_core {

/* True for a property whose value is, or may embed, a secret (any case). */
bool		secret_property(std::string_view name);

/* The first secret-bearing property named in a kafka_properties text, or "". */
std::string secret_property_in(std::string_view text);

/*
 * cdc_plugin.kafka_properties, "name=value;name=value" -> pairs. Throws
 * naming the property, or for an item without a name or '=' its position;
 * never quoting a value. Secret-bearing and reserved properties are refused.
 */
std::vector<std::pair<std::string, std::string>> parse_kafka_properties(std::string_view text);

/*
 * The content of cdc_plugin.kafka_properties_file: one name=value per line,
 * the value everything after the first '=' (';' and '=' included),
 * surrounding blanks trimmed; blank lines and lines starting with '#' are
 * skipped. Errors name the property or the line, never a value. Reserved
 * properties are refused; secrets are what the file is for.
 */
std::vector<std::pair<std::string, std::string>> parse_kafka_properties_file(std::string_view text);

/* The producer's fixed defaults. */
std::vector<std::pair<std::string, std::string>> default_properties(const std::string &servers);

/*
 * The properties the producer is built with: defaults first, then
 * kafka_properties, then the file's (the last one of a name wins).
 */
std::vector<std::pair<std::string, std::string>>
producer_properties(std::string_view bootstrap_servers, std::string_view user_properties,
					std::string_view file_properties = "");

/* The values a message must never show: those of secret-bearing properties (and parts). */
std::vector<std::string>
secret_values(const std::vector<std::pair<std::string, std::string>> &props);

/* text with every occurrence of each needle replaced by "[redacted]". */
std::string redact(std::string text, std::vector<std::string> needles);

/*
 * What a message about a broker must not quote from
 * cdc_plugin.kafka_bootstrap_servers: each host:port item and its host.
 */
std::vector<std::string> bootstrap_needles(std::string_view bootstrap_servers);

/*
 * The cause in librdkafka's text of a broker connection error (error
 * callback, RD_KAFKA_RESP_ERR__TRANSPORT and the like), fit to show: without
 * the broker's name, the "(after Nms in state X, N identical error(s)
 * suppressed)" that differs at every retry, the address in "Connect to
 * ADDRESS failed: REASON" or "Failed to resolve 'ADDRESS': REASON", the
 * hint "probably due to broker version < 0.10 (...)" when the broker never
 * answered (a local error, a refused connection), and with every needle
 * redacted. E.g. "Connection refused".
 */
std::string broker_error_cause(std::string_view reason, const std::vector<std::string> &needles);

/* Whether a broker_error_cause is an open connection that went away, not a failed attempt. */
bool		broker_connection_dropped(std::string_view cause);

class KafkaProducer
{
public:
	struct LogLine
	{
		int level;				/* cdc_log_level */
		std::string text;
	};

	KafkaProducer(std::string_view bootstrap_servers, std::string_view properties,
				  std::string_view file_properties, int wake_fd);
	~KafkaProducer();
	KafkaProducer(const KafkaProducer &) = delete;
	KafkaProducer &operator=(const KafkaProducer &) = delete;

	/* Builds (and frees) an rd_kafka_conf_t only: validates without threads. */
	static void validate(std::string_view bootstrap_servers, std::string_view properties,
						 std::string_view file_properties);

	/*
	 * 0 queued, 1 queue full (poll and send again); throws on other
	 * errors, and for a message the queue could never hold (headers
	 * counted). headers (nheaders of them, copied) go with the message;
	 * none are allocated when nheaders is 0.
	 */
	int send(const char *topic, int32_t partition, const void *key, size_t keylen,
			 const void *value, size_t valuelen,
			 const cdc_header *headers = nullptr, size_t nheaders = 0);

	/*
	 * The topic's partition count from a metadata request waiting at most
	 * timeout_ms: > 0 known, 0 not known yet (ask again); throws on errors
	 * that asking again cannot fix.
	 */
	int partition_count(const char *topic, int timeout_ms);
	void poll(int timeout_ms);

	AckTracker &tracker() { return tracker_; }
	const AckTracker &tracker() const { return tracker_; }
	int broker_state() const { return broker_state_; }
	/* 1 reachable, 0 every broker unreachable (*cause says why), -1 not known */
	int brokers_reachable(std::string *cause) const;
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
	void set_failure(const std::string &why);	/* keeps the first */
	void note_broker_up();		/* a broker answered: any outage is over */
	void note_broker_error(int err, const char *reason);
	std::string scrub(const std::string &text) const;	/* secrets redacted */
	[[noreturn]] void refuse_too_large(uint64_t size);
	[[noreturn]] void refuse(const std::string &why);	/* counted unsent, failed */

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
	bool all_down_ = false;		/* librdkafka said all brokers are down; none up since */
	bool unreachable_ = false;	/* ... and a connection attempt failed since */
	std::string broker_error_;	/* the last broker_error_cause since a broker was up */
	std::vector<std::string> bootstrap_needles_;	/* not to be quoted */
	std::string failure_;
	std::vector<std::string> secrets_;	/* values no message may show */
};

}							/* namespace cdc_core */

#endif							/* CDC_KAFKA_PRODUCER_HPP */
