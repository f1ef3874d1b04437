-- Schedules: cron and interval specs, the overlap policies, pause, trigger,
-- backfill, catch-up, and bad input. Times move with skip_time + fire_due.
BEGIN;
SELECT * FROM no_plan();

-- Cron arithmetic ----------------------------------------------------------------
SELECT is(durable._cron_next('*/15 * * * *', '2026-01-01 10:07:30+00'), '2026-01-01 10:15:00+00'::timestamptz, 'every 15 minutes');
SELECT is(durable._cron_next('0 9 * * MON-FRI', '2026-01-02 09:00:00+00'), '2026-01-05 09:00:00+00'::timestamptz,
          'weekdays at 9: Friday 9:00 sharp is not after itself, next is Monday');
SELECT is(durable._cron_next('0 0 1 * *', '2026-01-31 12:00+00'), '2026-02-01 00:00+00'::timestamptz, 'monthly');
SELECT is(durable._cron_next('@yearly', '2026-06-01+00'), '2027-01-01 00:00+00'::timestamptz, '@yearly');
SELECT is(durable._cron_next('0 12 29 2 *', '2026-03-01+00'), '2028-02-29 12:00+00'::timestamptz, 'leap day');
SELECT is(durable._cron_next('30 4 1,15 * 5', '2026-01-01 05:00+00'), '2026-01-02 04:30+00'::timestamptz,
          'both day fields restricted: either matches (the 2nd is a Friday)');
SELECT throws_ok($$SELECT durable._cron_next('61 * * * *', now())$$, '22023',
                 'invalid cron expression "61 * * * *": minute field "61" is out of range 0-59', 'minute 61 is malformed');
SELECT throws_ok($$SELECT durable._cron_next('* * *', now())$$, '22023',
                 'invalid cron expression "* * *": it has 3 fields, not 5', 'three fields are malformed');

-- Create, describe, list -----------------------------------------------------------
CREATE TEMP TABLE t0 AS SELECT durable.now() AS now;
CREATE TEMP TABLE created AS SELECT durable.create_schedule('hourly', '{"interval": [{"every": 3600}]}',
          '{"workflow_type": "Report", "task_queue": "reports", "input": {"kind": "hourly"}}') AS first_run;
SELECT ok((SELECT first_run FROM created) BETWEEN (SELECT now FROM t0) AND (SELECT now FROM t0) + interval '1 hour',
          'the first run is within the hour');
SELECT is(durable.describe_schedule('hourly') ->> 'overlap_policy', 'SKIP', 'SKIP is the default overlap policy');
SELECT is(jsonb_array_length(durable.describe_schedule('hourly') -> 'upcoming'), 5, 'describe shows the next five times');
SELECT is((durable.describe_schedule('hourly') -> 'upcoming' ->> 1)::timestamptz
          - (durable.describe_schedule('hourly') -> 'upcoming' ->> 0)::timestamptz, interval '1 hour', 'an hour apart');
SELECT is((SELECT array_agg(schedule_id) FROM durable.list_schedules()), ARRAY['hourly'], 'list_schedules lists it');
SELECT throws_ok($$SELECT durable.create_schedule('hourly', '{"interval": [{"every": 60}]}', '{"workflow_type": "R", "task_queue": "q"}')$$,
                 'DU002', 'schedule "hourly" already exists', 'a schedule id is taken once');
SELECT ok(durable.next_due() <= (durable.describe_schedule('hourly') ->> 'next_run_at')::timestamptz,
          'next_due knows the schedule');

-- It fires by itself after an hour ---------------------------------------------------
SELECT durable.skip_time('1 hour');
SELECT ok(durable.fire_due() >= 1, 'fire_due fires the schedule');
CREATE TEMP TABLE first AS SELECT durable.describe_schedule('hourly') AS d;
SELECT is((SELECT (d ->> 'actions_taken')::int FROM first), 1, 'one action taken');
SELECT matches((SELECT d ->> 'last_workflow_id' FROM first), '^hourly-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$',
               'the workflow id is the schedule id and the scheduled time');
SELECT is(durable.describe_workflow((SELECT d ->> 'last_workflow_id' FROM first)) ->> 'workflow_type', 'Report', 'it started the action''s type');
SELECT is(durable.describe_workflow((SELECT d ->> 'last_workflow_id' FROM first)) -> 'input', '{"kind": "hourly"}', 'with its input');
SELECT is(durable.describe_workflow((SELECT d ->> 'last_workflow_id' FROM first)) -> 'search_attributes' ->> 'DurableScheduledById',
          'hourly', 'DurableScheduledById says where it came from');
