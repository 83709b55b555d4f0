/*
 * snapshot.c — initial and on-demand table snapshots, by watermarks in the
 * WAL (the DBLog approach).
 *
 * Requests live in cdc_plugin.snapshot_queue: cdc_plugin.snapshot() queues
 * one row per table (per leaf of a partitioned table), and the worker
 * queues one per captured table when it creates its slot. The worker takes
 * one table at a time, in id order, and reads it in chunks of
 * cdc_plugin.snapshot_chunk_rows rows in key order (keyset pagination on
 * the replica identity index, or the primary key), between its decoding
 * rounds. For each chunk it
 *
 *   1. writes a low watermark: a transactional logical message with prefix
 *      CDC_WATERMARK_PREFIX, in the transaction that also records the
 *      progress Kafka acknowledged so far (and notices a cancellation);
 *   2. reads the chunk in a transaction of its own, encoding each row as an
 *      r envelope without source, keyed by its encoded key Row;
 *   3. writes a high watermark.
 *
 * Decoding then goes on. Every streamed change of the table decoded before
 * the high watermark drops its key (and an UPDATE's old key) from the
 * chunk: the change carries the row as new as, or newer than, the read.
 * When the high watermark is decoded, the rows left are published as r
 * events positioned there (source.lsn, commit_lsn of the high watermark),
 * so no r event ever follows a newer change of its key. No transaction
 * stays open longer than one chunk read.
 *
 * Why dropping from the read on, and not only from the low watermark on:
 * a transaction whose commit the worker decoded before the read may still
 * be invisible to the read's snapshot (its commit record is written before
 * it leaves the proc array, and synchronous replication waits in between).
 * Such a read is retried later instead (see cdc_snapshot_read), and every
 * change decoded after the read is dropped, so the low watermark only
 * marks the window in the WAL for whoever reads it.
 *
 * Markers: snapshot_begin goes to every partition of the table's topic at
 * the low watermark of the first chunk, snapshot_end after the rows of the
 * last chunk. Progress (the last key of the newest chunk whose high
 * watermark the slot confirmed, i.e. Kafka acknowledged) is written to the
 * queue, so after any crash the snapshot resumes from there.
 *
 * Tables without a key cannot be read in chunks. The initial snapshot reads
 * them whole, in the transaction that holds the new slot's own snapshot,
 * and publishes them before the first streamed change; cdc_plugin.snapshot()
 * refuses them.
 *
 * Every C++ object is reached through cdc_core.h; no C++ frame is ever on
 * the stack when an ERROR is raised here.
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "replication/message.h"
#include "storage/procarray.h"
#include "tcop/dest.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "cdc_core.h"
#include "config.h"
#include "monitor.h"
#include "output_plugin.h"
#include "publish.h"
#include "row_image.h"
#include "schema_event.h"
#include "snapshot.h"
#include "stream.h"

/* A chunk stops early once its rows take this much memory. */
#define CDC_CHUNK_MAX_BYTES ((size_t) 64 << 20)
/* Longest wait for a topic's partition count in one call. */
#define CDC_PARTITIONS_WAIT_MS 100
/*
 * Chunks' worth of messages the producer may hold before the next chunk
 * waits: enough that reading goes on while Kafka acknowledges (linger.ms
 * and a round trip per batch), few enough that streamed changes queued
 * behind them are not held up for long.
 */
#ifndef CDC_CHUNKS_IN_FLIGHT
#define CDC_CHUNKS_IN_FLIGHT 3
#endif
/* A read that met a committing transaction is tried again after this. */
#define CDC_RETRY_READ_MS 20
/* Without a request, look at the queue this often anyway. */
#define CDC_QUEUE_LOOK_MS 10000

#define CDC_SNAPSHOT_ROLE "cdc_plugin_snapshot"
#define CDC_QUEUE_TABLE "snapshot_queue"

PG_FUNCTION_INFO_V1(cdc_plugin_snapshot);
PG_FUNCTION_INFO_V1(cdc_plugin_cancel_snapshot);

/* A published chunk whose high watermark Kafka has not acknowledged yet. */
typedef struct CdcSnapPending
{
	XLogRecPtr	commit_lsn;		/* of the high watermark's transaction */
	char	  **key;			/* last key of the chunk; NULL: none yet */
	uint64		rows;			/* rows published up to and including this chunk */
	uint64		chunks;
	bool		end;			/* the snapshot_end markers went with it */
} CdcSnapPending;

/* The table snapshot the worker is running. */
typedef struct CdcSnapRun
{
	MemoryContext cxt;			/* everything below */
	int64		id;
	Oid			relid;
	char	   *schema;			/* server encoding */
	char	   *table;
	char	   *schema_utf8;	/* as envelopes and topics name them */
	char	   *table_utf8;
	cdc_snapshot_kind kind;
	int			nkeys;			/* key columns (0 until the first read) */

	/* acknowledged by Kafka (durable once written) */
	char	  **acked_key;		/* NULL: from the start */
	uint64		rows_acked;
	uint64		chunks_acked;
	bool		acked_dirty;	/* not written to the queue yet */

	/* read and published */
	char	  **next_key;		/* the next chunk starts after this key */
	char	  **published_key;	/* last key of the newest published chunk */
	uint64		rows_sent;
	uint64		chunks_sent;
	bool		begin_needed;	/* snapshot_begin markers still to send */
	bool		read_all;		/* the last chunk is published: wait for Kafka */
	int			partitions;		/* of the topic; 0 not known yet */
	int64		rows_estimated; /* -1 unknown */
	List	   *pending;		/* CdcSnapPending *, oldest first */
} CdcSnapRun;

/*
 * A chunk between its read and the decoding of its high watermark. The
 * high watermark of one chunk and the low watermark of the next go in one
 * transaction (one WAL flush per chunk), so while the first is still to be
 * decoded the second is already read: two chunks can be open at once.
 */
typedef struct CdcSnapChunk
{
	bool		open;
	bool		lw_seen;
	uint64		seq;
	bool		last;			/* fewer rows than asked: the table ends here */
	char	  **last_key;		/* key of its last row; NULL if it read none */
	uint64		schema_version; /* of the table when it was read (0: unknown) */
	cdc_chunk  *rows;
} CdcSnapChunk;

/* Everything the worker keeps for snapshots. */
static struct
{
	bool		ready;
	MemoryContext cxt;			/* worker lifetime */
	MemoryContext chunk_cxt;	/* reset per chunk */
	cdc_encoder *encoder;
	char	   *database_utf8;
	uint64		nonce;			/* this session's: older watermarks are ignored */
	uint64		seq;
	CdcSnapRun *run;
	CdcSnapChunk reading;		/* read; its high watermark not written yet */
	CdcSnapChunk closing;		/* high watermark written, not decoded yet */
	uint64		requests_seen;
	uint64		cancels_seen;	/* requests counter when the state was last read */
	TimestampTz progress_written;	/* when the queue last got the progress */
	TimestampTz last_look;
	bool		queue_empty;
	TimestampTz retry_at;		/* a read that must wait: not before this */
	SPIPlanPtr	update_plan;	/* cdc_queue_update's, kept */
	TransactionId *commits;		/* commits decoded since the last read */
	int			ncommits;
	int			maxcommits;
	List	   *initial_done;	/* keyless initial snapshots read at slot creation */
	StringInfoData buf;			/* an r envelope being published */
} S;

/* A keyless table read at slot creation. */
typedef struct CdcSnapDone
{
	int64		id;
	uint64		rows;
} CdcSnapDone;

static void cdc_snapshot_fail(const char *why);

/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

/* Reports a failure of the C++ core as an ERROR (no C++ frame is on the stack). */
static void
cdc_snapshot_core_failed(const char *what, const char *errbuf)
{
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("cdc_plugin snapshot could not %s: %s", what, errbuf)));
}

/* The OID of cdc_plugin.snapshot_queue, or InvalidOid without the extension. */
static Oid
cdc_queue_relid(void)
{
	Oid			nsp = get_namespace_oid(CDC_EXTENSION_SCHEMA, true);

	return OidIsValid(nsp) ? get_relname_relid(CDC_QUEUE_TABLE, nsp) : InvalidOid;
}

/* True if schema.table passes cdc_plugin.include_tables / exclude_tables (snapshot.h). */
bool
cdc_table_captured(const char *schema, const char *table)
{
	char		errbuf[CDC_ERRBUF_SIZE];
	cdc_options *opts;
	bool		ok;

	if (strcmp(schema, CDC_EXTENSION_SCHEMA) == 0)
		return false;
	opts = cdc_options_create(errbuf, sizeof(errbuf));
	if (opts == NULL)
		cdc_snapshot_core_failed("read the table filters", errbuf);
	if (cdc_options_set(opts, "include-tables", cdc_include_tables ? cdc_include_tables : "",
						errbuf, sizeof(errbuf)) != 0 ||
		cdc_options_set(opts, "exclude-tables", cdc_exclude_tables ? cdc_exclude_tables : "",
						errbuf, sizeof(errbuf)) != 0 ||
		cdc_options_set(opts, "outbox-tables", cdc_outbox_tables ? cdc_outbox_tables : "",
						errbuf, sizeof(errbuf)) != 0)
	{
		cdc_options_destroy(opts);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cdc_plugin.include_tables, exclude_tables or outbox_tables is invalid: %s", errbuf)));
	}
	/* outbox tables publish events, never rows: no snapshot, no schema events */
	ok = cdc_options_table_included(opts, schema, table) &&
		!cdc_options_table_outbox(opts, schema, table);
	cdc_options_destroy(opts);
	return ok;
}

/* The index whose columns key the table's envelopes, or InvalidOid. */
static Oid
cdc_key_index(Relation rel)
{
	List	   *indexes = RelationGetIndexList(rel);	/* fills the two below */

	list_free(indexes);
	if (OidIsValid(rel->rd_replidindex))
		return rel->rd_replidindex;
	return rel->rd_pkindex;
}

