/*
 * snapshot_chunk.cpp — see snapshot_chunk.hpp; the C API is in cdc_core.h.
 */
#include "snapshot_chunk.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <new>
#include <stdexcept>

#include "cdc_core.h"
#include "core_util.hpp"

namespace cdc_core {

namespace {

constexpr size_t npos = static_cast<size_t>(-1);

size_t
hash_key(std::string_view key)
{
	return std::hash<std::string_view>()(key);
}

}							/* namespace */

char *
SnapshotChunk::store(size_t n)
{
	if (blocks_.empty() || blocks_.back().size - blocks_.back().used < n)
	{
		size_t		size = n > kBlockSize ? n : kBlockSize;

		blocks_.push_back(Block{std::unique_ptr<char[]>(new char[size]), size, 0});
	}
	Block	   &b = blocks_.back();
	char	   *p = b.data.get() + b.used;

	b.used += n;
	return p;
}

size_t
SnapshotChunk::find_live(std::string_view key, size_t hash) const
{
	if (index_.empty())
		return npos;
	size_t		mask = index_.size() - 1;

	for (size_t i = hash & mask;; i = (i + 1) & mask)
	{
		uint32_t	e = index_[i];

		if (e == 0)
			return npos;
		const Row  &r = rows_[e - 1];

		if (!r.dropped && key_of(r) == key)
			return e - 1;
	}
}

void
SnapshotChunk::insert_index(size_t row, size_t hash)
{
	size_t		mask = index_.size() - 1;

	for (size_t i = hash & mask;; i = (i + 1) & mask)
		if (index_[i] == 0)
		{
			index_[i] = static_cast<uint32_t>(row + 1);
			return;
		}
}

void
SnapshotChunk::grow_index()
{
	size_t		size = index_.empty() ? 1024 : index_.size() * 2;

	index_.assign(size, 0);
	for (size_t i = 0; i < rows_.size(); i++)
		if (!rows_[i].dropped)
			insert_index(i, hash_key(key_of(rows_[i])));
}

void
SnapshotChunk::add(std::string_view key, std::string_view part)
{
	if (key.size() > UINT32_MAX || part.size() > UINT32_MAX || rows_.size() >= UINT32_MAX - 1)
		throw std::length_error("snapshot chunk row too large");
	size_t		hash = hash_key(key);
	size_t		old = find_live(key, hash);

	if (old != npos)
	{
		rows_[old].dropped = true;
		left_--;
		bytes_ -= rows_[old].keylen + rows_[old].partlen;
	}
	/* at most half full: probes stay short (dropped rows keep their slots) */
	if ((rows_.size() + 1) * 2 > index_.size())
		grow_index();

	char	   *p = store(key.size() + part.size());

	if (!key.empty())
		std::memcpy(p, key.data(), key.size());
	if (!part.empty())
		std::memcpy(p + key.size(), part.data(), part.size());
	rows_.push_back(Row{p, static_cast<uint32_t>(key.size()),
						static_cast<uint32_t>(part.size()), false});
	insert_index(rows_.size() - 1, hash);
	left_++;
	bytes_ += key.size() + part.size();
}

bool
SnapshotChunk::drop(std::string_view key)
{
	size_t		i = find_live(key, hash_key(key));

	if (i == npos)
		return false;
	rows_[i].dropped = true;
	left_--;
	bytes_ -= rows_[i].keylen + rows_[i].partlen;
	return true;
}

void
SnapshotChunk::drop_all()
{
	for (auto &row : rows_)
		row.dropped = true;
	left_ = 0;
	bytes_ = 0;
}

void
SnapshotChunk::clear()
{
	rows_.clear();
	std::fill(index_.begin(), index_.end(), 0);
	/* keep one ordinary block; oversized ones and the rest go */
	if (!blocks_.empty())
	{
		size_t		keep = 0;

		while (keep < blocks_.size() && blocks_[keep].size != kBlockSize)
			keep++;
		if (keep < blocks_.size())
		{
			Block		b = std::move(blocks_[keep]);

			blocks_.clear();
			b.used = 0;
			blocks_.push_back(std::move(b));
		}
		else
			blocks_.clear();
	}
	/* an index grown for a huge chunk is not kept */
	if (index_.size() > (size_t{1} << 16))
		std::vector<uint32_t>().swap(index_);
	left_ = 0;
	bytes_ = 0;
}

bool
SnapshotChunk::get(size_t i, std::string_view *key, std::string_view *part) const
{
	if (i >= rows_.size() || rows_[i].dropped)
		return false;
	*key = key_of(rows_[i]);
	*part = std::string_view(rows_[i].data + rows_[i].keylen, rows_[i].partlen);
	return true;
}

}							/* namespace cdc_core */

struct cdc_chunk
{
	cdc_core::SnapshotChunk impl;
};

extern "C" cdc_chunk *
cdc_chunk_create(char *errbuf, size_t errlen)
{
	try
	{
		return new cdc_chunk();
	}
	catch (...)
	{
		cdc_core::report_current_exception(errbuf, errlen);
		return nullptr;
	}
}

extern "C" void
cdc_chunk_destroy(cdc_chunk *c)
{
	delete c;
}

extern "C" int
cdc_chunk_add(cdc_chunk *c, const char *key, size_t keylen, const char *part, size_t partlen,
			  char *errbuf, size_t errlen)
{
	try
	{
		c->impl.add(std::string_view(key, keylen), std::string_view(part, partlen));
		return 0;
	}
	catch (...)
	{
		cdc_core::report_current_exception(errbuf, errlen);
		return -1;
	}
}

extern "C" bool
cdc_chunk_drop(cdc_chunk *c, const char *key, size_t keylen)
{
	/* a lookup and a flag: allocates nothing, throws nothing */
	return c->impl.drop(std::string_view(key, keylen));
}

extern "C" void
cdc_chunk_drop_all(cdc_chunk *c)
{
	c->impl.drop_all();
}

extern "C" void
cdc_chunk_clear(cdc_chunk *c)
{
	try
	{
		c->impl.clear();
	}
	catch (...)
	{
		/* std::fill and frees do not throw; nothing to report */
	}
}

extern "C" size_t
cdc_chunk_added(const cdc_chunk *c)
{
	return c->impl.added();
}

extern "C" size_t
cdc_chunk_left(const cdc_chunk *c)
{
	return c->impl.left();
}

extern "C" size_t
cdc_chunk_bytes(const cdc_chunk *c)
{
	return c->impl.bytes();
}

extern "C" bool
cdc_chunk_get(const cdc_chunk *c, size_t i, cdc_bytes *key, cdc_bytes *part)
{
	std::string_view k,
				p;

	if (!c->impl.get(i, &k, &p))
		return false;
	key->data = k.data();
	key->len = k.size();
	part->data = p.data();
	part->len = p.size();
	return true;
}
