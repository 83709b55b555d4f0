/*
 * options_test.cpp — decoding options: defaults, every option, every error
 * message, and table/message filtering.
 */
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "cdc_core.h"
#include "options.hpp"

namespace {

const char kAccepted[] =
	"accepted options are include-transaction-events, skip-empty-xacts, "
	"include-messages, include-type-names, include-schema-events, include-tables, exclude-tables, "
	"message-prefixes, outbox-tables, outbox-topic, outbox-columns";

class Options : public ::testing::Test
{
protected:
	cdc_options *opts = nullptr;
	char		err[CDC_ERRBUF_SIZE];

	void		SetUp() override
	{
		opts = cdc_options_create(err, sizeof(err));
		ASSERT_NE(opts, nullptr) << err;
	}
	void		TearDown() override
	{
		cdc_options_destroy(opts);
	}

	void		set_ok(const char *name, const char *value)
	{
		ASSERT_EQ(cdc_options_set(opts, name, value, err, sizeof(err)), 0) << err;
	}

	std::string set_error(const char *name, const char *value)
	{
		std::memset(err, 'x', sizeof(err));
		EXPECT_EQ(cdc_options_set(opts, name, value, err, sizeof(err)), -1);
		EXPECT_NE(std::memchr(err, '\0', sizeof(err)), nullptr);
		return err;
	}

	cdc_option_flags flags()
	{
		cdc_option_flags f;

		std::memset(&f, 0xff, sizeof(f));
		cdc_options_get_flags(opts, &f);
		return f;
	}

	bool		table(const char *schema, const char *tbl)
	{
		return cdc_options_table_included(opts, schema, tbl);
	}

