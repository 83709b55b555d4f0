/*
 * core_api.cpp — the extern "C" entry points declared in cdc_core.h.
 *
 * Every function catches every exception (std::bad_alloc included) and
 * turns it into an error return with a message in errbuf, so that no C++
 * exception ever unwinds into PostgreSQL's C frames.
 */
#include "core_only.hpp"

#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

#include "cdc_core.h"
#include "core_util.hpp"
#include "envelope_writer.hpp"
#include "json_render.hpp"
#include "options.hpp"

using cdc_core::copy_error;
using cdc_core::fail;
using cdc_core::report_current_exception;

struct cdc_encoder
{
	explicit cdc_encoder(std::string_view version) : writer(version) {}

	cdc_core::EnvelopeWriter writer;
};

struct cdc_options
{
	cdc_core::Options opts;
};

namespace {

void
clear_output(const char **out, size_t *outlen) noexcept
{
	if (out)
		*out = nullptr;
	if (outlen)
		*outlen = 0;
}

/* Copies an encoded header into the caller's buffer. */
void
copy_header(const std::string &header, const char *what, char *out, size_t outcap,
			size_t *outlen)
{
	if (header.size() > outcap)
		fail(std::string(what) + " of " + std::to_string(header.size())
			 + " bytes does not fit the " + std::to_string(outcap) + "-byte buffer");
	std::memcpy(out, header.data(), header.size());
	*outlen = header.size();
}

}							/* namespace */

extern "C" cdc_encoder *
cdc_encoder_create(const char *version, char *errbuf, size_t errlen)
{
	try
	{
		copy_error(errbuf, errlen, "");
		return new cdc_encoder(version ? std::string_view(version) : std::string_view());
	}
	catch (...)
	{
		report_current_exception(errbuf, errlen);
		return nullptr;
	}
}

extern "C" void
cdc_encoder_trust_utf8(cdc_encoder *enc, bool trusted)
{
	try
	{
		if (enc != nullptr)
			enc->writer.trust_utf8(trusted);
	}
	catch (...)
	{
		/* setting a flag cannot fail; the guard is here as at every entry */
	}
}

extern "C" int
cdc_column_header_encode(const char *name, const char *type_name, uint32_t type_oid,
						 char *out, size_t outcap, size_t *outlen,
						 char *errbuf, size_t errlen)
{
	try
	{
		if (outlen)
			*outlen = 0;
		if (out == nullptr || outlen == nullptr)
			fail("cdc_column_header_encode: NULL argument");
		copy_header(cdc_core::EnvelopeWriter::encode_column_header(name, type_name, type_oid),
					"column header", out, outcap, outlen);
		return 0;
	}
	catch (...)
	{
		report_current_exception(errbuf, errlen);
		return -1;
	}
}

extern "C" int
cdc_encoder_source_header(cdc_encoder *enc, const char *database, const char *schema,
						  const char *table, char *out, size_t outcap, size_t *outlen,
						  char *errbuf, size_t errlen)
{
	try
	{
		if (outlen)
			*outlen = 0;
		if (enc == nullptr || out == nullptr || outlen == nullptr)
			fail("cdc_encoder_source_header: NULL argument");
		copy_header(enc->writer.encode_source_header(database, schema, table),
					"source header", out, outcap, outlen);
		return 0;
	}
	catch (...)
	{
		report_current_exception(errbuf, errlen);
		return -1;
	}
}

extern "C" void
cdc_encoder_destroy(cdc_encoder *enc)
{
	try
	{
		delete enc;
	}
	catch (...)
	{
		/* destructors do not throw; nothing to report to */
	}
}

