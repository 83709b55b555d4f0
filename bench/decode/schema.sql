-- Schema for the decode benchmark. Run once, BEFORE the replication slots
-- are created (DDL is not decoded, so none of this shows up in any slot).

CREATE TABLE bench_orders (
    id          bigint PRIMARY KEY,
    customer    text,
    amount      numeric(12,2),
    created_at  timestamptz,
    paid        bool
);

-- pgoutput only emits changes of published tables.
CREATE PUBLICATION bench_pub FOR ALL TABLES;

-- Decode the WAL retained by a slot, up to p_upto, with a peek function (the slot
-- does not advance, so every run and every plugin sees identical input) and
-- time it inside the server with clock_timestamp(). Only one aggregate row
-- leaves the server, so client transfer is not part of the measurement.
-- The output rows are consumed by count() and sum(octet_length()), which
-- every plugin pays for the same way.
CREATE FUNCTION bench_decode(p_slot name, p_upto pg_lsn, p_binary bool, p_opts text[],
                             OUT out_rows bigint, OUT out_bytes bigint,
                             OUT secs float8)
LANGUAGE plpgsql AS $fn$
DECLARE
    t0 timestamptz;
BEGIN
    t0 := clock_timestamp();
    IF p_binary THEN
        SELECT count(*), coalesce(sum(octet_length(data)), 0)
          INTO out_rows, out_bytes
          FROM pg_logical_slot_peek_binary_changes(p_slot, p_upto, NULL,
                                                   VARIADIC p_opts);
    ELSE
        SELECT count(*), coalesce(sum(octet_length(data)), 0)
          INTO out_rows, out_bytes
          FROM pg_logical_slot_peek_changes(p_slot, p_upto, NULL,
                                            VARIADIC p_opts);
    END IF;
    secs := extract(epoch FROM clock_timestamp() - t0);
END
$fn$;