	bool		message(const char *prefix)
	{
		return cdc_options_message_included(opts, prefix);
	}
};

TEST_F(Options, DefaultsIncludeEverythingAndSkipEmptyTransactions)
{
	cdc_option_flags f = flags();

	EXPECT_FALSE(f.include_transaction_events);
	EXPECT_TRUE(f.skip_empty_xacts);
	EXPECT_TRUE(f.include_messages);
	EXPECT_FALSE(f.include_type_names);
	EXPECT_FALSE(f.include_schema_events);
	EXPECT_TRUE(table("public", "orders"));
	EXPECT_TRUE(table("", ""));
	EXPECT_TRUE(message("anything"));
	EXPECT_TRUE(message(""));
}

TEST_F(Options, BooleanOptionsSetTheirFlag)
{
	set_ok("include-transaction-events", "true");
	set_ok("skip-empty-xacts", "false");
	set_ok("include-messages", "off");
	set_ok("include-type-names", "yes");
	set_ok("include-schema-events", "1");
	cdc_option_flags f = flags();

	EXPECT_TRUE(f.include_transaction_events);
	EXPECT_FALSE(f.skip_empty_xacts);
	EXPECT_FALSE(f.include_messages);
	EXPECT_TRUE(f.include_type_names);
	EXPECT_TRUE(f.include_schema_events);

	set_ok("include-messages", "on");
	EXPECT_TRUE(flags().include_messages);
	EXPECT_TRUE(flags().include_transaction_events);	/* others untouched */
}

TEST_F(Options, BooleansAcceptAllSpellingsCaseInsensitively)
{
	for (const char *t : {"true", "TRUE", "True", "on", "ON", "yes", "Yes", "1"})
	{
		set_ok("include-transaction-events", "false");
		set_ok("include-transaction-events", t);
		EXPECT_TRUE(flags().include_transaction_events) << t;
	}
	for (const char *f : {"false", "FALSE", "off", "Off", "no", "NO", "0"})
	{
		set_ok("include-transaction-events", "true");
		set_ok("include-transaction-events", f);
		EXPECT_FALSE(flags().include_transaction_events) << f;
	}
}

TEST_F(Options, BooleanWithoutValueMeansTrue)
{
	set_ok("skip-empty-xacts", "false");
	set_ok("skip-empty-xacts", nullptr);
	EXPECT_TRUE(flags().skip_empty_xacts);
	set_ok("include-transaction-events", nullptr);
	EXPECT_TRUE(flags().include_transaction_events);
}

TEST_F(Options, InvalidBooleanNamesValueAndOption)
{
	for (const char *bad : {"", "maybe", "t", "2", " true", "truee"})
		EXPECT_EQ(set_error("include-messages", bad),
				  std::string("invalid value \"") + bad
				  + "\" for option \"include-messages\": expected a boolean (true or false)");
}

TEST_F(Options, UnknownOptionListsAcceptedOptions)
{
	EXPECT_EQ(set_error("include-xids", "1"),
			  std::string("unrecognized option \"include-xids\"; ") + kAccepted);
	/* names are exact: no case folding, no underscores */
	EXPECT_EQ(set_error("Include-Messages", "1"),
			  std::string("unrecognized option \"Include-Messages\"; ") + kAccepted);
	EXPECT_EQ(set_error("include_messages", "1"),
			  std::string("unrecognized option \"include_messages\"; ") + kAccepted);
	EXPECT_EQ(set_error("", nullptr), std::string("unrecognized option \"\"; ") + kAccepted);
}

TEST_F(Options, IncludeTablesKeepsOnlyMatchingTables)
{
	set_ok("include-tables", "public.orders, sales.*");
	EXPECT_TRUE(table("public", "orders"));
	EXPECT_FALSE(table("public", "customers"));
	EXPECT_TRUE(table("sales", "anything"));
	EXPECT_FALSE(table("salesx", "anything"));
	EXPECT_FALSE(table("Public", "orders"));	/* case-sensitive like identifiers */
}

TEST_F(Options, ExcludeTablesWinsOverIncludeTables)
{
	set_ok("include-tables", "sales.*");
	set_ok("exclude-tables", "sales.audit_*,*.tmp");
	EXPECT_TRUE(table("sales", "orders"));
	EXPECT_FALSE(table("sales", "audit_log"));
	EXPECT_FALSE(table("sales", "tmp"));
	EXPECT_FALSE(table("public", "orders"));	/* not included */
}

TEST_F(Options, ExcludeTablesAloneExcludesOnlyMatches)
{
	set_ok("exclude-tables", "public.secret");
	EXPECT_FALSE(table("public", "secret"));
	EXPECT_TRUE(table("public", "secrets"));
	EXPECT_TRUE(table("other", "secret"));
}

TEST_F(Options, WildcardMatchesAnyRunInEitherPart)
{
	set_ok("include-tables", "s*s.*order*, *.*_log, a*b*c.x");
	EXPECT_TRUE(table("sales", "orders"));
	EXPECT_TRUE(table("ss", "order"));
	EXPECT_TRUE(table("sales", "big_orders_2024"));
	EXPECT_FALSE(table("sale", "orders"));
	EXPECT_TRUE(table("anything", "audit_log"));
	EXPECT_TRUE(table("x", "_log"));
	EXPECT_FALSE(table("x", "log"));
	EXPECT_TRUE(table("abc", "x"));
	EXPECT_TRUE(table("aXbYbZc", "x"));
	EXPECT_FALSE(table("aXbYbZcd", "x"));
}

TEST(WildcardMatch, StarMatchesEmptyAndLongRunsWithBacktracking)
{
	using cdc_core::wildcard_match;

	EXPECT_TRUE(wildcard_match("*", ""));
	EXPECT_TRUE(wildcard_match("*", "anything"));
	EXPECT_TRUE(wildcard_match("", ""));
	EXPECT_FALSE(wildcard_match("", "a"));
	EXPECT_TRUE(wildcard_match("a*", "a"));
	EXPECT_TRUE(wildcard_match("**a**", "a"));
	EXPECT_TRUE(wildcard_match("*ab", "aab"));
	EXPECT_FALSE(wildcard_match("*ab", "aba"));
	EXPECT_TRUE(wildcard_match("a*a*a", "aaaaa"));
	EXPECT_FALSE(wildcard_match("a*a*a", "aa"));
	EXPECT_TRUE(wildcard_match("order_?", "order_?"));	/* only * is special */
	EXPECT_FALSE(wildcard_match("order_?", "order_1"));
	std::string many_a(5000, 'a');

	EXPECT_FALSE(wildcard_match("*a*a*a*a*a*b", many_a));	/* no blow-up */
}

TEST_F(Options, EmptyTableListMeansNoPatterns)
{
	set_ok("include-tables", "public.orders");
	EXPECT_FALSE(table("public", "x"));
	set_ok("include-tables", "");	/* a later value replaces the earlier one */
	EXPECT_TRUE(table("public", "x"));
	set_ok("exclude-tables", "   ");
	EXPECT_TRUE(table("public", "x"));
}

TEST_F(Options, BadTablePatternsAreRejectedWithExample)
{
	for (const char *bad : {"orders", "public.", ".orders", "public.orders,", "a.b,,c.d", ".", "*"})
	{
		EXPECT_EQ(set_error("include-tables", bad),
				  std::string("invalid value \"") + bad
				  + "\" for option \"include-tables\": expected comma-separated "
				  "schema.table patterns, for example public.* or sales.order_*")
			<< bad;
		EXPECT_EQ(set_error("exclude-tables", bad),
				  std::string("invalid value \"") + bad
				  + "\" for option \"exclude-tables\": expected comma-separated "
				  "schema.table patterns, for example public.* or sales.order_*")
			<< bad;
	}
}

TEST_F(Options, RejectedTableListLeavesPreviousPatternsInPlace)
{
	set_ok("include-tables", "public.orders");
	set_error("include-tables", "public.orders,broken");
	EXPECT_TRUE(table("public", "orders"));
	EXPECT_FALSE(table("public", "other"));
}

TEST_F(Options, ListOptionsRequireAValue)
{
	EXPECT_EQ(set_error("include-tables", nullptr),
			  "option \"include-tables\" requires a value: comma-separated schema.table "
			  "patterns, for example public.* or sales.order_*");
	EXPECT_EQ(set_error("exclude-tables", nullptr),
			  "option \"exclude-tables\" requires a value: comma-separated schema.table "
			  "patterns, for example public.* or sales.order_*");
	EXPECT_EQ(set_error("message-prefixes", nullptr),
			  "option \"message-prefixes\" requires a value: comma-separated message prefixes");
}

TEST_F(Options, MessagePrefixesAreExactAndTrimmed)
{
	set_ok("message-prefixes", " audit , app.events");
	EXPECT_TRUE(message("audit"));
	EXPECT_TRUE(message("app.events"));
	EXPECT_FALSE(message("app"));
	EXPECT_FALSE(message("audit2"));
	EXPECT_FALSE(message(" audit "));
	EXPECT_FALSE(message(""));
	set_ok("message-prefixes", "");
	EXPECT_TRUE(message("whatever"));
}

TEST_F(Options, EmptyMessagePrefixItemIsRejected)
{
	EXPECT_EQ(set_error("message-prefixes", "a,,b"),
			  "invalid value \"a,,b\" for option \"message-prefixes\": expected "
			  "comma-separated non-empty message prefixes");
}

TEST_F(Options, NullArgumentsAreHandled)
{
	EXPECT_EQ(cdc_options_set(nullptr, "include-messages", "1", err, sizeof(err)), -1);
	EXPECT_STREQ(err, "cdc_options_set: NULL argument");
	EXPECT_EQ(cdc_options_set(opts, nullptr, "1", err, sizeof(err)), -1);

	cdc_option_flags f;

	cdc_options_get_flags(nullptr, &f);	/* defaults */
	EXPECT_FALSE(f.include_transaction_events);
	EXPECT_TRUE(f.skip_empty_xacts);
	EXPECT_TRUE(f.include_messages);
	cdc_options_get_flags(opts, nullptr);

	set_ok("include-tables", "public.t");
	EXPECT_FALSE(table(nullptr, nullptr));
	EXPECT_TRUE(table("public", "t"));
	set_ok("message-prefixes", "x");
	EXPECT_FALSE(message(nullptr));
	EXPECT_TRUE(cdc_options_table_included(nullptr, "a", "b"));
	EXPECT_TRUE(cdc_options_message_included(nullptr, "a"));
	cdc_options_destroy(nullptr);
}

TEST_F(Options, ErrorBufferIsTruncatedWithoutSplittingUtf8)
{
	char		small[25];

	/* "unrecognized option \"" is 21 bytes, then two 2-byte characters */
	EXPECT_EQ(cdc_options_set(opts, "\xc3\xa9\xc3\xa9", nullptr, small, sizeof(small)), -1);
	EXPECT_STREQ(small, "unrecognized option \"\xc3\xa9");	/* 23 bytes, not 24 */

	char		tiny[1] = {'x'};

	EXPECT_EQ(cdc_options_set(opts, "nope", nullptr, tiny, 1), -1);
	EXPECT_EQ(tiny[0], '\0');
	EXPECT_EQ(cdc_options_set(opts, "nope", nullptr, nullptr, 0), -1);
}

TEST_F(Options, LongValuesAreShortenedInMessages)
{
	std::string value(500, 'v');
	std::string msg = set_error("skip-empty-xacts", value.c_str());

	EXPECT_EQ(msg, "invalid value \"" + std::string(100, 'v')
			  + "...\" for option \"skip-empty-xacts\": expected a boolean (true or false)");
}

}							/* namespace */

