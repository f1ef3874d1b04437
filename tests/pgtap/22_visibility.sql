-- list_runs, count_workflows, list_activity_tasks.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- Two runs of one id (continue-as-new), one closed workflow, one running.
SELECT durable.start_workflow('v-1', 'Loop', 'vq', NULL, '{}', 'vis');
SELECT pg_temp.complete('vq', '[{"type": "ContinueAsNewWorkflowExecution", "input": 2}]', 'vis');
SELECT durable.start_workflow('v-2', 'Once', 'vq', NULL, '{}', 'vis');
SELECT durable.terminate_workflow('v-2', 'test', namespace => 'vis');
SELECT durable.start_workflow('v-3', 'Once', 'vq', NULL, '{}', 'vis');

SELECT is((SELECT array_agg(status ORDER BY started_at, run_id) FROM durable.list_runs('v-1', 'vis')),
          ARRAY['CONTINUED_AS_NEW', 'RUNNING'], 'list_runs gives every run of the id, oldest first');
SELECT is((SELECT new_run_id FROM durable.list_runs('v-1', 'vis') WHERE status = 'CONTINUED_AS_NEW'),
          (SELECT run_id FROM durable.list_runs('v-1', 'vis') WHERE status = 'RUNNING'), 'and links them');
SELECT throws_ok($$SELECT * FROM durable.list_runs('nope', 'vis')$$, 'DU001', NULL, 'an unknown id');

SELECT is((SELECT array_agg(status || '=' || workflows ORDER BY status) FROM durable.count_workflows('vis')),
          ARRAY['RUNNING=2', 'TERMINATED=1'], 'count_workflows counts the latest run of each id');

-- Activity tasks of a queue, without tokens
SELECT pg_temp.complete('vq', '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "a", "task_queue": "va", "start_to_close_timeout": 60},
                                {"type": "ScheduleActivityTask", "activity_id": "2", "activity_type": "b", "task_queue": "va", "start_to_close_timeout": 60}]', 'vis');
SELECT durable.poll_activity_tasks('va', 'w1', 1, 'vis');
SELECT is((SELECT array_agg(activity_type || ':' || state || ':' || coalesce(identity, '-') ORDER BY task_id)
             FROM durable.list_activity_tasks('va', 'vis')),
          ARRAY['a:STARTED:w1', 'b:SCHEDULED:-'], 'list_activity_tasks shows state and lessee');
SELECT is((SELECT count(*) FROM durable.list_activity_tasks('va', 'vis', 1)), 1::bigint, 'pages by page_size');
SELECT is((SELECT activity_type FROM durable.list_activity_tasks('va', 'vis', 10,
              (SELECT min(task_id) FROM durable.list_activity_tasks('va', 'vis')))), 'b', 'and after_task_id');
SELECT ok(NOT EXISTS (SELECT 1 FROM pg_proc p, unnest(p.proargnames) AS a(name)
                       WHERE p.oid = 'durable.list_activity_tasks'::regproc AND a.name = 'task_token'),
          'no token is shown');
SELECT throws_ok($$SELECT * FROM durable.list_activity_tasks('va', 'vis', 0)$$, '22023', NULL, 'page_size 0');

SELECT * FROM finish();
ROLLBACK;
