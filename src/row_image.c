/*
 * row_image.c — PostgreSQL tuples to typed cdc_row images.
 *
 * Each value is mapped to the most faithful native cdc.v1.Value member its
 * type allows; a type without a native mapping goes through its output
 * function, so no type is ever an error. Descriptions of relations and
 * types (names, output functions, a composite type's fields) live in the
 * memory context the caller names for them and are reused for every value;
 * a composite type's fields are described at its first value and again
 * when its shape, or a type name it shows, has changed. Row images and
 * converted values live in the caller's current memory context (the
 * per-change context). This file must never call into C++ and must never
 * keep a pointer into a tuple past the change it was built for.
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/uuid.h"

#include "row_image.h"

/* Microseconds between 1970-01-01 and 2000-01-01 (PostgreSQL's epoch). */
#define CDC_UNIX_EPOCH_OFFSET_US \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY)
#define CDC_UNIX_EPOCH_OFFSET_DAYS (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE)

/*
 * The fields of the composite type a CDC_CONV_RECORD type info converted
 * last, keyed by that record's type id and typmod and by what tells its
 * tuple descriptor's version; a value of another key gets them rebuilt.
 */
typedef struct CdcRecordFields
{
	MemoryContext cxt;			/* the fields; reset at every rebuild */
	bool		valid;			/* false while (re)building */
	Oid			typid;
	int32		typmod;
	uint64		tupdesc_id;		/* typcache's identifier of the tuple descriptor */
	uint64		types_epoch;	/* cdc_types_epoch when built */
	int			natts;
	CdcColumnInfo *fields;		/* described like a relation's columns */
} CdcRecordFields;

static void cdc_value_from_datum(CdcTypeInfo *info, Datum value, cdc_value *out);

/*
 * Envelopes carry UTF-8 (protobuf strings must be). In a database of
 * another encoding every string is converted; SQL_ASCII cannot be, so its
 * strings go as they are and the encoder checks them.
 */
static bool cdc_text_needs_conversion = false;

/* Whether columns carry their SQL type name (decoding option include-type-names). */
static bool cdc_include_type_names = false;

/* Bumped when a type may have been renamed: composite field type names go stale. */
static uint64 cdc_types_epoch = 1;

/* Reads the database encoding and the session's options; once per session. */
void
cdc_row_image_init(bool include_type_names)
{
	int			enc = GetDatabaseEncoding();

	cdc_text_needs_conversion = enc != PG_UTF8 && enc != PG_SQL_ASCII;
	cdc_include_type_names = include_type_names;
}

/* Marks every composite's field descriptions for a rebuild at its next value. */
void
cdc_row_image_types_changed(void)
{
	cdc_types_epoch++;
}

/* A server-encoded string as UTF-8 bytes. */
cdc_bytes
cdc_server_text(const char *s, size_t len)
{
	cdc_bytes	b;

	b.data = s;
	b.len = len;
	if (cdc_text_needs_conversion && len > 0)
	{
		char	   *conv = pg_server_to_any(s, (int) len, PG_UTF8);

		if (conv != s)
		{
			b.data = conv;
			b.len = strlen(conv);
		}
	}
	return b;
}

/* A NUL-terminated server-encoded string as a NUL-terminated UTF-8 one. */
char *
cdc_server_cstring(const char *s)
{
	if (s == NULL || !cdc_text_needs_conversion)
		return (char *) s;
	return pg_server_to_any(s, strlen(s), PG_UTF8);
}

