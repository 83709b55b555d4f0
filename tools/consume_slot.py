#!/usr/bin/python3
"""Example consumer: stream a cdc_plugin slot over the replication protocol.

Reads envelopes from a logical replication slot created with the cdc_plugin
output plugin, decodes each one with the classes protoc generates from
src/proto/cdc/v1/envelope.proto, prints it as one JSON line, and confirms
the position back to the server after printing (so a restart re-reads, never
skips). A starting point for your own consumer; Debian packages:
python3-psycopg2, python3-protobuf, protobuf-compiler.

    tools/consume_slot.py --dsn 'dbname=shop' --slot shop
    tools/consume_slot.py --dsn 'dbname=shop' --slot shop --create --max-events 10 \\
        --option include-transaction-events=true
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import psycopg2
import psycopg2.extras

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PROTO_DIR = os.path.join(HERE, "..", "src", "proto")
OPS = {1: "c", 2: "u", 3: "d", 4: "r", 5: "t", 6: "m", 7: "begin", 8: "commit",
       9: "snapshot_begin", 10: "snapshot_end", 11: "gap", 12: "schema"}


def load_envelope_module(proto_dir):
    """Compiles envelope.proto with protoc into a temporary directory and imports it."""
    out = tempfile.mkdtemp(prefix="cdc_proto_")
    subprocess.run(["protoc", "-I", proto_dir, "--python_out", out,
                    os.path.join(proto_dir, "cdc", "v1", "envelope.proto")], check=True)
    sys.path.insert(0, out)
    from cdc.v1 import envelope_pb2  # noqa: E402 (generated just now)
    return envelope_pb2


def value_to_python(value):
    """A cdc.v1.Value as a plain Python value (None for SQL NULL)."""
    kind = value.WhichOneof("kind")
    if kind is None:
        return None
    v = getattr(value, kind)
    if kind == "array_value":
        return {"dims": list(v.dims), "elements": [value_to_python(e) for e in v.elements]}
    if kind == "record_value":
        return row_to_dict(v)
    if kind in ("timetz_value", "interval_value"):
        return {f.name: getattr(v, f.name) for f in v.DESCRIPTOR.fields}
    if kind in ("bytes_value", "uuid_value"):
        return v.hex()
    return v


def row_to_dict(row):
    """A cdc.v1.Row as {column: value}; unchanged TOAST values are left out."""
    return {c.name: value_to_python(c.value) for c in row.columns if not c.unchanged_toast}


def envelope_to_dict(env):
    """The fields a consumer usually wants, typed as the envelope carries them."""
    out = {"op": OPS.get(env.op, env.op),
           "table": f"{env.source.schema}.{env.source.table}" if env.source.table else None,
           "lsn": env.source.lsn,
           "xid": env.source.xid}
    for part in ("before", "after", "key"):
        if env.HasField(part):
            out[part] = row_to_dict(getattr(env, part))
    toast = [c.name for c in env.after.columns if c.unchanged_toast]
    if toast:
        out["unchanged_toast"] = toast
    if env.HasField("message"):
        out["message"] = {"prefix": env.message.prefix, "content": env.message.content.hex()}
    if env.HasField("truncate"):
        out["truncate"] = {"cascade": env.truncate.cascade,
                           "restart_identity": env.truncate.restart_identity}
    if env.source.schema_version:
        out["schema_version"] = env.source.schema_version
    if env.HasField("schema_change"):
        # include-schema-events: the table's shape from this point on
        sc = env.schema_change
        out["schema_change"] = {
            "version": sc.version, "ddl": sc.ddl or None, "resent": sc.resent,
            "dropped": sc.dropped, "replica_identity": sc.replica_identity,
            "renamed_from": f"{sc.renamed_from_schema}.{sc.renamed_from_table}"
                            if sc.renamed_from_table else None,
            "columns": [{"name": c.name, "type": c.type, "not_null": c.not_null, "key": c.key}
                        for c in sc.columns]}
    return out


class Done(Exception):
    """Raised from the stream callback once --max-events envelopes were handled."""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", required=True, help="libpq connection string of the database")
    ap.add_argument("--slot", required=True, help="replication slot name")
    ap.add_argument("--create", action="store_true", help="create the slot if it does not exist")
    ap.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                    help="decoding option, e.g. include-tables=public.*")
    ap.add_argument("--max-events", type=int, default=0, help="stop after N envelopes (0: never)")
    ap.add_argument("--proto-dir", default=DEFAULT_PROTO_DIR, help="directory holding cdc/v1/envelope.proto")
    args = ap.parse_args()

    envelope_pb2 = load_envelope_module(args.proto_dir)
    options = dict(o.split("=", 1) for o in args.option)

    conn = psycopg2.connect(args.dsn, connection_factory=psycopg2.extras.LogicalReplicationConnection)
    cur = conn.cursor()
    if args.create:
        try:
            cur.create_replication_slot(args.slot, output_plugin="cdc_plugin")
        except psycopg2.errors.DuplicateObject:
            pass
    cur.start_replication(slot_name=args.slot, decode=False, options=options)

    seen = 0
    handled_lsn = 0

    def handle(msg):
        nonlocal seen, handled_lsn
        env = envelope_pb2.Envelope()
        env.ParseFromString(msg.payload)
        print(json.dumps(envelope_to_dict(env), default=str), flush=True)
        # confirm only what was handled: after a restart the server re-sends
        # from the last confirmed transaction (at-least-once, never a gap)
        handled_lsn = msg.data_start
        msg.cursor.send_feedback(flush_lsn=handled_lsn)
        seen += 1
        if args.max_events and seen >= args.max_events:
            raise Done()

    try:
        cur.consume_stream(handle)
    except (Done, KeyboardInterrupt):
        pass
    finally:
        if handled_lsn:
            cur.send_feedback(flush_lsn=handled_lsn, force=True)
        conn.close()


if __name__ == "__main__":
    main()
