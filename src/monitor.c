/*
 * monitor.c — the worker's status in shared memory and cdc_plugin.status().
 *
 * One struct in shared memory, guarded by a spinlock, written by the
 * launcher and the worker (and by stop_publishing(), which sets the flag
 * that keeps the worker stopped) and read by status(). It outlives the worker,
 * so counters go on from where the last worker left them. Slot positions are read
 * from the slot itself, so status() tells the truth about WAL retention
 * even while the worker is down. Never blocks, never allocates in shared
 * memory after startup.
 */
#include "postgres.h"

#include <signal.h>

#include "access/xlog.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "config.h"
#include "monitor.h"
#include "wal_budget.h"

#define CDC_STATE_LEN 64
#define CDC_ERROR_LEN 1024

typedef struct CdcSharedStatus
{
	slock_t		mutex;
	int			worker_pid;
	Latch	   *worker_latch;	/* set by committing backends */
	Oid			worker_database;	/* ... of this database */
	char		state[CDC_STATE_LEN];
	TimestampTz state_since;
	char		database[NAMEDATALEN];
	char		slot_name[NAMEDATALEN];
	CdcWorkerCounters counters;
	uint64		restarts;
	char		last_error[CDC_ERROR_LEN];
	TimestampTz last_error_time;
	bool		last_error_is_configuration;	/* set with "configuration error" */
	uint64		snapshot_requests;	/* bumped when a request or cancel commits */
	CdcSnapshotProgress snapshot;	/* the running snapshot; id 0: none */
	CdcGapSummary gaps;			/* set by the worker from cdc_plugin.gap_log */
	bool		stop_requested; /* stop_publishing(): no worker until the server restarts */
} CdcSharedStatus;

static CdcSharedStatus *cdc_status = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

PG_FUNCTION_INFO_V1(cdc_plugin_status);

static void
cdc_monitor_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(CdcSharedStatus)));
}

static void
cdc_monitor_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	cdc_status = ShmemInitStruct("cdc_plugin status", sizeof(CdcSharedStatus), &found);
	if (!found)
	{
		memset(cdc_status, 0, sizeof(*cdc_status));
		SpinLockInit(&cdc_status->mutex);
		strlcpy(cdc_status->state, "starting", CDC_STATE_LEN);
		cdc_status->counters.broker_state = -1;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Reserves the status struct; only when preloaded. */
void
cdc_monitor_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = cdc_monitor_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = cdc_monitor_shmem_startup;
}

/* Sets the state text under the lock held by the caller. */
static void
cdc_set_state_locked(const char *state)
{
	if (strncmp(cdc_status->state, state, CDC_STATE_LEN) != 0)
	{
		strlcpy(cdc_status->state, state, CDC_STATE_LEN);
		cdc_status->state_since = GetCurrentTimestamp();
	}
}

/* A snapshot request or cancellation committed: the worker looks at the queue. */
void
cdc_monitor_snapshot_requested(void)
{
	if (cdc_status == NULL)
		return;
	SpinLockAcquire(&cdc_status->mutex);
	cdc_status->snapshot_requests++;
	SpinLockRelease(&cdc_status->mutex);
}

uint64
cdc_monitor_snapshot_requests(void)
{
	uint64		n;

	SpinLockAcquire(&cdc_status->mutex);
	n = cdc_status->snapshot_requests;
	SpinLockRelease(&cdc_status->mutex);
	return n;
}

/* The running snapshot for status(); id 0 when none runs. */
void
cdc_monitor_set_snapshot(const CdcSnapshotProgress *progress)
{
	SpinLockAcquire(&cdc_status->mutex);
	cdc_status->snapshot = *progress;
	SpinLockRelease(&cdc_status->mutex);
}

/* Slot losses for status() (the worker reads them from cdc_plugin.gap_log). */
void
cdc_monitor_set_gaps(const CdcGapSummary *gaps)
{
	SpinLockAcquire(&cdc_status->mutex);
	cdc_status->gaps = *gaps;
	SpinLockRelease(&cdc_status->mutex);
}

