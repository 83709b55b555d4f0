/*
 * launcher.h — the static background worker that starts and restarts the
 * cdc_plugin worker.
 */
#ifndef CDC_LAUNCHER_H
#define CDC_LAUNCHER_H

#include "fmgr.h"

/* Registers the launcher (preloaded only). */
extern void cdc_launcher_init(void);

extern PGDLLEXPORT void cdc_launcher_main(Datum main_arg);

#endif							/* CDC_LAUNCHER_H */
