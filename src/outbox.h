/*
 * outbox.h — domain events: cdc_plugin.publish() (outbox.c) and what the
 * plugin and the worker share about them.
 */
#ifndef CDC_OUTBOX_H
#define CDC_OUTBOX_H

/*
 * Logical messages with this prefix are outbox events written by
 * cdc_plugin.publish(): their content is a cdc.v1.OutboxEvent. The plugin
 * writes them as outbox events (never as m events); the worker publishes
 * each as it is, to its own topic.
 */
#define CDC_OUTBOX_PREFIX "cdc_plugin.outbox"

/* Headers one outbox event may carry (besides cdc.event_id, which the worker adds). */
#define CDC_OUTBOX_MAX_HEADERS 64

/* The Kafka header the worker puts on every message it publishes. */
#define CDC_EVENT_ID_HEADER "cdc.event_id"

#include "access/htup.h"
#include "utils/relcache.h"

#include "cdc_core.h"

/* Where the roles of an outbox table's columns are (cdc_plugin.outbox_columns). */
typedef struct CdcOutboxColumns
{
	AttrNumber	attnum[CDC_OUTBOX_NROLES];	/* 0: the table has no such column */
	int			nplaceholders;	/* ${column}s of the topic template */
	AttrNumber *placeholder_attnums;
} CdcOutboxColumns;

/*
 * Finds the role columns of an outbox table and the columns its topic
 * template names; an ERROR naming the table and the missing column when a
 * required one (id, aggregateid, payload, the template's) is not there.
 */
extern void cdc_outbox_resolve(const cdc_options *opts, Relation rel, CdcOutboxColumns *cols,
							   MemoryContext cxt);

/*
 * The outbox event of a row inserted into an outbox table: topic from the
 * template (characters Kafka does not take become '_'), key aggregateid,
 * value payload, headers id, type and the members of the headers column.
 * headers holds CDC_OUTBOX_MAX_HEADERS entries. Allocates in the current
 * memory context.
 */
extern void cdc_outbox_from_row(const cdc_options *opts, Relation rel, const CdcOutboxColumns *cols,
								HeapTuple tuple, cdc_outbox *out, cdc_outbox_header *headers);

/*
 * The worker, at the start of a session (outside any transaction): false
 * with the problem when an outbox table lacks a column it needs, so that
 * the worker waits for a reload instead of failing at its first insert.
 */
extern bool cdc_outbox_tables_ready(char *problem, size_t len);

#endif							/* CDC_OUTBOX_H */
