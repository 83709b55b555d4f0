/*
 * topic_name.hpp — the Kafka topic of a table: <prefix>.<schema>.<table>,
 * with an escape that keeps the mapping injective (see topic_name.cpp and
 * README, "Publish to Kafka"). Shared by the worker (through cdc_kafka.h)
 * and the test tools' verifier, so both derive the same name.
 */
#ifndef CDC_TOPIC_NAME_HPP
#define CDC_TOPIC_NAME_HPP

#include <cstddef>
#include <string>
#include <string_view>

namespace cdc_core {

/* Kafka's limit on the length of a topic name. */
constexpr std::size_t kTopicNameMax = 249;

/* Appends one escaped schema or table name (bytes as they are, UTF-8). */
void		append_topic_name_part(std::string &out, std::string_view name);

/*
 * The topic of schema.table under prefix; at most kTopicNameMax
 * characters, all of them in [a-zA-Z0-9._-].
 */
std::string topic_name(std::string_view prefix, std::string_view schema,
					   std::string_view table);

/*
 * Why Kafka would refuse topic as a topic name, or "" when it accepts it:
 * 1 to kTopicNameMax characters of [A-Za-z0-9._-], neither "." nor "..".
 * A bad character is named by its position (1-based, in bytes) and kind.
 */
std::string topic_name_problem(std::string_view topic);

/* SHA-256 of data as 64 lowercase hex digits. */
std::string sha256_hex(std::string_view data);

}							/* namespace cdc_core */

#endif							/* CDC_TOPIC_NAME_HPP */
