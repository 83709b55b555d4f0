/*
 * snapshot_chunk.cpp — see snapshot_chunk.hpp; the C API is in cdc_core.h.
 */
#include "snapshot_chunk.hpp"

#include <new>

#include "cdc_core.h"
#include "core_util.hpp"

namespace cdc_core {

void
SnapshotChunk::add(std::string_view key, std::string_view part)
{
	drop(key);
	rows_.push_back(Row{std::string(key), std::string(part), false});
	const Row &row = rows_.back();

	index_.emplace(std::string_view(row.key), rows_.size() - 1);
	bytes_ += row.key.size() + row.part.size();
}

bool
SnapshotChunk::drop(std::string_view key)
{
	auto		it = index_.find(key);

	if (it == index_.end())
		return false;
	Row		   &row = rows_[it->second];

	bytes_ -= row.key.size() + row.part.size();
	row.dropped = true;
	index_.erase(it);
	/* the strings stay until clear(): index_ may not view them any more */
	std::string().swap(row.part);
	return true;
}

void
SnapshotChunk::drop_all()
{
	for (auto &row : rows_)
	{
		row.dropped = true;
		std::string().swap(row.part);
	}
	index_.clear();
	bytes_ = 0;
}

void
SnapshotChunk::clear()
{
	index_.clear();
	rows_.clear();
	bytes_ = 0;
}

bool
SnapshotChunk::get(size_t i, std::string_view *key, std::string_view *part) const
{
	if (i >= rows_.size() || rows_[i].dropped)
		return false;
	*key = rows_[i].key;
	*part = rows_[i].part;
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
	/* find and erase allocate nothing: nothing to catch */
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
	c->impl.clear();
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
