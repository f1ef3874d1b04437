-- Sticky histories (api/82_sticky.sql, pgext/src/sticky.c): a poll that
-- names its worker process in `sticky` gets, for a run whose last history
-- went to that process, only the events after it; any other poller, or a
-- poll naming none, the whole history; a run's cached entry, when named,
-- decides before the mark; the hand-back sends what its poll would; the
-- whole history of a leased task is there to ask for; bad input is refused
-- and changes nothing.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- Leases wid's next task on queue q as worker `sticky` (NULL: none) with
-- cached; returns the first and last event ids sent, and the token.
CREATE FUNCTION pg_temp.lease(q text, sticky text, cached jsonb DEFAULT NULL, OUT first_id bigint,
                              OUT last_id bigint, OUT tok text)
LANGUAGE sql AS $$
    SELECT (p.history -> 0 ->> 'event_id')::bigint, (p.history -> -1 ->> 'event_id')::bigint, p.task_token
      FROM durable.poll_workflow_tasks(q, 'stw', 1, cached, sticky => sticky) p
$$;
-- Completes a task with nothing to do, then signals wid: its next task is ready.
CREATE FUNCTION pg_temp.next(tok text, wid text) RETURNS void LANGUAGE sql AS $$
    SELECT durable.complete_workflow_task(tok, '[]');
    SELECT durable.signal_workflow(wid, 'go', 'null');
$$;
CREATE FUNCTION pg_temp.run_of(wid text) RETURNS uuid LANGUAGE sql AS $$
    SELECT run_id FROM durable.workflows WHERE workflow_id = wid
$$;

SELECT durable.start_workflow('st-a', 'W', 'stq', 'null');
CREATE TEMP TABLE l1 AS SELECT * FROM pg_temp.lease('stq', 'proc-1');
SELECT is((SELECT first_id FROM l1), 1::bigint, 'the first task of a run: the whole history');
SELECT pg_temp.next((SELECT tok FROM l1), 'st-a');
CREATE TEMP TABLE l2 AS SELECT * FROM pg_temp.lease('stq', 'proc-1');
SELECT is((SELECT first_id FROM l2), (SELECT last_id + 1 FROM l1),
          'the same worker''s next task: only the events after those it was sent');
SELECT is((SELECT last_id FROM l2), (SELECT max(event_id) FROM durable.get_history('st-a')),
          '(up to its WorkflowTaskStarted)');
SELECT is(durable.workflow_task_history((SELECT tok FROM l2)), durable._history_json(pg_temp.run_of('st-a'), 0),
          'workflow_task_history: the whole history, as a poll renders it');
SELECT pg_temp.next((SELECT tok FROM l2), 'st-a');
CREATE TEMP TABLE l3 AS SELECT * FROM pg_temp.lease('stq', 'proc-2');
SELECT is((SELECT first_id FROM l3), 1::bigint, 'another worker: the whole history');
SELECT pg_temp.next((SELECT tok FROM l3), 'st-a');
CREATE TEMP TABLE l4 AS SELECT * FROM pg_temp.lease('stq', 'proc-1');
SELECT is((SELECT first_id FROM l4), 1::bigint, 'the first worker again, after the other: the whole history');
SELECT pg_temp.next((SELECT tok FROM l4), 'st-a');
CREATE TEMP TABLE l5 AS SELECT * FROM pg_temp.lease('stq', NULL);
SELECT is((SELECT first_id FROM l5), 1::bigint, 'a poll that names no worker: the whole history');
SELECT pg_temp.next((SELECT tok FROM l5), 'st-a');
CREATE TEMP TABLE l6 AS SELECT * FROM pg_temp.lease('stq', 'proc-1');
SELECT is((SELECT first_id FROM l6), (SELECT last_id + 1 FROM l4),
          'a poll naming no worker leaves the mark: proc-1 is sent what follows its last history (the worker checks it continues what it holds)');
SELECT pg_temp.next((SELECT tok FROM l6), 'st-a');
CREATE TEMP TABLE l7 AS SELECT * FROM pg_temp.lease('stq', 'proc-1', jsonb_build_object(pg_temp.run_of('st-a'), 3));
SELECT is((SELECT first_id FROM l7), 4::bigint, 'a cached entry of the run decides before the mark');
SELECT pg_temp.next((SELECT tok FROM l7), 'st-a');
CREATE TEMP TABLE l8 AS SELECT * FROM pg_temp.lease('stq', 'proc-1', '{"00000000-0000-0000-0000-000000000001": 5}');
SELECT is((SELECT first_id FROM l8), (SELECT last_id + 1 FROM l7), 'a cached argument naming other runs: the mark');

