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
 * After that transaction committed and everything it published was
 * acknowledged: marks the keyless tables' snapshots done.
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
