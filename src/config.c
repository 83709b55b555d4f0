/*
 * config.c — every cdc_plugin.* setting, in one place.
 *
 * The settings only mean something to the background worker, so they are
 * defined when the library is preloaded (shared_preload_libraries); a
 * backend that merely decodes through the output plugin needs none. Values
 * are not rejected here: a bad Kafka setting must not stop the server from
 * starting, so the worker validates them, logs one clear line and shows
 * the problem in cdc_plugin.status() instead.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"

#include "config.h"

char	   *cdc_database = NULL;
char	   *cdc_slot_name = NULL;
char	   *cdc_kafka_bootstrap_servers = NULL;
char	   *cdc_kafka_properties = NULL;
char	   *cdc_topic_prefix = NULL;
char	   *cdc_include_tables = NULL;
char	   *cdc_exclude_tables = NULL;
bool		cdc_tombstones_on_delete = false;

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

void
cdc_config_init(void)
{
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
							   "May hold secrets (SASL passwords, SSL keys), so only superusers can read it.",
							   &cdc_kafka_properties, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("cdc_plugin.topic_prefix",
							   "Topics are named <topic_prefix>.<schema>.<table>.",
							   "Empty: the database name.",
							   &cdc_topic_prefix, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("cdc_plugin.include_tables",
							   "Tables to publish, as comma-separated schema.table patterns (* wildcards).",
							   "Empty: every table.",
							   &cdc_include_tables, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("cdc_plugin.exclude_tables",
							   "Tables never to publish, as comma-separated schema.table patterns (* wildcards).",
							   NULL, &cdc_exclude_tables, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("cdc_plugin.tombstones_on_delete",
							 "Send a tombstone (the key with a null value) after every delete.",
							 "Lets compacted topics drop deleted rows.",
							 &cdc_tombstones_on_delete, false, PGC_SIGHUP, 0, NULL, NULL, NULL);

	MarkGUCPrefixReserved("cdc_plugin");
}
