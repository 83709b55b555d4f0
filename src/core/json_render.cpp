/*
 * json_render.cpp — cdc.v1.Envelope bytes to compact JSON text.
 *
 * The envelope is parsed with the libprotobuf-generated classes, checked
 * (no unknown fields anywhere, op-specific requirements, array shapes,
 * uuid sizes, nesting depth, embedded JSON validity) and rendered; the
 * usual change event and key are read from the wire into views instead
 * (see "Wire views"), rendered by the same code. Value
 * formats follow PostgreSQL's output functions where PostgreSQL has one
 * (pg_lsn, date, timestamp, interval in IntervalStyle iso_8601), adjusted
 * to ISO 8601 ('T' separator) for timestamps.
 */
#include "core_only.hpp"

#include "json_render.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include <google/protobuf/arena.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/unknown_field_set.h>

#include "cdc/v1/envelope.pb.h"
#include "core_util.hpp"

namespace cdc_core {

namespace {

namespace pb = cdc::v1;

const char kCorrupt[] =
	"invalid envelope: not a valid cdc.v1.Envelope (corrupt or truncated)";

[[noreturn]] void
invalid(const std::string &what)
{
	fail("invalid envelope: " + what);
}

/* ---------------------------------------------------------------------
 * Unknown-field check: libprotobuf keeps unknown fields (and known field
 * numbers with the wrong wire type) aside instead of failing; a cdc.v1
 * envelope never carries them, so their presence means corruption.
 * --------------------------------------------------------------------- */

template <class M>
void
check_known(const M &m, const char *type)
{
	/* looked up once: GetReflection() goes through the descriptor table's call_once */
	static const google::protobuf::Reflection *const reflection = M::GetReflection();
	const google::protobuf::UnknownFieldSet &u = reflection->GetUnknownFields(m);

	if (!u.empty())
		fail(std::string(kCorrupt) + ": unknown field "
			 + std::to_string(u.field(0).number()) + " in " + type);
}

void		check_row(const pb::Row &row);

void
check_value(const pb::Value &v)
{
	check_known(v, "cdc.v1.Value");
	switch (v.kind_case())
	{
		case pb::Value::kTimetzValue:
			check_known(v.timetz_value(), "cdc.v1.TimeTz");
			break;
		case pb::Value::kIntervalValue:
			check_known(v.interval_value(), "cdc.v1.Interval");
			break;
		case pb::Value::kArrayValue:
			check_known(v.array_value(), "cdc.v1.Array");
			for (const auto &e : v.array_value().elements())
				check_value(e);
			break;
		case pb::Value::kRecordValue:
			check_row(v.record_value());
			break;
		default:
			break;
	}
}

void
check_row(const pb::Row &row)
{
	check_known(row, "cdc.v1.Row");
	for (const auto &col : row.columns())
	{
		check_known(col, "cdc.v1.Column");
		if (col.has_value())
			check_value(col.value());
	}
}

void
check_envelope(const pb::Envelope &env)
{
	check_known(env, "cdc.v1.Envelope");
	if (env.has_before())
		check_row(env.before());
	if (env.has_after())
		check_row(env.after());
	if (env.has_key())
		check_row(env.key());
	if (env.has_source())
		check_known(env.source(), "cdc.v1.Source");
	if (env.has_transaction())
		check_known(env.transaction(), "cdc.v1.Transaction");
	if (env.has_truncate())
		check_known(env.truncate(), "cdc.v1.TruncateInfo");
	if (env.has_message())
		check_known(env.message(), "cdc.v1.LogicalMessage");
	if (env.has_summary())
	{
		check_known(env.summary(), "cdc.v1.TransactionSummary");
		for (const auto &tc : env.summary().tables())
			check_known(tc, "cdc.v1.TableCount");
	}
	if (env.has_snapshot())
		check_known(env.snapshot(), "cdc.v1.SnapshotMarker");
	if (env.has_gap())
		check_known(env.gap(), "cdc.v1.Gap");
	if (env.has_schema_change())
	{
		check_known(env.schema_change(), "cdc.v1.SchemaChange");
		for (const auto &col : env.schema_change().columns())
			check_known(col, "cdc.v1.SchemaColumn");
	}
	if (env.has_outbox())
	{
		check_known(env.outbox(), "cdc.v1.OutboxEvent");
		for (const auto &h : env.outbox().headers())
			check_known(h, "cdc.v1.Header");
	}
}

/* ---------------------------------------------------------------------
 * Small formatting helpers
 * --------------------------------------------------------------------- */

const char kHexLower[] = "0123456789abcdef";
const char kHexUpper[] = "0123456789ABCDEF";

/*
 * The rendering's output: the methods of std::string the helpers below
 * use, inlined, over a std::string grown in large steps (the helpers also
 * write into plain std::strings, for text literals). finish() gives the
 * string its length.
 */
class JsonOut
{
public:
	explicit JsonOut(std::string &s, size_t expect)
		: s_(s)
	{
		s_.clear();
		grow(expect);
	}

	JsonOut(const JsonOut &) = delete;
	JsonOut &operator=(const JsonOut &) = delete;

	size_t		size() const
	{
		return n_;
	}

	void		push_back(char c)
	{
		if (n_ == cap_)
			grow(1);
		d_[n_++] = c;
	}

	void		append(const char *p, size_t n)
	{
		if (cap_ - n_ < n)
			grow(n);
		copy(d_ + n_, p, n);
		n_ += n;
	}

	void		append(const char *p)
	{
		append(p, std::strlen(p));
	}

	void		append(std::string_view v)
	{
		append(v.data(), v.size());
	}

	/* The length only: what resize() adds is written by the caller at once. */
	void		resize(size_t n)
	{
		if (n > cap_)
			grow(n - n_);
		n_ = n;
	}

	char	   &operator[](size_t i)
	{
		return d_[i];
	}

	/* What was written from offset from on. */
	std::string_view since(size_t from) const
	{
		return std::string_view(d_ + from, n_ - from);
	}

	void		finish()
	{
		s_.resize(n_);
	}

private:
	std::string &s_;
	char	   *d_ = nullptr;
	size_t		n_ = 0;
	size_t		cap_ = 0;

	/*
	 * memcpy, with the short copies most appends are done inline: two
	 * overlapping fixed-size moves, reading and writing only [0, n).
	 */
	static void copy(char *d, const char *p, size_t n)
	{
		if (n > 16)
			std::memcpy(d, p, n);
		else if (n >= 8)
		{
			std::memcpy(d, p, 8);
			std::memcpy(d + n - 8, p + n - 8, 8);
		}
		else if (n >= 4)
		{
			std::memcpy(d, p, 4);
			std::memcpy(d + n - 4, p + n - 4, 4);
		}
		else if (n > 0)
		{
			d[0] = p[0];
			d[n / 2] = p[n / 2];
			d[n - 1] = p[n - 1];
		}
	}

	/*
	 * Room for need more bytes: at least doubling, so appends stay
	 * amortized O(1). Out of line, so that the appends inline.
	 */
	__attribute__((noinline)) void grow(size_t need)
	{
		if (need > SIZE_MAX / 2 - n_)
			throw std::length_error("JSON rendering too long");
		size_t		want = std::max(n_ + need, 2 * cap_);

		want = std::max(want, size_t{256});
		s_.resize(want);
		d_ = &s_[0];
		cap_ = want;
	}
};

/* Bytes that need escaping inside a JSON string. */
struct EscapeTable
{
	bool		needs[256];

