/*
 * outbox_test.cpp — outbox events: encoded alone (what publish() writes
 * into the WAL) and parsed back, refused when malformed, encoded inside an
 * envelope (libprotobuf reads the same fields) and rendered as JSON.
 */
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "cdc/v1/envelope.pb.h"
#include "cdc_core.h"

namespace {

cdc_bytes
b(const char *s)
{
	return cdc_bytes{s, std::strlen(s)};
}

class Outbox : public ::testing::Test
{
protected:
	cdc_encoder *enc = nullptr;
	char		err[CDC_ERRBUF_SIZE];
	cdc_outbox_header hdrs[2] = {{b("type"), b("OrderPlaced")}, {b("trace"), {"\xff\x00", 2}}};
	cdc_outbox	ob{};

	void		SetUp() override
	{
		enc = cdc_encoder_create("1.2.3", err, sizeof(err));
		ASSERT_NE(enc, nullptr) << err;
		ob.topic = b("orders.events");
		ob.key = b("order-17");
		ob.has_key = true;
		ob.payload = b("{\"id\": 17, \"total\": 12.5}");
		ob.payload_format = CDC_PAYLOAD_JSON;
		ob.headers = hdrs;
		ob.nheaders = 2;
	}
	void		TearDown() override { cdc_encoder_destroy(enc); }

