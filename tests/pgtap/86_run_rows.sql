-- durable._run_rows (api/83_run_rows.sql, pgext/src/run_rows.c): which of
-- the tables a close empties hold a row of a run, by one index probe each.
-- _close_run runs only the deletes (and the children's loop) whose bit is
-- set, so a bit missed would leave a closed run's rows behind: each kind of
-- row sets its bit, a close with every kind pending removes them all, and
-- a probe that cannot read an index says "rows" (the statement runs), also
-- in a session that had read the index before (its cache forgotten).
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
\ir activities.psql

-- The names of the bits set for wid's run.
CREATE FUNCTION pg_temp.rows_of(wid text) RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(name ORDER BY bit), '{}') FROM (VALUES
        (1, 'workflow_tasks'), (2, 'activity_tasks'), (4, 'timers'), (8, 'buffered_events'),
        (16, 'workflow_pauses'), (32, 'activity_pauses'), (64, 'children')) AS b(bit, name)
     WHERE durable._run_rows(pg_temp.latest_run(wid)) & bit <> 0
$$;
-- The same names, from counting each table's rows of wid's run.
CREATE FUNCTION pg_temp.counted(wid text) RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(name ORDER BY bit), '{}') FROM (VALUES
        (1, 'workflow_tasks', (SELECT count(*) FROM durable.workflow_tasks WHERE run_id = pg_temp.latest_run(wid))),
        (2, 'activity_tasks', (SELECT count(*) FROM durable.activity_tasks WHERE run_id = pg_temp.latest_run(wid))),
        (4, 'timers', (SELECT count(*) FROM durable.timers WHERE run_id = pg_temp.latest_run(wid))),
        (8, 'buffered_events', (SELECT count(*) FROM durable.buffered_events WHERE run_id = pg_temp.latest_run(wid))),
        (16, 'workflow_pauses', (SELECT count(*) FROM durable.workflow_pauses WHERE run_id = pg_temp.latest_run(wid))),
        (32, 'activity_pauses', (SELECT count(*) FROM durable.activity_pauses WHERE run_id = pg_temp.latest_run(wid))),
        (64, 'children', (SELECT count(*) FROM durable.workflows WHERE parent_run_id = pg_temp.latest_run(wid))))
        AS b(bit, name, n)
     WHERE n > 0
$$;
-- What a close must leave of a run: nothing in any of the six tables.
CREATE FUNCTION pg_temp.left_of(run uuid) RETURNS bigint LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM durable.workflow_tasks WHERE run_id = run)
         + (SELECT count(*) FROM durable.activity_tasks WHERE run_id = run)
         + (SELECT count(*) FROM durable.timers WHERE run_id = run)
         + (SELECT count(*) FROM durable.buffered_events WHERE run_id = run)
         + (SELECT count(*) FROM durable.workflow_pauses WHERE run_id = run)
         + (SELECT count(*) FROM durable.activity_pauses WHERE run_id = run)
$$;

SELECT is(durable._run_rows(NULL), NULL, 'NULL run: NULL (strict)');
SELECT is(durable._run_rows('00000000-0000-0000-0000-000000000000'), 0, 'an unknown run has no rows');

-- each kind of row, its bit
SELECT durable.start_workflow('rr-1', 'W', 'rrq');
SELECT is(pg_temp.rows_of('rr-1'), ARRAY['workflow_tasks'], 'a started run: its workflow task');
SELECT pg_temp.complete('rrq', jsonb_build_array(pg_temp.act('a1'),
    '{"type": "StartTimer", "timer_id": "t1", "start_to_fire_timeout": 600}'::jsonb));
SELECT is(pg_temp.rows_of('rr-1'), ARRAY['activity_tasks', 'timers'],
          'an activity and a timer pending, no workflow task');
SELECT is(durable._run_rows(pg_temp.latest_run('rr-1'), 4), 4, 'asked for the timers alone: their bit alone');
SELECT is(durable._run_rows(pg_temp.latest_run('rr-1'), 1 | 8), 0, 'asked for tables without rows: none');
SELECT is(durable._run_rows(pg_temp.latest_run('rr-1'), 0), 0, 'asked for nothing: nothing');
SELECT durable.pause_activity('rr-1', 'a1');
SELECT durable.pause_workflow('rr-1');
SELECT ok(pg_temp.rows_of('rr-1') @> ARRAY['activity_tasks', 'timers', 'workflow_pauses', 'activity_pauses'],
          'paused: the pauses too');