-- The hand-back: the workflow task it leases comes as a poll's would.
SELECT durable.complete_workflow_task((SELECT tok FROM l8),
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 60}]');
CREATE TEMP TABLE act AS SELECT task_token FROM durable.poll_activity_tasks('stq', 'stw', 1);
CREATE TEMP TABLE hb AS
SELECT * FROM durable.complete_activity_tasks_eager(
    jsonb_build_array(jsonb_build_object('task_token', (SELECT task_token FROM act), 'result', 1)),
    'stw', 'stq', 1, sticky => 'proc-1');
SELECT is((SELECT (history -> 0 ->> 'event_id')::bigint FROM hb WHERE kind = 'workflow_task'),
          (SELECT last_id + 1 FROM l8), 'the hand-back with sticky: only the events after the worker''s last');
CREATE TEMP TABLE hb_last AS
SELECT (history -> -1 ->> 'event_id')::bigint AS last_id, task_token FROM hb WHERE kind = 'workflow_task';
SELECT pg_temp.next((SELECT task_token FROM hb_last), 'st-a');
CREATE TEMP TABLE l9 AS SELECT * FROM pg_temp.lease('stq', 'proc-1');
SELECT is((SELECT first_id FROM l9), (SELECT last_id + 1 FROM hb_last), '(and it moved the mark)');

-- Many runs, one worker: each its own mark.
SELECT durable.start_workflow('st-m-' || g, 'W', 'stm', 'null') FROM generate_series(1, 20) g;
CREATE TEMP TABLE m1 AS SELECT p.run_id, p.task_token, (p.history -> -1 ->> 'event_id')::bigint AS last_id
  FROM durable.poll_workflow_tasks('stm', 'stw', 20, sticky => 'proc-m') p;
SELECT is((SELECT count(*) FROM m1), 20::bigint, '(twenty runs leased)');
SELECT pg_temp.next(m1.task_token, w.workflow_id) FROM m1 JOIN durable.workflows w USING (run_id);
SELECT is((SELECT count(*) FROM durable.poll_workflow_tasks('stm', 'stw', 20, sticky => 'proc-m') p
            JOIN m1 USING (run_id) WHERE (p.history -> 0 ->> 'event_id')::bigint = m1.last_id + 1), 20::bigint,
          'twenty runs: each task brings only its own new events');

-- Bad input: refused, nothing changes.
SELECT durable.start_workflow('st-bad', 'W', 'stbad', 'null');
SELECT is((pg_temp.error_of($$SELECT * FROM durable.poll_workflow_tasks('stbad', 'stw', 1, sticky => repeat('x', 256))$$))[1],
          '54000', 'a sticky text over 255 bytes: program_limit_exceeded');
SELECT is((SELECT state FROM durable.workflow_tasks WHERE run_id = pg_temp.run_of('st-bad')), 'SCHEDULED',
          '(and the task stays ready)');
SELECT is((pg_temp.error_of($$SELECT * FROM durable.complete_activity_tasks_eager('[]', 'stw', 'stbad', 1, sticky => repeat('x', 256))$$))[1],
          '54000', 'the hand-back too');
SELECT is((pg_temp.error_of($$SELECT durable.workflow_task_history((SELECT tok FROM l2))$$))[1], 'DU004',
          'workflow_task_history of a completed task: the lease is lost');
SELECT is((pg_temp.error_of($$SELECT durable.workflow_task_history('nonsense')$$))[1],
          (pg_temp.error_of($$SELECT durable.heartbeat_workflow_task('nonsense')$$))[1],
          'a malformed token: refused as heartbeat_workflow_task refuses it');
SELECT is(pg_temp.as_role('durable_worker', format($$SELECT durable.workflow_task_history(%L)$$, (SELECT tok FROM l9))),
          'ok', 'a worker may ask for the whole history');
SELECT is(pg_temp.as_role('durable_operator', format($$SELECT durable.workflow_task_history(%L)$$, (SELECT tok FROM l9))),
          '42501', 'an operator may not');
SELECT is(durable._history_json_sticky(pg_temp.run_of('st-a'), 0, NULL), durable._history_json(pg_temp.run_of('st-a'), 0),
          '_history_json_sticky without a worker: _history_json');
SELECT * FROM finish();
ROLLBACK;
