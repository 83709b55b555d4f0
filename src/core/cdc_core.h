/*
 * cdc_core.h — the C interface of cdc_plugin's C++ core.
 *
 * The PostgreSQL side of the extension is written in C and talks to the C++
 * core only through this header: plain structs in, bytes out, errors as
 * return codes with a message buffer. Every function declared here catches
 * every C++ exception itself, so no exception ever crosses into PostgreSQL's
 * frames, and nothing behind this header ever includes a PostgreSQL header
 * or calls elog/ereport. Pointers handed in are borrowed for the call only.
 */
#ifndef CDC_CORE_H
#define CDC_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Size of the error buffers the callers pass in. */
#define CDC_ERRBUF_SIZE 512

/* Envelope operation; numbers match cdc.v1.Op in envelope.proto. */
typedef enum cdc_op
{
	CDC_OP_CREATE = 1,
	CDC_OP_UPDATE = 2,
	CDC_OP_DELETE = 3,
	CDC_OP_READ = 4,
	CDC_OP_TRUNCATE = 5,
	CDC_OP_MESSAGE = 6,
	CDC_OP_BEGIN = 7,
	CDC_OP_COMMIT = 8,
	CDC_OP_SNAPSHOT_BEGIN = 9,
	CDC_OP_SNAPSHOT_END = 10,
	CDC_OP_GAP = 11,
	CDC_OP_SCHEMA = 12,
	CDC_OP_OUTBOX = 13,
	CDC_OP_HEARTBEAT = 14		/* op and source only */
} cdc_op;

/* Which snapshot read an event; numbers match cdc.v1.SnapshotKind. */
typedef enum cdc_snapshot_kind
{
	CDC_SNAPSHOT_NONE = 0,
	CDC_SNAPSHOT_INITIAL = 1,
	CDC_SNAPSHOT_INCREMENTAL = 2,
	CDC_SNAPSHOT_GAP = 3		/* re-snapshot of a table changed during a gap */
} cdc_snapshot_kind;

/*
 * Which fields cdc_encoder_encode() writes. An r event is encoded in two
 * parts: its rows when the snapshot reads them, its source when it is
 * published (the position is known only then). Envelope fields are written
 * in field-number order and an r event has nothing after its source, so
 * the bytes of CDC_ENCODE_NO_SOURCE followed by those of
 * CDC_ENCODE_SOURCE_ONLY are exactly the bytes of CDC_ENCODE_ALL.
 */
typedef enum cdc_encode_parts
{
	CDC_ENCODE_ALL = 0,
	CDC_ENCODE_NO_SOURCE,		/* op and rows (and what follows source, if any) */
	CDC_ENCODE_SOURCE_ONLY		/* the source field alone */
} cdc_encode_parts;

/* Which member of cdc_value.u is meaningful. */
typedef enum cdc_value_kind
{
	CDC_VALUE_NULL = 0,			/* SQL NULL: no payload */
	CDC_VALUE_UNCHANGED_TOAST,	/* unchanged out-of-line value: no payload */
	CDC_VALUE_BOOL,				/* u.b */
	CDC_VALUE_INT,				/* u.i */
	CDC_VALUE_FLOAT4,			/* u.f4 */
	CDC_VALUE_FLOAT8,			/* u.f8 */
	CDC_VALUE_NUMERIC,			/* u.str: exact decimal text, NaN, Infinity, -Infinity */
	CDC_VALUE_TEXT,				/* u.str */
	CDC_VALUE_BYTES,			/* u.str */
	CDC_VALUE_DATE,				/* u.date: days since 1970-01-01, INT32_MAX/MIN infinities */
	CDC_VALUE_TIME,				/* u.micros since midnight */
	CDC_VALUE_TIMETZ,			/* u.timetz */
	CDC_VALUE_TIMESTAMP,		/* u.micros since 1970-01-01, INT64_MAX/MIN infinities */
	CDC_VALUE_TIMESTAMPTZ,		/* u.micros since 1970-01-01 UTC, INT64_MAX/MIN infinities */
	CDC_VALUE_INTERVAL,			/* u.interval */
	CDC_VALUE_UUID,				/* u.str, 16 bytes */
	CDC_VALUE_JSON,				/* u.str */
	CDC_VALUE_JSONB,			/* u.str: jsonb's text form */
	CDC_VALUE_ENUM,				/* u.str: the label */
	CDC_VALUE_ARRAY,			/* u.array */
	CDC_VALUE_RECORD			/* u.record: composite fields as columns */
} cdc_value_kind;

