/*
 * envelope_writer.cpp — cdc.v1.Envelope wire format, written by hand.
 *
 * Wire format reminders: a field is a varint tag (field_number << 3 |
 * wire_type) followed by its payload; wire types used here are 0 (varint),
 * 1 (8 bytes little endian), 2 (varint length + bytes) and 5 (4 bytes
 * little endian). Nested messages are length-delimited: we reserve one
 * length byte, write the body, and if the body turned out 128 bytes or
 * longer, shift it to make room for the longer varint.
 */
#include "core_only.hpp"

#include "envelope_writer.hpp"

#include <climits>
#include <cstring>
#include <type_traits>

#include "core_util.hpp"

namespace cdc_core {

namespace {

enum WireType : uint32_t
{
	kVarint = 0,
	kFixed64 = 1,
	kLen = 2,
	kFixed32 = 5
};

constexpr uint32_t
tag(uint32_t field, WireType wt)
{
	return (field << 3) | wt;
}

inline uint64_t
zigzag64(int64_t n)
{
	return (static_cast<uint64_t>(n) << 1) ^ static_cast<uint64_t>(n >> 63);
}

inline uint32_t
zigzag32(int32_t n)
{
	return (static_cast<uint32_t>(n) << 1) ^ static_cast<uint32_t>(n >> 31);
}

inline size_t
varint_size(uint64_t v)
{
	size_t		n = 1;

	while (v >= 0x80)
	{
		v >>= 7;
		n++;
	}
	return n;
}

inline char *
write_varint(char *p, uint64_t v)
{
	while (v >= 0x80)
	{
		*p++ = static_cast<char>(static_cast<uint8_t>(v) | 0x80);
		v >>= 7;
	}
	*p++ = static_cast<char>(v);
	return p;
}

/* Field numbers of envelope.proto. */
namespace f {
	/* Envelope */
	constexpr uint32_t kOp = 1, kBefore = 2, kAfter = 3, kKey = 4, kSource = 5,
				kTransaction = 6, kTruncate = 7, kMessage = 8, kSummary = 9,
				kSnapshotMarker = 10, kGap = 11, kSchemaChange = 12, kOutbox = 13;
	/* Source */
	constexpr uint32_t kConnector = 1, kVersion = 2, kDatabase = 3, kSchema = 4,
				kTable = 5, kLsn = 6, kCommitLsn = 7, kXid = 8,
				kCommitTimeUs = 9, kSnapshot = 10, kSnapshotKind = 11,
				kSnapshotId = 12, kSchemaVersion = 13;
	/* SnapshotMarker */
	constexpr uint32_t kMarkerPartition = 1, kMarkerPartitions = 2, kMarkerRows = 3;
	/* Gap */
	constexpr uint32_t kGapId = 1, kGapLostFromLsn = 2, kGapLostToLsn = 3, kGapReason = 4,
				kGapResnapshot = 5, kGapSnapshotId = 6, kGapPartition = 7,
				kGapPartitions = 8, kGapTimeUs = 9;
	/* SchemaChange */
	constexpr uint32_t kScVersion = 1, kScCommandTag = 2, kScDdl = 3, kScDropped = 4,
				kScRenamedFromSchema = 5, kScRenamedFromTable = 6,
				kScReplicaIdentity = 7, kScColumns = 8, kScResent = 9;
	/* SchemaColumn */
	constexpr uint32_t kSclName = 1, kSclType = 2, kSclTypeOid = 3, kSclTypmod = 4,
				kSclNotNull = 5, kSclHasDefault = 6, kSclKey = 7, kSclAttnum = 8;
	/* OutboxEvent / Header */
	constexpr uint32_t kObTopic = 1, kObKey = 2, kObHasKey = 3, kObPayload = 4,
				kObPayloadFormat = 5, kObHeaders = 6;
	constexpr uint32_t kHdrName = 1, kHdrValue = 2;
	/* Transaction */
	constexpr uint32_t kTxnId = 1, kTotalOrder = 2, kDataCollectionOrder = 3;
	/* TransactionSummary / TableCount */
	constexpr uint32_t kEventCount = 1, kTables = 2;
	constexpr uint32_t kTcSchema = 1, kTcTable = 2, kTcEventCount = 3;
	/* TruncateInfo */
	constexpr uint32_t kCascade = 1, kRestartIdentity = 2;
	/* LogicalMessage */
	constexpr uint32_t kPrefix = 1, kContent = 2, kTransactional = 3;
	/* Row / Column */
	constexpr uint32_t kColumns = 1;
	constexpr uint32_t kName = 1, kType = 2, kTypeOid = 3, kValue = 4,
				kUnchangedToast = 5;
	/* Value.kind members */
	constexpr uint32_t kBool = 1, kInt = 2, kFloat4 = 3, kFloat8 = 4,
				kNumeric = 5, kText = 6, kBytes = 7, kDate = 8, kTime = 9,
				kTimetz = 10, kTimestamp = 11, kTimestamptz = 12,
				kInterval = 13, kUuid = 14, kJson = 15, kJsonb = 16,
				kEnum = 17, kArray = 18, kRecord = 19;
	/* TimeTz */
	constexpr uint32_t kTzMicros = 1, kTzOffset = 2;
	/* Interval */
	constexpr uint32_t kIvMonths = 1, kIvDays = 2, kIvMicros = 3;
	/* Array */
	constexpr uint32_t kDims = 1, kLowerBounds = 2, kElements = 3;
}

const char *
kind_name(long kind)
{
	static const char *const names[] = {
		"null", "unchanged toast", "bool", "int", "float4", "float8",
		"numeric", "text", "bytes", "date", "time", "timetz", "timestamp",
		"timestamptz", "interval", "uuid", "json", "jsonb", "enum", "array",
		"record"
	};

	if (kind >= 0 && kind < static_cast<long>(sizeof(names) / sizeof(names[0])))
		return names[kind];
	return "unknown";
}

/*
 * The numeric value of an enum member of a caller's struct. C callers may
 * store any int there; loading such a value as the C++ enum type would be
 * undefined behaviour, so read the underlying integer instead.
 */
template <class E>
inline long
raw_enum(const E &e)
{
	std::underlying_type_t<E> v;

	std::memcpy(&v, &e, sizeof(v));
	return static_cast<long>(v);
}

/* Length of a C string that the header allows to be NULL (written as empty). */
inline size_t
cstr_len(const char *s)
{
	return s ? std::strlen(s) : 0;
}

/*
 * An error on its way out of nested values, collecting where it happened
 * ("after column \"tags\"[3]") while the stack unwinds. The final message
 * puts the problem first so that a short error buffer keeps what matters.
 */
class PathError : public CoreError
{
public:
	PathError(const std::string &problem, const std::string &where)
		: CoreError(problem), problem_(problem), path_(where) {}

