/*
 * publish.c — from an envelope to a Kafka message, and the producer's
 * lifecycle.
 *
 * Routes each envelope the output plugin hands the worker: topic
 * <topic_prefix>.<schema>.<table> (escaped by cdc_topic_name(), so that two
 * tables never share a topic), key = the envelope's key Row, partition
 * by the producer's murmur2_random partitioner, and a tombstone after a
 * delete when cdc_plugin.tombstones_on_delete is on. Builds the producer
 * from the cdc_plugin.* settings and remembers which values it was built
 * from, so the stream can tell when a reload changed them, and which
 * (by name: values are never logged). It never waits
 * and never calls back into the stream: a full queue is returned to the
 * caller. librdkafka is reached only through cdc_kafka.h, so no C++
 * object lives on any frame here; its logs are written from this thread.
 *
 * cdc_plugin.kafka_properties_file (the place for secrets) is read here,
 * each time a producer is built and at each reload, so that a changed file
 * rebuilds the producer too; only a fingerprint of its content is kept,
 * and the content is wiped once librdkafka has its copy.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"

#include "cdc_core.h"
#include "cdc_kafka.h"
#include "config.h"
#include "monitor.h"
#include "outbox.h"
#include "publish.h"

/* The producer and what it was built from; one per worker process. */
typedef struct CdcPublisher
{
	cdc_producer *producer;
	char	  **settings;		/* the values of cdc_build_setting_names it was built from */
	char	   *topic_prefix;	/* resolved (empty setting: database name) */
	char	   *database;		/* cdc_plugin.database: the heartbeats' key */
	bool		tombstones;
	int			value_format;	/* CdcMessageFormat */
	int			key_format;
	char		heartbeat_topic[CDC_TOPIC_NAME_MAX + 1];	/* <topic_prefix>.__heartbeat */
	char		topic[CDC_TOPIC_NAME_MAX + 1];	/* topic of the last routed table */
	char	   *topic_schema;	/* ... and the names it was built from */
	char	   *topic_table;
} CdcPublisher;

static CdcPublisher P;

#define CDC_PROPERTIES_FILE_MAX (1024 * 1024)

#define CDC_HEARTBEAT_TOPIC_SUFFIX ".__heartbeat"

/*
 * Stack per level of nesting that jsonb_in needs (as sql_api.c counts it):
 * json values render in the json format exactly as cdc_plugin.to_json()
 * renders them in this database.
 */
#define CDC_JSON_STACK_PER_LEVEL 320

/*
 * Reads cdc_plugin.kafka_properties_file. Returns its content (palloc'd,
 * NUL-terminated; "" when the setting is empty), or NULL with the problem
 * in errbuf: the file must be a regular file of at most 1 MB without NUL
 * bytes, owned by the user the server runs as, with no permission for
 * group or others (like a server key file, it holds secrets). The check is
 * made on the opened file, so a rename in between cannot fool it.
 */