namespace {

/*
 * Runs one encoder call: checks the arguments, hands out the bytes, and
 * turns any exception into -1 with a message.
 */
template <class Encode>
int
run_encoder(const char *fn, cdc_encoder *enc, const void *input,
			const char **out, size_t *outlen, char *errbuf, size_t errlen,
			Encode &&encode) noexcept
{
	try
	{
		clear_output(out, outlen);
		if (enc == nullptr || input == nullptr || out == nullptr || outlen == nullptr)
			fail(std::string(fn) + ": NULL argument");
		std::string_view bytes = encode(enc->writer);

		*out = bytes.data();
		*outlen = bytes.size();
		return 0;
	}
	catch (...)
	{
		clear_output(out, outlen);
		report_current_exception(errbuf, errlen);
		return -1;
	}
}

}							/* namespace */

extern "C" int
cdc_encoder_encode(cdc_encoder *enc, const cdc_event *event,
				   const char **out, size_t *outlen,
				   char *errbuf, size_t errlen)
{
	return run_encoder("cdc_encoder_encode", enc, event, out, outlen, errbuf, errlen,
					   [&](cdc_core::EnvelopeWriter &w) { return w.encode(*event); });
}

extern "C" int
cdc_encoder_encode_outbox(cdc_encoder *enc, const cdc_outbox *outbox,
						  const char **out, size_t *outlen,
						  char *errbuf, size_t errlen)
{
	return run_encoder("cdc_encoder_encode_outbox", enc, outbox, out, outlen, errbuf, errlen,
					   [&](cdc_core::EnvelopeWriter &w) { return w.encode_outbox(*outbox); });
}

extern "C" int
cdc_encoder_encode_key(cdc_encoder *enc, const cdc_row *key,
					   const char **out, size_t *outlen,
					   char *errbuf, size_t errlen)
{
	return run_encoder("cdc_encoder_encode_key", enc, key, out, outlen, errbuf, errlen,
					   [&](cdc_core::EnvelopeWriter &w) { return w.encode_key(*key); });
}

namespace {

/* The rendering buffer of this thread; kept between calls only when small. */
thread_local std::string render_buffer;
constexpr size_t kKeepRenderBuffer = size_t{1} << 20;

}							/* namespace */

namespace {

/* Renders with render_fn into buf; the C entry points below share it. */
template <typename F>
int
render_into(std::string &buf, F render_fn, const char *data, size_t len,
			const cdc_render_options *opts, const char **out, size_t *outlen,
			char *errbuf, size_t errlen)
{
	try
	{
		clear_output(out, outlen);
		copy_error(errbuf, errlen, "");
		if (out == nullptr || outlen == nullptr)
			fail("cdc_render_json: NULL argument");

		cdc_core::RenderOptions o = cdc_core::render_options_of(opts);

		/* a caller that did not release a huge buffer: do it now */
		if (buf.capacity() > kKeepRenderBuffer)
			std::string().swap(buf);
		render_fn(data, len, buf, o);
		*out = buf.c_str();
		*outlen = buf.size();
		return CDC_RENDER_OK;
	}
	catch (const cdc_core::RenderInterrupted &)
	{
		clear_output(out, outlen);
		copy_error(errbuf, errlen, "rendering interrupted");
		return CDC_RENDER_INTERRUPTED;
	}
	catch (const cdc_core::RenderTooLarge &e)
	{
		clear_output(out, outlen);
		copy_error(errbuf, errlen, e.what());
		return CDC_RENDER_TOO_LARGE;
	}
	catch (const std::bad_alloc &)
	{
		clear_output(out, outlen);
		copy_error(errbuf, errlen, "out of memory while rendering JSON");
		return CDC_RENDER_NO_MEMORY;
	}
	catch (const std::length_error &)
	{
		clear_output(out, outlen);
		copy_error(errbuf, errlen, "out of memory while rendering JSON (string too long)");
		return CDC_RENDER_NO_MEMORY;
	}
	catch (...)
	{
		clear_output(out, outlen);
		report_current_exception(errbuf, errlen);
		return CDC_RENDER_INVALID;
	}
}

/* The key rendering's buffer: a value and its key are rendered side by side. */
thread_local std::string key_render_buffer;

}							/* namespace */

