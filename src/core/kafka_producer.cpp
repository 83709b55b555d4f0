/*
 * kafka_producer.cpp — librdkafka producer, property parsing, delivery
 * bookkeeping, and the extern "C" functions of cdc_kafka.h.
 *
 * librdkafka's callbacks are served only from poll() on the caller's thread (logs are routed to the main queue with log.queue=true),
 * so they can touch this object without locks. They must not throw into
 * librdkafka: each one catches everything.
 */
#include "core_only.hpp"

#include "kafka_producer.hpp"

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <pthread.h>

#include "cdc_kafka.h"
#include "core_util.hpp"

namespace cdc_core {

namespace {

constexpr size_t kMaxQueuedLogs = 1000;

std::string
trim(std::string_view s)
{
	size_t b = 0,
		e = s.size();

	while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\n' || s[b] == '\r'))
		b++;
	while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n' || s[e - 1] == '\r'))
		e--;
	return std::string(s.substr(b, e - b));
}

/* Properties the extension sets itself; a user may not override them. */
bool
reserved_property(const std::string &name, std::string *why)
{
	if (name == "bootstrap.servers" || name == "metadata.broker.list")
	{
		*why = "set the brokers with cdc_plugin.kafka_bootstrap_servers instead";
		return true;
	}
	if (name == "log.queue")
	{
		*why = "the worker must receive librdkafka's logs on its own thread";
		return true;
	}
	return false;
}

extern "C" void
delivery_trampoline(rd_kafka_t *, const rd_kafka_message_t *msg, void *opaque)
{
	try
	{
		static_cast<KafkaProducer *>(opaque)->on_delivery(msg);
	}
	catch (...)
	{
	}
}

extern "C" void
error_trampoline(rd_kafka_t *, int err, const char *reason, void *opaque)
{
	try
	{
		static_cast<KafkaProducer *>(opaque)->on_error(err, reason);
	}
	catch (...)
	{
	}
}

extern "C" void
log_trampoline(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	try
	{
		void	   *opaque = rd_kafka_opaque(rk);

		if (opaque != nullptr)
			static_cast<KafkaProducer *>(opaque)->on_log(level, fac, buf);
	}
	catch (...)
	{
	}
}

extern "C" int
stats_trampoline(rd_kafka_t *, char *json, size_t len, void *opaque)
{
	try
	{
		static_cast<KafkaProducer *>(opaque)->on_stats(json, len);
	}
	catch (...)
	{
	}
	return 0;					/* librdkafka frees json */
}

/* rd_kafka_conf_t with every property applied; throws naming a bad one. */
rd_kafka_conf_t *
build_conf(std::string_view bootstrap_servers, std::string_view properties)
{
	std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)>
		conf(rd_kafka_conf_new(), rd_kafka_conf_destroy);
	char		err[512];

	if (!conf)
		fail("could not allocate a librdkafka configuration");
	for (const auto &[name, value] : producer_properties(bootstrap_servers, properties))
	{
		if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), err, sizeof(err))
			!= RD_KAFKA_CONF_OK)
			fail("invalid Kafka property \"" + name + "\": " + err);
	}
	return conf.release();
}

}							/* namespace */

std::vector<std::pair<std::string, std::string>>
parse_kafka_properties(std::string_view text)
{
	std::vector<std::pair<std::string, std::string>> out;
	size_t		pos = 0;

	while (pos <= text.size())
	{
		size_t		end = text.find(';', pos);
		std::string item;

		if (end == std::string_view::npos)
			end = text.size();
		item = trim(text.substr(pos, end - pos));
		pos = end + 1;
		if (item.empty())
			continue;
		size_t		eq = item.find('=');

		if (eq == std::string::npos)
			fail("Kafka property \"" + item + "\" has no value: write name=value");
		std::string name = trim(std::string_view(item).substr(0, eq));
		std::string value = trim(std::string_view(item).substr(eq + 1));

		if (name.empty())
			fail("Kafka property \"" + item + "\" has no name: write name=value");
		std::string why;

		if (reserved_property(name, &why))
			fail("Kafka property \"" + name + "\" cannot be set in cdc_plugin.kafka_properties: " + why);
		out.emplace_back(std::move(name), std::move(value));
	}
	return out;
}

