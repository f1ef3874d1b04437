-- The ScheduleActivityTask command in C (pgext/src/cmd_schedule.c,
-- api/06_commands.sql) against the plpgsql body it replaced (session 11),
-- kept here as pg_temp.cmd_schedule_activity_plpgsql. Each case completes a
-- workflow task of twin workflows with the same commands, one through the
-- C and one through the plpgsql (durable._cmd_schedule_activity swapped
-- for a call of it), and compares the errors (code, message, detail, hint)
-- or, when both succeed, what they wrote: the history, the activity task
-- rows (but their ids and places), the workflow task. The cases are the
-- common command (the floor's, the C worker's), every key given, the
-- values each check delegates to its plpgsql helper (durations as text,
-- a retry policy of its own, a priority, names over 255 bytes or outside
-- ASCII, payloads too deep or too large), and every bad command of
-- 10_bad_input.sql and more; then the eager path (api/72_eager.sql).
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
SELECT pg_temp.hold_clock();

-- The plpgsql body, as api/06_commands.sql had it before session 11.
CREATE FUNCTION pg_temp.cmd_schedule_activity_plpgsql(w durable.workflows, cmd jsonb, completed bigint)
RETURNS void LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    called text;   -- a helper called as an expression returns into it (sql/README.md, "Calls")
    checked jsonb;   -- a payload _check_payload passed
    what text := 'ScheduleActivityTask';
    activity_id text;
    activity_type text;
    queue text;
    -- (the helpers only for the keys given: an absent one is NULL either way,
    -- and each plpgsql call costs; with the query below, ~4 µs of the ~60 µs
    -- command: docs/performance.md, "Appends without the executor")
    s2c interval := CASE WHEN cmd ? 'schedule_to_close_timeout' THEN durable._timeout(cmd, 'schedule_to_close_timeout', what) END;
    s2s interval := CASE WHEN cmd ? 'schedule_to_start_timeout' THEN durable._timeout(cmd, 'schedule_to_start_timeout', what) END;
    stc interval := durable._timeout(cmd, 'start_to_close_timeout', what);
    hb interval := CASE WHEN cmd ? 'heartbeat_timeout' THEN durable._timeout(cmd, 'heartbeat_timeout', what) END;
    rp jsonb := cmd -> 'retry_policy';
    initial interval;
    backoff float8;
    max_interval interval;
    max_attempts float8;
    non_retryable text[] := '{}';
    scheduled bigint;
    now timestamptz := durable.now();
    deadline timestamptz;
    prio record;
    eager text;   -- the identity of the worker that takes it at once (api/72_eager.sql)
    task bigint;
