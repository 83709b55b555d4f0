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
 *
 * Rows are appended to large blocks (no allocation per row) and found by
 * an open-addressing index over their keys; a chunk is read, filtered and
 * published tens of times a second, so this is on the snapshot's hot path.
 */
#ifndef CDC_SNAPSHOT_CHUNK_HPP
#define CDC_SNAPSHOT_CHUNK_HPP

#include "core_only.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

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

	/* Forgets everything (a new chunk); keeps one block for the next. */
	void clear();

	size_t added() const { return rows_.size(); }	/* dropped rows included */
	size_t left() const { return left_; }
	size_t bytes() const { return bytes_; }		/* of the rows left */

	/* Row i in read order; false when it was dropped. */
	bool get(size_t i, std::string_view *key, std::string_view *part) const;

private:
	static constexpr size_t kBlockSize = size_t{1} << 20;

	struct Row
	{
		const char *data;		/* key, then part, in a block */
		uint32_t	keylen;
		uint32_t	partlen;
		bool		dropped;
	};
	struct Block
	{
		std::unique_ptr<char[]> data;
		size_t		size;
		size_t		used;
	};

	char	   *store(size_t n);
	std::string_view key_of(const Row &r) const { return std::string_view(r.data, r.keylen); }
	size_t		find_live(std::string_view key, size_t hash) const;	/* row index, or npos */
	void		insert_index(size_t row, size_t hash);
	void		grow_index();

	std::vector<Block> blocks_;
	std::vector<Row> rows_;
	std::vector<uint32_t> index_;	/* 0: empty, else row index + 1; size a power of 2 */
	size_t		left_ = 0;
	size_t		bytes_ = 0;
};

}							/* namespace cdc_core */

#endif							/* CDC_SNAPSHOT_CHUNK_HPP */
