-- Activity tasks inserted without the executor (pgext/src/task_insert.c,
-- durable._insert_activity_task, which _cmd_schedule_activity calls for a
-- task that is not eager): the row is the row the INSERT statement and its
-- placing trigger write; the errors are the statement's; an index whose
-- predicate reads a varying column (activity_tasks_deadline: timeout_at IS
-- NOT NULL) gets its entry only when it holds; and what an operator adds
-- still happens. The path is seen by the placing trigger's calls, as in
-- 81_task_insert.sql (which covers the guards they share one by one).
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
SET LOCAL track_functions = 'all';
SET LOCAL deadlock_timeout = '1min';   -- as 41_priority_plans.sql: the timer worker gives way

CREATE FUNCTION pg_temp.trigger_calls() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce((SELECT calls FROM pg_stat_xact_user_functions
                      WHERE schemaname = 'durable' AND funcname = '_activity_task_pass'), 0)
$$;
CREATE TEMP TABLE written (n serial, path text, task jsonb);
-- a task of queue q by _insert_activity_task: its path, and its row in written
CREATE FUNCTION pg_temp.direct(q text, sched bigint DEFAULT 5, fkey text DEFAULT '', prio smallint DEFAULT 3,
                               deadline timestamptz DEFAULT NULL, stc interval DEFAULT '10 min') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    calls bigint := pg_temp.trigger_calls();
    id bigint := durable._insert_activity_task('00000000-0000-0000-0000-0000000000a1', 'default', 'w-' || q, sched,
        '1', 'noop', q, '{"x": 1}', '2026-01-02 03:04:05+00', '2026-01-02 03:04:05+00', '1 h', NULL, stc, NULL,
        '1 s', 2, '100 s', 0, '{Bad}', deadline, fkey, prio, 2);
    path text := CASE WHEN pg_temp.trigger_calls() = calls THEN 'direct' ELSE 'statement' END;
BEGIN
    INSERT INTO written (path, task)
    SELECT path, to_jsonb(t) - 'task_id' - 'task_queue' - 'workflow_id' - 'run_id' FROM durable.activity_tasks t WHERE t.task_id = id;
    RETURN path;
END
$$;
-- the same by the statement _cmd_schedule_activity ran before
CREATE FUNCTION pg_temp.statement(q text, sched bigint DEFAULT 5, fkey text DEFAULT '', prio smallint DEFAULT 3,
                                  deadline timestamptz DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    t durable.activity_tasks;
BEGIN
    INSERT INTO durable.activity_tasks (run_id, namespace, workflow_id, scheduled_event_id, activity_id,
        activity_type, task_queue, input, state, scheduled_at, attempt_scheduled_at,
        schedule_to_close_timeout, schedule_to_start_timeout, start_to_close_timeout, heartbeat_timeout,
        retry_initial_interval, retry_backoff_coefficient, retry_maximum_interval, retry_maximum_attempts,
        non_retryable_error_types, timeout_at, fairness_key, priority, fairness_weight,
        fence, identity, started_at, pass)
    VALUES ('00000000-0000-0000-0000-0000000000a2', 'default', 'w-' || q, sched, '1', 'noop', q, '{"x": 1}',
        'SCHEDULED', '2026-01-02 03:04:05+00', '2026-01-02 03:04:05+00', '1 h', NULL, '10 min', NULL,
        '1 s', 2, '100 s', 0, '{Bad}', deadline, fkey, prio, 2, 0, NULL, NULL, -1)
    RETURNING * INTO t;
    RETURN to_jsonb(t) - 'task_id' - 'task_queue' - 'workflow_id' - 'run_id';
END
$$;
CREATE FUNCTION pg_temp.last() RETURNS jsonb LANGUAGE sql AS $$
    SELECT task FROM written ORDER BY n DESC LIMIT 1
$$;

SELECT is(pg_temp.direct('act-a', 1), 'direct', 'a plain store''s activity task is written directly');
SELECT is(pg_temp.last(), pg_temp.statement('act-b', 1), 'the same row as the INSERT and its trigger write');
SELECT is(pg_temp.direct('act-a', 2), 'direct', 'a second one');
SELECT is(pg_temp.last(), pg_temp.statement('act-b', 2), 'placed behind the first (weight 2: 0.5 behind)');
SELECT is((pg_temp.last() ->> 'pass')::float8, 0.5::float8, 'at pass 0.5');
SELECT is(pg_temp.direct('act-a', 3, 'k', 1::smallint), 'direct', 'one of another key and priority');
SELECT is(pg_temp.last(), pg_temp.statement('act-b', 3, 'k', 1::smallint), 'level with its priority''s head');

-- activity_tasks_deadline's predicate reads timeout_at, which varies: read for each row.
SELECT is(pg_temp.direct('act-d', 11, '', 3::smallint, '2030-01-01'), 'direct', 'a task with a deadline: directly');
SELECT is(pg_temp.last(), pg_temp.statement('act-d2', 11, '', 3::smallint, '2030-01-01'), 'the row as the statement''s');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*) FROM durable.activity_tasks WHERE timeout_at = '2030-01-01'), 2::bigint,
          'both found through activity_tasks_deadline');
