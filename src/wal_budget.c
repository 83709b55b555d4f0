/*
 * wal_budget.c — the worker's slot against max_slot_wal_keep_size: what
 * status() shows of it, and the worker's warnings before PostgreSQL
 * invalidates the slot.
 *
 * The figures are PostgreSQL's own (GetWALAvailability(), and safe_wal_size
 * computed as pg_replication_slots computes it), so status() and
 * pg_replication_slots agree. The warnings are the worker's: it looks at
 * most once a second, logs one line per level crossed (never one per look),
 * and never quotes a setting's value. Never invalidates, drops or advances
 * the slot: that is PostgreSQL's and the operator's business.
 */
#include "postgres.h"

#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "replication/slot.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "config.h"
#include "wal_budget.h"

#define CDC_BUDGET_CHECK_MS 1000	/* the worker looks this often at most */

void
cdc_wal_budget_read(const char *slot_name, CdcWalBudget *budget)
{
	XLogRecPtr	invalidated_at = InvalidXLogRecPtr;
	int			active_pid = 0;
	XLogRecPtr	now_lsn;

	memset(budget, 0, sizeof(*budget));
	budget->wal_status = WALAVAIL_INVALID_LSN;
	budget->limited = max_slot_wal_keep_size_mb >= 0;
	if (budget->limited)
		budget->budget_bytes = (int64) max_slot_wal_keep_size_mb * 1024 * 1024;

	if (slot_name != NULL)
	{
		ReplicationSlot *slot;

		LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
		slot = SearchNamedReplicationSlot(slot_name, false);
		if (slot != NULL)
		{
			SpinLockAcquire(&slot->mutex);
			budget->slot_exists = true;
			budget->confirmed_lsn = slot->data.confirmed_flush;
			budget->restart_lsn = slot->data.restart_lsn;
			invalidated_at = slot->data.invalidated_at;
			active_pid = slot->active_pid;
			SpinLockRelease(&slot->mutex);
		}
		LWLockRelease(ReplicationSlotControlLock);
	}
	if (!budget->slot_exists)
		return;

	/* as pg_replication_slots decides wal_status */
	if (XLogRecPtrIsInvalid(budget->restart_lsn) && !XLogRecPtrIsInvalid(invalidated_at))
		budget->wal_status = WALAVAIL_REMOVED;
	else
		budget->wal_status = GetWALAvailability(budget->restart_lsn);

	/*
	 * Its restart segment is gone but a process still holds the slot: that
	 * process may have moved past it since we looked, so PostgreSQL calls
	 * this "unreserved" (it says "lost" only once nobody holds the slot).
	 */
	if (budget->wal_status == WALAVAIL_REMOVED &&
		!XLogRecPtrIsInvalid(budget->restart_lsn) && active_pid != 0)
		budget->wal_status = WALAVAIL_UNRESERVED;

	now_lsn = RecoveryInProgress() ? InvalidXLogRecPtr : GetFlushRecPtr(NULL);
	if (!XLogRecPtrIsInvalid(now_lsn) && !XLogRecPtrIsInvalid(budget->restart_lsn))
	{
		budget->has_retained = true;
		budget->retained_bytes = now_lsn > budget->restart_lsn ?
			(int64) (now_lsn - budget->restart_lsn) : 0;
	}

	/*
	 * safe_wal_size: the slot is invalidated when the WAL being written
	 * reaches the segment after the last one it may keep, the larger of
	 * max_slot_wal_keep_size and wal_keep_size past its restart segment.
	 */
	if (budget->limited && budget->wal_status != WALAVAIL_REMOVED &&
		!XLogRecPtrIsInvalid(budget->restart_lsn))
	{
		XLogSegNo	restart_seg;
		XLogSegNo	fail_seg;
		XLogRecPtr	fail_lsn;
		uint64		slot_keep_segs = XLogMBVarToSegs(max_slot_wal_keep_size_mb, wal_segment_size);
		uint64		keep_segs = XLogMBVarToSegs(wal_keep_size_mb, wal_segment_size);

		XLByteToSeg(budget->restart_lsn, restart_seg, wal_segment_size);
		fail_seg = restart_seg + Max(slot_keep_segs, keep_segs) + 1;
		XLogSegNoOffsetToRecPtr(fail_seg, 0, wal_segment_size, fail_lsn);
		budget->has_safe = true;
		budget->safe_bytes = (int64) (fail_lsn - GetXLogWriteRecPtr());
	}

	if (budget->limited && budget->budget_bytes > 0 && budget->has_retained)
	{
		budget->has_used = true;
		budget->used = (double) budget->retained_bytes / (double) budget->budget_bytes;
	}
}

