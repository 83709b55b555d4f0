/*
 * outbox.c — the table-less outbox: cdc_plugin.publish().
 *
 * publish(topic, key, payload, headers) writes one domain event into the
 * WAL as a transactional logical message (prefix cdc_plugin.outbox) whose
 * content is a cdc.v1.OutboxEvent: nothing is written to any table, and
 * the event is decoded only if the transaction commits (and not if the
 * savepoint it was written in rolls back), in its place among that
 * transaction's changes. The worker publishes it as it is: to topic, keyed
 * by key, with payload as the value and headers as Kafka headers.
 * Everything a publish could fail at later is checked here, in the calling
 * transaction: the topic name, the headers, the size.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "replication/message.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "cdc_core.h"
#include "cdc_kafka.h"
#include "config.h"
#include "outbox.h"
#include "row_image.h"

PG_FUNCTION_INFO_V1(cdc_plugin_publish_jsonb);
PG_FUNCTION_INFO_V1(cdc_plugin_publish_text);
PG_FUNCTION_INFO_V1(cdc_plugin_publish_bytea);

/* The largest event publish() takes: payload, key and headers. */
#define CDC_OUTBOX_MAX_BYTES ((Size) 64 << 20)

/* Text in the server encoding as UTF-8 bytes (converted if needed). */
static cdc_bytes
cdc_utf8(const char *s, size_t len)
{
	return cdc_server_text(s, len);
}

/*
 * A header value from a member of a JSON object: a string as its text,
 * null as a null value, numbers, booleans, objects and arrays as their
 * JSON text.
 */
static cdc_bytes
cdc_header_value(JsonbValue *v)
{
	cdc_bytes	b = {NULL, 0};

	if (v->type == jbvString)
		b = cdc_utf8(v->val.string.val, v->val.string.len);
	else if (v->type != jbvNull)
	{
		Jsonb	   *elem = JsonbValueToJsonb(v);
		char	   *text = JsonbToCString(NULL, &elem->root, VARSIZE(elem));

		b = cdc_utf8(text, strlen(text));
	}
	return b;
}

/* The headers argument: a JSON object of names to values (strings as they are, others as JSON). */
static size_t
cdc_outbox_headers(Jsonb *jb, cdc_outbox_header *out)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	size_t		n = 0;

	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cdc_plugin.publish() headers must be a JSON object of header names to values")));
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			if (n >= CDC_OUTBOX_MAX_HEADERS)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("cdc_plugin.publish() takes at most %d headers", CDC_OUTBOX_MAX_HEADERS)));
			if (v.val.string.len == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("cdc_plugin.publish() header names may not be empty")));
			if (v.val.string.len == strlen(CDC_EVENT_ID_HEADER) &&
				memcmp(v.val.string.val, CDC_EVENT_ID_HEADER, v.val.string.len) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("cdc_plugin.publish() header \"%s\" is reserved: the worker sets it",
								CDC_EVENT_ID_HEADER)));
			out[n].name = cdc_utf8(v.val.string.val, v.val.string.len);
		}
		else if (tok == WJB_VALUE)
			out[n++].value = cdc_header_value(&v);
	}
	return n;
}

