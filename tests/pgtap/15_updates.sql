-- Workflow Update in SQL: argument checks, no worker (DU005, nothing
-- recorded), the CompleteWorkflowUpdate command, an update id that was
-- accepted already answering without a worker, a failed update (DU009), a
-- forged acceptance refused (DU004, nothing recorded). The round trip with a
-- real worker is worker/tests/e2e/t_update.sh.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

SELECT durable.start_workflow('u-1', 'Cart', 'u-1');
SELECT pg_temp.complete('u-1', '[]');
SELECT throws_ok($$SELECT durable.update_workflow('u-1', 'add', '{"qty": 1}', timeout_ms => 50)$$, 'DU005', NULL,
                 'with no worker an update fails as a query does (DU005)');
SELECT is((SELECT count(*) FROM durable.get_history('u-1') WHERE event_type LIKE 'WorkflowExecutionUpdate%'), 0::bigint,
          'and nothing is recorded');
SELECT throws_ok($$SELECT durable.update_workflow('u-1', '')$$, '22023', NULL, 'an empty update name');
SELECT throws_ok($$SELECT durable.update_workflow('u-1', NULL)$$, '22023', NULL, 'a NULL update name');
SELECT throws_ok($$SELECT durable.update_workflow('u-1', 'add', update_id => '')$$, '22023', NULL, 'an empty update id');
SELECT throws_ok($$SELECT durable.update_workflow('u-1', 'add', timeout_ms => 0)$$, '22023', NULL, 'a zero timeout');
SELECT throws_ok($$SELECT durable.update_workflow('u-1', 'add', timeout_ms => NULL)$$, '22023', NULL, 'a NULL timeout');
SELECT throws_ok($$SELECT durable.update_workflow('u-1', 'add', timeout_ms => 600001)$$, '22023', NULL, 'over ten minutes');
SELECT throws_ok($$SELECT durable.update_workflow('u-1', repeat('n', 300))$$, '54000', NULL, 'a name over 255 bytes (54000)');
SELECT throws_ok($$SELECT durable.update_workflow('u-1', 'add', to_jsonb(repeat('x', 3000000)))$$, '54000', NULL,
                 'arguments over the payload limit (54000)');
SELECT throws_ok($$SELECT durable.update_workflow('nobody', 'add')$$, 'DU001', NULL, 'an unknown workflow (DU001)');
SELECT throws_ok($$SELECT durable.query_workflow('u-1', '__update', timeout_ms => 50)$$, '22023', 'query_type "__update" is reserved',
                 'the validation query type is reserved');

-- A forged acceptance: the token must be one a poll handed out.
SELECT throws_ok(format($$SELECT durable.accept_update_task('q' || md5('guessed'), %L, 'f1', 'add', '{}')$$,
                        (SELECT run_id FROM durable.workflows WHERE workflow_id = 'u-1')),
                 'DU004', NULL, 'an acceptance with a token nobody handed out is refused (DU004)');
SELECT is((SELECT count(*) FROM durable.get_history('u-1') WHERE event_type LIKE 'WorkflowExecutionUpdate%'), 0::bigint,
          'and its event is rolled back');
SELECT throws_ok($$SELECT durable.accept_update_task(NULL, NULL, 'f1', 'add')$$, '22023', NULL, 'acceptance needs its arguments');

-- An accepted update (as accept_update_task records it) and its completion.
SELECT durable._deliver((SELECT run_id FROM durable.workflows WHERE workflow_id = 'u-1'), 'WorkflowExecutionUpdateAccepted',
                        '{"update_id": "x1", "update_name": "add", "input": {"qty": 4}}');
SELECT throws_ok($$SELECT pg_temp.complete('u-1', '[{"type": "CompleteWorkflowUpdate", "update_id": "x2", "result": 1}]')$$,
                 '22023', $$CompleteWorkflowUpdate: update 'x2' was not accepted in this run$$, 'only accepted updates complete');
SELECT throws_ok($$SELECT pg_temp.complete('u-1', '[{"type": "CompleteWorkflowUpdate", "update_id": "x1", "failure": 3}]')$$,
                 '22023', NULL, 'a failure must be an object');
SELECT throws_ok($$SELECT pg_temp.complete('u-1', '[{"type": "CompleteWorkflowUpdate", "update_id": "x1", "bogus": 3}]')$$,
                 '22023', NULL, 'unknown keys are refused');
SELECT lives_ok($$SELECT pg_temp.complete('u-1', '[{"type": "CompleteWorkflowUpdate", "update_id": "x1", "result": 40}]')$$,
                'CompleteWorkflowUpdate');
SELECT is(pg_temp.event('u-1', 'WorkflowExecutionUpdateCompleted'),
          jsonb_build_object('update_id', 'x1', 'result', 40,
                             'accepted_event_id', pg_temp.event_id('u-1', 'WorkflowExecutionUpdateAccepted'),
                             'workflow_task_completed_event_id', pg_temp.event_id('u-1', 'WorkflowTaskCompleted')),
          'WorkflowExecutionUpdateCompleted names the update, its result and its acceptance');
SELECT is(durable.update_workflow('u-1', 'add', '{"qty": 99}', 'x1', timeout_ms => 50), '40'::jsonb,
          'an update id accepted already returns its first result, with no worker and no new run');
SELECT is((SELECT count(*) FROM durable.get_history('u-1') WHERE event_type = 'WorkflowExecutionUpdateAccepted'), 1::bigint,
          'and is not accepted twice');

SELECT durable._deliver((SELECT run_id FROM durable.workflows WHERE workflow_id = 'u-1'), 'WorkflowExecutionUpdateAccepted',
                        '{"update_id": "x3", "update_name": "add", "input": null}');
SELECT throws_ok($$SELECT durable.update_workflow('u-1', 'add', update_id => 'x3', timeout_ms => 50)$$, 'DU010', NULL,
                 'accepted but not completed in time (DU010)');
SELECT lives_ok($$SELECT pg_temp.complete('u-1', '[{"type": "CompleteWorkflowUpdate", "update_id": "x3",
                  "failure": {"message": "out of stock", "type": "Stock"}}]')$$, 'a failed update');
SELECT throws_ok($$SELECT durable.update_workflow('u-1', 'add', update_id => 'x3', timeout_ms => 50)$$, 'DU009', NULL,
                 'its caller gets DU009');
SELECT durable.signal_workflow('u-1', 'poke');   -- a workflow task to try with
SELECT throws_ok($$SELECT pg_temp.complete('u-1', '[{"type": "CompleteWorkflowUpdate", "update_id": "x3", "result": 1}]')$$,
                 '22023', NULL, 'an update completes once');

SELECT durable.terminate_workflow('u-1');
SELECT throws_ok($$SELECT durable.update_workflow('u-1', 'add', update_id => 'new')$$, 'DU003', NULL,
                 'a closed workflow takes no new update (DU003)');
SELECT is(durable.update_workflow('u-1', 'add', update_id => 'x1'), '40'::jsonb, 'but a completed one still answers');

SELECT * FROM finish();
ROLLBACK;
