/*
 * options.cpp — parsing and evaluation of the decoding options.
 *
 * Parsing is table-driven: kOptions maps each option name to a handler and
 * the member it sets; the list of accepted names in error messages is
 * generated from the same table.
 */
#include "core_only.hpp"

#include "options.hpp"

#include <cstring>

#include "core_util.hpp"

namespace cdc_core {

namespace {

struct OptionSpec;
using Handler = void (*)(Options &opts, const OptionSpec &spec, const char *value);

struct OptionSpec
{
	const char *name;
	Handler		apply;
	bool Options::*flag;		/* boolean options */
	std::vector<TablePattern> Options::*tables;	/* table pattern lists */
};

void		set_bool(Options &opts, const OptionSpec &spec, const char *value);
void		set_tables(Options &opts, const OptionSpec &spec, const char *value);
void		set_prefixes(Options &opts, const OptionSpec &spec, const char *value);
void		set_outbox_topic(Options &opts, const OptionSpec &spec, const char *value);
void		set_outbox_columns(Options &opts, const OptionSpec &spec, const char *value);

const OptionSpec kOptions[] = {
	{"include-transaction-events", set_bool, &Options::include_transaction_events, nullptr},
	{"skip-empty-xacts", set_bool, &Options::skip_empty_xacts, nullptr},
	{"include-messages", set_bool, &Options::include_messages, nullptr},
	{"include-type-names", set_bool, &Options::include_type_names, nullptr},
	{"include-schema-events", set_bool, &Options::include_schema_events, nullptr},
	{"include-tables", set_tables, nullptr, &Options::include_tables},
	{"exclude-tables", set_tables, nullptr, &Options::exclude_tables},
	{"message-prefixes", set_prefixes, nullptr, nullptr},
	{"outbox-tables", set_tables, nullptr, &Options::outbox_tables},
	{"outbox-topic", set_outbox_topic, nullptr, nullptr},
	{"outbox-columns", set_outbox_columns, nullptr, nullptr},
};

const char *const kOutboxRoles[] = {"id", "aggregatetype", "aggregateid", "type", "payload",
	"headers"};

std::string
accepted_names()
{
	std::string s;

	for (const auto &spec : kOptions)
	{
		if (!s.empty())
			s += ", ";
		s += spec.name;
	}
	return s;
}

std::string_view
trim(std::string_view s)
{
	const char *ws = " \t\n\r\f\v";
	size_t		b = s.find_first_not_of(ws);

	if (b == std::string_view::npos)
		return {};
	size_t		e = s.find_last_not_of(ws);

	return s.substr(b, e - b + 1);
}

/* Splits a comma-separated list into trimmed items; a blank list has none. */
std::vector<std::string_view>
split_list(std::string_view value)
{
	std::vector<std::string_view> items;

	if (trim(value).empty())
		return items;
	size_t		start = 0;

	for (;;)
	{
		size_t		comma = value.find(',', start);

		items.push_back(trim(value.substr(start, comma == std::string_view::npos
										  ? std::string_view::npos : comma - start)));
		if (comma == std::string_view::npos)
			break;
		start = comma + 1;
	}
	return items;
}

bool
iequals(std::string_view a, const char *b)
{
	size_t		n = std::strlen(b);

	if (a.size() != n)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		char		c = a[i];

		if (c >= 'A' && c <= 'Z')
			c = static_cast<char>(c - 'A' + 'a');
		if (c != b[i])
			return false;
	}
	return true;
}

void
set_bool(Options &opts, const OptionSpec &spec, const char *value)
{
	static const struct
	{
		const char *word;
		bool		value;
	}			words[] = {
		{"true", true}, {"on", true}, {"yes", true}, {"1", true},
		{"false", false}, {"off", false}, {"no", false}, {"0", false},
	};

	if (value == nullptr)
	{
		opts.*(spec.flag) = true;
		return;
	}
	for (const auto &w : words)
	{
		if (iequals(value, w.word))
		{
			opts.*(spec.flag) = w.value;
			return;
		}
	}
	fail("invalid value " + quoted(value) + " for option \"" + spec.name
		 + "\": expected a boolean (true or false)");
}

void
set_tables(Options &opts, const OptionSpec &spec, const char *value)
{
	if (value == nullptr)
		fail(std::string("option \"") + spec.name
			 + "\" requires a value: comma-separated schema.table patterns, "
			 "for example public.* or sales.order_*");

	std::vector<TablePattern> patterns;

	for (std::string_view item : split_list(value))
	{
		size_t		dot = item.find('.');

		if (dot == std::string_view::npos || dot == 0 || dot + 1 == item.size())
			fail("invalid value " + quoted(value) + " for option \"" + spec.name
				 + "\": expected comma-separated schema.table patterns, "
				 "for example public.* or sales.order_*");
		patterns.push_back(TablePattern{std::string(item.substr(0, dot)),
										std::string(item.substr(dot + 1))});
	}
	opts.*(spec.tables) = std::move(patterns);
}

void
set_prefixes(Options &opts, const OptionSpec &spec, const char *value)
{
	if (value == nullptr)
		fail(std::string("option \"") + spec.name
			 + "\" requires a value: comma-separated message prefixes");

	std::vector<std::string> prefixes;

	for (std::string_view item : split_list(value))
	{
		if (item.empty())
			fail("invalid value " + quoted(value) + " for option \"" + spec.name
				 + "\": expected comma-separated non-empty message prefixes");
		prefixes.emplace_back(item);
	}
	opts.message_prefixes = std::move(prefixes);
}

/*
 * The topic template of outbox tables: text with ${column} placeholders
 * (a column name of the outbox table, replaced by that row's value).
 */
void
set_outbox_topic(Options &opts, const OptionSpec &spec, const char *value)
{
	if (value == nullptr || trim(value).empty())
		fail(std::string("option \"") + spec.name
			 + "\" requires a value: a topic name with ${column} placeholders, "
			 "for example outbox.event.${aggregatetype}");

	std::string_view v(value);

	for (size_t i = 0; i < v.size(); i++)
	{
		if (v[i] != '$' || i + 1 >= v.size() || v[i + 1] != '{')
			continue;
		size_t		close = v.find('}', i + 2);

		if (close == std::string_view::npos || close == i + 2)
			fail("invalid value " + quoted(value) + " for option \"" + spec.name
				 + "\": a ${ without a column name and a closing }");
		i = close;
	}
	opts.outbox_topic = value;
}

/* role=column pairs: which column of an outbox table plays which role. */
void
set_outbox_columns(Options &opts, const OptionSpec &spec, const char *value)
{
	std::string accepted;

	for (const char *r : kOutboxRoles)
		accepted += (accepted.empty() ? "" : ", ") + std::string(r);
	if (value == nullptr)
		fail(std::string("option \"") + spec.name
			 + "\" requires a value: comma-separated role=column pairs; roles are " + accepted);

	std::string cols[6];

	for (size_t r = 0; r < 6; r++)
		cols[r] = kOutboxRoles[r];
	for (std::string_view item : split_list(value))
	{
		size_t		eq = item.find('=');
		std::string_view role = trim(item.substr(0, eq == std::string_view::npos ? 0 : eq));
		std::string_view col = eq == std::string_view::npos ? std::string_view{}
			: trim(item.substr(eq + 1));
		size_t		r = 0;

		while (r < 6 && role != kOutboxRoles[r])
			r++;
		if (eq == std::string_view::npos || col.empty() || r == 6)
			fail("invalid value " + quoted(value) + " for option \"" + spec.name
				 + "\": expected comma-separated role=column pairs; roles are " + accepted);
		cols[r] = std::string(col);
	}
	for (size_t r = 0; r < 6; r++)
		opts.outbox_columns[r] = std::move(cols[r]);
}

bool
any_match(const std::vector<TablePattern> &patterns,
		  std::string_view schema, std::string_view table)
{
	for (const auto &p : patterns)
		if (wildcard_match(p.schema, schema) && wildcard_match(p.table, table))
			return true;
	return false;
}

}							/* namespace */

