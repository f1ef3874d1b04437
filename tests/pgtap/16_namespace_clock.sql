-- A clock per namespace: durable.skip_time(namespace, by) moves one
-- namespace's history times, timers, timeouts and schedules, and no other
-- namespace's; the times a run shows (started_at, closed_at) agree with its
-- history; operators of the namespace may skip it, nobody else;
-- skip_to_next_deadline skips only when nothing can run.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE TEMP TABLE t0 AS SELECT durable.now() AS now;
-- event time of the latest event of a type in a namespace's workflow
CREATE FUNCTION pg_temp.at(wid text, etype text, ns text) RETURNS timestamptz LANGUAGE sql AS $$
    SELECT event_time FROM durable.get_history(wid, NULL, 0, 1000, ns) WHERE event_type = etype
     ORDER BY event_id DESC LIMIT 1
$$;

-- Two namespaces, each with a 30-day timer, a running activity with a one-hour
-- start-to-close timeout, and a schedule every day.
SELECT durable.start_workflow('nc-w', 'W', 'nc-q', NULL, '{}', ns) FROM unnest(ARRAY['nc-a', 'nc-b']) ns;
SELECT pg_temp.complete('nc-q', '[{"type": "StartTimer", "timer_id": "month", "start_to_fire_timeout": "30 days"},
                                  {"type": "ScheduleActivityTask", "activity_id": "2", "activity_type": "A",
                                   "start_to_close_timeout": "1 hour", "retry_policy": {"maximum_attempts": 1}}]', ns)
  FROM unnest(ARRAY['nc-a', 'nc-b']) ns;
SELECT count(*) FROM unnest(ARRAY['nc-a', 'nc-b']) ns, durable.poll_activity_tasks('nc-q', 'tester', 1, ns);
SELECT durable.create_schedule('nc-daily', '{"interval": [{"every": 86400}]}', '{"workflow_type": "R", "task_queue": "nc-r"}',
                               '{}', ns) FROM unnest(ARRAY['nc-a', 'nc-b']) ns;

-- The skip ---------------------------------------------------------------------
SELECT ok(durable.skip_time('nc-a', '30 days') >= (SELECT now FROM t0) + interval '30 days',
          'skip_time(namespace, by) returns the namespace''s new time');
SELECT is(durable.clock_offset('nc-a'), interval '30 days', 'clock_offset(namespace) is what was skipped');
SELECT is(durable.clock_offset('nc-b'), interval '0', 'another namespace has no offset');
SELECT ok(durable.now('nc-a') - durable.now() BETWEEN interval '29 days 23:59:59' AND interval '30 days 1 second',
          'durable.now(namespace) runs 30 days ahead');
SELECT ok(durable.now() < (SELECT now FROM t0) + interval '1 hour', 'durable.now() did not move');
SELECT ok(durable.now('nc-b') < (SELECT now FROM t0) + interval '1 hour', 'nor did the other namespace''s clock');

SELECT ok(durable.fire_due() >= 3, 'fire_due fires what came due in nc-a');
SELECT is(pg_temp.at('nc-w', 'TimerFired', 'nc-a') IS NOT NULL, true, 'nc-a''s 30-day timer fired');
SELECT ok(pg_temp.at('nc-w', 'TimerFired', 'nc-a') >= (SELECT now FROM t0) + interval '30 days',
          'at nc-a''s time, 30 days on');
SELECT is(durable.describe_workflow('nc-w', NULL, 'nc-a') -> 'pending_timers', '[]'::jsonb, 'no timer pending in nc-a');
SELECT is((SELECT attributes -> 'failure' ->> 'timeout_type' FROM durable.get_history('nc-w', NULL, 0, 1000, 'nc-a')
            WHERE event_type = 'ActivityTaskTimedOut'), 'START_TO_CLOSE', 'nc-a''s activity timed out');
SELECT ok((durable.describe_schedule('nc-daily', 'nc-a') ->> 'actions_taken')::int >= 1, 'nc-a''s schedule ran');

SELECT is(pg_temp.at('nc-w', 'TimerFired', 'nc-b'), NULL, 'nc-b''s timer did not fire');
SELECT is(jsonb_array_length(durable.describe_workflow('nc-w', NULL, 'nc-b') -> 'pending_timers'), 1, 'it is pending');
SELECT is(pg_temp.at('nc-w', 'ActivityTaskTimedOut', 'nc-b'), NULL, 'nc-b''s activity did not time out');
SELECT is((durable.describe_schedule('nc-daily', 'nc-b') ->> 'actions_taken')::int, 0, 'nc-b''s schedule did not run');
SELECT ok((SELECT max(event_time) FROM durable.get_history('nc-w', NULL, 0, 1000, 'nc-b'))
          < (SELECT now FROM t0) + interval '1 hour', 'nc-b''s history stays in the server''s time');

-- What a run shows agrees with its history ----------------------------------------
SELECT durable.start_workflow('nc-later', 'W', 'nc-q2', NULL, '{}', 'nc-a');
CREATE TEMP TABLE later AS SELECT durable.describe_workflow('nc-later', NULL, 'nc-a') AS d;
SELECT is((SELECT (d ->> 'started_at')::timestamptz FROM later), pg_temp.at('nc-later', 'WorkflowExecutionStarted', 'nc-a'),
          'started_at is the WorkflowExecutionStarted time');