typedef struct cdc_value cdc_value;
typedef struct cdc_column cdc_column;

/* A byte string; not NUL-terminated unless said so. */
typedef struct cdc_bytes
{
	const char *data;
	size_t		len;
} cdc_bytes;

/* An array value; elements in row-major order. ndims == 0 is empty. */
typedef struct cdc_array
{
	int			ndims;
	int			dims[6];
	int			lower_bounds[6];
	const cdc_value *elements;
	size_t		nelements;
} cdc_array;

/* A row image (or a composite value): columns in order. */
typedef struct cdc_row
{
	const cdc_column *columns;
	size_t		ncolumns;
} cdc_row;

/* One typed value. */
struct cdc_value
{
	cdc_value_kind kind;
	union
	{
		bool		b;
		int64_t		i;
		float		f4;
		double		f8;
		int32_t		date;
		int64_t		micros;
		struct
		{
			int64_t		micros;
			int32_t		offset_seconds; /* east of UTC */
		}			timetz;
		struct
		{
			int32_t		months;
			int32_t		days;
			int64_t		micros;
		}			interval;
		cdc_bytes	str;
		const cdc_array *array;
		const cdc_row *record;
	}			u;
};

/*
 * One column of a row image. name and type_name are NUL-terminated. When
 * header.data is set, it holds those three fields already encoded by
 * cdc_column_header_encode() and is written instead of them (callers encode
 * it once per table column rather than once per change).
 */
struct cdc_column
{
	const char *name;
	const char *type_name;
	uint32_t	type_oid;
	cdc_bytes	header;
	cdc_value	value;
};

/*
 * Event origin; strings NUL-terminated, NULL is written as empty. When
 * header.data is set, it holds connector, version, database, schema and
 * table already encoded by cdc_encoder_source_header() and is written
 * instead of them (callers encode it once per table).
 */
typedef struct cdc_source
{
	cdc_bytes	header;
	const char *database;
	const char *schema;
	const char *table;
	uint64_t	lsn;
	uint64_t	commit_lsn;
	uint64_t	xid;
	int64_t		commit_time_us;	/* Unix epoch (1970), as in the envelope; not a TimestampTz */
	bool		snapshot;		/* a snapshot event (r, snapshot_begin, snapshot_end) */
	cdc_snapshot_kind snapshot_kind;
	uint64_t	snapshot_id;
	uint64_t	schema_version; /* version of the table's shape; 0: unknown (not written) */
} cdc_source;

/* One column of a schema event; strings NUL-terminated. */
typedef struct cdc_schema_column
{
	const char *name;
	const char *type_name;		/* format_type() with typmod */
	uint32_t	type_oid;
	int32_t		typmod;			/* -1: none */
	bool		not_null;
	bool		has_default;
	bool		key;
	int32_t		attnum;
} cdc_schema_column;

/* A schema event's description (cdc.v1.SchemaChange); strings NUL-terminated, NULL = empty. */
typedef struct cdc_schema_change
{
	uint64_t	version;
	const char *command_tag;
	const char *ddl;
	bool		dropped;
	const char *renamed_from_schema;
	const char *renamed_from_table;
	const char *replica_identity;
	const cdc_schema_column *columns;
	size_t		ncolumns;
	bool		resent;
} cdc_schema_change;

/* Per-table event count for a commit event. */
typedef struct cdc_table_count
{
	const char *schema;
	const char *table;
	uint64_t	event_count;
} cdc_table_count;

/* Format of an outbox event's payload; numbers match cdc.v1.PayloadFormat. */
typedef enum cdc_payload_format
{
	CDC_PAYLOAD_JSON = 1,		/* JSON text */
	CDC_PAYLOAD_TEXT = 2,		/* UTF-8 text */
	CDC_PAYLOAD_BYTES = 3		/* bytes as they are */
} cdc_payload_format;