	constexpr EscapeTable() : needs()
	{
		for (int c = 0; c < 0x20; c++)
			needs[c] = true;
		needs[static_cast<unsigned char>('"')] = true;
		needs[static_cast<unsigned char>('\\')] = true;
	}
};
constexpr EscapeTable kEscape;

template <class Out>
void
append_json_string(Out &o, std::string_view s)
{
	o.push_back('"');
	const char *p = s.data();
	const char *end = p + s.size();
	const char *run = p;

	/*
	 * Whole words without a byte to escape (a control character, '"' or
	 * '\\') are skipped 8 bytes at a time.
	 */
	for (; end - p >= 8; p += 8)
	{
		uint64_t	w;
		constexpr uint64_t kOnes = UINT64_C(0x0101010101010101);
		constexpr uint64_t kHigh = UINT64_C(0x8080808080808080);

		std::memcpy(&w, p, 8);
		uint64_t	quote = w ^ (kOnes * '"');
		uint64_t	backslash = w ^ (kOnes * '\\');
		uint64_t	found = ((w - kOnes * 0x20) | (quote - kOnes) | (backslash - kOnes)) & ~w & kHigh;

		if (found != 0)
			break;
	}
	for (; p < end; p++)
	{
		unsigned char c = static_cast<unsigned char>(*p);

		if (!kEscape.needs[c])
			continue;
		o.append(run, p - run);
		run = p + 1;
		switch (c)
		{
			case '"':
				o.append("\\\"");
				break;
			case '\\':
				o.append("\\\\");
				break;
			case '\n':
				o.append("\\n");
				break;
			case '\t':
				o.append("\\t");
				break;
			case '\r':
				o.append("\\r");
				break;
			case '\b':
				o.append("\\b");
				break;
			case '\f':
				o.append("\\f");
				break;
			case '\0':
				/* jsonb refuses \u0000, and no PostgreSQL string holds a NUL */
				invalid("a string holds a NUL byte, which PostgreSQL text cannot hold");
			default:
				{
					char		u[6] = {'\\', 'u', '0', '0',
						kHexLower[c >> 4], kHexLower[c & 15]};

					o.append(u, 6);
					break;
				}
		}
	}
	o.append(run, p - run);
	o.push_back('"');
}

/* The length append_json_string() gives s, quotes included. */
size_t
json_string_size(std::string_view s)
{
	size_t		n = s.size() + 2;

	for (unsigned char c : s)
		if (kEscape.needs[c])
			n += (c == '"' || c == '\\' || c == '\n' || c == '\t' || c == '\r'
				  || c == '\b' || c == '\f') ? 1 : 5;
	return n;
}

/* Appends bytes as the JSON string "\\x<lowercase hex>" (a bytea literal). */
template <class Out>
void
append_bytea_string(Out &o, std::string_view s)
{
	size_t		at = o.size();

	o.resize(at + 4 + 2 * s.size() + 1);
	char	   *p = &o[at];

	*p++ = '"';
	*p++ = '\\';
	*p++ = '\\';
	*p++ = 'x';
	for (unsigned char c : s)
	{
		*p++ = kHexLower[c >> 4];
		*p++ = kHexLower[c & 15];
	}
	*p = '"';
}

template <class Out, class Int>
void
append_int(Out &o, Int v)
{
	char		buf[24];
	auto		r = std::to_chars(buf, buf + sizeof(buf), v);

	o.append(buf, r.ptr - buf);
}

/* Appends v in decimal, zero-padded to at least width digits (v >= 0). */
template <class Out>
void
append_padded(Out &o, uint64_t v, int width)
{
	char		buf[24];
	auto		r = std::to_chars(buf, buf + sizeof(buf), v);
	int			n = static_cast<int>(r.ptr - buf);

	for (int i = n; i < width; i++)
		o.push_back('0');
	o.append(buf, n);
}

/* Appends ".ffffff" with trailing zeros trimmed; nothing when frac == 0. */
template <class Out>
void
append_fraction(Out &o, uint64_t frac_us)
{
	if (frac_us == 0)
		return;
	char		buf[7];

	buf[0] = '.';
	for (int i = 6; i >= 1; i--)
	{
		buf[i] = static_cast<char>('0' + frac_us % 10);
		frac_us /= 10;
	}
	int			n = 7;

	while (buf[n - 1] == '0')
		n--;
	o.append(buf, n);
}

template <class Out, class Float>
void
append_float(Out &o, Float v)
{
	if (std::isnan(v))
	{
		o.append("\"NaN\"");
		return;
	}
	if (std::isinf(v))
	{
		o.append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		return;
	}
	if (v == 0 && std::signbit(v))
	{
		o.append("\"-0\"");		/* a jsonb number has no negative zero */
		return;
	}
	char		buf[64];
	auto		r = std::to_chars(buf, buf + sizeof(buf), v);

	o.append(buf, r.ptr - buf);
}

/* pg_lsn text: "%X/%X" of the high and low 32 bits. */
template <class Out>
void
append_lsn(Out &o, uint64_t lsn)
{
	char		buf[24];
	char	   *p = buf;

	/* 8 hex digits at most per half */
	*p++ = '"';
	p = std::to_chars(p, p + 8, static_cast<uint32_t>(lsn >> 32), 16).ptr;
	*p++ = '/';
	p = std::to_chars(p, p + 8, static_cast<uint32_t>(lsn), 16).ptr;
	*p++ = '"';
	for (char *q = buf; q < p; q++)
		if (*q >= 'a' && *q <= 'f')
			*q = static_cast<char>(*q - 'a' + 'A');
	o.append(buf, p - buf);
}

/* ---- calendar ---- */

constexpr int64_t kUsecPerSec = 1000000;
constexpr int64_t kUsecPerMin = 60 * kUsecPerSec;
constexpr int64_t kUsecPerHour = 60 * kUsecPerMin;
constexpr int64_t kUsecPerDay = 24 * kUsecPerHour;

struct CivilDate
{
	int64_t		year;			/* astronomical: 0 is 1 BC */
	int			month;
	int			day;
};

/*
 * Proleptic Gregorian date of a day number (days since 1970-01-01). Works
 * in 400-year cycles (146097 days) counted from 0000-03-01, so that the
 * leap day is the last day of each computed year.
 */
CivilDate
civil_from_days(int64_t days)
{
	constexpr int64_t kCycle = 146097;
	constexpr int64_t kEpochShift = 719468; /* 0000-03-01 .. 1970-01-01 */

	int64_t		z = days + kEpochShift;
	int64_t		cycle = (z >= 0 ? z : z - (kCycle - 1)) / kCycle;
	int64_t		day_of_cycle = z - cycle * kCycle;	/* [0, 146096] */
	int64_t		year_of_cycle = (day_of_cycle - day_of_cycle / 1460
								 + day_of_cycle / 36524
								 - day_of_cycle / (kCycle - 1)) / 365;	/* [0, 399] */
	int64_t		day_of_year = day_of_cycle
		- (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100);	/* [0, 365] */
	int64_t		mp = (5 * day_of_year + 2) / 153;	/* March = 0 */
	CivilDate	d;

	d.day = static_cast<int>(day_of_year - (153 * mp + 2) / 5 + 1);
	d.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
	d.year = year_of_cycle + cycle * 400 + (d.month <= 2 ? 1 : 0);
	return d;
}

/* Appends "YYYY-MM-DD" (year as shown, i.e. BC years flipped); returns is-BC. */
template <class Out>
bool
append_date_part(Out &o, int64_t days)
{
	CivilDate	d = civil_from_days(days);
	bool		bc = d.year <= 0;
	uint64_t	shown = bc ? static_cast<uint64_t>(1 - d.year) : static_cast<uint64_t>(d.year);

	append_padded(o, shown, 4);
	o.push_back('-');
	append_padded(o, static_cast<uint64_t>(d.month), 2);
	o.push_back('-');
	append_padded(o, static_cast<uint64_t>(d.day), 2);
	return bc;
}

/* Appends "HH:MM:SS[.ffffff]" for 0 <= us <= 24:00:00. */
template <class Out>
void
append_time_of_day(Out &o, int64_t us)
{
	append_padded(o, static_cast<uint64_t>(us / kUsecPerHour), 2);
	o.push_back(':');
	append_padded(o, static_cast<uint64_t>(us / kUsecPerMin % 60), 2);
	o.push_back(':');
	append_padded(o, static_cast<uint64_t>(us / kUsecPerSec % 60), 2);
	append_fraction(o, static_cast<uint64_t>(us % kUsecPerSec));
}

template <class Out>
void
append_date(Out &o, int32_t days)
{
	if (days == INT32_MAX)
	{
		o.append("\"infinity\"");
		return;
	}
	if (days == INT32_MIN)
	{
		o.append("\"-infinity\"");
		return;
	}
	o.push_back('"');
	if (append_date_part(o, days))
		o.append(" BC");
	o.push_back('"');
}

void
check_time_range(int64_t us)
{
	if (us < 0 || us > kUsecPerDay)
		invalid("time value " + std::to_string(us)
				+ " is outside 00:00:00..24:00:00");
}

template <class Out>
void
append_time(Out &o, int64_t us)
{
	check_time_range(us);
	o.push_back('"');
	append_time_of_day(o, us);
	o.push_back('"');
}

template <class Out>
void
append_timetz(Out &o, int64_t us, int32_t offset_seconds)
{
	check_time_range(us);
	o.push_back('"');
	append_time_of_day(o, us);

	int64_t		off = offset_seconds;	/* int64: no overflow negating INT32_MIN */

	o.push_back(off >= 0 ? '+' : '-');
	if (off < 0)
		off = -off;
	append_padded(o, static_cast<uint64_t>(off / 3600), 2);
	o.push_back(':');
	append_padded(o, static_cast<uint64_t>(off / 60 % 60), 2);
	if (off % 60)
	{
		o.push_back(':');
		append_padded(o, static_cast<uint64_t>(off % 60), 2);
	}
	o.push_back('"');
}

/* timestamp / timestamptz (with_zone: "+00:00" after the time). */
template <class Out>
void
append_timestamp(Out &o, int64_t us, bool with_zone)
{
	if (us == INT64_MAX)
	{
		o.append("\"infinity\"");
		return;
	}
	if (us == INT64_MIN)
	{
		o.append("\"-infinity\"");
		return;
	}
	/* floor division, without multiplying back (that could overflow) */
	int64_t		days = us / kUsecPerDay;
	int64_t		tod = us % kUsecPerDay;

	if (tod < 0)
	{
		tod += kUsecPerDay;
		days -= 1;
	}
	o.push_back('"');
	bool		bc = append_date_part(o, days);

	o.push_back('T');
	append_time_of_day(o, tod);
	if (with_zone)
		o.append("+00:00");
	if (bc)
		o.append(" BC");
	o.push_back('"');
}

/* interval as PostgreSQL prints it with IntervalStyle = iso_8601. */
template <class Out>
void
append_interval(Out &o, int32_t months, int32_t days, int64_t us)
{
	if (months == INT32_MAX && days == INT32_MAX && us == INT64_MAX)
	{
		o.append("\"infinity\"");	/* PostgreSQL 17+ */
		return;
	}
	if (months == INT32_MIN && days == INT32_MIN && us == INT64_MIN)
	{
		o.append("\"-infinity\"");
		return;
	}
	if (months == 0 && days == 0 && us == 0)
	{
		o.append("\"PT0S\"");
		return;
	}

	auto		part = [&o](int64_t v, char unit) {
		if (v != 0)
		{
			append_int(o, v);
			o.push_back(unit);
		}
	};

	o.append("\"P");
	part(months / 12, 'Y');
	part(months % 12, 'M');
	part(days, 'D');
	if (us != 0)
	{
		int64_t		hours = us / kUsecPerHour;
		int64_t		rest = us % kUsecPerHour;
		int64_t		minutes = rest / kUsecPerMin;

		rest %= kUsecPerMin;	/* |rest| < 60 s: negating is safe */
		o.push_back('T');
		part(hours, 'H');
		part(minutes, 'M');
		if (rest != 0)
		{
			if (rest < 0)
			{
				o.push_back('-');
				rest = -rest;
			}
			append_int(o, rest / kUsecPerSec);
			append_fraction(o, static_cast<uint64_t>(rest % kUsecPerSec));
			o.push_back('S');
		}
	}
	o.push_back('"');
}

template <class Out>
void
append_uuid(Out &o, std::string_view b)
{
	if (b.size() != 16)
		invalid("uuid value is " + std::to_string(b.size()) + " bytes (expected 16)");
	o.push_back('"');
	for (int i = 0; i < 16; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			o.push_back('-');
		unsigned char c = static_cast<unsigned char>(b[i]);

		o.push_back(kHexLower[c >> 4]);
		o.push_back(kHexLower[c & 15]);
	}
	o.push_back('"');
}

/* ---------------------------------------------------------------------
 * Renderer
 *
 * The work is bounded by the input: every array level (a JSON array, or a
 * {...} of a text literal) is counted against kArrayLevelsPerByte per
 * envelope byte, before the array is rendered; everything else takes at
 * least two envelope bytes per unit. The output is bounded by max_len, and
 * the interrupt callback is polled every kRenderPollEvery units.
 * --------------------------------------------------------------------- */

constexpr uint32_t kBoxArrayOid = 1020;	/* box[]: elements delimited by ';' */

/* Strings at least this long are measured before they are appended. */
constexpr size_t kMeasureStringsFrom = 4096;

/* A source (the wire views' SourceView) that may come with its header rendered already. */
template <class S, class = void>
struct HasRenderedHead : std::false_type
{
};
template <class S>
struct HasRenderedHead<S, std::void_t<decltype(std::declval<const S &>().head_json())>>
	: std::true_type
{
};

class Renderer
{
public:
	Renderer(std::string &out, const RenderOptions &opts, size_t envelope_len)
		: o_(out, envelope_len * 2 + 512), opts_(opts), envelope_len_(envelope_len)
	{
		levels_budget_ = envelope_len > (SIZE_MAX - kArrayLevelsSlack) / kArrayLevelsPerByte
			? SIZE_MAX : envelope_len * kArrayLevelsPerByte + kArrayLevelsSlack;
		levels_left_ = levels_budget_;
	}

	/* env: a pb::Envelope, or an EnvelopeView (row ops only) */
	template <class Env>
	void		envelope(const Env &env);

