#include "core_only.hpp"

#include "core_util.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>

namespace cdc_core {

void
fail(const std::string &msg)
{
	throw CoreError(msg);
}

void
copy_error(char *errbuf, size_t errlen, std::string_view msg) noexcept
{
	if (errbuf == nullptr || errlen == 0)
		return;
	size_t		n = msg.size();

	if (n > errlen - 1)
	{
		n = errlen - 1;
		/* back off to a UTF-8 sequence start so the cut text stays valid */
		while (n > 0 && (static_cast<unsigned char>(msg[n]) & 0xC0) == 0x80)
			n--;
	}
	if (n > 0)
		std::memcpy(errbuf, msg.data(), n);
	errbuf[n] = '\0';
}

void
report_current_exception(char *errbuf, size_t errlen) noexcept
{
	try
	{
		throw;
	}
	catch (const std::bad_alloc &)
	{
		copy_error(errbuf, errlen, "out of memory");
	}
	catch (const std::exception &e)
	{
		const char *what = e.what();

		copy_error(errbuf, errlen, what ? what : "internal error");
	}
	catch (...)
	{
		copy_error(errbuf, errlen, "internal error: unknown exception");
	}
}

bool
utf8_valid_slow(const char *data, size_t len) noexcept
{
	const unsigned char *p = reinterpret_cast<const unsigned char *>(data);
	const unsigned char *end = p + len;

	while (p < end)
	{
		/* fast path: 8 ASCII bytes at a time */
		while (end - p >= 8)
		{
			uint64_t	w;

			std::memcpy(&w, p, 8);
			if (w & UINT64_C(0x8080808080808080))
				break;
			p += 8;
		}
		if (p >= end)
			break;

		unsigned char c = *p;

		if (c < 0x80)
		{
			p++;
			continue;
		}

		size_t		need;
		unsigned char lo = 0x80,
					hi = 0xBF;		/* bounds of the second byte */

		if (c >= 0xC2 && c <= 0xDF)
			need = 1;
		else if (c >= 0xE0 && c <= 0xEF)
		{
			need = 2;
			if (c == 0xE0)
				lo = 0xA0;		/* no overlongs */
			else if (c == 0xED)
				hi = 0x9F;		/* no surrogates */
		}
		else if (c >= 0xF0 && c <= 0xF4)
		{
			need = 3;
			if (c == 0xF0)
				lo = 0x90;		/* no overlongs */
			else if (c == 0xF4)
				hi = 0x8F;		/* <= U+10FFFF */
		}
		else
			return false;

		if (static_cast<size_t>(end - p) <= need)
			return false;
		if (p[1] < lo || p[1] > hi)
			return false;
		for (size_t i = 2; i <= need; i++)
			if ((p[i] & 0xC0) != 0x80)
				return false;
		p += need + 1;
	}
	return true;
}

std::string
quoted(std::string_view s)
{
	constexpr size_t kMax = 100;
	std::string out;

	out.reserve(std::min(s.size(), kMax) + 5);
	bool		cut = false;

	if (s.size() > kMax)
	{
		size_t		n = kMax;

		while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
			n--;
		s = s.substr(0, n);
		cut = true;
	}
	out.push_back('"');
	if (utf8_valid(s.data(), s.size()))
		out.append(s);
	else
	{
		/* keep error messages valid UTF-8 whatever the input was */
		for (char c : s)
			out.push_back((static_cast<unsigned char>(c) & 0x80) ? '?' : c);
	}
	if (cut)
		out.append("...");
	out.push_back('"');
	return out;
}

}							/* namespace cdc_core */
