/*
 * stream.h — the cdc_plugin worker: streams its replication slot into
 * Kafka and confirms what Kafka acknowledged.
 */
#ifndef CDC_STREAM_H
#define CDC_STREAM_H

#include "fmgr.h"

/* Registers the commit wake-up of the worker (preloaded only). */
extern void cdc_stream_init(void);

extern PGDLLEXPORT void cdc_worker_main(Datum main_arg);

#endif							/* CDC_STREAM_H */
