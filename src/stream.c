/*
 * stream.c — the cdc_plugin worker: its session with the replication slot.
 *
 * The worker (a dynamic background worker started by launcher.c, connected
 * to cdc_plugin.database) owns the slot: it creates it if missing, decodes
 * WAL through it in its own process with the logical decoding API, hands
 * every envelope to the publisher (publish.c), and confirms to the slot
 * only what Kafka has acknowledged (or, with nothing in flight, everything
 * decoded so far, so idle tables never hold WAL back). cdc_stream_confirm
 * is the one place that decides what may be confirmed.
 *
 * Every wait here is bounded and looks at SIGTERM, reload and postmaster
 * death: a SIGTERM or a reload that changed the Kafka settings drains for
 * at most CDC_DRAIN_MS, then abandons the session (nothing more sent or
 * confirmed) and the next one resends from the confirmed position; a full
 * producer queue is waited for here, never inside the publisher.
 *
 * A PostgreSQL ERROR ends the worker (the launcher restarts it); Kafka
 * failures, which are expected, restart decoding in-process from the
 * confirmed position after a backoff. No C++ object lives on any stack
 * frame here: Kafka is reached only through publish.h.
 */
#include "postgres.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlogreader.h"
#include "access/xlogutils.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/decode.h"
#include "replication/logical.h"
#include "replication/slot.h"
#include "replication/snapbuild.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "cdc_core.h"
#include "config.h"
#include "monitor.h"
#include "outbox.h"
#include "output_plugin.h"
#include "publish.h"
#include "row_image.h"
#include "slot_loss.h"
#include "snapshot.h"
#include "stream.h"
#include "wal_budget.h"

#define CDC_BACKOFF_MIN_MS 1000
#define CDC_BACKOFF_MAX_MS 60000
#define CDC_HEALTHY_RUN_MS 60000	/* a run this long resets the backoff */
#define CDC_IDLE_WAIT_MS 200		/* WAL not announced by a commit (other databases) */
#define CDC_UNFLUSHED_WAIT_MS 10	/* WAL written but not flushed yet (async commit) */
#define CDC_ROOM_WAIT_MS 100		/* one round of waiting for room in the queue */
#define CDC_PARTITION_COUNT_WAIT_MS 100 /* one round of asking for a topic's partition count */
#define CDC_PARTITION_COUNT_PAUSE_MS 10 /* ... and the wait between two rounds */
#define CDC_DRAIN_MS 5000			/* how long SIGTERM or a reload waits for Kafka */
#define CDC_LOOK_AGAIN_MS 10000		/* bad settings or a lost slot: look again this often */
#define CDC_EXTENSION_WAIT_MS 1000	/* no extension yet: look again this often */
#define CDC_RECOVER_LOOK_MS 1000	/* on_slot_lost = 'stop': look for recover_slot() this often */
#define CDC_RECORDS_PER_ROUND 1000	/* WAL records between polls of the producer */
#define CDC_SENDS_PER_POLL 1000

/* status() while every broker is unreachable, instead of streaming or waiting for room */
#define CDC_STATE_UNREACHABLE "waiting for Kafka: brokers unreachable"

/* Why a streaming session ends. */
typedef enum CdcSessionEnd
{
	CDC_END_NONE,				/* it goes on */
	CDC_END_SHUTDOWN,			/* SIGTERM: exit */
	CDC_END_RELOAD,				/* the Kafka settings changed: rebuild the producer */
	CDC_END_FAILED				/* Kafka failed: back off, start over */
} CdcSessionEnd;

/* What the slot check found. */
typedef enum CdcSlotState
{
	CDC_SLOT_READY,
	CDC_SLOT_MISSING,			/* not created yet */
	CDC_SLOT_LOST				/* invalidated by max_slot_wal_keep_size */
} CdcSlotState;

/* Everything the worker process keeps between callbacks. */
typedef struct CdcStreamState
{
	char	   *database;
	int			wake_read_fd;	/* librdkafka writes to the other end */
	int			wake_write_fd;
	WaitEventSet *wait_set;		/* latch, wake_read_fd, postmaster death */

	/* the session */
	LogicalDecodingContext *ctx;
	CdcOutputSink *sink;		/* attached to ctx; goes with it */
	CdcSessionEnd end;			/* != NONE: send nothing more */
	bool		reload_pending; /* a reload changed the Kafka settings */
	char		failure[CDC_ERRBUF_SIZE * 2];	/* why the session failed */
	uint64		sends_since_poll;
	XLogRecPtr	confirmed;		/* last LSN confirmed to the slot */
	TimestampTz confirmed_commit_time;	/* newest transaction Kafka acknowledged */

	bool		configuration_error;	/* waiting for a reload that fixes the settings */
	bool		retrying;		/* backing off after a Kafka failure */
	bool		brokers_unreachable;	/* reported: no broker could be reached */
	const char *state;			/* what the session does, for status() (a literal) */

	CdcWorkerCounters totals;	/* published by earlier producers and workers */
	CdcWorkerCounters current;	/* what status() shows */

	/* heartbeats (cdc_plugin.heartbeat_interval) */
	uint64		sends;			/* messages handed to the publisher */
	uint64		sends_seen;		/* ... when the idle stretch began */
	TimestampTz idle_since;		/* 0: not idle (yet) */
	char	   *database_utf8;	/* the heartbeat's source.database */
	cdc_encoder *heartbeat_encoder;
} CdcStreamState;

static CdcStreamState W;
static volatile sig_atomic_t cdc_shutdown_requested = false;
static volatile sig_atomic_t cdc_die_on_sigterm = false;

/* ---------------------------------------------------------------------
 * The commit wake-up
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

/* Registers the commit wake-up (preloaded only). */
void
cdc_stream_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	RegisterXactCallback(cdc_wake_on_commit, NULL);
}

