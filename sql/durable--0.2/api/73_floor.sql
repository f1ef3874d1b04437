-- The store's lease and start paths read straight from their indexes in C
-- (issue 15, the store's CPU per workflow; docs/performance.md, "The store's
-- floor: leases and starts").

-- The run id of a workflow id's open run, or NULL: one probe of
-- workflows_one_open_run (pgext/src/open_run.c), never a plan that the
-- statistics of a fresh store could turn into a walk of the namespace.
-- No lock: the caller locks the run by its key and checks its status again.
CREATE OR REPLACE FUNCTION durable._find_open_run(namespace text, workflow_id text) RETURNS uuid
    AS 'MODULE_PATHNAME', 'durable_find_open_run' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION durable._find_open_run(text, text) IS
    'The run id of the open (RUNNING) run of a workflow id, read from its unique index (internal: _start_conflict).';