	/*
	 * An outbox event: topic, key (null without one), payload_format, the
	 * payload (JSON text embedded when jsonb takes it, else a string; text
	 * as a string; bytes as bytea hex) and headers as {name, value} objects
	 * (values that are not UTF-8 as bytea hex).
	 */
	void		outbox(const pb::OutboxEvent &ob, bool &first)
	{
		bool		ofirst = true;

		key("outbox", first);
		o_.push_back('{');
		key("topic", ofirst);
		str(ob.topic());
		key("key", ofirst);
		if (ob.has_key())
			str(ob.key());
		else
			o_.append("null");
		key("has_key", ofirst);
		o_.append(ob.has_key() ? "true" : "false");
		key("payload_format", ofirst);
		switch (ob.payload_format())
		{
			case pb::PAYLOAD_JSON:
				o_.append("\"json\"");
				break;
			case pb::PAYLOAD_TEXT:
				o_.append("\"text\"");
				break;
			case pb::PAYLOAD_BYTES:
				o_.append("\"bytes\"");
				break;
			default:
				invalid("unknown outbox payload format " + std::to_string(ob.payload_format()));
		}
		key("payload", ofirst);
		const std::string &p = ob.payload();

		if (ob.payload_format() == pb::PAYLOAD_JSON && json_kind(p) == JsonText::kJsonb)
		{
			check_size(o_.size() + p.size());
			o_.append(p);
		}
		else if (ob.payload_format() != pb::PAYLOAD_BYTES && utf8_valid(p.data(), p.size()))
			str(p);
		else
		{
			check_size(o_.size() + 2 * p.size() + 5);
			append_bytea_string(o_, p);
		}
		key("headers", ofirst);
		o_.push_back('[');
		for (int i = 0; i < ob.headers_size(); i++)
		{
			const auto &h = ob.headers(i);

			unit();
			if (i > 0)
				o_.push_back(',');
			bool		hfirst = true;

			o_.push_back('{');
			key("name", hfirst);
			str(h.name());
			key("value", hfirst);
			if (utf8_valid(h.value().data(), h.value().size()))
				str(h.value());
			else
			{
				check_size(o_.size() + 2 * h.value().size() + 5);
				append_bytea_string(o_, h.value());
			}
			o_.push_back('}');
		}
		o_.push_back(']');
		o_.push_back('}');
	}

	/* The rendering must not exceed max_len. */
	/* A key Row, as the envelope's "key" renders it. */
	template <class Row>
	void		key_row(const Row &r)
	{
		row(r, 0);
	}

	void		check_size(size_t len) const
	{
		if (len > opts_.max_len)
			throw RenderTooLarge("the JSON rendering of this " + std::to_string(envelope_len_)
								 + "-byte envelope exceeds " + std::to_string(opts_.max_len)
								 + " bytes, the most to_json renders");
	}

	/* Gives the output string the rendering's length. */
	void		finish()
	{
		o_.finish();
	}

private:
	JsonOut		o_;
	const RenderOptions &opts_;
	size_t		envelope_len_;
	size_t		levels_budget_;
	size_t		levels_left_;
	unsigned	countdown_ = kRenderPollEvery;

	/* One unit of work: the size checked, the interrupt callback polled now and then. */
	void		unit(size_t pending = 0)
	{
		check_size(o_.size() + pending);
		if (--countdown_ == 0)
		{
			countdown_ = kRenderPollEvery;
			if (opts_.interrupted != nullptr && opts_.interrupted())
				throw RenderInterrupted();
		}
	}

	void		key(std::string_view k, bool &first)
	{
		if (!first)
			o_.push_back(',');
		first = false;
		str(k);
		o_.push_back(':');
	}

	/*
	 * A key of the envelope's own layout: a string literal, plain ASCII
	 * that needs no escaping, appended as it is.
	 */
	template <size_t N>
	void		key(const char (&k)[N], bool &first)
	{
		char		buf[N + 3];
		size_t		n = 0;

		if (!first)
			buf[n++] = ',';
		first = false;
		buf[n++] = '"';
		std::memcpy(buf + n, k, N - 1);
		n += N - 1;
		buf[n++] = '"';
		buf[n++] = ':';
		o_.append(buf, n);
	}

	/* A JSON string, measured first when long. */
	void		str(std::string_view s, size_t pending = 0)
	{
		if (s.size() >= kMeasureStringsFrom)
			check_size(o_.size() + pending + json_string_size(s));
		append_json_string(o_, s);
	}

	template <class Row>
	void		row(const Row &r, int vdepth);
	template <class Value>
	void		value(const Value &v, int vdepth, uint32_t type_oid);
	void		array(const pb::Array &a, int vdepth, uint32_t type_oid);
	void		array_level(const pb::Array &a, int dim, int &next, int vdepth);
	template <class Source>
	void		source(const Source &s);

	/* PostgreSQL text (input function syntax), for text literals */
	void		pg_text(std::string &t, const pb::Value &v, int vdepth, uint32_t type_oid);
	void		array_literal(std::string &t, const pb::Array &a, int vdepth, uint32_t type_oid);
	void		literal_level(std::string &t, const pb::Array &a, int dim, int &next,
							  int vdepth, char delim);
	void		record_literal(std::string &t, const pb::Row &r, int vdepth);

