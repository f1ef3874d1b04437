-- Sticky marks and transactions that roll back (pgext/src/sticky.c): a poll
-- whose transaction (or savepoint) rolls back after it rendered a history
-- sent nothing the worker may rely on, and its WorkflowTaskStarted's event
-- id comes back for the next poll. The mark must claim only what a
-- committed poll sent: the worker's next task brings every event after its
-- last committed history, never an empty or a shifted one.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE FUNCTION pg_temp.lease(q text, sticky text, OUT first_id bigint, OUT last_id bigint, OUT tok text,
                              OUT started bigint, OUT n integer)
LANGUAGE sql AS $$
    SELECT (p.history -> 0 ->> 'event_id')::bigint, (p.history -> -1 ->> 'event_id')::bigint, p.task_token,
           p.started_event_id, jsonb_array_length(p.history)
      FROM durable.poll_workflow_tasks(q, 'srw', 1, sticky => sticky) p
$$;

SELECT durable.start_workflow('sr-a', 'W', 'srq', 'null');
CREATE TEMP TABLE l1 AS SELECT * FROM pg_temp.lease('srq', 'proc-r');
SELECT is((SELECT first_id FROM l1), 1::bigint, 'the first task: the whole history');
SELECT durable.complete_workflow_task((SELECT tok FROM l1), '[]');
SELECT durable.signal_workflow('sr-a', 'go', '1');

-- a poll rolled back after rendering: its mark must go with it
SAVEPOINT lost;
CREATE TEMP TABLE l2 AS SELECT * FROM pg_temp.lease('srq', 'proc-r');
SELECT is((SELECT first_id FROM l2), (SELECT last_id + 1 FROM l1), '(the rolled-back poll: the events after the first)');
ROLLBACK TO SAVEPOINT lost;

CREATE TEMP TABLE l3 AS SELECT * FROM pg_temp.lease('srq', 'proc-r');
SELECT isnt((SELECT n FROM l3), 0, 'after a rolled-back poll: the next history is not empty');
SELECT is((SELECT first_id FROM l3), (SELECT last_id + 1 FROM l1),
          'it brings every event after the last committed history (the signal too)');
SELECT is((SELECT last_id FROM l3), (SELECT started FROM l3), '(up to its WorkflowTaskStarted)');

-- the same with the hand-back: complete_activity_tasks_eager rolled back
SELECT durable.complete_workflow_task((SELECT tok FROM l3),
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 60}]');
CREATE TEMP TABLE act AS SELECT task_token FROM durable.poll_activity_tasks('srq', 'srw', 1);
SAVEPOINT lost_hb;
CREATE TEMP TABLE hb AS
SELECT * FROM durable.complete_activity_tasks_eager(
    jsonb_build_array(jsonb_build_object('task_token', (SELECT task_token FROM act), 'result', 1)),
    'srw', 'srq', 1, sticky => 'proc-r');
SELECT is((SELECT count(*) FROM hb WHERE kind = 'workflow_task'), 1::bigint, '(the rolled-back hand-back leased the task)');
ROLLBACK TO SAVEPOINT lost_hb;
SELECT durable.complete_activity_task((SELECT task_token FROM act), '1');
CREATE TEMP TABLE l4 AS SELECT * FROM pg_temp.lease('srq', 'proc-r');
SELECT is((SELECT first_id FROM l4), (SELECT last_id + 1 FROM l3),
          'after a rolled-back hand-back: every event after the last committed history');
SELECT is((SELECT last_id FROM l4), (SELECT started FROM l4), '(up to its WorkflowTaskStarted)');

-- a savepoint released keeps its poll's mark
SELECT durable.complete_workflow_task((SELECT tok FROM l4), '[]');
SELECT durable.signal_workflow('sr-a', 'go', '2');
SAVEPOINT kept;
CREATE TEMP TABLE l5 AS SELECT * FROM pg_temp.lease('srq', 'proc-r');
RELEASE SAVEPOINT kept;
SELECT durable.complete_workflow_task((SELECT tok FROM l5), '[]');
SELECT durable.signal_workflow('sr-a', 'go', '3');
CREATE TEMP TABLE l6 AS SELECT * FROM pg_temp.lease('srq', 'proc-r');
SELECT is((SELECT first_id FROM l6), (SELECT last_id + 1 FROM l5), 'a released savepoint''s poll: its mark stays');

-- a rolled-back poll of another worker leaves this worker's mark
SELECT durable.complete_workflow_task((SELECT tok FROM l6), '[]');
SELECT durable.signal_workflow('sr-a', 'go', '4');
SAVEPOINT other;
CREATE TEMP TABLE l7 AS SELECT * FROM pg_temp.lease('srq', 'proc-other');
SELECT is((SELECT first_id FROM l7), 1::bigint, '(another worker: the whole history)');
ROLLBACK TO SAVEPOINT other;
CREATE TEMP TABLE l8 AS SELECT * FROM pg_temp.lease('srq', 'proc-r');
SELECT is((SELECT first_id FROM l8), (SELECT last_id + 1 FROM l6),
          'another worker''s rolled-back poll: the first worker''s mark holds');
SELECT * FROM finish();
ROLLBACK;