/* ---------------------------------------------------------------------
 * Signals and waiting
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
 * Why the slot retains WAL, as far as the worker knows: for the warnings
 * about max_slot_wal_keep_size.
 */
static CdcRetentionCause
cdc_retention_cause(void)
{
	if (W.configuration_error)
		return CDC_RETENTION_CONFIGURATION;
	if (W.current.broker_state == 0)
		return CDC_RETENTION_BROKER_DOWN;
	if (W.retrying || W.end == CDC_END_FAILED)
		return CDC_RETENTION_DELIVERY;
	return CDC_RETENTION_BEHIND;
}

/* Looks at the slot's WAL budget (at most once a second: wal_budget.c). */
static void
cdc_watch_budget(void)
{
	cdc_wal_budget_watch(cdc_slot_name, cdc_retention_cause());
}

/*
 * Waits for the latch (commits, signals), librdkafka, or the timeout; exits
 * if the postmaster dies. The wait set is built once: at thousands of waits
 * a second, building one per wait (WaitLatchOrSocket) costs more than the
 * wait itself.
 */
static void
cdc_wait(long timeout_ms)
{
	WaitEvent	events[3];
	int			n,
				i;

	/* every wait of the worker passes here, so the slot is watched in each */
	cdc_watch_budget();
	n = WaitEventSetWait(W.wait_set, timeout_ms, events, lengthof(events), PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	for (i = 0; i < n; i++)
		if (events[i].events & WL_SOCKET_READABLE)
			cdc_drain_wake_fd();
}

/*
 * Sleeps up to ms, waking early for SIGTERM or a reload (which is read
 * here). Outside any session: there is no producer to serve.
 */
static void
cdc_sleep(int ms)
{
	TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	while (!cdc_shutdown_requested)
	{
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), until);

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			return;
		}
		if (left <= 0)
			return;
		cdc_wait(left);
	}
}

/*
 * Looks at what can end the session: SIGTERM, postmaster death, a reload
 * that changed the Kafka settings (read here, also in the middle of
 * decoding, as the walsender does), a failed producer.
 */
static CdcSessionEnd
cdc_session_should_end(void)
{
	cdc_producer_progress pr;

	CHECK_FOR_INTERRUPTS();
	if (!PostmasterIsAlive())
		proc_exit(1);			/* never outlive the postmaster */
	if (cdc_shutdown_requested)
		return CDC_END_SHUTDOWN;
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
		if (cdc_publish_settings_changed(NULL))
			W.reload_pending = true;
	}
	if (W.reload_pending)
		return CDC_END_RELOAD;
	cdc_publish_read_progress(&pr);
	if (pr.failed)
		return CDC_END_FAILED;
	return CDC_END_NONE;
}

/*
 * Ends the session: nothing more is sent, and the plugin stops encoding
 * the rest of what is being decoded. What was queued may still be
 * acknowledged and confirmed while the session drains.
 */
static void
cdc_session_abandon(CdcSessionEnd end, const char *why)
{
	if (end == CDC_END_NONE || W.end != CDC_END_NONE)
		return;
	W.end = end;
	if (W.sink != NULL)
		W.sink->stopped = true;
	if (end == CDC_END_FAILED && why != NULL && W.failure[0] == '\0')
		strlcpy(W.failure, why, sizeof(W.failure));
}

/* ---------------------------------------------------------------------
 * What may be confirmed, and status()
 * ---------------------------------------------------------------------
 */

/*
 * Shows what the session does in status(), or that it waits because no
 * broker can be reached.
 */
static void
cdc_stream_set_state(const char *state)
{
	W.state = state;
	cdc_monitor_set_state(W.brokers_unreachable ? CDC_STATE_UNREACHABLE : state);
}

/*
 * Says once that no broker can be reached, and once that one can again:
 * a WARNING, last_error and the state in status() at the start of an
 * outage, a LOG line at its end, nothing in between (librdkafka retries
 * by itself). The cause never names a broker's address, which is
 * cdc_plugin.kafka_bootstrap_servers' value or derived from it. It stays
 * reported across a new producer until a broker answers that one.
 */
