/*
 * kafka_consume.cpp — cdc_kafka_consume: reads what cdc_plugin's Kafka
 * worker published (consume), checks it against the decoder's own output
 * (verify, in verify.cpp), and feeds hand-made messages to a broker for
 * the tools' self-test (produce).
 *
 * consume reads every partition of every topic named "<prefix>.*" from the
 * beginning with assign() (no consumer group membership, no commits) and
 * writes one line per message, flushed as written, as JSON (envelopes and
 * keys rendered by the extension's own renderer, never a second one) or as
 * tab-separated bytea text. It is a test tool: it never commits offsets
 * and never writes to Kafka except in the produce subcommand.
 */
#include "kafka_tools.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "json_render.hpp"

namespace kafka_tools {

volatile std::sig_atomic_t g_stop = 0;

namespace {

/* Asks the running loop to stop. */
extern "C" void
on_stop_signal(int)
{
	g_stop = 1;
}

}							/* namespace */

/* See kafka_tools.hpp. */
void
install_stop_handler()
{
	struct sigaction sa;

	std::memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, nullptr);
	sigaction(SIGTERM, &sa, nullptr);
	signal(SIGPIPE, SIG_IGN);
}

/* See kafka_tools.hpp. */
int64_t
now_ms()
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(
		std::chrono::steady_clock::now().time_since_epoch()).count();
}

/* See kafka_tools.hpp. */
void
append_hex(std::string &out, std::string_view data)
{
	static const char digits[] = "0123456789abcdef";
	size_t		at = out.size();

	out.resize(at + 2 * data.size());
	for (unsigned char c : data)
	{
		out[at++] = digits[c >> 4];
		out[at++] = digits[c & 15];
	}
}

/* See kafka_tools.hpp. */
bool
decode_bytea_field(std::string_view f, bool &is_null, std::string &out, std::string &err)
{
	is_null = false;
	out.clear();
	if (f == "\\N")
	{
		is_null = true;
		return true;
	}
	if (f.substr(0, 3) == "\\\\x")
		f.remove_prefix(3);
	else if (f.substr(0, 2) == "\\x")
		f.remove_prefix(2);
	else
	{
		err = "expected \\x<hex>, \\\\x<hex> or \\N";
		return false;
	}
	if (f.size() % 2 != 0)
	{
		err = "odd number of hex digits";
		return false;
	}
	out.resize(f.size() / 2);
	for (size_t i = 0; i < f.size(); i += 2)
	{
		int			v = 0;

		for (size_t j = i; j < i + 2; j++)
		{
			char		c = f[j];
			int			d;

			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
			{
				err = "invalid hex digit";
				return false;
			}
			v = v * 16 + d;
		}
		out[i / 2] = static_cast<char>(v);
	}
	return true;
}

namespace {

/* ---------------------------------------------------------------------
 * Shared option handling
 * --------------------------------------------------------------------- */

/* librdkafka properties given with -X key=value. */
using ConfList = std::vector<std::pair<std::string, std::string>>;

/* Parses a non-negative integer option value; false if it is not one. */
bool
parse_count(const char *s, int64_t &out)
{
	char	   *end;

	if (s == nullptr || *s == '\0')
		return false;
	errno = 0;
	long long	v = std::strtoll(s, &end, 10);

	if (errno != 0 || *end != '\0' || v < 0)
		return false;
	out = v;
	return true;
}

/* Splits "key=value" for -X; false if there is no '='. */
bool
parse_property(const char *s, ConfList &props)
{
	const char *eq = std::strchr(s, '=');

	if (eq == nullptr || eq == s)
		return false;
	props.emplace_back(std::string(s, eq - s), std::string(eq + 1));
	return true;
}

/* Sets one property; prints the error and returns false on failure. */
bool
conf_set(rd_kafka_conf_t *conf, const std::string &key, const std::string &value)
{
	char		errstr[512];

	if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof(errstr))
		!= RD_KAFKA_CONF_OK)
	{
		std::fprintf(stderr, "cdc_kafka_consume: %s=%s: %s\n", key.c_str(), value.c_str(), errstr);
		return false;
	}
	return true;
}