const char *
cdc_wal_status_name(WALAvailability status)
{
	switch (status)
	{
		case WALAVAIL_RESERVED:
			return "reserved";
		case WALAVAIL_EXTENDED:
			return "extended";
		case WALAVAIL_UNRESERVED:
			return "unreserved";
		case WALAVAIL_REMOVED:
			return "lost";
		case WALAVAIL_INVALID_LSN:
			break;
	}
	return NULL;
}

/* ---------------------------------------------------------------------
 * The worker's warnings
 * ---------------------------------------------------------------------
 */

/* What the worker said last; reset only by a line that says so. */
static int	warned_level = 0;	/* the highest percentage warned about; 0: none */
static bool warned_bytes = false;	/* past cdc_plugin.wal_retained_warn_bytes */
static int	known_limited = -1; /* max_slot_wal_keep_size set (1) or not (0) at the last look */
static TimestampTz last_look = 0;

/* The cause, for the detail line. */
static const char *
cdc_cause_text(CdcRetentionCause cause)
{
	switch (cause)
	{
		case CDC_RETENTION_BROKER_DOWN:
			return _("the worker cannot reach any Kafka broker (broker is down in cdc_plugin.status())");
		case CDC_RETENTION_CONFIGURATION:
			return _("a configuration error keeps the worker from publishing (state and last_error in cdc_plugin.status())");
		case CDC_RETENTION_DELIVERY:
			return _("Kafka refuses messages and the worker keeps retrying (delivery_errors and last_error in cdc_plugin.status())");
		case CDC_RETENTION_BEHIND:
			break;
	}
	return _("the worker is behind: it publishes more slowly than WAL is written, or a large transaction or snapshot is being published");
}

/* What to do about the cause, for the hint. */
static const char *
cdc_cause_hint(CdcRetentionCause cause)
{
	switch (cause)
	{
		case CDC_RETENTION_BROKER_DOWN:
			return _("Make a Kafka broker reachable from the database server (network, TLS, SASL); the worker then catches up by itself.");
		case CDC_RETENTION_CONFIGURATION:
			return _("Fix the setting the server log names and reload the configuration.");
		case CDC_RETENTION_DELIVERY:
			return _("Fix what Kafka refuses (see the server log: topic authorization, message size), then reload the configuration.");
		case CDC_RETENTION_BEHIND:
			break;
	}
	return _("Watch lag and wal_behind_bytes in cdc_plugin.status(); if the worker does not catch up, give it time by raising max_slot_wal_keep_size.");
}

/* Bytes for a message, as pg_size_pretty() writes them. */
static char *
cdc_pretty_bytes(int64 bytes)
{
	return text_to_cstring(DatumGetTextPP(DirectFunctionCall1(pg_size_pretty,
															  Int64GetDatum(bytes))));
}

static void
cdc_warn_unlimited(const char *slot_name)
{
	ereport(WARNING,
			(errmsg("cdc_plugin replication slot \"%s\" may retain WAL until the disk is full: max_slot_wal_keep_size sets no limit",
					slot_name),
			 errdetail("While the worker cannot publish, PostgreSQL keeps all WAL from the slot's restart position on."),
			 errhint("Set max_slot_wal_keep_size so that PostgreSQL invalidates the slot before the disk fills; the worker then warns as the slot approaches that limit.")));
}