std::vector<std::pair<std::string, std::string>>
producer_properties(std::string_view bootstrap_servers, std::string_view user_properties)
{
	std::string servers = trim(bootstrap_servers);

	if (servers.empty())
		fail("no Kafka brokers configured: cdc_plugin.kafka_bootstrap_servers is empty");

	std::vector<std::pair<std::string, std::string>> props = {
		{"bootstrap.servers", servers},
		{"client.id", "cdc_plugin"},
		/* at-least-once, in order per partition, nothing expires silently */
		{"enable.idempotence", "true"},
		{"acks", "all"},
		{"message.timeout.ms", "0"},
		/* the Java client's partitioner: same key, same partition */
		{"partitioner", "murmur2_random"},
		/* bounded memory: a full queue makes the worker wait */
		{"queue.buffering.max.kbytes", "65536"},
		{"linger.ms", "5"},
		{"log.queue", "true"},
		{"statistics.interval.ms", "1000"},
	};
	for (auto &p : parse_kafka_properties(user_properties))
		props.push_back(std::move(p));
	return props;
}

void
KafkaProducer::validate(std::string_view bootstrap_servers, std::string_view properties)
{
	rd_kafka_conf_destroy(build_conf(bootstrap_servers, properties));
}

KafkaProducer::KafkaProducer(std::string_view bootstrap_servers, std::string_view properties,
							 int wake_fd)
{
	rd_kafka_conf_t *conf = build_conf(bootstrap_servers, properties);
	char		err[512];
	sigset_t	all,
				old;

	{
		char		buf[32];
		size_t		len = sizeof(buf);

		if (rd_kafka_conf_get(conf, "queue.buffering.max.kbytes", buf, &len) == RD_KAFKA_CONF_OK)
			queue_max_bytes_ = std::strtoull(buf, nullptr, 10) * 1024;
	}
	rd_kafka_conf_set_opaque(conf, this);
	rd_kafka_conf_set_dr_msg_cb(conf, delivery_trampoline);
	rd_kafka_conf_set_error_cb(conf, error_trampoline);
	rd_kafka_conf_set_log_cb(conf, log_trampoline);
	rd_kafka_conf_set_stats_cb(conf, stats_trampoline);

	/* librdkafka's threads inherit this mask: signals stay with the backend */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	pthread_sigmask(SIG_SETMASK, &old, nullptr);
	if (rk_ == nullptr)
	{
		rd_kafka_conf_destroy(conf);	/* not taken over on failure */
		fail(std::string("could not create the Kafka producer: ") + err);
	}
	/* logs go to the main queue, served by poll() on our thread */
	rd_kafka_set_log_queue(rk_, nullptr);
	if (wake_fd >= 0)
	{
		rd_kafka_queue_t *q = rd_kafka_queue_get_main(rk_);

		rd_kafka_queue_io_event_enable(q, wake_fd, "1", 1);
		rd_kafka_queue_destroy(q);
		wake_fd_ = wake_fd;
	}
}

KafkaProducer::~KafkaProducer()
{
	if (rk_ == nullptr)
		return;
	rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	rd_kafka_poll(rk_, 0);
	for (auto &t : topics_)
		rd_kafka_topic_destroy(t.second);
	if (wake_fd_ >= 0)
	{
		rd_kafka_queue_t *q = rd_kafka_queue_get_main(rk_);

		rd_kafka_queue_io_event_enable(q, -1, nullptr, 0);
		rd_kafka_queue_destroy(q);
	}
	rd_kafka_destroy(rk_);
}

rd_kafka_topic_t *
KafkaProducer::topic_handle(const char *topic)
{
	if (last_topic_ != nullptr && last_topic_name_ == topic)
		return last_topic_;
	auto it = topics_.find(topic);

	if (it == topics_.end())
	{
		rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk_, topic, nullptr);

		if (rkt == nullptr)
			fail(std::string("could not create a handle for topic \"") + topic + "\": "
				 + rd_kafka_err2str(rd_kafka_last_error()));
		it = topics_.emplace(topic, rkt).first;
	}
	last_topic_name_ = topic;
	last_topic_ = it->second;
	return last_topic_;
}

