/*
 * kafka_headers_test.cpp — message headers through cdc_producer_send_headers:
 * sent to librdkafka's mock cluster (in this process) and read back with a
 * plain consumer, names, values, null values and order intact; headers
 * counted in the size a message must fit in; a header without a name
 * refused like any refused message; headers of a message librdkafka did
 * not take freed by the producer (the sanitizer build sees a leak or a
 * double free).
 */
#include <gtest/gtest.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cdc_kafka.h"

namespace {

/* One header as read back; has_value false for a null value. */
struct ReadHeader
{
	std::string name;
	bool		has_value;
	std::string value;

	bool operator==(const ReadHeader &o) const
	{
		return name == o.name && has_value == o.has_value && value == o.value;
	}
};

std::ostream &
operator<<(std::ostream &os, const ReadHeader &h)
{
	return os << h.name << "=" << (h.has_value ? "\"" + h.value + "\"" : "NULL");
}

struct ReadMessage
{
	std::string value;
	bool		had_headers;	/* rd_kafka_message_headers() found any */
	std::vector<ReadHeader> headers;
};

/* A mock cluster of one broker, kept by a handle that never connects. */
class MockCluster
{
public:
	MockCluster()
	{
		char		err[512];
		rd_kafka_conf_t *conf = rd_kafka_conf_new();

		rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
		rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
		if (rk_ == nullptr)
		{
			rd_kafka_conf_destroy(conf);
			return;
		}
		mc_ = rd_kafka_mock_cluster_new(rk_, 1);
	}
	~MockCluster()
	{
		if (mc_ != nullptr)
			rd_kafka_mock_cluster_destroy(mc_);
		if (rk_ != nullptr)
			rd_kafka_destroy(rk_);
	}
	bool ok() const { return mc_ != nullptr; }
	std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(mc_); }
	bool create_topic(const char *topic, int partitions)
	{
		return rd_kafka_mock_topic_create(mc_, topic, partitions, 1) == RD_KAFKA_RESP_ERR_NO_ERROR;
	}

private:
	rd_kafka_t *rk_ = nullptr;
	rd_kafka_mock_cluster_t *mc_ = nullptr;
};

