/*
 * cdc_kafka.h — the C interface of the Kafka producer in the C++ core.
 *
 * The worker (C, PostgreSQL side) publishes envelopes through this header.
 * Behind it: librdkafka with an idempotent configuration and the
 * acknowledgement bookkeeping that says which WAL position may be
 * confirmed; keys are chosen by the caller (publish.c), topic names come
 * from cdc_topic_name(). Like cdc_core.h, every function catches every C++ exception,
 * never calls elog, and never lets librdkafka call back into PostgreSQL:
 * delivery reports, logs and errors are collected while the caller's own
 * thread runs cdc_producer_poll(), and handed out as plain data.
 * librdkafka's threads are started with every signal blocked.
 */
#ifndef CDC_KAFKA_H
#define CDC_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cdc_producer cdc_producer;

/* Kafka's limit on the length of a topic name. */
#define CDC_TOPIC_NAME_MAX 249

/*
 * Writes the topic of schema.table under prefix (names as UTF-8) into buf,
 * which holds at least CDC_TOPIC_NAME_MAX + 1 bytes, NUL-terminated, and
 * returns its length: the injective escape documented in README ("Publish
 * to Kafka") and topic_name.cpp. Returns 0 (errbuf says why) only when out
 * of memory or called wrongly.
 */
size_t		cdc_topic_name(const char *prefix, const char *schema, const char *table,
						   char *buf, size_t buflen, char *errbuf, size_t errlen);

/*
 * Whether Kafka accepts the len bytes at topic (no NUL needed; a NUL byte
 * counts as a character) as a topic name: 1 to CDC_TOPIC_NAME_MAX
 * characters of [A-Za-z0-9._-], neither "." nor "..". Returns 0 (errbuf
 * "") or -1 with errbuf saying which rule it breaks: "topic name is
 * empty", "topic name is longer than 249 characters (N)", "topic name may
 * not be "." or ".."", or "topic name has a character Kafka does not allow
 * at position N (allowed: letters, digits, '.', '_', '-'), found KIND",
 * N counted in bytes from 1, KIND the first such character: "'/'" (a
 * printable ASCII one, quoted), "a space", "a NUL byte", "the control
 * character 0x0A", "the byte 0xC3 of a non-ASCII character" (any byte of
 * UTF-8 beyond ASCII). topic may be NULL only with len 0 (empty).
 */
int			cdc_topic_name_check(const char *topic, size_t len, char *errbuf, size_t errlen);

/* What the producer is built from; strings are copied. */
typedef struct cdc_producer_config
{
	const char *bootstrap_servers;	/* "host:port,host:port"; required */
	const char *properties;		/* cdc_plugin.kafka_properties: "name=value;name=value"
								 * librdkafka properties; secret-bearing ones are refused */
	int			wake_fd;		/* written to when something is ready to poll; -1: none */
	const char *file_properties;	/* the content of cdc_plugin.kafka_properties_file:
									 * one name=value per line, '#' comments; may hold
									 * secrets; wins over properties. NULL: none */
} cdc_producer_config;

/*
 * Builds a producer. Returns NULL with a message naming the bad setting
 * (an unknown property, a bad value, empty bootstrap servers) in errbuf.
 * No message quotes a property value: a bad item is named by its property
 * or its position; librdkafka's own reasons are kept only when they
 * provably hold no value, or with the values redacted.
 */
cdc_producer *cdc_producer_create(const cdc_producer_config *config,
								  char *errbuf, size_t errlen);

/*
 * Checks a configuration without starting any thread or connection.
 * Returns 0, or -1 with the same message cdc_producer_create would give.
 */
int			cdc_producer_validate(const cdc_producer_config *config,
								  char *errbuf, size_t errlen);

/*
 * Whether cdc_plugin.kafka_properties names a secret-bearing property
 * (sasl.password, ssl.key.password, ...; see kafka_producer.cpp): 1 with a
 * message naming it and cdc_plugin.kafka_properties_file in errbuf, 0 when
 * it names none (other problems are left to cdc_producer_create), -1 on
 * an internal error. Never quotes a value. Meant for the setting's check hook.
 */
int			cdc_kafka_properties_check_secrets(const char *properties,
											   char *errbuf, size_t errlen);

/* Drops whatever is still queued and stops librdkafka's threads. NULL is allowed. */
void		cdc_producer_destroy(cdc_producer *p);

/* Result of cdc_producer_send and cdc_producer_send_headers. */
typedef enum cdc_send_result
{
	CDC_SEND_QUEUED = 0,		/* copied into the producer's queue */
	CDC_SEND_QUEUE_FULL = 1,	/* nothing queued: poll, then send again */
	CDC_SEND_FAILED = -1		/* nothing queued: errbuf says why; the producer
								 * counts as failed from now on */
} cdc_send_result;

/*
 * Queues one message of the open transaction (opened by the first send),
 * to partition (>= 0), or to the one the partitioner picks (-1) by key.
 * key may be NULL (no key: the partitioner picks a random partition);
 * value NULL with len 0 is a tombstone. Both are copied. A message that
 * could never fit in the producer's queue (queue.buffering.max.kbytes) is
 * refused (CDC_SEND_FAILED) instead of being reported full forever.
 */