int
KafkaProducer::send(const char *topic, const void *key, size_t keylen,
					const void *value, size_t valuelen)
{
	rd_kafka_topic_t *rkt = topic_handle(topic);
	AckTracker::TxnId id = tracker_.open();
	rd_kafka_resp_err_t err;
	uint64_t	size = (key ? keylen : 0) + (value ? valuelen : 0);

	/* librdkafka would report such a message "queue full" forever */
	if (queue_max_bytes_ > 0 && size > queue_max_bytes_)
		refuse_too_large(size);

	err = rd_kafka_producev(rk_,
							RD_KAFKA_V_RKT(rkt),
							RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
							RD_KAFKA_V_KEY(const_cast<void *>(key), key ? keylen : 0),
							RD_KAFKA_V_VALUE(const_cast<void *>(value), value ? valuelen : 0),
							RD_KAFKA_V_OPAQUE(reinterpret_cast<void *>(static_cast<uintptr_t>(id))),
							RD_KAFKA_V_END);
	if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
	{
		/* an empty queue that is full: this message alone does not fit */
		if (tracker_.messages_in_flight() == 0)
			refuse_too_large(size);
		return 1;
	}
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		/* like a failed delivery: the session must start over */
		std::string why;

		if (err == RD_KAFKA_RESP_ERR__FATAL)
		{
			char		buf[512];

			rd_kafka_fatal_error(rk_, buf, sizeof(buf));
			why = std::string("fatal Kafka producer error: ") + buf;
		}
		else
			why = std::string("could not queue a message for topic \"") + topic + "\": "
				+ rd_kafka_err2str(err);
		tracker_.count_unsent();
		if (failure_.empty())
			failure_ = why;
		fail(why);
	}
	tracker_.add_message(keylen + valuelen);
	return 0;
}

void
KafkaProducer::refuse_too_large(uint64_t size)
{
	std::string why = "a message of " + std::to_string(size)
		+ " bytes does not fit in the producer queue: raise queue.buffering.max.kbytes"
		" (and message.max.bytes, and the topic's max.message.bytes) in"
		" cdc_plugin.kafka_properties above the largest row";

	tracker_.count_unsent();
	if (failure_.empty())
		failure_ = why;
	fail(why);
}

void
KafkaProducer::poll(int timeout_ms)
{
	rd_kafka_poll(rk_, timeout_ms);
}

void
KafkaProducer::on_delivery(const rd_kafka_message_t *msg)
{
	auto id = static_cast<AckTracker::TxnId>(reinterpret_cast<uintptr_t>(msg->_private));
	bool ok = msg->err == RD_KAFKA_RESP_ERR_NO_ERROR;

	tracker_.acknowledge(id, ok);
	if (ok)
		broker_state_ = 1;
	else if (failure_.empty() && msg->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE &&
			 msg->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
		failure_ = std::string("delivery to topic \"") + rd_kafka_topic_name(msg->rkt)
			+ "\" failed: " + rd_kafka_err2str(msg->err);
}

void
KafkaProducer::on_error(int err, const char *reason)
{
	auto code = static_cast<rd_kafka_resp_err_t>(err);

	if (code == RD_KAFKA_RESP_ERR__FATAL)
	{
		char		buf[512];

		rd_kafka_fatal_error(rk_, buf, sizeof(buf));
		if (failure_.empty())
			failure_ = std::string("fatal Kafka producer error: ") + buf;
		add_log(CDC_LOG_ERROR, failure_);
		return;
	}
	if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
	{
		/* said once per outage; each failed connection is logged by librdkafka itself */
		if (broker_state_ != 0)
			add_log(CDC_LOG_WARNING, std::string("Kafka: ") + (reason ? reason : "all brokers are down"));
		broker_state_ = 0;
		return;
	}
	if (code == RD_KAFKA_RESP_ERR__TRANSPORT)
		return;					/* the same text as librdkafka's own log line */
	add_log(CDC_LOG_WARNING, std::string("Kafka: ") + rd_kafka_err2name(code) + ": "
			+ (reason ? reason : ""));
}

void
KafkaProducer::on_log(int level, const char *fac, const char *buf)
{
	/* syslog levels: 0-3 errors, 4 warning, 5-6 notice/info, 7 debug */
	int			ours = level <= 3 ? CDC_LOG_ERROR :
		level == 4 ? CDC_LOG_WARNING : level <= 6 ? CDC_LOG_INFO : CDC_LOG_DEBUG;

	add_log(ours, std::string("librdkafka ") + (fac ? fac : "") + ": " + (buf ? buf : ""));
}

void
KafkaProducer::on_stats(const char *json, size_t len)
{
	/* any broker in state UP counts as connected */
	std::string_view s(json, len);

	broker_state_ = s.find("\"state\":\"UP\"") != std::string_view::npos ? 1 : 0;
}

void
KafkaProducer::add_log(int level, std::string text)
{
	if (logs_.size() >= kMaxQueuedLogs)
	{
		logs_.pop_front();
		dropped_logs_++;
	}
	logs_.push_back(LogLine{level, std::move(text)});
}

bool
KafkaProducer::next_log(LogLine *out)
{
	if (dropped_logs_ > 0)
	{
		out->level = CDC_LOG_WARNING;
		out->text = std::to_string(dropped_logs_) + " librdkafka log lines were dropped";
		dropped_logs_ = 0;
		return true;
	}
	if (logs_.empty())
		return false;
	*out = std::move(logs_.front());
	logs_.pop_front();
	return true;
}

}							/* namespace cdc_core */