	void		check_array(const pb::Array &a);
	bool		needs_literal(const pb::Array &a) const;
	JsonText	json_kind(std::string_view j) const
	{
		return json_text_check(j.data(), j.size(), opts_.max_json_depth,
							   opts_.ascii_escapes_only);
	}
};

/* A row or record object; unchanged-toast columns are left out. */
template <class Row>
void
Renderer::row(const Row &r, int vdepth)
{
	bool		first = true;

	o_.push_back('{');
	for (const auto &col : r.columns())
	{
		unit();
		if (col.unchanged_toast())
			continue;
		key(col.name(), first);
		if (col.has_value())
			value(col.value(), vdepth + 1, col.type_oid());
		else
			o_.append("null");
	}
	o_.push_back('}');
}

template <class Value>
void
Renderer::value(const Value &v, int vdepth, uint32_t type_oid)
{
	if (vdepth > kMaxRenderValueDepth)
		invalid("values nested deeper than " + std::to_string(kMaxRenderValueDepth)
				+ " levels");
	unit();

	switch (v.kind_case())
	{
		case pb::Value::KIND_NOT_SET:
			o_.append("null");
			break;
		case pb::Value::kBoolValue:
			o_.append(v.bool_value() ? "true" : "false");
			break;
		case pb::Value::kIntValue:
			append_int(o_, v.int_value());
			break;
		case pb::Value::kFloat4Value:
			append_float(o_, v.float4_value());
			break;
		case pb::Value::kFloat8Value:
			append_float(o_, v.float8_value());
			break;
		case pb::Value::kNumericValue:
			str(v.numeric_value());
			break;
		case pb::Value::kTextValue:
			str(v.text_value());
			break;
		case pb::Value::kBytesValue:
			check_size(o_.size() + 2 * v.bytes_value().size() + 5);
			append_bytea_string(o_, v.bytes_value());
			break;
		case pb::Value::kDateValue:
			append_date(o_, v.date_value());
			break;
		case pb::Value::kTimeValue:
			append_time(o_, v.time_value());
			break;
		case pb::Value::kTimetzValue:
			append_timetz(o_, v.timetz_value().micros(),
						  v.timetz_value().offset_seconds());
			break;
		case pb::Value::kTimestampValue:
			append_timestamp(o_, v.timestamp_value(), false);
			break;
		case pb::Value::kTimestamptzValue:
			append_timestamp(o_, v.timestamptz_value(), true);
			break;
		case pb::Value::kIntervalValue:
			append_interval(o_, v.interval_value().months(),
							v.interval_value().days(),
							v.interval_value().micros());
			break;
		case pb::Value::kUuidValue:
			append_uuid(o_, v.uuid_value());
			break;
		case pb::Value::kJsonValue:
		case pb::Value::kJsonbValue:
			{
				std::string_view j = v.kind_case() == pb::Value::kJsonValue
					? std::string_view(v.json_value()) : std::string_view(v.jsonb_value());

				/*
				 * Embedded as it is when jsonb takes it; otherwise (a json
				 * value may hold \u0000, lone surrogates, huge numbers,
				 * any nesting) as a JSON string of its text, so that every
				 * envelope renders.
				 */
				if (json_kind(j) == JsonText::kJsonb)
				{
					check_size(o_.size() + j.size());
					o_.append(j);
				}
				else
					str(j);
				break;
			}
		case pb::Value::kEnumValue:
			str(v.enum_value());
			break;
		case pb::Value::kArrayValue:
			array(v.array_value(), vdepth, type_oid);
			break;
		case pb::Value::kRecordValue:
			row(v.record_value(), vdepth);
			break;
		default:
			/* cannot happen: the parser only sets known oneof members */
			invalid("value of unknown kind " + std::to_string(static_cast<int>(v.kind_case())));
	}
}

/*
 * Checks an array's shape (dims against elements, lower bounds) and counts
 * its levels against the envelope's budget.
 */
void
Renderer::check_array(const pb::Array &a)
{
	int			ndims = a.dims_size();
	size_t		nelems = static_cast<size_t>(a.elements_size());
	auto		dims_text = [&a]() {
		std::string dims;

		for (int d : a.dims())
		{
			if (!dims.empty())
				dims.push_back(',');
			dims += std::to_string(d);
		}
		return dims;
	};

	if (ndims > 6)
		invalid("array has " + std::to_string(ndims) + " dimensions (at most 6 allowed)");

	/* product of dims, saturating just above nelems so it cannot overflow */
	uint64_t	count = ndims == 0 ? 0 : 1;
	bool		negative = false;

	for (int d : a.dims())
		negative |= d < 0;
	if (!negative)
	{
		for (int d : a.dims())
		{
			count *= static_cast<uint64_t>(d);
			if (count > nelems)
				count = static_cast<uint64_t>(nelems) + 1;
		}
		for (int d : a.dims())
			if (d == 0)
				count = 0;
	}
	if (negative || count != nelems)
		invalid("array has " + std::to_string(nelems)
				+ " elements, which does not match its dims [" + dims_text() + "]");
	if (a.lower_bounds_size() != 0 && a.lower_bounds_size() != ndims)
		invalid("array has " + std::to_string(a.lower_bounds_size())
				+ " lower bounds for " + std::to_string(ndims) + " dims");
	for (int i = 0; i < a.lower_bounds_size(); i++)
		if (static_cast<int64_t>(a.lower_bounds(i)) + a.dims(i) - 1 > INT32_MAX)
			invalid("array lower bound " + std::to_string(a.lower_bounds(i))
					+ " plus its length " + std::to_string(a.dims(i))
					+ " passes the largest subscript");

	/*
	 * Levels made: 1 + d0 + d0*d1 + ... + d0*...*d(n-2). With a 0 among the
	 * dims there are no elements, yet every level before it is rendered.
	 */
	uint64_t	levels = ndims == 0 ? 0 : 1;
	uint64_t	product = 1;
	bool		saturated = false;

	for (int i = 0; i + 1 < ndims; i++)
	{
		uint64_t	d = static_cast<uint64_t>(a.dims(i));

		if (d != 0 && product > UINT64_MAX / d)
		{
			saturated = true;
			break;
		}
		product *= d;
		if (levels > UINT64_MAX - product)
		{
			saturated = true;
			break;
		}
		levels += product;
	}
	if (saturated || levels > levels_left_)
		invalid("array dims [" + dims_text() + "] describe "
				+ (saturated ? std::string("more than ") + std::to_string(UINT64_MAX)
				   : std::to_string(levels))
				+ " nested arrays, more than the " + std::to_string(levels_budget_)
				+ " a " + std::to_string(envelope_len_) + "-byte envelope can hold");
	levels_left_ -= levels;
}

/*
 * Whether an array renders as its PostgreSQL text literal instead of
 * nested JSON arrays, which jsonb_populate_record would not read back as
 * the same array: a lower bound other than 1, or a json/jsonb element that
 * is a JSON array (taken for a dimension), JSON null (taken for SQL NULL)
 * or a text jsonb does not take (that would become a string).
 */
bool
Renderer::needs_literal(const pb::Array &a) const
{
	for (int lb : a.lower_bounds())
		if (lb != 1)
			return true;
	for (const auto &e : a.elements())
	{
		const std::string *j = e.kind_case() == pb::Value::kJsonValue ? &e.json_value()
			: e.kind_case() == pb::Value::kJsonbValue ? &e.jsonb_value() : nullptr;

		if (j == nullptr)
			continue;
		size_t		at = j->find_first_not_of(" \t\n\r");

		if (at != std::string::npos && (*j)[at] == '[')
			return true;
		if (at != std::string::npos && j->compare(at, 4, "null") == 0
			&& j->find_first_not_of(" \t\n\r", at + 4) == std::string::npos)
			return true;
		if (json_kind(*j) != JsonText::kJsonb)
			return true;
	}
	return false;
}

void
Renderer::array(const pb::Array &a, int vdepth, uint32_t type_oid)
{
	check_array(a);
	if (a.dims_size() == 0)
	{
		o_.append("[]");
		return;
	}
	if (needs_literal(a))
	{
		std::string lit;

		array_literal(lit, a, vdepth, type_oid);
		str(lit);
		return;
	}
	int			next = 0;

	array_level(a, 0, next, vdepth);
}

void
Renderer::array_level(const pb::Array &a, int dim, int &next, int vdepth)
{
	int			n = a.dims(dim);
	bool		last = dim == a.dims_size() - 1;

	unit();
	o_.push_back('[');
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			o_.push_back(',');
		if (last)
			value(a.elements(next++), vdepth + 1, 0);
		else
			array_level(a, dim + 1, next, vdepth);
	}
	o_.push_back(']');
}

/* ---- PostgreSQL text literals ---- */

/* Appends a JSON-string rendering without its quotes (no escapes in it). */
template <class F>
void
append_unquoted(std::string &t, F render)
{
	std::string q;

	render(q);
	if (q.size() >= 2 && q.front() == '"' && q.back() == '"')
		t.append(q, 1, q.size() - 2);
	else
		t.append(q);
}

/* An element of an array literal, quoted as array_out() does. */
void
append_array_element(std::string &t, const std::string &e, char delim)
{
	bool		quote = e.empty() || (e.size() == 4 && (e[0] | 0x20) == 'n'
									  && (e[1] | 0x20) == 'u' && (e[2] | 0x20) == 'l'
									  && (e[3] | 0x20) == 'l');

	for (char c : e)
		if (c == '"' || c == '\\' || c == '{' || c == '}' || c == delim || c == ' '
			|| c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
			quote = true;
	if (!quote)
	{
		t.append(e);
		return;
	}
	t.push_back('"');
	for (char c : e)
	{
		if (c == '"' || c == '\\')
			t.push_back('\\');
		t.push_back(c);
	}
	t.push_back('"');
}

/* A field of a record literal, quoted as record_out() does. */
void
append_record_field(std::string &t, const std::string &e)
{
	bool		quote = e.empty();

	for (char c : e)
		if (c == '"' || c == '\\' || c == '(' || c == ')' || c == ',' || c == ' '
			|| c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
			quote = true;
	if (!quote)
	{
		t.append(e);
		return;
	}
	t.push_back('"');
	for (char c : e)
	{
		if (c == '"' || c == '\\')
			t.push_back(c);
		t.push_back(c);
	}
	t.push_back('"');
}

/* v as its type's input function reads it. */
void
Renderer::pg_text(std::string &t, const pb::Value &v, int vdepth, uint32_t type_oid)
{
	if (vdepth > kMaxRenderValueDepth)
		invalid("values nested deeper than " + std::to_string(kMaxRenderValueDepth)
				+ " levels");
	unit(t.size());

	switch (v.kind_case())
	{
		case pb::Value::KIND_NOT_SET:
			/* callers write SQL NULL themselves */
			break;
		case pb::Value::kBoolValue:
			t.push_back(v.bool_value() ? 't' : 'f');
			break;
		case pb::Value::kIntValue:
			append_int(t, v.int_value());
			break;
		case pb::Value::kFloat4Value:
			append_unquoted(t, [&](std::string &q) { append_float(q, v.float4_value()); });
			break;
		case pb::Value::kFloat8Value:
			append_unquoted(t, [&](std::string &q) { append_float(q, v.float8_value()); });
			break;
		case pb::Value::kNumericValue:
			t.append(v.numeric_value());
			break;
		case pb::Value::kTextValue:
			t.append(v.text_value());
			break;
		case pb::Value::kBytesValue:
			{
				const std::string &b = v.bytes_value();

				t.append("\\x");
				for (unsigned char c : b)
				{
					t.push_back(kHexLower[c >> 4]);
					t.push_back(kHexLower[c & 15]);
				}
				break;
			}
		case pb::Value::kDateValue:
			append_unquoted(t, [&](std::string &q) { append_date(q, v.date_value()); });
			break;
		case pb::Value::kTimeValue:
			append_unquoted(t, [&](std::string &q) { append_time(q, v.time_value()); });
			break;
		case pb::Value::kTimetzValue:
			append_unquoted(t, [&](std::string &q) {
				append_timetz(q, v.timetz_value().micros(), v.timetz_value().offset_seconds());
			});
			break;
		case pb::Value::kTimestampValue:
			append_unquoted(t, [&](std::string &q) {
				append_timestamp(q, v.timestamp_value(), false);
			});
			break;
		case pb::Value::kTimestamptzValue:
			append_unquoted(t, [&](std::string &q) {
				append_timestamp(q, v.timestamptz_value(), true);
			});
			break;
		case pb::Value::kIntervalValue:
			append_unquoted(t, [&](std::string &q) {
				append_interval(q, v.interval_value().months(), v.interval_value().days(),
								v.interval_value().micros());
			});
			break;
		case pb::Value::kUuidValue:
			append_unquoted(t, [&](std::string &q) { append_uuid(q, v.uuid_value()); });
			break;
		case pb::Value::kJsonValue:
			t.append(v.json_value());
			break;
		case pb::Value::kJsonbValue:
			t.append(v.jsonb_value());
			break;
		case pb::Value::kEnumValue:
			t.append(v.enum_value());
			break;
		case pb::Value::kArrayValue:
			check_array(v.array_value());
			array_literal(t, v.array_value(), vdepth, type_oid);
			break;
		case pb::Value::kRecordValue:
			record_literal(t, v.record_value(), vdepth);
			break;
		default:
			invalid("value of unknown kind " + std::to_string(static_cast<int>(v.kind_case())));
	}
}

/* "[lb:ub]...={...}" as array_out() writes it; the array is checked. */
void
Renderer::array_literal(std::string &t, const pb::Array &a, int vdepth, uint32_t type_oid)
{
	bool		bounds = false;

	for (int lb : a.lower_bounds())
		bounds |= lb != 1;
	if (bounds && a.elements_size() > 0)
	{
		for (int i = 0; i < a.dims_size(); i++)
		{
			t.push_back('[');
			append_int(t, a.lower_bounds(i));
			t.push_back(':');
			append_int(t, static_cast<int64_t>(a.lower_bounds(i)) + a.dims(i) - 1);
			t.push_back(']');
		}
		t.push_back('=');
	}
	if (a.elements_size() == 0)
	{
		t.append("{}");
		return;
	}
	int			next = 0;

	literal_level(t, a, 0, next, vdepth, type_oid == kBoxArrayOid ? ';' : ',');
}

void
Renderer::literal_level(std::string &t, const pb::Array &a, int dim, int &next,
						int vdepth, char delim)
{
	int			n = a.dims(dim);
	bool		last = dim == a.dims_size() - 1;
	std::string e;

	unit(t.size());
	t.push_back('{');
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			t.push_back(delim);
		if (!last)
		{
			literal_level(t, a, dim + 1, next, vdepth, delim);
			continue;
		}
		const pb::Value &v = a.elements(next++);

		if (v.kind_case() == pb::Value::KIND_NOT_SET)
		{
			t.append("NULL");
			continue;
		}
		e.clear();
		pg_text(e, v, vdepth + 1, 0);
		check_size(o_.size() + t.size() + e.size());
		append_array_element(t, e, delim);
	}
	t.push_back('}');
}

/* "(f1,f2,...)" as record_out() writes it; an absent value is NULL. */
void
Renderer::record_literal(std::string &t, const pb::Row &r, int vdepth)
{
	std::string e;
	bool		first = true;

	t.push_back('(');
	for (const auto &col : r.columns())
	{
		unit(t.size());
		if (!first)
			t.push_back(',');
		first = false;
		if (!col.has_value() || col.unchanged_toast()
			|| col.value().kind_case() == pb::Value::KIND_NOT_SET)
			continue;
		e.clear();
		pg_text(e, col.value(), vdepth + 1, col.type_oid());
		check_size(o_.size() + t.size() + e.size());
		append_record_field(t, e);
	}
	t.push_back(')');
}

/* The JSON name of a snapshot kind (the enum's first name); nullptr if unknown. */
const char *snapshot_kind_name(int kind);

/* a / b rounded toward minus infinity (b > 0) */
constexpr int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && (a < 0));
}

template <class Source>
void
Renderer::source(const Source &s)
{
	bool		first = true;
	size_t		from = o_.size();

	/* the header (connector to table) as a view's reader rendered it before */
	if constexpr (HasRenderedHead<Source>::value)
	{
		if (s.head_json() != nullptr)
		{
			o_.append(*s.head_json());
			first = false;
		}
	}
	if (first)
	{
		o_.push_back('{');
		key("connector", first);
		str(s.connector());
		key("version", first);
		str(s.version());
		key("database", first);
		str(s.database());
		if (!s.schema().empty())
		{
			key("schema", first);
			str(s.schema());
		}
		if (!s.table().empty())
		{
			key("table", first);
			str(s.table());
		}
		if constexpr (HasRenderedHead<Source>::value)
			s.remember_head(o_.since(from));
	}
	key("lsn", first);
	append_lsn(o_, s.lsn());
	key("commit_lsn", first);
	append_lsn(o_, s.commit_lsn());
	key("xid", first);
	append_int(o_, s.xid());
	key("commit_time_us", first);
	if (s.commit_time_us() == 0)
		o_.append("null");
	else
		append_int(o_, s.commit_time_us());
	key("snapshot", first);
	o_.append(s.snapshot() ? "true" : "false");

	/*
	 * A snapshot event says which snapshot read it: the kind, by the
	 * enum's JSON name, then the id, so that its rows and markers can be
	 * told apart from another snapshot's of the same table.
	 */
	if (s.snapshot_kind() != pb::SNAPSHOT_KIND_UNSPECIFIED)
	{
		const char *kind = snapshot_kind_name(s.snapshot_kind());

		/* proto3 keeps an unknown enum number; like an unknown op, refuse it */
		if (kind == nullptr)
			invalid("unknown snapshot kind " + std::to_string(s.snapshot_kind()));
		key("snapshot_kind", first);
		str(kind);
	}
	if (s.snapshot_id() != 0)
	{
		key("snapshot_id", first);
		append_int(o_, s.snapshot_id());
	}
	/* only when known, so that renderings without it stay as they were */
	if (s.schema_version() != 0)
	{
		key("schema_version", first);
		append_int(o_, s.schema_version());
	}
	o_.push_back('}');
}

