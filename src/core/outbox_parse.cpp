/*
 * outbox_parse.cpp — reads a cdc.v1.OutboxEvent (cdc_outbox_parse).
 *
 * The bytes come from the WAL, where cdc_plugin.publish() wrote them; a
 * role allowed to call pg_logical_emit_message() could write others under
 * the same prefix, so every length is checked against what is left and
 * anything unexpected is refused with a message. Strings are not copied:
 * they point into the caller's bytes.
 */
#include "core_only.hpp"

#include <cstring>
#include <string>

#include "cdc_core.h"
#include "core_util.hpp"

namespace {

struct Reader
{
	const unsigned char *p;
	const unsigned char *end;

	bool		done() const { return p >= end; }

	uint64_t	varint()
	{
		uint64_t	v = 0;

		for (int shift = 0; shift < 64; shift += 7)
		{
			if (p >= end)
				cdc_core::fail("truncated varint");
			unsigned char b = *p++;

			v |= static_cast<uint64_t>(b & 0x7f) << shift;
			if ((b & 0x80) == 0)
				return v;
		}
		cdc_core::fail("varint longer than 10 bytes");
	}

	cdc_bytes	bytes()
	{
		uint64_t	n = varint();

		if (n > static_cast<uint64_t>(end - p))
			cdc_core::fail("a length runs past the end");
		cdc_bytes	b = {reinterpret_cast<const char *>(p), static_cast<size_t>(n)};

		p += n;
		return b;
	}
};

constexpr int kVarint = 0, kLen = 2;

bool
utf8_ok(const cdc_bytes &b)
{
	return cdc_core::utf8_valid(b.data, b.len);
}

void
parse_header(cdc_bytes body, cdc_outbox_header *h)
{
	Reader		r{reinterpret_cast<const unsigned char *>(body.data),
		reinterpret_cast<const unsigned char *>(body.data) + body.len};

	*h = cdc_outbox_header{};
	while (!r.done())
	{
		uint64_t	tag = r.varint();
		uint64_t	field = tag >> 3;

		if ((tag & 7) != kLen || (field != 1 && field != 2))
			cdc_core::fail("a header has an unknown field " + std::to_string(field));
		cdc_bytes	b = r.bytes();

		if (field == 1)
			h->name = b;
		else
			h->value = b;
	}
	if (h->name.len == 0 || !utf8_ok(h->name))
		cdc_core::fail("a header name is empty or not UTF-8");
}

void
parse(const char *data, size_t len, cdc_outbox *out, cdc_outbox_header *headers,
	  size_t max_headers)
{
	Reader		r{reinterpret_cast<const unsigned char *>(data),
		reinterpret_cast<const unsigned char *>(data) + len};

	*out = cdc_outbox{};
	out->headers = headers;
	while (!r.done())
	{
		uint64_t	tag = r.varint();
		uint64_t	field = tag >> 3;
		int			wire = static_cast<int>(tag & 7);
		bool		len_field = field == 1 || field == 2 || field == 4 || field == 6;

		if (field < 1 || field > 6 || wire != (len_field ? kLen : kVarint))
			cdc_core::fail("unknown field " + std::to_string(field) + " (wire type "
						   + std::to_string(wire) + ")");
		switch (field)
		{
			case 1:
				out->topic = r.bytes();
				break;
			case 2:
				out->key = r.bytes();
				break;
			case 3:
				out->has_key = r.varint() != 0;
				break;
			case 4:
				out->payload = r.bytes();
				break;
			case 5:
				{
					uint64_t	f = r.varint();

					if (f < CDC_PAYLOAD_JSON || f > CDC_PAYLOAD_BYTES)
						cdc_core::fail("unknown payload format " + std::to_string(f));
					out->payload_format = static_cast<cdc_payload_format>(f);
					break;
				}
			case 6:
				if (out->nheaders >= max_headers)
					cdc_core::fail("more than " + std::to_string(max_headers) + " headers");
				parse_header(r.bytes(), &headers[out->nheaders++]);
				break;
		}
	}
	if (out->topic.len == 0 || !utf8_ok(out->topic))
		cdc_core::fail("the topic is empty or not UTF-8");
	if (out->payload_format == 0)
		cdc_core::fail("no payload format");
	if (out->has_key && !utf8_ok(out->key))
		cdc_core::fail("the key is not UTF-8");
}

}							/* namespace */

extern "C" int
cdc_outbox_parse(const char *data, size_t len, cdc_outbox *out,
				 cdc_outbox_header *headers, size_t max_headers,
				 char *errbuf, size_t errlen)
{
	try
	{
		cdc_core::copy_error(errbuf, errlen, "");
		if (out == nullptr || (data == nullptr && len > 0) ||
			(headers == nullptr && max_headers > 0))
			cdc_core::fail("cdc_outbox_parse: NULL argument");
		parse(data, len, out, headers, max_headers);
		return 0;
	}
	catch (...)
	{
		cdc_core::report_current_exception(errbuf, errlen);
		if (out != nullptr)
			*out = cdc_outbox{};
		return -1;
	}
}
