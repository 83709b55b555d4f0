/*
 * slot_loss.c — the worker's slot after max_slot_wal_keep_size invalidated
 * it: the gap in the stream, which tables need re-reading, and
 * cdc_plugin.recover_slot().
 *
 * A lost slot leaves a gap: changes committed after its confirmed position
 * and before a new slot starts are gone. stream.c finds the loss; this
 * module records it in cdc_plugin.gap_log (one open row at a time, so a
 * crash anywhere in the recovery resumes it), logs it once at ERROR level,
 * and, in the transaction that creates the new slot, decides which tables
 * changed during the gap so that only those are re-snapshotted.
 *
 * Which tables changed: PostgreSQL's per-table counters (n_tup_ins +
 * n_tup_upd + n_tup_del of pg_stat_all_tables, and the relfilenode, which
 * TRUNCATE changes). While streaming, the worker reads them every
 * CDC_COUNTERS_EVERY_MS, remembers the WAL insert position after the read,
 * and records them in cdc_plugin.change_counters once the slot's confirmed
 * position passed that point: then every change they count was
 * acknowledged by Kafka. After a loss, a table whose counters differ from
 * the recorded ones changed after them, possibly in the gap. The counters
 * cannot be trusted when the statistics were reset or discarded since they
 * were recorded (the database's and pg_stat_wal's stats_reset are recorded
 * with them; crash recovery resets the latter), or when none were recorded
 * for the lost slot: then every captured table is re-snapshotted, and the
 * log says why. Sessions report their counters up to PGSTAT_IDLE_INTERVAL
 * (10 s) after they commit, so the decision waits CDC_STATS_SETTLE_MS in
 * the new slot's transaction first.
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "config.h"
#include "monitor.h"
#include "output_plugin.h"
#include "slot_loss.h"
#include "stream.h"
#include "wal_budget.h"

#define CDC_GAP_TABLE "gap_log"
#define CDC_COUNTERS_TABLE "change_counters"
#define CDC_COUNTERS_STATE_TABLE "change_counters_state"

/* How often the worker reads the change counters while streaming. */
#define CDC_COUNTERS_EVERY_MS 2000
/* How long the decision waits for sessions to report their counters. */
#ifndef CDC_STATS_SETTLE_MS
#define CDC_STATS_SETTLE_MS 11000
#endif
/* One round of that wait. */
#define CDC_SETTLE_ROUND_MS 200

#define CDC_LOSS_REASON "replication slot invalidated: it retained more WAL than max_slot_wal_keep_size allows"

PG_FUNCTION_INFO_V1(cdc_plugin_recover_slot);

/* One table's counters. */
typedef struct CdcCounter
{
	Oid			relid;
	Oid			relfilenode;
	int64		changes;
} CdcCounter;

/* A set of counters and the statistics' reset times they belong to. */
typedef struct CdcCounterSet
{
	CdcCounter *items;			/* by relid */
	int			n;
	char	   *db_reset;		/* timestamptz text; NULL: never reset */
	char	   *wal_reset;
} CdcCounterSet;

static struct
{
	MemoryContext cxt;
	bool		disabled;		/* no extension: look again later */
	TimestampTz last_take;
	XLogRecPtr	last_take_insert;	/* WAL insert position at the last read */
	bool		has_candidate;
	XLogRecPtr	candidate_lsn;	/* everything counted was committed before this */
	CdcCounterSet candidate;
	bool		recorded_valid; /* recorded = what the table holds */
	CdcCounterSet recorded;
} C;

/* The decision of the gap being recovered. */
static struct
{
	bool		all;
	char		why[256];
	XLogRecPtr	recorded_lsn;
	Oid		   *changed;		/* sorted */
	int			nchanged;
} D;

/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

/* The OID of one of the extension's tables, or InvalidOid (in a transaction). */
static Oid
cdc_extension_table(const char *name)
{
	Oid			nsp = get_namespace_oid(CDC_EXTENSION_SCHEMA, true);

	return OidIsValid(nsp) ? get_relname_relid(name, nsp) : InvalidOid;
}

/* Runs SQL that must succeed with the expected result code. */
static void
cdc_loss_exec(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
			  int expected)
{
	int			ret = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);

	if (ret != expected)
		elog(ERROR, "cdc_plugin could not update its gap bookkeeping: %s",
			 SPI_result_code_string(ret));
}

