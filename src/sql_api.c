/*
 * sql_api.c — the extension's SQL-callable functions.
 *
 * cdc_plugin.to_json(bytea) renders an envelope for people and tests; the
 * C++ core parses and renders it into its own buffer, and only then does
 * this file hand the text to jsonb's input function, so an ERROR raised
 * there never crosses C++ frames.
 */
#include "postgres.h"

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "cdc_core.h"

PG_FUNCTION_INFO_V1(cdc_plugin_to_json);
PG_FUNCTION_INFO_V1(cdc_plugin_version);

/* cdc_plugin.to_json(envelope bytea) RETURNS jsonb */
Datum
cdc_plugin_to_json(PG_FUNCTION_ARGS)
{
	bytea	   *envelope = PG_GETARG_BYTEA_PP(0);
	const char *json;
	size_t		len;
	char		errbuf[CDC_ERRBUF_SIZE];

	if (cdc_render_json(VARDATA_ANY(envelope), VARSIZE_ANY_EXHDR(envelope),
						&json, &len, errbuf, sizeof(errbuf)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("%s", errbuf),
				 errhint("cdc_plugin.to_json() takes one whole envelope as written by the cdc_plugin output plugin.")));
	/* the rendering is UTF-8, as the envelope is; jsonb reads the server encoding */
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in,
										CStringGetDatum(pg_any_to_server(json, (int) len, PG_UTF8))));
}

/* cdc_plugin.version() RETURNS text */
Datum
cdc_plugin_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(CDC_PLUGIN_VERSION));
}
