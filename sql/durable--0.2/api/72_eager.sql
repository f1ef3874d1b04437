-- Eager activity execution (Temporal's request_eager_execution). A worker
-- that completes workflow tasks and also polls an activity task queue sends
-- that queue and its free activity slots with the completions; each
-- activity those completions schedule on that queue is then inserted
-- already started, leased to that worker, and returned with the
-- completions' outcomes, so that the worker runs it at once: no activity
-- poll, no lease update of a SCHEDULED row, no ready-index entry, no
-- notification.
--
-- An eager lease is a poll's lease taken earlier, so it is given only where
-- a poll of that queue, made at that moment, would have taken the task:
--   * the run is not paused (a paused run's activities wait PAUSED);
--   * the queue has no flow limits (api/40_flow_limits.sql: a limited
--     queue picks its own tasks by concurrency, rate and key; it is never
--     leased eagerly);
--   * no task of the queue is ready at the same or a higher priority
--     (api/41_priority.sql: such a task is ahead of the new one, whose pass
--     is never below the head's, and is leased first);
--   * the completion does not also cancel an activity (a task canceled
--     before it started is canceled at once, with no attempt; one already
--     started would be asked to stop through its heartbeats instead);
--   * the caller may work on the queue (as its poll would check).
-- Activity tasks are not routed by build id (api/60_build_ids.sql), so a
-- worker's build never keeps it from a task its poll would lease.
-- Everything after the lease is a polled lease's: its start-to-close and
-- heartbeat deadlines run from the moment of the insert, its token and
-- fence are a first lease's (a<task id>.1), and a failed or timed-out
-- attempt goes back through the queue. Its ActivityTaskStarted event is
-- written when it ends, from the same row, as for every activity.
--
-- The offer reaches _cmd_schedule_activity (api/06_commands.sql) through
-- transaction-local settings, so that the completion functions keep their
-- signatures: durable_eager.offer (namespace, queue and identity),
-- durable_eager.slots (what is left of the offer) and durable_eager.taken
-- (the task ids leased). A completion that fails rolls its subtransaction
-- back, and the settings with it: its slots are offered to the next one.
-- Anyone may set such settings; an eager take also needs the queue armed
-- (pgext/src/eager.c), which only this function does, after checking the
-- caller's grant on it: a forged offer leases nothing. The queue's flow
-- limits are read once per call (a limited queue is offered nothing), the
-- run's pause and the queue's ready tasks at each activity.

-- Arms a queue (namespace, 0x1f, queue) for eager takes until the end of the
-- transaction; NULL disarms.
CREATE OR REPLACE FUNCTION durable._eager_arm(key text) RETURNS void
    AS 'MODULE_PATHNAME', 'durable_eager_arm' LANGUAGE C VOLATILE;
CREATE OR REPLACE FUNCTION durable._eager_armed(key text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'durable_eager_armed' LANGUAGE C VOLATILE;

-- The identity to lease a new activity of run w on queue to, taking one
-- slot of the offer, or NULL when it must wait for a poll: the offer's
-- namespace and queue are w's and queue, the queue is armed, w is not
-- paused and no task of the queue is ready at the same or a higher
-- priority. In C (pgext/src/eager.c): as plpgsql its IF was planned again
-- at most calls.
CREATE OR REPLACE FUNCTION durable._eager_take(w durable.workflows, queue text, priority smallint) RETURNS text
    AS 'MODULE_PATHNAME', 'durable_eager_take' LANGUAGE C VOLATILE;

-- Adds task to durable_eager.taken, the ids the eager completion returns.
CREATE OR REPLACE FUNCTION durable._eager_taken(task bigint) RETURNS void
    AS 'MODULE_PATHNAME', 'durable_eager_taken' LANGUAGE C VOLATILE;

-- The arguments of a completion that offers slots of a queue (this one's
-- activity slots, api/76_handback.sql's workflow slots): the slots between
-- 0 and 1000, the queue and identity as a poll's, a namespace (a NULL one
-- would make an offer that matches nothing: the completions would go
-- through and the slots be silently ignored), and the caller's grant on the
-- queue, all before anything is completed.
CREATE OR REPLACE FUNCTION durable._check_offer(slots integer, slots_name text, hint text, task_queue text,
                                               identity text, namespace text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF slots IS NULL OR slots < 0 OR slots > 1000 THEN
        PERFORM durable._bad_input(format('%s must be between 0 and 1000', slots_name),
            format('Got %s.', coalesce(slots::text, 'NULL')), hint);
    END IF;
    PERFORM durable._check_poll_args(task_queue, identity, 1);
    PERFORM durable._check_namespace(namespace);
    PERFORM durable._authorize('worker', task_queue, namespace);
END
$$;

CREATE OR REPLACE FUNCTION durable.complete_workflow_tasks_eager(
    completions jsonb, identity text, activity_task_queue text, max_activities integer,
    namespace text DEFAULT 'default')
RETURNS TABLE (kind text, task_token text, outcome text, error text, workflow_id text, run_id uuid,
               activity_id text, activity_type text, input jsonb, attempt integer, scheduled_at timestamptz,
               started_at timestamptz, deadline timestamptz, heartbeat_timeout float8, heartbeat_details jsonb,
               last_failure jsonb)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
DECLARE
    cancel constant jsonb := '[{"commands": [{"type": "RequestCancelActivityTask"}]}]';
    groups jsonb[];
    batch jsonb;
    cancels boolean;
    limited boolean;
    slots integer := max_activities;
    taken bigint[];
    n bigint;
BEGIN
    PERFORM durable._check_offer(max_activities, 'max_activities',
        'Pass the activity slots the worker has free; 0 completes without eager activities.',
        activity_task_queue, identity, namespace);
    IF completions IS NULL OR jsonb_typeof(completions) <> 'array' THEN
        PERFORM durable._bad_input('completions must be a JSON array', NULL,
            'Pass e.g. ''[{"task_token": "w1.1", "commands": []}]''.');
    END IF;
    PERFORM set_config('durable_eager.offer', concat_ws(E'\x1f', namespace, activity_task_queue, identity), true);
    PERFORM set_config('durable_eager.taken', '', true);
    PERFORM durable._eager_arm(namespace || E'\x1f' || activity_task_queue);
    -- a queue with flow limits picks its own tasks (api/40_flow_limits.sql):
    -- nothing is taken eagerly, the slots go to the poll below
    limited := EXISTS (SELECT 1 FROM durable.task_queue_limits l
                        WHERE l.namespace = complete_workflow_tasks_eager.namespace
                          AND l.task_queue = activity_task_queue);
    -- All completions in one call, with the whole offer (each takes what
    -- it schedules from what the ones before left), unless one of them
    -- also cancels an activity: then one at a time, that one offered none.
    groups := CASE WHEN completions @> cancel
                   THEN ARRAY(SELECT jsonb_build_array(e.value) FROM jsonb_array_elements(completions) e)
                   ELSE ARRAY[completions] END;
    FOREACH batch IN ARRAY groups LOOP
        cancels := batch @> cancel;
        PERFORM set_config('durable_eager.slots', CASE WHEN cancels OR limited THEN 0 ELSE slots END::text, true);
        RETURN QUERY
        SELECT 'workflow_task', c.task_token, c.outcome, c.error, NULL::text, NULL::uuid, NULL::text, NULL::text,
               NULL::jsonb, NULL::integer, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, NULL::float8,
               NULL::jsonb, NULL::jsonb
          FROM durable.complete_workflow_tasks(batch, complete_workflow_tasks_eager.identity) c;
        IF NOT (cancels OR limited) THEN
            slots := current_setting('durable_eager.slots', true)::integer;
        END IF;
    END LOOP;
    taken := string_to_array(nullif(current_setting('durable_eager.taken', true), ''), ',')::bigint[];
    PERFORM set_config('durable_eager.slots', '', true);
    PERFORM set_config('durable_eager.offer', '', true);
    PERFORM set_config('durable_eager.taken', '', true);
    IF taken IS NOT NULL THEN   -- none ahead of a higher priority (api/72_eager_priority.sql)
        PERFORM durable._eager_give_back(taken, complete_workflow_tasks_eager.namespace, activity_task_queue);
    END IF;
    PERFORM durable._eager_arm(NULL);
    -- what the completions leased and did not end again (a completion that
    -- closes its workflow drops the activities it scheduled)
    IF taken IS NOT NULL THEN
        RETURN QUERY
        SELECT 'activity_task', 'a' || a.task_id || '.' || a.fence, 'EAGER', NULL::text, a.workflow_id, a.run_id,
               a.activity_id, a.activity_type, a.input, a.attempt, a.scheduled_at, a.started_at, a.timeout_at,
               durable._seconds(a.heartbeat_timeout), a.heartbeat_details, a.last_failure
          FROM durable.activity_tasks a
         WHERE a.task_id = ANY (taken) AND a.state = 'STARTED' AND a.fence = 1
         ORDER BY a.task_id;
        -- the offer less what is still leased (slots, from the settings,
        -- already counts every lease, and so would count these twice; a
        -- dropped lease holds no slot)
        GET DIAGNOSTICS n = ROW_COUNT;
        slots := max_activities - n;
    END IF;
    -- Slots left while the queue has ready tasks (which kept new ones from
    -- being taken eagerly, or were there before): a poll of the queue, in
    -- this transaction, takes them as the worker's own poll would, by
    -- priority, fairness and flow limits. Without it, a backlog, once
    -- formed, would keep every new activity waiting behind it, and the
    -- worker polling for each.
    IF slots > 0 AND EXISTS (SELECT 1 FROM durable.activity_tasks a
                              WHERE a.namespace = complete_workflow_tasks_eager.namespace
                                AND a.task_queue = activity_task_queue AND a.state = 'SCHEDULED') THEN
        RETURN QUERY
        SELECT 'activity_task', p.task_token, 'POLLED', NULL::text, p.workflow_id, p.run_id, p.activity_id,
               p.activity_type, p.input, p.attempt, p.scheduled_at, p.started_at, p.deadline, p.heartbeat_timeout,
               p.heartbeat_details, p.last_failure
          FROM durable.poll_activity_tasks(activity_task_queue, complete_workflow_tasks_eager.identity, slots,
                                           complete_workflow_tasks_eager.namespace) p;
    END IF;
END
$$;

COMMENT ON FUNCTION durable._check_offer(integer, text, text, text, text, text) IS
    'Refuses a completion''s offer of slots with bad arguments or on a queue the caller may not poll (internal: api/72_eager.sql).';
COMMENT ON FUNCTION durable._eager_take(durable.workflows, text, smallint) IS
    'Whether a new activity of a run goes to the worker completing its workflow task, started (internal: pgext/src/eager.c).';
COMMENT ON FUNCTION durable._eager_arm(text) IS
    'Lets the eager completion of this transaction take activities of a queue its caller may poll (internal: pgext/src/eager.c).';
COMMENT ON FUNCTION durable._eager_armed(text) IS
    'Whether this transaction''s eager completion armed a queue (internal: pgext/src/eager.c).';
COMMENT ON FUNCTION durable._eager_taken(bigint) IS
    'Records an activity task leased eagerly in this transaction (internal: pgext/src/eager.c).';
COMMENT ON FUNCTION durable.complete_workflow_tasks_eager(jsonb, text, text, integer, text) IS
    'complete_workflow_tasks, and up to max_activities activity tasks of activity_task_queue leased to the '
    'calling worker in the same transaction: those the completions schedule, started at once (EAGER), and '
    'then, for slots left, the queue''s ready ones, as poll_activity_tasks leases them (POLLED). One row per '
    'completion (kind workflow_task), then one per activity (kind activity_task, poll_activity_tasks''s columns).';
GRANT EXECUTE ON FUNCTION durable.complete_workflow_tasks_eager(jsonb, text, text, integer, text) TO durable_worker;