	std::string problem_;
	std::string path_;
};

/* Call inside a catch block: prefixes the in-flight error's location. */
[[noreturn]] void
rethrow_at(const std::string &segment)
{
	try
	{
		throw;
	}
	catch (PathError &e)
	{
		e.path_.insert(0, segment);
		throw;
	}
	catch (const CoreError &e)
	{
		throw PathError(e.what(), segment);
	}
}

/* Call inside a catch block at the top: turns a PathError into the final message. */
[[noreturn]] void
rethrow_located(const std::string &root)
{
	try
	{
		rethrow_at(root);
	}
	catch (const PathError &e)
	{
		throw CoreError(e.problem_ + " (in " + e.path_ + ")");
	}
}

}							/* namespace */

EnvelopeWriter::EnvelopeWriter(std::string_view version)
{
	if (!utf8_valid(version.data(), version.size()))
		fail("version string is not valid UTF-8");

	/* Source.connector and Source.version never change: encode them once */
	static constexpr char kConnectorName[] = "cdc_plugin";
	char		tmp[10];

	source_prefix_.push_back(static_cast<char>(tag(f::kConnector, kLen)));
	source_prefix_.push_back(static_cast<char>(sizeof(kConnectorName) - 1));
	source_prefix_.append(kConnectorName, sizeof(kConnectorName) - 1);
	if (!version.empty())
	{
		source_prefix_.push_back(static_cast<char>(tag(f::kVersion, kLen)));
		source_prefix_.append(tmp, write_varint(tmp, version.size()) - tmp);
		source_prefix_.append(version);
	}
	buf_.resize(1024);
}

void
EnvelopeWriter::grow(size_t extra)
{
	size_t		need = len_ + extra;

	if (need < len_)
		throw std::bad_alloc();
	size_t		cap = buf_.size() * 2;

	/*
	 * One large value: room for it and the small fields after it, not
	 * twice its size, and no second copy when those fields come.
	 */
	if (cap < need)
		cap = need + need / 8;
	if (cap < 1024)
		cap = 1024;
	buf_.resize(cap);
}

inline void
EnvelopeWriter::put_raw(const void *data, size_t n)
{
	reserve(n);
	if (n > 0)
		std::memcpy(cursor(), data, n);
	len_ += n;
}

inline void
EnvelopeWriter::put_varint(uint64_t v)
{
	reserve(10);
	len_ = write_varint(cursor(), v) - buf_.data();
}

inline void
EnvelopeWriter::put_fixed32(uint32_t v)
{
	reserve(4);
	char	   *p = cursor();

	for (int i = 0; i < 4; i++)
		p[i] = static_cast<char>(v >> (8 * i));
	len_ += 4;
}

inline void
EnvelopeWriter::put_fixed64(uint64_t v)
{
	reserve(8);
	char	   *p = cursor();

	for (int i = 0; i < 8; i++)
		p[i] = static_cast<char>(v >> (8 * i));
	len_ += 8;
}

/* A length-delimited field, written even when empty. */
inline void
EnvelopeWriter::put_len_field(uint32_t field, const char *data, size_t n)
{
	if (n > static_cast<size_t>(INT_MAX))
		fail("field of " + std::to_string(n)
			 + " bytes exceeds the 2 GiB protobuf message size limit");
	reserve(20 + n);
	char	   *p = write_varint(cursor(), tag(field, kLen));

	p = write_varint(p, n);
	if (n > 0)
		std::memcpy(p, data, n);
	len_ = (p - buf_.data()) + n;
}

/*
 * Starts a nested message field at nesting level `depth` (the top-level
 * message is level 0), leaving `guess` bytes for its length. Returns the
 * position of the placeholder, to be passed to close_message() along with
 * the same guess.
 */
inline size_t
EnvelopeWriter::open_message(uint32_t field, int depth, size_t guess)
{
	if (depth > kMaxMessageDepth)
		fail("values nested too deeply: protobuf messages would nest more than "
			 + std::to_string(kMaxMessageDepth)
			 + " levels (the default protobuf recursion limit)");
	reserve(10 + guess);
	char	   *p = write_varint(cursor(), tag(field, kLen));
	size_t		at = p - buf_.data();

	len_ = at + guess;
	return at;
}

/*
 * Writes the length of the message opened at `at`. When the body's length
 * needs a different number of bytes than guessed, the body is moved.
 */
inline void
EnvelopeWriter::close_message(size_t at, size_t guess)
{
	size_t		body = len_ - at - guess;

	if (body < 0x80 && guess == 1)
	{
		buf_[at] = static_cast<char>(body);
		return;
	}
	size_t		k = varint_size(body);

	if (k != guess)
	{
		if (k > guess)
			reserve(k - guess);
		char	   *base = &buf_[0];

		std::memmove(base + at + k, base + at + guess, body);
		len_ = len_ + k - guess;
	}
	write_varint(&buf_[0] + at, body);
}

void
EnvelopeWriter::check_result_size() const
{
	if (len_ > static_cast<size_t>(INT_MAX))
		fail("envelope of " + std::to_string(len_)
			 + " bytes exceeds the 2 GiB protobuf message size limit");
}

std::string_view
EnvelopeWriter::encode(const cdc_event &ev)
{
	/* do not keep a huge buffer around after one huge event */
	if (buf_.size() > (size_t{16} << 20))
		std::string(1024, '\0').swap(buf_);
	len_ = 0;

	long		op = raw_enum(ev.op);

	if (op < CDC_OP_CREATE || op > CDC_OP_HEARTBEAT)
		fail("invalid op " + std::to_string(op) + " (expected 1..14)");
	if (op == CDC_OP_SCHEMA && ev.schema_change == nullptr)
		fail("schema event has no schema_change");
	if (op == CDC_OP_OUTBOX && ev.outbox == nullptr)
		fail("outbox event has no outbox");

	long		parts = raw_enum(ev.parts);

	if (parts < CDC_ENCODE_ALL || parts > CDC_ENCODE_SOURCE_ONLY)
		fail("invalid parts " + std::to_string(parts));
	if (parts == CDC_ENCODE_SOURCE_ONLY)
	{
		write_source(ev.source);
		check_result_size();
		return std::string_view(buf_.data(), len_);
	}

	reserve(2);
	buf_[len_++] = static_cast<char>(tag(f::kOp, kVarint));
	buf_[len_++] = static_cast<char>(op);

	static const struct
	{
		uint32_t	field;
		const cdc_row *cdc_event::*row;
		const char *what;
	}			rows[] = {
		{f::kBefore, &cdc_event::before, "before"},
		{f::kAfter, &cdc_event::after, "after"},
		{f::kKey, &cdc_event::key, "key"},
	};

	for (const auto &r : rows)
	{
		const cdc_row *row = ev.*(r.row);

		if (row == nullptr)
			continue;
		try
		{
			/* row images are usually 128..16383 bytes: guess a 2-byte length */
			size_t		at = open_message(r.field, 1, 2);

			write_row_body(*row, 1, 0);
			close_message(at, 2);
		}
		catch (const CoreError &)
		{
			rethrow_located(r.what);
		}
	}

	if (parts == CDC_ENCODE_ALL)
		write_source(ev.source);

	if (ev.has_transaction)
	{
		size_t		at = open_message(f::kTransaction, 1);

		if (ev.txn_id)
		{
			put_varint(tag(f::kTxnId, kVarint));
			put_varint(ev.txn_id);
		}
		if (ev.txn_total_order)
		{
			put_varint(tag(f::kTotalOrder, kVarint));
			put_varint(ev.txn_total_order);
		}
		if (ev.txn_data_collection_order)
		{
			put_varint(tag(f::kDataCollectionOrder, kVarint));
			put_varint(ev.txn_data_collection_order);
		}
		close_message(at);
	}

	switch (op)
	{
		case CDC_OP_TRUNCATE:
			{
				size_t		at = open_message(f::kTruncate, 1);

				if (ev.truncate_cascade)
				{
					put_varint(tag(f::kCascade, kVarint));
					put_varint(1);
				}
				if (ev.truncate_restart_identity)
				{
					put_varint(tag(f::kRestartIdentity, kVarint));
					put_varint(1);
				}
				close_message(at);
				break;
			}
		case CDC_OP_MESSAGE:
			{
				size_t		at = open_message(f::kMessage, 1);
				size_t		plen = cstr_len(ev.message_prefix);

				if (plen > 0)
				{
					if (!valid_utf8(ev.message_prefix, plen))
						fail("message prefix is not valid UTF-8");
					put_len_field(f::kPrefix, ev.message_prefix, plen);
				}
				if (ev.message_content.len > 0)
				{
					if (ev.message_content.data == nullptr)
						fail("message content has a length but no data");
					put_len_field(f::kContent, ev.message_content.data,
								  ev.message_content.len);
				}
				if (ev.message_transactional)
				{
					put_varint(tag(f::kTransactional, kVarint));
					put_varint(1);
				}
				close_message(at);
				break;
			}
		case CDC_OP_COMMIT:
			{
				size_t		at = open_message(f::kSummary, 1);

				if (ev.event_count)
				{
					put_varint(tag(f::kEventCount, kVarint));
					put_varint(ev.event_count);
				}
				if (ev.ntable_counts > 0 && ev.table_counts == nullptr)
					fail("summary has table counts but no array");
				for (size_t i = 0; i < ev.ntable_counts; i++)
				{
					const cdc_table_count &tc = ev.table_counts[i];
					size_t		tat = open_message(f::kTables, 2);
					size_t		slen = cstr_len(tc.schema);
					size_t		tlen = cstr_len(tc.table);

					if (!valid_utf8(tc.schema ? tc.schema : "", slen)
						|| !valid_utf8(tc.table ? tc.table : "", tlen))
						fail("summary table name is not valid UTF-8");
					if (slen)
						put_len_field(f::kTcSchema, tc.schema, slen);
					if (tlen)
						put_len_field(f::kTcTable, tc.table, tlen);
					if (tc.event_count)
					{
						put_varint(tag(f::kTcEventCount, kVarint));
						put_varint(tc.event_count);
					}
					close_message(tat);
				}
				close_message(at);
				break;
			}
		case CDC_OP_SNAPSHOT_BEGIN:
		case CDC_OP_SNAPSHOT_END:
			{
				size_t		at = open_message(f::kSnapshotMarker, 1);

				if (ev.marker_partition)
				{
					put_varint(tag(f::kMarkerPartition, kVarint));
					put_varint(ev.marker_partition);
				}
				if (ev.marker_partitions)
				{
					put_varint(tag(f::kMarkerPartitions, kVarint));
					put_varint(ev.marker_partitions);
				}
				if (ev.marker_rows)
				{
					put_varint(tag(f::kMarkerRows, kVarint));
					put_varint(ev.marker_rows);
				}
				close_message(at);
				break;
			}
		case CDC_OP_GAP:
			{
				size_t		at = open_message(f::kGap, 1);
				size_t		rlen = cstr_len(ev.gap_reason);
				const struct
				{
					uint32_t	field;
					uint64_t	value;
				}			before_reason[] = {
					{f::kGapId, ev.gap_id},
					{f::kGapLostFromLsn, ev.gap_lost_from_lsn},
					{f::kGapLostToLsn, ev.gap_lost_to_lsn},
				},			after_reason[] = {
					{f::kGapResnapshot, ev.gap_resnapshot ? 1u : 0u},
					{f::kGapSnapshotId, ev.gap_snapshot_id},
					{f::kGapPartition, ev.marker_partition},
					{f::kGapPartitions, ev.marker_partitions},
					{f::kGapTimeUs, static_cast<uint64_t>(ev.gap_time_us)},
				};

				/* field-number order, zero values omitted (proto3) */
				for (const auto &v : before_reason)
					if (v.value)
					{
						put_varint(tag(v.field, kVarint));
						put_varint(v.value);
					}
				if (rlen > 0)
				{
					if (!valid_utf8(ev.gap_reason, rlen))
						fail("gap reason is not valid UTF-8");
					put_len_field(f::kGapReason, ev.gap_reason, rlen);
				}
				for (const auto &v : after_reason)
					if (v.value)
					{
						put_varint(tag(v.field, kVarint));
						put_varint(v.value);
					}
				close_message(at);
				break;
			}
		case CDC_OP_SCHEMA:
			{
				const cdc_schema_change &sc = *ev.schema_change;

				/* NULL or empty strings are not written (proto3) */
				auto		put_str = [&](uint32_t field, const char *str, const char *what) {
					size_t		n = cstr_len(str);

					if (n == 0)
						return;
					if (!valid_utf8(str, n))
						fail(std::string("schema change ") + what + " is not valid UTF-8");
					put_len_field(field, str, n);
				};
				auto		put_uint = [&](uint32_t field, uint64_t value) {
					if (value)
					{
						put_varint(tag(field, kVarint));
						put_varint(value);
					}
				};

				/* int32 fields: negative values are sign-extended to 10 bytes */
				auto		int32_wire = [](int32_t v) {
					return static_cast<uint64_t>(static_cast<int64_t>(v));
				};

				if (sc.ncolumns > 0 && sc.columns == nullptr)
					fail("schema change has " + std::to_string(sc.ncolumns)
						 + " columns but no column array");

				/* the DDL text and the columns are often 128 bytes or more */
				size_t		at = open_message(f::kSchemaChange, 1, 2);

				put_uint(f::kScVersion, sc.version);
				put_str(f::kScCommandTag, sc.command_tag, "command tag");
				put_str(f::kScDdl, sc.ddl, "ddl");
				put_uint(f::kScDropped, sc.dropped ? 1u : 0u);
				put_str(f::kScRenamedFromSchema, sc.renamed_from_schema,
						"renamed_from_schema");
				put_str(f::kScRenamedFromTable, sc.renamed_from_table,
						"renamed_from_table");
				put_str(f::kScReplicaIdentity, sc.replica_identity, "replica_identity");
				for (size_t i = 0; i < sc.ncolumns; i++)
				{
					const cdc_schema_column &col = sc.columns[i];

					try
					{
						size_t		cat = open_message(f::kScColumns, 2);

						put_str(f::kSclName, col.name, "column name");
						put_str(f::kSclType, col.type_name, "type name");
						put_uint(f::kSclTypeOid, col.type_oid);
						put_uint(f::kSclTypmod, int32_wire(col.typmod));
						put_uint(f::kSclNotNull, col.not_null ? 1u : 0u);
						put_uint(f::kSclHasDefault, col.has_default ? 1u : 0u);
						put_uint(f::kSclKey, col.key ? 1u : 0u);
						put_uint(f::kSclAttnum, int32_wire(col.attnum));
						close_message(cat);
					}
					catch (const CoreError &)
					{
						rethrow_located("schema_change column "
										+ (col.name ? quoted(col.name)
										   : std::to_string(i + 1)));
					}
				}
				put_uint(f::kScResent, sc.resent ? 1u : 0u);
				close_message(at, 2);
				break;
			}
		case CDC_OP_OUTBOX:
			{
				/* payloads are often 128 bytes or more */
				size_t		at = open_message(f::kOutbox, 1, 2);

				write_outbox_body(*ev.outbox);
				close_message(at, 2);
				break;
			}
		default:
			break;
	}

	check_result_size();
	return std::string_view(buf_.data(), len_);
}

/* The fields of an OutboxEvent, in field-number order, defaults omitted. */
void
EnvelopeWriter::write_outbox_body(const cdc_outbox &ob)
{
	long		format = raw_enum(ob.payload_format);

	if (format < CDC_PAYLOAD_JSON || format > CDC_PAYLOAD_BYTES)
		fail("invalid outbox payload format " + std::to_string(format));
	if (ob.topic.len == 0 || ob.topic.data == nullptr)
		fail("outbox event has no topic");
	if (!valid_utf8(ob.topic.data, ob.topic.len))
		fail("outbox topic is not valid UTF-8");
	if (ob.nheaders > 0 && ob.headers == nullptr)
		fail("outbox event has " + std::to_string(ob.nheaders) + " headers but no header array");
	put_len_field(f::kObTopic, ob.topic.data, ob.topic.len);
	if (ob.has_key)
	{
		if (ob.key.len > 0)
			put_len_field(f::kObKey, ob.key.data, ob.key.len);
		put_varint(tag(f::kObHasKey, kVarint));
		put_varint(1);
	}
	if (ob.payload.len > 0)
		put_len_field(f::kObPayload, ob.payload.data, ob.payload.len);
	put_varint(tag(f::kObPayloadFormat, kVarint));
	put_varint(static_cast<uint64_t>(format));
	for (size_t i = 0; i < ob.nheaders; i++)
	{
		const cdc_outbox_header &h = ob.headers[i];

		if (h.name.len == 0 || !valid_utf8(h.name.data, h.name.len))
			fail("outbox header " + std::to_string(i + 1) + " has an empty or invalid name");
		size_t		at = open_message(f::kObHeaders, 2);

		put_len_field(f::kHdrName, h.name.data, h.name.len);
		if (h.value.len > 0)
			put_len_field(f::kHdrValue, h.value.data, h.value.len);
		close_message(at);
	}
}

std::string_view
EnvelopeWriter::encode_outbox(const cdc_outbox &ob)
{
	if (buf_.size() > (size_t{16} << 20))
		std::string(1024, '\0').swap(buf_);
	len_ = 0;
	write_outbox_body(ob);
	check_result_size();
	return std::string_view(buf_.data(), len_);
}

std::string_view
EnvelopeWriter::encode_key(const cdc_row &key)
{
	if (buf_.size() > (size_t{16} << 20))
		std::string(1024, '\0').swap(buf_);
	len_ = 0;
	try
	{
		write_row_body(key, 0, 0);
	}
	catch (const CoreError &)
	{
		rethrow_located("key");
	}
	check_result_size();
	return std::string_view(buf_.data(), len_);
}

/* Writes Source fields 1-5 (connector, version, database, schema, table). */
void
EnvelopeWriter::write_source_header(const cdc_source &src)
{
	put_raw(source_prefix_.data(), source_prefix_.size());

	static const struct
	{
		uint32_t	field;
		const char *cdc_source::*str;
		const char *what;
	}			strs[] = {
		{f::kDatabase, &cdc_source::database, "database"},
		{f::kSchema, &cdc_source::schema, "schema"},
		{f::kTable, &cdc_source::table, "table"},
	};

	for (const auto &s : strs)
	{
		const char *p = src.*(s.str);
		size_t		n = cstr_len(p);

		if (n == 0)
			continue;
		if (!valid_utf8(p, n))
			fail(std::string("source ") + s.what + " name is not valid UTF-8");
		put_len_field(s.field, p, n);
	}
}

std::string
EnvelopeWriter::encode_source_header(const char *database, const char *schema,
									 const char *table)
{
	/* a scratch copy keeps this writer's last envelope intact (once per table) */
	EnvelopeWriter scratch(*this);
	cdc_source	src{};

	src.database = database;
	src.schema = schema;
	src.table = table;
	scratch.len_ = 0;
	scratch.trusted_utf8_ = false;	/* checked once here, trusted afterwards */
	scratch.write_source_header(src);
	return std::string(scratch.buf_.data(), scratch.len_);
}

void
EnvelopeWriter::write_source(const cdc_source &src)
{
	size_t		at = open_message(f::kSource, 1);

	/* a header encoded once per table saves the work per event */
	if (src.header.data != nullptr)
		put_raw(src.header.data, src.header.len);
	else
		write_source_header(src);

	if (src.lsn)
	{
		put_varint(tag(f::kLsn, kVarint));
		put_varint(src.lsn);
	}
	if (src.commit_lsn)
	{
		put_varint(tag(f::kCommitLsn, kVarint));
		put_varint(src.commit_lsn);
	}
	if (src.xid)
	{
		put_varint(tag(f::kXid, kVarint));
		put_varint(src.xid);
	}
	if (src.commit_time_us)
	{
		put_varint(tag(f::kCommitTimeUs, kVarint));
		put_varint(static_cast<uint64_t>(src.commit_time_us));
	}
	if (src.snapshot)
	{
		put_varint(tag(f::kSnapshot, kVarint));
		put_varint(1);
	}
	/* read through raw_enum: a value outside the enum is an error, not UB */
	if (long kind = raw_enum(src.snapshot_kind); kind != CDC_SNAPSHOT_NONE)
	{
		if (kind < CDC_SNAPSHOT_INITIAL || kind > CDC_SNAPSHOT_GAP)
			fail("invalid snapshot kind " + std::to_string(kind));
		put_varint(tag(f::kSnapshotKind, kVarint));
		put_varint(static_cast<uint64_t>(kind));
	}
	if (src.snapshot_id)
	{
		put_varint(tag(f::kSnapshotId, kVarint));
		put_varint(src.snapshot_id);
	}
	if (src.schema_version)
	{
		put_varint(tag(f::kSchemaVersion, kVarint));
		put_varint(src.schema_version);
	}
	close_message(at);
}

/* Writes the fields of a Row message sitting at nesting level `depth`. */
void
EnvelopeWriter::write_row_body(const cdc_row &row, int depth, int vdepth)
{
	if (row.ncolumns > 0 && row.columns == nullptr)
		fail("row has " + std::to_string(row.ncolumns) + " columns but no column array");

	for (size_t i = 0; i < row.ncolumns; i++)
	{
		const cdc_column &col = row.columns[i];

		try
		{
			size_t		at = open_message(f::kColumns, depth + 1);

			write_column_body(col, depth + 1, vdepth);
			close_message(at);
		}
		catch (const CoreError &)
		{
			/* top-level rows have columns, records have fields */
			std::string where = vdepth == 0 ? " column " : " field ";

			rethrow_at(where + (col.name ? quoted(col.name) : std::to_string(i + 1)));
		}
	}
}

/* UTF-8 check of a string about to be written, unless the caller vouches. */
inline bool
EnvelopeWriter::valid_utf8(const char *s, size_t n) const
{
	return trusted_utf8_ || utf8_valid(s, n);
}

std::string
EnvelopeWriter::encode_column_header(const char *name, const char *type_name,
									 uint32_t type_oid)
{
	EnvelopeWriter w("");
	cdc_column	col{};

	col.name = name;
	col.type_name = type_name;
	col.type_oid = type_oid;
	col.value.kind = CDC_VALUE_NULL;
	w.write_column_body(col, 1, 0);
	return std::string(w.buf_.data(), w.len_);
}

/* Writes Column fields 1-3 (name, type, type_oid). */
void
EnvelopeWriter::write_column_header(const cdc_column &col)
{
	size_t		nlen = cstr_len(col.name);
	size_t		tlen = cstr_len(col.type_name);

	if (nlen)
	{
		if (!valid_utf8(col.name, nlen))
			fail("column name is not valid UTF-8");
		put_len_field(f::kName, col.name, nlen);
	}
	if (tlen)
	{
		if (!valid_utf8(col.type_name, tlen))
			fail("type name is not valid UTF-8");
		put_len_field(f::kType, col.type_name, tlen);
	}
	if (col.type_oid)
	{
		put_varint(tag(f::kTypeOid, kVarint));
		put_varint(col.type_oid);
	}
}

void
EnvelopeWriter::write_column_body(const cdc_column &col, int depth, int vdepth)
{
	/* a header encoded once per table column saves the work per change */
	if (col.header.data != nullptr)
		put_raw(col.header.data, col.header.len);
	else
		write_column_header(col);

	switch (raw_enum(col.value.kind))
	{
		case CDC_VALUE_NULL:
			break;
		case CDC_VALUE_UNCHANGED_TOAST:
			put_varint(tag(f::kUnchangedToast, kVarint));
			put_varint(1);
			break;
		default:
			{
				size_t		at = open_message(f::kValue, depth + 1);

				write_value_body(col.value, depth + 1, vdepth + 1);
				close_message(at);
				break;
			}
	}
}

/*
 * Writes the body of a Value message at nesting level `depth`; vdepth is
 * the value's depth in arrays/records (a column's value is 1).
 */
void
EnvelopeWriter::write_value_body(const cdc_value &v, int depth, int vdepth)
{
	if (vdepth > kMaxValueDepth)
		fail("values nested too deeply: more than " + std::to_string(kMaxValueDepth)
			 + " levels of arrays and records");

	const long	kind = raw_enum(v.kind);
	auto		put_str = [&](uint32_t field, bool text) {
		if (v.u.str.len > 0 && v.u.str.data == nullptr)
			fail(std::string(kind_name(kind)) + " value has a length but no data");
		if (text && !valid_utf8(v.u.str.data, v.u.str.len))
			fail(std::string(kind_name(kind)) + " value is not valid UTF-8");
		put_len_field(field, v.u.str.data, v.u.str.len);
	};

	switch (kind)
	{
		case CDC_VALUE_BOOL:
			put_varint(tag(f::kBool, kVarint));
			put_varint(v.u.b ? 1 : 0);
			break;
		case CDC_VALUE_INT:
			put_varint(tag(f::kInt, kVarint));
			put_varint(zigzag64(v.u.i));
			break;
		case CDC_VALUE_FLOAT4:
			{
				uint32_t	bits;

				std::memcpy(&bits, &v.u.f4, 4);
				put_varint(tag(f::kFloat4, kFixed32));
				put_fixed32(bits);
				break;
			}
		case CDC_VALUE_FLOAT8:
			{
				uint64_t	bits;

				std::memcpy(&bits, &v.u.f8, 8);
				put_varint(tag(f::kFloat8, kFixed64));
				put_fixed64(bits);
				break;
			}
		case CDC_VALUE_NUMERIC:
			put_str(f::kNumeric, true);
			break;
		case CDC_VALUE_TEXT:
			put_str(f::kText, true);
			break;
		case CDC_VALUE_BYTES:
			put_str(f::kBytes, false);
			break;
		case CDC_VALUE_DATE:
			put_varint(tag(f::kDate, kVarint));
			put_varint(zigzag32(v.u.date));
			break;
		case CDC_VALUE_TIME:
			put_varint(tag(f::kTime, kVarint));
			put_varint(static_cast<uint64_t>(v.u.micros));
			break;
		case CDC_VALUE_TIMETZ:
			{
				size_t		at = open_message(f::kTimetz, depth + 1);

				if (v.u.timetz.micros)
				{
					put_varint(tag(f::kTzMicros, kVarint));
					put_varint(static_cast<uint64_t>(v.u.timetz.micros));
				}
				if (v.u.timetz.offset_seconds)
				{
					put_varint(tag(f::kTzOffset, kVarint));
					put_varint(zigzag32(v.u.timetz.offset_seconds));
				}
				close_message(at);
				break;
			}
		case CDC_VALUE_TIMESTAMP:
			put_varint(tag(f::kTimestamp, kVarint));
			put_varint(zigzag64(v.u.micros));
			break;
		case CDC_VALUE_TIMESTAMPTZ:
			put_varint(tag(f::kTimestamptz, kVarint));
			put_varint(zigzag64(v.u.micros));
			break;
		case CDC_VALUE_INTERVAL:
			{
				size_t		at = open_message(f::kInterval, depth + 1);

				if (v.u.interval.months)
				{
					put_varint(tag(f::kIvMonths, kVarint));
					put_varint(zigzag32(v.u.interval.months));
				}
				if (v.u.interval.days)
				{
					put_varint(tag(f::kIvDays, kVarint));
					put_varint(zigzag32(v.u.interval.days));
				}
				if (v.u.interval.micros)
				{
					put_varint(tag(f::kIvMicros, kVarint));
					put_varint(zigzag64(v.u.interval.micros));
				}
				close_message(at);
				break;
			}
		case CDC_VALUE_UUID:
			if (v.u.str.len != 16)
				fail("uuid value must be 16 bytes, got " + std::to_string(v.u.str.len));
			put_str(f::kUuid, false);
			break;
		case CDC_VALUE_JSON:
			put_str(f::kJson, true);
			break;
		case CDC_VALUE_JSONB:
			put_str(f::kJsonb, true);
			break;
		case CDC_VALUE_ENUM:
			put_str(f::kEnum, true);
			break;
		case CDC_VALUE_ARRAY:
			{
				if (v.u.array == nullptr)
					fail("array value has no array");
				size_t		at = open_message(f::kArray, depth + 1);

				write_array_body(*v.u.array, depth + 1, vdepth);
				close_message(at);
				break;
			}
		case CDC_VALUE_RECORD:
			{
				if (v.u.record == nullptr)
					fail("record value has no row");
				size_t		at = open_message(f::kRecord, depth + 1);

				write_row_body(*v.u.record, depth + 1, vdepth);
				close_message(at);
				break;
			}
		case CDC_VALUE_NULL:
		case CDC_VALUE_UNCHANGED_TOAST:
			/* callers handle these; reaching here is a caller bug */
			fail(std::string("unexpected ") + kind_name(kind) + " value");
		default:
			fail("unknown value kind " + std::to_string(kind));
	}
}

void
EnvelopeWriter::write_array_body(const cdc_array &a, int depth, int vdepth)
{
	if (a.ndims < 0 || a.ndims > 6)
		fail("array has " + std::to_string(a.ndims) + " dimensions (0 to 6 allowed)");

	/* product of dims, saturating above nelements so it cannot overflow */
	uint64_t	count = a.ndims == 0 ? 0 : 1;
	bool		too_many = false;

	for (int i = 0; i < a.ndims; i++)
	{
		if (a.dims[i] < 0)
			fail("array dimension " + std::to_string(i + 1) + " is negative");
		if (a.dims[i] == 0)
		{
			count = 0;
			too_many = false;
			break;
		}
		count *= static_cast<uint64_t>(a.dims[i]);
		if (count > a.nelements)
			too_many = true;	/* keep going: a later 0 dim would reset it */
		if (count > (UINT64_C(1) << 32))
			count = UINT64_C(1) << 32;	/* stays above any possible match */
	}
	if (too_many || count != a.nelements)
		fail("array has " + std::to_string(a.nelements)
			 + " elements but its dimensions require a different count");
	if (a.nelements > 0 && a.elements == nullptr)
		fail("array has elements but no element array");

	if (a.ndims > 0)
	{
		size_t		n = 0;

		for (int i = 0; i < a.ndims; i++)
			n += varint_size(static_cast<uint64_t>(a.dims[i]));
		put_varint(tag(f::kDims, kLen));
		put_varint(n);
		for (int i = 0; i < a.ndims; i++)
			put_varint(static_cast<uint64_t>(a.dims[i]));

		n = 0;
		for (int i = 0; i < a.ndims; i++)
			n += varint_size(zigzag32(a.lower_bounds[i]));
		put_varint(tag(f::kLowerBounds, kLen));
		put_varint(n);
		for (int i = 0; i < a.ndims; i++)
			put_varint(zigzag32(a.lower_bounds[i]));
	}

	for (size_t i = 0; i < a.nelements; i++)
	{
		const cdc_value &e = a.elements[i];

		try
		{
			long		kind = raw_enum(e.kind);

			if (kind == CDC_VALUE_NULL)
			{
				/* SQL NULL element: a Value with no member set */
				open_message(f::kElements, depth + 1);
				buf_[len_ - 1] = 0;
				continue;
			}
			if (kind == CDC_VALUE_UNCHANGED_TOAST)
				fail("unchanged toast is not valid as an array element");
			size_t		at = open_message(f::kElements, depth + 1);

			write_value_body(e, depth + 1, vdepth + 1);
			close_message(at);
		}
		catch (const CoreError &)
		{
			rethrow_at("[" + std::to_string(i + 1) + "]");
		}
	}
}

}							/* namespace cdc_core */
