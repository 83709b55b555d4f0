/*
 * config.c — every cdc_plugin.* setting, in one place.
 *
 * The settings only mean something to the background worker, so they are
 * defined when the library is preloaded (shared_preload_libraries); a
 * backend that merely decodes through the output plugin needs none. Values
 * are not rejected here: a bad Kafka setting must not stop the server from
 * starting, so the worker validates them, logs one clear line and shows
 * the problem in cdc_plugin.status() instead.
 *
 * The table filters and the schema guard's settings are defined in every
 * process that loads the library, preloaded or not: the event trigger
 * (schema_ddl.c) runs in ordinary backends of every database where the
 * extension is installed, and must read the same filters as the worker.
 *
 * Two exceptions: cdc_plugin.wal_budget_warn is checked at once (a list of
 * percentages is wrong or right whatever Kafka says), and so is a secret
 * in cdc_plugin.kafka_properties: a check
 * hook refuses it, since once a reload has accepted the value PostgreSQL
 * has already logged it ('parameter ... changed to "..."'). Secrets go in
 * cdc_plugin.kafka_properties_file, which the worker reads itself.
 */
#include "postgres.h"

#include <limits.h>

#include "miscadmin.h"
#include "utils/guc.h"

#include "cdc_core.h"
#include "cdc_kafka.h"
#include "config.h"

char	   *cdc_database = NULL;
char	   *cdc_slot_name = NULL;
char	   *cdc_kafka_bootstrap_servers = NULL;
char	   *cdc_kafka_properties = NULL;
char	   *cdc_kafka_properties_file = NULL;
char	   *cdc_topic_prefix = NULL;
char	   *cdc_include_tables = NULL;
char	   *cdc_exclude_tables = NULL;
char	   *cdc_outbox_tables = NULL;
char	   *cdc_outbox_topic = NULL;
char	   *cdc_outbox_columns = NULL;
char	   *cdc_messages_topic = NULL;
char	   *cdc_transaction_topic = NULL;
bool		cdc_tombstones_on_delete = false;
int			cdc_value_format = CDC_FORMAT_PROTOBUF;
int			cdc_key_format = CDC_FORMAT_PROTOBUF;
int			cdc_heartbeat_interval = 0;
int			cdc_snapshot_mode = CDC_SNAPSHOT_MODE_INITIAL;
int			cdc_snapshot_chunk_rows = 2048;
int			cdc_on_slot_lost = CDC_ON_SLOT_LOST_RESNAPSHOT;
char	   *cdc_wal_budget_warn = NULL;
int			cdc_wal_retained_warn_mb = 10240;
int			cdc_schema_compatibility = CDC_SCHEMA_COMPAT_NONE;
bool		cdc_allow_incompatible_ddl = false;
bool		cdc_schema_events_ddl_text = true;

/* cdc_plugin.wal_budget_warn, parsed by its check hook */
int			cdc_wal_budget_levels[CDC_WAL_BUDGET_MAX_LEVELS];
int			cdc_wal_budget_nlevels = 0;

/* What the check hook of cdc_plugin.wal_budget_warn hands to its assign hook. */
typedef struct CdcWalBudgetLevels
{
	int			n;
	int			levels[CDC_WAL_BUDGET_MAX_LEVELS];
} CdcWalBudgetLevels;

static const struct config_enum_entry cdc_snapshot_mode_options[] = {
	{"initial", CDC_SNAPSHOT_MODE_INITIAL, false},
	{"never", CDC_SNAPSHOT_MODE_NEVER, false},
	{NULL, 0, false}
};

static const struct config_enum_entry cdc_format_options[] = {
	{"protobuf", CDC_FORMAT_PROTOBUF, false},
	{"json", CDC_FORMAT_JSON, false},
	{NULL, 0, false}
};

static const struct config_enum_entry cdc_on_slot_lost_options[] = {
	{"resnapshot", CDC_ON_SLOT_LOST_RESNAPSHOT, false},
	{"stop", CDC_ON_SLOT_LOST_STOP, false},
	{NULL, 0, false}
};

static const struct config_enum_entry cdc_schema_compatibility_options[] = {
	{"none", CDC_SCHEMA_COMPAT_NONE, false},
	{"backward", CDC_SCHEMA_COMPAT_BACKWARD, false},
	{"forward", CDC_SCHEMA_COMPAT_FORWARD, false},
	{"full", CDC_SCHEMA_COMPAT_FULL, false},
	{NULL, 0, false}
};

const char *
cdc_schema_compatibility_name(int mode)
{
	const struct config_enum_entry *e;

	for (e = cdc_schema_compatibility_options; e->name != NULL; e++)
		if (e->val == mode)
			return e->name;
	return "unknown";
}

