/*
 * envelope_writer.hpp — hand-written protobuf wire writer for cdc.v1.Envelope.
 *
 * Writes the wire format of envelope.proto directly into a buffer owned by
 * the writer and reused between calls; libprotobuf is not involved. Fields
 * go out in field-number order with proto3 default omission, except members
 * of the Value.kind oneof, which are always written when set.
 */
#ifndef CDC_ENVELOPE_WRITER_HPP
#define CDC_ENVELOPE_WRITER_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cdc_core.h"

namespace cdc_core {

class EnvelopeWriter
{
public:
	/*
	 * Nesting limits. Any message nested more than kMaxMessageDepth levels
	 * below the top-level message is refused: that is the default recursion
	 * limit of libprotobuf (C++, Java, Python), so every envelope written
	 * here parses with a default-configured parser. It allows 48 levels of
	 * arrays in arrays, or 32 levels of records in records, and so binds
	 * before kMaxValueDepth (values nested in arrays/records), which stays
	 * as a backstop.
	 */
	static constexpr int kMaxValueDepth = 64;
	static constexpr int kMaxMessageDepth = 100;

	explicit EnvelopeWriter(std::string_view version);

	/* Both throw CoreError / std::bad_alloc; the result is valid until the next call. */
	std::string_view encode(const cdc_event &event);
	std::string_view encode_key(const cdc_row &key);
	std::string_view encode_outbox(const cdc_outbox &outbox);

	/* Skip UTF-8 checks of strings the caller guarantees (see cdc_core.h). */
	void		trust_utf8(bool trusted) { trusted_utf8_ = trusted; }

	/* Encodes Source fields 1-5 as encode() writes them; throws CoreError. */
	std::string encode_source_header(const char *database, const char *schema,
									 const char *table);

	/* Encodes Column fields 1-3 into out; throws CoreError. */
	static std::string encode_column_header(const char *name, const char *type_name,
											uint32_t type_oid);

private:
	std::string buf_;			/* storage; buf_.size() is the capacity in use */
	size_t		len_ = 0;		/* bytes written */
	std::string source_prefix_;	/* Source fields 1 and 2, pre-encoded */
	bool		trusted_utf8_ = false;

	bool		valid_utf8(const char *s, size_t n) const;

	void		grow(size_t extra);
	void		reserve(size_t extra)
	{
		if (buf_.size() - len_ < extra)
			grow(extra);
	}
	char	   *cursor() { return &buf_[0] + len_; }

	void		put_raw(const void *data, size_t n);
	void		put_varint(uint64_t v);
	void		put_fixed32(uint32_t v);
	void		put_fixed64(uint64_t v);
	void		put_len_field(uint32_t field, const char *data, size_t n);

	size_t		open_message(uint32_t field, int depth, size_t guess = 1);
	void		close_message(size_t at, size_t guess = 1);

	void		write_source(const cdc_source &src);
	void		write_outbox_body(const cdc_outbox &outbox);
	void		write_source_header(const cdc_source &src);
	void		write_row_body(const cdc_row &row, int depth, int vdepth);
	void		write_column_header(const cdc_column &col);
	void		write_column_body(const cdc_column &col, int depth, int vdepth);
	void		write_value_body(const cdc_value &v, int depth, int vdepth);
	void		write_array_body(const cdc_array &a, int depth, int vdepth);
	void		check_result_size() const;
};

}							/* namespace cdc_core */

#endif							/* CDC_ENVELOPE_WRITER_HPP */