cdc_send_result cdc_producer_send(cdc_producer *p, const char *topic, int32_t partition,
								  const void *key, size_t keylen,
								  const void *value, size_t valuelen,
								  char *errbuf, size_t errlen);

/*
 * One Kafka message header: name NUL-terminated (not NULL), value
 * valuelen bytes, or NULL for a null header value (valuelen ignored).
 */
typedef struct cdc_header
{
	const char *name;
	const void *value;
	size_t		valuelen;
} cdc_header;

/*
 * cdc_producer_send with nheaders headers (copied, sent in this order;
 * a name may repeat). Everything else is exactly as cdc_producer_send:
 * the open transaction, the queue-full answer, the refusals (the headers'
 * names and values count toward the size that must fit in the queue) and
 * the counting of the message (its acknowledged bytes are key and value
 * only). headers may be NULL when nheaders is 0; a NULL headers array
 * otherwise, or a header without a name, is refused (CDC_SEND_FAILED).
 */
cdc_send_result cdc_producer_send_headers(cdc_producer *p, const char *topic, int32_t partition,
										  const void *key, size_t keylen,
										  const void *value, size_t valuelen,
										  const cdc_header *headers, size_t nheaders,
										  char *errbuf, size_t errlen);

/*
 * The partition count of a topic (a metadata request, which also makes a
 * broker that auto-creates topics create it), waiting at most timeout_ms:
 * > 0 the count, 0 not known yet (no broker answered, or the topic is
 * being created: ask again), -1 with a message for other errors.
 */
int			cdc_producer_partition_count(cdc_producer *p, const char *topic, int timeout_ms,
										 char *errbuf, size_t errlen);

/*
 * Closes the open transaction at its end LSN (no-op when none is open).
 * commit_time_pg_us is a PostgreSQL TimestampTz: microseconds since
 * 2000-01-01, not since 1970 like the envelope's source.commit_time_us.
 */
void		cdc_producer_txn_end(cdc_producer *p, uint64_t end_lsn, int64_t commit_time_pg_us);

/*
 * Serves delivery reports, logs and errors, waiting up to timeout_ms for
 * the first (0: do not wait). The caller drains its wake_fd pipe itself.
 */
void		cdc_producer_poll(cdc_producer *p, int timeout_ms);

/* The producer's view of progress, for status(); reading it changes nothing. */
typedef struct cdc_producer_progress
{
	bool		idle;			/* nothing open, nothing in flight, nothing left to take */
	int64_t		oldest_unacked_commit_time_pg_us;	/* TimestampTz; 0 if none */
	uint64_t	messages_in_flight;
	uint64_t	acked_messages; /* totals since the producer was created */
	uint64_t	acked_bytes;
	uint64_t	acked_transactions;
	uint64_t	failed_messages;
	int			broker_state;	/* 1 up, 0 all brokers down, -1 not known yet */
	bool		failed;			/* a delivery failed or a fatal error: start over */
} cdc_producer_progress;

void		cdc_producer_read_progress(const cdc_producer *p, cdc_producer_progress *out);

/*
 * Whether any broker can be reached: 1 a broker answered since the
 * producer was created or since the last outage; 0 every broker is
 * unreachable (librdkafka said all brokers are down, and a connection
 * attempt failed since: connections that merely dropped are not an
 * outage yet), with the cause in buf; -1 not known yet (still connecting,
 * or all connections just dropped). The cause is librdkafka's error
 * without the broker's name or address, the retry details or the hint
 * about broker versions when the broker never answered (e.g. "Connection
 * refused"; "" if none was given); it stays the same through one outage.
 * Reading it changes nothing.
 */
int			cdc_producer_brokers_reachable(const cdc_producer *p, char *buf, size_t len);

/*
 * Takes every leading transaction Kafka fully acknowledged since the last
 * take. Returns true with the end LSN and commit time (TimestampTz) of the
 * newest of them; false when there is none, and always after a failure
 * (a message may be missing, so nothing more may be confirmed).
 */
bool		cdc_producer_take_confirmable(cdc_producer *p, uint64_t *end_lsn,
										  int64_t *commit_time_pg_us);

/*
 * The first failure (delivery failure or fatal producer error) as text,
 * or "" when there was none.
 */
void		cdc_producer_failure(const cdc_producer *p, char *buf, size_t len);

/* Severity of a log line handed out by cdc_producer_next_log. */
typedef enum cdc_log_level
{
	CDC_LOG_DEBUG = 0,
	CDC_LOG_INFO = 1,
	CDC_LOG_WARNING = 2,
	CDC_LOG_ERROR = 3
} cdc_log_level;

/*
 * Takes the oldest pending log line (librdkafka logs and error callbacks),
 * NUL-terminated and truncated to len. Returns false when there is none.
 */
bool		cdc_producer_next_log(cdc_producer *p, cdc_log_level *level,
								  char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif							/* CDC_KAFKA_H */
