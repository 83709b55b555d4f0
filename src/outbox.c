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

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "replication/message.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "cdc_core.h"
#include "cdc_kafka.h"
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
		{
			if (v.type == jbvString)
				out[n].value = cdc_utf8(v.val.string.val, v.val.string.len);
			else if (v.type == jbvNull)
				out[n].value.data = NULL, out[n].value.len = 0;
			else
			{
				/* numbers, booleans, objects and arrays: their JSON text */
				Jsonb	   *elem = JsonbValueToJsonb(&v);
				char	   *text = JsonbToCString(NULL, &elem->root, VARSIZE(elem));

				out[n].value = cdc_utf8(text, strlen(text));
			}
			n++;
		}
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