/* Reads count messages of topic's partition 0 from the beginning (at most 20 s). */
std::vector<ReadMessage>
read_back(const std::string &bootstraps, const char *topic, size_t count)
{
	std::vector<ReadMessage> out;
	char		err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK ||
		rd_kafka_conf_set(conf, "group.id", "kafka_headers_test", err, sizeof(err)) != RD_KAFKA_CONF_OK ||
		rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) != RD_KAFKA_CONF_OK)
	{
		ADD_FAILURE() << err;
		rd_kafka_conf_destroy(conf);
		return out;
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));

	if (rk == nullptr)
	{
		ADD_FAILURE() << err;
		rd_kafka_conf_destroy(conf);
		return out;
	}
	rd_kafka_poll_set_consumer(rk);
	rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);

	rd_kafka_topic_partition_list_add(parts, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
	EXPECT_EQ(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_topic_partition_list_destroy(parts);

	auto		deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);

	while (out.size() < count && std::chrono::steady_clock::now() < deadline)
	{
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

		if (m == nullptr)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
		{
			ReadMessage rm;
			rd_kafka_headers_t *hdrs = nullptr;
			rd_kafka_resp_err_t herr = rd_kafka_message_headers(m, &hdrs);

			rm.value.assign(static_cast<const char *>(m->payload), m->payload ? m->len : 0);
			EXPECT_TRUE(herr == RD_KAFKA_RESP_ERR_NO_ERROR || herr == RD_KAFKA_RESP_ERR__NOENT)
				<< rd_kafka_err2str(herr);
			rm.had_headers = herr == RD_KAFKA_RESP_ERR_NO_ERROR;
			const char *name;
			const void *value;
			size_t		size;

			for (size_t i = 0;
				 rm.had_headers && rd_kafka_header_get_all(hdrs, i, &name, &value, &size) ==
				 RD_KAFKA_RESP_ERR_NO_ERROR;
				 i++)
				rm.headers.push_back(ReadHeader{name, value != nullptr,
						value ? std::string(static_cast<const char *>(value), size) : ""});
			out.push_back(std::move(rm));
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return out;
}

TEST(KafkaHeaders, HeadersReachTheBrokerIntactAndInOrder)
{
	MockCluster mock;

	ASSERT_TRUE(mock.ok());
	ASSERT_TRUE(mock.create_topic("hdr", 1));

	std::string servers = mock.bootstraps();
	char		err[512] = "";
	cdc_producer_config c = {servers.c_str(), "linger.ms=0", -1, nullptr};
	cdc_producer *p = cdc_producer_create(&c, err, sizeof(err));

	ASSERT_NE(p, nullptr) << err;

	const char	binary[] = {'\0', '\xff', '\t', 'x'};	/* not UTF-8, a NUL inside */
	const cdc_header two[] = {
		{"trace-id", "abc-123", 7},
		{"bin", binary, sizeof(binary)},
	};
	const cdc_header odd[] = {
		{"null", nullptr, 99},	/* a null value: valuelen ignored */
		{"empty", "", 0},
		{"dup", "1", 1},
		{"dup", "2", 1},
	};

	EXPECT_EQ(cdc_producer_send_headers(p, "hdr", 0, "k1", 2, "v1", 2, two, 2, err, sizeof(err)),
			  CDC_SEND_QUEUED) << err;
	EXPECT_EQ(cdc_producer_send_headers(p, "hdr", 0, "k2", 2, "v2", 2, odd, 4, err, sizeof(err)),
			  CDC_SEND_QUEUED) << err;
	/* none: the same as cdc_producer_send, the array is not looked at */
	EXPECT_EQ(cdc_producer_send_headers(p, "hdr", 0, "k3", 2, "v3", 2, nullptr, 0, err, sizeof(err)),
			  CDC_SEND_QUEUED) << err;
	EXPECT_EQ(cdc_producer_send(p, "hdr", 0, "k4", 2, "v4", 2, err, sizeof(err)), CDC_SEND_QUEUED) << err;
	cdc_producer_txn_end(p, 1000, 1);

	/* every message acknowledged, the transaction confirmable */
	uint64_t	lsn = 0;
	int64_t		when = 0;
	bool		confirmed = false;
	auto		deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);

	while (!confirmed && std::chrono::steady_clock::now() < deadline)
	{
		cdc_producer_poll(p, 100);
		confirmed = cdc_producer_take_confirmable(p, &lsn, &when);
	}
	ASSERT_TRUE(confirmed);
	EXPECT_EQ(lsn, 1000u);

	cdc_producer_progress pr;

	cdc_producer_read_progress(p, &pr);
	EXPECT_FALSE(pr.failed);
	EXPECT_EQ(pr.acked_messages, 4u);
	EXPECT_EQ(pr.acked_bytes, 16u) << "acknowledged bytes are key and value only";
	EXPECT_EQ(pr.acked_transactions, 1u);
	EXPECT_EQ(pr.messages_in_flight, 0u);
	cdc_producer_destroy(p);

	std::vector<ReadMessage> got = read_back(servers, "hdr", 4);

	ASSERT_EQ(got.size(), 4u);
	EXPECT_EQ(got[0].value, "v1");
	EXPECT_EQ(got[0].headers, (std::vector<ReadHeader>{
		{"trace-id", true, "abc-123"},
		{"bin", true, std::string(binary, sizeof(binary))},
	}));
	EXPECT_EQ(got[1].value, "v2");
	EXPECT_EQ(got[1].headers, (std::vector<ReadHeader>{
		{"null", false, ""},
		{"empty", true, ""},
		{"dup", true, "1"},
		{"dup", true, "2"},
	}));
	EXPECT_EQ(got[2].value, "v3");
	EXPECT_FALSE(got[2].had_headers);
	EXPECT_EQ(got[3].value, "v4");
	EXPECT_FALSE(got[3].had_headers);
}

/* Names and values count toward the size that must fit in the queue. */
TEST(KafkaHeaders, HeadersCountTowardTheQueueSize)
{
	char		err[512];
	cdc_producer_config c = {"127.0.0.1:1", "queue.buffering.max.kbytes=1;message.max.bytes=100000", -1, nullptr};
	cdc_producer *p = cdc_producer_create(&c, err, sizeof(err));
	std::string big(1000, 'x');
	const cdc_header fits[] = {{"h", "small", 5}};
	const cdc_header too_big[] = {{"name", big.data(), big.size()}, {"n2", big.data(), 20}};
	cdc_producer_progress pr;

	ASSERT_NE(p, nullptr) << err;
	EXPECT_EQ(cdc_producer_send_headers(p, "t", -1, "k", 1, big.data(), 10, fits, 1, err, sizeof(err)),
			  CDC_SEND_QUEUED) << err;
	/* 1 + 10 + 4 + 1000 + 2 + 20 = 1037 > 1024, the value alone would fit */
	EXPECT_EQ(cdc_producer_send_headers(p, "t", -1, "k", 1, big.data(), 10, too_big, 2, err, sizeof(err)),
			  CDC_SEND_FAILED);
	std::string e = err;

	EXPECT_NE(e.find("a message of 1037 bytes does not fit"), std::string::npos) << e;
	cdc_producer_read_progress(p, &pr);
	EXPECT_TRUE(pr.failed);
	EXPECT_EQ(pr.failed_messages, 1u);
	EXPECT_EQ(pr.messages_in_flight, 1u);
	cdc_producer_destroy(p);
}

/* A header without a name, or headers without an array: refused, the producer failed. */
TEST(KafkaHeaders, AHeaderWithoutANameIsRefused)
{
	char		err[512];
	cdc_producer_config c = {"127.0.0.1:1", "", -1, nullptr};
	const cdc_header nameless[] = {{"ok", "1", 1}, {nullptr, "2", 1}};
	cdc_producer_progress pr;

	for (int missing_array = 0; missing_array <= 1; missing_array++)
	{
		cdc_producer *p = cdc_producer_create(&c, err, sizeof(err));

		ASSERT_NE(p, nullptr) << err;
		EXPECT_EQ(cdc_producer_send_headers(p, "t", -1, "k", 1, "v", 1,
											missing_array ? nullptr : nameless, 2, err, sizeof(err)),
				  CDC_SEND_FAILED);
		EXPECT_STREQ(err, missing_array ? "a message was given headers without a header array"
					 : "header 2 of a message has no name");
		cdc_producer_read_progress(p, &pr);
		EXPECT_TRUE(pr.failed);
		EXPECT_EQ(pr.failed_messages, 1u);
		EXPECT_EQ(pr.messages_in_flight, 0u);
		char		failure[512];

		cdc_producer_failure(p, failure, sizeof(failure));
		EXPECT_STREQ(failure, err);
		cdc_producer_destroy(p);
	}
}

/*
 * A message librdkafka refuses (queue full) leaves its headers to us: they
 * are freed, the producer is not failed, and the same send succeeds once
 * there is room. Leaks and double frees show in the sanitizer build.
 */
TEST(KafkaHeaders, HeadersOfAMessageNotQueuedAreFreed)
{
	char		err[512];
	cdc_producer_config c = {"127.0.0.1:1", "queue.buffering.max.messages=1", -1, nullptr};
	cdc_producer *p = cdc_producer_create(&c, err, sizeof(err));
	const cdc_header h[] = {{"a", "1", 1}, {"b", nullptr, 0}};
	cdc_producer_progress pr;

	ASSERT_NE(p, nullptr) << err;
	EXPECT_EQ(cdc_producer_send_headers(p, "t", 0, "k", 1, "v", 1, h, 2, err, sizeof(err)),
			  CDC_SEND_QUEUED) << err;
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(cdc_producer_send_headers(p, "t", 0, "k", 1, "v", 1, h, 2, err, sizeof(err)),
				  CDC_SEND_QUEUE_FULL) << err;
	cdc_producer_read_progress(p, &pr);
	EXPECT_FALSE(pr.failed);
	EXPECT_EQ(pr.failed_messages, 0u);
	EXPECT_EQ(pr.messages_in_flight, 1u);
	/* queued (with its headers) and never delivered: purged by destroy */
	cdc_producer_destroy(p);
}

}							/* namespace */
