/*
 * topic_name.cpp — table -> Kafka topic name.
 *
 * Kafka allows [a-zA-Z0-9._-] and at most 249 characters. The topic is
 * <prefix>.<schema>.<table>, where '.' only ever separates the three
 * parts, so the mapping is injective:
 *
 *   - schema and table: every byte of [a-zA-Z0-9_] is kept; every other
 *     byte (UTF-8 bytes of non-ASCII characters, '.', ' ', and '-', the
 *     escape character itself) becomes '-' and two uppercase hex digits.
 *     Each byte has one spelling and no spelling is the start of another,
 *     so distinct names give distinct parts; names of lowercase letters,
 *     digits and underscores map to themselves.
 *   - the prefix is the same for every table, so it needs no escape: it
 *     is kept, characters Kafka does not allow becoming '_'.
 *   - a result longer than 249 characters keeps its first 231 (fewer when
 *     that would cut an escape in two), then "--" and the first 16 hex
 *     digits of the SHA-256 of the whole result. "--" never occurs in an
 *     escaped name, so such a topic cannot equal one that was not
 *     shortened, and two shortened ones differ by their hash.
 */
#include "core_only.hpp"

#include "topic_name.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "cdc_kafka.h"
#include "core_util.hpp"

namespace cdc_core {

namespace {

constexpr std::size_t kHashDigits = 16;
constexpr std::size_t kShortenedHead = kTopicNameMax - 2 - kHashDigits;

/* True for the bytes a schema or table name keeps as they are. */
bool
kept_in_name(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '_';
}

/* True for the characters Kafka allows in a topic name. */
bool
kafka_topic_char(unsigned char c)
{
	return kept_in_name(c) || c == '.' || c == '-';
}

/* Rotates right, for SHA-256. */
uint32_t
rotr(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

}							/* namespace */

/* One schema or table name, escaped. */
void
append_topic_name_part(std::string &out, std::string_view name)
{
	static const char hex[] = "0123456789ABCDEF";

	for (char ch : name)
	{
		unsigned char c = static_cast<unsigned char>(ch);

		if (kept_in_name(c))
			out.push_back(ch);
		else
		{
			out.push_back('-');
			out.push_back(hex[c >> 4]);
			out.push_back(hex[c & 0xF]);
		}
	}
}

/* prefix.schema.table, escaped, shortened beyond 249 characters. */
std::string
topic_name(std::string_view prefix, std::string_view schema, std::string_view table)
{
	std::string topic;

	topic.reserve(prefix.size() + 2 + 3 * (schema.size() + table.size()));
	for (char ch : prefix)
		topic.push_back(kafka_topic_char(static_cast<unsigned char>(ch)) ? ch : '_');
	topic.push_back('.');
	append_topic_name_part(topic, schema);
	topic.push_back('.');
	append_topic_name_part(topic, table);
	if (topic.size() <= kTopicNameMax)
		return topic;

	/* keep whole escapes: past the prefix, every '-' starts one of 3 characters */
	std::size_t head = std::min(prefix.size(), kShortenedHead);

	while (head < kShortenedHead)
	{
		std::size_t next = head + (topic[head] == '-' ? 3 : 1);

		if (next > kShortenedHead)
			break;
		head = next;
	}
	std::string shortened = topic.substr(0, head);

	shortened += "--";
	shortened += sha256_hex(topic).substr(0, kHashDigits);
	return shortened;
}

/* See topic_name.hpp; the messages are those of cdc_kafka.h. */
std::string
topic_name_problem(std::string_view topic)
{
	if (topic.empty())
		return "topic name is empty";
	if (topic.size() > kTopicNameMax)
		return "topic name is longer than " + std::to_string(kTopicNameMax) + " characters ("
			+ std::to_string(topic.size()) + ")";
	if (topic == "." || topic == "..")
		return "topic name may not be \".\" or \"..\"";
	for (std::size_t i = 0; i < topic.size(); i++)
	{
		unsigned char c = static_cast<unsigned char>(topic[i]);

		if (kafka_topic_char(c))
			continue;

		static const char hex[] = "0123456789ABCDEF";
		std::string code = std::string("0x") + hex[c >> 4] + hex[c & 0xF];
		std::string kind;

		if (c == '\0')
			kind = "a NUL byte";
		else if (c == ' ')
			kind = "a space";
		else if (c < 0x20 || c == 0x7F)
			kind = "the control character " + code;
		else if (c >= 0x80)
			kind = "the byte " + code + " of a non-ASCII character";
		else
			kind = std::string("'") + static_cast<char>(c) + "'";
		return "topic name has a character Kafka does not allow at position "
			+ std::to_string(i + 1) + " (allowed: letters, digits, '.', '_', '-'), found " + kind;
	}
	return "";
}

/* FIPS 180-4 SHA-256, for the suffix of shortened topic names. */
std::string
sha256_hex(std::string_view data)
{
	static const uint32_t k[64] = {
		0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
		0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
		0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
		0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
		0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
		0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
		0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
		0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
	std::array<uint32_t, 8> h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
								 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	std::string msg(data);
	const uint64_t bits = static_cast<uint64_t>(data.size()) * 8;

	msg.push_back(static_cast<char>(0x80));
	while (msg.size() % 64 != 56)
		msg.push_back('\0');
	for (int i = 7; i >= 0; i--)
		msg.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));

