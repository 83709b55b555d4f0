/*
 * verify.cpp — cdc_kafka_consume verify: checks what the Kafka worker
 * published (a tsv file written by `consume`) against the truth (the
 * envelopes the decoder produces for the same WAL, one per line as COPY
 * prints a bytea), and optionally writes the final state: per key, and
 * for keyless tables as a multiset of rows.
 *
 * A change is identified by (commit_lsn, total_order) when it carries a
 * transaction block, else by (lsn, op); op is part of every identity so
 * that begin and commit events (total_order 0) stay apart. Duplicates are
 * allowed up to a limit (at-least-once); everything else must match byte
 * for byte. This is a test tool: it reads files and never touches Kafka.
 *
 * Snapshot events (r rows and the snapshot_begin/snapshot_end markers) are
 * never in the reference, which is a peek of the WAL: they are checked for
 * what can be checked without it — routing, per-key order against the
 * streamed changes, duplicates, and that every partition has its markers
 * and its rows between them. Gap events (the worker's slot was lost and
 * recreated) are not in it either: each must reach every partition of its
 * table's topic, between the old slot's events and the new one's, and be
 * followed by the re-snapshot it announces. After a slot loss there is no
 * reference at all (the reference slot is lost too): without one, only
 * the comparison with it is skipped. Schema events (a table's shape, sent
 * to every partition before the row events of that shape) are not in it
 * either: per partition, every row event carrying a source.schema_version
 * must follow the schema event of that version, and use only its columns.
 */
#include "kafka_tools.hpp"

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <sys/stat.h>

#include <google/protobuf/stubs/logging.h>

#include "cdc/v1/envelope.pb.h"
#include "topic_name.hpp"

namespace kafka_tools {

namespace {

namespace pb = cdc::v1;

const char kVerifyUsage[] =
	"usage: cdc_kafka_consume verify --consumed FILE [--reference FILE] --topic-prefix P\n"
	"         [--max-duplicates N] [--wait SECONDS] [--final-state FILE]\n"
	"         [--message-topic TOPIC] [--snapshots-complete]\n"
	"--consumed: tsv written by `consume --format tsv` (a half-written last\n"
	"  line is ignored; repeated topic/partition/offset lines, from a consumer\n"
	"  that re-read, count once).\n"
	"--reference: one envelope per line as COPY prints a bytea (\\\\x<hex>; \\x<hex>\n"
	"  is accepted too), e.g. from pg_logical_slot_peek_binary_changes(). Without\n"
	"  it, missing, mismatched and phantom changes are not looked for (the summary\n"
	"  says reference=none); everything else is checked.\n"
	"--wait S: while changes are missing, re-read the consumed file every 200 ms\n"
	"  for up to S seconds.\n"
	"--final-state FILE: for every (schema, table, key), the envelope of its last\n"
	"  change (r events included) unless that is a delete (or older than the\n"
	"  table's last truncate); a keyless table's rows as a multiset, replaying its\n"
	"  events (deletes and updates need REPLICA IDENTITY FULL). After a gap the\n"
	"  consumer rule applies: a row not changed or read since the gap is dropped\n"
	"  at the snapshot_end of a snapshot that began after the gap (on its\n"
	"  partition). One per line as \\\\x<hex>, loadable with psql's\n"
	"  \\copy t(data) from FILE.\n"
	"--message-topic TOPIC: the topic events without schema and table (logical\n"
	"  messages, begin, commit) must be on; by default any P.* topic is accepted.\n"
	"--snapshots-complete: every snapshot seen must have ended (snapshot_end on\n"
	"  every partition), and every re-snapshot a gap announces must have begun;\n"
	"  without it a snapshot without any end is still running. With --wait, also\n"
	"  wait for those.\n"
	"Routing: table events must be on P.<schema>.<table>, named as the worker\n"
	"names them (escaped, shortened beyond 249 characters); the Kafka key must be\n"
	"the envelope's key bytes, NULL when the envelope has none. A tombstone must\n"
	"follow a delete of its key in its partition. A key's messages must share\n"
	"one partition, in increasing (commit_lsn, total_order); a tombstone out of\n"
	"place counts as out_of_order too.\n"
	"Snapshots: r events and markers are not in the reference. An r event is\n"
	"identified by (topic, snapshot_id, commit_lsn, key), a keyless one by its\n"
	"topic/partition/offset, and is ordered with its key's changes at\n"
	"(commit_lsn, 0). Per (topic, snapshot_id), every partition needs a\n"
	"snapshot_begin (the first begin's partitions field says how many) and, once\n"
	"any end was seen, a snapshot_end; each copy must name the partition it is\n"
	"in, and the snapshot's rows must come between its partition's first begin\n"
	"and first end (bad_markers otherwise).\n"
	"Gaps: not in the reference either. Each (topic, gap id) needs one copy on\n"
	"every partition (the first copy's partitions field says how many), each\n"
	"naming the partition it is in, all alike; on its partition a copy comes\n"
	"after every event older than gap.lost_to_lsn and before every newer one;\n"
	"with resnapshot, a snapshot_begin of its snapshot (kind gap) follows it on\n"
	"that partition (bad_gaps otherwise). A copy sent again is a duplicate.\n"
	"Outbox events (op outbox) in the reference are skipped: the worker\n"
	"publishes their payloads to their own topics, not envelopes.\n"
	"Schemas: schema events are not in the reference, never duplicates, and have\n"
	"no Kafka key (NULL or empty); after a rename they may also be on the former\n"
	"name's topic. schemas counts the valid ones. bad_schemas: a schema event\n"
	"without a schema_change section, a table, a version, or whose\n"
	"source.schema_version is not schema_change.version (or with a transaction,\n"
	"a row or a key, or snapshot fields); per (topic, partition) in offset\n"
	"order: a c/u/d/r event with a nonzero source.schema_version V not preceded\n"
	"there by a schema event of its table with version V, or with a column (in\n"
	"after, before or key) that version does not list; a schema event not resent\n"
	"whose version is below one of its table seen before there.\n"
	"Heartbeats (cdc_plugin.heartbeat_interval): counted in heartbeats, not in\n"
	"the reference; bad_heartbeats: one not on <prefix>.__heartbeat, not keyed by\n"
	"its source.database, with a table, a row, a transaction, no WAL position\n"
	"or no time.\n"
	"Exit: 0 OK, 1 FAIL, 2 usage or I/O error.\n";

/* What identifies a change across re-sends. */
struct Identity
{
	bool		txn = false;	/* (commit_lsn, total_order) vs (lsn) */
	uint64_t	pos = 0;
	uint64_t	order = 0;
	int			op = 0;

	bool		operator==(const Identity &o) const
	{
		return txn == o.txn && pos == o.pos && order == o.order && op == o.op;
	}
	bool		operator<(const Identity &o) const
	{
		return std::tie(pos, order, txn, op) < std::tie(o.pos, o.order, o.txn, o.op);
	}
};

struct IdentityHash
{
	size_t		operator()(const Identity &i) const
	{
		uint64_t	h = i.pos * 0x9E3779B97F4A7C15ULL;

		h ^= (i.order + 0x632BE59BD9B4E019ULL) * 0xC2B2AE3D27D4EB4FULL;
		h ^= static_cast<uint64_t>(i.op) << 1 | (i.txn ? 1 : 0);
		return static_cast<size_t>(h ^ (h >> 29));
	}
};

/* Position used to order changes: (commit_lsn, total_order) or (lsn, 0). */
using Position = std::pair<uint64_t, uint64_t>;

/* What verify needs from one envelope, parsed once. */
struct EnvInfo
{
	bool		ok = false;
	std::string error;			/* why it did not parse */
	Identity	id;
	Position	pos;			/* where it sorts among its key's events */
	std::string schema;
	std::string table;
	bool		has_key = false;	/* field 4 present */
	std::string key;			/* raw bytes of field 4 */

	/* snapshot events (r, snapshot_begin, snapshot_end) */
	bool		snapshot_event = false;
	std::string snapshot_problem;	/* why it is not a valid one */
	int			snapshot_kind = 0;
	uint64_t	snapshot_id = 0;
	uint64_t	commit_lsn = 0;
	uint32_t	marker_partition = 0;
	uint32_t	marker_partitions = 0;

	/* where a gap copy sorts its partition's events: source.commit_lsn, else lsn */
	uint64_t	commit_pos = 0;

	/* gap events */
	bool		gap_event = false;
	std::string gap_problem;	/* why it is not a valid one */
	uint64_t	gap_id = 0;
	uint64_t	gap_lost_from = 0;
	uint64_t	gap_lost_to = 0;
	bool		gap_resnapshot = false;
	uint64_t	gap_snapshot_id = 0;
	uint32_t	gap_partition = 0;
	uint32_t	gap_partitions = 0;