static void
cdc_watch_brokers(void)
{
	char		why[CDC_ERRBUF_SIZE];
	int			reachable = cdc_publish_brokers_reachable(why, sizeof(why));

	if (reachable == 0 && !W.brokers_unreachable)
	{
		char		error[CDC_ERRBUF_SIZE + 32];

		W.brokers_unreachable = true;
		snprintf(error, sizeof(error), "all brokers are down%s%s", why[0] ? ": " : "", why);
		ereport(WARNING,
				(errmsg("cdc_plugin worker cannot reach any Kafka broker: %s", error),
				 errdetail("Changes wait in the producer's queue and the slot keeps their WAL; librdkafka keeps trying, and the worker logs when a broker answers again."),
				 errhint("Make a broker named by cdc_plugin.kafka_bootstrap_servers reachable from the database server.")));
		/* while draining, the state says stopping or reloading */
		cdc_monitor_set_error(W.end == CDC_END_NONE && W.state != NULL ? CDC_STATE_UNREACHABLE : NULL,
							  error);
	}
	else if (reachable == 1 && W.brokers_unreachable)
	{
		W.brokers_unreachable = false;
		ereport(LOG, (errmsg("cdc_plugin worker reached a Kafka broker again")));
		if (W.end == CDC_END_NONE && W.state != NULL)
			cdc_stream_set_state(W.state);
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
 * The one rule for what may be confirmed: the end of the newest
 * transaction that Kafka fully acknowledged together with every earlier
 * one; and, while the session is sending and nothing is open or in flight,
 * everything decoded so far (transactions that published nothing). After
 * the session was abandoned a transaction may have been cut short, so only
 * acknowledged ones move the slot. Then publishes the counters to status(),
 * and whether a broker can be reached.
 */
static void
cdc_stream_confirm(void)
{
	cdc_producer_progress pr;
	XLogRecPtr	lsn;
	TimestampTz commit_time;

	if (cdc_publish_take_confirmable(&lsn, &commit_time))
	{
		cdc_confirm(lsn);
		/* a heartbeat or snapshot's own "transaction" has no commit time */
		if (commit_time != 0)
			W.confirmed_commit_time = commit_time;
	}
	cdc_publish_read_progress(&pr);
	if (pr.idle && !pr.failed && W.end == CDC_END_NONE && W.ctx != NULL)
		cdc_confirm(W.ctx->reader->EndRecPtr);

	W.current.confirmed_lsn = W.confirmed;
	W.current.last_commit_time = W.confirmed_commit_time;
	W.current.oldest_unacked_commit_time = (TimestampTz) pr.oldest_unacked_commit_time_pg_us;
	W.current.events = W.totals.events + pr.acked_messages;
	W.current.bytes = W.totals.bytes + pr.acked_bytes;
	W.current.transactions = W.totals.transactions + pr.acked_transactions;
	W.current.in_flight = pr.messages_in_flight;
	W.current.delivery_errors = W.totals.delivery_errors + pr.failed_messages;
	W.current.broker_state = pr.broker_state;
	cdc_monitor_update(&W.current);
	cdc_watch_brokers();
}

/* Builds the producer; false (logged, in status()) if the settings are bad. */
static bool
cdc_stream_start_producer(void)
{
	W.reload_pending = false;
	return cdc_publish_start(W.database, W.wake_write_fd);
}

/* Keeps the counters of a producer that goes away, then destroys it. */
static void
cdc_stream_stop_producer(void)
{
	if (!cdc_publish_started())
		return;
	W.totals = W.current;
	W.totals.in_flight = 0;
	W.totals.oldest_unacked_commit_time = 0;
	cdc_publish_stop();
}

/* ---------------------------------------------------------------------
 * The slot
 * ---------------------------------------------------------------------
 */

/*
 * Checks the worker's slot. A slot that PostgreSQL invalidated
 * (max_slot_wal_keep_size) is reported as lost: the WAL it needed is gone,
 * and reading from it cannot work.
 */
static CdcSlotState
cdc_prepare_slot(void)
{
	ReplicationSlot *slot;
	bool		exists = false;
	Oid			slot_db = InvalidOid;
	char		plugin[NAMEDATALEN] = "";
	XLogRecPtr	restart_lsn = InvalidXLogRecPtr;
	XLogRecPtr	invalidated_at = InvalidXLogRecPtr;

	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	slot = SearchNamedReplicationSlot(cdc_slot_name, false);
	if (slot != NULL)
	{
		exists = true;
		SpinLockAcquire(&slot->mutex);
		slot_db = slot->data.database;
		strlcpy(plugin, NameStr(slot->data.plugin), NAMEDATALEN);
		restart_lsn = slot->data.restart_lsn;
		invalidated_at = slot->data.invalidated_at;
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
		if (XLogRecPtrIsInvalid(restart_lsn) && !XLogRecPtrIsInvalid(invalidated_at))
			return CDC_SLOT_LOST;
		return CDC_SLOT_READY;
	}

	return CDC_SLOT_MISSING;
}

/*
 * Waits until Kafka acknowledged everything queued, in bounded rounds that
 * look at the signals; no deadline (nothing streams meanwhile). False when
 * the session ended instead.
 */
static bool
cdc_wait_acknowledged(void)
{
	for (;;)
	{
		cdc_producer_progress pr;

		cdc_publish_read_progress(&pr);
		if (pr.failed)
		{
			cdc_session_abandon(CDC_END_FAILED, NULL);
			return false;
		}
		if (pr.messages_in_flight == 0)
			return true;
		if (!cdc_stream_serve(CDC_ROOM_WAIT_MS))
			return false;
	}
}

/*
 * Creates the worker's slot. With cdc_plugin.snapshot_mode = 'initial', or
 * after a gap, it is created the way a walsender's CREATE_REPLICATION_SLOT
 * ... USE_SNAPSHOT does it, inside a REPEATABLE READ transaction that then
 * uses the slot's own snapshot: every captured table is queued for a
 * snapshot there (after a gap: the gap is published to every captured
 * table and the tables changed meanwhile are queued), and tables without a
 * key are read at once and published at the slot's start (snapshot.c). The
 * slot stays ephemeral (dropped by any failure, a crash included) until
 * that is done and acknowledged, so a slot that exists always has its
 * snapshots queued and its gap published. False when Kafka failed or
 * SIGTERM came meanwhile: no slot was kept.
 */
static bool
cdc_create_slot(CdcGap *gap)
{
	LogicalDecodingContext *ctx;
	bool		initial = gap == NULL && cdc_snapshot_mode == CDC_SNAPSHOT_MODE_INITIAL;
	bool		with_snapshot = initial || gap != NULL;
	XLogRecPtr	start;
	bool		ok = true;

	/* blocked inside PostgreSQL until running transactions end: die on SIGTERM */
	cdc_die_on_sigterm = true;
	if (cdc_shutdown_requested)
		proc_exit(0);
	CheckLogicalDecodingRequirements();
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (with_snapshot)
		XactIsoLevel = XACT_REPEATABLE_READ;
	ReplicationSlotCreate(cdc_slot_name, true, RS_EPHEMERAL, false);
	ctx = CreateInitDecodingContext("cdc_plugin", NIL, with_snapshot, InvalidXLogRecPtr,
									XL_ROUTINE(.page_read = read_local_xlog_page,
											   .segment_open = wal_segment_open,
											   .segment_close = wal_segment_close),
									NULL, NULL, NULL);
	DecodingContextFindStartpoint(ctx);
	cdc_die_on_sigterm = false;
	start = MyReplicationSlot->data.confirmed_flush;
	if (with_snapshot)
	{
		Snapshot	snap = SnapBuildInitialSnapshot(ctx->snapshot_builder);

		RestoreTransactionSnapshot(snap, MyProc);
	}
	FreeDecodingContext(ctx);

	if (with_snapshot)
	{
		W.end = CDC_END_NONE;
		W.failure[0] = '\0';
		W.confirmed = start;
	}
	if (gap != NULL)
	{
		CdcGapStart gs;

		cdc_stream_set_state("recovering slot");
		ok = cdc_gap_decide(gap, &gs) && cdc_snapshot_after_gap(start, &gs);
		if (ok)
			cdc_gap_started(gap, start, &gs);
	}
	else if (initial)
	{
		cdc_stream_set_state("initial snapshot");
		ok = cdc_snapshot_initial(start);
	}
	/* counters recorded for the earlier slot say nothing about this one (a gap compared them above) */
	if (ok)
		cdc_change_counters_reset();
	CommitTransactionCommand();
	if (with_snapshot && ok)
	{
		/* what was published belongs to no decoded transaction: close it at the start */
		cdc_publish_txn_end(start, 0);
		ok = cdc_wait_acknowledged();
		if (ok)
			cdc_snapshot_initial_done();
	}
	if (!ok)
	{
		if (W.end == CDC_END_FAILED && W.failure[0] == '\0')
			cdc_publish_failure(W.failure, sizeof(W.failure));
		ReplicationSlotRelease();	/* still ephemeral: this drops it */
		ereport(LOG,
				(errmsg(gap != NULL ?
						"cdc_plugin dropped the replication slot it was creating: its gap events could not be published" :
						"cdc_plugin dropped the replication slot it was creating: its initial snapshot could not be published")));
		return false;
	}
	ReplicationSlotPersist();
	ereport(LOG,
			(errmsg("cdc_plugin created replication slot \"%s\" at %X/%X",
					cdc_slot_name, LSN_FORMAT_ARGS(start))));
	ReplicationSlotRelease();
	if (gap != NULL)
		cdc_gap_done(gap);
	return true;
}

/*
 * The slot is lost and nothing can recover it yet (the extension is not
 * installed, so no gap can be recorded): says so once, shows "slot lost"
 * and waits (SIGTERM ends the wait) until the slot is dropped or the
 * extension created.
 */
static void
cdc_wait_while_slot_lost(void)
{
	ereport(WARNING,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cdc_plugin replication slot \"%s\" was invalidated: PostgreSQL removed WAL it still needed (max_slot_wal_keep_size)",
					cdc_slot_name),
			 errdetail("Changes committed since the slot's confirmed position cannot be published any more; the worker stopped streaming."),
			 errhint("Run CREATE EXTENSION cdc_plugin in the worker's database: the worker then records the gap, recreates the slot and re-snapshots the tables changed meanwhile.")));
	cdc_monitor_set_error("slot lost",
						  "the replication slot was invalidated (max_slot_wal_keep_size); CREATE EXTENSION cdc_plugin lets the worker recover it");
	while (!cdc_shutdown_requested)
	{
		cdc_sleep(CDC_LOOK_AGAIN_MS);
		if (cdc_shutdown_requested || cdc_prepare_slot() != CDC_SLOT_LOST || cdc_gap_log_exists())
			return;
	}
}

