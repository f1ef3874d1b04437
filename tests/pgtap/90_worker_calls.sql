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
--   3. The hand-back's STARTED workflow task is inserted without the
--      executor (_insert_workflow_task_leased, pgext/src/task_insert.c):
--      the row of its INSERT statement, in the same indexes, with the
--      statement's errors, and through the statement where an operator's
--      trigger must see it.
--   4. The eager activity task, STARTED, the same way
--      (_insert_activity_task_leased): its INSERT ... RETURNING's row,
--      indexes and errors.
--   5. complete_workflow_tasks runs a batch whole in one subtransaction and
--      only when an item fails item by item: the outcomes, errors and
--      effects are those of the items completed one by one, each applied
--      once.
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

-- 3. The leased workflow task ------------------------------------------------------
SET LOCAL track_functions = 'all';
CREATE FUNCTION pg_temp.trigger_calls() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce((SELECT calls FROM pg_stat_xact_user_functions
                      WHERE schemaname = 'durable' AND funcname = '_workflow_task_pass'), 0)
$$;
CREATE TEMP TABLE leased (n serial, path text, id bigint, task jsonb);
-- one by _insert_workflow_task_leased: its path, the id returned and its row but the run
CREATE FUNCTION pg_temp.lease_direct(run uuid, id bigint, who text DEFAULT 'w1', build text DEFAULT 'b1',
                                     pass float8 DEFAULT 0.5) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    calls bigint := pg_temp.trigger_calls();
    got bigint := durable._insert_workflow_task_leased(id, run, 'default', 'lq', 7, 9, who,
        '2026-01-02 03:04:05+00', '2026-01-02 03:04:06+00', '2026-01-02 03:04:16+00', 2::smallint, 'k', pass, build);
    path text := CASE WHEN pg_temp.trigger_calls() = calls THEN 'direct' ELSE 'statement' END;
BEGIN
    INSERT INTO leased (path, id, task)
    SELECT path, got, to_jsonb(t) - 'run_id' FROM durable.workflow_tasks t WHERE t.run_id = run;
    RETURN path;
END
$$;
-- the same by the statement _handback_take ran before
CREATE FUNCTION pg_temp.lease_statement(run uuid, id bigint, who text DEFAULT 'w1', build text DEFAULT 'b1',
                                        pass float8 DEFAULT 0.5) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    t durable.workflow_tasks;
BEGIN
    INSERT INTO durable.workflow_tasks (task_id, run_id, namespace, task_queue, state, attempt, scheduled_event_id,
                                        started_event_id, fence, identity, scheduled_at, started_at, timeout_at,
                                        priority, fairness_key, pass, build_id)
    VALUES (id, run, 'default', 'lq', 'STARTED', 1, 7, 9, 1, who, '2026-01-02 03:04:05+00', '2026-01-02 03:04:06+00',
            '2026-01-02 03:04:16+00', 2::smallint, 'k', pass, build) RETURNING * INTO t;
    RETURN to_jsonb(t) - 'run_id';
END
$$;
CREATE FUNCTION pg_temp.last_leased() RETURNS leased LANGUAGE sql AS $$
    SELECT * FROM leased ORDER BY n DESC LIMIT 1
$$;
SELECT is(pg_temp.lease_direct(pg_temp.taskless_run('lq'), 900000001), 'direct', 'a plain store''s leased task is written directly');
SELECT is((pg_temp.last_leased()).id, 900000001::bigint, 'with the task id given, returned');
SELECT is((pg_temp.last_leased()).task - 'task_id', pg_temp.lease_statement(pg_temp.taskless_run('lq'), 900000002) - 'task_id',
          'the row of the INSERT statement (every column but the ids)');
SELECT is((pg_temp.last_leased()).task ->> 'state', 'STARTED', 'STARTED');
SELECT is((pg_temp.last_leased()).task ->> 'fence', '1', 'fence 1');
SELECT is(pg_temp.lease_direct(pg_temp.taskless_run('lq'), 900000003, NULL, NULL, 0), 'direct', 'no identity, no build');
SELECT is((pg_temp.last_leased()).task - 'task_id', pg_temp.lease_statement(pg_temp.taskless_run('lq'), 900000004, NULL, NULL, 0) - 'task_id',
          'the statement''s row with nulls too');
