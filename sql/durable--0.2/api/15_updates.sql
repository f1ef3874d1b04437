-- Workflow Update (Temporal's): a validated request into a running workflow
-- that returns the handler's result. The caller's update goes to a worker as
-- a query of the reserved type '__update' (so with no worker it fails as a
-- query does); the worker replays the run and runs the update's validator.
-- A rejected update is answered as such and leaves no trace; an accepted one
-- is recorded by the worker (accept_update_task: WorkflowExecutionUpdateAccepted,
-- buffered like a signal while a workflow task runs), the workflow's code
-- handles it (it may run activities, sleep, wait for signals) and completes
-- it with the CompleteWorkflowUpdate command (WorkflowExecutionUpdateCompleted).
-- The caller waits for that event; a call with an update id already accepted
-- in the run waits for (or returns) the first call's result instead of
-- running the update again.

-- The accepted event of an update id in a run, from the history or still
-- buffered behind a running workflow task.
CREATE OR REPLACE FUNCTION durable._update_accepted(run uuid, update_id text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM durable.history h
                    WHERE h.run_id = $1 AND h.event_type = 'WorkflowExecutionUpdateAccepted'
                      AND h.attributes ->> 'update_id' = $2)
        OR EXISTS (SELECT 1 FROM durable.buffered_events b
                    WHERE b.run_id = $1 AND b.event_type = 'WorkflowExecutionUpdateAccepted'
                      AND b.attributes ->> 'update_id' = $2)
$$;

CREATE OR REPLACE FUNCTION durable.update_workflow(workflow_id text, update_name text, args jsonb DEFAULT NULL,
                                        update_id text DEFAULT NULL, timeout_ms integer DEFAULT 10000,
                                        run_id uuid DEFAULT NULL, namespace text DEFAULT 'default',
                                        identity text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    w durable.workflows;
    uid text := coalesce(update_id, gen_random_uuid()::text);
    deadline timestamptz := clock_timestamp() + make_interval(secs => coalesce(timeout_ms, 0) / 1000.0);
    verdict jsonb;
    done jsonb;
    run_status text;
BEGIN
    PERFORM durable._authorize('operator', NULL, namespace);
    IF coalesce(update_name, '') = '' THEN
        PERFORM durable._bad_input('update_name must be non-empty');
    END IF;
    PERFORM durable._check_name(update_name, 'update_name');
    PERFORM durable._check_name(uid, 'update_id');
    PERFORM durable._check_name(identity, 'identity');
    PERFORM durable._check_payload(args, 'update args');
    IF uid = '' THEN
        PERFORM durable._bad_input('update_id must be non-empty', NULL, 'Pass NULL for a fresh one.');
    END IF;
    IF timeout_ms IS NULL OR timeout_ms < 1 OR timeout_ms > 600000 THEN
        PERFORM durable._bad_input('timeout_ms must be between 1 and 600000', format('Got %s.', coalesce(timeout_ms::text, 'NULL')),
            'An update waits at most ten minutes for its result.');
    END IF;
    -- The caller waits for the worker's commits: each statement must see them.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'update_workflow needs READ COMMITTED'
            USING ERRCODE = 'invalid_transaction_state',
                  DETAIL = format('The transaction is %s: it would never see the update complete.',
                                  upper(current_setting('transaction_isolation'))),
                  HINT = 'Call it outside an explicit REPEATABLE READ or SERIALIZABLE transaction.';
    END IF;
    -- No lock is held while waiting: the worker must lock the run to record.
    SELECT * INTO w FROM durable.workflows wf WHERE wf.run_id = durable._resolve_run(namespace, workflow_id, run_id);
    IF NOT durable._update_accepted(w.run_id, uid) THEN
        IF w.status <> 'RUNNING' THEN
            PERFORM durable._workflow_not_running(w);
        END IF;
        verdict := durable._query_post(durable._query_queue_of(w), w.namespace, w.workflow_id, w.run_id::text,
                                       '__update', jsonb_build_object('update_id', uid, 'name', update_name,
                                           'args', args, 'identity', coalesce(identity, session_user::text))::text,
                                       timeout_ms)::jsonb;
        IF NOT coalesce((verdict ->> 'accepted')::boolean, false) THEN
            RAISE EXCEPTION 'update "%" rejected by workflow "%"', update_name, w.workflow_id
                USING ERRCODE = 'DU008',
                      DETAIL = coalesce(verdict ->> 'reason', 'The worker gave no reason.'),
                      HINT = 'Nothing was recorded: fix the arguments or the state and call again.';
        END IF;
    END IF;
    LOOP
        SELECT h.attributes INTO done FROM durable.history h
         WHERE h.run_id = w.run_id AND h.event_type = 'WorkflowExecutionUpdateCompleted'
           AND h.attributes ->> 'update_id' = uid;
        IF FOUND THEN
            IF done ? 'failure' AND jsonb_typeof(done -> 'failure') = 'object' THEN
                RAISE EXCEPTION 'update "%" failed in workflow "%"', update_name, w.workflow_id
                    USING ERRCODE = 'DU009',
                          DETAIL = coalesce(done -> 'failure' ->> 'message', (done -> 'failure')::text),
                          HINT = 'The workflow failed the update; its history has the failure.';
            END IF;
            RETURN done -> 'result';
        END IF;
        SELECT wf.status INTO run_status FROM durable.workflows wf WHERE wf.run_id = w.run_id;
        IF run_status IS DISTINCT FROM 'RUNNING' THEN
            RAISE EXCEPTION 'workflow "%" closed before update "%" completed', w.workflow_id, uid
                USING ERRCODE = 'DU003',
                      DETAIL = format('Run %s closed as %s.', w.run_id, run_status),
                      HINT = 'A workflow completes the updates it accepted before it returns.';
        END IF;
        IF clock_timestamp() >= deadline THEN
            RAISE EXCEPTION 'update "%" accepted but not completed within % ms', uid, timeout_ms
                USING ERRCODE = 'DU010',
                      DETAIL = format('Workflow "%s" accepted it; its result is not recorded yet.', w.workflow_id),
                      HINT = 'Call again with the same update_id to wait for the same result; it will not run twice.';
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
END
$$;
COMMENT ON FUNCTION durable.update_workflow(text, text, jsonb, text, integer, uuid, text, text) IS
'Sends an update to a running workflow and waits up to timeout_ms for its result: DU008 when the workflow''s validator rejects it (nothing recorded), DU009 when the handler fails it, DU010 when accepted but not completed in time (call again with the same update_id), DU005 when no worker answers.';

-- The worker accepts an update its validator passed: the event is recorded
-- (once per update id) and the caller waiting with query_token is told.
CREATE OR REPLACE FUNCTION durable.accept_update_task(query_token text, run_id uuid, update_id text,
                                           update_name text, args jsonb DEFAULT NULL, identity text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    w durable.workflows;
BEGIN
    IF query_token IS NULL OR run_id IS NULL OR coalesce(update_id, '') = '' OR coalesce(update_name, '') = '' THEN
        PERFORM durable._bad_input('query_token, run_id, update_id and update_name are required', NULL,
            'Pass what poll_query_tasks gave with the __update query.');
    END IF;
    PERFORM durable._check_name(update_name, 'update_name');
    PERFORM durable._check_name(update_id, 'update_id');
    PERFORM durable._check_name(identity, 'identity');
    PERFORM durable._check_payload(args, 'update args');
    SELECT * INTO w FROM durable.workflows wf WHERE wf.run_id = accept_update_task.run_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM durable._workflow_not_found(NULL, NULL, run_id);
    END IF;
    PERFORM durable._authorize('worker', w.task_queue, w.namespace);
    IF w.status <> 'RUNNING' THEN
        PERFORM durable._workflow_not_running(w);
    END IF;
    IF NOT durable._update_accepted(w.run_id, update_id) THEN
        PERFORM durable._deliver(w.run_id, 'WorkflowExecutionUpdateAccepted', jsonb_build_object(
            'update_id', update_id, 'update_name', update_name, 'input', args,
            'identity', coalesce(identity, session_user::text)));
    END IF;
    -- Last: only a token handed out for this query answers it; any other
    -- rolls the event back with DU004.
    PERFORM durable.answer_query_task(query_token, '{"accepted": true}'::jsonb);
END
$$;
COMMENT ON FUNCTION durable.accept_update_task(text, uuid, text, text, jsonb, text) IS
'Records an update the worker''s validator accepted (WorkflowExecutionUpdateAccepted, once per update id) and answers the waiting caller; DU004 for a token nobody waits on.';

-- CompleteWorkflowUpdate {update_id, result} or {update_id, failure}.
CREATE OR REPLACE FUNCTION durable._cmd_complete_update(w durable.workflows, cmd jsonb, completed bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    what text := 'CompleteWorkflowUpdate';
    uid text := durable._json_text(cmd, 'update_id', what, true);
    accepted bigint;
BEGIN
    PERFORM durable._check_keys(cmd, ARRAY['type', 'update_id', 'result', 'failure'], what);
    PERFORM durable._check_payload(cmd -> 'result', 'update result');
    PERFORM durable._check_payload(cmd -> 'failure', 'update failure');
    IF cmd -> 'failure' IS NOT NULL AND jsonb_typeof(cmd -> 'failure') NOT IN ('object', 'null') THEN
        PERFORM durable._bad_input('CompleteWorkflowUpdate needs "failure" as a JSON object',
            format('Got %s.', (cmd -> 'failure')::text), 'E.g. {"message": "...", "type": "..."}.');
    END IF;
    SELECT h.event_id INTO accepted FROM durable.history h
     WHERE h.run_id = w.run_id AND h.event_type = 'WorkflowExecutionUpdateAccepted' AND h.attributes ->> 'update_id' = uid;
    IF accepted IS NULL THEN
        PERFORM durable._bad_input(format('CompleteWorkflowUpdate: update %L was not accepted in this run', uid), NULL,
            'Complete only updates the workflow received.');
    END IF;
    IF EXISTS (SELECT 1 FROM durable.history h
                WHERE h.run_id = w.run_id AND h.event_type = 'WorkflowExecutionUpdateCompleted'
                  AND h.attributes ->> 'update_id' = uid) THEN
        PERFORM durable._bad_input(format('CompleteWorkflowUpdate: update %L is completed already', uid));
    END IF;
    PERFORM durable._append(w.run_id, 'WorkflowExecutionUpdateCompleted', jsonb_build_object(
        'update_id', uid, 'accepted_event_id', accepted, 'workflow_task_completed_event_id', completed)
        || CASE WHEN jsonb_typeof(cmd -> 'failure') = 'object' THEN jsonb_build_object('failure', cmd -> 'failure')
                ELSE jsonb_build_object('result', coalesce(cmd -> 'result', 'null'::jsonb)) END);
END
$$;