/* A text[] datum of n strings. */
static Datum
cdc_key_array(char **key, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(key[i]);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/* The queue's name of a snapshot kind, and back. */
static const char *
cdc_snapshot_kind_name(cdc_snapshot_kind kind)
{
	switch (kind)
	{
		case CDC_SNAPSHOT_INITIAL:
			return "initial";
		case CDC_SNAPSHOT_GAP:
			return "gap";
		default:
			return "incremental";
	}
}

static cdc_snapshot_kind
cdc_snapshot_kind_of(const char *name)
{
	if (strcmp(name, "initial") == 0)
		return CDC_SNAPSHOT_INITIAL;
	if (strcmp(name, "gap") == 0)
		return CDC_SNAPSHOT_GAP;
	return CDC_SNAPSHOT_INCREMENTAL;
}

/* "schema.table", quoted where needed, for messages and status(). */
static char *
cdc_qualified(const char *schema, const char *table)
{
	return quote_qualified_identifier(schema, table);
}

/*
 * Runs fn inside a transaction of its own with SPI connected, restoring the
 * caller's memory context and resource owner afterwards (the worker runs
 * outside transactions between its decoding rounds).
 */
void
cdc_in_transaction(void (*fn) (void *arg), void *arg)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	/* so that now() is this transaction's time (a worker has no statements) */
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	fn(arg);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
}

/* Shows the running snapshot in status(). */
static void
cdc_snapshot_show(void)
{
	CdcSnapshotProgress p;

	memset(&p, 0, sizeof(p));
	p.rows_estimated = -1;
	if (S.run != NULL)
	{
		p.id = S.run->id;
		strlcpy(p.table, cdc_qualified(S.run->schema, S.run->table), sizeof(p.table));
		p.rows = S.run->rows_sent;
		p.rows_estimated = S.run->rows_estimated;
	}
	cdc_monitor_set_snapshot(&p);
}

/* ---------------------------------------------------------------------
 * The queue
 * ---------------------------------------------------------------------
 */

typedef struct CdcQueueUpdate
{
	const char *state;			/* NULL: keep */
	const char *error;
	bool		finished;
	char	   *state_out;		/* the state after the update (palloc'd in caller's cxt) */
} CdcQueueUpdate;

/* Writes the acknowledged progress of the running snapshot (and a new state). */
static void
cdc_queue_update(void *arg)
{
	CdcQueueUpdate *u = arg;
	CdcSnapRun *run = S.run;
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	Oid			types[7] = {INT8OID, INT8OID, INT8OID, TEXTARRAYOID, TEXTOID, TEXTOID, BOOLOID};
	int			ret;

	values[0] = Int64GetDatum(run->id);
	values[1] = Int64GetDatum((int64) run->rows_acked);
	values[2] = Int64GetDatum((int64) run->chunks_acked);
	if (run->acked_key != NULL)
		values[3] = cdc_key_array(run->acked_key, run->nkeys);
	else
		nulls[3] = 'n';
	if (u->state != NULL)
		values[4] = CStringGetTextDatum(u->state);
	else
		nulls[4] = 'n';
	if (u->error != NULL)
		values[5] = CStringGetTextDatum(u->error);
	else
		nulls[5] = 'n';
	values[6] = BoolGetDatum(u->finished);
	/* once per chunk: planned once per worker */
	if (S.update_plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(psprintf(
			"UPDATE %s.%s SET rows_done = $2, chunks_done = $3, last_key = $4,"
			" state = CASE WHEN state OPERATOR(pg_catalog.=) 'running' AND $5 IS NOT NULL THEN $5 ELSE state END,"
			" error = coalesce($6, error),"
			" finished = CASE WHEN $7 AND finished IS NULL THEN pg_catalog.now() ELSE finished END"
			" WHERE id OPERATOR(pg_catalog.=) $1 RETURNING state",
			CDC_EXTENSION_SCHEMA, CDC_QUEUE_TABLE), 7, types);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "cdc_plugin could not plan the snapshot queue update: %s",
				 SPI_result_code_string(SPI_result));
		S.update_plan = plan;
	}
	ret = SPI_execute_plan(S.update_plan, values, nulls, false, 0);
	if (ret != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "cdc_plugin could not update the snapshot queue: %s", SPI_result_code_string(ret));
	u->state_out = NULL;
	if (SPI_processed == 1)
	{
		MemoryContext old = MemoryContextSwitchTo(S.cxt);

		u->state_out = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		MemoryContextSwitchTo(old);
	}
	run->acked_dirty = false;
}

/* Forgets the running snapshot. */
static void
cdc_snapshot_drop_run(void)
{
	if (S.run != NULL)
		MemoryContextDelete(S.run->cxt);
	S.run = NULL;
	S.ncommits = 0;
	S.reading.open = false;
	S.closing.open = false;
	cdc_chunk_clear(S.reading.rows);
	cdc_chunk_clear(S.closing.rows);
	cdc_snapshot_show();
}

/* The running snapshot failed: says why in the queue and the log, and goes on. */
static void
cdc_snapshot_fail(const char *why)
{
	CdcQueueUpdate u = {"failed", why, true, NULL};

	ereport(WARNING,
			(errmsg("cdc_plugin snapshot %lld of table %s failed: %s",
					(long long) S.run->id, cdc_qualified(S.run->schema, S.run->table), why),
			 errhint("Fix the cause and request a new snapshot with SELECT cdc_plugin.snapshot('%s').",
					 cdc_qualified(S.run->schema, S.run->table))));
	cdc_in_transaction(cdc_queue_update, &u);
	cdc_snapshot_drop_run();
	S.queue_empty = false;		/* look for the next one */
}

typedef struct CdcQueueLoad
{
	bool		found;
} CdcQueueLoad;