-- its index entries: the deadline index's, none in the ready indexes
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*) FROM durable.workflow_tasks WHERE timeout_at = '2026-01-02 03:04:16+00' AND task_id = 900000001),
          1::bigint, 'found through the deadline index');
SELECT is((SELECT count(*) FROM durable.workflow_tasks WHERE namespace = 'default' AND task_queue = 'lq' AND state = 'SCHEDULED'),
          0::bigint, 'not in the ready index');
SELECT is((SELECT count(*) FROM durable.workflow_tasks WHERE task_id = 900000001), 1::bigint, 'found by its key');
RESET enable_seqscan;
RESET enable_bitmapscan;
-- the statement's errors
SELECT is(pg_temp.error_of(format('SELECT pg_temp.lease_direct(%L, 900000001)', pg_temp.taskless_run('lq'))),
          pg_temp.error_of(format('SELECT pg_temp.lease_statement(%L, 900000001)', pg_temp.taskless_run('lq'))),
          'a task id taken: the statement''s error');
SELECT is(pg_temp.error_of(format('SELECT pg_temp.lease_direct(%L, 900000005)',
                                  (SELECT run_id FROM durable.workflow_tasks WHERE task_id = 900000001))),
          pg_temp.error_of(format('SELECT pg_temp.lease_statement(%L, 900000006)',
                                  (SELECT run_id FROM durable.workflow_tasks WHERE task_id = 900000001))),
          'a run with a task: the statement''s error');
-- (the same but for the ids in the failing row)
SELECT is(replace(array_to_string(pg_temp.error_of('SELECT pg_temp.lease_direct(NULL, 900000007)'), '|'), '900000007', 'ID'),
          replace(array_to_string(pg_temp.error_of('SELECT pg_temp.lease_statement(NULL, 900000008)'), '|'), '900000008', 'ID'),
          'no run: the statement''s error');
SELECT is(replace(array_to_string(pg_temp.error_of(format('SELECT pg_temp.lease_direct(%L, NULL)', 'dc43d2e3-676a-436d-bef5-a56e37fd1680')), '|'),
                  'dc43d2e3-676a-436d-bef5-a56e37fd1680', 'RUN'),
          replace(array_to_string(pg_temp.error_of(format('SELECT pg_temp.lease_statement(%L, NULL)', 'dc43d2e3-676a-436d-bef5-a56e37fd1680')), '|'),
                  'dc43d2e3-676a-436d-bef5-a56e37fd1680', 'RUN'),
          'no task id: the statement''s error');
-- an operator's trigger sees it: the statement
CREATE TABLE pg_temp.seen (task_id bigint);
CREATE FUNCTION pg_temp.see() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pg_temp.seen VALUES (NEW.task_id);
    RETURN NEW;
END
$$;
SAVEPOINT op;
CREATE TRIGGER seen AFTER INSERT ON durable.workflow_tasks FOR EACH ROW EXECUTE FUNCTION pg_temp.see();
SELECT is(pg_temp.lease_direct(pg_temp.taskless_run('lq'), 900000009), 'statement', 'with an operator''s trigger, the statement');
SELECT is((SELECT array_agg(task_id) FROM pg_temp.seen), ARRAY[900000009::bigint], 'which the trigger saw');
SELECT is((pg_temp.last_leased()).id, NULL, 'the statement''s id is not known');
ROLLBACK TO SAVEPOINT op;
SELECT is(pg_temp.lease_direct(pg_temp.taskless_run('lq'), 900000010), 'direct', 'the trigger dropped: direct again');

-- 4. The eager activity task ------------------------------------------------------------
CREATE FUNCTION pg_temp.atrigger_calls() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce((SELECT calls FROM pg_stat_xact_user_functions
                      WHERE schemaname = 'durable' AND funcname = '_activity_task_pass'), 0)
