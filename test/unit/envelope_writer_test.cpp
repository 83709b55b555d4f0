/*
 * envelope_writer_test.cpp — the hand-written cdc.v1.Envelope wire writer.
 *
 * Three kinds of checks: byte-exact expectations computed by hand for tiny
 * envelopes, byte equality with libprotobuf's own serialization of the
 * same content (an independent reference), and round trips through the
 * generated parser asserting the decoded values.
 */
#include <gtest/gtest.h>

#include <climits>
#include <cstring>
#include <cmath>
#include <deque>
#include <limits>
#include <string>
#include <vector>

#include "cdc/v1/envelope.pb.h"
#include "cdc_core.h"
#include "test_support.hpp"

namespace pb = cdc::v1;
using namespace cdc_test;

namespace {

/* ---- reference: the same content built with libprotobuf ---- */

void		ref_row(const cdc_row &r, pb::Row *out);

void
ref_value(const cdc_value &v, pb::Value *out)
{
	auto		str = [&]() { return std::string(v.u.str.data, v.u.str.len); };

	switch (v.kind)
	{
		case CDC_VALUE_BOOL:
			out->set_bool_value(v.u.b);
			break;
		case CDC_VALUE_INT:
			out->set_int_value(v.u.i);
			break;
		case CDC_VALUE_FLOAT4:
			out->set_float4_value(v.u.f4);
			break;
		case CDC_VALUE_FLOAT8:
			out->set_float8_value(v.u.f8);
			break;
		case CDC_VALUE_NUMERIC:
			out->set_numeric_value(str());
			break;
		case CDC_VALUE_TEXT:
			out->set_text_value(str());
			break;
		case CDC_VALUE_BYTES:
			out->set_bytes_value(str());
			break;
		case CDC_VALUE_DATE:
			out->set_date_value(v.u.date);
			break;
		case CDC_VALUE_TIME:
			out->set_time_value(v.u.micros);
			break;
		case CDC_VALUE_TIMETZ:
			out->mutable_timetz_value()->set_micros(v.u.timetz.micros);
			out->mutable_timetz_value()->set_offset_seconds(v.u.timetz.offset_seconds);
			break;
		case CDC_VALUE_TIMESTAMP:
			out->set_timestamp_value(v.u.micros);
			break;
		case CDC_VALUE_TIMESTAMPTZ:
			out->set_timestamptz_value(v.u.micros);
			break;
		case CDC_VALUE_INTERVAL:
			out->mutable_interval_value()->set_months(v.u.interval.months);
			out->mutable_interval_value()->set_days(v.u.interval.days);
			out->mutable_interval_value()->set_micros(v.u.interval.micros);
			break;
		case CDC_VALUE_UUID:
			out->set_uuid_value(str());
			break;
		case CDC_VALUE_JSON:
			out->set_json_value(str());
			break;
		case CDC_VALUE_JSONB:
			out->set_jsonb_value(str());
			break;
		case CDC_VALUE_ENUM:
			out->set_enum_value(str());
			break;
		case CDC_VALUE_ARRAY:
			{
				pb::Array  *a = out->mutable_array_value();

				for (int i = 0; i < v.u.array->ndims; i++)
				{
					a->add_dims(v.u.array->dims[i]);
					a->add_lower_bounds(v.u.array->lower_bounds[i]);
				}
				for (size_t i = 0; i < v.u.array->nelements; i++)
				{
					pb::Value  *e = a->add_elements();

					if (v.u.array->elements[i].kind != CDC_VALUE_NULL)
						ref_value(v.u.array->elements[i], e);
				}
				break;
			}
		case CDC_VALUE_RECORD:
			ref_row(*v.u.record, out->mutable_record_value());
			break;
		default:
			ADD_FAILURE() << "unexpected kind " << v.kind;
	}
}

void
ref_row(const cdc_row &r, pb::Row *out)
{
	for (size_t i = 0; i < r.ncolumns; i++)
	{
		const cdc_column &c = r.columns[i];
		pb::Column *pc = out->add_columns();

		pc->set_name(c.name ? c.name : "");
		pc->set_type(c.type_name ? c.type_name : "");
		pc->set_type_oid(c.type_oid);
		if (c.value.kind == CDC_VALUE_UNCHANGED_TOAST)
			pc->set_unchanged_toast(true);
		else if (c.value.kind != CDC_VALUE_NULL)
			ref_value(c.value, pc->mutable_value());
	}
}

pb::Envelope
ref_envelope(const cdc_event &ev, const std::string &version)
{
	pb::Envelope e;
	auto		s = [](const char *p) { return std::string(p ? p : ""); };

	e.set_op(static_cast<pb::Op>(ev.op));
	if (ev.before)
		ref_row(*ev.before, e.mutable_before());
	if (ev.after)
		ref_row(*ev.after, e.mutable_after());
	if (ev.key)
		ref_row(*ev.key, e.mutable_key());
	pb::Source *src = e.mutable_source();

	src->set_connector("cdc_plugin");
	src->set_version(version);
	src->set_database(s(ev.source.database));
	src->set_schema(s(ev.source.schema));
	src->set_table(s(ev.source.table));
	src->set_lsn(ev.source.lsn);
	src->set_commit_lsn(ev.source.commit_lsn);
	src->set_xid(ev.source.xid);
	src->set_commit_time_us(ev.source.commit_time_us);
	src->set_snapshot(ev.source.snapshot);
	src->set_snapshot_kind(static_cast<pb::SnapshotKind>(ev.source.snapshot_kind));
	src->set_snapshot_id(ev.source.snapshot_id);
	src->set_schema_version(ev.source.schema_version);
	if (ev.has_transaction)
	{
		e.mutable_transaction()->set_id(ev.txn_id);
		e.mutable_transaction()->set_total_order(ev.txn_total_order);
		e.mutable_transaction()->set_data_collection_order(ev.txn_data_collection_order);
	}
	if (ev.op == CDC_OP_TRUNCATE)
	{
		e.mutable_truncate()->set_cascade(ev.truncate_cascade);
		e.mutable_truncate()->set_restart_identity(ev.truncate_restart_identity);
	}
	if (ev.op == CDC_OP_MESSAGE)
	{
		e.mutable_message()->set_prefix(s(ev.message_prefix));
		e.mutable_message()->set_content(std::string(ev.message_content.data
													 ? ev.message_content.data : "",
													 ev.message_content.len));
		e.mutable_message()->set_transactional(ev.message_transactional);
	}
	if (ev.op == CDC_OP_SNAPSHOT_BEGIN || ev.op == CDC_OP_SNAPSHOT_END)
	{
		pb::SnapshotMarker *m = e.mutable_snapshot();

		m->set_partition(ev.marker_partition);
		m->set_partitions(ev.marker_partitions);
		m->set_rows(ev.marker_rows);
	}
	if (ev.op == CDC_OP_GAP)
	{
		pb::Gap    *g = e.mutable_gap();

		g->set_id(ev.gap_id);
		g->set_lost_from_lsn(ev.gap_lost_from_lsn);
		g->set_lost_to_lsn(ev.gap_lost_to_lsn);
		g->set_reason(s(ev.gap_reason));
		g->set_resnapshot(ev.gap_resnapshot);
		g->set_snapshot_id(ev.gap_snapshot_id);
		g->set_partition(ev.marker_partition);
		g->set_partitions(ev.marker_partitions);
		g->set_time_us(ev.gap_time_us);
	}
	if (ev.op == CDC_OP_SCHEMA && ev.schema_change)
	{
		const cdc_schema_change &sc = *ev.schema_change;
		pb::SchemaChange *c = e.mutable_schema_change();

		c->set_version(sc.version);
		c->set_command_tag(s(sc.command_tag));
		c->set_ddl(s(sc.ddl));
		c->set_dropped(sc.dropped);
		c->set_renamed_from_schema(s(sc.renamed_from_schema));
		c->set_renamed_from_table(s(sc.renamed_from_table));
		c->set_replica_identity(s(sc.replica_identity));
		for (size_t i = 0; i < sc.ncolumns; i++)
		{
			const cdc_schema_column &col = sc.columns[i];
			pb::SchemaColumn *pc = c->add_columns();

			pc->set_name(s(col.name));
			pc->set_type(s(col.type_name));
			pc->set_type_oid(col.type_oid);
			pc->set_typmod(col.typmod);
			pc->set_not_null(col.not_null);
			pc->set_has_default(col.has_default);
			pc->set_key(col.key);
			pc->set_attnum(col.attnum);
		}
		c->set_resent(sc.resent);
	}
	if (ev.op == CDC_OP_COMMIT)
	{
		e.mutable_summary()->set_event_count(ev.event_count);
		for (size_t i = 0; i < ev.ntable_counts; i++)
		{
			pb::TableCount *tc = e.mutable_summary()->add_tables();

			tc->set_schema(s(ev.table_counts[i].schema));
			tc->set_table(s(ev.table_counts[i].table));
			tc->set_event_count(ev.table_counts[i].event_count);
		}
	}
	return e;
}

/* ---- fixture ---- */

class EnvelopeWriter : public ::testing::Test
{
protected:
	const std::string version = "1.2.3";
	cdc_encoder *enc = nullptr;
	char		err[CDC_ERRBUF_SIZE] = {0};

	void		SetUp() override
	{
		enc = cdc_encoder_create(version.c_str(), err, sizeof(err));
		ASSERT_NE(enc, nullptr) << err;
	}
	void		TearDown() override
	{
		cdc_encoder_destroy(enc);
	}