const char *
op_name(int op)
{
	switch (op)
	{
		case pb::OP_CREATE:
			return "c";
		case pb::OP_UPDATE:
			return "u";
		case pb::OP_DELETE:
			return "d";
		case pb::OP_READ:
			return "r";
		case pb::OP_TRUNCATE:
			return "t";
		case pb::OP_MESSAGE:
			return "m";
		case pb::OP_BEGIN:
			return "begin";
		case pb::OP_COMMIT:
			return "commit";
		case pb::OP_SNAPSHOT_BEGIN:
			return "snapshot_begin";
		case pb::OP_SNAPSHOT_END:
			return "snapshot_end";
		case pb::OP_GAP:
			return "gap";
		case pb::OP_SCHEMA:
			return "schema";
		case pb::OP_OUTBOX:
			return "outbox";
		case pb::OP_HEARTBEAT:
			return "heartbeat";
		default:
			return nullptr;
	}
}

const char *
snapshot_kind_name(int kind)
{
	switch (kind)
	{
		case pb::SNAPSHOT_INITIAL:
			return "initial";
		case pb::SNAPSHOT_INCREMENTAL:
			return "incremental";
		case pb::SNAPSHOT_GAP:
			return "gap_resnapshot";
		default:
			return nullptr;
	}
}

template <class Env>
void
Renderer::envelope(const Env &env)
{
	int			op = env.op();
	const char *name = op_name(op);

	if (op == pb::OP_UNSPECIFIED)
		invalid("op is unspecified");
	if (name == nullptr)
		invalid("unknown op " + std::to_string(op));

	bool		row_op = op == pb::OP_CREATE || op == pb::OP_UPDATE
		|| op == pb::OP_DELETE || op == pb::OP_READ;

	if ((op == pb::OP_CREATE || op == pb::OP_UPDATE || op == pb::OP_READ)
		&& !env.has_after())
		invalid(std::string("op \"") + name + "\" requires an after row");
	/* a d event may carry neither: REPLICA IDENTITY NOTHING logs no old row */

	bool		first = true;

	o_.push_back('{');
	key("op", first);
	str(name);

	if (row_op)
	{
		key("before", first);
		if (env.has_before())
			row(env.before(), 0);
		else
			o_.append("null");
		key("after", first);
		if (env.has_after())
			row(env.after(), 0);
		else
			o_.append("null");
		key("key", first);
		if (env.has_key())
			row(env.key(), 0);
		else
			o_.append("null");

		/* unchanged toast column names: after, then before, deduplicated */
		std::vector<std::string_view> toast;
		std::unordered_set<std::string_view> seen;

		using RowType = std::decay_t<decltype(env.after())>;

		for (const RowType *r : {env.has_after() ? &env.after() : nullptr,
								 env.has_before() ? &env.before() : nullptr})
		{
			if (r == nullptr)
				continue;
			for (const auto &col : r->columns())
				if (col.unchanged_toast() && seen.insert(col.name()).second)
					toast.push_back(col.name());
		}
		if (!toast.empty())
		{
			key("unchanged_toast", first);
			o_.push_back('[');
			for (size_t i = 0; i < toast.size(); i++)
			{
				unit();
				if (i > 0)
					o_.push_back(',');
				str(toast[i]);
			}
			o_.push_back(']');
		}
	}

	key("source", first);
	source(env.source());

	/*
	 * Debezium's top-level ts_ms, derived from the commit time (not the
	 * time of decoding), so that an event decoded again renders the same.
	 */
	key("ts_ms", first);
	if (env.source().commit_time_us() == 0)
		o_.append("null");
	else
		append_int(o_, floor_div(env.source().commit_time_us(), 1000));

	if (env.has_transaction())
	{
		const auto &t = env.transaction();
		bool		tfirst = true;

		key("transaction", first);
		o_.push_back('{');
		key("id", tfirst);
		append_int(o_, t.id());
		/* begin and commit events have no position of their own */
		if (t.total_order() != 0)
		{
			key("total_order", tfirst);
			append_int(o_, t.total_order());
		}
		if (t.data_collection_order() != 0)
		{
			key("data_collection_order", tfirst);
			append_int(o_, t.data_collection_order());
		}
		o_.push_back('}');
	}

	if (op == pb::OP_TRUNCATE)
	{
		const auto &t = env.truncate();
		bool		tfirst = true;

		key("truncate", first);
		o_.push_back('{');
		key("cascade", tfirst);
		o_.append(t.cascade() ? "true" : "false");
		key("restart_identity", tfirst);
		o_.append(t.restart_identity() ? "true" : "false");
		o_.push_back('}');
	}
	else if (op == pb::OP_MESSAGE)
	{
		const auto &m = env.message();
		const std::string &content = m.content();
		bool		mfirst = true;

		key("message", first);
		o_.push_back('{');
		key("prefix", mfirst);
		str(m.prefix());
		key("transactional", mfirst);
		o_.append(m.transactional() ? "true" : "false");
		key("content", mfirst);
		check_size(o_.size() + 2 * content.size() + 5);
		append_bytea_string(o_, content);
		if (std::memchr(content.data(), '\0', content.size()) == nullptr
			&& utf8_valid(content.data(), content.size()))
		{
			key("content_text", mfirst);
			str(content);
		}
		o_.push_back('}');
	}
	else if (op == pb::OP_COMMIT)
	{
		const auto &s = env.summary();
		bool		sfirst = true;
		bool		tfirst = true;
		key("summary", first);
		o_.push_back('{');
		key("event_count", sfirst);
		append_int(o_, s.event_count());
		key("tables", sfirst);
		o_.push_back('[');
		for (const auto &tc : s.tables())
		{
			bool		cfirst = true;

			unit();
			if (!tfirst)
				o_.push_back(',');
			tfirst = false;
			o_.push_back('{');
			key("schema", cfirst);
			str(tc.schema());
			key("table", cfirst);
			str(tc.table());
			key("event_count", cfirst);
			append_int(o_, tc.event_count());
			o_.push_back('}');
		}
		o_.push_back(']');
		o_.push_back('}');
	}
	else if (op == pb::OP_SNAPSHOT_BEGIN || op == pb::OP_SNAPSHOT_END)
	{
		/* rows is the count of the finished snapshot: only an end knows it */
		const auto &m = env.snapshot();
		bool		mfirst = true;

		key("snapshot", first);
		o_.push_back('{');
		key("partition", mfirst);
		append_int(o_, m.partition());
		key("partitions", mfirst);
		append_int(o_, m.partitions());
		if (op == pb::OP_SNAPSHOT_END)
		{
			key("rows", mfirst);
			append_int(o_, m.rows());
		}
		o_.push_back('}');
	}
	else if (op == pb::OP_GAP)
	{
		/* every field, LSNs and the time as source renders them */
		const auto &g = env.gap();
		bool		gfirst = true;

		key("gap", first);
		o_.push_back('{');
		key("id", gfirst);
		append_int(o_, g.id());
		key("lost_from_lsn", gfirst);
		append_lsn(o_, g.lost_from_lsn());
		key("lost_to_lsn", gfirst);
		append_lsn(o_, g.lost_to_lsn());
		key("reason", gfirst);
		str(g.reason());
		key("resnapshot", gfirst);
		o_.append(g.resnapshot() ? "true" : "false");
		key("snapshot_id", gfirst);
		append_int(o_, g.snapshot_id());
		key("partition", gfirst);
		append_int(o_, g.partition());
		key("partitions", gfirst);
		append_int(o_, g.partitions());
		key("time_us", gfirst);
		if (g.time_us() == 0)
			o_.append("null");
		else
			append_int(o_, g.time_us());
		o_.push_back('}');
	}
	else if (op == pb::OP_OUTBOX)
		outbox(env.outbox(), first);
	else if (op == pb::OP_SCHEMA)
	{
		/* ddl null when not sent (resent, or DDL text off); renamed_from_* null unless renamed */
		const auto &sc = env.schema_change();
		bool		sfirst = true;

		key("schema_change", first);
		o_.push_back('{');
		key("version", sfirst);
		append_int(o_, sc.version());
		key("command_tag", sfirst);
		str(sc.command_tag());
		key("ddl", sfirst);
		if (sc.ddl().empty())
			o_.append("null");
		else
			str(sc.ddl());
		key("dropped", sfirst);
		o_.append(sc.dropped() ? "true" : "false");
		key("renamed_from_schema", sfirst);
		if (sc.renamed_from_schema().empty())
			o_.append("null");
		else
			str(sc.renamed_from_schema());
		key("renamed_from_table", sfirst);
		if (sc.renamed_from_table().empty())
			o_.append("null");
		else
			str(sc.renamed_from_table());
		key("replica_identity", sfirst);
		str(sc.replica_identity());
		key("resent", sfirst);
		o_.append(sc.resent() ? "true" : "false");
		key("columns", sfirst);
		o_.push_back('[');
		for (int i = 0; i < sc.columns_size(); i++)
		{
			const auto &c = sc.columns(i);
			bool		cfirst = true;

			unit();
			if (i > 0)
				o_.push_back(',');
			o_.push_back('{');
			key("name", cfirst);
			str(c.name());
			key("type", cfirst);
			str(c.type());
			key("type_oid", cfirst);
			append_int(o_, c.type_oid());
			key("typmod", cfirst);
			append_int(o_, c.typmod());
			key("not_null", cfirst);
			o_.append(c.not_null() ? "true" : "false");
			key("has_default", cfirst);
			o_.append(c.has_default() ? "true" : "false");
			key("key", cfirst);
			o_.append(c.key() ? "true" : "false");
			key("attnum", cfirst);
			append_int(o_, c.attnum());
			o_.push_back('}');
		}
		o_.push_back(']');
		o_.push_back('}');
	}
	o_.push_back('}');
}

}							/* namespace */

/* ---------------------------------------------------------------------
 * JSON check for embedded json/jsonb text: the syntax (RFC 8259), and
 * what jsonb_in refuses besides. Iterative (explicit container stack), so
 * arbitrarily deep documents cannot exhaust the C stack.
 * --------------------------------------------------------------------- */

