/*
 * output_plugin.c — the cdc_plugin logical decoding output plugin.
 *
 * Turns each committed change handed over by logical decoding into one
 * cdc.v1.Envelope written as one binary output message. It owns the
 * decoding callbacks, the decoding options and the per-slot state; it knows
 * nothing of Kafka. What it knows of each relation is cached for the
 * slot's life and rebuilt, one relation at a time, after an invalidation
 * of that relation, its schema or a type of its columns. All per-change
 * allocations go to a memory context reset after every callback; the C++
 * core (encoder, options) is reached only through cdc_core.h, whose
 * functions never throw and never call ereport.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "access/xact.h"
#include "commands/dbcommands.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "replication/logical.h"
#include "replication/output_plugin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

#include "cdc_core.h"
#include "output_plugin.h"
#include "row_image.h"
#include "outbox.h"
#include "schema_event.h"

/*
 * Filtered-out changes between two progress reports. A walsender reads its
 * client's replies and sends keepalives only when a plugin writes or reports
 * progress; 100 is what pgoutput uses.
 */
#define CDC_SKIPPED_PER_PROGRESS 100

/* An envelope this large gets an output buffer of its own size, freed after it. */
#define CDC_LARGE_ENVELOPE ((size_t) 8 << 20)

/* Microseconds between 1970-01-01 and 2000-01-01 (PostgreSQL's epoch). */
#define CDC_UNIX_EPOCH_OFFSET_US \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)

/*
 * Cached facts about one relation. An invalidation that concerns it only
 * clears valid (a pointer to the entry may be in use); the next lookup
 * rebuilds it by resetting its own memory context, and entries still
 * invalid at the next BEGIN are freed.
 */
typedef struct CdcRelEntry
{
	Oid			relid;			/* hash key */
	bool		valid;			/* false once an invalidation concerned it */
	bool		built;			/* false until the last (re)build completed */
	bool		included;		/* passes include-tables / exclude-tables; never an outbox table */
	bool		outbox;			/* matches outbox-tables: inserts are outbox events */
	CdcOutboxColumns *outbox_columns;	/* NULL until its first insert */
	bool		outbox_update_warned;
	MemoryContext cxt;			/* names, desc, source header, type hashes */
	char	   *schema;
	char	   *table;
	uint32		namespace_hash; /* NAMESPACEOID hash value of its schema */
	CdcRelDesc *desc;			/* NULL until first needed */
	uint32	   *type_hashes;	/* TYPEOID hash values of its column types
								 * and their element types; set with desc */
	int			ntype_hashes;
	cdc_bytes	source_header;	/* encoded source fields; data NULL until built */
	uint64		schema_version; /* include-schema-events: in cdc_plugin.schema_state
								 * as of the build (0: none) */
	bool		schema_checked; /* schema_version was sent (or restated) since the build */
	struct CdcTxnTable *txn_table;	/* counter in the current transaction, */
	uint64		txn_generation; /* ... valid while this equals the state's */
} CdcRelEntry;

/* include-schema-events: the schema version last sent for a table. */
typedef struct CdcSchemaSent
{
	Oid			relid;			/* hash key */
	uint64		version;
} CdcSchemaSent;

/* Events of the current transaction for one table. */
typedef struct CdcTxnTable
{
	Oid			relid;			/* hash key */
	char	   *schema;
	char	   *table;
	uint64		count;
	uint64		first_event;	/* total_order of its first event */
} CdcTxnTable;

/*
 * Per-slot decoding state, hung on ctx->output_plugin_private and allocated
 * in ctx->context. The C++ objects are freed by a reset callback on that
 * context, so an ERROR that skips the shutdown callback does not leak them.
 */
typedef struct CdcDecodingState
{
	MemoryContext change_cxt;	/* reset after every callback */
	MemoryContext cache_cxt;	/* relation cache and its entries' contexts */
	MemoryContext txn_cxt;		/* per-transaction counters; reset at BEGIN */
	cdc_encoder *encoder;
	cdc_options *options;
	cdc_option_flags flags;
	char	   *database;
	HTAB	   *relcache;		/* relid -> CdcRelEntry */
	bool		relcache_has_invalid;	/* some entry was invalidated */
	CdcRelEntry *last_entry;	/* the entry looked up last (most changes
								 * come in runs on one table) */

	/* the transaction being decoded */
	HTAB	   *txn_tables;		/* relid -> CdcTxnTable, emptied at BEGIN */
	uint64		txn_generation; /* bumped at every BEGIN */
	uint64		txn_event_count;
	bool		txn_begin_sent;
	int			skipped_since_progress; /* filtered out since the last report */
	MemoryContextCallback free_callback;

	HTAB	   *schema_sent;	/* relid -> CdcSchemaSent; include-schema-events */

	CdcOutputSink *sink;		/* attached by the worker; NULL otherwise */
} CdcDecodingState;

/* True when the attached sink will send nothing more: skip the work. */
#define CDC_SINK_STOPPED(st) ((st)->sink != NULL && (st)->sink->stopped)

/*
 * The decoding state the invalidation callbacks act on. They are registered
 * once per backend and cannot be removed, while a state lives only as long
 * as its decoding context (one SQL call, for the SQL interface): the reset
 * callback of that context clears this, and the callbacks do nothing then.
 */
static CdcDecodingState *cdc_live_state = NULL;
static bool cdc_invalidation_registered = false;

static void cdc_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt, bool is_init);
static void cdc_shutdown(LogicalDecodingContext *ctx);
static void cdc_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn);
static void cdc_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, XLogRecPtr commit_lsn);
static void cdc_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, Relation rel,
					   ReorderBufferChange *change);
static void cdc_truncate(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, int nrelations,
						 Relation relations[], ReorderBufferChange *change);
static void cdc_message(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, XLogRecPtr lsn,
						bool transactional, const char *prefix, Size sz, const char *message);

extern PGDLLEXPORT void _PG_output_plugin_init(OutputPluginCallbacks *cb);

