-- The update of a run's row that closes it (pgext/src/close_update.c),
-- without the executor: _close_run's UPDATE (api/04_close.sql) set up the
-- table's nine indexes, their predicates and its CHECKs anew for one row on
-- every close (issue 15, docs/performance.md "The close, session 9").
-- Sets status, closed_at, result, failure and new_run_id as given and
-- deadline_at to NULL; returns false, having written nothing, where the
-- statement must do it (an operator's trigger, rule, row security, index
-- or constraint the direct write does not do as the executor would, a CHECK
-- that fails, a row updated meanwhile by another transaction): the caller
-- then runs the statement.
CREATE OR REPLACE FUNCTION durable._close_update(run uuid, status text, closed_at timestamptz, result jsonb,
                                                 failure jsonb, new_run_id uuid) RETURNS boolean
    AS 'MODULE_PATHNAME', 'durable_close_update' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION durable._close_update(uuid, text, timestamptz, jsonb, jsonb, uuid) IS
    'Closes the run''s row as _close_run''s UPDATE does, directly; false (nothing written) when the statement must (internal: _close_run).';