/* Picks the conversion for a base type. */
static CdcConversion
cdc_conversion_for(Oid basetypid)
{
	switch (basetypid)
	{
		case BOOLOID:
			return CDC_CONV_BOOL;
		case INT2OID:
			return CDC_CONV_INT2;
		case INT4OID:
			return CDC_CONV_INT4;
		case INT8OID:
			return CDC_CONV_INT8;
		case FLOAT4OID:
			return CDC_CONV_FLOAT4;
		case FLOAT8OID:
			return CDC_CONV_FLOAT8;
		case NUMERICOID:
			return CDC_CONV_NUMERIC;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			return CDC_CONV_TEXT;
		case NAMEOID:
			return CDC_CONV_NAME;
		case BYTEAOID:
			return CDC_CONV_BYTEA;
		case DATEOID:
			return CDC_CONV_DATE;
		case TIMEOID:
			return CDC_CONV_TIME;
		case TIMETZOID:
			return CDC_CONV_TIMETZ;
		case TIMESTAMPOID:
			return CDC_CONV_TIMESTAMP;
		case TIMESTAMPTZOID:
			return CDC_CONV_TIMESTAMPTZ;
		case INTERVALOID:
			return CDC_CONV_INTERVAL;
		case UUIDOID:
			return CDC_CONV_UUID;
		case JSONOID:
			return CDC_CONV_JSON;
		case JSONBOID:
			return CDC_CONV_JSONB;
		default:
			break;
	}
	switch (get_typtype(basetypid))
	{
		case TYPTYPE_ENUM:
			return CDC_CONV_ENUM;
		case TYPTYPE_COMPOSITE:
			return CDC_CONV_RECORD;
		case TYPTYPE_PSEUDO:
			return basetypid == RECORDOID ? CDC_CONV_RECORD : CDC_CONV_OUTPUT;
		default:
			break;
	}
	if (get_element_type(basetypid) != InvalidOid)
		return CDC_CONV_ARRAY;
	return CDC_CONV_OUTPUT;
}

/* Fills in how to convert values of typid; lookups are done once here. */
void
cdc_type_info_init(CdcTypeInfo *info, Oid typid, MemoryContext cxt)
{
	Oid			typoutput;
	bool		typisvarlena;

	check_stack_depth();
	memset(info, 0, sizeof(*info));
	info->cxt = cxt;
	info->typid = typid;
	info->basetypid = getBaseType(typid);
	info->conv = cdc_conversion_for(info->basetypid);
	getTypeOutputInfo(info->basetypid, &typoutput, &typisvarlena);
	fmgr_info_cxt(typoutput, &info->output, cxt);

	if (info->conv == CDC_CONV_ARRAY)
	{
		Oid			elemtype = get_element_type(info->basetypid);

		info->element = MemoryContextAlloc(cxt, sizeof(CdcTypeInfo));
		cdc_type_info_init(info->element, elemtype, cxt);
		get_typlenbyvalalign(elemtype, &info->elmlen, &info->elmbyval, &info->elmalign);
	}
}

/*
 * Bytes of a (possibly compressed or short-header) varlena, detoasted.
 * Logical decoding hands over a TOAST value it reassembled as an indirect
 * pointer to it: a plain one is read in place, since detoasting would copy
 * it, and a large value would be held twice.
 */
static cdc_bytes
cdc_varlena_bytes(Datum value)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(value);
	cdc_bytes	b;

	if (VARATT_IS_EXTERNAL_INDIRECT(v))
	{
		struct varatt_indirect redirect;

		VARATT_EXTERNAL_GET_POINTER(redirect, v);
		if (!VARATT_IS_EXTERNAL(redirect.pointer) && !VARATT_IS_COMPRESSED(redirect.pointer))
			v = redirect.pointer;
	}
	v = pg_detoast_datum_packed(v);

	b.data = VARDATA_ANY(v);
	b.len = VARSIZE_ANY_EXHDR(v);
	return b;
}

/* Text stored in a varlena (text, varchar, json), as UTF-8. */
static cdc_bytes
cdc_varlena_text(Datum value)
{
	cdc_bytes	b = cdc_varlena_bytes(value);

	return cdc_server_text(b.data, b.len);
}

/* A NUL-terminated C string as cdc_bytes. */
static cdc_bytes
cdc_cstring_bytes(const char *s)
{
	return cdc_server_text(s, strlen(s));
}

/* Text through the type's output function (the fallback for everything). */
static void
cdc_value_as_output_text(CdcTypeInfo *info, Datum value, cdc_value *out)
{
	out->kind = CDC_VALUE_TEXT;
	out->u.str = cdc_cstring_bytes(OutputFunctionCall(&info->output, value));
}

/*
 * Timestamps in microseconds since 1970. The few years past 294247 do not
 * fit; they go as ISO 8601 text (UTC for timestamptz), which is what
 * PostgreSQL's own JSON encoding prints and independent of DateStyle.
 */