/* Only assigns the callbacks (PostgreSQL looks this symbol up by name). */
void
_PG_output_plugin_init(OutputPluginCallbacks *cb)
{
	cb->startup_cb = cdc_startup;
	cb->begin_cb = cdc_begin;
	cb->change_cb = cdc_change;
	cb->truncate_cb = cdc_truncate;
	cb->commit_cb = cdc_commit;
	cb->message_cb = cdc_message;
	cb->shutdown_cb = cdc_shutdown;
}

/* Marks an entry for a rebuild at its next lookup; never frees anything. */
static void
cdc_rel_entry_invalidate(CdcDecodingState *st, CdcRelEntry *entry)
{
	entry->valid = false;
	st->relcache_has_invalid = true;
}

/* A relation's catalog entry changed: its entry only, or all for InvalidOid. */
static void
cdc_invalidate_relcache(Datum arg, Oid relid)
{
	CdcDecodingState *st = cdc_live_state;
	CdcRelEntry *entry;

	if (st == NULL || st->relcache == NULL)
		return;
	if (OidIsValid(relid))
	{
		entry = hash_search(st->relcache, &relid, HASH_FIND, NULL);
		if (entry != NULL)
			cdc_rel_entry_invalidate(st, entry);
	}
	else
	{
		HASH_SEQ_STATUS seq;

		hash_seq_init(&seq, st->relcache);
		while ((entry = hash_seq_search(&seq)) != NULL)
			cdc_rel_entry_invalidate(st, entry);
	}
}

/* True when a type's TYPEOID hash value is one of the entry's column types'. */
static bool
cdc_rel_entry_uses_type(const CdcRelEntry *entry, uint32 hashvalue)
{
	int			i;

	for (i = 0; i < entry->ntype_hashes; i++)
		if (entry->type_hashes[i] == hashvalue)
			return true;
	return false;
}

/*
 * A schema (NAMESPACEOID) or type (TYPEOID) changed, maybe renamed: marks
 * the entries in that schema, or whose columns use that type, since they
 * hold its name. Hash value 0 means every row of that catalog.
 */
static void
cdc_invalidate_syscache(Datum arg, int cacheid, uint32 hashvalue)
{
	CdcDecodingState *st = cdc_live_state;
	HASH_SEQ_STATUS seq;
	CdcRelEntry *entry;

	/* composites' field descriptions hold type names as well */
	if (cacheid == TYPEOID)
		cdc_row_image_types_changed();
	if (st == NULL || st->relcache == NULL)
		return;
	hash_seq_init(&seq, st->relcache);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		if (!entry->valid)
			continue;
		if (hashvalue == 0 ||
			(cacheid == NAMESPACEOID && entry->namespace_hash == hashvalue) ||
			(cacheid == TYPEOID && cdc_rel_entry_uses_type(entry, hashvalue)))
			cdc_rel_entry_invalidate(st, entry);
	}
}

/*
 * Frees the C++ objects when the decoding context goes away, on any path,
 * and detaches the invalidation callbacks from the state.
 */
static void
cdc_free_core_objects(void *arg)
{
	CdcDecodingState *st = (CdcDecodingState *) arg;

	if (cdc_live_state == st)
		cdc_live_state = NULL;
	cdc_encoder_destroy(st->encoder);
	st->encoder = NULL;
	cdc_options_destroy(st->options);
	st->options = NULL;
}

/* Reports a failure of the C++ core as an ERROR. */
static void
cdc_core_failed(const char *what, const char *errbuf)
{
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("cdc_plugin could not %s: %s", what, errbuf)));
}

/* A hash table keyed by relation OID, living in cxt. */
static HTAB *
cdc_relid_hash(const char *name, Size entrysize, MemoryContext cxt)
{
	HASHCTL		hctl;

	memset(&hctl, 0, sizeof(hctl));
	hctl.keysize = sizeof(Oid);
	hctl.entrysize = entrysize;
	hctl.hcxt = cxt;
	return hash_create(name, 32, &hctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * Frees the relation entries still invalid (dropped relations, mostly, or
 * ones not changed since their invalidation); between transactions, where
 * no pointer to an entry is in use.
 */
static void
cdc_relcache_sweep(CdcDecodingState *st)
{
	HASH_SEQ_STATUS seq;
	CdcRelEntry *entry;

	if (!st->relcache_has_invalid)
		return;
	st->relcache_has_invalid = false;
	st->last_entry = NULL;
	hash_seq_init(&seq, st->relcache);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		if (entry->valid)
			continue;
		if (entry->cxt != NULL)
			MemoryContextDelete(entry->cxt);
		/* dynahash allows removing the element just returned by a scan */
		(void) hash_search(st->relcache, &entry->relid, HASH_REMOVE, NULL);
	}
}

/*
 * Empties the per-transaction table counters. The hash table itself lives
 * as long as the slot (building one per transaction cost ~5% of decoding
 * one-row transactions); only the copied names go with txn_cxt.
 */
static void
cdc_txn_reset(CdcDecodingState *st)
{
	if (hash_get_num_entries(st->txn_tables) > 0)
	{
		HASH_SEQ_STATUS seq;
		CdcTxnTable *t;

		hash_seq_init(&seq, st->txn_tables);
		while ((t = hash_seq_search(&seq)) != NULL)
			(void) hash_search(st->txn_tables, &t->relid, HASH_REMOVE, NULL);
	}
	MemoryContextReset(st->txn_cxt);
	st->txn_generation++;
	st->txn_event_count = 0;
	st->txn_begin_sent = false;
}

/*
 * The database name for the source block. A walsender runs the startup
 * callback outside any transaction, where the catalogs cannot be read; when
 * it is about to stream, a short transaction of our own reads the name (a
 * non-transactional message may come before any decoded transaction). At
 * slot creation nothing is sent, so nothing is looked up.
 */
static char *
cdc_database_name(LogicalDecodingContext *ctx, bool is_init)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	char	   *name;

	if (IsTransactionState())
		return MemoryContextStrdup(ctx->context,
								   cdc_server_cstring(get_database_name(MyDatabaseId)));
	if (is_init)
		return NULL;
	StartTransactionCommand();
	name = MemoryContextStrdup(ctx->context,
							   cdc_server_cstring(get_database_name(MyDatabaseId)));
	CommitTransactionCommand();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;
	return name;
}

