-- complete_workflow_tasks: many outcomes in one transaction, each item on
-- its own, a bad or stale one reported without undoing the others.
BEGIN;
SELECT * FROM no_plan();

SELECT durable.start_workflow('bw-' || i, 'B', 'bw-q') FROM generate_series(1, 4) i;
CREATE TEMP TABLE t AS SELECT * FROM durable.poll_workflow_tasks('bw-q', 'tester', 10);
SELECT is((SELECT count(*) FROM t), 4::bigint, 'four tasks leased');

CREATE TEMP TABLE r AS SELECT * FROM durable.complete_workflow_tasks(jsonb_build_array(
    jsonb_build_object('task_token', (SELECT task_token FROM t WHERE workflow_id = 'bw-1'),
                       'commands', '[{"type": "CompleteWorkflowExecution", "result": 1}]'::jsonb),
    jsonb_build_object('task_token', (SELECT task_token FROM t WHERE workflow_id = 'bw-2'),
                       'commands', '[{"type": "NoSuchCommand"}]'::jsonb),
    jsonb_build_object('task_token', (SELECT task_token FROM t WHERE workflow_id = 'bw-3'),
                       'cause', 'NON_DETERMINISTIC_ERROR', 'failure', '{"message": "event 5 differs"}'::jsonb),
    jsonb_build_object('task_token', 'w999999.1', 'commands', '[]'::jsonb),
    jsonb_build_object('task_token', (SELECT task_token FROM t WHERE workflow_id = 'bw-4'),
                       'commands', '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 60}]'::jsonb),
    '"not an object"'::jsonb), 'batcher');

SELECT is((SELECT array_agg(outcome) FROM r), ARRAY['COMPLETED', 'INVALID', 'FAILED', 'LEASE_LOST', 'COMPLETED', 'INVALID'],
          'one outcome per item, in order');
SELECT is(durable.describe_workflow('bw-1') ->> 'status', 'COMPLETED', 'the good completion applied');
SELECT is((SELECT event_type FROM durable.get_history('bw-3') ORDER BY event_id DESC LIMIT 1), 'WorkflowTaskFailed',
          'the failure applied');
SELECT is((SELECT count(*) FROM durable.timers WHERE timer_id = 't'), 1::bigint, 'an item after a bad one applied');
SELECT is(durable.describe_workflow('bw-2') -> 'pending_workflow_task' ->> 'state', 'STARTED',
          'the bad item changed nothing: its task is still leased');
SELECT is((SELECT count(*) FROM durable.get_history('bw-2') WHERE event_type = 'WorkflowTaskCompleted'), 0::bigint,
          'and no WorkflowTaskCompleted was written for it');
SELECT matches((SELECT error FROM r WHERE outcome = 'INVALID' LIMIT 1), 'unknown command type', 'the error says why');
SELECT is((SELECT attributes ->> 'identity' FROM durable.get_history('bw-1') WHERE event_type = 'WorkflowTaskCompleted'),
          'batcher', 'the identity is recorded');
SELECT throws_ok($$SELECT * FROM durable.complete_workflow_tasks('{}')$$, '22023', 'completions must be a JSON array',
                 'the batch itself must be an array');

SELECT * FROM finish();
ROLLBACK;
