/*
 * launcher.c — the static background worker that keeps the cdc_plugin
 * worker running.
 *
 * The launcher has no database of its own. It checks what the worker
 * needs that would otherwise make it fail at connection time (wal_level,
 * the database named by cdc_plugin.database), starts the worker (stream.c)
 * and, when it exits, starts it again after an exponential backoff, so a
 * failing worker never crash-loops; after cdc_plugin.stop_publishing() it
 * starts none until the server restarts. It never decodes, never talks to
 * Kafka and never holds the slot.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "config.h"
#include "launcher.h"
#include "monitor.h"

#define CDC_BACKOFF_MIN_MS 1000
#define CDC_BACKOFF_MAX_MS 60000
#define CDC_HEALTHY_RUN_MS 60000	/* a run this long resets the backoff */

/* Registers the launcher (preloaded only); the worker is started by it. */
void
cdc_launcher_init(void)
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
}

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
	bool		stop_reported = false;

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
				/* stopped by stop_publishing(): no restart follows (below) */
				if (!cdc_monitor_stop_requested())
				{
					if (TimestampDifferenceExceeds(started, now, CDC_HEALTHY_RUN_MS))
						backoff_ms = CDC_BACKOFF_MIN_MS;
					else
						backoff_ms = Min(Max(backoff_ms * 2, CDC_BACKOFF_MIN_MS), CDC_BACKOFF_MAX_MS);
					next_start = TimestampTzPlusMilliseconds(now, backoff_ms);
					cdc_monitor_count_restart();
					cdc_monitor_set_state("waiting to restart");
				}
			}
		}
		else if (cdc_monitor_worker_alive())
		{
			/* a worker started by an earlier launcher is still running */
			timeout_ms = 1000;
			goto wait;
		}

		if (handle == NULL && cdc_monitor_stop_requested())
		{
			/* stop_publishing(): the flag lives until the server restarts */
			if (!stop_reported)
				ereport(LOG,
						(errmsg("cdc_plugin launcher starts no worker: cdc_plugin.stop_publishing() was called"),
						 errdetail("The worker starts again when the server restarts.")));
			stop_reported = true;
			cdc_monitor_set_state(CDC_STATE_STOPPED_BY_REQUEST);
			timeout_ms = 60000;
		}
		else if (handle == NULL)
		{
			Oid			dboid = InvalidOid;
			const char *hint;
			const char *problem = cdc_launcher_problem(&dboid, &hint);

			if (problem == NULL && !OidIsValid(dboid))
			{
				cdc_monitor_set_state("disabled: cdc_plugin.database is empty");
				timeout_ms = 60000;	/* it only changes at a restart; look now and then anyway */
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
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