/* Parses the decoding options and sets up the per-slot state. */
static void
cdc_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt, bool is_init)
{
	CdcDecodingState *st;
	ListCell   *lc;
	char		errbuf[CDC_ERRBUF_SIZE];

	st = MemoryContextAllocZero(ctx->context, sizeof(CdcDecodingState));
	st->change_cxt = AllocSetContextCreate(ctx->context, "cdc_plugin change",
										   ALLOCSET_DEFAULT_SIZES);
	st->cache_cxt = AllocSetContextCreate(ctx->context, "cdc_plugin relation cache",
										  ALLOCSET_DEFAULT_SIZES);
	st->txn_cxt = AllocSetContextCreate(ctx->context, "cdc_plugin transaction",
										ALLOCSET_SMALL_SIZES);
	st->free_callback.func = cdc_free_core_objects;
	st->free_callback.arg = st;
	MemoryContextRegisterResetCallback(ctx->context, &st->free_callback);
	ctx->output_plugin_private = st;

	opt->output_type = OUTPUT_PLUGIN_BINARY_OUTPUT;
	opt->receive_rewrites = false;

	st->options = cdc_options_create(errbuf, sizeof(errbuf));
	if (st->options == NULL)
		cdc_core_failed("set up decoding options", errbuf);
	foreach(lc, ctx->output_plugin_options)
	{
		DefElem    *elem = lfirst_node(DefElem, lc);
		const char *value = elem->arg ? strVal(elem->arg) : NULL;

		if (cdc_options_set(st->options, elem->defname, value, errbuf, sizeof(errbuf)) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s", errbuf),
					 errhint("See the \"Decoding options\" section of the cdc_plugin README.")));
	}
	cdc_options_get_flags(st->options, &st->flags);

	st->encoder = cdc_encoder_create(CDC_PLUGIN_VERSION, errbuf, sizeof(errbuf));
	if (st->encoder == NULL)
		cdc_core_failed("set up the envelope encoder", errbuf);
	/* PostgreSQL has verified every string; converted ones are UTF-8 too */
	cdc_row_image_init(st->flags.include_type_names);
	cdc_encoder_trust_utf8(st->encoder, GetDatabaseEncoding() != PG_SQL_ASCII);

	st->database = cdc_database_name(ctx, is_init);

	if (!cdc_invalidation_registered)
	{
		CacheRegisterRelcacheCallback(cdc_invalidate_relcache, (Datum) 0);
		CacheRegisterSyscacheCallback(TYPEOID, cdc_invalidate_syscache, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, cdc_invalidate_syscache, (Datum) 0);
		cdc_invalidation_registered = true;
	}
	st->relcache = cdc_relid_hash("cdc_plugin relation cache", sizeof(CdcRelEntry),
								  st->cache_cxt);
	cdc_live_state = st;
	st->txn_tables = cdc_relid_hash("cdc_plugin transaction tables", sizeof(CdcTxnTable),
									ctx->context);
	if (st->flags.include_schema_events)
		st->schema_sent = cdc_relid_hash("cdc_plugin schema versions sent",
										 sizeof(CdcSchemaSent), ctx->context);
	cdc_txn_reset(st);
}

