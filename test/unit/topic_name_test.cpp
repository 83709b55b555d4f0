/*
 * topic_name_test.cpp — table -> Kafka topic: ordinary names keep their
 * topic, every other byte is escaped so that no two tables share a topic,
 * and names too long for Kafka are shortened with a hash; and the check
 * of a given topic name against Kafka's rules (cdc_topic_name_check).
 */
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <string_view>

#include "cdc_kafka.h"
#include "topic_name.hpp"

namespace {

using cdc_core::sha256_hex;
using cdc_core::topic_name;

/* Topics are made of the characters Kafka allows, at most 249 of them. */
bool
valid_kafka_topic(const std::string &t)
{
	if (t.empty() || t.size() > 249)
		return false;
	for (char c : t)
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '_' || c == '-'))
			return false;
	return true;
}

TEST(TopicName, OrdinaryNamesMapToThemselves)
{
	EXPECT_EQ(topic_name("shop", "public", "orders"), "shop.public.orders");
	EXPECT_EQ(topic_name("shop", "sales_2024", "order_items_v2"), "shop.sales_2024.order_items_v2");
}

TEST(TopicName, MixedCaseIsKept)
{
	EXPECT_EQ(topic_name("shop", "Sales", "OrderItems"), "shop.Sales.OrderItems");
	EXPECT_NE(topic_name("shop", "public", "Orders"), topic_name("shop", "public", "orders"));
}

TEST(TopicName, EveryOtherByteIsEscaped)
{
	EXPECT_EQ(topic_name("shop", "public", "a b"), "shop.public.a-20b");
	EXPECT_EQ(topic_name("shop", "a.b", "c"), "shop.a-2Eb.c");
	EXPECT_EQ(topic_name("shop", "a", "b.c"), "shop.a.b-2Ec");
	/* the escape character itself, and UTF-8 bytes */
	EXPECT_EQ(topic_name("shop", "public", "a-b"), "shop.public.a-2Db");
	EXPECT_EQ(topic_name("shop", "public", "a-2Db"), "shop.public.a-2D2Db");
	EXPECT_EQ(topic_name("shop", "public", "caf\xc3\xa9"), "shop.public.caf-C3-A9");
	EXPECT_EQ(topic_name("shop", "public", "\"x\"/%"), "shop.public.-22x-22-2F-25");
}

TEST(TopicName, TheIssuesCollisionsAreGone)
{
	EXPECT_NE(topic_name("p", "public", "a b"), topic_name("p", "public", "a_b"));
	EXPECT_NE(topic_name("p", "a.b", "c"), topic_name("p", "a", "b.c"));
}

TEST(TopicName, DistinctTablesGetDistinctTopics)
{
	/* every pair of names over a small alphabet that includes the troublemakers */
	const std::string alphabet[] = {"a", "_", ".", "-", " ", "2", "E", "\xc3\xa9"};
	std::set<std::string> names = {""};

	for (int len = 0; len < 3; len++)
	{
		std::set<std::string> longer;

		for (const std::string &n : names)
			for (const std::string &c : alphabet)
				longer.insert(n + c);
		names.insert(longer.begin(), longer.end());
	}
	names.erase("");
	std::set<std::string> topics;
	size_t		pairs = 0;

	for (const std::string &schema : names)
		for (const std::string &table : names)
		{
			std::string t = topic_name("p", schema, table);

			ASSERT_TRUE(valid_kafka_topic(t)) << t;
			ASSERT_TRUE(topics.insert(t).second) << schema << "." << table << " -> " << t;
			pairs++;
		}
	EXPECT_EQ(topics.size(), pairs);
}

TEST(TopicName, ThePrefixIsKeptWithDisallowedCharactersAsUnderscore)
{
	EXPECT_EQ(topic_name("prod.shop-eu", "public", "orders"), "prod.shop-eu.public.orders");
	EXPECT_EQ(topic_name("my db", "public", "orders"), "my_db.public.orders");
}

