/*
 * The rows of a snapshot chunk: what streamed changes drop, and what is
 * left to publish at the high watermark, in read order.
 */
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cdc_core.h"

namespace {

struct Chunk
{
	cdc_chunk  *c;
	char		err[CDC_ERRBUF_SIZE];

	Chunk() : c(cdc_chunk_create(err, sizeof(err))) {}
	~Chunk() { cdc_chunk_destroy(c); }

	void add(const std::string &key, const std::string &part)
	{
		ASSERT_EQ(cdc_chunk_add(c, key.data(), key.size(), part.data(), part.size(),
								err, sizeof(err)), 0) << err;
	}
	bool drop(const std::string &key) { return cdc_chunk_drop(c, key.data(), key.size()); }

	/* "key=part" of the rows left, in read order */
	std::vector<std::string> left() const
	{
		std::vector<std::string> out;

		for (size_t i = 0; i < cdc_chunk_added(c); i++)
		{
			cdc_bytes	k,
						p;

			if (cdc_chunk_get(c, i, &k, &p))
				out.push_back(std::string(k.data, k.len) + "=" + std::string(p.data, p.len));
		}
		return out;
	}
};

TEST(SnapshotChunk, KeepsRowsInReadOrder)
{
	Chunk		ch;

	ch.add("k3", "c");
	ch.add("k1", "a");
	ch.add("k2", "b");
	EXPECT_EQ(ch.left(), (std::vector<std::string>{"k3=c", "k1=a", "k2=b"}));
	EXPECT_EQ(cdc_chunk_left(ch.c), 3u);
	EXPECT_EQ(cdc_chunk_bytes(ch.c), 9u);
}

TEST(SnapshotChunk, AStreamedChangeDropsItsKeyOnly)
{
	Chunk		ch;

	ch.add("k1", "a");
	ch.add("k2", "b");
	ch.add("k3", "c");
	EXPECT_TRUE(ch.drop("k2"));
	EXPECT_FALSE(ch.drop("k2"));	/* a second change of the same key */
	EXPECT_FALSE(ch.drop("k9"));	/* a key outside the chunk */
	EXPECT_EQ(ch.left(), (std::vector<std::string>{"k1=a", "k3=c"}));
	EXPECT_EQ(cdc_chunk_added(ch.c), 3u);
	EXPECT_EQ(cdc_chunk_left(ch.c), 2u);
	EXPECT_EQ(cdc_chunk_bytes(ch.c), 6u);
}

TEST(SnapshotChunk, KeysAreComparedAsBytes)
{
	Chunk		ch;
	std::string with_nul("k\0x", 3);

	ch.add(with_nul, "a");
	EXPECT_FALSE(ch.drop("k"));
	EXPECT_TRUE(ch.drop(with_nul));
	EXPECT_TRUE(ch.left().empty());
}

TEST(SnapshotChunk, TruncateDropsEverythingAndClearStartsOver)
{
	Chunk		ch;

	ch.add("k1", "a");
	ch.add("k2", "b");
	cdc_chunk_drop_all(ch.c);
	EXPECT_TRUE(ch.left().empty());
	EXPECT_EQ(cdc_chunk_bytes(ch.c), 0u);
	EXPECT_FALSE(ch.drop("k1"));
	cdc_chunk_clear(ch.c);
	EXPECT_EQ(cdc_chunk_added(ch.c), 0u);
	ch.add("k1", "again");
	EXPECT_EQ(ch.left(), (std::vector<std::string>{"k1=again"}));
}

TEST(SnapshotChunk, AKeyReadTwiceKeepsTheLaterRow)
{
	Chunk		ch;

	ch.add("k1", "old");
	ch.add("k1", "new");
	EXPECT_EQ(ch.left(), (std::vector<std::string>{"k1=new"}));
	EXPECT_EQ(cdc_chunk_left(ch.c), 1u);
}

TEST(SnapshotChunk, ManyRowsSurviveGrowth)
{
	Chunk		ch;

	/* short keys live inside std::string: the index must not view moved ones */
	for (int i = 0; i < 10000; i++)
		ch.add("k" + std::to_string(i), "p");
	for (int i = 0; i < 10000; i += 2)
		EXPECT_TRUE(ch.drop("k" + std::to_string(i)));
	EXPECT_EQ(cdc_chunk_left(ch.c), 5000u);
	EXPECT_FALSE(ch.drop("k0"));
	EXPECT_TRUE(ch.drop("k9999"));
}

}							/* namespace */