/*
 * on_slot_lost = 'stop': keeps the lost slot and waits (SIGTERM ends the
 * wait) until recover_slot() marks the gap recovering, a reload sets
 * on_slot_lost = 'resnapshot', or an operator drops the slot.
 */
static void
cdc_wait_for_recovery(CdcGap *gap)
{
	cdc_monitor_set_error("slot lost",
						  "the replication slot was invalidated (max_slot_wal_keep_size) and cdc_plugin.on_slot_lost = 'stop': SELECT cdc_plugin.recover_slot() recreates it");
	while (!cdc_shutdown_requested)
	{
		cdc_sleep(CDC_RECOVER_LOOK_MS);
		if (cdc_shutdown_requested)
			return;
		if (cdc_on_slot_lost != CDC_ON_SLOT_LOST_STOP || !cdc_gap_load(gap) || !gap->waiting ||
			cdc_prepare_slot() != CDC_SLOT_LOST)
			return;
	}
}

/* What to do about a gap before the next session. */
typedef enum CdcGapStep
{
	CDC_GAP_STEP_NONE,			/* stream (or create a slot) as usual */
	CDC_GAP_STEP_WAIT,			/* waited: look again */
	CDC_GAP_STEP_RECOVER		/* create a new slot for the gap */
} CdcGapStep;

/*
 * Looks at the slot and cdc_plugin.gap_log together: records a loss just
 * found, waits while on_slot_lost = 'stop' says so, drops the lost slot
 * when it is to be recovered, and settles a gap whose new slot already
 * exists (a crash between keeping the slot and marking the gap done).
 */