$$;
CREATE TEMP TABLE eager (n serial, path text, id bigint, task jsonb);
CREATE FUNCTION pg_temp.eager_direct(run uuid, ev bigint, who text DEFAULT 'w1', nrt text[] DEFAULT '{}') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    calls bigint := pg_temp.atrigger_calls();
    got bigint := durable._insert_activity_task_leased(run, 'default', 'wf-' || run, ev, 'a' || ev, 'Charge', 'eq',
        '{"x": 1}', who, '2026-01-02 03:04:05+00', '2026-01-02 03:04:05+00', '2026-01-02 03:04:05+00',
        NULL, interval '5 s', interval '30 s', NULL, interval '1 s', 2.0, interval '100 s', 0, nrt,
        '2026-01-02 03:04:35+00', 'k', 2::smallint, 1.5);
    path text := CASE WHEN pg_temp.atrigger_calls() = calls THEN 'direct' ELSE 'statement' END;
BEGIN
    INSERT INTO eager (path, id, task)
    SELECT path, got, to_jsonb(t) - 'run_id' - 'workflow_id' FROM durable.activity_tasks t WHERE t.run_id = run AND t.scheduled_event_id = ev;
    RETURN path;
END
$$;
-- the statement _cmd_schedule_activity ran before
CREATE FUNCTION pg_temp.eager_statement(run uuid, ev bigint, who text DEFAULT 'w1', nrt text[] DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    task bigint;
BEGIN
    INSERT INTO durable.activity_tasks (run_id, namespace, workflow_id, scheduled_event_id, activity_id,
        activity_type, task_queue, input, state, scheduled_at, attempt_scheduled_at,
        schedule_to_close_timeout, schedule_to_start_timeout, start_to_close_timeout, heartbeat_timeout,
        retry_initial_interval, retry_backoff_coefficient, retry_maximum_interval, retry_maximum_attempts,
        non_retryable_error_types, timeout_at, fairness_key, priority, fairness_weight,
        fence, identity, started_at, pass)
    VALUES (run, 'default', 'wf-' || run, ev, 'a' || ev, 'Charge', 'eq', '{"x": 1}', 'STARTED',
        '2026-01-02 03:04:05+00', '2026-01-02 03:04:05+00', NULL, interval '5 s', interval '30 s', NULL,
        interval '1 s', 2.0, interval '100 s', 0, nrt, '2026-01-02 03:04:35+00', 'k', 2::smallint, 1.5,
        1, who, '2026-01-02 03:04:05+00', 0)
    RETURNING activity_tasks.task_id INTO task;
    RETURN (SELECT to_jsonb(t) - 'run_id' - 'workflow_id' FROM durable.activity_tasks t WHERE t.task_id = task);
END
$$;
CREATE FUNCTION pg_temp.last_eager() RETURNS eager LANGUAGE sql AS $$
    SELECT * FROM eager ORDER BY n DESC LIMIT 1
$$;
SELECT is(pg_temp.eager_direct(pg_temp.taskless_run('eq'), 5), 'direct', 'an eager task is written directly');
SELECT is((pg_temp.last_eager()).id, ((pg_temp.last_eager()).task ->> 'task_id')::bigint, 'its task id returned');
SELECT is((pg_temp.last_eager()).task - 'task_id', pg_temp.eager_statement(pg_temp.taskless_run('eq'), 5) - 'task_id',
          'the row of the INSERT statement (every column but the ids)');
SELECT is(pg_temp.eager_direct(pg_temp.taskless_run('eq'), 6, NULL, '{Fatal,Other}'), 'direct', 'no identity, error types');
SELECT is((pg_temp.last_eager()).task - 'task_id',
          pg_temp.eager_statement(pg_temp.taskless_run('eq'), 6, NULL, '{Fatal,Other}') - 'task_id',
          'the statement''s row again');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*) FROM durable.activity_tasks WHERE namespace = 'default' AND task_queue = 'eq' AND state = 'STARTED'
                                                         AND fairness_key = 'k'), 4::bigint,
          'found through the started index');
