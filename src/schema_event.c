/*
 * schema_event.c — schema events as the output plugin decodes them: the
 * event trigger's JSON message, or a table's row of cdc_plugin.schema_state,
 * turned into a cdc_schema_change. Nothing here raises an ERROR for a bad
 * description: a message that is not one the event trigger writes (only a
 * role allowed to call pg_logical_emit_message() can forge one) is
 * reported to the caller, who skips it, so that it cannot wedge decoding.
 */
#include "postgres.h"

#include <errno.h>
#include <limits.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#include "output_plugin.h"
#include "row_image.h"
#include "schema_ddl.h"
#include "schema_event.h"

/* The longest description decoded: a table of 1600 columns with long names and DDL text fits. */
#define CDC_SCHEMA_MESSAGE_MAX ((Size) 16 << 20)

/* A member of a JSON object, or NULL. */
static JsonbValue *
cdc_jfield(JsonbContainer *obj, const char *name)
{
	if (obj == NULL || !JsonContainerIsObject(obj))
		return NULL;
	return getKeyJsonValueFromContainer(obj, name, strlen(name), NULL);
}

/* A string member, converted to UTF-8; NULL for null, missing or not a string. */
static char *
cdc_jstring(JsonbContainer *obj, const char *name)
{
	JsonbValue *v = cdc_jfield(obj, name);

	if (v == NULL || v->type != jbvString)
		return NULL;
	return cdc_server_cstring(pnstrdup(v->val.string.val, v->val.string.len));
}

/* A boolean member; false when missing or not a boolean. */
static bool
cdc_jbool(JsonbContainer *obj, const char *name)
{
	JsonbValue *v = cdc_jfield(obj, name);

	return v != NULL && v->type == jbvBool && v->val.boolean;
}

/* An integral number member within [min, max]; false when missing, not one, or out of range. */
static bool
cdc_jint(JsonbContainer *obj, const char *name, int64 min, int64 max, int64 *out)
{
	JsonbValue *v = cdc_jfield(obj, name);
	char	   *text;
	char	   *end;
	long long	n;

	if (v == NULL || v->type != jbvNumeric)
		return false;
	text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	errno = 0;
	n = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0' || end == text || n < min || n > max)
		return false;
	*out = (int64) n;
	return true;
}

/* A nested object or array member's container, or NULL. */
static JsonbContainer *
cdc_jcontainer(JsonbContainer *obj, const char *name)
{
	JsonbValue *v = cdc_jfield(obj, name);

	return v != NULL && v->type == jbvBinary ? v->val.binary.data : NULL;
}

/* Fills change->columns from a JSON array of column objects; false if one is malformed. */
static bool
cdc_schema_columns(JsonbContainer *array, cdc_schema_change *change, const char **why)
{
	uint32		n,
				i;
	cdc_schema_column *cols;

	if (array == NULL || !JsonContainerIsArray(array))
	{
		*why = "it has no columns array";
		return false;
	}
	n = JsonContainerSize(array);
	if (n > MaxHeapAttributeNumber)
	{
		*why = "it has more columns than a table can have";
		return false;
	}
	cols = palloc0(sizeof(cdc_schema_column) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		JsonbValue *elem = getIthJsonbValueFromContainer(array, i);
		JsonbContainer *c = elem != NULL && elem->type == jbvBinary ? elem->val.binary.data : NULL;
		int64		attnum,
					type_oid,
					typmod;

		if (c == NULL || !JsonContainerIsObject(c) ||
			(cols[i].name = cdc_jstring(c, "name")) == NULL ||
			(cols[i].type_name = cdc_jstring(c, "type")) == NULL ||
			!cdc_jint(c, "attnum", 1, MaxHeapAttributeNumber, &attnum) ||
			!cdc_jint(c, "type_oid", 0, UINT32_MAX, &type_oid) ||
			!cdc_jint(c, "typmod", INT32_MIN, INT32_MAX, &typmod))
		{
			*why = "a column lacks its name, type, attnum, type_oid or typmod";
			return false;
		}
		cols[i].attnum = (int32_t) attnum;
		cols[i].type_oid = (uint32_t) type_oid;
		cols[i].typmod = (int32_t) typmod;
		cols[i].not_null = cdc_jbool(c, "not_null");
		cols[i].has_default = cdc_jbool(c, "has_default");
		cols[i].key = cdc_jbool(c, "key");
	}
	change->columns = cols;
	change->ncolumns = n;
	return true;
}