static char *
cdc_read_properties_file(char *errbuf, size_t errlen)
{
	const char *path = cdc_kafka_properties_file;
	struct stat st;
	char	   *buf;
	size_t		len = 0;
	int			fd;

	if (path == NULL || path[0] == '\0')
		return pstrdup("");
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
	{
		snprintf(errbuf, errlen, "could not open cdc_plugin.kafka_properties_file \"%s\": %m", path);
		return NULL;
	}
	if (fstat(fd, &st) != 0)
	{
		snprintf(errbuf, errlen, "could not stat cdc_plugin.kafka_properties_file \"%s\": %m", path);
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode))
	{
		snprintf(errbuf, errlen, "cdc_plugin.kafka_properties_file \"%s\" is not a regular file", path);
		close(fd);
		return NULL;
	}
	if (st.st_uid != geteuid())
	{
		snprintf(errbuf, errlen,
				 "cdc_plugin.kafka_properties_file \"%s\" is owned by user ID %u: it must be owned by the user the server runs as (ID %u)",
				 path, (unsigned) st.st_uid, (unsigned) geteuid());
		close(fd);
		return NULL;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		snprintf(errbuf, errlen,
				 "cdc_plugin.kafka_properties_file \"%s\" has permissions %04o: group and others must have no access (chmod 600)",
				 path, (unsigned) (st.st_mode & 07777));
		close(fd);
		return NULL;
	}
	if (st.st_size > CDC_PROPERTIES_FILE_MAX)
	{
		snprintf(errbuf, errlen, "cdc_plugin.kafka_properties_file \"%s\" is larger than 1 MB", path);
		close(fd);
		return NULL;
	}
	/* one byte more than allowed, to see a file that grew meanwhile */
	buf = palloc(CDC_PROPERTIES_FILE_MAX + 2);
	while (len <= CDC_PROPERTIES_FILE_MAX)
	{
		ssize_t		n = read(fd, buf + len, CDC_PROPERTIES_FILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
		{
			snprintf(errbuf, errlen, "could not read cdc_plugin.kafka_properties_file \"%s\": %m", path);
			close(fd);
			explicit_bzero(buf, len);
			pfree(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	if (len > CDC_PROPERTIES_FILE_MAX || memchr(buf, '\0', len) != NULL)
	{
		snprintf(errbuf, errlen, len > CDC_PROPERTIES_FILE_MAX ?
				 "cdc_plugin.kafka_properties_file \"%s\" is larger than 1 MB" :
				 "cdc_plugin.kafka_properties_file \"%s\" contains a NUL byte", path);
		explicit_bzero(buf, len);
		pfree(buf);
		return NULL;
	}
	return buf;
}

/* Wipes and frees what cdc_read_properties_file returned. */
static void
cdc_free_properties_file(char *content)
{
	if (content == NULL)
		return;
	explicit_bzero(content, strlen(content));
	pfree(content);
}

/*
 * The settings a producer is built from, by name; a reload that changes
 * one of them rebuilds the producer, and the log names it (names only).
 */
static const char *const cdc_build_setting_names[] = {
	"cdc_plugin.kafka_bootstrap_servers",
	"cdc_plugin.kafka_properties",
	"cdc_plugin.kafka_properties_file",
	"cdc_plugin.topic_prefix",
	"cdc_plugin.include_tables",
	"cdc_plugin.exclude_tables",
	"cdc_plugin.outbox_tables",
	"cdc_plugin.outbox_topic",
	"cdc_plugin.outbox_columns",
	"cdc_plugin.messages_topic",
	"cdc_plugin.transaction_topic",
	"cdc_plugin.tombstones_on_delete",
	"cdc_plugin.value_format",
	"cdc_plugin.key_format",
};

#define CDC_BUILD_SETTINGS lengthof(cdc_build_setting_names)

/*
 * The values of cdc_build_setting_names (palloc'd in the current context,
 * never logged): kafka_properties with its refusal (a refused value is not
 * applied, but must still stop the worker), the properties file as its
 * path and a fingerprint of its content (never the content) or the reason
 * it cannot be used.
 */
static char **
cdc_build_settings(const char *file_content, const char *file_problem)
{
	const char *refusal = cdc_config_kafka_properties_refusal();
	char	  **values = palloc(sizeof(char *) * CDC_BUILD_SETTINGS);
	char		file_state[64];
	int			i = 0;

	if (file_content != NULL)
	{
		size_t		len = strlen(file_content);

		snprintf(file_state, sizeof(file_state), "%016" INT64_MODIFIER "x%016" INT64_MODIFIER "x",
				 (uint64) hash_bytes_extended((const unsigned char *) file_content, (int) len, 0),
				 (uint64) hash_bytes_extended((const unsigned char *) file_content, (int) len, 1));
	}
	values[i++] = pstrdup(cdc_kafka_bootstrap_servers);
	values[i++] = psprintf("%s\n%s", cdc_kafka_properties, refusal ? refusal : "");
	values[i++] = psprintf("%s\n%s", cdc_kafka_properties_file,
						   file_content != NULL ? file_state : file_problem);
	values[i++] = pstrdup(cdc_topic_prefix);
	values[i++] = pstrdup(cdc_include_tables);
	values[i++] = pstrdup(cdc_exclude_tables);
	values[i++] = pstrdup(cdc_outbox_tables);
	values[i++] = pstrdup(cdc_outbox_topic);
	values[i++] = pstrdup(cdc_outbox_columns);
	values[i++] = pstrdup(cdc_messages_topic);
	values[i++] = pstrdup(cdc_transaction_topic);
	values[i++] = pstrdup(cdc_tombstones_on_delete ? "on" : "off");
	values[i++] = pstrdup(cdc_value_format == CDC_FORMAT_JSON ? "json" : "protobuf");
	values[i++] = pstrdup(cdc_key_format == CDC_FORMAT_JSON ? "json" : "protobuf");
	Assert(i == CDC_BUILD_SETTINGS);
	return values;
}

/* Frees what cdc_build_settings returned. */
static void
cdc_free_build_settings(char **values)
{
	int			i;

	if (values == NULL)
		return;
	for (i = 0; i < CDC_BUILD_SETTINGS; i++)
		pfree(values[i]);
	pfree(values);
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
		cdc_options_set(opts, "exclude-tables", cdc_exclude_tables, errbuf, errlen) == 0 &&
		cdc_options_set(opts, "outbox-tables", cdc_outbox_tables, errbuf, errlen) == 0 &&
		cdc_options_set(opts, "outbox-topic", cdc_outbox_topic, errbuf, errlen) == 0 &&
		(cdc_outbox_columns[0] == '\0' ||
		 cdc_options_set(opts, "outbox-columns", cdc_outbox_columns, errbuf, errlen) == 0);
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

/*
 * <topic_prefix>.__heartbeat: the prefix as table topics have it (characters
 * Kafka does not allow as '_'), shortened to fit Kafka's limit.
 */
static void
cdc_heartbeat_topic_of(const char *prefix, char *buf, size_t buflen)
{
	size_t		suffix = strlen(CDC_HEARTBEAT_TOPIC_SUFFIX);
	size_t		n = Min(strlen(prefix), Min(buflen - 1, (size_t) CDC_TOPIC_NAME_MAX) - suffix);
	size_t		i;

	for (i = 0; i < n; i++)
	{
		unsigned char ch = (unsigned char) prefix[i];

		buf[i] = ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-') ? (char) ch : '_';
	}
	strcpy(buf + n, CDC_HEARTBEAT_TOPIC_SUFFIX);
}

/* Logs a bad setting once and shows it in status(). */
static void
cdc_configuration_error(const char *problem, const char *hint)
{
	ereport(WARNING,
			(errmsg("cdc_plugin worker cannot publish: %s", problem),
			 errhint("%s", hint)));
	cdc_monitor_set_error("configuration error", problem);
}

/* Builds the producer from the current settings; false if they are bad. */
bool
cdc_publish_start(const char *database, int wake_fd)
{
	cdc_producer_config config;
	char		errbuf[CDC_ERRBUF_SIZE * 2];
	char		file_problem[CDC_ERRBUF_SIZE * 2] = "";
	char	   *file_content;
	const char *refusal;
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	Assert(P.producer == NULL);
	file_content = cdc_read_properties_file(file_problem, sizeof(file_problem));
	cdc_free_build_settings(P.settings);
	P.settings = cdc_build_settings(file_content, file_problem);
	if (P.topic_prefix)
		pfree(P.topic_prefix);
	P.topic_prefix = pstrdup(cdc_topic_prefix[0] ? cdc_topic_prefix : database);
	if (P.database)
		pfree(P.database);
	P.database = pstrdup(database);
	P.tombstones = cdc_tombstones_on_delete;
	P.value_format = cdc_value_format;
	P.key_format = cdc_key_format;
	cdc_heartbeat_topic_of(P.topic_prefix, P.heartbeat_topic, sizeof(P.heartbeat_topic));
	cdc_forget_topic();
	MemoryContextSwitchTo(old);

	refusal = cdc_config_kafka_properties_refusal();
	if (refusal != NULL)
	{
		cdc_free_properties_file(file_content);
		cdc_configuration_error(refusal,
								"Move the property into the file named by cdc_plugin.kafka_properties_file (owned by the server's operating system user, mode 0600) and reload (SELECT pg_reload_conf()).");
		return false;
	}
	if (file_content == NULL)
	{
		cdc_configuration_error(file_problem,
								"Fix the file or cdc_plugin.kafka_properties_file (the file must be owned by the server's operating system user, mode 0600) and reload (SELECT pg_reload_conf()).");
		return false;
	}
	if (!cdc_table_patterns_valid(errbuf, sizeof(errbuf)))
	{
		cdc_free_properties_file(file_content);
		cdc_configuration_error(errbuf,
								"Fix cdc_plugin.include_tables, exclude_tables, outbox_tables, outbox_topic or outbox_columns in postgresql.conf and reload (SELECT pg_reload_conf()).");
		return false;
	}
	config.bootstrap_servers = cdc_kafka_bootstrap_servers;
	config.properties = cdc_kafka_properties;
	config.wake_fd = wake_fd;
	config.file_properties = file_content;
	P.producer = cdc_producer_create(&config, errbuf, sizeof(errbuf));
	cdc_free_properties_file(file_content);
	if (P.producer == NULL)
	{
		cdc_configuration_error(errbuf,
								"Fix the cdc_plugin.kafka_* settings in postgresql.conf (or the file named by cdc_plugin.kafka_properties_file) and reload (SELECT pg_reload_conf()).");
		return false;
	}
	/* valid again: an earlier configuration error is history (the log keeps it) */
	cdc_monitor_clear_configuration_error();
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

/*
 * True if a setting the producer was built from has another value now;
 * then, when changed is not NULL, appends their names to it ("A", "A and
 * B", "A, B and C"), never their values.
 */
bool
cdc_publish_settings_changed(StringInfo changed)
{
	char	  **now;
	char		file_problem[CDC_ERRBUF_SIZE * 2] = "";
	char	   *file_content;
	int			differ[CDC_BUILD_SETTINGS];
	int			n = 0;
	int			i;

	if (P.settings == NULL)
		return true;
	file_content = cdc_read_properties_file(file_problem, sizeof(file_problem));
	now = cdc_build_settings(file_content, file_problem);
	cdc_free_properties_file(file_content);
	for (i = 0; i < CDC_BUILD_SETTINGS; i++)
		if (strcmp(now[i], P.settings[i]) != 0)
			differ[n++] = i;
	cdc_free_build_settings(now);
	for (i = 0; changed != NULL && i < n; i++)
		appendStringInfo(changed, "%s%s", i == 0 ? "" : i == n - 1 ? " and " : ", ",
						 cdc_build_setting_names[differ[i]]);
	return n > 0;
}

/*
 * The topic of a table, NULL when out of memory (errbuf says why); most
 * changes come in runs on one table, so the last one is kept.
 */
static const char *
cdc_topic_of(const char *schema, const char *table, char *errbuf, size_t errlen)
{
	if (P.topic_schema == NULL || strcmp(P.topic_schema, schema) != 0 ||
		strcmp(P.topic_table, table) != 0)
	{
		cdc_forget_topic();
		if (cdc_topic_name(P.topic_prefix, schema, table, P.topic, sizeof(P.topic),
						   errbuf, errlen) == 0)
			return NULL;
		P.topic_schema = MemoryContextStrdup(TopMemoryContext, schema);
		P.topic_table = MemoryContextStrdup(TopMemoryContext, table);
	}
	return P.topic;
}

/*
 * The event id of a message (header cdc.event_id): the same every time
 * the event is decoded again, unique among the worker's messages.
 * "<commit LSN>:<position in the transaction>" for the events of a
 * transaction, then ":t" for the tombstone after a delete; events outside
 * the transaction's order (schema events) add their own LSN and, for their
 * copies, the partition; so do snapshot markers and gap events. An r event
 * is "<commit LSN>:<LSN>:r<n>" at the position where its chunk was
 * published (a chunk read again after a restart is another read, with
 * other ids).
 */
static int
cdc_event_id(const CdcOutputRoute *route, bool tombstone, char *buf, size_t len)
{
	int			n;

	if (route->total_order != 0)
		n = snprintf(buf, len, "%X/%X:" UINT64_FORMAT, LSN_FORMAT_ARGS(route->commit_lsn),
					 route->total_order);
	else
		n = snprintf(buf, len, "%X/%X:%X/%X", LSN_FORMAT_ARGS(route->commit_lsn),
					 LSN_FORMAT_ARGS(route->lsn));
	if ((route->op == CDC_OP_READ || route->op == CDC_OP_HEARTBEAT) && n < (int) len)
		n += snprintf(buf + n, len - n, route->op == CDC_OP_READ ? ":r" UINT64_FORMAT :
					  ":heartbeat:" UINT64_FORMAT, route->seq);
	else if ((route->op == CDC_OP_SCHEMA || route->op == CDC_OP_SNAPSHOT_BEGIN ||
			  route->op == CDC_OP_SNAPSHOT_END || route->op == CDC_OP_GAP) &&
			 route->partition >= 0 && n < (int) len)
		n += snprintf(buf + n, len - n, ":%s:%d",
					  route->op == CDC_OP_SCHEMA ? "schema" :
					  route->op == CDC_OP_GAP ? "gap" :
					  route->op == CDC_OP_SNAPSHOT_BEGIN ? "begin" : "end", route->partition);
	if (tombstone && n < (int) len)
		n += snprintf(buf + n, len - n, ":t");
	return Min(n, (int) len - 1);
}

/*
 * An outbox event: to its own topic, keyed by its key, its payload as the
 * value, its headers and the event id as headers.
 */
static cdc_send_result
cdc_publish_outbox(const CdcOutputRoute *route, char *errbuf, size_t errlen)
{
	const cdc_outbox *ob = route->outbox;
	cdc_header	headers[CDC_OUTBOX_MAX_HEADERS + 1];
	char		topic[CDC_TOPIC_NAME_MAX + 1];
	char		id[64];
	char		why[CDC_ERRBUF_SIZE * 2];
	size_t		i,
				n = 0;
	cdc_send_result r;

	if (ob->topic.len > CDC_TOPIC_NAME_MAX || ob->nheaders > CDC_OUTBOX_MAX_HEADERS)
	{
		snprintf(errbuf, errlen, "an outbox event has a topic name longer than %d bytes or more than %d headers",
				 CDC_TOPIC_NAME_MAX, CDC_OUTBOX_MAX_HEADERS);
		return CDC_SEND_FAILED;
	}
	memcpy(topic, ob->topic.data, ob->topic.len);
	topic[ob->topic.len] = '\0';
	for (i = 0; i < ob->nheaders; i++)
	{
		/* names are NUL-terminated for librdkafka: copied (they are short) */
		headers[n].name = pnstrdup(ob->headers[i].name.data, ob->headers[i].name.len);
		headers[n].value = ob->headers[i].value.data;
		headers[n].valuelen = ob->headers[i].value.len;
		n++;
	}
	headers[n].name = CDC_EVENT_ID_HEADER;
	headers[n].value = id;
	headers[n].valuelen = cdc_event_id(route, false, id, sizeof(id));
	n++;
	r = cdc_producer_send_headers(P.producer, topic, -1,
								  ob->has_key ? (ob->key.len > 0 ? ob->key.data : "") : NULL,
								  ob->has_key ? ob->key.len : 0,
								  ob->payload.len > 0 ? ob->payload.data : "", ob->payload.len,
								  headers, n, why, sizeof(why));
	if (r == CDC_SEND_FAILED)
		snprintf(errbuf, errlen, "could not publish an outbox event to topic \"%s\": %s", topic, why);
	for (i = 0; i < ob->nheaders; i++)
		pfree((char *) headers[i].name);
	return r;
}

/*
 * An envelope without a table: begin and commit events to
 * cdc_plugin.transaction_topic keyed by the transaction id, m events to
 * cdc_plugin.messages_topic keyed by their prefix; with the setting empty
 * (the worker then does not ask for them) nothing is sent.
 */
static cdc_send_result
cdc_publish_untabled(const CdcOutputRoute *route, const char *value, size_t valuelen,
					 char *errbuf, size_t errlen)
{
	const char *topic = NULL;
	char		key[32];
	const char *k = key;
	size_t		klen;
	char		id[64];
	char		why[CDC_ERRBUF_SIZE * 2];
	cdc_header	header;
	cdc_send_result r;

	if ((route->op == CDC_OP_BEGIN || route->op == CDC_OP_COMMIT) && cdc_transaction_topic[0])
	{
		topic = cdc_transaction_topic;
		klen = snprintf(key, sizeof(key), UINT64_FORMAT, route->xid);
	}
	else if (route->op == CDC_OP_MESSAGE && cdc_messages_topic[0] && route->message_prefix != NULL)
	{
		topic = cdc_messages_topic;
		k = route->message_prefix;
		klen = strlen(k);
	}
	else if (route->op == CDC_OP_HEARTBEAT)
	{
		/* keyed by database, so a compacted topic keeps each one's newest */
		topic = P.heartbeat_topic;
		k = P.database;
		klen = strlen(k);
	}
	else
		return CDC_SEND_QUEUED;
	header.name = CDC_EVENT_ID_HEADER;
	header.value = id;
	header.valuelen = cdc_event_id(route, false, id, sizeof(id));
	r = cdc_producer_send_headers(P.producer, topic, -1, k, klen, value, valuelen,
								  &header, 1, why, sizeof(why));
	if (r == CDC_SEND_FAILED)
		snprintf(errbuf, errlen, "could not publish to topic \"%s\": %s", topic, why);
	return r;
}

/*
 * With cdc_plugin.value_format = 'json' and key_format = 'json': the value
 * and the key as cdc_plugin.to_json() renders them in this database (in
 * per-thread buffers, valid until the next rendering). False with errbuf
 * saying why (a rendering longer than 256 MB, out of memory).
 */
static bool
cdc_render_formats(const char **value, size_t *valuelen, const char **key, size_t *keylen,
				   char *errbuf, size_t errlen)
{
	cdc_render_options opts;
	char		why[CDC_ERRBUF_SIZE];

	if (P.value_format != CDC_FORMAT_JSON && (P.key_format != CDC_FORMAT_JSON || *key == NULL))
		return true;
	memset(&opts, 0, sizeof(opts));
	opts.max_len = CDC_RENDER_MAX_LEN;
	opts.max_json_depth = (int) Min((long) max_stack_depth * 1024L / CDC_JSON_STACK_PER_LEVEL,
									(long) PG_INT32_MAX);
	opts.ascii_escapes_only = GetDatabaseEncoding() != PG_UTF8;
	if (P.value_format == CDC_FORMAT_JSON &&
		cdc_render_json(*value, *valuelen, &opts, value, valuelen, why, sizeof(why)) != CDC_RENDER_OK)
	{
		snprintf(errbuf, errlen, "could not render the message as JSON (cdc_plugin.value_format): %s", why);
		return false;
	}
	if (P.key_format == CDC_FORMAT_JSON && *key != NULL &&
		cdc_render_key_json(*key, *keylen, &opts, key, keylen, why, sizeof(why)) != CDC_RENDER_OK)
	{
		snprintf(errbuf, errlen, "could not render the key as JSON (cdc_plugin.key_format): %s", why);
		return false;
	}
	return true;
}

/* Sends the remaining messages of one envelope (change, then tombstone). */
cdc_send_result
cdc_publish_envelope(const CdcOutputRoute *route, const char *value, size_t valuelen,
					 int *parts_sent, char *errbuf, size_t errlen)
{
	const char *topic;
	char		why_topic[CDC_ERRBUF_SIZE];
	int			parts;
	const char *key = route->key;
	size_t		keylen = route->keylen;
	cdc_send_result r;

	if (route->outbox != NULL)
		return cdc_publish_outbox(route, errbuf, errlen);
	if (route->schema == NULL || route->table == NULL)
	{
		key = NULL;
		keylen = 0;
		if (!cdc_render_formats(&value, &valuelen, &key, &keylen, errbuf, errlen))
			return CDC_SEND_FAILED;
		r = cdc_publish_untabled(route, value, valuelen, errbuf, errlen);
		cdc_render_json_release();
		return r;
	}
	topic = cdc_topic_of(route->schema, route->table, why_topic, sizeof(why_topic));
	if (topic == NULL)
	{
		snprintf(errbuf, errlen, "could not name the topic of table \"%s.%s\": %s",
				 route->schema, route->table, why_topic);
		return CDC_SEND_FAILED;
	}
	parts = (route->op == CDC_OP_DELETE && P.tombstones && route->key != NULL) ? 2 : 1;
	if (!cdc_render_formats(&value, &valuelen, &key, &keylen, errbuf, errlen))
		return CDC_SEND_FAILED;
	while (*parts_sent < parts)
	{
		bool		tombstone = *parts_sent == 1;
		char		why[CDC_ERRBUF_SIZE * 2];
		char		id[64];
		cdc_header	header;

		header.name = CDC_EVENT_ID_HEADER;
		header.value = id;
		header.valuelen = cdc_event_id(route, tombstone, id, sizeof(id));
		r = cdc_producer_send_headers(P.producer, topic, route->partition,
									  key, keylen,
									  tombstone ? NULL : value, tombstone ? 0 : valuelen,
									  &header, 1, why, sizeof(why));
		if (r == CDC_SEND_FAILED)
			snprintf(errbuf, errlen, "could not publish a change of table \"%s.%s\": %s",
					 route->schema, route->table, why);
		if (r != CDC_SEND_QUEUED)
		{
			cdc_render_json_release();
			return r;
		}
		(*parts_sent)++;
	}
	cdc_render_json_release();
	return CDC_SEND_QUEUED;
}

/*
 * The partition count of a table's topic, waiting at most timeout_ms: > 0,
 * 0 not known yet (ask again), -1 with errbuf saying why.
 */
int
cdc_publish_partition_count(const char *schema, const char *table, int timeout_ms,
							char *errbuf, size_t errlen)
{
	const char *topic;
	char		why[CDC_ERRBUF_SIZE * 2];
	int			n;

	topic = cdc_topic_of(schema, table, why, sizeof(why));
	if (topic == NULL)
	{
		snprintf(errbuf, errlen, "could not name the topic of table \"%s.%s\": %s",
				 schema, table, why);
		return -1;
	}
	n = cdc_producer_partition_count(P.producer, topic, timeout_ms, why, sizeof(why));
	if (n < 0)
		snprintf(errbuf, errlen, "%s", why);
	return n;
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

/*
 * Whether a Kafka broker can be reached: 1 yes, 0 none (why says why,
 * with no broker address), -1 not known yet or no producer.
 */
int
cdc_publish_brokers_reachable(char *why, size_t len)
{
	if (P.producer == NULL)
	{
		strlcpy(why, "", len);
		return -1;
	}
	return cdc_producer_brokers_reachable(P.producer, why, len);
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