/* The common part: checks, encodes and writes the event; returns nothing. */
static Datum
cdc_publish(FunctionCallInfo fcinfo, cdc_payload_format format)
{
	text	   *topic_t;
	char	   *topic;
	char		errbuf[CDC_ERRBUF_SIZE];
	cdc_outbox	ob;
	cdc_outbox_header headers[CDC_OUTBOX_MAX_HEADERS];
	Size		total;
	cdc_encoder *enc;
	const char *data;
	size_t		len;
	char	   *copy = NULL;
	int			rc;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("cdc_plugin.publish() needs a topic")));
	memset(&ob, 0, sizeof(ob));
	topic_t = PG_GETARG_TEXT_PP(0);
	topic = text_to_cstring(topic_t);
	if (cdc_topic_name_check(topic, strlen(topic), errbuf, sizeof(errbuf)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cdc_plugin.publish() cannot publish to this topic: %s", errbuf)));
	ob.topic.data = topic;
	ob.topic.len = strlen(topic);
	if (!PG_ARGISNULL(1))
	{
		text	   *key = PG_GETARG_TEXT_PP(1);

		ob.key = cdc_utf8(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key));
		ob.has_key = true;
	}
	ob.payload_format = format;
	if (!PG_ARGISNULL(2))
	{
		if (format == CDC_PAYLOAD_JSON)
		{
			Jsonb	   *jb = PG_GETARG_JSONB_P(2);
			char	   *text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));

			ob.payload = cdc_utf8(text, strlen(text));
		}
		else
		{
			bytea	   *p = PG_GETARG_BYTEA_PP(2);

			ob.payload.data = VARDATA_ANY(p);
			ob.payload.len = VARSIZE_ANY_EXHDR(p);
			if (format == CDC_PAYLOAD_TEXT)
				ob.payload = cdc_utf8(ob.payload.data, ob.payload.len);
		}
	}
	if (!PG_ARGISNULL(3))
		ob.nheaders = cdc_outbox_headers(PG_GETARG_JSONB_P(3), headers);
	ob.headers = headers;

	total = ob.topic.len + ob.key.len + ob.payload.len;
	for (size_t i = 0; i < ob.nheaders; i++)
		total += headers[i].name.len + headers[i].value.len;
	if (total > CDC_OUTBOX_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("cdc_plugin.publish() takes events of at most 64 MB (payload, key and headers); this one has %zu bytes",
						(size_t) total)));

	enc = cdc_encoder_create(CDC_PLUGIN_VERSION, errbuf, sizeof(errbuf));
	if (enc == NULL)
		ereport(ERROR, (errmsg("cdc_plugin could not set up an encoder: %s", errbuf)));
	/* PostgreSQL verified the text arguments; converted ones are UTF-8 too */
	cdc_encoder_trust_utf8(enc, GetDatabaseEncoding() != PG_SQL_ASCII);
	rc = cdc_encoder_encode_outbox(enc, &ob, &data, &len, errbuf, sizeof(errbuf));
	/* copied out first: no ERROR may leave the encoder behind */
	if (rc == 0)
	{
		copy = palloc(len);
		memcpy(copy, data, len);
	}
	cdc_encoder_destroy(enc);
	if (rc != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cdc_plugin.publish() cannot publish this event: %s", errbuf)));
	LogLogicalMessage(CDC_OUTBOX_PREFIX, copy, len, true);
	PG_RETURN_VOID();
}

Datum
cdc_plugin_publish_jsonb(PG_FUNCTION_ARGS)
{
	return cdc_publish(fcinfo, CDC_PAYLOAD_JSON);
}

Datum
cdc_plugin_publish_text(PG_FUNCTION_ARGS)
{
	return cdc_publish(fcinfo, CDC_PAYLOAD_TEXT);
}

Datum
cdc_plugin_publish_bytea(PG_FUNCTION_ARGS)
{
	return cdc_publish(fcinfo, CDC_PAYLOAD_BYTES);
}

/* ---------------------------------------------------------------------
 * Outbox tables (the plugin's side)
 * ---------------------------------------------------------------------
 */

/* The attribute number of a column by name; 0 when there is none. */
static AttrNumber
cdc_column_attnum(TupleDesc desc, const char *name)
{
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	return 0;
}

static const char *const cdc_outbox_role_names[CDC_OUTBOX_NROLES] = {
	"id", "aggregatetype", "aggregateid", "type", "payload", "headers"
};

