-- The workflow poll's lease of the tasks it took (pgext/src/lease_update.c),
-- without the executor: poll_workflow_tasks' UPDATE (api/05_workflow_tasks.sql)
-- set up a join and the table's six indexes for each batch, and per row
-- read its CHECK and evaluated durable's placing trigger's WHEN (issue 15,
-- docs/performance.md "The workflow poll's lease, session 11"). Sets state
-- 'STARTED', fence = fence + 1, started_event_id, identity, build_id,
-- started_at = now and timeout_at = now + timeout of each task, in the
-- arrays' order; returns how many, from the first, it wrote. The caller's
-- statement leases the rest: all of them where it must (an operator's
-- trigger, rule, row security, index or constraint the direct write does
-- not do as the executor would), and from a task on whose row fails a
-- CHECK, is not there or was updated meanwhile by another transaction.
-- The poll reaches the same lease through _lease_scan below, in C; this
-- entry point is kept for pgTAP 92_lease_update, which asks it how many it
-- wrote: through the poll the direct write and the statement write the
-- same, so its answer is the only sign of which one leased (session 12:
-- with the direct write always declining, only those counts fail).
CREATE OR REPLACE FUNCTION durable._lease_workflow_tasks(ids bigint[], fences bigint[], starteds bigint[],
                                                         timeouts interval[], identity text, build_id text,
                                                         now timestamptz) RETURNS integer
    AS 'MODULE_PATHNAME', 'durable_lease_workflow_tasks' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION durable._lease_workflow_tasks(bigint[], bigint[], bigint[], interval[], text, text, timestamptz) IS
    'Leases the workflow tasks as poll_workflow_tasks''s UPDATE does, directly, in order; how many it wrote, the statement leasing the rest (internal: _lease_scan''s lease, as an entry point for its tests).';

-- The rest of a poll's scan in C as well (pgext/src/lease_update.c): the
-- tasks the scan picked (their runs locked) read again by their keys, those
-- still SCHEDULED each given its WorkflowTaskStarted and leased as above,
-- the earliest deadline announced; what poll_workflow_tasks' statement and
-- loop did per task (a statement's executor start and end, a dozen plpgsql
-- assignments), and each one's history as the poll sends it
-- (_history_json_sticky, read after the scan's appends). The rows come back
-- in the picked order, each task's fence as it was before the lease.
CREATE OR REPLACE FUNCTION durable._lease_scan(picked bigint[], identity text, build_id text, now timestamptz,
                                              cached jsonb, sticky text)
RETURNS TABLE (task_id bigint, run_id uuid, fence bigint, attempt integer, started_event_id bigint,
               workflow_id text, workflow_type text, history jsonb)
    AS 'MODULE_PATHNAME', 'durable_lease_scan' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION durable._lease_scan(bigint[], text, text, timestamptz, jsonb, text) IS
    'The tasks a poll''s scan picked, read again, given their WorkflowTaskStarted, leased, with their histories, in order (internal: poll_workflow_tasks).';
