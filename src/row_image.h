/*
 * row_image.h — PostgreSQL tuples to typed cdc_row images.
 *
 * The encoder's PostgreSQL half: it knows every type's storage and turns a
 * heap tuple into the plain cdc_value structs the C++ core serializes. It
 * never serializes anything itself and never calls into C++.
 */
#ifndef CDC_ROW_IMAGE_H
#define CDC_ROW_IMAGE_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "fmgr.h"
#include "utils/relcache.h"

#include "cdc_core.h"

/* How a value of one type becomes a cdc_value. */
typedef enum CdcConversion
{
	CDC_CONV_BOOL,
	CDC_CONV_INT2,
	CDC_CONV_INT4,
	CDC_CONV_INT8,
	CDC_CONV_FLOAT4,
	CDC_CONV_FLOAT8,
	CDC_CONV_NUMERIC,
	CDC_CONV_TEXT,				/* text, varchar, bpchar: the varlena bytes */
	CDC_CONV_NAME,
	CDC_CONV_BYTEA,
	CDC_CONV_DATE,
	CDC_CONV_TIME,
	CDC_CONV_TIMETZ,
	CDC_CONV_TIMESTAMP,
	CDC_CONV_TIMESTAMPTZ,
	CDC_CONV_INTERVAL,
	CDC_CONV_UUID,
	CDC_CONV_JSON,
	CDC_CONV_JSONB,
	CDC_CONV_ENUM,
	CDC_CONV_ARRAY,
	CDC_CONV_RECORD,
	CDC_CONV_OUTPUT				/* no native mapping: output function text */
} CdcConversion;

/*
 * Everything needed to convert values of one (domain-resolved) type. It
 * lives in cxt, where what it builds later (a composite's fields) goes too.
 */
typedef struct CdcTypeInfo
{
	Oid			typid;			/* declared type, possibly a domain */
	Oid			basetypid;		/* after stripping domains */
	CdcConversion conv;
	FmgrInfo	output;			/* output function of the base type */
	MemoryContext cxt;			/* the context this info lives in */
	/* arrays only */
	struct CdcTypeInfo *element;
	int16		elmlen;
	bool		elmbyval;
	char		elmalign;
	/* records only: the fields, built at the first value, NULL until then */
	struct CdcRecordFields *record;
} CdcTypeInfo;

/* One attribute of a relation as it is described in envelopes. */
typedef struct CdcColumnInfo
{
	bool		dropped;
	bool		is_key;			/* replica identity (or primary key) column */
	char	   *name;
	char	   *type_name;		/* format_type_with_typemod(), or "" when not sent */
	cdc_bytes	header;			/* name, type and oid, encoded once */
	CdcTypeInfo type;
} CdcColumnInfo;

/*
 * A relation's columns, built once per relation and cached by the caller;
 * converting values fills the composite columns' field descriptions in.
 */
typedef struct CdcRelDesc
{
	int			natts;
	int			nkeys;
	char		replident;		/* pg_class.relreplident */
	CdcColumnInfo *columns;
} CdcRelDesc;

/* Which columns of a tuple go into an image. */
typedef enum CdcImageColumns
{
	CDC_IMAGE_ALL,
	CDC_IMAGE_KEY
} CdcImageColumns;

extern void cdc_row_image_init(bool include_type_names);
extern void cdc_row_image_types_changed(void);
extern cdc_bytes cdc_server_text(const char *s, size_t len);
extern char *cdc_server_cstring(const char *s);
extern void cdc_type_info_init(CdcTypeInfo *info, Oid typid, MemoryContext cxt);
extern CdcRelDesc *cdc_rel_desc_build(Relation rel, MemoryContext cxt);
extern bool cdc_columns_match(const CdcColumnInfo *columns, int ncolumns, TupleDesc tupdesc);
extern cdc_row *cdc_row_from_values(CdcRelDesc *desc, TupleDesc tupdesc,
									const Datum *values, const bool *nulls,
									CdcImageColumns which, cdc_row **key_out);
extern cdc_row *cdc_row_from_tuple(CdcRelDesc *desc, TupleDesc tupdesc,
								   HeapTuple tuple, CdcImageColumns which,
								   cdc_row **key_out);

#endif							/* CDC_ROW_IMAGE_H */
