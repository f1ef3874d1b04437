-- complete_workflow_tasks in C (pgext/src/workflow_batch.c,
-- api/05_workflow_tasks.sql) against the plpgsql body it replaced (session
-- 12), kept here as pg_temp.complete_workflow_tasks_plpgsql. Twin sets of
-- workflows, each on a queue of its own, each workflow brought to a started
-- workflow task, then one batch through the C and the same batch through
-- the plpgsql: the same rows (outcomes, errors, tokens), the same error
-- when the call fails, and the same written (histories, task rows, timers,
-- run rows). The batches: ones that go through whole, ones with items that
-- fail with each of the item's SQLSTATEs (a lost lease, a bad item, bad
-- commands, a command's own error, a payload over the rule), a token used
-- twice, failures with causes of every JSON type, commands absent or JSON
-- null, an error of another SQLSTATE (which ends the call), and lists that
-- are not arrays.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
SELECT pg_temp.hold_clock();

-- The plpgsql body, as api/05_workflow_tasks.sql had it before session 12
-- (there SECURITY DEFINER with its search_path pinned; the tests run as
-- the owner).
CREATE FUNCTION pg_temp.complete_workflow_tasks_plpgsql(completions jsonb, identity text DEFAULT NULL)
RETURNS TABLE (task_token text, outcome text, error text)
LANGUAGE plpgsql AS $$
DECLARE
    item jsonb;
    called text;   -- a helper called as an expression returns into it (sql/README.md, "Calls")
    tokens text[] := '{}';     -- the whole batch's rows, while it goes through
    outcomes text[] := '{}';
BEGIN
    IF completions IS NULL OR jsonb_typeof(completions) <> 'array' THEN
        PERFORM durable._bad_input('completions must be a JSON array', NULL,
            'Pass e.g. ''[{"task_token": "w1.1", "commands": []}]''.');
    END IF;
    -- the whole batch in one subtransaction (the items as below)
    BEGIN
        FOR item IN SELECT value FROM jsonb_array_elements(completions) LOOP
            IF jsonb_typeof(item) <> 'object' OR jsonb_typeof(item -> 'task_token') IS DISTINCT FROM 'string' THEN
                PERFORM durable._bad_input('each completion needs a task_token string');
            ELSIF item ? 'failure' THEN
                called := durable.fail_workflow_task(item ->> 'task_token',
                                                     coalesce(item ->> 'cause', 'WORKFLOW_WORKER_UNHANDLED_FAILURE'),
                                                     item -> 'failure', identity)::text;
                outcomes := outcomes || 'FAILED'::text;
            ELSE
                called := durable.complete_workflow_task(item ->> 'task_token', coalesce(item -> 'commands', '[]'),
                                                         identity)::text;
                outcomes := outcomes || 'COMPLETED'::text;
            END IF;
            tokens := tokens || (item ->> 'task_token');
        END LOOP;
    EXCEPTION WHEN SQLSTATE 'DU004' OR insufficient_privilege OR invalid_parameter_value OR program_limit_exceeded THEN
        tokens := NULL;   -- an item failed: the batch is undone, and run again item by item
    END;
    IF tokens IS NOT NULL THEN
        RETURN QUERY SELECT u.t, u.o, NULL::text FROM unnest(tokens, outcomes) u(t, o);
        RETURN;
    END IF;
    FOR item IN SELECT value FROM jsonb_array_elements(completions) LOOP
        task_token := item ->> 'task_token';
        error := NULL;
        BEGIN
            IF jsonb_typeof(item) <> 'object' OR jsonb_typeof(item -> 'task_token') IS DISTINCT FROM 'string' THEN
                PERFORM durable._bad_input('each completion needs a task_token string');
            ELSIF item ? 'failure' THEN
                called := durable.fail_workflow_task(task_token, coalesce(item ->> 'cause', 'WORKFLOW_WORKER_UNHANDLED_FAILURE'),
                                                     item -> 'failure', identity)::text;
                outcome := 'FAILED';
            ELSE
                called := durable.complete_workflow_task(task_token, coalesce(item -> 'commands', '[]'), identity)::text;
                outcome := 'COMPLETED';
            END IF;
        EXCEPTION WHEN SQLSTATE 'DU004' THEN
            outcome := 'LEASE_LOST';
            error := SQLERRM;
        WHEN insufficient_privilege THEN
            outcome := 'DENIED';
            error := SQLERRM;
        WHEN invalid_parameter_value OR program_limit_exceeded THEN
            outcome := 'INVALID';
            error := SQLERRM;
        END;
        RETURN NEXT;
    END LOOP;
