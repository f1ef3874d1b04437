-- The client API: signal, cancel (cooperative), terminate (immediate),
-- describe_workflow, get_history, list_workflows, list_task_queues.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- signal_workflow ---------------------------------------------------------------
SELECT durable.start_workflow('cl-sig', 'W', 'cl-q');
SELECT lives_ok($$SELECT durable.signal_workflow('cl-sig', 'approve', '{"by": "bob"}', identity => 'ui')$$, 'signal_workflow');
SELECT is(pg_temp.last_types('cl-sig', 2), ARRAY['WorkflowTaskScheduled', 'WorkflowExecutionSignaled'],
          'a signal while a task is scheduled is appended, with no second task');
SELECT is(pg_temp.event('cl-sig', 'WorkflowExecutionSignaled'), '{"signal_name": "approve", "input": {"by": "bob"}, "identity": "ui"}'::jsonb,
          'WorkflowExecutionSignaled has name, input, identity');
SELECT pg_temp.complete('cl-q', '[]');
SELECT durable.signal_workflow('cl-sig', 'again');
SELECT is(pg_temp.last_types('cl-sig', 2), ARRAY['WorkflowExecutionSignaled', 'WorkflowTaskScheduled'],
          'a signal to an idle workflow schedules a workflow task');
SELECT is((durable.describe_workflow('cl-sig') -> 'pending_workflow_task' ->> 'state'), 'SCHEDULED', 'which is pending');
SELECT throws_ok($$SELECT durable.signal_workflow('nobody', 'x')$$, 'DU001', 'workflow "nobody" not found', 'unknown workflow (DU001)');
SELECT throws_ok($$SELECT durable.signal_workflow('cl-sig', '')$$, '22023', NULL, 'empty signal name');
SELECT throws_ok($$SELECT durable.signal_workflow('cl-sig', 'x', run_id => gen_random_uuid())$$, 'DU001', NULL,
                 'a run id that does not exist (DU001)');

-- cancel_workflow: cooperative --------------------------------------------------
SELECT durable.start_workflow('cl-can', 'W', 'cl-can');
SELECT pg_temp.complete('cl-can', '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 60}]');
SELECT is(durable.cancel_workflow('cl-can', 'no longer needed'), true, 'cancel_workflow returns true');
SELECT is(pg_temp.last_types('cl-can', 2), ARRAY['WorkflowExecutionCancelRequested', 'WorkflowTaskScheduled'],
          'the workflow gets WorkflowExecutionCancelRequested and a task');
SELECT is(pg_temp.event('cl-can', 'WorkflowExecutionCancelRequested') ->> 'cause', 'no longer needed', 'with the reason');
SELECT is(durable.describe_workflow('cl-can') ->> 'status', 'RUNNING', 'it is still RUNNING: the workflow decides');
SELECT is(durable.describe_workflow('cl-can') ->> 'cancel_requested', 'true', 'cancel_requested is shown');
SELECT is(jsonb_array_length(durable.describe_workflow('cl-can') -> 'pending_activities'), 1, 'its activity is untouched');
SELECT is(durable.cancel_workflow('cl-can'), false, 'a second cancel returns false');
SELECT is((SELECT count(*) FROM durable.get_history('cl-can') WHERE event_type = 'WorkflowExecutionCancelRequested'), 1::bigint,
          'and writes nothing');
SELECT pg_temp.complete('cl-can', '[{"type": "CancelWorkflowExecution"}]');
SELECT is(durable.describe_workflow('cl-can') ->> 'status', 'CANCELED', 'the workflow cancels itself');
SELECT throws_ok($$SELECT durable.cancel_workflow('cl-can')$$, 'DU003', 'workflow "cl-can" is not running',
                 'cancel of a closed workflow (DU003)');
SELECT throws_ok($$SELECT durable.cancel_workflow('nobody')$$, 'DU001', NULL, 'cancel of an unknown workflow (DU001)');