/* Writes all of s to fd; false on error. */
bool
write_all(int fd, const std::string &s)
{
	size_t		done = 0;

	while (done < s.size())
	{
		ssize_t		n = write(fd, s.data() + done, s.size() - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		done += static_cast<size_t>(n);
	}
	return true;
}

/* Appends s as a JSON string (for topic names and error texts only). */
void
append_json_string(std::string &o, std::string_view s)
{
	static const char digits[] = "0123456789abcdef";

	o.push_back('"');
	for (unsigned char c : s)
	{
		if (c == '"' || c == '\\')
		{
			o.push_back('\\');
			o.push_back(static_cast<char>(c));
		}
		else if (c < 0x20)
		{
			o.append("\\u00");
			o.push_back(digits[c >> 4]);
			o.push_back(digits[c & 15]);
		}
		else
			o.push_back(static_cast<char>(c));
	}
	o.push_back('"');
}

/* Whether s is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF). */
bool
valid_utf8(std::string_view s)
{
	size_t		i = 0;

	while (i < s.size())
	{
		unsigned char c = static_cast<unsigned char>(s[i]);
		size_t		n;
		uint32_t	cp;

		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 3, cp = c & 0x07;
		else
			return false;
		if (s.size() - i - 1 < n)
			return false;
		for (size_t j = 1; j <= n; j++)
		{
			unsigned char cc = static_cast<unsigned char>(s[i + j]);

			if ((cc & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (cc & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
			(cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n + 1;
	}
	return true;
}

const char kBase64Digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Appends data as standard base64 with padding (RFC 4648). */
void
append_base64(std::string &o, std::string_view data)
{
	size_t		i = 0;

	for (; i + 3 <= data.size(); i += 3)
	{
		uint32_t	v = (uint32_t{static_cast<unsigned char>(data[i])} << 16) |
			(uint32_t{static_cast<unsigned char>(data[i + 1])} << 8) |
			static_cast<unsigned char>(data[i + 2]);

		o.push_back(kBase64Digits[v >> 18]);
		o.push_back(kBase64Digits[(v >> 12) & 63]);
		o.push_back(kBase64Digits[(v >> 6) & 63]);
		o.push_back(kBase64Digits[v & 63]);
	}
	if (i < data.size())
	{
		uint32_t	v = uint32_t{static_cast<unsigned char>(data[i])} << 16;
		bool		two = i + 1 < data.size();

		if (two)
			v |= uint32_t{static_cast<unsigned char>(data[i + 1])} << 8;
		o.push_back(kBase64Digits[v >> 18]);
		o.push_back(kBase64Digits[(v >> 12) & 63]);
		o.push_back(two ? kBase64Digits[(v >> 6) & 63] : '=');
		o.push_back('=');
	}
}

/* Decodes base64 (padding optional, no whitespace); false if it is not base64. */
bool
decode_base64(std::string_view in, std::string &out)
{
	uint32_t	acc = 0;
	int			bits = 0;
	size_t		n = in.size();

	out.clear();
	while (n > 0 && in[n - 1] == '=' && in.size() - n < 2)
		n--;
	if ((n % 4 == 1) || (n < in.size() && in.size() % 4 != 0))
		return false;
	for (size_t i = 0; i < n; i++)
	{
		const char *d = std::strchr(kBase64Digits, in[i]);

		if (in[i] == '\0' || d == nullptr)
			return false;
		acc = (acc << 6) | static_cast<uint32_t>(d - kBase64Digits);
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			out.push_back(static_cast<char>((acc >> bits) & 0xFF));
		}
	}
	return true;
}

/* Bytes as a JSON string when they are UTF-8, else as {"base64":"..."}. */
void
append_json_bytes(std::string &o, std::string_view b)
{
	if (valid_utf8(b))
	{
		append_json_string(o, b);
		return;
	}
	o.append("{\"base64\":\"");
	append_base64(o, b);
	o.append("\"}");
}

/*
 * Appends a message's headers as [[name, value], ...] (value null for a
 * null value) and returns true; false, appending nothing, when it has
 * none. A header list librdkafka cannot parse gives false and err.
 */
bool
append_headers_json(const rd_kafka_message_t *m, std::string &o, std::string &err)
{
	rd_kafka_headers_t *hdrs = nullptr;
	rd_kafka_resp_err_t e = rd_kafka_message_headers(m, &hdrs);

	if (e == RD_KAFKA_RESP_ERR__NOENT)
		return false;
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		err = std::string("headers do not parse: ") + rd_kafka_err2str(e);
		return false;
	}
	if (rd_kafka_header_cnt(hdrs) == 0)
		return false;
	const char *name;
	const void *value;
	size_t		size;

	o.push_back('[');
	for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; i++)
	{
		if (i > 0)
			o.push_back(',');
		o.push_back('[');
		append_json_bytes(o, name);
		o.push_back(',');
		if (value == nullptr)
			o.append("null");
		else
			append_json_bytes(o, std::string_view(static_cast<const char *>(value), size));
		o.push_back(']');
	}
	o.push_back(']');
	return true;
}

/* Appends s escaped for a COPY text format column (backslash, tab, newline, CR). */
void
append_copy_text(std::string &o, std::string_view s)
{
	for (char c : s)
	{
		switch (c)
		{
			case '\\':
				o.append("\\\\");
				break;
			case '\t':
				o.append("\\t");
				break;
			case '\n':
				o.append("\\n");
				break;
			case '\r':
				o.append("\\r");
				break;
			default:
				o.push_back(c);
		}
	}
}

/* ---------------------------------------------------------------------
 * Key rendering through the extension's envelope renderer
 * --------------------------------------------------------------------- */

/*
 * A Kafka key is a serialized cdc.v1.Row. It is rendered by wrapping it as
 * the key (field 4) of an otherwise empty delete envelope, rendering that
 * with the core's renderer, and cutting the key's JSON out of the result.
 * The text around the key is learnt once from a keyless envelope, so this
 * does not depend on the renderer's layout beyond "key" being one member.
 */
class KeyRenderer
{
public:
	KeyRenderer()
	{
		std::string json;

		cdc_core::render_envelope_json(kDeleteOp, sizeof(kDeleteOp), json);
		const std::string marker = "\"key\":null";
		size_t		at = json.find(marker);

		if (at == std::string::npos || json.find(marker, at + 1) != std::string::npos)
			throw std::runtime_error("unexpected rendering of a keyless envelope: " + json);
		prefix_ = json.substr(0, at + marker.size() - 4);
		suffix_ = json.substr(at + marker.size());
	}

	/* Renders key as JSON into out; false (with err) if it is not a valid Row. */
	bool		render(std::string_view key, std::string &out, std::string &err)
	{
		wrapped_.assign(kDeleteOp, sizeof(kDeleteOp));
		wrapped_.push_back('\x22');	/* field 4, length-delimited */
		for (uint64_t n = key.size();; n >>= 7)
		{
			if (n < 0x80)
			{
				wrapped_.push_back(static_cast<char>(n));
				break;
			}
			wrapped_.push_back(static_cast<char>((n & 0x7f) | 0x80));
		}
		wrapped_.append(key);
		try
		{
			cdc_core::render_envelope_json(wrapped_.data(), wrapped_.size(), json_);
		}
		catch (const std::exception &e)
		{
			err = std::string("key is not a valid cdc.v1.Row: ") + e.what();
			return false;
		}
		if (json_.size() < prefix_.size() + suffix_.size() ||
			json_.compare(0, prefix_.size(), prefix_) != 0 ||
			json_.compare(json_.size() - suffix_.size(), suffix_.size(), suffix_) != 0)
		{
			err = "unexpected rendering of a key: " + json_;
			return false;
		}
		out.assign(json_, prefix_.size(), json_.size() - prefix_.size() - suffix_.size());
		return true;
	}

private:
	static constexpr char kDeleteOp[2] = {'\x08', '\x03'};	/* op = OP_DELETE */
	std::string prefix_;
	std::string suffix_;
	std::string wrapped_;
	std::string json_;
};

/* ---------------------------------------------------------------------
 * consume
 * --------------------------------------------------------------------- */

/*
 * librdkafka log lines: warnings and worse, plus offset resets, which mean
 * messages were lost before they were read (the mock broker keeps only
 * about 5 MiB per partition) and which librdkafka reports only as info.
 */
extern "C" void
on_consumer_log(const rd_kafka_t *, int level, const char *fac, const char *buf)
{
	if (level <= 4 || (std::strcmp(fac, "OFFSET") == 0 && std::strstr(buf, "reset") != nullptr))
		std::fprintf(stderr, "cdc_kafka_consume: librdkafka %s: %s%s\n", fac, buf,
					 level > 4 ? " (messages before that offset were not read)" : "");
}

const char kConsumeUsage[] =
	"usage: cdc_kafka_consume consume --brokers B --topic-prefix P\n"
	"         [--format json|tsv] [--output FILE] [--max-messages N]\n"
	"         [--idle-exit MS] [--refresh-ms MS] [--headers] [-X librdkafka.property=value ...]\n"
	"Reads every partition of every topic named P.* from the beginning,\n"
	"picking up new topics and partitions every 500 ms (--refresh-ms), one\n"
	"line per message:\n"
	"  json: {\"topic\":..,\"partition\":..,\"offset\":..,\"key\":ROW|null,\"value\":ENVELOPE|null}\n"
	"        (a key or value that does not parse is given as a \"\\\\x<hex>\"\n"
	"        string, with \"key_error\"/\"value_error\" saying why); a message\n"
	"        with headers also has \"headers\":[[NAME,VALUE],...] in their order,\n"
	"        each a JSON string when it is UTF-8, else {\"base64\":\"...\"}, a null\n"
	"        value null\n"
	"  tsv:  topic TAB partition TAB offset TAB key TAB value, key and value as\n"
	"        \\\\x<hex> (COPY text format: COPY turns it into the bytea literal\n"
	"        \\x<hex>) or \\N for NULL; with --headers a 6th column: the headers\n"
	"        as that JSON array, escaped for COPY text format, or \\N for none\n"
	"Stops on SIGINT/SIGTERM, after N messages, or after MS ms without one.\n";

/* Builds one output line for a message. */
void
format_message(const rd_kafka_message_t *m, bool json, bool tsv_headers, KeyRenderer &keys,
			   std::string &line, std::string &scratch)
{
	std::string headers_error;

	const char *topic = rd_kafka_topic_name(m->rkt);
	std::string_view key(static_cast<const char *>(m->key), m->key ? m->key_len : 0);
	std::string_view value(static_cast<const char *>(m->payload), m->payload ? m->len : 0);

	line.clear();
	if (!json)
	{
		line.append(topic);
		line.push_back('\t');
		line.append(std::to_string(m->partition));
		line.push_back('\t');
		line.append(std::to_string(m->offset));
		line.push_back('\t');
		if (m->key == nullptr)
			line.append("\\N");
		else
		{
			line.append("\\\\x");
			append_hex(line, key);
		}
		line.push_back('\t');
		if (m->payload == nullptr)
			line.append("\\N");
		else
		{
			line.append("\\\\x");
			append_hex(line, value);
		}
		if (tsv_headers)
		{
			line.push_back('\t');
			scratch.clear();
			if (append_headers_json(m, scratch, headers_error))
				append_copy_text(line, scratch);
			else
				line.append("\\N");
			if (!headers_error.empty())
				std::fprintf(stderr, "cdc_kafka_consume: %s [%d] offset %lld: %s\n", topic,
							 static_cast<int>(m->partition), static_cast<long long>(m->offset),
							 headers_error.c_str());
		}
		line.push_back('\n');
		return;
	}

	std::string err;
	std::string key_error;
	std::string value_error;

	line.append("{\"topic\":");
	append_json_string(line, topic);
	line.append(",\"partition\":");
	line.append(std::to_string(m->partition));
	line.append(",\"offset\":");
	line.append(std::to_string(m->offset));
	line.append(",\"key\":");
	if (m->key == nullptr)
		line.append("null");
	else if (keys.render(key, scratch, err))
		line.append(scratch);
	else
	{
		key_error = err;
		line.append("\"\\\\x");
		append_hex(line, key);
		line.push_back('"');
	}
	line.append(",\"value\":");
	if (m->payload == nullptr)
		line.append("null");
	else
	{
		try
		{
			cdc_core::render_envelope_json(value.data(), value.size(), scratch);
			line.append(scratch);
		}
		catch (const std::exception &e)
		{
			value_error = e.what();
			line.append("\"\\\\x");
			append_hex(line, value);
			line.push_back('"');
		}
	}
	{
		size_t		before = line.size();

		line.append(",\"headers\":");
		if (!append_headers_json(m, line, headers_error))
			line.resize(before);
	}
	if (!headers_error.empty())
	{
		line.append(",\"headers_error\":");
		append_json_string(line, headers_error);
	}
	if (!key_error.empty())
	{
		line.append(",\"key_error\":");
		append_json_string(line, key_error);
	}
	if (!value_error.empty())
	{
		line.append(",\"value_error\":");
		append_json_string(line, value_error);
	}
	line.append("}\n");
}

/*
 * Assigns (incrementally, from the beginning) every partition of every
 * topic named prefix.* that is not assigned yet.
 */
void
refresh_assignment(rd_kafka_t *rk, const std::string &prefix,
				   std::set<std::pair<std::string, int32_t>> &assigned,
				   std::string &last_error)
{
	const struct rd_kafka_metadata *md = nullptr;
	rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, 2000);

	if (err)
	{
		std::string msg = std::string("metadata: ") + rd_kafka_err2str(err);

		if (msg != last_error)
			std::fprintf(stderr, "cdc_kafka_consume: %s (retrying)\n", msg.c_str());
		last_error = msg;
		return;
	}
	last_error.clear();

	rd_kafka_topic_partition_list_t *add = rd_kafka_topic_partition_list_new(16);

	for (int t = 0; t < md->topic_cnt; t++)
	{
		const rd_kafka_metadata_topic &mt = md->topics[t];

		if (mt.err || std::strncmp(mt.topic, prefix.c_str(), prefix.size()) != 0)
			continue;
		for (int p = 0; p < mt.partition_cnt; p++)
		{
			auto		tp = std::make_pair(std::string(mt.topic), mt.partitions[p].id);

			if (assigned.count(tp))
				continue;
			rd_kafka_topic_partition_list_add(add, mt.topic, mt.partitions[p].id)->offset =
				RD_KAFKA_OFFSET_BEGINNING;
			assigned.insert(tp);
		}
	}
	rd_kafka_metadata_destroy(md);
	if (add->cnt > 0)
	{
		rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, add);

		if (e != nullptr)
		{
			std::fprintf(stderr, "cdc_kafka_consume: assign: %s\n", rd_kafka_error_string(e));
			rd_kafka_error_destroy(e);
			/* forget them, so the next refresh tries again */
			for (int i = 0; i < add->cnt; i++)
				assigned.erase(std::make_pair(std::string(add->elems[i].topic),
											  add->elems[i].partition));
		}
	}
	rd_kafka_topic_partition_list_destroy(add);
}

}							/* namespace */