/* Attaches the worker's sink to one of this plugin's decoding contexts. */
CdcOutputSink *
cdc_output_attach_sink(LogicalDecodingContext *ctx, CdcOutputCommitCallback commit, void *arg)
{
	CdcDecodingState *st = ctx->output_plugin_private;

	if (ctx->callbacks.startup_cb != cdc_startup || st == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a cdc_plugin sink can only be attached to a cdc_plugin decoding context")));
	st->sink = MemoryContextAllocZero(ctx->context, sizeof(CdcOutputSink));
	st->sink->commit = commit;
	st->sink->arg = arg;
	st->sink->route.partition = -1;
	return st->sink;
}

/* The sink attached to ctx, or NULL. */
const CdcOutputSink *
cdc_output_sink_of(LogicalDecodingContext *ctx)
{
	CdcDecodingState *st = ctx->output_plugin_private;

	return st != NULL ? st->sink : NULL;
}

/* Releases the C++ objects early; the memory goes with ctx->context. */
static void
cdc_shutdown(LogicalDecodingContext *ctx)
{
	CdcDecodingState *st = ctx->output_plugin_private;

	if (st != NULL)
		cdc_free_core_objects(st);
}

/*
 * Describes an entry's columns, and notes the TYPEOID hash values of the
 * types whose names they show (array element types too) for invalidations.
 */
static void
cdc_rel_entry_build_desc(CdcRelEntry *entry, Relation rel)
{
	CdcRelDesc *desc = cdc_rel_desc_build(rel, entry->cxt);
	const CdcTypeInfo *type;
	int			n = 0;
	int			i;

	for (i = 0; i < desc->natts; i++)
		if (!desc->columns[i].dropped)
			for (type = &desc->columns[i].type; type != NULL; type = type->element)
				n++;
	entry->type_hashes = MemoryContextAlloc(entry->cxt, sizeof(uint32) * Max(n, 1));
	n = 0;
	for (i = 0; i < desc->natts; i++)
		if (!desc->columns[i].dropped)
			for (type = &desc->columns[i].type; type != NULL; type = type->element)
				entry->type_hashes[n++] = GetSysCacheHashValue1(TYPEOID,
																ObjectIdGetDatum(type->typid));
	entry->ntype_hashes = n;
	entry->desc = desc;
}

/*
 * (Re)builds an entry's names in its own memory context, freeing what an
 * earlier build of it kept there. It is marked valid first, so that an
 * invalidation arriving while it is built marks it for the next lookup.
 */
static void
cdc_rel_entry_build(CdcDecodingState *st, CdcRelEntry *entry, Relation rel)
{
	Oid			nspoid = RelationGetNamespace(rel);
	char	   *schema;
	char	   *table = RelationGetRelationName(rel);

	entry->valid = true;
	entry->built = false;
	if (entry->cxt == NULL)
		entry->cxt = AllocSetContextCreate(st->cache_cxt, "cdc_plugin relation",
										   ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(entry->cxt);
	entry->desc = NULL;
	entry->type_hashes = NULL;
	entry->ntype_hashes = 0;
	entry->source_header.data = NULL;
	entry->source_header.len = 0;

	schema = get_namespace_name(nspoid);
	/* patterns come in the server encoding, like the names they match */
	entry->outbox = strcmp(schema, CDC_EXTENSION_SCHEMA) != 0 &&
		cdc_options_table_outbox(st->options, schema, table);
	entry->outbox_columns = NULL;
	entry->outbox_update_warned = false;
	entry->included = !entry->outbox && strcmp(schema, CDC_EXTENSION_SCHEMA) != 0 &&
		cdc_options_table_included(st->options, schema, table);
	entry->schema = MemoryContextStrdup(entry->cxt, cdc_server_cstring(schema));
	entry->table = MemoryContextStrdup(entry->cxt, cdc_server_cstring(table));
	entry->namespace_hash = GetSysCacheHashValue1(NAMESPACEOID, ObjectIdGetDatum(nspoid));
	/* read as of the decoded position: the catalog snapshot is the historic one */
	entry->schema_version = st->flags.include_schema_events && entry->included ?
		cdc_schema_version_of(entry->relid) : 0;
	entry->schema_checked = false;
	entry->built = true;
}

/*
 * Looks up the cached entry of a relation, rebuilding it when it was
 * invalidated (or its description no longer matches the relation's).
 * Allocates only in the entry's context, and temporarily in the current one.
 */
static CdcRelEntry *
cdc_rel_entry(CdcDecodingState *st, Relation rel, bool need_desc)
{
	CdcRelEntry *entry;
	bool		found = true;
	Oid			relid = RelationGetRelid(rel);

	if (st->last_entry != NULL && st->last_entry->relid == relid)
		entry = st->last_entry;
	else
		entry = hash_search(st->relcache, &relid, HASH_ENTER, &found);
	st->last_entry = entry;
	if (!found)
	{
		entry->valid = false;
		entry->built = false;
		entry->cxt = NULL;
		entry->txn_table = NULL;
		entry->txn_generation = 0;
	}
	/* the transaction's counter (txn_table) stays: it is keyed by relid */
	if (!entry->valid || !entry->built ||
		(entry->desc != NULL &&
		 !cdc_columns_match(entry->desc->columns, entry->desc->natts, RelationGetDescr(rel))))
		cdc_rel_entry_build(st, entry, rel);
	if (need_desc && entry->included && entry->desc == NULL)
		cdc_rel_entry_build_desc(entry, rel);
	return entry;
}

/*
 * Makes room for a large envelope in the output buffer at its exact size:
 * StringInfo's doubling would hold up to twice the envelope, and a copy of
 * the old buffer while it grows.
 */
static void
cdc_out_reserve(StringInfo out, size_t len)
{
	size_t		need = (size_t) out->len + len + 1;
	char	   *data;

	if (need <= (size_t) out->maxlen || len < CDC_LARGE_ENVELOPE)
		return;
	if (need > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("cdc_plugin could not write an envelope of %zu bytes: more than 1 GB", len)));
	data = MemoryContextAlloc(GetMemoryChunkContext(out->data), need);
	memcpy(data, out->data, out->len + 1);
	pfree(out->data);
	out->data = data;
	out->maxlen = (int) need;
}

/* After a large envelope was written: give its memory back. */
static void
cdc_out_shrink(StringInfo out)
{
	char	   *data;

	if (out->maxlen < CDC_LARGE_ENVELOPE)
		return;
	data = MemoryContextAlloc(GetMemoryChunkContext(out->data), 1024);
	pfree(out->data);
	out->data = data;
	out->maxlen = 1024;
	resetStringInfo(out);
}

/*
 * Writes one envelope as one output message. relid and old_key are for
 * the worker's route: the table, and the old key of an UPDATE that changed
 * it (NULL otherwise).
 */
static void
cdc_write_event(LogicalDecodingContext *ctx, const cdc_event *event, bool last_write,
				Oid relid, const cdc_row *old_key)
{
	CdcDecodingState *st = ctx->output_plugin_private;
	const char *data;
	size_t		len;
	char		errbuf[CDC_ERRBUF_SIZE];

	if (cdc_encoder_encode(st->encoder, event, &data, &len, errbuf, sizeof(errbuf)) != 0)
		cdc_core_failed("encode a change envelope", errbuf);
	OutputPluginPrepareWrite(ctx, last_write);
	cdc_out_reserve(ctx->out, len);
	appendBinaryStringInfo(ctx->out, data, len);
	if (st->sink != NULL)
	{
		CdcOutputRoute *route = &st->sink->route;

		route->op = event->op;
		route->relid = relid;
		route->schema = event->source.schema;
		route->table = event->source.table;
		route->key = NULL;
		route->keylen = 0;
		route->old_key = NULL;
		route->old_keylen = 0;
		route->partition = -1;
		route->every_partition = event->op == CDC_OP_SCHEMA;
		route->outbox = event->op == CDC_OP_OUTBOX ? event->outbox : NULL;
		route->commit_lsn = event->source.commit_lsn;
		route->total_order = event->txn_total_order;
		route->lsn = event->source.lsn;
		route->xid = event->source.xid;
		route->message_prefix = event->op == CDC_OP_MESSAGE ? event->message_prefix : NULL;
		route->former_schema = NULL;
		route->former_table = NULL;
		if (event->op == CDC_OP_SCHEMA && event->schema_change->renamed_from_table != NULL)
		{
			route->former_schema = event->schema_change->renamed_from_schema;
			route->former_table = event->schema_change->renamed_from_table;
		}
		/* after the envelope is copied out: both share the encoder's buffer */
		if (old_key != NULL)
		{
			const char *k;
			size_t		klen;

			if (cdc_encoder_encode_key(st->encoder, old_key, &k, &klen,
									   errbuf, sizeof(errbuf)) != 0)
				cdc_core_failed("encode a change key", errbuf);
			/* the next encoding reuses the encoder's buffer */
			route->old_key = pnstrdup(k, klen);
			route->old_keylen = klen;
		}
		if (event->key != NULL &&
			cdc_encoder_encode_key(st->encoder, event->key, &route->key, &route->keylen,
								   errbuf, sizeof(errbuf)) != 0)
			cdc_core_failed("encode a change key", errbuf);
	}
	OutputPluginWrite(ctx, last_write);
	cdc_out_shrink(ctx->out);
}

/* Fills the transaction-level part of an event's source. */
static void
cdc_fill_source(CdcDecodingState *st, ReorderBufferTXN *txn, XLogRecPtr lsn,
				cdc_source *source)
{
	source->database = st->database;
	source->lsn = lsn;
	if (txn != NULL)
	{
		source->commit_lsn = txn->final_lsn;
		source->xid = txn->xid;
		if (txn->xact_time.commit_time != 0)
			source->commit_time_us = txn->xact_time.commit_time + CDC_UNIX_EPOCH_OFFSET_US;
	}
}

/* Sends the BEGIN event if it is wanted and not yet sent. */
static void
cdc_send_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	CdcDecodingState *st = ctx->output_plugin_private;
	cdc_event	event;

	if (st->txn_begin_sent || !st->flags.include_transaction_events)
		return;
	memset(&event, 0, sizeof(event));
	event.op = CDC_OP_BEGIN;
	cdc_fill_source(st, txn, txn->first_lsn, &event.source);
	event.has_transaction = true;
	event.txn_id = txn->xid;
	cdc_write_event(ctx, &event, false, InvalidOid, NULL);
	st->txn_begin_sent = true;
}

