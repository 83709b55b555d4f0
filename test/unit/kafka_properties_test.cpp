/*
 * kafka_properties_test.cpp — cdc_plugin.kafka_properties parsing, the
 * producer's fixed defaults, and validation errors naming the bad property
 * (checked without starting librdkafka threads or connecting anywhere).
 */
#include <gtest/gtest.h>

#include <string>

#include "cdc_kafka.h"
#include "kafka_producer.hpp"

using cdc_core::parse_kafka_properties;
using cdc_core::producer_properties;

namespace {

std::string
validate(const char *servers, const char *props)
{
	char		err[512];
	cdc_producer_config c = {servers, props, -1};

	if (cdc_producer_validate(&c, err, sizeof(err)) == 0)
		return "ok";
	return err;
}

std::string
lookup(const std::vector<std::pair<std::string, std::string>> &props, const std::string &name)
{
	std::string v = "<unset>";

	for (const auto &[n, value] : props)
		if (n == name)
			v = value;			/* the last one wins, as in librdkafka */
	return v;
}

TEST(KafkaProperties, ParsesPairsTrimmingSpacesAndEmptyItems)
{
	auto p = parse_kafka_properties(" compression.type = lz4 ;; linger.ms=5; ");

	ASSERT_EQ(p.size(), 2u);
	EXPECT_EQ(p[0].first, "compression.type");
	EXPECT_EQ(p[0].second, "lz4");
	EXPECT_EQ(p[1].first, "linger.ms");
	EXPECT_EQ(p[1].second, "5");
	EXPECT_TRUE(parse_kafka_properties("").empty());
}

TEST(KafkaProperties, ValueMayContainEquals)
{
	auto p = parse_kafka_properties("sasl.oauthbearer.config=principal=admin");

	ASSERT_EQ(p.size(), 1u);
	EXPECT_EQ(p[0].second, "principal=admin");
}

TEST(KafkaProperties, ItemWithoutValueIsAnError)
{
	EXPECT_EQ(validate("localhost:9092", "linger.ms"),
			  "Kafka property \"linger.ms\" has no value: write name=value");
	EXPECT_EQ(validate("localhost:9092", "=5"),
			  "Kafka property \"=5\" has no name: write name=value");
}

TEST(KafkaProperties, DefaultsGiveAtLeastOnceAndJavaPartitioning)
{
	auto p = producer_properties("k1:9092,k2:9092", "");

	EXPECT_EQ(lookup(p, "bootstrap.servers"), "k1:9092,k2:9092");
	EXPECT_EQ(lookup(p, "enable.idempotence"), "true");
	EXPECT_EQ(lookup(p, "acks"), "all");
	EXPECT_EQ(lookup(p, "message.timeout.ms"), "0");
	EXPECT_EQ(lookup(p, "partitioner"), "murmur2_random");
	EXPECT_EQ(lookup(p, "log.queue"), "true");
}

TEST(KafkaProperties, UserPropertiesComeLastSoTheyWin)
{
	auto p = producer_properties("k:9092", "linger.ms=50;compression.type=zstd");

	EXPECT_EQ(lookup(p, "linger.ms"), "50");
	EXPECT_EQ(lookup(p, "compression.type"), "zstd");
}

TEST(KafkaProperties, ValidConfigurationPasses)
{
	EXPECT_EQ(validate("localhost:9092", "compression.type=lz4;linger.ms=5"), "ok");
}

TEST(KafkaProperties, UnknownPropertyIsNamed)
{
	std::string e = validate("localhost:9092", "linger.ms=5;no.such.property=1");

	EXPECT_NE(e.find("invalid Kafka property \"no.such.property\""), std::string::npos) << e;
}

TEST(KafkaProperties, BadValueIsNamed)
{
	std::string e = validate("localhost:9092", "compression.type=sometimes");

	EXPECT_NE(e.find("invalid Kafka property \"compression.type\""), std::string::npos) << e;
}

TEST(KafkaProperties, EmptyBootstrapServersIsAnError)
{
	EXPECT_EQ(validate("  ", ""),
			  "no Kafka brokers configured: cdc_plugin.kafka_bootstrap_servers is empty");
	EXPECT_EQ(validate(nullptr, ""),
			  "no Kafka brokers configured: cdc_plugin.kafka_bootstrap_servers is empty");
}

TEST(KafkaProperties, BrokersAndLogQueueAreReserved)
{
	std::string e = validate("k:9092", "bootstrap.servers=other:9092");

	EXPECT_NE(e.find("cdc_plugin.kafka_bootstrap_servers"), std::string::npos) << e;
	e = validate("k:9092", "log.queue=false");
	EXPECT_NE(e.find("\"log.queue\" cannot be set"), std::string::npos) << e;
}

TEST(KafkaProducer, CreatingAndDestroyingDoesNotNeedABroker)
{
	char		err[512];
	cdc_producer_config c = {"127.0.0.1:1", "", -1};
	cdc_producer *p = cdc_producer_create(&c, err, sizeof(err));

	ASSERT_NE(p, nullptr) << err;
	cdc_producer_progress pr;

	cdc_producer_read_progress(p, &pr);
	EXPECT_TRUE(pr.idle);
	EXPECT_FALSE(pr.failed);
	EXPECT_EQ(pr.broker_state, -1);
	cdc_producer_destroy(p);
}

TEST(KafkaProducer, ReadingProgressChangesNothing)
{
	char		err[512];
	cdc_producer_config c = {"127.0.0.1:1", "", -1};
	cdc_producer *p = cdc_producer_create(&c, err, sizeof(err));
	cdc_producer_progress a, b;
	uint64_t	lsn = 0;
	int64_t		when = 0;

	ASSERT_NE(p, nullptr) << err;
	cdc_producer_read_progress(p, &a);
	cdc_producer_read_progress(p, &b);
	EXPECT_EQ(a.idle, b.idle);
	EXPECT_EQ(a.messages_in_flight, b.messages_in_flight);
	EXPECT_FALSE(cdc_producer_take_confirmable(p, &lsn, &when));
	cdc_producer_destroy(p);
}

/* A message the queue could never hold is refused, not reported full forever. */
TEST(KafkaProducer, RefusesAMessageLargerThanItsQueue)
{
	char		err[512];
	cdc_producer_config c = {"127.0.0.1:1", "queue.buffering.max.kbytes=1;message.max.bytes=100000", -1};
	cdc_producer *p = cdc_producer_create(&c, err, sizeof(err));
	std::string value(4096, 'x');
	cdc_producer_progress pr;

	ASSERT_NE(p, nullptr) << err;
	EXPECT_EQ(cdc_producer_send(p, "t", "k", 1, "small", 5, err, sizeof(err)), CDC_SEND_QUEUED) << err;
	EXPECT_EQ(cdc_producer_send(p, "t", "k", 1, value.data(), value.size(), err, sizeof(err)),
			  CDC_SEND_FAILED);
	std::string e = err;

	EXPECT_NE(e.find("4097 bytes"), std::string::npos) << e;
	EXPECT_NE(e.find("queue.buffering.max.kbytes"), std::string::npos) << e;
	EXPECT_EQ(e.find("=1"), std::string::npos) << "no setting's value is echoed: " << e;
	cdc_producer_read_progress(p, &pr);
	EXPECT_TRUE(pr.failed);
	EXPECT_EQ(pr.failed_messages, 1u);
	cdc_producer_destroy(p);
}

}							/* namespace */
