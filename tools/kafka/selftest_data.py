#!/usr/bin/python3
"""selftest_data.py — crafts the messages and references for selftest.sh.

Usage: selftest_data.py PB2_DIR OUT_DIR

Builds cdc.v1 envelopes with the protoc-generated module in PB2_DIR and
writes, for every scenario S (its topic prefix is S):
  OUT_DIR/S.produce   input for `cdc_kafka_consume produce` (topic, partition,
                      key, value; \\x<hex> or \\N)
  OUT_DIR/S.ref       the reference, one envelope per line as COPY prints it
                      (none for scenarios verified without a reference)
and OUT_DIR/expect: one line per scenario, "S EXIT [VERIFY-OPTION...] --
counter=value ...", which selftest.sh checks against verify's summary.
OUT_DIR/st_clean.final is the final state verify must write for st_clean;
OUT_DIR/S.final, where present, the one verify --final-state must write
for S (selftest.sh then checks it). OUT_DIR/st_gap.rows holds the rows
tools/gap_consumer.py must rebuild from st_gap (one JSON object per line).
"""
import json
import hashlib
import re
import sys

sys.path.insert(0, sys.argv[1])
from cdc.v1 import envelope_pb2 as pb  # noqa: E402

OUT = sys.argv[2]
INT4 = 23
TEXT = 25


def row(**cols):
    r = pb.Row()
    for name, v in cols.items():
        c = r.columns.add()
        c.name = name
        if isinstance(v, int):
            c.type_oid = INT4
            c.value.int_value = v
        elif v is not None:
            c.type_oid = TEXT
            c.value.text_value = v
    return r


def topic_name(prefix, schema, table):
    """The worker's topic of schema.table (README, "Publish to Kafka"),
    written again here so that the verifier's copy is checked against it."""
    def part(name):
        return "".join(chr(b) if re.match(rb"[A-Za-z0-9_]", bytes([b])) else "-%02X" % b
                       for b in name.encode())
    topic = re.sub(r"[^A-Za-z0-9._-]", "_", prefix) + "." + part(schema) + "." + part(table)
    if len(topic) <= 249:
        return topic
    head = min(len(prefix), 231)
    while head + (3 if topic[head] == "-" else 1) <= 231:
        head += 3 if topic[head] == "-" else 1
    return topic[:head] + "--" + hashlib.sha256(topic.encode()).hexdigest()[:16]


class Ev:
    """One event: envelope bytes, the Kafka key, and where it goes."""

    def __init__(self, op, table, lsn, commit=None, order=None, key=None,
                 before=None, after=None, schema="public", message=None,
                 snapshot=None, marker=None, gap=None, sv=None, schema_change=None):
        """snapshot=(kind, id[, flag]): a snapshot event as the worker sends
        it (commit is the high watermark's commit, no transaction block, xid
        0); marker=(partition, partitions[, rows]) for snapshot_begin/end.
        gap=dict of Gap fields: a gap as the worker sends it (lsn and
        commit_lsn are lost_to_lsn, no transaction block, xid 0).
        sv: source.schema_version. schema_change=dict of SchemaChange
        fields, columns a list of names: a schema event as the worker sends
        it (the DDL's lsn and commit_lsn, an xid, no transaction block)."""
        e = pb.Envelope()
        e.op = op
        e.source.connector = "cdc_plugin"
        e.source.version = "0.0-test"
        e.source.database = "shop"
        e.source.lsn = lsn
        if table is not None:
            e.source.schema = schema
            e.source.table = table
        if gap is not None:
            for field, value in gap.items():
                setattr(e.gap, field, value)
            e.gap.SetInParent()
            e.source.lsn = lsn
            e.source.commit_lsn = commit if commit is not None else lsn
        elif schema_change is not None:
            for field, value in schema_change.items():
                if field == "columns":
                    for i, name in enumerate(value):
                        c = e.schema_change.columns.add()
                        c.name = name
                        c.type = "integer" if name in ("id", "qty") else "text"
                        c.type_oid = INT4 if name in ("id", "qty") else TEXT
                        c.typmod = -1
                        c.key = name == "id"
                        c.not_null = name == "id"
                        c.attnum = i + 1
                else:
                    setattr(e.schema_change, field, value)
            e.schema_change.SetInParent()
            e.source.commit_lsn = commit if commit is not None else lsn
            e.source.xid = e.source.commit_lsn >> 8
        elif snapshot is not None:
            e.source.commit_lsn = commit
            e.source.snapshot = snapshot[2] if len(snapshot) > 2 else True
            e.source.snapshot_kind = snapshot[0]
            e.source.snapshot_id = snapshot[1]
            if marker is not None:
                e.snapshot.partition = marker[0]
                e.snapshot.partitions = marker[1]
                if len(marker) > 2:
                    e.snapshot.rows = marker[2]
        elif commit is not None:
            e.source.commit_lsn = commit
            e.source.xid = commit >> 8
            e.source.commit_time_us = 1700000000000000 + commit
            e.transaction.id = commit >> 8
            e.transaction.total_order = order
            e.transaction.data_collection_order = order
        if sv is not None:
            e.source.schema_version = sv
        if key is not None:
            e.key.CopyFrom(key)
            e.key.SetInParent()  # an empty key Row is present too
        if before is not None:
            e.before.CopyFrom(before)
        if after is not None:
            e.after.CopyFrom(after)
        if op == pb.OP_TRUNCATE:
            e.truncate.cascade = False
        if message is not None:
            e.message.prefix = "test"
            e.message.content = message
            e.message.transactional = commit is not None
        self.bytes = e.SerializeToString()
        self.key = e.key.SerializeToString() if e.HasField("key") else None
        self.table = table
        self.schema = schema

    def topic(self, prefix):
        if self.table is None:
            return prefix + "._messages"
        return topic_name(prefix, self.schema, self.table)


