/*
 * json_render.hpp — renders cdc.v1.Envelope bytes as compact JSON text,
 * using the libprotobuf-generated classes for parsing.
 */
#ifndef CDC_JSON_RENDER_HPP
#define CDC_JSON_RENDER_HPP

#include <cstddef>
#include <cstdint>
#include <string>

#include "cdc_core.h"
#include "core_util.hpp"

namespace cdc_core {

/* Values nested deeper than this (arrays/records) are refused. */
constexpr int kMaxRenderValueDepth = 64;

/* The longest rendering, in bytes, unless the options say less: 256 MB. */
constexpr size_t kMaxRenderLen = size_t{256} << 20;

/*
 * Array levels (one JSON array, or one {...} of a text literal, each) an
 * envelope may make: 3 per envelope byte plus this. An envelope the plugin
 * writes makes fewer (at most 2.5 per byte, for dims like [n,1,1,1,1,1]);
 * only dims with a 0 in them ([200000000, 0]) make more.
 */
constexpr size_t kArrayLevelsPerByte = 3;
constexpr size_t kArrayLevelsSlack = 1024;

/* The interrupt callback is polled once per this many units of work. */
constexpr unsigned kRenderPollEvery = 4096;

struct RenderOptions
{
	/* Longest rendering; a longer one throws RenderTooLarge. */
	size_t		max_len = kMaxRenderLen;

	/*
	 * json/jsonb values nested deeper than this are rendered as a JSON
	 * string of their text (jsonb's parser recurses per level and would run
	 * out of stack); 0: no limit.
	 */
	int			max_json_depth = 0;

	/*
	 * The jsonb that reads the rendering is in an encoding other than
	 * UTF-8: json/jsonb values with a \u escape of a non-ASCII character
	 * (which that encoding may lack) are rendered as strings of their text.
	 */
	bool		ascii_escapes_only = false;

	/* Polled while rendering; when it returns true, RenderInterrupted. */
	bool		(*interrupted) (void) = nullptr;

	/*
	 * Parse with the generated classes only, never with the wire views
	 * (json_render.cpp); the rendering is the same either way. For tests
	 * that compare the two.
	 */
	bool		no_views = false;
};

/* The rendering would exceed RenderOptions::max_len. */
class RenderTooLarge : public CoreError
{
public:
	explicit RenderTooLarge(const std::string &msg) : CoreError(msg) {}
};

/* RenderOptions::interrupted returned true; nothing was rendered. */
class RenderInterrupted : public std::exception
{
public:
	const char *what() const noexcept override
	{
		return "rendering interrupted";
	}
};

/*
 * Parses data[0..len) as a cdc.v1.Envelope and writes its JSON rendering
 * into out (replacing its contents). Throws CoreError for invalid input,
 * RenderTooLarge and RenderInterrupted as the options say.
 */
void		render_envelope_json(const char *data, size_t len, std::string &out,
								 const RenderOptions &opts = RenderOptions());

/*
 * Parses data[0..len) as a cdc.v1.Row (an envelope's key, as the worker
 * sends it as the Kafka key) and writes the JSON object the envelope's
 * "key" renders as. Throws as render_envelope_json.
 */
void		render_key_json(const char *data, size_t len, std::string &out,
							const RenderOptions &opts = RenderOptions());

/* The C API's options (NULL: the defaults) as RenderOptions. */
RenderOptions render_options_of(const cdc_render_options *opts);

/*
 * How many renderings on this thread the wire views did (the rest went
 * through the generated classes); for tests.
 */
uint64_t	render_view_count();

/*
 * True if text[0..len) is one complete JSON value (RFC 8259 syntax) whose
 * \u surrogate escapes pair up.
 */
bool		json_text_valid(const char *text, size_t len);

/* What PostgreSQL's parsers make of a JSON text. */
enum class JsonText
{
	kInvalid,					/* not JSON: json_in refuses it too */
	kJsonOnly,					/* JSON (json_in takes it) that jsonb_in refuses */
	kJsonb						/* jsonb_in takes it */
};

/*
 * Classifies text[0..len). json_in checks the syntax only; jsonb_in also
 * refuses \u0000, \u escapes of unpaired surrogates, numbers outside
 * numeric's range (more than 16383 digits after the point, or 10^131072 and
 * above), nesting deeper than its stack allows (here: deeper than
 * max_depth; 0: any depth) and, with ascii_escapes_only, \u escapes above
 * U+007F.
 */
JsonText	json_text_check(const char *text, size_t len, int max_depth,
							bool ascii_escapes_only);

}							/* namespace cdc_core */

#endif							/* CDC_JSON_RENDER_HPP */
