/*
 * json_render.hpp — renders cdc.v1.Envelope bytes as compact JSON text,
 * using the libprotobuf-generated classes for parsing.
 */
#ifndef CDC_JSON_RENDER_HPP
#define CDC_JSON_RENDER_HPP

#include <cstddef>
#include <string>

namespace cdc_core {

/* Values nested deeper than this (arrays/records) are refused. */
constexpr int kMaxRenderValueDepth = 64;

/*
 * Parses data[0..len) as a cdc.v1.Envelope and writes its JSON rendering
 * into out (replacing its contents). Throws CoreError for invalid input.
 */
void		render_envelope_json(const char *data, size_t len, std::string &out);

/* True if text[0..len) is one complete JSON value (RFC 8259 syntax). */
bool		json_text_valid(const char *text, size_t len);

}							/* namespace cdc_core */

#endif							/* CDC_JSON_RENDER_HPP */
