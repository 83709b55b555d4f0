/*
 * json_render.hpp — renders cdc.v1.Envelope bytes as compact JSON text,
 * using the libprotobuf-generated classes for parsing.
 */
#ifndef CDC_JSON_RENDER_HPP
#define CDC_JSON_RENDER_HPP

#include <cstddef>
#include <string>

#include "core_util.hpp"

namespace cdc_core {

/* Values nested deeper than this (arrays/records) are refused. */
constexpr int kMaxRenderValueDepth = 64;

/* The longest rendering, in bytes, unless the options say less: 256 MB. */
constexpr size_t kMaxRenderLen = size_t{256} << 20;

/*
 * Array levels (one JSON array each) an envelope may make: 3 per envelope
 * byte plus this. An envelope the plugin writes makes fewer (at most 2.5
 * per byte, for dims like [n,1,1,1,1,1]); only dims with a 0 in them
 * ([200000000, 0]) make more.
 */
constexpr size_t kArrayLevelsPerByte = 3;
constexpr size_t kArrayLevelsSlack = 1024;

/* The interrupt callback is polled once per this many units of work. */
constexpr unsigned kRenderPollEvery = 4096;

struct RenderOptions
{
	/* Longest rendering; a longer one throws RenderTooLarge. */
	size_t		max_len = kMaxRenderLen;

	/* Polled while rendering; when it returns true, RenderInterrupted. */
	bool		(*interrupted) (void) = nullptr;
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

/* True if text[0..len) is one complete JSON value (RFC 8259 syntax). */
bool		json_text_valid(const char *text, size_t len);

}							/* namespace cdc_core */

#endif							/* CDC_JSON_RENDER_HPP */