	/* source.schema_version (0: unknown); c, u, d, r with one: their column names, once each */
	uint64_t	schema_version = 0;
	std::vector<std::string> row_columns;

	/* outbox events: published as they are, to their own topics, not checked here */
	bool		outbox_event = false;

	/* heartbeats: only to <prefix>.__heartbeat, keyed by database, checked on their own */
	bool		heartbeat_event = false;
	std::string heartbeat_problem;	/* why it is not a valid one */
	std::string database;

	/* schema events */
	bool		schema_event = false;
	std::string schema_problem;	/* why it is not a valid one */
	uint64_t	sc_version = 0;
	bool		sc_resent = false;
	std::string sc_renamed_schema;
	std::string sc_renamed_table;
	std::vector<std::string> sc_columns;
};

bool
is_marker(int op)
{
	return op == pb::OP_SNAPSHOT_BEGIN || op == pb::OP_SNAPSHOT_END;
}

bool
is_row_op(int op)
{
	return op == pb::OP_CREATE || op == pb::OP_UPDATE || op == pb::OP_DELETE || op == pb::OP_READ;
}

/* A keyed r event: the same row read by the same snapshot at the same position. */
using SnapshotRowId = std::tuple<std::string, uint64_t, uint64_t, std::string>;

/* One consumed Kafka message. */
struct Msg
{
	std::string topic;
	int32_t		partition = 0;
	int64_t		offset = 0;
	bool		key_null = true;
	std::string key;
	bool		value_null = true;
	std::string value;
	size_t		lineno = 0;
	EnvInfo		env;
};

/* Short op name, as the JSON rendering uses. */
const char *
op_name(int op)
{
	static const char *const names[] = {"?", "c", "u", "d", "r", "t", "m", "begin", "commit",
		"snapshot_begin", "snapshot_end", "gap", "schema", "outbox", "heartbeat"};

	return op >= 0 && op <= 14 ? names[op] : "?";
}

/* An LSN as pg_lsn prints it. */
std::string
lsn_text(uint64_t lsn)
{
	char		buf[32];

	std::snprintf(buf, sizeof(buf), "%X/%X", static_cast<unsigned>(lsn >> 32),
				  static_cast<unsigned>(lsn));
	return buf;
}

/* An identity for example lines. */
std::string
identity_text(const Identity &id)
{
	if (id.txn)
		return "commit_lsn=" + lsn_text(id.pos) + " total_order=" + std::to_string(id.order) +
			" op=" + op_name(id.op);
	return "lsn=" + lsn_text(id.pos) + " op=" + op_name(id.op);
}

/*
 * Collects the raw bytes of every occurrence of length-delimited field
 * `field` at the top level of a protobuf message. False if the wire data
 * is malformed.
 */
bool
raw_field(const std::string &msg, uint32_t field, bool &present, std::string &out)
{
	const unsigned char *p = reinterpret_cast<const unsigned char *>(msg.data());
	const unsigned char *end = p + msg.size();
	auto		varint = [&](uint64_t &v) -> bool {
		v = 0;
		for (int shift = 0; shift < 64; shift += 7)
		{
			if (p >= end)
				return false;
			unsigned char c = *p++;

			v |= static_cast<uint64_t>(c & 0x7f) << shift;
			if (!(c & 0x80))
				return true;
		}
		return false;
	};

	present = false;
	out.clear();
	while (p < end)
	{
		uint64_t	tag,
					len;

		if (!varint(tag))
			return false;
		switch (tag & 7)
		{
			case 0:
				if (!varint(len))
					return false;
				break;
			case 1:
				if (end - p < 8)
					return false;
				p += 8;
				break;
			case 5:
				if (end - p < 4)
					return false;
				p += 4;
				break;
			case 2:
				if (!varint(len) || len > static_cast<uint64_t>(end - p))
					return false;
				if ((tag >> 3) == field)
				{
					present = true;
					out.append(reinterpret_cast<const char *>(p), len);
				}
				p += len;
				break;
			default:
				return false;
		}
	}
	return true;
}

/* Parses envelope bytes into what verify needs. */
EnvInfo
parse_env(const std::string &bytes, pb::Envelope *keep = nullptr)
{
	EnvInfo		info;
	pb::Envelope local;
	pb::Envelope &env = keep ? *keep : local;

	{
		google::protobuf::LogSilencer quiet;

		if (!env.ParseFromString(bytes))
		{
			info.error = "not a valid cdc.v1.Envelope";
			return info;
		}
	}
	if (!raw_field(bytes, 4, info.has_key, info.key))
	{
		info.error = "malformed protobuf wire data";
		return info;
	}
	info.ok = true;
	info.schema = env.source().schema();
	info.table = env.source().table();
	info.database = env.source().database();
	info.id.op = env.op();
	info.id.txn = env.has_transaction();
	if (info.id.txn)
	{
		info.id.pos = env.source().commit_lsn();
		info.id.order = env.transaction().total_order();
	}
	else
		info.id.pos = env.source().lsn();
	info.pos = Position(info.id.pos, info.id.order);
	info.commit_pos = env.source().commit_lsn() != 0 ? env.source().commit_lsn()
		: env.source().lsn();

	int			op = env.op();

	info.schema_version = env.source().schema_version();
	if (info.schema_version != 0 && is_row_op(op))
	{
		std::set<std::string> names;

		for (const pb::Row *r : {env.has_after() ? &env.after() : nullptr,
								 env.has_before() ? &env.before() : nullptr,
								 env.has_key() ? &env.key() : nullptr})
			if (r != nullptr)
				for (const auto &c : r->columns())
					if (names.insert(c.name()).second)
						info.row_columns.push_back(c.name());
	}

	if (op == pb::OP_READ || is_marker(op))
	{
		const pb::Source &src = env.source();

		info.snapshot_event = true;
		info.snapshot_kind = src.snapshot_kind();
		info.snapshot_id = src.snapshot_id();
		info.commit_lsn = src.commit_lsn();
		info.marker_partition = env.snapshot().partition();
		info.marker_partitions = env.snapshot().partitions();

		/*
		 * A snapshot row is read at the high watermark: it sorts before
		 * everything committed after it, after everything committed before.
		 */
		if (op == pb::OP_READ)
			info.pos = Position(info.commit_lsn, 0);

		if (!src.snapshot())
			info.snapshot_problem = "source.snapshot is false";
		else if (info.snapshot_id == 0)
			info.snapshot_problem = "source.snapshot_id is 0";
		else if (info.snapshot_kind != pb::SNAPSHOT_INITIAL &&
				 info.snapshot_kind != pb::SNAPSHOT_INCREMENTAL &&
				 info.snapshot_kind != pb::SNAPSHOT_GAP)
			info.snapshot_problem = "source.snapshot_kind is " + std::to_string(info.snapshot_kind);
		else if (env.has_transaction())
			info.snapshot_problem = "it has a transaction block";
		else if (op == pb::OP_READ && !env.has_after())
			info.snapshot_problem = "it has no after row";
		else if (is_marker(op) && !env.has_snapshot())
			info.snapshot_problem = "it has no snapshot section";
	}
	else if (op == pb::OP_GAP)
	{
		const pb::Source &src = env.source();
		const pb::Gap &g = env.gap();
		std::string &problem = info.gap_problem;

		info.gap_event = true;
		info.gap_id = g.id();
		info.gap_lost_from = g.lost_from_lsn();
		info.gap_lost_to = g.lost_to_lsn();
		info.gap_resnapshot = g.resnapshot();
		info.gap_snapshot_id = g.snapshot_id();
		info.gap_partition = g.partition();
		info.gap_partitions = g.partitions();

		if (!env.has_gap())
			problem = "it has no gap section";
		else if (g.id() == 0)
			problem = "gap.id is 0";
		else if (info.schema.empty() || info.table.empty())
			problem = "its source names no table";
		else if (src.lsn() != g.lost_to_lsn() || src.commit_lsn() != g.lost_to_lsn())
			problem = "source.lsn and source.commit_lsn are not gap.lost_to_lsn";
		else if (g.lost_from_lsn() > g.lost_to_lsn())
			problem = "gap.lost_from_lsn is after gap.lost_to_lsn";
		else if (g.resnapshot() != (g.snapshot_id() != 0))
			problem = g.resnapshot() ? "gap.resnapshot without a snapshot_id"
				: "gap.snapshot_id without gap.resnapshot";
		else if (g.partitions() == 0)
			problem = "gap.partitions is 0";
		else if (src.snapshot() || src.snapshot_kind() != 0 || src.snapshot_id() != 0)
			problem = "its source says snapshot";
		else if (src.xid() != 0 || env.has_transaction())
			problem = "it has a transaction";
		else if (env.has_before() || env.has_after() || env.has_key())
			problem = "it has a row";
	}
	else if (op == pb::OP_OUTBOX)
		info.outbox_event = true;
	else if (op == pb::OP_HEARTBEAT)
	{
		const pb::Source &src = env.source();
		std::string &problem = info.heartbeat_problem;

		info.heartbeat_event = true;
		if (src.database().empty())
			problem = "its source names no database";
		else if (!src.schema().empty() || !src.table().empty())
			problem = "its source names a table";
		else if (src.lsn() == 0 || src.commit_lsn() != src.lsn())
			problem = "source.lsn is 0 or differs from source.commit_lsn";
		else if (src.commit_time_us() == 0)
			problem = "source.commit_time_us is 0";
		else if (src.xid() != 0 || env.has_transaction() || src.snapshot())
			problem = "it has a transaction or says snapshot";
		else if (env.has_before() || env.has_after() || env.has_key())
			problem = "it has a row";
	}
	else if (op == pb::OP_SCHEMA)
	{
		const pb::Source &src = env.source();
		const pb::SchemaChange &sc = env.schema_change();
		std::string &problem = info.schema_problem;

		info.schema_event = true;
		info.sc_version = sc.version();
		info.sc_resent = sc.resent();
		info.sc_renamed_schema = sc.renamed_from_schema();
		info.sc_renamed_table = sc.renamed_from_table();
		for (const auto &c : sc.columns())
			info.sc_columns.push_back(c.name());

		if (!env.has_schema_change())
			problem = "it has no schema_change section";
		else if (info.schema.empty() || info.table.empty())
			problem = "its source names no table";
		else if (sc.version() == 0)
			problem = "schema_change.version is 0";
		else if (src.schema_version() != sc.version())
			problem = "source.schema_version " + std::to_string(src.schema_version()) +
				" is not schema_change.version " + std::to_string(sc.version());
		else if (env.has_transaction())
			problem = "it has a transaction block";
		else if (env.has_before() || env.has_after() || env.has_key())
			problem = "it has a row or a key";
		else if (src.snapshot() || src.snapshot_kind() != 0 || src.snapshot_id() != 0)
			problem = "its source says snapshot";
	}
	return info;
}

/* Up to 10 example lines per failure kind. */
struct Examples
{
	std::map<std::string, std::vector<std::string>> by_kind;

