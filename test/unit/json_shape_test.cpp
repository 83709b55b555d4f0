/*
 * One JSON shape: cdc_plugin.to_json() (and so the worker's json format,
 * which is the same rendering) and protobuf's canonical JSON mapping of the
 * .proto (with its original field names) name every field alike and spell
 * every op and enum alike, for an envelope of every event kind.
 *
 * The differences are only those README lists under "One JSON shape":
 * row images (before, after, key) are objects of column values in to_json
 * and lists of typed Column messages in the mapping; 64-bit integers are
 * JSON numbers in to_json and strings in the mapping; LSNs are pg_lsn text
 * in to_json and numbers (as strings) in the mapping; bytes are bytea hex
 * text (or the text itself) in to_json and base64 in the mapping (the
 * outbox's key, payload and header values, a message's content); and
 * to_json adds ts_ms, unchanged_toast and message.content_text, values it
 * derives from the envelope.
 */
#include <gtest/gtest.h>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <set>
#include <string>

#include "cdc/v1/envelope.pb.h"
#include "cdc_core.h"

namespace pb = cdc::v1;
using google::protobuf::Value;

namespace {

/* Leaves whose value form differs by design (the names agree). */
const std::set<std::string> kFormDiffers = {
	"lsn", "commit_lsn", "lost_from_lsn", "lost_to_lsn",	/* pg_lsn text vs number */
	"content", "payload", "value",	/* bytea hex / text vs base64 */
};

/* What to_json adds: derived from the envelope, not fields of it. */
const std::set<std::string> kDerived = {"ts_ms", "unchanged_toast", "content_text"};

/* Row images: column objects vs Column lists. */
const std::set<std::string> kRowImages = {"before", "after", "key"};

Value
parse(const std::string &json)
{
	Value		v;
	auto		st = google::protobuf::util::JsonStringToMessage(json, &v);

	EXPECT_TRUE(st.ok()) << st.ToString() << "\n" << json;
	return v;
}

std::string
to_json(const pb::Envelope &env)
{
	std::string bytes = env.SerializeAsString();
	const char *out;
	size_t		len;
	char		err[CDC_ERRBUF_SIZE];

	EXPECT_EQ(cdc_render_json(bytes.data(), bytes.size(), nullptr, &out, &len, err, sizeof(err)),
			  CDC_RENDER_OK) << err;
	return std::string(out, len);
}

std::string
mapping(const pb::Envelope &env)
{
	google::protobuf::util::JsonPrintOptions o;
	std::string json;

	o.preserve_proto_field_names = true;
	EXPECT_TRUE(google::protobuf::util::MessageToJsonString(env, &json, o).ok());
	return json;
}

bool
is_null(const Value &v)
{
	return v.kind_case() == Value::kNullValue;
}

/*
 * Both ways: every name of one is in the other at the same place (to_json's
 * derived names aside; a null in to_json stands for a field the mapping
 * leaves out as default), and scalars agree where their form is the same.
 */
void
agree(const std::string &path, const std::string &leaf, const Value &t, const Value &p,
	  bool top)
{
	if (top && kRowImages.count(leaf))
		return;
	if (t.kind_case() == Value::kStructValue && p.kind_case() == Value::kStructValue)
	{
		const auto &tf = t.struct_value().fields();
		const auto &pf = p.struct_value().fields();

		for (const auto &[name, tv] : tf)
		{
			if (kDerived.count(name))
				continue;
			auto		it = pf.find(name);

			if (it == pf.end())
			{
				/* a default the mapping leaves out: to_json's null, false, 0 or "" */
				EXPECT_TRUE(is_null(tv) || (tv.kind_case() == Value::kBoolValue && !tv.bool_value()) ||
							(tv.kind_case() == Value::kNumberValue && tv.number_value() == 0) ||
							(tv.kind_case() == Value::kStringValue && tv.string_value().empty()) ||
							(tv.kind_case() == Value::kListValue && tv.list_value().values_size() == 0))
					<< path << "." << name << " is only in to_json";
				continue;
			}
			agree(path + "." + name, name, tv, it->second, path.empty());
		}
		for (const auto &[name, pv] : pf)
			EXPECT_TRUE(tf.count(name)) << path << "." << name << " is only in protobuf's mapping";
		return;
	}
	if (t.kind_case() == Value::kListValue && p.kind_case() == Value::kListValue)
	{
		ASSERT_EQ(t.list_value().values_size(), p.list_value().values_size()) << path;
		for (int i = 0; i < t.list_value().values_size(); i++)
			agree(path + "[" + std::to_string(i) + "]", leaf, t.list_value().values(i),
				  p.list_value().values(i), false);
		return;
	}
	if (kFormDiffers.count(leaf) || path == ".outbox.key")	/* outbox.key: bytes too */
		return;
	if (t.kind_case() == Value::kNumberValue && p.kind_case() == Value::kStringValue)
	{
		/* a 64-bit integer: a number in to_json, a decimal string in the mapping */
		EXPECT_EQ(std::to_string(static_cast<long long>(t.number_value())), p.string_value()) << path;
		return;
	}
	ASSERT_EQ(t.kind_case(), p.kind_case()) << path;
	if (t.kind_case() == Value::kStringValue)
		EXPECT_EQ(t.string_value(), p.string_value()) << path;
	else if (t.kind_case() == Value::kNumberValue)
		EXPECT_EQ(t.number_value(), p.number_value()) << path;
	else if (t.kind_case() == Value::kBoolValue)
		EXPECT_EQ(t.bool_value(), p.bool_value()) << path;
}

void
expect_one_shape(const pb::Envelope &env, const char *op)
{
	std::string t = to_json(env);
	std::string p = mapping(env);
	Value		tv = parse(t);
	Value		pv = parse(p);

	SCOPED_TRACE(std::string("to_json: ") + t + "\nmapping: " + p);
	EXPECT_EQ(tv.struct_value().fields().at("op").string_value(), op);
	EXPECT_EQ(pv.struct_value().fields().at("op").string_value(), op);
	agree("", "", tv, pv, true);
}

/* Every Source field set (and not default). */
void
full_source(pb::Source *s, bool table)
{
	s->set_connector("cdc_plugin");
	s->set_version("0.1.0");
	s->set_database("shop");
	if (table)
	{
		s->set_schema("public");
		s->set_table("orders");
	}
	s->set_lsn(0x16B3748);
	s->set_commit_lsn((1ULL << 32) | 0x16B3800);
	s->set_xid(742);
	s->set_commit_time_us(1704164645500000LL);
	s->set_schema_version(table ? 3 : 0);
}

void
id_row(pb::Row *r, int64_t id)
{
	auto	   *c = r->add_columns();

	c->set_name("id");
	c->set_type_oid(20);
	c->mutable_value()->set_int_value(id);
}

pb::Envelope
base(pb::Op op, bool table, bool txn)
{
	pb::Envelope e;

	e.set_op(op);
	full_source(e.mutable_source(), table);
	if (txn)
	{
		e.mutable_transaction()->set_id(742);
		e.mutable_transaction()->set_total_order(2);
		e.mutable_transaction()->set_data_collection_order(1);
	}
	return e;
}

}							/* namespace */

