/*
 * slot_loss.h — when max_slot_wal_keep_size invalidates the worker's slot:
 * the gap it leaves (cdc_plugin.gap_log), the per-table change counters
 * that tell which tables changed in it, and cdc_plugin.recover_slot().
 *
 * stream.c decides when; this module records, decides which tables, and
 * tells status(). Everything here runs in the worker, between sessions or
 * in the transaction that creates the new slot, except the SQL function.
 */
#ifndef CDC_SLOT_LOSS_H
#define CDC_SLOT_LOSS_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"

#include "snapshot.h"

/* The open gap (cdc_plugin.gap_log's row that is not done). */
typedef struct CdcGap
{
	int64		id;
	bool		waiting;		/* state waiting: until recover_slot() */
	XLogRecPtr	lost_from;		/* the lost slot's confirmed position */
	XLogRecPtr	lost_to;		/* the new slot's start; Invalid until it exists */
	TimestampTz detected;
	char		reason[256];
} CdcGap;

/* True when CREATE EXTENSION cdc_plugin created cdc_plugin.gap_log. */
extern bool cdc_gap_log_exists(void);

/* Loads the open gap; false when there is none (or no extension). */
extern bool cdc_gap_load(CdcGap *gap);

/*
 * The slot was found invalidated: records the gap (waiting with
 * on_slot_lost = 'stop', else recovering) and logs the loss, once, at
 * ERROR level (the worker goes on).
 */
extern void cdc_gap_record_loss(CdcGap *gap, XLogRecPtr lost_from, XLogRecPtr invalidated_at);

/* A waiting gap is to be recovered now (why: for the log). */
extern void cdc_gap_set_recovering(CdcGap *gap, const char *why);

/*
 * In the new slot's snapshot transaction: waits until sessions have
 * reported their statistics, then decides which captured tables changed
 * since the counters were last recorded (all of them when the counters
 * cannot be trusted). False when the session ended meanwhile. Then fills
 * start for cdc_snapshot_after_gap().
 */
extern bool cdc_gap_decide(CdcGap *gap, CdcGapStart *start);

/* In the same transaction, after the gap was published: records the new slot's start. */
extern void cdc_gap_started(CdcGap *gap, XLogRecPtr start_lsn, const CdcGapStart *start);

/* The new slot is kept and Kafka acknowledged the gap: the gap is done. */
extern void cdc_gap_done(CdcGap *gap);

/* A gap whose new slot already exists (a crash before it was marked done). */
extern void cdc_gap_close(CdcGap *gap, const char *note);

/* Shows the gaps of cdc_plugin.gap_log in status(). */
extern void cdc_gap_show(void);

/*
 * Change counters. In the transaction that creates any slot: forgets the
 * counters recorded for the previous one. While streaming, between rounds:
 * reads the counters now and then and records them once Kafka has
 * acknowledged everything they count.
 */
extern void cdc_change_counters_reset(void);
extern void cdc_change_counters_session_start(void);
extern void cdc_change_counters_step(XLogRecPtr confirmed);

#endif							/* CDC_SLOT_LOSS_H */