END
$$;

-- What the twin wid wrote (its workflows wid-1 ... wid-n), its name made W:
-- histories (but run ids), workflow and activity task rows, timers, runs.
CREATE FUNCTION pg_temp.wrote(wid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT replace(jsonb_build_object(
        'history', (SELECT jsonb_agg(jsonb_build_array(w.workflow_id, h.event_id, h.event_type,
                                                       h.attributes - 'first_execution_run_id' - 'new_execution_run_id')
                                     ORDER BY w.workflow_id, h.event_id)
                      FROM durable.workflows w, durable.get_history(w.workflow_id) h WHERE w.task_queue = wid),
        'runs', (SELECT jsonb_agg(to_jsonb(w) - 'run_id' - 'first_run_id' - 'new_run_id' - 'task_queue'
                                  - 'execution_started_at' - 'started_at' - 'closed_at' - 'deadline_at'
                                  ORDER BY w.workflow_id) FROM durable.workflows w WHERE w.task_queue = wid),
        'workflow_tasks', (SELECT jsonb_agg(jsonb_build_array(w.workflow_id, t.state, t.attempt, t.fence,
                                                              t.scheduled_event_id, t.identity) ORDER BY w.workflow_id)
                             FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id) WHERE w.task_queue = wid),
        'activity_tasks', (SELECT jsonb_agg(jsonb_build_array(a.workflow_id, a.activity_id, a.state) ORDER BY a.workflow_id)
                             FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.task_queue = wid),
        'timers', (SELECT jsonb_agg(jsonb_build_array(w.workflow_id, t.timer_id) ORDER BY w.workflow_id)
                     FROM durable.timers t JOIN durable.workflows w USING (run_id) WHERE w.task_queue = wid))::text,
        wid, 'W')::jsonb