	std::string encode(const cdc_event &ev)
	{
		const char *out = nullptr;
		size_t		len = 0;

		err[0] = '\0';
		int			rc = cdc_encoder_encode(enc, &ev, &out, &len, err, sizeof(err));

		EXPECT_EQ(rc, 0) << err;
		if (rc != 0)
			return std::string();
		return std::string(out, len);
	}

	std::string encode_key(const cdc_row &row)
	{
		const char *out = nullptr;
		size_t		len = 0;
		int			rc = cdc_encoder_encode_key(enc, &row, &out, &len, err, sizeof(err));

		EXPECT_EQ(rc, 0) << err;
		return rc == 0 ? std::string(out, len) : std::string();
	}

	/* Expects encode to fail; returns the error message. */
	std::string encode_error(const cdc_event &ev)
	{
		const char *out = reinterpret_cast<const char *>(1);
		size_t		len = 99;

		err[0] = '\0';
		int			rc = cdc_encoder_encode(enc, &ev, &out, &len, err, sizeof(err));

		EXPECT_EQ(rc, -1);
		EXPECT_EQ(out, nullptr);
		EXPECT_EQ(len, 0u);
		return err;
	}

	pb::Envelope parse(const std::string &bytes)
	{
		pb::Envelope e;

		EXPECT_TRUE(e.ParseFromString(bytes)) << hex(bytes);
		EXPECT_TRUE(e.GetReflection()->GetUnknownFields(e).empty());
		return e;
	}

	/* Encodes ev and checks it equals libprotobuf's serialization. */
	std::string encode_matching_reference(const cdc_event &ev)
	{
		std::string ours = encode(ev);
		std::string ref = ref_envelope(ev, version).SerializeAsString();

		if (ours.size() + ref.size() < 4096)
			EXPECT_EQ(hex(ours), hex(ref));
		else
			EXPECT_TRUE(ours == ref) << "sizes " << ours.size() << " and " << ref.size();
		return ours;
	}