/* Runs fn with SPI connected inside the caller's transaction (the new slot's). */
static void
cdc_in_current_transaction(void (*fn) (void *arg), void *arg)
{
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	fn(arg);
	SPI_finish();
	PopActiveSnapshot();
}

static void
cdc_gap_exists_fn(void *arg)
{
	*(bool *) arg = OidIsValid(cdc_extension_table(CDC_GAP_TABLE));
}

bool
cdc_gap_log_exists(void)
{
	bool		exists = false;

	cdc_in_transaction(cdc_gap_exists_fn, &exists);
	return exists;
}

/* ---------------------------------------------------------------------
 * The gap log
 * ---------------------------------------------------------------------
 */

/* Fills gap from a gap_log row (id, state, lost_from, lost_to, detected, reason). */
static void
cdc_gap_from_row(CdcGap *gap, HeapTuple tup, TupleDesc desc)
{
	bool		isnull;
	Datum		d;

	memset(gap, 0, sizeof(*gap));
	gap->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	gap->waiting = strcmp(SPI_getvalue(tup, desc, 2), "waiting") == 0;
	gap->lost_from = DatumGetLSN(SPI_getbinval(tup, desc, 3, &isnull));
	d = SPI_getbinval(tup, desc, 4, &isnull);
	gap->lost_to = isnull ? InvalidXLogRecPtr : DatumGetLSN(d);
	gap->detected = DatumGetTimestampTz(SPI_getbinval(tup, desc, 5, &isnull));
	strlcpy(gap->reason, SPI_getvalue(tup, desc, 6), sizeof(gap->reason));
}

typedef struct CdcGapLoad
{
	CdcGap	   *gap;
	bool		found;
} CdcGapLoad;