/* ---- extern "C" entry points (cdc_kafka.h) ---- */

using cdc_core::AckTracker;
using cdc_core::KafkaProducer;
using cdc_core::copy_error;
using cdc_core::report_current_exception;

struct cdc_producer
{
	KafkaProducer impl;

	cdc_producer(const cdc_producer_config *c)
		: impl(c->bootstrap_servers ? c->bootstrap_servers : "",
			   c->properties ? c->properties : "", c->wake_fd) {}
};

extern "C" cdc_producer *
cdc_producer_create(const cdc_producer_config *config, char *errbuf, size_t errlen)
{
	try
	{
		copy_error(errbuf, errlen, "");
		return new cdc_producer(config);
	}
	catch (...)
	{
		report_current_exception(errbuf, errlen);
		return nullptr;
	}
}

extern "C" int
cdc_producer_validate(const cdc_producer_config *config, char *errbuf, size_t errlen)
{
	try
	{
		copy_error(errbuf, errlen, "");
		KafkaProducer::validate(config->bootstrap_servers ? config->bootstrap_servers : "",
								config->properties ? config->properties : "");
		return 0;
	}
	catch (...)
	{
		report_current_exception(errbuf, errlen);
		return -1;
	}
}

extern "C" void
cdc_producer_destroy(cdc_producer *p)
{
	try
	{
		delete p;
	}
	catch (...)
	{
	}
}

extern "C" cdc_send_result
cdc_producer_send(cdc_producer *p, const char *topic, const void *key, size_t keylen,
				  const void *value, size_t valuelen, char *errbuf, size_t errlen)
{
	try
	{
		return p->impl.send(topic, key, keylen, value, valuelen) == 0 ?
			CDC_SEND_QUEUED : CDC_SEND_QUEUE_FULL;
	}
	catch (...)
	{
		report_current_exception(errbuf, errlen);
		return CDC_SEND_FAILED;
	}
}

extern "C" void
cdc_producer_txn_end(cdc_producer *p, uint64_t end_lsn, int64_t commit_time_pg_us)
{
	try
	{
		if (p->impl.tracker().has_open())
			p->impl.tracker().seal(end_lsn, commit_time_pg_us);
	}
	catch (...)
	{
	}
}

extern "C" void
cdc_producer_poll(cdc_producer *p, int timeout_ms)
{
	try
	{
		p->impl.poll(timeout_ms);
	}
	catch (...)
	{
	}
}

extern "C" void
cdc_producer_read_progress(const cdc_producer *p, cdc_producer_progress *out)
{
	std::memset(out, 0, sizeof(*out));
	try
	{
		const AckTracker &t = p->impl.tracker();

		out->idle = t.idle();
		out->oldest_unacked_commit_time_pg_us = t.oldest_commit_time_pg_us();
		out->messages_in_flight = t.messages_in_flight();
		out->acked_messages = t.acked_messages();
		out->acked_bytes = t.acked_bytes();
		out->acked_transactions = t.acked_transactions();
		out->failed_messages = t.failed_messages();
		out->broker_state = p->impl.broker_state();
		out->failed = p->impl.failed();
	}
	catch (...)
	{
		out->idle = false;
		out->failed = true;		/* start over rather than confirm anything */
	}
}

extern "C" bool
cdc_producer_take_confirmable(cdc_producer *p, uint64_t *end_lsn, int64_t *commit_time_pg_us)
{
	try
	{
		/* after a failure nothing more is confirmable: a message may be missing */
		if (p->impl.failed())
			return false;
		return p->impl.tracker().take_completed(end_lsn, commit_time_pg_us);
	}
	catch (...)
	{
		return false;
	}
}

extern "C" void
cdc_producer_failure(const cdc_producer *p, char *buf, size_t len)
{
	copy_error(buf, len, p->impl.failure());
}

extern "C" bool
cdc_producer_next_log(cdc_producer *p, cdc_log_level *level, char *buf, size_t len)
{
	try
	{
		KafkaProducer::LogLine line;

		if (!p->impl.next_log(&line))
			return false;
		*level = static_cast<cdc_log_level>(line.level);
		copy_error(buf, len, line.text);
		return true;
	}
	catch (...)
	{
		return false;
	}
}
