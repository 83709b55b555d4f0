/*
 * schema_ddl.h — the event trigger that describes DDL on captured tables
 * into the WAL (prefix CDC_SCHEMA_PREFIX) and the compatibility guard.
 *
 * Its SQL entry points are cdc_plugin.on_ddl_command_end() and
 * cdc_plugin.on_sql_drop() (event trigger functions) and
 * cdc_plugin.schema_state_seed(), which the extension script calls once
 * and drops. It keeps cdc_plugin.schema_state: one row per captured table,
 * the shape last described and its version. Nothing else calls in.
 */
#ifndef CDC_SCHEMA_DDL_H
#define CDC_SCHEMA_DDL_H

#define CDC_SCHEMA_STATE_TABLE "schema_state"

#endif							/* CDC_SCHEMA_DDL_H */
