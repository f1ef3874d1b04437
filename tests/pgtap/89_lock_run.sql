-- durable._lock_run (api/85_row_by_key.sql, pgext/src/run_lock.c): the
-- run's row locked FOR UPDATE without the executor. It must lock the row
-- (its xmax becomes this transaction), find nothing where the statement
-- finds nothing, and leave to the statement what it does otherwise (row
-- security, rights). Waiting for another transaction's lock is the
-- concurrency suite's (isolation: parent_child_close, two pollers).
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- Whether wid's run is locked (or updated): its row's xmax is set (by
-- this transaction or one of its subtransactions: no other touches it).
CREATE FUNCTION pg_temp.locked_by_us(wid text) RETURNS boolean LANGUAGE sql AS $$
    SELECT xmax::text <> '0' FROM durable.workflows WHERE run_id = pg_temp.latest_run(wid)
$$;

SELECT is(durable._lock_run(NULL), NULL, 'NULL: NULL (strict)');
SELECT is(durable._lock_run('00000000-0000-0000-0000-000000000000'), false, 'an unknown run: not found');

-- a run started in an earlier transaction (the test's own is one
-- transaction: its row is locked here for the first time)
SELECT durable.start_workflow('lr-1', 'W', 'lrq');
SELECT is(pg_temp.locked_by_us('lr-1'), false, 'not locked before');
SELECT is(durable._lock_run(pg_temp.latest_run('lr-1')), true, 'a run is found and locked');
SELECT is(pg_temp.locked_by_us('lr-1'), true, 'its row''s xmax is set');
SELECT is(durable._lock_run(pg_temp.latest_run('lr-1')), true, 'locked again by the same transaction');
UPDATE durable.workflows SET memo = '{"m": 1}' WHERE run_id = pg_temp.latest_run('lr-1');
SELECT is(durable._lock_run(pg_temp.latest_run('lr-1')), true, 'its new version (updated by this transaction) is locked');
SELECT is(pg_temp.undone($$DELETE FROM durable.workflows WHERE run_id = (SELECT run_id FROM durable.workflows WHERE workflow_id = 'lr-1')$$,
                         $$SELECT durable._lock_run(pg_temp.latest_run('lr-1'))::text$$), NULL,
          'a deleted row is not found (pg_temp.run finds none either)');
SELECT is(pg_temp.undone($$CREATE TEMP TABLE lr_gone AS SELECT run_id FROM durable.workflows WHERE workflow_id = 'lr-1';
                           DELETE FROM durable.workflows WHERE run_id = (SELECT run_id FROM lr_gone)$$,
                         $$SELECT durable._lock_run((SELECT run_id FROM lr_gone))::text$$), 'false',
          'a row deleted by this transaction: not found, as the statement');

-- where the statement locks it
SELECT durable.start_workflow('lr-2', 'W', 'lrq');
SELECT is(pg_temp.undone('ALTER TABLE durable.workflows ENABLE ROW LEVEL SECURITY',
                         $$SELECT durable._lock_run(pg_temp.latest_run('lr-2'))::text || ' ' || pg_temp.locked_by_us('lr-2')$$),
          'true true', 'under row security the statement locks it');
SELECT is(pg_temp.undone($$CREATE ROLE lr_reader;
                           GRANT USAGE ON SCHEMA durable TO lr_reader;
                           GRANT SELECT ON durable.workflows TO lr_reader;
                           GRANT EXECUTE ON FUNCTION durable._lock_run(uuid) TO lr_reader;
                           SET LOCAL ROLE lr_reader$$,
                         format($$SELECT pg_temp.err(%L)$$, format('SELECT durable._lock_run(%L)', pg_temp.latest_run('lr-2')))),
          '42501: permission denied for table workflows', 'a role without UPDATE gets the statement''s error');
SELECT is(pg_temp.undone('ALTER TABLE durable.workflows DROP CONSTRAINT workflows_pkey CASCADE',
                         $$SELECT durable._lock_run(pg_temp.latest_run('lr-2'))::text || ' ' || pg_temp.locked_by_us('lr-2')$$),
          'true true', 'without the primary key the statement locks it');
SELECT is(durable._lock_run(pg_temp.latest_run('lr-2')), true, 'and the key is probed again once it is back');

-- the extension dropped and created again in this session
SELECT is(pg_temp.undone($$SET LOCAL client_min_messages = warning;
                           DROP EXTENSION durable CASCADE; CREATE EXTENSION durable;
                           SELECT durable.start_workflow('lr-3', 'W', 'lrq')$$,
                         $$SELECT durable._lock_run(pg_temp.latest_run('lr-3'))::text$$), 'true',
          'after DROP and CREATE EXTENSION the new table''s run is locked');
SELECT is(durable._lock_run(pg_temp.latest_run('lr-1')), true, 'and, that undone, the old one''s again');

SELECT * FROM finish();
ROLLBACK;