/* Loads the oldest queued or running snapshot into S.run. */
static void
cdc_queue_load(void *arg)
{
	CdcQueueLoad *l = arg;
	int			ret;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		d;
	CdcSnapRun *run;
	MemoryContext old;
	char	   *state;

	l->found = false;
	if (!OidIsValid(cdc_queue_relid()))
		return;					/* CREATE EXTENSION cdc_plugin not run (yet) */
	ret = SPI_execute(psprintf(
		"SELECT id, relid, schema_name, table_name, kind, state, rows_done, chunks_done,"
		" last_key, rows_estimated FROM %s.%s"
		" WHERE state OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'running']::pg_catalog.text[])"
		" ORDER BY id LIMIT 1 FOR UPDATE",
		CDC_EXTENSION_SCHEMA, CDC_QUEUE_TABLE), false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "cdc_plugin could not read the snapshot queue: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	run = MemoryContextAllocZero(S.cxt, sizeof(CdcSnapRun));
	run->cxt = AllocSetContextCreate(S.cxt, "cdc_plugin snapshot run", ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(run->cxt);
	run->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	run->relid = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
	run->schema = SPI_getvalue(tup, desc, 3);
	run->table = SPI_getvalue(tup, desc, 4);
	run->schema_utf8 = pstrdup(cdc_server_cstring(run->schema));
	run->table_utf8 = pstrdup(cdc_server_cstring(run->table));
	run->kind = cdc_snapshot_kind_of(SPI_getvalue(tup, desc, 5));
	state = SPI_getvalue(tup, desc, 6);
	run->rows_acked = run->rows_sent = (uint64) DatumGetInt64(SPI_getbinval(tup, desc, 7, &isnull));
	run->chunks_acked = run->chunks_sent = (uint64) DatumGetInt64(SPI_getbinval(tup, desc, 8, &isnull));
	d = SPI_getbinval(tup, desc, 9, &isnull);
	if (!isnull)
	{
		Datum	   *elems;
		bool	   *enulls;
		int			n,
					i;

		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &enulls, &n);
		run->nkeys = n;
		run->acked_key = palloc(sizeof(char *) * Max(n, 1));
		for (i = 0; i < n; i++)
			run->acked_key[i] = enulls[i] ? pstrdup("") : TextDatumGetCString(elems[i]);
		run->next_key = run->acked_key;
		run->published_key = run->acked_key;
	}
	d = SPI_getbinval(tup, desc, 10, &isnull);
	run->rows_estimated = isnull ? -1 : DatumGetInt64(d);
	run->begin_needed = run->chunks_acked == 0;
	MemoryContextSwitchTo(old);
	S.run = run;
	l->found = true;

	if (strcmp(state, "queued") == 0)
	{
		Datum		values[2];
		Oid			types[2] = {INT8OID, INT8OID};
		float4		reltuples = -1;
		HeapTuple	ctup = SearchSysCache1(RELOID, ObjectIdGetDatum(run->relid));

		if (HeapTupleIsValid(ctup))
		{
			reltuples = ((Form_pg_class) GETSTRUCT(ctup))->reltuples;
			ReleaseSysCache(ctup);
		}
		run->rows_estimated = reltuples >= 0 ? (int64) reltuples : -1;
		values[0] = Int64GetDatum(run->id);
		values[1] = Int64GetDatum(run->rows_estimated);
		ret = SPI_execute_with_args(psprintf(
			"UPDATE %s.%s SET state = 'running', started = pg_catalog.now(),"
			" rows_estimated = CASE WHEN $2 OPERATOR(pg_catalog.<) 0 THEN NULL ELSE $2 END"
			" WHERE id OPERATOR(pg_catalog.=) $1",
			CDC_EXTENSION_SCHEMA, CDC_QUEUE_TABLE), 2, types, values, NULL, false, 0);
		if (ret != SPI_OK_UPDATE)
			elog(ERROR, "cdc_plugin could not update the snapshot queue: %s", SPI_result_code_string(ret));
		ereport(LOG,
				(errmsg("cdc_plugin started %s snapshot %lld of table %s",
						cdc_snapshot_kind_name(run->kind),
						(long long) run->id, cdc_qualified(run->schema, run->table))));
	}
	else
		ereport(LOG,
				(errmsg("cdc_plugin resumed snapshot %lld of table %s after " UINT64_FORMAT " acknowledged rows",
						(long long) run->id, cdc_qualified(run->schema, run->table), run->rows_acked)));
}

/* Takes the next snapshot from the queue when there may be one. */
static bool
cdc_snapshot_load_next(void)
{
	uint64		requests = cdc_monitor_snapshot_requests();
	TimestampTz now = GetCurrentTimestamp();
	CdcQueueLoad l = {false};

	if (S.queue_empty && requests == S.requests_seen &&
		!TimestampDifferenceExceeds(S.last_look, now, CDC_QUEUE_LOOK_MS))
		return false;
	S.requests_seen = requests;
	S.last_look = now;
	cdc_in_transaction(cdc_queue_load, &l);
	S.queue_empty = !l.found;
	cdc_snapshot_show();
	return l.found;
}

/* ---------------------------------------------------------------------
 * Reading a table
 * ---------------------------------------------------------------------
 */

/*
 * Receives the rows of a snapshot query: the table's columns that are not
 * dropped, in attribute order (the query names them).
 */
typedef struct CdcSnapReceiver
{
	DestReceiver pub;
	CdcSnapRun *run;
	Relation	rel;
	CdcRelDesc *desc;
	MemoryContext row_cxt;		/* reset after every row */
	bool		publish_now;	/* keyless initial read: send each row at once */
	cdc_source	source;			/* publish_now: the whole source */
	uint64		rows;
	size_t		bytes;
	bool		ended;			/* publish_now: the session ended */
	Datum	   *values;			/* per table attribute */
	bool	   *nulls;
	int		   *slot_column;	/* per table attribute: its query column, -1 dropped */
	/* the key of the last row, for the next chunk to start after */
	int			nkeys;
	AttrNumber *keycols;
	Datum	   *last_key;
	MemoryContext key_cxt[2];	/* alternate: the last key stays while the next is copied */
	int			key_turn;
} CdcSnapReceiver;

static void
cdc_receiver_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
cdc_receiver_shutdown(DestReceiver *self)
{
}

static void
cdc_receiver_destroy(DestReceiver *self)
{
}

/* Fills the part of an r event's source known when it is read or published. */
static void
cdc_snapshot_source(const CdcSnapRun *run, cdc_source *src)
{
	memset(src, 0, sizeof(*src));
	src->database = S.database_utf8;
	src->schema = run->schema_utf8;
	src->table = run->table_utf8;
	src->snapshot = true;
	src->snapshot_kind = run->kind;
	src->snapshot_id = (uint64_t) run->id;
}

/* One row of the table: encoded, then kept in the chunk or published at once. */
static bool
cdc_receiver_row(TupleTableSlot *slot, DestReceiver *self)
{
	CdcSnapReceiver *r = (CdcSnapReceiver *) self;
	TupleDesc	reldesc = RelationGetDescr(r->rel);
	MemoryContext old;
	cdc_row    *key = NULL;
	cdc_event	event;
	const char *data;
	size_t		len;
	char	   *keycopy = NULL;
	size_t		keylen = 0;
	char		errbuf[CDC_ERRBUF_SIZE];
	int			i;

	old = MemoryContextSwitchTo(r->row_cxt);
	slot_getallattrs(slot);
	for (i = 0; i < reldesc->natts; i++)
	{
		int			c = r->slot_column[i];

		if (c < 0 || slot->tts_isnull[c])
		{
			r->nulls[i] = true;
			continue;
		}
		r->nulls[i] = false;
		r->values[i] = slot->tts_values[c];
		/* a value stored out of line is read here, like a streamed one is */
		if (TupleDescAttr(reldesc, i)->attlen == -1 &&
			VARATT_IS_EXTERNAL(DatumGetPointer(r->values[i])))
			r->values[i] = PointerGetDatum(detoast_external_attr((struct varlena *)
																 DatumGetPointer(r->values[i])));
	}

	memset(&event, 0, sizeof(event));
	event.op = CDC_OP_READ;
	event.after = cdc_row_from_values(r->desc, reldesc, r->values, r->nulls, CDC_IMAGE_ALL,
									  r->desc->nkeys > 0 ? (cdc_row **) &key : NULL);
	event.key = key;
	if (key != NULL)
	{
		if (cdc_encoder_encode_key(S.encoder, key, &data, &len, errbuf, sizeof(errbuf)) != 0)
			cdc_snapshot_core_failed("encode a row key", errbuf);
		keycopy = pnstrdup(data, len);
		keylen = len;
	}
	if (r->publish_now)
	{
		event.source = r->source;
		event.parts = CDC_ENCODE_ALL;
	}
	else
		event.parts = CDC_ENCODE_NO_SOURCE;
	if (cdc_encoder_encode(S.encoder, &event, &data, &len, errbuf, sizeof(errbuf)) != 0)
		cdc_snapshot_core_failed("encode a row", errbuf);

	if (r->publish_now)
	{
		CdcOutputRoute route;

		memset(&route, 0, sizeof(route));
		route.op = CDC_OP_READ;
		route.relid = RelationGetRelid(r->rel);
		route.schema = r->run->schema_utf8;
		route.table = r->run->table_utf8;
		route.key = keycopy;
		route.keylen = keylen;
		route.partition = -1;
		route.commit_lsn = r->source.commit_lsn;
		route.lsn = r->source.lsn;
		route.seq = r->rows + 1;
		if (!cdc_stream_send(&route, data, len))
		{
			r->ended = true;
			MemoryContextSwitchTo(old);
			MemoryContextReset(r->row_cxt);
			return false;
		}
	}
	else
	{
		if (cdc_chunk_add(S.reading.rows, keycopy, keylen, data, len, errbuf, sizeof(errbuf)) != 0)
			cdc_snapshot_core_failed("keep a chunk row", errbuf);
		/* keep this row's key (the previous one's context is reused) */
		r->key_turn ^= 1;
		MemoryContextReset(r->key_cxt[r->key_turn]);
		MemoryContextSwitchTo(r->key_cxt[r->key_turn]);
		for (i = 0; i < r->nkeys; i++)
		{
			Form_pg_attribute att = TupleDescAttr(reldesc, r->keycols[i] - 1);

			if (r->nulls[r->keycols[i] - 1])
				ereport(ERROR,
						(errcode(ERRCODE_NOT_NULL_VIOLATION),
						 errmsg("a key column of table %s is null",
								cdc_qualified(r->run->schema, r->run->table))));
			r->last_key[i] = datumCopy(r->values[r->keycols[i] - 1], att->attbyval, att->attlen);
		}
	}
	r->rows++;
	r->bytes += len + keylen;
	MemoryContextSwitchTo(old);
	MemoryContextReset(r->row_cxt);
	/* bound the chunk's memory: the next chunk starts after this row */
	return r->publish_now || r->bytes < CDC_CHUNK_MAX_BYTES;
}

/* The key column numbers of rel in index order; *n set. */
static AttrNumber *
cdc_key_columns(Relation rel, int *n)
{
	Oid			indexoid = cdc_key_index(rel);
	Relation	index;
	AttrNumber *cols;
	int			i;

	*n = 0;
	if (!OidIsValid(indexoid))
		return NULL;
	index = index_open(indexoid, AccessShareLock);
	cols = palloc(sizeof(AttrNumber) * Max(index->rd_index->indnkeyatts, 1));
	for (i = 0; i < index->rd_index->indnkeyatts; i++)
	{
		AttrNumber	attnum = index->rd_index->indkey.values[i];

		if (attnum <= 0)
		{
			index_close(index, AccessShareLock);
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the key index of table %s has an expression column",
							cdc_qualified(get_namespace_name(RelationGetNamespace(rel)),
										  RelationGetRelationName(rel)))));
		}
		cols[(*n)++] = attnum;
	}
	index_close(index, AccessShareLock);
	return cols;
}

/* A name for the whole-row alias that no column of rel has. */
static const char *
cdc_row_alias(Relation rel)
{
	TupleDesc	td = RelationGetDescr(rel);
	int			suffix = 0;

	for (;;)
	{
		char	   *alias = suffix == 0 ? pstrdup("cdc_snapshot_row") :
			psprintf("cdc_snapshot_row%d", suffix);
		bool		clash = false;
		int			i;

		for (i = 0; i < td->natts && !clash; i++)
			clash = !TupleDescAttr(td, i)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(td, i)->attname), alias) == 0;
		if (!clash)
			return alias;
		suffix++;
	}
}

/*
 * A transaction whose commit the worker decoded (and published) before a
 * read may still be invisible to the read's snapshot: its commit record is
 * written and flushed before it leaves the proc array (synchronous
 * replication waits in between). The read would then hold an older row
 * than the one already published, and the change, decoded before the read,
 * would never drop it. So the commits decoded while a snapshot runs are
 * remembered, and a read whose snapshot does not see all of them is
 * retried a moment later; once one sees them all, so will every later one.
 */
/* The worker decoded a commit (cdc_on_commit). */
void
cdc_snapshot_on_commit(TransactionId xid)
{
	if (S.run == NULL || !TransactionIdIsNormal(xid))
		return;
	if (S.ncommits == S.maxcommits)
	{
		int			n = Max(S.maxcommits * 2, 1024);

		S.commits = S.commits == NULL ?
			MemoryContextAlloc(S.cxt, sizeof(TransactionId) * n) :
			repalloc(S.commits, sizeof(TransactionId) * n);
		S.maxcommits = n;
	}
	S.commits[S.ncommits++] = xid;
}

/*
 * True when the snapshot does not yet see a commit the worker decoded.
 * Only those are kept for the next try (a commit seen now is seen by every
 * later snapshot), so a read retried for long (a synchronous standby that
 * does not answer) keeps no more than the commits still in that state.
 */
static bool
cdc_snapshot_misses_commits(Snapshot snap)
{
	int			i,
				kept = 0;

	for (i = 0; i < S.ncommits; i++)
		if (XidInMVCCSnapshot(S.commits[i], snap))
			S.commits[kept++] = S.commits[i];
	S.ncommits = kept;
	return kept > 0;
}

/* What cdc_snapshot_read did. */
typedef enum CdcReadResult
{
	CDC_READ_OK,
	CDC_READ_RETRY,				/* a committing transaction was in the way: later */
	CDC_READ_ENDED,				/* publish_now: the session ended */
	CDC_READ_FAILED				/* the snapshot failed (already recorded) */
} CdcReadResult;

typedef struct CdcReadArgs
{
	CdcSnapRun *run;
	int			limit;			/* rows; 0: all */
	bool		publish_now;
	bool		in_slot_snapshot;	/* the caller's transaction holds the snapshot */
	XLogRecPtr	position;		/* publish_now: lsn and commit_lsn of the rows */
	/* out */
	uint64		rows;
	bool		last;
	char	  **last_key;		/* in run->cxt; NULL if no row */
	uint64		schema_version; /* of the table in cdc_plugin.schema_state */
	CdcReadResult result;
} CdcReadArgs;

