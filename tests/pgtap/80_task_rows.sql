-- The placing triggers of the task tables (api/41_priority.sql,
-- pgext/src/ready_pass.c) test "pass < 0" themselves, where a WHEN clause
-- did (PostgreSQL planned it again for every statement that inserted a
-- task): an insert that gives its pass keeps it, whatever the trigger would
-- have given, and so does a null pass (refused by NOT NULL, as before) or
-- NaN (not below 0). The triggers remember their columns' numbers per
-- table: a column renamed, or dropped and added again, is looked up anew.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
SET LOCAL deadlock_timeout = '1min';   -- as 41_priority_plans.sql: the timer worker gives way

SELECT is((SELECT count(*) FROM pg_trigger WHERE tgname IN ('activity_task_pass', 'workflow_task_pass')
            AND tgqual IS NULL AND NOT tgisinternal), 2::bigint,
          'the insert triggers of both task tables have no WHEN clause');

CREATE FUNCTION pg_temp.activity_task(q text, id text, pass float8 DEFAULT -1, fkey text DEFAULT '')
RETURNS durable.activity_tasks LANGUAGE sql AS $$
    INSERT INTO durable.activity_tasks (run_id, namespace, workflow_id, scheduled_event_id, activity_id,
        activity_type, task_queue, state, scheduled_at, attempt_scheduled_at, start_to_close_timeout,
        retry_initial_interval, retry_backoff_coefficient, retry_maximum_interval, retry_maximum_attempts,
        fairness_key, pass)
    VALUES (gen_random_uuid(), 'default', 'rows', 5, id, 'A', q, 'SCHEDULED', now(), now(), '10 min',
            '1 s', 2, '1 min', 0, fkey, pass)
    RETURNING *
$$;
CREATE FUNCTION pg_temp.workflow_task(q text, pass float8 DEFAULT -1) RETURNS durable.workflow_tasks
LANGUAGE plpgsql AS $$
DECLARE
    r uuid := pg_temp.taskless_run(q);
    t durable.workflow_tasks;
BEGIN
    INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue, state, scheduled_at, pass)
    VALUES (r, 'default', q, 'SCHEDULED', now(), pass) RETURNING * INTO t;
    RETURN t;
END
$$;

-- placed: the first of a queue at 0, the next behind it
SELECT is((pg_temp.activity_task('rows-aq', '1')).pass, 0::float8, 'an activity task of pass -1 is placed');
SELECT is((pg_temp.activity_task('rows-aq', '2')).pass, 1::float8, 'and the next one behind it');
SELECT is((pg_temp.activity_task('rows-aq', '3', -0.5)).pass, 2::float8, 'any pass below 0 is placed');
SELECT is((pg_temp.activity_task('rows-kept', '4', 42)).pass, 42::float8, 'a pass given (>= 0) is kept');
SELECT is((pg_temp.activity_task('rows-kept', '5', 0)).pass, 0::float8, 'a pass of 0 too');
SELECT ok((pg_temp.activity_task('rows-kept', '6', 'NaN')).pass = 'NaN'::float8, 'and NaN, which is not below 0');
SELECT throws_ok($$SELECT pg_temp.activity_task('rows-kept', '7', NULL)$$, '23502', NULL,
                 'a null pass is refused by its NOT NULL, not placed');

SELECT is(ROW((t).priority, (t).fairness_key, (t).pass)::text, '(2,k,0)',
          'a workflow task of pass -1 takes its run''s priority and key, and its place')
  FROM (SELECT pg_temp.workflow_task('rows-wq') t) x;
SELECT is(ROW((t).priority, (t).fairness_key, (t).pass)::text, '(2,k,1)', 'the next one behind it')
  FROM (SELECT pg_temp.workflow_task('rows-wq') t) x;
SELECT is(ROW((t).priority, (t).fairness_key, (t).pass)::text, '(3,"",7)',
          'one that gives its pass keeps it, and the columns'' defaults, as under the WHEN')
  FROM (SELECT pg_temp.workflow_task('rows-wq', 7) t) x;
SELECT throws_ok($$SELECT pg_temp.workflow_task('rows-wq', NULL)$$, '23502', NULL,
                 'a null pass of a workflow task is refused too');

-- The columns' numbers are looked up again when the table changes.
ALTER TABLE durable.activity_tasks RENAME COLUMN fairness_weight TO fairness_weight_renamed;
SELECT throws_ok($$SELECT pg_temp.activity_task('rows-aq', '8')$$, '55000', NULL,
                 'a renamed column is missed at once, not read by its old number');
ALTER TABLE durable.activity_tasks RENAME COLUMN fairness_weight_renamed TO fairness_weight;
SELECT is((pg_temp.activity_task('rows-aq', '9')).pass, 3::float8, 'and found again once named back');
-- a column dropped and added again is at a new place (and null until set)
ALTER TABLE durable.activity_tasks DROP COLUMN fairness_weight;
ALTER TABLE durable.activity_tasks ADD COLUMN fairness_weight float8 NOT NULL DEFAULT 0.5;
SELECT is((pg_temp.activity_task('rows-aq', '10', -1, 'half')).pass, 0::float8,
          'a key''s first task after the column moved is placed at the head');
SELECT is((pg_temp.activity_task('rows-aq', '11', -1, 'half')).pass, 2::float8,
          'and its next 1 / 0.5 behind: the weight is read from the column''s new place');

SELECT * FROM finish();
ROLLBACK;