TEST(OneJsonShape, RowEvents)
{
	for (auto [op, name] : {std::pair{pb::OP_CREATE, "c"}, {pb::OP_UPDATE, "u"}, {pb::OP_DELETE, "d"}})
	{
		pb::Envelope e = base(op, true, true);

		if (op != pb::OP_CREATE)
			id_row(e.mutable_before(), 1);
		if (op != pb::OP_DELETE)
			id_row(e.mutable_after(), 1);
		id_row(e.mutable_key(), 1);
		expect_one_shape(e, name);
	}
}

TEST(OneJsonShape, SnapshotReadsAndMarkers)
{
	for (auto [kind, kname] : {std::pair{pb::SNAPSHOT_INITIAL, "initial"},
							   {pb::SNAPSHOT_INCREMENTAL, "incremental"},
							   {pb::SNAPSHOT_GAP, "gap_resnapshot"}})
	{
		pb::Envelope r = base(pb::OP_READ, true, false);

		r.mutable_source()->set_xid(0);
		r.mutable_source()->set_snapshot(true);
		r.mutable_source()->set_snapshot_kind(kind);
		r.mutable_source()->set_snapshot_id(17);
		id_row(r.mutable_after(), 3);
		id_row(r.mutable_key(), 3);
		expect_one_shape(r, "r");
		EXPECT_NE(to_json(r).find(std::string("\"snapshot_kind\":\"") + kname + "\""), std::string::npos);
		EXPECT_NE(mapping(r).find(std::string("\"snapshot_kind\":\"") + kname + "\""), std::string::npos);

		for (auto [op, name] : {std::pair{pb::OP_SNAPSHOT_BEGIN, "snapshot_begin"},
								{pb::OP_SNAPSHOT_END, "snapshot_end"}})
		{
			pb::Envelope m = base(op, true, false);

			m.mutable_source()->set_schema_version(0);
			m.mutable_source()->set_xid(0);
			m.mutable_source()->set_snapshot(true);
			m.mutable_source()->set_snapshot_kind(kind);
			m.mutable_source()->set_snapshot_id(17);
			m.mutable_snapshot()->set_partition(1);
			m.mutable_snapshot()->set_partitions(4);
			if (op == pb::OP_SNAPSHOT_END)
				m.mutable_snapshot()->set_rows(1000);
			expect_one_shape(m, name);
		}
	}
}

