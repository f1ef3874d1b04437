-- Nothing stalls time: rows that make firing fail, written behind the API as
-- a superuser would (a negative retry interval, a constraint the history
-- insert violates, a corrupt schedule spec, a schedule id too long for the
-- workflow ids it derives), are parked one by one with their error, while
-- every other deadline due at the same moment fires. Parked items are not
-- retried in a loop, show in describe_workflow, describe_schedule and
-- list_parked, and fire once fixed and retried.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
SET LOCAL client_min_messages = error;   -- the parking WARNINGs go to the server log

CREATE FUNCTION pg_temp.run(wid text) RETURNS uuid LANGUAGE sql AS $$
    SELECT (durable.describe_workflow(wid) ->> 'run_id')::uuid
$$;
CREATE FUNCTION pg_temp.parked(wid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT durable.describe_workflow(wid) -> 'parked'
$$;
-- Fires until nothing more is due; returns how many calls it took.
CREATE FUNCTION pg_temp.fire_all() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer := 0;
BEGIN
    WHILE durable.fire_due() > 0 AND n < 20 LOOP
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
CREATE FUNCTION pg_temp.activity(q text, timeouts jsonb) RETURNS void LANGUAGE sql AS $$
    SELECT pg_temp.complete(q, jsonb_build_array(jsonb_build_object('type', 'ScheduleActivityTask',
        'activity_id', 'a', 'activity_type', 'A') || timeouts))
$$;

-- Good deadlines, all due in 5 seconds ---------------------------------------------
SELECT durable.start_workflow('pk-timer', 'W', 'pk-q1');
SELECT pg_temp.complete('pk-q1', '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 5}]');
SELECT durable.start_workflow('pk-act', 'W', 'pk-q2');
SELECT pg_temp.activity('pk-q2', '{"start_to_close_timeout": 60, "schedule_to_start_timeout": 5}');
SELECT durable.start_workflow('pk-wft', 'W', 'pk-q3', NULL, '{"task_timeout": 5}');
SELECT durable.poll_workflow_tasks('pk-q3', 'tester');
SELECT durable.start_workflow('pk-run', 'W', 'pk-q4', NULL, '{"run_timeout": 5}');
SELECT durable.create_schedule('pk-good', '{"interval": [{"every": 5}]}', '{"workflow_type": "W", "task_queue": "pk-s"}');

-- Bad ones, due at the same moment -------------------------------------------------
-- 1. a retry interval that is negative in seconds: ln() of it fails (2201E)
SELECT durable.start_workflow('pk-neg', 'W', 'pk-q5');
SELECT pg_temp.activity('pk-q5', '{"start_to_close_timeout": 5}');
SELECT durable.poll_activity_tasks('pk-q5', 'tester');
UPDATE durable.activity_tasks SET retry_initial_interval = '-1 year 361 days' WHERE workflow_id = 'pk-neg';
-- 2. a constraint the history insert of its TimerFired violates (23514)
SELECT durable.start_workflow('pk-check', 'W', 'pk-q6');
SELECT pg_temp.complete('pk-q6', '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 5}]');
SELECT format('ALTER TABLE durable.history_rows ADD CONSTRAINT pk_test_check CHECK (run_id <> %L) NOT VALID',
              pg_temp.run('pk-check')) \gexec
-- 3. a corrupt schedule spec (22023 from the spec parser)
SELECT durable.create_schedule('pk-corrupt', '{"interval": [{"every": 5}]}', '{"workflow_type": "W", "task_queue": "pk-s"}');
UPDATE durable.schedules SET spec = '{"interval": [{"every": "soon"}]}' WHERE schedule_id = 'pk-corrupt';
-- 4. a 2,670-byte schedule id (of digits that do not compress): its workflow
--    ids overflow the index row (54000)
SELECT durable.create_schedule('pk-long', '{"interval": [{"every": 5}]}', '{"workflow_type": "W", "task_queue": "pk-s"}');
UPDATE durable.schedules SET schedule_id = 'pk-long' || (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 83) i) || 'abcdefg'
 WHERE schedule_id = 'pk-long';

SELECT durable.skip_time('6 seconds');
SELECT ok(pg_temp.fire_all() >= 1, 'fire_due goes through the batch');

-- Every good deadline fired ----------------------------------------------------------
SELECT is(pg_temp.event('pk-timer', 'TimerFired') ->> 'timer_id', 't', 'the good timer fired');
SELECT is(pg_temp.event('pk-act', 'ActivityTaskTimedOut') -> 'failure' ->> 'timeout_type', 'SCHEDULE_TO_START',
          'the good activity timed out');
SELECT is(pg_temp.event('pk-wft', 'WorkflowTaskTimedOut') ->> 'timeout_type', 'START_TO_CLOSE',
          'the good workflow task timed out');
SELECT is(pg_temp.status('pk-run'), 'TIMED_OUT', 'the good run timed out');
SELECT ok((durable.describe_schedule('pk-good') ->> 'actions_taken')::int >= 1, 'the good schedule started a workflow');