def hexb(b):
    return "\\x" + b.hex()


def copy_hex(b):
    """A bytea as COPY ... TO STDOUT prints it."""
    return "\\\\x" + b.hex()


C, U, D, T, M = pb.OP_CREATE, pb.OP_UPDATE, pb.OP_DELETE, pb.OP_TRUNCATE, pb.OP_MESSAGE

# The workload: four transactions and a non-transactional message.
ins1 = Ev(C, "orders", 0x100, 0x1000, 1, key=row(id=1), after=row(id=1, note="a"))
ins2 = Ev(C, "orders", 0x100, 0x1000, 2, key=row(id=2), after=row(id=2, note="b"))  # same lsn
ins3 = Ev(C, "orders", 0x100, 0x1000, 3, key=row(id=3), after=row(id=3, note="c"))
upd1 = Ev(U, "orders", 0x1100, 0x2000, 1, key=row(id=1), after=row(id=1, note="a2"))
del2 = Ev(D, "orders", 0x1200, 0x2000, 2, key=row(id=2), before=row(id=2))
aud1 = Ev(C, "audit", 0x1300, 0x2000, 3, after=row(what="x"))  # no key
upd3 = Ev(U, "orders", 0x2100, 0x3000, 1, key=row(id=30), before=row(id=3),
          after=row(id=30, note="c"))                            # key 3 -> 30
ins4 = Ev(C, "orders", 0x2200, 0x3000, 2, key=row(id=4), after=row(id=4, note="d"))
trn = Ev(T, "audit", 0x3100, 0x4000, 1)
msg = Ev(M, None, 0x4100, message=b"hello")                      # non-transactional

WORKLOAD = [ins1, ins2, ins3, upd1, del2, "tombstone", aud1, upd3, ins4, trn, msg]
REFERENCE = [e for e in WORKLOAD if e != "tombstone"]


def produce_lines(prefix, items):
    """items: Ev, "tombstone" (after the preceding delete), or (Ev, overrides)."""
    out = []
    last = None
    last_part = -1
    for it in items:
        if it == "tombstone":
            # on the delete's partition (the partitioner picks the same one for -1)
            out.append("%s\t%d\t%s\t\\N" % (last.topic(prefix), last_part, hexb(last.key)))
            continue
        ev, opt = (it if isinstance(it, tuple) else (it, {}))
        topic = opt.get("topic", ev.topic(prefix))
        key = opt.get("key", ev.key)
        value = opt.get("value", ev.bytes)
        part = opt.get("partition", -1)
        out.append("%s\t%d\t%s\t%s" % (topic, part, "\\N" if key is None else hexb(key),
                                       "\\N" if value is None else hexb(value)))
        last = ev
        last_part = part
    return out


scenarios = []


def scenario(name, items, reference, exit_code, counters, verify_opts=(), final=None):
    """reference None: verified without one. final: the envelopes verify
    --final-state must write (any order)."""
    scenarios.append(name)
    if final is not None:
        with open("%s/%s.final" % (OUT, name), "w") as f:
            f.write("".join(copy_hex(e.bytes) + "\n" for e in final))
    with open("%s/%s.produce" % (OUT, name), "w") as f:
        f.write("".join(line + "\n" for line in produce_lines(name, items)))
    if reference is not None:
        with open("%s/%s.ref" % (OUT, name), "w") as f:
            f.write("".join(copy_hex(e.bytes) + "\n" for e in reference))
    expect.append("%s %d %s -- %s" % (name, exit_code, " ".join(verify_opts),
                                      " ".join("%s=%s" % kv for kv in counters.items())))