/* Reads the rows of a chunk (or a whole keyless table) with SPI. */
static void
cdc_snapshot_query(CdcReadArgs *a)
{
	CdcSnapRun *run = a->run;
	Relation	rel;
	CdcSnapReceiver recv;
	AttrNumber *keycols;
	int			nkeys;
	StringInfoData q;
	ParamListInfo params = NULL;
	SPIExecuteOptions opts;
	const char *alias;
	char	   *qualified;
	int			i,
				ret;

	if (!a->in_slot_snapshot && cdc_snapshot_misses_commits(GetActiveSnapshot()))
	{
		a->result = CDC_READ_RETRY;
		return;
	}
	rel = try_table_open(run->relid, AccessShareLock);
	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table %s no longer exists", cdc_qualified(run->schema, run->table))));
	if (rel->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("relation %s is no longer a table", cdc_qualified(run->schema, run->table))));

	MemoryContextReset(S.chunk_cxt);
	memset(&recv, 0, sizeof(recv));
	recv.pub.receiveSlot = cdc_receiver_row;
	recv.pub.rStartup = cdc_receiver_startup;
	recv.pub.rShutdown = cdc_receiver_shutdown;
	recv.pub.rDestroy = cdc_receiver_destroy;
	recv.pub.mydest = DestNone;
	recv.run = run;
	recv.rel = rel;
	recv.desc = cdc_rel_desc_build(rel, S.chunk_cxt);
	recv.row_cxt = AllocSetContextCreate(CurrentMemoryContext, "cdc_plugin snapshot row",
										 ALLOCSET_DEFAULT_SIZES);
	recv.publish_now = a->publish_now;
	/* the table is locked: no DDL on it commits before the read ends */
	a->schema_version = cdc_schema_version_of(run->relid);
	if (a->publish_now)
	{
		cdc_snapshot_source(run, &recv.source);
		recv.source.lsn = a->position;
		recv.source.commit_lsn = a->position;
		recv.source.schema_version = a->schema_version;
	}

	keycols = cdc_key_columns(rel, &nkeys);
	if (!a->publish_now && (nkeys == 0 || recv.desc->nkeys == 0))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table %s has no primary key or replica identity index any more",
						cdc_qualified(run->schema, run->table))));
	if (run->next_key != NULL && run->nkeys != nkeys)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the key of table %s changed during its snapshot",
						cdc_qualified(run->schema, run->table))));
	run->nkeys = nkeys;

	alias = quote_identifier(cdc_row_alias(rel));
	qualified = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
										   RelationGetRelationName(rel));
	initStringInfo(&q);
	appendStringInfoString(&q, "SELECT ");
	{
		TupleDesc	td = RelationGetDescr(rel);
		int			ncols = 0;

		recv.values = palloc(sizeof(Datum) * Max(td->natts, 1));
		recv.nulls = palloc(sizeof(bool) * Max(td->natts, 1));
		recv.slot_column = palloc(sizeof(int) * Max(td->natts, 1));
		for (i = 0; i < td->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(td, i);

			if (att->attisdropped)
			{
				recv.slot_column[i] = -1;
				continue;
			}
			appendStringInfo(&q, "%s%s.%s", ncols ? ", " : "", alias,
							 quote_identifier(NameStr(att->attname)));
			recv.slot_column[i] = ncols++;
		}
		if (ncols == 0)
			appendStringInfoString(&q, "NULL");
	}
	recv.nkeys = nkeys;
	recv.keycols = keycols;
	recv.last_key = palloc0(sizeof(Datum) * Max(nkeys, 1));
	recv.key_cxt[0] = AllocSetContextCreate(CurrentMemoryContext, "cdc_plugin snapshot key",
											ALLOCSET_SMALL_SIZES);
	recv.key_cxt[1] = AllocSetContextCreate(CurrentMemoryContext, "cdc_plugin snapshot key",
											ALLOCSET_SMALL_SIZES);
	appendStringInfo(&q, " FROM ONLY %s AS %s", qualified, alias);
	if (!a->publish_now)
	{
		if (run->next_key != NULL)
		{
			params = makeParamList(nkeys);
			appendStringInfoString(&q, " WHERE (");
			for (i = 0; i < nkeys; i++)
			{
				Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), keycols[i] - 1);
				Oid			typinput,
							typioparam;

				appendStringInfo(&q, "%s%s.%s", i ? ", " : "", alias,
								 quote_identifier(NameStr(att->attname)));
				getTypeInputInfo(att->atttypid, &typinput, &typioparam);
				params->params[i].value = OidInputFunctionCall(typinput, run->next_key[i],
															   typioparam, att->atttypmod);
				params->params[i].isnull = false;
				params->params[i].pflags = PARAM_FLAG_CONST;
				params->params[i].ptype = att->atttypid;
			}
			appendStringInfoString(&q, ") > (");
			for (i = 0; i < nkeys; i++)
				appendStringInfo(&q, "%s$%d", i ? ", " : "", i + 1);
			appendStringInfoString(&q, ")");
		}
		appendStringInfoString(&q, " ORDER BY ");
		for (i = 0; i < nkeys; i++)
			appendStringInfo(&q, "%s%s.%s", i ? ", " : "", alias,
							 quote_identifier(NameStr(TupleDescAttr(RelationGetDescr(rel),
																	keycols[i] - 1)->attname)));
		if (a->limit > 0)
			appendStringInfo(&q, " LIMIT %d", a->limit);
	}

	memset(&opts, 0, sizeof(opts));
	opts.params = params;
	opts.read_only = true;
	opts.dest = (DestReceiver *) &recv;
	ret = SPI_execute_extended(q.data, &opts);
	/* a SELECT into a DestReceiver of our own reports SPI_OK_UTILITY */
	if (ret != SPI_OK_SELECT && ret != SPI_OK_UTILITY)
		elog(ERROR, "cdc_plugin snapshot query failed: %s", SPI_result_code_string(ret));

	a->rows = recv.rows;
	a->last_key = NULL;
	if (recv.ended)
	{
		a->result = CDC_READ_ENDED;
		table_close(rel, AccessShareLock);
		return;
	}
	/* stopped early by the byte bound: not the end of the table */
	a->last = a->publish_now || (a->limit > 0 && recv.rows < (uint64) a->limit &&
								 recv.bytes < CDC_CHUNK_MAX_BYTES);
	if (recv.rows > 0 && !a->publish_now)
	{
		char	  **key = MemoryContextAlloc(run->cxt, sizeof(char *) * Max(nkeys, 1));

		for (i = 0; i < nkeys; i++)
		{
			Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), keycols[i] - 1);
			Oid			typoutput;
			bool		varlena;

			getTypeOutputInfo(att->atttypid, &typoutput, &varlena);
			key[i] = MemoryContextStrdup(run->cxt,
										 OidOutputFunctionCall(typoutput, recv.last_key[i]));
		}
		a->last_key = key;
	}
	table_close(rel, AccessShareLock);
	a->result = CDC_READ_OK;
}

/*
 * Runs the query in a transaction of its own (or the caller's, which holds
 * the slot's snapshot). An ERROR fails the snapshot, not the worker: the
 * table may have been dropped or changed meanwhile.
 */