static void
cdc_value_from_timestamp(CdcTypeInfo *info, Datum value, cdc_value_kind kind,
						 cdc_value *out)
{
	Timestamp	ts = DatumGetTimestamp(value);
	int			utc = 0;

	out->kind = kind;
	if (TIMESTAMP_IS_NOBEGIN(ts))
		out->u.micros = PG_INT64_MIN;
	else if (TIMESTAMP_IS_NOEND(ts))
		out->u.micros = PG_INT64_MAX;
	else if (pg_add_s64_overflow(ts, CDC_UNIX_EPOCH_OFFSET_US, &out->u.micros) ||
			 out->u.micros == PG_INT64_MAX)
	{
		out->kind = CDC_VALUE_TEXT;
		out->u.str = cdc_cstring_bytes(JsonEncodeDateTime(NULL, value, info->basetypid,
														  kind == CDC_VALUE_TIMESTAMPTZ ? &utc : NULL));
	}
}

/* An array, element by element, any number of dimensions. */
static void
cdc_value_from_array(CdcTypeInfo *info, Datum value, cdc_value *out)
{
	ArrayType  *arr = DatumGetArrayTypeP(value);
	cdc_array  *result = palloc0(sizeof(cdc_array));
	int			ndims = ARR_NDIM(arr);
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	cdc_value  *values;
	int			i;

	deconstruct_array(arr, ARR_ELEMTYPE(arr), info->elmlen, info->elmbyval,
					  info->elmalign, &elems, &nulls, &nelems);
	result->ndims = ndims;
	for (i = 0; i < ndims && i < 6; i++)
	{
		result->dims[i] = ARR_DIMS(arr)[i];
		result->lower_bounds[i] = ARR_LBOUND(arr)[i];
	}
	values = palloc0(sizeof(cdc_value) * Max(nelems, 1));
	for (i = 0; i < nelems; i++)
	{
		if (nulls[i])
			values[i].kind = CDC_VALUE_NULL;
		else
			cdc_value_from_datum(info->element, elems[i], &values[i]);
	}
	result->elements = values;
	result->nelements = nelems;
	out->kind = CDC_VALUE_ARRAY;
	out->u.array = result;
}

/* True when columns still describe tupdesc (same attributes, same types). */
bool
cdc_columns_match(const CdcColumnInfo *columns, int ncolumns, TupleDesc tupdesc)
{
	int			i;

	if (ncolumns != tupdesc->natts)
		return false;
	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (att->attisdropped != columns[i].dropped)
			return false;
		if (!att->attisdropped && att->atttypid != columns[i].type.typid)
			return false;
	}
	return true;
}

/* Describes one attribute (name, type name when sent, conversion) in cxt. */
static void
cdc_column_info_init(CdcColumnInfo *col, Form_pg_attribute att, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);

	col->dropped = att->attisdropped;
	if (!col->dropped)
	{
		col->name = cdc_server_cstring(pstrdup(NameStr(att->attname)));
		col->type_name = cdc_include_type_names ?
			cdc_server_cstring(format_type_with_typemod(att->atttypid, att->atttypmod)) : "";
		cdc_type_info_init(&col->type, att->atttypid, cxt);
	}
	MemoryContextSwitchTo(old);
}

/*
 * The field descriptions for a record of type (typid, typmod) described by
 * tupdesc: the cached ones when they were built for it, else built anew in
 * their own context under the type info's (a rebuild frees the old ones).
 */
static CdcRecordFields *
cdc_record_fields(CdcTypeInfo *info, Oid typid, int32 typmod, TupleDesc tupdesc)
{
	CdcRecordFields *rf = info->record;
	uint64		tupdesc_id = assign_record_type_identifier(typid, typmod);
	int			i;

	if (rf != NULL && rf->valid && rf->typid == typid && rf->typmod == typmod &&
		rf->tupdesc_id == tupdesc_id && rf->types_epoch == cdc_types_epoch &&
		cdc_columns_match(rf->fields, rf->natts, tupdesc))
		return rf;

	if (rf == NULL)
	{
		rf = MemoryContextAllocZero(info->cxt, sizeof(CdcRecordFields));
		rf->cxt = AllocSetContextCreate(info->cxt, "cdc_plugin composite fields",
										ALLOCSET_SMALL_SIZES);
		info->record = rf;
	}
	else
		MemoryContextReset(rf->cxt);
	rf->valid = false;

	rf->fields = MemoryContextAllocZero(rf->cxt, sizeof(CdcColumnInfo) * Max(tupdesc->natts, 1));
	for (i = 0; i < tupdesc->natts; i++)
		cdc_column_info_init(&rf->fields[i], TupleDescAttr(tupdesc, i), rf->cxt);

	rf->natts = tupdesc->natts;
	rf->typid = typid;
	rf->typmod = typmod;
	rf->tupdesc_id = tupdesc_id;
	rf->types_epoch = cdc_types_epoch;
	rf->valid = true;
	return rf;
}