TEST(OneJsonShape, TruncateMessageBeginCommit)
{
	pb::Envelope t = base(pb::OP_TRUNCATE, true, true);

	t.mutable_source()->set_schema_version(0);
	t.mutable_truncate()->set_cascade(true);
	t.mutable_truncate()->set_restart_identity(true);
	expect_one_shape(t, "t");

	pb::Envelope m = base(pb::OP_MESSAGE, false, true);

	m.mutable_message()->set_prefix("app");
	m.mutable_message()->set_content("hello");
	m.mutable_message()->set_transactional(true);
	expect_one_shape(m, "m");

	pb::Envelope b = base(pb::OP_BEGIN, false, false);

	b.mutable_transaction()->set_id(742);
	expect_one_shape(b, "begin");

	pb::Envelope c = base(pb::OP_COMMIT, false, false);

	c.mutable_transaction()->set_id(742);
	c.mutable_summary()->set_event_count(3);
	auto	   *tc = c.mutable_summary()->add_tables();

	tc->set_schema("public");
	tc->set_table("orders");
	tc->set_event_count(3);
	expect_one_shape(c, "commit");
}

TEST(OneJsonShape, GapSchemaOutboxHeartbeat)
{
	pb::Envelope g = base(pb::OP_GAP, true, false);

	g.mutable_source()->set_schema_version(0);
	g.mutable_source()->set_xid(0);
	g.mutable_source()->set_lsn(0x3000060);
	g.mutable_source()->set_commit_lsn(0x3000060);
	auto	   *gap = g.mutable_gap();

	gap->set_id(1);
	gap->set_lost_from_lsn(0x15AAF00);
	gap->set_lost_to_lsn(0x3000060);
	gap->set_reason("replication slot \"cdc_plugin\" was invalidated");
	gap->set_resnapshot(true);
	gap->set_snapshot_id(5);
	gap->set_partition(2);
	gap->set_partitions(3);
	gap->set_time_us(1733092161116656LL);
	expect_one_shape(g, "gap");

	pb::Envelope s = base(pb::OP_SCHEMA, true, false);
	auto	   *sc = s.mutable_schema_change();

	sc->set_version(3);
	sc->set_command_tag("ALTER TABLE");
	sc->set_ddl("ALTER TABLE archive.orders RENAME TO orders");
	sc->set_dropped(true);
	sc->set_renamed_from_schema("archive");
	sc->set_renamed_from_table("orders");
	sc->set_replica_identity("full");
	sc->set_resent(true);
	auto	   *col = sc->add_columns();

	col->set_name("id");
	col->set_type("bigint");
	col->set_type_oid(20);
	col->set_typmod(4);
	col->set_not_null(true);
	col->set_has_default(true);
	col->set_key(true);
	col->set_attnum(1);
	expect_one_shape(s, "schema");

	for (auto [fmt, fname, payload] : {std::tuple{pb::PAYLOAD_JSON, "json", "{\"id\":17}"},
									   {pb::PAYLOAD_TEXT, "text", "placed"},
									   {pb::PAYLOAD_BYTES, "bytes", "\x01\x02"}})
	{
		pb::Envelope o = base(pb::OP_OUTBOX, false, true);
		auto	   *ob = o.mutable_outbox();

		ob->set_topic("outbox.event.order");
		ob->set_key("17");
		ob->set_has_key(true);
		ob->set_payload(payload);
		ob->set_payload_format(fmt);
		auto	   *h = ob->add_headers();

		h->set_name("type");
		h->set_value("OrderPlaced");
		expect_one_shape(o, "outbox");
		EXPECT_NE(mapping(o).find(std::string("\"payload_format\":\"") + fname + "\""), std::string::npos);
	}

	pb::Envelope hb;

	hb.set_op(pb::OP_HEARTBEAT);
	hb.mutable_source()->set_connector("cdc_plugin");
	hb.mutable_source()->set_version("0.1.0");
	hb.mutable_source()->set_database("shop");
	hb.mutable_source()->set_lsn(0x16B3748);
	hb.mutable_source()->set_commit_lsn(0x16B3748);
	hb.mutable_source()->set_commit_time_us(1704164645500000LL);
	expect_one_shape(hb, "heartbeat");
}

