#!/usr/bin/python3
"""Example consumer: rebuild tables from cdc_plugin's Kafka topics, gaps included.

Reads the lines that `cdc_kafka_consume consume --format json` prints, from a
file or stdin, one Kafka message each:

    {"topic": ..., "partition": ..., "offset": ..., "key": ROW|null, "value": ENVELOPE|null}

and prints the rebuilt tables, one JSON object per row:

    {"schema": "public", "table": "orders", "after": {"id": 1, ...}}

The rule (README, "Gaps: what a consumer does"), per partition in offset order:

  c, u, r   set the row of their key (a row seen again is fresh); d removes it,
            and so does a tombstone; t empties the table.
  gap       changes of the table were lost (the worker's replication slot was
            invalidated): mark the table's current rows stale.
  snapshot_end of a snapshot that began after the gap (on that partition):
            drop the table's rows still stale. The snapshot read every row
            the table has, so a stale row it did not read was deleted while
            changes were lost.
  A gap with "resnapshot": false has no snapshot after it: the table did not
  change while changes were lost, so its stale rows are correct and stay.

Per-partition processing is enough: all events of a key are on one partition
and every partition gets its own gap and markers. A table without a key
(null Kafka key) has its rows on any partition, so its events are applied in
position order instead (commit_lsn, then total_order) as a multiset of rows;
its deletes find their row by the whole old row (REPLICA IDENTITY FULL).
Events sent again (at-least-once) are recognised by their position.
A row stale since a gap stays stale since that gap: only a snapshot that began
after the gap that first marked it may drop it.

    tools/kafka/cdc_kafka_consume consume --brokers kafka-1:9092 --topic-prefix shop \\
        --format json --idle-exit 5000 | tools/gap_consumer.py
"""
import json
import sys

ROW_OPS = ("c", "u", "d", "r")
RANK = {"gap": 0, "snapshot_begin": 1, "snapshot_end": 3}  # at one position; rows are 2


def lsn(text):
    """pg_lsn text ("16/B374D848") as a number."""
    high, low = text.split("/")
    return int(high, 16) << 32 | int(low, 16)


def position(v):
    """(commit_lsn, total_order): where an event sorts among its table's (0 for r,
    snapshot markers and gaps, which have no transaction)."""
    return (lsn(v["source"]["commit_lsn"]), v.get("transaction", {}).get("total_order", 0))


def rebuild_keyed(messages):
    """Rows of a table with a key, from its messages in offset order per partition."""
    rows = {}      # key -> {"after": row or None if deleted, "pos", "partition", "stale"}
    applied = set()  # (partition, gap id): a gap sent again is applied once
    begun = {}     # (partition, snapshot id) -> offset of its first snapshot_begin
    truncated = (0, 0)
    for m in messages:
        v, p, offset = m["value"], m["partition"], m["offset"]
        if v is None:  # tombstone: its key was deleted just before
            row = rows.get(json.dumps(m["key"], sort_keys=True))
            if row is not None:
                row["after"] = None
            continue
        op = v["op"]
        if op == "gap":
            if (p, v["gap"]["id"]) not in applied:
                applied.add((p, v["gap"]["id"]))
                for row in rows.values():
                    if row["partition"] == p and row["after"] is not None and row["stale"] is None:
                        row["stale"] = offset
        elif op == "snapshot_begin":
            begun.setdefault((p, v["source"]["snapshot_id"]), offset)
        elif op == "snapshot_end":
            began = begun.get((p, v["source"]["snapshot_id"]))
            if began is not None:
                for key in [k for k, row in rows.items() if row["partition"] == p
                            and row["stale"] is not None and row["stale"] < began]:
                    del rows[key]
        elif op == "t":
            truncated = max(truncated, position(v))
        elif op in ROW_OPS:
            key = json.dumps(v["key"], sort_keys=True)
            pos = position(v)
            if key in rows and pos < rows[key]["pos"]:
                continue  # an older change sent again
            after = None if op == "d" else v["after"]
            if v.get("unchanged_toast") and key in rows and rows[key]["after"] is not None:
                # values the WAL does not carry are the row's previous ones
                after = dict(after, **{c: rows[key]["after"].get(c) for c in v["unchanged_toast"]})
            rows[key] = {"after": after, "pos": pos, "partition": p, "stale": None}
            # an update that changed the key: its before holds the old key
            if op == "u" and v["before"] and any(v["before"].get(c) != x for c, x in v["key"].items()):
                old = json.dumps({c: v["before"].get(c) for c in v["key"]}, sort_keys=True)
                rows[old] = {"after": None, "pos": pos, "partition": p, "stale": None}
    return [row["after"] for row in rows.values()
            if row["after"] is not None and row["pos"] >= truncated]