	void		add(const std::string &kind, const std::string &text)
	{
		auto	   &v = by_kind[kind];

		if (v.size() < 10)
			v.push_back(text);
	}
};

/* Where a consumed message came from, for example lines. */
std::string
where(const Msg &m)
{
	return m.topic + " [" + std::to_string(m.partition) + "] @" + std::to_string(m.offset) +
		" (line " + std::to_string(m.lineno) + ")";
}

/* An envelope's identity and table, for example lines. */
std::string
env_text(const EnvInfo &e)
{
	std::string t = identity_text(e.id);

	if (e.snapshot_event)
		t += " commit_lsn=" + lsn_text(e.commit_lsn) + " snapshot_id=" +
			std::to_string(e.snapshot_id);
	if (e.gap_event)
		t += " gap_id=" + std::to_string(e.gap_id);
	if (e.schema_event)
		t += " version=" + std::to_string(e.sc_version) + (e.sc_resent ? " resent" : "");

	if (!e.schema.empty() || !e.table.empty())
		t += " table=" + e.schema + "." + e.table;
	return t;
}

/* ---------------------------------------------------------------------
 * Input files
 * --------------------------------------------------------------------- */


/* Parses a decimal integer field. */
template <class Int>
bool
parse_int_field(std::string_view s, Int &out)
{
	if (s.empty() || s.size() > 20)
		return false;
	std::string t(s);
	char	   *end;

	errno = 0;
	long long	v = std::strtoll(t.c_str(), &end, 10);

	if (errno != 0 || *end != '\0')
		return false;
	out = static_cast<Int>(v);
	return true;
}

/*
 * The consumed file, read incrementally: each call reads what was added
 * since the last one and keeps a trailing line without '\n' for later.
 */
class ConsumedFile
{
public:
	explicit	ConsumedFile(std::string path) : path_(std::move(path)) {}

	/* Appends new messages to out; false with err on I/O or format errors. */
	bool		read_more(std::vector<Msg> &out, bool &exists, std::string &err)
	{
		FILE	   *f = std::fopen(path_.c_str(), "rb");

		exists = f != nullptr;
		if (f == nullptr)
		{
			if (errno == ENOENT)
				return true;
			err = "cannot open " + path_ + ": " + std::strerror(errno);
			return false;
		}
		struct stat sb;

		if (fstat(fileno(f), &sb) == 0 && sb.st_size < pos_)
		{
			std::fclose(f);
			err = path_ + " shrank while being read (was the consumer restarted?)";
			return false;
		}
		if (fseeko(f, pos_, SEEK_SET) != 0)
		{
			std::fclose(f);
			err = "cannot seek in " + path_ + ": " + std::strerror(errno);
			return false;
		}
		char		buf[65536];
		size_t		n;

		while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
		{
			pos_ += static_cast<off_t>(n);
			partial_.append(buf, n);
		}
		bool		io_error = std::ferror(f);

		std::fclose(f);
		if (io_error)
		{
			err = "cannot read " + path_;
			return false;
		}

		size_t		start = 0;
		size_t		nl;

		while ((nl = partial_.find('\n', start)) != std::string::npos)
		{
			std::string_view line(partial_.data() + start, nl - start);

			start = nl + 1;
			lineno_++;
			if (!line.empty() && line.back() == '\r')
				line.remove_suffix(1);
			if (line.empty())
				continue;
			if (!parse_line(line, out, err))
			{
				err = path_ + ":" + std::to_string(lineno_) + ": " + err;
				return false;
			}
		}
		partial_.erase(0, start);
		return true;
	}

private:
	std::string path_;
	off_t		pos_ = 0;
	size_t		lineno_ = 0;
	std::string partial_;
	std::set<std::tuple<std::string, int32_t, int64_t>> seen_;