SELECT is(pg_temp.rows_of('rr-1'), pg_temp.counted('rr-1'), 'every bit set is a table with rows, and only those');
CREATE TEMP TABLE rr1 AS SELECT pg_temp.latest_run('rr-1') AS run, pg_temp.left_of(pg_temp.latest_run('rr-1')) AS before;
SELECT ok((SELECT before FROM rr1) >= 4, 'rr-1 has rows in four tables or more before its close');
SELECT durable.terminate_workflow('rr-1', 'test');
SELECT is(pg_temp.left_of((SELECT run FROM rr1)), 0::bigint, 'the close deleted every row of the run');
SELECT is(durable._run_rows((SELECT run FROM rr1)), 0, 'and the probes find none left');

-- a buffered event for certain: a signal while the workflow task runs
SELECT durable.start_workflow('rr-2', 'W', 'rrq2');
CREATE TEMP TABLE rr2 AS SELECT task_token FROM durable.poll_workflow_tasks('rrq2', 'tester', 1);
SELECT durable.signal_workflow('rr-2', 's', '1');
SELECT is(pg_temp.rows_of('rr-2'), ARRAY['workflow_tasks', 'buffered_events'],
          'a signal during a started workflow task is buffered: its bit');
SELECT durable.terminate_workflow('rr-2', 'test');
SELECT is(pg_temp.left_of(pg_temp.latest_run('rr-2')), 0::bigint, 'its close deleted the task and the buffered event');

-- children: the parent's bit, and the close policy applied
SELECT durable.start_workflow('rr-p', 'W', 'rrqp');
SELECT pg_temp.complete('rrqp', '[{"type": "StartChildWorkflowExecution", "workflow_id": "rr-c", "workflow_type": "C",
                                   "task_queue": "rrqc"}]');
SELECT ok(pg_temp.rows_of('rr-p') @> ARRAY['children'], 'a parent: the children''s bit');
SELECT is(pg_temp.rows_of('rr-c'), ARRAY['workflow_tasks'], 'the child: its own rows only');
SELECT durable.terminate_workflow('rr-p', 'test');
SELECT is(pg_temp.status('rr-c'), 'TERMINATED', 'the parent''s close terminated the child (policy TERMINATE)');
SELECT is(pg_temp.left_of(pg_temp.latest_run('rr-c')), 0::bigint, 'and deleted the child''s rows');

-- The common close: a completion that closes a run with nothing pending.
SELECT durable.start_workflow('rr-3', 'W', 'rrq3');
SELECT pg_temp.complete('rrq3', '[{"type": "CompleteWorkflowExecution", "result": 3}]');
SELECT is(pg_temp.status('rr-3'), 'COMPLETED', 'a run closed by its completion');
SELECT is(pg_temp.left_of(pg_temp.latest_run('rr-3')), 0::bigint, 'with no rows left');

-- A probe that cannot read an index says "rows", so the delete still runs;
-- the session's remembered index is forgotten when it changes, and found
-- again when it is back.
SELECT durable.start_workflow('rr-4', 'W', 'rrq4');
SELECT pg_temp.complete('rrq4', '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 600}]');
SELECT is(pg_temp.rows_of('rr-4'), ARRAY['timers'], 'one timer pending, read from the timers'' primary key');
SELECT is(pg_temp.undone('ALTER TABLE durable.timers DROP CONSTRAINT timers_pkey',
                         $$SELECT pg_temp.rows_of('rr-3')::text$$), '{timers}',
          'with no index leading with run_id, the timers'' bit is set even for a run without timers');
SELECT is(pg_temp.undone($$ALTER TABLE durable.timers DROP CONSTRAINT timers_pkey;
                           SELECT durable.terminate_workflow('rr-4', 'test')$$,
                         $$SELECT count(*) FROM durable.timers WHERE run_id = pg_temp.latest_run('rr-4')$$), '0',
          'and a close deletes the timers by its statement');