/*
 * A change, truncate or message was filtered out. Nothing is written for
 * it, so every CDC_SKIPPED_PER_PROGRESS of them the progress is reported:
 * a walsender then reads its client's replies and sends a keepalive when
 * one is due, so that a long filtered run (a huge transaction on an
 * excluded table) does not end the connection by wal_sender_timeout. The
 * SQL functions and the worker have no progress callback, where
 * OutputPluginUpdateProgress() does nothing.
 */
static void
cdc_skipped(LogicalDecodingContext *ctx)
{
	CdcDecodingState *st = ctx->output_plugin_private;

	if (++st->skipped_since_progress < CDC_SKIPPED_PER_PROGRESS)
		return;
	st->skipped_since_progress = 0;
	OutputPluginUpdateProgress(ctx, false);
}

/* Starts counting a transaction's events; BEGIN itself may wait. */
static void
cdc_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	CdcDecodingState *st = ctx->output_plugin_private;

	cdc_relcache_sweep(st);
	cdc_txn_reset(st);
	if (!st->flags.skip_empty_xacts)
	{
		MemoryContext old = MemoryContextSwitchTo(st->change_cxt);

		cdc_send_begin(ctx, txn);
		MemoryContextSwitchTo(old);
		MemoryContextReset(st->change_cxt);
	}
}

/* qsort order of CdcTxnTable pointers: by first event. */
static int
cdc_txn_table_cmp(const void *a, const void *b)
{
	const CdcTxnTable *x = *(const CdcTxnTable *const *) a;
	const CdcTxnTable *y = *(const CdcTxnTable *const *) b;

	return x->first_event < y->first_event ? -1 : x->first_event > y->first_event;
}

/*
 * Sends COMMIT with per-table counts, if BEGIN was sent: the tables in the
 * order the transaction first changed them.
 */
static void
cdc_send_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, XLogRecPtr commit_lsn)
{
	CdcDecodingState *st = ctx->output_plugin_private;
	MemoryContext old;
	cdc_event	event;
	cdc_table_count *counts;
	CdcTxnTable **tables;
	HASH_SEQ_STATUS seq;
	CdcTxnTable *t;
	size_t		n = 0;

	if (!st->txn_begin_sent || CDC_SINK_STOPPED(st))
		return;
	old = MemoryContextSwitchTo(st->change_cxt);
	memset(&event, 0, sizeof(event));
	event.op = CDC_OP_COMMIT;
	cdc_fill_source(st, txn, commit_lsn, &event.source);
	event.has_transaction = true;
	event.txn_id = txn->xid;
	event.event_count = st->txn_event_count;
	counts = palloc0(sizeof(cdc_table_count) * Max(hash_get_num_entries(st->txn_tables), 1));
	tables = palloc(sizeof(CdcTxnTable *) * Max(hash_get_num_entries(st->txn_tables), 1));
	hash_seq_init(&seq, st->txn_tables);
	while ((t = hash_seq_search(&seq)) != NULL)
		tables[n++] = t;
	qsort(tables, n, sizeof(CdcTxnTable *), cdc_txn_table_cmp);
	for (size_t i = 0; i < n; i++)
	{
		counts[i].schema = tables[i]->schema;
		counts[i].table = tables[i]->table;
		counts[i].event_count = tables[i]->count;
	}
	event.table_counts = counts;
	event.ntable_counts = n;
	cdc_write_event(ctx, &event, true, InvalidOid, NULL);
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->change_cxt);
}

/*
 * End of a transaction: progress (telling a walsender whether nothing of
 * it was sent, for its lag tracking and synchronous replication), the
 * COMMIT event if wanted, then tell the worker.
 */
static void
cdc_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, XLogRecPtr commit_lsn)
{
	CdcDecodingState *st = ctx->output_plugin_private;

	st->skipped_since_progress = 0;
	OutputPluginUpdateProgress(ctx, st->txn_event_count == 0 && !st->txn_begin_sent);
	cdc_send_commit(ctx, txn, commit_lsn);
	if (st->sink != NULL)
		st->sink->commit(st->sink->arg, txn);
}

