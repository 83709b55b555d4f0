/*
 * snapshot_chunk.hpp — the rows of one snapshot chunk while its watermark
 * window is open.
 *
 * A chunk holds, in key order, each row read by the snapshot as its key
 * (the encoded key Row, the same bytes a streamed change of that row
 * carries) and its envelope without source. While the window is open,
 * every streamed change of the table drops its key from the chunk; at the
 * high watermark what is left is published. No PostgreSQL, no Kafka: plain
 * bookkeeping, unit-tested on its own.
 */
#ifndef CDC_SNAPSHOT_CHUNK_HPP
#define CDC_SNAPSHOT_CHUNK_HPP

#include "core_only.hpp"

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cdc_core {

class SnapshotChunk
{
public:
	/* Adds a row; a key already held is replaced (the later read wins). */
	void add(std::string_view key, std::string_view part);

	/* Drops the row of key; true if it was held. */
	bool drop(std::string_view key);

	/* Drops every row (a TRUNCATE in the window). */
	void drop_all();

	/* Forgets everything (a new chunk). */
	void clear();

	size_t added() const { return rows_.size(); }	/* dropped rows included */
	size_t left() const { return index_.size(); }
	size_t bytes() const { return bytes_; }		/* of the rows left */

	/* Row i in read order; false when it was dropped. */
	bool get(size_t i, std::string_view *key, std::string_view *part) const;

private:
	struct Row
	{
		std::string key;
		std::string part;
		bool dropped = false;
	};

	std::deque<Row> rows_;		/* stable addresses: index_ views their keys */
	std::unordered_map<std::string_view, size_t> index_;	/* live rows */
	size_t bytes_ = 0;
};

}							/* namespace cdc_core */

#endif							/* CDC_SNAPSHOT_CHUNK_HPP */