/* The consume subcommand: see kConsumeUsage. */
int
run_consume(int argc, char **argv)
{
	std::string brokers;
	std::string prefix;
	std::string format = "json";
	std::string output;
	int64_t		max_messages = 0;
	int64_t		idle_exit_ms = 0;
	int64_t		refresh_ms = 500;
	bool		tsv_headers = false;
	ConfList	props;

	for (int i = 2; i < argc; i++)
	{
		std::string opt = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : nullptr;
		bool		ok = val != nullptr;

		if (opt == "--help" || opt == "-h")
		{
			std::fputs(kConsumeUsage, stdout);
			return 0;
		}
		if (opt == "--headers")
		{
			tsv_headers = true;	/* json shows them anyway */
			continue;
		}
		if (!ok)
			;
		else if (opt == "--brokers")
			brokers = val;
		else if (opt == "--topic-prefix")
			prefix = val;
		else if (opt == "--format")
		{
			format = val;
			ok = format == "json" || format == "tsv";
		}
		else if (opt == "--output")
			output = val;
		else if (opt == "--max-messages")
			ok = parse_count(val, max_messages);
		else if (opt == "--idle-exit")
			ok = parse_count(val, idle_exit_ms);
		else if (opt == "--refresh-ms")
			ok = parse_count(val, refresh_ms) && refresh_ms >= 10;
		else if (opt == "-X")
			ok = parse_property(val, props);
		else
			ok = false;
		if (!ok)
		{
			std::fprintf(stderr, "cdc_kafka_consume consume: bad option or value: %s%s%s\n",
						 opt.c_str(), val ? " " : "", val ? val : "");
			std::fputs(kConsumeUsage, stderr);
			return 2;
		}
		i++;
	}
	if (brokers.empty() || prefix.empty())
	{
		std::fputs("cdc_kafka_consume consume: --brokers and --topic-prefix are required\n", stderr);
		std::fputs(kConsumeUsage, stderr);
		return 2;
	}

	int			fd = STDOUT_FILENO;

	if (!output.empty())
	{
		fd = open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
		{
			std::fprintf(stderr, "cdc_kafka_consume: cannot open %s: %s\n",
						 output.c_str(), std::strerror(errno));
			return 2;
		}
	}

	std::unique_ptr<KeyRenderer> keys;

	try
	{
		keys = std::make_unique<KeyRenderer>();
	}
	catch (const std::exception &e)
	{
		std::fprintf(stderr, "cdc_kafka_consume: %s\n", e.what());
		return 1;
	}

	/*
	 * assign() needs a group.id, but nothing here joins the group or
	 * commits: the id only has to be unique enough not to disturb anyone.
	 */
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	std::string group = "cdc_kafka_consume." + std::to_string(getpid());
	ConfList	base = {
		{"bootstrap.servers", brokers},
		{"group.id", group},
		{"enable.auto.commit", "false"},
		{"enable.auto.offset.store", "false"},
		{"auto.offset.reset", "earliest"},
		{"enable.partition.eof", "false"},
		{"fetch.wait.max.ms", "100"},
		{"log_level", "6"},
	};

	base.insert(base.end(), props.begin(), props.end());
	for (const auto &kv : base)
		if (!conf_set(conf, kv.first, kv.second))
		{
			rd_kafka_conf_destroy(conf);
			return 2;
		}
	rd_kafka_conf_set_log_cb(conf, on_consumer_log);

	char		errstr[512];
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));

	if (rk == nullptr)
	{
		std::fprintf(stderr, "cdc_kafka_consume: rd_kafka_new: %s\n", errstr);
		return 1;
	}
	rd_kafka_poll_set_consumer(rk);
	install_stop_handler();

	std::set<std::pair<std::string, int32_t>> assigned;
	std::map<std::pair<std::string, int32_t>, int64_t> next_offset;
	std::string last_meta_error;
	std::string last_msg_error;
	std::string line;
	std::string scratch;
	int64_t		count = 0;
	int64_t		next_refresh = 0;
	int64_t		last_activity = now_ms();
	int			status = 0;
	const bool	json = format == "json";
	const std::string topic_prefix = prefix + ".";

	while (!g_stop)
	{
		int64_t		now = now_ms();

		if (now >= next_refresh)
		{
			refresh_assignment(rk, topic_prefix, assigned, last_meta_error);
			now = now_ms();
			next_refresh = now + refresh_ms;
		}
		if (idle_exit_ms > 0 && now - last_activity >= idle_exit_ms)
			break;

		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

		if (m == nullptr)
			continue;
		if (m->err)
		{
			std::string msg = rd_kafka_message_errstr(m);

			if (msg != last_msg_error)
				std::fprintf(stderr, "cdc_kafka_consume: %s: %s\n",
							 rd_kafka_err2name(m->err), msg.c_str());
			last_msg_error = msg;
			rd_kafka_message_destroy(m);
			continue;
		}
		last_msg_error.clear();

		/* a gap means messages left the broker before they were read */
		int64_t    &next = next_offset[std::make_pair(std::string(rd_kafka_topic_name(m->rkt)),
													  m->partition)];

		if (m->offset > next)
			std::fprintf(stderr, "cdc_kafka_consume: %s [%d]: offsets %lld..%lld were not read "
						 "(no longer on the broker; the mock keeps about 5 MiB per partition)\n",
						 rd_kafka_topic_name(m->rkt), static_cast<int>(m->partition),
						 static_cast<long long>(next), static_cast<long long>(m->offset - 1));
		next = m->offset + 1;
		format_message(m, json, tsv_headers, *keys, line, scratch);
		rd_kafka_message_destroy(m);
		if (!write_all(fd, line))
		{
			std::fprintf(stderr, "cdc_kafka_consume: write failed: %s\n", std::strerror(errno));
			status = 1;
			break;
		}
		count++;
		last_activity = now_ms();
		if (max_messages > 0 && count >= max_messages)
			break;
	}

	std::fprintf(stderr, "cdc_kafka_consume: %lld messages from %zu partitions\n",
				 static_cast<long long>(count), assigned.size());
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	if (fd != STDOUT_FILENO && close(fd) != 0)
	{
		std::fprintf(stderr, "cdc_kafka_consume: closing %s: %s\n", output.c_str(), std::strerror(errno));
		status = 1;
	}
	return status;
}