/* Numbers an event within its transaction and within its table. */
static void
cdc_count_event(CdcDecodingState *st, ReorderBufferTXN *txn, CdcRelEntry *entry,
				cdc_event *event)
{
	CdcTxnTable *t;
	bool		found;

	st->txn_event_count++;
	event->has_transaction = true;
	event->txn_id = txn->xid;
	event->txn_total_order = st->txn_event_count;
	if (entry == NULL)
		return;
	if (entry->txn_generation == st->txn_generation)
		t = entry->txn_table;
	else
	{
		t = hash_search(st->txn_tables, &entry->relid, HASH_ENTER, &found);
		if (!found)
		{
			t->schema = MemoryContextStrdup(st->txn_cxt, entry->schema);
			t->table = MemoryContextStrdup(st->txn_cxt, entry->table);
			t->count = 0;
			t->first_event = st->txn_event_count;
		}
		entry->txn_table = t;
		entry->txn_generation = st->txn_generation;
	}
	t->count++;
	event->txn_data_collection_order = t->count;
}

/* Encodes a table's fixed source fields (connector to table) for reuse. */
static void
cdc_build_source_header(CdcDecodingState *st, CdcRelEntry *entry)
{
	size_t		cap = (st->database ? strlen(st->database) : 0) + strlen(entry->schema) +
		strlen(entry->table) + strlen(CDC_PLUGIN_VERSION) + 64;
	char	   *buf = MemoryContextAlloc(entry->cxt, cap);
	size_t		len;
	char		errbuf[CDC_ERRBUF_SIZE];

	if (cdc_encoder_source_header(st->encoder, st->database, entry->schema, entry->table,
								  buf, cap, &len, errbuf, sizeof(errbuf)) != 0)
		cdc_core_failed("encode the source of an envelope", errbuf);
	entry->source_header.data = buf;
	entry->source_header.len = len;
}

/*
 * Writes a schema event (include-schema-events) at lsn of txn: not counted
 * among the transaction's events, but after its BEGIN. Notes the version
 * as sent for the table.
 */
static void
cdc_write_schema_event(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, XLogRecPtr lsn,
					   const CdcSchemaEvent *schema)
{
	CdcDecodingState *st = ctx->output_plugin_private;
	cdc_event	event;
	CdcSchemaSent *sent;
	CdcRelEntry *entry;

	memset(&event, 0, sizeof(event));
	event.op = CDC_OP_SCHEMA;
	cdc_fill_source(st, txn, lsn, &event.source);
	event.source.schema = schema->schema;
	event.source.table = schema->table;
	event.source.schema_version = schema->change.version;
	event.schema_change = &schema->change;
	if (txn != NULL)
		cdc_send_begin(ctx, txn);
	cdc_write_event(ctx, &event, true, schema->relid, NULL);
	sent = hash_search(st->schema_sent, &schema->relid, HASH_ENTER, NULL);
	sent->version = schema->change.version;
	/* a cached entry (rebuilt before the change committed) has the version now */
	entry = hash_search(st->relcache, &schema->relid, HASH_FIND, NULL);
	if (entry != NULL && !schema->change.dropped)
		entry->schema_version = schema->change.version;
}

/*
 * include-schema-events: before a table's first event in this decoding
 * session, and whenever the version its events carry is not the one last
 * sent for it, restates its shape from cdc_plugin.schema_state.
 */
static void
cdc_restate_schema(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, CdcRelEntry *entry,
				   XLogRecPtr lsn)
{
	CdcDecodingState *st = ctx->output_plugin_private;
	CdcSchemaSent *sent;
	CdcSchemaEvent schema;

	/* once per build: most changes come here with nothing to do */
	if (entry->schema_checked || entry->schema_version == 0)
		return;
	sent = hash_search(st->schema_sent, &entry->relid, HASH_FIND, NULL);
	if ((sent == NULL || sent->version != entry->schema_version) &&
		cdc_schema_event_restate(entry->relid, &schema))
		cdc_write_schema_event(ctx, txn, lsn, &schema);
	entry->schema_checked = true;
}

/* Completes an event of one table (source, ordering) and writes it. */
static void
cdc_write_table_event(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
					  CdcRelEntry *entry, XLogRecPtr lsn, cdc_event *event,
					  const cdc_row *old_key)
{
	CdcDecodingState *st = ctx->output_plugin_private;

	if (st->flags.include_schema_events)
	{
		cdc_restate_schema(ctx, txn, entry, lsn);
		event->source.schema_version = entry->schema_version;
	}
	cdc_fill_source(st, txn, lsn, &event->source);
	event->source.schema = entry->schema;
	event->source.table = entry->table;
	if (entry->source_header.data == NULL)
		cdc_build_source_header(st, entry);
	event->source.header = entry->source_header;
	cdc_count_event(st, txn, entry, event);
	cdc_send_begin(ctx, txn);
	cdc_write_event(ctx, event, true, entry->relid, old_key);
}

/*
 * Fills the unchanged TOAST values of an UPDATE's new image (after or key)
 * from its old image, where the WAL carries them there: every column under
 * REPLICA IDENTITY FULL, and identity columns whose value lives out of line
 * (PostgreSQL logs those so that the key is never lost). Columns of both
 * images come from one relation description, so they share name pointers.
 */
static void
cdc_fill_unchanged_toast(cdc_row *image, const cdc_row *before)
{
	size_t		i,
				j;

	for (i = 0; i < image->ncolumns; i++)
	{
		cdc_column *col = (cdc_column *) &image->columns[i];

		if (col->value.kind != CDC_VALUE_UNCHANGED_TOAST)
			continue;
		for (j = 0; j < before->ncolumns; j++)
		{
			if (before->columns[j].name == col->name &&
				before->columns[j].value.kind != CDC_VALUE_UNCHANGED_TOAST)
			{
				col->value = before->columns[j].value;
				break;
			}
		}
	}
}