-- terminate_workflow: immediate ----------------------------------------------------
SELECT durable.start_workflow('cl-term', 'W', 'cl-term');
SELECT pg_temp.complete('cl-term', '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 60},
    {"type": "ScheduleActivityTask", "activity_id": "2", "activity_type": "A", "start_to_close_timeout": 60},
    {"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 600},
    {"type": "StartChildWorkflowExecution", "workflow_id": "cl-term-kid", "workflow_type": "K", "task_queue": "cl-kid"}]');
CREATE TEMP TABLE term_act AS SELECT * FROM durable.poll_activity_tasks('cl-term', 'tester', 1);
CREATE TEMP TABLE term_wft AS SELECT * FROM durable.poll_workflow_tasks('cl-term', 'tester', 1);
SELECT lives_ok($$SELECT durable.terminate_workflow('cl-term', 'stuck', '{"ticket": 42}', identity => 'ops')$$, 'terminate_workflow');
SELECT is(durable.describe_workflow('cl-term') ->> 'status', 'TERMINATED', 'TERMINATED at once');
SELECT is(pg_temp.last_types('cl-term', 1), ARRAY['WorkflowExecutionTerminated'], 'WorkflowExecutionTerminated is last');
SELECT is(pg_temp.event('cl-term', 'WorkflowExecutionTerminated'), '{"reason": "stuck", "details": {"ticket": 42}, "identity": "ops"}'::jsonb,
          'with reason, details and identity');
SELECT is((SELECT jsonb_array_length(d -> 'pending_activities') + jsonb_array_length(d -> 'pending_timers')
                  + jsonb_array_length(d -> 'pending_children') FROM durable.describe_workflow('cl-term') d), 0,
          'no pending activities, timers or children');
SELECT is(durable.describe_workflow('cl-term') -> 'pending_workflow_task', 'null'::jsonb, 'no workflow task');
SELECT is(durable.describe_workflow('cl-term-kid') ->> 'status', 'TERMINATED', 'the child is terminated (policy TERMINATE)');
SELECT is((SELECT count(*) FROM durable.poll_activity_tasks('cl-term', 'tester', 10)), 0::bigint, 'the scheduled activity is gone');
SELECT throws_ok(format($$SELECT durable.complete_activity_task(%L, '1')$$, (SELECT task_token FROM term_act)), 'DU004', NULL,
                 'the running activity''s result is refused');
SELECT throws_ok(format($$SELECT durable.complete_workflow_task(%L, '[]')$$, (SELECT task_token FROM term_wft)), 'DU004', NULL,
                 'the running workflow task''s completion is refused');
SELECT is(pg_temp.last_types('cl-term', 1), ARRAY['WorkflowExecutionTerminated'], 'nothing follows the termination');
SELECT throws_ok($$SELECT durable.terminate_workflow('cl-term')$$, 'DU003', NULL, 'terminate of a closed workflow (DU003)');
SELECT throws_ok($$SELECT durable.signal_workflow('cl-term', 'x')$$, 'DU003', NULL, 'signal of a closed workflow (DU003)');

-- describe_workflow ------------------------------------------------------------------
SELECT throws_ok($$SELECT durable.describe_workflow('nobody')$$, 'DU001', NULL, 'describe of an unknown workflow (DU001)');
SELECT throws_ok($$SELECT durable.describe_workflow(NULL)$$, '22023', NULL, 'describe with a NULL id');
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(durable.describe_workflow('cl-sig')) k),
          ARRAY['attempt', 'build_id', 'cancel_requested', 'closed_at', 'continued_from_run_id', 'deadline_at', 'execution_started_at',
                'execution_timeout', 'failure', 'fairness_key', 'fairness_weight', 'first_run_id', 'history_length', 'input',
                'memo', 'namespace', 'new_run_id',
                'parent', 'parked',
                'paused',
                'pending_activities', 'pending_children', 'pending_timers', 'pending_workflow_task', 'priority',
                'request_id', 'result', 'retry_policy',
                'run_id', 'run_timeout', 'search_attributes', 'start_delay', 'started_at', 'status', 'task_queue', 'task_timeout',
                'workflow_id', 'workflow_type'], 'describe_workflow has the documented keys');
SELECT is((durable.describe_workflow('cl-sig') ->> 'history_length')::bigint,
          (SELECT count(*) FROM durable.get_history('cl-sig')), 'history_length counts the events');

