-- What an append keeps per backend (pgext/src/history_append.c,
-- HistoryShape): history_rows's oid, whether it is plain for the current
-- role, its indexes and their IndexInfos. Each case changes what was kept
-- after an append of this session kept it, then appends again: a kept
-- shape that was not forgotten would write past a new index, miss a
-- trigger, open a dropped index or table, or let a role whose right was
-- revoked append. Which way an append went shows in track_functions (the
-- statement calls durable._event_pack, the C path does not).
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
SET LOCAL track_functions = 'all';

CREATE FUNCTION pg_temp.run(n integer) RETURNS uuid LANGUAGE sql AS $$
    SELECT ('00000000-0000-0000-0000-0000000079' || lpad(to_hex(n), 2, '0'))::uuid
$$;
CREATE FUNCTION pg_temp.ids(run uuid) RETURNS bigint[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(event_id ORDER BY event_id), '{}') FROM durable.history_rows WHERE run_id = run
$$;
CREATE FUNCTION pg_temp.pack_calls() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(pg_stat_get_xact_function_calls('durable._event_pack(uuid, bigint, text, jsonb)'::regprocedure), 0)
$$;
CREATE FUNCTION pg_temp.append_sql(run uuid, type text DEFAULT 'MarkerRecorded') RETURNS text LANGUAGE sql AS $$
    SELECT format($q$SELECT durable._append(%L, %L, '{}')$q$, run, type)
$$;
CREATE TEMP TABLE calls (what text, n bigint);
CREATE EXTENSION IF NOT EXISTS amcheck;

-- the shape is kept by this first append
SELECT is(durable._append(pg_temp.run(1), 'MarkerRecorded', '{}'), 1::bigint, 'an append keeps the shape');
INSERT INTO calls SELECT 'kept', pg_temp.pack_calls();
SELECT is(durable._append(pg_temp.run(1), 'MarkerRecorded', '{}'), 2::bigint, 'the next one uses it');
SELECT is(pg_temp.pack_calls(), (SELECT n FROM calls WHERE what = 'kept'), '(written directly)');

-- An index added: the next append writes its entry.
CREATE INDEX history_rows_test_by_time ON durable.history_rows (event_time, event_code);
SELECT is(durable._append_at(pg_temp.run(1), 'MarkerRecorded', '{}', '1990-01-01 00:00:00+00'), 3::bigint,
          'with an index added, an append is made');
SELECT lives_ok($$SELECT bt_index_check('durable.history_rows_test_by_time', true)$$,
                'and the new index holds its row (amcheck, heapallindexed)');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*) FROM durable.history_rows WHERE event_time = '1990-01-01 00:00:00+00'), 1::bigint,
          '(found through it)');
RESET enable_seqscan;
RESET enable_bitmapscan;