/* ---------------------------------------------------------------------
 * produce (test input)
 * --------------------------------------------------------------------- */

namespace {

const char kProduceUsage[] =
	"usage: cdc_kafka_consume produce --brokers B [--input FILE]\n"
	"         [--timeout-ms MS] [-X librdkafka.property=value ...]\n"
	"Produces one message per input line (stdin by default):\n"
	"  topic TAB partition TAB key TAB value [TAB headers]\n"
	"partition -1 (or empty) lets the partitioner choose; key and value are\n"
	"\\x<hex>, \\\\x<hex> or \\N (NULL). headers, if there: \\N or [] for none,\n"
	"else [[NAME,VALUE],...] as consume prints them (NAME and VALUE a JSON\n"
	"string or {\"base64\":\"...\"}, VALUE also null), escaped for COPY text\n"
	"format like consume --format tsv --headers writes them. Waits for every\n"
	"delivery (at most MS ms, default 60000); exits 1 if any message failed,\n"
	"naming the error.\n";

/* One header of an input line; has_value false for a null value. */
struct InputHeader
{
	std::string name;
	bool		has_value = true;
	std::string value;
};

/* Undoes COPY text format escapes (\\ \t \n \r \b \f \v; \c for another c is c). */
std::string
decode_copy_text(std::string_view f)
{
	std::string out;

	for (size_t i = 0; i < f.size(); i++)
	{
		if (f[i] != '\\' || i + 1 == f.size())
		{
			out.push_back(f[i]);
			continue;
		}
		char		c = f[++i];

		switch (c)
		{
			case 't':
				out.push_back('\t');
				break;
			case 'n':
				out.push_back('\n');
				break;
			case 'r':
				out.push_back('\r');
				break;
			case 'b':
				out.push_back('\b');
				break;
			case 'f':
				out.push_back('\f');
				break;
			case 'v':
				out.push_back('\v');
				break;
			default:
				out.push_back(c);
		}
	}
	return out;
}

/* Just enough JSON for a header list: [[NAME,VALUE],...]. */
class HeaderListParser
{
public:
	explicit HeaderListParser(std::string_view text) : s_(text) {}

