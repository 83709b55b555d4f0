/*
 * ack_tracker.cpp — confirm-after-acknowledgement bookkeeping (see the
 * header). Transactions are kept in commit order; ids grow with that order,
 * so a delivery report finds its transaction by binary search.
 */
#include "core_only.hpp"

#include "ack_tracker.hpp"

#include <algorithm>

#include "core_util.hpp"

namespace cdc_core {

AckTracker::TxnId
AckTracker::open()
{
	if (!open_)
	{
		Txn t;
		t.id = next_id_++;
		queue_.push_back(t);
		open_ = true;
	}
	return queue_.back().id;
}

AckTracker::TxnId
AckTracker::add_message(uint64_t bytes)
{
	open();
	Txn &t = queue_.back();
	t.pending++;
	t.bytes += bytes;
	in_flight_messages_++;
	return t.id;
}

void
AckTracker::seal(uint64_t end_lsn, int64_t commit_time_pg_us)
{
	if (!open_)
		fail("a transaction was sealed without being opened");
	Txn &t = queue_.back();
	t.end_lsn = end_lsn;
	t.commit_time_pg_us = commit_time_pg_us;
	t.sealed = true;
	open_ = false;
}

AckTracker::Txn *
AckTracker::find(TxnId id)
{
	auto it = std::lower_bound(queue_.begin(), queue_.end(), id,
							   [](const Txn &t, TxnId v) { return t.id < v; });
	if (it == queue_.end() || it->id != id)
		return nullptr;
	return &*it;
}

bool
AckTracker::acknowledge(TxnId id, bool delivered)
{
	Txn *t = find(id);

	if (t == nullptr || t->pending == 0)
		return false;
	t->pending--;
	in_flight_messages_--;
	if (delivered)
		acked_messages_++;
	else
	{
		failed_messages_++;
		t->failed = true;
	}
	return true;
}

bool
AckTracker::has_completed() const
{
	return !queue_.empty() && queue_.front().sealed && queue_.front().pending == 0 &&
		!queue_.front().failed;
}

bool
AckTracker::take_completed(uint64_t *end_lsn, int64_t *commit_time_pg_us)
{
	bool moved = false;

	while (has_completed())
	{
		const Txn &t = queue_.front();

		*end_lsn = t.end_lsn;
		*commit_time_pg_us = t.commit_time_pg_us;
		acked_bytes_ += t.bytes;
		acked_transactions_++;
		queue_.pop_front();
		moved = true;
	}
	return moved;
}

int64_t
AckTracker::oldest_commit_time_pg_us() const
{
	for (const Txn &t : queue_)
		if (t.sealed)
			return t.commit_time_pg_us;
	return 0;
}

}							/* namespace cdc_core */