TEST(TopicName, LongNamesAreShortenedWithAHash)
{
	/* 63 bytes each (PostgreSQL's limit), all escaped: 383 characters in all */
	std::string spaces, dots;

	for (int i = 0; i < 63; i++)
	{
		spaces += "-20";
		dots += "-2E";
	}
	const std::string whole = "cdc." + spaces + "." + dots;
	std::string a = topic_name("cdc", std::string(63, ' '), std::string(63, '.'));
	std::string b = topic_name("cdc", std::string(63, ' '), std::string(62, '.') + " ");

	EXPECT_TRUE(valid_kafka_topic(a)) << a;
	EXPECT_TRUE(valid_kafka_topic(b)) << b;
	EXPECT_NE(a, b);
	/* the first 231 characters would end in the middle of the 13th "-2E": 230 */
	EXPECT_EQ(a, "cdc." + spaces + "." + dots.substr(0, 36) + "--" +
			  sha256_hex(whole).substr(0, 16));
	EXPECT_EQ(a.size(), 230u + 2 + 16);
}

TEST(TopicName, ExactlyTheLimitIsNotShortened)
{
	/* "p." + 123 + "." + 123 = 249 */
	std::string name(123, 'x');
	std::string t = topic_name("p", name, name);

	EXPECT_EQ(t.size(), 249u);
	EXPECT_EQ(t, "p." + name + "." + name);
	std::string over = topic_name("p", name, name + "x");

	EXPECT_EQ(over.size(), 249u);
	EXPECT_EQ(over.substr(0, 231), ("p." + name + "." + name).substr(0, 231));
	EXPECT_EQ(over.substr(231, 2), "--");
}