static CdcGapStep
cdc_gap_step(CdcSlotState slot, CdcGap *gap)
{
	bool		open;

	if (slot == CDC_SLOT_LOST && !cdc_gap_log_exists())
	{
		cdc_stream_stop_producer();
		cdc_wait_while_slot_lost();
		return CDC_GAP_STEP_WAIT;
	}
	open = cdc_gap_load(gap);
	if (slot == CDC_SLOT_READY)
	{
		if (open && !gap->waiting && !XLogRecPtrIsInvalid(gap->lost_to))
			cdc_gap_done(gap);
		else if (open)
			cdc_gap_close(gap, "a replication slot was created outside the worker's recovery: no gap event was published");
		return CDC_GAP_STEP_NONE;
	}
	if (slot == CDC_SLOT_MISSING && !open)
		return CDC_GAP_STEP_NONE;
	if (slot == CDC_SLOT_LOST && !open)
	{
		XLogRecPtr	lost_from = InvalidXLogRecPtr;
		XLogRecPtr	invalidated_at = InvalidXLogRecPtr;
		ReplicationSlot *s;

		LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
		s = SearchNamedReplicationSlot(cdc_slot_name, false);
		if (s != NULL)
		{
			SpinLockAcquire(&s->mutex);
			lost_from = s->data.confirmed_flush;
			invalidated_at = s->data.invalidated_at;
			SpinLockRelease(&s->mutex);
		}
		LWLockRelease(ReplicationSlotControlLock);
		cdc_gap_record_loss(gap, lost_from, invalidated_at);
	}
	if (gap->waiting)
	{
		if (slot == CDC_SLOT_MISSING)
			cdc_gap_set_recovering(gap, "the lost replication slot was dropped");
		else if (cdc_on_slot_lost != CDC_ON_SLOT_LOST_STOP)
			cdc_gap_set_recovering(gap, "cdc_plugin.on_slot_lost is now 'resnapshot'");
		else
		{
			cdc_stream_stop_producer();
			cdc_wait_for_recovery(gap);
			return CDC_GAP_STEP_WAIT;
		}
	}
	/* nothing the lost slot decoded may reach Kafka after the gap events */
	cdc_stream_stop_producer();
	if (slot == CDC_SLOT_LOST)
	{
		/* nobody can read from it again; a new slot takes its name */
		ReplicationSlotDrop(cdc_slot_name, true);
		ereport(LOG,
				(errmsg("cdc_plugin dropped its lost replication slot \"%s\" to recover from gap %lld",
						cdc_slot_name, (long long) gap->id)));
	}
	return CDC_GAP_STEP_RECOVER;
}

/* ---------------------------------------------------------------------
 * The decoding session
 * ---------------------------------------------------------------------
 */

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
										   (Node *) makeString(pstrdup(cdc_messages_topic[0] ? "true" : "false")), -1));
	if (cdc_transaction_topic[0] != '\0')
		options = lappend(options, makeDefElem("include-transaction-events",
											   (Node *) makeString(pstrdup("true")), -1));
	options = lappend(options, makeDefElem("include-schema-events",
										   (Node *) makeString(pstrdup("true")), -1));
	if (cdc_include_tables[0] != '\0')
		options = lappend(options, makeDefElem("include-tables",
											   (Node *) makeString(pstrdup(cdc_include_tables)), -1));
	if (cdc_exclude_tables[0] != '\0')
		options = lappend(options, makeDefElem("exclude-tables",
											   (Node *) makeString(pstrdup(cdc_exclude_tables)), -1));
	if (cdc_outbox_tables[0] != '\0')
	{
		options = lappend(options, makeDefElem("outbox-tables",
											   (Node *) makeString(pstrdup(cdc_outbox_tables)), -1));
		options = lappend(options, makeDefElem("outbox-topic",
											   (Node *) makeString(pstrdup(cdc_outbox_topic)), -1));
		if (cdc_outbox_columns[0] != '\0')
			options = lappend(options, makeDefElem("outbox-columns",
												   (Node *) makeString(pstrdup(cdc_outbox_columns)), -1));
	}
	return options;
}

/* Nothing to prepare: the envelope is appended to ctx->out by the plugin. */
static void
cdc_prepare_write(LogicalDecodingContext *ctx, XLogRecPtr lsn, TransactionId xid, bool last_write)
{
	resetStringInfo(ctx->out);
}

/*
 * One round of serving while the session waits for something: waits up to
 * wait_ms for acknowledgements (or signals), serves the producer, confirms,
 * and looks at SIGTERM, reload, postmaster death and Kafka failures; any of
 * them abandons the session. False when the session ended.
 */
bool
cdc_stream_serve(long wait_ms)
{
	CdcSessionEnd end;

	if (W.end != CDC_END_NONE)
		return false;
	if (wait_ms > 0)
		cdc_wait(wait_ms);
	cdc_publish_poll(0);
	cdc_stream_confirm();
	end = cdc_session_should_end();
	if (end != CDC_END_NONE)
		cdc_session_abandon(end, NULL);
	return W.end == CDC_END_NONE;
}

/*
 * Hands one envelope to the publisher, waiting while the producer's queue
 * is full. Every round of that wait is bounded (cdc_stream_serve); when
 * the session ends meanwhile, nothing is sent and the next session resends
 * from the confirmed position. False when the session ended.
 */
bool
cdc_stream_send(const CdcOutputRoute *route, const char *data, size_t len)
{
	int			parts_sent = 0;
	char		errbuf[CDC_ERRBUF_SIZE * 3];

	if (W.end != CDC_END_NONE)
		return false;
	for (;;)
	{
		cdc_send_result r = cdc_publish_envelope(route, data, len, &parts_sent,
												 errbuf, sizeof(errbuf));

		if (r == CDC_SEND_QUEUED)
			break;
		if (r == CDC_SEND_FAILED)
		{
			cdc_session_abandon(CDC_END_FAILED, errbuf);
			return false;
		}
		/* backpressure: wait for acknowledgements to make room */
		cdc_stream_set_state("waiting for Kafka");
		if (!cdc_stream_serve(CDC_ROOM_WAIT_MS))
			return false;
	}
	W.sends++;
	if (++W.sends_since_poll >= CDC_SENDS_PER_POLL)
	{
		cdc_publish_poll(0);
		W.sends_since_poll = 0;
	}
	return true;
}

/* Microseconds between 1970-01-01 and 2000-01-01 (PostgreSQL's epoch). */
#define CDC_UNIX_EPOCH_OFFSET_US \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

/*
 * Publishes a heartbeat: an envelope of op heartbeat whose source has the
 * database, the flushed WAL position and the time. False when the session
 * ended (the heartbeat then is not sent).
 */
