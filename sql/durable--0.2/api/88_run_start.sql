-- The run a start_workflow creates (api/03_start.sql), in C on the common
-- path (pgext/src/run_start.c): a start with none of the options
-- _create_run parses (timeouts, start delay, retry policy, priority,
-- fairness) has its row, WorkflowExecutionStarted and first workflow task
-- written without _create_run's plpgsql around the C writers (issue 15,
-- docs/performance.md "The start on the server"); any other start is
-- _create_run's, called with the same arguments.
CREATE OR REPLACE FUNCTION durable._start_run(namespace text, workflow_id text, workflow_type text,
                                              task_queue text, input jsonb, options jsonb) RETURNS uuid
    AS 'MODULE_PATHNAME', 'durable_start_run' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION durable._start_run(text, text, text, text, jsonb, jsonb) IS
    'Creates a started run as durable._create_run(namespace, workflow_id, workflow_type, task_queue, input, options) does, in C when the options need no parsing; its run id, NULL when an open run of the id is there (internal: start_workflow).';
