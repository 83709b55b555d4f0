/*
 * sql_api.c — the extension's SQL-callable functions.
 *
 * cdc_plugin.to_json(bytea) renders an envelope for people and tests; the
 * C++ core parses and renders it into its own buffer, and only then does
 * this file hand the text to jsonb's input function, so an ERROR raised
 * there never crosses C++ frames. Interrupts are only looked at while the
 * C++ core renders (a plain flag read); they are serviced here, after it
 * has returned.
 */
#include "postgres.h"

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "cdc_core.h"

PG_FUNCTION_INFO_V1(cdc_plugin_to_json);
PG_FUNCTION_INFO_V1(cdc_plugin_version);

/*
 * Stack per level of nesting that jsonb_in needs, counted generously (about
 * 160 bytes measured): values nested deeper than max_stack_depth allows at
 * this rate render as strings.
 */
#define TO_JSON_STACK_PER_LEVEL 320

/*
 * Polled by the C++ renderer: true when a cancel or termination is pending
 * that CHECK_FOR_INTERRUPTS() would act on now. Reads flags only; never
 * ereports (C++ frames are on the stack).
 */
static bool
to_json_interrupted(void)
{
	return InterruptPending && (QueryCancelPending || ProcDiePending) &&
		INTERRUPTS_CAN_BE_PROCESSED();
}

/* cdc_plugin.to_json(envelope bytea) RETURNS jsonb */
Datum
cdc_plugin_to_json(PG_FUNCTION_ARGS)
{
	bytea	   *envelope = PG_GETARG_BYTEA_PP(0);
	cdc_render_options opts;
	const char *json;
	size_t		len;
	char		errbuf[CDC_ERRBUF_SIZE];
	int			rc;
	volatile Datum result = (Datum) 0;

	memset(&opts, 0, sizeof(opts));
	opts.max_len = CDC_RENDER_MAX_LEN;
	opts.max_json_depth = (int) Min((long) max_stack_depth * 1024L / TO_JSON_STACK_PER_LEVEL,
									(long) PG_INT32_MAX);
	opts.ascii_escapes_only = GetDatabaseEncoding() != PG_UTF8;
	opts.interrupted = to_json_interrupted;

	rc = cdc_render_json(VARDATA_ANY(envelope), VARSIZE_ANY_EXHDR(envelope), &opts,
						 &json, &len, errbuf, sizeof(errbuf));
	if (rc != CDC_RENDER_OK)
	{
		cdc_render_json_release();
		switch (rc)
		{
			case CDC_RENDER_INTERRUPTED:
				CHECK_FOR_INTERRUPTS();
				/* only if the interrupt was serviced without an error */
				ereport(ERROR,
						(errcode(ERRCODE_QUERY_CANCELED),
						 errmsg("cdc_plugin.to_json() was interrupted")));
				break;
			case CDC_RENDER_TOO_LARGE:
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("%s", errbuf),
						 errhint("Decode such an envelope with a protobuf library (message cdc.v1.Envelope).")));
				break;
			case CDC_RENDER_NO_MEMORY:
				ereport(ERROR,
						(errcode(ERRCODE_OUT_OF_MEMORY),
						 errmsg("out of memory"),
						 errdetail("%s", errbuf)));
				break;
			default:
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
						 errmsg("%s", errbuf),
						 errhint("cdc_plugin.to_json() takes one whole envelope as written by the cdc_plugin output plugin.")));
		}
	}

	/* the rendering is UTF-8, as the envelope is; jsonb reads the server encoding */
	PG_TRY();
	{
		result = DirectFunctionCall1(jsonb_in,
									 CStringGetDatum(pg_any_to_server(json, (int) len, PG_UTF8)));
	}
	PG_FINALLY();
	{
		/* a large buffer is not kept after the call */
		cdc_render_json_release();
	}
	PG_END_TRY();
	PG_RETURN_DATUM(result);
}

/* cdc_plugin.version() RETURNS text */
Datum
cdc_plugin_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(CDC_PLUGIN_VERSION));
}
