-- Closing a run: the one place that ends a workflow, whatever ended it
-- (its own command, termination, a timeout, continue-as-new). It removes
-- everything pending, applies the parent close policy to running children,
-- and tells the parent.

CREATE OR REPLACE FUNCTION durable._request_cancel(run uuid, reason text, identity text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    already boolean;
BEGIN
    SELECT cancel_requested INTO already FROM durable.workflows WHERE run_id = run;
    IF already THEN
        RETURN false;
    END IF;
    UPDATE durable.workflows SET cancel_requested = true WHERE run_id = run;
    PERFORM durable._deliver(run, 'WorkflowExecutionCancelRequested',
                             jsonb_build_object('cause', reason, 'identity', identity));
    RETURN true;
END
$$;

CREATE OR REPLACE FUNCTION durable._notify_parent(child durable.workflows, status text, result jsonb, failure jsonb, attributes jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    parent_status text;
    event_type text;
    attrs jsonb;
BEGIN
    SELECT w.status INTO parent_status FROM durable.workflows w WHERE w.run_id = child.parent_run_id FOR UPDATE;
    IF parent_status IS DISTINCT FROM 'RUNNING' THEN
        RETURN;
    END IF;
    attrs := jsonb_build_object('workflow_id', child.workflow_id, 'run_id', child.run_id,
                                'workflow_type', child.workflow_type,
                                'initiated_event_id', child.parent_initiated_event_id);
    CASE status
        WHEN 'COMPLETED' THEN
            event_type := 'ChildWorkflowExecutionCompleted';
            attrs := attrs || jsonb_build_object('result', result);
        WHEN 'FAILED' THEN
            event_type := 'ChildWorkflowExecutionFailed';
            attrs := attrs || jsonb_build_object('failure', failure);
        WHEN 'CANCELED' THEN
            event_type := 'ChildWorkflowExecutionCanceled';
            attrs := attrs || jsonb_build_object('details', attributes -> 'details');
        WHEN 'TERMINATED' THEN
            event_type := 'ChildWorkflowExecutionTerminated';
            attrs := attrs || jsonb_build_object('reason', attributes -> 'reason');
        WHEN 'TIMED_OUT' THEN
            event_type := 'ChildWorkflowExecutionTimedOut';
    END CASE;
    PERFORM durable._deliver(child.parent_run_id, event_type, attrs);
END
$$;

CREATE OR REPLACE FUNCTION durable._close_run(run uuid, status text, event_type text, attributes jsonb,
                                   result jsonb DEFAULT NULL, failure jsonb DEFAULT NULL,
                                   new_run_id uuid DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    w durable.workflows;
    child record;
    event_id bigint;
    retry_state text;
    backoff interval;
    closed timestamptz;
    pending integer;   -- durable._run_rows: which tables hold rows of the run
BEGIN
    w := durable._workflow_row(run);   -- (by its key, no statement: api/85_row_by_key.sql)
    -- a workflow retry policy may turn this close into the next attempt (16_workflow_retry.sql)
    IF w.retry_policy IS NOT NULL AND status IN ('FAILED', 'TIMED_OUT') THEN
        SELECT r.retry_state, r.backoff INTO retry_state, backoff
          FROM durable._workflow_retry(w, status, failure, attributes) r;
        new_run_id := CASE WHEN backoff IS NOT NULL THEN durable._new_run_id() END;
        attributes := attributes || jsonb_build_object('retry_state', retry_state)
            || CASE WHEN new_run_id IS NOT NULL THEN jsonb_build_object('new_execution_run_id', new_run_id) ELSE '{}' END;
    END IF;
    -- the close event's time, exactly: the namespace's clock, read the internal
    -- way (durable.now(text) is the SECURITY DEFINER entry point)
    closed := durable._now(w.namespace);
    event_id := durable._append_at(run, event_type, attributes, closed);
    -- written directly, or by the statement where that must (api/84_close_update.sql)
    IF NOT durable._close_update(run, status, closed, result, failure, new_run_id) THEN
        UPDATE durable.workflows wf
           SET status = _close_run.status, closed_at = closed, result = _close_run.result,
               failure = _close_run.failure, deadline_at = NULL, new_run_id = _close_run.new_run_id
         WHERE wf.run_id = run;
    END IF;
    -- Only the statements with rows to act on: most closes have none left
    -- (one index probe per table, api/83_run_rows.sql, against a statement each).
    pending := durable._run_rows(run);
    IF pending & 1 <> 0 THEN
        DELETE FROM durable.workflow_tasks t WHERE t.run_id = run;
    END IF;
    IF pending & 2 <> 0 THEN
        DELETE FROM durable.activity_tasks a WHERE a.run_id = run;
    END IF;
    IF pending & 4 <> 0 THEN
        DELETE FROM durable.timers t WHERE t.run_id = run;
    END IF;
    IF pending & 8 <> 0 THEN
        DELETE FROM durable.buffered_events b WHERE b.run_id = run;
    END IF;
    IF pending & 16 <> 0 THEN
        DELETE FROM durable.workflow_pauses p WHERE p.run_id = run;
    END IF;
    IF pending & 32 <> 0 THEN
        DELETE FROM durable.activity_pauses p WHERE p.run_id = run;
    END IF;

    IF pending & 64 <> 0 THEN
        FOR child IN SELECT c.run_id, c.parent_close_policy FROM durable.workflows c
                      WHERE c.parent_run_id = run AND c.status = 'RUNNING'
                      ORDER BY c.run_id FOR UPDATE LOOP
            IF child.parent_close_policy = 'TERMINATE' THEN
                PERFORM durable._close_run(child.run_id, 'TERMINATED', 'WorkflowExecutionTerminated',
                    jsonb_build_object('reason', 'parent closed (parent close policy TERMINATE)',
                                       'identity', 'durable'));
            ELSIF child.parent_close_policy = 'REQUEST_CANCEL' THEN
                PERFORM durable._request_cancel(child.run_id, 'parent closed (parent close policy REQUEST_CANCEL)', 'durable');
            END IF;
        END LOOP;
    END IF;

    IF backoff IS NOT NULL THEN
        -- the next attempt keeps the parent and the schedule: they hear of its close
        PERFORM durable._retry_run(w, new_run_id, backoff);
        RETURN event_id;
    END IF;
    IF status <> 'CONTINUED_AS_NEW' AND w.parent_run_id IS NOT NULL THEN
        PERFORM durable._notify_parent(w, status, result, failure, attributes);
    END IF;
    IF w.search_attributes ? 'DurableScheduledById' THEN
        PERFORM durable._schedule_run_closed(w.namespace, w.search_attributes ->> 'DurableScheduledById', run);
    END IF;
    RETURN event_id;
END
$$;