SELECT is(pg_temp.rows_of('rr-3'), '{}'::text[], 'the index back (rolled back): read again, no rows');
SELECT is(pg_temp.rows_of('rr-4'), ARRAY['timers'], 'and the timer of rr-4 found in it');
SELECT is(pg_temp.undone($$ALTER TABLE durable.timers DROP CONSTRAINT timers_pkey;
                           CREATE INDEX timers_by_run_partial ON durable.timers (run_id) WHERE fire_at > '2000-01-01'$$,
                         $$SELECT pg_temp.rows_of('rr-3')::text$$), '{timers}',
          'an index with another predicate is not read');
SELECT is(pg_temp.undone($$ALTER TABLE durable.timers DROP CONSTRAINT timers_pkey;
                           CREATE INDEX timers_by_run ON durable.timers USING hash (run_id)$$,
                         $$SELECT pg_temp.rows_of('rr-3')::text$$), '{timers}',
          'nor a hash index');
SELECT is(pg_temp.undone($$ALTER TABLE durable.timers DROP CONSTRAINT timers_pkey;
                           CREATE INDEX timers_by_run ON durable.timers (run_id)$$,
                         $$SELECT pg_temp.rows_of('rr-3')::text || pg_temp.rows_of('rr-4')::text$$), '{}{timers}',
          'a plain btree index on run_id is read: no rows for one run, the timer of the other');
SELECT is(pg_temp.undone('ALTER TABLE durable.buffered_events DROP COLUMN run_id CASCADE',
                         $$SELECT pg_temp.rows_of('rr-3')::text$$), '{buffered_events}',
          'a table without the column: its bit is set (the statement then says what is wrong)');

-- The extension dropped and created again in this session: every table a
-- new one, each looked up again (rows of a run of the new store found).
SELECT is(pg_temp.undone($$SET LOCAL client_min_messages = warning;
                           DROP EXTENSION durable CASCADE; CREATE EXTENSION durable;
                           SELECT durable.start_workflow('rr-5', 'W', 'rrq5')$$,
                         $$SELECT pg_temp.rows_of('rr-5')::text$$), '{workflow_tasks}',
          'after DROP and CREATE EXTENSION the probes read the new tables');
SELECT is(pg_temp.rows_of('rr-4'), ARRAY['timers'], 'and, that undone, the old ones again');

-- A caller who may not run a statement a probe stands for (a role granted
-- _close_run itself, and the rest, but not DELETE on timers): that table's
-- bit is set though it holds no row of the run, so the close runs its
-- statement, which refuses the caller, as before any probe.
SELECT durable.start_workflow('rr-role', 'W', 'rrq-role');
CREATE ROLE rr_closer;
GRANT USAGE ON SCHEMA durable TO rr_closer;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA durable TO rr_closer;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA durable TO rr_closer;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA durable TO rr_closer;
REVOKE DELETE ON durable.timers FROM rr_closer;
SELECT is(pg_temp.rows_of('rr-role'), ARRAY['workflow_tasks'], 'the run''s rows: its workflow task alone');
SET LOCAL ROLE rr_closer;
SELECT is(pg_temp.rows_of('rr-role'), ARRAY['workflow_tasks', 'timers'],
          'for a role without DELETE on timers: timers too (its statement must run)');
SELECT throws_ok(format('SELECT durable._close_run(%L, ''TERMINATED'', ''WorkflowExecutionTerminated'', ''{}'')',
                        pg_temp.latest_run('rr-role')),
                 '42501', 'permission denied for table timers', 'its close is refused, by the DELETE of timers');
RESET ROLE;
GRANT DELETE ON durable.timers TO rr_closer;
SET LOCAL ROLE rr_closer;
SELECT is(pg_temp.rows_of('rr-role'), ARRAY['workflow_tasks'], 'granted it: the probe''s answer alone');
SELECT lives_ok(format('SELECT durable._close_run(%L, ''TERMINATED'', ''WorkflowExecutionTerminated'', ''{}'')',
                       pg_temp.latest_run('rr-role')), 'and the close goes through');
RESET ROLE;
SELECT is(pg_temp.status('rr-role'), 'TERMINATED', '(closed)');

SELECT * FROM finish();
ROLLBACK;
