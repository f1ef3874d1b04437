-- The placing triggers (pgext/src/ready_pass.c) read the ready indexes
-- directly and count every row they hold as ready: that holds only while an
-- index keeps its WHERE state = 'SCHEDULED'. An index of that name rebuilt
-- without it (an operator's replacement) would have every leased task
-- counted as ready and new tasks placed behind them: it is refused, as a
-- missing index is, rather than read.
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

SELECT * FROM finish();
ROLLBACK;
