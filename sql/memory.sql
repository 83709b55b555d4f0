-- Decoding a million changes keeps the backend's memory flat: each change
-- works in a context reset after it, so the peak resident size after
-- decoding 1,000,000 changes stays within a few megabytes of the peak
-- after decoding the first 100,000 (a leak of even 20 bytes per change
-- would show as 18 MB).
SET client_min_messages = warning;
SET work_mem = '4MB';
CREATE TABLE churn (id int PRIMARY KEY, label text, amount numeric, at timestamptz);
SELECT 'init' FROM pg_create_logical_replication_slot('mem', 'cdc_plugin');
-- 500,000 inserts and 500,000 updates in transactions of 5,000 rows
DO $$
BEGIN
  FOR i IN 0 .. 99 LOOP
    INSERT INTO churn SELECT g, 'row ' || g, g * 1.5, '2024-01-01'::timestamptz + g * interval '1 second'
      FROM generate_series(i * 5000 + 1, (i + 1) * 5000) g;
    COMMIT;
  END LOOP;
  FOR i IN 0 .. 99 LOOP
    UPDATE churn SET amount = amount + 1 WHERE id > i * 5000 AND id <= (i + 1) * 5000;
    COMMIT;
  END LOOP;
END
$$;

-- Peak resident set size of this backend, in kB.
CREATE FUNCTION pg_temp.peak_rss_kb() RETURNS bigint LANGUAGE sql AS $$
  SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmHWM:\s+(\d+) kB'))[1]::bigint
$$;

SELECT count(*) AS decoded FROM pg_logical_slot_peek_binary_changes('mem', NULL, 100000);
SELECT pg_temp.peak_rss_kb() AS after_100k \gset
SELECT count(*) AS decoded FROM pg_logical_slot_peek_binary_changes('mem', NULL, NULL);
SELECT pg_temp.peak_rss_kb() AS after_1m \gset
SELECT :after_1m - :after_100k < 16384 AS memory_flat;

SELECT pg_drop_replication_slot('mem');
DROP TABLE churn;

-- to_json frees a large rendering buffer when the call is over, not at the
-- next call: a text of 6,000,000 control characters renders as 36 MB of
-- \u0001 escapes, and the next call (a small one) finds nothing of it left
-- to free: the resident size does not drop. (Comparing with the size
-- before the large call would measure the C library's heap, which keeps
-- freed memory of the other copies of the value.)
CREATE TABLE big_text (id int PRIMARY KEY, t text);
SELECT 'init' FROM pg_create_logical_replication_slot('big', 'cdc_plugin');
INSERT INTO big_text VALUES (1, repeat(chr(1), 6000000));
CREATE TABLE big_envelope AS
  SELECT data FROM pg_logical_slot_get_binary_changes('big', NULL, NULL);
SELECT pg_drop_replication_slot('big');
CREATE FUNCTION pg_temp.rss_kb() RETURNS bigint LANGUAGE sql AS $$
  SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmRSS:\s+(\d+) kB'))[1]::bigint
$$;
SELECT length(cdc_plugin.to_json(data)->'after'->>'t') AS rendered_chars FROM big_envelope;
SELECT pg_temp.rss_kb() AS after_large \gset
SELECT cdc_plugin.to_json('\x0806'::bytea)->>'op' AS next_call;
SELECT pg_temp.rss_kb() AS after_next \gset
SELECT :after_large - :after_next < 8192 AS freed_after_the_large_call;
DROP TABLE big_envelope;
DROP TABLE big_text;