namespace {

/* numeric's limits (numeric.c): NUMERIC_DSCALE_MAX, NUMERIC_WEIGHT_MAX in base-10000 digits */
constexpr int64_t kNumericDscaleMax = 0x3FFF;
constexpr int64_t kNumericDecimalWeightMax = 4 * (INT16_MAX + 1) - 1;	/* 10^131071 */
constexpr int64_t kNumericExponentLimit = INT_MAX / 2;

struct JsonCheck
{
	bool		syntax = false;		/* RFC 8259 */
	bool		pairs = true;		/* \u surrogate escapes pair up */
	bool		jsonb = true;		/* nothing else jsonb_in refuses */
};

JsonCheck
check_json(const char *text, size_t len, int max_depth, bool ascii_escapes_only)
{
	const unsigned char *p = reinterpret_cast<const unsigned char *>(text);
	const unsigned char *const e = p + len;
	std::string stack;			/* '{' or '[' per open container */
	JsonCheck	r;

	auto		ws = [&]() {
		while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			p++;
	};
	auto		hex4 = [&](unsigned &cp) -> bool {
		if (e - p < 4)
			return false;
		cp = 0;
		for (int i = 0; i < 4; i++)
		{
			unsigned char c = *p++;
			unsigned	d;

			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				return false;
			cp = cp * 16 + d;
		}
		return true;
	};
	auto		string = [&]() -> bool {
		/* *p == '"' */
		p++;
		for (;;)
		{
			if (p >= e)
				return false;
			unsigned char c = *p++;

			if (c == '"')
				return true;
			if (c < 0x20)
				return false;
			if (c != '\\')
				continue;
			if (p >= e)
				return false;
			c = *p++;
			switch (c)
			{
				case '"':
				case '\\':
				case '/':
				case 'b':
				case 'f':
				case 'n':
				case 'r':
				case 't':
					break;
				case 'u':
					{
						unsigned	cp;

						if (!hex4(cp))
							return false;
						if (cp == 0)
							r.jsonb = false;	/* text cannot hold it */
						if (ascii_escapes_only && cp > 0x7F)
							r.jsonb = false;
						if (cp >= 0xDC00 && cp <= 0xDFFF)
							r.pairs = false;	/* lone low surrogate */
						else if (cp >= 0xD800 && cp <= 0xDBFF)
						{
							/* a low surrogate must follow; anything else is lone */
							const unsigned char *at = p;
							unsigned	lo;

							if (e - p >= 6 && p[0] == '\\' && p[1] == 'u')
							{
								p += 2;
								if (!hex4(lo))
									return false;
								if (lo >= 0xDC00 && lo <= 0xDFFF)
									break;
							}
							p = at;
							r.pairs = false;
						}
						break;
					}
				default:
					return false;
			}
		}
	};
	auto		digits = [&]() -> bool {
		if (p >= e || *p < '0' || *p > '9')
			return false;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
		return true;
	};

	/*
	 * A number; also whether numeric_in takes it: at most kNumericDscaleMax
	 * digits after the point once the exponent is applied, the leading
	 * digit below 10^131072, the exponent within +-INT_MAX/2.
	 */
	auto		number = [&]() -> bool {
		if (*p == '-')
			p++;
		if (p >= e)
			return false;

		const unsigned char *int_start = p;

		if (*p == '0')
			p++;
		else if (!digits())
			return false;

		const unsigned char *int_end = p;
		const unsigned char *frac_start = p;
		const unsigned char *frac_end = p;

		if (p < e && *p == '.')
		{
			p++;
			frac_start = p;
			if (!digits())
				return false;
			frac_end = p;
		}
		int64_t		exponent = 0;

		if (p < e && (*p == 'e' || *p == 'E'))
		{
			bool		negative = false;

			p++;
			if (p < e && (*p == '+' || *p == '-'))
				negative = *p++ == '-';
			const unsigned char *exp_start = p;

			if (!digits())
				return false;
			for (const unsigned char *q = exp_start; q < p; q++)
			{
				exponent = exponent * 10 + (*q - '0');
				if (exponent > kNumericExponentLimit)
				{
					exponent = kNumericExponentLimit;
					break;
				}
			}
			if (negative)
				exponent = -exponent;
		}
		if (exponent >= kNumericExponentLimit || exponent <= -kNumericExponentLimit)
		{
			r.jsonb = false;
			return true;
		}

		int64_t		dscale = static_cast<int64_t>(frac_end - frac_start) - exponent;

		if (dscale > kNumericDscaleMax)
			r.jsonb = false;

		/* decimal position of the leading nonzero digit (10^position) */
		const unsigned char *q = int_start;

		while (q < int_end && *q == '0')
			q++;
		if (q < int_end)
		{
			if (static_cast<int64_t>(int_end - q) - 1 + exponent > kNumericDecimalWeightMax)
				r.jsonb = false;
		}
		else
		{
			q = frac_start;
			while (q < frac_end && *q == '0')
				q++;
			if (q < frac_end
				&& -static_cast<int64_t>(q - frac_start) - 1 + exponent > kNumericDecimalWeightMax)
				r.jsonb = false;
		}
		return true;
	};
	auto		literal = [&](const char *word) -> bool {
		size_t		n = std::strlen(word);

		if (static_cast<size_t>(e - p) < n || std::memcmp(p, word, n) != 0)
			return false;
		p += n;
		return true;
	};
	auto		member_key = [&]() -> bool {
		/* whitespace already skipped */
		if (p >= e || *p != '"' || !string())
			return false;
		ws();
		if (p >= e || *p != ':')
			return false;
		p++;
		return true;
	};
	auto		open = [&](char c) {
		stack.push_back(c);
		if (max_depth > 0 && stack.size() > static_cast<size_t>(max_depth))
			r.jsonb = false;
	};

	bool		want_value = true;

	for (;;)
	{
		ws();
		if (want_value)
		{
			if (p >= e)
				return r;
			switch (*p)
			{
				case '{':
					p++;
					ws();
					if (p < e && *p == '}')
					{
						p++;
						want_value = false;
						/* {} is a level too */
						if (max_depth > 0 && stack.size() + 1 > static_cast<size_t>(max_depth))
							r.jsonb = false;
						break;
					}
					open('{');
					if (!member_key())
						return r;
					break;
				case '[':
					p++;
					ws();
					if (p < e && *p == ']')
					{
						p++;
						want_value = false;
						if (max_depth > 0 && stack.size() + 1 > static_cast<size_t>(max_depth))
							r.jsonb = false;
						break;
					}
					open('[');
					break;
				case '"':
					if (!string())
						return r;
					want_value = false;
					break;
				case 't':
					if (!literal("true"))
						return r;
					want_value = false;
					break;
				case 'f':
					if (!literal("false"))
						return r;
					want_value = false;
					break;
				case 'n':
					if (!literal("null"))
						return r;
					want_value = false;
					break;
				default:
					if (*p != '-' && (*p < '0' || *p > '9'))
						return r;
					if (!number())
						return r;
					want_value = false;
					break;
			}
		}
		else
		{
			if (stack.empty())
			{
				r.syntax = p == e;
				return r;
			}
			if (p >= e)
				return r;
			char		top = stack.back();

			if (*p == ',')
			{
				p++;
				if (top == '{')
				{
					ws();
					if (!member_key())
						return r;
				}
				want_value = true;
			}
			else if ((top == '{' && *p == '}') || (top == '[' && *p == ']'))
			{
				p++;
				stack.pop_back();
			}
			else
				return r;
		}
	}
}

}							/* namespace */

bool
json_text_valid(const char *text, size_t len)
{
	JsonCheck	r = check_json(text, len, 0, false);

	return r.syntax && r.pairs;
}

JsonText
json_text_check(const char *text, size_t len, int max_depth, bool ascii_escapes_only)
{
	JsonCheck	r = check_json(text, len, max_depth, ascii_escapes_only);

	if (!r.syntax)
		return JsonText::kInvalid;
	return r.pairs && r.jsonb ? JsonText::kJsonb : JsonText::kJsonOnly;
}

namespace {

/* Parses data[0..len) into msg, failing with corrupt if it does not parse. */
void
parse_checked(google::protobuf::Message &msg, const char *data, size_t len,
			  const std::string &corrupt)
{
	/*
	 * libprotobuf logs (to stderr) when a string field is not valid UTF-8;
	 * we report the failure ourselves, so keep it quiet.
	 */
	google::protobuf::LogSilencer quiet;

	if (!msg.ParseFromArray(data ? data : "", static_cast<int>(len)))
		fail(corrupt);
}

/* Renders the parsed msg (from len bytes) into out with render(renderer, msg). */
template <typename M, typename Render>
void
render_parsed(const M &msg, size_t len, std::string &out, const RenderOptions &opts,
			  Render render)
{
	Renderer	r(out, opts, len);

	render(r, msg);
	r.finish();
	r.check_size(out.size());
}

/* ---------------------------------------------------------------------
 * Wire views: the fast path for the usual envelope.
 *
 * The worker renders every message it publishes when
 * cdc_plugin.value_format or key_format is json. Parsing each into
 * generated messages (an arena, a copy of every string) costs more than
 * rendering it, so a change event (op c, u, d or r; the rows' values of
 * scalar kinds) and a key are read straight from the wire into views that
 * point into the bytes, and rendered by the same Renderer code. Anything
 * else, or anything unusual (an unknown or repeated field, a wrong wire
 * type, a string that is not valid UTF-8, an array, a record, a timetz or
 * an interval value, another op), makes the reader give up, and the bytes
 * go the generated classes' way, which renders them or says what is wrong
 * with them. So a view never decides what is valid: it renders exactly
 * what the generated classes would, or nothing.
 * --------------------------------------------------------------------- */

/*
 * Marks field (1..63) as seen in *seen; false if it was seen before (a
 * repeated singular field, which libprotobuf would merge or overwrite).
 */
bool
first_time(uint64_t &seen, uint32_t field)
{
	uint64_t	bit = uint64_t{1} << field;

	if (seen & bit)
		return false;
	seen |= bit;
	return true;
}

/* Reads protobuf wire format; every read returns false at the end or on malformed input. */
class WireReader
{
public:
	WireReader(const char *data, size_t len)
		: p_(reinterpret_cast<const uint8_t *>(data)), end_(p_ + len)
	{
	}

	bool		done() const
	{
		return p_ == end_;
	}

	/* Bytes read so far from data. */
	size_t		offset(const char *data) const
	{
		return static_cast<size_t>(reinterpret_cast<const char *>(p_) - data);
	}

	bool		varint(uint64_t &v)
	{
		/* most are one byte: tags, lengths, small numbers */
		if (p_ != end_ && *p_ < 0x80)
		{
			v = *p_++;
			return true;
		}
		v = 0;
		for (int shift = 0; shift < 64; shift += 7)
		{
			if (p_ == end_)
				return false;
			uint8_t		b = *p_++;

			v |= static_cast<uint64_t>(b & 0x7f) << shift;
			if (b < 0x80)
				return shift < 63 || b <= 1;
		}
		return false;
	}

	/* A tag: field number (> 0, fits in 29 bits) and wire type. */
	bool		tag(uint32_t &field, uint32_t &wire_type)
	{
		uint64_t	t;

		if (!varint(t) || t > UINT32_MAX || (t >> 3) == 0)
			return false;
		field = static_cast<uint32_t>(t >> 3);
		wire_type = static_cast<uint32_t>(t & 7);
		return true;
	}

