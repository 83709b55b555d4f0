/*
 * snapshot.h — initial and on-demand table snapshots (DBLog watermarks).
 *
 * The SQL functions cdc_plugin.snapshot() and cancel_snapshot() queue and
 * cancel requests in cdc_plugin.snapshot_queue; the worker reads the
 * queued tables chunk by chunk between its decoding rounds and publishes
 * their rows as r events positioned in the stream by watermarks it writes
 * to the WAL. stream.c calls the worker half below; snapshot.c calls back
 * only cdc_stream_send() and cdc_stream_serve() (stream.h).
 */
#ifndef CDC_SNAPSHOT_H
#define CDC_SNAPSHOT_H

#include "access/xlogdefs.h"
#include "replication/reorderbuffer.h"

#include "output_plugin.h"

/*
 * Runs fn inside a transaction of its own with SPI connected, restoring the
 * caller's memory context and resource owner (the worker runs outside
 * transactions between its decoding rounds).
 */
extern void cdc_in_transaction(void (*fn) (void *arg), void *arg);

/*
 * True if schema.table passes cdc_plugin.include_tables / exclude_tables
 * and is not in schema cdc_plugin; an ERROR when the filters are invalid.
 * Says nothing about the table's kind or persistence.
 */
extern bool cdc_table_captured(const char *schema, const char *table);

/* SQL functions: ERROR unless the worker publishes this database (to_do: what needs it). */
extern void cdc_check_worker_configured(const char *to_do);

/* SQL functions: act as the owner of one of the extension's tables, then back. */
typedef struct CdcAsOwner
{
	Oid			save_user;
	int			save_sec;
} CdcAsOwner;

extern void cdc_become_owner_of(const char *table_name, CdcAsOwner *s);
extern void cdc_restore_user(CdcAsOwner *s);

/* Once per worker process, before its first session. */
extern void cdc_snapshot_worker_init(void);

/* True when CREATE EXTENSION cdc_plugin ran in the worker's database. */
extern bool cdc_snapshot_queue_exists(void);

/*
 * At slot creation, inside the transaction that uses the new slot's
 * snapshot (REPEATABLE READ): queues a snapshot of every captured table
 * and reads the tables without a key right there (they cannot be read in
 * chunks), publishing their rows at start_lsn. False when the session
 * ended meanwhile (Kafka failed, SIGTERM): the caller drops the slot.
 */
extern bool cdc_snapshot_initial(XLogRecPtr start_lsn);

/*
 * A gap being published at a new slot's start (see slot_loss.c): the
 * worker's slot was lost, and changes committed from lost_from up to the
 * new slot's start were never published.
 */
typedef struct CdcGapStart
{
	int64		id;				/* in cdc_plugin.gap_log */
	XLogRecPtr	lost_from;		/* the lost slot's confirmed position */
	const char *reason;
	int64		time_us;		/* when the loss was found, Unix microseconds */
	bool		(*changed) (Oid relid, void *arg);	/* re-snapshot this table? */
	void	   *arg;
	int			tables;			/* out: captured tables (each got the gap) */
	int			resnapshots;	/* out: re-snapshots queued */
} CdcGapStart;

/*
 * Like cdc_snapshot_initial, after a gap: publishes it to every partition
 * of every captured table's topic at start_lsn, restarts every pending
 * snapshot from its first row, and queues a re-snapshot (kind gap) of each
 * table gap->changed names, reading the keyless ones at once.
 */
extern bool cdc_snapshot_after_gap(XLogRecPtr start_lsn, CdcGapStart *gap);

/*
 * After that transaction committed and everything it published was
 * acknowledged: marks the keyless tables' snapshots done (after a gap too).
 */
extern void cdc_snapshot_initial_done(void);

/* A streaming session starts / ended (what was not acknowledged is read again). */
extern void cdc_snapshot_session_start(void);
extern void cdc_snapshot_session_end(XLogRecPtr confirmed);

/*
 * Between decoding rounds, outside any transaction: records what Kafka
 * acknowledged, and starts the next chunk when none is open.
 */
extern void cdc_snapshot_step(XLogRecPtr confirmed);

/* True while a table snapshot runs: streamed UPDATEs must report old keys. */
extern bool cdc_snapshot_running(void);

/* True when a step has work to do now (the worker should not sleep). */
extern bool cdc_snapshot_wants_step(void);

/* A commit decoded: the next read must see it (see snapshot.c). */
extern void cdc_snapshot_on_commit(TransactionId xid);

/* A streamed change of a table: drops its keys from the open chunk. */
extern void cdc_snapshot_on_change(const CdcOutputRoute *route);

/* A watermark decoded (the sink's watermark callback). */
extern void cdc_snapshot_on_watermark(ReorderBufferTXN *txn, XLogRecPtr lsn,
									  const char *content, Size size);

#endif							/* CDC_SNAPSHOT_H */