static bool
cdc_send_heartbeat(TimestampTz now)
{
	cdc_event	ev;
	CdcOutputRoute route;
	XLogRecPtr	flushed = GetFlushRecPtr(NULL);
	const char *data;
	size_t		len;
	char		errbuf[CDC_ERRBUF_SIZE];

	if (W.database_utf8 == NULL)
	{
		StartTransactionCommand();
		W.database_utf8 = MemoryContextStrdup(TopMemoryContext,
											  cdc_server_cstring(get_database_name(MyDatabaseId)));
		CommitTransactionCommand();
	}
	if (W.heartbeat_encoder == NULL)
	{
		W.heartbeat_encoder = cdc_encoder_create(CDC_PLUGIN_VERSION, errbuf, sizeof(errbuf));
		if (W.heartbeat_encoder == NULL)
			ereport(ERROR, (errmsg("cdc_plugin could not create an encoder: %s", errbuf)));
	}
	memset(&ev, 0, sizeof(ev));
	ev.op = CDC_OP_HEARTBEAT;
	ev.source.database = W.database_utf8;
	ev.source.lsn = flushed;
	ev.source.commit_lsn = flushed;
	ev.source.commit_time_us = now + CDC_UNIX_EPOCH_OFFSET_US;
	if (cdc_encoder_encode(W.heartbeat_encoder, &ev, &data, &len, errbuf, sizeof(errbuf)) != 0)
		ereport(ERROR, (errmsg("cdc_plugin could not encode a heartbeat: %s", errbuf)));
	memset(&route, 0, sizeof(route));
	route.op = CDC_OP_HEARTBEAT;
	route.partition = -1;
	route.commit_lsn = flushed;
	route.lsn = flushed;
	route.seq = (uint64) (now + CDC_UNIX_EPOCH_OFFSET_US);
	if (!cdc_stream_send(&route, data, len))
		return false;
	/* it belongs to no transaction: closed where the slot already is */
	cdc_publish_txn_end(W.confirmed, 0);
	return true;
}

/*
 * Heartbeats while idle: once nothing was handed to the publisher for
 * cdc_plugin.heartbeat_interval and nothing is in flight, one heartbeat.
 * Returns how long the caller may sleep before the next one is due.
 */
static long
cdc_heartbeat_step(long wait_ms)
{
	TimestampTz now;
	long		idle_ms;

	if (cdc_heartbeat_interval <= 0 || W.end != CDC_END_NONE)
	{
		W.idle_since = 0;
		return wait_ms;
	}
	now = GetCurrentTimestamp();
	if (W.idle_since == 0 || W.sends != W.sends_seen || now < W.idle_since)
	{
		W.sends_seen = W.sends;
		W.idle_since = now;
	}
	idle_ms = (long) ((now - W.idle_since) / 1000);
	if (idle_ms >= cdc_heartbeat_interval)
	{
		cdc_producer_progress pr;

		cdc_publish_read_progress(&pr);
		/* messages waiting for Kafka are not idleness: no heartbeat then */
		if (pr.idle && !pr.failed && cdc_send_heartbeat(now))
		{
			W.sends_seen = W.sends;
			W.idle_since = now;
			idle_ms = 0;
		}
		else
			return wait_ms;
	}
	return Min(wait_ms, Max(1, cdc_heartbeat_interval - idle_ms));
}

/*
 * Sends one envelope to every partition of the topic of schema.table,
 * asking for the partition count in bounded rounds until it is known (a
 * new topic, brokers down). False when the session ended.
 */
bool
cdc_stream_send_every_partition(const CdcOutputRoute *route, const char *schema,
								const char *table, const char *data, size_t len)
{
	CdcOutputRoute copy = *route;
	int			n,
				p;
	char		errbuf[CDC_ERRBUF_SIZE * 2];

	for (;;)
	{
		if (W.end != CDC_END_NONE)
			return false;
		n = cdc_publish_partition_count(schema, table, CDC_PARTITION_COUNT_WAIT_MS,
										errbuf, sizeof(errbuf));
		if (n < 0)
		{
			cdc_session_abandon(CDC_END_FAILED, errbuf);
			return false;
		}
		if (n > 0)
			break;
		cdc_stream_set_state("waiting for Kafka");
		/* a wait of its own: it also watches the WAL budget and the postmaster */
		if (!cdc_stream_serve(CDC_PARTITION_COUNT_PAUSE_MS))
			return false;
	}
	copy.schema = schema;
	copy.table = table;
	copy.key = NULL;
	copy.keylen = 0;
	copy.old_key = NULL;
	copy.old_keylen = 0;
	copy.every_partition = false;
	for (p = 0; p < n; p++)
	{
		copy.partition = p;
		if (!cdc_stream_send(&copy, data, len))
			return false;
	}
	return true;
}

/*
 * One envelope from the plugin. A change of the table being snapshotted
 * first drops its key from the open chunk (the change is newer). A schema
 * event goes to every partition of the table's topic, and of its former
 * topic after a rename.
 */
static void
cdc_write(LogicalDecodingContext *ctx, XLogRecPtr lsn, TransactionId xid, bool last_write)
{
	const CdcOutputRoute *route = &W.sink->route;

	if (W.end != CDC_END_NONE)
		return;
	if (route->every_partition)
	{
		if (cdc_stream_send_every_partition(route, route->schema, route->table,
											ctx->out->data, ctx->out->len) &&
			route->former_table != NULL)
			(void) cdc_stream_send_every_partition(route, route->former_schema,
												   route->former_table,
												   ctx->out->data, ctx->out->len);
		return;
	}
	if (OidIsValid(route->relid))
		cdc_snapshot_on_change(route);
	(void) cdc_stream_send(route, ctx->out->data, ctx->out->len);
}

/* A snapshot watermark decoded (the worker wrote it between two rounds). */
static void
cdc_on_watermark(void *arg, ReorderBufferTXN *txn, XLogRecPtr lsn, const char *content, Size size)
{
	if (W.end != CDC_END_NONE)
		return;
	cdc_snapshot_on_watermark(txn, lsn, content, size);
}