def modified(ev, **after):
    e = pb.Envelope()
    e.ParseFromString(ev.bytes)
    e.after.CopyFrom(row(**after))
    return e.SerializeToString()


n = len(REFERENCE)
expect = []
ZERO = dict(missing=0, mismatched=0, phantom=0, misrouted=0, out_of_order=0, bad_markers=0,
            bad_gaps=0, bad_schemas=0)


def counts(**kw):
    c = dict(ZERO)
    c.update(kw)
    return c


# clean: everything once, one tombstone
scenario("st_clean", WORKLOAD, REFERENCE, 0,
         counts(reference=n, consumed=n + 1, unique=n, duplicates=0, tombstones=1))

# transaction 2 re-sent (at-least-once): 3 duplicates (+ its tombstone again)
resend = WORKLOAD + [upd1, del2, "tombstone", aud1]
scenario("st_dup", resend, REFERENCE, 1,
         counts(consumed=n + 5, unique=n, duplicates=3, tombstones=2))
scenario("st_dupok", resend, REFERENCE, 0,
         counts(consumed=n + 5, unique=n, duplicates=3, tombstones=2),
         verify_opts=("--max-duplicates", "3"))

# the reference has a change nobody published
scenario("st_missing", [e for e in WORKLOAD if e is not ins4], REFERENCE, 1,
         counts(missing=1, consumed=n))

# same identity, different bytes
scenario("st_mismatch", [(upd1, {"value": modified(upd1, id=1, note="WRONG")}) if e is upd1 else e
                         for e in WORKLOAD], REFERENCE, 1, counts(mismatched=1))

# a change that is not in the reference
ins5 = Ev(C, "orders", 0x5100, 0x5000, 1, key=row(id=5), after=row(id=5, note="e"))
scenario("st_phantom", WORKLOAD + [ins5], REFERENCE, 1, counts(phantom=1))

# wrong topic; NULL key for a keyed change; another row's key
scenario("st_wrongtopic", [(ins4, {"topic": "st_wrongtopic.public.other"}) if e is ins4 else e
                           for e in WORKLOAD], REFERENCE, 1, counts(misrouted=1))
scenario("st_nullkey", [(ins4, {"key": None}) if e is ins4 else e for e in WORKLOAD],
         REFERENCE, 1, counts(misrouted=1))
scenario("st_wrongkey", [(ins4, {"key": ins1.key}) if e is ins4 else e for e in WORKLOAD],
         REFERENCE, 1, counts(misrouted=1))
# a key on a keyless table's change
scenario("st_keyless", [(aud1, {"key": ins1.key}) if e is aud1 else e for e in WORKLOAD],
         REFERENCE, 1, counts(misrouted=1))

# id=1's update published before its insert (same partition)
reordered = [upd1 if e is ins1 else ins1 if e is upd1 else e for e in WORKLOAD]
scenario("st_order", reordered, REFERENCE, 1, counts(out_of_order=1))

# id=1's changes split over two partitions
scenario("st_split", [(ins1, {"partition": 0}) if e is ins1 else
                      (upd1, {"partition": 1}) if e is upd1 else e for e in WORKLOAD],
         REFERENCE, 1, counts(out_of_order=1))

# a tombstone for id=3, which was never deleted
scenario("st_tomb", WORKLOAD + [ins3, "tombstone"], REFERENCE, 1,
         counts(tombstones=2, duplicates=1, out_of_order=1))

# names that need escaping, and one too long for Kafka: each on its own topic
odd = [Ev(C, table, 0x6100 + i, 0x6000, i + 1, key=row(id=i), after=row(id=i), schema=schema)
       for i, (schema, table) in enumerate([
           ("public", "a b"), ("public", "a_b"), ("a.b", "c"), ("a", "b.c"),
           ("public", "caf\u00e9"), ("\u00fc" * 31, "\u00f6" * 31)])]
assert odd[0].topic("p") == "p.public.a-20b" and odd[2].topic("p") == "p.a-2Eb.c", "escapes"
assert len(odd[5].topic("p")) <= 249 and "--" in odd[5].topic("p"), "shortened"
scenario("st_names", odd, odd, 0, counts(reference=6, consumed=6, unique=6))
# the same on the topics the names had before they were escaped: all but a_b misrouted
scenario("st_names_unescaped",
         [(e, {"topic": "st_names_unescaped.%s.%s" % tuple(
             re.sub(r"[^A-Za-z0-9._-]", "_", n) for n in (e.schema, e.table))}) for e in odd],
         odd, 1, counts(misrouted=5))

