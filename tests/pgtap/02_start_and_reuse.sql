-- Starting workflows: the first events, id reuse policies, signal_with_start,
-- and validation of the start arguments and options.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE FUNCTION pg_temp.runs(wid text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM durable.workflows WHERE workflow_id = wid AND namespace = 'default'
$$;
-- Leases the one workflow task of the queue and completes it with commands.

-- A new run ------------------------------------------------------------
CREATE TEMP TABLE r1 AS SELECT durable.start_workflow('s-1', 'Order', 's-q', '{"n": 1}',
    '{"memo": {"owner": "ann"}, "search_attributes": {"CustomerId": "c7"}, "identity": "cli"}') AS run_id;
SELECT isnt((SELECT run_id FROM r1), NULL, 'start_workflow returns the run id');
SELECT is(pg_temp.types('s-1'), ARRAY['WorkflowExecutionStarted', 'WorkflowTaskScheduled'],
          'a new run has WorkflowExecutionStarted and WorkflowTaskScheduled');
SELECT is((SELECT attributes FROM durable.get_history('s-1') WHERE event_id = 1)
              - 'first_execution_run_id',
          jsonb_build_object('workflow_type', 'Order', 'task_queue', 's-q', 'input', '{"n": 1}'::jsonb,
              'workflow_execution_timeout', NULL, 'workflow_run_timeout', NULL, 'workflow_task_timeout', 10,
              'continued_execution_run_id', NULL, 'parent_workflow_id', NULL, 'parent_run_id', NULL,
              'parent_initiated_event_id', NULL, 'memo', '{"owner": "ann"}'::jsonb,
              'search_attributes', '{"CustomerId": "c7"}'::jsonb, 'identity', 'cli', 'attempt', 1),
          'WorkflowExecutionStarted carries type, queue, input, timeouts, memo, search attributes, attempt 1');
SELECT is((SELECT attributes FROM durable.get_history('s-1') WHERE event_id = 2),
          '{"task_queue": "s-q", "start_to_close_timeout": 10, "attempt": 1}'::jsonb,
          'WorkflowTaskScheduled names the queue, the task timeout and attempt 1');
SELECT is((SELECT (d ->> 'run_id')::uuid FROM durable.describe_workflow('s-1') d), (SELECT run_id FROM r1),
          'describe_workflow finds the run');
SELECT is((SELECT d -> 'memo' FROM durable.describe_workflow('s-1') d), '{"owner": "ann"}'::jsonb, 'memo is kept');
SELECT is((SELECT d -> 'search_attributes' FROM durable.describe_workflow('s-1') d),
          '{"CustomerId": "c7"}'::jsonb, 'search attributes are kept');
SELECT is((SELECT d ->> 'first_run_id' FROM durable.describe_workflow('s-1') d), (SELECT run_id::text FROM r1),
          'the first run is its own first_run_id');

-- Already started (DU002) ---------------------------------------------------
SELECT throws_ok($$SELECT durable.start_workflow('s-1', 'Order', 's-q')$$, 'DU002',
                 'workflow "s-1" already started', 'a second start of a running id is refused (DU002)');
SELECT throws_ok($$SELECT durable.start_workflow('s-1', 'Order', 's-q', NULL, '{"id_reuse_policy": "REJECT_DUPLICATE"}')$$,
                 'DU002', NULL, 'REJECT_DUPLICATE refuses a running id');
SELECT throws_ok($$SELECT durable.start_workflow('s-1', 'Order', 's-q', NULL, '{"id_reuse_policy": "ALLOW_DUPLICATE_FAILED_ONLY"}')$$,
                 'DU002', NULL, 'ALLOW_DUPLICATE_FAILED_ONLY refuses a running id');
SELECT is(pg_temp.runs('s-1'), 1::bigint, 'the refused starts created nothing');
SELECT is(pg_temp.types('s-1'), ARRAY['WorkflowExecutionStarted', 'WorkflowTaskScheduled'],
          'the refused starts left the history alone');

-- The same id in another namespace is another workflow
SELECT isnt(durable.start_workflow('s-1', 'Order', 's-q', namespace => 'other'), NULL,
            'the same workflow id starts in another namespace');
SELECT is((SELECT d ->> 'namespace' FROM durable.describe_workflow('s-1', namespace => 'other') d), 'other',
          'and is described there');

-- ALLOW_DUPLICATE (the default) after a close ---------------------------------
SELECT pg_temp.complete('s-q', '[{"type": "CompleteWorkflowExecution", "result": 1}]');
SELECT is(durable.describe_workflow('s-1') ->> 'status', 'COMPLETED', 's-1 completed');
CREATE TEMP TABLE r2 AS SELECT durable.start_workflow('s-1', 'Order', 's-q') AS run_id;
SELECT isnt((SELECT run_id FROM r2), (SELECT run_id FROM r1), 'ALLOW_DUPLICATE starts a new run after a close');
SELECT is((SELECT (d ->> 'run_id')::uuid FROM durable.describe_workflow('s-1') d), (SELECT run_id FROM r2),
          'describe_workflow without run_id shows the latest run');
SELECT is((SELECT d ->> 'status' FROM durable.describe_workflow('s-1', (SELECT run_id FROM r1)) d), 'COMPLETED',
          'the earlier run is still there by run_id');
SELECT is((SELECT d ->> 'first_run_id' FROM durable.describe_workflow('s-1') d), (SELECT run_id::text FROM r2),
          'a fresh start is not linked to the earlier run');

-- REJECT_DUPLICATE after a close
SELECT durable.terminate_workflow('s-1', 'test');
SELECT throws_ok($$SELECT durable.start_workflow('s-1', 'Order', 's-q', NULL, '{"id_reuse_policy": "REJECT_DUPLICATE"}')$$,
                 'DU002', NULL, 'REJECT_DUPLICATE refuses an id that already ran');
SELECT is(pg_temp.runs('s-1'), 2::bigint, 'and creates nothing');

-- ALLOW_DUPLICATE_FAILED_ONLY: allowed after TERMINATED, refused after COMPLETED
SELECT lives_ok($$SELECT durable.start_workflow('s-1', 'Order', 's-q', NULL, '{"id_reuse_policy": "ALLOW_DUPLICATE_FAILED_ONLY"}')$$,
                'ALLOW_DUPLICATE_FAILED_ONLY starts after a TERMINATED run');
SELECT pg_temp.complete('s-q', '[{"type": "FailWorkflowExecution", "failure": {"message": "boom"}}]');
SELECT lives_ok($$SELECT durable.start_workflow('s-1', 'Order', 's-q', NULL, '{"id_reuse_policy": "ALLOW_DUPLICATE_FAILED_ONLY"}')$$,
                'ALLOW_DUPLICATE_FAILED_ONLY starts after a FAILED run');
SELECT pg_temp.complete('s-q', '[{"type": "CompleteWorkflowExecution"}]');
SELECT throws_ok($$SELECT durable.start_workflow('s-1', 'Order', 's-q', NULL, '{"id_reuse_policy": "ALLOW_DUPLICATE_FAILED_ONLY"}')$$,
                 'DU002', NULL, 'ALLOW_DUPLICATE_FAILED_ONLY refuses after a COMPLETED run');
SELECT is(pg_temp.runs('s-1'), 4::bigint, 'four runs of s-1 exist');

-- TERMINATE_IF_RUNNING
CREATE TEMP TABLE r5 AS SELECT durable.start_workflow('s-1', 'Order', 's-q') AS run_id;
CREATE TEMP TABLE r6 AS SELECT durable.start_workflow('s-1', 'Order', 's-q', NULL, '{"id_reuse_policy": "TERMINATE_IF_RUNNING"}') AS run_id;
SELECT is((SELECT d ->> 'status' FROM durable.describe_workflow('s-1', (SELECT run_id FROM r5)) d), 'TERMINATED',
          'TERMINATE_IF_RUNNING terminates the running run');
SELECT is((pg_temp.types('s-1', (SELECT run_id FROM r5)))[3], 'WorkflowExecutionTerminated',
          'which ends with WorkflowExecutionTerminated');
SELECT is((SELECT d ->> 'status' FROM durable.describe_workflow('s-1') d), 'RUNNING', 'and the new run is RUNNING');
SELECT is((SELECT count(*) FROM durable.workflow_tasks t JOIN r5 USING (run_id)), 0::bigint,
          'the terminated run has no workflow task left');
SELECT lives_ok($$SELECT durable.start_workflow('s-2', 'Order', 's-q', NULL, '{"id_reuse_policy": "TERMINATE_IF_RUNNING"}')$$,
                'TERMINATE_IF_RUNNING starts an id that never ran');

-- signal_with_start ------------------------------------------------------
CREATE TEMP TABLE sws AS SELECT durable.signal_with_start('sws-1', 'Order', 's-q', 'go', '{"x": 1}', '{"in": 2}') AS run_id;
SELECT is(pg_temp.types('sws-1'), ARRAY['WorkflowExecutionStarted', 'WorkflowExecutionSignaled', 'WorkflowTaskScheduled'],
          'signal_with_start on a new id: started, signaled, then one workflow task');
SELECT is((SELECT attributes ->> 'signal_name' FROM durable.get_history('sws-1') WHERE event_id = 2), 'go',
          'the signal has its name');
SELECT is((SELECT attributes -> 'input' FROM durable.get_history('sws-1') WHERE event_id = 2), '{"x": 1}'::jsonb,
          'and its input');
SELECT is(durable.signal_with_start('sws-1', 'Order', 's-q', 'again', '3'), (SELECT run_id FROM sws),
          'signal_with_start on a running id signals that run');
SELECT is(pg_temp.types('sws-1'), ARRAY['WorkflowExecutionStarted', 'WorkflowExecutionSignaled', 'WorkflowTaskScheduled',
                                        'WorkflowExecutionSignaled'],
          'the second signal is appended, with no second workflow task');
SELECT is((SELECT count(*) FROM durable.workflow_tasks JOIN sws USING (run_id)), 1::bigint, 'still one workflow task');
SELECT durable.terminate_workflow('sws-1');
SELECT throws_ok($$SELECT durable.signal_with_start('sws-1', 'Order', 's-q', 'go', NULL, NULL, '{"id_reuse_policy": "REJECT_DUPLICATE"}')$$,
                 'DU002', NULL, 'signal_with_start honours REJECT_DUPLICATE for a closed id');
SELECT isnt(durable.signal_with_start('sws-1', 'Order', 's-q', 'go'), (SELECT run_id FROM sws),
            'signal_with_start starts a new run for a closed id under ALLOW_DUPLICATE');
SELECT throws_ok($$SELECT durable.signal_with_start('sws-2', 'Order', 's-q', '')$$, '22023', NULL,
                 'signal_with_start needs a signal name');

-- Timeouts in options ---------------------------------------------------------
SELECT durable.start_workflow('t-1', 'Order', 's-q', NULL,
    '{"execution_timeout": "1 day", "run_timeout": 3600, "task_timeout": 5}');
SELECT is((SELECT (d ->> 'run_timeout')::float8 FROM durable.describe_workflow('t-1') d), 3600::float8,
          'run_timeout in seconds');
SELECT is((SELECT (d ->> 'execution_timeout')::float8 FROM durable.describe_workflow('t-1') d), 86400::float8,
          'execution_timeout as an interval string');
SELECT is((SELECT (d ->> 'task_timeout')::float8 FROM durable.describe_workflow('t-1') d), 5::float8, 'task_timeout');
SELECT ok((SELECT (d ->> 'deadline_at')::timestamptz - (d ->> 'started_at')::timestamptz
             FROM durable.describe_workflow('t-1') d) = interval '1 hour',
          'the deadline is the earlier of the run and execution timeouts');
SELECT durable.start_workflow('t-0', 'Order', 's-q', NULL, '{"execution_timeout": 0, "run_timeout": 0}');
SELECT is((SELECT d -> 'deadline_at' FROM durable.describe_workflow('t-0') d), 'null'::jsonb,
          'a zero timeout means "not set", as in Temporal');
SELECT is((SELECT d -> 'execution_timeout' FROM durable.describe_workflow('t-0') d), 'null'::jsonb,
          'and is shown as null');

-- Bad arguments and options: 22023 (or 54000 for oversized names), nothing created
CREATE TEMP TABLE before AS SELECT count(*) AS n FROM durable.workflows;
SELECT throws_ok($$SELECT durable.start_workflow('', 'Order', 's-q')$$, '22023', NULL, 'empty workflow_id');
SELECT throws_ok($$SELECT durable.start_workflow(NULL, 'Order', 's-q')$$, '22023', NULL, 'NULL workflow_id');
SELECT throws_ok($$SELECT durable.start_workflow('b', '', 's-q')$$, '22023', NULL, 'empty workflow_type');
SELECT throws_ok($$SELECT durable.start_workflow('b', 'Order', NULL)$$, '22023', NULL, 'NULL task_queue');
SELECT throws_ok($$SELECT durable.start_workflow('a/b', 'Order', 's-q')$$, '22023',
                 'workflow_id must not be empty, "." or "..", nor contain "/" or control characters', 'a "/" in workflow_id');
SELECT throws_ok($$SELECT durable.start_workflow(E'a\nb', 'Order', 's-q')$$, '22023', NULL, 'a newline in workflow_id');
SELECT throws_ok($$SELECT durable.start_workflow(repeat('x', 256), 'Order', 's-q')$$, '54000', NULL,
                 'a workflow_id over 255 bytes');
SELECT throws_ok($$SELECT durable.start_workflow('b', 'Order', 's-q', NULL, '{"color": "red"}')$$, '22023',
                 'start options has an unknown field "color"', 'an unknown option');
SELECT throws_ok($$SELECT durable.start_workflow('b', 'Order', 's-q', NULL, '[]')$$, '22023',
                 'start options must be a JSON object', 'options that are not an object');
SELECT throws_ok($$SELECT durable.start_workflow('b', 'Order', 's-q', NULL, '{"id_reuse_policy": "SOMETIMES"}')$$, '22023',
                 'unknown id_reuse_policy "SOMETIMES"', 'an unknown id reuse policy');
SELECT throws_ok($$SELECT durable.start_workflow('b', 'Order', 's-q', NULL, '{"id_reuse_policy": 1}')$$, '22023',
                 NULL, 'an id reuse policy that is not a string');
SELECT throws_ok($$SELECT durable.start_workflow('b', 'Order', 's-q', NULL, '{"task_timeout": 0}')$$, '22023',
                 NULL, 'a zero task timeout');
SELECT throws_ok($$SELECT durable.start_workflow('b', 'Order', 's-q', NULL, '{"run_timeout": -5}')$$, '22023',
                 NULL, 'a negative run timeout');
SELECT throws_ok($$SELECT durable.start_workflow('b', 'Order', 's-q', NULL, '{"run_timeout": "soon"}')$$, '22023',
                 NULL, 'a run timeout that is not a duration');
SELECT throws_ok($$SELECT durable.start_workflow('b', 'Order', 's-q', NULL, '{"run_timeout": true}')$$, '22023',
                 NULL, 'a run timeout of the wrong JSON type');
SELECT throws_ok($$SELECT durable.start_workflow('b', 'Order', 's-q', NULL, '{"run_timeout": "100000000 years"}')$$, '22023',
                 'start options: "run_timeout" is longer than 100 years', 'a run timeout past the end of time');
SELECT throws_ok($$SELECT durable.start_workflow('b', 'Order', 's-q', NULL, '{"execution_timeout": 1e15}')$$, '22023',
                 NULL, 'an execution timeout in seconds past the end of time');
SELECT lives_ok($$SELECT durable.start_workflow('long', 'Order', 's-q', NULL, '{"execution_timeout": "10 years"}')$$,
                'a ten-year execution timeout is fine');
SELECT throws_ok($$SELECT durable.start_workflow('b', 'Order', 's-q', NULL, '{"memo": [1]}')$$, '22023',
                 NULL, 'a memo that is not an object');
SELECT throws_ok($$SELECT durable.start_workflow('b', 'Order', 's-q', NULL, '{"search_attributes": "x"}')$$, '22023',
                 NULL, 'search attributes that are not an object');
SELECT throws_ok($$SELECT durable.start_workflow('b', 'Order', 's-q', namespace => NULL)$$, '22023', NULL, 'a NULL namespace');
SELECT throws_ok($$SELECT durable.start_workflow('b', 'Order', 's-q', namespace => '')$$, '22023', NULL, 'an empty namespace');
SELECT throws_ok($$SELECT durable.start_workflow('b', 'Order', 's-q', namespace => 'a/b')$$, '22023', NULL,
                 'a "/" in the namespace (queries are routed by namespace/queue)');
SELECT throws_ok($$SELECT durable.signal_with_start('b', 'Order', 's-q', 'sig', namespace => 'a/b')$$, '22023', NULL,
                 'signal_with_start checks the namespace too');
SELECT throws_ok($$SELECT durable.start_workflow('b', 'Order', 's-q', namespace => repeat('n', 256))$$, '54000', NULL,
                 'a namespace over 255 bytes');
SELECT is((SELECT count(*) FROM durable.workflows), (SELECT n FROM before) + 1, 'no bad start created a run (only the ten-year one)');

SELECT * FROM finish();
ROLLBACK;
