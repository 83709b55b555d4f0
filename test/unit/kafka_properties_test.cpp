/*
 * kafka_properties_test.cpp — cdc_plugin.kafka_properties and
 * cdc_plugin.kafka_properties_file parsing, the producer's fixed defaults,
 * validation errors naming the bad property, the refusal of secrets in
 * kafka_properties, and that no message ever quotes a value (checked
 * without starting librdkafka threads or connecting anywhere).
 */
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "cdc_kafka.h"
#include "kafka_producer.hpp"

using cdc_core::parse_kafka_properties;
using cdc_core::parse_kafka_properties_file;
using cdc_core::producer_properties;

namespace {

/* A value no message may ever contain. */
const char *const kSecret = "Xy7;S3cr3t=Q#9";

std::string
validate(const char *servers, const char *props, const char *file = nullptr)
{
	char		err[512];
	cdc_producer_config c = {servers, props, -1, file};

	if (cdc_producer_validate(&c, err, sizeof(err)) == 0)
		return "ok";
	return err;
}

/* cdc_producer_create's message, or "ok" (the producer is destroyed at once). */
std::string
create(const char *servers, const char *props, const char *file = nullptr)
{
	char		err[512];
	cdc_producer_config c = {servers, props, -1, file};
	cdc_producer *p = cdc_producer_create(&c, err, sizeof(err));

	if (p == nullptr)
		return err;
	cdc_producer_destroy(p);
	return "ok";
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
	auto p = parse_kafka_properties("client.rack=zone=a");

	ASSERT_EQ(p.size(), 1u);
	EXPECT_EQ(p[0].second, "zone=a");
}

/* An item without '=' may be the tail of a value cut at ';': named by position only. */
TEST(KafkaProperties, ItemWithoutValueIsNamedByItsPosition)
{
	EXPECT_EQ(validate("localhost:9092", "linger.ms=5;; compression.type=lz4;Tail42"),
			  "item 3 of cdc_plugin.kafka_properties has no '=': write name=value;name=value");
	EXPECT_EQ(validate("localhost:9092", "=5"),
			  "item 1 of cdc_plugin.kafka_properties has no property name before '='");
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

TEST(KafkaProperties, BadValueIsNamedButNotQuoted)
{
	/* librdkafka's own text would be: Invalid value "sometimes" for configuration property ... */
	std::string e = validate("localhost:9092", "compression.type=sometimes");

	EXPECT_NE(e.find("invalid Kafka property \"compression.type\""), std::string::npos) << e;
	EXPECT_EQ(e.find("sometimes"), std::string::npos) << e;
	e = validate("localhost:9092", "debug=broker,Sometimes42");
	EXPECT_NE(e.find("invalid Kafka property \"debug\""), std::string::npos) << e;
	EXPECT_EQ(e.find("Sometimes42"), std::string::npos) << e;
	e = validate("localhost:9092", "partitioner=Sometimes42");
	EXPECT_EQ(e.find("Sometimes42"), std::string::npos) << e;
}

/* librdkafka's reasons that hold only a property name are kept. */
TEST(KafkaProperties, ValueFreeReasonsOfLibrdkafkaAreKept)
{
	EXPECT_EQ(validate("localhost:9092", "linger.ms=abc"),
			  "invalid Kafka property \"linger.ms\": Invalid value for configuration property \"queue.buffering.max.ms\"");
	/* librdkafka's 'value 1e+11 is outside allowed range 0..900000', without the value */
	EXPECT_EQ(validate("localhost:9092", "linger.ms=99999999999"),
			  "invalid Kafka property \"linger.ms\": the value is outside the allowed range 0..900000");
	EXPECT_EQ(validate("localhost:9092", "socket.nagle.disable=maybe"),
			  "invalid Kafka property \"socket.nagle.disable\": Expected bool value for \"socket.nagle.disable\": true or false");
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

/* ---- secrets -------------------------------------------------------- */

TEST(KafkaSecrets, SecretPropertiesAreRefusedInKafkaProperties)
{
	for (const char *name : {"sasl.password", "ssl.key.password", "ssl.keystore.password",
							 "ssl.key.pem", "ssl_key", "sasl.oauthbearer.client.secret",
							 "sasl.oauthbearer.config", "sasl.kerberos.kinit.cmd", "SASL.Password"})
	{
		std::string props = std::string("security.protocol=sasl_ssl;") + name + "=" + kSecret;
		std::string e = validate("k:9092", props.c_str());

		EXPECT_NE(e.find(std::string("Kafka property \"") + name + "\" holds a secret"), std::string::npos) << e;
		EXPECT_NE(e.find("cdc_plugin.kafka_properties_file"), std::string::npos) << e;
		EXPECT_EQ(e.find("S3cr3t"), std::string::npos) << e;
		EXPECT_EQ(e.find("Q#9"), std::string::npos) << e;
		EXPECT_TRUE(cdc_core::secret_property(name)) << name;
	}
	for (const char *name : {"sasl.username", "ssl.certificate.pem", "ssl.key.location",
							 "sasl.mechanism", "security.protocol"})
		EXPECT_FALSE(cdc_core::secret_property(name)) << name;
}

/*
 * The case: a password holding ';' used to be cut in two, and its
 * tail was quoted as a property name. Every item is checked for secrets
 * before any other error, so the tail is never quoted.
 */
TEST(KafkaSecrets, TheTailOfASecretCutAtASemicolonIsNeverQuoted)
{
	std::string e = validate("k:9092", "sasl.mechanism=PLAIN;sasl.password=abc;Secret42;linger.ms=5");

	EXPECT_NE(e.find("\"sasl.password\" holds a secret"), std::string::npos) << e;
	EXPECT_EQ(e.find("Secret42"), std::string::npos) << e;
	EXPECT_EQ(e.find("abc"), std::string::npos) << e;
	e = validate("k:9092", "sasl.password=abc;Secret42=x");
	EXPECT_EQ(e.find("Secret42"), std::string::npos) << e;
	/* not after a secret property: still not quoted, named by its position */
	e = validate("k:9092", "linger.ms=5;Secret42=x");
	EXPECT_EQ(e, "item 2 of cdc_plugin.kafka_properties does not start with a property name (lowercase letters, digits, '.', '_', '-') before its '='");
}

TEST(KafkaSecrets, CheckForTheSettingsHookNamesOnlySecrets)
{
	char		err[512];

	EXPECT_EQ(cdc_kafka_properties_check_secrets("linger.ms=5;no.such=1;Tail", err, sizeof(err)), 0);
	EXPECT_STREQ(err, "");
	EXPECT_EQ(cdc_kafka_properties_check_secrets(nullptr, err, sizeof(err)), 0);
	EXPECT_EQ(cdc_kafka_properties_check_secrets("linger.ms=5; ssl.key.password = Xy7;S3cr3t",
												 err, sizeof(err)), 1);
	std::string e = err;

	EXPECT_NE(e.find("\"ssl.key.password\" holds a secret"), std::string::npos) << e;
	EXPECT_EQ(e.find("S3cr3t"), std::string::npos) << e;
}

TEST(KafkaPropertiesFile, ParsesLinesCommentsAndBlanks)
{
	auto p = parse_kafka_properties_file(
		"# credentials of the cdc user\n"
		"\n"
		"  sasl.username = cdc  \n"
		"sasl.password=Xy7;S3cr3t=Q#9\r\n"
		"   # indented comment\n"
		"sasl.mechanism=SCRAM-SHA-512");

	ASSERT_EQ(p.size(), 3u);
	EXPECT_EQ(p[0], (std::pair<std::string, std::string>("sasl.username", "cdc")));
	EXPECT_EQ(p[1], (std::pair<std::string, std::string>("sasl.password", kSecret)));
	EXPECT_EQ(p[2].first, "sasl.mechanism");
	EXPECT_TRUE(parse_kafka_properties_file("").empty());
	EXPECT_TRUE(parse_kafka_properties_file("# nothing\n\n").empty());
}

TEST(KafkaPropertiesFile, EmptyValueIsAValue)
{
	auto p = parse_kafka_properties_file("ssl.key.password=\n");

	ASSERT_EQ(p.size(), 1u);
	EXPECT_EQ(p[0].second, "");
}

TEST(KafkaPropertiesFile, BadLinesAreNamedByNumberNeverQuoted)
{
	EXPECT_EQ(validate("k:9092", "", "sasl.username=cdc\n\nS3cr3tLine\n"),
			  "line 3 of cdc_plugin.kafka_properties_file has no '=': write one name=value per line");
	EXPECT_EQ(validate("k:9092", "", "# c\n = S3cr3t\n"),
			  "line 2 of cdc_plugin.kafka_properties_file has no property name before '='");
	/* a password pasted on a line of its own: what precedes its '=' is no name to quote */
	EXPECT_EQ(validate("k:9092", "", "sasl.username=cdc\nXy7;S3cr3t=Q#9\n"),
			  "line 2 of cdc_plugin.kafka_properties_file does not start with a property name (lowercase letters, digits, '.', '_', '-') before its '='");
}

TEST(KafkaPropertiesFile, ReservedPropertiesAreRefusedThereToo)
{
	std::string e = validate("k:9092", "", "bootstrap.servers=other:9092\n");

	EXPECT_NE(e.find("\"bootstrap.servers\" (line 1 of cdc_plugin.kafka_properties_file) cannot be set"),
			  std::string::npos) << e;
	EXPECT_NE(e.find("cdc_plugin.kafka_bootstrap_servers"), std::string::npos) << e;
	e = validate("k:9092", "", "log.queue=false\n");
	EXPECT_NE(e.find("\"log.queue\""), std::string::npos) << e;
}

TEST(KafkaPropertiesFile, FilePropertiesWinOverKafkaProperties)
{
	auto p = producer_properties("k:9092", "linger.ms=50;compression.type=zstd", "linger.ms=7\n");
	std::string linger;

	for (const auto &[n, v] : p)
		if (n == "linger.ms")
			linger = v;
	EXPECT_EQ(linger, "7");
	EXPECT_EQ(p.back(), (std::pair<std::string, std::string>("linger.ms", "7")));
}

TEST(KafkaPropertiesFile, SecretsInTheFileAreAccepted)
{
	std::string file = std::string("sasl.mechanism=PLAIN\nsasl.username=cdc\nsasl.password=") + kSecret + "\n";

	EXPECT_EQ(validate("k:9092", "security.protocol=plaintext", file.c_str()), "ok");
	EXPECT_EQ(create("127.0.0.1:1", "security.protocol=plaintext", file.c_str()), "ok");
}

/* Every error path of the file's properties: none quotes the secret. */
TEST(KafkaPropertiesFile, NoMessageQuotesAFileValue)
{
	for (const char *line : {"compression.type=", "debug=broker,", "partitioner=", "no.such.property=",
							 "linger.ms=", "socket.nagle.disable=", "security.protocol=",
							 "ssl.endpoint.identification.algorithm="})
	{
		std::string file = std::string(line) + kSecret + "\n";
		std::string e = create("k:9092", "", file.c_str());

		EXPECT_NE(e, "ok") << line;
		EXPECT_EQ(e.find("S3cr3t"), std::string::npos) << e;
		EXPECT_EQ(e.find("Q#9"), std::string::npos) << e;
	}
}

/*
 * librdkafka's reason for refusing to create a producer may quote a value
 * ("Unsupported partition.assignment.strategy: ..."): it is redacted.
 */
TEST(KafkaPropertiesFile, ProducerCreationReasonIsRedacted)
{
	std::string e = create("k:9092", "partition.assignment.strategy=S3cr3tStrategy");

	EXPECT_NE(e.find("could not create the Kafka producer"), std::string::npos) << e;
	EXPECT_EQ(e.find("S3cr3tStrategy"), std::string::npos) << e;
	EXPECT_NE(e.find("[redacted]"), std::string::npos) << e;
}

TEST(KafkaSecrets, RedactReplacesEveryOccurrenceLongestFirst)
{
	EXPECT_EQ(cdc_core::redact("a S3cr3t b S3cr3t-x c", {"S3cr3t", "S3cr3t-x"}),
			  "a [redacted] b [redacted] c");
	EXPECT_EQ(cdc_core::redact("nothing here", {""}), "nothing here");
}

TEST(KafkaSecrets, SecretValuesIncludePartsOfTheOauthbearerConfig)
{
	auto v = cdc_core::secret_values({{"linger.ms", "5"},
									  {"sasl.password", "pw"},
									  {"sasl.oauthbearer.config", "principal=admin extension_token=S3cr3tToken"}});

	auto has = [&](const std::string &s) { return std::find(v.begin(), v.end(), s) != v.end(); };
	EXPECT_TRUE(has("pw"));
	EXPECT_TRUE(has("principal=admin extension_token=S3cr3tToken"));
	EXPECT_TRUE(has("extension_token=S3cr3tToken"));
	EXPECT_TRUE(has("S3cr3tToken"));
	EXPECT_FALSE(has("5"));
}

/* A librdkafka log line or error that quoted a secret reaches the server log redacted. */
TEST(KafkaSecrets, LogLinesAndFailuresNeverShowASecretOfTheFile)
{
	std::string file = std::string("sasl.mechanism=PLAIN\nsasl.username=cdc\nsasl.password=") + kSecret + "\n";
	cdc_core::KafkaProducer kp("127.0.0.1:1", "security.protocol=plaintext", file, -1);
	cdc_core::KafkaProducer::LogLine line;
	bool		seen = false;

	kp.on_log(3, "FAIL", (std::string("authentication with ") + kSecret + " failed").c_str());
	kp.on_error(RD_KAFKA_RESP_ERR__AUTHENTICATION, (std::string("bad password ") + kSecret).c_str());
	while (kp.next_log(&line))
	{
		EXPECT_EQ(line.text.find("S3cr3t"), std::string::npos) << line.text;
		seen = seen || line.text.find("authentication with [redacted] failed") != std::string::npos;
	}
	EXPECT_TRUE(seen);
}

TEST(KafkaProducer, CreatingAndDestroyingDoesNotNeedABroker)
{
	char		err[512];
	cdc_producer_config c = {"127.0.0.1:1", "", -1, nullptr};
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
	cdc_producer_config c = {"127.0.0.1:1", "", -1, nullptr};
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
	cdc_producer_config c = {"127.0.0.1:1", "queue.buffering.max.kbytes=1;message.max.bytes=100000", -1, nullptr};
	cdc_producer *p = cdc_producer_create(&c, err, sizeof(err));
	std::string value(4096, 'x');
	cdc_producer_progress pr;

	ASSERT_NE(p, nullptr) << err;
	EXPECT_EQ(cdc_producer_send(p, "t", -1, "k", 1, "small", 5, err, sizeof(err)), CDC_SEND_QUEUED) << err;
	EXPECT_EQ(cdc_producer_send(p, "t", -1, "k", 1, value.data(), value.size(), err, sizeof(err)),
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