-- A unique index added: the next append is checked against it. (The table
-- emptied first, so that the index can be made; an append keeps the shape
-- again after the truncation's own invalidation.)
TRUNCATE durable.history_rows;
SELECT is(durable._append(pg_temp.run(4), 'MarkerRecorded', '{}'), 1::bigint, '(truncated, an append keeps the shape again)');
CREATE UNIQUE INDEX history_rows_test_unique ON durable.history_rows (run_id, event_code);
SELECT is((pg_temp.error_as(current_user, pg_temp.append_sql(pg_temp.run(4))))[1], '23505',
          'with a unique index added, an append that breaks it is refused');
SELECT is(pg_temp.ids(pg_temp.run(4)), ARRAY[1]::bigint[], 'and nothing was written');

-- Indexes dropped: the next append opens none of them.
DROP INDEX durable.history_rows_test_unique;
DROP INDEX durable.history_rows_test_by_time;
SELECT is(durable._append(pg_temp.run(1), 'MarkerRecorded', '{}'), 1::bigint, 'with the indexes dropped, an append is made');
SELECT lives_ok($$SELECT bt_index_parent_check('durable.history_pkey', true)$$, 'and history_pkey holds every row');

-- An index made in a savepoint that is rolled back: the shape kept with it
-- is forgotten with it.
SAVEPOINT with_index;
CREATE UNIQUE INDEX history_rows_test_unique ON durable.history_rows (run_id, event_code);
SELECT is(durable._append(pg_temp.run(2), 'MarkerRecorded', '{}'), 1::bigint, '(an append inside the savepoint keeps its index)');
ROLLBACK TO SAVEPOINT with_index;
SELECT is(durable._append(pg_temp.run(2), 'MarkerRecorded', '{}'), 1::bigint,
          'rolled back, the index is gone from the shape: the same event code appends again');
SELECT is(durable._append(pg_temp.run(2), 'MarkerRecorded', '{}'), 2::bigint, '(and again)');

-- An expression index sends appends to the statement; dropped, they come back.
CREATE INDEX history_rows_test_expression ON durable.history_rows ((event_code + 0));
INSERT INTO calls SELECT 'expression', pg_temp.pack_calls();
SELECT is(durable._append(pg_temp.run(1), 'MarkerRecorded', '{}'), 2::bigint, 'with an expression index, an append is made');
SELECT is(pg_temp.pack_calls(), (SELECT n + 1 FROM calls WHERE what = 'expression'), '(by the statement)');
DROP INDEX durable.history_rows_test_expression;
INSERT INTO calls SELECT 'no expression', pg_temp.pack_calls();
SELECT is(durable._append(pg_temp.run(1), 'MarkerRecorded', '{}'), 3::bigint, 'dropped, an append is made');
SELECT is(pg_temp.pack_calls(), (SELECT n FROM calls WHERE what = 'no expression'), '(directly again)');

-- A row trigger added: it fires.
CREATE TEMP TABLE seen (event_id bigint);
CREATE FUNCTION pg_temp.seen_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO seen VALUES (NEW.event_id);
    RETURN NEW;
END
$$;
CREATE TRIGGER history_rows_test_row BEFORE INSERT ON durable.history_rows FOR EACH ROW EXECUTE FUNCTION pg_temp.seen_row();
SELECT is(durable._append(pg_temp.run(1), 'MarkerRecorded', '{}'), 4::bigint, 'with a row trigger added, an append is made');
SELECT is((SELECT array_agg(event_id) FROM seen), ARRAY[4::bigint], 'and the trigger saw it');
DROP TRIGGER history_rows_test_row ON durable.history_rows;

-- Rights are kept per role, and forgotten when a grant changes.
CREATE ROLE durable_test_cache_appender;
CREATE ROLE durable_test_cache_group;
CREATE ROLE durable_test_cache_member IN ROLE durable_test_cache_group;
GRANT USAGE ON SCHEMA durable TO durable_test_cache_appender, durable_test_cache_member;
GRANT EXECUTE ON FUNCTION durable._append(uuid, text, jsonb) TO durable_test_cache_appender, durable_test_cache_member;
GRANT SELECT, INSERT ON durable.history_rows TO durable_test_cache_appender, durable_test_cache_group;
GRANT EXECUTE ON FUNCTION durable._event_pack(uuid, bigint, text, jsonb) TO durable_test_cache_appender, durable_test_cache_group;
CREATE ROLE durable_test_cache_none;
GRANT USAGE ON SCHEMA durable TO durable_test_cache_none;
GRANT EXECUTE ON FUNCTION durable._append(uuid, text, jsonb) TO durable_test_cache_none;

SELECT is(pg_temp.error_as('durable_test_cache_appender', pg_temp.append_sql(pg_temp.run(3))), NULL,
          'a role with the rights appends (and its shape is kept)');
SELECT is(pg_temp.error_as('durable_test_cache_none', pg_temp.append_sql(pg_temp.run(3))),
          ARRAY['42501', 'permission denied for table history_rows'],
          'right after, a role without them is refused: the shape is kept per role');
REVOKE INSERT ON durable.history_rows FROM durable_test_cache_appender;
SELECT is(pg_temp.error_as('durable_test_cache_appender', pg_temp.append_sql(pg_temp.run(3))),
          ARRAY['42501', 'permission denied for table history_rows'],
          'INSERT on history_rows revoked, the role is refused');
GRANT INSERT ON durable.history_rows TO durable_test_cache_appender;
SELECT is(pg_temp.error_as('durable_test_cache_appender', pg_temp.append_sql(pg_temp.run(3))), NULL, 'granted again, it appends');
REVOKE EXECUTE ON FUNCTION durable._event_pack(uuid, bigint, text, jsonb) FROM durable_test_cache_appender;
SELECT is(pg_temp.error_as('durable_test_cache_appender', pg_temp.append_sql(pg_temp.run(3))),
          ARRAY['42501', 'permission denied for function _event_pack'],
          'EXECUTE on _event_pack revoked, the role is refused');
SELECT is(pg_temp.error_as('durable_test_cache_member', pg_temp.append_sql(pg_temp.run(3))), NULL,
          'a member of a role with the rights appends');
REVOKE durable_test_cache_group FROM durable_test_cache_member;
SELECT is(pg_temp.error_as('durable_test_cache_member', pg_temp.append_sql(pg_temp.run(3))),
          ARRAY['42501', 'permission denied for table history_rows'],
          'no longer a member, it is refused');
SELECT is(pg_temp.ids(pg_temp.run(3)), ARRAY[1, 2, 3]::bigint[], '(three appends were made, by the roles that could)');

-- The last id kept from the append before (no probe of the primary key)
-- only while this backend wrote nothing else, in the same transaction and
-- subtransaction: each case below writes or rolls back between two appends
-- to a run, and a kept id that was not forgotten would write a duplicate or
-- leave a gap.
SELECT is((SELECT array_agg(durable._append(pg_temp.run(5), 'MarkerRecorded', '{}') ORDER BY g) FROM generate_series(1, 3) g),
          ARRAY[1, 2, 3]::bigint[], 'appends in a row to one run, in one statement, take the next ids');
SELECT is(durable._append(pg_temp.run(6), 'MarkerRecorded', '{}'), 1::bigint, 'another run in between');
SELECT is(durable._append(pg_temp.run(5), 'MarkerRecorded', '{}'), 4::bigint, '(then the first run again)');
INSERT INTO durable.history_rows VALUES (pg_temp.run(5), 5, 25, now(), '{}');
SELECT is(durable._append(pg_temp.run(5), 'MarkerRecorded', '{}'), 6::bigint,
          'an event inserted by a statement in between: the next append follows it');
INSERT INTO durable.history (run_id, event_id, event_type, event_time, attributes) VALUES (pg_temp.run(5), 7, 'MarkerRecorded', now(), '{}');
SELECT is(durable._append(pg_temp.run(5), 'MarkerRecorded', '{}'), 8::bigint, '(and one inserted through durable.history)');
CREATE FUNCTION pg_temp.append_insert_append(run uuid) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE
    a bigint;
    b bigint;
BEGIN
    a := durable._append(run, 'MarkerRecorded', '{}');
    INSERT INTO durable.history_rows VALUES (run, a + 1, 25, now(), '{}');
    b := durable._append(run, 'MarkerRecorded', '{}');
    RETURN ARRAY[a, b];
END
$$;
SELECT is(pg_temp.append_insert_append(pg_temp.run(5)), ARRAY[9, 11]::bigint[],
          'inside one function call too (an append, an insert of the next id, an append)');
SAVEPOINT kept;
SELECT is(durable._append(pg_temp.run(5), 'MarkerRecorded', '{}'), 12::bigint, '(an append in a savepoint)');
ROLLBACK TO SAVEPOINT kept;
SELECT is(durable._append(pg_temp.run(5), 'MarkerRecorded', '{}'), 12::bigint, 'rolled back, its id is handed on');
SAVEPOINT kept_again;
SELECT is(durable._append(pg_temp.run(5), 'MarkerRecorded', '{}'), 13::bigint, '(an append in a savepoint)');
RELEASE SAVEPOINT kept_again;
SELECT is(durable._append(pg_temp.run(5), 'MarkerRecorded', '{}'), 14::bigint, 'released, the next append follows it');
CREATE FUNCTION pg_temp.append_caught(run uuid) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        PERFORM durable._append(run, 'MarkerRecorded', '{}');
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
    RETURN durable._append(run, 'MarkerRecorded', '{}');
END
$$;
SELECT is(pg_temp.append_caught(pg_temp.run(5)), 15::bigint, 'an append undone by an EXCEPTION block hands its id on');
DELETE FROM durable.history_rows WHERE run_id = pg_temp.run(5) AND event_id = 15;
SELECT is(durable._append(pg_temp.run(5), 'MarkerRecorded', '{}'), 15::bigint, 'an event deleted in between: its id is taken again');
SELECT is(pg_temp.ids(pg_temp.run(5)), (SELECT array_agg(g::bigint) FROM generate_series(1, 15) g), '(every id once, none missing)');
SELECT lives_ok($$SELECT bt_index_parent_check('durable.history_pkey', true)$$, '(history_pkey holds every row)');

-- history_rows renamed away and another table of that name made: appends
-- go to the new one.
ALTER TABLE durable.history_rows RENAME TO history_rows_test_old;
CREATE TABLE durable.history_rows (LIKE durable.history_rows_test_old INCLUDING ALL);
SELECT is(durable._append(pg_temp.run(1), 'MarkerRecorded', '{}'), 1::bigint,
          'with history_rows renamed away and made anew, an append goes to the new table');
SELECT is((SELECT count(*) FROM durable.history_rows), 1::bigint, '(the new table holds it)');
SELECT is(pg_temp.ids(pg_temp.run(1)), ARRAY[1::bigint], '(and only it)');
DROP TABLE durable.history_rows;
ALTER TABLE durable.history_rows_test_old RENAME TO history_rows;
SELECT is(durable._append(pg_temp.run(1), 'MarkerRecorded', '{}'), 5::bigint, 'renamed back, appends go to it again');

-- The extension dropped and made again: a new history_rows.
SET LOCAL client_min_messages = warning;
DROP EXTENSION durable CASCADE;
CREATE EXTENSION durable;
RESET client_min_messages;
SELECT is(durable._append(pg_temp.run(1), 'MarkerRecorded', '{}'), 1::bigint,
          'with the extension dropped and created again, an append goes to its new table');
SELECT is((SELECT array_agg(event_id) FROM durable.history_rows), ARRAY[1::bigint], '(which holds it alone)');

SELECT * FROM finish();
ROLLBACK;
