-- The placing triggers (pgext/src/ready_pass.c) read the ready indexes
-- directly and count every row they hold as ready: that holds only while an
-- index keeps its WHERE state = 'SCHEDULED'. An index of that name rebuilt
-- without it (an operator's replacement) would have every leased task
-- counted as ready and new tasks placed behind them: it is refused, as a
-- missing index is, rather than read. The tables a placing opens by name
-- are remembered until they change.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE FUNCTION pg_temp.task(q text, st text, p float8) RETURNS void LANGUAGE sql AS $$
    INSERT INTO durable.activity_tasks (run_id, namespace, workflow_id, scheduled_event_id, activity_id,
        activity_type, task_queue, state, scheduled_at, attempt_scheduled_at, start_to_close_timeout,
        retry_initial_interval, retry_backoff_coefficient, retry_maximum_interval, retry_maximum_attempts, pass)
    VALUES (gen_random_uuid(), 'default', 'rp', 1, '1', 'A', q, st, now(), now(), '10 min',
            '1 s', 2, '1 min', 0, p)
$$;

-- as built: a task in backoff is not counted
SELECT pg_temp.task('rp-q', 'BACKOFF', 100);
SELECT pg_temp.task('rp-q', 'SCHEDULED', -1);
SELECT is((SELECT pass FROM durable.activity_tasks WHERE task_queue = 'rp-q' AND state = 'SCHEDULED'), 0::float8,
          'a task in backoff is not among the ready ones');

DROP INDEX durable.activity_tasks_ready_by_key;
CREATE INDEX activity_tasks_ready_by_key ON durable.activity_tasks (namespace, task_queue, fairness_key, priority,
                                                                   pass, task_id);
SELECT throws_like($$ SELECT pg_temp.task('rp-q', 'SCHEDULED', -1) $$,
                   '%activity_tasks_ready_by_key%state%SCHEDULED%',
                   'a ready index without its WHERE state = ''SCHEDULED'' is refused, not read');

SELECT throws_ok($$ SELECT pg_temp.task('rp-q', 'SCHEDULED', -1) $$, '55000',
                 'index "activity_tasks_ready_by_key" does not hold only the ready tasks (WHERE state = ''SCHEDULED'')',
                 'with errcode object_not_in_prerequisite_state');

-- gone altogether: the same refusal, naming it, with the schema's hint
SELECT is(pg_temp.error_of($$
    DROP INDEX durable.activity_tasks_ready_by_key;
    CREATE INDEX activity_tasks_ready_by_key ON durable.activity_tasks (namespace, task_queue, fairness_key,
        priority, pass, task_id) WHERE state = 'SCHEDULED';
    DROP INDEX durable.activity_tasks_ready;
    SELECT pg_temp.task('rp-q2', 'SCHEDULED', -1)$$),
    ARRAY['55000', 'durable''s index "activity_tasks_ready" is missing',
          'durable reads this object directly and needs it as its schema defines it.',
          'Recreate it as durable''s install script (durable--0.2.sql) defines it, or reinstall the extension in a copy of the store and compare.'],
    'a missing ready index is refused with 55000, a detail and a hint');

-- The tables a placing opens itself (workflows, for a workflow task's run;
-- workflow_tasks, for _ready_pass) are remembered per backend, and
-- forgotten when they change: renamed away, a placing finds no table (it
-- does not read the old one by the oid it remembered); the rename undone,
-- it reads the table again.
CREATE FUNCTION pg_temp.wtask(q text) RETURNS float8 LANGUAGE sql AS $$
    INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue, state, scheduled_at)
    VALUES (pg_temp.taskless_run(q), 'default', q, 'SCHEDULED', now()) RETURNING pass
$$;
SELECT is(pg_temp.wtask('rp-w'), 0::float8, 'a workflow task placed, its run read from workflows');
SELECT is(pg_temp.wtask('rp-w'), 1::float8, 'the next one behind it');
SELECT is(durable._ready_pass('default', 'rp-w', 2::smallint, 'k', 1), 2::float8, '_ready_pass reads workflow_tasks');
SAVEPOINT away;
CREATE TEMP TABLE run_away AS SELECT pg_temp.taskless_run('rp-w') AS r;
ALTER TABLE durable.workflows RENAME TO workflows_away;
SELECT is((pg_temp.error_of($$INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue, state, scheduled_at)
                                SELECT r, 'default', 'rp-w', 'SCHEDULED', now() FROM run_away$$))[1:2],
          ARRAY['55000', 'durable''s table "workflows" is missing'],
          'workflows renamed away: the placing finds no table, and reads no other');
ALTER TABLE durable.workflows_away RENAME TO workflows;
ALTER TABLE durable.workflow_tasks RENAME TO workflow_tasks_away;
SELECT is((pg_temp.error_of($$SELECT durable._ready_pass('default', 'rp-w', 2::smallint, 'k', 1)$$))[1:2],
          ARRAY['55000', 'durable''s table "workflow_tasks" is missing'],
          'workflow_tasks renamed away: _ready_pass finds no table, and reads no other');
ROLLBACK TO SAVEPOINT away;
SELECT is(pg_temp.wtask('rp-w'), 2::float8, 'the renames undone, a placing reads workflows again');
SELECT is(durable._ready_pass('default', 'rp-w', 2::smallint, 'k', 1), 3::float8, 'and _ready_pass workflow_tasks');

SELECT * FROM finish();
ROLLBACK;
