-- complete_workflow_task, _lock_workflow_task and _check_commands in C
-- (pgext/src/workflow_complete.c, api/05_workflow_tasks.sql) against the
-- plpgsql bodies they replaced (session 11), kept here as
-- pg_temp.complete_workflow_task_plpgsql, pg_temp.lock_workflow_task_plpgsql
-- and pg_temp.check_commands_plpgsql. _lock_workflow_task: the same row or
-- error for a started task's token, a token used again, one of a task
-- that is no longer started, unknown, malformed and null tokens.
-- _check_commands: the same error (code, message, detail, hint) for every
-- kind of bad list, none for good ones. complete_workflow_task: twin
-- workflows, each on a queue of its own, each brought to a started workflow
-- task (with, for some cases, a signal or a pause arriving while it runs, a
-- build id, a transient second attempt), completed with the same commands,
-- one through the C and one through the plpgsql; the errors are the same,
-- and so is what they wrote: history, tasks, timers, buffered events, the
-- run's row (but ids, times and the queue's name). CompleteWorkflowExecution
-- is applied by the C itself (the other closing commands by _cmd_close):
-- its twin goes through _cmd_close. The task's DELETE (section 4): written
-- directly, and by its statement wherever that does more (triggers).
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
SELECT pg_temp.hold_clock();

-- The plpgsql bodies, as api/05_workflow_tasks.sql had them before session 11.
CREATE FUNCTION pg_temp.check_commands_plpgsql(commands jsonb) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    n integer;
    cmd jsonb;
    ctype text;
BEGIN
    IF commands IS NULL OR jsonb_typeof(commands) <> 'array' THEN
        PERFORM durable._bad_input('commands must be a JSON array',
            format('Got %s.', coalesce(commands::text, 'NULL')),
            'Pass e.g. ''[{"type": "CompleteWorkflowExecution", "result": 42}]''.');
    END IF;
    n := jsonb_array_length(commands);
    FOR i IN 0 .. n - 1 LOOP
        cmd := commands -> i;
        IF jsonb_typeof(cmd) <> 'object' OR jsonb_typeof(cmd -> 'type') IS DISTINCT FROM 'string' THEN
            PERFORM durable._bad_input(format('command %s is not an object with a "type"', i),
                format('Got %s.', cmd::text));
        END IF;
        ctype := cmd ->> 'type';
        IF ctype <> ALL (durable._command_types()) THEN
            PERFORM durable._bad_input(format('unknown command type "%s"', ctype), NULL,
                format('Known types: %s.', array_to_string(durable._command_types(), ', ')));
        END IF;
        IF ctype = ANY (durable._closing_command_types()) AND i <> n - 1 THEN
            PERFORM durable._bad_input(format('%s must be the last command', ctype),
                format('It is command %s of %s.', i + 1, n));
        END IF;
    END LOOP;
END
$$;

CREATE FUNCTION pg_temp.lock_workflow_task_plpgsql(task_token text) RETURNS durable.workflow_tasks
LANGUAGE plpgsql AS $$
DECLARE
    called text;   -- a helper called as an expression returns into it (sql/README.md, "Calls")
    tok record;
    t durable.workflow_tasks;
