-- The C worker's calls, made cheaper in session 10 (docs/performance.md,
-- "The worker's calls in the server"): each change has its twin here.
--   1. ScheduleActivityTask with an empty retry policy (what the C worker
--      sends for an activity without options) takes the default policy
--      without checking the empty object again: the same event, the same
--      task row as no policy, a null one, or the defaults spelled out; a
--      bad policy fails as _retry_policy fails.
--   2. The hand-back's deferred tasks (pgext/src/handback.c) are kept in
--      backend memory instead of a text setting: the event _handback_defer
--      appends is _schedule_workflow_task's, a run deferred twice is kept
--      once, the list keeps the order, and a savepoint rolled back takes
--      back what was deferred under it (or the opening itself).
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
SELECT pg_temp.hold_clock();

-- 1. Retry policies ------------------------------------------------------------
-- One workflow per policy, each scheduling one activity with that policy.
CREATE FUNCTION pg_temp.schedule(wid text, policy jsonb, absent boolean DEFAULT false) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    cmd jsonb := jsonb_build_object('type', 'ScheduleActivityTask', 'activity_id', 'a1', 'activity_type', 'Charge',
                                    'input', 1, 'start_to_close_timeout', 30);
BEGIN
    PERFORM durable.start_workflow(wid, 'W', wid);
    IF NOT absent THEN
        cmd := cmd || jsonb_build_object('retry_policy', policy);
    END IF;
    PERFORM pg_temp.complete(wid, jsonb_build_array(cmd));
END
$$;
-- The activity's task row, but its ids and times.
CREATE FUNCTION pg_temp.arow(wid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT to_jsonb(a) - 'task_id' - 'run_id' - 'workflow_id' - 'task_queue' - 'scheduled_at'
           - 'attempt_scheduled_at' - 'timeout_at' - 'pass'
      FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = wid
$$;
SELECT pg_temp.schedule('r-none', NULL, true);
SELECT pg_temp.schedule('r-null', 'null');
SELECT pg_temp.schedule('r-empty', '{}');
SELECT pg_temp.schedule('r-spelled', '{"initial_interval": 1, "backoff_coefficient": 2, "maximum_interval": 100,
                                       "maximum_attempts": 0, "non_retryable_error_types": []}');
SELECT pg_temp.schedule('r-own', '{"maximum_attempts": 3, "non_retryable_error_types": ["Fatal"]}');
SELECT is(pg_temp.event('r-empty', 'ActivityTaskScheduled') - 'task_queue',
          pg_temp.event('r-none', 'ActivityTaskScheduled') - 'task_queue',
          'an empty retry policy records what none does');
SELECT is(pg_temp.event('r-empty', 'ActivityTaskScheduled') -> 'retry_policy',
          '{"initial_interval": 1, "backoff_coefficient": 2, "maximum_interval": 100,
            "maximum_attempts": 0, "non_retryable_error_types": []}'::jsonb,
          'Temporal''s default policy, as _retry_policy fills it in');
SELECT is(pg_temp.event('r-empty', 'ActivityTaskScheduled') -> 'retry_policy',
          durable._retry_policy('{}', 'retry_policy'), 'the very value of _retry_policy of {}');
SELECT is(pg_temp.event('r-null', 'ActivityTaskScheduled') - 'task_queue',
          pg_temp.event('r-none', 'ActivityTaskScheduled') - 'task_queue', 'a null policy too');
SELECT is(pg_temp.event('r-spelled', 'ActivityTaskScheduled') - 'task_queue',
          pg_temp.event('r-empty', 'ActivityTaskScheduled') - 'task_queue', 'and the defaults spelled out');
SELECT is(pg_temp.arow('r-empty'), pg_temp.arow('r-none'), 'the task row of an empty policy is that of none');
SELECT is(pg_temp.arow('r-spelled'), pg_temp.arow('r-empty'), 'and of the defaults spelled out');
SELECT is(pg_temp.arow('r-empty') ->> 'retry_maximum_interval', '00:01:40', 'its maximum interval, 100 s');
SELECT is(pg_temp.event('r-own', 'ActivityTaskScheduled') -> 'retry_policy',
          durable._retry_policy('{"maximum_attempts": 3, "non_retryable_error_types": ["Fatal"]}', 'retry_policy'),
          'a policy of its own is checked and filled in as before');
