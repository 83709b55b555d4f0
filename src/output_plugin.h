/*
 * output_plugin.h — what the in-process worker learns from the output
 * plugin beyond the envelope bytes.
 *
 * SQL and replication-protocol consumers get only the envelope. The worker
 * also needs to route each envelope (schema, table, Kafka key) and to know
 * where each transaction ends. After creating its decoding context it
 * attaches a sink to it; the sink is allocated in the context's memory and
 * hung on the plugin's per-slot state, so it lives exactly as long as the
 * context and no other decoding context in the process ever sees it. The
 * plugin fills the sink's route before every write and calls commit() at
 * every commit it decodes.
 */
#ifndef CDC_OUTPUT_PLUGIN_H
#define CDC_OUTPUT_PLUGIN_H

#include "replication/logical.h"
#include "replication/reorderbuffer.h"

/* Where the envelope being written belongs; valid during the write callback only. */
typedef struct CdcOutputRoute
{
	int			op;				/* cdc_op */
	const char *schema;			/* UTF-8; NULL for events without a table */
	const char *table;
	const char *key;			/* encoded cdc.v1.Row, NULL if the table has no key */
	size_t		keylen;
} CdcOutputRoute;

typedef void (*CdcOutputCommitCallback) (void *arg, ReorderBufferTXN *txn);

typedef struct CdcOutputSink
{
	/* Called at every decoded commit, after the transaction's writes. */
	CdcOutputCommitCallback commit;
	void	   *arg;
	CdcOutputRoute route;		/* filled by the plugin before each write */

	/*
	 * Set by the worker when it abandons its session: nothing more will be
	 * sent, so the plugin skips the work of encoding what is left.
	 */
	bool		stopped;
} CdcOutputSink;

/*
 * Attaches a sink to ctx, a decoding context of this plugin (ERROR for any
 * other plugin's). Returns the sink, allocated in ctx->context.
 */
extern CdcOutputSink *cdc_output_attach_sink(LogicalDecodingContext *ctx,
											 CdcOutputCommitCallback commit, void *arg);

/* The sink attached to ctx, or NULL (every consumer but the worker). */
extern const CdcOutputSink *cdc_output_sink_of(LogicalDecodingContext *ctx);

#endif							/* CDC_OUTPUT_PLUGIN_H */
