-- Worker versioning by build id: the rules, routing of workflow tasks by
-- build, pinned and auto-upgraded runs, the build id in history, bad input.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- Polls one task of queue as a worker of build; returns its workflow id.
CREATE FUNCTION pg_temp.take(queue text, build text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM durable.poll_workflow_tasks(queue, 'w-' || coalesce(build, 'none'), 1, NULL, 'default', build);
    IF r.task_token IS NOT NULL THEN
        PERFORM durable.complete_workflow_task(r.task_token, '[]');
    END IF;
    RETURN r.workflow_id;
END
$$;
-- Schedules another workflow task for wid (a signal does).
CREATE FUNCTION pg_temp.nudge(wid text) RETURNS void LANGUAGE sql AS $$
    SELECT durable.signal_workflow(wid, 'go', '1')
$$;

-- Unversioned queue: any worker, and the run records the first build -------
SELECT durable.start_workflow('b-1', 'W', 'bq');
SELECT is(pg_temp.take('bq', 'v1'), 'b-1', 'an unversioned queue gives a task to any build');
SELECT is(durable.describe_workflow('b-1') ->> 'build_id', 'v1', 'the run records the build that ran its first task');
SELECT is(pg_temp.event('b-1', 'WorkflowTaskStarted') ->> 'build_id', 'v1', 'WorkflowTaskStarted names the build');
SELECT is(pg_temp.event('b-1', 'WorkflowTaskCompleted') ->> 'build_id', 'v1', 'WorkflowTaskCompleted names the build');
SELECT durable.start_workflow('b-0', 'W', 'bq');
SELECT is(pg_temp.take('bq', NULL), 'b-0', 'a worker without a build id still works an unversioned queue');
SELECT ok(NOT (pg_temp.event('b-0', 'WorkflowTaskStarted') ? 'build_id'), 'and its events carry no build_id');
SELECT is(durable.describe_workflow('b-0') ->> 'build_id', NULL, 'nor does its run');

-- PINNED: v1 runs stay on v1, new ones go to v2 ------------------------------
SELECT durable.set_build_id_rules('bq', 'v2');
SELECT durable.start_workflow('b-2', 'W', 'bq');
SELECT pg_temp.nudge('b-1');
SELECT is(pg_temp.take('bq', 'v1'), 'b-1', 'a v1 worker gets its pinned v1 run, not the new one');
SELECT is(pg_temp.take('bq', 'v1'), NULL, 'and nothing else');
SELECT is(pg_temp.take('bq', NULL), NULL, 'a worker without a build id gets nothing from a versioned queue');
SELECT is(pg_temp.take('bq', 'v2'), 'b-2', 'a v2 worker gets the new workflow');
SELECT is(durable.describe_workflow('b-2') ->> 'build_id', 'v2', 'which is now on v2');
SELECT pg_temp.nudge('b-1');
SELECT is(pg_temp.take('bq', 'v2'), NULL, 'a v2 worker never gets the pinned v1 run');
SELECT is(pg_temp.take('bq', 'v1'), 'b-1', 'its v1 worker does');
SELECT pg_temp.nudge('b-0');
SELECT is(pg_temp.take('bq', 'v2'), 'b-0', 'a run on no build yet goes to the default build');
SELECT is((SELECT running FROM durable.list_build_id_rules() WHERE task_queue = 'bq'),
          '{"v1": 1, "v2": 2}'::jsonb, 'list_build_id_rules counts the running workflows per build');
SELECT is((SELECT default_build_id || ' ' || mode FROM durable.list_build_id_rules() WHERE task_queue = 'bq'),
          'v2 PINNED', 'and shows the rule');

-- Queries wait for a worker of the run's build
SELECT is(durable._query_queue_of(w), durable._query_queue('default', 'bq', 'v1'),
          'a query of a pinned v1 run waits for a v1 worker')
  FROM durable.workflows w WHERE w.workflow_id = 'b-1';
SELECT is(durable._query_queue_of(w), durable._query_queue('default', 'bq', 'v2'),
          'one of a v2 run for a v2 worker')
  FROM durable.workflows w WHERE w.workflow_id = 'b-2';
SELECT isnt(durable._query_queue('default', 'bq', 'v1'), durable._query_queue('default', 'bq', 'v2'),
            'and those are two queues');
SELECT is(durable._query_queue('default', 'unversioned-q', 'v1'), 'default/unversioned-q',
          'an unversioned queue keeps one query queue for every worker');

-- AUTO_UPGRADE: the next task of every run goes to the default build -------
SELECT durable.set_build_id_rules('bq', 'v3', 'AUTO_UPGRADE');
SELECT pg_temp.nudge('b-1');
SELECT is(pg_temp.take('bq', 'v1'), NULL, 'under AUTO_UPGRADE the old build gets nothing');
SELECT is(pg_temp.take('bq', 'v3'), 'b-1', 'the newest build takes the v1 run');
SELECT is(durable.describe_workflow('b-1') ->> 'build_id', 'v3', 'and the run moves to it');
SELECT is(durable._query_queue_of(w), durable._query_queue('default', 'bq', 'v3'),
          'queries of every run go to the newest build')
  FROM durable.workflows w WHERE w.workflow_id = 'b-2';
SELECT is((SELECT array_agg(attributes ->> 'build_id' ORDER BY event_id) FROM durable.get_history('b-1')
            WHERE event_type = 'WorkflowTaskCompleted'), ARRAY['v1', 'v1', 'v1', 'v3'],
          'the history keeps the build of every workflow task');

-- Back to unversioned ---------------------------------------------------------
SELECT durable.set_build_id_rules('bq', NULL);
SELECT is((SELECT count(*) FROM durable.list_build_id_rules() WHERE task_queue = 'bq'), 0::bigint,
          'a NULL default build removes the rules');
SELECT pg_temp.nudge('b-2');
SELECT is(pg_temp.take('bq', 'v1'), 'b-2', 'and any worker takes any task again');
SELECT is(durable.describe_workflow('b-2') ->> 'build_id', 'v2', 'a run keeps the build it started on');

-- Bad input changes nothing ----------------------------------------------------
SELECT durable.set_build_id_rules('bq', 'v4');
SELECT throws_ok($$SELECT durable.set_build_id_rules('bq', 'v5', 'LATEST')$$, '22023',
                 'mode must be PINNED or AUTO_UPGRADE', 'an unknown mode is refused');
SELECT throws_ok($$SELECT durable.set_build_id_rules('bq', 'v 5')$$, '22023', NULL, 'a build id with a space is refused');
SELECT throws_ok($$SELECT durable.set_build_id_rules('', 'v5')$$, '22023', NULL, 'an empty queue is refused');
SELECT throws_ok($$SELECT durable.set_build_id_rules('bq', repeat('x', 300))$$, '54000', NULL, 'a long build id is refused');
SELECT is((SELECT default_build_id FROM durable.list_build_id_rules() WHERE task_queue = 'bq'), 'v4',
          'and the rules are as they were');
SELECT throws_ok($$SELECT * FROM durable.poll_workflow_tasks('bq', 'x', 1, NULL, 'default', '')$$, '22023', NULL,
                 'a poll with an empty build id is refused');
SELECT is(pg_temp.as_role('durable_worker', $$SELECT durable.set_build_id_rules('bq', 'v9')$$), '42501',
          'a worker may not set the rules');

SELECT * FROM finish();
ROLLBACK;
