/*
 * publish.c — from an envelope to a Kafka message, and the producer's
 * lifecycle.
 *
 * Routes each envelope the output plugin hands the worker: topic
 * <topic_prefix>.<schema>.<table>, key = the envelope's key Row, partition
 * by the producer's murmur2_random partitioner, and a tombstone after a
 * delete when cdc_plugin.tombstones_on_delete is on. Builds the producer
 * from the cdc_plugin.* settings and remembers which values it was built
 * from, so the stream can tell when a reload changed them. It never waits
 * and never calls back into the stream: a full queue is returned to the
 * caller. librdkafka is reached only through cdc_kafka.h, so no C++
 * object lives on any frame here; its logs are written from this thread.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/memutils.h"

#include "cdc_core.h"
#include "cdc_kafka.h"
#include "config.h"
#include "monitor.h"
#include "publish.h"

/* The producer and what it was built from; one per worker process. */
typedef struct CdcPublisher
{
	cdc_producer *producer;
	char	   *settings;		/* the settings the producer was built from */
	char	   *topic_prefix;	/* resolved (empty setting: database name) */
	bool		tombstones;
	StringInfoData topic;		/* topic of the last routed table */
	char	   *topic_schema;	/* ... and the names it was built from */
	char	   *topic_table;
} CdcPublisher;

static CdcPublisher P;

/* The settings a producer is built from, as one string. */
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

/* Forgets the cached topic (the prefix may have changed). */
static void
cdc_forget_topic(void)
{
	if (P.topic_schema)
		pfree(P.topic_schema);
	if (P.topic_table)
		pfree(P.topic_table);
	P.topic_schema = P.topic_table = NULL;
}

/* Builds the producer from the current settings; false if they are bad. */
bool
cdc_publish_start(const char *database, int wake_fd)
{
	cdc_producer_config config;
	char		errbuf[CDC_ERRBUF_SIZE * 2];
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	Assert(P.producer == NULL);
	if (P.settings)
		pfree(P.settings);
	P.settings = cdc_settings_string();
	if (P.topic_prefix)
		pfree(P.topic_prefix);
	P.topic_prefix = pstrdup(cdc_topic_prefix[0] ? cdc_topic_prefix : database);
	P.tombstones = cdc_tombstones_on_delete;
	if (P.topic.data == NULL)
		initStringInfo(&P.topic);
	cdc_forget_topic();
	MemoryContextSwitchTo(old);

	if (!cdc_table_patterns_valid(errbuf, sizeof(errbuf)))
	{
		ereport(WARNING,
				(errmsg("cdc_plugin worker cannot publish: %s", errbuf),
				 errhint("Fix cdc_plugin.include_tables or cdc_plugin.exclude_tables in postgresql.conf and reload (SELECT pg_reload_conf()).")));
		cdc_monitor_set_error("configuration error", errbuf);
		return false;
	}
	config.bootstrap_servers = cdc_kafka_bootstrap_servers;
	config.properties = cdc_kafka_properties;
	config.wake_fd = wake_fd;
	config.file_properties = NULL;
	P.producer = cdc_producer_create(&config, errbuf, sizeof(errbuf));
	if (P.producer == NULL)
	{
		ereport(WARNING,
				(errmsg("cdc_plugin worker cannot publish: %s", errbuf),
				 errhint("Fix the cdc_plugin.kafka_* settings in postgresql.conf and reload (SELECT pg_reload_conf()).")));
		cdc_monitor_set_error("configuration error", errbuf);
		return false;
	}
	return true;
}

/* Destroys the producer; whatever it still held is sent again later. */
void
cdc_publish_stop(void)
{
	if (P.producer == NULL)
		return;
	cdc_producer_destroy(P.producer);
	P.producer = NULL;
}

/* True while a producer exists. */
bool
cdc_publish_started(void)
{
	return P.producer != NULL;
}

