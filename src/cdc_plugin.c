/*
 * cdc_plugin.c — module entry: the library's magic block and _PG_init.
 *
 * _PG_init only calls each module's init; modules own their settings.
 * Nothing here may assume the library was preloaded: the output plugin is
 * loaded on demand by logical decoding.
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Nothing to set up yet: the output plugin needs no global state. */
void
_PG_init(void)
{
}