/* A composite value: its fields as columns, converted recursively. */
static void
cdc_value_from_record(CdcTypeInfo *info, Datum value, cdc_value *out)
{
	HeapTupleHeader rec = DatumGetHeapTupleHeader(value);
	Oid			typid = HeapTupleHeaderGetTypeId(rec);
	int32		typmod = HeapTupleHeaderGetTypMod(rec);
	TupleDesc	tupdesc = lookup_rowtype_tupdesc(typid, typmod);
	CdcRecordFields *rf = cdc_record_fields(info, typid, typmod, tupdesc);
	HeapTupleData tuple;
	Datum	   *values = palloc(sizeof(Datum) * Max(tupdesc->natts, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(tupdesc->natts, 1));
	cdc_column *columns = palloc0(sizeof(cdc_column) * Max(tupdesc->natts, 1));
	cdc_row    *row = palloc0(sizeof(cdc_row));
	int			n = 0;
	int			i;

	tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = rec;
	heap_deform_tuple(&tuple, tupdesc, values, nulls);

	for (i = 0; i < rf->natts; i++)
	{
		CdcColumnInfo *field = &rf->fields[i];
		cdc_column *col;

		if (field->dropped)
			continue;
		col = &columns[n++];
		col->name = field->name;
		col->type_name = field->type_name;
		col->type_oid = field->type.typid;
		if (nulls[i])
			col->value.kind = CDC_VALUE_NULL;
		else
			cdc_value_from_datum(&field->type, values[i], &col->value);
	}
	ReleaseTupleDesc(tupdesc);
	row->columns = columns;
	row->ncolumns = n;
	out->kind = CDC_VALUE_RECORD;
	out->u.record = row;
}

/* Converts one non-null datum. */
static void
cdc_value_from_datum(CdcTypeInfo *info, Datum value, cdc_value *out)
{
	check_stack_depth();
	switch (info->conv)
	{
		case CDC_CONV_BOOL:
			out->kind = CDC_VALUE_BOOL;
			out->u.b = DatumGetBool(value);
			break;
		case CDC_CONV_INT2:
			out->kind = CDC_VALUE_INT;
			out->u.i = DatumGetInt16(value);
			break;
		case CDC_CONV_INT4:
			out->kind = CDC_VALUE_INT;
			out->u.i = DatumGetInt32(value);
			break;
		case CDC_CONV_INT8:
			out->kind = CDC_VALUE_INT;
			out->u.i = DatumGetInt64(value);
			break;
		case CDC_CONV_FLOAT4:
			out->kind = CDC_VALUE_FLOAT4;
			out->u.f4 = DatumGetFloat4(value);
			break;
		case CDC_CONV_FLOAT8:
			out->kind = CDC_VALUE_FLOAT8;
			out->u.f8 = DatumGetFloat8(value);
			break;
		case CDC_CONV_NUMERIC:
			/* numeric_out prints exact digits, NaN and +/-Infinity */
			out->kind = CDC_VALUE_NUMERIC;
			out->u.str = cdc_cstring_bytes(OutputFunctionCall(&info->output, value));
			break;
		case CDC_CONV_TEXT:
			out->kind = CDC_VALUE_TEXT;
			out->u.str = cdc_varlena_text(value);
			break;
		case CDC_CONV_NAME:
			out->kind = CDC_VALUE_TEXT;
			out->u.str = cdc_cstring_bytes(NameStr(*DatumGetName(value)));
			break;
		case CDC_CONV_BYTEA:
			out->kind = CDC_VALUE_BYTES;
			out->u.str = cdc_varlena_bytes(value);
			break;
		case CDC_CONV_DATE:
			{
				DateADT		d = DatumGetDateADT(value);

				out->kind = CDC_VALUE_DATE;
				if (DATE_IS_NOBEGIN(d))
					out->u.date = PG_INT32_MIN;
				else if (DATE_IS_NOEND(d))
					out->u.date = PG_INT32_MAX;
				else
					out->u.date = d + CDC_UNIX_EPOCH_OFFSET_DAYS;
				break;
			}
		case CDC_CONV_TIME:
			out->kind = CDC_VALUE_TIME;
			out->u.micros = DatumGetTimeADT(value);
			break;
		case CDC_CONV_TIMETZ:
			{
				TimeTzADT  *t = DatumGetTimeTzADTP(value);

				out->kind = CDC_VALUE_TIMETZ;
				out->u.timetz.micros = t->time;
				/* PostgreSQL stores seconds west of UTC */
				out->u.timetz.offset_seconds = -t->zone;
				break;
			}
		case CDC_CONV_TIMESTAMP:
			cdc_value_from_timestamp(info, value, CDC_VALUE_TIMESTAMP, out);
			break;
		case CDC_CONV_TIMESTAMPTZ:
			cdc_value_from_timestamp(info, value, CDC_VALUE_TIMESTAMPTZ, out);
			break;
		case CDC_CONV_INTERVAL:
			{
				Interval   *iv = DatumGetIntervalP(value);

				out->kind = CDC_VALUE_INTERVAL;
				out->u.interval.months = iv->month;
				out->u.interval.days = iv->day;
				out->u.interval.micros = iv->time;
				break;
			}
		case CDC_CONV_UUID:
			out->kind = CDC_VALUE_UUID;
			out->u.str.data = (const char *) DatumGetUUIDP(value)->data;
			out->u.str.len = UUID_LEN;
			break;
		case CDC_CONV_JSON:
			out->kind = CDC_VALUE_JSON;
			out->u.str = cdc_varlena_text(value);
			break;
		case CDC_CONV_JSONB:
			out->kind = CDC_VALUE_JSONB;
			out->u.str = cdc_cstring_bytes(OutputFunctionCall(&info->output, value));
			break;
		case CDC_CONV_ENUM:
			out->kind = CDC_VALUE_ENUM;
			out->u.str = cdc_cstring_bytes(OutputFunctionCall(&info->output, value));
			break;
		case CDC_CONV_ARRAY:
			cdc_value_from_array(info, value, out);
			break;
		case CDC_CONV_RECORD:
			cdc_value_from_record(info, value, out);
			break;
		case CDC_CONV_OUTPUT:
			cdc_value_as_output_text(info, value, out);
			break;
	}
}

/* Marks the attributes of an index as key columns. */
static int
cdc_mark_index_columns(CdcRelDesc *desc, Oid indexoid)
{
	Relation	index = RelationIdGetRelation(indexoid);
	int			nkeys = 0;
	int			i;

	if (!RelationIsValid(index))
		return 0;
	for (i = 0; i < index->rd_index->indnkeyatts; i++)
	{
		AttrNumber	attnum = index->rd_index->indkey.values[i];

		if (attnum > 0 && attnum <= desc->natts && !desc->columns[attnum - 1].is_key)
		{
			desc->columns[attnum - 1].is_key = true;
			nkeys++;
		}
	}
	RelationClose(index);
	return nkeys;
}

/* Encodes a column's name, type and oid once, for every envelope to copy. */
static void
cdc_column_header_build(CdcColumnInfo *col, Oid typid)
{
	size_t		cap = strlen(col->name) + strlen(col->type_name) + 32;
	char	   *buf = palloc(cap);
	char		errbuf[CDC_ERRBUF_SIZE];

	if (cdc_column_header_encode(col->name, col->type_name, typid, buf, cap,
								 &col->header.len, errbuf, sizeof(errbuf)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("cdc_plugin cannot describe column \"%s\": %s", col->name, errbuf),
				 errhint("Names must be valid UTF-8 once converted from the database encoding.")));
	col->header.data = buf;
}

/*
 * Describes a relation's columns as of the decoding snapshot. Key columns
 * are the replica identity index's; with REPLICA IDENTITY FULL or NOTHING
 * the primary key's, so that such tables are still keyed when they have one.
 */
CdcRelDesc *
cdc_rel_desc_build(Relation rel, MemoryContext cxt)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	CdcRelDesc *desc = palloc0(sizeof(CdcRelDesc));
	List	   *indexes;
	int			i;

	desc->natts = tupdesc->natts;
	desc->replident = rel->rd_rel->relreplident;
	desc->columns = palloc0(sizeof(CdcColumnInfo) * Max(desc->natts, 1));
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		CdcColumnInfo *col = &desc->columns[i];

		cdc_column_info_init(col, att, cxt);
		if (!col->dropped)
			cdc_column_header_build(col, att->atttypid);
	}

	/* RelationGetIndexList fills rd_replidindex and rd_pkindex */
	indexes = RelationGetIndexList(rel);
	list_free(indexes);
	if (OidIsValid(rel->rd_replidindex))
		desc->nkeys = cdc_mark_index_columns(desc, rel->rd_replidindex);
	else if (OidIsValid(rel->rd_pkindex))
		desc->nkeys = cdc_mark_index_columns(desc, rel->rd_pkindex);

	MemoryContextSwitchTo(old);
	return desc;
}