/* Slot names must be valid replication slot names (checked at reload too). */
static bool
cdc_check_slot_name(char **newval, void **extra, GucSource source)
{
	const char *p;

	if (**newval == '\0' || strlen(*newval) >= NAMEDATALEN)
	{
		GUC_check_errdetail("A slot name must have 1 to %d characters.", NAMEDATALEN - 1);
		return false;
	}
	for (p = *newval; *p; p++)
	{
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
		{
			GUC_check_errdetail("A slot name may contain only lower case letters, numbers and underscores.");
			return false;
		}
	}
	return true;
}

/* A topic setting: empty, or a name Kafka accepts. */
static bool
cdc_check_topic(char **newval, void **extra, GucSource source)
{
	char		errbuf[CDC_ERRBUF_SIZE];

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (cdc_topic_name_check(*newval, strlen(*newval), errbuf, sizeof(errbuf)) == 0)
		return true;
	GUC_check_errdetail("%s", errbuf);
	return false;
}

/*
 * Percentages of max_slot_wal_keep_size at which the worker warns: integers
 * from 1 to 100, comma-separated, increasing; empty: none. The messages name
 * the value's position, never the value, so a refused string is not logged.
 */
static bool
cdc_check_wal_budget_warn(char **newval, void **extra, GucSource source)
{
	CdcWalBudgetLevels parsed = {0};
	const char *p = *newval;
	CdcWalBudgetLevels *result;

	while (*p == ' ')
		p++;
	while (*p != '\0')
	{
		long		v = 0;
		int			digits = 0;

		while (*p >= '0' && *p <= '9' && digits < 4)
			v = v * 10 + (*p++ - '0'), digits++;
		while (*p == ' ')
			p++;
		if (digits == 0 || (*p != ',' && *p != '\0'))
		{
			GUC_check_errdetail("Give percentages as integers separated by commas, such as 50,80,95 (item %d is not one).",
								parsed.n + 1);
			return false;
		}
		if (v < 1 || v > 100)
		{
			GUC_check_errdetail("Each percentage must be between 1 and 100 (item %d is not).", parsed.n + 1);
			return false;
		}
		if (parsed.n > 0 && v <= parsed.levels[parsed.n - 1])
		{
			GUC_check_errdetail("The percentages must increase (item %d does not).", parsed.n + 1);
			return false;
		}
		if (parsed.n == CDC_WAL_BUDGET_MAX_LEVELS)
		{
			GUC_check_errdetail("At most %d percentages may be given.", CDC_WAL_BUDGET_MAX_LEVELS);
			return false;
		}
		parsed.levels[parsed.n++] = (int) v;
		if (*p == ',')
		{
			p++;
			while (*p == ' ')
				p++;
			if (*p == '\0')
			{
				GUC_check_errdetail("A percentage is missing after the last comma.");
				return false;
			}
		}
	}
	/* guc.c frees it with free() */
	result = malloc(sizeof(CdcWalBudgetLevels));
	if (result == NULL)
	{
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		return false;
	}
	*result = parsed;
	*extra = result;
	return true;
}

static void
cdc_assign_wal_budget_warn(const char *newval, void *extra)
{
	const CdcWalBudgetLevels *parsed = extra;

	cdc_wal_budget_nlevels = parsed->n;
	memcpy(cdc_wal_budget_levels, parsed->levels, sizeof(cdc_wal_budget_levels));
}

/*
 * Why the configuration file's value of cdc_plugin.kafka_properties was
 * refused ("" when it was not): this process's effective value is then not
 * what the file says, and the worker must not publish with it.
 */
static char cdc_kafka_properties_refusal[512] = "";

/*
 * Refuses secret-bearing properties in cdc_plugin.kafka_properties. On a
 * reload (or ALTER SYSTEM) the value is rejected with a message of our own
 * (PostgreSQL's default one would quote it), so the old value stays and
 * nothing logs the new one. While the library is being preloaded there is
 * no "changed to" line to avoid, and rejecting would only leave the value
 * at its default with the server's WARNING: the value is emptied instead
 * (so SHOW and pg_settings never hold the secret), and the refusal is
 * remembered, so that the worker reports a configuration error rather
 * than publishing without the intended security settings. Every reload
 * calls this hook again (with the file's value, or with the default when
 * the line was removed), so the refusal always describes the last one.
 */