/* The ${column}s of the template (at most max of them noted): how many there are. */
static int
cdc_template_placeholders(const char *tmpl, const char **names, int *lens, int max)
{
	int			n = 0;
	const char *p = tmpl;

	while ((p = strstr(p, "${")) != NULL)
	{
		const char *close = strchr(p + 2, '}');

		if (close == NULL)
			break;
		if (n < max)
		{
			names[n] = p + 2;
			lens[n] = (int) (close - p - 2);
		}
		n++;
		p = close + 1;
	}
	return n;
}

/*
 * Finds the role and template columns of an outbox table into cols; the
 * problem (a missing required column) as text, or NULL.
 */
static char *
cdc_outbox_missing(const cdc_options *opts, Relation rel, CdcOutboxColumns *cols,
				   MemoryContext cxt)
{
	TupleDesc	desc = RelationGetDescr(rel);
	const char *names[16];
	int			lens[16];
	int			n,
				i,
				r;
	char	   *table = psprintf("%s.%s", get_namespace_name(RelationGetNamespace(rel)),
								 RelationGetRelationName(rel));

	for (r = 0; r < CDC_OUTBOX_NROLES; r++)
	{
		const char *col = cdc_options_outbox_column(opts, (cdc_outbox_role) r);

		cols->attnum[r] = cdc_column_attnum(desc, col);
		if (cols->attnum[r] == 0 &&
			(r == CDC_OUTBOX_ID || r == CDC_OUTBOX_AGGREGATEID || r == CDC_OUTBOX_PAYLOAD))
			return psprintf("outbox table \"%s\" has no column \"%s\" (role %s)",
							table, col, cdc_outbox_role_names[r]);
	}
	n = cdc_template_placeholders(cdc_options_outbox_topic(opts), names, lens, lengthof(names));
	if (n > (int) lengthof(names))
		return psprintf("cdc_plugin.outbox_topic has more than %d ${column} placeholders",
						(int) lengthof(names));
	cols->nplaceholders = n;
	cols->placeholder_attnums = MemoryContextAlloc(cxt, sizeof(AttrNumber) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		char	   *name = pnstrdup(names[i], lens[i]);

		cols->placeholder_attnums[i] = cdc_column_attnum(desc, name);
		if (cols->placeholder_attnums[i] == 0)
			return psprintf("cdc_plugin.outbox_topic names column \"%s\", which outbox table \"%s\" does not have",
							name, table);
	}
	return NULL;
}

void
cdc_outbox_resolve(const cdc_options *opts, Relation rel, CdcOutboxColumns *cols,
				   MemoryContext cxt)
{
	char	   *problem = cdc_outbox_missing(opts, rel, cols, cxt);

	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("cdc_plugin cannot publish: %s", problem),
				 errhint("Add the column, or change cdc_plugin.outbox_columns (role=column) or cdc_plugin.outbox_topic, and reload.")));
}