-- get_history ------------------------------------------------------------------------
SELECT is((SELECT array_agg(event_id ORDER BY event_id) FROM durable.get_history('cl-sig', after_event_id => 2, max_events => 3)),
          ARRAY[3, 4, 5]::bigint[], 'get_history pages with after_event_id and max_events');
SELECT is((SELECT count(*) FROM durable.get_history('cl-sig', after_event_id => 1000)), 0::bigint, 'past the end: nothing');
SELECT throws_ok($$SELECT * FROM durable.get_history('nobody')$$, 'DU001', NULL, 'get_history of an unknown workflow (DU001)');
SELECT throws_ok($$SELECT * FROM durable.get_history('cl-sig', max_events => -1)$$, '22023', NULL, 'a negative max_events');
SELECT is((SELECT count(*) FROM durable.get_history('cl-sig', after_event_id => NULL)),
          (durable.describe_workflow('cl-sig') ->> 'history_length')::bigint, 'after_event_id NULL means from the start');
SELECT ok((SELECT bool_and(event_time IS NOT NULL) FROM durable.get_history('cl-sig')), 'every event has a time');
SELECT throws_ok($$UPDATE durable.history SET event_type = 'X'$$, '55000', 'workflow history is append-only',
                 'the history cannot be changed, even by the owner');

-- list_workflows, in a namespace of its own ----------------------------------------------
SELECT durable.start_workflow('lw-' || i, CASE WHEN i % 2 = 0 THEN 'Even' ELSE 'Odd' END,
                              CASE WHEN i <= 3 THEN 'lw-a' ELSE 'lw-b' END, NULL,
                              jsonb_build_object('search_attributes', jsonb_build_object('Bucket', i % 3)), 'lw-ns')
  FROM generate_series(1, 6) i;
SELECT pg_temp.complete('lw-a', '[{"type": "CompleteWorkflowExecution"}]', 'lw-ns');  -- lw-1
SELECT durable.terminate_workflow('lw-2', namespace => 'lw-ns');
SELECT durable.start_workflow('lw-2', 'Even', 'lw-a', NULL, '{}', 'lw-ns');            -- lw-2 runs again
SELECT is((SELECT array_agg(workflow_id) FROM durable.list_workflows(namespace => 'lw-ns')),
          ARRAY['lw-1', 'lw-2', 'lw-3', 'lw-4', 'lw-5', 'lw-6'], 'one row per workflow id, in id order');
SELECT is((SELECT status FROM durable.list_workflows(namespace => 'lw-ns') WHERE workflow_id = 'lw-2'), 'RUNNING',
          'showing its latest run');
SELECT is((SELECT array_agg(workflow_id) FROM durable.list_workflows('COMPLETED', namespace => 'lw-ns')), ARRAY['lw-1'],
          'filter by status');
SELECT is((SELECT array_agg(workflow_id) FROM durable.list_workflows(workflow_type => 'Even', namespace => 'lw-ns')),
          ARRAY['lw-2', 'lw-4', 'lw-6'], 'filter by type');
SELECT is((SELECT array_agg(workflow_id) FROM durable.list_workflows(task_queue => 'lw-b', namespace => 'lw-ns')),
          ARRAY['lw-4', 'lw-5', 'lw-6'], 'filter by task queue');
SELECT is((SELECT array_agg(workflow_id) FROM durable.list_workflows(search_attributes => '{"Bucket": 1}', namespace => 'lw-ns')),
          ARRAY['lw-1', 'lw-4'], 'filter by search attributes');
SELECT is((SELECT array_agg(workflow_id) FROM durable.list_workflows('RUNNING', 'Odd', namespace => 'lw-ns')),
          ARRAY['lw-3', 'lw-5'], 'filters combine');
SELECT is((SELECT count(*) FROM durable.list_workflows(started_after => durable.now() + interval '1 minute', namespace => 'lw-ns')),
          0::bigint, 'filter by start time');
SELECT is((SELECT count(*) FROM durable.list_workflows(started_before => durable.now() + interval '1 minute', namespace => 'lw-ns')),
          6::bigint, 'filter by start time, the other way');
