/*
 * output_plugin.h — what the in-process worker learns from the output
 * plugin beyond the envelope bytes.
 *
 * SQL and replication-protocol consumers get only the envelope. The worker
 * also needs to route each envelope (schema, table, Kafka key) and to know
 * where each transaction ends, so before creating its decoding context it
 * points cdc_output_sink at one of these; the plugin fills the routing
 * fields before every write and calls commit() at every commit it decodes.
 */
#ifndef CDC_OUTPUT_PLUGIN_H
#define CDC_OUTPUT_PLUGIN_H

#include "replication/reorderbuffer.h"

typedef struct CdcOutputSink
{
	/* Called at every decoded commit, after the transaction's writes. */
	void		(*commit) (ReorderBufferTXN *txn);

	/* Filled before each write; valid during the write callback only. */
	int			op;				/* cdc_op */
	const char *schema;			/* UTF-8; NULL for events without a table */
	const char *table;
	const char *key;			/* encoded cdc.v1.Row, NULL if the table has no key */
	size_t		keylen;
} CdcOutputSink;

/* NULL (the default) for every consumer but the worker. */
extern CdcOutputSink *cdc_output_sink;

#endif							/* CDC_OUTPUT_PLUGIN_H */
