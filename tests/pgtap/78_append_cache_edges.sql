-- The review of what an append keeps per backend (pgext/src/history_append.c:
-- the shape, the last id it wrote): the cases 78_append_cache.sql leaves
-- out. A write to history_rows by a statement that began before the append
-- before (a modifying CTE or an INSERT ... SELECT around the appends) uses
-- that statement's command id and leaves the command counter as the append
-- left it; the next append must still read the id it wrote, as the probe of
-- the primary key does. And the current user changing between appends in
-- one transaction (SET ROLE, SECURITY DEFINER), row security enabled after a
-- shape was kept, appends in consecutive statements of one transaction.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE FUNCTION pg_temp.run(n integer) RETURNS uuid LANGUAGE sql AS $$
    SELECT ('00000000-0000-0000-0000-00000000e7' || lpad(to_hex(n), 2, '0'))::uuid
$$;
CREATE FUNCTION pg_temp.ids(run uuid) RETURNS bigint[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(event_id ORDER BY event_id), '{}') FROM durable.history_rows WHERE run_id = run
$$;
-- Writes of a statement that began before the last append.
SELECT is(durable._append(pg_temp.run(1), 'MarkerRecorded', '{}'), 1::bigint, '(a first append)');
SELECT is(pg_temp.error_of(format($q$
    WITH a AS MATERIALIZED (SELECT durable._append(%1$L, 'MarkerRecorded', '{}') AS id),
         i AS (INSERT INTO durable.history_rows SELECT %1$L, (SELECT id FROM a) + 1, 25, now(), '{}' RETURNING event_id)
    SELECT (SELECT id FROM a), (SELECT event_id FROM i), durable._append(%1$L, 'MarkerRecorded', '{}')
    $q$, pg_temp.run(1))), NULL,
    'an append, a modifying CTE''s insert of the next id, an append, in one statement: no duplicate');
SELECT is(pg_temp.ids(pg_temp.run(1)), ARRAY[1, 2, 3, 4]::bigint[], '(the last append followed the CTE''s event)');

CREATE FUNCTION pg_temp.append_twice(run uuid) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    a bigint;
BEGIN
    a := durable._append(run, 'MarkerRecorded', '{}');
    RETURN durable._append(run, 'MarkerRecorded', '{}');
END
$$;
-- each row of the INSERT appends two events (the second with the kept id),
-- then the INSERT writes the id after them, with its own older command id
SELECT is(pg_temp.error_of(format($q$
    INSERT INTO durable.history_rows
    SELECT %1$L, pg_temp.append_twice(%1$L) + 1, 25, now(), '{}' FROM generate_series(1, 3)
    $q$, pg_temp.run(2))), NULL,
    'an INSERT ... SELECT whose rows append between its inserts: no duplicate');
SELECT is(pg_temp.ids(pg_temp.run(2)), (SELECT array_agg(g::bigint) FROM generate_series(1, 9) g),
          '(each append followed the insert before it)');

-- The same where pgstat counts nothing (track_counts off): no kept id.
SET LOCAL track_counts = off;
SELECT is(pg_temp.error_of(format($q$
    WITH a AS MATERIALIZED (SELECT durable._append(%1$L, 'MarkerRecorded', '{}') AS id),
         i AS (INSERT INTO durable.history_rows SELECT %1$L, (SELECT id FROM a) + 1, 25, now(), '{}' RETURNING event_id)
    SELECT (SELECT id FROM a), (SELECT event_id FROM i), durable._append(%1$L, 'MarkerRecorded', '{}')
    $q$, pg_temp.run(1))), NULL, 'with track_counts off, the same statement: no duplicate');
RESET track_counts;
SELECT is(pg_temp.ids(pg_temp.run(1)), ARRAY[1, 2, 3, 4, 5, 6, 7]::bigint[], '(and no gap)');

-- The kept id is used: appends in a row probe history_pkey once (a kept id
-- that was never taken would pass every case above).
CREATE TEMP TABLE probes AS SELECT pg_stat_get_xact_numscans('durable.history_pkey'::regclass) AS before;
DO $$
BEGIN
    FOR i IN 1..5 LOOP
        PERFORM durable._append('00000000-0000-0000-0000-00000000e7ff', 'MarkerRecorded', '{}');
    END LOOP;
END
$$;
SELECT is(pg_stat_get_xact_numscans('durable.history_pkey'::regclass) - (SELECT before FROM probes), 1::bigint,
          'five appends in a row to one run probe history_pkey once');
SELECT is(pg_temp.ids('00000000-0000-0000-0000-00000000e7ff'), ARRAY[1, 2, 3, 4, 5]::bigint[], '(and take the next ids)');

