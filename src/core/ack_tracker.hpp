/*
 * ack_tracker.hpp — which WAL position may be confirmed to the slot.
 *
 * The worker publishes each decoded transaction as a run of Kafka
 * messages. Kafka acknowledges them out of order across partitions; the
 * slot may only move past a transaction once every one of its messages is
 * acknowledged, and only when every earlier transaction is too (commit
 * order). The tracker keeps that bookkeeping and nothing else: no Kafka, no
 * PostgreSQL, just counters, so it is unit-tested on its own. Commit times
 * are PostgreSQL TimestampTz values (µs since 2000-01-01), kept as given.
 */
#ifndef CDC_ACK_TRACKER_HPP
#define CDC_ACK_TRACKER_HPP

#include "core_only.hpp"

#include <cstdint>
#include <deque>

namespace cdc_core {

class AckTracker
{
public:
	/* Identifies the transaction a message belongs to (its sequence number). */
	using TxnId = uint64_t;

	/* Opens a transaction if none is open; returns the open one's id. */
	TxnId open();

	/* Counts one more message of the open transaction as in flight. */
	TxnId add_message(uint64_t bytes);

	/*
	 * Closes the open transaction at its end LSN. A transaction that sent
	 * nothing needs no call: the caller just moves its decoded position.
	 */
	void seal(uint64_t end_lsn, int64_t commit_time_pg_us);

	/* One delivery report. Returns false for an id it does not know. */
	bool acknowledge(TxnId id, bool delivered);

	/*
	 * Takes every leading transaction whose messages are all acknowledged
	 * out of the queue; returns true and the newest one's end LSN and
	 * commit time if any moved. A
	 * transaction with an undelivered message never completes, nor does
	 * anything after it: the worker must start over from the last LSN
	 * handed out here.
	 */
	bool take_completed(uint64_t *end_lsn, int64_t *commit_time_pg_us);

	/* A leading transaction is complete: take_completed() would move it. */
	bool has_completed() const;

	/* A transaction is open (it has sent, or tried to send, a message). */
	bool has_open() const { return open_; }

	/* Nothing open and nothing waiting for an acknowledgement. */
	bool idle() const { return !open_ && queue_.empty(); }

	uint64_t messages_in_flight() const { return in_flight_messages_; }
	/* Commit time of the oldest sealed transaction not yet taken; 0 if none. */
	int64_t oldest_commit_time_pg_us() const;

	/* A message that could not even be queued (counted as failed). */
	void count_unsent() { failed_messages_++; }

	/* Counters since creation (acknowledged messages and transactions). */
	uint64_t acked_messages() const { return acked_messages_; }
	uint64_t acked_bytes() const { return acked_bytes_; }
	uint64_t acked_transactions() const { return acked_transactions_; }
	uint64_t failed_messages() const { return failed_messages_; }

private:
	struct Txn
	{
		TxnId id;
		uint64_t pending = 0;	/* messages sent, not yet acknowledged */
		uint64_t bytes = 0;		/* bytes of the pending messages */
		uint64_t end_lsn = 0;
		int64_t commit_time_pg_us = 0;	/* TimestampTz: µs since 2000-01-01 */
		bool sealed = false;
		bool failed = false;	/* a message was not delivered: never complete */
	};

	Txn *find(TxnId id);

	std::deque<Txn> queue_;		/* in commit order; back() is the open one if open_ */
	bool open_ = false;
	TxnId next_id_ = 1;
	uint64_t in_flight_messages_ = 0;
	uint64_t acked_messages_ = 0;
	uint64_t acked_bytes_ = 0;
	uint64_t acked_transactions_ = 0;
	uint64_t failed_messages_ = 0;
};

}							/* namespace cdc_core */

#endif							/* CDC_ACK_TRACKER_HPP */