static bool
cdc_check_kafka_properties(char **newval, void **extra, GucSource source)
{
	char		errbuf[sizeof(cdc_kafka_properties_refusal)];
	int			r = cdc_kafka_properties_check_secrets(*newval, errbuf, sizeof(errbuf));

	if (r == 0)
	{
		cdc_kafka_properties_refusal[0] = '\0';
		return true;
	}
	if (r < 0)
	{
		GUC_check_errmsg("could not check cdc_plugin.kafka_properties: %s", errbuf);
		return false;
	}
	strlcpy(cdc_kafka_properties_refusal, errbuf, sizeof(cdc_kafka_properties_refusal));
	if (process_shared_preload_libraries_in_progress)
	{
		(*newval)[0] = '\0';	/* in place: the string stays guc.c's */
		return true;
	}
	GUC_check_errmsg("%s", errbuf);
	GUC_check_errdetail("The value of cdc_plugin.kafka_properties is written to the server log on a reload and is readable by members of pg_read_all_settings.");
	GUC_check_errhint("Write the property as a name=value line into a file owned by the server's operating system user with mode 0600, and name the file in cdc_plugin.kafka_properties_file.");
	return false;
}

const char *
cdc_config_kafka_properties_refusal(void)
{
	return cdc_kafka_properties_refusal[0] != '\0' ? cdc_kafka_properties_refusal : NULL;
}