# ---- snapshots ----
# Table items (keyed, key id; each key's events on partition id % 2, so
# partition 2 holds only markers) gets incremental snapshot 7 while it is
# streamed; keyless table logs gets initial snapshot 6 (lsn = commit_lsn =
# the slot's start, 0x100). Markers go to every partition (3) with a NULL
# key; r events carry no transaction block. None of these are in the
# reference.
R, SB, SE = pb.OP_READ, pb.OP_SNAPSHOT_BEGIN, pb.OP_SNAPSHOT_END
INC, INI = pb.SNAPSHOT_INCREMENTAL, pb.SNAPSHOT_INITIAL
NP = 3


def item(ev, id_):
    return (ev, {"partition": id_ % 2})


def markers(op, table, lsn, kind, sid, rows=None, skip=()):
    return [(Ev(op, table, lsn, lsn, snapshot=(kind, sid),
                marker=(p, NP) if rows is None else (p, NP, rows)),
             {"partition": p, "key": None}) for p in range(NP) if p not in skip]


def rd(table, lsn, commit, sid, kind=INC, key=None, flag=True, **after):
    return Ev(R, table, lsn, commit, key=key, after=row(**after), snapshot=(kind, sid, flag))


s_c1 = Ev(C, "items", 0x1100, 0x1000, 1, key=row(id=1), after=row(id=1, note="a"))
s_c2 = Ev(C, "items", 0x1100, 0x1000, 2, key=row(id=2), after=row(id=2, note="b"))
s_lz = Ev(C, "logs", 0x1200, 0x1000, 3, after=row(what="z"))
s_r1 = rd("items", 0x1f00, 0x2000, 7, key=row(id=1), id=1, note="a")
s_r2 = rd("items", 0x1f00, 0x2000, 7, key=row(id=2), id=2, note="b")
s_r3 = rd("items", 0x1f00, 0x2000, 7, key=row(id=3), id=3, note="c")   # never streamed
s_r3b = rd("items", 0x2700, 0x2800, 7, key=row(id=3), id=3, note="c")  # chunk read again
s_u2 = Ev(U, "items", 0x3100, 0x3000, 1, key=row(id=2), after=row(id=2, note="b2"))
s_ly = Ev(U, "logs", 0x3200, 0x3000, 2, before=row(what="y"), after=row(what="y2"))
s_c4 = Ev(C, "items", 0x4100, 0x4000, 1, key=row(id=4), after=row(id=4, note="d"))
s_lx = Ev(D, "logs", 0x4200, 0x4000, 2, before=row(what="x"))
# keyless rows of the initial snapshot: x twice (identical rows), y with an
# empty (present) key field; all with a NULL Kafka key
l_rx = rd("logs", 0x100, 0x100, 6, kind=INI, what="x")
l_ry = rd("logs", 0x100, 0x100, 6, kind=INI, key=row(), what="y")


def logs_row(ev, p):
    return (ev, {"partition": p, "key": None})


LOGS_SNAPSHOT = (markers(SB, "logs", 0x100, INI, 6)
                 + [logs_row(l_rx, 0), logs_row(l_rx, 1), logs_row(l_ry, 2)]
                 + markers(SE, "logs", 0x100, INI, 6, rows=3))
SNAP_BEGIN = markers(SB, "items", 0x1500, INC, 7)
SNAP_END = markers(SE, "items", 0x2900, INC, 7, rows=4)
SNAP_REF = [s_c1, s_c2, s_lz, s_u2, s_ly, s_c4, s_lx]


def snap_workload(begin=SNAP_BEGIN, rows=None, end=SNAP_END, after_end=(), u2=True):
    rows = rows if rows is not None else [item(s_r1, 1), item(s_r2, 2), item(s_r3, 3),
                                          item(s_r3b, 3)]
    return (LOGS_SNAPSHOT + [item(s_c1, 1), item(s_c2, 2), logs_row(s_lz, 1)]
            + begin + rows + end + list(after_end)
            + ([item(s_u2, 2)] if u2 else [])
            + [logs_row(s_ly, 2), item(s_c4, 4), logs_row(s_lx, 0)])


m = len(SNAP_REF)
SNAP_OK = dict(reference=m, snapshot_rows=7, markers=12)

# rows and markers accepted; per key the latest of changes and r events, the
# keyless table as a multiset (x once of twice, y updated, z inserted)
scenario("st_snap", snap_workload(), SNAP_REF, 0,
         counts(consumed=m + 7 + 12, unique=m + 7, duplicates=0, **SNAP_OK),
         final=[s_r1, s_u2, s_r3b, s_c4, l_rx, s_ly, s_lz])