BEGIN
    called := durable._check_keys(cmd, ARRAY['type', 'activity_id', 'activity_type', 'task_queue', 'input',
        'schedule_to_close_timeout', 'schedule_to_start_timeout', 'start_to_close_timeout',
        'heartbeat_timeout', 'retry_policy', 'fairness_key', 'priority', 'fairness_weight'], what)::text;
    -- the workflow's unless the command sets its own (api/41_priority.sql)
    prio := durable._priority_options(cmd, what, w.priority, w.fairness_key, w.fairness_weight);
    activity_id := durable._check_name(durable._json_text(cmd, 'activity_id', what, true), what || ': "activity_id"');
    activity_type := durable._check_name(durable._json_text(cmd, 'activity_type', what, true), what || ': "activity_type"');
    queue := durable._check_path_name(durable._check_name(coalesce(durable._json_text(cmd, 'task_queue', what), w.task_queue),
                                                          what || ': "task_queue"'), what || ': "task_queue"');
    checked := durable._check_payload(cmd -> 'input', 'activity input');
    IF s2c IS NULL AND stc IS NULL THEN
        PERFORM durable._bad_input('ScheduleActivityTask needs start_to_close_timeout or schedule_to_close_timeout',
            format('Activity %s (%s) has neither.', activity_id, activity_type),
            'Without one, a worker that dies mid-activity would hold it forever.');
    END IF;
    stc := least(coalesce(stc, s2c), s2c);

    -- an activity always has a policy: none given is Temporal's default one.
    -- An empty one is that default too, and is what the C worker sends for
    -- an activity without options (worker/src/workflow.c): it takes the
    -- constant the planner folded once per session instead of checking and
    -- filling in the empty object again (_retry_policy and its two
    -- _json_interval calls were 15 µs of the worker's one-activity workflow,
    -- docs/performance.md, "The worker's calls in the server").
    rp := CASE WHEN rp IS NULL OR rp = '{}' THEN durable._retry_policy('{}', 'retry_policy')
               ELSE coalesce(durable._retry_policy(rp, 'retry_policy'), durable._retry_policy('{}', 'retry_policy')) END;
    initial := make_interval(secs => (rp ->> 'initial_interval')::float8);
    backoff := (rp ->> 'backoff_coefficient')::float8;
    max_interval := make_interval(secs => (rp ->> 'maximum_interval')::float8);
    max_attempts := (rp ->> 'maximum_attempts')::float8;
    -- (a query per call: only for a list that has names)
    IF rp -> 'non_retryable_error_types' <> '[]' THEN
        non_retryable := ARRAY(SELECT jsonb_array_elements_text(rp -> 'non_retryable_error_types'));
    END IF;
    IF EXISTS (SELECT 1 FROM durable.activity_tasks a
                WHERE a.run_id = w.run_id AND a.activity_id = activity_id) THEN
        PERFORM durable._bad_input(format('activity id "%s" is already pending', activity_id),
            NULL, 'Give each pending activity of a workflow its own activity_id.');
    END IF;

    scheduled := durable._append(w.run_id, 'ActivityTaskScheduled', jsonb_build_object(
        'activity_id', activity_id, 'activity_type', activity_type, 'task_queue', queue,
        'input', cmd -> 'input',
        'schedule_to_close_timeout', durable._seconds(s2c),
        'schedule_to_start_timeout', durable._seconds(s2s),
        'start_to_close_timeout', durable._seconds(stc),
        'heartbeat_timeout', durable._seconds(hb),
        'retry_policy', rp,
        'workflow_task_completed_event_id', completed)
        || durable._priority_json(prio.priority, prio.fairness_key, prio.fairness_weight));
    deadline := least(now + s2s, now + s2c);
    -- Eager execution: the worker completing this task takes the activity
    -- now, inserted started as a poll would have leased it (no lease update,
    -- no ready-index entry, no notification). Only inside
    -- complete_workflow_tasks_eager, which offers the worker's free slots.
    IF current_setting('durable_eager.slots', true) > '0' THEN
        eager := durable._eager_take(w, queue, prio.priority);
        IF eager IS NOT NULL THEN
            deadline := least(now + stc, now + s2c, now + hb);
        END IF;
    END IF;
    IF eager IS NULL THEN
        -- the INSERT below of a SCHEDULED task, in C (api/80_task_insert.sql)
        task := durable._insert_activity_task(w.run_id, w.namespace, w.workflow_id, scheduled, activity_id,
            activity_type, queue, cmd -> 'input', now, now, s2c, s2s, stc, hb,
            initial, backoff, max_interval, max_attempts::integer, non_retryable, deadline, prio.fairness_key,
            prio.priority, prio.fairness_weight);
    ELSE
        -- the eager one: STARTED, leased to its worker (fence 1), as a poll
        -- leaves it; the INSERT ... RETURNING task_id of such a task (state
        -- 'STARTED', fence 1, pass 0: >= 0 skips the placing), in C
        -- (api/80_task_insert.sql)
        task := durable._insert_activity_task_leased(w.run_id, w.namespace, w.workflow_id, scheduled, activity_id,
            activity_type, queue, cmd -> 'input', eager, now, now, now, s2c, s2s, stc, hb,
            initial, backoff, max_interval, max_attempts::integer, non_retryable, deadline, prio.fairness_key,
            prio.priority, prio.fairness_weight);
    END IF;
    called := durable._wake_at(deadline)::text;
    IF eager IS NULL THEN
        called := durable._notify('activity', w.namespace, queue)::text;
    ELSE
        called := durable._eager_taken(task)::text;
    END IF;
END
$$;


