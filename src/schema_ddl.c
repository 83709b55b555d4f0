/*
 * schema_ddl.c — the event trigger on DDL: schema events in the WAL and
 * the compatibility guard (cdc_plugin.schema_compatibility).
 *
 * At the end of every DDL command (ddl_command_end, sql_drop) it looks at
 * the tables the command touched. For each captured one (a permanent
 * ordinary table outside the system schemas and schema cdc_plugin that
 * passes cdc_plugin.include_tables / exclude_tables; the leaves of a
 * partitioned table) it reads the table's shape from the catalog, compares
 * it with the one cdc_plugin.schema_state holds, classifies each
 * difference, refuses what the compatibility mode forbids (an ERROR: the
 * DDL rolls back), and otherwise stores the new shape with the next
 * version and writes it as a transactional logical message (prefix
 * cdc_plugin.schema) that commits or rolls back with the DDL. It must
 * never refuse or write anything for a table that is not captured, must
 * stay cheap when nothing captured is touched (one query for the command's
 * objects, one primary-key lookup in schema_state per permanent table it
 * touched), and runs no C++ but the table filter, whose C entry points
 * catch every exception (cdc_table_captured).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "replication/message.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "config.h"
#include "output_plugin.h"
#include "schema_ddl.h"
#include "snapshot.h"

PG_FUNCTION_INFO_V1(cdc_plugin_on_ddl_command_end);
PG_FUNCTION_INFO_V1(cdc_plugin_on_sql_drop);
PG_FUNCTION_INFO_V1(cdc_plugin_schema_state_seed);

/* One column of a table's shape. */
typedef struct CdcColumn
{
	int			attnum;
	char	   *name;
	char	   *type;			/* format_type_with_typemod() */
	Oid			type_oid;
	int32		typmod;
	bool		not_null;
	bool		has_default;	/* a default, an identity or a generated column */
	bool		key;			/* part of the key the envelopes carry */
} CdcColumn;

/* A table's shape: what a schema event describes. */
typedef struct CdcShape
{
	char	   *schema;
	char	   *table;
	Oid			owner;
	const char *replica_identity;	/* default, full, index, nothing */
	int			ncolumns;
	CdcColumn  *columns;		/* in attnum order, without dropped ones */
} CdcShape;

/* What one DDL changed on one table, by kind. */
typedef enum CdcChangeKind
{
	CDC_CHANGE_ADD_OPTIONAL,	/* add a nullable column, or one with a default */
	CDC_CHANGE_ADD_REQUIRED,	/* add a NOT NULL column without default */
	CDC_CHANGE_DROP_OPTIONAL,
	CDC_CHANGE_DROP_REQUIRED,
	CDC_CHANGE_SET_NOT_NULL,
	CDC_CHANGE_DROP_NOT_NULL,
	CDC_CHANGE_DEFAULT,			/* SET / DROP DEFAULT */
	CDC_CHANGE_WIDEN,
	CDC_CHANGE_TYPE,
	CDC_CHANGE_RENAME_COLUMN,
	CDC_CHANGE_RENAME_TABLE,	/* RENAME, SET SCHEMA */
	CDC_CHANGE_KEY,
	CDC_CHANGE_REPLICA_IDENTITY,
	CDC_CHANGE_DROP_TABLE,
	CDC_CHANGE_STOP_CAPTURING	/* SET UNLOGGED, renamed out of the filters */
} CdcChangeKind;

/* Which compatibility a change breaks. */
#define CDC_BREAKS_BACKWARD 1	/* consumers on the new schema and older events */
#define CDC_BREAKS_FORWARD	2	/* consumers on the old schema and newer events */

typedef struct CdcChange
{
	CdcChangeKind kind;
	char	   *what;			/* "drop NOT NULL column "a" of captured table s.t" */
} CdcChange;

/* ---------------------------------------------------------------------
 * The shape of a table, from the catalog
 * ---------------------------------------------------------------------
 */

/* The text of a pg_class.relreplident. */
static const char *
cdc_replica_identity_name(char relreplident)
{
	switch (relreplident)
	{
		case REPLICA_IDENTITY_FULL:
			return "full";
		case REPLICA_IDENTITY_INDEX:
			return "index";
		case REPLICA_IDENTITY_NOTHING:
			return "nothing";
		default:
			return "default";
	}
}

/*
 * True if relid is a table the worker publishes: an ordinary permanent
 * table outside the system schemas that passes the filters.
 */
