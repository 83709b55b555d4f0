/*
 * config.h — the cdc_plugin.* settings (GUCs) read by the worker.
 */
#ifndef CDC_CONFIG_H
#define CDC_CONFIG_H

extern char *cdc_database;
extern char *cdc_slot_name;
extern char *cdc_kafka_bootstrap_servers;
extern char *cdc_kafka_properties;
extern char *cdc_kafka_properties_file;
extern char *cdc_topic_prefix;
extern char *cdc_include_tables;
extern char *cdc_exclude_tables;
extern char *cdc_outbox_tables;
extern char *cdc_outbox_topic;
extern char *cdc_outbox_columns;
extern char *cdc_messages_topic;
extern char *cdc_transaction_topic;
extern bool cdc_tombstones_on_delete;

/* cdc_plugin.value_format and cdc_plugin.key_format */
typedef enum CdcMessageFormat
{
	CDC_FORMAT_PROTOBUF,		/* cdc.v1.Envelope / cdc.v1.Row bytes */
	CDC_FORMAT_JSON				/* the envelope / key as cdc_plugin.to_json renders it */
} CdcMessageFormat;

extern int	cdc_value_format;
extern int	cdc_key_format;

/* cdc_plugin.heartbeat_interval, milliseconds; 0: no heartbeats */
extern int	cdc_heartbeat_interval;

/* cdc_plugin.snapshot_mode */
typedef enum CdcSnapshotMode
{
	CDC_SNAPSHOT_MODE_INITIAL,	/* snapshot every captured table when the slot is created */
	CDC_SNAPSHOT_MODE_NEVER		/* stream only */
} CdcSnapshotMode;

extern int	cdc_snapshot_mode;

/* cdc_plugin.on_slot_lost */
typedef enum CdcOnSlotLost
{
	CDC_ON_SLOT_LOST_RESNAPSHOT,	/* recreate the slot, publish gaps, re-snapshot */
	CDC_ON_SLOT_LOST_STOP		/* keep the lost slot until cdc_plugin.recover_slot() */
} CdcOnSlotLost;

extern int	cdc_on_slot_lost;
extern int	cdc_snapshot_chunk_rows;

/*
 * cdc_plugin.wal_budget_warn (the string) and its parsed percentages, in
 * increasing order; cdc_plugin.wal_retained_warn_bytes, in megabytes (0:
 * off).
 */
#define CDC_WAL_BUDGET_MAX_LEVELS 10
extern char *cdc_wal_budget_warn;
extern int	cdc_wal_budget_levels[CDC_WAL_BUDGET_MAX_LEVELS];
extern int	cdc_wal_budget_nlevels;
extern int	cdc_wal_retained_warn_mb;

/* cdc_plugin.schema_compatibility: which DDL on captured tables is refused */
typedef enum CdcSchemaCompatibility
{
	CDC_SCHEMA_COMPAT_NONE,		/* refuse nothing */
	CDC_SCHEMA_COMPAT_BACKWARD, /* consumers on the new schema read older events */
	CDC_SCHEMA_COMPAT_FORWARD,	/* consumers on the old schema read newer events */
	CDC_SCHEMA_COMPAT_FULL		/* both */
} CdcSchemaCompatibility;

extern int	cdc_schema_compatibility;
extern bool cdc_allow_incompatible_ddl;
extern bool cdc_schema_events_ddl_text;

/* The name of a cdc_plugin.schema_compatibility value. */
extern const char *cdc_schema_compatibility_name(int mode);

/*
 * Why the configuration file's cdc_plugin.kafka_properties was refused (it
 * names a secret-bearing property), or NULL: describes the last time this
 * process read the configuration file.
 */
extern const char *cdc_config_kafka_properties_refusal(void);

/* Defines every cdc_plugin.* setting and reserves the prefix. */
extern void cdc_config_init(void);

#endif							/* CDC_CONFIG_H */
