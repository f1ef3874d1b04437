-- poll_workflow_tasks leases a batch set-wise (api/05_workflow_tasks.sql):
-- one re-read of the picked tasks, one UPDATE of all their rows, one query
-- that renders their histories. Each task must still get its own values:
-- twin runs, one set leased in one batch and the other one task a poll,
-- leave the same rows, tokens, events and histories; a batch that mixes a
-- transient attempt, priorities and task timeouts keeps each task's own.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- Three runs per side: priority 3 (the default) with a 5 s task timeout,
-- made a transient attempt (failed once, its backoff over), then priority 2
-- with 7 s and priority 1 with 20 s.
CREATE FUNCTION pg_temp.make(side text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM durable.start_workflow(side || '-c', 'W', side || '-q', '3', '{"task_timeout": 5}');
    PERFORM durable.fail_workflow_task((SELECT task_token FROM durable.poll_workflow_tasks(side || '-q', 'setup', 1)));
    PERFORM durable.start_workflow(side || '-a', 'W', side || '-q', '1', '{"priority": 2, "task_timeout": 7}');
    PERFORM durable.start_workflow(side || '-b', 'W', side || '-q', '2', '{"priority": 1, "task_timeout": 20}');
END
$$;
SELECT pg_temp.make('one');
SELECT pg_temp.make('each');
SELECT durable.skip_time('2 seconds');
SELECT ok(durable.fire_due() >= 2, 'both failed tasks leave their backoff');
SELECT is((SELECT array_agg(t.attempt ORDER BY w.workflow_id) FROM durable.workflow_tasks t
             JOIN durable.workflows w USING (run_id) WHERE w.workflow_id LIKE '%-c'),
          ARRAY[2, 2], 'the two -c tasks are transient attempts (2)');

CREATE TEMP TABLE one_batch AS
    SELECT row_number() OVER () AS n, * FROM durable.poll_workflow_tasks('one-q', 'tester', 10, NULL, 'default', 'b1');
CREATE TEMP TABLE each_batch (n bigint, task_token text, workflow_id text, run_id uuid, workflow_type text,
                              attempt integer, started_event_id bigint, history jsonb);
INSERT INTO each_batch SELECT 1, * FROM durable.poll_workflow_tasks('each-q', 'tester', 1, NULL, 'default', 'b1');
INSERT INTO each_batch SELECT 2, * FROM durable.poll_workflow_tasks('each-q', 'tester', 1, NULL, 'default', 'b1');
INSERT INTO each_batch SELECT 3, * FROM durable.poll_workflow_tasks('each-q', 'tester', 1, NULL, 'default', 'b1');

SELECT is((SELECT array_agg(workflow_id ORDER BY n) FROM one_batch), ARRAY['one-b', 'one-a', 'one-c'],
          'the batch returns its tasks in the queue''s order (priority, then pass)');
SELECT is((SELECT array_agg(substr(workflow_id, 6) ORDER BY n) FROM each_batch),
          (SELECT array_agg(substr(workflow_id, 5) ORDER BY n) FROM one_batch),
          'in the order polls one at a time take them');

-- what a leased task looks like, its names made side-free
CREATE FUNCTION pg_temp.leased(side text) RETURNS TABLE (wid text, state text, fence bigint, attempt integer,
    identity text, build_id text, scheduled bigint, started bigint, lease interval, started_type text,
    started_attrs jsonb, last_type text) LANGUAGE sql AS $$
    SELECT substr(w.workflow_id, length(side) + 2), t.state, t.fence, t.attempt, t.identity, t.build_id,
           t.scheduled_event_id, t.started_event_id, t.timeout_at - t.started_at,
           (SELECT h.event_type FROM durable.get_history(w.workflow_id) h WHERE h.event_id = t.started_event_id),
           (SELECT h.attributes FROM durable.get_history(w.workflow_id) h WHERE h.event_id = t.started_event_id),
           (SELECT h.event_type FROM durable.get_history(w.workflow_id) h ORDER BY h.event_id DESC LIMIT 1)
      FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id)
     WHERE w.workflow_id LIKE side || '-%'