TEST(TopicName, Sha256KnownAnswers)
{
	EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
			  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	EXPECT_EQ(sha256_hex(std::string(1000, 'a')),
			  "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}

TEST(TopicName, CInterface)
{
	char		buf[CDC_TOPIC_NAME_MAX + 1];
	char		err[256];

	EXPECT_EQ(cdc_topic_name("cdc", "a.b", "c", buf, sizeof(buf), err, sizeof(err)), 11u);
	EXPECT_STREQ(buf, "cdc.a-2Eb.c");
	EXPECT_STREQ(err, "");
	EXPECT_EQ(cdc_topic_name("cdc", "a", "b", buf, 10, err, sizeof(err)), 0u);
	EXPECT_STRNE(err, "");
	EXPECT_EQ(cdc_topic_name(nullptr, "a", "b", buf, sizeof(buf), err, sizeof(err)), 0u);
}

/* cdc_topic_name_check: 0 with "" in errbuf, or -1 and the reason. */
std::string
check(std::string_view topic)
{
	char		err[512];

	std::memset(err, 'x', sizeof(err));
	int			rc = cdc_topic_name_check(topic.data(), topic.size(), err, sizeof(err));

	if (rc == 0)
		return std::string("ok") + err;	/* err must be "" */
	EXPECT_EQ(rc, -1);
	return err;
}

const std::string kBadChar = "topic name has a character Kafka does not allow at position ";
const std::string kAllowed = " (allowed: letters, digits, '.', '_', '-'), found ";

TEST(TopicNameCheck, AcceptsEveryAllowedCharacter)
{
	EXPECT_EQ(check("shop.public.orders"), "ok");
	EXPECT_EQ(check("a"), "ok");
	EXPECT_EQ(check("_"), "ok");
	EXPECT_EQ(check("-"), "ok");
	EXPECT_EQ(check("..."), "ok");	/* only "." and ".." are reserved */
	EXPECT_EQ(check(".a"), "ok");
	EXPECT_EQ(check("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"), "ok");
	/* everything topic_name() makes passes */
	EXPECT_EQ(check(topic_name("p r", std::string(63, ' '), "caf\xc3\xa9")), "ok");
}

TEST(TopicNameCheck, EmptyIsRefused)
{
	EXPECT_EQ(check(""), "topic name is empty");
	char		err[128];

	EXPECT_EQ(cdc_topic_name_check(nullptr, 0, err, sizeof(err)), -1);
	EXPECT_STREQ(err, "topic name is empty");
	/* NULL with a length is a wrong call, not a crash */
	EXPECT_EQ(cdc_topic_name_check(nullptr, 3, err, sizeof(err)), -1);
	EXPECT_STRNE(err, "");
}

TEST(TopicNameCheck, At249CharactersOkAt250Refused)
{
	EXPECT_EQ(check(std::string(249, 'a')), "ok");
	EXPECT_EQ(check(std::string(248, 'a') + "."), "ok");
	EXPECT_EQ(check(std::string(250, 'a')), "topic name is longer than 249 characters (250)");
	EXPECT_EQ(check(std::string(1000, '.')), "topic name is longer than 249 characters (1000)");
	/* the length rule is checked first: a bad character past 249 is not the reason */
	EXPECT_EQ(check(std::string(249, 'a') + " "), "topic name is longer than 249 characters (250)");
}

TEST(TopicNameCheck, DotAndDotDotAreRefused)
{
	EXPECT_EQ(check("."), "topic name may not be \".\" or \"..\"");
	EXPECT_EQ(check(".."), "topic name may not be \".\" or \"..\"");
}

TEST(TopicNameCheck, DisallowedCharactersAreNamedByPositionAndKind)
{
	EXPECT_EQ(check("a b"), kBadChar + "2" + kAllowed + "a space");
	EXPECT_EQ(check("/topic"), kBadChar + "1" + kAllowed + "'/'");
	EXPECT_EQ(check("topic*"), kBadChar + "6" + kAllowed + "'*'");
	EXPECT_EQ(check("a\"b"), kBadChar + "2" + kAllowed + "'\"'");
	EXPECT_EQ(check("a\nb"), kBadChar + "2" + kAllowed + "the control character 0x0A");
	EXPECT_EQ(check("a\x7f"), kBadChar + "2" + kAllowed + "the control character 0x7F");
	EXPECT_EQ(check(std::string(248, 'a') + "+"), kBadChar + "249" + kAllowed + "'+'");
	/* the first bad character is the one named */
	EXPECT_EQ(check("ab:c d"), kBadChar + "3" + kAllowed + "':'");
}

TEST(TopicNameCheck, ANulByteInsideIsRefused)
{
	const std::string with_nul("ab\0cd", 5);

	EXPECT_EQ(check(with_nul), kBadChar + "3" + kAllowed + "a NUL byte");
	EXPECT_EQ(check(std::string("\0", 1)), kBadChar + "1" + kAllowed + "a NUL byte");
	/* the length given counts, not the NUL: a NUL past it is not looked at */
	char		err[256];

	EXPECT_EQ(cdc_topic_name_check("ab\0cd", 2, err, sizeof(err)), 0);
	EXPECT_STREQ(err, "");
}

TEST(TopicNameCheck, Utf8IsRefused)
{
	/* U+00E9 is C3 A9: its first byte is at position 4 */
	EXPECT_EQ(check("caf\xc3\xa9"), kBadChar + "4" + kAllowed + "the byte 0xC3 of a non-ASCII character");
	/* a lone continuation byte, and U+1F600 (4 bytes) */
	EXPECT_EQ(check("a\xa9"), kBadChar + "2" + kAllowed + "the byte 0xA9 of a non-ASCII character");
	EXPECT_EQ(check("\xf0\x9f\x98\x80"), kBadChar + "1" + kAllowed + "the byte 0xF0 of a non-ASCII character");
}

TEST(TopicNameCheck, MessagesAreTruncatedToTheBuffer)
{
	char		err[8];

	EXPECT_EQ(cdc_topic_name_check("a b", 3, err, sizeof(err)), -1);
	EXPECT_EQ(std::strlen(err), sizeof(err) - 1);
	EXPECT_EQ(std::string(err), std::string("topic name").substr(0, 7));
	/* no buffer at all: still the answer */
	EXPECT_EQ(cdc_topic_name_check("a b", 3, nullptr, 0), -1);
	EXPECT_EQ(cdc_topic_name_check("ab", 2, nullptr, 0), 0);
}

}							/* namespace */