/*
 * The plugin decoded a commit: the transaction's messages are all queued,
 * unless the session was abandoned in the middle of it; then it is left
 * open, so that neither it nor anything after it is ever confirmed.
 */
static void
cdc_on_commit(void *arg, ReorderBufferTXN *txn)
{
	cdc_snapshot_on_commit(txn->xid);
	if (W.end != CDC_END_NONE)
		return;
	cdc_publish_txn_end(txn->end_lsn, txn->xact_time.commit_time);
}

/*
 * Waits until Kafka acknowledged everything queued, for at most timeout_ms,
 * confirming as acknowledgements come. True if nothing is left in flight.
 */
static bool
cdc_drain(long timeout_ms)
{
	TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

	for (;;)
	{
		cdc_producer_progress pr;
		long		left;

		cdc_publish_poll(0);
		cdc_stream_confirm();
		cdc_publish_read_progress(&pr);
		if (pr.failed)
			return false;
		if (pr.messages_in_flight == 0)
			return true;
		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), until);
		if (left <= 0)
		{
			ereport(LOG,
					(errmsg("cdc_plugin worker stopped waiting for Kafka after %d ms with " UINT64_FORMAT " messages unacknowledged",
							(int) timeout_ms, pr.messages_in_flight),
					 errdetail("They will be sent again from %X/%X.", LSN_FORMAT_ARGS(W.confirmed))));
			return false;
		}
		CHECK_FOR_INTERRUPTS();
		if (cdc_shutdown_requested && W.end == CDC_END_RELOAD)
		{
			W.end = CDC_END_SHUTDOWN;	/* keep the deadline, then exit */
			cdc_monitor_set_state("stopping");
		}
		cdc_wait(Min(left, CDC_ROOM_WAIT_MS));
	}
}

/* Reads and decodes up to CDC_RECORDS_PER_ROUND flushed records; returns how many. */
static int
cdc_decode_round(LogicalDecodingContext *ctx, XLogRecPtr flushed)
{
	int			n = 0;

	while (ctx->reader->EndRecPtr < flushed && n < CDC_RECORDS_PER_ROUND &&
		   W.end == CDC_END_NONE && !cdc_shutdown_requested)
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
	return n;
}

/*
 * Streams the slot into Kafka until SIGTERM, a settings change or a Kafka
 * failure. Starts at the slot's confirmed position, so whatever was not
 * acknowledged before is sent again.
 */
static CdcSessionEnd
cdc_stream(void)
{
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
	W.end = CDC_END_NONE;
	W.failure[0] = '\0';
	W.sends_since_poll = 0;
	W.idle_since = 0;
	/* no progress callback: the plugin's reports, meant for walsenders, do nothing here */
	W.ctx = CreateDecodingContext(InvalidXLogRecPtr, cdc_session_options(), false,
								  XL_ROUTINE(.page_read = cdc_read_page,
											 .segment_open = wal_segment_open,
											 .segment_close = wal_segment_close),
								  cdc_prepare_write, cdc_write, NULL);
	W.sink = cdc_output_attach_sink(W.ctx, cdc_on_commit, NULL);
	W.sink->watermark = cdc_on_watermark;
	W.confirmed = MyReplicationSlot->data.confirmed_flush;
	XLogBeginRead(W.ctx->reader, MyReplicationSlot->data.restart_lsn);
	cdc_stream_set_state("streaming");
	ereport(LOG,
			(errmsg("cdc_plugin worker streaming slot \"%s\" from %X/%X to Kafka",
					cdc_slot_name, LSN_FORMAT_ARGS(W.confirmed))));
	cdc_snapshot_session_start();
	cdc_change_counters_session_start();

	while (W.end == CDC_END_NONE)
	{
		XLogRecPtr	flushed = GetFlushRecPtr(NULL);
		int			n;

		W.sink->want_old_keys = cdc_snapshot_running();
		n = cdc_decode_round(W.ctx, flushed);

		cdc_publish_poll(0);
		cdc_stream_confirm();
		cdc_watch_budget();		/* also while busy decoding, with no wait */
		if (W.end == CDC_END_NONE)
			cdc_session_abandon(cdc_session_should_end(), NULL);
		if (W.end != CDC_END_NONE)
			break;
		cdc_stream_set_state("streaming");
		/* between rounds, outside any transaction: snapshot chunks, change counters */
		cdc_snapshot_step(W.confirmed);
		if (W.end == CDC_END_NONE)
			cdc_change_counters_step(W.confirmed);
		if (W.end != CDC_END_NONE)
			break;

		/*
		 * Nothing more to read. WAL inserted but not yet flushed (an
		 * asynchronous commit) gets no wake-up when the WAL writer flushes
		 * it, so look again soon; otherwise commits wake us.
		 */
		if (n == 0 && !cdc_snapshot_wants_step())
		{
			long		wait_ms = cdc_heartbeat_step(GetXLogInsertRecPtr() > flushed ?
													 CDC_UNFLUSHED_WAIT_MS : CDC_IDLE_WAIT_MS);

			if (W.end == CDC_END_NONE)
				cdc_wait(wait_ms);
		}
	}
	end = W.end;

	if (end == CDC_END_SHUTDOWN || end == CDC_END_RELOAD)
	{
		cdc_monitor_set_state(end == CDC_END_SHUTDOWN ? "stopping" : "reloading");
		(void) cdc_drain(CDC_DRAIN_MS);
		end = W.end;			/* SIGTERM during a reload's drain */
	}
	if (end == CDC_END_SHUTDOWN)
	{
		/* write the confirmed position now, not at the next checkpoint */
		ReplicationSlotMarkDirty();
		ReplicationSlotSave();
	}
	if (end == CDC_END_FAILED && W.failure[0] == '\0')
		cdc_publish_failure(W.failure, sizeof(W.failure));
	/* what Kafka acknowledged of a snapshot is kept; the rest is read again */
	cdc_snapshot_session_end(W.confirmed);

	FreeDecodingContext(W.ctx);
	W.ctx = NULL;
	W.sink = NULL;
	ReplicationSlotRelease();
	MemoryContextSwitchTo(old);
	MemoryContextDelete(session_cxt);
	return end;
}

