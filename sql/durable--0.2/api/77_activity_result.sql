-- The common item of complete_activity_tasks (api/07_activity_tasks.sql): a
-- result for a started task. The general path takes it through
-- _try_lock_activity_task, _finish_activity, _slot_freed,
-- _drop_activity_task, _deliver_activity_outcome and _deliver: some sixteen
-- statements, each with its executor set up and torn down, several of them
-- calls of plpgsql functions that read the same rows again. This does the
-- same work in C (pgext/src/activity_result.c, session 10; plpgsql of three
-- statements in sessions 8 and 9): the run's lock (_lock_run's C); the
-- task's delete, which is also the lease's check (fence and state), with
-- the heap API, and three probes by key in the delete's snapshot (taken
-- after the lock: the run's workflow task cannot change under the run's
-- lock, which a lease takes, and so does every change of a started or
-- paused task): whether its queue has limits, whether it was paused, the
-- state of the run's workflow task; then the buffered events' insert, or
-- the appends (_append's C) and the workflow task's notification or
-- schedule. Where the direct delete would not do what the statement does
-- (a trigger, row security, rights, a row changed meanwhile...) the
-- statement deletes. The rows, events, attributes and notifications are the
-- general path's, in its order (pgTAP 77_activity_result: twins completed
-- through complete_activity_task have the same history and rows, with the
-- direct delete and with the statement).
--
-- run and task come from the caller's look-up of the token's task id; a
-- task gone meanwhile, a fence no longer held or a task not STARTED is
-- LEASE_LOST, as _try_lock_activity_task says. identity is checked as
-- _finish_activity checks it: only once the lease is known to be held.
CREATE OR REPLACE FUNCTION durable._complete_activity_result(run uuid, task bigint, token text,
                                                             result jsonb, identity text)
    RETURNS text AS 'MODULE_PATHNAME', 'durable_complete_activity_result' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION durable._complete_activity_result(uuid, bigint, text, jsonb, text) IS
    'Delivers a result for a started activity task as complete_activity_task would, in fewer statements; LEASE_LOST when the token no longer holds the lease (internal: complete_activity_tasks).';