bool
wildcard_match(std::string_view pattern, std::string_view text)
{
	size_t		p = 0,
				t = 0;
	size_t		star = std::string_view::npos;	/* last '*' seen in pattern */
	size_t		resume = 0;		/* text position that star is matched up to */

	while (t < text.size())
	{
		if (p < pattern.size() && pattern[p] == '*')
		{
			star = p++;
			resume = t;
		}
		else if (p < pattern.size() && pattern[p] == text[t])
		{
			p++;
			t++;
		}
		else if (star != std::string_view::npos)
		{
			/* let the last '*' swallow one more character and retry */
			p = star + 1;
			t = ++resume;
		}
		else
			return false;
	}
	while (p < pattern.size() && pattern[p] == '*')
		p++;
	return p == pattern.size();
}

void
Options::set(std::string_view name, const char *value)
{
	for (const auto &spec : kOptions)
	{
		if (name == spec.name)
		{
			spec.apply(*this, spec, value);
			return;
		}
	}
	fail("unrecognized option " + quoted(name) + "; accepted options are "
		 + accepted_names());
}

bool
Options::table_included(std::string_view schema, std::string_view table) const
{
	if (!include_tables.empty() && !any_match(include_tables, schema, table))
		return false;
	return !any_match(exclude_tables, schema, table);
}

bool
Options::table_outbox(std::string_view schema, std::string_view table) const
{
	return any_match(outbox_tables, schema, table);
}

bool
Options::message_included(std::string_view prefix) const
{
	if (message_prefixes.empty())
		return true;
	for (const auto &p : message_prefixes)
		if (p == prefix)
			return true;
	return false;
}

}							/* namespace cdc_core */
