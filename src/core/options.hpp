/*
 * options.hpp — decoding options (wal2json-style kebab-case names).
 */
#ifndef CDC_OPTIONS_HPP
#define CDC_OPTIONS_HPP

#include <string>
#include <string_view>
#include <vector>

namespace cdc_core {

/* One schema.table pattern; '*' in either part matches any run of characters. */
struct TablePattern
{
	std::string schema;
	std::string table;
};

struct Options
{
	bool		include_transaction_events = false;
	bool		skip_empty_xacts = true;
	bool		include_messages = true;
	bool		include_type_names = false;
	bool		include_schema_events = false;
	std::vector<TablePattern> include_tables;
	std::vector<TablePattern> exclude_tables;
	std::vector<std::string> message_prefixes;
	std::vector<TablePattern> outbox_tables;
	std::string outbox_topic = "outbox.event.${aggregatetype}";
	/* outbox column per role (id, aggregatetype, aggregateid, type, payload, headers) */
	std::string outbox_columns[6] = {"id", "aggregatetype", "aggregateid", "type", "payload",
		"headers"};

	/* Applies one option (value may be NULL); throws CoreError on bad input. */
	void		set(std::string_view name, const char *value);

	bool		table_included(std::string_view schema, std::string_view table) const;
	bool		message_included(std::string_view prefix) const;
	bool		table_outbox(std::string_view schema, std::string_view table) const;
};

/* '*'-only glob match: '*' matches any (possibly empty) run of characters. */
bool		wildcard_match(std::string_view pattern, std::string_view text);

}							/* namespace cdc_core */

#endif							/* CDC_OPTIONS_HPP */