SELECT is((SELECT count(*) FROM durable.activity_tasks WHERE namespace = 'default' AND task_queue = 'act-a'
             AND state = 'SCHEDULED' AND priority IN (1, 3)),
          3::bigint, 'the ready index has every task');
RESET enable_seqscan;
RESET enable_bitmapscan;

-- A column of a type with a modifier (timestamptz(0)): the statement coerces the time to it, rounding it to the second.
ALTER TABLE durable.activity_tasks ALTER COLUMN scheduled_at TYPE timestamptz(0);
SELECT lives_ok($$SELECT durable._insert_activity_task('00000000-0000-0000-0000-0000000000a1', 'default', 'w-act-mod', 5,
                      '1', 'noop', 'act-mod', '{"x": 1}', '2026-01-02 03:04:05.6+00', '2026-01-02 03:04:05+00', '1 h', NULL,
                      '10 min', NULL, '1 s', 2, '100 s', 0, '{Bad}', NULL, '', 3::smallint, 2)$$,
                'scheduled_at of timestamptz(0): the activity task written');
SELECT is((SELECT scheduled_at FROM durable.activity_tasks WHERE task_queue = 'act-mod'), '2026-01-02 03:04:06+00'::timestamptz,
          'its time as the column holds it, rounded as the statement rounds it');
ALTER TABLE durable.activity_tasks ALTER COLUMN scheduled_at TYPE timestamptz;

-- The statement's errors.
SELECT throws_ok($$SELECT pg_temp.direct('act-a', 1)$$, '23505',
                 'duplicate key value violates unique constraint "activity_tasks_run_id_scheduled_event_id_key"',
                 'a second task of a scheduled event is refused');
SELECT throws_ok($$SELECT pg_temp.direct('act-n', 9, '', 3::smallint, NULL, NULL)$$, '23502',
                 'null value in column "start_to_close_timeout" of relation "activity_tasks" violates not-null constraint',
                 'a null start_to_close_timeout is refused');
SELECT throws_ok($$SELECT pg_temp.direct('act-n', 9, NULL)$$, '23502',
                 'null value in column "fairness_key" of relation "activity_tasks" violates not-null constraint',
                 'a null fairness_key is refused');
SELECT is((SELECT count(*) FROM durable.activity_tasks WHERE task_queue = 'act-n'), 0::bigint, 'writing nothing');

-- What an operator adds: a trigger, a CHECK on a varying column, the placing trigger disabled.
CREATE TEMP TABLE fired (task_id bigint);
CREATE FUNCTION pg_temp.fired() RETURNS trigger LANGUAGE plpgsql
    AS 'BEGIN INSERT INTO fired VALUES (NEW.task_id); RETURN NULL; END';
CREATE TRIGGER act_test_after AFTER INSERT ON durable.activity_tasks FOR EACH ROW EXECUTE FUNCTION pg_temp.fired();
SELECT is(pg_temp.direct('act-t', 21), 'statement', 'an operator''s AFTER INSERT trigger: the statement');
SELECT is((SELECT count(*) FROM fired), 1::bigint, 'which fires it');
DROP TRIGGER act_test_after ON durable.activity_tasks;
ALTER TABLE durable.activity_tasks ADD CONSTRAINT act_test_check CHECK (retry_maximum_attempts > 0) NOT VALID;
SELECT throws_ok($$SELECT pg_temp.direct('act-c', 22)$$, '23514',
                 'new row for relation "activity_tasks" violates check constraint "act_test_check"',
                 'a CHECK on a varying column refuses what it refuses');
ALTER TABLE durable.activity_tasks DROP CONSTRAINT act_test_check;
ALTER TABLE durable.activity_tasks DISABLE TRIGGER activity_task_pass;
SELECT lives_ok($$SELECT pg_temp.direct('act-p', 23)$$, 'the placing trigger disabled');
SELECT is((pg_temp.last() ->> 'pass')::float8, -1::float8, 'leaves the task unplaced, as the statement does');
ALTER TABLE durable.activity_tasks ENABLE TRIGGER activity_task_pass;
SELECT is(pg_temp.direct('act-p', 24), 'direct', 'enabled again: directly');

-- _cmd_schedule_activity goes through it.
SELECT isnt(durable.start_workflow('act-wf', 'W', 'act-wq'), NULL, 'a run to schedule an activity');
SELECT is((SELECT pg_temp.trigger_calls() - c FROM (SELECT pg_temp.trigger_calls() AS c,
            pg_temp.complete('act-wq', '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "noop",
                                          "task_queue": "act-aq", "start_to_close_timeout": 60}]')) x), 0::bigint,
          'a ScheduleActivityTask command writes its task without the trigger');
SELECT is((SELECT ROW(state, attempt, pass, fence)::text FROM durable.activity_tasks WHERE task_queue = 'act-aq'),
          '(SCHEDULED,1,0,0)', 'SCHEDULED, attempt 1, at the head of its queue');
SELECT is((SELECT count(*) FROM durable.poll_activity_tasks('act-aq', 'tester', 10)), 1::bigint, 'and leased by a poll');

SELECT * FROM finish();
ROLLBACK;
