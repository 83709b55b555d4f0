-- Bulk part of the fixed workload. psql runs in autocommit mode, and every
-- statement produced by \gexec is executed on its own, so each generated
-- statement is one transaction of exactly 1,000 row changes.
--
--   200 x INSERT of 1,000 rows   ids 1 .. 200000                200,000
--   100 x UPDATE of 1,000 rows   ids 1 .. 100000                100,000
--    40 x DELETE of 1,000 rows   ids 100001 .. 140000            40,000
--
-- The 10,000 single-row transactions (ids 200001 .. 210000) follow from
-- single_insert.pgbench. Values are deterministic functions of the id.

SELECT format($q$
INSERT INTO bench_orders (id, customer, amount, created_at, paid)
SELECT g,
       'customer_' || lpad((g %% 5000)::text, 4, '0'),
       ((g * 37) %% 100000) / 100.0,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
       g %% 3 = 0
  FROM generate_series(%s::bigint, %s::bigint) AS g$q$,
              b * 1000 + 1, b * 1000 + 1000)
  FROM generate_series(0, 199) AS b
 ORDER BY b
\gexec

SELECT format($q$
UPDATE bench_orders SET amount = amount + 1, paid = NOT paid
 WHERE id BETWEEN %s AND %s$q$,
              b * 1000 + 1, b * 1000 + 1000)
  FROM generate_series(0, 99) AS b
 ORDER BY b
\gexec

SELECT format($q$
DELETE FROM bench_orders WHERE id BETWEEN %s AND %s$q$,
              100000 + b * 1000 + 1, 100000 + b * 1000 + 1000)
  FROM generate_series(0, 39) AS b
 ORDER BY b
\gexec
