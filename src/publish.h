/*
 * publish.h — from an envelope to a Kafka message: topic, key, partition,
 * tombstones, and the producer's lifecycle.
 *
 * The stream (stream.c) calls down into this module; this module never
 * calls back into the stream and never waits: a full producer queue is
 * returned to the caller, which waits in its own loop and sends again.
 */
#ifndef CDC_PUBLISH_H
#define CDC_PUBLISH_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"

#include "cdc_kafka.h"
#include "output_plugin.h"

/*
 * Builds the producer from the current settings. False when they are bad:
 * the reason is logged once and shown in status(); nothing was started.
 */
extern bool cdc_publish_start(const char *database, int wake_fd);

/* Destroys the producer (dropping whatever is still queued). No-op without one. */
extern void cdc_publish_stop(void);

/* True while a producer exists. */
extern bool cdc_publish_started(void);

/*
 * True if a setting the producer was built from differs from its current
 * value; their names (never values) are appended to changed unless NULL.
 */
extern bool cdc_publish_settings_changed(StringInfo changed);

/*
 * Sends the messages of one envelope (the change, then a tombstone after a
 * delete when configured), resuming after the *parts_sent already queued.
 * CDC_SEND_QUEUE_FULL: wait for acknowledgements and call again with the
 * same arguments. CDC_SEND_FAILED: errbuf says why (it names the table).
 * Envelopes without a table (begin/commit, messages) are not published.
 */
extern cdc_send_result cdc_publish_envelope(const CdcOutputRoute *route,
											const char *value, size_t valuelen,
											int *parts_sent, char *errbuf, size_t errlen);

/*
 * The partition count of the topic of schema.table (names as UTF-8),
 * waiting at most timeout_ms: > 0, 0 not known yet (ask again), -1 with
 * errbuf saying why.
 */
extern int	cdc_publish_partition_count(const char *schema, const char *table, int timeout_ms,
										char *errbuf, size_t errlen);

/* The plugin decoded a commit: every message of the transaction is queued. */
extern void cdc_publish_txn_end(XLogRecPtr end_lsn, TimestampTz commit_time);

/* Serves delivery reports and writes librdkafka's logs to the server log. */
extern void cdc_publish_poll(int timeout_ms);

/* The producer's progress; reading it changes nothing. */
extern void cdc_publish_read_progress(cdc_producer_progress *out);

/*
 * Takes the newest position Kafka fully acknowledged since the last take:
 * true with its end LSN and commit time, false when nothing new (or after
 * a failure, when nothing may be confirmed any more).
 */
extern bool cdc_publish_take_confirmable(XLogRecPtr *end_lsn, TimestampTz *commit_time);

/* Why the producer failed ("" when it did not). */
extern void cdc_publish_failure(char *buf, size_t len);

/*
 * Whether a Kafka broker can be reached: 1 yes, 0 none (why says why,
 * naming no broker address), -1 not known yet or no producer.
 */
extern int	cdc_publish_brokers_reachable(char *why, size_t len);

#endif							/* CDC_PUBLISH_H */
