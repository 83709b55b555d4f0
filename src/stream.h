/*
 * stream.h — the cdc_plugin worker: streams its replication slot into
 * Kafka and confirms what Kafka acknowledged.
 */
#ifndef CDC_STREAM_H
#define CDC_STREAM_H

#include "fmgr.h"

#include "output_plugin.h"

/* Registers the commit wake-up of the worker (preloaded only). */
extern void cdc_stream_init(void);

extern PGDLLEXPORT void cdc_worker_main(Datum main_arg);

/*
 * For snapshot.c, inside the worker: sends one envelope, waiting (bounded
 * rounds that look at SIGTERM, reload, postmaster death and Kafka) while
 * the producer's queue is full. False when the session ended instead:
 * nothing more may be sent.
 */
extern bool cdc_stream_send(const CdcOutputRoute *route, const char *data, size_t len);
extern bool cdc_stream_send_every_partition(const CdcOutputRoute *route, const char *schema,
											const char *table, const char *data, size_t len);

/*
 * One round of serving Kafka and the signals: waits up to wait_ms, polls,
 * confirms. False when the session ended.
 */
extern bool cdc_stream_serve(long wait_ms);

#endif							/* CDC_STREAM_H */