def rebuild_keyless(messages):
    """Rows of a table without a key: its events in position order, a multiset."""
    live = []      # [row, step of the gap that made it stale, or None]
    seen = set()   # gaps, snapshot ends and changes already applied
    begun = {}     # snapshot id -> step of its first snapshot_begin
    events = sorted((m["value"] for m in messages if m["value"] is not None),
                    key=lambda v: position(v) + (RANK.get(v["op"], 2),))
    for step, v in enumerate(events, 1):
        op = v["op"]
        if op == "gap":
            if ("gap", v["gap"]["id"]) not in seen:
                seen.add(("gap", v["gap"]["id"]))
                for row in live:
                    if row[1] is None:
                        row[1] = step
        elif op == "snapshot_begin":
            begun.setdefault(v["source"]["snapshot_id"], step)
        elif op == "snapshot_end":
            sid = v["source"]["snapshot_id"]
            if ("end", sid) not in seen and sid in begun:
                seen.add(("end", sid))
                live = [row for row in live if row[1] is None or row[1] > begun[sid]]
        elif op == "t":
            live = []
        elif op in ROW_OPS:
            if op != "r":  # an r has no identity: identical rows are legitimate
                if ("change",) + position(v) in seen:
                    continue
                seen.add(("change",) + position(v))
            if op in ("u", "d"):
                found = [i for i, row in enumerate(live) if row[0] == v["before"]]
                if found:
                    del live[found[-1]]  # the newest copy: a fresh one before a stale one
                else:
                    print("gap_consumer: %s of a row not in the table" % op, file=sys.stderr)
            if op != "d":
                live.append([v["after"], None])
    return [row[0] for row in live]


def main():
    if len(sys.argv) > 2 or sys.argv[1:] in (["-h"], ["--help"]):
        sys.exit(__doc__)
    source = open(sys.argv[1]) if len(sys.argv) == 2 else sys.stdin
    tables = {}    # (schema, table) -> its messages in file order
    by_topic = {}  # topic -> (schema, table), for tombstones
    for n, line in enumerate(source, 1):
        if not line.strip():
            continue
        m = json.loads(line)  # numbers in json columns become floats: double precision
        if "value_error" in m:
            print("gap_consumer: line %d: %s" % (n, m["value_error"]), file=sys.stderr)
            continue
        v = m["value"]
        if v is None:
            name = by_topic.get(m["topic"])
        elif v["source"].get("table"):
            name = (v["source"]["schema"], v["source"]["table"])
            by_topic[m["topic"]] = name
        else:
            name = None  # a logical message, begin, commit: no table
        if name is not None:
            tables.setdefault(name, []).append(m)
    for (schema, table), messages in sorted(tables.items()):
        keyed = any(m["value"] and m["value"]["op"] in ROW_OPS and m["value"]["key"]
                    for m in messages)
        for after in (rebuild_keyed if keyed else rebuild_keyless)(messages):
            print(json.dumps({"schema": schema, "table": table, "after": after}))


if __name__ == "__main__":
    main()