	/* An insert event of one row, for value tests. */
	static cdc_event insert_of(const cdc_row *after)
	{
		cdc_event	ev = event_of(CDC_OP_CREATE);

		ev.after = after;
		ev.source.database = "db";
		ev.source.schema = "public";
		ev.source.table = "t";
		ev.source.lsn = 0x16B3748;
		ev.source.commit_lsn = 0x100000016B3800ULL;
		ev.source.xid = 742;
		ev.source.commit_time_us = 1704164645500000LL;
		return ev;
	}
};

/* ---- byte-exact, computed by hand ---- */

TEST_F(EnvelopeWriter, BeginEventWithOnlyTransactionIdIsByteExact)
{
	cdc_event	ev = event_of(CDC_OP_BEGIN);

	ev.has_transaction = true;
	ev.txn_id = 5;
	/*
	 * 08 07                      op = 7
	 * 2a 13                      source, 19 bytes:
	 *   0a 0a "cdc_plugin"         connector
	 *   12 05 "1.2.3"              version
	 * 32 02 08 05                transaction { id = 5 }
	 */
	EXPECT_EQ(hex(encode(ev)),
			  "08 07 2a 13 0a 0a 63 64 63 5f 70 6c 75 67 69 6e "
			  "12 05 31 2e 32 2e 33 32 02 08 05");
}

TEST_F(EnvelopeWriter, InsertWithOneNegativeIntColumnIsByteExact)
{
	std::vector<cdc_column> cols = {column("id", "int4", 23, int_value(-1))};
	cdc_row		after = row_of(cols);
	cdc_event	ev = event_of(CDC_OP_CREATE);

	ev.after = &after;
	/*
	 * 08 01                       op = 1
	 * 1a 12                       after, 18 bytes
	 *   0a 10                     column, 16 bytes
	 *     0a 02 "id"              name
	 *     12 04 "int4"            type
	 *     18 17                   type_oid = 23
	 *     22 02 10 01             value { int_value = zigzag(-1) = 1 }
	 * 2a 13 ...                   source (as above)
	 */
	EXPECT_EQ(hex(encode(ev)),
			  "08 01 1a 12 0a 10 0a 02 69 64 12 04 69 6e 74 34 18 17 22 02 10 01 "
			  "2a 13 0a 0a 63 64 63 5f 70 6c 75 67 69 6e 12 05 31 2e 32 2e 33");
}

TEST_F(EnvelopeWriter, KeyRowDistinguishesNullEmptyTextFalseAndToastByteExact)
{
	std::vector<cdc_column> cols = {
		column("a", nullptr, 0, null_value()),
		column("b", nullptr, 0, str_value(CDC_VALUE_TEXT, "")),
		column("c", nullptr, 0, bool_value(false)),
		column("d", nullptr, 0, toast_value()),
	};
	cdc_row		key = row_of(cols);

	/*
	 * 0a 03 0a 01 'a'                      a: no value (NULL)
	 * 0a 07 0a 01 'b' 22 02 32 00          b: value { text_value = "" }
	 * 0a 07 0a 01 'c' 22 02 08 00          c: value { bool_value = false }
	 * 0a 05 0a 01 'd' 28 01                d: unchanged_toast = true
	 */
	EXPECT_EQ(hex(encode_key(key)),
			  "0a 03 0a 01 61 "
			  "0a 07 0a 01 62 22 02 32 00 "
			  "0a 07 0a 01 63 22 02 08 00 "
			  "0a 05 0a 01 64 28 01");
}

TEST_F(EnvelopeWriter, ArrayWithNullElementIsByteExactWithPackedDims)
{
	std::vector<cdc_value> elems = {int_value(3), null_value()};
	cdc_array	arr = array_of(elems, {2});
	std::vector<cdc_column> cols = {column("x", nullptr, 0, array_value(&arr))};
	cdc_row		key = row_of(cols);

	/*
	 * 0a 14 0a 01 'x' 22 0f                column x, value of 15 bytes
	 *   92 01 0c                           array_value (field 18), 12 bytes
	 *     0a 01 02                         dims = [2] (packed)
	 *     12 01 02                         lower_bounds = [zigzag(1) = 2]
	 *     1a 02 10 06                      element { int_value = zigzag(3) }
	 *     1a 00                            element {} (NULL)
	 */
	EXPECT_EQ(hex(encode_key(key)),
			  "0a 14 0a 01 78 22 0f 92 01 0c 0a 01 02 12 01 02 1a 02 10 06 1a 00");
}

TEST_F(EnvelopeWriter, ScalarKindsUseTheirWireTypesByteExact)
{
	std::vector<cdc_column> cols = {
		column(nullptr, nullptr, 0, float4_value(1.0f)),
		column(nullptr, nullptr, 0, date_value(-1)),
		column(nullptr, nullptr, 0, timetz_value(0, 0)),
		column(nullptr, nullptr, 0, interval_value(-1, 0, 1)),
		column(nullptr, nullptr, 0, str_value(CDC_VALUE_JSONB, "1")),
	};
	cdc_row		key = row_of(cols);

	EXPECT_EQ(hex(encode_key(key)),
			  "0a 07 22 05 1d 00 00 80 3f "	/* float4 1.0: fixed32 0x3f800000 */
			  "0a 04 22 02 40 01 "	/* date -1: zigzag 1 */
			  "0a 04 22 02 52 00 "	/* timetz {} */
			  "0a 08 22 06 6a 04 08 01 18 02 "	/* interval months=-1, micros=1 */
			  "0a 06 22 04 82 01 01 31");	/* jsonb "1": two-byte tag */
}

TEST_F(EnvelopeWriter, LengthPrefixGrowsToTwoBytesWhenBodyReaches128)
{
	/* value body = tag(1) + len(1) + n: n = 125 -> 127 bytes, n = 126 -> 128 */
	std::string s125(125, 'a'), s126(126, 'b');
	std::vector<cdc_column> c1 = {column(nullptr, nullptr, 0, str_value(CDC_VALUE_TEXT, s125))};
	std::vector<cdc_column> c2 = {column(nullptr, nullptr, 0, str_value(CDC_VALUE_TEXT, s126))};
	cdc_row		r1 = row_of(c1), r2 = row_of(c2);

	std::string b1 = encode_key(r1);

	/* column body = 22 7f + 127 = 129 bytes -> 0a 81 01 */
	EXPECT_EQ(hex(b1.substr(0, 7)), "0a 81 01 22 7f 32 7d");
	EXPECT_EQ(b1.size(), 3u + 129u);
	EXPECT_EQ(b1.substr(7), s125);

	std::string b2 = encode_key(r2);

	/* value body 128 -> 22 80 01; column body = 3 + 128 = 131 -> 0a 83 01 */
	EXPECT_EQ(hex(b2.substr(0, 8)), "0a 83 01 22 80 01 32 7e");
	EXPECT_EQ(b2.size(), 3u + 131u);
	EXPECT_EQ(b2.substr(8), s126);
}

/* ---- against libprotobuf's serialization + round trips ---- */

struct AllKinds
{
	std::string uuid = std::string("\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16);
	std::string bytes = std::string("\x00\xff\x10", 3);
	std::vector<cdc_value> inner = {int_value(1), null_value(), int_value(-3),
		int_value(4), int_value(5), null_value()};
	cdc_array	arr2x3 = array_of(inner, {2, 3});
	std::vector<cdc_column> rec_cols = {
		column("f1", "text", 25, str_value(CDC_VALUE_TEXT, "in record")),
		column("f2", "int4", 23, null_value()),
	};
	cdc_row		rec = row_of(rec_cols);
	std::vector<cdc_column> cols;

	AllKinds()
	{
		cols = {
			column("b", "boolean", 16, bool_value(true)),
			column("bf", "boolean", 16, bool_value(false)),
			column("i", "bigint", 20, int_value(INT64_MIN)),
			column("i0", "integer", 23, int_value(0)),
			column("f4", "real", 700, float4_value(-0.0f)),
			column("f8", "double precision", 701, float8_value(std::nan(""))),
			column("n", "numeric", 1700, str_value(CDC_VALUE_NUMERIC, "-12.340")),
			column("t", "text", 25, str_value(CDC_VALUE_TEXT, "h\xc3\xa9llo")),
			column("te", "text", 25, str_value(CDC_VALUE_TEXT, "")),
			column("by", "bytea", 17, str_value(CDC_VALUE_BYTES, bytes)),
			column("d", "date", 1082, date_value(INT32_MIN)),
			column("tm", "time without time zone", 1083, micros_value(CDC_VALUE_TIME, 86400000000LL)),
			column("tz", "time with time zone", 1266, timetz_value(3723000001LL, -12600)),
			column("ts", "timestamp without time zone", 1114, micros_value(CDC_VALUE_TIMESTAMP, -1)),
			column("tst", "timestamp with time zone", 1184, micros_value(CDC_VALUE_TIMESTAMPTZ, INT64_MAX)),
			column("iv", "interval", 1186, interval_value(14, -3, -1)),
			column("u", "uuid", 2950, str_value(CDC_VALUE_UUID, uuid)),
			column("j", "json", 114, str_value(CDC_VALUE_JSON, "{\"a\": [1, 2]}")),
			column("jb", "jsonb", 3802, str_value(CDC_VALUE_JSONB, "{\"a\": [1, 2]}")),
			column("e", "mood", 16385, str_value(CDC_VALUE_ENUM, "happy")),
			column("a", "integer[]", 1007, array_value(&arr2x3)),
			column("r", "pair", 16390, record_value(&rec)),
			column("nul", "text", 25, null_value()),
			column("toast", "text", 25, toast_value()),
		};
	}
};

TEST_F(EnvelopeWriter, EveryValueKindMatchesLibprotobufSerialization)
{
	AllKinds	k;
	cdc_row		after = row_of(k.cols);
	cdc_event	ev = insert_of(&after);

	encode_matching_reference(ev);
}

TEST_F(EnvelopeWriter, EveryValueKindRoundTripsThroughGeneratedParser)
{
	AllKinds	k;
	cdc_row		after = row_of(k.cols);
	cdc_event	ev = insert_of(&after);
	pb::Envelope e = parse(encode(ev));

	ASSERT_EQ(e.op(), pb::OP_CREATE);
	ASSERT_TRUE(e.has_after());
	EXPECT_FALSE(e.has_before());
	EXPECT_FALSE(e.has_key());
	EXPECT_FALSE(e.has_transaction());
	EXPECT_FALSE(e.has_truncate());
	EXPECT_FALSE(e.has_message());
	EXPECT_FALSE(e.has_summary());
	const auto &c = e.after().columns();

	ASSERT_EQ(c.size(), static_cast<int>(k.cols.size()));
	for (int i = 0; i < c.size(); i++)
	{
		EXPECT_EQ(c[i].name(), k.cols[i].name);
		EXPECT_EQ(c[i].type(), k.cols[i].type_name);
		EXPECT_EQ(c[i].type_oid(), k.cols[i].type_oid);
	}
	EXPECT_EQ(c[0].value().kind_case(), pb::Value::kBoolValue);
	EXPECT_TRUE(c[0].value().bool_value());
	EXPECT_EQ(c[1].value().kind_case(), pb::Value::kBoolValue);
	EXPECT_FALSE(c[1].value().bool_value());
	EXPECT_EQ(c[2].value().int_value(), INT64_MIN);
	EXPECT_EQ(c[3].value().kind_case(), pb::Value::kIntValue);
	EXPECT_EQ(c[3].value().int_value(), 0);
	EXPECT_EQ(c[4].value().kind_case(), pb::Value::kFloat4Value);
	EXPECT_TRUE(std::signbit(c[4].value().float4_value()));
	EXPECT_TRUE(std::isnan(c[5].value().float8_value()));
	EXPECT_EQ(c[6].value().numeric_value(), "-12.340");
	EXPECT_EQ(c[7].value().text_value(), "h\xc3\xa9llo");
	EXPECT_EQ(c[8].value().kind_case(), pb::Value::kTextValue);
	EXPECT_EQ(c[8].value().text_value(), "");
	EXPECT_EQ(c[9].value().bytes_value(), k.bytes);
	EXPECT_EQ(c[10].value().date_value(), INT32_MIN);
	EXPECT_EQ(c[11].value().time_value(), 86400000000LL);
	EXPECT_EQ(c[12].value().timetz_value().micros(), 3723000001LL);
	EXPECT_EQ(c[12].value().timetz_value().offset_seconds(), -12600);
	EXPECT_EQ(c[13].value().timestamp_value(), -1);
	EXPECT_EQ(c[14].value().timestamptz_value(), INT64_MAX);
	EXPECT_EQ(c[15].value().interval_value().months(), 14);
	EXPECT_EQ(c[15].value().interval_value().days(), -3);
	EXPECT_EQ(c[15].value().interval_value().micros(), -1);
	EXPECT_EQ(c[16].value().uuid_value(), k.uuid);
	EXPECT_EQ(c[17].value().json_value(), "{\"a\": [1, 2]}");
	EXPECT_EQ(c[18].value().jsonb_value(), "{\"a\": [1, 2]}");
	EXPECT_EQ(c[19].value().enum_value(), "happy");

	const pb::Array &a = c[20].value().array_value();

	ASSERT_EQ(a.dims_size(), 2);
	EXPECT_EQ(a.dims(0), 2);
	EXPECT_EQ(a.dims(1), 3);
	EXPECT_EQ(a.lower_bounds(0), 1);
	EXPECT_EQ(a.lower_bounds(1), 1);
	ASSERT_EQ(a.elements_size(), 6);
	EXPECT_EQ(a.elements(0).int_value(), 1);
	EXPECT_EQ(a.elements(1).kind_case(), pb::Value::KIND_NOT_SET);
	EXPECT_EQ(a.elements(2).int_value(), -3);
	EXPECT_EQ(a.elements(5).kind_case(), pb::Value::KIND_NOT_SET);

	const pb::Row &r = c[21].value().record_value();

	ASSERT_EQ(r.columns_size(), 2);
	EXPECT_EQ(r.columns(0).name(), "f1");
	EXPECT_EQ(r.columns(0).value().text_value(), "in record");
	EXPECT_FALSE(r.columns(1).has_value());

	EXPECT_FALSE(c[22].has_value());
	EXPECT_FALSE(c[22].unchanged_toast());
	EXPECT_FALSE(c[23].has_value());
	EXPECT_TRUE(c[23].unchanged_toast());

	EXPECT_EQ(e.source().connector(), "cdc_plugin");
	EXPECT_EQ(e.source().version(), "1.2.3");
	EXPECT_EQ(e.source().database(), "db");
	EXPECT_EQ(e.source().schema(), "public");
	EXPECT_EQ(e.source().table(), "t");
	EXPECT_EQ(e.source().lsn(), 0x16B3748u);
	EXPECT_EQ(e.source().commit_lsn(), 0x100000016B3800ULL);
	EXPECT_EQ(e.source().xid(), 742u);
	EXPECT_EQ(e.source().commit_time_us(), 1704164645500000LL);
	EXPECT_FALSE(e.source().snapshot());
}

TEST_F(EnvelopeWriter, NestedMultiDimArraysAndRecordsWithNullsRoundTrip)
{
	/* int[][][] 2x2x2 with NULLs, inside a record, inside an array of records */
	std::vector<cdc_value> cube = {int_value(1), null_value(), int_value(3), int_value(4),
		null_value(), int_value(6), int_value(7), null_value()};
	cdc_array	cube_arr = array_of(cube, {2, 2, 2});

	cube_arr.lower_bounds[0] = -5;	/* custom lower bound */
	std::vector<cdc_column> rec_cols = {
		column("cube", "integer[]", 1007, array_value(&cube_arr)),
		column("label", "text", 25, str_value(CDC_VALUE_TEXT, "x")),
	};
	cdc_row		rec = row_of(rec_cols);
	std::vector<cdc_value> recs = {record_value(&rec), null_value(), record_value(&rec)};
	cdc_array	rec_arr = array_of(recs, {3});
	std::vector<cdc_value> no_elems;
	cdc_array	empty = array_of(no_elems, {});
	std::vector<cdc_column> cols = {
		column("things", "thing[]", 16400, array_value(&rec_arr)),
		column("empty", "integer[]", 1007, array_value(&empty)),
	};
	cdc_row		after = row_of(cols);
	cdc_event	ev = insert_of(&after);
	pb::Envelope e = parse(encode_matching_reference(ev));

	const pb::Array &outer = e.after().columns(0).value().array_value();

	ASSERT_EQ(outer.elements_size(), 3);
	EXPECT_EQ(outer.elements(1).kind_case(), pb::Value::KIND_NOT_SET);
	const pb::Array &inner = outer.elements(2).record_value().columns(0).value().array_value();

	ASSERT_EQ(inner.dims_size(), 3);
	EXPECT_EQ(inner.lower_bounds(0), -5);
	ASSERT_EQ(inner.elements_size(), 8);
	EXPECT_EQ(inner.elements(0).int_value(), 1);
	EXPECT_EQ(inner.elements(1).kind_case(), pb::Value::KIND_NOT_SET);
	EXPECT_EQ(inner.elements(6).int_value(), 7);
	EXPECT_EQ(outer.elements(2).record_value().columns(1).value().text_value(), "x");

	const pb::Value &ev_empty = e.after().columns(1).value();

	EXPECT_EQ(ev_empty.kind_case(), pb::Value::kArrayValue);
	EXPECT_EQ(ev_empty.array_value().dims_size(), 0);
	EXPECT_EQ(ev_empty.array_value().elements_size(), 0);
}

TEST_F(EnvelopeWriter, UpdateWithBeforeAfterKeyAndTransactionMatchesReference)
{
	std::string big(300, 'z');	/* column > 128 bytes: length prefix shift at every level */
	std::vector<cdc_column> before_cols = {column("id", "bigint", 20, int_value(7))};
	std::vector<cdc_column> after_cols = {
		column("id", "bigint", 20, int_value(7)),
		column("doc", "text", 25, toast_value()),
		column("note", "text", 25, str_value(CDC_VALUE_TEXT, big)),
	};
	std::vector<cdc_column> key_cols = {column("id", "bigint", 20, int_value(7))};
	cdc_row		before = row_of(before_cols), after = row_of(after_cols), key = row_of(key_cols);
	cdc_event	ev = insert_of(&after);

	ev.op = CDC_OP_UPDATE;
	ev.before = &before;
	ev.key = &key;
	ev.has_transaction = true;
	ev.txn_id = 742;
	ev.txn_total_order = 3;
	ev.txn_data_collection_order = 2;
	ev.source.snapshot = true;
	pb::Envelope e = parse(encode_matching_reference(ev));

	EXPECT_EQ(e.after().columns(2).value().text_value(), big);
	EXPECT_EQ(e.before().columns_size(), 1);
	EXPECT_EQ(e.key().columns(0).value().int_value(), 7);
	EXPECT_EQ(e.transaction().id(), 742u);
	EXPECT_EQ(e.transaction().total_order(), 3u);
	EXPECT_EQ(e.transaction().data_collection_order(), 2u);
	EXPECT_TRUE(e.source().snapshot());
}

TEST_F(EnvelopeWriter, EmptyNonNullRowsAreWrittenAsEmptyMessages)
{
	cdc_row		empty{};
	cdc_event	ev = event_of(CDC_OP_DELETE);

	ev.before = &empty;
	ev.key = &empty;
	std::string bytes = encode(ev);

	/* 08 03, before: 12 00, key: 22 00, then source */
	EXPECT_EQ(hex(bytes.substr(0, 6)), "08 03 12 00 22 00");
	pb::Envelope e = parse(bytes);

	EXPECT_TRUE(e.has_before());
	EXPECT_FALSE(e.has_after());
	EXPECT_TRUE(e.has_key());
	EXPECT_EQ(encode_key(empty), "");
}

TEST_F(EnvelopeWriter, LargeRowsWithMultiByteLengthPrefixesRoundTrip)
{
	std::vector<std::string> texts;
	std::vector<std::string> names;

	for (size_t n : {0u, 1u, 127u, 128u, 16383u, 16384u, 100000u, 3000000u})
		texts.push_back(std::string(n, static_cast<char>('a' + n % 26)));
	for (size_t i = 0; i < 200; i++)
		names.push_back("column_number_" + std::to_string(i));

	std::vector<cdc_column> cols;

	for (size_t i = texts.size(); i < names.size(); i++)
		texts.push_back("short text " + std::to_string(i));
	for (size_t i = 0; i < names.size(); i++)
		cols.push_back(column(names[i].c_str(), "text", 25,
							  str_value(CDC_VALUE_TEXT, texts[i])));
	cdc_row		after = row_of(cols);
	cdc_event	ev = insert_of(&after);
	pb::Envelope e = parse(encode_matching_reference(ev));

	ASSERT_EQ(e.after().columns_size(), 200);
	for (int i = 0; i < 200; i++)
	{
		EXPECT_EQ(e.after().columns(i).name(), names[i]);
		EXPECT_TRUE(e.after().columns(i).value().text_value() == texts[i]) << i;
	}
}

TEST_F(EnvelopeWriter, TruncateMessageAndCommitWriteOnlyTheirSection)
{
	cdc_event	t = event_of(CDC_OP_TRUNCATE);

	t.truncate_cascade = true;
	t.source.schema = "public";
	t.source.table = "t";
	t.message_prefix = "ignored";	/* not used by op t */
	pb::Envelope et = parse(encode_matching_reference(t));

	EXPECT_TRUE(et.has_truncate());
	EXPECT_TRUE(et.truncate().cascade());
	EXPECT_FALSE(et.truncate().restart_identity());
	EXPECT_FALSE(et.has_message());
	EXPECT_FALSE(et.has_summary());

	cdc_event	m = event_of(CDC_OP_MESSAGE);
	std::string content("\x00\x01binary\xff", 9);

	m.message_prefix = "app";
	m.message_content = {content.data(), content.size()};
	m.message_transactional = true;
	m.truncate_cascade = true;	/* not used by op m */
	pb::Envelope em = parse(encode_matching_reference(m));

	EXPECT_FALSE(em.has_truncate());
	EXPECT_EQ(em.message().prefix(), "app");
	EXPECT_EQ(em.message().content(), content);
	EXPECT_TRUE(em.message().transactional());

	cdc_event	c = event_of(CDC_OP_COMMIT);
	cdc_table_count counts[] = {{"public", "t", 3}, {"sales", "orders", 1}, {nullptr, nullptr, 0}};

	c.has_transaction = true;
	c.txn_id = 9;
	c.event_count = 4;
	c.table_counts = counts;
	c.ntable_counts = 3;
	pb::Envelope ec = parse(encode_matching_reference(c));

	EXPECT_EQ(ec.summary().event_count(), 4u);
	ASSERT_EQ(ec.summary().tables_size(), 3);
	EXPECT_EQ(ec.summary().tables(1).schema(), "sales");
	EXPECT_EQ(ec.summary().tables(1).table(), "orders");
	EXPECT_EQ(ec.summary().tables(1).event_count(), 1u);

	cdc_event	b = event_of(CDC_OP_BEGIN);

	b.event_count = 4;			/* not used by op begin */
	pb::Envelope eb = parse(encode_matching_reference(b));

	EXPECT_FALSE(eb.has_summary());
	EXPECT_FALSE(eb.has_transaction());
}

/* An r event as the worker builds it: rows when read, source when published. */
TEST_F(EnvelopeWriter, ReadEventInTwoPartsConcatenatesToTheWholeEnvelope)
{
	std::string big(200, 'q');	/* a row past 128 bytes: two-byte length prefix */
	std::vector<cdc_column> after_cols = {
		column("id", "bigint", 20, int_value(42)),
		column("note", "text", 25, str_value(CDC_VALUE_TEXT, big)),
		column("gone", "text", 25, null_value()),
	};
	std::vector<cdc_column> key_cols = {column("id", "bigint", 20, int_value(42))};
	cdc_row		after = row_of(after_cols), key = row_of(key_cols);

	for (bool keyed : {true, false})
	{
		cdc_event	ev = insert_of(&after);

		ev.op = CDC_OP_READ;
		ev.key = keyed ? &key : nullptr;
		ev.source.xid = 0;
		ev.source.commit_time_us = 0;
		ev.source.snapshot = true;
		ev.source.snapshot_kind = keyed ? CDC_SNAPSHOT_INCREMENTAL : CDC_SNAPSHOT_INITIAL;
		ev.source.snapshot_id = 0x123456789ULL;

		std::string all = encode_matching_reference(ev);

		ev.parts = CDC_ENCODE_NO_SOURCE;
		std::string rows = encode(ev);

		ev.parts = CDC_ENCODE_SOURCE_ONLY;
		std::string source = encode(ev);

		EXPECT_EQ(hex(rows + source), hex(all)) << "keyed " << keyed;
		EXPECT_EQ(all.compare(0, rows.size(), rows), 0);

		pb::Envelope e = parse(rows + source);

		EXPECT_EQ(e.op(), pb::OP_READ);
		EXPECT_EQ(e.has_key(), keyed);
		EXPECT_FALSE(e.has_transaction());
		EXPECT_TRUE(e.source().snapshot());
		EXPECT_EQ(e.source().snapshot_kind(),
				  keyed ? pb::SNAPSHOT_INCREMENTAL : pb::SNAPSHOT_INITIAL);
		EXPECT_EQ(e.source().snapshot_id(), 0x123456789ULL);
		EXPECT_EQ(e.after().columns(1).value().text_value(), big);

		/* each part alone: the rows without a source, the source alone */
		pb::Envelope r = parse(rows);

		EXPECT_FALSE(r.has_source());
		EXPECT_EQ(r.after().columns_size(), 3);
		pb::Envelope s = parse(source);

		EXPECT_EQ(s.op(), pb::OP_UNSPECIFIED);
		EXPECT_FALSE(s.has_after());
		EXPECT_EQ(s.source().snapshot_id(), 0x123456789ULL);
	}
}

TEST_F(EnvelopeWriter, SnapshotMarkersWritePartitionPartitionsAndRows)
{
	cdc_event	b = event_of(CDC_OP_SNAPSHOT_BEGIN);

	b.source.schema = "public";
	b.source.table = "t";
	b.source.lsn = 0x16B3748;
	b.source.commit_lsn = 0x16B3748;
	b.source.snapshot = true;
	b.source.snapshot_kind = CDC_SNAPSHOT_INITIAL;
	b.source.snapshot_id = 9;
	b.marker_partition = 2;
	b.marker_partitions = 5;
	pb::Envelope eb = parse(encode_matching_reference(b));

	EXPECT_EQ(eb.op(), pb::OP_SNAPSHOT_BEGIN);
	ASSERT_TRUE(eb.has_snapshot());
	EXPECT_EQ(eb.snapshot().partition(), 2u);
	EXPECT_EQ(eb.snapshot().partitions(), 5u);
	EXPECT_EQ(eb.snapshot().rows(), 0u);
	EXPECT_EQ(eb.source().snapshot_kind(), pb::SNAPSHOT_INITIAL);
	EXPECT_EQ(eb.source().snapshot_id(), 9u);
	EXPECT_FALSE(eb.has_after());
	EXPECT_FALSE(eb.has_key());

	cdc_event	e = b;

	e.op = CDC_OP_SNAPSHOT_END;
	e.marker_partition = 0;		/* zero: omitted, the section is still there */
	e.marker_rows = 1ULL << 40;
	pb::Envelope ee = parse(encode_matching_reference(e));

	EXPECT_EQ(ee.op(), pb::OP_SNAPSHOT_END);
	ASSERT_TRUE(ee.has_snapshot());
	EXPECT_EQ(ee.snapshot().partition(), 0u);
	EXPECT_EQ(ee.snapshot().partitions(), 5u);
	EXPECT_EQ(ee.snapshot().rows(), 1ULL << 40);

	/* by hand: op 10, then the source, then 52 00 for an all-zero marker */
	cdc_event	z = event_of(CDC_OP_SNAPSHOT_END);
	std::string bytes = encode(z);

	EXPECT_EQ(hex(bytes.substr(0, 2)), "08 0a");
	EXPECT_EQ(hex(bytes.substr(bytes.size() - 2)), "52 00");
	EXPECT_TRUE(parse(bytes).has_snapshot());

	/* marker fields are not written for other ops */
	cdc_event	t = event_of(CDC_OP_TRUNCATE);

	t.marker_partitions = 3;
	EXPECT_FALSE(parse(encode_matching_reference(t)).has_snapshot());
}

TEST_F(EnvelopeWriter, GapWritesEveryFieldAndRoundTrips)
{
	cdc_event	g = event_of(CDC_OP_GAP);

	g.source.database = "shop";
	g.source.schema = "public";
	g.source.table = "orders";
	g.source.lsn = 0x300000060ULL;	/* the new slot's start */
	g.source.commit_lsn = 0x300000060ULL;
	g.gap_id = 4;
	g.gap_lost_from_lsn = 0x15AAF00;
	g.gap_lost_to_lsn = 0x300000060ULL;
	g.gap_reason = "replication slot \"cdc_plugin\" was invalidated (max_slot_wal_keep_size)";
	g.gap_resnapshot = true;
	g.gap_snapshot_id = 17;
	g.marker_partition = 2;
	g.marker_partitions = 3;
	g.marker_rows = 99;			/* a marker's field: not part of a gap */
	g.gap_time_us = 1733092161116656LL;
	pb::Envelope e = parse(encode_matching_reference(g));

	EXPECT_EQ(e.op(), pb::OP_GAP);
	ASSERT_TRUE(e.has_gap());
	EXPECT_FALSE(e.has_snapshot());
	EXPECT_FALSE(e.has_transaction());
	EXPECT_FALSE(e.has_key());
	EXPECT_EQ(e.gap().id(), 4u);
	EXPECT_EQ(e.gap().lost_from_lsn(), 0x15AAF00u);
	EXPECT_EQ(e.gap().lost_to_lsn(), 0x300000060ULL);
	EXPECT_EQ(e.gap().reason(), g.gap_reason);
	EXPECT_TRUE(e.gap().resnapshot());
	EXPECT_EQ(e.gap().snapshot_id(), 17u);
	EXPECT_EQ(e.gap().partition(), 2u);
	EXPECT_EQ(e.gap().partitions(), 3u);
	EXPECT_EQ(e.gap().time_us(), 1733092161116656LL);
	EXPECT_EQ(e.source().lsn(), e.gap().lost_to_lsn());
	EXPECT_EQ(e.source().table(), "orders");
	EXPECT_FALSE(e.source().snapshot());

	/* without resnapshot, partition 0, a NULL reason and a time before 1970 */
	g.gap_resnapshot = false;
	g.gap_snapshot_id = 0;
	g.marker_partition = 0;
	g.gap_reason = nullptr;
	g.gap_time_us = -1;
	e = parse(encode_matching_reference(g));
	EXPECT_FALSE(e.gap().resnapshot());
	EXPECT_EQ(e.gap().snapshot_id(), 0u);
	EXPECT_EQ(e.gap().partition(), 0u);
	EXPECT_EQ(e.gap().reason(), "");
	EXPECT_EQ(e.gap().time_us(), -1);

	/* by hand: op 11, then the source, then 5a 00 for an all-zero gap */
	cdc_event	z = event_of(CDC_OP_GAP);
	std::string bytes = encode(z);

	EXPECT_EQ(hex(bytes.substr(0, 2)), "08 0b");
	EXPECT_EQ(hex(bytes.substr(bytes.size() - 2)), "5a 00");
	EXPECT_TRUE(parse(bytes).has_gap());

	/* a reason long enough for a two-byte length */
	std::string long_reason(300, 'r');

	g.gap_reason = long_reason.c_str();
	EXPECT_EQ(parse(encode_matching_reference(g)).gap().reason(), long_reason);

	/* gap fields are not written for other ops, nor marker fields for a gap */
	cdc_event	m = event_of(CDC_OP_SNAPSHOT_BEGIN);

	m.gap_id = 4;
	m.gap_reason = "x";
	EXPECT_FALSE(parse(encode_matching_reference(m)).has_gap());

	/* the reason is checked like every string */
	g.gap_reason = "bad \xff";
	EXPECT_EQ(encode_error(g), "gap reason is not valid UTF-8");
}

/* A schema event as the worker builds it, with every field set. */
TEST_F(EnvelopeWriter, SchemaEventWritesEveryFieldAndRoundTrips)
{
	std::string long_ddl = "ALTER TABLE public.orders ADD COLUMN note varchar(40) NOT NULL DEFAULT '"
		+ std::string(200, 'x') + "'";
	std::vector<cdc_schema_column> cols = {
		{"id", "bigint", 20, -1, true, true, true, 1},
		{"note", "character varying(40)", 1043, 44, true, true, false, 3},
		{"price", "numeric(10,2)", 1700, 655366, false, false, false, 4},
	};
	cdc_schema_change sc{};

	sc.version = 7;
	sc.command_tag = "ALTER TABLE";
	sc.ddl = long_ddl.c_str();
	sc.replica_identity = "default";
	sc.columns = cols.data();
	sc.ncolumns = cols.size();

	cdc_event	ev = event_of(CDC_OP_SCHEMA);

	ev.source.database = "shop";
	ev.source.schema = "public";
	ev.source.table = "orders";
	ev.source.lsn = 0x16B3748;
	ev.source.commit_lsn = 0x16B3800;
	ev.source.xid = 901;
	ev.source.commit_time_us = 1733092161116656LL;
	ev.source.schema_version = 7;
	ev.schema_change = &sc;
	ev.gap_reason = "x";		/* another op's field: not written */
	ev.marker_partitions = 3;

	pb::Envelope e = parse(encode_matching_reference(ev));

	EXPECT_EQ(e.op(), pb::OP_SCHEMA);
	ASSERT_TRUE(e.has_schema_change());
	EXPECT_FALSE(e.has_gap());
	EXPECT_FALSE(e.has_snapshot());
	EXPECT_FALSE(e.has_transaction());
	EXPECT_FALSE(e.has_key());
	EXPECT_FALSE(e.has_after());
	EXPECT_EQ(e.source().schema_version(), 7u);
	EXPECT_EQ(e.source().table(), "orders");
	EXPECT_EQ(e.source().xid(), 901u);

	const pb::SchemaChange &c = e.schema_change();

	EXPECT_EQ(c.version(), 7u);
	EXPECT_EQ(c.command_tag(), "ALTER TABLE");
	EXPECT_EQ(c.ddl(), long_ddl);
	EXPECT_FALSE(c.dropped());
	EXPECT_EQ(c.renamed_from_schema(), "");
	EXPECT_EQ(c.renamed_from_table(), "");
	EXPECT_EQ(c.replica_identity(), "default");
	EXPECT_FALSE(c.resent());
	ASSERT_EQ(c.columns_size(), 3);
	EXPECT_EQ(c.columns(0).name(), "id");
	EXPECT_EQ(c.columns(0).type(), "bigint");
	EXPECT_EQ(c.columns(0).type_oid(), 20u);
	EXPECT_EQ(c.columns(0).typmod(), -1);
	EXPECT_TRUE(c.columns(0).not_null());
	EXPECT_TRUE(c.columns(0).has_default());
	EXPECT_TRUE(c.columns(0).key());
	EXPECT_EQ(c.columns(0).attnum(), 1);
	EXPECT_EQ(c.columns(1).type(), "character varying(40)");
	EXPECT_EQ(c.columns(1).typmod(), 44);
	EXPECT_FALSE(c.columns(1).key());
	EXPECT_EQ(c.columns(1).attnum(), 3);
	EXPECT_EQ(c.columns(2).typmod(), 655366);
	EXPECT_FALSE(c.columns(2).not_null());
	EXPECT_FALSE(c.columns(2).has_default());

	/* a rename, a drop and a restatement: the other booleans and strings */
	sc.command_tag = "ALTER TABLE";
	sc.ddl = "ALTER TABLE old_orders RENAME TO orders";
	sc.renamed_from_schema = "archive";
	sc.renamed_from_table = "old_orders";
	sc.dropped = true;
	sc.resent = true;
	sc.replica_identity = "full";
	e = parse(encode_matching_reference(ev));
	EXPECT_TRUE(e.schema_change().dropped());
	EXPECT_TRUE(e.schema_change().resent());
	EXPECT_EQ(e.schema_change().renamed_from_schema(), "archive");
	EXPECT_EQ(e.schema_change().renamed_from_table(), "old_orders");
	EXPECT_EQ(e.schema_change().replica_identity(), "full");

	/* NULL strings and no columns: the fields are omitted */
	sc = cdc_schema_change{};
	sc.version = 1;
	sc.resent = true;
	e = parse(encode_matching_reference(ev));
	EXPECT_EQ(e.schema_change().version(), 1u);
	EXPECT_EQ(e.schema_change().command_tag(), "");
	EXPECT_EQ(e.schema_change().columns_size(), 0);

	/* a column with NULL strings and zero numbers */
	std::vector<cdc_schema_column> blank = {{nullptr, nullptr, 0, 0, false, false, false, 0}};

	sc.columns = blank.data();
	sc.ncolumns = blank.size();
	e = parse(encode_matching_reference(ev));
	ASSERT_EQ(e.schema_change().columns_size(), 1);
	EXPECT_EQ(e.schema_change().columns(0).name(), "");
}

TEST_F(EnvelopeWriter, SchemaEventIsByteExact)
{
	std::vector<cdc_schema_column> cols = {{"a", "int4", 23, -1, true, false, true, 1}};
	cdc_schema_change sc{};

	sc.version = 2;
	sc.resent = true;
	sc.replica_identity = "default";
	sc.columns = cols.data();
	sc.ncolumns = cols.size();

	cdc_event	ev = event_of(CDC_OP_SCHEMA);

	ev.source.schema_version = 2;
	ev.schema_change = &sc;

	/*
	 * 08 0c                        op = 12
	 * 2a 15 ... 68 02              source { connector, version, schema_version = 2 }
	 * 62 2b                        schema_change, 43 bytes (a 2-byte length guess
	 *                              shrunk to one byte)
	 *   08 02                      version = 2
	 *   3a 07 "default"            replica_identity
	 *   42 1c                      column, 28 bytes
	 *     0a 01 'a'  12 04 "int4"  18 17
	 *     20 ff ff ff ff ff ff ff ff ff 01    typmod = -1 (10-byte varint)
	 *     28 01  38 01  40 01      not_null, key, attnum = 1
	 *   48 01                      resent
	 */
	EXPECT_EQ(hex(encode(ev)),
			  "08 0c 2a 15 0a 0a 63 64 63 5f 70 6c 75 67 69 6e 12 05 31 2e 32 2e 33 68 02 "
			  "62 2b 08 02 3a 07 64 65 66 61 75 6c 74 "
			  "42 1c 0a 01 61 12 04 69 6e 74 34 18 17 "
			  "20 ff ff ff ff ff ff ff ff ff 01 28 01 38 01 40 01 48 01");
}

TEST_F(EnvelopeWriter, SchemaVersionIsWrittenForRowEventsOnlyWhenNonzero)
{
	std::vector<cdc_column> cols = {column("id", "bigint", 20, int_value(42))};
	cdc_row		r = row_of(cols);

	for (cdc_op op : {CDC_OP_CREATE, CDC_OP_UPDATE, CDC_OP_DELETE, CDC_OP_READ})
	{
		cdc_event	ev = insert_of(nullptr);

		ev.op = op;
		if (op == CDC_OP_DELETE || op == CDC_OP_UPDATE)
			ev.before = &r;
		if (op != CDC_OP_DELETE)
			ev.after = &r;
		ev.key = &r;
		std::string without = encode_matching_reference(ev);

		EXPECT_EQ(parse(without).source().schema_version(), 0u);

		ev.source.schema_version = 0x1234567890ULL;
		std::string with = encode_matching_reference(ev);

		EXPECT_EQ(parse(with).source().schema_version(), 0x1234567890ULL) << op;
		/* the field is the source's last: 68 then the varint */
		EXPECT_EQ(with.size(), without.size() + 1 + 6) << op;
	}

	/* a pre-encoded source header is followed by it like by the other fields */
	char		header[128];
	size_t		hlen = 0;

	ASSERT_EQ(cdc_encoder_source_header(enc, "db", "public", "t", header, sizeof(header),
										&hlen, err, sizeof(err)), 0) << err;
	cdc_event	named = insert_of(&r);

	named.source.schema_version = 3;
	std::string expected = encode(named);
	cdc_event	pre = named;

	pre.source.database = pre.source.schema = pre.source.table = nullptr;
	pre.source.header.data = header;
	pre.source.header.len = hlen;
	EXPECT_EQ(hex(encode(pre)), hex(expected));
}

TEST_F(EnvelopeWriter, ReadEventInTwoPartsWithSchemaVersionConcatenates)
{
	std::vector<cdc_column> cols = {column("id", "bigint", 20, int_value(42))};
	cdc_row		r = row_of(cols);
	cdc_event	ev = insert_of(&r);

	ev.op = CDC_OP_READ;
	ev.key = &r;
	ev.source.snapshot = true;
	ev.source.snapshot_kind = CDC_SNAPSHOT_INITIAL;
	ev.source.snapshot_id = 5;
	ev.source.schema_version = 300;	/* a two-byte varint */

	std::string all = encode_matching_reference(ev);

	ev.parts = CDC_ENCODE_NO_SOURCE;
	std::string rows = encode(ev);

	ev.parts = CDC_ENCODE_SOURCE_ONLY;
	std::string source = encode(ev);

	EXPECT_EQ(hex(rows + source), hex(all));
	EXPECT_EQ(parse(source).source().schema_version(), 300u);
	EXPECT_FALSE(parse(rows).has_source());
	EXPECT_EQ(parse(rows + source).source().schema_version(), 300u);
}

TEST_F(EnvelopeWriter, SchemaEventStringsAreCheckedForUtf8)
{
	std::vector<cdc_schema_column> cols = {{"id", "bigint", 20, -1, true, false, true, 1}};
	cdc_schema_change sc{};

	sc.version = 1;
	sc.columns = cols.data();
	sc.ncolumns = cols.size();
	cdc_event	ev = event_of(CDC_OP_SCHEMA);

	ev.schema_change = &sc;
	encode(ev);

	sc.ddl = "ALTER TABLE caf\xe9";
	EXPECT_EQ(encode_error(ev), "schema change ddl is not valid UTF-8");
	sc.ddl = nullptr;
	sc.command_tag = "\xff";
	EXPECT_EQ(encode_error(ev), "schema change command tag is not valid UTF-8");
	sc.command_tag = nullptr;
	sc.renamed_from_schema = "\xc3(";
	EXPECT_EQ(encode_error(ev), "schema change renamed_from_schema is not valid UTF-8");
	sc.renamed_from_schema = nullptr;
	sc.renamed_from_table = "\xc3(";
	EXPECT_EQ(encode_error(ev), "schema change renamed_from_table is not valid UTF-8");
	sc.renamed_from_table = nullptr;
	sc.replica_identity = "\xc3(";
	EXPECT_EQ(encode_error(ev), "schema change replica_identity is not valid UTF-8");
	sc.replica_identity = nullptr;
	cols[0].type_name = "\xc3(";
	EXPECT_EQ(encode_error(ev),
			  "schema change type name is not valid UTF-8 (in schema_change column \"id\")");
	cols[0].type_name = "bigint";
	cols[0].name = "caf\xe9";
	EXPECT_EQ(encode_error(ev),
			  "schema change column name is not valid UTF-8 (in schema_change column \"caf?\")");
	cols[0].name = "id";
	encode(ev);

	/* trusted strings are not checked */
	sc.ddl = "caf\xe9";
	cdc_encoder_trust_utf8(enc, true);
	EXPECT_FALSE(encode(ev).empty());
	cdc_encoder_trust_utf8(enc, false);

	/* a count without an array */
	sc.ddl = nullptr;
	sc.columns = nullptr;
	EXPECT_EQ(encode_error(ev), "schema change has 1 columns but no column array");
}

TEST_F(EnvelopeWriter, GapSnapshotKindIsWritten)
{
	cdc_event	b = event_of(CDC_OP_SNAPSHOT_BEGIN);

	b.source.snapshot = true;
	b.source.snapshot_kind = CDC_SNAPSHOT_GAP;
	b.source.snapshot_id = 17;
	b.marker_partitions = 3;
	pb::Envelope e = parse(encode_matching_reference(b));

	EXPECT_EQ(e.source().snapshot_kind(), pb::SNAPSHOT_GAP);
	EXPECT_EQ(e.source().snapshot_id(), 17u);
}

TEST_F(EnvelopeWriter, NullSourceStringsAndEmptyVersionAreOmitted)
{
	cdc_encoder *e2 = cdc_encoder_create(nullptr, err, sizeof(err));

	ASSERT_NE(e2, nullptr);
	cdc_event	ev = event_of(CDC_OP_BEGIN);
	const char *out;
	size_t		len;

	ASSERT_EQ(cdc_encoder_encode(e2, &ev, &out, &len, err, sizeof(err)), 0);
	EXPECT_EQ(hex(std::string(out, len)),
			  "08 07 2a 0c 0a 0a 63 64 63 5f 70 6c 75 67 69 6e");
	cdc_encoder_destroy(e2);
}

TEST_F(EnvelopeWriter, BufferIsReusedAndLaterSmallerEventsAreCorrect)
{
	std::string big(1 << 20, 'q');
	std::vector<cdc_column> big_cols = {column("c", "text", 25, str_value(CDC_VALUE_TEXT, big))};
	std::vector<cdc_column> small_cols = {column("c", "int4", 23, int_value(1))};
	cdc_row		big_row = row_of(big_cols), small_row = row_of(small_cols);
	cdc_event	big_ev = insert_of(&big_row), small_ev = insert_of(&small_row);

	encode_matching_reference(small_ev);
	encode_matching_reference(big_ev);
	std::string again = encode_matching_reference(small_ev);

	EXPECT_EQ(parse(again).after().columns(0).value().int_value(), 1);
}

/* ---- nesting limits ---- */

struct NestedArrays
{
	std::deque<cdc_array> arrays;
	std::deque<std::vector<cdc_value>> elems;

