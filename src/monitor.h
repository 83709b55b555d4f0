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

extern void cdc_monitor_init(void);

/* launcher / worker lifecycle */
extern void cdc_monitor_worker_started(int pid, Latch *latch, Oid dboid,
									   const char *database, const char *slot_name);
extern void cdc_monitor_worker_stopped(void);
extern bool cdc_monitor_worker_alive(void);
extern void cdc_monitor_set_state(const char *state);
extern void cdc_monitor_set_error(const char *state, const char *message);
extern void cdc_monitor_clear_configuration_error(void);
extern void cdc_monitor_count_restart(void);
extern void cdc_monitor_read_counters(CdcWorkerCounters *counters);
extern void cdc_monitor_update(const CdcWorkerCounters *counters);

/* Wakes the worker if it publishes dboid (committing backends call this). */
extern void cdc_monitor_wake_worker(Oid dboid);

#endif							/* CDC_MONITOR_H */