static void
cdc_snapshot_read(CdcReadArgs *a)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	bool		own = !a->in_slot_snapshot;

	if (own)
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
	}
	PG_TRY();
	{
		if (own)
			PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		cdc_snapshot_query(a);
		SPI_finish();
		if (own)
			PopActiveSnapshot();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		if (!own)
			PG_RE_THROW();		/* the slot's creation fails as a whole */
		MemoryContextSwitchTo(S.cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		cdc_snapshot_fail(edata->message);
		FreeErrorData(edata);
		a->result = CDC_READ_FAILED;
		return;
	}
	PG_END_TRY();
	if (own)
	{
		CommitTransactionCommand();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
}

/* ---------------------------------------------------------------------
 * Publishing
 * ---------------------------------------------------------------------
 */

/*
 * Sends event to every partition of the run's topic (null key, the
 * partition chosen and written into the event). False if the session ended.
 */
static bool
cdc_snapshot_to_partitions(CdcSnapRun *run, cdc_event *event, const char *what)
{
	CdcOutputRoute route;
	int			p;
	char		errbuf[CDC_ERRBUF_SIZE];

	event->marker_partitions = (uint32_t) run->partitions;
	memset(&route, 0, sizeof(route));
	route.op = event->op;
	route.relid = run->relid;
	route.schema = run->schema_utf8;
	route.table = run->table_utf8;
	route.commit_lsn = event->source.commit_lsn;
	route.lsn = event->source.lsn;
	for (p = 0; p < run->partitions; p++)
	{
		const char *data;
		size_t		len;

		event->marker_partition = (uint32_t) p;
		if (cdc_encoder_encode(S.encoder, event, &data, &len, errbuf, sizeof(errbuf)) != 0)
			cdc_snapshot_core_failed(what, errbuf);
		route.partition = p;
		if (!cdc_stream_send(&route, data, len))
			return false;
	}
	return true;
}

/* An event of the run's table that is not a snapshot event, at lsn of the transaction committed at commit_lsn. */
static void
cdc_table_event_init(CdcSnapRun *run, cdc_op op, XLogRecPtr lsn, XLogRecPtr commit_lsn,
					 TimestampTz commit_time, cdc_event *event)
{
	memset(event, 0, sizeof(*event));
	event->op = op;
	event->source.database = S.database_utf8;
	event->source.schema = run->schema_utf8;
	event->source.table = run->table_utf8;
	event->source.lsn = lsn;
	event->source.commit_lsn = commit_lsn;
	if (commit_time != 0)
		event->source.commit_time_us = commit_time +
			(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
}

/*
 * Restates the table's shape (a schema event, resent) on every partition
 * before its snapshot begins there: a consumer that starts from the
 * snapshot learns the columns first. As of the catalog snapshot: the
 * decoded position at a low watermark, the slot's snapshot at the start.
 * Nothing is sent without a description (no extension, or the table has
 * none). False if the session ended.
 */
static bool
cdc_snapshot_restate_schema(CdcSnapRun *run, XLogRecPtr lsn, XLogRecPtr commit_lsn,
							TimestampTz commit_time)
{
	CdcSchemaEvent schema;
	cdc_event	event;

	if (!cdc_schema_event_restate(run->relid, &schema))
		return true;
	cdc_table_event_init(run, CDC_OP_SCHEMA, lsn, commit_lsn, commit_time, &event);
	event.source.schema_version = schema.change.version;
	event.schema_change = &schema.change;
	return cdc_snapshot_to_partitions(run, &event, "encode a schema event");
}

/*
 * Sends one marker to every partition of the table's topic, positioned at
 * lsn in the transaction committed at commit_lsn; a snapshot_begin after
 * the table's shape. False if the session ended.
 */
static bool
cdc_snapshot_markers(CdcSnapRun *run, cdc_op op, XLogRecPtr lsn, XLogRecPtr commit_lsn,
					 TimestampTz commit_time, uint64 rows)
{
	cdc_event	event;

	if (op == CDC_OP_SNAPSHOT_BEGIN &&
		!cdc_snapshot_restate_schema(run, lsn, commit_lsn, commit_time))
		return false;
	memset(&event, 0, sizeof(event));
	event.op = op;
	cdc_snapshot_source(run, &event.source);
	event.source.lsn = lsn;
	event.source.commit_lsn = commit_lsn;
	if (commit_time != 0)
		event.source.commit_time_us = commit_time +
			(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
	event.marker_rows = rows;
	return cdc_snapshot_to_partitions(run, &event, "encode a snapshot marker");
}

/*
 * Asks for the partition count of the table's topic once (bounded wait):
 * true when it is known. A topic that cannot be used fails the snapshot.
 */
static bool
cdc_snapshot_partitions(CdcSnapRun *run)
{
	char		errbuf[CDC_ERRBUF_SIZE * 2];
	int			n;

	n = cdc_publish_partition_count(run->schema_utf8, run->table_utf8,
									CDC_PARTITIONS_WAIT_MS, errbuf, sizeof(errbuf));
	if (n < 0)
	{
		cdc_snapshot_fail(errbuf);
		return false;
	}
	run->partitions = n;
	return n > 0;
}

/* Publishes what is left of the chunk at its high watermark. */
static void
cdc_snapshot_publish_chunk(CdcSnapChunk *c, ReorderBufferTXN *txn, XLogRecPtr lsn)
{
	CdcSnapRun *run = S.run;
	cdc_source	src;
	const char *data;
	size_t		len;
	cdc_event	event;
	char	   *srcbytes;
	size_t		srclen;
	size_t		i,
				n = cdc_chunk_added(c->rows);
	CdcOutputRoute route;
	CdcSnapPending *pending;
	MemoryContext old;
	char		errbuf[CDC_ERRBUF_SIZE];

	cdc_snapshot_source(run, &src);
	src.lsn = lsn;
	src.commit_lsn = txn->final_lsn;
	src.schema_version = c->schema_version;
	if (txn->xact_time.commit_time != 0)
		src.commit_time_us = txn->xact_time.commit_time +
			(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
	memset(&event, 0, sizeof(event));
	event.op = CDC_OP_READ;
	event.source = src;
	event.parts = CDC_ENCODE_SOURCE_ONLY;
	if (cdc_encoder_encode(S.encoder, &event, &data, &len, errbuf, sizeof(errbuf)) != 0)
		cdc_snapshot_core_failed("encode a snapshot source", errbuf);
	srcbytes = MemoryContextAlloc(S.chunk_cxt, len);
	memcpy(srcbytes, data, len);
	srclen = len;

	memset(&route, 0, sizeof(route));
	route.op = CDC_OP_READ;
	route.relid = run->relid;
	route.schema = run->schema_utf8;
	route.table = run->table_utf8;
	route.partition = -1;
	route.commit_lsn = src.commit_lsn;
	route.lsn = src.lsn;
	for (i = 0; i < n; i++)
	{
		cdc_bytes	key,
					part;

		if (!cdc_chunk_get(c->rows, i, &key, &part))
			continue;			/* a streamed change carried it */
		resetStringInfo(&S.buf);
		appendBinaryStringInfo(&S.buf, part.data, part.len);
		appendBinaryStringInfo(&S.buf, srcbytes, srclen);
		route.key = key.len > 0 ? key.data : NULL;
		route.keylen = key.len;
		route.seq = i + 1;
		if (!cdc_stream_send(&route, S.buf.data, S.buf.len))
			return;				/* the session ended: the chunk is read again */
		run->rows_sent++;
	}
	if (c->last &&
		!cdc_snapshot_markers(run, CDC_OP_SNAPSHOT_END, lsn, txn->final_lsn,
							  txn->xact_time.commit_time, run->rows_sent))
		return;

	run->chunks_sent++;
	if (c->last_key != NULL)
		run->published_key = c->last_key;
	old = MemoryContextSwitchTo(run->cxt);
	pending = palloc0(sizeof(CdcSnapPending));
	pending->commit_lsn = txn->final_lsn;
	pending->key = run->published_key;
	pending->rows = run->rows_sent;
	pending->chunks = run->chunks_sent;
	pending->end = c->last;
	run->pending = lappend(run->pending, pending);
	MemoryContextSwitchTo(old);
	run->read_all = c->last;
	c->open = false;
	cdc_chunk_clear(c->rows);
	if (S.buf.maxlen > (1 << 20))
	{
		pfree(S.buf.data);
		S.buf.data = NULL;
		initStringInfo(&S.buf);
	}
	cdc_snapshot_show();
}

/* A watermark decoded: "<L|H> <nonce> <snapshot id> <chunk seq>". */
void
cdc_snapshot_on_watermark(ReorderBufferTXN *txn, XLogRecPtr lsn, const char *content, Size size)
{
	char		text[128];
	char		kind;
	unsigned long long nonce,
				seq;
	long long	id;
	MemoryContext old;

	if (!S.ready || size >= sizeof(text))
		return;
	memcpy(text, content, size);
	text[size] = '\0';
	if (sscanf(text, "%c %llu %lld %llu", &kind, &nonce, &id, &seq) != 4)
		return;
	/* a watermark of an earlier session (decoded again) or of a chunk given up */
	if (nonce != S.nonce || S.run == NULL || id != S.run->id)
		return;
	old = MemoryContextSwitchTo(S.cxt);
	if (kind == 'L' && S.reading.open && seq == S.reading.seq)
	{
		S.reading.lw_seen = true;
		if (S.run->begin_needed &&
			cdc_snapshot_markers(S.run, CDC_OP_SNAPSHOT_BEGIN, lsn, txn->final_lsn,
								 txn->xact_time.commit_time, 0))
			S.run->begin_needed = false;
	}
	else if (kind == 'H' && S.closing.open && seq == S.closing.seq)
	{
		if (!S.closing.lw_seen)
			elog(WARNING, "cdc_plugin decoded the high watermark of snapshot chunk " UINT64_FORMAT " before its low watermark",
				 (uint64) seq);
		cdc_snapshot_publish_chunk(&S.closing, txn, lsn);
	}
	MemoryContextSwitchTo(old);
}

/* A streamed change of the snapshot's table: its row is newer than the chunk's. */
static void
cdc_chunk_forget(CdcSnapChunk *c, const CdcOutputRoute *route)
{
	if (!c->open)
		return;
	if (route->op == CDC_OP_TRUNCATE)
	{
		cdc_chunk_drop_all(c->rows);
		return;
	}
	if (route->key != NULL)
		(void) cdc_chunk_drop(c->rows, route->key, route->keylen);
	if (route->old_key != NULL)
		(void) cdc_chunk_drop(c->rows, route->old_key, route->old_keylen);
}

void
cdc_snapshot_on_change(const CdcOutputRoute *route)
{
	if (S.run == NULL || route->relid != S.run->relid)
		return;
	cdc_chunk_forget(&S.closing, route);
	cdc_chunk_forget(&S.reading, route);
}

/* ---------------------------------------------------------------------
 * The worker's steps
 * ---------------------------------------------------------------------
 */

/* Moves the chunks whose high watermark the slot confirmed into the acknowledged progress. */
static void
cdc_snapshot_take_acked(XLogRecPtr confirmed)
{
	CdcSnapRun *run = S.run;

	while (run->pending != NIL)
	{
		CdcSnapPending *p = linitial(run->pending);

		/* confirmed is the end of a transaction at or after the watermark's commit */
		if (confirmed <= p->commit_lsn)
			break;
		run->acked_key = p->key;
		run->rows_acked = p->rows;
		run->chunks_acked = p->chunks;
		run->acked_dirty = true;
		if (p->end)
			run->read_all = true;
		run->pending = list_delete_first(run->pending);
		pfree(p);
	}
}

typedef struct CdcWatermarks
{
	uint64		high;			/* chunk whose high watermark to write; 0: none */
	uint64		low;			/* chunk whose low watermark to write; 0: none */
	bool		running;		/* out: the snapshot is still wanted */
} CdcWatermarks;

/* How often the acknowledged progress is written to the queue at most. */
#define CDC_PROGRESS_WRITE_MS 1000

/*
 * One transaction per chunk: the progress Kafka acknowledged (at most once
 * a second, and whenever a request or cancellation came, to see a
 * cancellation), then the high watermark of the chunk read last, then the
 * low watermark of the next one.
 */
static void
cdc_write_watermarks(void *arg)
{
	CdcWatermarks *wm = arg;
	uint64		requests = cdc_monitor_snapshot_requests();
	TimestampTz now = GetCurrentTimestamp();
	char	   *msg;

	wm->running = true;
	if (requests != S.cancels_seen || S.progress_written == 0 ||
		(S.run->acked_dirty &&
		 TimestampDifferenceExceeds(S.progress_written, now, CDC_PROGRESS_WRITE_MS)))
	{
		CdcQueueUpdate u = {NULL, NULL, false, NULL};

		S.cancels_seen = requests;
		S.progress_written = now;
		cdc_queue_update(&u);
		wm->running = u.state_out != NULL && strcmp(u.state_out, "running") == 0;
		if (!wm->running)
			return;
	}
	if (wm->high != 0)
	{
		msg = psprintf("H " UINT64_FORMAT " %lld " UINT64_FORMAT, S.nonce, (long long) S.run->id, wm->high);
		(void) LogLogicalMessage(CDC_WATERMARK_PREFIX, msg, strlen(msg), true);
	}
	if (wm->low != 0)
	{
		msg = psprintf("L " UINT64_FORMAT " %lld " UINT64_FORMAT, S.nonce, (long long) S.run->id, wm->low);
		(void) LogLogicalMessage(CDC_WATERMARK_PREFIX, msg, strlen(msg), true);
	}
}

/* The snapshot ended (done, or cancelled): the queue says so. */
static void
cdc_snapshot_finish(void)
{
	CdcQueueUpdate u = {"done", NULL, true, NULL};

	cdc_in_transaction(cdc_queue_update, &u);
	if (u.state_out != NULL && strcmp(u.state_out, "done") == 0)
		ereport(LOG,
				(errmsg("cdc_plugin finished snapshot %lld of table %s: " UINT64_FORMAT " rows in " UINT64_FORMAT " chunks",
						(long long) S.run->id, cdc_qualified(S.run->schema, S.run->table),
						S.run->rows_acked, S.run->chunks_acked)));
	cdc_snapshot_drop_run();
	S.queue_empty = false;
}

/*
 * Closes the chunk read last (its high watermark) and reads the next one
 * after its low watermark, both watermarks in one transaction.
 */
static void
cdc_snapshot_next_chunk(void)
{
	CdcSnapRun *run = S.run;
	CdcWatermarks wm;
	CdcReadArgs a;
	bool		read_more = !(S.reading.open && S.reading.last);

	wm.high = S.reading.open ? S.reading.seq : 0;
	wm.low = read_more ? ++S.seq : 0;
	wm.running = false;
	cdc_in_transaction(cdc_write_watermarks, &wm);
	if (!wm.running)
	{
		ereport(LOG,
				(errmsg("cdc_plugin stopped snapshot %lld of table %s: it was cancelled",
						(long long) run->id, cdc_qualified(run->schema, run->table))));
		cdc_snapshot_drop_run();
		S.queue_empty = false;
		return;
	}
	if (S.reading.open)
	{
		/* the chunk read last waits for its high watermark to be decoded */
		cdc_chunk  *rows = S.closing.rows;

		S.closing = S.reading;
		S.reading.rows = rows;
		S.reading.open = false;
	}
	if (!read_more)
		return;

	cdc_chunk_clear(S.reading.rows);
	memset(&a, 0, sizeof(a));
	a.run = run;
	a.limit = cdc_snapshot_chunk_rows;
	cdc_snapshot_read(&a);
	if (a.result == CDC_READ_FAILED)
		return;
	if (a.result == CDC_READ_RETRY)
	{
		cdc_chunk_clear(S.reading.rows);
		S.retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), CDC_RETRY_READ_MS);
		return;					/* its low watermark is ignored when decoded */
	}
	S.reading.open = true;
	S.reading.lw_seen = false;
	S.reading.seq = wm.low;
	S.reading.last = a.last;
	S.reading.last_key = a.last_key;
	S.reading.schema_version = a.schema_version;
	if (a.last_key != NULL)
		run->next_key = a.last_key;
}

/*
 * True while more than CDC_CHUNKS_IN_FLIGHT chunks' worth of messages wait
 * for Kafka. The next chunk waits then: streamed changes are queued behind whatever the
 * producer holds, so letting snapshot rows pile up there (its queue takes
 * 64 MB) would delay every change by the time Kafka takes to drain them.
 */
static bool
cdc_snapshot_kafka_busy(void)
{
	cdc_producer_progress pr;

	cdc_publish_read_progress(&pr);
	return pr.messages_in_flight > (uint64) cdc_snapshot_chunk_rows * CDC_CHUNKS_IN_FLIGHT;
}

/* Between decoding rounds: progress, then the next chunk. */
void
cdc_snapshot_step(XLogRecPtr confirmed)
{
	if (!S.ready || S.closing.open || GetCurrentTimestamp() < S.retry_at)
		return;
	if (S.run == NULL && !cdc_snapshot_load_next())
		return;
	cdc_snapshot_take_acked(confirmed);
	if (S.run->read_all)
	{
		if (S.run->pending == NIL)
			cdc_snapshot_finish();
		return;					/* until Kafka acknowledged the end markers */
	}
	if (S.run->partitions == 0 && !cdc_snapshot_partitions(S.run))
		return;
	if (cdc_snapshot_kafka_busy())
		return;
	cdc_snapshot_next_chunk();
}

/* True while a table snapshot runs (chunks may be open during decoding). */
bool
cdc_snapshot_running(void)
{
	return S.ready && S.run != NULL;
}

/* True when a step would start a chunk or look at a request now. */
bool
cdc_snapshot_wants_step(void)
{
	if (!S.ready || S.closing.open || GetCurrentTimestamp() < S.retry_at)
		return false;
	if (S.run != NULL)
		return !S.run->read_all && !cdc_snapshot_kafka_busy();
	return cdc_monitor_snapshot_requests() != S.requests_seen;
}

/* A session starts: watermarks of earlier sessions mean nothing now. */
void
cdc_snapshot_session_start(void)
{
	if (!S.ready)
		return;
	if (!pg_strong_random(&S.nonce, sizeof(S.nonce)))
		S.nonce = (uint64) GetCurrentTimestamp() ^ ((uint64) MyProcPid << 32);
	S.reading.open = false;
	S.closing.open = false;
	S.queue_empty = false;
}

/*
 * A session ended: keeps what Kafka acknowledged, forgets the rest (the
 * next session reads it again from the acknowledged key).
 */
void
cdc_snapshot_session_end(XLogRecPtr confirmed)
{
	if (!S.ready || S.run == NULL)
		return;
	cdc_snapshot_take_acked(confirmed);
	if (S.run->acked_dirty)
	{
		CdcQueueUpdate u = {NULL, NULL, false, NULL};

		cdc_in_transaction(cdc_queue_update, &u);
	}
	cdc_snapshot_drop_run();
}

/* Once per worker process. */
void
cdc_snapshot_worker_init(void)
{
	char		errbuf[CDC_ERRBUF_SIZE];

	memset(&S, 0, sizeof(S));
	S.cxt = AllocSetContextCreate(TopMemoryContext, "cdc_plugin snapshots", ALLOCSET_DEFAULT_SIZES);
	S.chunk_cxt = AllocSetContextCreate(S.cxt, "cdc_plugin snapshot chunk", ALLOCSET_DEFAULT_SIZES);
	S.encoder = cdc_encoder_create(CDC_PLUGIN_VERSION, errbuf, sizeof(errbuf));
	if (S.encoder == NULL)
		cdc_snapshot_core_failed("create an encoder", errbuf);
	cdc_encoder_trust_utf8(S.encoder, GetDatabaseEncoding() != PG_SQL_ASCII);
	S.reading.rows = cdc_chunk_create(errbuf, sizeof(errbuf));
	S.closing.rows = cdc_chunk_create(errbuf, sizeof(errbuf));
	if (S.reading.rows == NULL || S.closing.rows == NULL)
		cdc_snapshot_core_failed("create a chunk", errbuf);
	{
		MemoryContext old = MemoryContextSwitchTo(S.cxt);

		initStringInfo(&S.buf);
		MemoryContextSwitchTo(old);
	}
	cdc_row_image_init(false);
	StartTransactionCommand();
	S.database_utf8 = MemoryContextStrdup(S.cxt, cdc_server_cstring(get_database_name(MyDatabaseId)));
	CommitTransactionCommand();
	S.ready = true;
}

/* True when CREATE EXTENSION cdc_plugin ran in this database (the queue exists). */
bool
cdc_snapshot_queue_exists(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	bool		exists;

	StartTransactionCommand();
	exists = OidIsValid(cdc_queue_relid());
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return exists;
}

/* ---------------------------------------------------------------------
 * The snapshots queued at a slot's start: initial, or after a gap
 * ---------------------------------------------------------------------
 */

/* Queues one table's snapshot; returns its id (request, gap: 0 for none). */
static int64
cdc_queue_insert(Oid relid, const char *schema, const char *table, const char *kind,
				 bool running, int64 request, int64 gap)
{
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	Oid			types[7] = {OIDOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, INT8OID};
	bool		isnull;
	int			ret;

	values[0] = ObjectIdGetDatum(relid);
	values[1] = CStringGetTextDatum(schema);
	values[2] = CStringGetTextDatum(table);
	values[3] = CStringGetTextDatum(kind);
	values[4] = CStringGetTextDatum(running ? "running" : "queued");
	values[5] = Int64GetDatum(request);
	if (request == 0)
		nulls[5] = 'n';
	values[6] = Int64GetDatum(gap);
	if (gap == 0)
		nulls[6] = 'n';
	ret = SPI_execute_with_args(psprintf(
		"INSERT INTO %s.%s (relid, schema_name, table_name, kind, state, request, gap, started,"
		" rows_estimated)"
		" SELECT $1, $2, $3, $4, $5, $6, $7,"
		" CASE WHEN $5 OPERATOR(pg_catalog.=) 'running' THEN pg_catalog.now() END,"
		" CASE WHEN c.reltuples OPERATOR(pg_catalog.>=) 0 THEN c.reltuples::bigint END"
		" FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) $1"
		" RETURNING id", CDC_EXTENSION_SCHEMA, CDC_QUEUE_TABLE),
								7, types, values, nulls, false, 0);
	if (ret != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "cdc_plugin could not queue a snapshot: %s", SPI_result_code_string(ret));
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* Runs one SQL statement on the queue (UPDATE), with one bigint argument or none. */
static void
cdc_queue_exec(const char *sql, int64 arg, bool has_arg)
{
	Datum		values[1] = {Int64GetDatum(arg)};
	Oid			types[1] = {INT8OID};
	int			ret;

	ret = SPI_execute_with_args(sql, has_arg ? 1 : 0, types, values, NULL, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "cdc_plugin could not update the snapshot queue: %s", SPI_result_code_string(ret));
}

/* A table met at a slot's start, as a run (names, kind; partitions not known yet). */
static CdcSnapRun *
cdc_snapshot_start_run(int64 id, Oid relid, const char *schema, const char *table,
					   cdc_snapshot_kind kind)
{
	CdcSnapRun *run;
	MemoryContext old;

	run = MemoryContextAllocZero(S.cxt, sizeof(CdcSnapRun));
	run->cxt = AllocSetContextCreate(S.cxt, "cdc_plugin snapshot run", ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(run->cxt);
	run->id = id;
	run->relid = relid;
	run->schema = pstrdup(schema);
	run->table = pstrdup(table);
	run->schema_utf8 = pstrdup(cdc_server_cstring(schema));
	run->table_utf8 = pstrdup(cdc_server_cstring(table));
	run->kind = kind;
	run->rows_estimated = -1;
	MemoryContextSwitchTo(old);
	return run;
}

/* Frees a run that never became S.run. */
static void
cdc_snapshot_free_run(CdcSnapRun *run)
{
	MemoryContextDelete(run->cxt);
	pfree(run);
}

/*
 * Waits for the partition count of the run's topic, serving the producer
 * (streaming has not started: waiting holds nothing back). False when the
 * session ended meanwhile; ERROR when the topic cannot be used (the slot's
 * creation fails as a whole and is tried again).
 */
static bool
cdc_snapshot_wait_partitions(CdcSnapRun *run)
{
	for (;;)
	{
		char		errbuf[CDC_ERRBUF_SIZE * 2];
		int			n = cdc_publish_partition_count(run->schema_utf8, run->table_utf8,
													CDC_PARTITIONS_WAIT_MS, errbuf, sizeof(errbuf));

		if (n < 0)
			ereport(ERROR,
					(errmsg("cdc_plugin could not publish to the topic of table %s: %s",
							cdc_qualified(run->schema, run->table), errbuf)));
		if (n > 0)
		{
			run->partitions = n;
			return true;
		}
		if (!cdc_stream_serve(0))
			return false;
	}
}

/* Reads one keyless table whole, publishing its rows at start_lsn (run becomes S.run). */
static bool
cdc_snapshot_keyless(CdcSnapRun *run, XLogRecPtr start_lsn)
{
	CdcReadArgs a;
	CdcSnapDone *done;
	MemoryContext old;

	S.run = run;
	cdc_snapshot_show();
	if (!cdc_snapshot_markers(run, CDC_OP_SNAPSHOT_BEGIN, start_lsn, start_lsn, 0, 0))
		return false;
	memset(&a, 0, sizeof(a));
	a.run = run;
	a.publish_now = true;
	a.in_slot_snapshot = true;
	a.position = start_lsn;
	cdc_snapshot_read(&a);
	if (a.result != CDC_READ_OK)
		return false;
	run->rows_sent = a.rows;
	if (!cdc_snapshot_markers(run, CDC_OP_SNAPSHOT_END, start_lsn, start_lsn, 0, a.rows))
		return false;
	old = MemoryContextSwitchTo(S.cxt);
	done = palloc(sizeof(CdcSnapDone));
	done->id = run->id;
	done->rows = a.rows;
	S.initial_done = lappend(S.initial_done, done);
	MemoryContextSwitchTo(old);
	ereport(LOG,
			(errmsg("cdc_plugin %s snapshot %lld read table %s (no key) with the slot's snapshot: " UINT64_FORMAT " rows",
					cdc_snapshot_kind_name(run->kind), (long long) run->id,
					cdc_qualified(run->schema, run->table), a.rows)));
	cdc_snapshot_drop_run();
	return true;
}

/*
 * Sends the gap to every partition of the run's topic, at start_lsn (the
 * new slot's start), naming the snapshot that re-reads the table (0: none).
 */
static bool
cdc_snapshot_gap_events(CdcSnapRun *run, const CdcGapStart *gap, int64 snapshot_id,
						XLogRecPtr start_lsn)
{
	cdc_event	event;

	cdc_table_event_init(run, CDC_OP_GAP, start_lsn, start_lsn, 0, &event);
	event.gap_id = (uint64_t) gap->id;
	event.gap_lost_from_lsn = gap->lost_from;
	event.gap_lost_to_lsn = start_lsn;
	event.gap_reason = gap->reason;
	event.gap_resnapshot = snapshot_id != 0;
	event.gap_snapshot_id = (uint64_t) snapshot_id;
	event.gap_time_us = gap->time_us;
	return cdc_snapshot_to_partitions(run, &event, "encode a gap event");
}

/*
 * In the slot's snapshot transaction: for every captured table, queues its
 * initial snapshot (gap NULL) or, after a gap, publishes the gap to its
 * partitions and queues a re-snapshot if gap->changed says so. Tables
 * without a key are read there and then.
 */
static bool
cdc_snapshot_at_start(XLogRecPtr start_lsn, CdcGapStart *gap)
{
	int			ret;
	uint64		i,
				n;
	SPITupleTable *tables;
	int			queued = 0,
				keyless = 0,
				captured = 0;
	bool		ok = true;

	list_free_deep(S.initial_done);
	S.initial_done = NIL;
	if (!OidIsValid(cdc_queue_relid()))
	{
		if (gap != NULL)
			elog(ERROR, "cdc_plugin cannot publish a gap without extension cdc_plugin");
		ereport(WARNING,
				(errmsg("cdc_plugin takes no initial snapshot: extension cdc_plugin is not installed in the worker's database"),
				 errhint("Run CREATE EXTENSION cdc_plugin there; then snapshot tables with SELECT cdc_plugin.snapshot('schema.table').")));
		return true;
	}
	/* the transaction's snapshot is the slot's (restored by the caller) */
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (gap == NULL)
		/* queued by an earlier slot that never streamed (a crash before it was kept) */
		cdc_queue_exec(psprintf(
			"UPDATE %s.%s SET state = 'cancelled', finished = pg_catalog.now(),"
			" error = 'superseded: the worker created a new replication slot and queued a new initial snapshot'"
			" WHERE kind OPERATOR(pg_catalog.=) 'initial'"
			" AND state OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'running']::pg_catalog.text[])",
			CDC_EXTENSION_SCHEMA, CDC_QUEUE_TABLE), 0, false);
	else
	{
		/* queued by an earlier attempt at this gap that never got its slot */
		cdc_queue_exec(psprintf(
			"UPDATE %s.%s SET state = 'cancelled', finished = pg_catalog.now(),"
			" error = 'superseded: the worker recreated its slot again for the same gap'"
			" WHERE gap OPERATOR(pg_catalog.=) $1"
			" AND state OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'running']::pg_catalog.text[])",
			CDC_EXTENSION_SCHEMA, CDC_QUEUE_TABLE), gap->id, true);

		/*
		 * Consumers mark every row stale at the gap and drop, at a
		 * snapshot's end, the rows it did not refresh: a snapshot resumed
		 * after the gap would drop the rows it sent before. Every other
		 * pending snapshot starts over.
		 */
		cdc_queue_exec(psprintf(
			"UPDATE %s.%s SET state = 'queued', rows_done = 0, chunks_done = 0, last_key = NULL,"
			" started = NULL"
			" WHERE state OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'running']::pg_catalog.text[])",
			CDC_EXTENSION_SCHEMA, CDC_QUEUE_TABLE), 0, false);
	}

	/* what streaming publishes: permanent tables outside the system schemas */
	ret = SPI_execute("SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c"
					  " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
					  " WHERE c.relkind OPERATOR(pg_catalog.=) 'r' AND c.relpersistence OPERATOR(pg_catalog.=) 'p'"
					  " AND n.nspname OPERATOR(pg_catalog.<>) ALL (ARRAY['pg_catalog', 'information_schema', '"
					  CDC_EXTENSION_SCHEMA "']::pg_catalog.name[])"
					  " AND n.nspname::pg_catalog.text NOT LIKE 'pg\\_toast%'"
					  " AND n.nspname::pg_catalog.text NOT LIKE 'pg\\_temp\\_%'"
					  " ORDER BY n.nspname, c.relname", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "cdc_plugin could not list the tables to snapshot: %s", SPI_result_code_string(ret));
	tables = SPI_tuptable;
	n = SPI_processed;
	for (i = 0; i < n && ok; i++)
	{
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(tables->vals[i], tables->tupdesc, 1, &isnull));
		char	   *schema = SPI_getvalue(tables->vals[i], tables->tupdesc, 2);
		char	   *table = SPI_getvalue(tables->vals[i], tables->tupdesc, 3);
		Relation	rel;
		bool		keyed;
		bool		snapshot;
		int64		id = 0;
		CdcSnapRun *run;

		if (!cdc_table_captured(schema, table))
			continue;
		rel = try_table_open(relid, AccessShareLock);
		if (rel == NULL)
			continue;
		keyed = OidIsValid(cdc_key_index(rel));
		table_close(rel, AccessShareLock);
		captured++;
		snapshot = gap == NULL || gap->changed(relid, gap->arg);
		if (snapshot)
		{
			if (gap != NULL)
				cdc_queue_exec(psprintf(
					"UPDATE %s.%s SET state = 'cancelled', finished = pg_catalog.now(),"
					" error = 'superseded by the re-snapshot after a gap'"
					" WHERE relid OPERATOR(pg_catalog.=) %u AND gap IS NULL"
					" AND state OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'running']::pg_catalog.text[])",
					CDC_EXTENSION_SCHEMA, CDC_QUEUE_TABLE, relid), 0, false);
			id = cdc_queue_insert(relid, schema, table, gap ? "gap" : "initial", !keyed, 0,
								  gap ? gap->id : 0);
			queued++;
		}
		if (gap == NULL && keyed)
			continue;
		run = cdc_snapshot_start_run(id, relid, schema, table,
									 gap ? CDC_SNAPSHOT_GAP : CDC_SNAPSHOT_INITIAL);
		ok = cdc_snapshot_wait_partitions(run);
		if (ok && gap != NULL)
			ok = cdc_snapshot_gap_events(run, gap, id, start_lsn);
		if (ok && snapshot && !keyed)
		{
			keyless++;
			ok = cdc_snapshot_keyless(run, start_lsn);	/* frees run */
		}
		else
			cdc_snapshot_free_run(run);
	}
	SPI_finish();
	PopActiveSnapshot();
	if (!ok)
		return false;
	if (gap == NULL)
		ereport(LOG,
				(errmsg("cdc_plugin queued an initial snapshot of %d tables (%d without a key read at once)",
						queued, keyless)));
	else
	{
		gap->tables = captured;
		gap->resnapshots = queued;
	}
	return true;
}

bool
cdc_snapshot_initial(XLogRecPtr start_lsn)
{
	return cdc_snapshot_at_start(start_lsn, NULL);
}

bool
cdc_snapshot_after_gap(XLogRecPtr start_lsn, CdcGapStart *gap)
{
	return cdc_snapshot_at_start(start_lsn, gap);
}

/* The keyless tables' rows are acknowledged: their snapshots are done. */
static void
cdc_initial_mark_done(void *arg)
{
	ListCell   *lc;

	foreach(lc, S.initial_done)
	{
		CdcSnapDone *d = lfirst(lc);
		Datum		values[2] = {Int64GetDatum(d->id), Int64GetDatum((int64) d->rows)};
		Oid			types[2] = {INT8OID, INT8OID};
		int			ret;

		ret = SPI_execute_with_args(psprintf(
			"UPDATE %s.%s SET state = 'done', rows_done = $2, chunks_done = 1,"
			" finished = pg_catalog.now() WHERE id OPERATOR(pg_catalog.=) $1",
			CDC_EXTENSION_SCHEMA, CDC_QUEUE_TABLE), 2, types, values, NULL, false, 0);
		if (ret != SPI_OK_UPDATE)
			elog(ERROR, "cdc_plugin could not update the snapshot queue: %s", SPI_result_code_string(ret));
	}
}

void
cdc_snapshot_initial_done(void)
{
	if (S.initial_done != NIL)
		cdc_in_transaction(cdc_initial_mark_done, NULL);
	list_free_deep(S.initial_done);
	S.initial_done = NIL;
	S.queue_empty = false;
}

/* ---------------------------------------------------------------------
 * SQL functions
 * ---------------------------------------------------------------------
 */

static bool cdc_request_in_xact = false;
static bool cdc_request_callback_registered = false;

/* A request or cancellation committed: tell the worker. */
static void
cdc_snapshot_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT && cdc_request_in_xact)
		cdc_monitor_snapshot_requested();
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
		cdc_request_in_xact = false;
}

static void
cdc_note_request(void)
{
	if (!cdc_request_callback_registered)
	{
		RegisterXactCallback(cdc_snapshot_xact_callback, NULL);
		cdc_request_callback_registered = true;
	}
	cdc_request_in_xact = true;
}

/* Superusers and members of cdc_plugin_snapshot only. */
static void
cdc_check_snapshot_privilege(const char *what)
{
	Oid			role = get_role_oid(CDC_SNAPSHOT_ROLE, true);

	if (superuser() || (OidIsValid(role) && has_privs_of_role(GetUserId(), role)))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s", what),
			 errdetail("Only superusers and members of role \"%s\" may request or cancel cdc_plugin snapshots.",
					   CDC_SNAPSHOT_ROLE),
			 errhint("A superuser can run: GRANT %s TO %s;", CDC_SNAPSHOT_ROLE,
					 quote_identifier(GetUserNameFromId(GetUserId(), false)))));
}