-- Every bad one is parked with its error ------------------------------------------
SELECT is(pg_temp.parked('pk-neg') -> 0 -> 'error' ->> 'sqlstate', '2201E', 'the negative interval is parked (2201E)');
SELECT is(pg_temp.parked('pk-neg') -> 0 ->> 'kind', 'activity_task', 'as an activity task');
SELECT is(pg_temp.parked('pk-check') -> 0 -> 'error' ->> 'sqlstate', '23514', 'the constraint violation is parked (23514)');
SELECT is(pg_temp.parked('pk-check') -> 0 ->> 'item', pg_temp.run('pk-check') || '/t', 'naming the timer');
SELECT is(durable.describe_schedule('pk-corrupt') -> 'parked' -> 'error' ->> 'sqlstate', '22023',
          'the corrupt schedule is parked (22023)');
SELECT is((SELECT error ->> 'sqlstate' FROM durable.list_parked() WHERE kind = 'schedule' AND schedule_id LIKE 'pk-long_%'),
          '54000', 'the schedule whose ids overflow the index is parked (54000)');
SELECT is((SELECT count(*) FROM durable.list_parked()), 4::bigint, 'list_parked lists the four');
SELECT is((SELECT count(*) FROM durable.list_parked('default') WHERE workflow_id = 'pk-neg'), 1::bigint,
          'with their workflow id');
SELECT is(pg_temp.parked('pk-timer'), '[]'::jsonb, 'a workflow with nothing parked shows []');
SELECT is((SELECT count(*) FROM durable.workflows WHERE workflow_id LIKE 'pk-corrupt-%'), 0::bigint,
          'the corrupt schedule''s half-done action was rolled back');
SELECT is(pg_temp.last_types('pk-neg', 1), ARRAY['ActivityTaskScheduled'], 'and the parked activity changed nothing');

-- Not in a hot loop ------------------------------------------------------------------
-- The good schedule acts every 5 s: on a loaded machine more than that can
-- pass before the checks below, and its next action is not what they judge.
SELECT durable.pause_schedule('pk-good', 'fired: the checks below judge the parked items');
SELECT ok(durable.next_due() IS NULL OR durable.next_due() > durable.now(), 'nothing parked is due again at once');
-- measured from each one's own failure, not from the moment this check runs:
-- on a loaded machine seconds can pass between the firing and here
SELECT ok((SELECT bool_and(retry_at >= last_error_at + interval '59 seconds' AND retry_at > durable.now())
             FROM durable.list_parked()),
          'each is retried in a minute');
SELECT is(durable.fire_due(), 0, 'so fire_due finds nothing');
SELECT durable.skip_time('61 seconds');
SELECT pg_temp.fire_all();
SELECT is((SELECT max(attempts) FROM durable.list_parked()), 2, 'a minute later each failed again (attempt 2)');
SELECT ok((SELECT bool_and(retry_at >= last_error_at + interval '119 seconds' AND retry_at > durable.now())
             FROM durable.list_parked()),
          'and waits two minutes now');

-- Fixed and retried, they fire -------------------------------------------------------
ALTER TABLE durable.history_rows DROP CONSTRAINT pk_test_check;
UPDATE durable.activity_tasks SET retry_initial_interval = '1 second' WHERE workflow_id = 'pk-neg';
SELECT throws_ok($$SELECT durable.retry_parked(kind => 'lunch')$$, '22023', NULL, 'retry_parked refuses an unknown kind');
SELECT is(durable.retry_parked('pk-check'), 1, 'retry_parked makes the timer due now');
SELECT is(durable.retry_parked('pk-neg'), 1, 'and the activity');
SELECT pg_temp.fire_all();
SELECT is(pg_temp.event('pk-check', 'TimerFired') ->> 'timer_id', 't', 'the fixed timer fired');
SELECT is(pg_temp.parked('pk-check'), '[]'::jsonb, 'and is no longer parked');
SELECT is((durable.describe_workflow('pk-neg') -> 'pending_activities' -> 0 ->> 'attempt')::int, 2,
          'the fixed activity went on to its retry');
SELECT is(pg_temp.parked('pk-neg'), '[]'::jsonb, 'and is no longer parked');
SELECT is((SELECT count(*) FROM durable.parked WHERE workflow_id IN ('pk-check', 'pk-neg')), 0::bigint,
          'their parked rows are gone');
SELECT durable.delete_schedule('pk-corrupt');
SELECT durable.fire_due();
SELECT is((SELECT count(*) FROM durable.parked WHERE schedule_id = 'pk-corrupt'), 0::bigint,
          'a deleted schedule''s parked row goes too');
SELECT is((SELECT count(*) FROM durable.list_parked()), 1::bigint, 'one is still parked: the long schedule id');

SELECT * FROM finish();
ROLLBACK;
