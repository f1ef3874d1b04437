-- Retention and deletion: namespaces with a retention period, the purge of
-- runs closed longer than it (called by the timer worker between firing
-- rounds, see pgext/src/purge.c), and delete_workflow.
--
-- The purge works by run, as Temporal's retention does: a run is purged when
-- it has been closed longer than its namespace's retention, whatever its
-- chain does. Nothing an open run does reads an earlier run's rows (a
-- continued-as-new run copies what it needs: first_run_id and
-- execution_started_at are values; a child notifies its parent only while the
-- parent runs), so a chain that still runs keeps working when its earlier
-- runs age out; list_runs then starts at the oldest run kept.

-- 0 (keep forever) or a duration of at most 100 years, no part negative.
CREATE OR REPLACE FUNCTION durable._check_retention(retention interval) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF retention IS NULL OR retention < interval '0' OR durable._interval_has_negative_part(retention) THEN
        PERFORM durable._bad_input('retention must be between 0 and 100 years',
            format('Got %s.', coalesce(retention::text, 'NULL')),
            'Give an interval such as ''30 days''; 0 keeps closed workflows forever.');
    END IF;
    IF retention <> interval '0' THEN
        PERFORM durable._check_duration(retention, 'retention', interval '36525 days');
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION durable._namespace_not_found(namespace text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'namespace "%" not found', namespace
        USING ERRCODE = 'undefined_object',
              DETAIL = 'A namespace exists once a workflow was started in it, or once it was registered.',
              HINT = 'Check the name with durable.list_namespaces(), or create it with durable.register_namespace().';
END
$$;

-- Called by _create_run for every new run: a namespace has a row (and the
-- default retention) from its first run on. When the row exists this is one
-- index probe and writes nothing: a plain probe first, which costs less than
-- an insert that finds its conflict (namespaces are never deleted, and one
-- being inserted by another session is not seen, so the insert waits for it
-- as before).
CREATE OR REPLACE FUNCTION durable._namespace_seen(namespace text, now timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM durable.namespaces n WHERE n.namespace = _namespace_seen.namespace) THEN
        RETURN;
    END IF;
    INSERT INTO durable.namespaces AS n (namespace, created_at, updated_at)
    VALUES (_namespace_seen.namespace, now, now)
    ON CONFLICT DO NOTHING;
END
$$;

CREATE OR REPLACE FUNCTION durable.register_namespace(namespace text, retention interval DEFAULT '30 days')
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    now timestamptz := durable.now();
BEGIN
    PERFORM durable._check_namespace(namespace);
    PERFORM durable._check_retention(retention);
    INSERT INTO durable.namespaces AS n (namespace, retention, created_at, updated_at)
    VALUES (register_namespace.namespace, register_namespace.retention, now, now)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'namespace "%" already exists', namespace
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Change its retention with durable.set_namespace_retention().';
    END IF;
END
$$;
COMMENT ON FUNCTION durable.register_namespace(text, interval) IS
    'durable_admin: create a namespace with a retention before its first workflow (a first start creates it with 30 days).';

CREATE OR REPLACE FUNCTION durable.set_namespace_retention(namespace text, retention interval)
RETURNS interval LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    previous interval;
BEGIN
    PERFORM durable._check_namespace(namespace);
    PERFORM durable._check_retention(retention);
    SELECT n.retention INTO previous FROM durable.namespaces n
     WHERE n.namespace = set_namespace_retention.namespace FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM durable._namespace_not_found(namespace);
    END IF;
    UPDATE durable.namespaces n SET retention = set_namespace_retention.retention, updated_at = durable.now()
     WHERE n.namespace = set_namespace_retention.namespace;
    RETURN previous;
END
$$;
COMMENT ON FUNCTION durable.set_namespace_retention(text, interval) IS
    'durable_admin: how long closed runs of a namespace are kept before the timer worker purges them (0 = forever); returns the previous retention.';

CREATE OR REPLACE FUNCTION durable.describe_namespace(namespace text DEFAULT 'default')
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n durable.namespaces;
    cutoff timestamptz;
BEGIN
    PERFORM durable._check_namespace(namespace);
    PERFORM durable._authorize('reader', NULL, namespace);
    SELECT * INTO n FROM durable.namespaces ns WHERE ns.namespace = describe_namespace.namespace;
    IF NOT FOUND THEN
        PERFORM durable._namespace_not_found(namespace);
    END IF;
    cutoff := CASE WHEN n.retention > interval '0' THEN durable._now(n.namespace) - n.retention END;
    RETURN jsonb_build_object(
        'namespace', n.namespace,
        'retention', durable._seconds(n.retention),
        'created_at', n.created_at,
        'updated_at', n.updated_at,
        'purge_before', cutoff,
        -- closed runs the purge has still to delete (an index-only count)
        'purge_backlog', CASE WHEN cutoff IS NULL THEN 0 ELSE
            (SELECT count(*) FROM durable.workflows w
              WHERE w.namespace = n.namespace AND w.closed_at < cutoff) END,
        'oldest_closed_at', (SELECT min(w.closed_at) FROM durable.workflows w
                              WHERE w.namespace = n.namespace AND w.closed_at IS NOT NULL));
END
$$;
COMMENT ON FUNCTION durable.describe_namespace(text) IS
    'A namespace''s retention, and its purge backlog: closed runs past the retention not yet deleted.';

CREATE OR REPLACE FUNCTION durable.list_namespaces()
RETURNS TABLE (namespace text, retention interval, created_at timestamptz, updated_at timestamptz,
               oldest_closed_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
    -- oldest_closed_at is one probe of workflows_closed per namespace: if it
    -- lies well before now() - retention, the purge is falling behind.
    SELECT n.namespace, n.retention, n.created_at, n.updated_at,
           (SELECT min(w.closed_at) FROM durable.workflows w
             WHERE w.namespace = n.namespace AND w.closed_at IS NOT NULL)
      FROM durable.namespaces n
     WHERE durable._may('reader', NULL, n.namespace)   -- only those the caller may read
     ORDER BY n.namespace
$$;
COMMENT ON FUNCTION durable.list_namespaces() IS
    'Every namespace the caller may read, with its retention and its oldest closed run.';

-- Deletes runs and everything that hangs off them. The callers hold the
-- runs' row locks. A schedule whose last run goes forgets it (its describe
-- shows no last_run_id rather than an id that leads nowhere); a running child
-- whose parent goes is unaffected (it notifies a parent only while that runs).
CREATE OR REPLACE FUNCTION durable._delete_runs(runs uuid[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    deleted integer;
BEGIN
    IF runs IS NULL OR cardinality(runs) = 0 THEN
        RETURN 0;
    END IF;
    DELETE FROM durable.history h WHERE h.run_id = ANY (runs);
    DELETE FROM durable.buffered_events b WHERE b.run_id = ANY (runs);
    DELETE FROM durable.workflow_tasks t WHERE t.run_id = ANY (runs);
    DELETE FROM durable.activity_tasks a WHERE a.run_id = ANY (runs);
    DELETE FROM durable.timers t WHERE t.run_id = ANY (runs);
    DELETE FROM durable.parked p WHERE p.run_id = ANY (runs);   -- deadlines that failed to fire (08_parking.sql)
    DELETE FROM durable.search_attribute_values v WHERE v.run_id = ANY (runs);   -- typed search attributes (50_search_attributes.sql)
    UPDATE durable.schedules sc SET last_run_id = NULL
      FROM durable.workflows w
     WHERE w.run_id = ANY (runs) AND w.search_attributes ? 'DurableScheduledById'
       AND sc.namespace = w.namespace AND sc.schedule_id = w.search_attributes ->> 'DurableScheduledById'
       AND sc.last_run_id = w.run_id;
    DELETE FROM durable.workflows w WHERE w.run_id = ANY (runs);
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END
$$;

-- One purge batch: up to max_runs runs closed longer than their namespace's
-- retention, oldest first within a namespace, in this transaction. Rows
-- locked by someone else are skipped (taken next time). A run whose delete
-- fails (a bad row, a trigger someone added) must not stop the others: the
-- batch is then retried run by run, and each failure is a WARNING in the
-- server log naming the run; that run is tried again by the next batch.
-- Returns how many runs the batch took (deleted or failed): fewer than
-- max_runs means the backlog is empty for now.
CREATE OR REPLACE FUNCTION durable._purge_closed(max_runs integer DEFAULT 100) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    now timestamptz := durable.now();
    runs uuid[];
    run uuid;
    why text;
BEGIN
    IF max_runs IS NULL OR max_runs < 1 OR max_runs > 100000 THEN
        PERFORM durable._bad_input('max_runs must be between 1 and 100000', format('Got %s.', max_runs));
    END IF;
    PERFORM durable._purge_closed_batch_jobs(max_runs, now);   -- api/53_batch_job_retention.sql
    SELECT array_agg(p.run_id) INTO runs FROM (
        SELECT w.run_id
          FROM durable.namespaces n
         CROSS JOIN LATERAL (
               SELECT wf.run_id FROM durable.workflows wf
                -- closed_at is in the namespace's time, so its age is measured by that clock
                WHERE wf.namespace = n.namespace AND wf.closed_at < now + durable._clock_offset(n.namespace) - n.retention
                ORDER BY wf.closed_at
                LIMIT max_runs
                  FOR UPDATE SKIP LOCKED) w
         WHERE n.retention > interval '0'
         LIMIT max_runs) p;
    IF runs IS NULL THEN
        RETURN 0;
    END IF;
    BEGIN
        PERFORM durable._delete_runs(runs);
    EXCEPTION WHEN OTHERS THEN
        FOREACH run IN ARRAY runs LOOP
            BEGIN
                PERFORM durable._delete_runs(ARRAY[run]);
            EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS why = MESSAGE_TEXT;
                RAISE WARNING 'durable: closed run % could not be purged: %', run, why
                    USING HINT = 'The purge goes on with the other runs and tries this one again next time; delete_workflow shows the error.';
            END;
        END LOOP;
    END;
    RETURN cardinality(runs);
END
$$;
COMMENT ON FUNCTION durable._purge_closed(integer) IS
    'One purge batch (the timer worker calls it between firing rounds; a superuser may call it to purge now): deletes up to max_runs runs closed longer than their namespace''s retention, with their history. Returns how many runs it took (deleted, or left with a WARNING).';

-- Temporal's DeleteWorkflowExecution: every run of the id goes, a running one
-- is terminated first (its parent hears of it, its children get their parent
-- close policy). Afterwards the id is free again, whatever the reuse policy.
CREATE OR REPLACE FUNCTION durable.delete_workflow(workflow_id text, reason text DEFAULT NULL,
                                        namespace text DEFAULT 'default', identity text DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    runs uuid[];
    running uuid;
BEGIN
    IF coalesce(workflow_id, '') = '' THEN
        PERFORM durable._bad_input('workflow_id must be non-empty', format('Got %L.', workflow_id));
    END IF;
    PERFORM durable._check_name(workflow_id, 'workflow_id');
    PERFORM durable._check_namespace(namespace);
    PERFORM durable._authorize('operator', NULL, namespace);
    SELECT array_agg(w.run_id ORDER BY w.run_id),
           (array_agg(w.run_id) FILTER (WHERE w.status = 'RUNNING'))[1]
      INTO runs, running
      FROM (SELECT wf.run_id, wf.status FROM durable.workflows wf
             WHERE wf.namespace = delete_workflow.namespace AND wf.workflow_id = delete_workflow.workflow_id
             ORDER BY wf.run_id FOR UPDATE) w;
    IF runs IS NULL THEN
        PERFORM durable._workflow_not_found(namespace, workflow_id, NULL);
    END IF;
    IF running IS NOT NULL THEN
        PERFORM durable._close_run(running, 'TERMINATED', 'WorkflowExecutionTerminated', jsonb_build_object(
            'reason', coalesce(reason, 'deleted'), 'identity', coalesce(identity, session_user::text)));
    END IF;
    RETURN durable._delete_runs(runs);
END
$$;
COMMENT ON FUNCTION durable.delete_workflow(text, text, text, text) IS
    'durable_operator: delete every run of a workflow id with its history, terminating a running run first; returns how many runs went. The id can then be started again.';

REVOKE ALL ON FUNCTION
    durable._check_retention(interval),
    durable._namespace_not_found(text),
    durable._namespace_seen(text, timestamptz),
    durable._delete_runs(uuid[]),
    durable.register_namespace(text, interval),
    durable.set_namespace_retention(text, interval),
    durable.describe_namespace(text),
    durable.list_namespaces(),
    durable._purge_closed(integer),
    durable.delete_workflow(text, text, text, text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    durable.describe_namespace(text),
    durable.list_namespaces(),
    durable.delete_workflow(text, text, text, text)
TO durable_operator;
GRANT EXECUTE ON FUNCTION
    durable.register_namespace(text, interval),
    durable.set_namespace_retention(text, interval)
TO durable_admin;
