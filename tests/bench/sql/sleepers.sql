-- :n workflows asleep on a 30-day timer, bulk-loaded in exactly the shape the
-- API leaves them (run row, five history events, a timer row, no workflow
-- task), because creating a million through the API would take the whole
-- benchmark budget. Used only by the scale phase of tests/bench/run.sh.
BEGIN;
CREATE TEMP TABLE sleepers AS
    SELECT gen_random_uuid() AS run_id, 'sleeper-' || i AS workflow_id,
           durable.now() AS t, durable.now() + interval '30 days' AS fire_at
      FROM generate_series(1, :n) i;
INSERT INTO durable.workflows (run_id, namespace, workflow_id, workflow_type, task_queue, status,
                               first_run_id, execution_started_at, started_at)
SELECT run_id, 'default', workflow_id, 'Sleeper', 'sleepers', 'RUNNING', run_id, t, t FROM sleepers;
-- the stored form of durable.history (api/01_history.sql), as _append writes it
INSERT INTO durable.history_rows (run_id, event_id, event_code, event_time, attributes_packed)
SELECT s.run_id, e.id, durable._event_code(e.type), s.t, durable._event_pack(s.run_id, e.id, e.type, e.attrs)
  FROM sleepers s,
       LATERAL (VALUES
         (1, 'WorkflowExecutionStarted', jsonb_build_object('workflow_type', 'Sleeper', 'task_queue', 'sleepers')),
         (2, 'WorkflowTaskScheduled', jsonb_build_object('task_queue', 'sleepers', 'attempt', 1)),
         (3, 'WorkflowTaskStarted', jsonb_build_object('scheduled_event_id', 2, 'identity', 'bench')),
         (4, 'WorkflowTaskCompleted', jsonb_build_object('scheduled_event_id', 2, 'started_event_id', 3)),
         (5, 'TimerStarted', jsonb_build_object('timer_id', 'sleep', 'start_to_fire_timeout', 2592000,
                                                'workflow_task_completed_event_id', 4))) AS e(id, type, attrs);
INSERT INTO durable.timers (run_id, timer_id, started_event_id, fire_at)
SELECT run_id, 'sleep', 5, fire_at FROM sleepers;
COMMIT;