	std::string encode_alone(const cdc_outbox &o)
	{
		const char *out;
		size_t		len;

		EXPECT_EQ(cdc_encoder_encode_outbox(enc, &o, &out, &len, err, sizeof(err)), 0) << err;
		return std::string(out, len);
	}
};

TEST_F(Outbox, EncodedAloneParsesBackToTheSameFields)
{
	std::string bytes = encode_alone(ob);
	cdc_outbox	back;
	cdc_outbox_header h[4];

	ASSERT_EQ(cdc_outbox_parse(bytes.data(), bytes.size(), &back, h, 4, err, sizeof(err)), 0) << err;
	EXPECT_EQ(std::string(back.topic.data, back.topic.len), "orders.events");
	EXPECT_TRUE(back.has_key);
	EXPECT_EQ(std::string(back.key.data, back.key.len), "order-17");
	EXPECT_EQ(std::string(back.payload.data, back.payload.len), "{\"id\": 17, \"total\": 12.5}");
	EXPECT_EQ(back.payload_format, CDC_PAYLOAD_JSON);
	ASSERT_EQ(back.nheaders, 2u);
	EXPECT_EQ(std::string(back.headers[1].name.data, back.headers[1].name.len), "trace");
	EXPECT_EQ(std::string(back.headers[1].value.data, back.headers[1].value.len), std::string("\xff\x00", 2));

	/* and libprotobuf reads the same */
	cdc::v1::OutboxEvent pb;

	ASSERT_TRUE(pb.ParseFromString(bytes));
	EXPECT_EQ(pb.topic(), "orders.events");
	EXPECT_EQ(pb.headers(0).value(), "OrderPlaced");
	EXPECT_EQ(pb.payload_format(), cdc::v1::PAYLOAD_JSON);
}

TEST_F(Outbox, NoKeyAndAnEmptyKeyDiffer)
{
	cdc_outbox	back;
	cdc_outbox_header h[2];

	ob.has_key = false;
	std::string none = encode_alone(ob);
	ASSERT_EQ(cdc_outbox_parse(none.data(), none.size(), &back, h, 2, err, sizeof(err)), 0) << err;
	EXPECT_FALSE(back.has_key);
	ob.has_key = true;
	ob.key = b("");
	std::string empty = encode_alone(ob);
	ASSERT_EQ(cdc_outbox_parse(empty.data(), empty.size(), &back, h, 2, err, sizeof(err)), 0) << err;
	EXPECT_TRUE(back.has_key);
	EXPECT_EQ(back.key.len, 0u);
}

TEST_F(Outbox, EncodingRefusesWhatCannotBePublished)
{
	const char *out;
	size_t		len;

	ob.topic = b("");
	EXPECT_EQ(cdc_encoder_encode_outbox(enc, &ob, &out, &len, err, sizeof(err)), -1);
	EXPECT_STREQ(err, "outbox event has no topic");
	ob.topic = b("t");
	ob.payload_format = static_cast<cdc_payload_format>(9);
	EXPECT_EQ(cdc_encoder_encode_outbox(enc, &ob, &out, &len, err, sizeof(err)), -1);
	EXPECT_STREQ(err, "invalid outbox payload format 9");
	ob.payload_format = CDC_PAYLOAD_TEXT;
	hdrs[0].name = b("");
	EXPECT_EQ(cdc_encoder_encode_outbox(enc, &ob, &out, &len, err, sizeof(err)), -1);
	EXPECT_STREQ(err, "outbox header 1 has an empty or invalid name");
}

TEST_F(Outbox, ParsingRefusesMalformedBytes)
{
	std::string bytes = encode_alone(ob);
	cdc_outbox	back;
	cdc_outbox_header h[4];

	/* every truncation is refused or parses to a prefix; none reads past the end */
	for (size_t n = 0; n < bytes.size(); n++)
		(void) cdc_outbox_parse(bytes.data(), n, &back, h, 4, err, sizeof(err));
	EXPECT_EQ(cdc_outbox_parse(bytes.data(), 3, &back, h, 4, err, sizeof(err)), -1);
	EXPECT_EQ(cdc_outbox_parse(bytes.data(), bytes.size(), &back, h, 1, err, sizeof(err)), -1);
	EXPECT_STREQ(err, "more than 1 headers");
	EXPECT_EQ(cdc_outbox_parse("\x0a\x01", 2, &back, h, 4, err, sizeof(err)), -1);
	EXPECT_STREQ(err, "a length runs past the end");
	EXPECT_EQ(cdc_outbox_parse("\x38\x01", 2, &back, h, 4, err, sizeof(err)), -1);
	EXPECT_STREQ(err, "unknown field 7 (wire type 0)");
	EXPECT_EQ(cdc_outbox_parse("not protobuf", 12, &back, h, 4, err, sizeof(err)), -1);
	EXPECT_EQ(cdc_outbox_parse("", 0, &back, h, 4, err, sizeof(err)), -1);
	EXPECT_STREQ(err, "the topic is empty or not UTF-8");
}

TEST_F(Outbox, InAnEnvelopeItRendersAsJson)
{
	cdc_event	ev{};
	const char *out;
	size_t		len;

	ev.op = CDC_OP_OUTBOX;
	ev.outbox = &ob;
	ev.source.database = "shop";
	ev.source.lsn = 0x16B3748;
	ev.source.commit_lsn = 0x16B3800;
	ev.source.xid = 742;
	ev.has_transaction = true;
	ev.txn_id = 742;
	ev.txn_total_order = 2;
	ASSERT_EQ(cdc_encoder_encode(enc, &ev, &out, &len, err, sizeof(err)), 0) << err;
	std::string envelope(out, len);

	cdc::v1::Envelope pb;
	ASSERT_TRUE(pb.ParseFromString(envelope));
	EXPECT_EQ(pb.op(), cdc::v1::OP_OUTBOX);
	EXPECT_EQ(pb.outbox().key(), "order-17");

	ASSERT_EQ(cdc_render_json(envelope.data(), envelope.size(), nullptr, &out, &len,
							  err, sizeof(err)), CDC_RENDER_OK) << err;
	std::string json(out, len);
	EXPECT_NE(json.find("\"op\":\"outbox\""), std::string::npos) << json;
	EXPECT_NE(json.find("\"outbox\":{\"topic\":\"orders.events\",\"key\":\"order-17\",\"has_key\":true,"
						"\"payload_format\":\"json\",\"payload\":{\"id\": 17, \"total\": 12.5},"
						"\"headers\":[{\"name\":\"type\",\"value\":\"OrderPlaced\"},"
						"{\"name\":\"trace\",\"value\":\"\\\\xff00\"}]}"),
			  std::string::npos) << json;

	ev.outbox = nullptr;
	EXPECT_EQ(cdc_encoder_encode(enc, &ev, &out, &len, err, sizeof(err)), -1);
	EXPECT_STREQ(err, "outbox event has no outbox");
}

}							/* namespace */