SELECT is(pg_temp.arow('r-own') -> 'non_retryable_error_types', '["Fatal"]', 'with its error types');
-- A bad policy: the error _retry_policy raises, and nothing scheduled.
CREATE FUNCTION pg_temp.bad(wid text, policy jsonb) RETURNS text[] LANGUAGE sql AS $$
    SELECT pg_temp.error_of(format('SELECT pg_temp.schedule(%L, %L)', wid, policy))
$$;
SELECT is(pg_temp.bad('r-bad1', '{"bogus": 1}'),
          pg_temp.error_of($$SELECT durable._retry_policy('{"bogus": 1}', 'retry_policy')$$),
          'an unknown key fails as _retry_policy fails');
SELECT is(pg_temp.bad('r-bad2', '[]'),
          pg_temp.error_of($$SELECT durable._retry_policy('[]', 'retry_policy')$$),
          'an array fails as _retry_policy fails');
SELECT is(pg_temp.bad('r-bad3', '{"backoff_coefficient": 0.5}'),
          pg_temp.error_of($$SELECT durable._retry_policy('{"backoff_coefficient": 0.5}', 'retry_policy')$$),
          'a bad coefficient fails as _retry_policy fails');
SELECT isnt(pg_temp.bad('r-bad4', '{"initial_interval": -1}'), NULL, 'a negative interval fails');
SELECT is((SELECT count(*) FROM durable.workflows WHERE workflow_id LIKE 'r-bad%'), 0::bigint,
          'no bad policy scheduled anything');

-- 2. The hand-back's list ---------------------------------------------------------
CREATE FUNCTION pg_temp.run_of(wid text) RETURNS uuid LANGUAGE sql AS $$
    SELECT run_id FROM durable.workflows WHERE workflow_id = wid
$$;
SELECT durable.start_workflow('h-' || i, 'W', 'hq', NULL,
                              CASE WHEN i = 2 THEN '{"task_timeout": 1.5}'::jsonb
                                   WHEN i = 3 THEN '{"task_timeout": "2 hours 3 minutes"}'::jsonb ELSE '{}' END)
  FROM generate_series(1, 4) i;
SELECT is(durable._handback_defer(pg_temp.run_of('h-1'), 'default', 'hq', interval '10 seconds'), false,
          'no list open: nothing deferred');
SELECT is((SELECT runs FROM durable._handback_close()), NULL, 'and none to close');
SELECT durable._handback_open();
SELECT is(durable._handback_defer(w.run_id, w.namespace, w.task_queue, w.task_timeout), true,
          'deferred: ' || w.workflow_id)
  FROM durable.workflows w WHERE w.workflow_id IN ('h-3', 'h-1', 'h-2') ORDER BY w.workflow_id DESC;
SELECT is(pg_temp.last_types('h-' || i, 1), ARRAY['WorkflowTaskScheduled'], 'its event appended: h-' || i)
  FROM generate_series(1, 3) i;
-- the event is the one _schedule_workflow_task writes for the same run's task
SELECT is(pg_temp.event('h-' || i, 'WorkflowTaskScheduled') - 'attempt' - 'start_to_close_timeout'
          || jsonb_build_object('start_to_close_timeout', durable._seconds(w.task_timeout), 'attempt', 1),
          jsonb_build_object('task_queue', w.task_queue, 'start_to_close_timeout', durable._seconds(w.task_timeout),
                             'attempt', 1),
          'the attributes of _schedule_workflow_task: h-' || i)
  FROM generate_series(1, 3) i JOIN durable.workflows w ON w.workflow_id = 'h-' || i;
SELECT is(pg_temp.event('h-' || i, 'WorkflowTaskScheduled'),
          (SELECT h.attributes FROM durable.get_history('h-' || i) h WHERE h.event_type = 'WorkflowTaskScheduled'
            ORDER BY h.event_id LIMIT 1),
          'the attributes of the start''s own WorkflowTaskScheduled: h-' || i)
  FROM generate_series(1, 3) i;