	/* Parses the whole text into out; false with err (and its position) if it is not one. */
	bool		parse(std::vector<InputHeader> &out, std::string &err)
	{
		out.clear();
		if (!list(out) || (ws(), i_ != s_.size() && fail("text after the list")))
		{
			err = err_ + " at character " + std::to_string(i_ + 1) + " of the headers";
			return false;
		}
		return true;
	}

private:
	bool		fail(const std::string &why)
	{
		if (err_.empty())
			err_ = why;
		return false;
	}
	void		ws()
	{
		while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
			i_++;
	}
	bool		eat(char c)
	{
		ws();
		if (i_ < s_.size() && s_[i_] == c)
		{
			i_++;
			return true;
		}
		return false;
	}
	bool		expect(char c)
	{
		return eat(c) || fail(std::string("expected '") + c + "'");
	}
	bool		list(std::vector<InputHeader> &out)
	{
		if (!expect('['))
			return false;
		if (eat(']'))
			return true;
		do
		{
			InputHeader h;

			if (!expect('[') || !bytes(h.name) || !expect(','))
				return false;
			ws();
			if (s_.substr(i_, 4) == "null")
			{
				i_ += 4;
				h.has_value = false;
			}
			else if (!bytes(h.value))
				return false;
			if (!expect(']'))
				return false;
			out.push_back(std::move(h));
		} while (eat(','));
		return expect(']');
	}
	/* a JSON string, or {"base64":"..."} */
	bool		bytes(std::string &out)
	{
		ws();
		if (!eat('{'))
			return string(out);
		std::string member;
		std::string text;

		if (!string(member) || member != "base64")
			return fail("expected {\"base64\":\"...\"}");
		if (!expect(':') || !string(text) || !expect('}'))
			return false;
		if (!decode_base64(text, out))
			return fail("not base64");
		return true;
	}
	bool		hex4(uint32_t &v)
	{
		v = 0;
		if (s_.size() - i_ < 4)
			return fail("short \\u escape");
		for (int k = 0; k < 4; k++)
		{
			char		c = s_[i_++];
			int			d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
				c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

			if (d < 0)
				return fail("bad \\u escape");
			v = v * 16 + static_cast<uint32_t>(d);
		}
		return true;
	}
	static void utf8(std::string &out, uint32_t cp)
	{
		if (cp < 0x80)
			out.push_back(static_cast<char>(cp));
		else if (cp < 0x800)
		{
			out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
			out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
		}
		else if (cp < 0x10000)
		{
			out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
			out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
			out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
		}
		else
		{
			out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
			out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
			out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
			out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
		}
	}
	bool		string(std::string &out)
	{
		out.clear();
		if (!expect('"'))
			return false;
		while (i_ < s_.size())
		{
			unsigned char c = static_cast<unsigned char>(s_[i_++]);

			if (c == '"')
				return true;
			if (c < 0x20)
				return fail("control character in a string");
			if (c != '\\')
			{
				out.push_back(static_cast<char>(c));
				continue;
			}
			if (i_ == s_.size())
				break;
			char		e = s_[i_++];
			uint32_t	cp,
						lo;

			switch (e)
			{
				case '"':
				case '\\':
				case '/':
					out.push_back(e);
					break;
				case 'b':
					out.push_back('\b');
					break;
				case 'f':
					out.push_back('\f');
					break;
				case 'n':
					out.push_back('\n');
					break;
				case 'r':
					out.push_back('\r');
					break;
				case 't':
					out.push_back('\t');
					break;
				case 'u':
					if (!hex4(cp))
						return false;
					if (cp >= 0xD800 && cp <= 0xDBFF)
					{
						if (s_.substr(i_, 2) != "\\u" || (i_ += 2, !hex4(lo)) || lo < 0xDC00 || lo > 0xDFFF)
							return fail("unpaired surrogate");
						cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					}
					else if (cp >= 0xDC00 && cp <= 0xDFFF)
						return fail("unpaired surrogate");
					utf8(out, cp);
					break;
				default:
					return fail("bad escape in a string");
			}
		}
		return fail("unterminated string");
	}

