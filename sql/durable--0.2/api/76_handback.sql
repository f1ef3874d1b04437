-- Hand-back: the next workflow tasks leased with an activity completion.
-- Each activity outcome a worker sends usually schedules a workflow task
-- for its run; without this, that task is committed SCHEDULED, announced,
-- and leased by the worker's next poll, in a transaction of its own. A
-- worker that completes activities and also polls the runs' workflow task
-- queue sends that queue and its free workflow slots with the outcomes:
-- after they are delivered, a poll of that queue, made in the same
-- transaction with those slots (and the worker's run cache and build id),
-- leases what it would lease at that moment, and the tasks come back with
-- the outcome rows, as poll_workflow_tasks returns them. The worker runs
-- them at once: no commit, notification and poll between the activity's
-- end and the workflow's next step.
--
-- The lease is poll_workflow_tasks' own, so nothing tells it from a polled
-- one: its fence and token, its timeout, its WorkflowTaskStarted event
-- (written after every outcome of the batch, with the worker's identity
-- and build id), the poller's record, the history sent (only the events
-- after those the worker holds), and every gate of a poll: a paused run's
-- task is not ready, a task of a higher priority or an earlier pass comes
-- first, a versioned queue gives a run's task only to its build
-- (api/60_build_ids.sql), and the caller must be granted the queue. A task
-- the poll does not take stays ready, announced, for any poller. The poll
-- runs only where the queue has a ready task, and takes at most the slots
-- offered. Tasks it leases are not announced (their NOTIFY would wake the
-- queue's pollers for nothing).


-- The workflow tasks the outcomes schedule on the hand-back's queue are
-- inserted at its end, not as each outcome schedules one: by then the
-- poll's gates can be decided, and a task the poll would take is inserted
-- already leased to the worker (STARTED, fence 1, its WorkflowTaskStarted
-- appended after every outcome of the batch), as the eager activities are
-- (api/72_eager.sql): no ready-index entries, no lease update, no second
-- entry in the task's primary key and run key. A task inserted SCHEDULED
-- and leased in the same transaction wrote both (docs/performance.md,
-- "Tasks inserted leased").
--
-- Until then the task is kept in backend memory (pgext/src/handback.c):
-- the run, its WorkflowTaskScheduled's id and the time it was scheduled,
-- in a list the hand-back opens (_handback_open) and closes, taking what it
-- holds (_handback_close). The list ends with the transaction, and a
-- savepoint's rollback takes back what was deferred under it, as it does
-- the event. _handback_defer appends the WorkflowTaskScheduled as
-- _schedule_workflow_task appends it, at the same point of the history. The
-- list alone defers nothing: _schedule_workflow_task asks only for a queue
-- the hand-back armed (pgext/src/eager.c), and no session can open a list
-- or arm a queue itself. (It was a transaction-local text setting, parsed,
-- searched and written again per outcome: docs/performance.md, "The
-- worker's calls in the server".)
--
-- A run whose task is deferred has no task row until the end; within the
-- batch only another outcome of the same run looks for one (a batch takes
-- a run's outcomes together), finds none, and schedules again: it is
-- answered as a ready task is by those callers (_deliver,
-- _complete_activity_result): with the queue's notification, no event.
CREATE OR REPLACE FUNCTION durable._handback_open() RETURNS void
    AS 'MODULE_PATHNAME', 'durable_handback_open' LANGUAGE C VOLATILE;
CREATE OR REPLACE FUNCTION durable._handback_close(OUT runs uuid[], OUT scheduled bigint[],
                                                  OUT scheduled_at timestamptz[])
    AS 'MODULE_PATHNAME', 'durable_handback_close' LANGUAGE C VOLATILE;
-- false when no hand-back is under way (nothing done)
CREATE OR REPLACE FUNCTION durable._handback_defer(run uuid, namespace text, task_queue text, task_timeout interval)
    RETURNS boolean AS 'MODULE_PATHNAME', 'durable_handback_defer' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION durable._handback_defer(uuid, text, text, interval) IS
    'Schedules a run''s workflow task for the hand-back''s end, when a hand-back of its queue is under way (internal: _schedule_workflow_task, api/76_handback.sql).';
COMMENT ON FUNCTION durable._handback_open() IS
    'Starts the list of the workflow tasks a hand-back defers to its end (internal: pgext/src/handback.c).';
COMMENT ON FUNCTION durable._handback_close() IS
    'The workflow tasks the hand-back deferred, in order, and the end of the list (internal: pgext/src/handback.c).';

-- The hand-back's end: the deferred tasks (runs, scheduled, scheduled_at: _handback_close's), leased to
-- the worker where its poll, made now, would take every one of them, with
-- what that poll returns; otherwise inserted SCHEDULED, in the order they
-- were scheduled, as _schedule_workflow_task inserts them, for the poll
-- that follows. A poll takes them all when nothing else of the queue is
-- ready (no task of a higher priority or an earlier pass comes first), the
-- slots cover them, none of their runs is paused, and a versioned queue
-- gives each to this build (api/60_build_ids.sql); the caller's grant on
-- the queue was checked before any outcome. They are taken in the poll's
-- order (priority, pass, task id), each with the pass it would have had in
-- the queue (api/41_priority.sql, with only these tasks ready: a key's
-- next is 1 / weight after its last, a key's first at the head of its
-- priority, 0 in an empty queue) and the task id it would have got when
-- scheduled; the poller is recorded and the deadline announced to the
-- timer worker, as by the poll.
-- In C (pgext/src/handback_take.c).
CREATE OR REPLACE FUNCTION durable._handback_take(runs uuid[], scheduled bigint[], scheduled_at timestamptz[],
                                                 namespace text, task_queue text, identity text,
                                                 slots integer, cached jsonb, build_id text, sticky text)
RETURNS TABLE (task_token text, workflow_id text, run_id uuid, workflow_type text,
               attempt integer, started_event_id bigint, history jsonb)
    AS 'MODULE_PATHNAME', 'durable_handback_take' LANGUAGE C VOLATILE;

CREATE OR REPLACE FUNCTION durable.complete_activity_tasks_eager(
    outcomes jsonb, identity text, workflow_task_queue text, max_workflow_tasks integer,
    namespace text DEFAULT 'default', cached jsonb DEFAULT NULL, build_id text DEFAULT NULL,
    sticky text DEFAULT NULL)
RETURNS TABLE (kind text, task_token text, outcome text, error text, workflow_id text, run_id uuid,
               workflow_type text, attempt integer, started_event_id bigint, history jsonb)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    deferred record;      -- the workflow tasks the outcomes scheduled (_handback_close)
    taken integer := 0;   -- workflow tasks _handback_take leased
BEGIN
    -- every argument is checked before any outcome is delivered: bad input
    -- changes nothing
    PERFORM durable._check_offer(max_workflow_tasks, 'max_workflow_tasks',
        'Pass the workflow tasks the worker can take now; 0 completes without taking any.',
        workflow_task_queue, identity, namespace);
    PERFORM durable._check_cached(cached);
    PERFORM durable._check_build_id(build_id);
    IF sticky IS NOT NULL THEN
        sticky := durable._check_name(sticky, 'sticky');
    END IF;
    -- (as complete_activity_tasks would, but before the mark below is set)
    IF outcomes IS NULL OR jsonb_typeof(outcomes) <> 'array' THEN
        PERFORM durable._bad_input('outcomes must be a JSON array',
            NULL, 'Pass e.g. ''[{"task_token": "a1.1", "result": 42}]''.');
    END IF;
    IF max_workflow_tasks = 0 THEN
        RETURN QUERY
        SELECT 'activity_task', c.task_token, c.outcome, c.error, NULL::text, NULL::uuid, NULL::text,
               NULL::integer, NULL::bigint, NULL::jsonb
          FROM durable.complete_activity_tasks(outcomes, complete_activity_tasks_eager.identity) c;
        RETURN;
    END IF;
    -- The workflow tasks the outcomes schedule on the queue are announced
    -- (NOTIFY) at the end, and only if some stay ready: a notification of
    -- tasks this transaction leases would only send the queue's pollers,
    -- this worker's included, to find nothing. The mark is the eager one
    -- (pgext/src/eager.c), under a key no activity queue has (a namespace
    -- has no "/"), so that nothing but this function can set it.
    -- It is cleared below, or, if the call fails inside a savepoint the
    -- caller rolls back to, with that savepoint (eager.c).
    PERFORM durable._eager_arm(namespace || '/workflow' || E'\x1f' || workflow_task_queue);
    PERFORM durable._handback_open();
    RETURN QUERY
    SELECT 'activity_task', c.task_token, c.outcome, c.error, NULL::text, NULL::uuid, NULL::text, NULL::integer,
           NULL::bigint, NULL::jsonb
      FROM durable.complete_activity_tasks(outcomes, complete_activity_tasks_eager.identity) c;
    deferred := durable._handback_close();
    PERFORM durable._eager_arm(NULL);
    -- the tasks the outcomes scheduled: leased now, or inserted ready
    IF deferred.runs IS NOT NULL THEN
        RETURN QUERY
        SELECT 'workflow_task', p.task_token, 'POLLED', NULL::text, p.workflow_id, p.run_id, p.workflow_type,
               p.attempt, p.started_event_id, p.history
          FROM durable._handback_take(deferred.runs, deferred.scheduled, deferred.scheduled_at,
                                      complete_activity_tasks_eager.namespace, workflow_task_queue,
                                      complete_activity_tasks_eager.identity, max_workflow_tasks, cached,
                                      complete_activity_tasks_eager.build_id, complete_activity_tasks_eager.sticky) p;
        GET DIAGNOSTICS taken = ROW_COUNT;
    END IF;
    IF EXISTS (SELECT 1 FROM durable.workflow_tasks wt
                WHERE wt.namespace = complete_activity_tasks_eager.namespace
                  AND wt.task_queue = workflow_task_queue AND wt.state = 'SCHEDULED') THEN
        -- (only the slots left: a task made ready by a transaction that
        -- committed after _handback_take read its gate is not one more)
        IF taken < max_workflow_tasks THEN
            RETURN QUERY
            SELECT 'workflow_task', p.task_token, 'POLLED', NULL::text, p.workflow_id, p.run_id, p.workflow_type,
                   p.attempt, p.started_event_id, p.history
              FROM durable.poll_workflow_tasks(workflow_task_queue, complete_activity_tasks_eager.identity,
                                               max_workflow_tasks - taken, cached,
                                               complete_activity_tasks_eager.namespace,
                                               complete_activity_tasks_eager.build_id,
                                               complete_activity_tasks_eager.sticky) p;
        END IF;
        -- what the poll left (a gate, the slots): announced as it would have been
        IF EXISTS (SELECT 1 FROM durable.workflow_tasks wt
                    WHERE wt.namespace = complete_activity_tasks_eager.namespace
                      AND wt.task_queue = workflow_task_queue AND wt.state = 'SCHEDULED') THEN
            PERFORM durable._notify('workflow', complete_activity_tasks_eager.namespace, workflow_task_queue);
        END IF;
    END IF;
END
$$;

COMMENT ON FUNCTION durable.complete_activity_tasks_eager(jsonb, text, text, integer, text, jsonb, text, text) IS
    'complete_activity_tasks, and then, in the same transaction, up to max_workflow_tasks workflow tasks of '
    'workflow_task_queue leased to the calling worker as poll_workflow_tasks leases them (with its cached, '
    'build_id and sticky): those the outcomes made ready, and any ready before them. One row per outcome (kind activity_task), '
    'then one per workflow task (kind workflow_task, outcome POLLED, poll_workflow_tasks''s columns).';
GRANT EXECUTE ON FUNCTION durable.complete_activity_tasks_eager(jsonb, text, text, integer, text, jsonb, text, text)
    TO durable_worker;
