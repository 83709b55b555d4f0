/*
 * monitor.h — the worker's status in shared memory, read by
 * cdc_plugin.status().
 */
#ifndef CDC_MONITOR_H
#define CDC_MONITOR_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "storage/latch.h"

/* Counters and facts the worker publishes; see status() for their meaning. */
typedef struct CdcWorkerCounters
{
	XLogRecPtr	confirmed_lsn;
	TimestampTz last_commit_time;	/* newest transaction Kafka acknowledged */
	TimestampTz oldest_unacked_commit_time; /* 0: nothing in flight */
	uint64		events;
	uint64		bytes;
	uint64		transactions;
	uint64		in_flight;
	uint64		delivery_errors;
	int			broker_state;	/* 1 up, 0 down, -1 unknown */
} CdcWorkerCounters;

/* The running table snapshot, for status(). */
typedef struct CdcSnapshotProgress
{
	int64		id;				/* 0: none runs */
	char		table[2 * NAMEDATALEN + 8]; /* schema.table, quoted as needed */
	uint64		rows;			/* r events published so far */
	int64		rows_estimated; /* -1: unknown */
} CdcSnapshotProgress;

/* Slot losses, for status(): how many, and the newest one. */
typedef struct CdcGapSummary
{
	uint64		gaps;
	XLogRecPtr	last_from;		/* the lost slot's confirmed position */
	XLogRecPtr	last_to;		/* the new slot's start; Invalid until it exists */
	TimestampTz last_time;		/* when the loss was found; 0: no gap */
} CdcGapSummary;

/* status()'s state after cdc_plugin.stop_publishing() */
#define CDC_STATE_STOPPED_BY_REQUEST "stopped by stop_publishing()"

extern void cdc_monitor_init(void);

/* gaps */
extern void cdc_monitor_set_gaps(const CdcGapSummary *gaps);

/* snapshots */
extern void cdc_monitor_snapshot_requested(void);
extern uint64 cdc_monitor_snapshot_requests(void);
extern void cdc_monitor_set_snapshot(const CdcSnapshotProgress *progress);

/* launcher / worker lifecycle */
extern void cdc_monitor_worker_started(int pid, Latch *latch, Oid dboid,
									   const char *database, const char *slot_name);
extern void cdc_monitor_worker_stopped(void);
extern bool cdc_monitor_worker_alive(void);
extern bool cdc_monitor_request_stop(int *worker_pid);
extern bool cdc_monitor_stop_requested(void);
extern void cdc_monitor_set_state(const char *state);
extern void cdc_monitor_set_error(const char *state, const char *message);
extern void cdc_monitor_clear_configuration_error(void);
extern void cdc_monitor_count_restart(void);
extern void cdc_monitor_read_counters(CdcWorkerCounters *counters);
extern void cdc_monitor_update(const CdcWorkerCounters *counters);

/* Wakes the worker if it publishes dboid (committing backends call this). */
extern void cdc_monitor_wake_worker(Oid dboid);

#endif							/* CDC_MONITOR_H */
