-- The insert of a new run's row (pgext/src/run_insert.c), without the
-- executor: _create_run's INSERT ... ON CONFLICT DO NOTHING (api/03_start.sql)
-- set up the table's eleven indexes, read and planned its two CHECKs and
-- inferred its arbiter index anew for one row on every start (issue 15,
-- docs/performance.md "The start and the workflow poll, session 10").
-- Inserts the row speculatively, as the executor does for ON CONFLICT; runs
-- that statement itself (kept prepared) where it must, having written
-- nothing directly: an open run of the id that may conflict (committed or
-- not: the statement waits for it and does nothing), an operator's trigger,
-- rule, row security, index or constraint the direct write does not do as
-- the executor would, search attributes other than '{}' (durable's trigger
-- indexes them), a CHECK that fails (the statement's error). Returns the
-- run id the statement's RETURNING gives: NULL when nothing was inserted.
CREATE OR REPLACE FUNCTION durable._insert_run(
    run_id uuid, namespace text, workflow_id text, workflow_type text, task_queue text, input jsonb,
    memo jsonb, search_attributes jsonb, first_run_id uuid, continued_from_run_id uuid, parent_run_id uuid,
    parent_workflow_id text, parent_initiated_event_id bigint, parent_close_policy text,
    execution_started_at timestamptz, started_at timestamptz, execution_timeout interval, run_timeout interval,
    task_timeout interval, deadline_at timestamptz, request_id text, start_delay interval, priority smallint,
    fairness_key text, fairness_weight float8, attempt integer, retry_policy jsonb) RETURNS uuid
    AS 'MODULE_PATHNAME', 'durable_insert_run' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION durable._insert_run(uuid, text, text, text, text, jsonb, jsonb, jsonb, uuid, uuid, uuid, text,
    bigint, text, timestamptz, timestamptz, interval, interval, interval, timestamptz, text, interval, smallint,
    text, float8, integer, jsonb) IS
    'Inserts a new run''s row as INSERT ... ON CONFLICT DO NOTHING RETURNING run_id does, directly or by that statement; its run id, NULL when nothing was inserted (internal: _create_run).';