	bool		parse_line(std::string_view line, std::vector<Msg> &out, std::string &err)
	{
		auto		f = split_tabs(line);
		Msg			m;

		if (f.size() != 5)
		{
			err = "expected 5 tab-separated fields (topic, partition, offset, key, value), got " +
				std::to_string(f.size());
			return false;
		}
		if (!parse_int_field(f[1], m.partition) || !parse_int_field(f[2], m.offset))
		{
			err = "bad partition or offset";
			return false;
		}
		if (!decode_bytea_field(f[3], m.key_null, m.key, err) ||
			!decode_bytea_field(f[4], m.value_null, m.value, err))
			return false;
		m.topic = std::string(f[0]);
		m.lineno = lineno_;
		/* a consumer that re-read the topic wrote the same message again */
		if (!seen_.emplace(m.topic, m.partition, m.offset).second)
			return true;
		if (!m.value_null)
			m.env = parse_env(m.value);
		out.push_back(std::move(m));
		return true;
	}
};

/* The reference envelopes, by identity. */
struct Reference
{
	std::unordered_map<Identity, std::string, IdentityHash> by_id;
	std::vector<Identity> order;	/* file order */
};

/* Reads the reference file; false with err on I/O or format errors. */
bool
read_reference(const std::string &path, Reference &ref, std::string &err)
{
	FILE	   *f = std::fopen(path.c_str(), "rb");

	if (f == nullptr)
	{
		err = "cannot open " + path + ": " + std::strerror(errno);
		return false;
	}
	char	   *buf = nullptr;
	size_t		cap = 0;
	ssize_t		n;
	size_t		lineno = 0;
	bool		ok = true;

	while (ok && (n = getline(&buf, &cap, f)) >= 0)
	{
		std::string_view line(buf, static_cast<size_t>(n));
		bool		is_null;
		std::string bytes;

		lineno++;
		while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
			line.remove_suffix(1);
		if (line.empty())
			continue;
		if (!decode_bytea_field(line, is_null, bytes, err) || is_null)
		{
			err = path + ":" + std::to_string(lineno) + ": " + (is_null ? "NULL envelope" : err);
			ok = false;
			break;
		}
		EnvInfo		e = parse_env(bytes);

		if (!e.ok)
		{
			err = path + ":" + std::to_string(lineno) + ": " + e.error;
			ok = false;
			break;
		}
		/* schema events are checked on their own, like markers and gaps */
		if (e.schema_event || e.outbox_event)
			continue;
		auto		ins = ref.by_id.emplace(e.id, bytes);

		if (ins.second)
			ref.order.push_back(e.id);
		else if (ins.first->second != bytes)
		{
			err = path + ":" + std::to_string(lineno) + ": two different envelopes share " +
				identity_text(e.id);
			ok = false;
		}
	}
	if (ok && std::ferror(f))
	{
		err = "cannot read " + path;
		ok = false;
	}
	std::free(buf);
	std::fclose(f);
	return ok;
}

/* ---------------------------------------------------------------------
 * Final state
 * --------------------------------------------------------------------- */

/*
 * A key in comparable form: each key column's name and its value
 * re-serialized, so a key from `key` and the same columns picked out of
 * `before` compare equal.
 */
std::string
canonical_columns(const pb::Row &row, const std::vector<std::string> *only, bool &complete)
{
	std::string out;

	complete = true;
	auto		add = [&out](const pb::Column &c) {
		std::string v = c.has_value() ? c.value().SerializeAsString() : std::string();

		out += std::to_string(c.name().size()) + ":" + c.name() +
			(c.has_value() ? "=" : "~") + std::to_string(v.size()) + ":" + v;
	};

	if (only == nullptr)
	{
		for (const auto &c : row.columns())
			add(c);
		return out;
	}
	for (const auto &name : *only)
	{
		const pb::Column *found = nullptr;

		for (const auto &c : row.columns())
			if (c.name() == name)
				found = &c;
		if (found == nullptr || found->unchanged_toast())
		{
			complete = false;
			return out;
		}
		add(*found);
	}
	return out;
}

struct KeyState
{
	Position	pos;
	bool		deleted = false;
	const std::string *envelope = nullptr;
	int32_t		partition = 0;	/* where the key's messages are */
	int64_t		last_offset = -1;	/* its newest message there: fresh since then */
};

/*
 * One event of a table, for the rebuild of a keyless table as a multiset:
 * its row events, truncates, gaps and snapshot markers.
 */
struct KeylessEvent
{
	Position	pos;
	int			rank;			/* at one position: gap 0, snapshot_begin 1, rows 2, snapshot_end 3 */
	int			op;
	uint64_t	id;				/* gap: its id; markers: the snapshot id */
	bool		has_before;
	std::string before;			/* Row bytes */
	bool		has_after;
	std::string after;			/* Row bytes */
	const std::string *envelope;
	size_t		lineno;
};

/*
 * What the consumer rule after a gap needs from one partition of a table's
 * topic: the offset of each gap's first copy, and of each snapshot's first
 * begin and first end (-1: none).
 */
struct PartitionMarks
{
	std::map<uint64_t, int64_t> gaps;
	std::map<uint64_t, std::pair<int64_t, int64_t>> snapshots;

	/* the latest first begin of a snapshot that also ended; -1: none */
	int64_t		latest_ended_begin() const
	{
		int64_t		latest = -1;

		for (const auto &kv : snapshots)
			if (kv.second.first >= 0 && kv.second.second > kv.second.first)
				latest = std::max(latest, kv.second.first);
		return latest;
	}