SELECT is((SELECT count(*) FROM durable.activity_tasks WHERE namespace = 'default' AND task_queue = 'eq' AND state = 'SCHEDULED'),
          0::bigint, 'not in the ready index');
SELECT is((SELECT count(*) FROM durable.activity_tasks WHERE timeout_at = '2026-01-02 03:04:35+00' AND task_queue = 'eq'),
          4::bigint, 'found through the deadline index');
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT is((pg_temp.error_of(format('SELECT pg_temp.eager_direct(%L, 6)', (SELECT run_id FROM durable.activity_tasks WHERE task_id = (pg_temp.last_eager()).id))))[1:2],
          (pg_temp.error_of(format('SELECT pg_temp.eager_statement(%L, 6)', (SELECT run_id FROM durable.activity_tasks WHERE task_id = (pg_temp.last_eager()).id))))[1:2],
          'an event with a task already: the statement''s error');
SELECT is((pg_temp.error_of('SELECT pg_temp.eager_direct(NULL, 7)'))[1:2],
          (pg_temp.error_of('SELECT pg_temp.eager_statement(NULL, 7)'))[1:2], 'no run: the statement''s error');
SAVEPOINT op2;
CREATE TRIGGER seen AFTER INSERT ON durable.activity_tasks FOR EACH ROW EXECUTE FUNCTION pg_temp.see();
SELECT is(pg_temp.eager_direct(pg_temp.taskless_run('eq'), 8), 'statement', 'with an operator''s trigger, the statement');
SELECT is((SELECT count(*) FROM pg_temp.seen WHERE task_id = (pg_temp.last_eager()).id), 1::bigint,
          'which the trigger saw, and its task id returned');