/* The worker must publish this database for a request to mean anything. */
void
cdc_check_worker_configured(const char *to_do)
{
	if (cdc_database == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cdc_plugin is not in shared_preload_libraries, so no worker runs to %s", to_do)));
	if (strcmp(cdc_database, get_database_name(MyDatabaseId)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the cdc_plugin worker does not publish this database"),
				 errhint("cdc_plugin.database names the database the worker publishes.")));
}

/* Runs SQL on one of the extension's tables as its owner (callers may not write it themselves). */
void
cdc_become_owner_of(const char *table_name, CdcAsOwner *s)
{
	Oid			nsp = get_namespace_oid(CDC_EXTENSION_SCHEMA, true);
	Oid			table = OidIsValid(nsp) ? get_relname_relid(table_name, nsp) : InvalidOid;
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(table))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table %s.%s is missing: the extension is damaged",
						CDC_EXTENSION_SCHEMA, table_name)));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(table));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", table);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	GetUserIdAndSecContext(&s->save_user, &s->save_sec);
	SetUserIdAndSecContext(owner, s->save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
}

void
cdc_restore_user(CdcAsOwner *s)
{
	SetUserIdAndSecContext(s->save_user, s->save_sec);
}

/* The pending snapshot of a table, or 0. */
static int64
cdc_pending_snapshot_of(Oid relid)
{
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	Oid			types[1] = {OIDOID};
	bool		isnull;
	int			ret;

	ret = SPI_execute_with_args(psprintf(
		"SELECT coalesce(request, id) FROM %s.%s WHERE relid OPERATOR(pg_catalog.=) $1"
		" AND state OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'running']::pg_catalog.text[])"
		" ORDER BY id LIMIT 1", CDC_EXTENSION_SCHEMA, CDC_QUEUE_TABLE),
								1, types, values, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "cdc_plugin could not read the snapshot queue: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return 0;
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * cdc_plugin.snapshot(regclass): queues a snapshot of a captured table, or
 * of each leaf of a partitioned one (their changes are published per leaf).
 * Returns the request id: the snapshot id of a plain table, the first
 * leaf's for a partitioned one.
 */
Datum
cdc_plugin_snapshot(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	HeapTuple	tup;
	Form_pg_class cls;
	char		relkind,
				persistence;
	char	   *schema,
			   *table,
			   *name;
	List	   *leaves;
	ListCell   *lc;
	int64		request = 0;
	int64		existing = 0;
	CdcAsOwner who;
	AclResult	acl;

	cdc_check_snapshot_privilege("request a cdc_plugin snapshot");

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	cls = (Form_pg_class) GETSTRUCT(tup);
	relkind = cls->relkind;
	persistence = cls->relpersistence;
	schema = get_namespace_name(cls->relnamespace);
	table = pstrdup(NameStr(cls->relname));
	ReleaseSysCache(tup);
	name = cdc_qualified(schema, table);

	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, table);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", name),
				 errdetail("Only tables and partitioned tables are captured.")));
	if (persistence != RELPERSISTENCE_PERMANENT)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not captured: it is %s", name,
						persistence == RELPERSISTENCE_TEMP ? "temporary" : "unlogged"),
				 errdetail("Logical decoding sees no changes of temporary or unlogged tables.")));
	if (IsCatalogNamespace(get_rel_namespace(relid)) || isAnyTempNamespace(get_rel_namespace(relid)) ||
		strcmp(schema, "information_schema") == 0 || strcmp(schema, CDC_EXTENSION_SCHEMA) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not captured: its schema is never published", name)));

	if (relkind == RELKIND_PARTITIONED_TABLE)
	{
		List	   *all = find_all_inheritors(relid, AccessShareLock, NULL);

		leaves = NIL;
		foreach(lc, all)
			if (get_rel_relkind(lfirst_oid(lc)) == RELKIND_RELATION)
				leaves = lappend_oid(leaves, lfirst_oid(lc));
		if (leaves == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("partitioned table \"%s\" has no partitions to snapshot", name)));
	}
	else
		leaves = list_make1_oid(relid);

	/* every leaf must be captured and keyed before anything is queued */
	foreach(lc, leaves)
	{
		Oid			leaf = lfirst_oid(lc);
		char	   *lschema = get_namespace_name(get_rel_namespace(leaf));
		char	   *ltable = get_rel_name(leaf);
		Relation	rel;
		bool		keyed;

		if (get_rel_persistence(leaf) != RELPERSISTENCE_PERMANENT)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("partition \"%s\" is not captured: it is unlogged", cdc_qualified(lschema, ltable))));
		if (!cdc_table_captured(lschema, ltable))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("table \"%s\" is not captured by the worker", cdc_qualified(lschema, ltable)),
					 errhint("cdc_plugin.include_tables and cdc_plugin.exclude_tables choose the tables the worker publishes.")));
		if (leaf != relid)
		{
			acl = pg_class_aclcheck(leaf, GetUserId(), ACL_SELECT);
			if (acl != ACLCHECK_OK)
				aclcheck_error(acl, OBJECT_TABLE, ltable);
		}
		rel = table_open(leaf, AccessShareLock);
		keyed = OidIsValid(cdc_key_index(rel));
		table_close(rel, AccessShareLock);
		if (!keyed)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("table \"%s\" has no primary key or replica identity index", cdc_qualified(lschema, ltable)),
					 errdetail("An on-demand snapshot reads a table in key order, in short chunks; a table without a key is read only by the initial snapshot."),
					 errhint("Add a primary key, or use ALTER TABLE ... REPLICA IDENTITY USING INDEX with a unique index on NOT NULL columns.")));
	}

	cdc_check_worker_configured("take snapshots");
	cdc_become_owner_of(CDC_QUEUE_TABLE, &who);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	foreach(lc, leaves)
	{
		Oid			leaf = lfirst_oid(lc);
		int64		pending = cdc_pending_snapshot_of(leaf);
		int64		id;

		if (pending != 0)
		{
			ereport(NOTICE,
					(errmsg("table \"%s\" already has a snapshot queued or running (request %lld)",
							cdc_qualified(get_namespace_name(get_rel_namespace(leaf)), get_rel_name(leaf)),
							(long long) pending)));
			if (existing == 0)
				existing = pending;
			continue;
		}
		id = cdc_queue_insert(leaf, get_namespace_name(get_rel_namespace(leaf)), get_rel_name(leaf),
							  "incremental", false, request, 0);
		if (request == 0)
			request = id;
	}
	SPI_finish();
	cdc_restore_user(&who);
	if (request != 0)
		cdc_note_request();
	PG_RETURN_INT64(request != 0 ? request : existing);
}