BEGIN
    tok := durable._parse_token(task_token, 'w');
    -- (the task's row read by its key without a statement: api/85_row_by_key.sql)
    t := durable._workflow_task_row(tok.task_id);
    IF t.task_id IS NULL THEN
        PERFORM durable._lease_lost('workflow', task_token);
    END IF;
    called := durable._authorize('worker', t.task_queue, t.namespace)::text;
    called := durable._lock_run(t.run_id)::text;   -- FOR UPDATE, without the executor (85_row_by_key.sql)
    t := durable._workflow_task_row(tok.task_id);   -- again, now that its run is locked
    IF t.task_id IS NULL OR t.fence <> tok.fence OR t.state <> 'STARTED' THEN
        PERFORM durable._lease_lost('workflow', task_token);
    END IF;
    RETURN t;
END
$$;

CREATE FUNCTION pg_temp.complete_workflow_task_plpgsql(task_token text, commands jsonb DEFAULT '[]', identity text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    called text;   -- a helper called as an expression returns into it (sql/README.md, "Calls")
    t durable.workflow_tasks;
    w durable.workflows;
    completed bigint;
    cmd jsonb;
    needs_task boolean := false;
    closed boolean := false;
    unseen boolean := false;
    n integer;
    pending integer;   -- durable._run_rows: which of the run's tables may hold its rows
BEGIN
    called := pg_temp.check_commands_plpgsql(commands)::text;
    called := durable._check_name(identity, 'identity');
    t := pg_temp.lock_workflow_task_plpgsql(task_token);
    IF t.scheduled_event_id IS NULL THEN
        t := durable._record_transient_task(t);
    END IF;
    w := durable._workflow_row(t.run_id);   -- locked by _lock_workflow_task
    DELETE FROM durable.workflow_tasks wt WHERE wt.task_id = t.task_id;
    n := jsonb_array_length(commands);

    -- Closing while unseen events wait would lose them (a signal sent during
    -- this task): fail the task instead and let the workflow see them.
    -- (Two IFs: in one condition the query around EXISTS was planned anew on
    -- every call, its custom plan folding the command's type.)
    -- (_run_rows: an index probe, no statement, that says where rows may be;
    -- only then a statement looks: api/83_run_rows.sql. 8: buffered_events,
    -- 16: workflow_pauses.)
    IF n > 0 AND (commands -> (n - 1) ->> 'type') = ANY (durable._closing_command_types()) THEN
        IF durable._run_rows(t.run_id, 8) <> 0 THEN
            unseen := EXISTS (SELECT 1 FROM durable.buffered_events b WHERE b.run_id = t.run_id);
        END IF;
    END IF;
    IF unseen THEN
        PERFORM durable._append(t.run_id, 'WorkflowTaskFailed', jsonb_build_object(
            'scheduled_event_id', t.scheduled_event_id, 'started_event_id', t.started_event_id,
            'cause', 'UNHANDLED_COMMAND', 'identity', coalesce(identity, t.identity),
            'failure', jsonb_build_object('message',
                'new events arrived while the workflow task ran; the workflow sees them before it may close')));
        PERFORM durable._flush_buffered(t.run_id);
        PERFORM durable._schedule_workflow_task(t.run_id);
        PERFORM durable._hold_if_paused(t.run_id);   -- 41_pause.sql
        RETURN;
    END IF;

    completed := durable._append(t.run_id, 'WorkflowTaskCompleted', jsonb_build_object(
        'scheduled_event_id', t.scheduled_event_id, 'started_event_id', t.started_event_id,
        'identity', coalesce(identity, t.identity)) || durable._build_id_attrs(t.build_id));
    IF t.build_id IS NOT NULL THEN   -- an unversioned worker's task has nothing to record
        PERFORM durable._record_build_id(w, t);
    END IF;
    FOR i IN 0 .. n - 1 LOOP
        cmd := commands -> i;
        CASE cmd ->> 'type'
            WHEN 'ScheduleActivityTask' THEN
                called := durable._cmd_schedule_activity(w, cmd, completed)::text;
            WHEN 'RequestCancelActivityTask' THEN
                IF durable._cmd_request_cancel_activity(w, cmd, completed) THEN needs_task := true; END IF;
            WHEN 'StartTimer' THEN
                called := durable._cmd_start_timer(w, cmd, completed)::text;
            WHEN 'CancelTimer' THEN
                called := durable._cmd_cancel_timer(w, cmd, completed)::text;
            WHEN 'StartChildWorkflowExecution' THEN
                called := durable._cmd_start_child(w, cmd, completed)::text;
                needs_task := true;
            WHEN 'SignalExternalWorkflowExecution' THEN
                called := durable._cmd_signal_external(w, cmd, completed)::text;
                needs_task := true;
            WHEN 'RequestCancelExternalWorkflowExecution' THEN
                called := durable._cmd_cancel_external(w, cmd, completed)::text;
                needs_task := true;
            WHEN 'RecordMarker' THEN
                called := durable._cmd_record_marker(w, cmd, completed)::text;
            WHEN 'UpsertWorkflowSearchAttributes' THEN
                called := durable._cmd_upsert_search_attributes(w, cmd, completed)::text;
            WHEN 'CompleteWorkflowUpdate' THEN
                called := durable._cmd_complete_update(w, cmd, completed)::text;   -- 15_updates.sql
            ELSE
                called := durable._cmd_close(w, cmd, completed)::text;
                closed := true;
        END CASE;
    END LOOP;

    IF NOT closed THEN
        pending := durable._run_rows(t.run_id, 8 | 16);
        IF pending & 8 <> 0 THEN
            IF durable._flush_buffered(t.run_id) > 0 THEN
                needs_task := true;
            END IF;
        END IF;
        IF needs_task THEN   -- (nested for the reason above)
            IF NOT EXISTS (SELECT 1 FROM durable.workflow_tasks wt WHERE wt.run_id = t.run_id) THEN
                called := durable._schedule_workflow_task(t.run_id)::text;
            END IF;
        END IF;
        IF pending & 16 <> 0 THEN
            called := durable._hold_if_paused(t.run_id)::text;   -- paused while this task ran (41_pause.sql)
        END IF;
    END IF;
END
$$;


-- 1. _check_commands ---------------------------------------------------------------------
SELECT is(pg_temp.error_of(format('SELECT durable._check_commands(%L)', c)),
          pg_temp.error_of(format('SELECT pg_temp.check_commands_plpgsql(%L)', c)),
          '_check_commands as before: ' || coalesce(c, 'NULL'))
  FROM unnest(ARRAY[NULL, 'null', '{}', '"x"', '5', '[]', '[1]', '[null]', '["StartTimer"]', '[[1]]', '[{}]',
                    '[{"type": 5}]', '[{"type": null}]', '[{"type": ""}]', '[{"type": "Explode"}]',
                    '[{"type": "startTimer"}]', '[{"type": "StartTimer"}, {"typ": "StartTimer"}]',
                    '[{"type": "StartTimer"}]', '[{"type": "CompleteWorkflowExecution"}]',
                    '[{"type": "StartTimer"}, {"type": "CompleteWorkflowExecution"}]',
                    '[{"type": "CompleteWorkflowExecution"}, {"type": "StartTimer"}]',
                    '[{"type": "FailWorkflowExecution"}, {"type": "CancelWorkflowExecution"}]',
                    '[{"type": "ContinueAsNewWorkflowExecution"}, {"type": "Explode"}]',
                    '[{"type": "Explode"}, {"type": "CompleteWorkflowExecution"}, 7]',
                    '[{"type": "UpsertWorkflowSearchAttributes"}, {"type": "RecordMarker"}, {"type": "CompleteWorkflowUpdate"},
                      {"type": "SignalExternalWorkflowExecution"}, {"type": "RequestCancelExternalWorkflowExecution"},
                      {"type": "StartChildWorkflowExecution"}, {"type": "CancelTimer"}, {"type": "RequestCancelActivityTask"},
                      {"type": "ScheduleActivityTask"}, {"type": "CancelWorkflowExecution"}]']) c;
SELECT ok(pg_temp.error_of(format('SELECT durable._check_commands(%L)', c)) IS NOT NULL, 'and refused: ' || c)
  FROM unnest(ARRAY['{}', '[1]', '[{"type": "Explode"}]', '[{"type": "CompleteWorkflowExecution"}, {"type": "StartTimer"}]']) c;

-- 2. complete_workflow_task --------------------------------------------------------------
-- What a twin wrote, its name made W: the history (but the run's id and the
-- events' times, the wall clock's), its tasks, timers and buffered events,
-- its run's row and its children's (but ids and times), its children's events.
CREATE FUNCTION pg_temp.wrote(wid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT replace(jsonb_build_object(
        'history', (SELECT jsonb_agg(jsonb_build_array(event_id, event_type, attributes - 'first_execution_run_id'
                                                       - 'new_execution_run_id' - 'original_execution_run_id'
                                                       - 'continued_execution_run_id' - 'run_id')
                                     ORDER BY event_id) FROM durable.get_history(wid)),
        'runs', (SELECT jsonb_agg(to_jsonb(w) - 'run_id' - 'first_run_id' - 'continued_from_run_id' - 'new_run_id'
                                  - 'execution_started_at' - 'started_at' - 'closed_at' - 'deadline_at'
                                  - 'parent_run_id' ORDER BY w.workflow_id, w.started_at)
                   FROM durable.workflows w WHERE w.workflow_id = wid OR w.workflow_id LIKE wid || '-%'),
        'child_histories', (SELECT jsonb_agg(jsonb_build_array(w.workflow_id, h.event_type) ORDER BY w.workflow_id, h.event_id)
                              FROM durable.workflows w, durable.get_history(w.workflow_id) h
                             WHERE w.workflow_id LIKE wid || '-%'),
        'activity_tasks', (SELECT jsonb_agg(to_jsonb(a) - 'task_id' - 'run_id' - 'pass' - 'scheduled_at'
                                            - 'attempt_scheduled_at' - 'timeout_at' ORDER BY a.scheduled_event_id)
                             FROM durable.activity_tasks a WHERE a.workflow_id = wid),
        'workflow_tasks', (SELECT jsonb_agg(to_jsonb(t) - 'task_id' - 'run_id' - 'pass' - 'scheduled_at' - 'started_at'
                                            - 'timeout_at' ORDER BY t.task_id)
                             FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id)
                            WHERE w.workflow_id = wid),
        'timers', (SELECT jsonb_agg(jsonb_build_array(t.timer_id, t.started_event_id) ORDER BY t.timer_id)
                     FROM durable.timers t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = wid),
        'buffered', (SELECT jsonb_agg(jsonb_build_array(b.event_type, b.attributes) ORDER BY b.seq)
                       FROM durable.buffered_events b JOIN durable.workflows w USING (run_id)
                      WHERE w.workflow_id = wid))::text, wid, 'W')::jsonb
$$;
-- Twins wid-c and wid-p (queues of the same names): each started, its
-- workflow task polled (with build id build; after a failed first attempt
-- and its backoff when transient: a transient attempt), then the statement
-- during run (its $W the twin's name), then completed with commands (their
-- $W the twin's name) and identity ident, through the C or the plpgsql.
-- Returns the C's error, whether both errors are the same, and whether
-- both wrote the same.
CREATE FUNCTION pg_temp.twins(wid text, commands text, during text DEFAULT NULL, ident text DEFAULT NULL,
                              build text DEFAULT NULL, transient boolean DEFAULT false, token text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    got jsonb := '{}';
    w text;
    tok text;
    path text;
BEGIN
    FOREACH path IN ARRAY ARRAY['c', 'p'] LOOP
        w := wid || '-' || path;
        PERFORM durable.start_workflow(w, 'W', w, '{"in": 1}');
        tok := (SELECT p.task_token FROM durable.poll_workflow_tasks(w, 'tester', 1, NULL, 'default', build) p);
        IF transient THEN
            PERFORM durable.fail_workflow_task(tok);
            PERFORM durable.skip_time('1 second');
            PERFORM durable.fire_due();
            tok := (SELECT p.task_token FROM durable.poll_workflow_tasks(w, 'tester', 1, NULL, 'default', build) p);
        END IF;
        IF during IS NOT NULL THEN
            EXECUTE replace(during, '$W', w);
        END IF;
        got := got || jsonb_build_object(path, jsonb_build_object(
            'error', pg_temp.error_of(format(CASE path WHEN 'c' THEN 'SELECT durable.complete_workflow_task(%L, %L, %L)'
                                                     ELSE 'SELECT pg_temp.complete_workflow_task_plpgsql(%L, %L, %L)' END,
                                             coalesce(token, tok), replace(commands, '$W', w), ident)),
            'wrote', pg_temp.wrote(w)));
    END LOOP;
    RETURN jsonb_build_object('error', got -> 'c' -> 'error', 'same_error', got -> 'c' -> 'error' = got -> 'p' -> 'error',
                              'same', got -> 'c' -> 'wrote' = got -> 'p' -> 'wrote');
END
$$;
SELECT durable.start_workflow('wc-target', 'W', 'wc-target');
CREATE TEMP TABLE cases (name text, commands text, during text, ident text, build text, transient boolean DEFAULT false,
                         token text, fails boolean DEFAULT false);
INSERT INTO cases (name, commands) VALUES
    ('no commands', '[]'),
    ('one activity', '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 60}]'),
    ('two activities and a timer', '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 60},
        {"type": "ScheduleActivityTask", "activity_id": "2", "activity_type": "B", "schedule_to_close_timeout": 60},
        {"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 5}]'),
    ('an activity canceled in the same task', '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A",
        "start_to_close_timeout": 60}, {"type": "RequestCancelActivityTask", "activity_id": "1"}]'),
    ('a timer canceled in the same task', '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 5},
        {"type": "CancelTimer", "timer_id": "t"}]'),
    ('a marker and search attributes', '[{"type": "RecordMarker", "marker_name": "m", "details": {"x": 1}},
        {"type": "UpsertWorkflowSearchAttributes", "search_attributes": {"Color": "red"}}]'),
    ('a child', '[{"type": "StartChildWorkflowExecution", "workflow_id": "$W-kid", "workflow_type": "K", "task_queue": "$W-kq"}]'),
    ('a signal to another workflow', '[{"type": "SignalExternalWorkflowExecution", "workflow_id": "wc-target", "signal_name": "s"}]'),
    ('a cancel of another workflow', '[{"type": "RequestCancelExternalWorkflowExecution", "workflow_id": "wc-target"}]'),
    ('complete', '[{"type": "CompleteWorkflowExecution", "result": {"r": 1}}]'),
    ('complete without a result', '[{"type": "CompleteWorkflowExecution"}]'),
    ('complete with a null result', '[{"type": "CompleteWorkflowExecution", "result": null}]'),
    ('complete with a string result', '[{"type": "CompleteWorkflowExecution", "result": "d\u00e9j\u00e0"}]'),
    ('an activity, then complete', '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A",
        "start_to_close_timeout": 60}, {"type": "CompleteWorkflowExecution"}]'),
    ('a timer, then complete', '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 5},
        {"type": "CompleteWorkflowExecution", "result": 2}]'),
    ('a child, then complete: the child closed by the parent''s close', '[{"type": "StartChildWorkflowExecution",
        "workflow_id": "$W-kid2", "workflow_type": "K", "task_queue": "$W-kq"}, {"type": "CompleteWorkflowExecution"}]'),
    ('a child abandoned, then complete', '[{"type": "StartChildWorkflowExecution", "workflow_id": "$W-kid3",
        "workflow_type": "K", "task_queue": "$W-kq", "parent_close_policy": "ABANDON"}, {"type": "CompleteWorkflowExecution"}]'),
    ('search attributes naming a schedule, then complete', '[{"type": "UpsertWorkflowSearchAttributes",
        "search_attributes": {"DurableScheduledById": "nosuch"}}, {"type": "CompleteWorkflowExecution"}]'),
    ('fail', '[{"type": "FailWorkflowExecution", "failure": {"message": "boom"}}]'),
    ('cancel', '[{"type": "CancelWorkflowExecution"}]'),
    ('continue as new', '[{"type": "ContinueAsNewWorkflowExecution", "input": 2}]');
INSERT INTO cases (name, commands, during) VALUES
    ('a signal while it ran, then complete: the task fails', '[{"type": "CompleteWorkflowExecution"}]',
     $$SELECT durable.signal_workflow('$W', 'late', '{"v": 1}')$$),
    ('a signal while it ran, then an activity: flushed, a new task', '[{"type": "ScheduleActivityTask", "activity_id": "1",
        "activity_type": "A", "start_to_close_timeout": 60}]', $$SELECT durable.signal_workflow('$W', 'late')$$),
    ('a signal while it ran, no commands', '[]', $$SELECT durable.signal_workflow('$W', 'late')$$),
    ('paused while it ran', '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 5}]',
     $$SELECT durable.pause_workflow('$W', 'look')$$),
    ('paused and signaled while it ran', '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 5}]',
     $$SELECT durable.pause_workflow('$W', 'look'); SELECT durable.signal_workflow('$W', 'late')$$),
    ('paused while it ran, then complete', '[{"type": "CompleteWorkflowExecution"}]',
     $$SELECT durable.pause_workflow('$W', 'look')$$);
INSERT INTO cases (name, commands, ident, build, transient) VALUES
    ('an identity of its own', '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 5}]', 'me', NULL, false),
    ('a build id', '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 5}]', NULL, 'b1', false),
    ('a transient attempt', '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 5}]', NULL, NULL, true),
    ('a transient attempt of a build, completing', '[{"type": "CompleteWorkflowExecution"}]', 'me2', 'b2', true);
INSERT INTO cases (name, commands, ident, token, fails) VALUES
    ('bad: not an array', '{"type": "CompleteWorkflowExecution"}', NULL, NULL, true),
    ('bad: a closing command not last', '[{"type": "CompleteWorkflowExecution"}, {"type": "StartTimer"}]', NULL, NULL, true),
    ('bad: an unknown type', '[{"type": "Explode"}]', NULL, NULL, true),
    ('bad: null commands', NULL, NULL, NULL, true),
    ('bad: an identity over 255 bytes', '[]', repeat('i', 256), NULL, true),
    ('bad: an unknown token', '[]', NULL, 'w999999999.1', true),
    ('bad: a malformed token', '[]', NULL, 'nope', true),
    ('bad: a command''s own error', '[{"type": "StartTimer", "timer_id": "t"}]', NULL, NULL, true),
    ('bad: the second command''s error', '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 5},
        {"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 5}]', NULL, NULL, true),
    ('bad: a closing command''s error', '[{"type": "FailWorkflowExecution", "failure": "boom"}]', NULL, NULL, true),
    ('bad: complete with a key it does not know', '[{"type": "CompleteWorkflowExecution", "result": 1, "extra": 2}]',
     NULL, NULL, true),
    ('bad: complete with a result too deep', '[{"type": "CompleteWorkflowExecution", "result": '
     || repeat('[', 129) || repeat(']', 129) || '}]', NULL, NULL, true),
    ('bad: complete with a result too large', '[{"type": "CompleteWorkflowExecution", "result": "'
     || repeat('x', 2000) || '"}]', NULL, NULL, true);
SET LOCAL durable.max_payload_bytes = 1000;
CREATE TEMP TABLE got AS
SELECT c.name, c.fails, pg_temp.twins('wc-' || row_number() OVER (), c.commands, c.during, c.ident, c.build, c.transient,
                                      c.token) AS g
  FROM cases c;
RESET durable.max_payload_bytes;
SELECT is(g ->> 'same', 'true', 'the same written: ' || name) FROM got;
SELECT is(g ->> 'same_error', 'true', 'the same error (or none): ' || name) FROM got;
SELECT is(g -> 'error' <> 'null', fails, CASE WHEN fails THEN 'refused: ' ELSE 'done: ' END || name) FROM got;
SELECT is((SELECT count(*) FROM durable.get_history('wc-1-c')), 4::bigint, 'a completion without commands writes its event');


-- 3. _lock_workflow_task -------------------------------------------------------------------
SELECT durable.start_workflow('wl-1', 'W', 'wl-q');
CREATE TEMP TABLE wl_tok AS SELECT task_token FROM durable.poll_workflow_tasks('wl-q', 'tester', 1);
SELECT is((SELECT to_jsonb(t) FROM durable._lock_workflow_task((SELECT task_token FROM wl_tok)) t),
          (SELECT to_jsonb(t) FROM pg_temp.lock_workflow_task_plpgsql((SELECT task_token FROM wl_tok)) t),
          '_lock_workflow_task gives the row the plpgsql gave');
SELECT is(pg_temp.error_of(format('SELECT durable._lock_workflow_task(%L)', tk)),
          pg_temp.error_of(format('SELECT pg_temp.lock_workflow_task_plpgsql(%L)', tk)),
          '_lock_workflow_task refuses as the plpgsql did: ' || coalesce(tk, 'NULL'))
  FROM unnest(ARRAY[NULL, '', 'w', 'a1.1', 'w1', 'w1.', 'w-1.1', 'w987654321.1', 'w1234567890123456789.1',
                    (SELECT task_token FROM wl_tok) || '0', replace((SELECT task_token FROM wl_tok), '.', '.9')]) tk;
SELECT ok(pg_temp.error_of(format('SELECT durable._lock_workflow_task(%L)', tk)) IS NOT NULL, 'and refuses: ' || coalesce(tk, 'NULL'))
  FROM unnest(ARRAY[NULL, 'a1.1', 'w987654321.1']) tk;
SELECT durable.complete_workflow_task((SELECT task_token FROM wl_tok), '[]');
SELECT is(pg_temp.error_of(format('SELECT durable._lock_workflow_task(%L)', (SELECT task_token FROM wl_tok))),
          pg_temp.error_of(format('SELECT pg_temp.lock_workflow_task_plpgsql(%L)', (SELECT task_token FROM wl_tok))),
          '_lock_workflow_task: a completed task''s token is refused as before');
SELECT durable.signal_workflow('wl-1', 's');
SELECT is(pg_temp.error_of(format('SELECT durable._lock_workflow_task(%L)',
                                  (SELECT 'w' || task_id || '.0' FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id)
                                    WHERE w.workflow_id = 'wl-1'))),
          pg_temp.error_of(format('SELECT pg_temp.lock_workflow_task_plpgsql(%L)',
                                  (SELECT 'w' || task_id || '.0' FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id)
                                    WHERE w.workflow_id = 'wl-1'))),
          '_lock_workflow_task: a task not started is refused as before');

-- 4. The task's delete (workflow_complete.c, delete_task) -----------------------------------
-- Written directly where that is what the statement would do; by the
-- statement wherever it does more: an operator's trigger of DELETE (of each
-- row, before or after, of each statement, with a transition table) fires
-- as it did, and one that skips the row keeps it.
CREATE FUNCTION pg_temp.started(wid text) RETURNS text LANGUAGE sql AS $$
    SELECT durable.start_workflow(wid, 'W', wid);
    SELECT p.task_token FROM durable.poll_workflow_tasks(wid, 'tester', 1) p
$$;
CREATE FUNCTION pg_temp.tasks_of(wid text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = wid
$$;
CREATE FUNCTION pg_temp.complete_started(wid text) RETURNS void LANGUAGE sql AS $$
    SELECT durable.complete_workflow_task(pg_temp.started(wid),
                                          '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 5}]')
$$;
CREATE TEMP TABLE deleted (how text, task_id bigint, n integer);
CREATE FUNCTION pg_temp.record_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pg_temp.deleted VALUES (TG_ARGV[0], CASE WHEN TG_LEVEL = 'ROW' THEN OLD.task_id END);
    RETURN CASE WHEN TG_ARGV[0] = 'skip' THEN NULL ELSE OLD END;
END
$$;
CREATE FUNCTION pg_temp.record_old_table() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pg_temp.deleted SELECT 'old table', max(o.task_id), count(*) FROM old o;
    RETURN NULL;
END
$$;
CREATE FUNCTION pg_temp.task_id_of(token text) RETURNS bigint LANGUAGE sql AS $$
    SELECT split_part(substr(token, 2), '.', 1)::bigint
$$;

-- Which path deleted: the statement's plan, kept by the C once it first
-- runs it (DurableRunStatement), is a CachedPlanSource named by its text
-- in this backend's memory contexts; the direct delete prepares nothing.
-- (Nothing else tells them apart from SQL: heap_delete counts the tuple
-- and the key's probe counts an index scan on both paths.)
CREATE FUNCTION pg_temp.delete_statement_prepared() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM pg_backend_memory_contexts
     WHERE name = 'CachedPlanSource' AND ident = 'DELETE FROM durable.workflow_tasks wt WHERE wt.task_id = $1'
$$;
SELECT pg_temp.complete_started('wd-1');
SELECT is(pg_temp.tasks_of('wd-1'), 0::bigint, 'the completed task is deleted (directly)');
SELECT is(pg_temp.delete_statement_prepared(), 0::bigint, 'directly: the task''s DELETE statement never ran in this session');

CREATE TRIGGER operator_delete AFTER DELETE ON durable.workflow_tasks
    FOR EACH ROW EXECUTE FUNCTION pg_temp.record_delete('row');
CREATE TEMP TABLE wd_tok AS SELECT pg_temp.started('wd-2') AS tok;
SELECT durable.complete_workflow_task((SELECT tok FROM wd_tok), '[]');
SELECT is(pg_temp.tasks_of('wd-2'), 0::bigint, 'an operator''s trigger of DELETE: the task deleted');
SELECT is((SELECT array_agg(task_id) FROM deleted WHERE how = 'row'),
          ARRAY[pg_temp.task_id_of((SELECT tok FROM wd_tok))], 'by the statement: the trigger saw it');
SELECT is(pg_temp.delete_statement_prepared(), 1::bigint, 'and the statement''s plan is there now');
DROP TRIGGER operator_delete ON durable.workflow_tasks;

CREATE TRIGGER operator_skip BEFORE DELETE ON durable.workflow_tasks
    FOR EACH ROW EXECUTE FUNCTION pg_temp.record_delete('skip');
SELECT pg_temp.complete_started('wd-3');
SELECT is(pg_temp.tasks_of('wd-3'), 1::bigint, 'a BEFORE trigger that skips the row keeps the task, as the statement did');
SELECT is((SELECT count(*) FROM deleted WHERE how = 'skip'), 1::bigint, 'the BEFORE trigger fired once');
DROP TRIGGER operator_skip ON durable.workflow_tasks;
SELECT pg_temp.complete_started('wd-4');
SELECT is(pg_temp.tasks_of('wd-4'), 0::bigint, 'the trigger dropped: deleted again (in the same session)');

CREATE TRIGGER operator_statement AFTER DELETE ON durable.workflow_tasks
    FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.record_delete('statement');
SELECT pg_temp.complete_started('wd-5');
SELECT is((SELECT count(*) FROM deleted WHERE how = 'statement'), 1::bigint, 'a statement trigger of DELETE fires');
DROP TRIGGER operator_statement ON durable.workflow_tasks;

CREATE TRIGGER operator_old_table AFTER DELETE ON durable.workflow_tasks REFERENCING OLD TABLE AS old
    FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.record_old_table();
TRUNCATE deleted;
CREATE TEMP TABLE wd_tok6 AS SELECT pg_temp.started('wd-6') AS tok;
SELECT durable.complete_workflow_task((SELECT tok FROM wd_tok6), '[]');
SELECT is((SELECT jsonb_agg(jsonb_build_array(task_id, n)) FROM deleted WHERE how = 'old table'),
          jsonb_build_array(jsonb_build_array(pg_temp.task_id_of((SELECT tok FROM wd_tok6)), 1)),
          'a transition table of DELETE holds the task');
DROP TRIGGER operator_old_table ON durable.workflow_tasks;

CREATE TRIGGER operator_disabled AFTER DELETE ON durable.workflow_tasks
    FOR EACH ROW EXECUTE FUNCTION pg_temp.record_delete('disabled');
ALTER TABLE durable.workflow_tasks DISABLE TRIGGER operator_disabled;
SELECT pg_temp.complete_started('wd-7');
SELECT is(pg_temp.tasks_of('wd-7'), 0::bigint, 'a disabled trigger: deleted');
SELECT is((SELECT count(*) FROM deleted WHERE how = 'disabled'), 0::bigint, 'and the disabled trigger did not fire');
DROP TRIGGER operator_disabled ON durable.workflow_tasks;

-- 5. The close (workflow_complete.c, close_completed) ---------------------------------------
-- A child's close tells its parent, as _close_run did (its close is
-- _close_run's own); an operator's trigger of UPDATE on the run's row sees
-- the close, by the statement, as before.
CREATE FUNCTION pg_temp.child_twins(wid text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    got jsonb := '{}';
    w text;
    tok text;
    path text;
BEGIN
    FOREACH path IN ARRAY ARRAY['c', 'p'] LOOP
        w := wid || '-' || path;
        PERFORM durable.start_workflow(w, 'W', w);
        PERFORM durable.complete_workflow_task((SELECT p.task_token FROM durable.poll_workflow_tasks(w, 'tester', 1) p),
            format('[{"type": "StartChildWorkflowExecution", "workflow_id": "%s-kid", "workflow_type": "K",
                      "task_queue": "%s-kq"}]', w, w)::jsonb);
        tok := (SELECT p.task_token FROM durable.poll_workflow_tasks(w || '-kq', 'tester', 1) p);
        got := got || jsonb_build_object(path, jsonb_build_object(
            'error', pg_temp.error_of(format(CASE path WHEN 'c' THEN 'SELECT durable.complete_workflow_task(%L, %L)'
                                                       ELSE 'SELECT pg_temp.complete_workflow_task_plpgsql(%L, %L)' END,
                                             tok, '[{"type": "CompleteWorkflowExecution", "result": 7}]')),
            'wrote', pg_temp.wrote(w)));
    END LOOP;
    RETURN jsonb_build_object('error', got -> 'c' -> 'error', 'same', got -> 'c' -> 'wrote' = got -> 'p' -> 'wrote',
                              'parent', jsonb_path_query_array(got -> 'c' -> 'wrote', '$.history[*][1]'));
END
$$;
CREATE TEMP TABLE child_got AS SELECT pg_temp.child_twins('wcc') AS g;
SELECT is((SELECT g -> 'error' FROM child_got), 'null', 'a child completes');
SELECT is((SELECT g -> 'same' FROM child_got), 'true', 'a child''s close: the same written (parent and child)');
SELECT ok((SELECT g -> 'parent' FROM child_got) @> '["ChildWorkflowExecutionCompleted"]',
          'the parent heard of its child''s close');

-- Which close ran: _close_run is called (counted by track_functions) for
-- a child's close and never for the common one, which the C writes itself.
SET LOCAL track_functions = 'all';
CREATE FUNCTION pg_temp.close_run_calls() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce((SELECT sum(calls) FROM pg_stat_xact_user_functions
                      WHERE schemaname = 'durable' AND funcname = '_close_run'), 0)::bigint
$$;
CREATE TEMP TABLE close_calls AS SELECT pg_temp.close_run_calls() AS n;
SELECT durable.complete_workflow_task(pg_temp.started('wcn-common'), '[{"type": "CompleteWorkflowExecution", "result": 1}]');
SELECT is((SELECT status FROM durable.workflows WHERE workflow_id = 'wcn-common'), 'COMPLETED', 'a common close');
SELECT is(pg_temp.close_run_calls() - (SELECT n FROM close_calls), 0::bigint, 'written by the C: _close_run not called');
SELECT durable.start_workflow('wcn-parent', 'W', 'wcn-parent');
SELECT durable.complete_workflow_task((SELECT p.task_token FROM durable.poll_workflow_tasks('wcn-parent', 'tester', 1) p),
    '[{"type": "StartChildWorkflowExecution", "workflow_id": "wcn-kid", "workflow_type": "K", "task_queue": "wcn-kq"}]');
UPDATE close_calls SET n = pg_temp.close_run_calls();
SELECT durable.complete_workflow_task((SELECT p.task_token FROM durable.poll_workflow_tasks('wcn-kq', 'tester', 1) p),
    '[{"type": "CompleteWorkflowExecution", "result": 2}]');
SELECT is((SELECT status FROM durable.workflows WHERE workflow_id = 'wcn-kid'), 'COMPLETED', 'a child''s close');
SELECT is(pg_temp.close_run_calls() - (SELECT n FROM close_calls), 1::bigint, 'is _close_run''s own: called once');

CREATE TEMP TABLE closes_seen (status text);
CREATE FUNCTION pg_temp.see_close() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pg_temp.closes_seen VALUES (NEW.status);
    RETURN NEW;
END
$$;
CREATE TRIGGER operator_close AFTER UPDATE OF status ON durable.workflows
    FOR EACH ROW EXECUTE FUNCTION pg_temp.see_close();
SELECT is(pg_temp.twins('wc-trig', '[{"type": "CompleteWorkflowExecution", "result": 3}]') - 'error',
          '{"same": true, "same_error": true}', 'an operator''s trigger of UPDATE: the same close');
SELECT is((SELECT array_agg(status) FROM closes_seen), ARRAY['COMPLETED', 'COMPLETED'],
          'and the trigger saw it on both paths');
DROP TRIGGER operator_close ON durable.workflows;

-- An operator's trigger firing in the close (on the run's row, by the
-- statement) that adds a row a close deletes: _close_run asks which tables
-- hold rows of the run after the update, and deletes it; so does the C.
CREATE FUNCTION pg_temp.add_timer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO durable.timers (run_id, timer_id, started_event_id, fire_at)
    VALUES (NEW.run_id, 'operator''s', 0, now() + interval '1 hour');
    RETURN NEW;
END
$$;
CREATE TRIGGER operator_timer AFTER UPDATE OF status ON durable.workflows
    FOR EACH ROW WHEN (NEW.status = 'COMPLETED') EXECUTE FUNCTION pg_temp.add_timer();
SELECT is(pg_temp.twins('wc-timer', '[{"type": "CompleteWorkflowExecution", "result": 4}]') - 'error',
          '{"same": true, "same_error": true}', 'a trigger adding a timer in the close: deleted on both paths');
SELECT is((SELECT count(*) FROM durable.timers t JOIN durable.workflows w USING (run_id)
            WHERE w.workflow_id LIKE 'wc-timer%'), 0::bigint, 'no timer left');
DROP TRIGGER operator_timer ON durable.workflows;

SELECT * FROM finish();
ROLLBACK;
