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
 * every commit it decodes. Tables of the extension's own schema
 * (cdc_plugin: the snapshot queue) are never published, to any consumer.
 */
#ifndef CDC_OUTPUT_PLUGIN_H
#define CDC_OUTPUT_PLUGIN_H

#include "replication/logical.h"
#include "replication/reorderbuffer.h"

/* Where the envelope being written belongs; valid during the write callback only. */
typedef struct CdcOutputRoute
{
	int			op;				/* cdc_op */
	Oid			relid;			/* the table; InvalidOid for events without one */
	const char *schema;			/* UTF-8; NULL for events without a table */
	const char *table;
	const char *key;			/* encoded cdc.v1.Row, NULL if the table has no key */
	size_t		keylen;
	const char *old_key;		/* an UPDATE that changed the key: the old one */
	size_t		old_keylen;
	int			partition;		/* -1: by key (the producer's partitioner) */
	bool		every_partition;	/* a schema event: a copy to every partition */
	const char *former_schema;	/* a schema event of a renamed table: copies go */
	const char *former_table;	/* to the former topic too (NULL: none) */
	const struct cdc_outbox *outbox;	/* an outbox event: published as it is */

	/*
	 * What the event id (header cdc.event_id) is made of: the commit LSN of
	 * the event's transaction and its position there (0: an event outside
	 * the transaction's order, which lsn then tells apart).
	 */
	uint64		commit_lsn;
	uint64		total_order;
	uint64		lsn;
	uint64		seq;			/* r events: the row's place at its position (from 1) */
	uint64		xid;			/* begin and commit: the Kafka key of the transaction topic */
	const char *message_prefix; /* m events: the Kafka key of the messages topic */
} CdcOutputRoute;

typedef void (*CdcOutputCommitCallback) (void *arg, ReorderBufferTXN *txn);

/*
 * Logical messages with this prefix are the worker's snapshot watermarks:
 * they are never written as events (for any consumer); a sink receives
 * the transactional ones through its watermark callback, in commit order.
 */
#define CDC_WATERMARK_PREFIX "cdc_plugin.watermark"

/*
 * Logical messages with this prefix are schema events, written by the
 * event trigger (schema_ddl.c) in the DDL's transaction: a JSON object
 * describing one captured table's new shape. Never written as m events,
 * for any consumer; with the decoding option include-schema-events they
 * are written as schema events (route.every_partition set).
 */
#define CDC_SCHEMA_PREFIX "cdc_plugin.schema"

/* The extension's schema: its tables are never published. */
#define CDC_EXTENSION_SCHEMA "cdc_plugin"

typedef void (*CdcOutputWatermarkCallback) (void *arg, ReorderBufferTXN *txn, XLogRecPtr lsn,
											const char *content, Size size);

typedef struct CdcOutputSink
{
	/* Called at every decoded commit, after the transaction's writes. */
	CdcOutputCommitCallback commit;
	CdcOutputWatermarkCallback watermark;	/* NULL: ignore watermarks */
	void	   *arg;
	CdcOutputRoute route;		/* filled by the plugin before each write */

	/*
	 * Set by the worker when it abandons its session: nothing more will be
	 * sent, so the plugin skips the work of encoding what is left.
	 */
	bool		stopped;

	/*
	 * Set by the worker while a snapshot runs: the route then also carries
	 * the old key of an UPDATE that has an old image (encoded only then;
	 * a REPLICA IDENTITY FULL table would pay for it at every update).
	 */
	bool		want_old_keys;
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
