/*
 * worker.c — the background workers that stream the slot into Kafka.
 *
 * Two workers. The launcher (static, no database) checks what the worker
 * needs that would otherwise make it fail at connection time (wal_level,
 * the database), starts the worker, and restarts it with an exponential
 * backoff when it exits, so a failing worker never crash-loops. The worker
 * (dynamic, connected to cdc_plugin.database) owns the slot: it creates it
 * if missing, decodes WAL through it in its own process with the logical
 * decoding API, hands every envelope to the Kafka producer, and confirms to
 * the slot only what Kafka has acknowledged (or, with nothing in flight,
 * everything decoded so far, so idle tables never hold WAL back).
 *
 * A PostgreSQL ERROR ends the worker (the launcher restarts it); Kafka
 * failures, which are expected, restart decoding in-process from the
 * confirmed position after a backoff. No C++ object lives on any stack
 * frame here: the producer is reached only through cdc_kafka.h.
 */
#include "postgres.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlogreader.h"
#include "access/xlogutils.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/decode.h"
#include "replication/logical.h"
#include "replication/slot.h"
#include "storage/ipc.h"
#include "storage/pmsignal.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "cdc_core.h"
#include "cdc_kafka.h"
#include "config.h"
#include "monitor.h"
#include "output_plugin.h"
#include "worker.h"

#define CDC_BACKOFF_MIN_MS 1000
#define CDC_BACKOFF_MAX_MS 60000
#define CDC_HEALTHY_RUN_MS 60000	/* a run this long resets the backoff */
#define CDC_IDLE_WAIT_MS 200		/* WAL not announced by a commit (other databases) */
#define CDC_UNFLUSHED_WAIT_MS 10	/* WAL written but not flushed yet (async commit) */
#define CDC_SHUTDOWN_FLUSH_MS 5000	/* how long SIGTERM waits for Kafka */
#define CDC_RECORDS_PER_ROUND 1000	/* WAL records between polls of the producer */
#define CDC_SENDS_PER_POLL 1000

/* Why a streaming session ended. */
typedef enum CdcSessionEnd
{
	CDC_END_SHUTDOWN,			/* SIGTERM: exit */
	CDC_END_RELOAD,				/* settings changed: rebuild the producer */
	CDC_END_FAILED				/* Kafka failed: back off, start over */
} CdcSessionEnd;

/* Everything the worker process keeps between callbacks. */
typedef struct CdcWorkerState
{
	char	   *database;
	cdc_producer *producer;
	char	   *settings;		/* the settings the producer was built from */
	char	   *topic_prefix;	/* resolved (empty setting: database name) */
	bool		tombstones;
	int			wake_read_fd;	/* librdkafka writes to the other end */
	int			wake_write_fd;
	WaitEventSet *wait_set;		/* latch, wake_read_fd, postmaster death */
	StringInfoData topic;
	char	   *topic_schema;	/* the names W.topic was built from */
	char	   *topic_table;
	uint64		sends_since_poll;
	bool		abandoned;		/* session failed or stopping: send and confirm nothing more */
	XLogRecPtr	confirmed;		/* last LSN confirmed to the slot */
	CdcWorkerCounters totals;	/* published by earlier producers */
	CdcWorkerCounters current;	/* what status() shows */
	CdcOutputSink sink;
} CdcWorkerState;

static CdcWorkerState W;
static volatile sig_atomic_t cdc_shutdown_requested = false;
static volatile sig_atomic_t cdc_die_on_sigterm = false;

static void cdc_send(const char *topic, const char *key, size_t keylen,
					 const char *value, size_t valuelen);

/* ---------------------------------------------------------------------
 * Registration and the commit wake-up
 * ---------------------------------------------------------------------
 */

/* Committing backends wake the worker so it reads the new WAL at once. */
static void
cdc_wake_on_commit(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT &&
		TransactionIdIsValid(GetTopTransactionIdIfAny()))
		cdc_monitor_wake_worker(MyDatabaseId);
}