static bool
cdc_rel_captured(Oid relid)
{
	HeapTuple	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Form_pg_class form;
	bool		captured;
	char	   *schema;

	if (!HeapTupleIsValid(tp))
		return false;
	form = (Form_pg_class) GETSTRUCT(tp);
	captured = form->relkind == RELKIND_RELATION && form->relpersistence == RELPERSISTENCE_PERMANENT &&
		!IsCatalogNamespace(form->relnamespace) && !IsToastNamespace(form->relnamespace) &&
		!isAnyTempNamespace(form->relnamespace);
	if (captured)
	{
		schema = get_namespace_name(form->relnamespace);
		captured = schema != NULL && strcmp(schema, "information_schema") != 0 &&
			cdc_table_captured(schema, NameStr(form->relname));
	}
	ReleaseSysCache(tp);
	return captured;
}

/* Reads the current shape of an existing table. */
static void
cdc_shape_read(Oid relid, CdcShape *shape)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	List	   *indexes = RelationGetIndexList(rel);	/* fills the two below */
	Oid			keyindex = OidIsValid(rel->rd_replidindex) ? rel->rd_replidindex : rel->rd_pkindex;
	int			i;

	list_free(indexes);
	shape->schema = get_namespace_name(RelationGetNamespace(rel));
	shape->table = pstrdup(RelationGetRelationName(rel));
	shape->owner = rel->rd_rel->relowner;
	shape->replica_identity = cdc_replica_identity_name(rel->rd_rel->relreplident);
	shape->columns = palloc0(sizeof(CdcColumn) * Max(desc->natts, 1));
	shape->ncolumns = 0;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		CdcColumn  *col;

		if (att->attisdropped)
			continue;
		col = &shape->columns[shape->ncolumns++];
		col->attnum = att->attnum;
		col->name = pstrdup(NameStr(att->attname));
		col->type = format_type_with_typemod(att->atttypid, att->atttypmod);
		col->type_oid = att->atttypid;
		col->typmod = att->atttypmod;
		col->not_null = att->attnotnull;
		col->has_default = att->atthasdef || att->attidentity != '\0' || att->attgenerated != '\0';
	}
	if (OidIsValid(keyindex))
	{
		Relation	index = index_open(keyindex, AccessShareLock);
		int			k;

		for (k = 0; k < index->rd_index->indnkeyatts; k++)
		{
			int			attnum = index->rd_index->indkey.values[k];

			for (i = 0; i < shape->ncolumns; i++)
				if (shape->columns[i].attnum == attnum)
					shape->columns[i].key = true;
		}
		index_close(index, AccessShareLock);
	}
	table_close(rel, AccessShareLock);
}

/* ---------------------------------------------------------------------
 * JSON
 * ---------------------------------------------------------------------
 */

/* Appends the columns of a shape as a JSON array. */
static void
cdc_json_columns(StringInfo buf, const CdcShape *shape)
{
	int			i;

	appendStringInfoChar(buf, '[');
	for (i = 0; i < shape->ncolumns; i++)
	{
		const CdcColumn *col = &shape->columns[i];

		if (i > 0)
			appendStringInfoChar(buf, ',');
		appendStringInfo(buf, "{\"attnum\":%d,\"name\":", col->attnum);
		escape_json(buf, col->name);
		appendStringInfoString(buf, ",\"type\":");
		escape_json(buf, col->type);
		appendStringInfo(buf, ",\"type_oid\":%u,\"typmod\":%d,\"not_null\":%s,\"has_default\":%s,\"key\":%s}",
						 col->type_oid, col->typmod, col->not_null ? "true" : "false",
						 col->has_default ? "true" : "false", col->key ? "true" : "false");
	}
	appendStringInfoChar(buf, ']');
}

/* The schema event of one table, as a JSON object. */
static char *
cdc_json_event(Oid relid, const CdcShape *shape, int64 version, const char *command_tag,
			   bool dropped, const CdcShape *renamed_from)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"relid\":%u,\"schema\":", relid);
	escape_json(&buf, shape->schema);
	appendStringInfoString(&buf, ",\"table\":");
	escape_json(&buf, shape->table);
	appendStringInfo(&buf, ",\"schema_version\":" INT64_FORMAT ",\"command_tag\":", version);
	escape_json(&buf, command_tag);
	appendStringInfoString(&buf, ",\"ddl\":");
	if (cdc_schema_events_ddl_text && debug_query_string != NULL)
		escape_json(&buf, debug_query_string);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfo(&buf, ",\"dropped\":%s,\"renamed_from\":", dropped ? "true" : "false");
	if (renamed_from != NULL)
	{
		appendStringInfoString(&buf, "{\"schema\":");
		escape_json(&buf, renamed_from->schema);
		appendStringInfoString(&buf, ",\"table\":");
		escape_json(&buf, renamed_from->table);
		appendStringInfoChar(&buf, '}');
	}
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoString(&buf, ",\"replica_identity\":");
	escape_json(&buf, shape->replica_identity);
	appendStringInfoString(&buf, ",\"columns\":");
	cdc_json_columns(&buf, shape);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* ---------------------------------------------------------------------
 * cdc_plugin.schema_state, read and written as its owner
 * ---------------------------------------------------------------------
 */