static void
cdc_gap_load_fn(void *arg)
{
	CdcGapLoad *l = arg;
	int			ret;

	l->found = false;
	if (!OidIsValid(cdc_extension_table(CDC_GAP_TABLE)))
		return;
	ret = SPI_execute(psprintf(
		"SELECT id, state, lost_from_lsn, lost_to_lsn, detected, reason FROM %s.%s"
		" WHERE state OPERATOR(pg_catalog.<>) 'done' ORDER BY id DESC LIMIT 1",
		CDC_EXTENSION_SCHEMA, CDC_GAP_TABLE), true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "cdc_plugin could not read its gap log: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return;
	cdc_gap_from_row(l->gap, SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
	l->found = true;
}

bool
cdc_gap_load(CdcGap *gap)
{
	CdcGapLoad	l = {gap, false};

	cdc_in_transaction(cdc_gap_load_fn, &l);
	return l.found;
}

typedef struct CdcGapInsert
{
	CdcGap	   *gap;
	XLogRecPtr	lost_from;
	XLogRecPtr	invalidated_at;
	bool		waiting;
} CdcGapInsert;

static void
cdc_gap_insert_fn(void *arg)
{
	CdcGapInsert *a = arg;
	Oid			types[5] = {NAMEOID, TEXTOID, TEXTOID, LSNOID, LSNOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	values[0] = DirectFunctionCall1(namein, CStringGetDatum(cdc_slot_name));
	values[1] = CStringGetTextDatum(a->waiting ? "waiting" : "recovering");
	values[2] = CStringGetTextDatum(CDC_LOSS_REASON);
	values[3] = LSNGetDatum(a->lost_from);
	values[4] = LSNGetDatum(a->invalidated_at);
	if (XLogRecPtrIsInvalid(a->invalidated_at))
		nulls[4] = 'n';
	cdc_loss_exec(psprintf(
		"INSERT INTO %s.%s (slot_name, state, reason, lost_from_lsn, invalidated_at_lsn)"
		" VALUES ($1, $2, $3, $4, $5)"
		" RETURNING id, state, lost_from_lsn, lost_to_lsn, detected, reason",
		CDC_EXTENSION_SCHEMA, CDC_GAP_TABLE), 5, types, values, nulls, SPI_OK_INSERT_RETURNING);
	cdc_gap_from_row(a->gap, SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
}

void
cdc_gap_record_loss(CdcGap *gap, XLogRecPtr lost_from, XLogRecPtr invalidated_at)
{
	CdcGapInsert a;
	MemoryContext cxt = CurrentMemoryContext;
	bool		stop = cdc_on_slot_lost == CDC_ON_SLOT_LOST_STOP;

	a.gap = gap;
	a.lost_from = lost_from;
	a.invalidated_at = invalidated_at;
	a.waiting = stop;
	cdc_in_transaction(cdc_gap_insert_fn, &a);

	/*
	 * Changes were lost: that is an ERROR for whoever reads the log, but
	 * the worker goes on (it recovers), so the report is emitted and
	 * caught here. Nothing is held across it.
	 */
	PG_TRY();
	{
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cdc_plugin lost changes to the WAL budget: replication slot \"%s\" was invalidated because it retained more WAL than max_slot_wal_keep_size allows",
						cdc_slot_name),
				 errdetail("Changes committed after %X/%X (the slot's confirmed position) and before the new slot's start cannot be published; this is gap %lld.",
						   LSN_FORMAT_ARGS(lost_from), (long long) gap->id),
				 stop ?
				 errhint("cdc_plugin.on_slot_lost = 'stop': the worker keeps the lost slot and publishes nothing until SELECT cdc_plugin.recover_slot() recreates it, publishes a gap event to every captured table and re-snapshots the tables changed meanwhile.") :
				 errhint("The worker recreates the slot, publishes a gap event to every partition of every captured table and re-snapshots the tables changed meanwhile; see cdc_plugin.gaps. Raise max_slot_wal_keep_size, or act on the worker's earlier warnings, to keep it from happening again.")));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		EmitErrorReport();
		FlushErrorState();
	}
	PG_END_TRY();
	cdc_gap_show();
}

typedef struct CdcGapUpdate
{
	const char *sql;			/* $1: the gap's id */
	int			nargs;
	Oid			types[6];
	Datum		values[6];
	char		nulls[6];
} CdcGapUpdate;

static void
cdc_gap_update_fn(void *arg)
{
	CdcGapUpdate *u = arg;

	cdc_loss_exec(u->sql, u->nargs, u->types, u->values, u->nulls, SPI_OK_UPDATE);
}

/* One more argument ($2, $3, ...) of the update. */
static void
cdc_gap_update_arg(CdcGapUpdate *u, Oid type, Datum value)
{
	u->types[u->nargs] = type;
	u->values[u->nargs++] = value;
}

/* Starts an update of the gap's row: $1 is its id. */
static void
cdc_gap_update_init(CdcGapUpdate *u, const CdcGap *gap, const char *set)
{
	memset(u, 0, sizeof(*u));
	memset(u->nulls, ' ', sizeof(u->nulls));
	u->sql = psprintf("UPDATE %s.%s SET %s WHERE id OPERATOR(pg_catalog.=) $1",
					  CDC_EXTENSION_SCHEMA, CDC_GAP_TABLE, set);
	u->nargs = 1;
	u->types[0] = INT8OID;
	u->values[0] = Int64GetDatum(gap->id);
}

void
cdc_gap_set_recovering(CdcGap *gap, const char *why)
{
	CdcGapUpdate u;

	cdc_gap_update_init(&u, gap, "state = 'recovering'");
	cdc_in_transaction(cdc_gap_update_fn, &u);
	gap->waiting = false;
	ereport(LOG,
			(errmsg("cdc_plugin recovers from gap %lld: %s", (long long) gap->id, why)));
}

/* ---------------------------------------------------------------------
 * Which tables changed
 * ---------------------------------------------------------------------
 */

/* The counters' trust and the changed tables, in the new slot's transaction. */
static void
cdc_gap_decide_sql(void *arg)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(MyDatabaseId)};
	int			ret;
	bool		isnull;
	uint64		i;

	D.all = true;
	D.nchanged = 0;
	D.recorded_lsn = InvalidXLogRecPtr;
	ret = SPI_execute_with_args(psprintf(
		"SELECT s.slot_name::pg_catalog.text, s.recorded_lsn,"
		" s.database_stats_reset IS NOT DISTINCT FROM pg_catalog.pg_stat_get_db_stat_reset_time($1),"
		" s.wal_stats_reset IS NOT DISTINCT FROM (SELECT w.stats_reset FROM pg_catalog.pg_stat_wal w)"
		" FROM %s.%s s", CDC_EXTENSION_SCHEMA, CDC_COUNTERS_STATE_TABLE),
								1, types, values, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "cdc_plugin could not read its change counters: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
	{
		strlcpy(D.why, "no change counters were recorded while the lost slot streamed", sizeof(D.why));
		return;
	}
	if (strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), cdc_slot_name) != 0)
	{
		strlcpy(D.why, "the change counters were recorded for another slot", sizeof(D.why));
		return;
	}
	D.recorded_lsn = DatumGetLSN(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	/* a crash discards every statistic (the database's reset time too): say that first */
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull)))
	{
		strlcpy(D.why, "the server's statistics were discarded (crash recovery) or reset (pg_stat_reset_shared('wal')) after the change counters were recorded",
				sizeof(D.why));
		return;
	}
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull)))
	{
		strlcpy(D.why, "the database's statistics were reset (pg_stat_reset() or pg_stat_reset_single_table_counters()) after the change counters were recorded",
				sizeof(D.why));
		return;
	}

	ret = SPI_execute(psprintf(
		"SELECT c.oid FROM pg_catalog.pg_class c"
		" LEFT JOIN %s.%s b ON b.relid OPERATOR(pg_catalog.=) c.oid"
		" CROSS JOIN LATERAL (SELECT pg_catalog.pg_stat_get_tuples_inserted(c.oid)"
		"   OPERATOR(pg_catalog.+) pg_catalog.pg_stat_get_tuples_updated(c.oid)"
		"   OPERATOR(pg_catalog.+) pg_catalog.pg_stat_get_tuples_deleted(c.oid) AS changes) x"
		" WHERE c.relkind OPERATOR(pg_catalog.=) 'r' AND c.relpersistence OPERATOR(pg_catalog.=) 'p'"
		" AND c.oid OPERATOR(pg_catalog.>=) %u::pg_catalog.oid"
		" AND c.relnamespace OPERATOR(pg_catalog.<>) %u::pg_catalog.oid"
		" AND CASE WHEN b.relid IS NULL THEN x.changes OPERATOR(pg_catalog.<>) 0"
		"     ELSE b.relfilenode OPERATOR(pg_catalog.<>) c.relfilenode"
		"       OR b.changes OPERATOR(pg_catalog.<>) x.changes END"
		" ORDER BY c.oid",
		CDC_EXTENSION_SCHEMA, CDC_COUNTERS_TABLE, FirstNormalObjectId,
		get_namespace_oid(CDC_EXTENSION_SCHEMA, false)), true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "cdc_plugin could not compare its change counters: %s", SPI_result_code_string(ret));
	if (D.changed != NULL)
		pfree(D.changed);
	D.changed = MemoryContextAlloc(TopMemoryContext, sizeof(Oid) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
		D.changed[i] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	D.nchanged = (int) SPI_processed;
	D.all = false;
}