	std::string_view s_;
	size_t		i_ = 0;
	std::string err_;
};

/* Delivery counters, updated only by the delivery-report callback. */
struct DeliveryStats
{
	int64_t		delivered = 0;
	int64_t		failed = 0;
};

/* Delivery report: the only place results are counted. */
extern "C" void
on_delivery(rd_kafka_t *, const rd_kafka_message_t *m, void *opaque)
{
	auto	   *stats = static_cast<DeliveryStats *>(opaque);

	if (m->err)
	{
		stats->failed++;
		std::fprintf(stderr, "cdc_kafka_consume: delivery to %s [%d] failed: %s: %s\n",
					 rd_kafka_topic_name(m->rkt), static_cast<int>(m->partition),
					 rd_kafka_err2name(m->err), rd_kafka_err2str(m->err));
	}
	else
		stats->delivered++;
}


}							/* namespace */

/* Splits a line on tabs. */
std::vector<std::string_view>
split_tabs(std::string_view line)
{
	std::vector<std::string_view> out;
	size_t		start = 0;

	for (;;)
	{
		size_t		tab = line.find('\t', start);

		if (tab == std::string_view::npos)
		{
			out.push_back(line.substr(start));
			return out;
		}
		out.push_back(line.substr(start, tab - start));
		start = tab + 1;
	}
}