bool
cdc_schema_event_parse(const char *message, Size size, CdcSchemaEvent *out, const char **why)
{
	char	   *text;
	JsonLexContext *lex;
	Jsonb	   *jb;
	JsonbContainer *root;
	JsonbContainer *renamed;
	int64		relid,
				version;

	memset(out, 0, sizeof(*out));
	if (size > CDC_SCHEMA_MESSAGE_MAX)
	{
		*why = "it is longer than 16 MB";
		return false;
	}
	text = pnstrdup(message, size);
	if (strlen(text) != size)
	{
		*why = "it holds a NUL byte";
		return false;
	}
	/* checked first: pg_parse_json reports an error, jsonb_in would raise it */
	lex = makeJsonLexContextCstringLen(text, (int) size, GetDatabaseEncoding(), true);
	if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
	{
		*why = "it is not valid JSON";
		return false;
	}
	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(text)));
	root = &jb->root;
	if (!JsonContainerIsObject(root) ||
		!cdc_jint(root, "relid", 1, UINT32_MAX, &relid) ||
		!cdc_jint(root, "schema_version", 1, PG_INT64_MAX, &version) ||
		(out->schema = cdc_jstring(root, "schema")) == NULL ||
		(out->table = cdc_jstring(root, "table")) == NULL)
	{
		*why = "it lacks its relid, schema_version, schema or table";
		return false;
	}
	out->relid = (Oid) relid;
	out->change.version = (uint64) version;
	out->change.command_tag = cdc_jstring(root, "command_tag");
	out->change.ddl = cdc_jstring(root, "ddl");
	out->change.dropped = cdc_jbool(root, "dropped");
	out->change.replica_identity = cdc_jstring(root, "replica_identity");
	renamed = cdc_jcontainer(root, "renamed_from");
	if (renamed != NULL)
	{
		out->change.renamed_from_schema = cdc_jstring(renamed, "schema");
		out->change.renamed_from_table = cdc_jstring(renamed, "table");
		if (out->change.renamed_from_schema == NULL || out->change.renamed_from_table == NULL)
		{
			*why = "its renamed_from lacks the schema or the table";
			return false;
		}
	}
	return cdc_schema_columns(cdc_jcontainer(root, "columns"), &out->change, why);
}

/*
 * Opens cdc_plugin.schema_state and finds the table's row (as of the
 * catalog snapshot); NULL rel when there is no extension here.
 */
typedef struct CdcStateRow
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;			/* NULL: no row for the table */
} CdcStateRow;

static void
cdc_state_row_open(Oid relid, CdcStateRow *row)
{
	Oid			nsp = get_namespace_oid(CDC_EXTENSION_SCHEMA, true);
	Oid			state = OidIsValid(nsp) ? get_relname_relid(CDC_SCHEMA_STATE_TABLE, nsp) : InvalidOid;
	Oid			pkey;
	ScanKeyData key;

	memset(row, 0, sizeof(*row));
	if (!OidIsValid(state))
		return;
	row->rel = table_open(state, AccessShareLock);
	pkey = RelationGetPrimaryKeyIndex(row->rel);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	row->scan = systable_beginscan(row->rel, pkey, OidIsValid(pkey), NULL, 1, &key);
	row->tuple = systable_getnext(row->scan);
}

static void
cdc_state_row_close(CdcStateRow *row)
{
	if (row->rel == NULL)
		return;
	systable_endscan(row->scan);
	table_close(row->rel, AccessShareLock);
}

/* A column of the state row by name; false when it is NULL or missing. */
static bool
cdc_state_attr(CdcStateRow *row, const char *name, Datum *value)
{
	TupleDesc	desc = RelationGetDescr(row->rel);
	int			i;
	bool		isnull;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
		{
			*value = heap_getattr(row->tuple, att->attnum, desc, &isnull);
			return !isnull;
		}
	}
	return false;
}

uint64
cdc_schema_version_of(Oid relid)
{
	CdcStateRow row;
	Datum		d;
	uint64		version = 0;

	cdc_state_row_open(relid, &row);
	if (row.tuple != NULL && cdc_state_attr(&row, "schema_version", &d))
		version = (uint64) DatumGetInt64(d);
	cdc_state_row_close(&row);
	return version;
}

bool
cdc_schema_event_restate(Oid relid, CdcSchemaEvent *out)
{
	CdcStateRow row;
	Datum		version,
				schema,
				table,
				columns,
				identity;
	bool		ok = false;
	const char *why;

	memset(out, 0, sizeof(*out));
	cdc_state_row_open(relid, &row);
	if (row.tuple != NULL &&
		cdc_state_attr(&row, "schema_version", &version) &&
		cdc_state_attr(&row, "schema_name", &schema) &&
		cdc_state_attr(&row, "table_name", &table) &&
		cdc_state_attr(&row, "columns", &columns) &&
		cdc_state_attr(&row, "replica_identity", &identity))
	{
		out->relid = relid;
		out->schema = cdc_server_cstring(TextDatumGetCString(schema));
		out->table = cdc_server_cstring(TextDatumGetCString(table));
		out->change.version = (uint64) DatumGetInt64(version);
		out->change.replica_identity = cdc_server_cstring(TextDatumGetCString(identity));
		out->change.resent = true;
		ok = cdc_schema_columns(&DatumGetJsonbP(columns)->root, &out->change, &why);
	}
	cdc_state_row_close(&row);
	return ok;
}