/* The OID of cdc_plugin.schema_state, or InvalidOid (no extension, or being dropped). */
static Oid
cdc_state_relid(void)
{
	Oid			nsp = get_namespace_oid(CDC_EXTENSION_SCHEMA, true);

	return OidIsValid(nsp) ? get_relname_relid(CDC_SCHEMA_STATE_TABLE, nsp) : InvalidOid;
}

/*
 * Runs one statement on the state table as the table's owner: the DDL's
 * role may not write it (owner-only), and its search_path is not used
 * (every name is qualified).
 */
static void
cdc_state_exec(Oid state_relid, const char *sql, int nargs, Oid *types, Datum *values,
			   const char *nulls, int expected)
{
	Oid			save_user;
	int			save_sec;
	Oid			owner;
	HeapTuple	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(state_relid));
	int			ret;

	if (!HeapTupleIsValid(tp))
		elog(ERROR, "cache lookup failed for relation %u", state_relid);
	owner = ((Form_pg_class) GETSTRUCT(tp))->relowner;
	ReleaseSysCache(tp);

	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	/* not read-only: a read must see what an earlier trigger call of this transaction wrote */
	ret = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
	SetUserIdAndSecContext(save_user, save_sec);
	if (ret != expected)
		elog(ERROR, "cdc_plugin could not use %s.%s: %s", CDC_EXTENSION_SCHEMA,
			 CDC_SCHEMA_STATE_TABLE, SPI_result_code_string(ret));
}

/* Reads the stored shape of relid; false when schema_state has no row for it. */
static bool
cdc_state_read(Oid state_relid, Oid relid, CdcShape *shape, int64 *version)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	SPITupleTable *tt;
	uint64		n;
	uint64		i;
	bool		isnull;

	cdc_state_exec(state_relid,
				   "SELECT s.schema_name, s.table_name, s.schema_version, s.replica_identity, s.table_owner,"
				   " (c OPERATOR(pg_catalog.->>) 'attnum')::pg_catalog.int4,"
				   " c OPERATOR(pg_catalog.->>) 'name', c OPERATOR(pg_catalog.->>) 'type',"
				   " (c OPERATOR(pg_catalog.->>) 'type_oid')::pg_catalog.oid,"
				   " (c OPERATOR(pg_catalog.->>) 'typmod')::pg_catalog.int4,"
				   " (c OPERATOR(pg_catalog.->>) 'not_null')::pg_catalog.bool,"
				   " (c OPERATOR(pg_catalog.->>) 'has_default')::pg_catalog.bool,"
				   " (c OPERATOR(pg_catalog.->>) 'key')::pg_catalog.bool"
				   " FROM " CDC_EXTENSION_SCHEMA "." CDC_SCHEMA_STATE_TABLE " s"
				   " LEFT JOIN LATERAL pg_catalog.jsonb_array_elements(s.columns) WITH ORDINALITY AS e(c, ord) ON true"
				   " WHERE s.relid OPERATOR(pg_catalog.=) $1 ORDER BY e.ord",
				   1, types, values, NULL, SPI_OK_SELECT);
	tt = SPI_tuptable;
	n = SPI_processed;
	if (n == 0)
		return false;
	shape->schema = SPI_getvalue(tt->vals[0], tt->tupdesc, 1);
	shape->table = SPI_getvalue(tt->vals[0], tt->tupdesc, 2);
	*version = DatumGetInt64(SPI_getbinval(tt->vals[0], tt->tupdesc, 3, &isnull));
	shape->replica_identity = SPI_getvalue(tt->vals[0], tt->tupdesc, 4);
	shape->owner = DatumGetObjectId(SPI_getbinval(tt->vals[0], tt->tupdesc, 5, &isnull));
	shape->columns = palloc0(sizeof(CdcColumn) * n);
	shape->ncolumns = 0;
	for (i = 0; i < n; i++)
	{
		HeapTuple	t = tt->vals[i];
		CdcColumn  *col;

		(void) SPI_getbinval(t, tt->tupdesc, 6, &isnull);
		if (isnull)
			continue;			/* a table without columns */
		col = &shape->columns[shape->ncolumns++];
		col->attnum = DatumGetInt32(SPI_getbinval(t, tt->tupdesc, 6, &isnull));
		col->name = SPI_getvalue(t, tt->tupdesc, 7);
		col->type = SPI_getvalue(t, tt->tupdesc, 8);
		col->type_oid = DatumGetObjectId(SPI_getbinval(t, tt->tupdesc, 9, &isnull));
		col->typmod = DatumGetInt32(SPI_getbinval(t, tt->tupdesc, 10, &isnull));
		col->not_null = DatumGetBool(SPI_getbinval(t, tt->tupdesc, 11, &isnull));
		col->has_default = DatumGetBool(SPI_getbinval(t, tt->tupdesc, 12, &isnull));
		col->key = DatumGetBool(SPI_getbinval(t, tt->tupdesc, 13, &isnull));
	}
	return true;
}