/* True if a setting the producer was built from has another value now. */
bool
cdc_publish_settings_changed(void)
{
	char	   *now;
	bool		changed;

	if (P.settings == NULL)
		return true;
	now = cdc_settings_string();
	changed = strcmp(now, P.settings) != 0;
	pfree(now);
	return changed;
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

/* The topic of a table; most changes come in runs on one table, so it is kept. */
static const char *
cdc_topic_of(const char *schema, const char *table)
{
	if (P.topic_schema == NULL || strcmp(P.topic_schema, schema) != 0 ||
		strcmp(P.topic_table, table) != 0)
	{
		resetStringInfo(&P.topic);
		cdc_append_topic_part(&P.topic, P.topic_prefix);
		appendStringInfoChar(&P.topic, '.');
		cdc_append_topic_part(&P.topic, schema);
		appendStringInfoChar(&P.topic, '.');
		cdc_append_topic_part(&P.topic, table);
		cdc_forget_topic();
		P.topic_schema = MemoryContextStrdup(TopMemoryContext, schema);
		P.topic_table = MemoryContextStrdup(TopMemoryContext, table);
	}
	return P.topic.data;
}

/* Sends the remaining messages of one envelope (change, then tombstone). */
cdc_send_result
cdc_publish_envelope(const CdcOutputRoute *route, const char *value, size_t valuelen,
					 int *parts_sent, char *errbuf, size_t errlen)
{
	const char *topic;
	int			parts;

	if (route->schema == NULL || route->table == NULL)
		return CDC_SEND_QUEUED;	/* events without a table are not published */
	topic = cdc_topic_of(route->schema, route->table);
	parts = (route->op == CDC_OP_DELETE && P.tombstones && route->key != NULL) ? 2 : 1;
	while (*parts_sent < parts)
	{
		bool		tombstone = *parts_sent == 1;
		char		why[CDC_ERRBUF_SIZE * 2];
		cdc_send_result r;

		r = cdc_producer_send(P.producer, topic, route->key, route->keylen,
							  tombstone ? NULL : value, tombstone ? 0 : valuelen,
							  why, sizeof(why));
		if (r == CDC_SEND_FAILED)
			snprintf(errbuf, errlen, "could not publish a change of table \"%s.%s\": %s",
					 route->schema, route->table, why);
		if (r != CDC_SEND_QUEUED)
			return r;
		(*parts_sent)++;
	}
	return CDC_SEND_QUEUED;
}

/* Closes the transaction in the producer's acknowledgement bookkeeping. */
void
cdc_publish_txn_end(XLogRecPtr end_lsn, TimestampTz commit_time)
{
	cdc_producer_txn_end(P.producer, end_lsn, (int64) commit_time);
}

/* Writes librdkafka's logs to the server log, from this thread only. */
static void
cdc_drain_logs(void)
{
	cdc_log_level level;
	char		line[1024];

	while (cdc_producer_next_log(P.producer, &level, line, sizeof(line)))
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

/* Serves delivery reports, then writes what librdkafka logged meanwhile. */
void
cdc_publish_poll(int timeout_ms)
{
	if (P.producer == NULL)
		return;
	cdc_producer_poll(P.producer, timeout_ms);
	cdc_drain_logs();
}

/* The producer's progress (no side effect). */
void
cdc_publish_read_progress(cdc_producer_progress *out)
{
	cdc_producer_read_progress(P.producer, out);
}

/* Takes the newest fully acknowledged position, if there is a new one. */
bool
cdc_publish_take_confirmable(XLogRecPtr *end_lsn, TimestampTz *commit_time)
{
	uint64_t	lsn;
	int64_t		when;

	if (!cdc_producer_take_confirmable(P.producer, &lsn, &when))
		return false;
	*end_lsn = (XLogRecPtr) lsn;
	*commit_time = (TimestampTz) when;
	return true;
}

/* Why the producer failed ("" when it did not). */
void
cdc_publish_failure(char *buf, size_t len)
{
	if (P.producer == NULL)
	{
		strlcpy(buf, "", len);
		return;
	}
	cdc_producer_failure(P.producer, buf, len);
}
