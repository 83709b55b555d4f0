/*
 * uninstall.c — taking cdc_plugin out of a server: stop_publishing() and
 * the warning DROP EXTENSION gives about the slots it leaves behind.
 *
 * stop_publishing() sets the flag in shared memory (monitor.c) that keeps
 * the launcher from starting a worker until the server restarts, signals
 * the running worker, waits for it to exit and release its slot (bounded,
 * interruptible), and on request drops that slot so that its WAL can be
 * recycled at once. The DROP EXTENSION event trigger only warns: a slot is
 * no object of the extension, and whether anybody still reads it is the
 * operator's to decide. Plain C: no C++ is reached from here. Messages
 * name a setting, never quote its value.
 */
#include "postgres.h"

#include <signal.h>

#include "commands/event_trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "replication/slot.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "config.h"
#include "monitor.h"

#define CDC_PLUGIN_NAME "cdc_plugin"
#define CDC_STOP_WAIT_MS 30000	/* the worker drains for at most 5 s on SIGTERM */
#define CDC_STOP_POLL_MS 100

PG_FUNCTION_INFO_V1(cdc_plugin_stop_publishing);
PG_FUNCTION_INFO_V1(cdc_plugin_on_drop_extension);

/* What stop_publishing() needs to know of a slot. */
typedef struct CdcSlotLook
{
	bool		exists;
	bool		ours;			/* a logical slot of plugin cdc_plugin */
	Oid			database;
	int			active_pid;		/* 0: nobody holds it */
} CdcSlotLook;

/*
 * The worker's slot name: cdc_plugin.slot_name, which only a preloaded
 * library defines; otherwise what postgresql.conf says (a placeholder), or
 * the setting's default.
 */
static const char *
cdc_worker_slot_name(void)
{
	const char *name = cdc_slot_name;

	if (name == NULL)
		name = GetConfigOption("cdc_plugin.slot_name", true, false);
	return (name != NULL && name[0] != '\0') ? name : CDC_PLUGIN_NAME;
}

/* Looks at the slot called name, as it is now. */
static void
cdc_look_at_slot(const char *name, CdcSlotLook *look)
{
	ReplicationSlot *slot;

	memset(look, 0, sizeof(*look));
	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	slot = SearchNamedReplicationSlot(name, false);
	if (slot != NULL)
	{
		SpinLockAcquire(&slot->mutex);
		look->exists = true;
		look->ours = SlotIsLogical(slot) &&
			strcmp(NameStr(slot->data.plugin), CDC_PLUGIN_NAME) == 0;
		look->database = slot->data.database;
		look->active_pid = slot->active_pid;
		SpinLockRelease(&slot->mutex);
	}
	LWLockRelease(ReplicationSlotControlLock);
}

/* Sleeps one polling round; cancel, termination and postmaster death end it. */
static void
cdc_stop_pause(void)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 CDC_STOP_POLL_MS, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/* Waits until no worker runs, or the deadline passes; true if none runs. */
static bool
cdc_wait_worker_gone(TimestampTz deadline)
{
	for (;;)
	{
		if (!cdc_monitor_worker_alive())
			return true;
		if (GetCurrentTimestamp() >= deadline)
			return false;
		cdc_stop_pause();
	}
}

/*
 * Waits until nobody holds the slot called name (the worker releases it
 * as it exits), or the deadline passes. Returns what it saw last.
 */
static void
cdc_wait_slot_released(const char *name, TimestampTz deadline, CdcSlotLook *look)
{
	for (;;)
	{
		cdc_look_at_slot(name, look);
		if (!look->exists || look->active_pid == 0 || GetCurrentTimestamp() >= deadline)
			return;
		cdc_stop_pause();
	}
}

/*
 * cdc_plugin.stop_publishing(drop_slot boolean DEFAULT false) RETURNS
 * boolean: stops the worker until the server restarts; with drop_slot,
 * then drops the slot named by cdc_plugin.slot_name (when it exists, is a
 * cdc_plugin slot of this database and nobody holds it). True if it
 * dropped a slot.
 */
