-- :n workflows closed 40 days ago in namespace default (retention 30 days),
-- bulk-loaded in exactly the shape the API leaves a completed one-step
-- workflow (run row, five history events, no task, timer or buffered event),
-- because closing a million through the API would take the whole benchmark
-- budget. Used only by the purge phase of tests/bench/run.sh (purge.sh).
BEGIN;
INSERT INTO durable.namespaces (namespace, retention, created_at, updated_at)
VALUES ('default', '30 days', durable.now() - interval '41 days', durable.now() - interval '41 days')
ON CONFLICT (namespace) DO UPDATE SET retention = '30 days';
CREATE TEMP TABLE closed AS
    SELECT gen_random_uuid() AS run_id, 'closed-' || i AS workflow_id,
           durable.now() - interval '40 days' - interval '1 minute' AS started,
           durable.now() - interval '40 days' + i * interval '1 millisecond' AS closed
      FROM generate_series(1, :n) i;
INSERT INTO durable.workflows (run_id, namespace, workflow_id, workflow_type, task_queue, status, result,
                               first_run_id, execution_started_at, started_at, closed_at)
SELECT run_id, 'default', workflow_id, 'Closed', 'closed', 'COMPLETED', '1', run_id, started, started, closed
  FROM closed;
-- the stored form of durable.history (api/01_history.sql), as _append writes it
INSERT INTO durable.history_rows (run_id, event_id, event_code, event_time, attributes_packed)
SELECT c.run_id, e.id, durable._event_code(e.type), CASE WHEN e.id = 5 THEN c.closed ELSE c.started END,
       durable._event_pack(c.run_id, e.id, e.type, e.attrs)
  FROM closed c,
       LATERAL (VALUES
         (1, 'WorkflowExecutionStarted', jsonb_build_object('workflow_type', 'Closed', 'task_queue', 'closed')),
         (2, 'WorkflowTaskScheduled', jsonb_build_object('task_queue', 'closed', 'attempt', 1)),
         (3, 'WorkflowTaskStarted', jsonb_build_object('scheduled_event_id', 2, 'identity', 'bench')),
         (4, 'WorkflowTaskCompleted', jsonb_build_object('scheduled_event_id', 2, 'started_event_id', 3)),
         (5, 'WorkflowExecutionCompleted', jsonb_build_object('result', 1,
                                                              'workflow_task_completed_event_id', 4))) AS e(id, type, attrs);
COMMIT;