/*
 * A change of an outbox table: an INSERT is an outbox event (counted among
 * its transaction's events, like publish()'s); a DELETE is not published
 * (inserting and deleting the row in one transaction keeps the table
 * empty); an UPDATE is not either, with one WARNING per table.
 */
static void
cdc_outbox_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, CdcRelEntry *entry,
				  Relation rel, ReorderBufferChange *change)
{
	CdcDecodingState *st = ctx->output_plugin_private;
	cdc_outbox	ob;
	cdc_outbox_header headers[CDC_OUTBOX_MAX_HEADERS];
	cdc_event	event;

	if (change->action == REORDER_BUFFER_CHANGE_UPDATE && !entry->outbox_update_warned)
	{
		entry->outbox_update_warned = true;
		ereport(WARNING,
				(errmsg("cdc_plugin does not publish updates of outbox table \"%s.%s\"",
						entry->schema, entry->table),
				 errdetail("Only the rows inserted into an outbox table are published, as events."),
				 errhint("Insert a new row for a new event.")));
	}
	if (change->action != REORDER_BUFFER_CHANGE_INSERT || change->data.tp.newtuple == NULL)
	{
		cdc_skipped(ctx);
		return;
	}
	if (entry->outbox_columns == NULL)
	{
		CdcOutboxColumns *cols = MemoryContextAllocZero(entry->cxt, sizeof(CdcOutboxColumns));

		cdc_outbox_resolve(st->options, rel, cols, entry->cxt);
		entry->outbox_columns = cols;
	}
	cdc_outbox_from_row(st->options, rel, entry->outbox_columns,
						&change->data.tp.newtuple->tuple, &ob, headers);
	memset(&event, 0, sizeof(event));
	event.op = CDC_OP_OUTBOX;
	event.outbox = &ob;
	cdc_fill_source(st, txn, change->lsn, &event.source);
	event.source.schema = entry->schema;
	event.source.table = entry->table;
	cdc_count_event(st, txn, entry, &event);
	cdc_send_begin(ctx, txn);
	cdc_write_event(ctx, &event, true, entry->relid, NULL);
}

/* One INSERT, UPDATE or DELETE. */
static void
cdc_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, Relation rel,
		   ReorderBufferChange *change)
{
	CdcDecodingState *st = ctx->output_plugin_private;
	CdcRelEntry *entry;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	HeapTuple	newtuple = NULL;
	HeapTuple	oldtuple = NULL;
	MemoryContext old;
	cdc_event	event;
	CdcImageColumns before_columns;
	cdc_row   **keyp;
	cdc_row    *old_key = NULL;

	if (CDC_SINK_STOPPED(st))
		return;
	old = MemoryContextSwitchTo(st->change_cxt);
	entry = cdc_rel_entry(st, rel, true);
	if (entry->outbox)
	{
		cdc_outbox_change(ctx, txn, entry, rel, change);
		MemoryContextSwitchTo(old);
		MemoryContextReset(st->change_cxt);
		return;
	}
	if (!entry->included)
	{
		MemoryContextSwitchTo(old);
		MemoryContextReset(st->change_cxt);
		cdc_skipped(ctx);
		return;
	}

	memset(&event, 0, sizeof(event));
	if (change->data.tp.newtuple != NULL)
		newtuple = &change->data.tp.newtuple->tuple;
	if (change->data.tp.oldtuple != NULL)
		oldtuple = &change->data.tp.oldtuple->tuple;

	switch (change->action)
	{
		case REORDER_BUFFER_CHANGE_INSERT:
			event.op = CDC_OP_CREATE;
			break;
		case REORDER_BUFFER_CHANGE_UPDATE:
			event.op = CDC_OP_UPDATE;
			break;
		case REORDER_BUFFER_CHANGE_DELETE:
			event.op = CDC_OP_DELETE;
			break;
		default:
			/* speculative inserts etc. are never handed to plugins */
			MemoryContextSwitchTo(old);
			MemoryContextReset(st->change_cxt);
			return;
	}

	/*
	 * The old image holds only identity columns unless REPLICA IDENTITY FULL.
	 * The key comes from the new row, or from the old one for a DELETE; a
	 * table without key columns has none.
	 */
	before_columns = entry->desc->replident == REPLICA_IDENTITY_FULL ?
		CDC_IMAGE_ALL : CDC_IMAGE_KEY;
	keyp = entry->desc->nkeys > 0 ? (cdc_row **) &event.key : NULL;
	if (newtuple != NULL && event.op != CDC_OP_DELETE)
		event.after = cdc_row_from_tuple(entry->desc, tupdesc, newtuple, CDC_IMAGE_ALL, keyp);
	if (oldtuple != NULL)
		event.before = cdc_row_from_tuple(entry->desc, tupdesc, oldtuple, before_columns,
										  event.op == CDC_OP_DELETE ? keyp :
										  (keyp != NULL && st->sink != NULL && st->sink->want_old_keys ?
											 &old_key : NULL));
	if (event.op == CDC_OP_UPDATE && event.before != NULL)
	{
		cdc_fill_unchanged_toast((cdc_row *) event.after, event.before);
		if (event.key != NULL)
			cdc_fill_unchanged_toast((cdc_row *) event.key, event.before);
	}

	/*
	 * The worker is told the old key of an UPDATE that has an old image
	 * (the key changed, or REPLICA IDENTITY FULL): a snapshot chunk holding
	 * that key must drop it too.
	 */
	cdc_write_table_event(ctx, txn, entry, change->lsn, &event, old_key);

	MemoryContextSwitchTo(old);
	MemoryContextReset(st->change_cxt);
}