$$;
-- Twins wid-c and wid-p, each with n workflows (wid-c-1 ...) on a queue of
-- its name, each workflow task started; the batch (its "$k" the k-th
-- workflow's token) completed through the C and through the plpgsql, with
-- identity ident. The C's rows (tokens as "$k") or error, and whether the
-- two paths returned and wrote the same.
CREATE FUNCTION pg_temp.twins(wid text, n integer, batch text, ident text DEFAULT 'batcher')
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    got jsonb := '{}';
    w text;
    toks text[];
    b text;
    rows jsonb;
    err text[];
BEGIN
    FOREACH w IN ARRAY ARRAY[wid || '-c', wid || '-p'] LOOP
        PERFORM durable.start_workflow(w || '-' || i, 'W', w, '{"in": 1}') FROM generate_series(1, n) i;
        toks := ARRAY(SELECT p.task_token FROM durable.poll_workflow_tasks(w, 'tester', 100) p ORDER BY p.workflow_id);
        b := batch;
        FOR k IN REVERSE n .. 1 LOOP
            b := replace(b, '$' || k, toks[k]);
        END LOOP;
        rows := NULL;
        err := NULL;
        BEGIN
            IF w LIKE '%-c' THEN
                rows := (SELECT coalesce(jsonb_agg(jsonb_build_array(
                                             CASE WHEN r.task_token = ANY (toks) THEN '$' || array_position(toks, r.task_token)
                                                  ELSE r.task_token END, r.outcome, r.error)), '[]')
                           FROM durable.complete_workflow_tasks(b::jsonb, ident) r);
            ELSE
                rows := (SELECT coalesce(jsonb_agg(jsonb_build_array(
                                             CASE WHEN r.task_token = ANY (toks) THEN '$' || array_position(toks, r.task_token)
                                                  ELSE r.task_token END, r.outcome, r.error)), '[]')
                           FROM pg_temp.complete_workflow_tasks_plpgsql(b::jsonb, ident) r);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            err := pg_temp.error_of(format(CASE WHEN w LIKE '%-c' THEN 'SELECT * FROM durable.complete_workflow_tasks(%L, %L)'
                                                ELSE 'SELECT * FROM pg_temp.complete_workflow_tasks_plpgsql(%L, %L)' END,
                                           b, ident));
        END;
        got := got || jsonb_build_object(right(w, 1), jsonb_build_object('rows', rows, 'error', err,
                                                                          'wrote', pg_temp.wrote(w)));
    END LOOP;
    RETURN jsonb_build_object('rows', got -> 'c' -> 'rows', 'error', got -> 'c' -> 'error',
                              'same_rows', got -> 'c' -> 'rows' = got -> 'p' -> 'rows',
                              'same_error', coalesce(got -> 'c' -> 'error' = got -> 'p' -> 'error', true),
                              'same_written', got -> 'c' -> 'wrote' = got -> 'p' -> 'wrote');
END
$$;

CREATE TEMP TABLE cases (name text, n integer, batch text, ident text DEFAULT 'batcher');
INSERT INTO cases (name, n, batch) VALUES
    ('whole: an activity, a timer, a close, a failure', 4, '[
        {"task_token": "$1", "commands": [{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A",
                                           "start_to_close_timeout": 60, "retry_policy": {}}]},
        {"task_token": "$2", "commands": [{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 60}]},
        {"task_token": "$3", "commands": [{"type": "CompleteWorkflowExecution", "result": {"r": 1}}]},
        {"task_token": "$4", "cause": "NON_DETERMINISTIC_ERROR", "failure": {"message": "differs"}}]'),
    ('whole: commands absent, empty', 2, '[{"task_token": "$1"}, {"task_token": "$2", "commands": []}]'),
    ('an empty batch', 0, '[]'),
    ('a lost lease among good items', 3, '[{"task_token": "$1", "commands": []}, {"task_token": "w999999.1", "commands": []},
        {"task_token": "$3", "commands": [{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 60}]}]'),
    ('a token used twice', 1, '[{"task_token": "$1", "commands": []}, {"task_token": "$1", "commands": []}]'),
    ('items that are not objects, tokens that are not strings', 2, '[5, "x", null, [1], {}, {"task_token": 7},
        {"task_token": null}, {"task_token": {"a": 1}, "commands": []}, {"task_token": "$1", "commands": []},
        {"commands": [], "failure": {}}, {"task_token": "$2", "commands": []}]'),
    ('commands JSON null, an object, a closing command not last', 3, '[{"task_token": "$1", "commands": null},
        {"task_token": "$2", "commands": {"type": "StartTimer"}},
        {"task_token": "$3", "commands": [{"type": "CompleteWorkflowExecution"}, {"type": "StartTimer"}]}]'),
    ('a command''s own error', 2, '[{"task_token": "$1", "commands": [{"type": "StartTimer", "timer_id": "t"}]},
        {"task_token": "$2", "commands": []}]'),
    ('a result over the payload rule', 2, '[{"task_token": "$1", "commands": [{"type": "CompleteWorkflowExecution",
        "result": "' || repeat('x', 2000) || '"}]}, {"task_token": "$2", "commands": []}]'),
    ('failures: causes of every JSON type, failures null or absent', 6, '[
        {"task_token": "$1", "failure": {"message": "m"}},
        {"task_token": "$2", "cause": null, "failure": {"message": "m"}},
        {"task_token": "$3", "cause": 5, "failure": {"message": "m"}},
        {"task_token": "$4", "cause": {"c": [1, "two"]}, "failure": null},
        {"task_token": "$5", "cause": "WORKFLOW_WORKER_UNHANDLED_FAILURE", "failure": "boom"},
        {"task_token": "$6", "cause": "RESET_STICKY_TASK_QUEUE", "failure": {"message": "m"}, "commands": []}]'),
    ('a failure of a lost lease', 2, '[{"task_token": "w999999.1", "failure": {"message": "m"}},
        {"task_token": "$2", "failure": {"message": "m"}}]'),
    ('not an array: an object', 0, '{"task_token": "w1.1"}'),
    ('not an array: a number', 0, '5'),
    ('not an array: JSON null', 0, 'null');
INSERT INTO cases (name, n, batch, ident) VALUES
    ('no identity', 2, '[{"task_token": "$1", "commands": []}, {"task_token": "$2", "failure": {"message": "m"}}]', NULL),
    ('an identity over 255 bytes', 1, '[{"task_token": "$1", "commands": []}]', repeat('i', 256));
SET LOCAL durable.max_payload_bytes = 1000;
CREATE TEMP TABLE got AS SELECT c.name, pg_temp.twins('wb-' || row_number() OVER (), c.n, c.batch, c.ident) AS g
  FROM cases c;