$$;
SELECT results_eq($$SELECT * FROM pg_temp.leased('one') ORDER BY wid$$, $$SELECT * FROM pg_temp.leased('each') ORDER BY wid$$,
                  'the batch leaves every task row and WorkflowTaskStarted as polls one at a time do');
SELECT results_eq($$SELECT wid, lease, started IS NULL, started_type, state, fence FROM pg_temp.leased('one') ORDER BY wid$$,
                  $$VALUES ('a', interval '7 s', false, 'WorkflowTaskStarted', 'STARTED', 1::bigint),
                           ('b', interval '20 s', false, 'WorkflowTaskStarted', 'STARTED', 1::bigint),
                           ('c', interval '5 s', true, NULL, 'STARTED', 2::bigint)$$,
                  'each task got its own deadline, event and fence; the transient attempt no event');
SELECT is((SELECT started_attrs FROM pg_temp.leased('one') WHERE wid = 'b'),
          '{"scheduled_event_id": 2, "identity": "tester", "attempt": 1, "build_id": "b1"}'::jsonb,
          'WorkflowTaskStarted names its own scheduled event, the identity and the build');

SELECT results_eq(
    $$SELECT substr(workflow_id, 5), split_part(task_token, '.', 2), workflow_type, attempt, started_event_id,
             (SELECT array_agg(e ->> 'event_type') FROM jsonb_array_elements(history) e),
             (SELECT array_agg((e -> 'attributes') - ARRAY['task_queue', 'first_execution_run_id']) FROM jsonb_array_elements(history) e)
        FROM one_batch ORDER BY n$$,
    $$SELECT substr(workflow_id, 6), split_part(task_token, '.', 2), workflow_type, attempt, started_event_id,
             (SELECT array_agg(e ->> 'event_type') FROM jsonb_array_elements(history) e),
             (SELECT array_agg((e -> 'attributes') - ARRAY['task_queue', 'first_execution_run_id']) FROM jsonb_array_elements(history) e)
        FROM each_batch ORDER BY n$$,
    'the batch returns each task''s own token fence, attempt, started event and history, as polls one at a time');
SELECT is((SELECT history -> -1 ->> 'event_type' FROM one_batch WHERE workflow_id = 'one-a'), 'WorkflowTaskStarted',
          'a history ends with its own WorkflowTaskStarted');
SELECT is((SELECT (history -> -1 ->> 'event_id')::bigint = started_event_id FROM one_batch WHERE workflow_id = 'one-a'), true,
          'whose id the row names');
SELECT is((SELECT history -> -1 ->> 'event_type' FROM one_batch WHERE workflow_id = 'one-c'), 'WorkflowTaskFailed',
          'the transient attempt''s history ends where it was');

-- each token holds its own lease: completing them all closes each run once
SELECT lives_ok($$SELECT count(durable.complete_workflow_task(task_token,
                      '[{"type": "CompleteWorkflowExecution", "result": 1}]')) FROM one_batch$$,
                'every token of the batch completes its own task');
SELECT is((SELECT array_agg(pg_temp.status(wid) ORDER BY wid) FROM unnest(ARRAY['one-a', 'one-b', 'one-c']) wid),
          ARRAY['COMPLETED', 'COMPLETED', 'COMPLETED'], 'and closes its own run');

-- a poll asking for more than the queue holds leases what there is, and
-- then nothing
SELECT durable.start_workflow('rest-' || i, 'W', 'rest-q') FROM generate_series(1, 3) i;
SELECT is((SELECT count(*) FROM durable.poll_workflow_tasks('rest-q', 'tester', 5)), 3::bigint,
          'a batch larger than the queue takes all of it');
SELECT is((SELECT count(*) FROM durable.poll_workflow_tasks('rest-q', 'tester', 5)), 0::bigint, 'and leaves none');

SELECT * FROM finish();
ROLLBACK;
