/*
 * cdc_plugin.c — module entry: the library's magic block and _PG_init.
 *
 * _PG_init only calls each module's init; every cdc_plugin.* setting is
 * defined in config.c.
 * Nothing here may assume the library was preloaded: the output plugin is
 * loaded on demand by logical decoding or by the extension's event
 * trigger, and then only the plugin, the trigger and the settings they read
 * (the table filters, the schema guard's) are used. Preloaded
 * (shared_preload_libraries), the other settings, the status struct in
 * shared memory and the background workers are set up too.
 */
#include "postgres.h"

#include "fmgr.h"

#include "config.h"
#include "monitor.h"
#include "launcher.h"
#include "stream.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	cdc_config_init();
	cdc_monitor_init();
	cdc_launcher_init();
	cdc_stream_init();
}