/* A Kafka header of an outbox event. */
typedef struct cdc_outbox_header
{
	cdc_bytes	name;			/* UTF-8 */
	cdc_bytes	value;
} cdc_outbox_header;

/* A domain event (cdc.v1.OutboxEvent). */
typedef struct cdc_outbox
{
	cdc_bytes	topic;			/* a valid Kafka topic name */
	cdc_bytes	key;			/* UTF-8; only with has_key */
	bool		has_key;
	cdc_bytes	payload;
	cdc_payload_format payload_format;
	const cdc_outbox_header *headers;
	size_t		nheaders;
} cdc_outbox;

/* Everything one envelope carries; members not used by op are ignored. */
typedef struct cdc_event
{
	cdc_op		op;
	const cdc_row *before;		/* NULL: absent */
	const cdc_row *after;		/* NULL: absent */
	const cdc_row *key;			/* NULL: absent */
	cdc_source	source;

	bool		has_transaction;
	uint64_t	txn_id;
	uint64_t	txn_total_order;
	uint64_t	txn_data_collection_order;

	/* op == CDC_OP_TRUNCATE */
	bool		truncate_cascade;
	bool		truncate_restart_identity;

	/* op == CDC_OP_MESSAGE */
	const char *message_prefix;
	cdc_bytes	message_content;
	bool		message_transactional;

	/* op == CDC_OP_COMMIT */
	uint64_t	event_count;
	const cdc_table_count *table_counts;
	size_t		ntable_counts;

	/* op == CDC_OP_SNAPSHOT_BEGIN or CDC_OP_SNAPSHOT_END; the two partition fields also CDC_OP_GAP */
	uint32_t	marker_partition;
	uint32_t	marker_partitions;
	uint64_t	marker_rows;

	/* op == CDC_OP_GAP (with marker_partition and marker_partitions) */
	uint64_t	gap_id;			/* the row of cdc_plugin.gaps */
	uint64_t	gap_lost_from_lsn;	/* the lost slot's confirmed position */
	uint64_t	gap_lost_to_lsn;	/* the new slot's start */
	const char *gap_reason;		/* NUL-terminated, NULL = empty */
	bool		gap_resnapshot; /* a snapshot of the table follows */
	uint64_t	gap_snapshot_id;	/* its id; 0 without resnapshot */
	int64_t		gap_time_us;	/* Unix epoch (1970), as in the envelope; not a TimestampTz */

	/* op == CDC_OP_SCHEMA */
	const cdc_schema_change *schema_change;

	/* op == CDC_OP_OUTBOX */
	const cdc_outbox *outbox;

	cdc_encode_parts parts;		/* default CDC_ENCODE_ALL */
} cdc_event;

/* ---- envelope encoder ---- */

typedef struct cdc_encoder cdc_encoder;

/* Creates an encoder stamping `version` into every envelope; NULL on failure. */
cdc_encoder *cdc_encoder_create(const char *version, char *errbuf, size_t errlen);

/*
 * With trusted = true the encoder no longer checks that strings are valid
 * UTF-8: for callers whose strings are already known to be (PostgreSQL
 * verifies text on input in a UTF-8 database). Default false.
 */
void		cdc_encoder_trust_utf8(cdc_encoder *enc, bool trusted);

/*
 * Encodes the name, type and type_oid fields of a cdc.v1.Column into out
 * (capacity outcap; strlen(name) + strlen(type_name) + 32 always suffices).
 * Returns 0 and sets *outlen, or -1 with a message.
 */
int			cdc_column_header_encode(const char *name, const char *type_name,
									 uint32_t type_oid, char *out, size_t outcap,
									 size_t *outlen, char *errbuf, size_t errlen);

/*
 * Encodes the connector, version, database, schema and table fields of a
 * cdc.v1.Source as this encoder writes them, into out (capacity outcap;
 * the three lengths + 64 always suffices). Returns 0 and sets *outlen, or
 * -1 with a message.
 */
int			cdc_encoder_source_header(cdc_encoder *enc, const char *database,
									  const char *schema, const char *table,
									  char *out, size_t outcap, size_t *outlen,
									  char *errbuf, size_t errlen);