# re-sent after a crash: a begin again, r id=1 again (same position) -> duplicate
scenario("st_snap_dup", snap_workload(rows=[item(s_r1, 1), item(s_r2, 2), item(s_r3, 3)]
                                      + markers(SB, "items", 0x1500, INC, 7, skip=(0, 2))
                                      + [item(s_r1, 1), item(s_r3b, 3)]),
         SNAP_REF, 1, counts(duplicates=1, snapshot_rows=7, markers=13))
# r id=2 published after id=2's update (newer) in its partition
scenario("st_snap_order", snap_workload(rows=[item(s_r1, 1), item(s_r3, 3), item(s_r3b, 3)],
                                        end=[], after_end=[item(s_u2, 2), item(s_r2, 2)] + SNAP_END,
                                        u2=False),
         SNAP_REF, 1, counts(out_of_order=1, duplicates=0, snapshot_rows=7))
# a change of id=3 older than the r event before it
s_c3 = Ev(C, "items", 0x1800, 0x1800, 1, key=row(id=3), after=row(id=3, note="c"))
scenario("st_snap_order2", snap_workload(rows=[item(s_r1, 1), item(s_r2, 2), item(s_r3, 3),
                                               item(s_c3, 3), item(s_r3b, 3)]),
         SNAP_REF + [s_c3], 1, counts(out_of_order=1, reference=m + 1))
# no snapshot_begin on partition 2 (which holds no rows of it)
scenario("st_snap_nobegin", snap_workload(begin=markers(SB, "items", 0x1500, INC, 7, skip=(2,))),
         SNAP_REF, 1, counts(bad_markers=1, markers=11))
# an end on partitions 0 and 2 only
scenario("st_snap_noend", snap_workload(end=markers(SE, "items", 0x2900, INC, 7, 4, skip=(1,))),
         SNAP_REF, 1, counts(bad_markers=1, markers=11))
# still running: no end at all is fine, unless the snapshots must be complete
running = snap_workload(end=[])
scenario("st_snap_running", running, SNAP_REF, 0, counts(bad_markers=0, markers=9))
scenario("st_snap_incomplete", running, SNAP_REF, 1, counts(bad_markers=3, markers=9),
         verify_opts=("--snapshots-complete",))
# the re-read id=3 after the end marker of its partition
scenario("st_snap_late", snap_workload(rows=[item(s_r1, 1), item(s_r2, 2), item(s_r3, 3)],
                                       after_end=[item(s_r3b, 3)]),
         SNAP_REF, 1, counts(bad_markers=1, snapshot_rows=7))
# a marker copy naming another partition
scenario("st_snap_badpart", snap_workload(
    begin=SNAP_BEGIN + [(Ev(SB, "items", 0x1500, 0x1500, snapshot=(INC, 7), marker=(1, NP)),
                         {"partition": 0, "key": None})]),
         SNAP_REF, 1, counts(bad_markers=1, markers=13))
# r events that are not valid snapshot events: snapshot false, snapshot_id 0
scenario("st_snap_phantom", snap_workload(
    after_end=[item(rd("items", 0x2f00, 0x3000, 7, key=row(id=5), flag=False, id=5), 5),
               item(rd("items", 0x2f00, 0x3000, 0, key=row(id=6), id=6), 6)]),
         SNAP_REF, 1, counts(phantom=2, snapshot_rows=7))
# a marker on the wrong table's topic, an r event with a NULL Kafka key
scenario("st_snap_route", snap_workload(
    rows=[item(s_r1, 1), (s_r2, {"partition": 0, "key": None}), item(s_r3, 3), item(s_r3b, 3)],
    after_end=[(SNAP_END[0][0], {"partition": 0, "key": None, "topic": "st_snap_route.public.logs"})]),
         SNAP_REF, 1, counts(misrouted=2, markers=13))

# ---- no reference ----
# Without --reference nothing is compared with the truth; the rest still runs.
NOREF = dict(reference="none", missing="skipped", mismatched="skipped")
scenario("st_noref", WORKLOAD, None, 0,
         counts(consumed=n + 1, unique=n, duplicates=0, tombstones=1, phantom=0, **NOREF))
scenario("st_noref_order", reordered, None, 1, counts(out_of_order=1, **NOREF))

