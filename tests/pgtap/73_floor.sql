-- The store's floor (api/73_floor.sql, pgext/src/open_run.c): the C probes
-- that replaced statements on the start and lease paths give what the
-- statements gave, whatever the planner's statistics say.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- _find_open_run, _open_run --------------------------------------------------

SELECT durable.start_workflow('or-1', 'T', 'q-or');
SELECT durable.start_workflow('or-1', 'T', 'q-or', NULL, '{}', 'or-other');
SELECT is(durable._find_open_run('default', 'or-1'),
          (SELECT run_id FROM durable.workflows WHERE namespace = 'default' AND workflow_id = 'or-1'),
          '_find_open_run gives the open run of a workflow id');
SELECT is(durable._find_open_run('or-other', 'or-1'),
          (SELECT run_id FROM durable.workflows WHERE namespace = 'or-other' AND workflow_id = 'or-1'),
          '_find_open_run reads the namespace given');
SELECT isnt(durable._find_open_run('default', 'or-1'), durable._find_open_run('or-other', 'or-1'),
            'the same id in two namespaces is two runs');
SELECT is(durable._find_open_run('default', 'or-none'), NULL, '_find_open_run of an unknown id is NULL');
SELECT is(durable._find_open_run('default', 'OR-1'), NULL, 'ids are compared exactly');
SELECT is(durable._find_open_run(NULL, 'or-1'), NULL, '_find_open_run of a NULL namespace is NULL');
SELECT is(durable._find_open_run('default', NULL), NULL, '_find_open_run of a NULL id is NULL');

SELECT is(durable._open_run('default', 'or-1'), durable._find_open_run('default', 'or-1'),
          '_open_run (which also locks it) gives the same run');
SELECT is(durable._open_run('default', 'or-none'), NULL, '_open_run of an unknown id is NULL');

SELECT durable.terminate_workflow('or-1', 'test');
SELECT is(durable._open_run('default', 'or-1'), NULL, 'a closed run is not open to _open_run either');
SELECT is(durable._find_open_run('default', 'or-1'), NULL, 'a closed run is not open');
SELECT durable.start_workflow('or-1', 'T', 'q-or');
SELECT is(durable._find_open_run('default', 'or-1'),
          (SELECT run_id FROM durable.workflows WHERE namespace = 'default' AND workflow_id = 'or-1'
              AND status = 'RUNNING'),
          'a new run of the id is the open one');
SELECT is((SELECT count(*) FROM durable.workflows WHERE workflow_id = 'or-1' AND namespace = 'default'), 2::bigint,
          'the closed run stays');

-- the conflict rules of a start, which read it
SELECT throws_ok($$SELECT durable.start_workflow('or-1', 'T', 'q-or')$$, 'DU002', 'workflow "or-1" already started',
                 'a second start of an open id is refused');
SELECT lives_ok($$SELECT durable.start_workflow('or-1', 'T', 'q-or', NULL,
                                                '{"id_reuse_policy": "TERMINATE_IF_RUNNING"}')$$,
                'TERMINATE_IF_RUNNING replaces the open run');
SELECT is((SELECT array_agg(status ORDER BY started_at, closed_at NULLS LAST) FROM durable.workflows
            WHERE workflow_id = 'or-1' AND namespace = 'default'),
          ARRAY['TERMINATED', 'TERMINATED', 'RUNNING'], 'the replaced run was terminated, the new one runs');

-- An unanalyzed store whose runs were all started in one transaction: the
-- statement this replaced walked every run of the namespace per start.
SELECT durable.start_workflow('or-bulk-' || i, 'T', 'q-or') FROM generate_series(1, 300) i;
SELECT is((SELECT count(*) FROM generate_series(1, 300) i
            WHERE durable._find_open_run('default', 'or-bulk-' || i) IS NOT NULL), 300::bigint,
          'every run of a bulk start is found');

-- The index it reads, gone or rebuilt on other columns by hand (never in a
-- store this release made): refused with 55000, a message naming it and a
-- hint, not an internal error and not a read of the wrong columns. Each
-- error undoes the change with error_of's subtransaction.
SELECT is(pg_temp.error_of($$
    ALTER INDEX durable.workflows_one_open_run RENAME TO workflows_one_open_run_gone;
    SELECT durable._find_open_run('default', 'or-1')$$),
    ARRAY['55000', 'durable''s index "workflows_one_open_run" is missing',
          'durable reads this object directly and needs it as its schema defines it.',
          'Recreate it as durable''s install script (durable--0.2.sql) defines it, or reinstall the extension in a copy of the store and compare.'],
    'a missing index is refused with object_not_in_prerequisite_state, a detail and a hint');
SELECT is((pg_temp.error_of($$
    DROP INDEX durable.workflows_one_open_run;
    CREATE UNIQUE INDEX workflows_one_open_run ON durable.workflows (workflow_id, namespace) WHERE status = 'RUNNING';
    SELECT durable._find_open_run('default', 'or-1')$$))[1:2],
    ARRAY['55000', 'durable''s index "workflows_one_open_run" does not lead with the columns (namespace, workflow_id)'],
    'an index rebuilt on other columns is refused, not read as if it were the right one');
SELECT has_index('durable', 'workflows', 'workflows_one_open_run', 'the index is back');

