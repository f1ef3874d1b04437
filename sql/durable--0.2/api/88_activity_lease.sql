-- The activity poll's pick and lease (pgext/src/activity_lease.c), without
-- the executor: poll_activity_tasks' statement (api/07_activity_tasks.sql)
-- locked each picked row, joined it back, updated it through the executor
-- (its CHECK, the placing trigger's WHEN, the RETURNING of every column)
-- and called _wake_at and _seconds per row (issue 15, docs/performance.md
-- "The activity poll's lease, session 12"). Scans the queue's ready index
-- in priority order and leases each ready task no other transaction holds
-- (SKIP LOCKED's rule) as the statement did: state 'STARTED', fence + 1,
-- identity, started_at = now, no heartbeat yet, timeout_at the earliest of
-- the attempt's deadlines; returns the poll's rows, by task id. The
-- statement itself (kept in the C) leases whatever the direct write does
-- not do as the executor would (an operator's trigger, rule, row security,
-- index or constraint), and the rest of a batch from a row another
-- transaction changed meanwhile. The caller checks the arguments and that
-- the queue has no flow limits.
CREATE OR REPLACE FUNCTION durable._lease_activity_scan(namespace text, task_queue text, max_tasks integer,
                                                       identity text, now timestamptz)
RETURNS TABLE (task_token text, workflow_id text, run_id uuid, activity_id text, activity_type text,
               input jsonb, attempt integer, scheduled_at timestamptz, started_at timestamptz,
               deadline timestamptz, heartbeat_timeout float8, heartbeat_details jsonb, last_failure jsonb)
    AS 'MODULE_PATHNAME', 'durable_lease_activity_scan' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION durable._lease_activity_scan(text, text, integer, text, timestamptz) IS
    'Leases up to max_tasks ready activity tasks of a queue as poll_activity_tasks'' statement did, directly where it can, and returns the poll''s rows (internal: poll_activity_tasks).';
