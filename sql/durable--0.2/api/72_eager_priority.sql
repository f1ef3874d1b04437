-- Eager activity execution (api/72_eager.sql) and priorities across one
-- call: each activity is taken when it is scheduled, in command order, so
-- with fewer slots than activities one of a lower priority could be taken
-- and one of a higher priority, scheduled after it in the same call (or
-- committed by another meanwhile), wait in the queue, where a poll at the
-- commit would take it first. Such a lease is given back before the call
-- answers: the task is put back as it would have been scheduled (ready, no
-- lease, the schedule-to-start deadline, placed in its queue by the
-- placing trigger, api/41_priority.sql), and its slot goes to the poll that
-- complete_workflow_tasks_eager makes with the slots left, which takes the
-- queue's tasks in priority order. Nobody saw the lease: it is uncommitted,
-- and its history event (ActivityTaskStarted) is written only at the end.

-- Gives back the leases of taken (still held, first leases) that a ready
-- task of queue of a higher priority would come before.
CREATE OR REPLACE FUNCTION durable._eager_give_back(taken bigint[], namespace text, queue text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    best smallint;
    a durable.activity_tasks;
    deadline timestamptz;
BEGIN
    SELECT r.priority INTO best FROM durable.activity_tasks r
     WHERE r.namespace = $2 AND r.task_queue = $3 AND r.state = 'SCHEDULED'
     ORDER BY r.priority LIMIT 1;
    IF best IS NULL THEN
        RETURN;
    END IF;
    -- one statement per task, as the placing trigger wants
    FOR a IN SELECT * FROM durable.activity_tasks t
              WHERE t.task_id = ANY ($1) AND t.state = 'STARTED' AND t.fence = 1 AND t.priority > best
              ORDER BY t.task_id LOOP
        deadline := least(a.scheduled_at + a.schedule_to_start_timeout, a.scheduled_at + a.schedule_to_close_timeout);
        UPDATE durable.activity_tasks t
           SET state = 'SCHEDULED', fence = 0, identity = NULL, started_at = NULL, timeout_at = deadline
         WHERE t.task_id = a.task_id;
        PERFORM durable._wake_at(deadline);
        PERFORM durable._notify('activity', a.namespace, a.task_queue);
    END LOOP;
END
$$;
COMMENT ON FUNCTION durable._eager_give_back(bigint[], text, text) IS
    'Puts back in the queue the activities an eager completion took that a ready task of higher priority comes before (internal: api/72_eager_priority.sql).';