-- _lock_workflow_task, _try_lock_activity_task -----------------------------
-- (C versions with one statement fewer measured no faster, 15.0-16.7 µs a
-- lock either way, and were not kept: docs/performance.md, "The store's
-- floor". These checks hold either body to the same errors.)

SELECT durable.start_workflow('tl-1', 'T', 'q-tl');
SELECT durable.start_workflow('tl-2', 'T', 'q-tl');
CREATE TEMP TABLE tl AS SELECT * FROM durable.poll_workflow_tasks('q-tl', 'tester', 1);
SELECT is((SELECT row(t.task_id, t.fence, t.state, t.identity)::text FROM durable._lock_workflow_task((SELECT task_token FROM tl)) t),
          (SELECT row(w.task_id, w.fence, w.state, w.identity)::text FROM durable.workflow_tasks w
            WHERE w.run_id = (SELECT run_id FROM tl)),
          '_lock_workflow_task gives the started task''s row');
SELECT is((SELECT (durable._lock_workflow_task((SELECT task_token FROM tl))).state), 'STARTED',
          'locking it again in the same transaction gives it again');
SELECT is(pg_temp.error_of('SELECT durable._lock_workflow_task(NULL)'),
          ARRAY['22023', 'malformed workflow task token', 'Got NULL.', 'Pass the task_token exactly as the poll returned it.'],
          'a NULL token: 22023, as _parse_token says it');
SELECT is(pg_temp.error_of($$SELECT durable._lock_workflow_task('a1.1')$$),
          ARRAY['22023', 'malformed workflow task token', 'Got ''a1.1''.', 'Pass the task_token exactly as the poll returned it.'],
          'an activity token for a workflow task: 22023');
SELECT is(pg_temp.error_of($$SELECT durable._lock_workflow_task('w987654321.1')$$),
          ARRAY['DU004', 'workflow task lease is no longer held',
                'Task token w987654321.1 is unknown, expired, or was already completed.',
                'Discard this result: the task was completed, retried or timed out, or its workflow closed.'],
          'an unknown task: DU004 with _lease_lost''s detail and hint');
SELECT is((pg_temp.error_of(format('SELECT durable._lock_workflow_task(%L)',
                                   (SELECT 'w' || task_id || '.' || (fence + 1) FROM durable.workflow_tasks
                                     WHERE run_id = (SELECT run_id FROM tl)))))[1:2],
          ARRAY['DU004', 'workflow task lease is no longer held'], 'a wrong fence: DU004');
SELECT is((pg_temp.error_of(format('SELECT durable._lock_workflow_task(%L)',
                                   (SELECT 'w' || t.task_id || '.' || t.fence FROM durable.workflow_tasks t
                                      JOIN durable.workflows w ON w.run_id = t.run_id WHERE w.workflow_id = 'tl-2'))))[1:2],
          ARRAY['DU004', 'workflow task lease is no longer held'], 'a task not started: DU004');

-- a caller without a grant on the task's queue is refused before anything is
-- locked or changed (the SECURITY DEFINER entry point, as a worker calls it)
CREATE ROLE tl_other NOLOGIN;
SELECT ok(durable.grant_task_queue('tl_other', 'q-tl-other'), 'a worker of another queue');
SELECT is((pg_temp.error_of(format('SET LOCAL ROLE tl_other; SELECT durable.complete_workflow_task(%L)',
                                   (SELECT task_token FROM tl))))[1:2],
          ARRAY['42501', 'permission denied for task queue "q-tl" of namespace "default"'],
          'completing a task of a queue one may not work on: 42501');
RESET ROLE;
SELECT is((SELECT row(state, fence)::text FROM durable.workflow_tasks WHERE run_id = (SELECT run_id FROM tl)),
          (SELECT row('STARTED', (regexp_match(task_token, '\.([0-9]+)$'))[1]::bigint)::text FROM tl),
          'and the task is as it was');

SELECT durable.complete_workflow_task((SELECT task_token FROM tl), jsonb_build_array(jsonb_build_object(
    'type', 'ScheduleActivityTask', 'activity_id', '1', 'activity_type', 'A', 'task_queue', 'q-tl-a',
    'start_to_close_timeout', 60)));
CREATE TEMP TABLE tla AS SELECT * FROM durable.poll_activity_tasks('q-tl-a', 'tester', 1);
SELECT is((SELECT row(a.activity_id, a.state, a.identity)::text FROM durable._try_lock_activity_task((SELECT task_token FROM tla)) a),
          '(1,STARTED,tester)', '_try_lock_activity_task gives the started task''s row');
SELECT is(durable._try_lock_activity_task('a987654321.1') IS NULL, true, 'an unknown activity task: NULL');
SELECT is(durable._try_lock_activity_task(
              (SELECT 'a' || task_id || '.' || (fence + 1) FROM durable.activity_tasks WHERE activity_id = '1'
                  AND run_id = (SELECT run_id FROM tl))) IS NULL, true, 'a wrong fence: NULL');
SELECT is(pg_temp.error_of('SELECT durable._try_lock_activity_task(NULL)'),
          ARRAY['22023', 'malformed activity task token', 'Got NULL.', 'Pass the task_token exactly as the poll returned it.'],
          'a NULL activity token: 22023');
SELECT is((pg_temp.error_of($$SELECT durable._try_lock_activity_task('w1.1')$$))[1:2],
          ARRAY['22023', 'malformed activity task token'], 'a workflow token for an activity task: 22023');

SELECT * FROM finish();
ROLLBACK;