RESET durable.max_payload_bytes;
SELECT is(g -> 'same_rows', 'true', 'the same rows: ' || name) FROM got WHERE name NOT LIKE 'not an array%';
SELECT is(g -> 'same_error', 'true', 'the same error (or none): ' || name) FROM got;
SELECT is(g -> 'same_written', 'true', 'the same written: ' || name) FROM got;
SELECT is((SELECT jsonb_path_query_array(g, '$.rows[*][1]') FROM got WHERE name LIKE 'a lost lease among%'),
          '["COMPLETED", "LEASE_LOST", "COMPLETED"]', 'a lost lease: each item on its own');
SELECT is((SELECT jsonb_path_query_array(g, '$.rows[*][1]') FROM got WHERE name LIKE 'whole: an activity%'),
          '["COMPLETED", "COMPLETED", "COMPLETED", "FAILED"]', 'a whole batch: its outcomes, in order');
SELECT is((SELECT jsonb_path_query_array(g, '$.rows[*][2]') FROM got WHERE name LIKE 'whole: an activity%'),
          '[null, null, null, null]', 'and no errors');
SELECT is((SELECT jsonb_path_query_array(g, '$.rows[*][1]') FROM got WHERE name = 'a token used twice'),
          '["COMPLETED", "LEASE_LOST"]', 'a token used twice: lost the second time');
SELECT is((SELECT jsonb_path_query_array(g, '$.rows[*][1]') FROM got WHERE name = 'a result over the payload rule'),
          '["INVALID", "COMPLETED"]', 'a payload over the rule: invalid (program_limit_exceeded)');
SELECT is((SELECT g -> 'error' ->> 0 FROM got WHERE name = 'not an array: a number'), '22023', 'not an array: refused');
SELECT is((SELECT jsonb_path_query_array(g, '$.rows[*][1]') FROM got WHERE name LIKE 'items that are not objects%'),
          '["INVALID", "INVALID", "INVALID", "INVALID", "INVALID", "INVALID", "INVALID", "INVALID", "COMPLETED", "INVALID", "COMPLETED"]',
          'bad items: invalid, each on its own');
SELECT is((SELECT jsonb_path_query_array(g, '$.rows[*][0]') FROM got WHERE name LIKE 'items that are not objects%'),
          '[null, null, null, null, null, "7", null, "{\"a\": 1}", "$1", null, "$2"]',
          'bad items: their rows'' tokens are item ->> ''task_token''');

-- An error of another SQLSTATE ends the call, on both paths (an operator's
-- trigger on timers): the same error, nothing written.
CREATE FUNCTION pg_temp.no_timers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'no timers here' USING ERRCODE = 'P0001', HINT = 'an operator''s rule';
END
$$;
CREATE TRIGGER no_timers BEFORE INSERT ON durable.timers FOR EACH ROW EXECUTE FUNCTION pg_temp.no_timers();
CREATE TEMP TABLE got_other AS SELECT pg_temp.twins('wb-other', 2, '[{"task_token": "$1", "commands": []},
    {"task_token": "$2", "commands": [{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 60}]}]') AS g;
DROP TRIGGER no_timers ON durable.timers;
SELECT is((SELECT g -> 'error' FROM got_other),
          '["P0001", "no timers here", null, "an operator''s rule"]', 'another SQLSTATE: the call fails with it');
SELECT is((SELECT g -> 'same_error' FROM got_other), 'true', 'as the plpgsql''s did');
SELECT is((SELECT g -> 'same_written' FROM got_other), 'true', 'and nothing written on either path');

-- The item's complete_workflow_task is still counted by track_functions.
SET LOCAL track_functions = 'all';
CREATE TEMP TABLE calls_before AS
SELECT coalesce((SELECT calls FROM pg_stat_xact_user_functions WHERE schemaname = 'durable'
                    AND funcname = 'complete_workflow_task'), 0) AS n;
SELECT pg_temp.twins('wb-count', 3, '[{"task_token": "$1"}, {"task_token": "$2"}, {"task_token": "$3"}]');
SELECT is((SELECT calls FROM pg_stat_xact_user_functions WHERE schemaname = 'durable'
             AND funcname = 'complete_workflow_task') - (SELECT n FROM calls_before),
          6::bigint, 'each item''s complete_workflow_task counted, as before (three by the C, three by the plpgsql)');

SELECT * FROM finish();
ROLLBACK;