SELECT is((SELECT array_agg(workflow_id) FROM durable.list_workflows(page_size => 4, namespace => 'lw-ns')),
          ARRAY['lw-1', 'lw-2', 'lw-3', 'lw-4'], 'page 1');
SELECT is((SELECT array_agg(workflow_id) FROM durable.list_workflows(after_workflow_id => 'lw-4', page_size => 4, namespace => 'lw-ns')),
          ARRAY['lw-5', 'lw-6'], 'page 2 starts after the last id of page 1');
SELECT is((SELECT count(*) FROM durable.list_workflows(after_workflow_id => 'lw-6', namespace => 'lw-ns')), 0::bigint, 'then nothing');
SELECT is((SELECT count(*) FROM durable.list_workflows(namespace => 'empty-ns')), 0::bigint, 'another namespace is empty');
SELECT throws_ok($$SELECT * FROM durable.list_workflows('DONE')$$, '22023', 'unknown workflow status "DONE"', 'an unknown status');
SELECT throws_ok($$SELECT * FROM durable.list_workflows(page_size => 0)$$, '22023', NULL, 'page_size 0');
SELECT throws_ok($$SELECT * FROM durable.list_workflows(search_attributes => '[1]')$$, '22023', NULL, 'search attributes must be an object');

-- list_task_queues ------------------------------------------------------------------------
SELECT durable.start_workflow('tq-1', 'W', 'tq-x', namespace => 'tq-ns');
SELECT durable.start_workflow('tq-2', 'W', 'tq-x', namespace => 'tq-ns');
SELECT pg_temp.complete('tq-x', '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 60, "task_queue": "tq-y"},
                                  {"type": "ScheduleActivityTask", "activity_id": "2", "activity_type": "A", "start_to_close_timeout": 60, "task_queue": "tq-y"}]', 'tq-ns');
SELECT durable.poll_activity_tasks('tq-y', 'act-worker', 1, 'tq-ns');
SELECT is((SELECT array_agg(row(task_queue, workflow_backlog, activity_backlog, activities_running)::text ORDER BY task_queue)
             FROM durable.list_task_queues('tq-ns')),
          ARRAY[row('tq-x', 1, 0, 0)::text, row('tq-y', 0, 1, 1)::text], 'backlogs and running activities per queue');
SELECT is((SELECT jsonb_path_query_array(pollers, '$[*].identity') FROM durable.list_task_queues('tq-ns') WHERE task_queue = 'tq-y'),
          '["act-worker"]'::jsonb, 'recent pollers are listed');
SELECT is((SELECT pollers -> 0 ->> 'kind' FROM durable.list_task_queues('tq-ns') WHERE task_queue = 'tq-x'), 'workflow',
          'with their kind');

-- Pollers silent for a minute drop out, and the next poller of the queue forgets them
SELECT durable.poll_workflow_tasks('tq-z', 'old-worker', 1, NULL, 'tq-ns');
SELECT durable.skip_time('61 seconds');
SELECT is((SELECT count(*) FROM durable.list_task_queues('tq-ns') WHERE task_queue = 'tq-z'), 0::bigint,
          'a queue with no work and only a poller silent for a minute is not listed');
SELECT is((SELECT pollers FROM durable.list_task_queues('tq-ns') WHERE task_queue = 'tq-y'), '[]'::jsonb,
          'a poller silent for a minute drops out of a queue with work');
SELECT durable.poll_workflow_tasks('tq-z', 'new-worker', 1, NULL, 'tq-ns');
SELECT is((SELECT jsonb_path_query_array(pollers, '$[*].identity') FROM durable.list_task_queues('tq-ns') WHERE task_queue = 'tq-z'),
          '["new-worker"]'::jsonb, 'a new poller is listed');
SELECT is((SELECT array_agg(identity) FROM durable.task_queue_pollers WHERE namespace = 'tq-ns' AND task_queue = 'tq-z'),
          ARRAY['new-worker'], 'and its poll deleted the stale row');

SELECT * FROM finish();
ROLLBACK;