	/* the first copy of the first gap after offset o; -1: none */
	int64_t		gap_after(int64_t o) const
	{
		int64_t		first = -1;

		for (const auto &kv : gaps)
			if (kv.second > o && (first < 0 || kv.second < first))
				first = kv.second;
		return first;
	}
};

/* Keeps the smaller of two offsets, -1 being none. */
void
keep_first_offset(int64_t &at, int64_t offset)
{
	if (at < 0 || offset < at)
		at = offset;
}

/*
 * Writes the final state; false with err on I/O errors. Warnings (a keyless
 * delete or update whose old row is not in the rebuilt table) go to
 * `warnings`: the file is still written, and the comparison with the
 * table shows the difference.
 *
 * After a gap, the consumer rule (README, "Gaps: what a consumer does"):
 * the gap marks the table's rows of its partition stale; any later event
 * of a key makes it fresh; at the snapshot_end of a snapshot whose first
 * begin on that partition came after the gap, the rows still stale are
 * dropped. A row already stale stays stale since its first gap. A keyed
 * row is therefore dropped when, on its partition, a gap follows its
 * newest message and a snapshot that ended began after that gap. A
 * keyless table replays the same rule in position order, gaps and
 * markers once per id (the copies of other partitions are the same).
 */
bool
write_final_state(const std::string &path, const std::vector<Msg> &msgs, Examples &warnings,
				  std::string &err)
{
	using Table = std::pair<std::string, std::string>;
	std::map<Table, std::map<std::string, KeyState>> keys;
	std::map<Table, Position> truncated;
	std::set<Table> keyed;
	std::map<Table, std::vector<KeylessEvent>> keyless;
	std::map<Table, std::unordered_set<Identity, IdentityHash>> keyless_seen;
	std::map<std::pair<Table, int32_t>, PartitionMarks> marks;

	auto		update = [&keys](const Table &t, const std::string &k, Position pos,
								 bool deleted, const std::string *env) -> KeyState & {
		auto		ins = keys[t].emplace(k, KeyState());
		KeyState   &ks = ins.first->second;

		if (ins.second || pos > ks.pos)
		{
			ks.pos = pos;
			ks.deleted = deleted;
			ks.envelope = env;
		}
		return ks;
	};

	for (const Msg &m : msgs)
	{
		if (m.value_null || !m.env.ok)
			continue;

		pb::Envelope env;

		if (!env.ParseFromString(m.value))
			continue;
		Table		t(env.source().schema(), env.source().table());
		Position	pos = m.env.pos;
		int			op = env.op();

		/* gaps and markers: where they are, for both kinds of tables */
		if (op == pb::OP_GAP || is_marker(op))
		{
			if (op == pb::OP_GAP ? !m.env.gap_problem.empty() : !m.env.snapshot_problem.empty())
				continue;

			PartitionMarks &pm = marks[std::make_pair(t, m.partition)];
			uint64_t	id = op == pb::OP_GAP ? m.env.gap_id : m.env.snapshot_id;

			if (op == pb::OP_GAP)
				keep_first_offset(pm.gaps.emplace(id, -1).first->second, m.offset);
			else
			{
				auto	   &se = pm.snapshots.emplace(id, std::make_pair(int64_t{-1}, int64_t{-1})).first->second;

				keep_first_offset(op == pb::OP_SNAPSHOT_BEGIN ? se.first : se.second, m.offset);
			}
			keyless[t].push_back({Position(m.env.commit_pos, 0),
				op == pb::OP_GAP ? 0 : op == pb::OP_SNAPSHOT_BEGIN ? 1 : 3,
				op, id, false, {}, false, {}, &m.value, m.lineno});
			continue;
		}

		/*
		 * Keyless tables replay their distinct events, so a re-sent change
		 * must be seen once; a keyless r event has no identity but its
		 * message (identical rows are legitimate).
		 */
		auto		keyless_first = [&]() {
			return op == pb::OP_READ || keyless_seen[t].insert(m.env.id).second;
		};

		if (op == pb::OP_TRUNCATE)
		{
			auto		ins = truncated.emplace(t, pos);

			if (!ins.second && pos > ins.first->second)
				ins.first->second = pos;
			if (keyless_first())
				keyless[t].push_back({pos, 2, op, 0, false, {}, false, {}, &m.value, m.lineno});
			continue;
		}
		if (op != pb::OP_CREATE && op != pb::OP_UPDATE && op != pb::OP_DELETE &&
			op != pb::OP_READ)
			continue;
		if (!env.has_key() || env.key().columns_size() == 0)
		{
			if (keyless_first())
			{
				KeylessEvent ke{pos, 2, op, 0, false, {}, false, {}, &m.value, m.lineno};
				bool		ok = raw_field(m.value, 2, ke.has_before, ke.before) &&
					raw_field(m.value, 3, ke.has_after, ke.after);

				if (ok)
					keyless[t].push_back(std::move(ke));
			}
			continue;
		}
		keyed.insert(t);

		bool		complete;
		std::string key = canonical_columns(env.key(), nullptr, complete);

		/* an r event is a row state like c and u, at its position */
		KeyState   &ks = update(t, key, pos, op == pb::OP_DELETE,
								op == pb::OP_DELETE ? nullptr : &m.value);

		ks.partition = m.partition;
		ks.last_offset = std::max(ks.last_offset, m.offset);

		/* an update that changed the key removes the row under the old key */
		if (op == pb::OP_UPDATE && env.has_before())
		{
			std::vector<std::string> names;

			for (const auto &c : env.key().columns())
				names.push_back(c.name());
			std::string old_key = canonical_columns(env.before(), &names, complete);

			if (complete && old_key != key)
				update(t, old_key, pos, true, nullptr);
		}
	}

	struct Row
	{
		Table		table;
		Position	pos;
		const std::string *envelope;
	};
	std::vector<Row> rows;

	for (const auto &tk : keys)
	{
		auto		tr = truncated.find(tk.first);

		for (const auto &kv : tk.second)
		{
			const KeyState &ks = kv.second;

			if (ks.deleted)
				continue;
			if (tr != truncated.end() && ks.pos < tr->second)
				continue;

			/* stale since a gap, and a snapshot that began after that gap ended */
			auto		mk = marks.find(std::make_pair(tk.first, ks.partition));

			if (mk != marks.end())
			{
				int64_t		gap = mk->second.gap_after(ks.last_offset);

				if (gap >= 0 && mk->second.latest_ended_begin() > gap)
					continue;
			}
			rows.push_back({tk.first, ks.pos, ks.envelope});
		}
	}

	/*
	 * A keyless table is a multiset of row images: replay its events in
	 * position order, matching old rows by their Row bytes (so updates and
	 * deletes need REPLICA IDENTITY FULL). A table that has keyed events
	 * was rebuilt per key above; its keyless events (from before it got a
	 * key) are left out.
	 */
	for (auto &tk : keyless)
	{
		if (keyed.count(tk.first))
			continue;
		std::vector<KeylessEvent> &evs = tk.second;

		/* a row, and the step of the gap that made it stale (0: fresh) */
		struct LiveRow
		{
			const KeylessEvent *ev;
			uint64_t	stale_since;
		};
		std::unordered_map<std::string, std::vector<LiveRow>> live;
		std::set<uint64_t> gaps_seen;
		std::set<uint64_t> ends_seen;
		std::map<uint64_t, uint64_t> begun;	/* snapshot id -> step of its first begin */
		uint64_t	step = 0;
		std::string name = tk.first.first + "." + tk.first.second;

		std::stable_sort(evs.begin(), evs.end(), [](const KeylessEvent &a, const KeylessEvent &b) {
			return std::tie(a.pos, a.rank) < std::tie(b.pos, b.rank);
		});
		for (const KeylessEvent &ke : evs)
		{
			step++;
			if (ke.op == pb::OP_GAP)
			{
				if (gaps_seen.insert(ke.id).second)
					for (auto &kv : live)
						for (LiveRow &r : kv.second)
							if (r.stale_since == 0)
								r.stale_since = step;
				continue;
			}
			if (ke.op == pb::OP_SNAPSHOT_BEGIN)
			{
				begun.emplace(ke.id, step);
				continue;
			}
			if (ke.op == pb::OP_SNAPSHOT_END)
			{
				auto		b = begun.find(ke.id);

				if (!ends_seen.insert(ke.id).second || b == begun.end())
					continue;
				for (auto &kv : live)
					kv.second.erase(std::remove_if(kv.second.begin(), kv.second.end(),
												   [&](const LiveRow &r) {
													   return r.stale_since != 0 &&
														   r.stale_since < b->second;
												   }),
									kv.second.end());
				continue;
			}
			if (ke.op == pb::OP_TRUNCATE)
			{
				live.clear();
				continue;
			}
			if (ke.op == pb::OP_UPDATE || ke.op == pb::OP_DELETE)
			{
				auto		it = ke.has_before ? live.find(ke.before) : live.end();

				if (it == live.end() || it->second.empty())
					warnings.add("final_state", name + ": " + op_name(ke.op) + " at line " +
								 std::to_string(ke.lineno) +
								 (ke.has_before ? " removes a row that is not in the rebuilt table"
								  : " has no before row (REPLICA IDENTITY FULL needed)"));
				else
					it->second.pop_back();	/* the newest copy: a fresh one before a stale one */
			}
			if (ke.op != pb::OP_DELETE && ke.has_after)
				live[ke.after].push_back({&ke, 0});
		}
		for (const auto &kv : live)
			for (const LiveRow &r : kv.second)
				rows.push_back({tk.first, r.ev->pos, r.ev->envelope});
	}
	std::sort(rows.begin(), rows.end(), [](const Row &a, const Row &b) {
		return std::tie(a.table, a.pos, *a.envelope) < std::tie(b.table, b.pos, *b.envelope);
	});

	FILE	   *f = std::fopen(path.c_str(), "w");

	if (f == nullptr)
	{
		err = "cannot write " + path + ": " + std::strerror(errno);
		return false;
	}
	std::string line;

	for (const Row &r : rows)
	{
		/* COPY text format: "\\x" reaches bytea input as "\x" */
		line.assign("\\\\x");
		append_hex(line, *r.envelope);
		line.push_back('\n');
		std::fwrite(line.data(), 1, line.size(), f);
	}
	if (std::fflush(f) != 0 || std::ferror(f))
	{
		std::fclose(f);
		err = "cannot write " + path + ": " + std::strerror(errno);
		return false;
	}
	if (std::fclose(f) != 0)
	{
		err = "cannot write " + path + ": " + std::strerror(errno);
		return false;
	}
	return true;
}

}							/* namespace */

/* The verify subcommand: see kVerifyUsage. */
int
run_verify(int argc, char **argv)
{
	std::string consumed_path;
	std::string reference_path;
	std::string prefix;
	std::string final_state_path;
	std::string message_topic;
	long long	max_duplicates = 0;
	double		wait_seconds = 0;
	bool		snapshots_complete = false;

	for (int i = 2; i < argc; i++)
	{
		std::string opt = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : nullptr;
		bool		ok = val != nullptr;
		char	   *end = nullptr;

		if (opt == "--help" || opt == "-h")
		{
			std::fputs(kVerifyUsage, stdout);
			return 0;
		}
		if (opt == "--snapshots-complete")
		{
			snapshots_complete = true;
			continue;
		}
		if (!ok)
			;
		else if (opt == "--consumed")
			consumed_path = val;
		else if (opt == "--reference")
			reference_path = val;
		else if (opt == "--topic-prefix")
			prefix = val;
		else if (opt == "--final-state")
			final_state_path = val;
		else if (opt == "--message-topic")
			message_topic = val;
		else if (opt == "--max-duplicates")
		{
			max_duplicates = std::strtoll(val, &end, 10);
			ok = *val != '\0' && *end == '\0' && max_duplicates >= 0;
		}
		else if (opt == "--wait")
		{
			wait_seconds = std::strtod(val, &end);
			ok = *val != '\0' && *end == '\0' && wait_seconds >= 0;
		}
		else
			ok = false;
		if (!ok)
		{
			std::fprintf(stderr, "cdc_kafka_consume verify: bad option or value: %s%s%s\n",
						 opt.c_str(), val ? " " : "", val ? val : "");
			std::fputs(kVerifyUsage, stderr);
			return 2;
		}
		i++;
	}
	if (consumed_path.empty() || prefix.empty())
	{
		std::fputs("cdc_kafka_consume verify: --consumed and --topic-prefix are required\n", stderr);
		std::fputs(kVerifyUsage, stderr);
		return 2;
	}

	std::string err;
	Reference	ref;
	const bool	have_reference = !reference_path.empty();

	if (have_reference && !read_reference(reference_path, ref, err))
	{
		std::fprintf(stderr, "cdc_kafka_consume verify: %s\n", err.c_str());
		return 2;
	}

	/*
	 * Read, and while anything is missing and time is left, read again.
	 * With --snapshots-complete, a snapshot that has not yet ended on every
	 * partition counts as missing too (its end markers are still coming), and
	 * so does one that a gap announced and that has not begun.
	 */
	ConsumedFile consumed(consumed_path);
	std::vector<Msg> msgs;
	std::unordered_set<Identity, IdentityHash> matched;
	struct Ending
	{
		uint32_t	partitions = 0;	/* of the first begin read */
		std::set<int32_t> ended;
	};
	std::map<std::pair<std::string, uint64_t>, Ending> endings;
	size_t		scanned = 0;
	int64_t		deadline = now_ms() + static_cast<int64_t>(wait_seconds * 1000);
	bool		exists = false;

	install_stop_handler();
	for (;;)
	{
		if (!consumed.read_more(msgs, exists, err))
		{
			std::fprintf(stderr, "cdc_kafka_consume verify: %s\n", err.c_str());
			return 2;
		}
		for (; scanned < msgs.size(); scanned++)
		{
			const Msg  &m = msgs[scanned];

			if (m.env.ok && !m.env.snapshot_event && ref.by_id.count(m.env.id))
				matched.insert(m.env.id);
			if (snapshots_complete && m.env.ok && m.env.snapshot_event &&
				m.env.snapshot_problem.empty())
			{
				Ending	   &en = endings[std::make_pair(m.topic, m.env.snapshot_id)];

				if (m.env.id.op == pb::OP_SNAPSHOT_BEGIN && en.partitions == 0)
					en.partitions = m.env.marker_partitions;
				else if (m.env.id.op == pb::OP_SNAPSHOT_END)
					en.ended.insert(m.partition);
			}
			if (snapshots_complete && m.env.ok && m.env.gap_event && m.env.gap_problem.empty() &&
				m.env.gap_resnapshot)
				endings[std::make_pair(m.topic, m.env.gap_snapshot_id)];	/* not begun: 0 partitions */
		}
		bool		running = false;

		for (const auto &kv : endings)
		{
			const Ending &en = kv.second;
			uint32_t	ended = 0;

			for (int32_t p : en.ended)
				if (p >= 0 && static_cast<uint32_t>(p) < en.partitions)
					ended++;
			if (en.partitions == 0 || ended < en.partitions)
				running = true;
		}
		if ((matched.size() == ref.by_id.size() && !running) || now_ms() >= deadline || g_stop)
			break;
		std::this_thread::sleep_for(std::chrono::milliseconds(200));
	}
	if (!exists)
	{
		std::fprintf(stderr, "cdc_kafka_consume verify: cannot open %s: no such file\n",
					 consumed_path.c_str());
		return 2;
	}

	/* analysis, in (topic, partition, offset) order */
	std::vector<const Msg *> sorted;

	sorted.reserve(msgs.size());
	for (const Msg &m : msgs)
		sorted.push_back(&m);
	std::stable_sort(sorted.begin(), sorted.end(), [](const Msg *a, const Msg *b) {
		return std::tie(a->topic, a->partition, a->offset) <
			std::tie(b->topic, b->partition, b->offset);
	});

	Examples	ex;
	long long	duplicates = 0,
				tombstones = 0,
				mismatched = 0,
				phantom = 0,
				misrouted = 0,
				out_of_order = 0,
				snapshot_rows = 0,
				markers = 0,
				bad_markers = 0,
				gaps = 0,
				bad_gaps = 0,
				schemas = 0,
				bad_schemas = 0,
				heartbeats = 0,
				bad_heartbeats = 0;
	std::unordered_set<Identity, IdentityHash> seen;
	std::set<SnapshotRowId> seen_rows;
	std::set<std::tuple<std::string, uint64_t, int32_t>> seen_gaps;	/* topic, gap id, partition */
	const std::string topic_prefix = prefix + ".";

	/*
	 * Per (topic, snapshot_id): what the markers and rows of one snapshot
	 * showed, per partition. Messages are analysed in offset order, so a
	 * row is between its partition's markers iff, when it is reached, the
	 * first begin was and the first end was not.
	 */
	struct SnapshotPartition
	{
		bool		begun = false;
		int64_t		begin_offset = 0;
		int64_t		last_begin_offset = 0;	/* a resumed snapshot begins again */
		bool		ended = false;
		int64_t		end_offset = 0;
	};
	struct Snapshot
	{
		const Msg  *first_begin = nullptr;	/* its partitions field counts */
		bool		any_end = false;
		int			kind = 0;
		std::map<int32_t, SnapshotPartition> parts;
	};
	std::map<std::pair<std::string, uint64_t>, Snapshot> snapshots;

	/*
	 * Per (topic, gap id): the first copy (its partitions field counts) and
	 * the offset of the first copy on each partition. Per (topic, partition):
	 * the newest event so far, and the lost_to_lsn of the newest gap so far,
	 * which every later event must be at or after.
	 */
	struct GapCopies
	{
		const Msg  *first = nullptr;
		std::map<int32_t, int64_t> offsets;
	};
	std::map<std::pair<std::string, uint64_t>, GapCopies> gap_copies;
	struct PartitionGaps
	{
		bool		any = false;
		uint64_t	newest = 0;
		const Msg  *newest_msg = nullptr;
		const Msg  *last_gap = nullptr;
	};
	std::map<std::pair<std::string, int32_t>, PartitionGaps> partition_gaps;

	/*
	 * Per (topic, partition, schema, table): the versions its schema events
	 * announced so far there (the first copy of each, and its column names),
	 * and the highest of them.
	 */
	struct SchemaVersion
	{
		const Msg  *msg = nullptr;
		std::unordered_set<std::string> columns;
	};
	struct TableSchemas
	{
		std::map<uint64_t, SchemaVersion> versions;
		const Msg  *highest = nullptr;
	};
	std::map<std::tuple<std::string, int32_t, std::string, std::string>, TableSchemas> schemas_seen;

	/* per (topic, partition, Kafka key): op of the last non-tombstone */
	std::map<std::tuple<std::string, int32_t, std::string>, int> last_op;

	/* per (topic, Kafka key): partitions used, highest position so far */
	struct KeyOrder
	{
		std::set<int32_t> partitions;
		bool		any = false;
		Position	last;
	};
	std::map<std::pair<std::string, std::string>, KeyOrder> key_order;

	for (const Msg *mp : sorted)
	{
		const Msg  &m = *mp;

		if (m.value_null)
		{
			tombstones++;
			if (m.key_null)
			{
				out_of_order++;
				ex.add("out_of_order", "tombstone without a key at " + where(m));
				continue;
			}
			auto		it = last_op.find(std::make_tuple(m.topic, m.partition, m.key));

			if (it == last_op.end() || it->second != pb::OP_DELETE)
			{
				out_of_order++;
				ex.add("out_of_order", "tombstone at " + where(m) + " does not follow a delete of its key in its partition" +
					   (it == last_op.end() ? std::string(" (no earlier message with this key)")
						: std::string(" (last was op=") + op_name(it->second) + ")"));
			}
			continue;
		}
		if (!m.env.ok)
		{
			phantom++;
			ex.add("phantom", "value at " + where(m) + " is " + m.env.error);
			continue;
		}

		const EnvInfo &e = m.env;

		/*
		 * A heartbeat: to <prefix>.__heartbeat only, keyed by its database
		 * (several databases may share the topic); no part of any stream.
		 */
		if (e.heartbeat_event)
		{
			std::string why = e.heartbeat_problem;

			if (why.empty() && m.topic != topic_prefix + "__heartbeat")
				why = "topic should be " + topic_prefix + "__heartbeat";
			if (why.empty() && (m.key_null || m.key != e.database))
				why = "Kafka key should be the database name";
			heartbeats++;
			if (!why.empty())
			{
				bad_heartbeats++;
				ex.add("bad_heartbeats", env_text(e) + " at " + where(m) + ": " + why);
			}
			continue;
		}

		/* routing */
		std::string problem;

		if (!e.schema.empty() || !e.table.empty())
		{
			std::string expected = cdc_core::topic_name(prefix, e.schema, e.table);

			/* after a rename, a schema event goes to the former name's topic too */
			if (m.topic != expected && e.schema_event &&
				(!e.sc_renamed_schema.empty() || !e.sc_renamed_table.empty()) &&
				m.topic == cdc_core::topic_name(prefix, e.sc_renamed_schema, e.sc_renamed_table))
				;
			else if (m.topic != expected)
				problem = "topic should be " + expected;
		}
		else if (!message_topic.empty() ? m.topic != message_topic
				 : m.topic.compare(0, topic_prefix.size(), topic_prefix) != 0)
			problem = "topic should be " + (message_topic.empty() ? topic_prefix + "*" : message_topic);

		/* gaps and their partition's order go by the topic alone, whatever the key */
		bool		table_topic_ok = problem.empty() && !e.table.empty();
		bool		snapshot_topic_ok = problem.empty();

		if (e.has_key && !e.key.empty())
		{
			if (m.key_null)
				problem += std::string(problem.empty() ? "" : "; ") + "Kafka key is NULL but the envelope has a key";
			else if (m.key != e.key)
				problem += std::string(problem.empty() ? "" : "; ") + "Kafka key differs from the envelope's key bytes";
		}
		else if (!m.key_null && !(e.has_key && m.key.empty()) && !(e.schema_event && m.key.empty()))
			problem += std::string(problem.empty() ? "" : "; ") + "Kafka key should be NULL (the envelope has no key)";
		if (!problem.empty())
		{
			misrouted++;
			ex.add("misrouted", env_text(e) + " at " + where(m) + ": " + problem);
		}

		/* a schema event: not in the reference, no key, no duplicates */
		if (e.schema_event)
		{
			if (!e.schema_problem.empty())
			{
				bad_schemas++;
				ex.add("bad_schemas", env_text(e) + " at " + where(m) +
					   " is not a valid schema event: " + e.schema_problem);
				continue;
			}
			schemas++;

			/* a change (not a restatement) is on its partition's order of positions */
			if (table_topic_ok && !e.sc_resent)
			{
				PartitionGaps &pg = partition_gaps[std::make_pair(m.topic, m.partition)];

				if (pg.last_gap != nullptr && e.commit_pos < pg.last_gap->env.gap_lost_to)
				{
					bad_gaps++;
					ex.add("bad_gaps", env_text(e) + " at " + where(m) + " comes after " +
						   env_text(pg.last_gap->env) + " at " + where(*pg.last_gap) +
						   " but is older than its lost_to_lsn " +
						   lsn_text(pg.last_gap->env.gap_lost_to));
				}
				if (!pg.any || e.commit_pos > pg.newest)
				{
					pg.newest = e.commit_pos;
					pg.newest_msg = &m;
				}
				pg.any = true;
			}

			TableSchemas &ts = schemas_seen[std::make_tuple(m.topic, m.partition, e.schema, e.table)];

			if (!e.sc_resent && ts.highest != nullptr && e.sc_version < ts.highest->env.sc_version)
			{
				bad_schemas++;
				ex.add("bad_schemas", env_text(e) + " at " + where(m) + " comes after version " +
					   std::to_string(ts.highest->env.sc_version) + " of its table at " +
					   where(*ts.highest) + " (a change, not resent, must not go back)");
			}
			auto		ins = ts.versions.emplace(e.sc_version, SchemaVersion());

			if (ins.second)
			{
				ins.first->second.msg = &m;
				ins.first->second.columns.insert(e.sc_columns.begin(), e.sc_columns.end());
			}
			if (ts.highest == nullptr || e.sc_version > ts.highest->env.sc_version)
				ts.highest = &m;
			continue;
		}

		/* a row event of a known shape: after that shape's schema event, with its columns */
		if (e.schema_version != 0 && is_row_op(e.id.op) &&
			!(e.snapshot_event && !e.snapshot_problem.empty()))
		{
			auto		ts = schemas_seen.find(std::make_tuple(m.topic, m.partition, e.schema, e.table));
			const SchemaVersion *sv = nullptr;

			if (ts != schemas_seen.end())
			{
				auto		v = ts->second.versions.find(e.schema_version);

				if (v != ts->second.versions.end())
					sv = &v->second;
			}
			if (sv == nullptr)
			{
				bad_schemas++;
				ex.add("bad_schemas", env_text(e) + " at " + where(m) + " has schema_version " +
					   std::to_string(e.schema_version) +
					   " but no schema event of its table with that version precedes it in its partition");
			}
			else
				for (const std::string &name : e.row_columns)
					if (!sv->columns.count(name))
					{
						bad_schemas++;
						ex.add("bad_schemas", env_text(e) + " at " + where(m) + " has a column \"" +
							   name + "\" that version " + std::to_string(e.schema_version) +
							   " of its table (schema event at " + where(*sv->msg) +
							   ") does not have");
						break;
					}
		}

		/* a gap: one copy per partition, between the old slot's events and the new one's */
		if (e.gap_event)
		{
			if (!e.gap_problem.empty())
			{
				phantom++;
				ex.add("phantom", env_text(e) + " at " + where(m) + " is not a valid gap: " +
					   e.gap_problem);
				continue;
			}
			if (!seen_gaps.emplace(m.topic, e.gap_id, m.partition).second)
			{
				duplicates++;
				ex.add("duplicates", env_text(e) + " again at " + where(m));
				continue;
			}
			gaps++;
			if (!table_topic_ok)
				continue;

			GapCopies  &gc = gap_copies[std::make_pair(m.topic, e.gap_id)];
			PartitionGaps &pg = partition_gaps[std::make_pair(m.topic, m.partition)];

			if (gc.first == nullptr)
				gc.first = &m;
			else
			{
				const EnvInfo &f = gc.first->env;

				if (f.gap_lost_from != e.gap_lost_from || f.gap_lost_to != e.gap_lost_to ||
					f.gap_resnapshot != e.gap_resnapshot || f.gap_snapshot_id != e.gap_snapshot_id ||
					f.gap_partitions != e.gap_partitions)
				{
					bad_gaps++;
					ex.add("bad_gaps", env_text(e) + " at " + where(m) +
						   " differs from its copy at " + where(*gc.first) +
						   " (lost_from_lsn, lost_to_lsn, resnapshot, snapshot_id or partitions)");
				}
			}
			gc.offsets.emplace(m.partition, m.offset);
			if (e.gap_partition != static_cast<uint32_t>(m.partition))
			{
				bad_gaps++;
				ex.add("bad_gaps", env_text(e) + " at " + where(m) + " says partition " +
					   std::to_string(e.gap_partition));
			}
			if (pg.any && pg.newest >= e.gap_lost_to)
			{
				bad_gaps++;
				ex.add("bad_gaps", env_text(e) + " at " + where(m) + " comes after " +
					   env_text(pg.newest_msg->env) + " at " + where(*pg.newest_msg) +
					   ", which the new slot published (at or after lost_to_lsn " +
					   lsn_text(e.gap_lost_to) + ")");
			}
			if (pg.last_gap == nullptr || e.gap_lost_to > pg.last_gap->env.gap_lost_to)
				pg.last_gap = &m;
			continue;
		}

		/* on its partition, an event must not be older than a gap before it */
		if (table_topic_ok && !(e.snapshot_event && !e.snapshot_problem.empty()))
		{
			PartitionGaps &pg = partition_gaps[std::make_pair(m.topic, m.partition)];

			if (pg.last_gap != nullptr && e.commit_pos < pg.last_gap->env.gap_lost_to)
			{
				bad_gaps++;
				ex.add("bad_gaps", env_text(e) + " at " + where(m) + " comes after " +
					   env_text(pg.last_gap->env) + " at " + where(*pg.last_gap) +
					   " but is older than its lost_to_lsn " + lsn_text(pg.last_gap->env.gap_lost_to));
			}
			if (!pg.any || e.commit_pos > pg.newest)
			{
				pg.newest = e.commit_pos;
				pg.newest_msg = &m;
			}
			pg.any = true;
		}

		/* identity */
		bool		first = true;

		if (e.snapshot_event)
		{
			if (!e.snapshot_problem.empty())
			{
				phantom++;
				ex.add("phantom", env_text(e) + " at " + where(m) +
					   " is not a valid snapshot event: " + e.snapshot_problem);
				continue;
			}

			bool		marker = is_marker(e.id.op);

			/*
			 * An r event: a keyed one is the same row when the same snapshot
			 * read it at the same position (a chunk read again after a crash
			 * comes at a later one); in a keyless table identical rows are
			 * legitimate, so each message is its own.
			 */
			if (marker)
				markers++;
			else if (e.has_key && !e.key.empty())
				first = seen_rows.emplace(m.topic, e.snapshot_id, e.commit_lsn, e.key).second;
			if (!marker && !first)
			{
				duplicates++;
				ex.add("duplicates", env_text(e) + " again at " + where(m));
			}
			else if (!marker)
				snapshot_rows++;

			/*
			 * The snapshot's structure. A snapshot event on another table's
			 * topic is misrouted already; it would only confuse that topic's
			 * snapshots, so it is left out of them.
			 */
			if (snapshot_topic_ok)
			{
				Snapshot   &snap = snapshots[std::make_pair(m.topic, e.snapshot_id)];
				SnapshotPartition &part = snap.parts[m.partition];

				if (snap.kind == 0)
					snap.kind = e.snapshot_kind;
				else if (e.snapshot_kind != snap.kind)
				{
					bad_markers++;
					ex.add("bad_markers", env_text(e) + " at " + where(m) + ": snapshot_kind " +
						   std::to_string(e.snapshot_kind) + ", other events of the snapshot have " +
						   std::to_string(snap.kind));
				}
				if (marker && e.marker_partition != static_cast<uint32_t>(m.partition))
				{
					bad_markers++;
					ex.add("bad_markers", env_text(e) + " at " + where(m) + " says partition " +
						   std::to_string(e.marker_partition));
				}
				if (e.id.op == pb::OP_SNAPSHOT_BEGIN)
				{
					if (snap.first_begin == nullptr)
						snap.first_begin = &m;
					if (!part.begun)
					{
						part.begun = true;
						part.begin_offset = m.offset;
					}
					part.last_begin_offset = m.offset;
				}
				else if (e.id.op == pb::OP_SNAPSHOT_END)
				{
					snap.any_end = true;
					if (!part.ended)
					{
						part.ended = true;
						part.end_offset = m.offset;
					}
				}
				else if (first && (!part.begun || part.ended))
				{
					bad_markers++;
					ex.add("bad_markers", env_text(e) + " at " + where(m) + " is " +
						   (part.begun ? "after the snapshot_end" : "not after a snapshot_begin") +
						   " of its snapshot in its partition");
				}
			}
			if (marker)
				continue;		/* no key, no order of their own */
		}
		else
		{
			first = seen.insert(e.id).second;
			if (!first)
			{
				duplicates++;
				ex.add("duplicates", env_text(e) + " again at " + where(m));
			}
			auto		r = ref.by_id.find(e.id);

			if (!have_reference)
				;				/* nothing to compare with */
			else if (r == ref.by_id.end())
			{
				phantom++;
				ex.add("phantom", env_text(e) + " at " + where(m) + " is not in the reference");
			}
			else if (r->second != m.value)
			{
				mismatched++;
				ex.add("mismatched", env_text(e) + " at " + where(m) + " differs from the reference");
			}
		}

		/* per-key order */
		if (!m.key_null)
			last_op[std::make_tuple(m.topic, m.partition, m.key)] = e.id.op;
		if (!m.key_null && !m.key.empty())
		{
			KeyOrder   &ko = key_order[std::make_pair(m.topic, m.key)];
			const Position &pos = e.pos;

			ko.partitions.insert(m.partition);
			if (first)
			{
				if (ko.any && pos <= ko.last)
				{
					out_of_order++;
					ex.add("out_of_order", env_text(e) + " at " + where(m) +
						   " comes after a later change of the same key" +
						   (e.id.op == pb::OP_READ ? " (an r event is at (commit_lsn, 0))" : ""));
				}
				if (!ko.any || pos > ko.last)
					ko.last = pos;
				ko.any = true;
			}
		}
	}
	for (const auto &kv : key_order)
	{
		if (kv.second.partitions.size() > 1)
		{
			std::string parts;

			for (int32_t p : kv.second.partitions)
				parts += (parts.empty() ? "" : ",") + std::to_string(p);
			out_of_order += static_cast<long long>(kv.second.partitions.size()) - 1;
			std::string hex;

			append_hex(hex, kv.first.second.substr(0, 32));
			ex.add("out_of_order", "key \\x" + hex + (kv.first.second.size() > 32 ? "..." : "") +
				   " of " + kv.first.first + " is in partitions " + parts);
		}
	}

	/* every partition: a begin, and an end once the snapshot ended */
	for (const auto &kv : snapshots)
	{
		const Snapshot &snap = kv.second;
		std::string name = kv.first.first + " snapshot_id=" + std::to_string(kv.first.second);

		if (snap.first_begin == nullptr)
		{
			bad_markers++;
			ex.add("bad_markers", name + ": no snapshot_begin on any partition");
			continue;
		}
		uint32_t	n = snap.first_begin->env.marker_partitions;

		if (n == 0)
		{
			bad_markers++;
			ex.add("bad_markers", name + ": snapshot_begin at " + where(*snap.first_begin) +
				   " says 0 partitions");
			continue;
		}
		for (uint32_t p = 0; p < n; p++)
		{
			auto		it = snap.parts.find(static_cast<int32_t>(p));
			bool		begun = it != snap.parts.end() && it->second.begun;
			bool		ended = it != snap.parts.end() && it->second.ended;

			if (!begun)
			{
				bad_markers++;
				ex.add("bad_markers", name + ": no snapshot_begin on partition " +
					   std::to_string(p) + " of " + std::to_string(n));
			}
			if (!ended && (snap.any_end || snapshots_complete))
			{
				bad_markers++;
				ex.add("bad_markers", name + ": no snapshot_end on partition " +
					   std::to_string(p) + " of " + std::to_string(n) +
					   (snap.any_end ? "" : " (--snapshots-complete)"));
			}
			if (begun && ended && it->second.end_offset < it->second.begin_offset)
			{
				bad_markers++;
				ex.add("bad_markers", name + ": on partition " + std::to_string(p) +
					   " the first snapshot_end (@" + std::to_string(it->second.end_offset) +
					   ") comes before the first snapshot_begin (@" +
					   std::to_string(it->second.begin_offset) + ")");
			}
		}
	}

	/* every partition: a copy of each gap; after it, the re-snapshot it announces */
	for (const auto &kv : gap_copies)
	{
		const GapCopies &gc = kv.second;
		const EnvInfo &g = gc.first->env;
		std::string name = kv.first.first + " gap_id=" + std::to_string(kv.first.second);
		uint32_t	n = g.gap_partitions;

		for (uint32_t p = 0; p < n; p++)
			if (!gc.offsets.count(static_cast<int32_t>(p)))
			{
				bad_gaps++;
				ex.add("bad_gaps", name + ": no copy on partition " + std::to_string(p) + " of " +
					   std::to_string(n));
			}
		if (!g.gap_resnapshot)
			continue;

		std::string snap_name = "snapshot_id=" + std::to_string(g.gap_snapshot_id);
		auto		sit = snapshots.find(std::make_pair(kv.first.first, g.gap_snapshot_id));

		if (sit != snapshots.end() && sit->second.kind != pb::SNAPSHOT_GAP)
		{
			bad_gaps++;
			ex.add("bad_gaps", name + ": its " + snap_name + " is of snapshot_kind " +
				   std::to_string(sit->second.kind) + ", not gap (" +
				   std::to_string(pb::SNAPSHOT_GAP) + ")");
		}
		for (const auto &po : gc.offsets)
		{
			const SnapshotPartition *part = nullptr;

			if (sit != snapshots.end())
			{
				auto		pit = sit->second.parts.find(po.first);

				if (pit != sit->second.parts.end())
					part = &pit->second;
			}
			if (part != nullptr && part->begun && part->last_begin_offset > po.second)
				continue;
			/* a snapshot not seen at all may still be coming */
			if (sit == snapshots.end() && !snapshots_complete)
				continue;
			bad_gaps++;
			ex.add("bad_gaps", name + ": on partition " + std::to_string(po.first) + " no snapshot_begin of " +
				   snap_name + " after the gap (@" + std::to_string(po.second) + ")" +
				   (sit == snapshots.end() ? std::string(": it never began (--snapshots-complete)")
					: part != nullptr && part->begun ? std::string(": it began before the gap only")
					: std::string()));
		}
	}

	std::vector<Identity> missing;

	for (const Identity &id : ref.order)
		if (!matched.count(id))
			missing.push_back(id);
	for (const Identity &id : missing)
	{
		EnvInfo		e = parse_env(ref.by_id[id]);

		ex.add("missing", env_text(e));
	}

	bool		ok = missing.empty() && mismatched == 0 && phantom == 0 && misrouted == 0 &&
		out_of_order == 0 && bad_markers == 0 && bad_gaps == 0 && bad_schemas == 0 && bad_heartbeats == 0 &&
		duplicates <= max_duplicates;

	if (!final_state_path.empty() && !write_final_state(final_state_path, msgs, ex, err))
	{
		std::fprintf(stderr, "cdc_kafka_consume verify: %s\n", err.c_str());
		return 2;
	}

	for (const auto &kind : {"missing", "mismatched", "phantom", "misrouted", "duplicates", "out_of_order",
			 "bad_markers", "bad_gaps", "bad_schemas", "final_state"})
	{
		auto		it = ex.by_kind.find(kind);

		if (it == ex.by_kind.end())
			continue;
		if (std::string(kind) == "duplicates" && duplicates <= max_duplicates)
			continue;
		for (const auto &line : it->second)
			std::fprintf(stderr, "verify: %s: %s\n", kind, line.c_str());
	}
	/* without a reference, say so where its counts would be */
	std::string reference_count = have_reference ? std::to_string(ref.by_id.size()) : "none";
	std::string missing_count = have_reference ? std::to_string(missing.size()) : "skipped";
	std::string mismatched_count = have_reference ? std::to_string(mismatched) : "skipped";

	std::printf("verify: reference=%s consumed=%zu unique=%zu duplicates=%lld tombstones=%lld "
				"missing=%s mismatched=%s phantom=%lld misrouted=%lld out_of_order=%lld "
				"snapshot_rows=%lld markers=%lld bad_markers=%lld gaps=%lld bad_gaps=%lld "
				"schemas=%lld bad_schemas=%lld heartbeats=%lld bad_heartbeats=%lld -> %s\n",
				reference_count.c_str(), msgs.size(),
				seen.size() + static_cast<size_t>(snapshot_rows), duplicates, tombstones,
				missing_count.c_str(), mismatched_count.c_str(), phantom, misrouted,
				out_of_order, snapshot_rows, markers, bad_markers, gaps, bad_gaps,
				schemas, bad_schemas, heartbeats, bad_heartbeats, ok ? "OK" : "FAIL");
	std::fflush(stdout);
	return ok ? 0 : 1;
}

}							/* namespace kafka_tools */