/* Inserts (version 1) or updates the stored shape of relid. */
static void
cdc_state_write(Oid state_relid, Oid relid, const CdcShape *shape, int64 version, bool insert)
{
	Oid			types[7] = {OIDOID, TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID, OIDOID};
	Datum		values[7];
	StringInfoData columns;

	initStringInfo(&columns);
	cdc_json_columns(&columns, shape);
	values[0] = ObjectIdGetDatum(relid);
	values[1] = CStringGetTextDatum(shape->schema);
	values[2] = CStringGetTextDatum(shape->table);
	values[3] = Int64GetDatum(version);
	values[4] = CStringGetTextDatum(columns.data);
	values[5] = CStringGetTextDatum(shape->replica_identity);
	values[6] = ObjectIdGetDatum(shape->owner);
	if (insert)
		cdc_state_exec(state_relid,
					   "INSERT INTO " CDC_EXTENSION_SCHEMA "." CDC_SCHEMA_STATE_TABLE
					   " (relid, schema_name, table_name, schema_version, columns, replica_identity, table_owner)"
					   " VALUES ($1, $2, $3, $4, $5::pg_catalog.jsonb, $6, $7)",
					   7, types, values, NULL, SPI_OK_INSERT);
	else
		cdc_state_exec(state_relid,
					   "UPDATE " CDC_EXTENSION_SCHEMA "." CDC_SCHEMA_STATE_TABLE
					   " SET schema_name = $2, table_name = $3, schema_version = $4,"
					   " columns = $5::pg_catalog.jsonb, replica_identity = $6, table_owner = $7,"
					   " updated = pg_catalog.now()"
					   " WHERE relid OPERATOR(pg_catalog.=) $1",
					   7, types, values, NULL, SPI_OK_UPDATE);
}

/* Deletes the stored shape of relid. */
static void
cdc_state_delete(Oid state_relid, Oid relid)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};

	cdc_state_exec(state_relid,
				   "DELETE FROM " CDC_EXTENSION_SCHEMA "." CDC_SCHEMA_STATE_TABLE
				   " WHERE relid OPERATOR(pg_catalog.=) $1",
				   1, types, values, NULL, SPI_OK_DELETE);
}

/* ---------------------------------------------------------------------
 * Differences and the guard
 * ---------------------------------------------------------------------
 */

/* Which compatibility a change breaks (CDC_BREAKS_*), 0: none. */
static int
cdc_change_breaks(CdcChangeKind kind)
{
	switch (kind)
	{
		case CDC_CHANGE_ADD_OPTIONAL:
		case CDC_CHANGE_DROP_OPTIONAL:
		case CDC_CHANGE_DEFAULT:
			return 0;
		case CDC_CHANGE_ADD_REQUIRED:
		case CDC_CHANGE_SET_NOT_NULL:
			return CDC_BREAKS_BACKWARD;
		case CDC_CHANGE_DROP_REQUIRED:
		case CDC_CHANGE_DROP_NOT_NULL:
		case CDC_CHANGE_WIDEN:
			return CDC_BREAKS_FORWARD;
		default:
			return CDC_BREAKS_BACKWARD | CDC_BREAKS_FORWARD;
	}
}

