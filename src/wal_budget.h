/*
 * wal_budget.h — how much of max_slot_wal_keep_size the worker's slot
 * uses, for cdc_plugin.status() and the worker's warnings.
 */
#ifndef CDC_WAL_BUDGET_H
#define CDC_WAL_BUDGET_H

#include "access/xlog.h"

/* The slot's WAL positions and its standing against max_slot_wal_keep_size. */
typedef struct CdcWalBudget
{
	bool		slot_exists;
	XLogRecPtr	confirmed_lsn;	/* Invalid: unknown */
	XLogRecPtr	restart_lsn;	/* Invalid: unknown or invalidated */
	WALAvailability wal_status; /* WALAVAIL_INVALID_LSN: no slot or no WAL reserved */
	bool		limited;		/* max_slot_wal_keep_size is not -1 */
	int64		budget_bytes;	/* max_slot_wal_keep_size, when limited */
	bool		has_retained;
	int64		retained_bytes; /* flushed WAL from restart_lsn on */
	bool		has_safe;
	int64		safe_bytes;		/* WAL that may still be written (may be < 0) */
	bool		has_used;
	double		used;			/* retained_bytes / budget_bytes */
} CdcWalBudget;

/* Reads the slot named slot_name (NULL: none) and computes its budget. */
extern void cdc_wal_budget_read(const char *slot_name, CdcWalBudget *budget);

/* pg_replication_slots' name of a wal_status, or NULL (no slot). */
extern const char *cdc_wal_status_name(WALAvailability status);

/* Why the worker's slot retains WAL, as the worker sees it. */
typedef enum CdcRetentionCause
{
	CDC_RETENTION_BEHIND,		/* decoding or publishing slower than WAL is written */
	CDC_RETENTION_BROKER_DOWN,	/* no broker reachable */
	CDC_RETENTION_CONFIGURATION,	/* a configuration error stops publishing */
	CDC_RETENTION_DELIVERY		/* Kafka refused messages: retrying */
} CdcRetentionCause;

/* In the worker: one WARNING now if nothing limits the slot's WAL. */
extern void cdc_wal_budget_worker_start(const char *slot_name);

/*
 * In the worker's loop: looks at the slot at most once a second and logs
 * one line when its retained WAL crosses a warning level (up or back down).
 */
extern void cdc_wal_budget_watch(const char *slot_name, CdcRetentionCause cause);

#endif							/* CDC_WAL_BUDGET_H */
