-- Batch jobs: starting one fixes its runs; steps act on them at the job's
-- rate, record each outcome, and finish; bad jobs are refused and change
-- nothing; a stopped job stops. (The timer worker takes the steps in a real
-- store; here the test takes them itself, inside its transaction, and moves
-- the clock with skip_time. tests/batch restarts a server in the middle.)
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

SELECT durable.start_workflow('bj-' || i, 'Batch', 'bjq', NULL, '{}', 'bj') FROM generate_series(1, 5) i;
SELECT durable.start_workflow('bj-other', 'Other', 'bjq', NULL, '{}', 'bj');

-- Refused, changing nothing
SELECT throws_ok($$SELECT durable.start_batch_job('x', 'explode', '', '{}', 10, 'bj')$$, '22023',
                 'unknown batch operation ''explode''', 'an unknown operation');
SELECT throws_ok($$SELECT durable.start_batch_job('x', 'signal', '', '{}', 10, 'bj')$$, '22023',
                 'a signal batch job needs "signal_name"', 'a signal without a name');
SELECT throws_ok($$SELECT durable.start_batch_job('x', 'signal', '', '{"signal_name": "go", "colour": 1}', 10, 'bj')$$, '22023',
                 NULL, 'an unknown argument');
SELECT throws_ok($$SELECT durable.start_batch_job('x', 'reset', '', '{}', 10, 'bj')$$, '22023', NULL, 'a reset without a reset_type');
SELECT throws_ok($$SELECT durable.start_batch_job('x', 'cancel', '', '{}', 0, 'bj')$$, '22023',
                 'rate_per_second must be above 0 and at most 100000', 'a rate of 0');
SELECT throws_ok($$SELECT durable.start_batch_job('x', 'cancel', $q$WorkflowType = 'Batch'; DROP TABLE durable.workflows$q$, '{}', 10, 'bj')$$,
                 '42601', NULL, 'a bad filter');
SELECT throws_ok($$SELECT durable.start_batch_job('a/b', 'cancel', '', '{}', 10, 'bj')$$, '22023', NULL, 'a job id with a slash');
SELECT throws_ok($$SELECT durable.start_batch_job('x', 'cancel', NULL, '{}', 10, 'bj')$$, '22023', NULL, 'a NULL query');
SELECT throws_ok($$SELECT durable.start_batch_job('start', 'cancel', '', '{}', 10, 'bj')$$, '22023',
                 'job_id "start" is reserved', 'the id of the mount''s start file');
SELECT is((SELECT count(*) FROM durable.batch_jobs WHERE namespace = 'bj'), 0::bigint, 'refused jobs left no job');
SELECT is((SELECT count(*) FROM durable.batch_job_items WHERE namespace = 'bj'), 0::bigint, 'and no runs to act on');
SELECT is(pg_temp.as_role('durable_worker', $$SELECT durable.start_batch_job('x', 'cancel', '', '{}', 10, 'bj')$$), '42501',
          'a worker may not start one');

-- A signal to every Batch workflow, at one every 100 seconds
SELECT is(durable.start_batch_job('sig', 'signal', $$WorkflowType = 'Batch'$$, '{"signal_name": "go", "input": {"n": 1}}', 0.01, 'bj'),
          5::bigint, 'start_batch_job returns how many runs matched');
SELECT throws_ok($$SELECT durable.start_batch_job('sig', 'cancel', '', '{}', 10, 'bj')$$, '42710', NULL, 'a second job with the id');
SELECT is(durable.describe_batch_job('sig', 'bj') ->> 'state', 'RUNNING', 'it runs');
SELECT isnt(durable._batch_step(2), NULL, 'a step says when the next one is due');
SELECT is((durable.describe_batch_job('sig', 'bj') ->> 'done')::int, 1, 'a step at a low rate signals one');
SELECT is((SELECT next_step_at - updated_at FROM durable.batch_jobs WHERE job_id = 'sig'), interval '100 seconds',
          'and the next step comes 1 / 0.01 s later: the job''s rate');
SELECT is(durable._batch_step(2), (SELECT next_step_at FROM durable.batch_jobs WHERE job_id = 'sig'),
          'a step before then does nothing');
SELECT is((durable.describe_batch_job('sig', 'bj') ->> 'done')::int, 1, 'nothing');
SELECT durable.terminate_workflow('bj-5', 'gone', namespace => 'bj');
SELECT durable.skip_time('101 seconds'), durable._batch_step(2) FROM generate_series(1, 3);
SELECT durable.skip_time('101 seconds');
SELECT is(durable._batch_step(2), NULL, 'the last step leaves no job running');
SELECT is((SELECT ROW(state, total, done, failed)::text FROM durable.batch_jobs WHERE job_id = 'sig'),
          ROW('COMPLETED', 5, 4, 1)::text, 'completed: four signalled, one failed');