/* Frees an encoder; NULL is allowed. */
void		cdc_encoder_destroy(cdc_encoder *enc);

/*
 * Serializes one event as a cdc.v1.Envelope. On success returns 0 and points
 * *out at bytes owned by the encoder, valid until its next call.
 */
int			cdc_encoder_encode(cdc_encoder *enc, const cdc_event *event,
							   const char **out, size_t *outlen,
							   char *errbuf, size_t errlen);

/*
 * Serializes an outbox event alone as a cdc.v1.OutboxEvent (what
 * cdc_plugin.publish() writes into the WAL); like cdc_encoder_encode().
 */
int			cdc_encoder_encode_outbox(cdc_encoder *enc, const cdc_outbox *outbox,
									  const char **out, size_t *outlen,
									  char *errbuf, size_t errlen);

/*
 * Parses a cdc.v1.OutboxEvent. The strings point into data; the headers go
 * to the caller's array of max_headers entries. Returns 0, or -1 with a
 * message for bytes that are not one (or hold more headers, an unknown
 * payload format, a topic or header name that is not UTF-8). Never throws.
 */
int			cdc_outbox_parse(const char *data, size_t len, cdc_outbox *out,
							 cdc_outbox_header *headers, size_t max_headers,
							 char *errbuf, size_t errlen);

/* Serializes a key row as a cdc.v1.Row (the Kafka message key). */
int			cdc_encoder_encode_key(cdc_encoder *enc, const cdc_row *key,
								   const char **out, size_t *outlen,
								   char *errbuf, size_t errlen);

/* ---- JSON rendering ---- */

/* Results of cdc_render_json(). */
#define CDC_RENDER_OK			0
#define CDC_RENDER_INVALID		(-1)	/* corrupt or truncated envelope: message */
#define CDC_RENDER_TOO_LARGE	(-2)	/* the rendering would exceed max_len: message */
#define CDC_RENDER_INTERRUPTED	(-3)	/* interrupted() returned true: no message */
#define CDC_RENDER_NO_MEMORY	(-4)	/* allocation failed: message */

/* The longest rendering, unless max_len says less: 256 MB. */
#define CDC_RENDER_MAX_LEN		((size_t) 256 << 20)

typedef struct cdc_render_options
{
	/* Longest rendering in bytes; 0 or more than CDC_RENDER_MAX_LEN: that. */
	size_t		max_len;

	/*
	 * json and jsonb values nested deeper than this render as JSON strings
	 * of their text (a parser that recurses per level could not read them
	 * back); 0: any depth.
	 */
	int			max_json_depth;

	/*
	 * The rendering is read in an encoding other than UTF-8: json and jsonb
	 * values with \u escapes of non-ASCII characters (which that encoding
	 * may lack) render as strings of their text.
	 */
	bool		ascii_escapes_only;

	/*
	 * Polled every few thousand units of work; returning true stops the
	 * rendering with CDC_RENDER_INTERRUPTED. It must return normally (it is
	 * called from C++ frames: no longjmp, no ereport). NULL: never.
	 */
	bool		(*interrupted) (void);
} cdc_render_options;

/*
 * Parses envelope bytes and renders them as JSON text (NUL-terminated, in a
 * per-thread buffer valid until the next call or cdc_render_json_release()).
 * opts may be NULL (defaults). The work is bounded by len: array levels
 * beyond 3 per envelope byte (dims with a 0 in them) make it invalid.
 * Returns CDC_RENDER_OK or one of the CDC_RENDER_* errors above.
 */
int			cdc_render_json(const char *data, size_t len,
							const cdc_render_options *opts,
							const char **out, size_t *outlen,
							char *errbuf, size_t errlen);

/*
 * Parses key bytes (a cdc.v1.Row, the Kafka key the worker sends) and
 * renders them as the JSON object an envelope's "key" is, in a second
 * per-thread buffer (so a value's rendering stays valid meanwhile).
 */
int			cdc_render_key_json(const char *data, size_t len,
								const cdc_render_options *opts,
								const char **out, size_t *outlen,
								char *errbuf, size_t errlen);

/*
 * Frees the per-thread rendering buffers if they are large (over 1 MB); call it
 * once the rendering is no longer needed. Never fails.
 */
