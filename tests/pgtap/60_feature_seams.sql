-- Where two features of 0.2 meet: each has its own file; this one checks
-- what only shows when they are used together.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- Polls one workflow task of queue as a worker of build and completes it
-- with commands; returns its workflow id (NULL when it got none).
CREATE FUNCTION pg_temp.take(queue text, build text, commands jsonb DEFAULT '[]') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM durable.poll_workflow_tasks(queue, 'w-' || coalesce(build, 'none'), 1, NULL, 'default', build);
    IF r.task_token IS NOT NULL THEN
        PERFORM durable.complete_workflow_task(r.task_token, commands);
    END IF;
    RETURN r.workflow_id;
END
$$;

-- Reset x build ids: the reset run replays the history its build wrote ------
SELECT durable.set_build_id_rules('seam-rq', 'v1');
SELECT durable.start_workflow('seam-r1', 'W', 'seam-rq', '{}', '{"priority": 2}');
SELECT is(pg_temp.take('seam-rq', 'v1'), 'seam-r1', 'a v1 worker runs the first task of a pinned run');
SELECT durable.signal_workflow('seam-r1', 'go', '1');
SELECT is(pg_temp.take('seam-rq', 'v1'), 'seam-r1', 'and its second');
SELECT durable.set_build_id_rules('seam-rq', 'v2');   -- a deploy: new runs go to v2
SELECT durable.reset_workflow('seam-r1', pg_temp.event_id('seam-r1', 'WorkflowTaskCompleted'), 'redo the last step');
SELECT is(durable.describe_workflow('seam-r1') ->> 'build_id', 'v1',
          'the reset run of a pinned v1 run stays on v1: its copied history was written by v1');
SELECT is(pg_temp.take('seam-rq', 'v2'), NULL, 'a v2 worker is not handed the v1 history to replay');
SELECT is(pg_temp.take('seam-rq', 'v1'), 'seam-r1', 'a v1 worker takes the reset run');
SELECT is(durable.describe_workflow('seam-r1') ->> 'priority', '2', 'and the reset run kept its priority');
-- reset to the first workflow task: no task completed before it, so
-- nothing was written by any build, and the default build takes it
SELECT durable.reset_workflow('seam-r1', (SELECT min(event_id) FROM durable.get_history('seam-r1')
                                           WHERE event_type = 'WorkflowTaskCompleted'), 'start over');
SELECT is(durable.describe_workflow('seam-r1') ->> 'build_id', NULL,
          'a reset to the first workflow task is on no build yet');
SELECT is(pg_temp.take('seam-rq', 'v1'), NULL, 'so the old build does not get it');
SELECT is(pg_temp.take('seam-rq', 'v2'), 'seam-r1', 'the default build does');
SELECT durable.set_build_id_rules('seam-rq', NULL);

SELECT * FROM finish();
ROLLBACK;