extern "C" int
cdc_render_json(const char *data, size_t len, const cdc_render_options *opts,
				const char **out, size_t *outlen,
				char *errbuf, size_t errlen)
{
	return render_into(render_buffer,
					   cdc_core::render_envelope_json, data, len, opts, out, outlen, errbuf, errlen);
}

extern "C" int
cdc_render_key_json(const char *data, size_t len, const cdc_render_options *opts,
					const char **out, size_t *outlen,
					char *errbuf, size_t errlen)
{
	return render_into(key_render_buffer,
					   cdc_core::render_key_json, data, len, opts, out, outlen, errbuf, errlen);
}

extern "C" void
cdc_render_json_release(void)
{
	try
	{
		if (render_buffer.capacity() > kKeepRenderBuffer)
			std::string().swap(render_buffer);
		if (key_render_buffer.capacity() > kKeepRenderBuffer)
			std::string().swap(key_render_buffer);
	}
	catch (...)
	{
	}
}

extern "C" cdc_options *
cdc_options_create(char *errbuf, size_t errlen)
{
	try
	{
		copy_error(errbuf, errlen, "");
		return new cdc_options();
	}
	catch (...)
	{
		report_current_exception(errbuf, errlen);
		return nullptr;
	}
}

extern "C" void
cdc_options_destroy(cdc_options *opts)
{
	try
	{
		delete opts;
	}
	catch (...)
	{
	}
}

extern "C" int
cdc_options_set(cdc_options *opts, const char *name, const char *value,
				char *errbuf, size_t errlen)
{
	try
	{
		if (opts == nullptr || name == nullptr)
			fail("cdc_options_set: NULL argument");
		opts->opts.set(name, value);
		return 0;
	}
	catch (...)
	{
		report_current_exception(errbuf, errlen);
		return -1;
	}
}

extern "C" void
cdc_options_get_flags(const cdc_options *opts, cdc_option_flags *flags)
{
	try
	{
		if (flags == nullptr)
			return;
		const cdc_core::Options defaults;
		const cdc_core::Options &o = opts ? opts->opts : defaults;

		flags->include_transaction_events = o.include_transaction_events;
		flags->skip_empty_xacts = o.skip_empty_xacts;
		flags->include_messages = o.include_messages;
		flags->include_type_names = o.include_type_names;
		flags->include_schema_events = o.include_schema_events;
	}
	catch (...)
	{
	}
}

extern "C" bool
cdc_options_table_included(const cdc_options *opts,
						   const char *schema, const char *table)
{
	try
	{
		if (opts == nullptr)
			return true;
		return opts->opts.table_included(schema ? schema : "", table ? table : "");
	}
	catch (...)
	{
		/* matching does not allocate; be conservative if it ever fails */
		return true;
	}
}

extern "C" bool
cdc_options_message_included(const cdc_options *opts, const char *prefix)
{
	try
	{
		if (opts == nullptr)
			return true;
		return opts->opts.message_included(prefix ? prefix : "");
	}
	catch (...)
	{
		return true;
	}
}

extern "C" bool
cdc_options_table_outbox(const cdc_options *opts, const char *schema, const char *table)
{
	try
	{
		if (opts == nullptr)
			return false;
		return opts->opts.table_outbox(schema ? schema : "", table ? table : "");
	}
	catch (...)
	{
		return false;
	}
}

extern "C" const char *
cdc_options_outbox_topic(const cdc_options *opts)
{
	static const char kDefault[] = "outbox.event.${aggregatetype}";

	return opts != nullptr ? opts->opts.outbox_topic.c_str() : kDefault;
}

extern "C" const char *
cdc_options_outbox_column(const cdc_options *opts, cdc_outbox_role role)
{
	static const char *const kDefaults[] = {"id", "aggregatetype", "aggregateid", "type",
		"payload", "headers"};
	int			r = static_cast<int>(role);

	if (r < 0 || r >= CDC_OUTBOX_NROLES)
		return "";
	return opts != nullptr ? opts->opts.outbox_columns[r].c_str() : kDefaults[r];
}