/* Registers the launcher; the worker itself is started by the launcher. */
void
cdc_worker_init(void)
{
	BackgroundWorker bgw;

	if (!process_shared_preload_libraries_in_progress)
		return;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = 5;
	strlcpy(bgw.bgw_library_name, "cdc_plugin", BGW_MAXLEN);
	strlcpy(bgw.bgw_function_name, "cdc_launcher_main", BGW_MAXLEN);
	strlcpy(bgw.bgw_name, "cdc_plugin launcher", BGW_MAXLEN);
	strlcpy(bgw.bgw_type, "cdc_plugin launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&bgw);

	RegisterXactCallback(cdc_wake_on_commit, NULL);
}

/* ---------------------------------------------------------------------
 * Launcher
 * ---------------------------------------------------------------------
 */

/*
 * The OID of a database by name, or InvalidOid. Without a database of its
 * own the launcher can read only shared catalogs, and only by heap scan
 * (their indexes need pg_class), as the autovacuum launcher does.
 */
static Oid
cdc_find_database(const char *name)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	Oid			result = InvalidOid;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (strcmp(NameStr(db->datname), name) == 0)
		{
			result = db->oid;
			break;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return result;
}

/*
 * What keeps the worker from running, or NULL (then *dboid is set).
 * Checked here because the worker would only fail at connection time.
 */
static const char *
cdc_launcher_problem(Oid *dboid, const char **hint)
{
	static char buf[512];

	*hint = NULL;
	if (wal_level < WAL_LEVEL_LOGICAL)
	{
		*hint = "Set wal_level = logical in postgresql.conf and restart the server.";
		return "wal_level must be \"logical\" for cdc_plugin to decode changes";
	}
	if (cdc_database == NULL || cdc_database[0] == '\0')
		return NULL;			/* disabled; the caller tells */

	*dboid = cdc_find_database(cdc_database);
	if (!OidIsValid(*dboid))
	{
		snprintf(buf, sizeof(buf), "database \"%s\" named by cdc_plugin.database does not exist",
				 cdc_database);
		*hint = "Create the database (the worker starts within 5 seconds), or set cdc_plugin.database to an existing one and restart the server.";
		return buf;
	}
	return NULL;
}

/* Starts the worker for dboid; false (with the reason logged) if it cannot. */
static bool
cdc_launch_worker(Oid dboid, BackgroundWorkerHandle **handle)
{
	BackgroundWorker bgw;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;	/* the launcher restarts it */
	strlcpy(bgw.bgw_library_name, "cdc_plugin", BGW_MAXLEN);
	strlcpy(bgw.bgw_function_name, "cdc_worker_main", BGW_MAXLEN);
	snprintf(bgw.bgw_name, BGW_MAXLEN, "cdc_plugin worker for database \"%s\"", cdc_database);
	strlcpy(bgw.bgw_type, "cdc_plugin worker", BGW_MAXLEN);
	bgw.bgw_main_arg = ObjectIdGetDatum(dboid);
	bgw.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&bgw, handle))
	{
		cdc_monitor_set_error("waiting for a worker slot",
							  "no free background worker slot: raise max_worker_processes");
		return false;
	}
	return true;
}

