-- durable._tick (api/08_timers.sql): the timer workers' tick, fire_due's
-- work and next_due's answer from one read of each kind's deadline index.
-- Its next deadline must be what next_due() says right after it, for every
-- kind, whether the kind fired or not (a kind that fired is read again:
-- what is left of it), and now once max_items fired (more may be due); its
-- count is fire_due's.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- _tick(n), and whether its next deadline is next_due()'s after it
CREATE TEMP TABLE ticked (n serial, fired integer, next_due timestamptz, agrees boolean);
CREATE FUNCTION pg_temp.tick(n integer DEFAULT 1000) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    t record;
BEGIN
    SELECT * INTO t FROM durable._tick(n);
    INSERT INTO ticked (fired, next_due, agrees) VALUES (t.fired, t.next_due, t.next_due IS NOT DISTINCT FROM durable.next_due());
    RETURN t.fired;
END
$$;
CREATE FUNCTION pg_temp.agrees() RETURNS boolean LANGUAGE sql AS $$
    SELECT agrees FROM ticked ORDER BY n DESC LIMIT 1
$$;
CREATE FUNCTION pg_temp.next() RETURNS timestamptz LANGUAGE sql AS $$
    SELECT next_due FROM ticked ORDER BY n DESC LIMIT 1
$$;
-- a workflow of queue q whose first task starts timer t, due in secs
CREATE FUNCTION pg_temp.timer(q text, secs numeric, t text DEFAULT 't') RETURNS void LANGUAGE sql AS $$
    SELECT durable.start_workflow(q, 'W', q);
    SELECT pg_temp.complete(q, jsonb_build_array(jsonb_build_object('type', 'StartTimer', 'timer_id', t,
                                                                    'start_to_fire_timeout', secs)));
$$;

SELECT throws_ok($$SELECT durable._tick(0)$$, '22023', NULL, 'max_items must be positive, as for fire_due');

-- nothing of this test's due: the next deadline is next_due's, whatever is pending
SELECT durable.fire_due();
SELECT is(pg_temp.tick(), 0, 'nothing due: none fired');
SELECT ok(pg_temp.agrees(), 'and its next deadline is next_due''s');

-- timers: one due in a minute, one in an hour
SELECT pg_temp.timer('tk-t1', 60);
SELECT pg_temp.timer('tk-t2', 3600);
SELECT is(pg_temp.tick(), 0, 'timers pending: none fired');
SELECT is(pg_temp.next(), (SELECT min(fire_at) FROM durable.timers), 'the next deadline is the first timer''s');
SELECT ok(pg_temp.agrees(), '(next_due''s)');
SELECT durable.skip_time('2 minutes');
SELECT is(pg_temp.tick(), 1, 'the first due: it fires');
SELECT is(pg_temp.last_types('tk-t1', 2), ARRAY['TimerFired', 'WorkflowTaskScheduled'], '(its TimerFired)');
SELECT is(pg_temp.next(), (SELECT min(fire_at) FROM durable.timers), 'the next deadline is read after the firing: the hour''s timer''s');
SELECT ok(pg_temp.next() > durable.now(), '(ahead)');
SELECT ok(pg_temp.agrees(), '(next_due''s)');

-- max_items fired: more may be due, the next deadline is now
SELECT pg_temp.timer('tk-t3', 1, 'a');
SELECT pg_temp.timer('tk-t4', 1, 'b');
SELECT durable.skip_time('2 seconds');
SELECT is(pg_temp.tick(1), 1, 'two due, max_items 1: one fires');
SELECT ok(pg_temp.next() <= durable.now(), 'the next deadline is now (look again at once)');
SELECT is(pg_temp.tick(1), 1, 'the next tick fires the other');
SELECT is(pg_temp.tick(1), 0, 'then none');
SELECT ok(pg_temp.agrees(), 'and the next deadline is next_due''s again');

-- an activity's start-to-close timeout
SELECT durable.start_workflow('tk-a', 'W', 'tk-a');
SELECT pg_temp.complete('tk-a', '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A",
                                   "start_to_close_timeout": 30, "retry_policy": {"maximum_attempts": 1}}]');