-- durable._cmd_schedule_activity as the C (path 'c': the product's own
-- definition, kept before the first swap) or as a call of the plpgsql body
-- above (path 'plpgsql').
CREATE TEMP TABLE c_def AS
    SELECT pg_get_functiondef('durable._cmd_schedule_activity(durable.workflows,jsonb,bigint)'::regprocedure) AS def;
CREATE FUNCTION pg_temp.use(path text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF path = 'plpgsql' THEN
        CREATE OR REPLACE FUNCTION durable._cmd_schedule_activity(w durable.workflows, cmd jsonb, completed bigint)
        RETURNS void LANGUAGE plpgsql AS $f$
        BEGIN
            PERFORM pg_temp.cmd_schedule_activity_plpgsql(w, cmd, completed);
        END
        $f$;
    ELSE
        EXECUTE (SELECT def FROM c_def);
    END IF;
END
$$;
SELECT is((SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
            WHERE p.oid = 'durable._cmd_schedule_activity(durable.workflows,jsonb,bigint)'::regprocedure),
          'c', 'the product''s command is the C');

-- What a twin wrote: its history (but the run's own id, and the events'
-- times, the wall clock's), its activity
-- tasks (every column but the ids, the workflow and the place in the
-- queue) and its workflow task.
CREATE FUNCTION pg_temp.wrote(wid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'history', (SELECT jsonb_agg(jsonb_build_array(event_id, event_type, attributes - 'first_execution_run_id')
                                     ORDER BY event_id) FROM durable.get_history(wid)),
        'activity_tasks', (SELECT jsonb_agg(to_jsonb(a) - 'task_id' - 'run_id' - 'workflow_id' - 'pass'
                                            ORDER BY a.scheduled_event_id)
                             FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id)
                            WHERE w.workflow_id = wid),
        'workflow_task', (SELECT to_jsonb(t) - 'task_id' - 'run_id' - 'pass'
                            FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id)
                           WHERE w.workflow_id = wid))
$$;
-- Starts wid-c and wid-p (options opts) on queue q and completes the first
-- workflow task of each with commands, wid-c's through the C and wid-p's
-- through the plpgsql; returns each one's error (NULL: none) and whether
-- both wrote the same.
CREATE FUNCTION pg_temp.twins(wid text, commands jsonb, opts jsonb DEFAULT '{}', q text DEFAULT 'cs-q')
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    c text[];
    p text[];
BEGIN
    PERFORM durable.start_workflow(wid || '-c', 'W', q, '{"in": 1}', opts);
    PERFORM pg_temp.use('c');
    c := pg_temp.error_of(format('SELECT pg_temp.complete(%L, %L)', q, commands));
    PERFORM durable.start_workflow(wid || '-p', 'W', q, '{"in": 1}', opts);
    PERFORM pg_temp.use('plpgsql');
    p := pg_temp.error_of(format('SELECT pg_temp.complete(%L, %L)', q, commands));
    PERFORM pg_temp.use('c');
    RETURN jsonb_build_object('c', c, 'p', p,
                              'same', pg_temp.wrote(wid || '-c') = pg_temp.wrote(wid || '-p'));