/* Why a refused change is refused, for the error message. */
static const char *
cdc_change_why(CdcChangeKind kind)
{
	switch (kind)
	{
		case CDC_CHANGE_ADD_REQUIRED:
			return "consumers on the new schema would find no value for it in older events";
		case CDC_CHANGE_SET_NOT_NULL:
			return "consumers on the new schema would require a value that older events may lack";
		case CDC_CHANGE_DROP_REQUIRED:
			return "consumers on the old schema would miss a value they require";
		case CDC_CHANGE_DROP_NOT_NULL:
			return "consumers on the old schema would get nulls where they require a value";
		case CDC_CHANGE_WIDEN:
			return "consumers on the old schema could not hold the wider values";
		case CDC_CHANGE_TYPE:
			return "consumers on the old and on the new schema could not read each other's values";
		case CDC_CHANGE_RENAME_COLUMN:
			return "consumers on the old schema would not find the column's values under the name they know";
		case CDC_CHANGE_RENAME_TABLE:
			return "consumers follow the table by its name";
		case CDC_CHANGE_KEY:
			return "events of a row would no longer be keyed and partitioned as before";
		case CDC_CHANGE_REPLICA_IDENTITY:
			return "updates and deletes would carry a different set of old values";
		default:
			return "consumers would get no more events for it";
	}
}

/* True if a column of type (oid, typmod) can hold every value of (old_oid, old_typmod). */
static bool
cdc_type_widens(Oid old_oid, int32 old_typmod, Oid oid, int32 typmod)
{
	if (old_oid == INT2OID)
		return oid == INT4OID || oid == INT8OID;
	if (old_oid == INT4OID)
		return oid == INT8OID;
	if (old_oid == FLOAT4OID)
		return oid == FLOAT8OID;
	if (old_oid == VARCHAROID)
		return oid == TEXTOID ||
			(oid == VARCHAROID && old_typmod >= 0 && (typmod < 0 || typmod > old_typmod));
	if (old_oid == NUMERICOID && oid == NUMERICOID && old_typmod >= VARHDRSZ)
	{
		int32		old_m = old_typmod - VARHDRSZ;
		int32		m = typmod - VARHDRSZ;

		if (typmod < VARHDRSZ)
			return true;		/* unconstrained numeric holds any */
		return (m & 0xffff) == (old_m & 0xffff) && ((m >> 16) & 0xffff) > ((old_m >> 16) & 0xffff);
	}
	return false;
}

/* The names of the key columns of a shape, as "a, b", or "none". */
static char *
cdc_key_names(const CdcShape *shape)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < shape->ncolumns; i++)
		if (shape->columns[i].key)
			appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", quote_identifier(shape->columns[i].name));
	if (buf.len == 0)
		appendStringInfoString(&buf, "none");
	return buf.data;
}

/* True if the two shapes have the same key columns (by attnum). */
static bool
cdc_same_key(const CdcShape *a, const CdcShape *b)
{
	int			i;
	int			j;

	for (i = 0; i < a->ncolumns; i++)
	{
		bool		in_b = false;

		for (j = 0; j < b->ncolumns; j++)
			if (b->columns[j].attnum == a->columns[i].attnum)
				in_b = b->columns[j].key;
		if (a->columns[i].key != in_b)
			return false;
	}
	for (j = 0; j < b->ncolumns; j++)
	{
		bool		in_a = false;

		for (i = 0; i < a->ncolumns; i++)
			if (a->columns[i].attnum == b->columns[j].attnum)
				in_a = true;
		if (!in_a && b->columns[j].key)
			return false;
	}
	return true;
}

/* Appends one change to a list. */
static List *
cdc_change_add(List *changes, CdcChangeKind kind, char *what)
{
	CdcChange  *c = palloc(sizeof(CdcChange));

	c->kind = kind;
	c->what = what;
	return lappend(changes, c);
}