/* ---------------------------------------------------------------------
 * Main
 * ---------------------------------------------------------------------
 */

/* On any exit: stop librdkafka's threads before the process goes away. */
static void
cdc_worker_exit(int code, Datum arg)
{
	cdc_publish_stop();
	cdc_monitor_worker_stopped();
}

/* Waits for a reload or SIGTERM (bad settings: nothing to do until fixed). */
static void
cdc_wait_for_reload(void)
{
	W.configuration_error = true;
	while (!cdc_shutdown_requested)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			break;
		}
		cdc_wait(CDC_LOOK_AGAIN_MS);
	}
	W.configuration_error = false;
}

/* The session loop: check the slot, build the producer, stream, handle how it ended. */
static void
cdc_worker_run(void)
{
	int			backoff_ms = 0;
	bool		waiting_for_extension = false;

	while (!cdc_shutdown_requested)
	{
		TimestampTz started;
		CdcSessionEnd end;

		CdcSlotState slot = cdc_prepare_slot();
		CdcGap		gap;
		CdcGapStep	gap_step = cdc_gap_step(slot, &gap);

		if (gap_step == CDC_GAP_STEP_WAIT)
			continue;
		if (gap_step == CDC_GAP_STEP_RECOVER)
			slot = CDC_SLOT_MISSING;
		if (!cdc_publish_started() && !cdc_stream_start_producer())
		{
			cdc_wait_for_reload();
			continue;
		}
		if (!cdc_outbox_tables_ready(W.failure, sizeof(W.failure)))
		{
			ereport(WARNING,
					(errmsg("cdc_plugin worker cannot publish: %s", W.failure),
					 errhint("Add the column, or change cdc_plugin.outbox_columns (role=column) or cdc_plugin.outbox_topic, and reload (SELECT pg_reload_conf()).")));
			cdc_monitor_set_error("configuration error", W.failure);
			W.failure[0] = '\0';
			cdc_stream_stop_producer();
			cdc_wait_for_reload();
			continue;
		}
		if (gap_step == CDC_GAP_STEP_NONE &&
			slot == CDC_SLOT_MISSING && cdc_snapshot_mode == CDC_SNAPSHOT_MODE_INITIAL &&
			!cdc_snapshot_queue_exists())
		{
			/* the initial snapshot is queued in the extension's table */
			if (!waiting_for_extension)
				ereport(LOG,
						(errmsg("cdc_plugin worker waits for CREATE EXTENSION cdc_plugin in its database before it creates its slot and takes the initial snapshot"),
						 errhint("Run CREATE EXTENSION cdc_plugin, or set cdc_plugin.snapshot_mode = 'never' to stream without an initial snapshot.")));
			waiting_for_extension = true;
			cdc_monitor_set_state("waiting for extension");
			cdc_sleep(CDC_EXTENSION_WAIT_MS);
			continue;
		}
		waiting_for_extension = false;
		started = GetCurrentTimestamp();
		/* an initial snapshot publishes while the slot is created */
		if (slot == CDC_SLOT_MISSING &&
			!cdc_create_slot(gap_step == CDC_GAP_STEP_RECOVER ? &gap : NULL))
			end = W.end == CDC_END_NONE ? CDC_END_FAILED : W.end;
		else
			end = cdc_stream();
		if (end == CDC_END_SHUTDOWN)
			break;
		if (end == CDC_END_RELOAD)
		{
			StringInfoData changed;

			/* the names of the settings, never their values */
			initStringInfo(&changed);
			if (cdc_publish_settings_changed(&changed) && changed.len > 0)
				ereport(LOG, (errmsg("cdc_plugin worker reloading: %s changed", changed.data)));
			else
				ereport(LOG, (errmsg("cdc_plugin worker reloading its Kafka settings")));
			pfree(changed.data);
			cdc_stream_stop_producer();
			continue;
		}

		/* Kafka failed: start over from the confirmed position after a pause */
		if (TimestampDifferenceExceeds(started, GetCurrentTimestamp(), CDC_HEALTHY_RUN_MS))
			backoff_ms = CDC_BACKOFF_MIN_MS;
		else
			backoff_ms = Min(Max(backoff_ms * 2, CDC_BACKOFF_MIN_MS), CDC_BACKOFF_MAX_MS);
		ereport(LOG,
				(errmsg("cdc_plugin worker restarting from %X/%X in %d ms: %s",
						LSN_FORMAT_ARGS(W.confirmed), backoff_ms, W.failure),
				 errdetail("Changes not acknowledged by Kafka will be sent again.")));
		cdc_monitor_set_error("retrying", W.failure);
		cdc_monitor_count_restart();
		cdc_stream_stop_producer();
		W.retrying = true;
		cdc_sleep(backoff_ms);
		W.retrying = false;
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

	cdc_snapshot_worker_init();

	/* counters go on from where the previous worker left them */
	cdc_monitor_read_counters(&W.totals);
	W.current = W.totals;
	W.confirmed_commit_time = W.totals.last_commit_time;
	cdc_monitor_worker_started(MyProcPid, MyLatch, dboid, W.database, cdc_slot_name);
	before_shmem_exit(cdc_worker_exit, (Datum) 0);
	/* started as stop_publishing() ran: it may not have seen this process */
	if (cdc_monitor_stop_requested())
		proc_exit(0);
	cdc_wal_budget_worker_start(cdc_slot_name);
	cdc_gap_show();

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