SELECT is(pg_temp.event('h-2', 'WorkflowTaskScheduled') -> 'start_to_close_timeout', '1.5', 'a fraction of a second');
SELECT is(pg_temp.event('h-3', 'WorkflowTaskScheduled') -> 'start_to_close_timeout', '7380', 'two hours three minutes');
-- a run deferred again: kept once, no second event
SELECT is(durable._handback_defer(pg_temp.run_of('h-1'), 'default', 'hq', interval '10 seconds'), true,
          'a run deferred twice is answered');
SELECT is(pg_temp.hlen('h-1'), 3::bigint, 'with no second event');
-- a savepoint rolled back takes back what it deferred; one released keeps it
SAVEPOINT s1;
SELECT durable._handback_defer(pg_temp.run_of('h-4'), 'default', 'hq', interval '10 seconds');
ROLLBACK TO SAVEPOINT s1;
SAVEPOINT s2;
SAVEPOINT s3;
SELECT durable._handback_defer(pg_temp.run_of('h-4'), 'default', 'hq', interval '10 seconds');
RELEASE SAVEPOINT s3;
RELEASE SAVEPOINT s2;
CREATE TEMP TABLE closed AS SELECT * FROM durable._handback_close();
SELECT is((SELECT runs FROM closed),
          ARRAY[pg_temp.run_of('h-3'), pg_temp.run_of('h-2'), pg_temp.run_of('h-1'), pg_temp.run_of('h-4')],
          'the runs, in the order deferred, less the one rolled back');
SELECT is((SELECT scheduled FROM closed),
          ARRAY[pg_temp.event_id('h-3', 'WorkflowTaskScheduled'), pg_temp.event_id('h-2', 'WorkflowTaskScheduled'),
                pg_temp.event_id('h-1', 'WorkflowTaskScheduled'), pg_temp.event_id('h-4', 'WorkflowTaskScheduled')],
          'each with its WorkflowTaskScheduled');
SELECT is((SELECT count(*) FROM durable.get_history('h-4') WHERE event_type = 'WorkflowTaskScheduled'), 2::bigint,
          'the rolled-back event is gone, the released one kept');
SELECT is((SELECT bool_and(t = durable.now()) FROM closed, unnest(scheduled_at) t), true,
          'scheduled at durable.now()');
SELECT is((SELECT runs FROM durable._handback_close()), NULL, 'closed: a second close has nothing');
SELECT is(durable._handback_defer(pg_temp.run_of('h-1'), 'default', 'hq', interval '10 seconds'), false,
          'and nothing defers after the close');
-- the opening itself is taken back with its savepoint
SAVEPOINT s4;
SELECT durable._handback_open();
ROLLBACK TO SAVEPOINT s4;
SELECT is(durable._handback_defer(pg_temp.run_of('h-1'), 'default', 'hq', interval '10 seconds'), false,
          'a list opened in a savepoint rolled back is closed');
-- an opening in a released savepoint lasts; a deferral under a rolled-back one does not
SAVEPOINT s5;
SELECT durable._handback_open();
RELEASE SAVEPOINT s5;
SAVEPOINT s6;
SELECT durable._handback_defer(pg_temp.run_of('h-1'), 'default', 'hq', interval '10 seconds');
ROLLBACK TO SAVEPOINT s6;
SELECT is(durable._handback_defer(pg_temp.run_of('h-2'), 'default', 'hq', interval '10 seconds'), true,
          'a list opened in a released savepoint stays open');
SELECT is((SELECT runs FROM durable._handback_close()), ARRAY[pg_temp.run_of('h-2')],
          'with only what was deferred outside the rolled-back savepoint');
-- the functions are internal: no worker may open a list or defer
SELECT is(has_function_privilege('durable_worker', 'durable._handback_open()', 'EXECUTE'), false,
          'durable_worker may not open a list');
SELECT is(has_function_privilege('durable_worker', 'durable._handback_defer(uuid, text, text, interval)', 'EXECUTE'),
          false, 'nor defer');
SELECT is(has_function_privilege('durable_worker', 'durable._handback_close()', 'EXECUTE'), false, 'nor close');

SELECT * FROM finish();
ROLLBACK;