/* The differences from the stored shape to the current one, columns first. */
static List *
cdc_shape_diff(const CdcShape *old, const CdcShape *new)
{
	List	   *changes = NIL;
	const char *table = quote_qualified_identifier(new->schema, new->table);
	const char *old_table = quote_qualified_identifier(old->schema, old->table);
	int			i;
	int			j;

	/* dropped columns, and changes of the columns kept, by attnum */
	for (i = 0; i < old->ncolumns; i++)
	{
		const CdcColumn *o = &old->columns[i];
		const CdcColumn *n = NULL;

		for (j = 0; j < new->ncolumns; j++)
			if (new->columns[j].attnum == o->attnum)
				n = &new->columns[j];
		if (n == NULL)
		{
			changes = cdc_change_add(changes, o->not_null ? CDC_CHANGE_DROP_REQUIRED : CDC_CHANGE_DROP_OPTIONAL,
									 psprintf("drop %scolumn \"%s\" of captured table %s",
											  o->not_null ? "NOT NULL " : "", o->name, table));
			continue;
		}
		if (strcmp(o->name, n->name) != 0)
			changes = cdc_change_add(changes, CDC_CHANGE_RENAME_COLUMN,
									 psprintf("rename column \"%s\" of captured table %s to \"%s\"",
											  o->name, table, n->name));
		if (o->type_oid != n->type_oid || o->typmod != n->typmod)
		{
			bool		widens = cdc_type_widens(o->type_oid, o->typmod, n->type_oid, n->typmod);

			changes = cdc_change_add(changes, widens ? CDC_CHANGE_WIDEN : CDC_CHANGE_TYPE,
									 psprintf("%s column \"%s\" of captured table %s from %s to %s",
											  widens ? "widen" : "change the type of", n->name, table,
											  o->type, n->type));
		}
		if (!o->not_null && n->not_null)
			changes = cdc_change_add(changes, CDC_CHANGE_SET_NOT_NULL,
									 psprintf("set NOT NULL on column \"%s\" of captured table %s", n->name, table));
		if (o->not_null && !n->not_null)
			changes = cdc_change_add(changes, CDC_CHANGE_DROP_NOT_NULL,
									 psprintf("drop NOT NULL from column \"%s\" of captured table %s", n->name, table));
		if (o->has_default != n->has_default)
			changes = cdc_change_add(changes, CDC_CHANGE_DEFAULT,
									 psprintf("%s the default of column \"%s\" of captured table %s",
											  n->has_default ? "set" : "drop", n->name, table));
	}
	/* added columns */
	for (j = 0; j < new->ncolumns; j++)
	{
		const CdcColumn *n = &new->columns[j];
		bool		known = false;

		for (i = 0; i < old->ncolumns; i++)
			if (old->columns[i].attnum == n->attnum)
				known = true;
		if (known)
			continue;
		if (n->not_null && !n->has_default)
			changes = cdc_change_add(changes, CDC_CHANGE_ADD_REQUIRED,
									 psprintf("add NOT NULL column \"%s\" without a default to captured table %s",
											  n->name, table));
		else
			changes = cdc_change_add(changes, CDC_CHANGE_ADD_OPTIONAL,
									 psprintf("add column \"%s\" to captured table %s", n->name, table));
	}
	if (!cdc_same_key(old, new))
		changes = cdc_change_add(changes, CDC_CHANGE_KEY,
								 psprintf("change the key of captured table %s from (%s) to (%s)",
										  table, cdc_key_names(old), cdc_key_names(new)));
	if (strcmp(old->replica_identity, new->replica_identity) != 0)
		changes = cdc_change_add(changes, CDC_CHANGE_REPLICA_IDENTITY,
								 psprintf("change the replica identity of captured table %s from %s to %s",
										  table, old->replica_identity, new->replica_identity));
	if (strcmp(old->schema, new->schema) != 0 || strcmp(old->table, new->table) != 0)
		changes = cdc_change_add(changes, CDC_CHANGE_RENAME_TABLE,
								 psprintf("rename captured table %s to %s", old_table, table));
	return changes;
}

/*
 * Refuses (ERROR) the first change the compatibility mode forbids, unless
 * cdc_plugin.allow_incompatible_ddl lets a superuser or the table's owner
 * pass it, which is logged. owner_ok: the current role owns the table.
 */
static void
cdc_guard(List *changes, bool owner_ok, const char *command_tag)
{
	int			mode = cdc_schema_compatibility;
	int			forbidden;
	ListCell   *lc;

	switch (mode)
	{
		case CDC_SCHEMA_COMPAT_BACKWARD:
			forbidden = CDC_BREAKS_BACKWARD;
			break;
		case CDC_SCHEMA_COMPAT_FORWARD:
			forbidden = CDC_BREAKS_FORWARD;
			break;
		case CDC_SCHEMA_COMPAT_FULL:
			forbidden = CDC_BREAKS_BACKWARD | CDC_BREAKS_FORWARD;
			break;
		default:
			return;
	}
	foreach(lc, changes)
	{
		CdcChange  *c = lfirst(lc);

		if ((cdc_change_breaks(c->kind) & forbidden) == 0)
			continue;
		if (!cdc_allow_incompatible_ddl)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cdc_plugin refuses to %s: cdc_plugin.schema_compatibility = '%s' forbids it (%s)",
							c->what, cdc_schema_compatibility_name(mode), cdc_change_why(c->kind)),
					 errhint("To pass this one change, run SET LOCAL cdc_plugin.allow_incompatible_ddl = on in the same transaction (superuser or table owner).")));
		if (!superuser() && !owner_ok)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("cdc_plugin refuses to %s: cdc_plugin.allow_incompatible_ddl lets only a superuser or the table's owner pass what cdc_plugin.schema_compatibility = '%s' forbids",
							c->what, cdc_schema_compatibility_name(mode)),
					 errhint("Run the change as the table's owner or as a superuser.")));
		ereport(LOG,
				(errmsg("cdc_plugin.allow_incompatible_ddl let role \"%s\" %s, which cdc_plugin.schema_compatibility = '%s' forbids (command %s)",
						GetUserNameFromId(GetUserId(), false), c->what,
						cdc_schema_compatibility_name(mode), command_tag)));
	}
}