Datum
cdc_plugin_stop_publishing(PG_FUNCTION_ARGS)
{
	bool		drop_slot = PG_GETARG_BOOL(0);
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), CDC_STOP_WAIT_MS);
	const char *slot_name;
	int			worker_pid;
	bool		loaded;
	CdcSlotLook look;

	/* EXECUTE is revoked from PUBLIC; a GRANT must not be enough either */
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to stop the cdc_plugin worker"),
				 errdetail("Only superusers may call cdc_plugin.stop_publishing().")));

	loaded = cdc_monitor_request_stop(&worker_pid);
	if (!loaded)
		ereport(NOTICE,
				(errmsg("no cdc_plugin worker runs: cdc_plugin is not in shared_preload_libraries"),
				 drop_slot ? 0 :
				 errhint("SELECT cdc_plugin.stop_publishing(drop_slot => true) drops the slot named by cdc_plugin.slot_name if it is left over.")));
	else if (worker_pid == 0)
		ereport(NOTICE,
				(errmsg("no cdc_plugin worker was running; none starts again until the server restarts")));
	else
	{
		if (kill(worker_pid, SIGTERM) != 0 && errno != ESRCH)
			ereport(ERROR,
					(errmsg("could not signal the cdc_plugin worker (process %d): %m", worker_pid)));
		if (!cdc_wait_worker_gone(deadline))
		{
			if (drop_slot)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_IN_USE),
						 errmsg("the cdc_plugin worker (process %d) did not exit within %d s, so its replication slot was not dropped",
								worker_pid, CDC_STOP_WAIT_MS / 1000),
						 errdetail("It was asked to stop and stays stopped until the server restarts."),
						 errhint("Look at the server log for why it is slow to exit, then call cdc_plugin.stop_publishing(drop_slot => true) again.")));
			ereport(WARNING,
					(errmsg("the cdc_plugin worker (process %d) did not exit within %d s",
							worker_pid, CDC_STOP_WAIT_MS / 1000),
					 errdetail("It was asked to stop and stays stopped until the server restarts; cdc_plugin.status() shows when it is gone.")));
			PG_RETURN_BOOL(false);
		}
		ereport(NOTICE,
				(errmsg("cdc_plugin worker stopped; it starts again when the server restarts")));
	}

	if (!drop_slot)
		PG_RETURN_BOOL(false);

	slot_name = cdc_worker_slot_name();
	cdc_wait_slot_released(slot_name, deadline, &look);
	if (!look.exists)
	{
		ereport(NOTICE,
				(errmsg("no replication slot named by cdc_plugin.slot_name exists, so none was dropped")));
		PG_RETURN_BOOL(false);
	}
	if (!look.ours)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the replication slot named by cdc_plugin.slot_name is not a slot of plugin cdc_plugin, so it was not dropped"),
				 errhint("Drop it with pg_drop_replication_slot() if nothing reads it.")));
	/* as pg_drop_replication_slot() documents for logical slots */
	if (look.database != MyDatabaseId)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the replication slot named by cdc_plugin.slot_name belongs to another database, so it was not dropped"),
				 loaded ? errdetail("The worker is stopped all the same.") : 0,
				 errhint("Call cdc_plugin.stop_publishing(drop_slot => true) again in the slot's database (pg_replication_slots.database).")));
	if (look.active_pid != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("the replication slot named by cdc_plugin.slot_name is in use by process %d, so it was not dropped",
						look.active_pid),
				 errhint("Stop the client reading it, then call cdc_plugin.stop_publishing(drop_slot => true) again.")));
	/* nowait: whoever took it since the look gets it, and this is an ERROR */
	ReplicationSlotDrop(slot_name, true);
	ereport(NOTICE,
			(errmsg("dropped the replication slot named by cdc_plugin.slot_name; the WAL it retained can be recycled")));
	PG_RETURN_BOOL(true);
}

/* For list_sort: slot names in order, so warnings come in a stable order. */
static int
cdc_name_cmp(const ListCell *a, const ListCell *b)
{
	return strcmp((const char *) lfirst(a), (const char *) lfirst(b));
}

/* Persistent slots of plugin cdc_plugin of this database, by name. */
static List *
cdc_slots_of_this_database(void)
{
	List	   *names = NIL;
	int			i;

	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	for (i = 0; i < max_replication_slots; i++)
	{
		ReplicationSlot *s = &ReplicationSlotCtl->replication_slots[i];
		NameData	name;
		bool		match;

		if (!s->in_use)
			continue;
		SpinLockAcquire(&s->mutex);
		match = s->data.database == MyDatabaseId &&
			s->data.persistency == RS_PERSISTENT &&
			strcmp(NameStr(s->data.plugin), CDC_PLUGIN_NAME) == 0;
		name = s->data.name;
		SpinLockRelease(&s->mutex);
		if (match)
			names = lappend(names, pstrdup(NameStr(name)));
	}
	LWLockRelease(ReplicationSlotControlLock);
	list_sort(names, cdc_name_cmp);
	return names;
}

/*
 * Event trigger on ddl_command_start for DROP EXTENSION: when the command
 * drops cdc_plugin, warns of every slot of the plugin in this database. It
 * runs before the drop, while the trigger still exists; a DROP that then
 * fails has warned for nothing, which is harmless.
 */
Datum
cdc_plugin_on_drop_extension(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	DropStmt   *stmt;
	bool		drops_us = false;
	ListCell   *lc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("cdc_plugin.on_drop_extension() may only be called by an event trigger")));
	trigdata = (EventTriggerData *) fcinfo->context;
	if (trigdata->parsetree == NULL || !IsA(trigdata->parsetree, DropStmt))
		PG_RETURN_VOID();
	stmt = (DropStmt *) trigdata->parsetree;
	if (stmt->removeType != OBJECT_EXTENSION)
		PG_RETURN_VOID();
	foreach(lc, stmt->objects)
	{
		Node	   *object = (Node *) lfirst(lc);

		if (IsA(object, String) && strcmp(strVal(object), CDC_PLUGIN_NAME) == 0)
			drops_us = true;
	}
	if (!drops_us)
		PG_RETURN_VOID();

	foreach(lc, cdc_slots_of_this_database())
	{
		const char *name = (const char *) lfirst(lc);

		ereport(WARNING,
				(errmsg("replication slot \"%s\" of plugin cdc_plugin is not dropped with extension cdc_plugin",
						name),
				 errdetail("The slot keeps retaining WAL until it is dropped, also after cdc_plugin is removed from shared_preload_libraries; pg_replication_slots shows how much."),
				 errhint("Once nothing reads it, drop it with SELECT pg_drop_replication_slot('%s');. For the worker's own slot, run SELECT cdc_plugin.stop_publishing(drop_slot => true) before DROP EXTENSION instead: it stops the worker and drops the slot.",
						 name)));
	}
	PG_RETURN_VOID();
}