	for (std::size_t off = 0; off < msg.size(); off += 64)
	{
		uint32_t	w[64];

		for (int i = 0; i < 16; i++)
		{
			const unsigned char *p = reinterpret_cast<const unsigned char *>(msg.data() + off + 4 * i);

			w[i] = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
		}
		for (int i = 16; i < 64; i++)
		{
			uint32_t	s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
			uint32_t	s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);

			w[i] = w[i - 16] + s0 + w[i - 7] + s1;
		}
		std::array<uint32_t, 8> v = h;

		for (int i = 0; i < 64; i++)
		{
			uint32_t	s1 = rotr(v[4], 6) ^ rotr(v[4], 11) ^ rotr(v[4], 25);
			uint32_t	ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
			uint32_t	t1 = v[7] + s1 + ch + k[i] + w[i];
			uint32_t	s0 = rotr(v[0], 2) ^ rotr(v[0], 13) ^ rotr(v[0], 22);
			uint32_t	maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
			uint32_t	t2 = s0 + maj;

			v = {t1 + t2, v[0], v[1], v[2], v[3] + t1, v[4], v[5], v[6]};
		}
		for (int i = 0; i < 8; i++)
			h[i] += v[i];
	}

	static const char hex[] = "0123456789abcdef";
	std::string out;

	for (uint32_t word : h)
		for (int shift = 28; shift >= 0; shift -= 4)
			out.push_back(hex[(word >> shift) & 0xF]);
	return out;
}

}							/* namespace cdc_core */

/* The C entry points of cdc_kafka.h. */
extern "C" size_t
cdc_topic_name(const char *prefix, const char *schema, const char *table,
			   char *buf, size_t buflen, char *errbuf, size_t errlen)
{
	try
	{
		cdc_core::copy_error(errbuf, errlen, "");
		if (prefix == nullptr || schema == nullptr || table == nullptr || buf == nullptr ||
			buflen < CDC_TOPIC_NAME_MAX + 1)
			cdc_core::fail("cdc_topic_name: NULL argument or buffer too small");
		std::string topic = cdc_core::topic_name(prefix, schema, table);

		std::memcpy(buf, topic.c_str(), topic.size() + 1);
		return topic.size();
	}
	catch (...)
	{
		if (buf != nullptr && buflen > 0)
			buf[0] = '\0';
		cdc_core::report_current_exception(errbuf, errlen);
		return 0;
	}
}

/* The C entry point of cdc_kafka.h. */
extern "C" int
cdc_topic_name_check(const char *topic, size_t len, char *errbuf, size_t errlen)
{
	try
	{
		if (topic == nullptr && len > 0)
			cdc_core::fail("cdc_topic_name_check: NULL topic name");
		std::string why = cdc_core::topic_name_problem(std::string_view(topic ? topic : "", len));

		cdc_core::copy_error(errbuf, errlen, why);
		return why.empty() ? 0 : -1;
	}
	catch (...)
	{
		cdc_core::report_current_exception(errbuf, errlen);
		return -1;
	}
}