/* Writes the schema event of one table into the WAL, in the DDL's transaction. */
static void
cdc_schema_event(Oid relid, const CdcShape *shape, int64 version, const char *command_tag,
				 bool dropped, const CdcShape *renamed_from)
{
	char	   *json = cdc_json_event(relid, shape, version, command_tag, dropped, renamed_from);

	LogLogicalMessage(CDC_SCHEMA_PREFIX, json, strlen(json), true);
}

/* ---------------------------------------------------------------------
 * The event trigger
 * ---------------------------------------------------------------------
 */

/* Adds relid, or the ordinary tables among it and its inheritors, to a list. */
static List *
cdc_add_tables(List *tables, Oid relid)
{
	char		relkind = get_rel_relkind(relid);

	if (relkind == RELKIND_INDEX || relkind == RELKIND_PARTITIONED_INDEX)
	{
		HeapTuple	tp = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(relid));

		if (!HeapTupleIsValid(tp))
			return tables;
		relid = ((Form_pg_index) GETSTRUCT(tp))->indrelid;
		ReleaseSysCache(tp);
		relkind = get_rel_relkind(relid);
	}
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		return tables;
	if (relkind == RELKIND_PARTITIONED_TABLE || has_subclass(relid))
	{
		List	   *all = find_all_inheritors(relid, AccessShareLock, NULL);
		ListCell   *lc;

		foreach(lc, all)
			if (get_rel_relkind(lfirst_oid(lc)) == RELKIND_RELATION)
				tables = list_append_unique_oid(tables, lfirst_oid(lc));
		return tables;
	}
	return list_append_unique_oid(tables, relid);
}

/*
 * Describes and guards what one command did: the tables it touched (they
 * exist) and the ones it dropped (they do not).
 */
static void
cdc_schema_handle(Oid state_relid, List *touched, List *dropped, const char *command_tag)
{
	ListCell   *lc;

	foreach(lc, dropped)
	{
		Oid			relid = lfirst_oid(lc);
		CdcShape	old;
		int64		version;

		if (!cdc_state_read(state_relid, relid, &old, &version))
			continue;			/* was not captured */
		cdc_guard(cdc_change_add(NIL, CDC_CHANGE_DROP_TABLE,
								 psprintf("drop captured table %s",
										  quote_qualified_identifier(old.schema, old.table))),
				  has_privs_of_role(GetUserId(), old.owner), command_tag);
		cdc_state_delete(state_relid, relid);
		cdc_schema_event(relid, &old, version + 1, command_tag, true, NULL);
	}

	foreach(lc, touched)
	{
		Oid			relid = lfirst_oid(lc);
		bool		captured;
		bool		stored;
		CdcShape	old;
		CdcShape	new;
		int64		version = 0;
		List	   *changes;

		if (list_member_oid(dropped, relid) || get_rel_relkind(relid) != RELKIND_RELATION ||
			get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
			continue;
		captured = cdc_rel_captured(relid);
		stored = cdc_state_read(state_relid, relid, &old, &version);
		if (!captured && !stored)
			continue;
		if (!stored)
		{
			/* new, or newly captured: no old shape to compare with */
			cdc_shape_read(relid, &new);
			cdc_state_write(state_relid, relid, &new, 1, true);
			cdc_schema_event(relid, &new, 1, command_tag, false, NULL);
			continue;
		}
		if (!captured)
		{
			/* SET UNLOGGED, or renamed or moved out of the filters */
			cdc_guard(cdc_change_add(NIL, CDC_CHANGE_STOP_CAPTURING,
									 psprintf("stop capturing table %s",
											  quote_qualified_identifier(old.schema, old.table))),
					  pg_class_ownercheck(relid, GetUserId()), command_tag);
			cdc_state_delete(state_relid, relid);
			cdc_schema_event(relid, &old, version + 1, command_tag, true, NULL);
			continue;
		}
		cdc_shape_read(relid, &new);
		changes = cdc_shape_diff(&old, &new);
		if (changes == NIL)
		{
			if (old.owner != new.owner)
				cdc_state_write(state_relid, relid, &new, version, false);	/* not a schema change */
			continue;
		}
		cdc_guard(changes, pg_class_ownercheck(relid, GetUserId()), command_tag);
		cdc_state_write(state_relid, relid, &new, version + 1, false);
		cdc_schema_event(relid, &new, version + 1, command_tag, false,
						 strcmp(old.schema, new.schema) != 0 || strcmp(old.table, new.table) != 0 ? &old : NULL);
	}
}

/* Refuses a call that is not an event trigger's. */
static EventTriggerData *
cdc_event_trigger_data(FunctionCallInfo fcinfo, const char *name)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() may only be called by an event trigger", name)));
	return (EventTriggerData *) fcinfo->context;
}