END
$$;
-- One command of the floor's shape with extra keys (or without some).
CREATE FUNCTION pg_temp.cmd(extra jsonb DEFAULT '{}', drop text[] DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
    SELECT (jsonb_build_object('type', 'ScheduleActivityTask', 'activity_id', '1', 'activity_type', 'noop',
                               'task_queue', 'cs-aq', 'input', 1, 'start_to_close_timeout', 600) || extra) - drop
$$;

-- 1. Commands that succeed: the same rows and events on both paths.
CREATE TEMP TABLE good (name text, commands jsonb, opts jsonb DEFAULT '{}');
INSERT INTO good (name, commands) VALUES
    ('the floor''s command', jsonb_build_array(pg_temp.cmd())),
    ('the C worker''s: an empty retry policy', jsonb_build_array(pg_temp.cmd('{"retry_policy": {}}'))),
    ('a null retry policy', jsonb_build_array(pg_temp.cmd('{"retry_policy": null}'))),
    ('the default policy spelled out', jsonb_build_array(pg_temp.cmd('{"retry_policy": {"initial_interval": 1,
        "backoff_coefficient": 2, "maximum_interval": 100, "maximum_attempts": 0, "non_retryable_error_types": []}}'))),
    ('a policy of its own', jsonb_build_array(pg_temp.cmd('{"retry_policy": {"initial_interval": "1.5 s",
        "backoff_coefficient": 1.5, "maximum_interval": 7.25, "maximum_attempts": 4,
        "non_retryable_error_types": ["Fatal", "Bad\u0001"]}}'))),
    ('every key given', jsonb_build_array(pg_temp.cmd('{"schedule_to_close_timeout": 90.5, "schedule_to_start_timeout": 0.25,
        "start_to_close_timeout": 30.000001, "heartbeat_timeout": 2, "input": {"a": [1, "two", null, {"b": 3.5}]},
        "priority": 2, "fairness_key": "tenant", "fairness_weight": 2.5}'))),
    ('a priority of 1 and a weight of 1', jsonb_build_array(pg_temp.cmd('{"priority": 1, "fairness_weight": 1}'))),
    ('the priority keys null', jsonb_build_array(pg_temp.cmd('{"priority": null, "fairness_weight": null, "fairness_key": null}'))),
    ('durations as text', jsonb_build_array(pg_temp.cmd('{"start_to_close_timeout": "10 hours", "heartbeat_timeout": "1 min",
        "schedule_to_start_timeout": "P1D"}'))),
    ('only a schedule-to-close timeout', jsonb_build_array(pg_temp.cmd('{"schedule_to_close_timeout": 45}', ARRAY['start_to_close_timeout']))),
    ('schedule-to-close shorter than start-to-close', jsonb_build_array(pg_temp.cmd('{"schedule_to_close_timeout": 45}'))),
    ('equal timeouts written differently', jsonb_build_array(pg_temp.cmd('{"schedule_to_close_timeout": "1 day",
        "start_to_close_timeout": 86400}'))),
    ('and the other way round', jsonb_build_array(pg_temp.cmd('{"schedule_to_close_timeout": 86400,
        "start_to_close_timeout": "24 hours"}'))),
    ('zero timeouts are none', jsonb_build_array(pg_temp.cmd('{"schedule_to_close_timeout": 60, "start_to_close_timeout": 0,
        "heartbeat_timeout": 0, "schedule_to_start_timeout": "0 s"}'))),
    ('a tiny negative duration is zero', jsonb_build_array(pg_temp.cmd('{"schedule_to_close_timeout": 60,
        "start_to_close_timeout": -0.0000001}'))),
    ('a duration just under 100 years', jsonb_build_array(pg_temp.cmd('{"start_to_close_timeout": 3155759999.9999999}'))),
    ('exactly 100 years', jsonb_build_array(pg_temp.cmd('{"start_to_close_timeout": 3155760000}'))),
    ('100 years as days', jsonb_build_array(pg_temp.cmd('{"start_to_close_timeout": "36525 days"}'))),
    ('no task queue: the workflow''s', jsonb_build_array(pg_temp.cmd('{}', ARRAY['task_queue']))),
    ('a null task queue: the workflow''s', jsonb_build_array(pg_temp.cmd('{"task_queue": null}'))),
    ('names outside ASCII', jsonb_build_array(pg_temp.cmd('{"task_queue": "café", "activity_id": "ü", "activity_type": "日本"}'))),
    ('names of 255 bytes', jsonb_build_array(pg_temp.cmd(jsonb_build_object('activity_id', repeat('i', 255),
        'activity_type', repeat('t', 255), 'task_queue', repeat('q', 255))))),
    ('no input', jsonb_build_array(pg_temp.cmd('{}', ARRAY['input']))),
    ('a null input', jsonb_build_array(pg_temp.cmd('{"input": null}'))),
    ('a string input', jsonb_build_array(pg_temp.cmd('{"input": "x\"y\\z\u0007"}'))),
    ('an input 128 levels deep', jsonb_build_array(pg_temp.cmd(jsonb_build_object('input',
        (repeat('[', 128) || repeat(']', 128))::jsonb)))),
    ('three activities', jsonb_build_array(pg_temp.cmd(), pg_temp.cmd('{"activity_id": "2"}'), pg_temp.cmd('{"activity_id": "3",
        "task_queue": "cs-other"}'))),
    ('then a timer and a close', jsonb_build_array(pg_temp.cmd(),
        '{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 5}'::jsonb)),
    -- (the pending check's probe reads the run's other tasks: ids alike but not equal are not pending)
    ('ids alike, none pending', jsonb_build_array(pg_temp.cmd('{"activity_id": "a"}'), pg_temp.cmd('{"activity_id": "A"}'),
        pg_temp.cmd('{"activity_id": "a "}'), pg_temp.cmd('{"activity_id": "ab"}'), pg_temp.cmd('{"activity_id": "é"}'),
        pg_temp.cmd('{"activity_id": "é"}')));
INSERT INTO good VALUES
    ('the workflow''s priority inherited', jsonb_build_array(pg_temp.cmd()),
     '{"priority": 4, "fairness_key": "wf-key", "fairness_weight": 3}'),
    ('and overridden', jsonb_build_array(pg_temp.cmd('{"priority": 3, "fairness_key": "other", "fairness_weight": 1}')),
     '{"priority": 4, "fairness_key": "wf-key", "fairness_weight": 3}');
SELECT is(pg_temp.twins('cs-good-' || row_number() OVER (), commands, opts),
          '{"c": null, "p": null, "same": true}'::jsonb, 'the same rows and events: ' || name)
  FROM good;
SELECT is(pg_temp.event('cs-good-1-c', 'ActivityTaskScheduled'),
          '{"activity_id": "1", "activity_type": "noop", "task_queue": "cs-aq", "input": 1,
            "schedule_to_close_timeout": null, "schedule_to_start_timeout": null, "start_to_close_timeout": 600,
            "heartbeat_timeout": null, "workflow_task_completed_event_id": 4,
            "retry_policy": {"initial_interval": 1, "backoff_coefficient": 2, "maximum_interval": 100,
                             "maximum_attempts": 0, "non_retryable_error_types": []}}'::jsonb,
          'the floor''s event, as written');
SELECT is((SELECT count(*) FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id)
            WHERE w.workflow_id LIKE 'cs-good-%'),
          2 * (SELECT count(*) FROM good, jsonb_array_elements(commands) c WHERE c ->> 'type' = 'ScheduleActivityTask'),
          'every activity scheduled, on both paths');

-- 2. Bad commands: the same error on both paths, and nothing written.
CREATE TEMP TABLE bad (name text, commands jsonb);
INSERT INTO bad SELECT 'bad: ' || c, c::jsonb FROM unnest(ARRAY[
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "start_to_close_timeout": 5}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A"}]',
    '[{"type": "ScheduleActivityTask", "activity_id": 1, "activity_type": "A", "start_to_close_timeout": 5}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "", "activity_type": "A", "start_to_close_timeout": 5}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "", "start_to_close_timeout": 5}]',
    '[{"type": "ScheduleActivityTask", "activity_type": "A", "start_to_close_timeout": 5}]',
    '[{"type": "ScheduleActivityTask", "activity_id": null, "activity_type": "A", "start_to_close_timeout": 5}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": "soon"}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": -1}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": [5]}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": true}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 1e400}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": -1e400}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 3155760000.000001}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": "36526 days"}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": "infinity"}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": "-1 year 361 days"}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 0}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "schedule_to_close_timeout": -5, "start_to_close_timeout": "x"}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "heartbeat_timeout": "x"}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "schedule_to_start_timeout": -2}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "task_queue": 3}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "task_queue": ""}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "task_queue": "."}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "task_queue": ".."}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "task_queue": "a/b"}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "task_queue": "a\u0001b"}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "task_queue": "a\u007fb"}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "task_queue": "é/x"}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "retry_policy": {"backoff_coefficient": 0.5}}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "retry_policy": {"backoff_coefficient": "2"}}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "retry_policy": {"maximum_attempts": -1}}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "retry_policy": {"maximum_attempts": 1.5}}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "retry_policy": {"initial_interval": 10, "maximum_interval": 5}}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "retry_policy": {"non_retryable_error_types": "X"}}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "retry_policy": {"non_retryable_error_types": [1]}}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "retry_policy": {"jitter": 1}}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "retry_policy": [1]}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "retry_policy": "x"}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "colour": "red"}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "priority": 9}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "priority": 2.5}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "priority": "1"}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "fairness_weight": 0}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "fairness_key": 5}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "fairness_key": ""}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5},
      {"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "B", "start_to_close_timeout": 5}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": -1, "priority": 9, "colour": 1}]',
    '[{"type": "ScheduleActivityTask", "activity_type": "A", "priority": 9, "colour": 1}]',
    '[{"type": "ScheduleActivityTask", "activity_id": 5, "activity_type": 6, "task_queue": "", "colour": 1}]']) c;
INSERT INTO bad VALUES
    ('an activity id over 255 bytes', jsonb_build_array(pg_temp.cmd(jsonb_build_object('activity_id', repeat('i', 256))))),
    ('an activity type over 255 bytes', jsonb_build_array(pg_temp.cmd(jsonb_build_object('activity_type', repeat('é', 128))))),
    ('a task queue over 255 bytes', jsonb_build_array(pg_temp.cmd(jsonb_build_object('task_queue', repeat('q', 256))))),
    ('a fairness key over 255 bytes', jsonb_build_array(pg_temp.cmd(jsonb_build_object('fairness_key', repeat('k', 256))))),
    ('an input 129 levels deep', jsonb_build_array(pg_temp.cmd(jsonb_build_object('input',
        (repeat('[', 129) || repeat(']', 129))::jsonb)))),
    ('an input over the payload limit', jsonb_build_array(pg_temp.cmd(jsonb_build_object('input', repeat('x', 3000))))),
    ('an input just over it', jsonb_build_array(pg_temp.cmd(jsonb_build_object('input', repeat('x', 999))))),
    ('an id pending among others', jsonb_build_array(pg_temp.cmd('{"activity_id": "x1"}'), pg_temp.cmd('{"activity_id": "x2"}'),
        pg_temp.cmd('{"activity_id": "x3"}'), pg_temp.cmd('{"activity_id": "x2"}'))),
    ('an id of 255 bytes pending', jsonb_build_array(pg_temp.cmd(jsonb_build_object('activity_id', repeat('i', 255))),
        pg_temp.cmd(jsonb_build_object('activity_id', repeat('i', 255)))));
SET LOCAL durable.max_payload_bytes = 1000;
CREATE TEMP TABLE bad_got AS SELECT name, pg_temp.twins('cs-bad-' || row_number() OVER (), commands) AS t FROM bad;
UPDATE bad_got SET name = regexp_replace(name, '\s+', ' ', 'g');
SELECT isnt(t -> 'c', 'null'::jsonb, 'refused: ' || name) FROM bad_got;
SELECT is(t -> 'c', t -> 'p', 'the same error on both paths: ' || name) FROM bad_got;
SELECT is(t -> 'same', 'true'::jsonb, 'nothing written on either path: ' || name) FROM bad_got;
SELECT is(pg_temp.twins('cs-limit', jsonb_build_array(pg_temp.cmd(jsonb_build_object('input', repeat('x', 998))))),
          '{"c": null, "p": null, "same": true}'::jsonb, 'an input at the payload limit passes on both paths');
RESET durable.max_payload_bytes;


-- 3. The eager path (api/72_eager.sql): wid-c and wid-p, each on a queue
-- of its own (an eager lease refuses a queue with a backlog), complete
-- their first workflow task through complete_workflow_tasks_eager with
-- slots offered; the rows it returns (but the tokens) and what each wrote
-- (but the queue's name) are the same.
CREATE FUNCTION pg_temp.eager_twins(wid text, commands jsonb, slots integer) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    got jsonb := '{}';
    path text;
    tok text;
BEGIN
    FOREACH path IN ARRAY ARRAY['c', 'plpgsql'] LOOP
        PERFORM durable.start_workflow(wid || '-' || path, 'W', wid || '-' || path, '{"in": 1}');
        PERFORM pg_temp.use(path);
        tok := (SELECT p.task_token FROM durable.poll_workflow_tasks(wid || '-' || path, 'eager-w', 1) p);
        got := got || jsonb_build_object(path, jsonb_build_object(
            'rows', (SELECT jsonb_agg(to_jsonb(e) - 'task_token' - 'run_id' - 'workflow_id' ORDER BY e.kind DESC, e.activity_id)
                       FROM durable.complete_workflow_tasks_eager(
                                jsonb_build_array(jsonb_build_object('task_token', tok, 'commands', commands)),
                                'eager-w', wid || '-' || path, slots) e),
            'wrote', replace(pg_temp.wrote(wid || '-' || path)::text, wid || '-' || path, 'Q')::jsonb));
    END LOOP;
    PERFORM pg_temp.use('c');
    RETURN got;
END
$$;
CREATE TEMP TABLE eager_got AS
SELECT pg_temp.eager_twins('cs-eager', jsonb_build_array(pg_temp.cmd('{}', ARRAY['task_queue']),
           pg_temp.cmd('{"activity_id": "2", "heartbeat_timeout": 5, "schedule_to_close_timeout": 20}', ARRAY['task_queue']),
           pg_temp.cmd('{"activity_id": "3"}', ARRAY['task_queue'])), 2) AS g;
SELECT is((SELECT g -> 'c' -> 'rows' FROM eager_got), (SELECT g -> 'plpgsql' -> 'rows' FROM eager_got),
          'eager: the same rows returned on both paths');
SELECT is((SELECT jsonb_path_query_array(g, '$.c.rows[*].outcome') FROM eager_got), '["COMPLETED", "EAGER", "EAGER"]',
          'eager: two activities taken, within the slots');
SELECT is((SELECT g -> 'c' -> 'wrote' FROM eager_got), (SELECT g -> 'plpgsql' -> 'wrote' FROM eager_got),
          'eager: the same rows and events on both paths');
SELECT is((SELECT jsonb_path_query_array(g, '$.c.wrote.activity_tasks[*].state') FROM eager_got),
          '["STARTED", "STARTED", "SCHEDULED"]', 'eager: the tasks taken are started, the third scheduled');
SELECT is((SELECT (g -> 'c' -> 'rows' -> 2 ->> 'deadline')::timestamptz FROM eager_got),
          (SELECT (g -> 'c' -> 'rows' -> 2 ->> 'started_at')::timestamptz + interval '5 seconds' FROM eager_got),
          'eager: the heartbeat deadline is the nearest');
SELECT is((SELECT l.lanname || ' ' || p.prosrc FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
            WHERE p.oid = 'durable._cmd_schedule_activity(durable.workflows,jsonb,bigint)'::regprocedure),
          'c durable_cmd_schedule_activity', 'the twins leave the product''s C in place');

-- 4. The pending check across completions: the run's activity task of an
-- earlier workflow task (the probe finds it, the statement says so), and
-- once it is done (no row: no statement) the id may be used again.
SELECT durable.start_workflow('cs-pend', 'W', 'cs-pq');
SELECT durable.complete_workflow_task((SELECT task_token FROM durable.poll_workflow_tasks('cs-pq', 't', 1)),
                                      jsonb_build_array(pg_temp.cmd('{"activity_id": "p"}')));
SELECT durable.signal_workflow('cs-pend', 's');
CREATE TEMP TABLE pend_tok AS SELECT task_token FROM durable.poll_workflow_tasks('cs-pq', 't', 1);
SELECT is((pg_temp.error_of(format('SELECT durable.complete_workflow_task(%L, %L)', (SELECT task_token FROM pend_tok),
                                   jsonb_build_array(pg_temp.cmd('{"activity_id": "p"}')))))[2],
          'activity id "p" is already pending', 'an id pending from an earlier workflow task is refused');
SELECT durable.complete_activity_tasks((SELECT jsonb_agg(jsonb_build_object('task_token', a.task_token, 'result', 1))
                                          FROM durable.poll_activity_tasks('cs-aq', 't', 100) a));
SELECT lives_ok(format('SELECT durable.complete_workflow_task(%L, %L)', (SELECT task_token FROM pend_tok),
                       jsonb_build_array(pg_temp.cmd('{"activity_id": "p"}'))),
                'once done, the id may be scheduled again');

SELECT * FROM finish();
ROLLBACK;