void
cdc_monitor_worker_started(int pid, Latch *latch, Oid dboid, const char *database,
						   const char *slot_name)
{
	SpinLockAcquire(&cdc_status->mutex);
	cdc_status->worker_pid = pid;
	cdc_status->worker_latch = latch;
	cdc_status->worker_database = dboid;
	strlcpy(cdc_status->database, database, NAMEDATALEN);
	strlcpy(cdc_status->slot_name, slot_name, NAMEDATALEN);
	cdc_set_state_locked("starting");
	SpinLockRelease(&cdc_status->mutex);
}

void
cdc_monitor_worker_stopped(void)
{
	SpinLockAcquire(&cdc_status->mutex);
	cdc_status->worker_pid = 0;
	cdc_status->worker_latch = NULL;
	cdc_status->counters.in_flight = 0;
	cdc_status->counters.oldest_unacked_commit_time = 0;
	cdc_status->counters.broker_state = -1;
	memset(&cdc_status->snapshot, 0, sizeof(cdc_status->snapshot));
	cdc_set_state_locked(cdc_status->stop_requested ? CDC_STATE_STOPPED_BY_REQUEST : "stopped");
	SpinLockRelease(&cdc_status->mutex);
}

/*
 * stop_publishing(): from now until the server restarts no worker runs.
 * False when the library is not preloaded (there is no worker to stop).
 * *worker_pid is the worker to signal, 0 when none is registered; a worker
 * registering later sees the request (cdc_monitor_stop_requested) under
 * the same lock, so none slips through.
 */
bool
cdc_monitor_request_stop(int *worker_pid)
{
	*worker_pid = 0;
	if (cdc_status == NULL)
		return false;
	SpinLockAcquire(&cdc_status->mutex);
	cdc_status->stop_requested = true;
	*worker_pid = cdc_status->worker_pid;
	if (*worker_pid == 0)
		cdc_set_state_locked(CDC_STATE_STOPPED_BY_REQUEST);
	SpinLockRelease(&cdc_status->mutex);
	return true;
}

/* Whether stop_publishing() was called since the server started. */
bool
cdc_monitor_stop_requested(void)
{
	bool		stop;

	if (cdc_status == NULL)
		return false;
	SpinLockAcquire(&cdc_status->mutex);
	stop = cdc_status->stop_requested;
	SpinLockRelease(&cdc_status->mutex);
	return stop;
}

/* True if a worker is registered and its process still exists. */
bool
cdc_monitor_worker_alive(void)
{
	int			pid;

	SpinLockAcquire(&cdc_status->mutex);
	pid = cdc_status->worker_pid;
	SpinLockRelease(&cdc_status->mutex);
	return pid != 0 && kill(pid, 0) == 0;
}

void
cdc_monitor_set_state(const char *state)
{
	SpinLockAcquire(&cdc_status->mutex);
	cdc_set_state_locked(state);
	SpinLockRelease(&cdc_status->mutex);
}

void
cdc_monitor_set_error(const char *state, const char *message)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&cdc_status->mutex);
	if (state != NULL)
		cdc_set_state_locked(state);
	strlcpy(cdc_status->last_error, message, CDC_ERROR_LEN);
	cdc_status->last_error_time = now;
	cdc_status->last_error_is_configuration =
		state != NULL && strcmp(state, "configuration error") == 0;
	SpinLockRelease(&cdc_status->mutex);
}

/*
 * The configuration is valid again: a configuration error is no longer
 * the last problem, so last_error no longer shows it (the server log keeps
 * it). Other errors (delivery failures, a lost slot) stay as history
 * until the next one.
 */
void
cdc_monitor_clear_configuration_error(void)
{
	SpinLockAcquire(&cdc_status->mutex);
	if (cdc_status->last_error_is_configuration)
	{
		cdc_status->last_error[0] = '\0';
		cdc_status->last_error_time = 0;
		cdc_status->last_error_is_configuration = false;
	}
	SpinLockRelease(&cdc_status->mutex);
}