SELECT ok((SELECT (d ->> 'next_run_at')::timestamptz FROM first) > durable.now(), 'the next run moved on');

-- SKIP: the first run is still open, so the next hour is skipped -------------------
SELECT durable.skip_time('1 hour');
SELECT durable.fire_due();
SELECT is((durable.describe_schedule('hourly') ->> 'actions_skipped')::int, 1, 'SKIP skipped the overlapping run');
SELECT is((durable.describe_schedule('hourly') ->> 'actions_taken')::int, 1, 'and started nothing');

-- Trigger with ALLOW_ALL starts one anyway; TERMINATE_OTHER ends the running one ----
SELECT is(durable.trigger_schedule('hourly', 'ALLOW_ALL'), 'STARTED', 'trigger with ALLOW_ALL starts at once');
CREATE TEMP TABLE before_term AS SELECT durable.describe_schedule('hourly') ->> 'last_run_id' AS run;
SELECT durable.skip_time('1 second');
SELECT is(durable.trigger_schedule('hourly', 'TERMINATE_OTHER'), 'STARTED', 'TERMINATE_OTHER starts a new run');
SELECT is((SELECT status FROM durable.workflows WHERE run_id = (SELECT run::uuid FROM before_term)), 'TERMINATED',
          'after terminating the running one');

-- BUFFER_ONE: started when the running one closes -----------------------------------
SELECT durable.skip_time('1 second');
SELECT is(durable.trigger_schedule('hourly', 'BUFFER_ONE'), 'BUFFERED', 'BUFFER_ONE waits while one runs');
SELECT is((durable.describe_schedule('hourly') ->> 'buffered')::int, 1, 'one start is buffered');
CREATE TEMP TABLE running AS SELECT durable.describe_schedule('hourly') ->> 'last_workflow_id' AS wid;
SELECT durable.terminate_workflow((SELECT wid FROM running), 'done');
SELECT is((durable.describe_schedule('hourly') ->> 'buffered')::int, 0, 'the buffered start was taken');
SELECT isnt(durable.describe_schedule('hourly') ->> 'last_workflow_id', (SELECT wid FROM running), 'a new workflow started');
SELECT is(durable.describe_workflow(durable.describe_schedule('hourly') ->> 'last_workflow_id') ->> 'status', 'RUNNING',
          'and it runs');