/* Static worker: keeps one cdc_plugin worker running, with backoff. */
void
cdc_launcher_main(Datum main_arg)
{
	BackgroundWorkerHandle *handle = NULL;
	TimestampTz started = 0;
	TimestampTz next_start = 0;
	int			backoff_ms = 0;
	char		reported[512] = "";

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	for (;;)
	{
		long		timeout_ms = 10000;
		TimestampTz now;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			reported[0] = '\0';
		}
		now = GetCurrentTimestamp();

		if (handle != NULL)
		{
			pid_t		pid;

			if (GetBackgroundWorkerPid(handle, &pid) == BGWH_STOPPED)
			{
				pfree(handle);
				handle = NULL;
				if (TimestampDifferenceExceeds(started, now, CDC_HEALTHY_RUN_MS))
					backoff_ms = CDC_BACKOFF_MIN_MS;
				else
					backoff_ms = Min(Max(backoff_ms * 2, CDC_BACKOFF_MIN_MS), CDC_BACKOFF_MAX_MS);
				next_start = TimestampTzPlusMilliseconds(now, backoff_ms);
				cdc_monitor_count_restart();
				cdc_monitor_set_state("waiting to restart");
			}
		}
		else if (cdc_monitor_worker_alive())
		{
			/* a worker started by an earlier launcher is still running */
			timeout_ms = 1000;
			goto wait;
		}

		if (handle == NULL)
		{
			Oid			dboid = InvalidOid;
			const char *hint;
			const char *problem = cdc_launcher_problem(&dboid, &hint);

			if (problem == NULL && !OidIsValid(dboid))
			{
				cdc_monitor_set_state("disabled: cdc_plugin.database is empty");
				timeout_ms = -1;
			}
			else if (problem != NULL)
			{
				if (strcmp(reported, problem) != 0)
				{
					ereport(WARNING,
							(errmsg("cdc_plugin worker not started: %s", problem),
							 hint ? errhint("%s", hint) : 0));
					strlcpy(reported, problem, sizeof(reported));
				}
				cdc_monitor_set_error("configuration error", problem);
				timeout_ms = 5000;
			}
			else if (now >= next_start)
			{
				if (cdc_launch_worker(dboid, &handle))
				{
					started = now;
					reported[0] = '\0';
				}
			}
			else
				timeout_ms = Max(1, (long) ((next_start - now) / 1000));
		}

wait:
		(void) WaitLatch(MyLatch, WL_LATCH_SET | (timeout_ms >= 0 ? WL_TIMEOUT : 0) |
						 WL_EXIT_ON_PM_DEATH,
						 timeout_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ---------------------------------------------------------------------
 * Worker: signals, waiting, logs, progress
 * ---------------------------------------------------------------------
 */

/* SIGTERM: finish what is in flight, confirm, exit (or die at once when blocked in PostgreSQL). */
static void
cdc_worker_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	cdc_shutdown_requested = true;
	if (cdc_die_on_sigterm)
		die(postgres_signal_arg);
	SetLatch(MyLatch);
	errno = save_errno;
}

/* Empties the pipe librdkafka writes to when its queue becomes non-empty. */
static void
cdc_drain_wake_fd(void)
{
	char		buf[64];

	while (read(W.wake_read_fd, buf, sizeof(buf)) > 0)
		;
}

/*
 * Waits for the latch (commits, signals), librdkafka, or the timeout. The
 * wait set is built once: at thousands of waits a second, building one per
 * wait (WaitLatchOrSocket) costs more than the wait itself.
 */
static void
cdc_wait(long timeout_ms)
{
	WaitEvent	events[3];
	int			n,
				i;

	n = WaitEventSetWait(W.wait_set, timeout_ms, events, lengthof(events), PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	for (i = 0; i < n; i++)
		if (events[i].events & WL_SOCKET_READABLE)
			cdc_drain_wake_fd();
}

/* Writes librdkafka's logs to the server log, from this thread only. */
static void
cdc_drain_logs(void)
{
	cdc_log_level level;
	char		line[1024];

	if (W.producer == NULL)
		return;
	while (cdc_producer_next_log(W.producer, &level, line, sizeof(line)))
	{
		switch (level)
		{
			case CDC_LOG_ERROR:
			case CDC_LOG_WARNING:
				ereport(LOG, (errmsg("cdc_plugin: %s", line)));
				break;
			case CDC_LOG_INFO:
				ereport(DEBUG1, (errmsg("cdc_plugin: %s", line)));
				break;
			default:
				ereport(DEBUG2, (errmsg("cdc_plugin: %s", line)));
				break;
		}
	}
}

/* Moves the slot's confirmed position forward (never back). */
static void
cdc_confirm(XLogRecPtr lsn)
{
	if (lsn <= W.confirmed)
		return;
	LogicalConfirmReceivedLocation(lsn);
	/* so the next checkpoint (a shutdown one too) writes it down */
	ReplicationSlotMarkDirty();
	W.confirmed = lsn;
}

/*
 * Confirms what Kafka acknowledged and publishes counters to status().
 * Returns false once the session has failed (then confirms nothing).
 */
static bool
cdc_progress(LogicalDecodingContext *ctx)
{
	cdc_producer_progress pr;

	cdc_producer_get_progress(W.producer, &pr);
	if (!pr.failed && !W.abandoned)
	{
		if (pr.confirmable)
			cdc_confirm(pr.confirm_lsn);
		if (pr.idle && ctx != NULL)
			cdc_confirm(ctx->reader->EndRecPtr);
	}

	W.current.confirmed_lsn = W.confirmed;
	if (pr.confirm_commit_time_us != 0)
		W.current.last_commit_time = (TimestampTz) pr.confirm_commit_time_us;
	else
		W.current.last_commit_time = W.totals.last_commit_time;
	W.current.oldest_unacked_commit_time = (TimestampTz) pr.oldest_unacked_commit_time_us;
	W.current.events = W.totals.events + pr.acked_messages;
	W.current.bytes = W.totals.bytes + pr.acked_bytes;
	W.current.transactions = W.totals.transactions + pr.acked_transactions;
	W.current.in_flight = pr.messages_in_flight;
	W.current.delivery_errors = W.totals.delivery_errors + pr.failed_messages;
	W.current.broker_state = pr.broker_state;
	cdc_monitor_update(&W.current);
	return !pr.failed && !W.abandoned;
}

/* ---------------------------------------------------------------------
 * Worker: producer lifecycle
 * ---------------------------------------------------------------------
 */

/* The settings a producer and a session are built from, as one string. */
static char *
cdc_settings_string(void)
{
	return psprintf("%s\n%s\n%s\n%s\n%s\n%d", cdc_kafka_bootstrap_servers,
					cdc_kafka_properties, cdc_topic_prefix, cdc_include_tables,
					cdc_exclude_tables, (int) cdc_tombstones_on_delete);
}

/*
 * Checks the table patterns the way the plugin will parse them, so that a
 * bad one is a configuration error and not an ERROR at every session start.
 */
static bool
cdc_table_patterns_valid(char *errbuf, size_t errlen)
{
	cdc_options *opts = cdc_options_create(errbuf, errlen);
	bool		ok;

	if (opts == NULL)
		return false;
	ok = cdc_options_set(opts, "include-tables", cdc_include_tables, errbuf, errlen) == 0 &&
		cdc_options_set(opts, "exclude-tables", cdc_exclude_tables, errbuf, errlen) == 0;
	cdc_options_destroy(opts);
	return ok;
}

/* Builds the producer from the current settings; false if they are bad. */
static bool
cdc_start_producer(void)
{
	cdc_producer_config config;
	char		errbuf[CDC_ERRBUF_SIZE * 2];
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	if (W.settings)
		pfree(W.settings);
	W.settings = cdc_settings_string();
	if (W.topic_prefix)
		pfree(W.topic_prefix);
	W.topic_prefix = pstrdup(cdc_topic_prefix[0] ? cdc_topic_prefix : W.database);
	W.tombstones = cdc_tombstones_on_delete;
	MemoryContextSwitchTo(old);

	config.bootstrap_servers = cdc_kafka_bootstrap_servers;
	config.properties = cdc_kafka_properties;
	config.wake_fd = W.wake_write_fd;
	if (!cdc_table_patterns_valid(errbuf, sizeof(errbuf)))
	{
		ereport(WARNING,
				(errmsg("cdc_plugin worker cannot publish: %s", errbuf),
				 errhint("Fix cdc_plugin.include_tables or cdc_plugin.exclude_tables in postgresql.conf and reload (SELECT pg_reload_conf()).")));
		cdc_monitor_set_error("configuration error", errbuf);
		return false;
	}
	W.producer = cdc_producer_create(&config, errbuf, sizeof(errbuf));
	if (W.producer == NULL)
	{
		ereport(WARNING,
				(errmsg("cdc_plugin worker cannot publish: %s", errbuf),
				 errhint("Fix the cdc_plugin.kafka_* settings in postgresql.conf and reload (SELECT pg_reload_conf()).")));
		cdc_monitor_set_error("configuration error", errbuf);
		return false;
	}
	return true;
}

/* Keeps the counters of a producer that goes away. */
static void
cdc_stop_producer(void)
{
	if (W.producer == NULL)
		return;
	W.totals = W.current;
	W.totals.in_flight = 0;
	cdc_producer_destroy(W.producer);
	W.producer = NULL;
}

/* Waits until SIGHUP or SIGTERM (bad settings: nothing to do until fixed). */
static void
cdc_wait_for_reload(void)
{
	while (!ConfigReloadPending && !cdc_shutdown_requested)
	{
		CHECK_FOR_INTERRUPTS();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/* Sleeps for the backoff, waking early for SIGTERM. */
static void
cdc_backoff(int ms)
{
	TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	while (!cdc_shutdown_requested)
	{
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), until);

		if (left <= 0)
			break;
		CHECK_FOR_INTERRUPTS();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, left,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ---------------------------------------------------------------------
 * Worker: the slot and the decoding session
 * ---------------------------------------------------------------------
 */

/* Creates the worker's slot if it does not exist; checks it if it does. */
static void
cdc_ensure_slot(void)
{
	ReplicationSlot *slot;
	LogicalDecodingContext *ctx;
	bool		exists = false;
	Oid			slot_db = InvalidOid;
	char		plugin[NAMEDATALEN] = "";

	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	slot = SearchNamedReplicationSlot(cdc_slot_name, false);
	if (slot != NULL)
	{
		exists = true;
		SpinLockAcquire(&slot->mutex);
		slot_db = slot->data.database;
		strlcpy(plugin, NameStr(slot->data.plugin), NAMEDATALEN);
		SpinLockRelease(&slot->mutex);
	}
	LWLockRelease(ReplicationSlotControlLock);

	if (exists)
	{
		if (slot_db != MyDatabaseId || strcmp(plugin, "cdc_plugin") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("replication slot \"%s\" is not a cdc_plugin slot of database \"%s\"",
							cdc_slot_name, W.database),
					 errhint("Set cdc_plugin.slot_name to another name, or drop the slot.")));
		return;
	}

	/* blocked inside PostgreSQL until running transactions end: die on SIGTERM */
	cdc_die_on_sigterm = true;
	if (cdc_shutdown_requested)
		proc_exit(0);
	CheckLogicalDecodingRequirements();
	ReplicationSlotCreate(cdc_slot_name, true, RS_EPHEMERAL, false);
	ctx = CreateInitDecodingContext("cdc_plugin", NIL, false, InvalidXLogRecPtr,
									XL_ROUTINE(.page_read = read_local_xlog_page,
											   .segment_open = wal_segment_open,
											   .segment_close = wal_segment_close),
									NULL, NULL, NULL);
	DecodingContextFindStartpoint(ctx);
	FreeDecodingContext(ctx);
	ReplicationSlotPersist();
	ereport(LOG,
			(errmsg("cdc_plugin created replication slot \"%s\" at %X/%X",
					cdc_slot_name, LSN_FORMAT_ARGS(MyReplicationSlot->data.confirmed_flush))));
	ReplicationSlotRelease();
	cdc_die_on_sigterm = false;
}

/*
 * Reads WAL pages like read_local_xlog_page, but never waits: a record
 * that goes past the flushed end of WAL (the WAL writer may take seconds
 * to flush it when nothing commits) makes the read fail softly instead, so
 * the worker keeps serving Kafka, confirming and answering signals, and
 * reads the record again once it is flushed.
 */
static bool cdc_read_past_flush = false;

static int
cdc_read_page(XLogReaderState *state, XLogRecPtr targetPagePtr, int reqLen,
			  XLogRecPtr targetRecPtr, char *cur_page)
{
	if (targetPagePtr + reqLen > GetFlushRecPtr(NULL))
	{
		cdc_read_past_flush = true;
		return -1;
	}
	return read_local_xlog_page(state, targetPagePtr, reqLen, targetRecPtr, cur_page);
}

/* Decoding options of the worker's session, from the settings. */
static List *
cdc_session_options(void)
{
	List	   *options = NIL;

	options = lappend(options, makeDefElem("include-messages",
										   (Node *) makeString(pstrdup("false")), -1));
	if (cdc_include_tables[0] != '\0')
		options = lappend(options, makeDefElem("include-tables",
											   (Node *) makeString(pstrdup(cdc_include_tables)), -1));
	if (cdc_exclude_tables[0] != '\0')
		options = lappend(options, makeDefElem("exclude-tables",
											   (Node *) makeString(pstrdup(cdc_exclude_tables)), -1));
	return options;
}

/* Nothing to prepare: the envelope is appended to ctx->out by the plugin. */
static void
cdc_prepare_write(LogicalDecodingContext *ctx, XLogRecPtr lsn, TransactionId xid, bool last_write)
{
	resetStringInfo(ctx->out);
}

/* Appends name to the topic, replacing characters Kafka does not allow. */
static void
cdc_append_topic_part(StringInfo topic, const char *name)
{
	const char *p;

	for (p = name; *p; p++)
	{
		char		c = *p;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '_' || c == '-' || c == '.')
			appendStringInfoChar(topic, c);
		else
			appendStringInfoChar(topic, '_');
	}
}

/* One envelope from the plugin: route it and hand it to the producer. */
static void
cdc_do_write(LogicalDecodingContext *ctx, XLogRecPtr lsn, TransactionId xid, bool last_write)
{
	CdcOutputSink *s = &W.sink;

	if (s->schema == NULL || s->table == NULL)
		return;					/* events without a table are not published */
	/* most changes come in runs on one table: keep its topic name */
	if (W.topic_schema == NULL || strcmp(W.topic_schema, s->schema) != 0 ||
		strcmp(W.topic_table, s->table) != 0)
	{
		resetStringInfo(&W.topic);
		cdc_append_topic_part(&W.topic, W.topic_prefix);
		appendStringInfoChar(&W.topic, '.');
		cdc_append_topic_part(&W.topic, s->schema);
		appendStringInfoChar(&W.topic, '.');
		cdc_append_topic_part(&W.topic, s->table);
		if (W.topic_schema)
			pfree(W.topic_schema);
		if (W.topic_table)
			pfree(W.topic_table);
		W.topic_schema = MemoryContextStrdup(TopMemoryContext, s->schema);
		W.topic_table = MemoryContextStrdup(TopMemoryContext, s->table);
	}

	cdc_send(W.topic.data, s->key, s->keylen, ctx->out->data, ctx->out->len);
	if (s->op == CDC_OP_DELETE && W.tombstones && s->key != NULL)
		cdc_send(W.topic.data, s->key, s->keylen, NULL, 0);
}

/* The plugin decoded a commit: the transaction's messages are all queued. */
static void
cdc_on_commit(ReorderBufferTXN *txn)
{
	cdc_producer_txn_end(W.producer, txn->end_lsn, (int64) txn->xact_time.commit_time);
}

/*
 * Queues one message, waiting (never dropping) while the queue is full.
 * When Kafka failed or SIGTERM came while waiting, the session is
 * abandoned instead: nothing more is sent or confirmed, and the next
 * session re-sends everything from the confirmed position.
 */
static void
cdc_send(const char *topic, const char *key, size_t keylen, const char *value, size_t valuelen)
{
	char		errbuf[CDC_ERRBUF_SIZE * 2];

	if (W.abandoned)
		return;
	for (;;)
	{
		cdc_send_result r = cdc_producer_send(W.producer, topic, key, keylen, value, valuelen,
											  errbuf, sizeof(errbuf));

		if (r == CDC_SEND_QUEUED)
			break;
		if (r == CDC_SEND_FAILED)
		{
			W.abandoned = true;
			return;
		}

		/* backpressure: wait for acknowledgements to make room */
		cdc_monitor_set_state("waiting for Kafka");
		cdc_producer_poll(W.producer, 100);
		cdc_drain_logs();
		CHECK_FOR_INTERRUPTS();
		if (!PostmasterIsAlive())
			proc_exit(1);		/* never outlive the postmaster */
		if (!cdc_progress(NULL) || cdc_shutdown_requested)
		{
			W.abandoned = true;
			return;
		}
	}
	if (++W.sends_since_poll >= CDC_SENDS_PER_POLL)
	{
		cdc_producer_poll(W.producer, 0);
		W.sends_since_poll = 0;
	}
}

/* True if SIGHUP changed a setting the session was built from. */
static bool
cdc_settings_changed(void)
{
	char	   *now;
	bool		changed;

	if (!ConfigReloadPending)
		return false;
	ConfigReloadPending = false;
	ProcessConfigFile(PGC_SIGHUP);
	now = cdc_settings_string();
	changed = strcmp(now, W.settings) != 0;
	pfree(now);
	return changed;
}

/* Waits until Kafka acknowledged everything queued, or the time is up. */
static void
cdc_drain_in_flight(LogicalDecodingContext *ctx, long timeout_ms)
{
	TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

	for (;;)
	{
		cdc_producer_progress pr;

		cdc_producer_poll(W.producer, 0);
		cdc_drain_logs();
		if (!cdc_progress(ctx))
			return;
		cdc_producer_get_progress(W.producer, &pr);
		if (pr.messages_in_flight == 0)
			return;
		if (timeout_ms >= 0 && GetCurrentTimestamp() >= until)
			return;
		if (!cdc_shutdown_requested || timeout_ms >= 0)
			CHECK_FOR_INTERRUPTS();
		cdc_wait(100);
	}
}

/*
 * Streams the slot into Kafka until SIGTERM, a settings change or a Kafka
 * failure. Starts at the slot's confirmed position, so whatever was not
 * acknowledged before is sent again.
 */
static CdcSessionEnd
cdc_stream(void)
{
	LogicalDecodingContext *ctx;
	MemoryContext session_cxt;
	MemoryContext old;
	CdcSessionEnd end;

	/*
	 * Everything of the session, the WAL reader's oversized records
	 * included (it frees those itself, so no per-loop reset here).
	 */
	session_cxt = AllocSetContextCreate(TopMemoryContext, "cdc_plugin session",
										ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(session_cxt);

	ReplicationSlotAcquire(cdc_slot_name, true);
	W.sink.commit = cdc_on_commit;
	cdc_output_sink = &W.sink;
	ctx = CreateDecodingContext(InvalidXLogRecPtr, cdc_session_options(), false,
								XL_ROUTINE(.page_read = cdc_read_page,
										   .segment_open = wal_segment_open,
										   .segment_close = wal_segment_close),
								cdc_prepare_write, cdc_do_write, NULL);
	W.confirmed = MyReplicationSlot->data.confirmed_flush;
	W.abandoned = false;
	XLogBeginRead(ctx->reader, MyReplicationSlot->data.restart_lsn);
	initStringInfo(&W.topic);
	if (W.topic_schema)
		pfree(W.topic_schema);
	if (W.topic_table)
		pfree(W.topic_table);
	W.topic_schema = W.topic_table = NULL;	/* the prefix may have changed */
	cdc_monitor_set_state("streaming");
	ereport(LOG,
			(errmsg("cdc_plugin worker streaming slot \"%s\" from %X/%X to Kafka",
					cdc_slot_name, LSN_FORMAT_ARGS(W.confirmed))));

	for (;;)
	{
		XLogRecPtr	flushed;
		int			n = 0;

		CHECK_FOR_INTERRUPTS();
		if (cdc_shutdown_requested)
		{
			end = CDC_END_SHUTDOWN;
			break;
		}
		if (cdc_settings_changed())
		{
			end = CDC_END_RELOAD;
			break;
		}

		flushed = GetFlushRecPtr(NULL);
		while (ctx->reader->EndRecPtr < flushed && n < CDC_RECORDS_PER_ROUND &&
			   !cdc_shutdown_requested)
		{
			XLogRecord *record;
			char	   *errm = NULL;

			cdc_read_past_flush = false;
			record = XLogReadRecord(ctx->reader, &errm);
			if (record == NULL && errm == NULL && cdc_read_past_flush)
			{
				/* the next record is not flushed in full yet: read it again later */
				XLogBeginRead(ctx->reader, ctx->reader->EndRecPtr);
				break;
			}
			if (errm != NULL)
				ereport(ERROR,
						(errmsg("cdc_plugin could not read WAL at %X/%X: %s",
								LSN_FORMAT_ARGS(ctx->reader->EndRecPtr), errm)));
			if (record != NULL)
				LogicalDecodingProcessRecord(ctx, ctx->reader);
			n++;
		}

		cdc_producer_poll(W.producer, 0);
		cdc_drain_logs();
		if (!cdc_progress(ctx))
		{
			end = cdc_shutdown_requested ? CDC_END_SHUTDOWN : CDC_END_FAILED;
			break;
		}
		cdc_monitor_set_state("streaming");
		/*
		 * Nothing more to read. WAL inserted but not yet flushed (an
		 * asynchronous commit) gets no wake-up when the WAL writer flushes
		 * it, so look again soon; otherwise commits wake us.
		 */
		if (n == 0)
			cdc_wait(GetXLogInsertRecPtr() > flushed ? CDC_UNFLUSHED_WAIT_MS : CDC_IDLE_WAIT_MS);
	}

	if (end == CDC_END_SHUTDOWN)
	{
		cdc_monitor_set_state("stopping");
		cdc_drain_in_flight(ctx, CDC_SHUTDOWN_FLUSH_MS);
		/* write the confirmed position now, not at the next checkpoint */
		ReplicationSlotMarkDirty();
		ReplicationSlotSave();
	}
	else if (end == CDC_END_RELOAD)
	{
		cdc_monitor_set_state("reloading");
		cdc_drain_in_flight(ctx, -1);
	}
	cdc_output_sink = NULL;
	FreeDecodingContext(ctx);
	ReplicationSlotRelease();
	MemoryContextSwitchTo(old);
	MemoryContextDelete(session_cxt);
	W.topic.data = NULL;
	return end;
}

/* ---------------------------------------------------------------------
 * Worker: main
 * ---------------------------------------------------------------------
 */

/* On any exit: stop librdkafka's threads before the process goes away. */
static void
cdc_worker_exit(int code, Datum arg)
{
	cdc_output_sink = NULL;
	if (W.producer != NULL)
	{
		cdc_producer_destroy(W.producer);
		W.producer = NULL;
	}
	cdc_monitor_worker_stopped();
}

/* The session loop: build the producer, stream, handle how it ended. */
static void
cdc_worker_run(void)
{
	int			backoff_ms = 0;

	cdc_ensure_slot();
	while (!cdc_shutdown_requested)
	{
		TimestampTz started;
		CdcSessionEnd end;

		if (W.producer == NULL && !cdc_start_producer())
		{
			cdc_wait_for_reload();
			continue;
		}
		started = GetCurrentTimestamp();
		end = cdc_stream();
		if (end == CDC_END_SHUTDOWN)
			break;
		if (end == CDC_END_RELOAD)
		{
			ereport(LOG, (errmsg("cdc_plugin worker reloading its Kafka settings")));
			cdc_stop_producer();
			continue;
		}

		/* Kafka failed: start over from the confirmed position after a pause */
		{
			char		failure[CDC_ERRBUF_SIZE * 2];

			cdc_producer_failure(W.producer, failure, sizeof(failure));
			if (TimestampDifferenceExceeds(started, GetCurrentTimestamp(), CDC_HEALTHY_RUN_MS))
				backoff_ms = CDC_BACKOFF_MIN_MS;
			else
				backoff_ms = Min(Max(backoff_ms * 2, CDC_BACKOFF_MIN_MS), CDC_BACKOFF_MAX_MS);
			ereport(LOG,
					(errmsg("cdc_plugin worker restarting from %X/%X in %d ms: %s",
							LSN_FORMAT_ARGS(W.confirmed), backoff_ms, failure),
					 errdetail("Changes not acknowledged by Kafka will be sent again.")));
			cdc_monitor_set_error("retrying", failure);
			cdc_monitor_count_restart();
			cdc_stop_producer();
			cdc_backoff(backoff_ms);
		}
	}
}

/* Dynamic worker connected to cdc_plugin.database (main_arg: its OID). */
void
cdc_worker_main(Datum main_arg)
{
	Oid			dboid = DatumGetObjectId(main_arg);
	int			fds[2];

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, cdc_worker_sigterm);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);

	memset(&W, 0, sizeof(W));
	StartTransactionCommand();
	W.database = MemoryContextStrdup(TopMemoryContext, get_database_name(dboid));
	CommitTransactionCommand();
	MemoryContextSwitchTo(TopMemoryContext);

	if (pipe(fds) != 0 ||
		fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0 || fcntl(fds[1], F_SETFL, O_NONBLOCK) != 0)
		ereport(ERROR, (errmsg("cdc_plugin could not create a pipe: %m")));
	W.wake_read_fd = fds[0];
	W.wake_write_fd = fds[1];
	W.wait_set = CreateWaitEventSet(TopMemoryContext, 3);
	AddWaitEventToSet(W.wait_set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(W.wait_set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(W.wait_set, WL_SOCKET_READABLE, W.wake_read_fd, NULL, NULL);

	cdc_monitor_worker_started(MyProcPid, MyLatch, dboid, W.database, cdc_slot_name);
	before_shmem_exit(cdc_worker_exit, (Datum) 0);

	PG_TRY();
	{
		cdc_worker_run();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/* keep the reason for status() before the ERROR ends the worker */
		MemoryContextSwitchTo(TopMemoryContext);
		edata = CopyErrorData();
		cdc_monitor_set_error("failed", edata->message);
		PG_RE_THROW();
	}
	PG_END_TRY();

	ereport(LOG, (errmsg("cdc_plugin worker stopped; confirmed position %X/%X",
						 LSN_FORMAT_ARGS(W.confirmed))));
	proc_exit(0);
}