SELECT ok((SELECT (d ->> 'started_at')::timestamptz FROM later) >= (SELECT now FROM t0) + interval '30 days',
          'in the namespace''s time');
SELECT pg_temp.complete('nc-q2', '[{"type": "CompleteWorkflowExecution", "result": 1}]', 'nc-a');
SELECT is((durable.describe_workflow('nc-later', NULL, 'nc-a') ->> 'closed_at')::timestamptz,
          pg_temp.at('nc-later', 'WorkflowExecutionCompleted', 'nc-a'), 'closed_at is the close event''s time');
SELECT ok((SELECT max(started_at) FROM durable.list_workflows(namespace => 'nc-a')) >= (SELECT now FROM t0) + interval '30 days',
          'list_workflows shows the namespace''s time too');

-- A timer started after the skip fires by the namespace's clock -------------------
SELECT pg_temp.complete('nc-q', '[{"type": "StartTimer", "timer_id": "day", "start_to_fire_timeout": "1 day"}]', 'nc-a');
SELECT durable.fire_due();
SELECT is((SELECT count(*) FROM durable.get_history('nc-w', NULL, 0, 1000, 'nc-a') WHERE event_type = 'TimerFired'),
          1::bigint, 'not fired before its day');
SELECT durable.skip_time('nc-a', '1 day');
SELECT durable.fire_due();
SELECT is((SELECT count(*) FROM durable.get_history('nc-w', NULL, 0, 1000, 'nc-a') WHERE event_type = 'TimerFired'),
          2::bigint, 'fired after nc-a''s day');
SELECT ok(pg_temp.at('nc-w', 'TimerFired', 'nc-a') - pg_temp.at('nc-w', 'TimerStarted', 'nc-a')
          BETWEEN interval '1 day' AND interval '1 day 1 minute', 'a day apart in its history');

-- skip_to_next_deadline -----------------------------------------------------------
SELECT durable.start_workflow('nc-idle', 'W', 'nc-q3', NULL, '{}', 'nc-c');
SELECT is(durable.skip_to_next_deadline('nc-c'), NULL, 'a workflow task waits: nothing skipped');
SELECT pg_temp.complete('nc-q3', '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": "7 days"}]', 'nc-c');
CREATE TEMP TABLE skipped AS SELECT durable.skip_to_next_deadline('nc-c') AS gap;   -- once: BETWEEN would call it twice
SELECT ok((SELECT gap FROM skipped) BETWEEN interval '6 days 23:59' AND interval '7 days',
          'only a timer left: skipped to it');
SELECT is(pg_temp.at('nc-idle', 'TimerFired', 'nc-c') IS NOT NULL, true, 'and fired it');
SELECT is(durable.skip_to_next_deadline('nc-c'), NULL, 'its workflow task waits now: nothing skipped');
SELECT is(durable.clock_offset('nc-a') < interval '32 days', true, 'nc-a did not move with nc-c');
SELECT is(durable.skip_to_next_deadline('nc-empty'), NULL, 'an empty namespace: nothing to skip to');

-- Rights and bad input ----------------------------------------------------------------
CREATE ROLE nc_operator NOLOGIN;
CREATE ROLE nc_reader NOLOGIN;
SELECT durable.grant_namespace('nc_operator', 'operator', 'nc-a');
SELECT durable.grant_namespace('nc_reader', 'reader', 'nc-a');
SELECT is(pg_temp.as_role('nc_operator', $$SELECT durable.skip_time('nc-a', '1 hour')$$), 'ok',
          'an operator of the namespace may skip its time (no superuser needed)');
SELECT is(pg_temp.as_role('nc_operator', $$SELECT durable.now('nc-a')$$), 'ok', 'and read its clock');
SELECT is(pg_temp.as_role('nc_operator', $$SELECT durable.skip_time('nc-b', '1 hour')$$), '42501',
          'not another namespace''s');
SELECT is(pg_temp.as_role('nc_reader', $$SELECT durable.skip_time('nc-a', '1 hour')$$), '42501', 'a reader may not');
SELECT is(pg_temp.as_role('nc_operator', $$SELECT durable.skip_time('1 hour')$$), '42501',
          'the server''s clock stays superuser-only');
SELECT is(durable.clock_offset('nc-b'), interval '0', 'nc-b still has not moved');
CREATE TEMP TABLE before_bad AS SELECT durable.clock_offset('nc-a') AS o;
SELECT throws_ok($$SELECT durable.skip_time('nc-a', '-1 second')$$, '22023', 'cannot skip time backwards', 'no skipping backwards');
SELECT throws_ok($$SELECT durable.skip_time('nc-a', '1 month')$$, '22023', NULL, 'no months');
SELECT throws_ok($$SELECT durable.skip_time('', '1 day')$$, '22023', NULL, 'a namespace is needed');
SELECT is(durable.clock_offset('nc-a'), (SELECT o FROM before_bad), 'bad input changed nothing');

-- 0.1's skip_time(by) still moves the server's clock, under every namespace
CREATE TEMP TABLE t1 AS SELECT durable.now() AS now, durable.now('nc-a') AS a;
SELECT durable.skip_time('1 hour');
SELECT ok(durable.now() >= (SELECT now FROM t1) + interval '1 hour', 'skip_time(by) moves durable.now()');
SELECT ok(durable.now('nc-a') >= (SELECT a FROM t1) + interval '1 hour', 'and every namespace with it');

SELECT * FROM finish();
ROLLBACK;