static int
cdc_oid_cmp(const void *a, const void *b)
{
	Oid			x = *(const Oid *) a;
	Oid			y = *(const Oid *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* cdc_snapshot_after_gap()'s question: re-snapshot this table? */
static bool
cdc_gap_table_changed(Oid relid, void *arg)
{
	if (D.all)
		return true;
	return bsearch(&relid, D.changed, D.nchanged, sizeof(Oid), cdc_oid_cmp) != NULL;
}

bool
cdc_gap_decide(CdcGap *gap, CdcGapStart *start)
{
	TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), CDC_STATS_SETTLE_MS);

	/* sessions report what they changed up to 10 s after their commit */
	for (;;)
	{
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), until);

		if (left <= 0)
			break;
		if (!cdc_stream_serve(Min(left, CDC_SETTLE_ROUND_MS)))
			return false;
	}
	pgstat_clear_snapshot();
	cdc_in_current_transaction(cdc_gap_decide_sql, NULL);

	memset(start, 0, sizeof(*start));
	start->id = gap->id;
	start->lost_from = gap->lost_from;
	start->reason = gap->reason;
	start->time_us = gap->detected +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
	start->changed = cdc_gap_table_changed;
	return true;
}

void
cdc_gap_started(CdcGap *gap, XLogRecPtr start_lsn, const CdcGapStart *start)
{
	CdcGapUpdate u;

	cdc_gap_update_init(&u, gap,
						"lost_to_lsn = $2, tables_captured = $3, tables_resnapshot = $4,"
						" resnapshot_all = $5, resnapshot_why = $6");
	cdc_gap_update_arg(&u, LSNOID, LSNGetDatum(start_lsn));
	cdc_gap_update_arg(&u, INT4OID, Int32GetDatum(start->tables));
	cdc_gap_update_arg(&u, INT4OID, Int32GetDatum(start->resnapshots));
	cdc_gap_update_arg(&u, BOOLOID, BoolGetDatum(D.all));
	cdc_gap_update_arg(&u, TEXTOID,
					   CStringGetTextDatum(D.all ? D.why :
										   psprintf("only the tables whose change counters moved since %X/%X",
													LSN_FORMAT_ARGS(D.recorded_lsn))));
	cdc_in_current_transaction(cdc_gap_update_fn, &u);
	gap->lost_to = start_lsn;
	if (D.all)
		ereport(LOG,
				(errmsg("cdc_plugin queued gap %lld at %X/%X for the %d captured tables and re-snapshots all of them: %s",
						(long long) gap->id, LSN_FORMAT_ARGS(start_lsn), start->tables, D.why)));
	else
		ereport(LOG,
				(errmsg("cdc_plugin queued gap %lld at %X/%X for the %d captured tables and re-snapshots the %d whose change counters moved since %X/%X",
						(long long) gap->id, LSN_FORMAT_ARGS(start_lsn), start->tables,
						start->resnapshots, LSN_FORMAT_ARGS(D.recorded_lsn))));
}

