-- durable._workflow_row and _workflow_task_row (api/85_row_by_key.sql,
-- pgext/src/row_by_key.c): a row by its primary key, read by one index
-- probe, must be what `SELECT t FROM <table> t WHERE <key> = $1` gives, a
-- NULL where that finds nothing, and the statement's own answer where the
-- direct read could differ (row security, rights, no usable primary key).
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql


SELECT durable.start_workflow('rk-1', 'W', 'rkq', jsonb_build_object('big', repeat(md5('x'), 4000)),
                              '{"memo": {"m": 1}}');
SELECT is(to_jsonb(durable._workflow_row(pg_temp.latest_run('rk-1'))),
          (SELECT to_jsonb(w) FROM durable.workflows w WHERE w.run_id = pg_temp.latest_run('rk-1')),
          'a run''s row is the statement''s, every column (a TOASTed input too)');
SELECT is((durable._workflow_row(pg_temp.latest_run('rk-1'))).input -> 'big', to_jsonb(repeat(md5('x'), 4000)),
          'the TOASTed input read in full');
SELECT is(durable._workflow_row('00000000-0000-0000-0000-000000000000') IS NULL, true, 'an unknown run: NULL');
SELECT is(durable._workflow_row(NULL) IS NULL, true, 'NULL: NULL');
SELECT is(to_jsonb(durable._workflow_task_row((SELECT task_id FROM durable.workflow_tasks
                                                WHERE run_id = pg_temp.latest_run('rk-1')))),
          (SELECT to_jsonb(t) FROM durable.workflow_tasks t WHERE t.run_id = pg_temp.latest_run('rk-1')),
          'a workflow task''s row is the statement''s');
SELECT is(durable._workflow_task_row(-1) IS NULL, true, 'an unknown task: NULL');

-- what this transaction changed is seen, as by a statement
CREATE TEMP TABLE rk_task AS SELECT task_id FROM durable.workflow_tasks WHERE run_id = pg_temp.latest_run('rk-1');
UPDATE durable.workflows SET memo = '{"m": 2}' WHERE run_id = pg_temp.latest_run('rk-1');
SELECT is((durable._workflow_row(pg_temp.latest_run('rk-1'))).memo, '{"m": 2}'::jsonb, 'an update of this transaction is seen');
SELECT is(pg_temp.undone($$DELETE FROM durable.workflow_tasks WHERE task_id = (SELECT task_id FROM rk_task)$$,
                         $$SELECT (durable._workflow_task_row((SELECT task_id FROM rk_task)) IS NULL)::text$$), 'true',
          'a delete of this transaction is seen');

-- where the statement reads it: no primary key to probe, row security,
-- and the session's lookup forgotten when the table changes
SELECT is(pg_temp.undone('ALTER TABLE durable.workflow_tasks DROP CONSTRAINT workflow_tasks_pkey',
                         $$SELECT (durable._workflow_task_row((SELECT task_id FROM rk_task))).run_id::text$$),
          pg_temp.latest_run('rk-1')::text, 'without its primary key the task is read by the statement');
SELECT is((durable._workflow_task_row((SELECT task_id FROM rk_task))).run_id, pg_temp.latest_run('rk-1'),
          'and by the key again once it is back');
SELECT is(pg_temp.undone($$CREATE ROLE rk_reader;
                           GRANT USAGE ON SCHEMA durable TO rk_reader;
                           GRANT SELECT ON durable.workflows TO rk_reader;
                           GRANT EXECUTE ON FUNCTION durable._workflow_row(uuid) TO rk_reader;
                           ALTER TABLE durable.workflows ENABLE ROW LEVEL SECURITY;
                           CREATE POLICY rk_none ON durable.workflows TO rk_reader USING (false);
                           SET LOCAL ROLE rk_reader$$,
                         format($$SELECT (durable._workflow_row(%L) IS NULL)::text$$, pg_temp.latest_run('rk-1'))), 'true',
          'under row security the statement reads it, and the policy hides the row');
SELECT is(pg_temp.undone($$CREATE ROLE rk_reader;
                           GRANT USAGE ON SCHEMA durable TO rk_reader;
                           GRANT SELECT ON durable.workflows TO rk_reader;
                           GRANT EXECUTE ON FUNCTION durable._workflow_row(uuid) TO rk_reader;
                           SET LOCAL ROLE rk_reader$$,
                         format($$SELECT (durable._workflow_row(%L)).workflow_id$$, pg_temp.latest_run('rk-1'))), 'rk-1',
          'without row security the same role reads the row');
SELECT is(pg_temp.undone($$CREATE ROLE rk_nobody;
                           GRANT USAGE ON SCHEMA durable TO rk_nobody;
                           GRANT EXECUTE ON FUNCTION durable._workflow_row(uuid) TO rk_nobody;
                           SET LOCAL ROLE rk_nobody$$,
                         format($$SELECT pg_temp.err(%L)$$, format('SELECT durable._workflow_row(%L)', pg_temp.latest_run('rk-1')))),
          '42501: permission denied for table workflows', 'a role without SELECT gets the statement''s error');

-- the extension dropped and created again in this session
SELECT is(pg_temp.undone($$SET LOCAL client_min_messages = warning;
                           DROP EXTENSION durable CASCADE; CREATE EXTENSION durable;
                           SELECT durable.start_workflow('rk-2', 'W', 'rkq')$$,
                         $$SELECT (durable._workflow_row(pg_temp.latest_run('rk-2'))).workflow_id$$), 'rk-2',
          'after DROP and CREATE EXTENSION the new table is read');
SELECT is((durable._workflow_row(pg_temp.latest_run('rk-1'))).workflow_id, 'rk-1', 'and, that undone, the old one again');

SELECT * FROM finish();
ROLLBACK;