	/*
	 * The next tag of a message whose known fields are 1..max_field, none
	 * repeated: false for another field, or one seen before (*seen marks
	 * them, as first_time() does).
	 */
	bool		next_field(uint32_t max_field, uint64_t &seen, uint32_t &field, uint32_t &wire_type)
	{
		return tag(field, wire_type) && field <= max_field && first_time(seen, field);
	}

	bool		bytes(std::string_view &v)
	{
		uint64_t	n;

		if (!varint(n) || n > static_cast<uint64_t>(end_ - p_))
			return false;
		v = std::string_view(reinterpret_cast<const char *>(p_), static_cast<size_t>(n));
		p_ += n;
		return true;
	}

	template <class T>
	bool		fixed(T &v)
	{
		if (static_cast<size_t>(end_ - p_) < sizeof(T))
			return false;
		std::memcpy(&v, p_, sizeof(T));		/* little-endian, as the wire is */
		p_ += sizeof(T);
		return true;
	}

private:
	const uint8_t *p_;
	const uint8_t *end_;
};

constexpr uint32_t kWireVarint = 0;
constexpr uint32_t kWireFixed64 = 1;
constexpr uint32_t kWireBytes = 2;
constexpr uint32_t kWireFixed32 = 5;

/* A proto3 string: valid UTF-8, as libprotobuf's parser requires (and checks the same way). */
bool
wire_string(WireReader &r, std::string_view &v)
{
	if (!r.bytes(v))
		return false;

	/* ASCII, 8 bytes at a time, is valid; anything else is libprotobuf's to judge */
	const char *p = v.data();
	size_t		n = v.size();
	uint64_t	high = 0;

	for (; n >= 8; p += 8, n -= 8)
	{
		uint64_t	w;

		std::memcpy(&w, p, 8);
		high |= w;
	}
	for (; n > 0; p++, n--)
		high |= static_cast<unsigned char>(*p);
	if ((high & UINT64_C(0x8080808080808080)) == 0)
		return true;
	return google::protobuf::internal::IsStructurallyValidUTF8(v.data(),
																static_cast<int>(v.size()));
}

constexpr int32_t
zigzag32(uint64_t v)
{
	uint32_t	n = static_cast<uint32_t>(v);

	return static_cast<int32_t>((n >> 1) ^ (~(n & 1) + 1));
}

constexpr int64_t
zigzag64(uint64_t n)
{
	return static_cast<int64_t>((n >> 1) ^ (~(n & 1) + 1));
}

/* cdc.v1.Value of a scalar kind, its accessors named as the generated ones. */
struct ValueView
{
	pb::Value::KindCase kind = pb::Value::KIND_NOT_SET;
	bool		b = false;
	int64_t		i = 0;
	float		f4 = 0;
	double		f8 = 0;
	std::string_view s;

	pb::Value::KindCase kind_case() const { return kind; }
	bool		bool_value() const { return b; }
	int64_t		int_value() const { return i; }
	float		float4_value() const { return f4; }
	double		float8_value() const { return f8; }
	std::string_view numeric_value() const { return s; }
	std::string_view text_value() const { return s; }
	std::string_view bytes_value() const { return s; }
	int32_t		date_value() const { return static_cast<int32_t>(i); }
	int64_t		time_value() const { return i; }
	int64_t		timestamp_value() const { return i; }
	int64_t		timestamptz_value() const { return i; }
	std::string_view uuid_value() const { return s; }
	std::string_view json_value() const { return s; }
	std::string_view jsonb_value() const { return s; }
	std::string_view enum_value() const { return s; }
	/* kinds the reader gives up on: never set in a view */
	const pb::TimeTz &timetz_value() const { return pb::TimeTz::default_instance(); }
	const pb::Interval &interval_value() const { return pb::Interval::default_instance(); }
	const pb::Array &array_value() const { return pb::Array::default_instance(); }
	const pb::Row &record_value() const { return pb::Row::default_instance(); }
};

bool
read_value(std::string_view bytes, ValueView &v)
{
	WireReader	r(bytes.data(), bytes.size());

	while (!r.done())
	{
		uint32_t	field,
					wt;
		uint64_t	n = 0;

		/* a oneof: a second member would replace the first */
		if (!r.tag(field, wt) || v.kind != pb::Value::KIND_NOT_SET)
			return false;
		switch (field)
		{
			case pb::Value::kBoolValue:
			case pb::Value::kIntValue:
			case pb::Value::kDateValue:
			case pb::Value::kTimeValue:
			case pb::Value::kTimestampValue:
			case pb::Value::kTimestamptzValue:
				if (wt != kWireVarint || !r.varint(n))
					return false;
				if (field == pb::Value::kBoolValue)
					v.b = n != 0;
				else if (field == pb::Value::kDateValue)
					v.i = zigzag32(n);
				else if (field == pb::Value::kTimeValue)
					v.i = static_cast<int64_t>(n);
				else
					v.i = zigzag64(n);
				break;
			case pb::Value::kFloat4Value:
				if (wt != kWireFixed32 || !r.fixed(v.f4))
					return false;
				break;
			case pb::Value::kFloat8Value:
				if (wt != kWireFixed64 || !r.fixed(v.f8))
					return false;
				break;
			case pb::Value::kNumericValue:
			case pb::Value::kTextValue:
			case pb::Value::kJsonValue:
			case pb::Value::kJsonbValue:
			case pb::Value::kEnumValue:
				if (wt != kWireBytes || !wire_string(r, v.s))
					return false;
				break;
			case pb::Value::kBytesValue:
			case pb::Value::kUuidValue:
				if (wt != kWireBytes || !r.bytes(v.s))
					return false;
				break;
			default:
				return false;
		}
		v.kind = static_cast<pb::Value::KindCase>(field);
	}
	return true;
}

/* cdc.v1.Column */
struct ColumnView
{
	std::string_view name_;
	uint32_t	type_oid_ = 0;
	bool		has_value_ = false;
	bool		unchanged_toast_ = false;
	ValueView	value_;

	std::string_view name() const { return name_; }
	uint32_t	type_oid() const { return type_oid_; }
	bool		has_value() const { return has_value_; }
	const ValueView &value() const { return value_; }
	bool		unchanged_toast() const { return unchanged_toast_; }
};

/* cdc.v1.Row: its columns, a range of the reader's column store. */
struct RowView
{
	const ColumnView *begin_ = nullptr;
	const ColumnView *end_ = nullptr;

	struct Columns
	{
		const ColumnView *b;
		const ColumnView *e;

		const ColumnView *begin() const { return b; }
		const ColumnView *end() const { return e; }
	};
	Columns		columns() const { return {begin_, end_}; }
};

/*
 * A Source's header (fields 1-5, the strings that name the connector and
 * the table, which the plugin encodes once per table) and its rendering:
 * an envelope whose Source starts with the same bytes has the same header,
 * valid, and rendered the same.
 */
struct SourceHead
{
	std::string bytes;
	std::string json;
	uint64_t	seen = 0;		/* its fields, as first_time() marks them */
};

/* cdc.v1.Source */
struct SourceView
{
	const std::string *head_json_ = nullptr;	/* header rendered before */
	SourceHead *head_store_ = nullptr;	/* where to keep this one's */
	std::string_view head_bytes_;
	std::string_view connector_, version_, database_, schema_, table_;
	uint64_t	lsn_ = 0, commit_lsn_ = 0, xid_ = 0, snapshot_id_ = 0, schema_version_ = 0;
	int64_t		commit_time_us_ = 0;
	bool		snapshot_ = false;
	int32_t		snapshot_kind_ = 0;

	std::string_view connector() const { return connector_; }
	std::string_view version() const { return version_; }
	std::string_view database() const { return database_; }
	std::string_view schema() const { return schema_; }
	std::string_view table() const { return table_; }
	uint64_t	lsn() const { return lsn_; }
	uint64_t	commit_lsn() const { return commit_lsn_; }
	uint64_t	xid() const { return xid_; }
	int64_t		commit_time_us() const { return commit_time_us_; }
	bool		snapshot() const { return snapshot_; }
	int32_t		snapshot_kind() const { return snapshot_kind_; }
	uint64_t	snapshot_id() const { return snapshot_id_; }
	uint64_t	schema_version() const { return schema_version_; }

	const std::string *head_json() const { return head_json_; }

	/* The renderer's header of this source, kept for the next envelopes. */
	void		remember_head(std::string_view json) const
	{
		if (head_store_ == nullptr)
			return;
		head_store_->bytes.assign(head_bytes_.data(), head_bytes_.size());
		head_store_->json.assign(json.data(), json.size());
		head_store_->seen = head_seen_;
	}

	uint64_t	head_seen_ = 0;
};

/* cdc.v1.Transaction */
struct TransactionView
{
	uint64_t	id_ = 0, total_order_ = 0, data_collection_order_ = 0;

	uint64_t	id() const { return id_; }
	uint64_t	total_order() const { return total_order_; }
	uint64_t	data_collection_order() const { return data_collection_order_; }
};

/* cdc.v1.Envelope of a row op (c, u, d, r) */
struct EnvelopeView
{
	int32_t		op_ = 0;
	bool		has_before_ = false, has_after_ = false, has_key_ = false, has_transaction_ = false;
	RowView		before_, after_, key_;
	SourceView	source_;
	TransactionView transaction_;

	int32_t		op() const { return op_; }
	bool		has_before() const { return has_before_; }
	bool		has_after() const { return has_after_; }
	bool		has_key() const { return has_key_; }
	bool		has_transaction() const { return has_transaction_; }
	const RowView &before() const { return before_; }
	const RowView &after() const { return after_; }
	const RowView &key() const { return key_; }
	const SourceView &source() const { return source_; }
	const TransactionView &transaction() const { return transaction_; }
	/* sections of other ops, which the reader gives up on: never rendered from a view */
	const pb::TruncateInfo &truncate() const { return pb::TruncateInfo::default_instance(); }
	const pb::LogicalMessage &message() const { return pb::LogicalMessage::default_instance(); }
	const pb::TransactionSummary &summary() const { return pb::TransactionSummary::default_instance(); }
	const pb::SnapshotMarker &snapshot() const { return pb::SnapshotMarker::default_instance(); }
	const pb::Gap &gap() const { return pb::Gap::default_instance(); }
	const pb::SchemaChange &schema_change() const { return pb::SchemaChange::default_instance(); }
	const pb::OutboxEvent &outbox() const { return pb::OutboxEvent::default_instance(); }
};

/* Reads views; its column store is reused from message to message. */
class ViewReader
{
public:
	/* A Row's columns, appended to the store; the range is set by finish(). */
	struct PendingRow
	{
		size_t		from = 0;
		size_t		to = 0;
	};

	bool		read_row(std::string_view bytes, PendingRow &row)
	{
		WireReader	r(bytes.data(), bytes.size());

		row.from = columns_.size();
		while (!r.done())
		{
			uint32_t	field,
						wt;
			std::string_view col;

			if (!r.tag(field, wt) || field != 1 || wt != kWireBytes || !r.bytes(col)
				|| !read_column(col))
				return false;
		}
		row.to = columns_.size();
		return true;
	}

	RowView		finish(const PendingRow &row) const
	{
		return {columns_.data() + row.from, columns_.data() + row.to};
	}

