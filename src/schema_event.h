/*
 * schema_event.h — schema events as the output plugin decodes them.
 *
 * The event trigger (schema_ddl.c) describes each DDL on a captured table
 * as a JSON logical message and keeps the last description of every
 * captured table in cdc_plugin.schema_state (a user catalog table, so it
 * can be read while decoding, as of the decoded position). This module
 * turns either into the C core's cdc_schema_change.
 */
#ifndef CDC_SCHEMA_EVENT_H
#define CDC_SCHEMA_EVENT_H

#include "cdc_core.h"

/* One table's described shape; strings UTF-8, allocated in the current context. */
typedef struct CdcSchemaEvent
{
	Oid			relid;
	char	   *schema;
	char	   *table;
	cdc_schema_change change;
} CdcSchemaEvent;

/*
 * Parses a schema message (prefix cdc_plugin.schema). False, with *why set,
 * if it is not one the event trigger writes: never an ERROR.
 */
extern bool cdc_schema_event_parse(const char *message, Size size, CdcSchemaEvent *out,
								   const char **why);

/*
 * Reads a table's description from cdc_plugin.schema_state as of the
 * current catalog snapshot (the decoded position, while decoding) and
 * makes it a restatement (resent). False when there is none: no extension
 * in this database, or no row for the table.
 */
extern bool cdc_schema_event_restate(Oid relid, CdcSchemaEvent *out);

/* The table's schema version in cdc_plugin.schema_state; 0 when there is none. */
extern uint64 cdc_schema_version_of(Oid relid);

#endif							/* CDC_SCHEMA_EVENT_H */