	/* `levels` arrays nested in each other, innermost holding one int */
	cdc_value	build(int levels)
	{
		cdc_value	v = int_value(42);

		for (int i = 0; i < levels; i++)
		{
			elems.push_back({v});
			arrays.push_back(array_of(elems.back(), {1}));
			v = array_value(&arrays.back());
		}
		return v;
	}
};

struct NestedRecords
{
	std::deque<cdc_row> rows;
	std::deque<std::vector<cdc_column>> cols;

	cdc_value	build(int levels)
	{
		cdc_value	v = int_value(42);

		for (int i = 0; i < levels; i++)
		{
			cols.push_back({column("f", "t", 0, v)});
			rows.push_back(row_of(cols.back()));
			v = record_value(&rows.back());
		}
		return v;
	}
};

TEST_F(EnvelopeWriter, DeepestAllowedArrayNestingParsesWithDefaultParser)
{
	/*
	 * Envelope(0) > Row(1) > Column(2) > Value(3) > Array(4) > Value(5) ...:
	 * with n arrays the innermost Value sits at level 2n + 3, and libprotobuf
	 * accepts nesting up to level 100, so n = 48 is the deepest.
	 */
	NestedArrays ok, too_deep;
	std::vector<cdc_column> c1 = {column("a", "int[]", 0, ok.build(48))};
	std::vector<cdc_column> c2 = {column("a", "int[]", 0, too_deep.build(49))};
	cdc_row		r1 = row_of(c1), r2 = row_of(c2);
	cdc_event	e1 = insert_of(&r1), e2 = insert_of(&r2);

	pb::Envelope parsed = parse(encode(e1));
	const pb::Value *v = &parsed.after().columns(0).value();

	for (int i = 0; i < 48; i++)
		v = &v->array_value().elements(0);
	EXPECT_EQ(v->int_value(), 42);

	std::string msg = encode_error(e2);

	EXPECT_EQ(msg.rfind("values nested too deeply: ", 0), 0u) << msg;
	EXPECT_NE(msg.find(" (in after column \"a\"[1][1][1]"), std::string::npos) << msg;
}

TEST_F(EnvelopeWriter, DeepestAllowedRecordNestingParsesWithDefaultParser)
{
	/* records cost three levels each (Value > Row > Column): 3(n + 1) <= 100 */
	NestedRecords ok, too_deep;
	std::vector<cdc_column> c1 = {column("r", "rec", 0, ok.build(32))};
	std::vector<cdc_column> c2 = {column("r", "rec", 0, too_deep.build(33))};
	cdc_row		r1 = row_of(c1), r2 = row_of(c2);
	cdc_event	e1 = insert_of(&r1), e2 = insert_of(&r2);

	parse(encode(e1));
	std::string msg = encode_error(e2);

	EXPECT_EQ(msg.rfind("values nested too deeply: ", 0), 0u) << msg;
	EXPECT_NE(msg.find(" (in after column \"r\" field \"f\" field \"f\""), std::string::npos) << msg;
}

/* ---- invalid input ---- */

TEST_F(EnvelopeWriter, RejectsOpOutsideTheEnum)
{
	cdc_event	ev = event_of(static_cast<cdc_op>(0));

	EXPECT_EQ(encode_error(ev), "invalid op 0 (expected 1..14)");
	ev.op = static_cast<cdc_op>(15);
	EXPECT_EQ(encode_error(ev), "invalid op 15 (expected 1..14)");
	ev.op = CDC_OP_GAP;
	encode(ev);

	cdc_schema_change sc{};

	ev.op = CDC_OP_SCHEMA;
	EXPECT_EQ(encode_error(ev), "schema event has no schema_change");
	ev.schema_change = &sc;
	encode(ev);
}

TEST_F(EnvelopeWriter, RejectsPartsOutsideTheEnum)
{
	cdc_event	ev = event_of(CDC_OP_READ);
	cdc_row		empty{};

	ev.after = &empty;
	ev.parts = static_cast<cdc_encode_parts>(3);
	EXPECT_EQ(encode_error(ev), "invalid parts 3");
	ev.parts = static_cast<cdc_encode_parts>(1000);
	EXPECT_EQ(encode_error(ev), "invalid parts 1000");
}

TEST_F(EnvelopeWriter, RejectsSnapshotKindOutsideTheEnum)
{
	cdc_event	ev = event_of(CDC_OP_SNAPSHOT_BEGIN);

	ev.source.snapshot = true;
	ev.source.snapshot_id = 1;
	ev.source.snapshot_kind = static_cast<cdc_snapshot_kind>(4);
	EXPECT_EQ(encode_error(ev), "invalid snapshot kind 4");

	/* also when only the source is written, the part that carries it */
	cdc_row		empty{};

	ev.op = CDC_OP_READ;
	ev.after = &empty;
	ev.parts = CDC_ENCODE_SOURCE_ONLY;
	EXPECT_EQ(encode_error(ev), "invalid snapshot kind 4");
	ev.parts = CDC_ENCODE_NO_SOURCE;
	encode(ev);					/* no source, nothing to refuse */
}

TEST_F(EnvelopeWriter, RejectsUuidThatIsNot16Bytes)
{
	std::vector<cdc_column> cols = {column("u", "uuid", 2950, str_value(CDC_VALUE_UUID, "short"))};
	cdc_row		after = row_of(cols);

	EXPECT_EQ(encode_error(insert_of(&after)),
			  "uuid value must be 16 bytes, got 5 (in after column \"u\")");
}

TEST_F(EnvelopeWriter, RejectsArraysWithBadShape)
{
	std::vector<cdc_value> three = {int_value(1), int_value(2), int_value(3)};
	cdc_array	seven = array_of(three, {1, 1, 1, 1, 1, 1});

	seven.ndims = 7;
	cdc_array	mismatch = array_of(three, {2, 2});
	cdc_array	negative = array_of(three, {-3});
	cdc_array	nodims = array_of(three, {});
	cdc_array	nodata = array_of(three, {3});

	nodata.elements = nullptr;
	for (const cdc_array *a : {&seven, &mismatch, &negative, &nodims, &nodata})
	{
		std::vector<cdc_column> cols = {column("a", "int[]", 1007, array_value(a))};
		cdc_row		after = row_of(cols);
		std::string msg = encode_error(insert_of(&after));

		EXPECT_EQ(msg.rfind("array ", 0), 0u) << msg;
		EXPECT_NE(msg.find(" (in after column \"a\")"), std::string::npos) << msg;
	}
	{
		std::vector<cdc_column> cols = {column("a", "int[]", 1007, array_value(&seven))};
		cdc_row		after = row_of(cols);

		EXPECT_EQ(encode_error(insert_of(&after)),
				  "array has 7 dimensions (0 to 6 allowed) (in after column \"a\")");
	}
	{
		std::vector<cdc_column> cols = {column("a", "int[]", 1007, array_value(&mismatch))};
		cdc_row		after = row_of(cols);

		EXPECT_EQ(encode_error(insert_of(&after)),
				  "array has 3 elements but its dimensions require a different count "
				  "(in after column \"a\")");
	}
}

TEST_F(EnvelopeWriter, RejectsUnchangedToastAsArrayElement)
{
	std::vector<cdc_value> elems = {toast_value()};
	cdc_array	a = array_of(elems, {1});
	std::vector<cdc_column> cols = {column("a", "text[]", 1009, array_value(&a))};
	cdc_row		after = row_of(cols);

	EXPECT_EQ(encode_error(insert_of(&after)),
			  "unchanged toast is not valid as an array element "
			  "(in after column \"a\"[1])");
}

TEST_F(EnvelopeWriter, RejectsInvalidUtf8InStringFields)
{
	std::vector<cdc_column> bad_text = {column("t", "text", 25, str_value(CDC_VALUE_TEXT, "\xc3("))};
	std::vector<cdc_column> bad_name = {column("caf\xe9", "text", 25, null_value())};
	cdc_row		r1 = row_of(bad_text), r2 = row_of(bad_name);

	EXPECT_EQ(encode_error(insert_of(&r1)), "text value is not valid UTF-8 (in after column \"t\")");
	EXPECT_EQ(encode_error(insert_of(&r2)),
			  "column name is not valid UTF-8 (in after column \"caf?\")");

	/* bytea is bytes, not text: anything goes */
	std::vector<cdc_column> raw = {column("b", "bytea", 17, str_value(CDC_VALUE_BYTES, "\xc3("))};
	cdc_row		r3 = row_of(raw);

	encode_matching_reference(insert_of(&r3));

	cdc_event	ev = event_of(CDC_OP_TRUNCATE);

	ev.source.table = "\xff";
	EXPECT_EQ(encode_error(ev), "source table name is not valid UTF-8");
}

TEST_F(EnvelopeWriter, PreEncodedColumnHeaderGivesTheSameBytesAsNamedFields)
{
	char		header[64];
	size_t		hlen = 0;

	ASSERT_EQ(cdc_column_header_encode("id", "int4", 23, header, sizeof(header), &hlen,
									   err, sizeof(err)), 0) << err;
	/* 0a 02 "id"  12 04 "int4"  18 17 */
	EXPECT_EQ(hex(std::string(header, hlen)), "0a 02 69 64 12 04 69 6e 74 34 18 17");

	std::vector<cdc_column> named = {column("id", "int4", 23, int_value(-1))};
	std::vector<cdc_column> pre = {column(nullptr, nullptr, 0, int_value(-1))};

	pre[0].header.data = header;
	pre[0].header.len = hlen;
	cdc_row		r1 = row_of(named), r2 = row_of(pre);
	std::string a = encode(insert_of(&r1));

	EXPECT_EQ(hex(encode(insert_of(&r2))), hex(a));
}

TEST_F(EnvelopeWriter, ColumnHeaderWithoutTypeNameOmitsTheField)
{
	char		header[64];
	size_t		hlen = 0;

	ASSERT_EQ(cdc_column_header_encode("id", "", 23, header, sizeof(header), &hlen,
									   err, sizeof(err)), 0) << err;
	EXPECT_EQ(hex(std::string(header, hlen)), "0a 02 69 64 18 17");
}

TEST_F(EnvelopeWriter, ColumnHeaderRejectsSmallBuffersAndInvalidNames)
{
	char		header[4];
	size_t		hlen = 7;

	EXPECT_EQ(cdc_column_header_encode("long_name", "text", 25, header, sizeof(header), &hlen,
									   err, sizeof(err)), -1);
	EXPECT_EQ(hlen, 0u);
	EXPECT_NE(std::string(err).find("does not fit"), std::string::npos) << err;

	char		big[64];

	EXPECT_EQ(cdc_column_header_encode("caf\xe9", "text", 25, big, sizeof(big), &hlen,
									   err, sizeof(err)), -1);
	EXPECT_NE(std::string(err).find("not valid UTF-8"), std::string::npos) << err;
}

TEST_F(EnvelopeWriter, TrustedUtf8SkipsTheCheckAndIsOffByDefault)
{
	std::vector<cdc_column> bad_text = {column("t", "text", 25, str_value(CDC_VALUE_TEXT, "\xc3("))};
	cdc_row		r = row_of(bad_text);

	EXPECT_EQ(encode_error(insert_of(&r)), "text value is not valid UTF-8 (in after column \"t\")");
	cdc_encoder_trust_utf8(enc, true);
	EXPECT_FALSE(encode(insert_of(&r)).empty());
	cdc_encoder_trust_utf8(enc, false);
	EXPECT_EQ(encode_error(insert_of(&r)), "text value is not valid UTF-8 (in after column \"t\")");
}

TEST_F(EnvelopeWriter, PreEncodedSourceHeaderGivesTheSameBytesAsNamedFields)
{
	char		header[128];
	size_t		hlen = 0;
	std::vector<cdc_column> cols = {column("id", "int4", 23, int_value(7))};
	cdc_row		r = row_of(cols);
	cdc_event	named = insert_of(&r);
	std::string expected = encode(named);

	ASSERT_EQ(cdc_encoder_source_header(enc, "db", "public", "t", header, sizeof(header),
										&hlen, err, sizeof(err)), 0) << err;
	cdc_event	pre = insert_of(&r);

	pre.source.database = pre.source.schema = pre.source.table = nullptr;
	pre.source.header.data = header;
	pre.source.header.len = hlen;
	EXPECT_EQ(hex(encode(pre)), hex(expected));
}

TEST_F(EnvelopeWriter, SourceHeaderLeavesTheLastEnvelopeIntactAndChecksUtf8)
{
	std::vector<cdc_column> cols = {column("id", "int4", 23, int_value(7))};
	cdc_row		r = row_of(cols);
	const char *out = nullptr;
	size_t		len = 0;

	cdc_event	ev = insert_of(&r);

	ASSERT_EQ(cdc_encoder_encode(enc, &ev, &out, &len, err, sizeof(err)), 0);
	std::string before(out, len);
	char		header[128];
	size_t		hlen = 0;

	cdc_encoder_trust_utf8(enc, true);
	EXPECT_EQ(cdc_encoder_source_header(enc, "db", "caf\xe9", "t", header, sizeof(header),
										&hlen, err, sizeof(err)), -1);
	EXPECT_EQ(std::string(err), "source schema name is not valid UTF-8");
	ASSERT_EQ(cdc_encoder_source_header(enc, "db", "s", "t", header, sizeof(header),
										&hlen, err, sizeof(err)), 0) << err;
	EXPECT_EQ(std::string(out, len), before);
	EXPECT_EQ(cdc_encoder_source_header(enc, "db", "s", "t", header, 4, &hlen,
										err, sizeof(err)), -1);
}

TEST_F(EnvelopeWriter, RejectsBrokenCallerStructures)
{
	cdc_value	nodata = str_value(CDC_VALUE_TEXT, "");

	nodata.u.str.len = 4;
	nodata.u.str.data = nullptr;
	cdc_value	unknown = int_value(0);

	const unsigned bogus = 99;	/* what a C caller could store; no C++ enum cast */

	std::memcpy(&unknown.kind, &bogus, sizeof(bogus));
	cdc_value	no_array = array_value(nullptr);
	cdc_value	no_record = record_value(nullptr);

	const std::pair<cdc_value, const char *> cases[] = {
		{nodata, "text value has a length but no data (in after column \"c\")"},
		{unknown, "unknown value kind 99 (in after column \"c\")"},
		{no_array, "array value has no array (in after column \"c\")"},
		{no_record, "record value has no row (in after column \"c\")"},
	};

	for (const auto &[v, expected] : cases)
	{
		std::vector<cdc_column> cols = {column("c", "x", 0, v)};
		cdc_row		after = row_of(cols);

		EXPECT_EQ(encode_error(insert_of(&after)), expected);
	}

	cdc_row		broken{};

	broken.ncolumns = 2;
	EXPECT_EQ(encode_error(insert_of(&broken)),
			  "row has 2 columns but no column array (in after)");
}

TEST_F(EnvelopeWriter, NullArgumentsFailWithoutCrashing)
{
	cdc_event	ev = event_of(CDC_OP_BEGIN);
	cdc_row		row{};
	const char *out;
	size_t		len;

	EXPECT_EQ(cdc_encoder_encode(nullptr, &ev, &out, &len, err, sizeof(err)), -1);
	EXPECT_STREQ(err, "cdc_encoder_encode: NULL argument");
	EXPECT_EQ(cdc_encoder_encode(enc, nullptr, &out, &len, err, sizeof(err)), -1);
	EXPECT_EQ(cdc_encoder_encode(enc, &ev, nullptr, &len, nullptr, 0), -1);
	EXPECT_EQ(cdc_encoder_encode_key(enc, nullptr, &out, &len, err, sizeof(err)), -1);
	EXPECT_STREQ(err, "cdc_encoder_encode_key: NULL argument");
	EXPECT_EQ(cdc_encoder_encode_key(nullptr, &row, &out, &len, err, sizeof(err)), -1);
	cdc_encoder_destroy(nullptr);
}

TEST_F(EnvelopeWriter, ErrorMessagesAreTruncatedAndNulTerminated)
{
	cdc_event	ev = event_of(static_cast<cdc_op>(0));
	const char *out;
	size_t		len;
	char		small[8];

	std::memset(small, 'x', sizeof(small));
	EXPECT_EQ(cdc_encoder_encode(enc, &ev, &out, &len, small, sizeof(small)), -1);
	EXPECT_STREQ(small, "invalid");	/* 7 bytes + NUL */

	char		one[1] = {'x'};

	EXPECT_EQ(cdc_encoder_encode(enc, &ev, &out, &len, one, 1), -1);
	EXPECT_EQ(one[0], '\0');

}

}							/* namespace */