bool
cdc_outbox_tables_ready(char *problem, size_t len)
{
	char		errbuf[CDC_ERRBUF_SIZE];
	cdc_options *opts;
	MemoryContext cxt = CurrentMemoryContext;
	char	   *found = NULL;
	uint64		i;

	if (cdc_outbox_tables == NULL || cdc_outbox_tables[0] == '\0')
		return true;
	opts = cdc_options_create(errbuf, sizeof(errbuf));
	if (opts == NULL)
	{
		strlcpy(problem, errbuf, len);
		return false;
	}
	if (cdc_options_set(opts, "outbox-tables", cdc_outbox_tables, errbuf, sizeof(errbuf)) != 0 ||
		cdc_options_set(opts, "outbox-topic", cdc_outbox_topic, errbuf, sizeof(errbuf)) != 0 ||
		(cdc_outbox_columns[0] != '\0' &&
		 cdc_options_set(opts, "outbox-columns", cdc_outbox_columns, errbuf, sizeof(errbuf)) != 0))
	{
		cdc_options_destroy(opts);
		strlcpy(problem, errbuf, len);
		return false;
	}
	PG_TRY();
	{
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute("SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c"
						" JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace"
						" WHERE c.relkind OPERATOR(pg_catalog.=) 'r' AND c.relpersistence OPERATOR(pg_catalog.=) 'p'"
						" AND n.nspname OPERATOR(pg_catalog.<>) ALL ('{pg_catalog,information_schema,cdc_plugin}')",
						true, 0) != SPI_OK_SELECT)
			elog(ERROR, "cdc_plugin could not list the tables");
		for (i = 0; i < SPI_processed && found == NULL; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	td = SPI_tuptable->tupdesc;
			bool		isnull;
			Oid			relid = DatumGetObjectId(SPI_getbinval(tup, td, 1, &isnull));
			char	   *nsp = SPI_getvalue(tup, td, 2);
			char	   *rel = SPI_getvalue(tup, td, 3);
			Relation	r;
			CdcOutboxColumns cols;

			if (!cdc_options_table_outbox(opts, nsp, rel))
				continue;
			r = try_table_open(relid, AccessShareLock);
			if (r == NULL)
				continue;
			found = cdc_outbox_missing(opts, r, &cols, CurrentMemoryContext);
			if (found != NULL)
				found = MemoryContextStrdup(cxt, found);
			table_close(r, AccessShareLock);
		}
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		cdc_options_destroy(opts);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	cdc_options_destroy(opts);
	if (found == NULL)
		return true;
	strlcpy(problem, found, len);
	return false;
}

/* A column's value as text (its output function), NULL for SQL NULL or no column. */
static char *
cdc_row_text(TupleDesc desc, HeapTuple tuple, AttrNumber attnum)
{
	bool		isnull;
	Datum		d;
	Oid			out;
	bool		varlena;
	Form_pg_attribute att;

	if (attnum == 0)
		return NULL;
	d = heap_getattr(tuple, attnum, desc, &isnull);
	if (isnull)
		return NULL;
	att = TupleDescAttr(desc, attnum - 1);
	getTypeOutputInfo(att->atttypid, &out, &varlena);
	return OidOutputFunctionCall(out, d);
}

/* Headers from a jsonb column: an object's members; anything else is left out with a WARNING. */
static size_t
cdc_row_headers(Relation rel, TupleDesc desc, HeapTuple tuple, AttrNumber attnum,
				cdc_outbox_header *out, size_t n)
{
	bool		isnull;
	Datum		d;
	Jsonb	   *jb;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	bool		skip = false;

	if (attnum == 0)
		return n;
	d = heap_getattr(tuple, attnum, desc, &isnull);
	if (isnull)
		return n;
	if (TupleDescAttr(desc, attnum - 1)->atttypid != JSONBOID)
	{
		ereport(WARNING,
				(errmsg("cdc_plugin left out the headers of an event of outbox table \"%s\": the headers column is not jsonb",
						RelationGetRelationName(rel))));
		return n;
	}
	jb = DatumGetJsonbP(d);
	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
	{
		ereport(WARNING,
				(errmsg("cdc_plugin left out the headers of an event of outbox table \"%s\": they are not a JSON object",
						RelationGetRelationName(rel))));
		return n;
	}
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			skip = n >= CDC_OUTBOX_MAX_HEADERS || v.val.string.len == 0 ||
				(v.val.string.len == strlen(CDC_EVENT_ID_HEADER) &&
				 memcmp(v.val.string.val, CDC_EVENT_ID_HEADER, v.val.string.len) == 0);
			if (skip)
				ereport(WARNING,
						(errmsg("cdc_plugin left out a header of an event of outbox table \"%s\": more than %d headers, an empty name or the reserved %s",
								RelationGetRelationName(rel), CDC_OUTBOX_MAX_HEADERS, CDC_EVENT_ID_HEADER)));
			else
				out[n].name = cdc_utf8(v.val.string.val, v.val.string.len);
		}
		else if (tok == WJB_VALUE && !skip)
			out[n++].value = cdc_header_value(&v);
	}
	return n;
}