/* The produce subcommand: see kProduceUsage. */
int
run_produce(int argc, char **argv)
{
	std::string brokers;
	std::string input;
	int64_t		timeout_ms = 60000;
	ConfList	props;

	for (int i = 2; i < argc; i++)
	{
		std::string opt = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : nullptr;
		bool		ok = val != nullptr;

		if (opt == "--help" || opt == "-h")
		{
			std::fputs(kProduceUsage, stdout);
			return 0;
		}
		if (!ok)
			;
		else if (opt == "--brokers")
			brokers = val;
		else if (opt == "--input")
			input = val;
		else if (opt == "--timeout-ms")
			ok = parse_count(val, timeout_ms);
		else if (opt == "-X")
			ok = parse_property(val, props);
		else
			ok = false;
		if (!ok)
		{
			std::fprintf(stderr, "cdc_kafka_consume produce: bad option or value: %s\n", opt.c_str());
			std::fputs(kProduceUsage, stderr);
			return 2;
		}
		i++;
	}
	if (brokers.empty())
	{
		std::fputs(kProduceUsage, stderr);
		return 2;
	}

	FILE	   *in = stdin;

	if (!input.empty() && (in = std::fopen(input.c_str(), "r")) == nullptr)
	{
		std::fprintf(stderr, "cdc_kafka_consume: cannot open %s: %s\n", input.c_str(), std::strerror(errno));
		return 2;
	}

	DeliveryStats stats;
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	ConfList	base = {{"bootstrap.servers", brokers}, {"log_level", "4"}};

	base.insert(base.end(), props.begin(), props.end());
	for (const auto &kv : base)
		if (!conf_set(conf, kv.first, kv.second))
		{
			rd_kafka_conf_destroy(conf);
			return 2;
		}
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_opaque(conf, &stats);

	char		errstr[512];
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));

	if (rk == nullptr)
	{
		std::fprintf(stderr, "cdc_kafka_consume: rd_kafka_new: %s\n", errstr);
		return 1;
	}
	install_stop_handler();

	char	   *buf = nullptr;
	size_t		cap = 0;
	ssize_t		n;
	int64_t		lineno = 0;
	int64_t		queued = 0;
	int			status = 0;

	while (!g_stop && (n = getline(&buf, &cap, in)) >= 0)
	{
		std::string_view line(buf, static_cast<size_t>(n));

		lineno++;
		while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
			line.remove_suffix(1);
		if (line.empty())
			continue;

		auto		f = split_tabs(line);
		bool		key_null,
					value_null;
		std::string key,
					value,
					err;
		int64_t		partition = -1;
		std::vector<InputHeader> headers;

		if ((f.size() != 4 && f.size() != 5) ||
			!(f[1].empty() || f[1] == "-1" || parse_count(std::string(f[1]).c_str(), partition)) ||
			!decode_bytea_field(f[2], key_null, key, err) ||
			!decode_bytea_field(f[3], value_null, value, err) ||
			(f.size() == 5 && f[4] != "\\N" &&
			 !HeaderListParser(decode_copy_text(f[4])).parse(headers, err)))
		{
			std::fprintf(stderr, "cdc_kafka_consume: input line %lld: expected topic TAB partition TAB key TAB value [TAB headers]%s%s\n",
						 static_cast<long long>(lineno), err.empty() ? "" : ": ", err.c_str());
			status = 2;
			break;
		}
		std::string topic(f[0]);

		/* ours until a produce succeeds; a failed one leaves them to us */
		std::unique_ptr<rd_kafka_headers_t, decltype(&rd_kafka_headers_destroy)>
			hdrs(nullptr, rd_kafka_headers_destroy);

		if (!headers.empty())
		{
			hdrs.reset(rd_kafka_headers_new(headers.size()));
			for (const auto &h : headers)
				rd_kafka_header_add(hdrs.get(), h.name.data(), static_cast<ssize_t>(h.name.size()),
									h.has_value ? h.value.data() : nullptr,
									h.has_value ? static_cast<ssize_t>(h.value.size()) : 0);
		}

		std::vector<rd_kafka_vu_t> vus;
		rd_kafka_vu_t vu;

		vu.vtype = RD_KAFKA_VTYPE_TOPIC;
		vu.u.cstr = topic.c_str();
		vus.push_back(vu);
		vu.vtype = RD_KAFKA_VTYPE_PARTITION;
		vu.u.i32 = static_cast<int32_t>(partition);
		vus.push_back(vu);
		vu.vtype = RD_KAFKA_VTYPE_MSGFLAGS;
		vu.u.i = RD_KAFKA_MSG_F_COPY;
		vus.push_back(vu);
		vu.vtype = RD_KAFKA_VTYPE_KEY;
		vu.u.mem.ptr = key_null ? nullptr : key.data();
		vu.u.mem.size = key_null ? 0 : key.size();
		vus.push_back(vu);
		vu.vtype = RD_KAFKA_VTYPE_VALUE;
		vu.u.mem.ptr = value_null ? nullptr : value.data();
		vu.u.mem.size = value_null ? 0 : value.size();
		vus.push_back(vu);
		if (hdrs)
		{
			vu.vtype = RD_KAFKA_VTYPE_HEADERS;
			vu.u.headers = hdrs.get();
			vus.push_back(vu);
		}

		for (;;)
		{
			rd_kafka_error_t *error = rd_kafka_produceva(rk, vus.data(), vus.size());
			rd_kafka_resp_err_t e = error ? rd_kafka_error_code(error) : RD_KAFKA_RESP_ERR_NO_ERROR;

			if (error != nullptr)
				rd_kafka_error_destroy(error);
			if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
			{
				rd_kafka_poll(rk, 100);	/* never drop: wait for room */
				continue;
			}
			if (e)
			{
				std::fprintf(stderr, "cdc_kafka_consume: input line %lld: %s\n",
							 static_cast<long long>(lineno), rd_kafka_err2str(e));
				status = 1;
			}
			else
			{
				hdrs.release();	/* the message owns them now */
				queued++;
			}
			break;
		}
		rd_kafka_poll(rk, 0);
	}
	std::free(buf);
	if (in != stdin)
		std::fclose(in);

	int64_t		deadline = now_ms() + timeout_ms;

	while (rd_kafka_outq_len(rk) > 0 && now_ms() < deadline && !g_stop)
		rd_kafka_flush(rk, 100);
	int			left = rd_kafka_outq_len(rk);

	std::fprintf(stderr, "cdc_kafka_consume: produced %lld, delivered %lld, failed %lld%s\n",
				 static_cast<long long>(queued), static_cast<long long>(stats.delivered),
				 static_cast<long long>(stats.failed),
				 left > 0 ? " (undelivered messages remain: timeout)" : "");
	if (status == 0 && (stats.failed > 0 || left > 0 || stats.delivered != queued))
		status = 1;
	rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	rd_kafka_destroy(rk);
	return status;
}

}							/* namespace kafka_tools */

/* Dispatches to the subcommand named by the first argument. */
int
main(int argc, char **argv)
{
	std::string cmd = argc > 1 ? argv[1] : "";

	if (cmd == "consume")
		return kafka_tools::run_consume(argc, argv);
	if (cmd == "verify")
		return kafka_tools::run_verify(argc, argv);
	if (cmd == "produce")
		return kafka_tools::run_produce(argc, argv);
	std::fputs("usage: cdc_kafka_consume consume|verify|produce [options] (--help for each)\n",
			   cmd == "--help" || cmd == "-h" ? stdout : stderr);
	return cmd == "--help" || cmd == "-h" ? 0 : 2;
}