SELECT count(*) FROM durable.poll_activity_tasks('tk-a', 'tester', 1);
SELECT is(pg_temp.tick(), 0, 'an activity started: none fired');
SELECT ok(pg_temp.agrees(), '(the next deadline is next_due''s)');
SELECT durable.skip_time('31 seconds');
SELECT ok(pg_temp.tick() >= 1, 'its timeout passed: it fires');
SELECT is(pg_temp.last_types('tk-a', 2), ARRAY['ActivityTaskTimedOut', 'WorkflowTaskScheduled'], '(it timed out)');
SELECT ok(pg_temp.agrees(), 'the next deadline is next_due''s after it');

-- a workflow task's timeout
SELECT durable.start_workflow('tk-w', 'W', 'tk-w');
SELECT count(*) FROM durable.poll_workflow_tasks('tk-w', 'tester', 1);
SELECT ok(pg_temp.tick() >= 0 AND pg_temp.agrees(), 'a workflow task started: the next deadline is next_due''s');
SELECT durable.skip_time('11 seconds');
SELECT ok(pg_temp.tick() >= 1, 'its timeout passed: it fires');
SELECT is(pg_temp.last_types('tk-w', 1), ARRAY['WorkflowTaskTimedOut'], '(it timed out)');
SELECT ok(pg_temp.agrees(), 'the next deadline is next_due''s after it');

-- a run's execution timeout
SELECT durable.start_workflow('tk-d', 'W', 'tk-d', NULL, '{"execution_timeout": 5}');
SELECT ok(pg_temp.tick() >= 0 AND pg_temp.agrees(), 'a run with a deadline: the next deadline is next_due''s');
SELECT durable.skip_time('6 seconds');
SELECT ok(pg_temp.tick() >= 1, 'its deadline passed: it fires');
SELECT is(pg_temp.status('tk-d'), 'TIMED_OUT', '(the run timed out)');
SELECT ok(pg_temp.agrees(), 'the next deadline is next_due''s after it');

-- a schedule
SELECT durable.create_schedule('tk-s', '{"interval": [{"every": 3600}]}', '{"workflow_type": "S", "task_queue": "tk-s"}');
SELECT ok(pg_temp.tick() >= 0 AND pg_temp.agrees(), 'a schedule: the next deadline is next_due''s');
SELECT durable.skip_time('1 hour');
SELECT ok(pg_temp.tick() >= 1, 'its time came: it fires');
SELECT is((SELECT count(*) FROM durable.workflows WHERE task_queue = 'tk-s'), 1::bigint, '(a run started)');
SELECT ok(pg_temp.next() > durable.now(), 'its next time is read after it');
SELECT ok(pg_temp.agrees(), 'the next deadline is next_due''s after it');

-- a limited queue's wake
SELECT durable.set_task_queue_limits('tk-l', max_concurrent => 1);
UPDATE durable.task_queue_limits SET wake_at = durable.now() + interval '1 second' WHERE task_queue = 'tk-l';
SELECT ok(pg_temp.tick() >= 0 AND pg_temp.agrees(), 'a queue to wake: the next deadline is next_due''s');
SELECT ok(pg_temp.next() <= durable.now() + interval '1 second', '(no later than the wake)');
SELECT durable.skip_time('2 seconds');
SELECT pg_temp.tick();
SELECT is((SELECT wake_at FROM durable.task_queue_limits WHERE task_queue = 'tk-l'), NULL, 'its time came: it is woken');
SELECT ok(pg_temp.agrees(), 'the next deadline is next_due''s after it');

-- fire_due is _tick's count
SELECT pg_temp.timer('tk-f', 1);
SELECT durable.skip_time('2 seconds');
SELECT is(durable.fire_due(), 1, 'fire_due fires as _tick does');
SELECT is(pg_temp.last_types('tk-f', 2), ARRAY['TimerFired', 'WorkflowTaskScheduled'], '(the timer)');

SELECT * FROM finish();
ROLLBACK;
