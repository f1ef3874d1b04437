-- The packed history's codes are stored (pgext/src/history_pack.c): every
-- event ever written keeps the type code and the one-character names and
-- pairs it was packed with, for years and through backups. A list reordered,
-- or an entry put anywhere but at its end, would make every stored event read
-- back as something else, and no round trip can see it (packing and unpacking
-- then agree with each other, not with what is on disk; the upgrade and backup
-- tests convert and read with the same library). So the codes are pinned
-- here, literally: change this file only by appending.
BEGIN;
SELECT plan(5);

CREATE TEMP TABLE run AS SELECT '00000000-0000-0000-0000-00000000000a'::uuid AS id;
CREATE TEMP TABLE codes AS
SELECT n, substr('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789', n, 1) AS c
  FROM generate_series(1, 62) n;

SELECT is((SELECT array_agg(durable._event_type(i::smallint, '{}') ORDER BY i) FROM generate_series(1, 49) i),
          ARRAY['WorkflowExecutionStarted', 'WorkflowTaskScheduled', 'WorkflowTaskStarted', 'WorkflowTaskCompleted',
                'ActivityTaskScheduled', 'ActivityTaskStarted', 'ActivityTaskCompleted', 'WorkflowExecutionCompleted',
                'ActivityTaskFailed', 'ActivityTaskTimedOut', 'ActivityTaskCancelRequested', 'ActivityTaskCanceled',
                'WorkflowTaskFailed', 'WorkflowTaskTimedOut', 'TimerStarted', 'TimerFired', 'TimerCanceled',
                'WorkflowExecutionSignaled', 'WorkflowExecutionFailed', 'WorkflowExecutionTimedOut',
                'WorkflowExecutionCanceled', 'WorkflowExecutionTerminated', 'WorkflowExecutionContinuedAsNew',
                'WorkflowExecutionCancelRequested', 'MarkerRecorded', 'UpsertWorkflowSearchAttributes',
                'StartChildWorkflowExecutionInitiated', 'StartChildWorkflowExecutionFailed',
                'ChildWorkflowExecutionStarted', 'ChildWorkflowExecutionCompleted', 'ChildWorkflowExecutionFailed',
                'ChildWorkflowExecutionCanceled', 'ChildWorkflowExecutionTimedOut', 'ChildWorkflowExecutionTerminated',
                'SignalExternalWorkflowExecutionInitiated', 'SignalExternalWorkflowExecutionFailed',
                'ExternalWorkflowExecutionSignaled', 'RequestCancelExternalWorkflowExecutionInitiated',
                'RequestCancelExternalWorkflowExecutionFailed', 'ExternalWorkflowExecutionCancelRequested',
                'WorkflowExecutionUpdateAccepted', 'WorkflowExecutionUpdateCompleted', 'WorkflowExecutionPaused',
                'WorkflowExecutionUnpaused', 'ActivityTaskPaused', 'ActivityTaskUnpaused', 'WorkflowPropertiesModified',
                'WorkflowExecutionOptionsUpdated', 'ActivityTaskOptionsUpdated'],
          'event type codes 1..49 read as they were stored');
SELECT is((SELECT array_agg(durable._event_code(durable._event_type(i::smallint, '{}')) ORDER BY i) FROM generate_series(1, 49) i),
          (SELECT array_agg(i::smallint ORDER BY i) FROM generate_series(1, 49) i),
          'and each type is written with its own code');

-- one-character attribute names: code n is the n-th name
SELECT is((SELECT array_agg((SELECT k FROM jsonb_object_keys(durable._event_attributes(r.id, 10, jsonb_build_object(c.c, 0))) k)
                             ORDER BY c.n)
             FROM codes c, run r WHERE c.n <= 58),
          ARRAY['identity', 'scheduled_event_id', 'attempt', 'task_queue', 'start_to_close_timeout', 'started_event_id',
                'workflow_task_completed_event_id', 'input', 'result', 'activity_type', 'workflow_type',
                'parent_initiated_event_id', 'last_failure', 'parent_workflow_id', 'workflow_task_timeout',
                'continued_execution_run_id', 'parent_run_id', 'retry_policy', 'workflow_execution_timeout',
                'search_attributes', 'heartbeat_timeout', 'schedule_to_start_timeout', 'activity_id',
                'schedule_to_close_timeout', 'first_execution_run_id', 'workflow_run_timeout', 'memo', 'failure',
                'details', 'reason', 'workflow_id', 'run_id', 'initiated_event_id', 'timer_id', 'start_to_fire_timeout',
                'signal_name', 'namespace', 'cause', 'message', 'retry_state', 'new_execution_run_id', 'update_id',
                'request_id', 'header', 'marker_name', 'timeout_type', 'priority', 'fairness_key', 'build_id', 'control',
                'parent_close_policy', 'timeout_at', 'started_at', 'scheduled_at', 'update_name', 'accepted_event_id',
                'external_workflow_id', 'external_run_id'],
          'attribute name codes a..5 read as they were stored');

-- (name, value) pairs: code n of "~" is the n-th pair, read in event 10 of run ...0a
SELECT is((SELECT array_agg(durable._event_attributes(r.id, 10, jsonb_build_object('~', c.c))::text ORDER BY c.n)
             FROM codes c, run r WHERE c.n <= 29),
          ARRAY['{"attempt": 1}', '{"identity": null}', '{"last_failure": null}', '{"parent_run_id": null}',
                '{"parent_workflow_id": null}', '{"parent_initiated_event_id": null}',
                '{"continued_execution_run_id": null}', '{"workflow_run_timeout": null}',
                '{"workflow_execution_timeout": null}', '{"heartbeat_timeout": null}',
                '{"schedule_to_close_timeout": null}', '{"schedule_to_start_timeout": null}', '{"memo": {}}',
                '{"search_attributes": {}}',
                '{"retry_policy": {"initial_interval": 1, "maximum_attempts": 0, "maximum_interval": 100, "backoff_coefficient": 2, "non_retryable_error_types": []}}',
                '{"start_to_close_timeout": 10}', '{"workflow_task_timeout": 10}',
                '{"first_execution_run_id": "00000000-0000-0000-0000-00000000000a"}', '{"input": null}',
                '{"result": null}', '{"failure": null}', '{"details": null}', '{"header": null}', '{"request_id": null}',
                '{"new_execution_run_id": null}', '{"scheduled_event_id": 9}', '{"scheduled_event_id": 8}',
                '{"started_event_id": 9}', '{"workflow_task_completed_event_id": 9}'],
          'attribute pair codes a..C read as they were stored');

-- a stored row as this release writes it, byte for byte (escapes included)
SELECT is(durable._event_attributes(r.id, 10,
              '{"b": 7, "~": "abB", "!x": 1, "!!y": 2, "!~": 3, "other": 4, "=x": 5}')::text,
          '{"x": 1, "~": 3, "!y": 2, "=x": 5, "other": 4, "attempt": 1, "identity": null, "started_event_id": 9, "scheduled_event_id": 7}',
          'a packed row with names, pairs, escaped and plain keys reads as stored')
  FROM run r;

SELECT * FROM finish();
ROLLBACK;