void
cdc_monitor_count_restart(void)
{
	SpinLockAcquire(&cdc_status->mutex);
	cdc_status->restarts++;
	SpinLockRelease(&cdc_status->mutex);
}

/*
 * The counters as the last worker left them: a new worker adds to them,
 * so they count since the server started, across worker restarts.
 */
void
cdc_monitor_read_counters(CdcWorkerCounters *counters)
{
	SpinLockAcquire(&cdc_status->mutex);
	*counters = cdc_status->counters;
	SpinLockRelease(&cdc_status->mutex);
	counters->in_flight = 0;
	counters->oldest_unacked_commit_time = 0;
	counters->broker_state = -1;
}

void
cdc_monitor_update(const CdcWorkerCounters *counters)
{
	SpinLockAcquire(&cdc_status->mutex);
	cdc_status->counters = *counters;
	SpinLockRelease(&cdc_status->mutex);
}

/*
 * Called by backends committing in database dboid: cheap when the worker is
 * busy or absent. Commits elsewhere publish nothing; the worker's idle
 * timeout moves its slot past them.
 */
void
cdc_monitor_wake_worker(Oid dboid)
{
	Latch	   *latch;

	if (cdc_status == NULL || cdc_status->worker_database != dboid)
		return;
	/* unlocked read: the latch lives as long as the worker's PGPROC */
	latch = cdc_status->worker_latch;
	if (latch != NULL)
		SetLatch(latch);
}

/* Bytes between two LSNs, or NULL when either is unknown. */
static void
cdc_lsn_distance(XLogRecPtr to, XLogRecPtr from, Datum *value, bool *isnull)
{
	if (XLogRecPtrIsInvalid(from) || XLogRecPtrIsInvalid(to))
	{
		*isnull = true;
		return;
	}
	*value = Int64GetDatum(to > from ? (int64) (to - from) : 0);
	*isnull = false;
}

#define CDC_STATUS_COLS 31

/*
 * cdc_plugin.status(): one row describing the worker, its slot and what it
 * published. Column meanings are documented in README ("Operate").
 */
