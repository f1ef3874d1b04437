-- A worker waits for queries holding no snapshot (pgext/src/query_wait.c).
-- poll_query_tasks(..., wait_ms > 0) waits inside its SELECT, and the
-- statement's snapshot holds back the xmin horizon of the whole database
-- for the wait; this procedure commits first, then waits in shared memory.

-- Checks a wait's arguments and the caller's worker grant; returns the key
-- of the queue its queries wait in (_query_queue). The procedure below
-- calls it (through fmgr: no role executes it): a procedure that commits
-- cannot be SECURITY DEFINER itself.
CREATE OR REPLACE FUNCTION durable._query_wait_key(task_queue text, wait_ms integer, namespace text, build_id text)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF coalesce(task_queue, '') = '' THEN
        PERFORM durable._bad_input('task_queue must be non-empty', NULL,
            'Pass the task queue whose queries the worker answers.');
    END IF;
    PERFORM durable._check_name(task_queue, 'task_queue');
    IF wait_ms IS NULL OR wait_ms < 0 OR wait_ms > 600000 THEN
        PERFORM durable._bad_input('wait_ms must be between 0 and 600000', format('Got %s.', coalesce(wait_ms::text, 'NULL')),
            'A worker waits a few seconds, then calls again.');
    END IF;
    PERFORM durable._check_namespace(namespace);
    PERFORM durable._check_build_id(build_id);
    PERFORM durable._authorize('worker', task_queue, namespace);
    RETURN durable._query_queue(namespace, task_queue, build_id);
END
$$;
COMMENT ON FUNCTION durable._query_wait_key(text, integer, text, text) IS
    'Internal, for wait_for_query_tasks: checks its arguments and the caller''s worker grant, returns the key its queries wait under.';

-- Waits up to wait_ms for a query posted to the queue (as poll_query_tasks
-- would lease it: same namespace and build), holding no snapshot while it
-- waits; ready says whether one waits. It takes nothing: the worker then
-- calls poll_query_tasks(..., wait_ms => 0), which may find the query gone
-- to another worker. Must be CALLed on its own (autocommit), since it
-- commits before it waits.
CREATE OR REPLACE PROCEDURE durable.wait_for_query_tasks(task_queue text, wait_ms integer DEFAULT 2000,
                                                         namespace text DEFAULT 'default',
                                                         build_id text DEFAULT NULL,
                                                         INOUT ready boolean DEFAULT NULL)
    AS 'MODULE_PATHNAME', 'durable_wait_for_query_tasks' LANGUAGE C;
COMMENT ON PROCEDURE durable.wait_for_query_tasks(text, integer, text, text, boolean) IS
    'Waits up to wait_ms for a query on a worker''s queue without holding a snapshot (CALL it outside a transaction block); ready says whether one waits: take it with poll_query_tasks(..., wait_ms => 0).';