/* TRUNCATE: one event per included table. */
static void
cdc_truncate(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, int nrelations,
			 Relation relations[], ReorderBufferChange *change)
{
	CdcDecodingState *st = ctx->output_plugin_private;
	MemoryContext old;
	int			i;
	int			sent = 0;

	if (CDC_SINK_STOPPED(st))
		return;
	old = MemoryContextSwitchTo(st->change_cxt);
	for (i = 0; i < nrelations; i++)
	{
		CdcRelEntry *entry = cdc_rel_entry(st, relations[i], false);
		cdc_event	event;

		if (!entry->included)
			continue;
		sent++;
		memset(&event, 0, sizeof(event));
		event.op = CDC_OP_TRUNCATE;
		event.truncate_cascade = change->data.truncate.cascade;
		event.truncate_restart_identity = change->data.truncate.restart_seqs;
		cdc_write_table_event(ctx, txn, entry, change->lsn, &event, NULL);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->change_cxt);
	if (sent == 0)
		cdc_skipped(ctx);
}

/*
 * A schema message of the event trigger, decoded in its transaction's
 * order: written as a schema event if the table passes the table filters.
 * One that cannot be parsed (forged with pg_logical_emit_message()) is
 * skipped with a WARNING rather than stopping decoding.
 */
static void
cdc_schema_message(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, XLogRecPtr lsn,
				   const char *message, Size sz)
{
	CdcDecodingState *st = ctx->output_plugin_private;
	MemoryContext old = MemoryContextSwitchTo(st->change_cxt);
	CdcSchemaEvent schema;
	const char *why = NULL;

	if (!cdc_schema_event_parse(message, sz, &schema, &why))
	{
		ereport(WARNING,
				(errmsg("cdc_plugin skipped a %s message: %s", CDC_SCHEMA_PREFIX, why),
				 errdetail("The message is at %X/%X. Only the cdc_plugin event trigger writes messages with this prefix.",
						   LSN_FORMAT_ARGS(lsn))));
		cdc_skipped(ctx);
	}
	else if (strcmp(schema.schema, CDC_EXTENSION_SCHEMA) == 0 ||
			 !cdc_options_table_included(st->options, schema.schema, schema.table) ||
			 cdc_options_table_outbox(st->options, schema.schema, schema.table))
		cdc_skipped(ctx);
	else
		cdc_write_schema_event(ctx, txn, lsn, &schema);
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->change_cxt);
}

/*
 * An outbox event of cdc_plugin.publish(), decoded in its transaction's
 * order: counted among the transaction's events. One that cannot be
 * parsed (forged with pg_logical_emit_message()) is skipped with a WARNING.
 */
static void
cdc_outbox_message(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, XLogRecPtr lsn,
				   const char *message, Size sz)
{
	CdcDecodingState *st = ctx->output_plugin_private;
	MemoryContext old = MemoryContextSwitchTo(st->change_cxt);
	cdc_outbox	ob;
	cdc_outbox_header headers[CDC_OUTBOX_MAX_HEADERS];
	cdc_event	event;
	char		errbuf[CDC_ERRBUF_SIZE];

	if (cdc_outbox_parse(message, sz, &ob, headers, CDC_OUTBOX_MAX_HEADERS,
						 errbuf, sizeof(errbuf)) != 0)
	{
		ereport(WARNING,
				(errmsg("cdc_plugin skipped a %s message: %s", CDC_OUTBOX_PREFIX, errbuf),
				 errdetail("The message is at %X/%X. Only cdc_plugin.publish() writes messages with this prefix.",
						   LSN_FORMAT_ARGS(lsn))));
		cdc_skipped(ctx);
	}
	else
	{
		memset(&event, 0, sizeof(event));
		event.op = CDC_OP_OUTBOX;
		event.outbox = &ob;
		cdc_fill_source(st, txn, lsn, &event.source);
		cdc_count_event(st, txn, NULL, &event);
		cdc_send_begin(ctx, txn);
		cdc_write_event(ctx, &event, true, InvalidOid, NULL);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->change_cxt);
}

/* pg_logical_emit_message(): transactional ones in commit order, others at once. */
static void
cdc_message(LogicalDecodingContext *ctx, ReorderBufferTXN *txn, XLogRecPtr lsn,
			bool transactional, const char *prefix, Size sz, const char *message)
{
	CdcDecodingState *st = ctx->output_plugin_private;
	MemoryContext old;
	cdc_event	event;

	if (CDC_SINK_STOPPED(st))
		return;
	if (strcmp(prefix, CDC_WATERMARK_PREFIX) == 0)
	{
		/* the worker's own snapshot bookkeeping: never an event */
		if (st->sink != NULL && st->sink->watermark != NULL && transactional)
			st->sink->watermark(st->sink->arg, txn, lsn, message, sz);
		else
			cdc_skipped(ctx);
		return;
	}
	if (strcmp(prefix, CDC_OUTBOX_PREFIX) == 0)
	{
		/* cdc_plugin.publish(): an outbox event, never an m event */
		if (transactional)
			cdc_outbox_message(ctx, txn, lsn, message, sz);
		else
			cdc_skipped(ctx);
		return;
	}
	if (strcmp(prefix, CDC_SCHEMA_PREFIX) == 0)
	{
		/* a schema event (schema_ddl.c): never an m event */
		if (st->flags.include_schema_events && transactional)
			cdc_schema_message(ctx, txn, lsn, message, sz);
		else
			cdc_skipped(ctx);
		return;
	}
	if (!st->flags.include_messages || !cdc_options_message_included(st->options, prefix))
	{
		cdc_skipped(ctx);
		return;
	}

	old = MemoryContextSwitchTo(st->change_cxt);
	memset(&event, 0, sizeof(event));
	event.op = CDC_OP_MESSAGE;
	event.message_prefix = cdc_server_cstring(prefix);
	event.message_content.data = message;
	event.message_content.len = sz;
	event.message_transactional = transactional;
	if (transactional)
	{
		cdc_fill_source(st, txn, lsn, &event.source);
		cdc_count_event(st, txn, NULL, &event);
		cdc_send_begin(ctx, txn);
	}
	else
	{
		/* not part of any transaction's event stream */
		cdc_fill_source(st, NULL, lsn, &event.source);
		if (txn != NULL)
			event.source.xid = txn->xid;
	}
	cdc_write_event(ctx, &event, true, InvalidOid, NULL);
	MemoryContextSwitchTo(old);
	MemoryContextReset(st->change_cxt);
}