/*
 * Builds a row image from a tuple's values (tupdesc's attributes, dropped
 * ones included) and, when key_out is given, the image of its key columns
 * in the same pass (sharing the converted values). A value still stored
 * out of line is one the WAL did not carry (an unchanged TOAST value of an
 * UPDATE): it is marked as such, never read and never sent as null.
 * Composite columns get their field descriptions built into desc's memory
 * at their first value.
 */
cdc_row *
cdc_row_from_values(CdcRelDesc *desc, TupleDesc tupdesc, const Datum *values,
					const bool *nulls, CdcImageColumns which, cdc_row **key_out)
{
	int			natts = Min(desc->natts, tupdesc->natts);
	cdc_column *columns = palloc(sizeof(cdc_column) * Max(natts, 1));
	cdc_row    *row = palloc(sizeof(cdc_row));
	cdc_column *keys = NULL;
	size_t		nkeys = 0;
	int			n = 0;
	int			i;

	if (key_out != NULL)
		keys = palloc(sizeof(cdc_column) * Max(desc->nkeys, 1));
	for (i = 0; i < natts; i++)
	{
		CdcColumnInfo *info = &desc->columns[i];
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		cdc_column *col;

		if (info->dropped || att->attisdropped)
			continue;
		if (which == CDC_IMAGE_KEY && !info->is_key)
			continue;
		col = &columns[n++];
		col->name = info->name;
		col->type_name = info->type_name;
		col->type_oid = info->type.typid;
		col->header = info->header;
		if (nulls[i])
			col->value.kind = CDC_VALUE_NULL;
		else if (att->attlen == -1 &&
				 VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(values[i])))
			col->value.kind = CDC_VALUE_UNCHANGED_TOAST;
		else
			cdc_value_from_datum(&info->type, values[i], &col->value);
		if (keys != NULL && info->is_key && nkeys < (size_t) desc->nkeys)
			keys[nkeys++] = *col;
	}
	row->columns = columns;
	row->ncolumns = n;
	if (key_out != NULL)
	{
		cdc_row    *key = palloc(sizeof(cdc_row));

		key->columns = keys;
		key->ncolumns = nkeys;
		*key_out = key;
	}
	return row;
}

/* The same for a heap tuple (decoded changes). */
cdc_row *
cdc_row_from_tuple(CdcRelDesc *desc, TupleDesc tupdesc, HeapTuple tuple,
				   CdcImageColumns which, cdc_row **key_out)
{
	Datum	   *values = palloc(sizeof(Datum) * Max(tupdesc->natts, 1));
	bool	   *nulls = palloc(sizeof(bool) * Max(tupdesc->natts, 1));

	heap_deform_tuple(tuple, tupdesc, values, nulls);
	return cdc_row_from_values(desc, tupdesc, values, nulls, which, key_out);
}
