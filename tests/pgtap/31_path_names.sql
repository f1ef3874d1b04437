-- Names that durablefs shows as folders (workflow ids, task queues, schedule
-- ids) follow one character rule at every door: not empty, not "." or "..",
-- no "/" and no control characters. Each refusal is 22023 and changes nothing;
-- names that merely contain dots are fine.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT format('%s/%s/%s', (SELECT count(*) FROM durable.workflows), (SELECT count(*) FROM durable.history),
                  (SELECT count(*) FROM durable.schedules))
$$;
CREATE TEMP TABLE before AS SELECT pg_temp.state() AS s;

SELECT is(pg_temp.err($$SELECT durable.start_workflow('.', 'W', 'pn-q')$$),
          '22023: workflow_id must not be empty, "." or "..", nor contain "/" or control characters',
          'start_workflow refuses the id "."');
SELECT is(left(pg_temp.err($$SELECT durable.start_workflow('..', 'W', 'pn-q')$$), 5), '22023', 'and ".."');
SELECT is(left(pg_temp.err($$SELECT durable.start_workflow('a/b', 'W', 'pn-q')$$), 5), '22023', 'and "/"');
SELECT is(left(pg_temp.err($$SELECT durable.start_workflow(E'a\tb', 'W', 'pn-q')$$), 5), '22023', 'and a tab');
SELECT is(left(pg_temp.err($$SELECT durable.start_workflow(E'a\x7fb', 'W', 'pn-q')$$), 5), '22023', 'and DEL');
SELECT is(pg_temp.err($$SELECT durable.start_workflow('pn-1', 'W', '..')$$),
          '22023: task_queue must not be empty, "." or "..", nor contain "/" or control characters',
          'a task queue ".." is refused');
SELECT is(left(pg_temp.err($$SELECT durable.signal_with_start('..', 'W', 'pn-q', 's')$$), 5), '22023',
          'signal_with_start refuses ".."');
SELECT is(pg_temp.err($$SELECT durable.create_schedule('..', '{"interval": [{"every": 60}]}',
                                                       '{"workflow_type": "W", "task_queue": "pn-q"}')$$),
          '22023: schedule_id must not be empty, "." or "..", nor contain "/" or control characters',
          'create_schedule refuses ".."');
SELECT is(left(pg_temp.err($$SELECT durable.create_schedule('.', '{"interval": [{"every": 60}]}',
                                                       '{"workflow_type": "W", "task_queue": "pn-q"}')$$), 5), '22023',
          'and "."');
SELECT is(pg_temp.state(), (SELECT s FROM before), 'none of them created anything');

-- inside a workflow: a child id or an activity queue of ".." fails the command
SELECT durable.start_workflow('pn-parent', 'W', 'pn-q');
CREATE TEMP TABLE tok AS SELECT task_token FROM durable.poll_workflow_tasks('pn-q', 'tester', 1);
SELECT is(left(pg_temp.err(format('SELECT durable.complete_workflow_task(%L, %L)', (SELECT task_token FROM tok),
          '[{"type": "StartChildWorkflowExecution", "workflow_id": "..", "workflow_type": "C"}]')), 5), '22023',
          'a child workflow id ".." is refused');
SELECT is(left(pg_temp.err(format('SELECT durable.complete_workflow_task(%L, %L)', (SELECT task_token FROM tok),
          '[{"type": "ScheduleActivityTask", "activity_id": "a", "activity_type": "A", "task_queue": ".",
             "start_to_close_timeout": 10}]')), 5), '22023',
          'an activity task queue "." is refused');
SELECT is(left(pg_temp.err(format('SELECT durable.complete_workflow_task(%L, %L)', (SELECT task_token FROM tok),
          '[{"type": "ContinueAsNewWorkflowExecution", "task_queue": "a/b"}]')), 5), '22023',
          'a continue-as-new task queue with "/" is refused');
SELECT is(pg_temp.status('pn-parent'), 'RUNNING', 'the workflow is untouched');

-- dots inside a name are fine
SELECT isnt(durable.start_workflow('...', 'W', 'pn-q'), NULL, '"..." is a valid id');
SELECT isnt(durable.start_workflow('.hidden', 'W', 'q.v2'), NULL, '".hidden" and "q.v2" are valid');
SELECT isnt(durable.start_workflow('a..b', 'W', 'pn-q'), NULL, '"a..b" is valid');
SELECT * FROM finish();
ROLLBACK;
