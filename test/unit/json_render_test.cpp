/*
 * json_render_test.cpp — cdc_render_json: value formats, the layout of
 * every op, error reporting for invalid envelopes, and fuzzing.
 */
#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cdc/v1/envelope.pb.h"
#include "cdc_core.h"
#include "json_render.hpp"
#include "test_support.hpp"

namespace pb = cdc::v1;
using namespace cdc_test;

namespace {

struct Rendered
{
	int			rc;
	std::string json;
	std::string err;
};

/*
 * bytes rendered through the C++ API, as an envelope or as a key, with the
 * wire views allowed or not: "ok:" and the JSON, or "error:" and the
 * message. No interrupt callback: the two ways are compared on what they
 * render.
 */
std::string
render_way(const std::string &bytes, const cdc_render_options *opts, bool no_views,
		   bool key = false)
{
	cdc_core::RenderOptions o = cdc_core::render_options_of(opts);
	std::string out;

	o.interrupted = nullptr;
	o.no_views = no_views;
	try
	{
		if (key)
			cdc_core::render_key_json(bytes.data(), bytes.size(), out, o);
		else
			cdc_core::render_envelope_json(bytes.data(), bytes.size(), out, o);
		return "ok:" + out;
	}
	catch (const std::exception &e)
	{
		return std::string("error:") + e.what();
	}
}

/*
 * The wire views (the fast path for the usual change event and key) and
 * the generated classes render the same, or fail with the same message.
 */
void
expect_same_both_ways(const std::string &bytes, const cdc_render_options *opts = nullptr,
					  bool key = false)
{
	EXPECT_EQ(render_way(bytes, opts, false, key), render_way(bytes, opts, true, key))
		<< "the wire views and the generated classes disagree on "
		<< (key ? "key" : "envelope") << " bytes " << hex(bytes);
}

Rendered
render_bytes(const std::string &bytes, const cdc_render_options *opts = nullptr)
{
	/* every rendering in this file checks the two ways agree */
	expect_same_both_ways(bytes, opts);

	const char *out = reinterpret_cast<const char *>(1);
	size_t		len = 12345;
	char		err[CDC_ERRBUF_SIZE];

	std::memset(err, 'x', sizeof(err));
	int			rc = cdc_render_json(bytes.data(), bytes.size(), opts, &out, &len,
									 err, sizeof(err));

	if (rc == CDC_RENDER_OK)
	{
		EXPECT_NE(out, nullptr);
		EXPECT_EQ(std::strlen(out), len);	/* NUL-terminated, no inner NUL */
		return {0, std::string(out, len), ""};
	}
	EXPECT_TRUE(rc == CDC_RENDER_INVALID || rc == CDC_RENDER_TOO_LARGE
				|| rc == CDC_RENDER_INTERRUPTED) << rc;
	EXPECT_EQ(out, nullptr);
	EXPECT_EQ(len, 0u);
	EXPECT_NE(std::memchr(err, '\0', sizeof(err)), nullptr);
	return {rc, "", err};
}

std::string
render_ok(const pb::Envelope &e)
{
	Rendered	r = render_bytes(e.SerializeAsString());

	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_TRUE(cdc_core::json_text_valid(r.json.data(), r.json.size())) << r.json;
	return r.json;
}

std::string
render_error(const pb::Envelope &e)
{
	Rendered	r = render_bytes(e.SerializeAsString());

	EXPECT_EQ(r.rc, CDC_RENDER_INVALID) << r.json;
	return r.err;
}

/* An insert envelope whose after row is one column "v" holding v. */
pb::Envelope
insert_with(const pb::Value &v)
{
	pb::Envelope e;

	e.set_op(pb::OP_CREATE);
	pb::Column *c = e.mutable_after()->add_columns();

	c->set_name("v");
	*c->mutable_value() = v;
	return e;
}

/* The JSON rendering of one value (the text between "after":{"v": and }). */
std::string
value_json(const pb::Value &v, const cdc_render_options *opts = nullptr, uint32_t type_oid = 0)
{
	pb::Envelope e = insert_with(v);

	e.mutable_after()->mutable_columns(0)->set_type_oid(type_oid);
	Rendered	r = render_bytes(e.SerializeAsString(), opts);

	EXPECT_EQ(r.rc, 0) << r.err;
	EXPECT_TRUE(cdc_core::json_text_valid(r.json.data(), r.json.size())) << r.json;
	std::string json = r.json;
	const std::string head = "{\"op\":\"c\",\"before\":null,\"after\":{\"v\":";
	const std::string tail = "},\"key\":null,\"source\":";

	if (json.compare(0, head.size(), head) != 0)
		return "unexpected layout: " + json;
	size_t		end = json.find(tail, head.size());

	if (end == std::string::npos)
		return "unexpected layout: " + json;
	return json.substr(head.size(), end - head.size());
}

std::string
value_error(const pb::Value &v)
{
	return render_error(insert_with(v));
}

pb::Value
V()
{
	return pb::Value();
}

pb::Value
Int(int64_t i)
{
	pb::Value	v;

	v.set_int_value(i);
	return v;
}

pb::Value
F4(float f)
{
	pb::Value	v;

	v.set_float4_value(f);
	return v;
}

pb::Value
F8(double d)
{
	pb::Value	v;

	v.set_float8_value(d);
	return v;
}

pb::Value
Text(const std::string &s)
{
	pb::Value	v;

	v.set_text_value(s);
	return v;
}

pb::Value
Date(int32_t d)
{
	pb::Value	v;

	v.set_date_value(d);
	return v;
}

pb::Value
Ts(int64_t us)
{
	pb::Value	v;

	v.set_timestamp_value(us);
	return v;
}

pb::Value
Tstz(int64_t us)
{
	pb::Value	v;

	v.set_timestamptz_value(us);
	return v;
}

pb::Value
Time(int64_t us)
{
	pb::Value	v;

	v.set_time_value(us);
	return v;
}

pb::Value
TimeTz(int64_t us, int32_t off)
{
	pb::Value	v;

	v.mutable_timetz_value()->set_micros(us);
	v.mutable_timetz_value()->set_offset_seconds(off);
	return v;
}

pb::Value
Interval(int32_t months, int32_t days, int64_t us)
{
	pb::Value	v;

	v.mutable_interval_value()->set_months(months);
	v.mutable_interval_value()->set_days(days);
	v.mutable_interval_value()->set_micros(us);
	return v;
}

pb::Value
Array(std::vector<int> dims, std::vector<pb::Value> elems)
{
	pb::Value	v;
	pb::Array  *a = v.mutable_array_value();

	for (int d : dims)
	{
		a->add_dims(d);
		a->add_lower_bounds(1);
	}
	for (auto &e : elems)
		*a->add_elements() = e;
	return v;
}

constexpr int64_t kDay = 86400LL * 1000000;
constexpr int64_t kHour = 3600LL * 1000000;

/* ---- scalars ---- */

TEST(JsonRenderValue, BoolIntAndNullRenderAsJsonLiterals)
{
	pb::Value	t, f;

	t.set_bool_value(true);
	f.set_bool_value(false);
	EXPECT_EQ(value_json(t), "true");
	EXPECT_EQ(value_json(f), "false");
	EXPECT_EQ(value_json(V()), "null");
	EXPECT_EQ(value_json(Int(0)), "0");
	EXPECT_EQ(value_json(Int(-42)), "-42");
	EXPECT_EQ(value_json(Int(INT64_MAX)), "9223372036854775807");
	EXPECT_EQ(value_json(Int(INT64_MIN)), "-9223372036854775808");
}

TEST(JsonRenderValue, Float8UsesShortestRoundTripDecimal)
{
	EXPECT_EQ(value_json(F8(0.1)), "0.1");
	EXPECT_EQ(value_json(F8(1.5)), "1.5");
	EXPECT_EQ(value_json(F8(100.0)), "100");
	EXPECT_EQ(value_json(F8(1e300)), "1e+300");
	EXPECT_EQ(value_json(F8(1e-6)), "1e-06");
	EXPECT_EQ(value_json(F8(5e-324)), "5e-324");
	EXPECT_EQ(value_json(F8(1.7976931348623157e308)), "1.7976931348623157e+308");
	EXPECT_EQ(value_json(F8(123456789012.0)), "123456789012");
	EXPECT_EQ(value_json(F8(-0.0)), "\"-0\"");	/* a jsonb number has no -0 */
	EXPECT_EQ(value_json(F8(0.0)), "0");
}

TEST(JsonRenderValue, Float4UsesShortestDecimalAtFloatPrecision)
{
	EXPECT_EQ(value_json(F4(0.1f)), "0.1");	/* not 0.10000000149011612 */
	EXPECT_EQ(value_json(F4(3.4028235e38f)), "3.4028235e+38");
	EXPECT_EQ(value_json(F4(1e-45f)), "1e-45");
	EXPECT_EQ(value_json(F4(16777216.0f)), "16777216");
	EXPECT_EQ(value_json(F4(-0.0f)), "\"-0\"");
}

TEST(JsonRenderValue, NonFiniteFloatsRenderAsPostgresStrings)
{
	double		inf = std::numeric_limits<double>::infinity();
	float		finf = std::numeric_limits<float>::infinity();

	EXPECT_EQ(value_json(F8(std::nan(""))), "\"NaN\"");
	EXPECT_EQ(value_json(F8(inf)), "\"Infinity\"");
	EXPECT_EQ(value_json(F8(-inf)), "\"-Infinity\"");
	EXPECT_EQ(value_json(F4(std::nanf(""))), "\"NaN\"");
	EXPECT_EQ(value_json(F4(finf)), "\"Infinity\"");
	EXPECT_EQ(value_json(F4(-finf)), "\"-Infinity\"");
}

TEST(JsonRenderValue, NumericTextAndEnumRenderAsStrings)
{
	pb::Value	n, nan, e;

	n.set_numeric_value("-12345678901234567890.000100");
	nan.set_numeric_value("NaN");
	e.set_enum_value("happy");
	EXPECT_EQ(value_json(n), "\"-12345678901234567890.000100\"");
	EXPECT_EQ(value_json(nan), "\"NaN\"");
	EXPECT_EQ(value_json(e), "\"happy\"");
	EXPECT_EQ(value_json(Text("")), "\"\"");
}

TEST(JsonRenderValue, StringsEscapeQuotesBackslashesAndControlCharacters)
{
	EXPECT_EQ(value_json(Text("a\"b\\c\n\t\r\b\f\x01\x1f\x7f/")),
			  "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f\x7f/\"");
}

TEST(JsonRenderValue, NulInAStringIsAnError)
{
	/* jsonb refuses \u0000, and no PostgreSQL string holds a NUL */
	EXPECT_EQ(value_error(Text(std::string("nul\0byte", 8))),
			  "invalid envelope: a string holds a NUL byte, which PostgreSQL text cannot hold");

	pb::Envelope e = insert_with(Int(1));

	e.mutable_after()->mutable_columns(0)->set_name(std::string("a\0", 2));
	EXPECT_EQ(render_error(e),
			  "invalid envelope: a string holds a NUL byte, which PostgreSQL text cannot hold");
}

TEST(JsonRenderValue, StringsPassUnicodeThroughUnchanged)
{
	std::string s = "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80 \xe2\x80\xa8";

	EXPECT_EQ(value_json(Text(s)), "\"" + s + "\"");
}

TEST(JsonRenderValue, ByteaRendersAsBackslashXHexString)
{
	pb::Value	b, empty;

	b.set_bytes_value(std::string("\xde\xad\xbe\xef\x00\x0a", 6));
	empty.set_bytes_value("");
	EXPECT_EQ(value_json(b), "\"\\\\xdeadbeef000a\"");
	EXPECT_EQ(value_json(empty), "\"\\\\x\"");
}

TEST(JsonRenderValue, UuidRendersLowercaseWithHyphens)
{
	pb::Value	u;
	std::string bytes;

	for (int i = 0; i < 16; i++)
		bytes.push_back(static_cast<char>(i * 17));
	u.set_uuid_value(bytes);
	EXPECT_EQ(value_json(u), "\"00112233-4455-6677-8899-aabbccddeeff\"");
}

TEST(JsonRenderValue, UuidOfWrongLengthIsAnError)
{
	pb::Value	u;

	u.set_uuid_value(std::string(15, 'x'));
	EXPECT_EQ(value_error(u), "invalid envelope: uuid value is 15 bytes (expected 16)");
}

TEST(JsonRenderValue, JsonAndJsonbAreEmbeddedRaw)
{
	pb::Value	j, jb, scalar;

	j.set_json_value("{\"a\": [1, 2.5e3, \"x\\u00e9\"], \"b\": null}");
	jb.set_jsonb_value("[1, {\"k\": true}]");
	scalar.set_json_value(" 42 ");
	EXPECT_EQ(value_json(j), "{\"a\": [1, 2.5e3, \"x\\u00e9\"], \"b\": null}");
	EXPECT_EQ(value_json(jb), "[1, {\"k\": true}]");
	EXPECT_EQ(value_json(scalar), " 42 ");
}

TEST(JsonRenderValue, JsonThatJsonbRefusesRendersAsAStringOfItsText)
{
	pb::Value	j, jb;

	/* not JSON at all */
	j.set_json_value(R"({"a":})");
	EXPECT_EQ(value_json(j), R"("{\"a\":}")");
	j.set_json_value("");
	EXPECT_EQ(value_json(j), R"("")");
	jb.set_jsonb_value("[1, 2");
	EXPECT_EQ(value_json(jb), R"("[1, 2")");
	/* JSON, which a json column holds, but not jsonb */
	j.set_json_value(R"("\u0000")");
	EXPECT_EQ(value_json(j), R"("\"\\u0000\"")");
	j.set_json_value(R"({"a":"\ud800"})");
	EXPECT_EQ(value_json(j), R"("{\"a\":\"\\ud800\"}")");
	j.set_json_value(R"(["\udc00", "\ud83d\u0041"])");
	EXPECT_EQ(value_json(j), R"("[\"\\udc00\", \"\\ud83d\\u0041\"]")");
	j.set_json_value("1e999999");
	EXPECT_EQ(value_json(j), R"("1e999999")");
	/* what jsonb takes stays JSON */
	j.set_json_value(R"({"ok": ["\u00e9\ud83d\ude00", 1e131071, 1e-16383, 0e999999]})");
	EXPECT_EQ(value_json(j), j.json_value());
}

TEST(JsonRenderValue, DeepJsonRendersAsAStringPastTheDepthLimit)
{
	cdc_render_options opts{};
	pb::Value	j;

	opts.max_json_depth = 3;
	j.set_json_value("[[[1]]]");
	EXPECT_EQ(value_json(j, &opts), "[[[1]]]");
	j.set_json_value("[[[[1]]]]");
	EXPECT_EQ(value_json(j, &opts), R"("[[[[1]]]]")");
	j.set_json_value(R"({"a":[{}]})");
	EXPECT_EQ(value_json(j, &opts), R"({"a":[{}]})");
	j.set_json_value(R"({"a":[{"b":[]}]})");
	EXPECT_EQ(value_json(j, &opts), R"("{\"a\":[{\"b\":[]}]}")");
	/* no limit by default */
	j.set_json_value(std::string(10000, '[') + std::string(10000, ']'));
	EXPECT_EQ(value_json(j), j.json_value());
}

TEST(JsonRenderValue, NonAsciiEscapesRenderAsStringsOutsideUtf8)
{
	cdc_render_options opts{};
	pb::Value	j;

	opts.ascii_escapes_only = true;
	j.set_json_value("[\"\\u0041\", \"\xc3\xa9\"]");
	EXPECT_EQ(value_json(j, &opts), j.json_value());	/* an ASCII escape, literal UTF-8 */
	j.set_json_value(R"(["\u00e9"])");
	EXPECT_EQ(value_json(j, &opts), R"("[\"\\u00e9\"]")");
	EXPECT_EQ(value_json(j), j.json_value());	/* fine in UTF-8 */
}

/* ---- dates and times ---- */

TEST(JsonRenderValue, DatesUseProlepticGregorianWithBcYears)
{
	EXPECT_EQ(days_from_ymd(2000, 2, 29), 11016);	/* the oracle itself */
	EXPECT_EQ(days_from_ymd(1, 1, 1), -719162);

	EXPECT_EQ(value_json(Date(0)), "\"1970-01-01\"");
	EXPECT_EQ(value_json(Date(-1)), "\"1969-12-31\"");
	EXPECT_EQ(value_json(Date(11016)), "\"2000-02-29\"");
	EXPECT_EQ(value_json(Date(-719162)), "\"0001-01-01\"");
	EXPECT_EQ(value_json(Date(-719163)), "\"0001-12-31 BC\"");	/* astronomical year 0 */
	EXPECT_EQ(value_json(Date(-719893)), "\"0002-01-01 BC\"");
	EXPECT_EQ(value_json(Date(-2440588)), "\"4714-11-24 BC\"");	/* Julian day 0 */
	EXPECT_EQ(value_json(Date(2145042905)), "\"5874897-12-31\"");	/* PostgreSQL's max */
	EXPECT_EQ(value_json(Date(static_cast<int32_t>(days_from_ymd(-43, 3, 15)))),
			  "\"0044-03-15 BC\"");
	EXPECT_EQ(value_json(Date(static_cast<int32_t>(days_from_ymd(12345, 6, 7)))),
			  "\"12345-06-07\"");
}

TEST(JsonRenderValue, DateInfinities)
{
	EXPECT_EQ(value_json(Date(INT32_MAX)), "\"infinity\"");
	EXPECT_EQ(value_json(Date(INT32_MIN)), "\"-infinity\"");
}

TEST(JsonRenderValue, DatesAgreeWithIndependentCalendarOverWideRange)
{
	std::mt19937 rng(7);
	std::uniform_int_distribution<int64_t> year(-4713, 20000);

	for (int i = 0; i < 300; i++)
	{
		int64_t		y = year(rng);
		int			m = 1 + static_cast<int>(rng() % 12);
		int			d = 1 + static_cast<int>(rng() % 28);
		char		want[64];

		if (y > 0)
			std::snprintf(want, sizeof(want), "\"%04lld-%02d-%02d\"", static_cast<long long>(y), m, d);
		else
			std::snprintf(want, sizeof(want), "\"%04lld-%02d-%02d BC\"", static_cast<long long>(1 - y), m, d);
		EXPECT_EQ(value_json(Date(static_cast<int32_t>(days_from_ymd(y, m, d)))), want);
	}
}

TEST(JsonRenderValue, TimeTrimsFractionAndAllows24Hours)
{
	EXPECT_EQ(value_json(Time(0)), "\"00:00:00\"");
	EXPECT_EQ(value_json(Time(1)), "\"00:00:00.000001\"");
	EXPECT_EQ(value_json(Time(12 * kHour + 34 * 60000000LL + 56789000)), "\"12:34:56.789\"");
	EXPECT_EQ(value_json(Time(23 * kHour + 59 * 60000000LL + 59999999)), "\"23:59:59.999999\"");
	EXPECT_EQ(value_json(Time(kDay)), "\"24:00:00\"");
}

TEST(JsonRenderValue, TimeOutsideOneDayIsAnError)
{
	EXPECT_EQ(value_error(Time(-1)),
			  "invalid envelope: time value -1 is outside 00:00:00..24:00:00");
	EXPECT_EQ(value_error(Time(kDay + 1)),
			  "invalid envelope: time value 86400000001 is outside 00:00:00..24:00:00");
}

TEST(JsonRenderValue, TimetzAppendsOffsetEastOfUtcWithSecondsWhenPresent)
{
	int64_t		t = 12 * kHour + 34 * 60000000LL + 56000000;

	EXPECT_EQ(value_json(TimeTz(t, 19800)), "\"12:34:56+05:30\"");
	EXPECT_EQ(value_json(TimeTz(0, -12600)), "\"00:00:00-03:30\"");
	EXPECT_EQ(value_json(TimeTz(1, 3723)), "\"00:00:00.000001+01:02:03\"");
	EXPECT_EQ(value_json(TimeTz(0, -1)), "\"00:00:00-00:00:01\"");
	EXPECT_EQ(value_json(TimeTz(0, 0)), "\"00:00:00+00:00\"");
	EXPECT_EQ(value_json(TimeTz(kDay, -57599)), "\"24:00:00-15:59:59\"");
}

TEST(JsonRenderValue, TimestampIsIsoWithFractionAndBcSuffix)
{
	int64_t		ides = days_from_ymd(-43, 3, 15) * kDay + 12 * kHour;
	int64_t		leap = days_from_ymd(2000, 2, 29) * kDay;

	EXPECT_EQ(value_json(Ts(0)), "\"1970-01-01T00:00:00\"");
	EXPECT_EQ(value_json(Ts(-1)), "\"1969-12-31T23:59:59.999999\"");
	EXPECT_EQ(value_json(Ts(leap + 1)), "\"2000-02-29T00:00:00.000001\"");
	EXPECT_EQ(value_json(Ts(leap + 500000)), "\"2000-02-29T00:00:00.5\"");
	EXPECT_EQ(value_json(Ts(ides)), "\"0044-03-15T12:00:00 BC\"");
	EXPECT_EQ(value_json(Ts(days_from_ymd(0, 12, 31) * kDay + kDay - 1)),
			  "\"0001-12-31T23:59:59.999999 BC\"");
	EXPECT_EQ(value_json(Ts(days_from_ymd(200000, 12, 31) * kDay + kDay - 1)),
			  "\"200000-12-31T23:59:59.999999\"");
	/* PostgreSQL's minimum, 4714-11-24 00:00:00 BC */
	EXPECT_EQ(value_json(Ts(days_from_ymd(-4713, 11, 24) * kDay)),
			  "\"4714-11-24T00:00:00 BC\"");
	EXPECT_EQ(value_json(Ts(INT64_MAX)), "\"infinity\"");
	EXPECT_EQ(value_json(Ts(INT64_MIN)), "\"-infinity\"");
}

TEST(JsonRenderValue, TimestamptzIsUtcWithOffsetBeforeBc)
{
	int64_t		ides = days_from_ymd(-43, 3, 15) * kDay + 12 * kHour;

	EXPECT_EQ(value_json(Tstz(1704164645500000LL)), "\"2024-01-02T03:04:05.5+00:00\"");
	EXPECT_EQ(value_json(Tstz(0)), "\"1970-01-01T00:00:00+00:00\"");
	EXPECT_EQ(value_json(Tstz(ides)), "\"0044-03-15T12:00:00+00:00 BC\"");
	EXPECT_EQ(value_json(Tstz(INT64_MAX)), "\"infinity\"");
	EXPECT_EQ(value_json(Tstz(INT64_MIN)), "\"-infinity\"");
}

TEST(JsonRenderValue, TimestampExtremesDoNotOverflow)
{
	/*
	 * The int64 range ends before PostgreSQL's (294276-12-31): these are the
	 * last representable instants, rendered without overflow.
	 */
	std::string lo = value_json(Ts(INT64_MIN + 1));
	std::string hi = value_json(Ts(INT64_MAX - 1));

	EXPECT_EQ(hi, "\"294247-01-10T04:00:54.775806\"");
	EXPECT_EQ(lo, "\"290309-12-21T19:59:05.224193 BC\"");
}

TEST(JsonRenderValue, IntervalRendersAsIso8601LikePostgres)
{
	int64_t		hms = 4 * kHour + 5 * 60000000LL + 6789000;

	EXPECT_EQ(value_json(Interval(0, 0, 0)), "\"PT0S\"");
	EXPECT_EQ(value_json(Interval(14, 3, hms)), "\"P1Y2M3DT4H5M6.789S\"");
	EXPECT_EQ(value_json(Interval(0, 0, -1)), "\"PT-0.000001S\"");
	EXPECT_EQ(value_json(Interval(-14, 0, 0)), "\"P-1Y-2M\"");
	EXPECT_EQ(value_json(Interval(0, -3, kHour)), "\"P-3DT1H\"");
	EXPECT_EQ(value_json(Interval(0, 0, -(kHour + 30 * 60000000LL + 15500000))),
			  "\"PT-1H-30M-15.5S\"");
	EXPECT_EQ(value_json(Interval(1, 0, 60000000)), "\"P1MT1M\"");
	EXPECT_EQ(value_json(Interval(12, 0, 0)), "\"P1Y\"");
	EXPECT_EQ(value_json(Interval(-1, 2, 0)), "\"P-1M2D\"");
	EXPECT_EQ(value_json(Interval(0, 0, 90000000)), "\"PT1M30S\"");
	EXPECT_EQ(value_json(Interval(0, 0, 2 * kDay)), "\"PT48H\"");
	EXPECT_EQ(value_json(Interval(0, 0, 1000000)), "\"PT1S\"");
	EXPECT_EQ(value_json(Interval(0, 0, INT64_MIN)), "\"PT-2562047788H-54.775808S\"");
	EXPECT_EQ(value_json(Interval(INT32_MIN, INT32_MIN, 0)), "\"P-178956970Y-8M-2147483648D\"");
}

TEST(JsonRenderValue, InfiniteIntervalsRenderLikePostgres17)
{
	EXPECT_EQ(value_json(Interval(INT32_MAX, INT32_MAX, INT64_MAX)), "\"infinity\"");
	EXPECT_EQ(value_json(Interval(INT32_MIN, INT32_MIN, INT64_MIN)), "\"-infinity\"");
}

/* ---- arrays and records ---- */

TEST(JsonRenderValue, ArraysNestByDimsInRowMajorOrder)
{
	EXPECT_EQ(value_json(Array({2, 3}, {Int(1), V(), Int(3), Int(4), Int(5), Int(6)})),
			  "[[1,null,3],[4,5,6]]");
	EXPECT_EQ(value_json(Array({3}, {Text("a"), V(), Text("c")})), "[\"a\",null,\"c\"]");
	EXPECT_EQ(value_json(Array({}, {})), "[]");
	EXPECT_EQ(value_json(Array({2, 0}, {})), "[[],[]]");

	std::vector<pb::Value> eight;

	for (int i = 1; i <= 8; i++)
		eight.push_back(Int(i));
	EXPECT_EQ(value_json(Array({2, 2, 2}, eight)), "[[[1,2],[3,4]],[[5,6],[7,8]]]");

	std::vector<pb::Value> six_dims = {Int(9)};

	EXPECT_EQ(value_json(Array({1, 1, 1, 1, 1, 1}, six_dims)), "[[[[[[9]]]]]]");
}

TEST(JsonRenderValue, ArrayShapeErrors)
{
	EXPECT_EQ(value_error(Array({2, 3}, {Int(1), Int(2), Int(3), Int(4), Int(5)})),
			  "invalid envelope: array has 5 elements, which does not match its dims [2,3]");
	EXPECT_EQ(value_error(Array({}, {Int(1)})),
			  "invalid envelope: array has 1 elements, which does not match its dims []");
	EXPECT_EQ(value_error(Array({-1}, {})),
			  "invalid envelope: array has 0 elements, which does not match its dims [-1]");
	EXPECT_EQ(value_error(Array({65536, 65536, 65536, 65536, 65536, 65536}, {Int(1)})),
			  "invalid envelope: array has 1 elements, which does not match its dims "
			  "[65536,65536,65536,65536,65536,65536]");
	EXPECT_EQ(value_error(Array({1, 1, 1, 1, 1, 1, 1}, {Int(1)})),
			  "invalid envelope: array has 7 dimensions (at most 6 allowed)");
}

TEST(JsonRenderValue, RecordsRenderAsObjectsAndNestInArrays)
{
	pb::Value	inner;
	pb::Column *d = inner.mutable_record_value()->add_columns();

	d->set_name("d");
	*d->mutable_value() = Text("x");

	pb::Value	rec;
	pb::Row    *r = rec.mutable_record_value();
	pb::Column *a = r->add_columns();

	a->set_name("a");
	*a->mutable_value() = Int(1);
	r->add_columns()->set_name("b");	/* no value: null */
	pb::Column *c = r->add_columns();

	c->set_name("c");
	*c->mutable_value() = inner;
	pb::Column *xs = r->add_columns();

	xs->set_name("xs");
	*xs->mutable_value() = Array({2}, {Int(1), Int(2)});
	pb::Column *toast = r->add_columns();

	toast->set_name("skipped");
	toast->set_unchanged_toast(true);

	EXPECT_EQ(value_json(rec), "{\"a\":1,\"b\":null,\"c\":{\"d\":\"x\"},\"xs\":[1,2]}");
	EXPECT_EQ(value_json(Array({2}, {rec, V()})),
			  "[{\"a\":1,\"b\":null,\"c\":{\"d\":\"x\"},\"xs\":[1,2]},null]");
}

TEST(JsonRenderValue, ModeratelyDeepNestingRenders)
{
	pb::Value	v = Int(7);

	for (int i = 0; i < 40; i++)
		v = Array({1}, {v});
	EXPECT_EQ(value_json(v), std::string(40, '[') + "7" + std::string(40, ']'));
}

pb::Value
ArrayLb(std::vector<int> dims, std::vector<int> lbs, std::vector<pb::Value> elems)
{
	pb::Value	v = Array(dims, elems);

	for (size_t i = 0; i < lbs.size(); i++)
		v.mutable_array_value()->set_lower_bounds(static_cast<int>(i), lbs[i]);
	return v;
}

pb::Value
Jsonb(const std::string &text)
{
	pb::Value	v;

	v.set_jsonb_value(text);
	return v;
}

pb::Value
Json(const std::string &text)
{
	pb::Value	v;

	v.set_json_value(text);
	return v;
}

/* text as a JSON string (it holds no control characters) */
std::string
jstr(const std::string &text)
{
	std::string o = "\"";

	for (char c : text)
	{
		if (c == '"' || c == '\\')
			o.push_back('\\');
		o.push_back(c);
	}
	return o + "\"";
}

TEST(JsonRenderLimits, EmptyArrayLevelsAreCountedAgainstTheInput)
{
	/* the issue's envelope: 200,000,001 arrays of nothing from a few bytes */
	std::string bytes = insert_with(Array({200000000, 0}, {})).SerializeAsString();
	Rendered	r = render_bytes(bytes);

	EXPECT_EQ(r.rc, CDC_RENDER_INVALID);
	EXPECT_EQ(r.err, "invalid envelope: array dims [200000000,0] describe 200000001 nested "
			  "arrays, more than the " + std::to_string(3 * bytes.size() + 1024) + " a "
			  + std::to_string(bytes.size()) + "-byte envelope can hold");

	/* no overflow in the count */
	EXPECT_EQ(value_error(Array({65536, 65536, 65536, 65536, 65536, 0}, {})).substr(0, 102),
			  "invalid envelope: array dims [65536,65536,65536,65536,65536,0] describe more "
			  "than 18446744073709551615");

	/* a few empty levels are fine, and each one is counted */
	EXPECT_EQ(value_json(Array({3, 0}, {})), "[[],[],[]]");
	EXPECT_EQ(value_json(Array({1000, 0}, {})).size(), 3000u + 1);

	/* the budget is the envelope's, not each array's */
	pb::Envelope two = insert_with(Array({600, 0}, {}));
	pb::Column *c = two.mutable_after()->add_columns();

	c->set_name("w");
	*c->mutable_value() = Array({600, 0}, {});
	std::string two_bytes = two.SerializeAsString();

	ASSERT_LT(601u, 3 * two_bytes.size() + 1024);
	ASSERT_GT(1202u, 3 * two_bytes.size() + 1024);
	EXPECT_EQ(render_bytes(two_bytes).err.substr(0, 70),
			  "invalid envelope: array dims [600,0] describe 601 nested arrays, more ");
}

TEST(JsonRenderLimits, ArraysThePluginWritesStayWithinTheLevelBudget)
{
	/* the most levels per byte a real array makes: dims [n,1,1,1,1,1] of NULLs */
	std::vector<pb::Value> nulls(20000);
	std::string json = value_json(Array({20000, 1, 1, 1, 1, 1}, nulls));

	EXPECT_EQ(json.size(), 1 + 20000 * 15 - 1 + 1);
	EXPECT_EQ(json.substr(0, 16), "[[[[[[null]]]]],");
}

TEST(JsonRenderLimits, RenderingsLongerThanMaxLenAreRefused)
{
	cdc_render_options opts{};
	std::string bytes = insert_with(Text(std::string(200, 'x'))).SerializeAsString();

	opts.max_len = 100;
	Rendered	r = render_bytes(bytes, &opts);

	EXPECT_EQ(r.rc, CDC_RENDER_TOO_LARGE);
	EXPECT_EQ(r.err, "the JSON rendering of this " + std::to_string(bytes.size())
			  + "-byte envelope exceeds 100 bytes, the most to_json renders");

	/* long strings are measured before they are appended: 5000 \u0001 is 30,002 bytes */
	bytes = insert_with(Text(std::string(5000, '\x01'))).SerializeAsString();
	opts.max_len = 30000;
	EXPECT_EQ(render_bytes(bytes, &opts).rc, CDC_RENDER_TOO_LARGE);
	opts.max_len = 31000;
	EXPECT_EQ(render_bytes(bytes, &opts).rc, CDC_RENDER_OK);

	/* bytea, many small values, text literals */
	opts.max_len = 15000;
	pb::Value	b;

	b.set_bytes_value(std::string(10000, '\x7f'));
	EXPECT_EQ(render_bytes(insert_with(b).SerializeAsString(), &opts).rc, CDC_RENDER_TOO_LARGE);
	std::vector<pb::Value> ints(5000, Int(1000));

	EXPECT_EQ(render_bytes(insert_with(Array({5000}, ints)).SerializeAsString(), &opts).rc,
			  CDC_RENDER_TOO_LARGE);
	EXPECT_EQ(render_bytes(insert_with(ArrayLb({5000}, {0}, ints)).SerializeAsString(), &opts).rc,
			  CDC_RENDER_TOO_LARGE);

	/* 0 and anything above the default mean the default */
	opts.max_len = 0;
	EXPECT_EQ(render_bytes(bytes, &opts).rc, CDC_RENDER_OK);
	opts.max_len = SIZE_MAX;
	EXPECT_EQ(render_bytes(bytes, &opts).rc, CDC_RENDER_OK);
}

int			g_polls;
int			g_stop_at;

bool
count_polls(void)
{
	return ++g_polls >= g_stop_at;
}

TEST(JsonRenderLimits, TheInterruptCallbackIsPolledAndStopsTheRendering)
{
	cdc_render_options opts{};
	std::vector<pb::Value> ints(100000, Int(7));
	std::string bytes = insert_with(Array({100000}, ints)).SerializeAsString();

	opts.interrupted = count_polls;
	g_polls = 0;
	g_stop_at = INT_MAX;
	EXPECT_EQ(render_bytes(bytes, &opts).rc, CDC_RENDER_OK);
	EXPECT_GE(g_polls, 100000 / 4096);

	g_polls = 0;
	g_stop_at = 3;
	Rendered	r = render_bytes(bytes, &opts);

	EXPECT_EQ(r.rc, CDC_RENDER_INTERRUPTED);
	EXPECT_EQ(g_polls, 3);

	/* text literals are polled too */
	g_polls = 0;
	EXPECT_EQ(render_bytes(insert_with(ArrayLb({100000}, {0}, ints)).SerializeAsString(),
						   &opts).rc, CDC_RENDER_INTERRUPTED);
	EXPECT_EQ(g_polls, 3);
}

TEST(JsonRenderValue, ArraysWithOtherLowerBoundsRenderAsTheirTextLiteral)
{
	EXPECT_EQ(value_json(ArrayLb({3}, {0}, {Int(7), Int(8), Int(9)})), jstr("[0:2]={7,8,9}"));
	EXPECT_EQ(value_json(ArrayLb({2, 2}, {-1, 5}, {Int(1), Int(2), Int(3), V()})),
			  jstr("[-1:0][5:6]={{1,2},{3,NULL}}"));
	EXPECT_EQ(value_json(ArrayLb({2, 2}, {1, 2}, {Int(1), Int(2), Int(3), Int(4)})),
			  jstr("[1:2][2:3]={{1,2},{3,4}}"));
	EXPECT_EQ(value_json(ArrayLb({2}, {INT32_MIN}, {Int(1), Int(2)})),
			  jstr("[-2147483648:-2147483647]={1,2}"));
	/* quoted as array_out() does */
	EXPECT_EQ(value_json(ArrayLb({7}, {0}, {Text("a b"), V(), Text(""), Text("q\"u\\o{t}e,"),
											Text("NULL"), Text("nUlL"), Text("NULLS")})),
			  jstr(R"([0:6]={"a b",NULL,"","q\"u\\o{t}e,","NULL","nUlL",NULLS})"));
	/* every kind as its input function reads it */
	pb::Value	b, t, f, u, n, e;

	b.set_bytes_value("\x01\xff");
	t.set_bool_value(true);
	f.set_bool_value(false);
	u.set_uuid_value(std::string(16, '\x11'));
	n.set_numeric_value("-1.50");
	e.set_enum_value("happy");
	EXPECT_EQ(value_json(ArrayLb({17}, {0},
								 {F8(-0.0), F8(std::nan("")), F4(-std::numeric_limits<float>::infinity()),
								  F8(1.5e300), b, t, f, u, n, e, Date(-719163),
								  Time(12 * kHour + 500000), TimeTz(0, -3600),
								  Ts(INT64_MAX), Tstz(0), Interval(14, -3, kHour), Jsonb("{\"k\": [1]}")})),
			  jstr(R"([0:16]={-0,NaN,-Infinity,1.5e+300,"\\x01ff",t,f,11111111-1111-1111-1111-111111111111,)"
				   R"(-1.50,happy,"0001-12-31 BC",12:00:00.5,00:00:00-01:00,infinity,)"
				   R"(1970-01-01T00:00:00+00:00,P1Y2M-3DT1H,"{\"k\": [1]}"})"));
	/* an empty one */
	EXPECT_EQ(value_json(ArrayLb({0}, {5}, {})), jstr("{}"));
	/* box[] (type oid 1020) separates elements with ';' */
	pb::Value	boxes = ArrayLb({2}, {0}, {Text("(1,1),(0,0)"), Text("(2,2),(1,1)")});

	EXPECT_EQ(value_json(boxes, nullptr, 1020), jstr("[0:1]={(1,1),(0,0);(2,2),(1,1)}"));
	EXPECT_EQ(value_json(boxes), jstr(R"x([0:1]={"(1,1),(0,0)","(2,2),(1,1)"})x"));
	/* errors are still errors */
	EXPECT_EQ(value_error(ArrayLb({1}, {0}, {Time(-1)})),
			  "invalid envelope: time value -1 is outside 00:00:00..24:00:00");
	EXPECT_EQ(value_error(ArrayLb({1}, {0}, {Text(std::string("\0", 1))})),
			  "invalid envelope: a string holds a NUL byte, which PostgreSQL text cannot hold");
}

TEST(JsonRenderValue, RecordsInTextLiteralsAndLiteralsInRecords)
{
	pb::Value	rec;
	pb::Row    *r = rec.mutable_record_value();
	auto		field = [r](const char *name, uint32_t oid, const pb::Value *v) {
		pb::Column *c = r->add_columns();

		c->set_name(name);
		c->set_type_oid(oid);
		if (v)
			*c->mutable_value() = *v;
	};
	pb::Value	one = Int(1), ab = Text("a (b)"), empty = Text(""), quote = Text("q\"\\");
	pb::Value	xs = ArrayLb({1}, {5}, {Int(3)});
	pb::Value	ys = Array({2}, {Int(1), Int(2)});

	field("a", 23, &one);
	field("b", 25, &ab);
	field("c", 25, nullptr);
	field("d", 25, &empty);
	field("e", 25, &quote);
	field("xs", 1007, &xs);
	field("ys", 1007, &ys);

	/* a record in JSON: the array with lower bound 5 is its literal */
	EXPECT_EQ(value_json(rec),
			  R"x({"a":1,"b":"a (b)","c":null,"d":"","e":"q\"\\","xs":"[5:5]={3}","ys":[1,2]})x");
	/* records in a literal, quoted as record_out() and then array_out() do */
	EXPECT_EQ(value_json(ArrayLb({2}, {0}, {rec, V()})),
			  jstr(R"x([0:1]={"(1,\"a (b)\",,\"\",\"q\"\"\\\\\",[5:5]={3},\"{1,2}\")",NULL})x"));
}

TEST(JsonRenderValue, JsonArraysWithArrayOrNullElementsRenderAsTheirTextLiteral)
{
	/* jsonb_populate_record would read [[1],2] as two dimensions, [null] as SQL NULL */
	EXPECT_EQ(value_json(Array({2}, {Jsonb("[1]"), Jsonb("2")})), jstr("{[1],2}"));
	EXPECT_EQ(value_json(Array({2}, {Jsonb(" null "), V()})), jstr(R"({" null ",NULL})"));
	EXPECT_EQ(value_json(Array({2}, {Json("\"\\u0000\""), Json("1e999999")})),
			  jstr(R"({"\"\\u0000\"",1e999999})"));
	EXPECT_EQ(value_json(Array({2}, {Json("{\"a\":"), Json("1")})), jstr(R"({"{\"a\":",1})"));
	/* other json elements stay JSON */
	EXPECT_EQ(value_json(Array({2}, {Jsonb("{\"k\": [1]}"), Jsonb("\"s\"")})),
			  R"([{"k": [1]},"s"])");
}

TEST(JsonRenderErrors, LowerBoundsMustMatchTheDims)
{
	pb::Value	v = Array({2}, {Int(1), Int(2)});

	v.mutable_array_value()->add_lower_bounds(1);
	EXPECT_EQ(value_error(v), "invalid envelope: array has 2 lower bounds for 1 dims");
	EXPECT_EQ(value_error(ArrayLb({2}, {INT32_MAX}, {Int(1), Int(2)})),
			  "invalid envelope: array lower bound 2147483647 plus its length 2 passes the "
			  "largest subscript");
	/* none at all means 1 */
	pb::Value	none;

	none.mutable_array_value()->add_dims(1);
	*none.mutable_array_value()->add_elements() = Int(4);
	EXPECT_EQ(value_json(none), "[4]");
}

TEST(JsonTextCheck, WhatJsonbRefuses)
{
	using cdc_core::JsonText;
	auto		check = [](const std::string &t, int depth = 0, bool ascii = false) {
		return cdc_core::json_text_check(t.data(), t.size(), depth, ascii);
	};

	EXPECT_EQ(check("{\"a\": [1, \"\\u00e9\\ud83d\\ude00\"]}"), JsonText::kJsonb);
	EXPECT_EQ(check("{\"a\":}"), JsonText::kInvalid);
	EXPECT_EQ(check("\"\\u0000\""), JsonText::kJsonOnly);
	EXPECT_EQ(check("{\"\\u0000\": 1}"), JsonText::kJsonOnly);
	EXPECT_EQ(check("\"\\ud800\""), JsonText::kJsonOnly);
	EXPECT_EQ(check("\"\\udc00\""), JsonText::kJsonOnly);
	EXPECT_EQ(check("\"\\ud800\\u0041\""), JsonText::kJsonOnly);
	EXPECT_EQ(check("\"\\ud800\\ud800\\udc00\""), JsonText::kJsonOnly);
	EXPECT_EQ(check("\"\\ud800\\u00\""), JsonText::kInvalid);
	/* numeric's range, at its edges */
	for (const char *ok : {"1e131071", "99999e131067", "1e-16383", "0e1073741822", "-0",
			 "0.000e5", "1E+2", "123.456e-7"})
		EXPECT_EQ(check(ok), JsonText::kJsonb) << ok;
	for (const char *big : {"1e131072", "1e999999", "1e-16384", "0e-16384", "0.0e-16383",
			 "0e1073741823", "1e-1073741823", "1e99999999999999999999"})
		EXPECT_EQ(check(big), JsonText::kJsonOnly) << big;
	EXPECT_EQ(check("0." + std::string(16383, '0')), JsonText::kJsonb);
	EXPECT_EQ(check("0." + std::string(16384, '0')), JsonText::kJsonOnly);
	EXPECT_EQ(check("1" + std::string(131071, '0')), JsonText::kJsonb);
	EXPECT_EQ(check("1" + std::string(131072, '0')), JsonText::kJsonOnly);
	/* depth: [] and {} count */
	EXPECT_EQ(check("[[]]", 2), JsonText::kJsonb);
	EXPECT_EQ(check("[[[]]]", 2), JsonText::kJsonOnly);
	EXPECT_EQ(check("[{}]", 1), JsonText::kJsonOnly);
	EXPECT_EQ(check("1", 1), JsonText::kJsonb);
	/* escapes outside UTF-8 */
	EXPECT_EQ(check("\"\\u007f\"", 0, true), JsonText::kJsonb);
	EXPECT_EQ(check("\"\\u0080\"", 0, true), JsonText::kJsonOnly);
	EXPECT_EQ(check("\"\xc3\xa9\"", 0, true), JsonText::kJsonb);
}

/* ---- op layouts, end to end from the encoder ---- */

class JsonRenderOp : public ::testing::Test
{
protected:
	cdc_encoder *enc = nullptr;
	char		err[CDC_ERRBUF_SIZE];
	const std::string src_json =
		"\"source\":{\"connector\":\"cdc_plugin\",\"version\":\"1.2.3\",\"database\":\"shop\","
		"\"schema\":\"public\",\"table\":\"orders\",\"lsn\":\"0/16B3748\","
		"\"commit_lsn\":\"1/16B3800\",\"xid\":742,"
		"\"commit_time_us\":1704164645500000,\"snapshot\":false},\"ts_ms\":1704164645500";
	const std::string txn_src_json =
		"\"source\":{\"connector\":\"cdc_plugin\",\"version\":\"1.2.3\",\"database\":\"shop\","
		"\"lsn\":\"0/16B3748\",\"commit_lsn\":\"1/16B3800\",\"xid\":742,"
		"\"commit_time_us\":1704164645500000,\"snapshot\":false},\"ts_ms\":1704164645500";

	void		SetUp() override
	{
		enc = cdc_encoder_create("1.2.3", err, sizeof(err));
		ASSERT_NE(enc, nullptr);
	}
	void		TearDown() override
	{
		cdc_encoder_destroy(enc);
	}

	static cdc_event base(cdc_op op, bool table)
	{
		cdc_event	ev = event_of(op);

		ev.source.database = "shop";
		if (table)
		{
			ev.source.schema = "public";
			ev.source.table = "orders";
		}
		ev.source.lsn = 0x16B3748;
		ev.source.commit_lsn = (1ULL << 32) | 0x16B3800;
		ev.source.xid = 742;
		ev.source.commit_time_us = 1704164645500000LL;
		ev.has_transaction = true;
		ev.txn_id = 742;
		ev.txn_total_order = 1;
		ev.txn_data_collection_order = 1;
		return ev;
	}

	std::string render(const cdc_event &ev)
	{
		const char *bytes;
		size_t		n;

		EXPECT_EQ(cdc_encoder_encode(enc, &ev, &bytes, &n, err, sizeof(err)), 0) << err;
		Rendered	r = render_bytes(std::string(bytes, n));

		EXPECT_EQ(r.rc, 0) << r.err;
		EXPECT_TRUE(cdc_core::json_text_valid(r.json.data(), r.json.size())) << r.json;
		return r.json;
	}
};

TEST_F(JsonRenderOp, InsertHasNullBeforeAfterKeySourceAndTransaction)
{
	std::vector<cdc_column> after_cols = {
		column("id", "bigint", 20, int_value(1)),
		column("name", "text", 25, str_value(CDC_VALUE_TEXT, "widget")),
		column("note", "text", 25, null_value()),
	};
	std::vector<cdc_column> key_cols = {column("id", "bigint", 20, int_value(1))};
	cdc_row		after = row_of(after_cols), key = row_of(key_cols);
	cdc_event	ev = base(CDC_OP_CREATE, true);

	ev.after = &after;
	ev.key = &key;
	EXPECT_EQ(render(ev),
			  "{\"op\":\"c\",\"before\":null,"
			  "\"after\":{\"id\":1,\"name\":\"widget\",\"note\":null},"
			  "\"key\":{\"id\":1}," + src_json + ","
			  "\"transaction\":{\"id\":742,\"total_order\":1,\"data_collection_order\":1}}");
}

TEST_F(JsonRenderOp, UpdateListsUnchangedToastColumnsFromAfterThenBefore)
{
	std::vector<cdc_column> before_cols = {
		column("id", "bigint", 20, int_value(1)),
		column("blob", "bytea", 17, toast_value()),
		column("doc", "text", 25, toast_value()),
	};
	std::vector<cdc_column> after_cols = {
		column("id", "bigint", 20, int_value(1)),
		column("doc", "text", 25, toast_value()),
		column("qty", "integer", 23, int_value(5)),
		column("blob2", "bytea", 17, toast_value()),
	};
	cdc_row		before = row_of(before_cols), after = row_of(after_cols);
	cdc_event	ev = base(CDC_OP_UPDATE, true);

	ev.before = &before;
	ev.after = &after;
	ev.txn_data_collection_order = 0;
	EXPECT_EQ(render(ev),
			  "{\"op\":\"u\",\"before\":{\"id\":1},\"after\":{\"id\":1,\"qty\":5},"
			  "\"key\":null,\"unchanged_toast\":[\"doc\",\"blob2\",\"blob\"]," + src_json + ","
			  "\"transaction\":{\"id\":742,\"total_order\":1}}");
}

TEST_F(JsonRenderOp, DeleteWithBeforeOrOnlyKey)
{
	std::vector<cdc_column> key_cols = {column("id", "bigint", 20, int_value(9))};
	cdc_row		key = row_of(key_cols);
	cdc_event	ev = base(CDC_OP_DELETE, true);

	ev.has_transaction = false;
	ev.before = &key;
	ev.key = &key;
	EXPECT_EQ(render(ev),
			  "{\"op\":\"d\",\"before\":{\"id\":9},\"after\":null,\"key\":{\"id\":9},"
			  + src_json + "}");
	ev.before = nullptr;
	EXPECT_EQ(render(ev),
			  "{\"op\":\"d\",\"before\":null,\"after\":null,\"key\":{\"id\":9},"
			  + src_json + "}");
}

TEST_F(JsonRenderOp, ReadFromSnapshot)
{
	cdc_row		empty{};
	cdc_event	ev = base(CDC_OP_READ, true);

	ev.has_transaction = false;
	ev.after = &empty;
	ev.source.snapshot = true;
	ev.source.commit_time_us = 0;
	ev.source.lsn = 0;
	ev.source.commit_lsn = 0xFFFFFFFFFFFFFFFFULL;
	EXPECT_EQ(render(ev),
			  "{\"op\":\"r\",\"before\":null,\"after\":{},\"key\":null,"
			  "\"source\":{\"connector\":\"cdc_plugin\",\"version\":\"1.2.3\",\"database\":\"shop\","
			  "\"schema\":\"public\",\"table\":\"orders\",\"lsn\":\"0/0\","
			  "\"commit_lsn\":\"FFFFFFFF/FFFFFFFF\",\"xid\":742,"
			  "\"commit_time_us\":null,\"snapshot\":true},\"ts_ms\":null}");
}

/* Snapshot events as the worker publishes them: no transaction block, xid 0. */
TEST_F(JsonRenderOp, SnapshotReadWithKeyNamesItsKindAndId)
{
	std::vector<cdc_column> after_cols = {
		column("id", "bigint", 20, int_value(7)),
		column("name", "text", 25, str_value(CDC_VALUE_TEXT, "widget")),
	};
	std::vector<cdc_column> key_cols = {column("id", "bigint", 20, int_value(7))};
	cdc_row		after = row_of(after_cols), key = row_of(key_cols);
	cdc_event	ev = base(CDC_OP_READ, true);

	ev.has_transaction = false;
	ev.after = &after;
	ev.key = &key;
	ev.source.xid = 0;
	ev.source.commit_time_us = 0;
	ev.source.snapshot = true;
	ev.source.snapshot_kind = CDC_SNAPSHOT_INITIAL;
	ev.source.snapshot_id = 3;
	EXPECT_EQ(render(ev),
			  "{\"op\":\"r\",\"before\":null,\"after\":{\"id\":7,\"name\":\"widget\"},"
			  "\"key\":{\"id\":7},"
			  "\"source\":{\"connector\":\"cdc_plugin\",\"version\":\"1.2.3\",\"database\":\"shop\","
			  "\"schema\":\"public\",\"table\":\"orders\",\"lsn\":\"0/16B3748\","
			  "\"commit_lsn\":\"1/16B3800\",\"xid\":0,\"commit_time_us\":null,"
			  "\"snapshot\":true,\"snapshot_kind\":\"initial\",\"snapshot_id\":3},\"ts_ms\":null}");

	/* the same event encoded in two parts renders the same */
	const char *bytes;
	size_t		n;
	std::string two;

	ev.parts = CDC_ENCODE_NO_SOURCE;
	ASSERT_EQ(cdc_encoder_encode(enc, &ev, &bytes, &n, err, sizeof(err)), 0) << err;
	two.assign(bytes, n);
	ev.parts = CDC_ENCODE_SOURCE_ONLY;
	ASSERT_EQ(cdc_encoder_encode(enc, &ev, &bytes, &n, err, sizeof(err)), 0) << err;
	two.append(bytes, n);
	ev.parts = CDC_ENCODE_ALL;
	EXPECT_EQ(render_bytes(two).json, render(ev));
}

TEST_F(JsonRenderOp, SnapshotReadOfKeylessTableHasNullKey)
{
	std::vector<cdc_column> after_cols = {column("what", "text", 25, str_value(CDC_VALUE_TEXT, "x"))};
	cdc_row		after = row_of(after_cols);
	cdc_event	ev = base(CDC_OP_READ, true);

	ev.has_transaction = false;
	ev.after = &after;
	ev.source.xid = 0;
	ev.source.commit_time_us = 0;
	ev.source.lsn = ev.source.commit_lsn;	/* the slot's start, as for the initial snapshot */
	ev.source.snapshot = true;
	ev.source.snapshot_kind = CDC_SNAPSHOT_INCREMENTAL;
	ev.source.snapshot_id = 12345678901ULL;
	EXPECT_EQ(render(ev),
			  "{\"op\":\"r\",\"before\":null,\"after\":{\"what\":\"x\"},\"key\":null,"
			  "\"source\":{\"connector\":\"cdc_plugin\",\"version\":\"1.2.3\",\"database\":\"shop\","
			  "\"schema\":\"public\",\"table\":\"orders\",\"lsn\":\"1/16B3800\","
			  "\"commit_lsn\":\"1/16B3800\",\"xid\":0,\"commit_time_us\":null,"
			  "\"snapshot\":true,\"snapshot_kind\":\"incremental\",\"snapshot_id\":12345678901},\"ts_ms\":null}");
}

TEST_F(JsonRenderOp, SnapshotMarkersHavePartitionsAndEndHasRows)
{
	const std::string msrc =
		"\"source\":{\"connector\":\"cdc_plugin\",\"version\":\"1.2.3\",\"database\":\"shop\","
		"\"schema\":\"public\",\"table\":\"orders\",\"lsn\":\"0/16B3748\","
		"\"commit_lsn\":\"1/16B3800\",\"xid\":0,\"commit_time_us\":null,"
		"\"snapshot\":true,\"snapshot_kind\":\"initial\",\"snapshot_id\":2},\"ts_ms\":null";
	cdc_event	ev = base(CDC_OP_SNAPSHOT_BEGIN, true);

	ev.has_transaction = false;
	ev.source.xid = 0;
	ev.source.commit_time_us = 0;
	ev.source.snapshot = true;
	ev.source.snapshot_kind = CDC_SNAPSHOT_INITIAL;
	ev.source.snapshot_id = 2;
	ev.marker_partition = 0;
	ev.marker_partitions = 4;
	ev.marker_rows = 99;		/* not rendered for a begin */
	EXPECT_EQ(render(ev),
			  "{\"op\":\"snapshot_begin\"," + msrc + ","
			  "\"snapshot\":{\"partition\":0,\"partitions\":4}}");

	ev.op = CDC_OP_SNAPSHOT_END;
	ev.marker_partition = 3;
	ev.marker_rows = 0;
	EXPECT_EQ(render(ev),
			  "{\"op\":\"snapshot_end\"," + msrc + ","
			  "\"snapshot\":{\"partition\":3,\"partitions\":4,\"rows\":0}}");
	ev.marker_rows = 1000000;
	EXPECT_EQ(render(ev),
			  "{\"op\":\"snapshot_end\"," + msrc + ","
			  "\"snapshot\":{\"partition\":3,\"partitions\":4,\"rows\":1000000}}");
}

TEST_F(JsonRenderOp, GapHasEveryFieldLsnsAsPgLsnAndTimeAsTimestamp)
{
	const std::string gsrc =
		"\"source\":{\"connector\":\"cdc_plugin\",\"version\":\"1.2.3\",\"database\":\"shop\","
		"\"schema\":\"public\",\"table\":\"orders\",\"lsn\":\"3/60\","
		"\"commit_lsn\":\"3/60\",\"xid\":0,\"commit_time_us\":null,\"snapshot\":false},\"ts_ms\":null";
	cdc_event	ev = base(CDC_OP_GAP, true);

	ev.has_transaction = false;
	ev.source.xid = 0;
	ev.source.commit_time_us = 0;
	ev.source.lsn = 0x300000060ULL;
	ev.source.commit_lsn = 0x300000060ULL;
	ev.gap_id = 4;
	ev.gap_lost_from_lsn = 0x15AAF00;
	ev.gap_lost_to_lsn = 0x300000060ULL;
	ev.gap_reason = "slot \"cdc_plugin\" invalidated";
	ev.gap_resnapshot = true;
	ev.gap_snapshot_id = 17;
	ev.marker_partition = 2;
	ev.marker_partitions = 3;
	ev.marker_rows = 99;		/* a marker's field: not rendered */
	ev.gap_time_us = 1733092161116656LL;
	EXPECT_EQ(render(ev),
			  "{\"op\":\"gap\"," + gsrc + ","
			  "\"gap\":{\"id\":4,\"lost_from_lsn\":\"0/15AAF00\",\"lost_to_lsn\":\"3/60\","
			  "\"reason\":\"slot \\\"cdc_plugin\\\" invalidated\",\"resnapshot\":true,"
			  "\"snapshot_id\":17,\"partition\":2,\"partitions\":3,"
			  "\"time_us\":1733092161116656}}");

	/* no snapshot follows: snapshot_id 0; an empty reason; no time */
	ev.gap_resnapshot = false;
	ev.gap_snapshot_id = 0;
	ev.marker_partition = 0;
	ev.gap_reason = nullptr;
	ev.gap_time_us = 0;
	EXPECT_EQ(render(ev),
			  "{\"op\":\"gap\"," + gsrc + ","
			  "\"gap\":{\"id\":4,\"lost_from_lsn\":\"0/15AAF00\",\"lost_to_lsn\":\"3/60\","
			  "\"reason\":\"\",\"resnapshot\":false,\"snapshot_id\":0,\"partition\":0,"
			  "\"partitions\":3,\"time_us\":null}}");
}

TEST_F(JsonRenderOp, GapSnapshotRendersItsKind)
{
	cdc_event	ev = base(CDC_OP_SNAPSHOT_BEGIN, true);

	ev.has_transaction = false;
	ev.source.xid = 0;
	ev.source.commit_time_us = 0;
	ev.source.snapshot = true;
	ev.source.snapshot_kind = CDC_SNAPSHOT_GAP;
	ev.source.snapshot_id = 17;
	ev.marker_partitions = 3;
	EXPECT_EQ(render(ev),
			  "{\"op\":\"snapshot_begin\","
			  "\"source\":{\"connector\":\"cdc_plugin\",\"version\":\"1.2.3\",\"database\":\"shop\","
			  "\"schema\":\"public\",\"table\":\"orders\",\"lsn\":\"0/16B3748\","
			  "\"commit_lsn\":\"1/16B3800\",\"xid\":0,\"commit_time_us\":null,"
			  "\"snapshot\":true,\"snapshot_kind\":\"gap_resnapshot\",\"snapshot_id\":17},\"ts_ms\":null,"
			  "\"snapshot\":{\"partition\":0,\"partitions\":3}}");
}

TEST_F(JsonRenderOp, SchemaEventRendersItsShape)
{
	const std::string ssrc =
		"\"source\":{\"connector\":\"cdc_plugin\",\"version\":\"1.2.3\",\"database\":\"shop\","
		"\"schema\":\"public\",\"table\":\"orders\",\"lsn\":\"0/16B3748\","
		"\"commit_lsn\":\"1/16B3800\",\"xid\":742,"
		"\"commit_time_us\":1704164645500000,\"snapshot\":false,"
		"\"schema_version\":3},\"ts_ms\":1704164645500";
	std::vector<cdc_schema_column> cols = {
		{"id", "bigint", 20, -1, true, true, true, 1},
		{"note", "character varying(40)", 1043, 44, false, false, false, 3},
	};
	cdc_schema_change sc{};

	sc.version = 3;
	sc.command_tag = "ALTER TABLE";
	sc.ddl = "ALTER TABLE orders ADD note varchar(40) -- \"n\"";
	sc.replica_identity = "default";
	sc.columns = cols.data();
	sc.ncolumns = cols.size();

	cdc_event	ev = base(CDC_OP_SCHEMA, true);

	ev.has_transaction = false;
	ev.source.schema_version = 3;
	ev.schema_change = &sc;
	ev.gap_reason = "x";		/* another op's field: not rendered */
	ev.marker_partitions = 3;

	const std::string id_col =
		"{\"name\":\"id\",\"type\":\"bigint\",\"type_oid\":20,\"typmod\":-1,"
		"\"not_null\":true,\"has_default\":true,\"key\":true,\"attnum\":1}";
	const std::string note_col =
		"{\"name\":\"note\",\"type\":\"character varying(40)\",\"type_oid\":1043,"
		"\"typmod\":44,\"not_null\":false,\"has_default\":false,\"key\":false,\"attnum\":3}";

	EXPECT_EQ(render(ev),
			  "{\"op\":\"schema\"," + ssrc + ","
			  "\"schema_change\":{\"version\":3,\"command_tag\":\"ALTER TABLE\","
			  "\"ddl\":\"ALTER TABLE orders ADD note varchar(40) -- \\\"n\\\"\","
			  "\"dropped\":false,\"renamed_from_schema\":null,\"renamed_from_table\":null,\"replica_identity\":\"default\","
			  "\"resent\":false,\"columns\":[" + id_col + "," + note_col + "]}}");

	/* a rename that is also the table's last event */
	sc.version = 4;
	ev.source.schema_version = 4;
	sc.ddl = "ALTER TABLE archive.old_orders RENAME TO orders";
	sc.renamed_from_schema = "archive";
	sc.renamed_from_table = "old_orders";
	sc.dropped = true;
	sc.replica_identity = "full";
	sc.ncolumns = 1;
	EXPECT_EQ(render(ev),
			  "{\"op\":\"schema\"," + ssrc.substr(0, ssrc.size() - 24) + "4},\"ts_ms\":1704164645500,"
			  "\"schema_change\":{\"version\":4,\"command_tag\":\"ALTER TABLE\","
			  "\"ddl\":\"ALTER TABLE archive.old_orders RENAME TO orders\","
			  "\"dropped\":true,\"renamed_from_schema\":\"archive\",\"renamed_from_table\":\"old_orders\","
			  "\"replica_identity\":\"full\",\"resent\":false,\"columns\":[" + id_col + "]}}");

	/* a restatement: no command tag, no DDL text (null), resent; only one name renamed */
	sc.command_tag = nullptr;
	sc.ddl = nullptr;
	sc.renamed_from_schema = nullptr;
	sc.dropped = false;
	sc.resent = true;
	std::string json = render(ev);

	EXPECT_NE(json.find("\"schema_change\":{\"version\":4,\"command_tag\":\"\",\"ddl\":null,"
						"\"dropped\":false,\"renamed_from_schema\":null,\"renamed_from_table\":\"old_orders\","
						"\"replica_identity\":\"full\",\"resent\":true,\"columns\":["),
			  std::string::npos) << json;

	/* no columns, an empty DDL text: [] and null */
	sc.renamed_from_table = nullptr;
	sc.ncolumns = 0;
	sc.ddl = "";
	json = render(ev);
	EXPECT_NE(json.find("\"ddl\":null,\"dropped\":false,\"renamed_from_schema\":null,\"renamed_from_table\":null,"
						"\"replica_identity\":\"full\",\"resent\":true,\"columns\":[]}}"),
			  std::string::npos) << json;
}

TEST_F(JsonRenderOp, SchemaVersionOfRowEventsRendersOnlyWhenSet)
{
	std::vector<cdc_column> cols = {column("id", "bigint", 20, int_value(1))};
	cdc_row		r = row_of(cols);
	const std::string txn =
		",\"transaction\":{\"id\":742,\"total_order\":1,\"data_collection_order\":1}}";
	const std::string src_v =
		src_json.substr(0, src_json.size() - 23) + ",\"schema_version\":18446744073709551615},\"ts_ms\":1704164645500";

	for (auto [op, name] : {std::pair{CDC_OP_CREATE, "c"}, {CDC_OP_UPDATE, "u"},
							{CDC_OP_DELETE, "d"}})
	{
		cdc_event	ev = base(op, true);

		if (op != CDC_OP_CREATE)
			ev.before = &r;
		if (op != CDC_OP_DELETE)
			ev.after = &r;
		ev.key = &r;
		const std::string rows =
			std::string("{\"op\":\"") + name + "\","
			+ "\"before\":" + (ev.before ? "{\"id\":1}" : "null")
			+ ",\"after\":" + (ev.after ? "{\"id\":1}" : "null")
			+ ",\"key\":{\"id\":1},";

		/* without: byte for byte as before */
		EXPECT_EQ(render(ev), rows + src_json + txn);
		ev.source.schema_version = UINT64_MAX;	/* uint64 as a JSON number, like xid */
		EXPECT_EQ(render(ev), rows + src_v + txn);
	}

	/* r: after the snapshot id */
	cdc_event	ev = base(CDC_OP_READ, true);

	ev.has_transaction = false;
	ev.after = &r;
	ev.key = &r;
	ev.source.snapshot = true;
	ev.source.snapshot_kind = CDC_SNAPSHOT_INITIAL;
	ev.source.snapshot_id = 5;
	ev.source.schema_version = 2;
	std::string json = render(ev);

	EXPECT_NE(json.find("\"snapshot\":true,\"snapshot_kind\":\"initial\",\"snapshot_id\":5,\"schema_version\":2}"),
			  std::string::npos) << json;
	ev.source.schema_version = 0;
	EXPECT_EQ(render(ev).find("schema_version"), std::string::npos);
}

TEST_F(JsonRenderOp, StreamedEventsRenderAsBeforeSnapshots)
{
	/* every field the snapshot work added left at zero: not a byte changes */
	std::vector<cdc_column> cols = {column("id", "bigint", 20, int_value(1))};
	cdc_row		r = row_of(cols);
	cdc_event	ev = base(CDC_OP_CREATE, true);

	ev.after = &r;
	ev.key = &r;
	std::string json = render(ev);

	EXPECT_EQ(json,
			  "{\"op\":\"c\",\"before\":null,\"after\":{\"id\":1},\"key\":{\"id\":1},"
			  + src_json + ","
			  "\"transaction\":{\"id\":742,\"total_order\":1,\"data_collection_order\":1}}");
	EXPECT_EQ(json.find("snapshot_id"), std::string::npos);
}

TEST(JsonRenderLayout, SnapshotFlagWithoutKindRendersAsBoolean)
{
	pb::Envelope e = insert_with(Int(1));
	const std::string head =
		"{\"op\":\"r\",\"before\":null,\"after\":{\"v\":1},\"key\":null,"
		"\"source\":{\"connector\":\"\",\"version\":\"\",\"database\":\"\",\"lsn\":\"0/0\","
		"\"commit_lsn\":\"0/0\",\"xid\":0,\"commit_time_us\":null,";

	e.set_op(pb::OP_READ);
	e.mutable_source()->set_snapshot(true);
	EXPECT_EQ(render_ok(e), head + "\"snapshot\":true},\"ts_ms\":null}");
	e.mutable_source()->set_snapshot_id(5);
	EXPECT_EQ(render_ok(e), head + "\"snapshot\":true,\"snapshot_id\":5},\"ts_ms\":null}");
	/* flag and kind render as they are, each under its own name */
	e.mutable_source()->set_snapshot(false);
	e.mutable_source()->set_snapshot_kind(pb::SNAPSHOT_INCREMENTAL);
	EXPECT_EQ(render_ok(e), head + "\"snapshot\":false,\"snapshot_kind\":\"incremental\",\"snapshot_id\":5},\"ts_ms\":null}");
}

TEST(JsonRenderLayout, MarkerWithoutSnapshotSectionRendersDefaults)
{
	pb::Envelope b;

	b.set_op(pb::OP_SNAPSHOT_END);
	EXPECT_EQ(render_ok(b),
			  "{\"op\":\"snapshot_end\","
			  "\"source\":{\"connector\":\"\",\"version\":\"\",\"database\":\"\",\"lsn\":\"0/0\","
			  "\"commit_lsn\":\"0/0\",\"xid\":0,\"commit_time_us\":null,\"snapshot\":false},\"ts_ms\":null,"
			  "\"snapshot\":{\"partition\":0,\"partitions\":0,\"rows\":0}}");
}

TEST(JsonRenderLayout, GapWithoutGapSectionRendersDefaults)
{
	pb::Envelope g;

	g.set_op(pb::OP_GAP);
	EXPECT_EQ(render_ok(g),
			  "{\"op\":\"gap\","
			  "\"source\":{\"connector\":\"\",\"version\":\"\",\"database\":\"\",\"lsn\":\"0/0\","
			  "\"commit_lsn\":\"0/0\",\"xid\":0,\"commit_time_us\":null,\"snapshot\":false},\"ts_ms\":null,"
			  "\"gap\":{\"id\":0,\"lost_from_lsn\":\"0/0\",\"lost_to_lsn\":\"0/0\","
			  "\"reason\":\"\",\"resnapshot\":false,\"snapshot_id\":0,\"partition\":0,"
			  "\"partitions\":0,\"time_us\":null}}");

	/* a time before 1970, as commit_time_us renders one */
	g.mutable_gap()->set_time_us(-1);
	EXPECT_NE(render_ok(g).find("\"time_us\":-1}"), std::string::npos);
}

TEST(JsonRenderErrors, SnapshotKindMustBeKnown)
{
	pb::Envelope e;

	e.set_op(pb::OP_SNAPSHOT_BEGIN);
	e.mutable_source()->set_snapshot(true);
	e.mutable_source()->set_snapshot_kind(static_cast<pb::SnapshotKind>(4));
	EXPECT_EQ(render_error(e), "invalid envelope: unknown snapshot kind 4");
	e.mutable_source()->set_snapshot_kind(static_cast<pb::SnapshotKind>(-1));
	EXPECT_EQ(render_error(e), "invalid envelope: unknown snapshot kind -1");

	pb::Envelope r = insert_with(Int(1));

	r.set_op(pb::OP_READ);
	r.mutable_source()->set_snapshot_kind(static_cast<pb::SnapshotKind>(99));
	EXPECT_EQ(render_error(r), "invalid envelope: unknown snapshot kind 99");
}

TEST(JsonRenderErrors, UnknownFieldInSnapshotMarkerIsCorrupt)
{
	pb::Envelope e;

	e.set_op(pb::OP_SNAPSHOT_BEGIN);
	e.mutable_snapshot()->set_partitions(2);
	e.mutable_snapshot()->GetReflection()->MutableUnknownFields(e.mutable_snapshot())
		->AddVarint(4, 1);
	EXPECT_EQ(render_error(e),
			  std::string("invalid envelope: not a valid cdc.v1.Envelope (corrupt or truncated)")
			  + ": unknown field 4 in cdc.v1.SnapshotMarker");
}

TEST_F(JsonRenderOp, TruncateHasFlagsAndNoRows)
{
	cdc_event	ev = base(CDC_OP_TRUNCATE, true);

	ev.truncate_restart_identity = true;
	ev.txn_data_collection_order = 0;
	EXPECT_EQ(render(ev),
			  "{\"op\":\"t\"," + src_json + ","
			  "\"transaction\":{\"id\":742,\"total_order\":1},"
			  "\"truncate\":{\"cascade\":false,\"restart_identity\":true}}");
}

TEST_F(JsonRenderOp, MessageHasHexContentAndTextOnlyWhenValidUtf8WithoutNul)
{
	cdc_event	ev = base(CDC_OP_MESSAGE, false);

	ev.has_transaction = false;
	ev.message_prefix = "app";
	ev.message_content = {"h\xc3\xa9\n", 4};
	EXPECT_EQ(render(ev),
			  "{\"op\":\"m\"," + txn_src_json + ","
			  "\"message\":{\"prefix\":\"app\",\"transactional\":false,"
			  "\"content\":\"\\\\x68c3a90a\",\"content_text\":\"h\xc3\xa9\\n\"}}");

	ev.message_content = {"\xff\x01", 2};
	ev.message_transactional = true;
	EXPECT_EQ(render(ev),
			  "{\"op\":\"m\"," + txn_src_json + ","
			  "\"message\":{\"prefix\":\"app\",\"transactional\":true,"
			  "\"content\":\"\\\\xff01\"}}");

	ev.message_content = {"a\0b", 3};
	EXPECT_EQ(render(ev),
			  "{\"op\":\"m\"," + txn_src_json + ","
			  "\"message\":{\"prefix\":\"app\",\"transactional\":true,"
			  "\"content\":\"\\\\x610062\"}}");

	ev.message_content = {nullptr, 0};
	EXPECT_EQ(render(ev),
			  "{\"op\":\"m\"," + txn_src_json + ","
			  "\"message\":{\"prefix\":\"app\",\"transactional\":true,"
			  "\"content\":\"\\\\x\",\"content_text\":\"\"}}");
}

TEST_F(JsonRenderOp, BeginAndCommitOmitZeroOrderAndCommitHasSummary)
{
	cdc_event	b = base(CDC_OP_BEGIN, false);

	b.txn_total_order = 0;
	b.txn_data_collection_order = 0;
	EXPECT_EQ(render(b),
			  "{\"op\":\"begin\"," + txn_src_json + ","
			  "\"transaction\":{\"id\":742}}");

	cdc_event	c = base(CDC_OP_COMMIT, false);
	cdc_table_count counts[] = {{"public", "t", 3}, {"sales", "order \"x\"", 1}};

	c.txn_total_order = 0;
	c.txn_data_collection_order = 0;
	c.event_count = 4;
	c.table_counts = counts;
	c.ntable_counts = 2;
	EXPECT_EQ(render(c),
			  "{\"op\":\"commit\"," + txn_src_json + ","
			  "\"transaction\":{\"id\":742},"
			  "\"summary\":{\"event_count\":4,"
			  "\"tables\":[{\"schema\":\"public\",\"table\":\"t\",\"event_count\":3},"
			  "{\"schema\":\"sales\",\"table\":\"order \\\"x\\\"\",\"event_count\":1}]}}");

	c.ntable_counts = 0;
	c.has_transaction = false;
	EXPECT_EQ(render(c),
			  "{\"op\":\"commit\"," + txn_src_json + ","
			  "\"summary\":{\"event_count\":4,\"tables\":[]}}");
}

TEST(JsonRenderLayout, MissingSectionsRenderAsDefaults)
{
	pb::Envelope t, m, c;

	t.set_op(pb::OP_TRUNCATE);
	m.set_op(pb::OP_MESSAGE);
	c.set_op(pb::OP_COMMIT);
	const std::string src =
		"\"source\":{\"connector\":\"\",\"version\":\"\",\"database\":\"\",\"lsn\":\"0/0\","
		"\"commit_lsn\":\"0/0\",\"xid\":0,\"commit_time_us\":null,\"snapshot\":false},\"ts_ms\":null";

	EXPECT_EQ(render_ok(t), "{\"op\":\"t\"," + src
			  + ",\"truncate\":{\"cascade\":false,\"restart_identity\":false}}");
	EXPECT_EQ(render_ok(m), "{\"op\":\"m\"," + src
			  + ",\"message\":{\"prefix\":\"\",\"transactional\":false,"
			  "\"content\":\"\\\\x\",\"content_text\":\"\"}}");
	EXPECT_EQ(render_ok(c), "{\"op\":\"commit\"," + src
			  + ",\"summary\":{\"event_count\":0,\"tables\":[]}}");
}

/* ---- invalid envelopes ---- */

const char kCorrupt[] =
	"invalid envelope: not a valid cdc.v1.Envelope (corrupt or truncated)";

TEST(JsonRenderErrors, GarbageAndTruncatedBytesAreCorrupt)
{
	EXPECT_EQ(render_bytes("\xff\xff\xff").err, kCorrupt);
	EXPECT_EQ(render_bytes("\x08").err, kCorrupt);	/* tag without value */

	pb::Envelope e = insert_with(Text("some text value"));
	std::string bytes = e.SerializeAsString();

	/* cut inside the text: the length prefix points past the end */
	EXPECT_EQ(render_bytes(bytes.substr(0, bytes.size() - 3)).err, kCorrupt);
}

TEST(JsonRenderErrors, EmptyInputHasUnspecifiedOp)
{
	EXPECT_EQ(render_bytes("").err, "invalid envelope: op is unspecified");
}

TEST(JsonRenderErrors, InvalidUtf8InStringFieldIsCorrupt)
{
	/* Envelope{op: 1, after: Row{Column{name: "\xff"}}} by hand */
	std::string bytes("\x08\x01\x1a\x05\x0a\x03\x0a\x01\xff", 9);

	EXPECT_EQ(render_bytes(bytes).err, kCorrupt);
}

TEST(JsonRenderErrors, UnknownFieldsAnywhereAreCorrupt)
{
	pb::Envelope top = insert_with(Int(1));
	std::string bytes = top.SerializeAsString() + std::string("\x98\x06\x01", 3);	/* field 99 */

	EXPECT_EQ(render_bytes(bytes).err,
			  std::string(kCorrupt) + ": unknown field 99 in cdc.v1.Envelope");

	/* a known field number with the wrong wire type: op as bytes */
	EXPECT_EQ(render_bytes(std::string("\x0a\x00", 2)).err,
			  std::string(kCorrupt) + ": unknown field 1 in cdc.v1.Envelope");

	/* deep inside: a Value inside an array inside a record */
	pb::Value	elem = Int(5);

	elem.GetReflection()->MutableUnknownFields(&elem)->AddVarint(50, 1);
	pb::Value	rec;
	pb::Column *c = rec.mutable_record_value()->add_columns();

	c->set_name("xs");
	*c->mutable_value() = Array({1}, {elem});
	EXPECT_EQ(value_error(rec), std::string(kCorrupt) + ": unknown field 50 in cdc.v1.Value");

	/* in a section the op does not render */
	pb::Envelope t;

	t.set_op(pb::OP_TRUNCATE);
	t.mutable_summary()->add_tables()->GetReflection()->MutableUnknownFields(
		t.mutable_summary()->mutable_tables(0))->AddFixed32(7, 1);
	EXPECT_EQ(render_error(t), std::string(kCorrupt) + ": unknown field 7 in cdc.v1.TableCount");
}

TEST(JsonRenderErrors, GapWithUnknownFieldOrNulInReasonIsInvalid)
{
	pb::Envelope g;

	g.set_op(pb::OP_GAP);
	g.mutable_gap()->GetReflection()->MutableUnknownFields(g.mutable_gap())->AddVarint(12, 1);
	EXPECT_EQ(render_error(g), std::string(kCorrupt) + ": unknown field 12 in cdc.v1.Gap");

	pb::Envelope n;

	n.set_op(pb::OP_GAP);
	n.mutable_gap()->set_reason(std::string("a\0b", 3));
	EXPECT_EQ(render_error(n),
			  "invalid envelope: a string holds a NUL byte, which PostgreSQL text cannot hold");
}

TEST(JsonRenderLayout, SchemaWithoutSchemaChangeSectionRendersDefaults)
{
	pb::Envelope e;

	e.set_op(pb::OP_SCHEMA);
	EXPECT_EQ(render_ok(e),
			  "{\"op\":\"schema\","
			  "\"source\":{\"connector\":\"\",\"version\":\"\",\"database\":\"\",\"lsn\":\"0/0\","
			  "\"commit_lsn\":\"0/0\",\"xid\":0,\"commit_time_us\":null,\"snapshot\":false},\"ts_ms\":null,"
			  "\"schema_change\":{\"version\":0,\"command_tag\":\"\",\"ddl\":null,"
			  "\"dropped\":false,\"renamed_from_schema\":null,\"renamed_from_table\":null,\"replica_identity\":\"\","
			  "\"resent\":false,\"columns\":[]}}");

	/* a column with every field at its default */
	e.mutable_schema_change()->add_columns();
	EXPECT_NE(render_ok(e).find("\"columns\":[{\"name\":\"\",\"type\":\"\",\"type_oid\":0,"
								"\"typmod\":0,\"not_null\":false,\"has_default\":false,"
								"\"key\":false,\"attnum\":0}]}}"),
			  std::string::npos);
}

TEST(JsonRenderErrors, SchemaChangeWithUnknownFieldOrNulIsInvalid)
{
	pb::Envelope s;

	s.set_op(pb::OP_SCHEMA);
	s.mutable_schema_change()->GetReflection()->MutableUnknownFields(
		s.mutable_schema_change())->AddVarint(10, 1);
	EXPECT_EQ(render_error(s), std::string(kCorrupt) + ": unknown field 10 in cdc.v1.SchemaChange");

	pb::Envelope c;

	c.set_op(pb::OP_SCHEMA);
	pb::SchemaColumn *col = c.mutable_schema_change()->add_columns();

	col->set_name("id");
	col->GetReflection()->MutableUnknownFields(col)->AddFixed64(9, 1);
	EXPECT_EQ(render_error(c), std::string(kCorrupt) + ": unknown field 9 in cdc.v1.SchemaColumn");

	/* also in an envelope of another op */
	c.set_op(pb::OP_CREATE);
	c.mutable_after();
	EXPECT_EQ(render_error(c), std::string(kCorrupt) + ": unknown field 9 in cdc.v1.SchemaColumn");

	pb::Envelope n;

	n.set_op(pb::OP_SCHEMA);
	n.mutable_schema_change()->set_ddl(std::string("a\0b", 3));
	EXPECT_EQ(render_error(n),
			  "invalid envelope: a string holds a NUL byte, which PostgreSQL text cannot hold");
}

TEST(JsonRenderErrors, OpMustBeKnown)
{
	pb::Envelope e;

	e.mutable_source()->set_database("x");
	EXPECT_EQ(render_error(e), "invalid envelope: op is unspecified");
	e.set_op(static_cast<pb::Op>(42));
	EXPECT_EQ(render_error(e), "invalid envelope: unknown op 42");
	e.set_op(static_cast<pb::Op>(15));
	EXPECT_EQ(render_error(e), "invalid envelope: unknown op 15");
	e.set_op(static_cast<pb::Op>(-3));
	EXPECT_EQ(render_error(e), "invalid envelope: unknown op -3");
}

TEST(JsonRenderErrors, CreateUpdateAndReadNeedAnAfterRow)
{
	for (auto [op, name] : {std::pair{pb::OP_CREATE, "c"}, {pb::OP_UPDATE, "u"}, {pb::OP_READ, "r"}})
	{
		pb::Envelope e;

		e.set_op(op);
		e.mutable_before();
		e.mutable_key();
		EXPECT_EQ(render_error(e),
				  std::string("invalid envelope: op \"") + name + "\" requires an after row");
	}
}

TEST(JsonRenderLayout, DeleteWithNeitherBeforeNorKeyRendersNulls)
{
	/* REPLICA IDENTITY NOTHING: PostgreSQL logs no old row for a delete */
	pb::Envelope d;

	d.set_op(pb::OP_DELETE);
	EXPECT_EQ(render_ok(d),
			  "{\"op\":\"d\",\"before\":null,\"after\":null,\"key\":null,"
			  "\"source\":{\"connector\":\"\",\"version\":\"\",\"database\":\"\",\"lsn\":\"0/0\","
			  "\"commit_lsn\":\"0/0\",\"xid\":0,\"commit_time_us\":null,\"snapshot\":false},\"ts_ms\":null}");
}

std::string
varint(size_t n)
{
	std::string s;

	while (n >= 0x80)
	{
		s.push_back(static_cast<char>((n & 0x7f) | 0x80));
		n >>= 7;
	}
	s.push_back(static_cast<char>(n));
	return s;
}

TEST(JsonRenderErrors, NestingBeyondProtobufLimitFailsCleanly)
{
	/* 300 nested arrays, built by hand: past every recursion limit */
	std::string v = "\x10\x02";	/* Value{int_value: 1} */

	for (int i = 0; i < 300; i++)
	{
		std::string arr = "\x1a" + varint(v.size()) + v;	/* Array{elements: [v]} */

		v = "\x92\x01" + varint(arr.size()) + arr;	/* Value{array_value: arr} */
	}
	std::string col = "\x0a\x01v\x22" + varint(v.size()) + v;	/* Column{name, value} */
	std::string row = "\x0a" + varint(col.size()) + col;	/* Row{columns: [col]} */
	std::string env = std::string("\x08\x01\x1a", 3) + varint(row.size()) + row;

	EXPECT_EQ(render_bytes(env).err, kCorrupt);
}

TEST(JsonRenderErrors, NullArgumentsFailCleanly)
{
	const char *out;
	size_t		len;
	char		err[CDC_ERRBUF_SIZE];

	EXPECT_EQ(cdc_render_json(nullptr, 5, nullptr, &out, &len, err, sizeof(err)), CDC_RENDER_INVALID);
	EXPECT_STREQ(err, "invalid envelope: no data");
	EXPECT_EQ(cdc_render_json("", 0, nullptr, nullptr, &len, err, sizeof(err)), CDC_RENDER_INVALID);
	EXPECT_STREQ(err, "cdc_render_json: NULL argument");
	/* no errbuf: still fine */
	EXPECT_EQ(cdc_render_json("", 0, nullptr, &out, &len, nullptr, 0), CDC_RENDER_INVALID);
	EXPECT_EQ(cdc_render_json(nullptr, 0, nullptr, &out, &len, err, sizeof(err)), CDC_RENDER_INVALID);
	EXPECT_STREQ(err, "invalid envelope: op is unspecified");
	cdc_render_json_release();
	cdc_render_json_release();
}

/* ---- embedded JSON validator ---- */

TEST(JsonTextValid, AcceptsRfc8259Documents)
{
	for (const char *ok : {"0", "-0", "-1.5e+10", "1E5", "\"\"", "true", "false", "null",
			 "[]", "{}", " [ 1 , { \"a\" : [ ] } ] ", "{\"a\":{\"b\":{\"c\":[null]}}}",
			 "\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\xc3\xa9\""})
		EXPECT_TRUE(cdc_core::json_text_valid(ok, std::strlen(ok))) << ok;

	std::string deep = std::string(100000, '[') + std::string(100000, ']');

	EXPECT_TRUE(cdc_core::json_text_valid(deep.data(), deep.size()));
}

TEST(JsonTextValid, RejectsMalformedDocuments)
{
	for (const char *bad : {"", " ", "01", "1.", ".5", "-", "1e", "+1", "NaN", "Infinity",
			 "tru", "nul", "[1,]", "[,1]", "{\"a\"}", "{\"a\":1,}", "{1:2}", "[1 2]",
			 "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud83d\"", "\"\\ude00\"",
			 "\"\\ud83d\\u0041\"", "[1]]", "{}}", "1 2", "\"a\nb\"", "[", "{\"a\":"})
		EXPECT_FALSE(cdc_core::json_text_valid(bad, std::strlen(bad))) << bad;

	std::string unclosed = std::string(1000, '[');

	EXPECT_FALSE(cdc_core::json_text_valid(unclosed.data(), unclosed.size()));
}

/* ---- fuzzing ---- */

class JsonRenderFuzz : public ::testing::Test
{
protected:
	std::vector<std::string> corpus;
	std::vector<std::string> keys;	/* encoded key Rows */

	void		SetUp() override
	{
		char		err[CDC_ERRBUF_SIZE];
		cdc_encoder *enc = cdc_encoder_create("9.9", err, sizeof(err));

		ASSERT_NE(enc, nullptr);
		std::string uuid(16, '\x42');
		std::vector<cdc_value> elems = {int_value(1), null_value(), int_value(3), int_value(4)};
		cdc_array	arr = array_of(elems, {2, 2});
		std::vector<cdc_column> rec_cols = {column("f", "text", 25, str_value(CDC_VALUE_TEXT, "r"))};
		cdc_row		rec = row_of(rec_cols);
		std::vector<cdc_column> cols = {
			column("id", "bigint", 20, int_value(-77)),
			column("t", "text", 25, str_value(CDC_VALUE_TEXT, "h\xc3\xa9llo\n")),
			column("n", "numeric", 1700, str_value(CDC_VALUE_NUMERIC, "1.50")),
			column("f8", "float8", 701, float8_value(0.25)),
			column("f4", "float4", 700, float4_value(-1.5f)),
			column("d", "date", 1082, date_value(-719163)),
			column("tm", "time", 1083, micros_value(CDC_VALUE_TIME, 3723000000LL)),
			column("tz", "timetz", 1266, timetz_value(1, -3600)),
			column("ts", "timestamptz", 1184, micros_value(CDC_VALUE_TIMESTAMPTZ, -1)),
			column("iv", "interval", 1186, interval_value(13, -2, 1500000)),
			column("u", "uuid", 2950, str_value(CDC_VALUE_UUID, uuid)),
			column("j", "jsonb", 3802, str_value(CDC_VALUE_JSONB, "{\"a\": [1, \"x\"]}")),
			column("a", "int[]", 1007, array_value(&arr)),
			column("r", "rec", 1, record_value(&rec)),
			column("b", "bytea", 17, str_value(CDC_VALUE_BYTES, "\x01\x02")),
			column("z", "text", 25, toast_value()),
			column("nul", "text", 25, null_value()),
		};
		cdc_row		row = row_of(cols);
		cdc_event	ev = event_of(CDC_OP_UPDATE);

		ev.before = &row;
		ev.after = &row;
		ev.key = &row;
		ev.source.database = "db";
		ev.source.schema = "s";
		ev.source.table = "t";
		ev.source.lsn = 12345678901ULL;
		ev.source.commit_time_us = 1;
		ev.has_transaction = true;
		ev.txn_id = 5;
		ev.txn_total_order = 2;

		auto		add = [&](const cdc_event &e) {
			const char *out;
			size_t		len;

			ASSERT_EQ(cdc_encoder_encode(enc, &e, &out, &len, err, sizeof(err)), 0) << err;
			corpus.emplace_back(out, len);
		};

		add(ev);
		cdc_event	m = event_of(CDC_OP_MESSAGE);

		m.message_prefix = "p";
		m.message_content = {"content", 7};
		add(m);
		cdc_event	c = event_of(CDC_OP_COMMIT);
		cdc_table_count tc[] = {{"s", "t", 1}, {"s", "u", 2}};

		c.table_counts = tc;
		c.ntable_counts = 2;
		c.event_count = 3;
		add(c);
		cdc_event	t = event_of(CDC_OP_TRUNCATE);

		t.truncate_cascade = true;
		add(t);
		cdc_event	r = event_of(CDC_OP_READ);

		r.after = &row;
		r.key = &row;
		r.source.snapshot = true;
		r.source.snapshot_kind = CDC_SNAPSHOT_INCREMENTAL;
		r.source.snapshot_id = 77;
		add(r);
		cdc_event	b = event_of(CDC_OP_SNAPSHOT_END);

		b.source = r.source;
		b.marker_partition = 2;
		b.marker_partitions = 3;
		b.marker_rows = 300;
		add(b);
		cdc_event	g = event_of(CDC_OP_GAP);

		g.source.schema = "s";
		g.source.table = "t";
		g.source.lsn = g.source.commit_lsn = 0x300000060ULL;
		g.gap_id = 3;
		g.gap_lost_from_lsn = 0x15AAF00;
		g.gap_lost_to_lsn = 0x300000060ULL;
		g.gap_reason = "slot invalidated";
		g.gap_resnapshot = true;
		g.gap_snapshot_id = 78;
		g.marker_partition = 1;
		g.marker_partitions = 3;
		g.gap_time_us = 1733092161116656LL;
		add(g);

		cdc_schema_column scols[] = {
			{"id", "bigint", 20, -1, true, true, true, 1},
			{"note", "character varying(40)", 1043, 44, false, false, false, 3},
		};
		cdc_schema_change sc{};

		sc.version = 4;
		sc.command_tag = "ALTER TABLE";
		sc.ddl = "ALTER TABLE s.t ADD note varchar(40)";
		sc.renamed_from_schema = "s";
		sc.renamed_from_table = "t_old";
		sc.replica_identity = "default";
		sc.columns = scols;
		sc.ncolumns = 2;
		cdc_event	sch = event_of(CDC_OP_SCHEMA);

		sch.source.schema = "s";
		sch.source.table = "t";
		sch.source.lsn = sch.source.commit_lsn = 0x300000100ULL;
		sch.source.xid = 9;
		sch.source.schema_version = 4;
		sch.schema_change = &sc;
		add(sch);

		/*
		 * Change events of scalar values only, and their keys: what the
		 * wire views take, so that mutations exercise them.
		 */
		std::vector<cdc_column> scalar_cols;

		for (const cdc_column &col : cols)
			if (col.value.kind != CDC_VALUE_TIMETZ && col.value.kind != CDC_VALUE_INTERVAL
				&& col.value.kind != CDC_VALUE_ARRAY && col.value.kind != CDC_VALUE_RECORD)
				scalar_cols.push_back(col);
		scalar_cols.push_back(column("ok", "boolean", 16, bool_value(true)));
		scalar_cols.push_back(column("e", "mood", 16400, str_value(CDC_VALUE_ENUM, "happy")));
		scalar_cols.push_back(column("js", "json", 114, str_value(CDC_VALUE_JSON, "[1, {\"b\": null}]")));
		cdc_row		srow = row_of(scalar_cols);
		std::vector<cdc_column> key_cols = {cols[0], cols[1]};
		cdc_row		krow = row_of(key_cols);

		for (cdc_op op : {CDC_OP_CREATE, CDC_OP_UPDATE, CDC_OP_DELETE, CDC_OP_READ})
		{
			cdc_event	e = ev;

			e.op = op;
			e.before = (op == CDC_OP_UPDATE || op == CDC_OP_DELETE) ? &srow : nullptr;
			e.after = op == CDC_OP_DELETE ? nullptr : &srow;
			e.key = &krow;
			add(e);
		}
		for (const cdc_row *k : {&krow, &srow})
		{
			const char *out;
			size_t		len;

			ASSERT_EQ(cdc_encoder_encode_key(enc, k, &out, &len, err, sizeof(err)), 0) << err;
			keys.emplace_back(out, len);
		}
		cdc_encoder_destroy(enc);
	}

	/* Applies 1 to 4 random edits to b. */
	static void mutate(std::string &b, std::mt19937 &rng)
	{
		int			edits = 1 + static_cast<int>(rng() % 4);

		for (int k = 0; k < edits && !b.empty(); k++)
		{
			size_t		pos = rng() % b.size();

			switch (rng() % 6)
			{
				case 0:		/* flip a bit */
					b[pos] = static_cast<char>(b[pos] ^ (1 << (rng() % 8)));
					break;
				case 1:		/* random byte */
					b[pos] = static_cast<char>(rng());
					break;
				case 2:		/* insert */
					b.insert(pos, 1, static_cast<char>(rng()));
					break;
				case 3:		/* delete a run */
					b.erase(pos, 1 + rng() % 4);
					break;
				case 4:		/* duplicate a chunk */
					b.insert(pos, b.substr(rng() % b.size(), 1 + rng() % 16));
					break;
				case 5:		/* interesting bytes */
					{
						static const char special[] = {0, 1, 0x7f, '\x80', '\xff', 0x0a, 0x12, 0x1a};

						b[pos] = special[rng() % sizeof(special)];
						break;
					}
			}
		}
	}

	/* Any input: either valid JSON out, or -1 with an "invalid envelope" message. */
	static void check_any(const std::string &input)
	{
		Rendered	r = render_bytes(input);

		if (r.rc == 0)
			ASSERT_TRUE(cdc_core::json_text_valid(r.json.data(), r.json.size())) << r.json;
		else
			ASSERT_EQ(r.err.rfind("invalid envelope: ", 0), 0u) << r.err;
	}
};

TEST_F(JsonRenderFuzz, CorpusRendersAndEveryTruncationFailsCleanlyOrRenders)
{
	for (const std::string &bytes : corpus)
	{
		Rendered	full = render_bytes(bytes);

		ASSERT_EQ(full.rc, 0) << full.err;
		for (size_t n = 0; n < bytes.size(); n++)
			check_any(bytes.substr(0, n));
	}
}

TEST_F(JsonRenderFuzz, RandomMutationsNeverCrashAndYieldValidJsonOrAnError)
{
	std::mt19937 rng(20240102);
	int			ok = 0,
				failed = 0;

	for (int iter = 0; iter < 20000; iter++)
	{
		std::string b = corpus[rng() % corpus.size()];

		mutate(b, rng);
		check_any(b);
		if (HasFatalFailure())
			return;
		(render_bytes(b).rc == 0 ? ok : failed)++;
	}
	/* the mutations must exercise both outcomes */
	EXPECT_GT(ok, 100);
	EXPECT_GT(failed, 100);
}

/*
 * The wire views render what the generated classes render: the usual
 * change events and keys take the views, and every mutation of them
 * renders the same both ways or fails with the same message (render_bytes
 * compares the two ways on every envelope of this file).
 */
TEST_F(JsonRenderFuzz, WireViewsRenderTheUsualEventsAndKeysAndAgreeOnMutations)
{
	uint64_t	before = cdc_core::render_view_count();

	for (size_t i = corpus.size() - 4; i < corpus.size(); i++)
		ASSERT_EQ(render_bytes(corpus[i]).rc, 0);
	for (const std::string &k : keys)
		ASSERT_EQ(render_way(k, nullptr, false, true).rfind("ok:", 0), 0u);
	/* render_bytes renders each twice with views allowed (C and C++ API) */
	EXPECT_EQ(cdc_core::render_view_count() - before, 4 * 2 + keys.size());

	/* arrays, records, timetz, interval and the other ops go the generated way */
	before = cdc_core::render_view_count();
	for (size_t i = 0; i < corpus.size() - 4; i++)
		render_bytes(corpus[i]);
	EXPECT_EQ(cdc_core::render_view_count(), before);

	std::mt19937 rng(424242);
	int			ok = 0,
				failed = 0;

	for (int iter = 0; iter < 20000; iter++)
	{
		bool		key = iter % 2 == 1;
		std::string b = key ? keys[rng() % keys.size()]
			: corpus[corpus.size() - 4 + rng() % 4];

		mutate(b, rng);
		if (key)
			expect_same_both_ways(b, nullptr, true);
		else
			check_any(b);
		if (HasFailure())
			return;
		(render_way(b, nullptr, false, key).rfind("ok:", 0) == 0 ? ok : failed)++;
	}
	EXPECT_GT(ok, 1000);
	EXPECT_GT(failed, 1000);
}

TEST_F(JsonRenderFuzz, RandomBytesNeverCrash)
{
	std::mt19937 rng(99);

	for (int iter = 0; iter < 2000; iter++)
	{
		std::string b(rng() % 64, '\0');

		for (char &c : b)
			c = static_cast<char>(rng());
		check_any(b);
		if (HasFatalFailure())
			return;
	}
}

}							/* namespace */