void
cdc_wal_budget_worker_start(const char *slot_name)
{
	known_limited = max_slot_wal_keep_size_mb >= 0;
	if (!known_limited)
		cdc_warn_unlimited(slot_name);
}

/* With max_slot_wal_keep_size: the percentage levels. */
static void
cdc_watch_levels(const char *slot_name, const CdcWalBudget *budget, CdcRetentionCause cause)
{
	double		percent = budget->used * 100.0;
	int			reached = 0;
	int			i;

	for (i = 0; i < cdc_wal_budget_nlevels; i++)
		if (percent >= cdc_wal_budget_levels[i])
			reached = cdc_wal_budget_levels[i];

	if (reached > warned_level)
	{
		ereport(WARNING,
				(errmsg("cdc_plugin replication slot \"%s\" retains WAL past %d%% of max_slot_wal_keep_size",
						slot_name, reached),
				 errdetail("It retains %s of WAL; after %s more, PostgreSQL invalidates it at a checkpoint and the changes not yet in Kafka are lost. Cause: %s.",
						   cdc_pretty_bytes(budget->retained_bytes),
						   cdc_pretty_bytes(budget->has_safe ? Max(budget->safe_bytes, 0) : 0),
						   cdc_cause_text(cause)),
				 errhint("%s", cdc_cause_hint(cause))));
		warned_level = reached;
	}
	else if (warned_level > 0 && reached == 0)
	{
		if (cdc_wal_budget_nlevels > 0)
			ereport(LOG,
					(errmsg("cdc_plugin replication slot \"%s\" is back below %d%% of max_slot_wal_keep_size",
							slot_name, cdc_wal_budget_levels[0])));
		warned_level = 0;
	}
}

/* Without max_slot_wal_keep_size: cdc_plugin.wal_retained_warn_bytes. */
static void
cdc_watch_bytes(const char *slot_name, const CdcWalBudget *budget, CdcRetentionCause cause)
{
	int64		threshold = (int64) cdc_wal_retained_warn_mb * 1024 * 1024;

	if (threshold == 0)
		warned_bytes = false;
	else if (!warned_bytes && budget->retained_bytes >= threshold)
	{
		ereport(WARNING,
				(errmsg("cdc_plugin replication slot \"%s\" retains more WAL than cdc_plugin.wal_retained_warn_bytes",
						slot_name),
				 errdetail("It retains %s of WAL, and only the disk limits it. Cause: %s.",
						   cdc_pretty_bytes(budget->retained_bytes), cdc_cause_text(cause)),
				 errhint("%s Set max_slot_wal_keep_size to keep the slot from filling the disk.",
						 cdc_cause_hint(cause))));
		warned_bytes = true;
	}
	else if (warned_bytes && budget->retained_bytes < threshold / 2)
	{
		ereport(LOG,
				(errmsg("cdc_plugin replication slot \"%s\" is back below half of cdc_plugin.wal_retained_warn_bytes",
						slot_name)));
		warned_bytes = false;
	}
}

void
cdc_wal_budget_watch(const char *slot_name, CdcRetentionCause cause)
{
	TimestampTz now = GetCurrentTimestamp();
	CdcWalBudget budget;

	if (!TimestampDifferenceExceeds(last_look, now, CDC_BUDGET_CHECK_MS))
		return;
	last_look = now;
	cdc_wal_budget_read(slot_name, &budget);

	/* a reload changed max_slot_wal_keep_size: the other kind of warning applies */
	if (known_limited != (int) budget.limited)
	{
		if (!budget.limited)
			cdc_warn_unlimited(slot_name);
		known_limited = budget.limited;
		warned_level = 0;
		warned_bytes = false;
	}
	/* no slot yet, or a lost one (the worker says so elsewhere) */
	if (!budget.slot_exists || budget.wal_status == WALAVAIL_REMOVED || !budget.has_retained)
		return;
	if (budget.limited)
	{
		if (budget.has_used)
			cdc_watch_levels(slot_name, &budget, cause);
	}
	else
		cdc_watch_bytes(slot_name, &budget, cause);
}