/* cdc_plugin.cancel_snapshot(id): a snapshot id or a request id. */
Datum
cdc_plugin_cancel_snapshot(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	char	   *who_name;
	CdcAsOwner who;
	Datum		values[2];
	Oid			types[2] = {INT8OID, TEXTOID};
	int			ret;
	uint64		n;

	cdc_check_snapshot_privilege("cancel a cdc_plugin snapshot");
	who_name = GetUserNameFromId(GetUserId(), false);
	cdc_become_owner_of(CDC_QUEUE_TABLE, &who);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	values[0] = Int64GetDatum(id);
	values[1] = CStringGetTextDatum(psprintf("cancelled by %s", who_name));
	ret = SPI_execute_with_args(psprintf(
		"UPDATE %s.%s SET state = 'cancelled', finished = pg_catalog.now(), error = $2"
		" WHERE (id OPERATOR(pg_catalog.=) $1 OR request OPERATOR(pg_catalog.=) $1)"
		" AND state OPERATOR(pg_catalog.=) ANY (ARRAY['queued', 'running']::pg_catalog.text[])",
		CDC_EXTENSION_SCHEMA, CDC_QUEUE_TABLE), 2, types, values, NULL, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "cdc_plugin could not update the snapshot queue: %s", SPI_result_code_string(ret));
	n = SPI_processed;
	SPI_finish();
	cdc_restore_user(&who);
	if (n > 0)
		cdc_note_request();
	PG_RETURN_BOOL(n > 0);
}