# ---- gaps ----
# The worker's slot was lost: changes committed in [0x2800, 0x5000) are not
# in the topics. Before the loss: items 1, 2, 3, 5, 6 (keyed, partition
# id % 2), logs x and y (keyless), notes 7 (keyed), tmp 1 then a truncate
# of tmp. Lost: items 1 updated, 2 and 3 deleted, logs y deleted. Each
# table gets gap 1 on all 3 partitions; items (snapshot 9) and logs
# (snapshot 10, read with the new slot's snapshot at its start, 0x5000)
# are snapshotted again, notes and tmp did not change (no resnapshot).
# After the gap: items 5 updated, 6 deleted (with a tombstone), the items
# snapshot reads 1 (2 and 3 are gone, 5 changed in its window), then 4
# is inserted. No reference: the reference slot was lost too.
GAP = pb.OP_GAP
GK = pb.SNAPSHOT_GAP
LOST_FROM, LOST_TO = 0x2800, 0x5000


def gap_copies(table, resnapshot_id=0, skip=(), gap_id=1, **change):
    out = []
    for p in range(NP):
        if p in skip:
            continue
        fields = dict(id=gap_id, lost_from_lsn=LOST_FROM, lost_to_lsn=LOST_TO,
                      reason='replication slot "cdc_plugin" was invalidated',
                      resnapshot=resnapshot_id != 0, snapshot_id=resnapshot_id,
                      partition=p, partitions=NP, time_us=1764627000000000)
        fields.update(change)
        out.append((Ev(GAP, table, LOST_TO, gap=fields), {"partition": p, "key": None}))
    return out


g_c1 = Ev(C, "items", 0x1100, 0x1000, 1, key=row(id=1), after=row(id=1, note="a"))
g_c2 = Ev(C, "items", 0x1100, 0x1000, 2, key=row(id=2), after=row(id=2, note="b"))
g_c3 = Ev(C, "items", 0x1100, 0x1000, 3, key=row(id=3), after=row(id=3, note="c"))
g_c5 = Ev(C, "items", 0x1100, 0x1000, 4, key=row(id=5), after=row(id=5, note="e"))
g_c6 = Ev(C, "items", 0x1100, 0x1000, 5, key=row(id=6), after=row(id=6, note="f"))
g_lx = Ev(C, "logs", 0x1200, 0x1000, 6, after=row(what="x"))
g_ly = Ev(C, "logs", 0x1200, 0x1000, 7, after=row(what="y"))
g_n7 = Ev(C, "notes", 0x1300, 0x1000, 8, key=row(id=7), after=row(id=7, note="g"))
g_m1 = Ev(C, "tmp", 0x1400, 0x1000, 9, key=row(id=1), after=row(id=1))
g_tt = Ev(T, "tmp", 0x2100, 0x2000, 1)
g_u5 = Ev(U, "items", 0x5500, 0x5400, 1, key=row(id=5), after=row(id=5, note="e2"))
g_d6 = Ev(D, "items", 0x5600, 0x5400, 2, key=row(id=6), before=row(id=6))
g_r1 = rd("items", 0x5f00, 0x6000, 9, kind=GK, key=row(id=1), id=1, note="a2")
g_rx = rd("logs", LOST_TO, LOST_TO, 10, kind=GK, what="x")
g_c4 = Ev(C, "items", 0x7100, 0x7000, 1, key=row(id=4), after=row(id=4, note="d"))

BEFORE_GAP = [item(g_c1, 1), item(g_c2, 2), item(g_c3, 3), item(g_c5, 5), item(g_c6, 6),
              logs_row(g_lx, 0), logs_row(g_ly, 1), item(g_n7, 7), item(g_m1, 1),
              (g_tt, {"partition": 2})]
GAPS = (gap_copies("items", 9) + gap_copies("logs", 10) + gap_copies("notes")
        + gap_copies("tmp"))
LOGS_RESNAPSHOT = (markers(SB, "logs", LOST_TO, GK, 10) + [logs_row(g_rx, 0)]
                   + markers(SE, "logs", LOST_TO, GK, 10, rows=1))
ITEMS_BEGIN = markers(SB, "items", 0x5100, GK, 9)
ITEMS_END = markers(SE, "items", 0x6200, GK, 9, rows=1)


def gap_workload(before=BEFORE_GAP, gaps=GAPS, logs=LOGS_RESNAPSHOT, begin=ITEMS_BEGIN,
                 rows=None, end=ITEMS_END, after=None):
    rows = rows if rows is not None else [item(g_u5, 5), item(g_d6, 6), "tombstone",
                                          item(g_r1, 1)]
    after = after if after is not None else [item(g_c4, 4)]
    return list(before) + list(gaps) + list(logs) + list(begin) + rows + list(end) + after




def gcounts(**kw):
    """Counters of a scenario verified without a reference."""
    return counts(**dict(NOREF, **kw))