/* The OP_* names generated code uses are aliases of the JSON spellings. */
TEST(OneJsonShape, GeneratedNamesAreAliases)
{
	EXPECT_EQ(pb::Op_Name(pb::OP_CREATE), "c");
	EXPECT_EQ(pb::Op_Name(pb::OP_SNAPSHOT_BEGIN), "snapshot_begin");
	EXPECT_EQ(pb::Op_Name(pb::OP_HEARTBEAT), "heartbeat");
	EXPECT_EQ(pb::SnapshotKind_Name(pb::SNAPSHOT_GAP), "gap_resnapshot");
	EXPECT_EQ(pb::PayloadFormat_Name(pb::PAYLOAD_BYTES), "bytes");

	pb::Op		op;

	ASSERT_TRUE(pb::Op_Parse("OP_DELETE", &op));
	EXPECT_EQ(op, pb::OP_DELETE);
	ASSERT_TRUE(pb::Op_Parse("d", &op));
	EXPECT_EQ(op, pb::OP_DELETE);
}

/* key_format = 'json': a Kafka key (a cdc.v1.Row) renders as the envelope's "key" does. */
TEST(OneJsonShape, KeyRendersAsTheEnvelopesKey)
{
	pb::Envelope e = base(pb::OP_CREATE, true, true);
	pb::Row		key;

	id_row(&key, 42);
	auto	   *c = key.add_columns();

	c->set_name("region");
	c->set_type_oid(25);
	c->mutable_value()->set_text_value("eu \"west\"");
	*e.mutable_key() = key;
	*e.mutable_after() = key;

	std::string bytes = key.SerializeAsString();
	const char *out;
	size_t		len;
	char		err[CDC_ERRBUF_SIZE];

	ASSERT_EQ(cdc_render_key_json(bytes.data(), bytes.size(), nullptr, &out, &len, err, sizeof(err)),
			  CDC_RENDER_OK) << err;
	std::string k(out, len);

	EXPECT_EQ(k, "{\"id\":42,\"region\":\"eu \\\"west\\\"\"}");
	EXPECT_NE(to_json(e).find("\"key\":" + k), std::string::npos);

	/* not a Row: refused, nothing rendered */
	EXPECT_EQ(cdc_render_key_json("\xff\xff", 2, nullptr, &out, &len, err, sizeof(err)), CDC_RENDER_INVALID);
	EXPECT_STREQ(err, "invalid key: not a cdc.v1.Row");
}