namespace {

class OutboxOptions : public ::testing::Test
{
protected:
	cdc_options *opts = nullptr;
	char		err[CDC_ERRBUF_SIZE];

	void		SetUp() override
	{
		opts = cdc_options_create(err, sizeof(err));
		ASSERT_NE(opts, nullptr) << err;
	}
	void		TearDown() override { cdc_options_destroy(opts); }
	int			set(const char *name, const char *value)
	{
		return cdc_options_set(opts, name, value, err, sizeof(err));
	}
};

TEST_F(OutboxOptions, DefaultsAreDebeziumsColumnsAndTopic)
{
	EXPECT_FALSE(cdc_options_table_outbox(opts, "public", "outbox"));
	EXPECT_STREQ(cdc_options_outbox_topic(opts), "outbox.event.${aggregatetype}");
	EXPECT_STREQ(cdc_options_outbox_column(opts, CDC_OUTBOX_ID), "id");
	EXPECT_STREQ(cdc_options_outbox_column(opts, CDC_OUTBOX_AGGREGATEID), "aggregateid");
	EXPECT_STREQ(cdc_options_outbox_column(opts, CDC_OUTBOX_HEADERS), "headers");
	EXPECT_STREQ(cdc_options_outbox_column(opts, CDC_OUTBOX_NROLES), "");
}

TEST_F(OutboxOptions, TablesTopicAndColumnsAreSet)
{
	ASSERT_EQ(set("outbox-tables", "public.outbox, app.*_events"), 0) << err;
	EXPECT_TRUE(cdc_options_table_outbox(opts, "public", "outbox"));
	EXPECT_TRUE(cdc_options_table_outbox(opts, "app", "order_events"));
	EXPECT_FALSE(cdc_options_table_outbox(opts, "public", "orders"));
	ASSERT_EQ(set("outbox-topic", "events.${aggregatetype}.${type}"), 0) << err;
	EXPECT_STREQ(cdc_options_outbox_topic(opts), "events.${aggregatetype}.${type}");
	ASSERT_EQ(set("outbox-columns", "payload = body, aggregateid=entity_id"), 0) << err;
	EXPECT_STREQ(cdc_options_outbox_column(opts, CDC_OUTBOX_PAYLOAD), "body");
	EXPECT_STREQ(cdc_options_outbox_column(opts, CDC_OUTBOX_AGGREGATEID), "entity_id");
	EXPECT_STREQ(cdc_options_outbox_column(opts, CDC_OUTBOX_ID), "id");	/* the others keep their default */
}

TEST_F(OutboxOptions, BadValuesAreRefusedAndChangeNothing)
{
	EXPECT_EQ(set("outbox-topic", "events.${"), -1);
	EXPECT_STREQ(err, "invalid value \"events.${\" for option \"outbox-topic\": a ${ without a column name and a closing }");
	EXPECT_EQ(set("outbox-topic", "events.${}"), -1);
	EXPECT_EQ(set("outbox-topic", " "), -1);
	EXPECT_STREQ(cdc_options_outbox_topic(opts), "outbox.event.${aggregatetype}");
	EXPECT_EQ(set("outbox-columns", "body=payload"), -1);
	EXPECT_STREQ(err, "invalid value \"body=payload\" for option \"outbox-columns\": expected comma-separated "
				 "role=column pairs; roles are id, aggregatetype, aggregateid, type, payload, headers");
	EXPECT_EQ(set("outbox-columns", "payload="), -1);
	EXPECT_EQ(set("outbox-columns", "payload"), -1);
	EXPECT_STREQ(cdc_options_outbox_column(opts, CDC_OUTBOX_PAYLOAD), "payload");
	EXPECT_EQ(set("outbox-tables", "outbox"), -1);
}

}							/* namespace */