Datum
cdc_plugin_status(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[CDC_STATUS_COLS];
	bool		nulls[CDC_STATUS_COLS];
	CdcSharedStatus snap;
	CdcWalBudget budget;
	XLogRecPtr	confirmed;
	XLogRecPtr	now_lsn;
	const char *wal_status;
	const char *slot_name;
	int			i = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	memset(nulls, 0, sizeof(nulls));

	if (cdc_status == NULL)
	{
		memset(&snap, 0, sizeof(snap));
		strlcpy(snap.state, "not loaded", CDC_STATE_LEN);
		strlcpy(snap.last_error,
				"cdc_plugin is not in shared_preload_libraries, so no worker runs",
				CDC_ERROR_LEN);
		snap.counters.broker_state = -1;
	}
	else
	{
		SpinLockAcquire(&cdc_status->mutex);
		snap = *cdc_status;
		SpinLockRelease(&cdc_status->mutex);
	}
	slot_name = snap.slot_name[0] ? snap.slot_name : (cdc_slot_name ? cdc_slot_name : NULL);

	cdc_wal_budget_read(slot_name, &budget);
	confirmed = budget.confirmed_lsn;
	now_lsn = RecoveryInProgress() ? InvalidXLogRecPtr : GetFlushRecPtr(NULL);

	/* pid */
	values[i] = Int32GetDatum(snap.worker_pid);
	nulls[i++] = snap.worker_pid == 0;
	values[i++] = CStringGetTextDatum(snap.state);
	if (snap.database[0] == '\0' && cdc_database != NULL)
		strlcpy(snap.database, cdc_database, NAMEDATALEN);
	values[i] = CStringGetTextDatum(snap.database);
	nulls[i++] = snap.database[0] == '\0';
	values[i] = slot_name ? CStringGetTextDatum(slot_name) : (Datum) 0;
	nulls[i++] = slot_name == NULL;
	/* confirmed_lsn */
	values[i] = LSNGetDatum(confirmed);
	nulls[i++] = XLogRecPtrIsInvalid(confirmed);
	/* wal_behind_bytes, retained_wal_bytes */
	cdc_lsn_distance(now_lsn, confirmed, &values[i], &nulls[i]);
	i++;
	values[i] = Int64GetDatum(budget.retained_bytes);
	nulls[i++] = !budget.has_retained;
	/* last_commit_time */
	values[i] = TimestampTzGetDatum(snap.counters.last_commit_time);
	nulls[i++] = snap.counters.last_commit_time == 0;
	/* lag: age of the oldest transaction still waiting for Kafka */
	{
		Interval   *lag = palloc0(sizeof(Interval));

		if (snap.counters.oldest_unacked_commit_time != 0)
		{
			TimestampTz now = GetCurrentTimestamp();

			if (now > snap.counters.oldest_unacked_commit_time)
				lag->time = now - snap.counters.oldest_unacked_commit_time;
		}
		values[i] = IntervalPGetDatum(lag);
		nulls[i++] = snap.worker_pid == 0;
	}
	values[i++] = Int64GetDatum((int64) snap.counters.events);
	values[i++] = Int64GetDatum((int64) snap.counters.bytes);
	values[i++] = Int64GetDatum((int64) snap.counters.transactions);
	values[i++] = Int64GetDatum((int64) snap.counters.in_flight);
	values[i++] = Int64GetDatum((int64) snap.counters.delivery_errors);
	values[i++] = Int64GetDatum((int64) snap.restarts);
	values[i++] = CStringGetTextDatum(snap.counters.broker_state == 1 ? "up" :
									  snap.counters.broker_state == 0 ? "down" : "unknown");
	values[i] = CStringGetTextDatum(snap.last_error);
	nulls[i++] = snap.last_error[0] == '\0';
	values[i] = TimestampTzGetDatum(snap.last_error_time);
	nulls[i++] = snap.last_error_time == 0;
	values[i] = TimestampTzGetDatum(snap.state_since);
	nulls[i++] = snap.state_since == 0;
	values[i] = Int64GetDatum(snap.snapshot.id);
	nulls[i++] = snap.snapshot.id == 0;
	values[i] = CStringGetTextDatum(snap.snapshot.table);
	nulls[i++] = snap.snapshot.id == 0;
	values[i] = Int64GetDatum((int64) snap.snapshot.rows);
	nulls[i++] = snap.snapshot.id == 0;
	values[i] = Int64GetDatum(snap.snapshot.rows_estimated);
	nulls[i++] = snap.snapshot.id == 0 || snap.snapshot.rows_estimated < 0;
	/* the slot against max_slot_wal_keep_size, as pg_replication_slots sees it */
	wal_status = cdc_wal_status_name(budget.wal_status);
	values[i] = wal_status ? CStringGetTextDatum(wal_status) : (Datum) 0;
	nulls[i++] = wal_status == NULL;
	values[i] = Int64GetDatum(budget.budget_bytes);
	nulls[i++] = !budget.limited;
	values[i] = Int64GetDatum(budget.safe_bytes);
	nulls[i++] = !budget.has_safe;
	values[i] = Float8GetDatum(budget.used);
	nulls[i++] = !budget.has_used;
	values[i++] = Int64GetDatum((int64) snap.gaps.gaps);
	values[i] = LSNGetDatum(snap.gaps.last_from);
	nulls[i++] = snap.gaps.last_time == 0;
	values[i] = LSNGetDatum(snap.gaps.last_to);
	nulls[i++] = snap.gaps.last_time == 0 || XLogRecPtrIsInvalid(snap.gaps.last_to);
	values[i] = TimestampTzGetDatum(snap.gaps.last_time);
	nulls[i++] = snap.gaps.last_time == 0;
	Assert(i == CDC_STATUS_COLS);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