void
cdc_config_init(void)
{
	/* the filters and the schema guard: in every process (see the top) */
	{
		DefineCustomStringVariable("cdc_plugin.include_tables",
								   "Tables to publish, as comma-separated schema.table patterns (* wildcards).",
								   "Empty: every table.",
								   &cdc_include_tables, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
		DefineCustomStringVariable("cdc_plugin.exclude_tables",
								   "Tables never to publish, as comma-separated schema.table patterns (* wildcards).",
								   NULL, &cdc_exclude_tables, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
		DefineCustomStringVariable("cdc_plugin.outbox_tables",
								   "Outbox tables, as comma-separated schema.table patterns (* wildcards): their inserts are published as domain events, not as row changes.",
								   "Empty: none.",
								   &cdc_outbox_tables, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
		DefineCustomStringVariable("cdc_plugin.outbox_topic",
								   "Topic of the events of outbox tables; ${column} is replaced by the row's value of that column.",
								   NULL, &cdc_outbox_topic, "outbox.event.${aggregatetype}",
								   PGC_SIGHUP, 0, NULL, NULL, NULL);
		DefineCustomStringVariable("cdc_plugin.outbox_columns",
								   "Columns of outbox tables by role, as comma-separated role=column pairs (roles: id, aggregatetype, aggregateid, type, payload, headers).",
								   "Empty: each role's column has the role's name.",
								   &cdc_outbox_columns, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
		DefineCustomEnumVariable("cdc_plugin.schema_compatibility",
								 "Which DDL on captured tables the event trigger refuses.",
								 "none: nothing; backward: changes consumers on the new schema could not apply to older events; forward: changes consumers on the old schema could not read; full: both.",
								 &cdc_schema_compatibility, CDC_SCHEMA_COMPAT_NONE,
								 cdc_schema_compatibility_options, PGC_SUSET, 0, NULL, NULL, NULL);
		DefineCustomBoolVariable("cdc_plugin.allow_incompatible_ddl",
								 "Lets DDL that cdc_plugin.schema_compatibility refuses pass (superuser or table owner), with a LOG line.",
								 "Meant for SET LOCAL in the transaction of the one change.",
								 &cdc_allow_incompatible_ddl, false, PGC_USERSET, 0, NULL, NULL, NULL);
		DefineCustomBoolVariable("cdc_plugin.schema_events_ddl_text",
								 "Whether schema events written to the WAL carry the text of the DDL command.",
								 "off: their ddl field is null (the text may hold literals such as defaults).",
								 &cdc_schema_events_ddl_text, true, PGC_SUSET, 0, NULL, NULL, NULL);
	}

	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomStringVariable("cdc_plugin.database",
							   "Database whose changes the background worker publishes to Kafka.",
							   "Empty: no worker runs (the output plugin still works for SQL and replication clients).",
							   &cdc_database, "", PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("cdc_plugin.slot_name",
							   "Logical replication slot the worker owns (created if missing).",
							   NULL, &cdc_slot_name, "cdc_plugin", PGC_POSTMASTER, 0,
							   cdc_check_slot_name, NULL, NULL);
	DefineCustomStringVariable("cdc_plugin.kafka_bootstrap_servers",
							   "Kafka brokers to bootstrap from, as host:port[,host:port...].",
							   NULL, &cdc_kafka_bootstrap_servers, "", PGC_SIGHUP, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("cdc_plugin.kafka_properties",
							   "Further librdkafka producer properties, as name=value;name=value.",
							   "Secret-bearing properties (sasl.password, ssl.key.password, ...) are refused: put them in cdc_plugin.kafka_properties_file.",
							   &cdc_kafka_properties, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   cdc_check_kafka_properties, NULL, NULL);
	DefineCustomStringVariable("cdc_plugin.kafka_properties_file",
							   "File of further librdkafka producer properties, one name=value per line; the place for secrets.",
							   "Read by the worker; must be owned by the server's operating system user and not accessible to group or others. Its properties win over cdc_plugin.kafka_properties. Empty: none. A relative path is relative to the data directory.",
							   &cdc_kafka_properties_file, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("cdc_plugin.topic_prefix",
							   "Topics are named <topic_prefix>.<schema>.<table>.",
							   "Empty: the database name.",
							   &cdc_topic_prefix, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("cdc_plugin.messages_topic",
							   "Topic of pg_logical_emit_message() messages, keyed by prefix.",
							   "Empty: they are not published.",
							   &cdc_messages_topic, "", PGC_SIGHUP, 0, cdc_check_topic, NULL, NULL);
	DefineCustomStringVariable("cdc_plugin.transaction_topic",
							   "Topic of one begin and one commit event per published transaction, keyed by transaction id.",
							   "Empty: none.",
							   &cdc_transaction_topic, "", PGC_SIGHUP, 0, cdc_check_topic, NULL, NULL);
	DefineCustomBoolVariable("cdc_plugin.tombstones_on_delete",
							 "Send a tombstone (the key with a null value) after every delete.",
							 "Lets compacted topics drop deleted rows.",
							 &cdc_tombstones_on_delete, false, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("cdc_plugin.value_format",
							 "Format of the Kafka message values the worker publishes.",
							 "protobuf: cdc.v1.Envelope bytes; json: the envelope as cdc_plugin.to_json() renders it (Debezium's shape, without schemas). Outbox events are published as they are in both.",
							 &cdc_value_format, CDC_FORMAT_PROTOBUF, cdc_format_options,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("cdc_plugin.key_format",
							 "Format of the Kafka message keys of row events.",
							 "protobuf: cdc.v1.Row bytes of the key columns; json: the key columns as a JSON object, as the envelope's key renders.",
							 &cdc_key_format, CDC_FORMAT_PROTOBUF, cdc_format_options,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("cdc_plugin.heartbeat_interval",
							"While the worker has nothing else to publish, it publishes a heartbeat this often to <topic_prefix>.__heartbeat.",
							"0: no heartbeats.",
							&cdc_heartbeat_interval, 0, 0, 24 * 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("cdc_plugin.snapshot_mode",
							 "Whether the worker snapshots every captured table when it creates its slot.",
							 "initial: existing rows are published as r events, then (and interleaved with) changes; never: changes only. Tables can be snapshotted at any time with cdc_plugin.snapshot().",
							 &cdc_snapshot_mode, CDC_SNAPSHOT_MODE_INITIAL, cdc_snapshot_mode_options,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("cdc_plugin.snapshot_chunk_rows",
							"Rows the worker reads per snapshot chunk (one short transaction each).",
							"Larger chunks snapshot faster; each chunk delays streaming by the time it takes to read it.",
							&cdc_snapshot_chunk_rows, 2048, 1, 1000000, PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("cdc_plugin.on_slot_lost",
							 "What the worker does when max_slot_wal_keep_size invalidated its slot.",
							 "resnapshot: log the loss, create a new slot, publish a gap event to every partition of every captured table, and re-snapshot the tables changed meanwhile; stop: keep the lost slot and wait for SELECT cdc_plugin.recover_slot().",
							 &cdc_on_slot_lost, CDC_ON_SLOT_LOST_RESNAPSHOT, cdc_on_slot_lost_options,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomStringVariable("cdc_plugin.wal_budget_warn",
							   "Percentages of max_slot_wal_keep_size at which the worker warns that its slot retains WAL, comma-separated and increasing.",
							   "One WARNING when the slot's retained WAL crosses each percentage upward, one LOG line when it falls back below the lowest. Empty: no such warnings.",
							   &cdc_wal_budget_warn, "50,80,95", PGC_SIGHUP, 0,
							   cdc_check_wal_budget_warn, cdc_assign_wal_budget_warn, NULL);
	DefineCustomIntVariable("cdc_plugin.wal_retained_warn_bytes",
							"WAL retained by the worker's slot past which it warns, when max_slot_wal_keep_size is -1 (no limit).",
							"One WARNING when crossed upward, one LOG line when back below half of it. 0: no such warning.",
							&cdc_wal_retained_warn_mb, 10240, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_MB,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("cdc_plugin");
}