void		cdc_render_json_release(void);

/* ---- snapshot chunks ---- */

/*
 * The rows of one snapshot chunk while its watermark window is open: per
 * row its encoded key Row and its envelope without source, in read order.
 * Streamed changes drop their keys; what is left is published at the high
 * watermark. Memory: the rows' bytes, freed by clear() or destroy().
 */
typedef struct cdc_chunk cdc_chunk;

cdc_chunk  *cdc_chunk_create(char *errbuf, size_t errlen);
void		cdc_chunk_destroy(cdc_chunk *c);	/* NULL is allowed */

/* Adds a row (both copied); a key already held is replaced. 0, or -1 with a message. */
int			cdc_chunk_add(cdc_chunk *c, const char *key, size_t keylen,
						  const char *part, size_t partlen, char *errbuf, size_t errlen);

/* Drops the row of this key; true if the chunk held it. Never fails. */
bool		cdc_chunk_drop(cdc_chunk *c, const char *key, size_t keylen);

/* Drops every row (a TRUNCATE of the table in the window). Never fails. */
void		cdc_chunk_drop_all(cdc_chunk *c);

/* Forgets every row. Never fails. */
void		cdc_chunk_clear(cdc_chunk *c);

size_t		cdc_chunk_added(const cdc_chunk *c);	/* rows added, dropped ones included */
size_t		cdc_chunk_left(const cdc_chunk *c); /* rows not dropped */
size_t		cdc_chunk_bytes(const cdc_chunk *c);	/* bytes of the rows not dropped */

/* Row i (0 .. added-1) in read order: false when it was dropped. */
bool		cdc_chunk_get(const cdc_chunk *c, size_t i, cdc_bytes *key, cdc_bytes *part);

/* ---- decoding options ---- */

typedef struct cdc_options cdc_options;

/* Option values after parsing; defaults documented in README. */
typedef struct cdc_option_flags
{
	bool		include_transaction_events; /* default false */
	bool		skip_empty_xacts;	/* default true */
	bool		include_messages;	/* default true */
	bool		include_type_names; /* default false */
	bool		include_schema_events;	/* default false */
} cdc_option_flags;

/* Creates an option set holding the defaults; NULL on failure. */
cdc_options *cdc_options_create(char *errbuf, size_t errlen);

/* Frees an option set; NULL is allowed. */
void		cdc_options_destroy(cdc_options *opts);

/*
 * Applies one decoding option; value is NULL when the option was given
 * without a value. Returns 0, or -1 with a message naming the option and
 * the accepted values.
 */
int			cdc_options_set(cdc_options *opts, const char *name, const char *value,
							char *errbuf, size_t errlen);

/* Reads the boolean options. */
void		cdc_options_get_flags(const cdc_options *opts, cdc_option_flags *flags);

/* True if changes of schema.table pass include-tables and exclude-tables. */
bool		cdc_options_table_included(const cdc_options *opts,
									   const char *schema, const char *table);

/* True if a logical message with this prefix passes message-prefixes. */
bool		cdc_options_message_included(const cdc_options *opts, const char *prefix);

/* The roles of an outbox table's columns (decoding option outbox-columns). */
typedef enum cdc_outbox_role
{
	CDC_OUTBOX_ID = 0,
	CDC_OUTBOX_AGGREGATETYPE,
	CDC_OUTBOX_AGGREGATEID,
	CDC_OUTBOX_TYPE,
	CDC_OUTBOX_PAYLOAD,
	CDC_OUTBOX_HEADERS,
	CDC_OUTBOX_NROLES
} cdc_outbox_role;

/* True if schema.table matches outbox-tables (its inserts are outbox events). */
bool		cdc_options_table_outbox(const cdc_options *opts, const char *schema,
									 const char *table);

/* The topic template of outbox tables (outbox-topic); valid while opts lives. */
const char *cdc_options_outbox_topic(const cdc_options *opts);

/* The column playing a role in outbox tables (outbox-columns); valid while opts lives. */
const char *cdc_options_outbox_column(const cdc_options *opts, cdc_outbox_role role);

#ifdef __cplusplus
}
#endif

#endif							/* CDC_CORE_H */