void
cdc_gap_done(CdcGap *gap)
{
	CdcGapUpdate u;

	cdc_gap_update_init(&u, gap, "state = 'done', recovered = pg_catalog.now()");
	cdc_in_transaction(cdc_gap_update_fn, &u);
	ereport(LOG,
			(errmsg("cdc_plugin recovered from gap %lld: Kafka acknowledged the gap events, and replication slot \"%s\" streams from %X/%X",
					(long long) gap->id, cdc_slot_name, LSN_FORMAT_ARGS(gap->lost_to))));
	cdc_gap_show();
}

void
cdc_gap_close(CdcGap *gap, const char *note)
{
	CdcGapUpdate u;

	cdc_gap_update_init(&u, gap,
						"state = 'done', recovered = pg_catalog.now(),"
						" resnapshot_why = coalesce(resnapshot_why, $2)");
	cdc_gap_update_arg(&u, TEXTOID, CStringGetTextDatum(note));
	cdc_in_transaction(cdc_gap_update_fn, &u);
	ereport(LOG, (errmsg("cdc_plugin closed gap %lld: %s", (long long) gap->id, note)));
	cdc_gap_show();
}

static void
cdc_gap_show_fn(void *arg)
{
	CdcGapSummary *g = arg;
	int			ret;
	bool		isnull;
	Datum		d;

	if (!OidIsValid(cdc_extension_table(CDC_GAP_TABLE)))
		return;
	ret = SPI_execute(psprintf(
		"SELECT (SELECT pg_catalog.count(*) FROM %s.%s), g.lost_from_lsn, g.lost_to_lsn, g.detected"
		" FROM %s.%s g ORDER BY g.id DESC LIMIT 1",
		CDC_EXTENSION_SCHEMA, CDC_GAP_TABLE, CDC_EXTENSION_SCHEMA, CDC_GAP_TABLE), true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "cdc_plugin could not read its gap log: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return;
	g->gaps = (uint64) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	g->last_from = DatumGetLSN(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
	g->last_to = isnull ? InvalidXLogRecPtr : DatumGetLSN(d);
	g->last_time = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
}

void
cdc_gap_show(void)
{
	CdcGapSummary g;

	memset(&g, 0, sizeof(g));
	cdc_in_transaction(cdc_gap_show_fn, &g);
	cdc_monitor_set_gaps(&g);
}

/* ---------------------------------------------------------------------
 * Recording the change counters
 * ---------------------------------------------------------------------
 */

static void
cdc_counter_set_free(CdcCounterSet *set)
{
	if (set->items != NULL)
		pfree(set->items);
	if (set->db_reset != NULL)
		pfree(set->db_reset);
	if (set->wal_reset != NULL)
		pfree(set->wal_reset);
	memset(set, 0, sizeof(*set));
}

/* Reads every user table's counters now, into C.candidate (SPI connected). */
static void
cdc_counters_read_fn(void *arg)
{
	int			ret;
	uint64		i;
	bool		isnull;
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(MyDatabaseId)};
	MemoryContext old;
	char	   *v;

	C.disabled = !OidIsValid(cdc_extension_table(CDC_COUNTERS_TABLE));
	if (C.disabled)
		return;
	ret = SPI_execute_with_args(
		"SELECT pg_catalog.pg_stat_get_db_stat_reset_time($1)::pg_catalog.text,"
		" (SELECT w.stats_reset FROM pg_catalog.pg_stat_wal w)::pg_catalog.text",
		1, types, values, NULL, true, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "cdc_plugin could not read the statistics' reset times: %s", SPI_result_code_string(ret));
	cdc_counter_set_free(&C.candidate);
	old = MemoryContextSwitchTo(C.cxt);
	v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	C.candidate.db_reset = v ? pstrdup(v) : NULL;
	v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	C.candidate.wal_reset = v ? pstrdup(v) : NULL;
	MemoryContextSwitchTo(old);

	ret = SPI_execute(psprintf(
		"SELECT c.oid, c.relfilenode, pg_catalog.pg_stat_get_tuples_inserted(c.oid)"
		" OPERATOR(pg_catalog.+) pg_catalog.pg_stat_get_tuples_updated(c.oid)"
		" OPERATOR(pg_catalog.+) pg_catalog.pg_stat_get_tuples_deleted(c.oid)"
		" FROM pg_catalog.pg_class c"
		" WHERE c.relkind OPERATOR(pg_catalog.=) 'r' AND c.relpersistence OPERATOR(pg_catalog.=) 'p'"
		" AND c.oid OPERATOR(pg_catalog.>=) %u::pg_catalog.oid"
		" AND c.relnamespace OPERATOR(pg_catalog.<>) %u::pg_catalog.oid ORDER BY c.oid",
		FirstNormalObjectId, get_namespace_oid(CDC_EXTENSION_SCHEMA, false)), true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "cdc_plugin could not read the change counters: %s", SPI_result_code_string(ret));
	C.candidate.items = MemoryContextAlloc(C.cxt, sizeof(CdcCounter) * Max(SPI_processed, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		CdcCounter *c = &C.candidate.items[i];
		HeapTuple	tup = SPI_tuptable->vals[i];

		c->relid = DatumGetObjectId(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		c->relfilenode = DatumGetObjectId(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
		c->changes = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull));
	}
	C.candidate.n = (int) SPI_processed;
	/* read after the counters: every commit they count is before it */
	C.candidate_lsn = GetXLogInsertRecPtr();
	C.has_candidate = true;
}

static bool
cdc_str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* A one-dimensional array datum of n Datums of type elemtype (oid or int8). */
static Datum
cdc_datum_array(Datum *elems, int n, Oid elemtype)
{
	int16		len;
	bool		byval;
	char		align;

	get_typlenbyvalalign(elemtype, &len, &byval, &align);
	return PointerGetDatum(construct_array(elems, n, elemtype, len, byval, align));
}

/* Writes the candidate as the recorded counters (what differs from the last write). */
static void
cdc_counters_write_fn(void *arg)
{
	CdcCounterSet *cand = &C.candidate;
	CdcCounterSet *rec = &C.recorded;
	Datum	   *relids = palloc(sizeof(Datum) * Max(cand->n, 1));
	Datum	   *nodes = palloc(sizeof(Datum) * Max(cand->n, 1));
	Datum	   *changes = palloc(sizeof(Datum) * Max(cand->n, 1));
	int			nchanged = 0;
	int			i,
				j;
	bool		removed = false;

	if (!OidIsValid(cdc_extension_table(CDC_COUNTERS_TABLE)))
		return;
	if (!C.recorded_valid)
		cdc_loss_exec(psprintf("DELETE FROM %s.%s", CDC_EXTENSION_SCHEMA, CDC_COUNTERS_TABLE),
					  0, NULL, NULL, NULL, SPI_OK_DELETE);
	/* both sorted by relid: a merge */
	for (i = 0, j = 0; i < cand->n; i++)
	{
		CdcCounter *c = &cand->items[i];

		while (C.recorded_valid && j < rec->n && rec->items[j].relid < c->relid)
		{
			removed = true;
			j++;
		}
		if (C.recorded_valid && j < rec->n && rec->items[j].relid == c->relid &&
			rec->items[j].relfilenode == c->relfilenode && rec->items[j].changes == c->changes)
		{
			j++;
			continue;
		}
		if (C.recorded_valid && j < rec->n && rec->items[j].relid == c->relid)
			j++;
		relids[nchanged] = ObjectIdGetDatum(c->relid);
		nodes[nchanged] = ObjectIdGetDatum(c->relfilenode);
		changes[nchanged] = Int64GetDatum(c->changes);
		nchanged++;
	}
	if (C.recorded_valid && j < rec->n)
		removed = true;
	if (C.recorded_valid && nchanged == 0 && !removed &&
		cdc_str_equal(cand->db_reset, rec->db_reset) && cdc_str_equal(cand->wal_reset, rec->wal_reset))
		return;					/* the table already says this */

	if (removed)
	{
		Datum		all = PointerGetDatum(NULL);
		Datum	   *ids = palloc(sizeof(Datum) * Max(cand->n, 1));
		Oid			types[1] = {OIDARRAYOID};

		for (i = 0; i < cand->n; i++)
			ids[i] = ObjectIdGetDatum(cand->items[i].relid);
		all = cdc_datum_array(ids, cand->n, OIDOID);
		cdc_loss_exec(psprintf("DELETE FROM %s.%s WHERE relid OPERATOR(pg_catalog.<>) ALL ($1)",
							   CDC_EXTENSION_SCHEMA, CDC_COUNTERS_TABLE),
					  1, types, &all, NULL, SPI_OK_DELETE);
	}
	if (nchanged > 0)
	{
		Oid			types[3] = {OIDARRAYOID, OIDARRAYOID, INT8ARRAYOID};
		Datum		values[3];

		values[0] = cdc_datum_array(relids, nchanged, OIDOID);
		values[1] = cdc_datum_array(nodes, nchanged, OIDOID);
		values[2] = cdc_datum_array(changes, nchanged, INT8OID);
		cdc_loss_exec(psprintf(
			"INSERT INTO %s.%s (relid, relfilenode, changes)"
			" SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3))"
			" ON CONFLICT (relid) DO UPDATE SET relfilenode = excluded.relfilenode,"
			" changes = excluded.changes",
			CDC_EXTENSION_SCHEMA, CDC_COUNTERS_TABLE), 3, types, values, NULL, SPI_OK_INSERT);
	}
	{
		Oid			types[4] = {NAMEOID, LSNOID, TEXTOID, TEXTOID};
		Datum		values[4];
		char		nulls[4] = {' ', ' ', ' ', ' '};

		values[0] = DirectFunctionCall1(namein, CStringGetDatum(cdc_slot_name));
		values[1] = LSNGetDatum(C.candidate_lsn);
		if (cand->db_reset)
			values[2] = CStringGetTextDatum(cand->db_reset);
		else
			nulls[2] = 'n';
		if (cand->wal_reset)
			values[3] = CStringGetTextDatum(cand->wal_reset);
		else
			nulls[3] = 'n';
		cdc_loss_exec(psprintf(
			"INSERT INTO %s.%s (slot_name, recorded_lsn, database_stats_reset, wal_stats_reset, recorded)"
			" VALUES ($1, $2, $3::pg_catalog.timestamptz, $4::pg_catalog.timestamptz, pg_catalog.now())"
			" ON CONFLICT (one_row) DO UPDATE SET slot_name = excluded.slot_name,"
			" recorded_lsn = excluded.recorded_lsn, database_stats_reset = excluded.database_stats_reset,"
			" wal_stats_reset = excluded.wal_stats_reset, recorded = excluded.recorded",
			CDC_EXTENSION_SCHEMA, CDC_COUNTERS_STATE_TABLE), 4, types, values, nulls, SPI_OK_INSERT);
	}
}

/* The candidate is recorded: it becomes what the table holds. */
static void
cdc_counters_promote(void)
{
	cdc_in_transaction(cdc_counters_write_fn, NULL);
	cdc_counter_set_free(&C.recorded);
	C.recorded = C.candidate;
	memset(&C.candidate, 0, sizeof(C.candidate));
	C.recorded_valid = true;
	C.has_candidate = false;
}

void
cdc_change_counters_session_start(void)
{
	if (C.cxt == NULL)
		C.cxt = AllocSetContextCreate(TopMemoryContext, "cdc_plugin change counters",
									  ALLOCSET_SMALL_SIZES);
	C.has_candidate = false;
	C.recorded_valid = false;	/* the first write replaces the table's rows */
	C.disabled = false;
	C.last_take = 0;
	C.last_take_insert = InvalidXLogRecPtr;
}

void
cdc_change_counters_step(XLogRecPtr confirmed)
{
	TimestampTz now;

	if (C.cxt == NULL)
		return;
	if (C.has_candidate)
	{
		if (confirmed >= C.candidate_lsn)
			cdc_counters_promote();
		return;
	}
	now = GetCurrentTimestamp();
	if (!TimestampDifferenceExceeds(C.last_take, now, C.disabled ? 10 * CDC_COUNTERS_EVERY_MS : CDC_COUNTERS_EVERY_MS))
		return;
	/* nothing was written anywhere since the last read: nothing changed */
	if (C.recorded_valid && GetXLogInsertRecPtr() == C.last_take_insert)
		return;
	C.last_take = now;
	C.last_take_insert = GetXLogInsertRecPtr();
	cdc_in_transaction(cdc_counters_read_fn, NULL);
}

static void
cdc_counters_forget_fn(void *arg)
{
	cdc_loss_exec(psprintf("DELETE FROM %s.%s", CDC_EXTENSION_SCHEMA, CDC_COUNTERS_TABLE),
				  0, NULL, NULL, NULL, SPI_OK_DELETE);
	cdc_loss_exec(psprintf("DELETE FROM %s.%s", CDC_EXTENSION_SCHEMA, CDC_COUNTERS_STATE_TABLE),
				  0, NULL, NULL, NULL, SPI_OK_DELETE);
}

/* In the transaction that creates a slot: the old slot's counters mean nothing now. */
void
cdc_change_counters_reset(void)
{
	if (!OidIsValid(cdc_extension_table(CDC_COUNTERS_TABLE)))
		return;
	cdc_in_current_transaction(cdc_counters_forget_fn, NULL);
	C.has_candidate = false;
	C.recorded_valid = false;
}

/* ---------------------------------------------------------------------
 * cdc_plugin.recover_slot()
 * ---------------------------------------------------------------------
 */

Datum
cdc_plugin_recover_slot(PG_FUNCTION_ARGS)
{
	CdcAsOwner	who;
	int			ret;
	int64		id = 0;
	bool		recovering = false;
	CdcWalBudget budget;

	if (!superuser() && !has_rolreplication(GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to recover the cdc_plugin replication slot"),
				 errdetail("Only superusers and roles with the REPLICATION attribute may drop and recreate it.")));
	cdc_check_worker_configured("recover a slot");
	/* the caller need not write the log: its owner does */
	cdc_become_owner_of(CDC_GAP_TABLE, &who);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		Oid			types[1] = {NAMEOID};
		Datum		values[1];

		values[0] = DirectFunctionCall1(namein,
										CStringGetDatum(GetUserNameFromId(who.save_user, false)));
		ret = SPI_execute_with_args(psprintf(
			"UPDATE %s.%s SET state = 'recovering', recovery_requested_by = $1"
			" WHERE state OPERATOR(pg_catalog.=) 'waiting' RETURNING id",
			CDC_EXTENSION_SCHEMA, CDC_GAP_TABLE), 1, types, values, NULL, false, 0);
	}
	if (ret != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "cdc_plugin could not update its gap log: %s", SPI_result_code_string(ret));
	if (SPI_processed == 1)
	{
		bool		isnull;

		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	else
	{
		bool		isnull;

		ret = SPI_execute(psprintf("SELECT id FROM %s.%s WHERE state OPERATOR(pg_catalog.=) 'recovering'",
								   CDC_EXTENSION_SCHEMA, CDC_GAP_TABLE), true, 0);
		if (ret == SPI_OK_SELECT && SPI_processed == 1)
		{
			id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			recovering = true;
		}
	}
	SPI_finish();
	cdc_restore_user(&who);

	if (id == 0)
	{
		cdc_wal_budget_read(cdc_slot_name, &budget);
		if (budget.wal_status == WALAVAIL_REMOVED)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the cdc_plugin worker has not recorded the loss of replication slot \"%s\" yet",
							cdc_slot_name),
					 errhint("Try again in a few seconds; cdc_plugin.status() shows state \"slot lost\" once it has.")));
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("replication slot \"%s\" of the cdc_plugin worker is not lost", cdc_slot_name),
				 errhint("recover_slot() is for a slot that max_slot_wal_keep_size invalidated while cdc_plugin.on_slot_lost = 'stop'.")));
	}
	if (recovering)
		ereport(NOTICE,
				(errmsg("the cdc_plugin worker is already recovering from gap %lld", (long long) id)));
	else
		ereport(NOTICE,
				(errmsg("the cdc_plugin worker will drop replication slot \"%s\", create a new one and publish gap %lld",
						cdc_slot_name, (long long) id),
				 errhint("Watch cdc_plugin.status() and cdc_plugin.gaps.")));
	PG_RETURN_INT64(id);
}