-- Consecutive statements of one transaction (the command counter as the
-- append left it), with and without a write in between.
SELECT is(durable._append(pg_temp.run(3), 'MarkerRecorded', '{}'), 1::bigint, '(a first append)');
SELECT is(durable._append(pg_temp.run(3), 'MarkerRecorded', '{}'), 2::bigint, 'the next statement takes the next id');
DELETE FROM durable.history_rows WHERE run_id = pg_temp.run(3) AND event_id = 2;
SELECT is(durable._append(pg_temp.run(3), 'MarkerRecorded', '{}'), 2::bigint, 'after a DELETE statement, the id it freed');

-- The current user changing between appends of one transaction.
CREATE ROLE durable_test_edges_owner;
CREATE ROLE durable_test_edges_caller;
GRANT USAGE ON SCHEMA durable TO durable_test_edges_owner, durable_test_edges_caller;
GRANT SELECT ON durable.clock TO durable_test_edges_owner;
GRANT EXECUTE ON FUNCTION durable._append(uuid, text, jsonb) TO durable_test_edges_owner, durable_test_edges_caller;
GRANT SELECT, INSERT ON durable.history_rows TO durable_test_edges_owner;
GRANT EXECUTE ON FUNCTION durable._event_pack(uuid, bigint, text, jsonb) TO durable_test_edges_owner;
CREATE SCHEMA durable_test_edges;
CREATE FUNCTION durable_test_edges.append_as_owner(run uuid) RETURNS bigint LANGUAGE sql SECURITY DEFINER AS $$
    SELECT durable._append(run, 'MarkerRecorded', '{}')
$$;
ALTER FUNCTION durable_test_edges.append_as_owner(uuid) OWNER TO durable_test_edges_owner;
GRANT USAGE ON SCHEMA durable_test_edges TO durable_test_edges_caller;
GRANT EXECUTE ON FUNCTION durable_test_edges.append_as_owner(uuid) TO durable_test_edges_caller;

SELECT is(durable._append(pg_temp.run(4), 'MarkerRecorded', '{}'), 1::bigint, '(the superuser appends)');
SET LOCAL ROLE durable_test_edges_caller;
SELECT is(durable_test_edges.append_as_owner(pg_temp.run(4)), 2::bigint,
          'a role without the rights appends through a SECURITY DEFINER function of one with them');
SELECT is((pg_temp.error_of(format($q$SELECT durable._append(%L, 'MarkerRecorded', '{}')$q$, pg_temp.run(4))))[1:2],
          ARRAY['42501', 'permission denied for table history_rows'], 'right after, by itself it is refused');
SELECT is(durable_test_edges.append_as_owner(pg_temp.run(4)), 3::bigint, '(and through the function again, the next id)');
RESET ROLE;
SELECT is(durable._append(pg_temp.run(4), 'MarkerRecorded', '{}'), 4::bigint, 'the role reset, the next id');

-- The shape is made again for each role, in a memory context of its own
-- that is emptied first: made a thousand times, it takes no more than once.
CREATE FUNCTION pg_temp.append_as_roles(n integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..n LOOP
        SET LOCAL ROLE durable_test_edges_owner;
        PERFORM durable._append(pg_temp.run(7), 'MarkerRecorded', '{}');
        RESET ROLE;
        PERFORM durable._append(pg_temp.run(7), 'MarkerRecorded', '{}');
    END LOOP;
END
$$;
SELECT pg_temp.append_as_roles(2);
CREATE TEMP TABLE shape_memory AS
SELECT total_bytes, used_bytes FROM pg_backend_memory_contexts WHERE ident = 'durable history_rows shape';
SELECT pg_temp.append_as_roles(1000);
SELECT ok((SELECT m.total_bytes <= k.total_bytes AND m.used_bytes <= k.used_bytes
             FROM pg_backend_memory_contexts m, shape_memory k WHERE m.ident = 'durable history_rows shape'),
          'the shape made a thousand times over takes no more memory than made once');
SELECT is((SELECT max(event_id) FROM durable.history_rows WHERE run_id = pg_temp.run(7)), 2004::bigint,
          '(its appends were made)');

-- Row security enabled after a shape was kept: the policy is applied.
ALTER TABLE durable.history_rows ENABLE ROW LEVEL SECURITY;
CREATE POLICY history_rows_test_edges_read ON durable.history_rows FOR SELECT USING (true);
CREATE POLICY history_rows_test_edges_write ON durable.history_rows FOR INSERT WITH CHECK (run_id = pg_temp.run(5));
SET LOCAL ROLE durable_test_edges_caller;
SELECT is(durable_test_edges.append_as_owner(pg_temp.run(5)), 1::bigint, 'with row security enabled, an append its policy allows is made');
SELECT is((pg_temp.error_of(format($q$SELECT durable_test_edges.append_as_owner(%L)$q$, pg_temp.run(6))))[1], '42501',
          'one it does not allow is refused');
RESET ROLE;
SELECT is(pg_temp.ids(pg_temp.run(6)), '{}'::bigint[], '(and nothing was written)');

SELECT * FROM finish();
ROLLBACK;
