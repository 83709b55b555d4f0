/*
 * worker.h — the background workers that publish changes to Kafka.
 */
#ifndef CDC_WORKER_H
#define CDC_WORKER_H

#include "fmgr.h"

/* Registers the launcher and the commit wake-up (preloaded only). */
extern void cdc_worker_init(void);

extern PGDLLEXPORT void cdc_launcher_main(Datum main_arg);
extern PGDLLEXPORT void cdc_worker_main(Datum main_arg);

#endif							/* CDC_WORKER_H */
