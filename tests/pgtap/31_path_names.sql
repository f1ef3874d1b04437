-- Names that durablefs shows as folders (workflow ids, task queues, schedule
-- ids) follow one character rule at every door: not empty, not "." or "..",
-- no "/" and no control characters. Each refusal is 22023 and changes nothing;
-- names that merely contain dots are fine.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE TEMP TABLE before AS
    SELECT (SELECT count(*) FROM durable.workflows) AS runs, (SELECT count(*) FROM durable.schedules) AS schedules;
CREATE FUNCTION pg_temp.refused(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'accepted';
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN SQLERRM;
END
$$;

SELECT is(pg_temp.refused($$SELECT durable.start_workflow('.', 'W', 'pn-q')$$),
          'workflow_id must not be empty, "." or "..", nor contain "/" or control characters',
          'start_workflow refuses the id "."');
SELECT isnt(pg_temp.refused($$SELECT durable.start_workflow('..', 'W', 'pn-q')$$), 'accepted', 'and ".."');
SELECT isnt(pg_temp.refused($$SELECT durable.start_workflow('a/b', 'W', 'pn-q')$$), 'accepted', 'and "/"');
SELECT isnt(pg_temp.refused($$SELECT durable.start_workflow(E'a\tb', 'W', 'pn-q')$$), 'accepted', 'and a tab');
SELECT isnt(pg_temp.refused($$SELECT durable.start_workflow(E'a\x7fb', 'W', 'pn-q')$$), 'accepted', 'and DEL');
SELECT is(pg_temp.refused($$SELECT durable.start_workflow('pn-1', 'W', '..')$$),
          'task_queue must not be empty, "." or "..", nor contain "/" or control characters',
          'a task queue ".." is refused');
SELECT isnt(pg_temp.refused($$SELECT durable.signal_with_start('..', 'W', 'pn-q', 's')$$), 'accepted',
          'signal_with_start refuses ".."');
SELECT is(pg_temp.refused($$SELECT durable.create_schedule('..', '{"interval": [{"every": 60}]}',
                                                       '{"workflow_type": "W", "task_queue": "pn-q"}')$$),
          'schedule_id must not be empty, "." or "..", nor contain "/" or control characters',
          'create_schedule refuses ".."');
SELECT isnt(pg_temp.refused($$SELECT durable.create_schedule('.', '{"interval": [{"every": 60}]}',
                                                       '{"workflow_type": "W", "task_queue": "pn-q"}')$$), 'accepted',
          'and "."');
SELECT is((SELECT count(*) FROM durable.workflows), (SELECT runs FROM before), 'none of them started a run');
SELECT is((SELECT count(*) FROM durable.schedules), (SELECT schedules FROM before), 'nor created a schedule');

-- inside a workflow: a child id or an activity queue of ".." fails the command
SELECT durable.start_workflow('pn-parent', 'W', 'pn-q');
CREATE TEMP TABLE tok AS SELECT task_token FROM durable.poll_workflow_tasks('pn-q', 'tester', 1);
SELECT isnt(pg_temp.refused(format('SELECT durable.complete_workflow_task(%L, %L)', (SELECT task_token FROM tok),
          '[{"type": "StartChildWorkflowExecution", "workflow_id": "..", "workflow_type": "C"}]')), 'accepted',
          'a child workflow id ".." is refused');
SELECT isnt(pg_temp.refused(format('SELECT durable.complete_workflow_task(%L, %L)', (SELECT task_token FROM tok),
          '[{"type": "ScheduleActivityTask", "activity_id": "a", "activity_type": "A", "task_queue": ".",
             "start_to_close_timeout": 10}]')), 'accepted',
          'an activity task queue "." is refused');
SELECT isnt(pg_temp.refused(format('SELECT durable.complete_workflow_task(%L, %L)', (SELECT task_token FROM tok),
          '[{"type": "ContinueAsNewWorkflowExecution", "task_queue": "a/b"}]')), 'accepted',
          'a continue-as-new task queue with "/" is refused');
SELECT is(pg_temp.status('pn-parent'), 'RUNNING', 'the workflow is untouched');

-- dots inside a name are fine
SELECT isnt(durable.start_workflow('...', 'W', 'pn-q'), NULL, '"..." is a valid id');
SELECT isnt(durable.start_workflow('.hidden', 'W', 'q.v2'), NULL, '".hidden" and "q.v2" are valid');
SELECT isnt(durable.start_workflow('a..b', 'W', 'pn-q'), NULL, '"a..b" is valid');
SELECT * FROM finish();
ROLLBACK;
