-- Shared test helpers, created once for the suites that follow.
SET client_min_messages = warning;
CREATE EXTENSION cdc_plugin;
CREATE SCHEMA regress;

-- Consumes a slot and shows one line per envelope: the parts of the event
-- that do not change from run to run (LSNs, xids and times are checked
-- separately in basic_dml and transaction_events).
CREATE FUNCTION regress.changes(slot name, VARIADIC options text[] DEFAULT '{}')
RETURNS TABLE (op text, tbl text, key jsonb, before jsonb, after jsonb, extra jsonb)
LANGUAGE sql AS $$
  SELECT e->>'op',
         (e->'source'->>'schema') || '.' || (e->'source'->>'table'),
         e->'key', e->'before', e->'after',
         nullif(e - '{op,source,key,before,after,transaction,ts_ms}'::text[], '{}')
    FROM pg_logical_slot_get_binary_changes(slot, NULL, NULL, VARIADIC options) c,
         LATERAL cdc_plugin.to_json(c.data) e
$$;

-- Rebuilds every inserted row of tbl from its envelope with
-- jsonb_populate_record() and lists the columns whose value differs from
-- the row in the table. Values equal by the type's = must also have the
-- same text (= holds between the floats -0 and 0). Types without an
-- equality operator are compared as text; json as jsonb (json keeps
-- insignificant whitespace, JSON does not).
CREATE FUNCTION regress.round_trip_mismatches(tbl regclass, slot name)
RETURNS TABLE (row_id int, column_name name, source text, rebuilt text)
LANGUAGE plpgsql AS $$
DECLARE
  col record;
  lhs text;
  rhs text;
  rebuilt text := format(
    '(SELECT (jsonb_populate_record(NULL::%s, after)).* FROM rt_after)', tbl);
BEGIN
  DROP TABLE IF EXISTS rt_after;
  CREATE TEMP TABLE rt_after AS
    SELECT e->'after' AS after
      FROM pg_logical_slot_get_binary_changes(slot, NULL, NULL) c,
           LATERAL cdc_plugin.to_json(c.data) e
     WHERE e->>'op' = 'c';
  FOR col IN
    SELECT a.attname, format_type(a.atttypid, NULL) AS typname
      FROM pg_attribute a
     WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> 'id'
     ORDER BY a.attnum
  LOOP
    lhs := format('s.%I', col.attname);
    rhs := format('r.%I', col.attname);
    IF col.typname IN ('json', 'json[]') THEN
      lhs := lhs || '::jsonb' || CASE WHEN col.typname = 'json[]' THEN '[]' ELSE '' END;
      rhs := rhs || '::jsonb' || CASE WHEN col.typname = 'json[]' THEN '[]' ELSE '' END;
    END IF;
    BEGIN
      RETURN QUERY EXECUTE format(
        'SELECT s.id, %L::name, s.%I::text, r.%I::text FROM %s s JOIN %s r USING (id)
          WHERE %s IS DISTINCT FROM %s', col.attname, col.attname, col.attname,
        tbl, rebuilt, lhs, rhs);
      RETURN QUERY EXECUTE format(
        'SELECT s.id, %L::name, s.%I::text, r.%I::text FROM %s s JOIN %s r USING (id)
          WHERE %s IS NOT DISTINCT FROM %s AND %s::text IS DISTINCT FROM %s::text',
        col.attname, col.attname, col.attname, tbl, rebuilt, lhs, rhs, lhs, rhs);
    EXCEPTION WHEN undefined_function THEN
      -- no equality operator (point, xml, ...): compare the text forms
      RETURN QUERY EXECUTE format(
        'SELECT s.id, %L::name, s.%I::text, r.%I::text FROM %s s JOIN %s r USING (id)
          WHERE %s::text IS DISTINCT FROM %s::text', col.attname, col.attname, col.attname,
        tbl, rebuilt, lhs, rhs);
    END;
  END LOOP;
END
$$;
