-- Worker versioning by build id (schema/60_build_ids.sql). Workers say
-- which build of the code they run (poll_workflow_tasks' build_id); a task
-- queue's rules say which build new workflows go to and whether running ones
-- stay on their build (PINNED) or move to the newest (AUTO_UPGRADE). A pinned
-- run's workflow tasks are leased only by workers of its build, so a deploy
-- never replays a history with code that did not write it. get_version stays
-- for changes made inside one build's lifetime.

CREATE OR REPLACE FUNCTION durable._check_build_id(build_id text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF build_id IS NOT NULL AND (build_id = '' OR build_id ~ '[[:space:][:cntrl:]/]') THEN
        PERFORM durable._bad_input('build_id must be non-empty, without spaces, "/" or control characters',
            format('Got %L.', build_id), 'Use e.g. a release tag or a commit id: ''v1.4.2'', ''9f3c2ab''.');
    END IF;
    PERFORM durable._check_name(build_id, 'build_id');
END
$$;

-- The queue's rules, or a record of NULLs for an unversioned queue.
-- plpgsql, not SQL: a SQL function is planned again at every call from
-- plpgsql (each poll of a workflow queue asks, versioned or not: 50-150 us
-- a call with its plan, in the floor's and the ten-parallel shape's profiles).
CREATE OR REPLACE FUNCTION durable._build_id_rules(namespace text, task_queue text)
RETURNS durable.task_queue_build_ids LANGUAGE plpgsql STABLE AS $$
DECLARE
    r durable.task_queue_build_ids;
BEGIN
    SELECT * INTO r FROM durable.task_queue_build_ids b WHERE b.namespace = $1 AND b.task_queue = $2;
    RETURN r;
END
$$;

-- What a workflow task event says of the worker's build: nothing for an
-- unversioned worker, so its history reads as before.
CREATE OR REPLACE FUNCTION durable._build_id_attrs(build_id text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'durable_build_id_attrs' LANGUAGE C IMMUTABLE;   -- pgext/src/event_attrs.c

-- At a completed workflow task (the run's row is locked): a run is on the
-- build that completed its first task, and under AUTO_UPGRADE it moves to
-- the build of each later one.
CREATE OR REPLACE FUNCTION durable._record_build_id(w durable.workflows, t durable.workflow_tasks) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF t.build_id IS NULL OR w.build_id IS NOT DISTINCT FROM t.build_id THEN
        RETURN;
    END IF;
    IF w.build_id IS NULL OR (durable._build_id_rules(t.namespace, t.task_queue)).mode = 'AUTO_UPGRADE' THEN
        UPDATE durable.workflows wf SET build_id = t.build_id WHERE wf.run_id = w.run_id;
    END IF;
END
$$;

-- A child, continued or retried run on its parent's task queue, when that
-- queue pins runs, starts on the parent's build (as Temporal keeps a pinned
-- workflow's children, continue-as-new and retries on its version): the code that started it is
-- the code that will run it, even after a deploy moved the default build. A
-- run of another queue, or of an AUTO_UPGRADE queue, goes by its queue's
-- rules. Called by _create_run once the new run is created, with the run it
-- came from (its parent, or the run it continues or retries); that row is
-- read again because the task that started the child may have just set its
-- build (_record_build_id). An unpinned parent (the common case) writes nothing.
CREATE OR REPLACE FUNCTION durable._inherit_build_id(parent_run uuid, run uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE durable.workflows c SET build_id = p.build_id
      FROM durable.workflows p
     WHERE p.run_id = parent_run AND p.build_id IS NOT NULL
       AND c.run_id = run AND c.build_id IS NULL
       AND c.namespace = p.namespace AND c.task_queue = p.task_queue
       AND (durable._build_id_rules(c.namespace, c.task_queue)).mode = 'PINNED';
END
$$;
COMMENT ON FUNCTION durable._inherit_build_id(uuid, uuid) IS
    'Puts a new child, continued or retried run on its parent''s build when both are on one PINNED task queue.';

-- Queries and updates of a run are answered by a worker that can replay
-- it: in a versioned queue, one of the run's build (as its next workflow
-- task would be leased). The key of the queue they wait in, for
-- _query_post and _query_take: an unversioned queue's is "namespace/queue",
-- as before; a versioned one's names the build too (hashed: it must fit
-- the 255 bytes of the shared-memory slot).
CREATE OR REPLACE FUNCTION durable._query_queue(namespace text, task_queue text, build_id text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM durable.task_queue_build_ids r
                                  WHERE r.namespace = $1 AND r.task_queue = $2)
                THEN $1 || '/' || $2
                ELSE 'build:' || md5($1 || '/' || $2 || '/' || coalesce($3, '')) END
$$;

CREATE OR REPLACE FUNCTION durable._query_queue_of(w durable.workflows) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT durable._query_queue(w.namespace, w.task_queue,
               (SELECT CASE r.mode WHEN 'PINNED' THEN coalesce(w.build_id, r.default_build_id)
                                   ELSE r.default_build_id END
                  FROM durable.task_queue_build_ids r
                 WHERE r.namespace = w.namespace AND r.task_queue = w.task_queue))
$$;

-- Sets a task queue's rules: new workflows go to default_build_id, and mode
-- says where running ones go. default_build_id NULL removes the rules: the
-- queue is unversioned again, every worker takes every task.
CREATE OR REPLACE FUNCTION durable.set_build_id_rules(task_queue text, default_build_id text,
                                                      mode text DEFAULT 'PINNED',
                                                      namespace text DEFAULT 'default')
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
    PERFORM durable._check_namespace(namespace);
    PERFORM durable._authorize('operator', NULL, namespace);
    IF coalesce(task_queue, '') = '' THEN
        PERFORM durable._bad_input('task_queue must be non-empty');
    END IF;
    PERFORM durable._check_name(task_queue, 'task_queue');
    PERFORM durable._check_build_id(default_build_id);
    IF mode IS NULL OR mode NOT IN ('PINNED', 'AUTO_UPGRADE') THEN
        PERFORM durable._bad_input('mode must be PINNED or AUTO_UPGRADE', format('Got %L.', mode),
            'PINNED keeps each running workflow on the build it started on; AUTO_UPGRADE moves them to default_build_id.');
    END IF;
    IF default_build_id IS NULL THEN
        DELETE FROM durable.task_queue_build_ids r WHERE r.namespace = namespace AND r.task_queue = task_queue;
    ELSE
        INSERT INTO durable.task_queue_build_ids AS r (namespace, task_queue, default_build_id, mode, updated_at)
        VALUES (namespace, task_queue, default_build_id, mode, durable.now())
        ON CONFLICT ON CONSTRAINT task_queue_build_ids_pkey DO UPDATE
           SET default_build_id = EXCLUDED.default_build_id, mode = EXCLUDED.mode, updated_at = EXCLUDED.updated_at;
    END IF;
    -- tasks may now fit other workers: wake them
    PERFORM durable._notify('workflow', namespace, task_queue);
END
$$;

-- The versioned queues of a namespace, with how many running workflows are
-- on each build (a build whose count is 0 has drained: its workers may go).
CREATE OR REPLACE FUNCTION durable.list_build_id_rules(namespace text DEFAULT 'default')
RETURNS TABLE (task_queue text, default_build_id text, mode text, updated_at timestamptz, running jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    PERFORM durable._authorize('reader', NULL, $1);
    RETURN QUERY
    SELECT r.task_queue, r.default_build_id, r.mode, r.updated_at,
           (SELECT coalesce(jsonb_object_agg(coalesce(b.build_id, ''), b.n), '{}')
              FROM (SELECT w.build_id, count(*) AS n FROM durable.workflows w
                     WHERE w.namespace = r.namespace AND w.task_queue = r.task_queue AND w.status = 'RUNNING'
                     GROUP BY w.build_id) b)
      FROM durable.task_queue_build_ids r
     WHERE r.namespace = $1
     ORDER BY r.task_queue;
END
$$;

COMMENT ON FUNCTION durable.set_build_id_rules(text, text, text, text) IS
    'Versions a task queue by worker build id: new workflows go to default_build_id; mode PINNED keeps running ones on the build they started on, AUTO_UPGRADE moves them to default_build_id at their next workflow task. default_build_id NULL makes the queue unversioned again.';
COMMENT ON FUNCTION durable.list_build_id_rules(text) IS
    'The versioned task queues of a namespace: default build, mode, and how many running workflows are on each build ("" for none yet).';

GRANT EXECUTE ON FUNCTION durable.set_build_id_rules(text, text, text, text) TO durable_operator;
GRANT EXECUTE ON FUNCTION durable.list_build_id_rules(text) TO durable_operator;