nb = len(BEFORE_GAP) + 3  # + u5, d6, c4
# final state: items 1 (read again), 5 (updated), 4; logs x (read again);
# notes 7 (no resnapshot: stale, kept); not 2 and 3 (deleted in the gap,
# dropped at the snapshot_end), not 6 (deleted), not logs y, not tmp
GAP_FINAL = [g_r1, g_u5, g_c4, g_rx, g_n7]
scenario("st_gap", gap_workload(), None, 0,
         gcounts(consumed=nb + 1 + 12 + 12 + 2, unique=nb + 2, duplicates=0, tombstones=1,
                snapshot_rows=2, markers=12, phantom=0, gaps=12, bad_gaps=0),
         verify_opts=("--snapshots-complete",), final=GAP_FINAL)
with open(OUT + "/st_gap.rows", "w") as f:
    for schema_table, after_row in [("items", dict(id=1, note="a2")), ("items", dict(id=5, note="e2")),
                                    ("items", dict(id=4, note="d")), ("logs", dict(what="x")),
                                    ("notes", dict(id=7, note="g"))]:
        f.write(json.dumps({"schema": "public", "table": schema_table, "after": after_row},
                           sort_keys=True) + "\n")
# the gap copies of items sent again: duplicates, allowed with --max-duplicates
scenario("st_gap_dup", gap_workload(after=[item(g_c4, 4)] + gap_copies("items", 9)), None, 1,
         gcounts(duplicates=3, gaps=12, bad_gaps=0))
scenario("st_gap_dupok", gap_workload(after=[item(g_c4, 4)] + gap_copies("items", 9)), None, 0,
         gcounts(duplicates=3, gaps=12, bad_gaps=0), verify_opts=("--max-duplicates", "3"),
         final=GAP_FINAL)
# no copy of the items gap on partition 2
scenario("st_gap_nocopy", gap_workload(gaps=gap_copies("items", 9, skip=(2,)) + GAPS[3:]), None, 1,
         gcounts(gaps=11, bad_gaps=1))
# a copy naming another partition; copies that disagree
scenario("st_gap_badpart", gap_workload(gaps=[(gap_copies("items", 9, partition=1)[0][0],
                                               {"partition": 0, "key": None})] + GAPS[1:]),
         None, 1, gcounts(gaps=12, bad_gaps=1))
scenario("st_gap_differ", gap_workload(gaps=gap_copies("items", 9, skip=(1,))
                                       + [gap_copies("items", 9, lost_from_lsn=0x2700)[1]]
                                       + GAPS[3:]),
         None, 1, gcounts(gaps=12, bad_gaps=1))
# the items re-snapshot never begins: fine while it may still come, not
# with --snapshots-complete (one per partition)
no_items_snapshot = gap_workload(begin=[], rows=[item(g_u5, 5), item(g_d6, 6), "tombstone"], end=[])
scenario("st_gap_pending", no_items_snapshot, None, 0, gcounts(gaps=12, bad_gaps=0, markers=6))
scenario("st_gap_nosnap", no_items_snapshot, None, 1, gcounts(gaps=12, bad_gaps=3, markers=6),
         verify_opts=("--snapshots-complete",))
# the snapshot the gap announces is not of kind gap
scenario("st_gap_kind", gap_workload(begin=markers(SB, "items", 0x5100, INC, 9),
                                     rows=[item(g_u5, 5), item(g_d6, 6), "tombstone",
                                           item(rd("items", 0x5f00, 0x6000, 9, kind=INC,
                                                   key=row(id=1), id=1, note="a2"), 1)],
                                     end=markers(SE, "items", 0x6200, INC, 9, rows=1)),
         None, 1, gcounts(gaps=12, bad_gaps=1))
# an event of the new slot (items 4) before the gap on its partition 0
scenario("st_gap_early", gap_workload(before=BEFORE_GAP + [item(g_c4, 4)], after=[]), None, 1,
         gcounts(gaps=12, bad_gaps=1))
# an event of the old slot (items 2 again) after the gap on its partition
scenario("st_gap_old", gap_workload(after=[item(g_c4, 4), item(g_c2, 2)]), None, 1,
         gcounts(gaps=12, bad_gaps=1, duplicates=1))
# a gap with a Kafka key; a gap that announces a snapshot without its id
scenario("st_gap_key", gap_workload(gaps=[(GAPS[0][0], {"partition": 0, "key": ins1.key})] + GAPS[1:]),
         None, 1, gcounts(gaps=12, misrouted=1))
scenario("st_gap_phantom", gap_workload(after=[item(g_c4, 4)] + gap_copies("notes", gap_id=2,
                                                                           resnapshot=True)[:1]),
         None, 1, gcounts(gaps=12, phantom=1))