SELECT is(durable.describe_batch_job('sig', 'bj') -> 'failures' -> 0 ->> 'workflow_id', 'bj-5', 'the failure names the workflow');
SELECT is(durable.describe_batch_job('sig', 'bj') -> 'failures' -> 0 ->> 'error', 'workflow "bj-5" is not running', 'and why');
SELECT is((SELECT array_agg(w.workflow_id || ':' || (SELECT count(*) FROM durable.history h
                                                        WHERE h.run_id = w.run_id AND h.event_type = 'WorkflowExecutionSignaled'
                                                          AND h.attributes ->> 'identity' = 'batch job sig'
                                                          AND h.attributes -> 'input' = '{"n": 1}')
                     ORDER BY w.workflow_id)
             FROM durable.workflows w WHERE w.namespace = 'bj'),
          ARRAY['bj-1:1', 'bj-2:1', 'bj-3:1', 'bj-4:1', 'bj-5:0', 'bj-other:0'],
          'each matching running workflow got the signal once, with the job as its sender');
SELECT is((SELECT array_agg(job_id || ':' || state) FROM durable.list_batch_jobs('bj')), ARRAY['sig:COMPLETED'], 'list_batch_jobs');
SELECT is(durable.stop_batch_job('sig', NULL, 'bj'), false, 'stopping a completed job changes nothing');

-- Stopping
SELECT is(durable.start_batch_job('slow', 'cancel', $$ExecutionStatus = 'Running'$$, '{"reason": "maintenance"}', 1, 'bj'),
          5::bigint, 'a slow cancel of the five running workflows');
SELECT durable._batch_step(100);
SELECT is((durable.describe_batch_job('slow', 'bj') ->> 'done')::int, 1, 'a rate of 1 per second acts on one a step');
SELECT is(durable.stop_batch_job('slow', 'changed my mind', 'bj'), true, 'stop it');
SELECT durable.skip_time('1 minute');
SELECT is(durable._batch_step(100), NULL, 'a stopped job takes no more steps');
SELECT is((SELECT ROW(state, done, reason)::text FROM durable.batch_jobs WHERE job_id = 'slow'),
          ROW('STOPPED', 1, 'changed my mind')::text, 'it stays stopped, with the reason');
SELECT is((SELECT count(*) FROM durable.workflows WHERE namespace = 'bj' AND cancel_requested), 1::bigint,
          'only the first workflow was asked to cancel');
SELECT throws_ok($$SELECT durable.stop_batch_job('nope', NULL, 'bj')$$, '42704', NULL, 'an unknown job');

-- Terminate and reset
SELECT pg_temp.complete('bjq', '[]', 'bj');   -- bj-1's first workflow task completes
SELECT is(durable.start_batch_job('reset', 'reset', $$WorkflowId = 'bj-1'$$, '{"reset_type": "LastWorkflowTask"}', 100, 'bj'),
          1::bigint, 'reset bj-1 to its last workflow task');
SELECT durable._batch_step(100);
SELECT is((SELECT count(*) FROM durable.list_runs('bj-1', 'bj')), 2::bigint, 'a new run');
SELECT is(durable.start_batch_job('noreset', 'reset', $$WorkflowId = 'bj-2'$$, '{"reset_type": "FirstWorkflowTask"}', 100, 'bj'),
          1::bigint, 'reset bj-2, which never completed a workflow task');
SELECT durable._batch_step(100);
SELECT is(durable.describe_batch_job('noreset', 'bj') -> 'failures' -> 0 ->> 'error',
          format('run %s has no completed workflow task to reset to', (SELECT run_id FROM durable.workflows WHERE workflow_id = 'bj-2')),
          'fails, saying why');
SELECT is(durable.start_batch_job('term', 'terminate', $$WorkflowType = 'Other'$$, '{"reason": "cleanup"}', 100, 'bj'), 1::bigint,
          'terminate the Other workflow');
SELECT durable._batch_step(100);
SELECT is((SELECT status FROM durable.workflows WHERE workflow_id = 'bj-other'), 'TERMINATED', 'terminated');
-- Pause and unpause
SELECT is(durable.start_batch_job('pause', 'pause', $$WorkflowId IN ('bj-3', 'bj-4')$$, '{"reason": "incident 7"}', 100, 'bj'),
          2::bigint, 'pause two workflows');
SELECT durable._batch_step(100);
SELECT is((SELECT array_agg(h.attributes ->> 'reason' ORDER BY w.workflow_id) FROM durable.history h JOIN durable.workflows w USING (run_id)
            WHERE w.namespace = 'bj' AND h.event_type = 'WorkflowExecutionPaused'),
          ARRAY['incident 7', 'incident 7'], 'both paused, with the reason');
SELECT is(durable.start_batch_job('unpause', 'unpause', $$WorkflowId IN ('bj-3', 'bj-4')$$, '{}', 100, 'bj'), 2::bigint, 'unpause them');
SELECT durable._batch_step(100);
SELECT is((SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
            WHERE w.namespace = 'bj' AND h.event_type = 'WorkflowExecutionUnpaused'), 2::bigint, 'both unpaused');

SELECT is(durable.start_batch_job('none', 'terminate', $$WorkflowType = 'Nothing'$$, '{}', 100, 'bj'), 0::bigint,
          'a job that matches nothing');
SELECT is(durable.describe_batch_job('none', 'bj') ->> 'state', 'COMPLETED', 'is complete at once');

SELECT * FROM finish();
ROLLBACK;
