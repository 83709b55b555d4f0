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

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <pthread.h>

#include "cdc_kafka.h"
#include "core_util.hpp"

namespace cdc_core {

namespace {

constexpr size_t kMaxQueuedLogs = 1000;

/*
 * Properties whose value is, or may embed, a secret (librdkafka 2.0.2).
 * They are refused in cdc_plugin.kafka_properties, whose value PostgreSQL
 * logs on a reload and shows to pg_read_all_settings members, and must
 * come from cdc_plugin.kafka_properties_file. The list: the passwords and
 * private keys librdkafka itself redacts in its configuration dumps
 * (ssl.key.password, ssl.key.pem, ssl_key, ssl.keystore.password,
 * sasl.password, sasl.oauthbearer.config, which may carry extension
 * values), the OIDC client secret (not redacted by librdkafka 2.0.2, a
 * secret all the same), and sasl.kerberos.kinit.cmd, a shell command that
 * can carry a password. Not in it, though librdkafka redacts them too:
 * sasl.username, ssl.key.location and ssl.ca.pem (a name, a path and a
 * public certificate).
 */
const char *const kSecretProperties[] = {
	"sasl.password",
	"sasl.oauthbearer.client.secret",
	"sasl.oauthbearer.config",
	"sasl.kerberos.kinit.cmd",
	"ssl.key.password",
	"ssl.key.pem",
	"ssl_key",
	"ssl.keystore.password",
};

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

bool
ascii_iequal(std::string_view a, std::string_view b)
{
	if (a.size() != b.size())
		return false;
	for (size_t i = 0; i < a.size(); i++)
	{
		unsigned char x = static_cast<unsigned char>(a[i]),
					y = static_cast<unsigned char>(b[i]);

		if (x >= 'A' && x <= 'Z')
			x = static_cast<unsigned char>(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = static_cast<unsigned char>(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/*
 * Whether name has the shape of a librdkafka property name (lowercase
 * letters, digits, '.', '_', '-'). Only such names are quoted in a
 * message: anything else may be a piece of a secret (a password's tail
 * after a ';', a line of a key), and is named by its position instead.
 */
bool
property_name_shape(std::string_view name)
{
	if (name.empty())
		return false;
	for (char c : name)
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	return true;
}

const char *const kPropertiesSetting = "cdc_plugin.kafka_properties";
const char *const kFileSetting = "cdc_plugin.kafka_properties_file";

std::string
refuse_secret_message(const std::string &name)
{
	return "Kafka property \"" + name + "\" holds a secret and cannot be set in "
		+ kPropertiesSetting + " (its value would reach the server log and "
		"pg_read_all_settings members): put it in the file named by " + kFileSetting;
}

/*
 * librdkafka's reason for refusing a property, when it is one of the
 * messages that provably hold nothing but a property name: librdkafka
 * builds those from fixed text and the property's name. Anything else
 * (e.g. 'Invalid value "..." for configuration property "..."', which
 * quotes the value or a part of it) is replaced by our own text.
 */
std::string
conf_set_reason(rd_kafka_conf_res_t res, const char *err)
{
	auto		is_name = [](std::string_view s) {
		if (s.empty())
			return false;
		for (char c : s)
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
				  c == '.' || c == '_' || c == '-'))
				return false;
		return true;
	};
	/* prefix "NAME" suffix, NAME a property name; with a fixed suffix */
	auto		shaped = [&](std::string_view text, std::string_view prefix, std::string_view suffix) {
		if (text.size() < prefix.size() + suffix.size() + 2 ||
			text.substr(0, prefix.size()) != prefix ||
			text.substr(text.size() - suffix.size()) != suffix)
			return false;
		std::string_view mid = text.substr(prefix.size(),
										   text.size() - prefix.size() - suffix.size());

		return mid.size() >= 2 && mid.front() == '"' && mid.back() == '"' &&
			is_name(mid.substr(1, mid.size() - 2));
	};

	if (res == RD_KAFKA_CONF_UNKNOWN)
		return "No such configuration property";
	std::string trimmed = trim(err);	/* some end with a newline */
	std::string_view text(trimmed);

	if (shaped(text, "Invalid value for configuration property ", "") ||
		shaped(text, "Expected bool value for ", ": true or false") ||
		shaped(text, "Property ", " must be set through dedicated .._set_..() function") ||
		shaped(text, "Internal property ", " not settable"))
		return std::string(text);
	/* 'Configuration property "NAME" not supported in this build: <fixed reason>' */
	{
		std::string_view prefix = "Configuration property \"";
		std::string_view marker = "\" not supported in this build: ";
		size_t		at = text.find(marker);

		if (text.substr(0, prefix.size()) == prefix && at != std::string_view::npos &&
			is_name(text.substr(prefix.size(), at - prefix.size())) &&
			text.find('"', at + marker.size()) == std::string_view::npos)
			return std::string(text);
	}
	/*
	 * 'Configuration property "NAME" value <the value, maybe reformatted>
	 * is outside allowed range A..B': kept without the value.
	 */
	{
		std::string_view prefix = "Configuration property \"";
		std::string_view marker = "\" value ";
		std::string_view range = " is outside allowed range ";
		size_t		at = text.find(marker);
		size_t		r = text.rfind(range);

		if (text.substr(0, prefix.size()) == prefix && at != std::string_view::npos &&
			r != std::string_view::npos && r > at &&
			is_name(text.substr(prefix.size(), at - prefix.size())))
		{
			std::string_view bounds = text.substr(r + range.size());
			size_t		dots = bounds.find("..");
			auto		is_int = [](std::string_view v) {
				if (!v.empty() && v[0] == '-')
					v.remove_prefix(1);
				return !v.empty() && v.find_first_not_of("0123456789") == std::string_view::npos;
			};

			if (dots != std::string_view::npos && is_int(bounds.substr(0, dots)) &&
				is_int(bounds.substr(dots + 2)))
				return "the value is outside the allowed range " + std::string(bounds);
		}
	}
	return "librdkafka does not accept its value (the value is not shown, as it may be a secret)";
}

/* value's parts between separators (space, tab, comma, semicolon), at least min_len long */
void
add_parts(std::vector<std::string> *out, const std::string &value, size_t min_len)
{
	size_t		b = 0;

	while (b <= value.size())
	{
		size_t		e = value.find_first_of(" \t,;", b);

		if (e == std::string::npos)
			e = value.size();
		if (e - b >= min_len && e - b < value.size())
			out->push_back(value.substr(b, e - b));
		b = e + 1;
	}
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

/* rd_kafka_conf_t with every property applied; throws naming a bad one (never its value). */
rd_kafka_conf_t *
build_conf(const std::vector<std::pair<std::string, std::string>> &props)
{
	std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)>
		conf(rd_kafka_conf_new(), rd_kafka_conf_destroy);
	char		err[512];

	if (!conf)
		fail("could not allocate a librdkafka configuration");
	for (const auto &[name, value] : props)
	{
		rd_kafka_conf_res_t res = rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(),
													 err, sizeof(err));

		if (res != RD_KAFKA_CONF_OK)
			fail("invalid Kafka property \"" + name + "\": " + conf_set_reason(res, err));
	}
	return conf.release();
}

}							/* namespace */

/* Replaces every occurrence of each needle (longest first) by "[redacted]". */
std::string
redact(std::string text, std::vector<std::string> needles)
{
	std::sort(needles.begin(), needles.end(),
			  [](const std::string &a, const std::string &b) { return a.size() > b.size(); });
	for (const auto &n : needles)
	{
		if (n.empty())
			continue;
		for (size_t at = text.find(n); at != std::string::npos; at = text.find(n, at + 10))
			text.replace(at, n.size(), "[redacted]");
	}
	return text;
}

std::vector<std::string>
bootstrap_needles(std::string_view bootstrap_servers)
{
	std::vector<std::string> out;
	size_t		b = 0;

	while (b <= bootstrap_servers.size())
	{
		size_t		e = bootstrap_servers.find(',', b);

		if (e == std::string_view::npos)
			e = bootstrap_servers.size();
		std::string item = trim(bootstrap_servers.substr(b, e - b));

		b = e + 1;
		if (size_t scheme = item.find("://"); scheme != std::string::npos)
			item.erase(0, scheme + 3);
		if (item.empty())
			continue;
		out.push_back(item);
		/* the host alone ("[::1]:9092" keeps its brackets; too short a host is a common word) */
		if (size_t colon = item.rfind(':'); colon != std::string::npos && colon >= 4)
			out.push_back(item.substr(0, colon));
	}
	return out;
}

std::string
broker_error_cause(std::string_view reason, const std::vector<std::string> &needles)
{
	static const std::string_view kVersionHint =
		": probably due to broker version < 0.10 (see api.version.request configuration)";
	std::string text(trim(reason));
	size_t		at;

	/* "host:port/1: ..." or "ssl://host:port/bootstrap: ...": the broker's name */
	at = text.find(": ");
	if (at != std::string::npos && text.find(' ') > at &&
		text.substr(0, at).find('/') != std::string::npos)
		text.erase(0, at + 2);
	/* " (after 0ms in state CONNECT, 1 identical error(s) suppressed)" */
	at = text.rfind(" (after ");
	if (at != std::string::npos && !text.empty() && text.back() == ')')
		text.erase(at);
	/*
	 * librdkafka adds the hint to every failed ApiVersion request; when the
	 * broker never answered (a local error, a refused connection) it says
	 * nothing about the broker's version and sends operators astray.
	 */
	at = text.find(kVersionHint);
	if (at != std::string::npos)
	{
		std::string_view before = std::string_view(text).substr(0, at);

		if (before.find("Local: ") != std::string_view::npos ||
			before.find("Connection refused") != std::string_view::npos)
			text.erase(at, kVersionHint.size());
	}
	/* the address tried is the setting's value, or derived from it */
	if (text.rfind("Connect to ", 0) == 0 && (at = text.find(" failed: ")) != std::string::npos)
		text.erase(0, at + std::strlen(" failed: "));
	else if (text.rfind("Failed to resolve '", 0) == 0 && (at = text.find("': ")) != std::string::npos)
		text = "could not resolve a broker's host name: " + text.substr(at + 3);
	return redact(std::move(text), needles);
}

bool
broker_connection_dropped(std::string_view cause)
{
	return cause == "Disconnected" || cause.rfind("Receive failed: ", 0) == 0 ||
		cause.rfind("Send failed: ", 0) == 0;
}

bool
secret_property(std::string_view name)
{
	for (const char *s : kSecretProperties)
		if (ascii_iequal(name, s))
			return true;
	return false;
}

/* cdc_plugin.kafka_properties cut at ';', trimmed, empty items left out. */
static std::vector<std::string>
split_items(std::string_view text)
{
	std::vector<std::string> items;
	size_t		pos = 0;

	while (pos <= text.size())
	{
		size_t		end = text.find(';', pos);

		if (end == std::string_view::npos)
			end = text.size();
		std::string item = trim(text.substr(pos, end - pos));

		pos = end + 1;
		if (!item.empty())
			items.push_back(std::move(item));
	}
	return items;
}

std::string
secret_property_in(std::string_view text)
{
	for (const auto &item : split_items(text))
	{
		size_t		eq = item.find('=');
		std::string name = trim(std::string_view(item).substr(0, eq));

		if (eq != std::string::npos && secret_property(name))
			return name;
	}
	return "";
}

/*
 * Splits one "name=value" item of the setting or of the file at its first
 * '=', trimming both; throws naming where (never quoting the item, which
 * may hold a piece of a secret) when it has no '=' or no well-formed name.
 */
static std::pair<std::string, std::string>
split_property(std::string_view item, const std::string &where, const char *format_hint)
{
	size_t		eq = item.find('=');

	if (eq == std::string_view::npos)
		fail(where + " has no '=': " + format_hint);
	std::string name = trim(item.substr(0, eq));
	std::string value = trim(item.substr(eq + 1));

	if (name.empty())
		fail(where + " has no property name before '='");
	if (!property_name_shape(name))
		fail(where + " does not start with a property name (lowercase letters, digits, '.', '_', '-') before its '='");
	return {std::move(name), std::move(value)};
}

std::vector<std::pair<std::string, std::string>>
parse_kafka_properties(std::string_view text)
{
	std::vector<std::string> items = split_items(text);
	std::vector<std::pair<std::string, std::string>> out;

	/*
	 * Secrets first, over every item: a secret holding a ';' is cut into
	 * items, and its tail must never be quoted as a property name.
	 */
	if (std::string name = secret_property_in(text); !name.empty())
		fail(refuse_secret_message(name));
	for (size_t i = 0; i < items.size(); i++)
	{
		std::string where = "item " + std::to_string(i + 1) + " of " + kPropertiesSetting;
		auto		[name, value] = split_property(items[i], where, "write name=value;name=value");
		std::string why;

		if (reserved_property(name, &why))
			fail("Kafka property \"" + name + "\" cannot be set in " + kPropertiesSetting + ": " + why);
		out.emplace_back(std::move(name), std::move(value));
	}
	return out;
}

std::vector<std::pair<std::string, std::string>>
parse_kafka_properties_file(std::string_view text)
{
	std::vector<std::pair<std::string, std::string>> out;
	size_t		pos = 0;
	size_t		lineno = 0;

	while (pos < text.size())
	{
		size_t		end = text.find('\n', pos);

		if (end == std::string_view::npos)
			end = text.size();
		std::string line = trim(text.substr(pos, end - pos));

		pos = end + 1;
		lineno++;
		if (line.empty() || line[0] == '#')
			continue;
		std::string where = "line " + std::to_string(lineno) + " of " + kFileSetting;
		auto		[name, value] = split_property(line, where, "write one name=value per line");
		std::string why;

		if (reserved_property(name, &why))
			fail("Kafka property \"" + name + "\" (" + where + ") cannot be set there: " + why);
		out.emplace_back(std::move(name), std::move(value));
	}
	return out;
}

/* The producer's fixed defaults; the user's properties come after them. */
std::vector<std::pair<std::string, std::string>>
default_properties(const std::string &servers)
{
	return {
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
}

std::vector<std::pair<std::string, std::string>>
producer_properties(std::string_view bootstrap_servers, std::string_view user_properties,
					std::string_view file_properties)
{
	std::string servers = trim(bootstrap_servers);

	if (servers.empty())
		fail("no Kafka brokers configured: cdc_plugin.kafka_bootstrap_servers is empty");

	std::vector<std::pair<std::string, std::string>> props = default_properties(servers);

	for (auto &p : parse_kafka_properties(user_properties))
		props.push_back(std::move(p));
	/* the file's come last, so they win */
	for (auto &p : parse_kafka_properties_file(file_properties))
		props.push_back(std::move(p));
	return props;
}

std::vector<std::string>
secret_values(const std::vector<std::pair<std::string, std::string>> &props)
{
	std::vector<std::string> out;

	for (const auto &[name, value] : props)
	{
		if (!secret_property(name) || value.empty())
			continue;
		out.push_back(value);
		/* space-separated name=value pairs: librdkafka may quote a part of it */
		if (ascii_iequal(name, "sasl.oauthbearer.config"))
		{
			add_parts(&out, value, 4);
			std::vector<std::string> parts;

			add_parts(&parts, value, 1);
			for (const auto &part : parts)
			{
				size_t		eq = part.find('=');

				if (eq != std::string::npos && part.size() - eq - 1 >= 4)
					out.push_back(part.substr(eq + 1));
			}
		}
	}
	return out;
}

void
KafkaProducer::validate(std::string_view bootstrap_servers, std::string_view properties,
						std::string_view file_properties)
{
	rd_kafka_conf_destroy(build_conf(producer_properties(bootstrap_servers, properties,
														 file_properties)));
}

KafkaProducer::KafkaProducer(std::string_view bootstrap_servers, std::string_view properties,
							 std::string_view file_properties, int wake_fd)
{
	auto		props = producer_properties(bootstrap_servers, properties, file_properties);
	rd_kafka_conf_t *conf = build_conf(props);
	char		err[512];

	secrets_ = secret_values(props);
	bootstrap_needles_ = bootstrap_needles(bootstrap_servers);
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

		/*
		 * librdkafka's reason may quote a value (e.g. "Unsupported
		 * partition.assignment.strategy: ..."): every value of a secret
		 * property, and every other value of 4 or more characters and
		 * such parts of it, is redacted from it.
		 */
		std::vector<std::string> needles = secrets_;

		for (size_t i = default_properties("-").size(); i < props.size(); i++)
		{
			if (props[i].second.size() >= 4)
				needles.push_back(props[i].second);
			add_parts(&needles, props[i].second, 4);
		}
		fail("could not create the Kafka producer: " + redact(err, needles));
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
KafkaProducer::send(const char *topic, int32_t partition, const void *key, size_t keylen,
					const void *value, size_t valuelen,
					const cdc_header *headers, size_t nheaders)
{
	rd_kafka_topic_t *rkt = topic_handle(topic);
	AckTracker::TxnId id = tracker_.open();
	rd_kafka_resp_err_t err;
	uint64_t	size = (key ? keylen : 0) + (value ? valuelen : 0);

	if (nheaders > 0)
	{
		if (headers == nullptr)
			refuse("a message was given headers without a header array");
		for (size_t i = 0; i < nheaders; i++)
		{
			if (headers[i].name == nullptr)
				refuse("header " + std::to_string(i + 1) + " of a message has no name");
			/* librdkafka takes a length as ssize_t, where -1 means strlen() */
			if (headers[i].value && headers[i].valuelen >
				static_cast<size_t>(std::numeric_limits<ssize_t>::max()))
				refuse("header " + std::to_string(i + 1) + " of a message is longer than librdkafka takes");
			size += std::strlen(headers[i].name) +
				(headers[i].value ? headers[i].valuelen : 0);
		}
	}

	/* librdkafka would report such a message "queue full" forever */
	if (queue_max_bytes_ > 0 && size > queue_max_bytes_)
		refuse_too_large(size);

	if (nheaders == 0)
		err = rd_kafka_producev(rk_,
								RD_KAFKA_V_RKT(rkt),
								RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
								RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
								RD_KAFKA_V_KEY(const_cast<void *>(key), key ? keylen : 0),
								RD_KAFKA_V_VALUE(const_cast<void *>(value), value ? valuelen : 0),
								RD_KAFKA_V_OPAQUE(reinterpret_cast<void *>(static_cast<uintptr_t>(id))),
								RD_KAFKA_V_END);
	else
	{
		/* ours until librdkafka queued the message: it takes them only then */
		std::unique_ptr<rd_kafka_headers_t, decltype(&rd_kafka_headers_destroy)>
			hdrs(rd_kafka_headers_new(nheaders), rd_kafka_headers_destroy);

		if (!hdrs)
			refuse("could not allocate the headers of a message");
		for (size_t i = 0; i < nheaders; i++)
		{
			const cdc_header &h = headers[i];

			/* copied; a NULL value is a null header value */
			if (rd_kafka_header_add(hdrs.get(), h.name, -1, h.value,
									h.value ? static_cast<ssize_t>(h.valuelen) : 0)
				!= RD_KAFKA_RESP_ERR_NO_ERROR)
				refuse("could not add a header to a message");
		}
		err = rd_kafka_producev(rk_,
								RD_KAFKA_V_RKT(rkt),
								RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
								RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
								RD_KAFKA_V_KEY(const_cast<void *>(key), key ? keylen : 0),
								RD_KAFKA_V_VALUE(const_cast<void *>(value), value ? valuelen : 0),
								RD_KAFKA_V_HEADERS(hdrs.get()),
								RD_KAFKA_V_OPAQUE(reinterpret_cast<void *>(static_cast<uintptr_t>(id))),
								RD_KAFKA_V_END);
		if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
			hdrs.release();		/* the queued message owns them now */
	}
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
		set_failure(why);
		fail(scrub(why));
	}
	tracker_.add_message(keylen + valuelen);
	return 0;
}

int
KafkaProducer::partition_count(const char *topic, int timeout_ms)
{
	rd_kafka_topic_t *rkt = topic_handle(topic);
	const struct rd_kafka_metadata *md = nullptr;
	rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 0, rkt, &md, timeout_ms);
	int			count = 0;

	if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT)
		return 0;				/* no broker answered in time: ask again */
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
		fail(std::string("could not read the metadata of topic \"") + topic + "\": "
			 + rd_kafka_err2str(err));
	for (int i = 0; i < md->topic_cnt; i++)
	{
		const rd_kafka_metadata_topic &t = md->topics[i];

		if (std::strcmp(t.topic, topic) != 0)
			continue;
		/* a topic being auto-created is unknown (or leaderless) for a moment */
		if (t.err == RD_KAFKA_RESP_ERR_NO_ERROR)
			count = t.partition_cnt;
		else if (t.err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART &&
				 t.err != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE)
		{
			std::string why = std::string("topic \"") + topic + "\" is not usable: "
				+ rd_kafka_err2str(t.err);

			rd_kafka_metadata_destroy(md);
			fail(why);
		}
	}
	rd_kafka_metadata_destroy(md);
	return count;
}

void
KafkaProducer::refuse_too_large(uint64_t size)
{
	refuse("a message of " + std::to_string(size)
		   + " bytes does not fit in the producer queue: raise queue.buffering.max.kbytes"
		   " (and message.max.bytes, and the topic's max.message.bytes) in"
		   " cdc_plugin.kafka_properties above the largest row");
}

void
KafkaProducer::refuse(const std::string &why)
{
	tracker_.count_unsent();
	set_failure(why);
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
		note_broker_up();
	else if (msg->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE &&
			 msg->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
		set_failure(std::string("delivery to topic \"") + rd_kafka_topic_name(msg->rkt)
					+ "\" failed: " + rd_kafka_err2str(msg->err));
}

void
KafkaProducer::on_error(int err, const char *reason)
{
	auto code = static_cast<rd_kafka_resp_err_t>(err);

	if (code == RD_KAFKA_RESP_ERR__FATAL)
	{
		char		buf[512];

		rd_kafka_fatal_error(rk_, buf, sizeof(buf));
		set_failure(std::string("fatal Kafka producer error: ") + buf);
		add_log(CDC_LOG_ERROR, failure_);
		return;
	}
	if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
	{
		/*
		 * Not logged: the worker reports an outage once, from
		 * brokers_reachable(), when a connection attempt failed too (all
		 * connections dropping at once is not yet an unreachable broker).
		 */
		all_down_ = true;
		broker_state_ = 0;
		if (!broker_error_.empty() && !broker_connection_dropped(broker_error_))
			unreachable_ = true;
		return;
	}
	if (code == RD_KAFKA_RESP_ERR__TRANSPORT || code == RD_KAFKA_RESP_ERR__RESOLVE)
	{
		/* a broker's connection: retried by librdkafka, reported with an outage */
		note_broker_error(err, reason);
		return;
	}
	if (code == RD_KAFKA_RESP_ERR__SSL || code == RD_KAFKA_RESP_ERR__AUTHENTICATION)
		note_broker_error(err, reason);
	add_log(CDC_LOG_WARNING, std::string("Kafka: ") + rd_kafka_err2name(code) + ": "
			+ scrub(redact(reason ? reason : "", bootstrap_needles_)));
}

void
KafkaProducer::note_broker_error(int, const char *reason)
{
	if (unreachable_)
		return;					/* an outage keeps the cause it was reported with */
	broker_error_ = scrub(broker_error_cause(reason ? reason : "", bootstrap_needles_));
	if (all_down_ && !broker_connection_dropped(broker_error_))
		unreachable_ = true;
}

void
KafkaProducer::note_broker_up()
{
	broker_state_ = 1;
	all_down_ = false;
	unreachable_ = false;
	broker_error_.clear();
}

int
KafkaProducer::brokers_reachable(std::string *cause) const
{
	if (unreachable_)
	{
		*cause = broker_error_;
		return 0;
	}
	cause->clear();
	return broker_state_ == 1 ? 1 : -1;
}

void
KafkaProducer::on_log(int level, const char *fac, const char *buf)
{
	/* syslog levels: 0-3 errors, 4 warning, 5-6 notice/info, 7 debug */
	int			ours = level <= 3 ? CDC_LOG_ERROR :
		level == 4 ? CDC_LOG_WARNING : level <= 6 ? CDC_LOG_INFO : CDC_LOG_DEBUG;
	std::string_view facility = fac ? fac : "";

	/*
	 * A broker's failed connection (FAIL) also reaches on_error, and while
	 * no broker is up requests time out (REQTMOUT) at every retry: the
	 * worker reports an outage once instead, so these stay debug lines
	 * (they also name the broker's address).
	 */
	if (ours > CDC_LOG_INFO &&
		(facility == "FAIL" || (facility == "REQTMOUT" && broker_state_ != 1)))
		ours = CDC_LOG_INFO;

	add_log(ours, std::string("librdkafka ") + (fac ? fac : "") + ": " + (buf ? buf : ""));
}

void
KafkaProducer::on_stats(const char *json, size_t len)
{
	/* any broker in state UP counts as connected */
	std::string_view s(json, len);

	if (s.find("\"state\":\"UP\"") != std::string_view::npos)
		note_broker_up();
	else
		broker_state_ = 0;
}

void
KafkaProducer::set_failure(const std::string &why)
{
	if (failure_.empty())
		failure_ = scrub(why);
}

std::string
KafkaProducer::scrub(const std::string &text) const
{
	return secrets_.empty() ? text : redact(text, secrets_);
}

void
KafkaProducer::add_log(int level, std::string text)
{
	text = scrub(text);
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
			   c->properties ? c->properties : "",
			   c->file_properties ? c->file_properties : "", c->wake_fd) {}
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
								config->properties ? config->properties : "",
								config->file_properties ? config->file_properties : "");
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
cdc_producer_send(cdc_producer *p, const char *topic, int32_t partition,
				  const void *key, size_t keylen,
				  const void *value, size_t valuelen, char *errbuf, size_t errlen)
{
	return cdc_producer_send_headers(p, topic, partition, key, keylen, value, valuelen,
									 nullptr, 0, errbuf, errlen);
}

extern "C" cdc_send_result
cdc_producer_send_headers(cdc_producer *p, const char *topic, int32_t partition,
						  const void *key, size_t keylen,
						  const void *value, size_t valuelen,
						  const cdc_header *headers, size_t nheaders,
						  char *errbuf, size_t errlen)
{
	try
	{
		return p->impl.send(topic, partition, key, keylen, value, valuelen,
							headers, nheaders) == 0 ?
			CDC_SEND_QUEUED : CDC_SEND_QUEUE_FULL;
	}
	catch (...)
	{
		report_current_exception(errbuf, errlen);
		return CDC_SEND_FAILED;
	}
}

extern "C" int
cdc_producer_partition_count(cdc_producer *p, const char *topic, int timeout_ms,
							 char *errbuf, size_t errlen)
{
	try
	{
		return p->impl.partition_count(topic, timeout_ms);
	}
	catch (...)
	{
		report_current_exception(errbuf, errlen);
		return -1;
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

extern "C" int
cdc_producer_brokers_reachable(const cdc_producer *p, char *buf, size_t len)
{
	try
	{
		std::string cause;
		int			r = p->impl.brokers_reachable(&cause);

		copy_error(buf, len, cause);
		return r;
	}
	catch (...)
	{
		copy_error(buf, len, "");
		return -1;
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

extern "C" int
cdc_kafka_properties_check_secrets(const char *properties, char *errbuf, size_t errlen)
{
	try
	{
		std::string name = cdc_core::secret_property_in(properties ? properties : "");

		copy_error(errbuf, errlen, name.empty() ? "" : cdc_core::refuse_secret_message(name));
		return name.empty() ? 0 : 1;
	}
	catch (...)
	{
		report_current_exception(errbuf, errlen);
		return -1;
	}
}