	void		reset()
	{
		/* a huge message's columns are not kept for the next one */
		if (columns_.capacity() > kKeepColumns)
			std::vector<ColumnView>().swap(columns_);
		columns_.clear();
	}

	bool		read_envelope(std::string_view bytes, EnvelopeView &env)
	{
		WireReader	r(bytes.data(), bytes.size());
		uint64_t	seen = 0;
		PendingRow	before,
					after,
					key;

		while (!r.done())
		{
			uint32_t	field,
						wt;
			uint64_t	n;
			std::string_view sub;

			if (!r.next_field(pb::Envelope::kTransactionFieldNumber, seen, field, wt))
				return false;
			if (field == pb::Envelope::kOpFieldNumber)
			{
				if (wt != kWireVarint || !r.varint(n))
					return false;
				env.op_ = static_cast<int32_t>(n);
				continue;
			}
			if (wt != kWireBytes || !r.bytes(sub))
				return false;
			switch (field)
			{
				case pb::Envelope::kBeforeFieldNumber:
					env.has_before_ = true;
					if (!read_row(sub, before))
						return false;
					break;
				case pb::Envelope::kAfterFieldNumber:
					env.has_after_ = true;
					if (!read_row(sub, after))
						return false;
					break;
				case pb::Envelope::kKeyFieldNumber:
					env.has_key_ = true;
					if (!read_row(sub, key))
						return false;
					break;
				case pb::Envelope::kSourceFieldNumber:
					if (!read_source(sub, env.source_))
						return false;
					break;
				default:		/* kTransactionFieldNumber */
					env.has_transaction_ = true;
					if (!read_transaction(sub, env.transaction_))
						return false;
					break;
			}
		}
		if (env.op_ != pb::OP_CREATE && env.op_ != pb::OP_UPDATE && env.op_ != pb::OP_DELETE
			&& env.op_ != pb::OP_READ)
			return false;
		env.before_ = finish(before);
		env.after_ = finish(after);
		env.key_ = finish(key);
		return true;
	}

private:
	static constexpr size_t kKeepColumns = 4096;
	static constexpr size_t kMaxHeadBytes = 1024;
	std::vector<ColumnView> columns_;
	std::array<SourceHead, 8> heads_;	/* headers of the last tables seen */
	size_t		next_head_ = 0;

	bool		read_column(std::string_view bytes)
	{
		WireReader	r(bytes.data(), bytes.size());
		ColumnView &c = columns_.emplace_back();
		uint64_t	seen = 0;

		while (!r.done())
		{
			uint32_t	field,
						wt;
			uint64_t	n;
			std::string_view sub;

			if (!r.next_field(pb::Column::kUnchangedToastFieldNumber, seen, field, wt))
				return false;
			switch (field)
			{
				case pb::Column::kNameFieldNumber:
					if (wt != kWireBytes || !wire_string(r, c.name_))
						return false;
					break;
				case pb::Column::kTypeFieldNumber:
					if (wt != kWireBytes || !wire_string(r, sub))
						return false;
					break;
				case pb::Column::kTypeOidFieldNumber:
					if (wt != kWireVarint || !r.varint(n))
						return false;
					c.type_oid_ = static_cast<uint32_t>(n);
					break;
				case pb::Column::kValueFieldNumber:
					c.has_value_ = true;
					if (wt != kWireBytes || !r.bytes(sub) || !read_value(sub, c.value_))
						return false;
					break;
				default:		/* kUnchangedToastFieldNumber */
					if (wt != kWireVarint || !r.varint(n))
						return false;
					c.unchanged_toast_ = n != 0;
					break;
			}
		}
		return true;
	}

	bool		read_source(std::string_view bytes, SourceView &s)
	{
		size_t		skip = 0;
		uint64_t	seen = 0;

		/* a header seen before: valid, and rendered already */
		for (const SourceHead &h : heads_)
			if (!h.bytes.empty() && bytes.size() >= h.bytes.size()
				&& std::memcmp(bytes.data(), h.bytes.data(), h.bytes.size()) == 0)
			{
				s.head_json_ = &h.json;
				skip = h.bytes.size();
				seen = h.seen;
				break;
			}

		WireReader	r(bytes.data() + skip, bytes.size() - skip);
		bool		in_head = skip == 0;	/* still reading the header's strings */
		size_t		head_end = 0;

		while (!r.done())
		{
			uint32_t	field,
						wt;
			uint64_t	n = 0;
			std::string_view *str = nullptr;

			if (!r.next_field(pb::Source::kSchemaVersionFieldNumber, seen, field, wt))
				return false;
			switch (field)
			{
				case pb::Source::kConnectorFieldNumber:
					str = &s.connector_;
					break;
				case pb::Source::kVersionFieldNumber:
					str = &s.version_;
					break;
				case pb::Source::kDatabaseFieldNumber:
					str = &s.database_;
					break;
				case pb::Source::kSchemaFieldNumber:
					str = &s.schema_;
					break;
				case pb::Source::kTableFieldNumber:
					str = &s.table_;
					break;
				default:
					break;
			}
			if (str != nullptr)
			{
				/* a string after the header: render it the general way */
				if (!in_head || wt != kWireBytes || !wire_string(r, *str))
					return false;
				head_end = r.offset(bytes.data());
				continue;
			}
			in_head = false;
			if (wt != kWireVarint || !r.varint(n))
				return false;
			switch (field)
			{
				case pb::Source::kLsnFieldNumber:
					s.lsn_ = n;
					break;
				case pb::Source::kCommitLsnFieldNumber:
					s.commit_lsn_ = n;
					break;
				case pb::Source::kXidFieldNumber:
					s.xid_ = n;
					break;
				case pb::Source::kCommitTimeUsFieldNumber:
					s.commit_time_us_ = static_cast<int64_t>(n);
					break;
				case pb::Source::kSnapshotFieldNumber:
					s.snapshot_ = n != 0;
					break;
				case pb::Source::kSnapshotKindFieldNumber:
					s.snapshot_kind_ = static_cast<int32_t>(n);
					break;
				case pb::Source::kSnapshotIdFieldNumber:
					s.snapshot_id_ = n;
					break;
				default:		/* kSchemaVersionFieldNumber */
					s.schema_version_ = n;
					break;
			}
		}
		if (skip == 0 && head_end > 0 && head_end <= kMaxHeadBytes)
		{
			/* this header's rendering replaces the oldest one kept */
			s.head_store_ = &heads_[next_head_];
			next_head_ = (next_head_ + 1) % heads_.size();
			s.head_bytes_ = bytes.substr(0, head_end);
			s.head_seen_ = seen & ((uint64_t{2} << pb::Source::kTableFieldNumber) - 1);
		}
		return true;
	}

	static bool read_transaction(std::string_view bytes, TransactionView &t)
	{
		WireReader	r(bytes.data(), bytes.size());
		uint64_t	seen = 0;

		while (!r.done())
		{
			uint32_t	field,
						wt;
			uint64_t	n;

			if (!r.next_field(pb::Transaction::kDataCollectionOrderFieldNumber, seen, field, wt)
				|| wt != kWireVarint || !r.varint(n))
				return false;
			if (field == pb::Transaction::kIdFieldNumber)
				t.id_ = n;
			else if (field == pb::Transaction::kTotalOrderFieldNumber)
				t.total_order_ = n;
			else
				t.data_collection_order_ = n;
		}
		return true;
	}
};

thread_local ViewReader view_reader;
thread_local uint64_t view_renderings = 0;

/*
 * Renders data[0..len) with the views if the reader takes it: true when
 * out holds the rendering, false when the generated classes must do it.
 */
template <class View, class Read, class Render>
bool
render_view(const char *data, size_t len, std::string &out, const RenderOptions &opts,
			Read read, Render render)
{
	/* no data, or more than libprotobuf parses: its errors are the generated way's to give */
	if (data == nullptr || len > static_cast<size_t>(INT_MAX))
		return false;

	ViewReader &vr = view_reader;
	View		view;

	vr.reset();
	if (!read(vr, std::string_view(data, len), view))
		return false;
	render_parsed(view, len, out, opts, render);
	view_renderings++;
	return true;
}

/*
 * Parses data[0..len) as a message M (what names it in errors, corrupt:
 * the error for bytes that do not parse), checks it and renders it into
 * out with render(renderer, message).
 */
template <typename M, typename Check, typename Render>
void
parse_and_render(const char *data, size_t len, std::string &out, const RenderOptions &opts,
				 const char *what, const std::string &corrupt, Check check, Render render)
{
	if (data == nullptr && len > 0)
		fail(std::string("invalid ") + what + ": no data");
	if (len > static_cast<size_t>(INT_MAX))
		fail(std::string("invalid ") + what + ": " + std::to_string(len)
			 + " bytes exceeds the 2 GiB protobuf message size limit");

	/*
	 * The parsed messages live in an arena: one allocation per block, not
	 * per message, so an envelope of millions of values parses up to three
	 * times faster and is freed at once. Blocks grow to 1 MB, which the C
	 * library maps and unmaps on its own.
	 */
	google::protobuf::ArenaOptions arena_options;

	arena_options.max_block_size = size_t{1} << 20;
	google::protobuf::Arena arena(arena_options);
	M		   *msg = google::protobuf::Arena::CreateMessage<M>(&arena);

	parse_checked(*msg, data, len, corrupt);
	check(*msg);
	render_parsed(*msg, len, out, opts, render);
}

}							/* namespace */

RenderOptions
render_options_of(const cdc_render_options *opts)
{
	RenderOptions o;

	if (opts != nullptr)
	{
		if (opts->max_len != 0 && opts->max_len < o.max_len)
			o.max_len = opts->max_len;
		o.max_json_depth = opts->max_json_depth > 0 ? opts->max_json_depth : 0;
		o.ascii_escapes_only = opts->ascii_escapes_only;
		o.interrupted = opts->interrupted;
	}
	return o;
}

uint64_t
render_view_count()
{
	return view_renderings;
}

void
render_envelope_json(const char *data, size_t len, std::string &out,
					 const RenderOptions &opts)
{
	auto		render = [](Renderer &r, const auto &env) { r.envelope(env); };

	if (!opts.no_views
		&& render_view<EnvelopeView>(data, len, out, opts,
									 [](ViewReader &vr, std::string_view b, EnvelopeView &env) {
										 return vr.read_envelope(b, env);
									 }, render))
		return;
	parse_and_render<pb::Envelope>(data, len, out, opts, "envelope", kCorrupt, check_envelope,
								   render);
}

void
render_key_json(const char *data, size_t len, std::string &out, const RenderOptions &opts)
{
	auto		render = [](Renderer &r, const auto &row) { r.key_row(row); };

	if (!opts.no_views
		&& render_view<RowView>(data, len, out, opts,
								[](ViewReader &vr, std::string_view b, RowView &row) {
									ViewReader::PendingRow pending;

									if (!vr.read_row(b, pending))
										return false;
									row = vr.finish(pending);
									return true;
								}, render))
		return;
	parse_and_render<pb::Row>(data, len, out, opts, "key", "invalid key: not a cdc.v1.Row", check_row,
							  render);
}

}							/* namespace cdc_core */
