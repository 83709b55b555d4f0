/*
 * kafka_broker_errors_test.cpp — what the producer says about brokers it
 * cannot reach: librdkafka's connection errors reduced to their cause
 * (no broker name or address from the settings, no retry details, no
 * hint about broker versions when the broker never answered), an outage
 * reported only once a connection attempt failed, with one cause kept
 * through it, and over once a broker answers; librdkafka's own lines about
 * each failed attempt kept out of the warnings the worker logs.
 */
#include <gtest/gtest.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <string>
#include <vector>

#include "cdc_kafka.h"
#include "kafka_producer.hpp"

using cdc_core::bootstrap_needles;
using cdc_core::broker_connection_dropped;
using cdc_core::broker_error_cause;

namespace {

const std::vector<std::string> kLocal = bootstrap_needles("127.0.0.1:9");

TEST(BrokerErrors, ARefusedConnectionIsItsReason)
{
	EXPECT_EQ(broker_error_cause("127.0.0.1:9/bootstrap: Connect to ipv4#127.0.0.1:9 failed: "
								 "Connection refused (after 0ms in state CONNECT)", kLocal),
			  "Connection refused");
	EXPECT_EQ(broker_error_cause("127.0.0.1:9/bootstrap: Connect to ipv4#127.0.0.1:9 failed: "
								 "Connection refused (after 0ms in state CONNECT, 1 identical "
								 "error(s) suppressed)", kLocal),
			  "Connection refused") << "every retry gives the same cause";
}

TEST(BrokerErrors, NoVersionHintWhenTheBrokerNeverAnswered)
{
	const char *hint = ": probably due to broker version < 0.10 (see api.version.request configuration)";

	EXPECT_EQ(broker_error_cause(std::string("127.0.0.1:4242/1: ApiVersionRequest failed: Local: Timed out")
								 + hint + " (after 10010ms in state APIVERSION_QUERY)",
								 bootstrap_needles("127.0.0.1:4242")),
			  "ApiVersionRequest failed: Local: Timed out");
	EXPECT_EQ(broker_error_cause(std::string("k1.example:9092/1: ApiVersionRequest failed: "
											 "Local: Broker transport failure") + hint, {}),
			  "ApiVersionRequest failed: Local: Broker transport failure");
	/* an answer of the broker's own: the hint may be right, and stays */
	EXPECT_EQ(broker_error_cause(std::string("k1.example:9092/1: ApiVersionRequest failed: "
											 "Broker: Unsupported version") + hint, {}),
			  std::string("ApiVersionRequest failed: Broker: Unsupported version") + hint);
}

TEST(BrokerErrors, NoAddressFromTheSettings)
{
	auto		needles = bootstrap_needles("kafka-1.example.com:9092, ssl://kafka-2.example.com:9093");

	EXPECT_EQ(needles, (std::vector<std::string>{"kafka-1.example.com:9092", "kafka-1.example.com",
		"kafka-2.example.com:9093", "kafka-2.example.com"}));
	EXPECT_EQ(broker_error_cause("kafka-1.example.com:9092/bootstrap: Failed to resolve "
								 "'kafka-1.example.com:9092': Name or service not known "
								 "(after 2ms in state CONNECT)", needles),
			  "could not resolve a broker's host name: Name or service not known");
	EXPECT_EQ(broker_error_cause("ssl://kafka-2.example.com:9093/bootstrap: SSL handshake failed: "
								 "certificate for kafka-2.example.com: verify failed", needles),
			  "SSL handshake failed: certificate for [redacted]: verify failed");
}

TEST(BrokerErrors, ADroppedConnectionIsNotAFailedAttempt)
{
	EXPECT_TRUE(broker_connection_dropped(broker_error_cause(
		"127.0.0.1:4242/1: Disconnected (after 3996ms in state UP)", kLocal)));
	EXPECT_TRUE(broker_connection_dropped("Receive failed: Connection reset by peer"));
	EXPECT_FALSE(broker_connection_dropped("Connection refused"));
	EXPECT_FALSE(broker_connection_dropped(
		"Disconnected while requesting ApiVersion: might be caused by incorrect security.protocol "
		"configuration (connecting to a SSL listener?) or broker version is < 0.10 (see api.version.request)"));
}

/* Polls p until cdc_producer_brokers_reachable gives want (at most 20 s); returns the cause. */
std::string
wait_reachable(cdc_producer *p, int want, std::vector<std::string> *warnings)
{
	char		cause[256] = "";
	auto		deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
	int			r = -2;

	while (std::chrono::steady_clock::now() < deadline)
	{
		cdc_log_level level;
		char		line[1024];

		cdc_producer_poll(p, 100);
		while (cdc_producer_next_log(p, &level, line, sizeof(line)))
			if (level >= CDC_LOG_WARNING)
				warnings->push_back(line);
		r = cdc_producer_brokers_reachable(p, cause, sizeof(cause));
		if (r == want)
			return cause;
	}
	ADD_FAILURE() << "brokers_reachable stayed " << r << ", wanted " << want;
	return cause;
}

TEST(BrokerOutage, NothingListensThere)
{
	char		err[512];
	char		cause[256];
	cdc_producer_config c = {"127.0.0.1:9", "reconnect.backoff.ms=10;reconnect.backoff.max.ms=50", -1, nullptr};
	cdc_producer *p = cdc_producer_create(&c, err, sizeof(err));
	std::vector<std::string> warnings;

	ASSERT_NE(p, nullptr) << err;
	EXPECT_EQ(cdc_producer_brokers_reachable(p, cause, sizeof(cause)), -1) << "not known before a poll";
	EXPECT_EQ(wait_reachable(p, 0, &warnings), "Connection refused");
	/* many more attempts fail meanwhile: the outage keeps its cause and logs nothing */
	for (int i = 0; i < 10; i++)
		cdc_producer_poll(p, 100);
	EXPECT_EQ(wait_reachable(p, 0, &warnings), "Connection refused");
	for (const auto &w : warnings)
	{
		EXPECT_EQ(w.find("127.0.0.1"), std::string::npos) << w;
		EXPECT_EQ(w.find("broker version"), std::string::npos) << w;
		EXPECT_EQ(w.find("brokers are down"), std::string::npos) << w;
	}
	EXPECT_TRUE(warnings.empty()) << warnings.front();
	cdc_producer_destroy(p);
}

TEST(BrokerOutage, OverOnceABrokerAnswers)
{
	char		err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));

	ASSERT_NE(rk, nullptr) << err;
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);

	ASSERT_NE(mc, nullptr);
	std::string bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
	cdc_producer_config c = {bootstraps.c_str(), "reconnect.backoff.ms=10;reconnect.backoff.max.ms=50", -1, nullptr};
	cdc_producer *p = cdc_producer_create(&c, err, sizeof(err));
	std::vector<std::string> warnings;

	ASSERT_NE(p, nullptr) << err;
	EXPECT_EQ(wait_reachable(p, 1, &warnings), "");
	/* the mock's broker goes down: connections drop, attempts fail */
	ASSERT_EQ(rd_kafka_mock_broker_set_down(mc, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
	std::string cause = wait_reachable(p, 0, &warnings);

	EXPECT_FALSE(cause.empty());
	EXPECT_EQ(cause.find("127.0.0.1"), std::string::npos) << cause;
	ASSERT_EQ(rd_kafka_mock_broker_set_up(mc, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
	EXPECT_EQ(wait_reachable(p, 1, &warnings), "") << "reachable again, and the cause is gone";
	cdc_producer_destroy(p);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
}

}							/* namespace */