-- the same when the running one completes (complete_workflow_task's own close: workflow_complete.c)
SELECT durable.skip_time('1 second');
SELECT is(durable.trigger_schedule('hourly', 'BUFFER_ONE'), 'BUFFERED', 'BUFFER_ONE waits again');
CREATE TEMP TABLE running2 AS SELECT durable.describe_schedule('hourly') ->> 'last_workflow_id' AS wid;
SELECT durable.complete_workflow_task(p.task_token, '[{"type": "CompleteWorkflowExecution", "result": 1}]')
  FROM durable.poll_workflow_tasks('reports', 'tester', 10) p WHERE p.workflow_id = (SELECT wid FROM running2);
SELECT is(durable.describe_workflow((SELECT wid FROM running2)) ->> 'status', 'COMPLETED', 'the running one completed');
SELECT is((durable.describe_schedule('hourly') ->> 'buffered')::int, 0, 'and the buffered start was taken');
SELECT isnt(durable.describe_schedule('hourly') ->> 'last_workflow_id', (SELECT wid FROM running2), 'a new workflow started');

-- Pause and unpause ------------------------------------------------------------------
SELECT lives_ok($$SELECT durable.pause_schedule('hourly', 'maintenance')$$, 'pause');
SELECT is(durable.describe_schedule('hourly') ->> 'note', 'maintenance', 'the note is kept');
CREATE TEMP TABLE taken AS SELECT (durable.describe_schedule('hourly') ->> 'actions_taken')::int AS n,
                                  (durable.describe_schedule('hourly') ->> 'actions_skipped')::int AS skipped;
SELECT durable.skip_time('3 hours');
SELECT durable.fire_due();
SELECT is((durable.describe_schedule('hourly') ->> 'actions_taken')::int + (durable.describe_schedule('hourly') ->> 'actions_skipped')::int,
          (SELECT n + skipped FROM taken), 'a paused schedule does nothing');
SELECT ok(durable.unpause_schedule('hourly') > durable.now(), 'unpause returns the next time, in the future');

-- Backfill ---------------------------------------------------------------------------
SELECT durable.create_schedule('daily', '{"cron": ["0 6 * * *"]}', '{"workflow_type": "Daily", "task_queue": "reports"}');
SELECT is(durable.backfill_schedule('daily', '2026-01-01+00', '2026-01-04+00'), 3, 'three days backfilled');
SELECT ok(EXISTS (SELECT 1 FROM durable.list_workflows(workflow_type => 'Daily') WHERE workflow_id = 'daily-2026-01-02T06:00:00Z'),
          'each backfilled run is named for its scheduled time');
SELECT throws_ok($$SELECT durable.backfill_schedule('daily', '2026-01-04+00', '2026-01-01+00')$$, '22023',
                 'backfill needs start_at before end_at', 'a backwards range is refused');

-- remaining_actions ------------------------------------------------------------------
SELECT durable.create_schedule('twice', '{"interval": [{"every": 60}]}', '{"workflow_type": "T", "task_queue": "q"}',
                               '{"remaining_actions": 2, "overlap_policy": "ALLOW_ALL"}');
SELECT durable.skip_time('61 seconds');
SELECT durable.fire_due();
SELECT durable.skip_time('61 seconds');
SELECT durable.fire_due();
SELECT durable.skip_time('61 seconds');
SELECT durable.fire_due();
SELECT is((durable.describe_schedule('twice') ->> 'actions_taken')::int, 2, 'remaining_actions limits the runs');
SELECT is(durable.describe_schedule('twice') ->> 'next_run_at', NULL, 'and then there is no next run');

-- Catch-up window: a time older than the window is skipped, not run late -------------
SELECT durable.create_schedule('catchup', '{"interval": [{"every": 60}]}', '{"workflow_type": "T", "task_queue": "q"}',
                               '{"catchup_window": 30}');
SELECT durable.skip_time('5 minutes');
SELECT durable.fire_due();
SELECT is((durable.describe_schedule('catchup') ->> 'actions_taken')::int, 0, 'nothing older than the window runs');
SELECT ok((durable.describe_schedule('catchup') ->> 'next_run_at')::timestamptz > durable.now() - interval '30 seconds',
          'the schedule skipped ahead to the window');

-- Delete ---------------------------------------------------------------------------
SELECT lives_ok($$SELECT durable.delete_schedule('catchup')$$, 'delete');
SELECT throws_ok($$SELECT durable.describe_schedule('catchup')$$, 'DU007', 'schedule "catchup" not found', 'gone');
SELECT throws_ok($$SELECT durable.pause_schedule('nope')$$, 'DU007', 'schedule "nope" not found', 'unknown schedule');

-- Bad input changes nothing ----------------------------------------------------------
CREATE TEMP TABLE n0 AS SELECT count(*) AS n FROM durable.schedules;
SELECT throws_ok($$SELECT durable.create_schedule('bad', '{"cron": ["every day"]}', '{"workflow_type": "T", "task_queue": "q"}')$$,
                 '22023', 'invalid cron expression "every day": it has 2 fields, not 5', 'a malformed cron');
SELECT throws_ok($$SELECT durable.create_schedule('bad', '{}', '{"workflow_type": "T", "task_queue": "q"}')$$,
                 '22023', 'schedule spec needs a non-empty "cron" or "interval" array', 'an empty spec');
SELECT throws_ok($$SELECT durable.create_schedule('bad', '{"interval": [{"every": 0}]}', '{"workflow_type": "T", "task_queue": "q"}')$$,
                 '22023', 'schedule interval: "every" must be at least one second', 'a zero interval');
SELECT throws_ok($$SELECT durable.create_schedule('bad', '{"interval": [{"every": 60}]}', '{"task_queue": "q"}')$$,
                 '22023', 'schedule action needs "workflow_type"', 'an action without a type');
SELECT throws_ok($$SELECT durable.create_schedule('bad', '{"interval": [{"every": 60}]}', '{"workflow_type": "T", "task_queue": "q"}', '{"overlap_policy": "SOMETIMES"}')$$,
                 '22023', 'unknown overlap_policy "SOMETIMES"', 'an unknown overlap policy');
SELECT throws_ok($$SELECT durable.create_schedule('a/b', '{"interval": [{"every": 60}]}', '{"workflow_type": "T", "task_queue": "q"}')$$,
                 '22023', NULL, 'a slash in the id');
SELECT is((SELECT count(*) FROM durable.schedules), (SELECT n FROM n0), 'no bad schedule was created');

SELECT * FROM finish();
ROLLBACK;
