-- The runs a history follower reads as one file: a run and the runs it
-- continues (continue-as-new), oldest first, so that `tail -f history` in
-- durablefs shows every event of the chain, in order, across runs.

CREATE OR REPLACE FUNCTION durable.history_chain(workflow_id text, run_id uuid DEFAULT NULL,
                                                 namespace text DEFAULT 'default')
RETURNS TABLE (run_id uuid, history_length bigint)
-- LANGUAGE sql: PL/pgSQL refuses a parameter and a result column of one name
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
    -- the newest 1000 runs of the chain: a follower's file stays bounded
    WITH RECURSIVE chain(run_id, prev, n) AS (
        SELECT w.run_id, w.continued_from_run_id, 0 FROM durable.workflows w
         WHERE w.run_id = durable._resolve_run($3, $1, $2)
        UNION ALL
        SELECT w.run_id, w.continued_from_run_id, c.n + 1
          FROM chain c JOIN durable.workflows w ON w.run_id = c.prev
         WHERE c.n < 999
    )
    SELECT c.run_id, coalesce((SELECT max(h.event_id) FROM durable.history h WHERE h.run_id = c.run_id), 0)
      FROM chain c ORDER BY c.n DESC
$$;
COMMENT ON FUNCTION durable.history_chain(text, uuid, text) IS
    'The run (default: the latest of the id) and the runs it continues by continue-as-new, oldest first (at most 1000), with their history lengths.';
