-- Visibility for operators and durablefs: every run of an id, counts by
-- status, and the activity tasks of a queue (without their tokens: seeing a
-- task must not let anyone complete it).

CREATE OR REPLACE FUNCTION durable.list_runs(workflow_id text, namespace text DEFAULT 'default')
RETURNS TABLE (run_id uuid, status text, workflow_type text, started_at timestamptz, closed_at timestamptz,
               continued_from_run_id uuid, new_run_id uuid)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM durable._authorize('reader', NULL, $2);
    IF NOT EXISTS (SELECT 1 FROM durable.workflows w WHERE w.namespace = $2 AND w.workflow_id = $1) THEN
        PERFORM durable._workflow_not_found($2, $1, NULL);
    END IF;
    RETURN QUERY SELECT w.run_id, w.status, w.workflow_type, w.started_at, w.closed_at,
                        w.continued_from_run_id, w.new_run_id
                   FROM durable.workflows w
                  WHERE w.namespace = $2 AND w.workflow_id = $1
                  ORDER BY w.started_at, w.run_id;
END
$$;

-- Counts of the latest run of each workflow id, by status (what `ls
-- by-status/<STATUS>` would list). A full scan: meant for metrics scrapes,
-- not for every request. With a query (51_list_filter.sql), the runs that
-- match it, as Temporal counts: one row (status NULL), or one per status
-- with GROUP BY ExecutionStatus.
CREATE OR REPLACE FUNCTION durable.count_workflows(namespace text DEFAULT 'default', query text DEFAULT NULL)
RETURNS TABLE (status text, workflows bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
    SELECT durable._authorize('reader', NULL, $1);
    (SELECT l.status, count(*)
       FROM (SELECT DISTINCT ON (w.workflow_id) w.status
               FROM durable.workflows w WHERE w.namespace = $1
              ORDER BY w.workflow_id, w.started_at DESC) l
      WHERE $2 IS NULL
      GROUP BY l.status ORDER BY l.status)
    UNION ALL
    SELECT * FROM durable._count_workflows_by_filter($2, $1) WHERE $2 IS NOT NULL
$$;

CREATE OR REPLACE FUNCTION durable.list_activity_tasks(task_queue text, namespace text DEFAULT 'default',
                                            page_size integer DEFAULT 1000, after_task_id bigint DEFAULT 0)
RETURNS TABLE (task_id bigint, workflow_id text, run_id uuid, activity_id text, activity_type text,
               state text, attempt integer, scheduled_at timestamptz, started_at timestamptz,
               identity text, deadline timestamptz, last_failure jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM durable._authorize('reader', NULL, $2);
    IF $3 IS NULL OR $3 < 1 OR $3 > 100000 THEN
        PERFORM durable._bad_input('page_size must be between 1 and 100000', format('Got %s.', $3));
    END IF;
    RETURN QUERY SELECT a.task_id, a.workflow_id, a.run_id, a.activity_id, a.activity_type, a.state, a.attempt,
                        a.scheduled_at, a.started_at, a.identity, a.timeout_at, a.last_failure
                   FROM durable.activity_tasks a
                  WHERE a.namespace = $2 AND a.task_queue = $1 AND a.task_id > coalesce($4, 0)
                  ORDER BY a.task_id
                  LIMIT $3;
END
$$;
