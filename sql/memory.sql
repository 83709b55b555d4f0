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
