-- Appends without the executor (pgext/src/history_append.c), what an
-- operator may do to durable.history_rows: each case below is something the
-- INSERT statement does that a hand-made insert must also do, or refuse to
-- and leave to the statement. Every check compares _append with what an
-- INSERT into history_rows does in the same state (77_append_direct.sql
-- covers the row's bytes, the plain, partial and unique indexes, row and
-- BEFORE STATEMENT triggers, read-only and pgstat).
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE FUNCTION pg_temp.run(n integer) RETURNS uuid LANGUAGE sql AS $$
    SELECT ('00000000-0000-0000-0000-0000000078' || lpad(to_hex(n), 2, '0'))::uuid
$$;
CREATE FUNCTION pg_temp.ids(run uuid) RETURNS bigint[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(event_id ORDER BY event_id), '{}') FROM durable.history_rows WHERE run_id = run
$$;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        plan := plan || line || ' ';
    END LOOP;
    RETURN plan;
END
$$;

-- An AFTER STATEMENT trigger (here with a transition table) fires once per
-- append, as it did when _append was plpgsql's INSERT ... RETURNING INTO
-- (the one-row SPI statement that replaced it stopped the executor before
-- the statement's end, where those triggers are queued).
CREATE TEMP TABLE seen (level text, rows_seen bigint);
CREATE FUNCTION pg_temp.seen_stmt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO seen SELECT TG_WHEN || ' ' || TG_LEVEL, count(*) FROM new_rows;
    RETURN NULL;
END
$$;
CREATE TRIGGER history_rows_test_after_stmt AFTER INSERT ON durable.history_rows
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.seen_stmt();
SELECT is(durable._append(pg_temp.run(1), 'MarkerRecorded', '{}'), 1::bigint, 'with an AFTER STATEMENT trigger, an append is made');
SELECT count(durable._append(pg_temp.run(1), 'MarkerRecorded', '{}')) FROM generate_series(1, 2);
SELECT is((SELECT array_agg(row(level, rows_seen)::text) FROM seen),
          ARRAY['("AFTER STATEMENT",1)', '("AFTER STATEMENT",1)', '("AFTER STATEMENT",1)'],
          'an AFTER STATEMENT trigger on history_rows fires for every append, its transition table holding the row');
DROP TRIGGER history_rows_test_after_stmt ON durable.history_rows;

-- A deferred constraint trigger fires at the end of the transaction (here:
-- at SET CONSTRAINTS ... IMMEDIATE).
DELETE FROM seen;
CREATE FUNCTION pg_temp.seen_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO seen VALUES ('constraint ' || NEW.event_id, 1);
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER history_rows_test_constraint AFTER INSERT ON durable.history_rows
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pg_temp.seen_row();
SELECT durable._append(pg_temp.run(1), 'MarkerRecorded', '{}');
SELECT is((SELECT count(*) FROM seen), 0::bigint, 'a deferred constraint trigger waits');
SET CONSTRAINTS durable.history_rows_test_constraint IMMEDIATE;
SELECT is((SELECT array_agg(level) FROM seen), ARRAY['constraint 4'], 'and fires for the append');
DROP TRIGGER history_rows_test_constraint ON durable.history_rows;

-- history_rows attached as a partition of an operator's table: a row outside
-- the partition's bounds is refused, as the INSERT refuses it, and nothing
-- is written.
CREATE TABLE public.history_rows_test_parent (LIKE durable.history_rows) PARTITION BY LIST (event_code);
SELECT is((SELECT array_agg(DISTINCT event_code) FROM durable.history_rows WHERE event_code <> 25), NULL,
          '(the rows so far are all markers, code 25)');
ALTER TABLE public.history_rows_test_parent ATTACH PARTITION durable.history_rows FOR VALUES IN (25);
SELECT is(durable._append(pg_temp.run(2), 'MarkerRecorded', '{}'), 1::bigint, 'in a partition, an event in its bounds is appended');
SELECT is((pg_temp.error_of(format($$SELECT durable._append(%L, 'WorkflowTaskScheduled', '{}')$$, pg_temp.run(2))))[1:2]
            || (pg_temp.error_of(format($$INSERT INTO durable.history_rows VALUES (%L, 2, 2, now(), '{}')$$, pg_temp.run(2))))[1:2],
          ARRAY['23514', 'new row for relation "history_rows" violates partition constraint',
                '23514', 'new row for relation "history_rows" violates partition constraint'],
          'one outside them is refused with the partition constraint''s error, as the INSERT''s');
SELECT is(pg_temp.ids(pg_temp.run(2)), ARRAY[1::bigint], 'and nothing was written');
ALTER TABLE public.history_rows_test_parent DETACH PARTITION durable.history_rows;
DROP TABLE public.history_rows_test_parent;
SELECT is(durable._append(pg_temp.run(2), 'WorkflowTaskScheduled', '{}'), 2::bigint, 'detached, it is appended');

-- Indexes of every kind an operator may add, added and dropped between two
-- appends of one transaction: each new one gets the rows appended after it,
-- a dropped one is no longer written.
CREATE EXTENSION IF NOT EXISTS amcheck;
CREATE INDEX history_rows_test_hash ON durable.history_rows USING hash (run_id);
SELECT durable._append(pg_temp.run(3), 'MarkerRecorded', '{"k": "hash"}');
CREATE INDEX history_rows_test_gin ON durable.history_rows USING gin (attributes_packed jsonb_path_ops);
SELECT durable._append(pg_temp.run(3), 'MarkerRecorded', '{"k": "gin"}');
CREATE INDEX history_rows_test_brin ON durable.history_rows USING brin (event_time);
SELECT durable._append_at(pg_temp.run(3), 'MarkerRecorded', '{"k": "brin"}', '1990-06-01 00:00:00+00');
CREATE INDEX history_rows_test_btree ON durable.history_rows (event_code, run_id) INCLUDE (event_time);
SELECT durable._append(pg_temp.run(3), 'MarkerRecorded', '{"k": "btree"}');
SET LOCAL enable_seqscan = off;
SELECT is((SELECT count(*) FROM durable.history_rows WHERE run_id = pg_temp.run(3)), 4::bigint,
          'a hash index of the operator''s has every row appended after it');
SELECT ok(pg_temp.plan_of(format('SELECT count(*) FROM durable.history_rows WHERE run_id = %L', pg_temp.run(3))) LIKE '%history_rows_test_hash%',
          '(read through it)');
-- (the stored, packed attributes of the event appended after the GIN index)
CREATE TEMP TABLE gin_key AS SELECT attributes_packed FROM durable.history_rows WHERE run_id = pg_temp.run(3) AND event_id = 2;
SELECT is((SELECT count(*) FROM durable.history_rows WHERE attributes_packed @> (SELECT attributes_packed FROM gin_key)), 1::bigint,
          'a GIN index has the row appended after it');
SELECT ok(pg_temp.plan_of(format('SELECT count(*) FROM durable.history_rows WHERE attributes_packed @> %L', (SELECT attributes_packed FROM gin_key)))
          LIKE '%history_rows_test_gin%', '(read through it)');
SELECT is((SELECT count(*) FROM durable.history_rows WHERE event_time = '1990-06-01 00:00:00+00'), 1::bigint,
          'a BRIN index has it');
SELECT ok(pg_temp.plan_of($$SELECT count(*) FROM durable.history_rows WHERE event_time = '1990-06-01 00:00:00+00'$$) LIKE '%history_rows_test_brin%',
          '(read through it)');
RESET enable_seqscan;
SELECT lives_ok($$SELECT bt_index_check('durable.history_rows_test_btree', true)$$,
                'a B-tree with INCLUDE columns holds every heap row (amcheck, heapallindexed)');
SELECT lives_ok($$SELECT bt_index_parent_check('durable.history_pkey', true)$$, 'and so does history_pkey');
DROP INDEX durable.history_rows_test_hash;
DROP INDEX durable.history_rows_test_gin;
DROP INDEX durable.history_rows_test_brin;
DROP INDEX durable.history_rows_test_btree;
SELECT is(durable._append(pg_temp.run(3), 'MarkerRecorded', '{}'), 5::bigint, 'the indexes dropped, the next append is made');

-- The table rewritten between two appends of one transaction (CLUSTER: a
-- new file; TRUNCATE: a new, empty one): the appends after it write there,
-- each index whole.
SELECT durable._append(pg_temp.run(9), 'MarkerRecorded', '{}');
CREATE TEMP TABLE file_before AS SELECT pg_relation_filenode('durable.history_rows') AS f;
CLUSTER durable.history_rows USING history_pkey;
SELECT isnt(pg_relation_filenode('durable.history_rows'), (SELECT f FROM file_before), '(CLUSTER wrote a new file)');
SELECT is(durable._append(pg_temp.run(9), 'MarkerRecorded', '{}'), 2::bigint, 'after CLUSTER, an append continues from the last id');
SELECT lives_ok($$SELECT bt_index_parent_check('durable.history_pkey', true)$$, 'and history_pkey holds every row');
TRUNCATE durable.history_rows;
SELECT is(durable._append(pg_temp.run(9), 'MarkerRecorded', '{}'), 1::bigint, 'after TRUNCATE, an append starts again at 1');
SELECT is(durable._append(pg_temp.run(9), 'MarkerRecorded', '{}'), 2::bigint, 'and goes on');
SELECT lives_ok($$SELECT bt_index_parent_check('durable.history_pkey', true)$$, 'history_pkey holds them');
SELECT is((SELECT count(*) FROM durable.history_rows), 2::bigint, '(and the table nothing else)');

-- An exclusion constraint: the append falls back to the statement, which
-- checks it.
ALTER TABLE durable.history_rows ADD CONSTRAINT history_rows_test_excl EXCLUDE USING btree (run_id WITH =, event_time WITH =);
SELECT is(durable._append_at(pg_temp.run(4), 'MarkerRecorded', '{}', '1991-01-01 00:00:00+00'), 1::bigint,
          'with an exclusion constraint, an event is appended');
SELECT is((pg_temp.error_of(format($$SELECT durable._append_at(%L, 'MarkerRecorded', '{}', '1991-01-01 00:00:00+00')$$, pg_temp.run(4))))[1:2],
          ARRAY['23P01', 'conflicting key value violates exclusion constraint "history_rows_test_excl"'],
          'and one that conflicts is refused by it');
ALTER TABLE durable.history_rows DROP CONSTRAINT history_rows_test_excl;

-- A deferrable unique constraint is checked at the end of the transaction.
ALTER TABLE durable.history_rows ADD CONSTRAINT history_rows_test_deferred UNIQUE (run_id, event_time) DEFERRABLE INITIALLY DEFERRED;
SELECT is(durable._append_at(pg_temp.run(5), 'MarkerRecorded', '{}', '1992-01-01 00:00:00+00'), 1::bigint,
          'with a deferred unique constraint, an event is appended');
SELECT is(durable._append_at(pg_temp.run(5), 'MarkerRecorded', '{}', '1992-01-01 00:00:00+00'), 2::bigint,
          'a duplicate of its key is appended too');
SELECT is((pg_temp.error_of('SET CONSTRAINTS durable.history_rows_test_deferred IMMEDIATE'))[1:2],
          ARRAY['23505', 'duplicate key value violates unique constraint "history_rows_test_deferred"'],
          'and refused when the constraint is checked');
DELETE FROM durable.history_rows WHERE run_id = pg_temp.run(5) AND event_id = 2;
SET CONSTRAINTS durable.history_rows_test_deferred IMMEDIATE;
ALTER TABLE durable.history_rows DROP CONSTRAINT history_rows_test_deferred;

-- A foreign key from history_rows (its check is a trigger): a run that is
-- not there is refused, as the INSERT refuses it.
CREATE TABLE public.history_rows_test_runs (run_id uuid PRIMARY KEY);
INSERT INTO public.history_rows_test_runs SELECT DISTINCT run_id FROM durable.history_rows;
ALTER TABLE durable.history_rows ADD CONSTRAINT history_rows_test_fk FOREIGN KEY (run_id) REFERENCES public.history_rows_test_runs;
SELECT is((pg_temp.error_of(format($$SELECT durable._append(%L, 'MarkerRecorded', '{}')$$, pg_temp.run(6))))[1:2],
          ARRAY['23503', 'insert or update on table "history_rows" violates foreign key constraint "history_rows_test_fk"'],
          'with a foreign key of the operator''s, an event of a run it does not know is refused');
INSERT INTO public.history_rows_test_runs VALUES (pg_temp.run(6));
SELECT is(durable._append(pg_temp.run(6), 'MarkerRecorded', '{}'), 1::bigint, 'and one of a run it knows is appended');
ALTER TABLE durable.history_rows DROP CONSTRAINT history_rows_test_fk;
DROP TABLE public.history_rows_test_runs;

-- Subtransactions: an append rolled back to a savepoint gives its id to the
-- next; an append that fails inside a plpgsql EXCEPTION block leaves the
-- transaction able to append and read (no snapshot or relation left open).
SAVEPOINT s;
SELECT is(durable._append(pg_temp.run(7), 'MarkerRecorded', '{"n": 1}'), 1::bigint, 'an append in a savepoint');
ROLLBACK TO SAVEPOINT s;
SELECT is(durable._append(pg_temp.run(7), 'MarkerRecorded', '{"n": 2}'), 1::bigint, 'rolled back, its id is appended again');
SELECT is((SELECT attributes FROM durable.history WHERE run_id = pg_temp.run(7)), '{"n": 2}'::jsonb, 'with the new event');
CREATE UNIQUE INDEX history_rows_test_unique ON durable.history_rows (run_id, event_time);
CREATE FUNCTION pg_temp.append_failing(run uuid, tries integer) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    caught integer := 0;
BEGIN
    FOR i IN 1..tries LOOP
        BEGIN
            PERFORM durable._append_at(run, 'MarkerRecorded', '{}', '1993-01-01 00:00:00+00');
        EXCEPTION WHEN unique_violation THEN
            caught := caught + 1;
        END;
    END LOOP;
    RETURN caught || ' caught, then ' || durable._append_at(run, 'MarkerRecorded', '{}', '1993-01-02 00:00:00+00');
END
$$;
SELECT is(pg_temp.append_failing(pg_temp.run(7), 4), '3 caught, then 3',
          'appends refused inside an EXCEPTION block leave the transaction appending');
SELECT is(pg_temp.ids(pg_temp.run(7)), ARRAY[1, 2, 3]::bigint[], 'with the ids in order');
DROP INDEX durable.history_rows_test_unique;

-- Privileges: a role without rights on history_rows is refused as the
-- INSERT refuses it; a SECURITY DEFINER function of a role that has them
-- appends for it.
CREATE ROLE durable_test_appender_none;
CREATE ROLE durable_test_appender_owner;
GRANT USAGE ON SCHEMA durable TO durable_test_appender_none, durable_test_appender_owner;
GRANT EXECUTE ON FUNCTION durable._append(uuid, text, jsonb) TO durable_test_appender_none, durable_test_appender_owner;
GRANT SELECT, INSERT ON durable.history_rows TO durable_test_appender_owner;
GRANT EXECUTE ON FUNCTION durable._event_pack(uuid, bigint, text, jsonb) TO durable_test_appender_owner;
CREATE FUNCTION public.history_rows_test_definer(run uuid) RETURNS bigint LANGUAGE sql SECURITY DEFINER
    SET search_path = pg_catalog AS $$ SELECT durable._append(run, 'MarkerRecorded', '{}') $$;
ALTER FUNCTION public.history_rows_test_definer(uuid) OWNER TO durable_test_appender_owner;
GRANT EXECUTE ON FUNCTION public.history_rows_test_definer(uuid) TO durable_test_appender_none;
SET LOCAL ROLE durable_test_appender_none;
CREATE TEMP TABLE none_errors AS
SELECT pg_temp.error_of(format($$SELECT durable._append(%L, 'MarkerRecorded', '{}')$$, pg_temp.run(8))) AS by_append,
       pg_temp.error_of(format($$INSERT INTO durable.history_rows VALUES (%L, 1, 25, now(), '{}')$$, pg_temp.run(8))) AS by_insert,
       public.history_rows_test_definer(pg_temp.run(8)) AS by_definer;
RESET ROLE;
SELECT is((SELECT by_append FROM none_errors), ARRAY['42501', 'permission denied for table history_rows', NULL, NULL],
          'a role without rights on history_rows is refused');
SELECT is((SELECT by_append FROM none_errors), (SELECT by_insert FROM none_errors), 'as the INSERT refuses it');
SELECT is((SELECT by_definer FROM none_errors), 1::bigint, 'a SECURITY DEFINER function of a role that has them appends');
SELECT is(pg_temp.ids(pg_temp.run(8)), ARRAY[1::bigint], '(once)');
-- The statement calls durable._event_pack: a role that may not execute it
-- was refused by it, and is refused the same on both paths (the statement's
-- forced by an expression index of the test's, in a savepoint).
REVOKE EXECUTE ON FUNCTION durable._event_pack(uuid, bigint, text, jsonb) FROM durable_test_appender_owner;
SELECT is(has_function_privilege('durable_test_appender_owner', 'durable._event_pack(uuid, bigint, text, jsonb)', 'EXECUTE'), false,
          '(the owner of the SECURITY DEFINER function may not execute durable._event_pack)');
SAVEPOINT by_statement;
CREATE INDEX history_rows_test_expression ON durable.history_rows ((event_code + 0));
SELECT pg_temp.error_of(format('SELECT public.history_rows_test_definer(%L)', pg_temp.run(8))) AS by_statement \gset
ROLLBACK TO SAVEPOINT by_statement;
SELECT is(:'by_statement'::text[], ARRAY['42501', 'permission denied for function _event_pack', NULL, NULL],
          'the statement refuses an append by a role that may not pack an event');
SELECT is(pg_temp.error_of(format('SELECT public.history_rows_test_definer(%L)', pg_temp.run(8))),
          :'by_statement'::text[], 'and so does the C path');
SELECT is(pg_temp.ids(pg_temp.run(8)), ARRAY[1::bigint], 'nothing was written');
GRANT EXECUTE ON FUNCTION durable._event_pack(uuid, bigint, text, jsonb) TO durable_test_appender_owner;
SELECT is(public.history_rows_test_definer(pg_temp.run(8)), 2::bigint, 'granted it, the role appends');
-- (the C path remembers _event_pack's oid per backend: dropped and made
-- again, the new function's rights are the ones checked)
ALTER EXTENSION durable DROP FUNCTION durable._event_pack(uuid, bigint, text, jsonb);
DROP FUNCTION durable._event_pack(uuid, bigint, text, jsonb);
CREATE FUNCTION durable._event_pack(run uuid, event_id bigint, event_type text, attributes jsonb) RETURNS jsonb
    AS '$libdir/durable', 'durable_event_pack' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
REVOKE EXECUTE ON FUNCTION durable._event_pack(uuid, bigint, text, jsonb) FROM PUBLIC;
SELECT is(pg_temp.error_of(format('SELECT public.history_rows_test_definer(%L)', pg_temp.run(8))),
          ARRAY['42501', 'permission denied for function _event_pack', NULL, NULL],
          'made again without the right, _event_pack refuses the role on the C path');
GRANT EXECUTE ON FUNCTION durable._event_pack(uuid, bigint, text, jsonb) TO durable_test_appender_owner;
SELECT is(public.history_rows_test_definer(pg_temp.run(8)), 3::bigint, 'granted it, the role appends again');

-- No memory kept per append: the backend's memory contexts grow by as much
-- over 20,000 appends in one transaction as over 1,000, give or take a block
-- (after a warm-up that makes its caches and kept plans; the measure itself
-- costs the same constant each time). A leak of the smallest chunk per call
-- would be 19,000 x 24 bytes and more.
CREATE FUNCTION pg_temp.memory_growth(n integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    before bigint;
BEGIN
    SELECT sum(total_bytes) INTO before FROM pg_backend_memory_contexts;
    FOR i IN 1..n LOOP
        PERFORM durable._append(pg_temp.run(10 + i % 50), 'MarkerRecorded', jsonb_build_object('i', i));
    END LOOP;
    RETURN (SELECT sum(total_bytes) FROM pg_backend_memory_contexts) - before;
END
$$;
SELECT pg_temp.memory_growth(1000);
CREATE TEMP TABLE growth AS SELECT pg_temp.memory_growth(1000) AS small;
SELECT cmp_ok(pg_temp.memory_growth(20000) - (SELECT small FROM growth), '<', 65536::bigint, '20,000 appends keep no memory');

-- A column of the operator's added, then dropped, between appends of one
-- transaction: the append made with it takes the statement, which fills its
-- default; once it is dropped (it stays in the table as a dropped column,
-- even after a rewrite), appends are written directly again (the rows'
-- bytes: 77_append_direct.sql). Which way an append went shows in
-- track_functions: the statement calls durable._event_pack, the C path does
-- not.
SET LOCAL track_functions = 'all';
CREATE FUNCTION pg_temp.pack_calls() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(pg_stat_get_xact_function_calls('durable._event_pack(uuid, bigint, text, jsonb)'::regprocedure), 0)
$$;
CREATE TEMP TABLE calls (what text, n bigint);
INSERT INTO calls SELECT 'plain', pg_temp.pack_calls();
SELECT is(durable._append(pg_temp.run(9), 'MarkerRecorded', '{"n": 3}'), 3::bigint, 'an append to the plain table');
SELECT is(pg_temp.pack_calls(), (SELECT n FROM calls WHERE what = 'plain'), '(written directly: no call of _event_pack)');
-- (a foreign key of another table that references history_rows puts
-- triggers on it for its updates and deletes, none for inserts: appends
-- stay direct, and the other table can point at them)
CREATE TABLE public.history_rows_test_refs (run_id uuid, event_id bigint, FOREIGN KEY (run_id, event_id) REFERENCES durable.history_rows);
INSERT INTO calls SELECT 'referenced', pg_temp.pack_calls();
SELECT is(durable._append(pg_temp.run(9), 'MarkerRecorded', '{"n": 3.5}'), 4::bigint, 'with a foreign key referencing history_rows, an append is made');
SELECT is(pg_temp.pack_calls(), (SELECT n FROM calls WHERE what = 'referenced'), '(directly)');
SELECT lives_ok(format('INSERT INTO public.history_rows_test_refs VALUES (%L, 4)', pg_temp.run(9)), 'and the referencing table can point at it');
DROP TABLE public.history_rows_test_refs;
DELETE FROM durable.history_rows WHERE run_id = pg_temp.run(9) AND event_id = 4;
ALTER TABLE durable.history_rows ADD COLUMN note text DEFAULT 'by default';
INSERT INTO calls SELECT 'with a column', pg_temp.pack_calls();
SELECT is(durable._append(pg_temp.run(9), 'MarkerRecorded', '{"n": 4}'), 4::bigint, 'with a column of the operator''s, an event is appended');
SELECT is(pg_temp.pack_calls(), (SELECT n + 1 FROM calls WHERE what = 'with a column'), '(by the statement)');
SELECT is((SELECT note FROM durable.history_rows WHERE run_id = pg_temp.run(9) AND event_id = 4), 'by default',
          'its column has its default');
ALTER TABLE durable.history_rows DROP COLUMN note;
INSERT INTO calls SELECT 'dropped', pg_temp.pack_calls();
SELECT is(durable._append(pg_temp.run(9), 'MarkerRecorded', '{"n": 5}'), 5::bigint, 'the column dropped, the next is appended');
SELECT is(pg_temp.pack_calls(), (SELECT n FROM calls WHERE what = 'dropped'), '(written directly again)');
SELECT is((SELECT array_agg(attributes ORDER BY event_id) FROM durable.history WHERE run_id = pg_temp.run(9) AND event_id >= 3),
          ARRAY['{"n": 3}', '{"n": 4}', '{"n": 5}']::jsonb[], 'durable.history shows the three as written');
SELECT lives_ok($$SELECT bt_index_parent_check('durable.history_pkey', true)$$, 'history_pkey holds every row');

SELECT * FROM finish();
ROLLBACK;