/* ddl_command_end: the tables every collected command touched. */
Datum
cdc_plugin_on_ddl_command_end(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata = cdc_event_trigger_data(fcinfo, "cdc_plugin.on_ddl_command_end");
	Oid			state_relid = cdc_state_relid();
	List	   *touched = NIL;
	uint64		i;
	int			ret;

	if (!OidIsValid(state_relid))
		PG_RETURN_VOID();		/* the extension is being created or dropped */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "cdc_plugin could not connect to SPI");
	ret = SPI_execute("SELECT classid, objid FROM pg_catalog.pg_event_trigger_ddl_commands()", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "cdc_plugin could not read the DDL commands: %s", SPI_result_code_string(ret));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull1;
		bool		isnull2;
		Oid			classid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull1));
		Oid			objid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull2));

		if (!isnull1 && !isnull2 && classid == RelationRelationId)
			touched = cdc_add_tables(touched, objid);
	}
	if (touched != NIL)
		cdc_schema_handle(state_relid, touched, NIL, GetCommandTagName(trigdata->tag));
	SPI_finish();
	PG_RETURN_VOID();
}

/* sql_drop: dropped tables, and tables that lost a column (also by CASCADE). */
Datum
cdc_plugin_on_sql_drop(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata = cdc_event_trigger_data(fcinfo, "cdc_plugin.on_sql_drop");
	Oid			state_relid = cdc_state_relid();
	List	   *touched = NIL;
	List	   *dropped = NIL;
	uint64		i;
	int			ret;

	if (!OidIsValid(state_relid))
		PG_RETURN_VOID();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "cdc_plugin could not connect to SPI");
	ret = SPI_execute("SELECT objid, object_type FROM pg_catalog.pg_event_trigger_dropped_objects()"
					  " WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
					  " AND object_type OPERATOR(pg_catalog.=) ANY (ARRAY['table', 'table column'])",
					  true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "cdc_plugin could not read the dropped objects: %s", SPI_result_code_string(ret));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			objid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		char	   *type = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

		if (strcmp(type, "table") == 0)
			dropped = list_append_unique_oid(dropped, objid);
		else if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(objid)))
			touched = cdc_add_tables(touched, objid);
	}
	if (touched != NIL || dropped != NIL)
		cdc_schema_handle(state_relid, touched, dropped, GetCommandTagName(trigdata->tag));
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * CREATE EXTENSION: records version 1 of every captured table that exists
 * (no schema event: nothing changed). The script drops this function.
 */
Datum
cdc_plugin_schema_state_seed(PG_FUNCTION_ARGS)
{
	Oid			state_relid = cdc_state_relid();
	SPITupleTable *tables;
	uint64		n;
	uint64		i;
	int			ret;
	int64		seeded = 0;

	if (!OidIsValid(state_relid))
		elog(ERROR, "cdc_plugin.schema_state does not exist");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "cdc_plugin could not connect to SPI");
	ret = SPI_execute("SELECT c.oid FROM pg_catalog.pg_class c"
					  " WHERE c.relkind OPERATOR(pg_catalog.=) 'r' AND c.relpersistence OPERATOR(pg_catalog.=) 'p'"
					  " ORDER BY c.oid", true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "cdc_plugin could not list the tables: %s", SPI_result_code_string(ret));
	tables = SPI_tuptable;
	n = SPI_processed;
	for (i = 0; i < n; i++)
	{
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(tables->vals[i], tables->tupdesc, 1, &isnull));
		CdcShape	shape;

		if (!cdc_rel_captured(relid))
			continue;
		cdc_shape_read(relid, &shape);
		cdc_state_write(state_relid, relid, &shape, 1, true);
		seeded++;
	}
	SPI_finish();
	PG_RETURN_INT64(seeded);
}
