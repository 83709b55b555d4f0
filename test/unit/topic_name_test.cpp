/*
 * topic_name_test.cpp — table -> Kafka topic: ordinary names keep their
 * topic, every other byte is escaped so that no two tables share a topic,
 * and names too long for Kafka are shortened with a hash.
 */
#include <gtest/gtest.h>

#include <set>
#include <string>

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

}							/* namespace */
