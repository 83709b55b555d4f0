/*
 * ack_tracker_test.cpp — which LSN may be confirmed: only the end of the
 * newest transaction whose messages, and every earlier transaction's, Kafka
 * acknowledged, whatever order the delivery reports come in.
 */
#include <gtest/gtest.h>

#include "ack_tracker.hpp"

using cdc_core::AckTracker;

namespace {

/* The LSN take_completed hands out, or 0 when nothing completed. */
uint64_t
pop(AckTracker &t)
{
	uint64_t	lsn = 0;
	int64_t		when = 0;

	return t.take_completed(&lsn, &when) ? lsn : 0;
}

TEST(AckTracker, StartsIdle)
{
	AckTracker t;

	EXPECT_TRUE(t.idle());
	EXPECT_EQ(pop(t), 0u);
	EXPECT_EQ(t.messages_in_flight(), 0u);
}

TEST(AckTracker, TransactionCompletesWhenAllMessagesAcknowledged)
{
	AckTracker t;
	auto		a = t.add_message(10);
	auto		b = t.add_message(20);

	EXPECT_EQ(a, b);
	t.seal(1000, 42);
	EXPECT_FALSE(t.idle());
	EXPECT_TRUE(t.acknowledge(b, true));
	EXPECT_EQ(pop(t), 0u);		/* one message still in flight */
	EXPECT_TRUE(t.acknowledge(a, true));
	uint64_t	lsn = 0;
	int64_t		when = 0;

	ASSERT_TRUE(t.take_completed(&lsn, &when));
	EXPECT_EQ(lsn, 1000u);
	EXPECT_EQ(when, 42);
	EXPECT_TRUE(t.idle());
	EXPECT_EQ(t.acked_messages(), 2u);
	EXPECT_EQ(t.acked_bytes(), 30u);
	EXPECT_EQ(t.acked_transactions(), 1u);
}

TEST(AckTracker, OpenTransactionIsNeverConfirmed)
{
	AckTracker t;
	auto		id = t.add_message(1);

	EXPECT_TRUE(t.acknowledge(id, true));
	EXPECT_EQ(pop(t), 0u);		/* not sealed: its commit was not decoded yet */
	EXPECT_FALSE(t.idle());
	t.seal(500, 1);
	EXPECT_EQ(pop(t), 500u);
}

TEST(AckTracker, LaterTransactionWaitsForEarlierOne)
{
	AckTracker t;
	auto		first = t.add_message(1);

	t.seal(100, 1);
	auto		second = t.add_message(1);

	t.seal(200, 2);
	auto		third = t.add_message(1);

	t.seal(300, 3);
	/* reports across partitions arrive out of order */
	EXPECT_TRUE(t.acknowledge(third, true));
	EXPECT_TRUE(t.acknowledge(second, true));
	EXPECT_EQ(pop(t), 0u);
	EXPECT_EQ(t.oldest_commit_time_pg_us(), 1);
	EXPECT_TRUE(t.acknowledge(first, true));
	EXPECT_EQ(pop(t), 300u);	/* all three at once: the newest end wins */
	EXPECT_TRUE(t.idle());
}

TEST(AckTracker, FailedDeliveryHoldsTheTransactionBack)
{
	AckTracker t;
	auto		first = t.add_message(5);

	t.seal(100, 1);
	auto		second = t.add_message(5);

	t.seal(200, 2);
	EXPECT_TRUE(t.acknowledge(second, true));
	EXPECT_TRUE(t.acknowledge(first, false));
	/* the message left the queue, but it is not acknowledged: */
	EXPECT_EQ(t.messages_in_flight(), 0u);
	EXPECT_EQ(t.failed_messages(), 1u);
	EXPECT_EQ(t.acked_messages(), 1u);
	/* neither it nor the later transaction may ever be confirmed */
	EXPECT_EQ(pop(t), 0u);
	EXPECT_EQ(pop(t), 0u);
	EXPECT_FALSE(t.idle());
}

TEST(AckTracker, UnknownOrDuplicateReportsAreRejected)
{
	AckTracker t;
	auto		id = t.add_message(1);

	t.seal(100, 1);
	EXPECT_FALSE(t.acknowledge(id + 1, true));
	EXPECT_TRUE(t.acknowledge(id, true));
	EXPECT_FALSE(t.acknowledge(id, true));	/* already counted */
	EXPECT_EQ(t.messages_in_flight(), 0u);
}

TEST(AckTracker, SealWithoutOpenThrows)
{
	AckTracker t;

	EXPECT_ANY_THROW(t.seal(1, 1));
}

TEST(AckTracker, ManyTransactionsConfirmInCommitOrder)
{
	AckTracker t;
	std::vector<AckTracker::TxnId> ids;

	for (uint64_t i = 1; i <= 1000; i++)
	{
		ids.push_back(t.add_message(1));
		ids.push_back(t.add_message(1));
		t.seal(i * 10, static_cast<int64_t>(i));
	}
	/* acknowledge back to front: nothing completes until the first one */
	for (size_t i = ids.size(); i-- > 2;)
		EXPECT_TRUE(t.acknowledge(ids[i], true));
	EXPECT_EQ(pop(t), 0u);
	EXPECT_TRUE(t.acknowledge(ids[0], true));
	EXPECT_EQ(pop(t), 0u);
	EXPECT_TRUE(t.acknowledge(ids[1], true));
	EXPECT_EQ(pop(t), 10000u);
	EXPECT_EQ(t.acked_transactions(), 1000u);
}

TEST(AckTracker, LookingDoesNotTake)
{
	AckTracker t;
	auto		id = t.add_message(1);

	t.seal(100, 7);
	EXPECT_TRUE(t.acknowledge(id, true));
	/* asking any number of times leaves the completed transaction in place */
	EXPECT_TRUE(t.has_completed());
	EXPECT_TRUE(t.has_completed());
	EXPECT_FALSE(t.idle());
	EXPECT_EQ(t.oldest_commit_time_pg_us(), 7);
	EXPECT_EQ(t.acked_transactions(), 0u);
	/* only taking moves it, once */
	EXPECT_EQ(pop(t), 100u);
	EXPECT_FALSE(t.has_completed());
	EXPECT_EQ(pop(t), 0u);
	EXPECT_TRUE(t.idle());
	EXPECT_EQ(t.acked_transactions(), 1u);
}

TEST(AckTracker, AnOpenTransactionCutShortHoldsBackOnlyWhatFollows)
{
	AckTracker t;
	auto		first = t.add_message(1);

	t.seal(100, 1);
	/* the second transaction sent one message, then its session was abandoned */
	auto		second = t.add_message(1);

	EXPECT_TRUE(t.acknowledge(second, true));
	EXPECT_TRUE(t.acknowledge(first, true));
	EXPECT_EQ(pop(t), 100u);
	EXPECT_EQ(t.messages_in_flight(), 0u);
	EXPECT_FALSE(t.idle());		/* never sealed: never confirmed */
	EXPECT_EQ(pop(t), 0u);
}

}							/* namespace */