ROLLBACK TO SAVEPOINT op2;
-- through the eager completion: leased to its worker
SELECT durable.start_workflow('e-1', 'W', 'eq2');
SELECT is((SELECT outcome FROM durable.complete_workflow_tasks_eager(jsonb_build_array(jsonb_build_object(
               'task_token', (SELECT task_token FROM durable.poll_workflow_tasks('eq2', 'w9', 1)),
               'commands', '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "noop",
                             "start_to_close_timeout": 30, "retry_policy": {}}]'::jsonb)), 'w9', 'eq2', 5)
            WHERE kind = 'activity_task'), 'EAGER', 'an eager completion takes its activity');
SELECT is((SELECT jsonb_build_array(state, fence, identity, pass) FROM durable.activity_tasks a
             JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'e-1'),
          '["STARTED", 1, "w9", 0]', 'STARTED, leased to the worker, at pass 0');

-- 5. complete_workflow_tasks ------------------------------------------------------------
CREATE FUNCTION pg_temp.batch(prefix text, bad boolean) RETURNS TABLE (task_token text, outcome text, error text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM durable.start_workflow(prefix || i, 'B', prefix) FROM generate_series(1, 4) i;
    CREATE TEMP TABLE IF NOT EXISTS leases (q text, workflow_id text, task_token text);
    INSERT INTO leases SELECT prefix, p.workflow_id, p.task_token FROM durable.poll_workflow_tasks(prefix, 'tester', 10) p;
    RETURN QUERY SELECT * FROM durable.complete_workflow_tasks(jsonb_build_array(
        jsonb_build_object('task_token', (SELECT l.task_token FROM leases l WHERE l.workflow_id = prefix || '1'),
                           'commands', '[{"type": "CompleteWorkflowExecution", "result": 1}]'::jsonb),
        jsonb_build_object('task_token', (SELECT l.task_token FROM leases l WHERE l.workflow_id = prefix || '2'),
                           'commands', '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 60}]'::jsonb),
        CASE WHEN bad THEN jsonb_build_object('task_token', 'w999999.1', 'commands', '[]'::jsonb)
             ELSE jsonb_build_object('task_token', (SELECT l.task_token FROM leases l WHERE l.workflow_id = prefix || '3'),
                                     'commands', '[]'::jsonb) END,
        jsonb_build_object('task_token', (SELECT l.task_token FROM leases l WHERE l.workflow_id = prefix || '4'),
                           'cause', 'NON_DETERMINISTIC_ERROR', 'failure', '{"message": "differs"}'::jsonb)),
        'batcher');
END
$$;
-- each item's history but its times
CREATE FUNCTION pg_temp.hist_of(prefix text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(jsonb_build_array(w.workflow_id, h.event_id, h.event_type, h.attributes - 'first_execution_run_id')
                     ORDER BY w.workflow_id, h.event_id)
      FROM durable.workflows w, durable.get_history(w.workflow_id) h WHERE w.task_queue = prefix
$$;
CREATE TEMP TABLE good AS SELECT * FROM pg_temp.batch('cb-', false);
SELECT is((SELECT array_agg(outcome) FROM good), ARRAY['COMPLETED', 'COMPLETED', 'COMPLETED', 'FAILED'],
          'a batch that goes through whole: one outcome per item, in order');
SELECT is((SELECT array_agg(task_token) FROM good), (SELECT array_agg(task_token ORDER BY workflow_id) FROM leases WHERE q = 'cb-'),
          'with their tokens');
SELECT is((SELECT count(*) FROM good WHERE error IS NOT NULL), 0::bigint, 'and no errors');
SELECT is((SELECT count(*) FROM durable.timers t JOIN durable.workflows w USING (run_id) WHERE w.task_queue = 'cb-'), 1::bigint,
          'its timer, once');
CREATE TEMP TABLE mixed AS SELECT * FROM pg_temp.batch('cm-', true);
SELECT is((SELECT array_agg(outcome) FROM mixed), ARRAY['COMPLETED', 'COMPLETED', 'LEASE_LOST', 'FAILED'],
          'a batch with a lost lease: each item on its own');
SELECT is((SELECT error FROM mixed WHERE outcome = 'LEASE_LOST'),
          (SELECT (pg_temp.error_of($$SELECT durable.complete_workflow_task('w999999.1', '[]', 'batcher')$$))[2]),
          'the lost lease''s error is the one-by-one call''s');
SELECT is((SELECT count(*) FROM durable.timers t JOIN durable.workflows w USING (run_id) WHERE w.task_queue = 'cm-'), 1::bigint,
          'the items around it applied once: one timer');
SELECT is((SELECT count(*) FROM durable.workflows w, durable.get_history(w.workflow_id) h
            WHERE w.task_queue = 'cm-' AND h.event_type IN ('WorkflowTaskCompleted', 'WorkflowTaskFailed')), 3::bigint,
          'one WorkflowTaskCompleted or Failed for each item that went through, none twice');
SELECT is(replace((SELECT jsonb_agg(e) FROM jsonb_array_elements(pg_temp.hist_of('cm-')) e WHERE e ->> 0 <> 'cm-3')::text, 'cm-', 'c?-'),
          replace((SELECT jsonb_agg(e) FROM jsonb_array_elements(pg_temp.hist_of('cb-')) e WHERE e ->> 0 <> 'cb-3')::text, 'cb-', 'c?-'),
          'the histories of the items that went through are the whole batch''s');
SELECT is(durable.describe_workflow('cm-3') -> 'pending_workflow_task' ->> 'state', 'STARTED',
          'the run whose item was lost is untouched');
-- the subtransactions: a batch that goes through takes one transaction id for all its items
CREATE FUNCTION pg_temp.xids_of(prefix text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(DISTINCT h.xmin::text) FROM durable.history_rows h JOIN durable.workflows w USING (run_id)
     WHERE w.task_queue = prefix AND h.xmin <> (SELECT xmin FROM durable.workflows WHERE workflow_id = prefix || '1')
$$;
SELECT is(pg_temp.xids_of('cb-'), 1::bigint, 'the whole batch''s rows were written in one subtransaction');
SELECT is(pg_temp.xids_of('cm-') >= 3, true, 'a batch with a failing item, in one per item');

SELECT * FROM finish();
ROLLBACK;
