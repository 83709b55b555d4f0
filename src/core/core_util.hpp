/*
 * core_util.hpp — small helpers shared by the C++ core: the error type the
 * core throws, copying messages into C error buffers, UTF-8 validation.
 */
#ifndef CDC_CORE_UTIL_HPP
#define CDC_CORE_UTIL_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cdc_core {

/* An error with a message meant for the user (lowercase, specific). */
class CoreError : public std::runtime_error
{
public:
	explicit CoreError(const std::string &msg) : std::runtime_error(msg) {}
};

[[noreturn]] void fail(const std::string &msg);

/*
 * Copies msg into errbuf (if errbuf != NULL and errlen > 0), truncating to
 * errlen - 1 bytes without splitting a UTF-8 sequence, always NUL-terminated.
 */
void copy_error(char *errbuf, size_t errlen, std::string_view msg) noexcept;

/*
 * To be called from inside a catch (...) block: classifies the in-flight
 * exception and copies a message for it into errbuf.
 */
void report_current_exception(char *errbuf, size_t errlen) noexcept;

/* The full check, for input that is not pure ASCII. */
bool		utf8_valid_slow(const char *data, size_t len) noexcept;

/*
 * Strict UTF-8 check (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
 * Inline ASCII fast path: most identifiers and many values are pure ASCII.
 */
inline bool
utf8_valid(const char *data, size_t len) noexcept
{
	uint64_t	acc = 0;
	size_t		i = 0;

	for (; i + 8 <= len; i += 8)
	{
		uint64_t	w;

		std::memcpy(&w, data + i, 8);
		acc |= w;
	}
	for (; i < len; i++)
		acc |= static_cast<unsigned char>(data[i]);
	if ((acc & UINT64_C(0x8080808080808080)) == 0)
		return true;
	return utf8_valid_slow(data, len);
}

/* Quotes s for an error message: "s", cut to a sane length. */
std::string quoted(std::string_view s);

}							/* namespace cdc_core */

#endif							/* CDC_CORE_UTIL_HPP */