/* A header from a column's text, if it has a value. */
static size_t
cdc_text_header(const char *name, const char *value, cdc_outbox_header *out, size_t n)
{
	if (value == NULL)
		return n;
	out[n].name.data = name;
	out[n].name.len = strlen(name);
	out[n].value = cdc_utf8(value, strlen(value));
	return n + 1;
}

void
cdc_outbox_from_row(const cdc_options *opts, Relation rel, const CdcOutboxColumns *cols,
					HeapTuple tuple, cdc_outbox *out, cdc_outbox_header *headers)
{
	TupleDesc	desc = RelationGetDescr(rel);
	const char *tmpl = cdc_options_outbox_topic(opts);
	StringInfoData topic;
	const char *p;
	int			ph = 0;
	char	   *key;
	AttrNumber	pay = cols->attnum[CDC_OUTBOX_PAYLOAD];
	bool		isnull;
	Datum		d;
	size_t		i,
				n = 0;

	memset(out, 0, sizeof(*out));
	/* the topic: the template with each ${column} replaced */
	initStringInfo(&topic);
	for (p = tmpl; *p; p++)
	{
		const char *close;

		if (p[0] == '$' && p[1] == '{' && (close = strchr(p + 2, '}')) != NULL)
		{
			char	   *v = cdc_row_text(desc, tuple, cols->placeholder_attnums[ph++]);

			if (v != NULL)
				appendStringInfoString(&topic, cdc_server_cstring(v));
			p = close;
		}
		else
			appendStringInfoChar(&topic, *p);
	}
	/* what Kafka does not take becomes '_', as Debezium's topic naming does */
	for (i = 0; i < (size_t) topic.len; i++)
	{
		char		c = topic.data[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '_' || c == '-'))
			topic.data[i] = '_';
	}
	if (topic.len > CDC_TOPIC_NAME_MAX)
		topic.data[topic.len = CDC_TOPIC_NAME_MAX] = '\0';
	if (topic.len == 0 || strcmp(topic.data, ".") == 0 || strcmp(topic.data, "..") == 0)
	{
		resetStringInfo(&topic);
		appendStringInfoChar(&topic, '_');
	}
	out->topic.data = topic.data;
	out->topic.len = topic.len;

	key = cdc_row_text(desc, tuple, cols->attnum[CDC_OUTBOX_AGGREGATEID]);
	if (key != NULL)
	{
		out->key = cdc_utf8(key, strlen(key));
		out->has_key = true;
	}

	d = heap_getattr(tuple, pay, desc, &isnull);
	if (!isnull)
	{
		Oid			typid = TupleDescAttr(desc, pay - 1)->atttypid;

		if (typid == BYTEAOID)
		{
			bytea	   *b = DatumGetByteaPP(d);

			out->payload.data = VARDATA_ANY(b);
			out->payload.len = VARSIZE_ANY_EXHDR(b);
			out->payload_format = CDC_PAYLOAD_BYTES;
		}
		else
		{
			char	   *text = cdc_row_text(desc, tuple, pay);

			out->payload = cdc_utf8(text, strlen(text));
			out->payload_format = typid == JSONBOID || typid == JSONOID ?
				CDC_PAYLOAD_JSON : CDC_PAYLOAD_TEXT;
		}
	}
	else
		out->payload_format = CDC_PAYLOAD_JSON;

	n = cdc_text_header("id", cdc_row_text(desc, tuple, cols->attnum[CDC_OUTBOX_ID]), headers, n);
	n = cdc_text_header("type", cdc_row_text(desc, tuple, cols->attnum[CDC_OUTBOX_TYPE]), headers, n);
	n = cdc_row_headers(rel, desc, tuple, cols->attnum[CDC_OUTBOX_HEADERS], headers, n);
	out->headers = headers;
	out->nheaders = n;
}