# ---- schema events ----
# Table items (keyed, partition id % 2) starts at version 1 (id, note),
# restated (resent) to every partition before its first row; version 2
# adds qty (ALTER TABLE, to every partition); after a worker restart version
# 2 is restated. Row events carry their version as source.schema_version.
# Schema events are not in the reference and have no Kafka key (one copy
# with an empty one, which is accepted too).
SCH = pb.OP_SCHEMA
V1_COLS, V2_COLS = ["id", "note"], ["id", "note", "qty"]


def schema_copies(version, columns, lsn, resent=False, sv=None, ddl="", skip=(), key=None):
    change = dict(version=version, replica_identity="default", resent=resent, columns=columns)
    if not resent:
        change.update(command_tag="ALTER TABLE", ddl=ddl)
    return [(Ev(SCH, "items", lsn, lsn, sv=version if sv is None else sv, schema_change=change),
             {"partition": p, "key": key}) for p in range(NP) if p not in skip]


x_c1 = Ev(C, "items", 0x1100, 0x1000, 1, key=row(id=1), after=row(id=1, note="a"), sv=1)
x_c2 = Ev(C, "items", 0x1100, 0x1000, 2, key=row(id=2), after=row(id=2, note="b"), sv=1)
x_u1 = Ev(U, "items", 0x2100, 0x2000, 1, key=row(id=1), after=row(id=1, note="a2", qty=5), sv=2)
x_c4 = Ev(C, "items", 0x2200, 0x2000, 2, key=row(id=4), after=row(id=4, note="d", qty=1), sv=2)
x_d2 = Ev(D, "items", 0x3100, 0x3000, 1, key=row(id=2), before=row(id=2), sv=2)
X_V1 = schema_copies(1, V1_COLS, 0x100, resent=True)
X_V2 = (schema_copies(2, V2_COLS, 0x1500, ddl="ALTER TABLE items ADD qty integer", skip=(0,))
        + schema_copies(2, V2_COLS, 0x1500, ddl="ALTER TABLE items ADD qty integer",
                        skip=(1, 2), key=b""))
X_V2_AGAIN = schema_copies(2, V2_COLS, 0x1500, resent=True)
X_REF = [x_c1, x_c2, x_u1, x_c4, x_d2]


def schema_workload(first=(), c4=x_c4, after=()):
    return (list(first) + X_V1 + [item(x_c1, 1), item(x_c2, 2)] + X_V2
            + [item(x_u1, 1), item(c4, 4)] + X_V2_AGAIN + [item(x_d2, 2), "tombstone"]
            + list(after))


xn = len(X_REF)
scenario("st_schema", schema_workload(), X_REF, 0,
         counts(reference=xn, consumed=xn + 1 + 9, unique=xn, duplicates=0, tombstones=1,
                schemas=9, bad_schemas=0))
# id=1's insert before any schema event on its partition
scenario("st_schema_early", [item(x_c1, 1)] + X_V1 + schema_workload()[len(X_V1) + 1:], X_REF, 1,
         counts(schemas=9, bad_schemas=1))
assert schema_workload()[len(X_V1)] == item(x_c1, 1)
# a column version 2 does not have
x_c4z = Ev(C, "items", 0x2200, 0x2000, 2, key=row(id=4), after=row(id=4, note="d", zzz=1), sv=2)
scenario("st_schema_column", schema_workload(c4=x_c4z), [x_c1, x_c2, x_u1, x_c4z, x_d2], 1,
         counts(schemas=9, bad_schemas=1))
# a change back to version 1 (not resent) on partition 0; a copy whose
# source.schema_version is not its version
scenario("st_schema_back", schema_workload(
    after=schema_copies(1, V1_COLS, 0x3500, skip=(1, 2))
    + schema_copies(2, V2_COLS, 0x3600, resent=True, sv=3, skip=(0, 2))), X_REF, 1,
         counts(schemas=10, bad_schemas=2))

with open(OUT + "/expect", "w") as f:
    f.write("".join(line + "\n" for line in expect))

# final state of st_clean: id=1 (update), id=30 (key change), id=4; id=2
# deleted, id=3 moved away, audit is keyless
with open(OUT + "/st_clean.final", "w") as f:
    f.write("".join(copy_hex(e.bytes) + "\n" for e in (upd1, upd3, ins4)))

# message counts per scenario, for consumers that stop at N messages
with open(OUT + "/counts", "w") as f:
    for name in scenarios:
        with open("%s/%s.produce" % (OUT, name)) as p:
            f.write("%s %d\n" % (name, sum(1 for _ in p)))
