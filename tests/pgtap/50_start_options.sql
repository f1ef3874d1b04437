-- Start options that Temporal users look for: request_id (a retried start
-- returns the run it made), id_conflict_policy (what a start does with an
-- open run of its id), start_delay (the first workflow task waits).
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE FUNCTION pg_temp.runs(wid text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM durable.workflows WHERE workflow_id = wid AND namespace = 'default'
$$;
CREATE FUNCTION pg_temp.run_status(run uuid) RETURNS text LANGUAGE sql AS $$
    SELECT status FROM durable.workflows WHERE run_id = run
$$;
CREATE FUNCTION pg_temp.signals(wid text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM durable.get_history(wid) WHERE event_type = 'WorkflowExecutionSignaled'
$$;

-- request_id -------------------------------------------------------------
CREATE TEMP TABLE ra AS SELECT durable.start_workflow('rq-1', 'Order', 'so-q', '{"n": 1}',
    '{"request_id": "req-a"}') AS run_id;
SELECT is(durable.start_workflow('rq-1', 'Order', 'so-q', '{"n": 1}', '{"request_id": "req-a"}'),
          (SELECT run_id FROM ra), 'a retried start with the same request_id returns the same run');
SELECT is(pg_temp.runs('rq-1'), 1::bigint, 'and makes no second run');
SELECT is(pg_temp.types('rq-1'), ARRAY['WorkflowExecutionStarted', 'WorkflowTaskScheduled'],
          'and leaves the history alone');
SELECT is(durable.describe_workflow('rq-1') ->> 'request_id', 'req-a', 'describe_workflow shows the request id');
SELECT is(pg_temp.event('rq-1', 'WorkflowExecutionStarted') ->> 'request_id', 'req-a',
          'WorkflowExecutionStarted carries the request id');
SELECT throws_ok($$SELECT durable.start_workflow('rq-1', 'Order', 'so-q', NULL, '{"request_id": "req-b"}')$$,
                 'DU002', 'workflow "rq-1" already started', 'another request id for a running id is refused (DU002)');
SELECT throws_ok($$SELECT durable.start_workflow('rq-1', 'Order', 'so-q')$$,
                 'DU002', NULL, 'a start without a request id is refused as before');
SELECT is(pg_temp.runs('rq-1'), 1::bigint, 'the refused starts made nothing');

-- the same request after the run closed: still the same run (the current
-- run was made by it), not a new run
SELECT pg_temp.complete('so-q', '[{"type": "CompleteWorkflowExecution", "result": 1}]');
SELECT is(pg_temp.status('rq-1'), 'COMPLETED', 'rq-1 completed');
SELECT is(durable.start_workflow('rq-1', 'Order', 'so-q', '{"n": 1}', '{"request_id": "req-a"}'),
          (SELECT run_id FROM ra), 'the same request after the close returns the closed run');
SELECT is(pg_temp.runs('rq-1'), 1::bigint, 'and starts nothing');
CREATE TEMP TABLE rb AS SELECT durable.start_workflow('rq-1', 'Order', 'so-q', NULL, '{"request_id": "req-b"}') AS run_id;
SELECT isnt((SELECT run_id FROM rb), (SELECT run_id FROM ra), 'a new request id starts a new run after the close');
SELECT throws_ok($$SELECT durable.start_workflow('rq-1', 'Order', 'so-q', NULL, '{"request_id": "req-a"}')$$,
                 'DU002', NULL, 'an older request id is not the current run''s: refused while another run is open');

-- signal_with_start with a request id: once started and signaled
CREATE TEMP TABLE rs AS SELECT durable.signal_with_start('rq-2', 'Order', 'so-q2', 'go', '1', NULL,
    '{"request_id": "sws-1"}') AS run_id;
SELECT is(durable.signal_with_start('rq-2', 'Order', 'so-q2', 'go', '1', NULL, '{"request_id": "sws-1"}'),
          (SELECT run_id FROM rs), 'a retried signal_with_start returns the run it started');
SELECT is(pg_temp.signals('rq-2'), 1::bigint, 'and does not signal it twice');
SELECT is(pg_temp.event('rq-2', 'WorkflowExecutionSignaled') ->> 'request_id', 'sws-1',
          'the signal carries the request id');
-- ... and a running run it only signaled
SELECT is(durable.signal_with_start('rq-2', 'Order', 'so-q2', 'more', '2', NULL, '{"request_id": "sws-2"}'),
          (SELECT run_id FROM rs), 'signal_with_start with a new request id signals the running run');
SELECT is(durable.signal_with_start('rq-2', 'Order', 'so-q2', 'more', '2', NULL, '{"request_id": "sws-2"}'),
          (SELECT run_id FROM rs), 'its retry returns the same run');
SELECT is(pg_temp.signals('rq-2'), 2::bigint, 'and the retried signal is delivered once');
SELECT is(durable.describe_workflow('rq-2') ->> 'request_id', 'sws-1', 'the run keeps the request id that started it');
-- while the run's workflow task is started, the signal waits in the buffer: a retry still finds it
SELECT lives_ok($$SELECT durable.poll_workflow_tasks('so-q2', 'tester', 1)$$, 'a worker leases rq-2''s task');
SELECT is(durable.signal_with_start('rq-2', 'Order', 'so-q2', 'more', '3', NULL, '{"request_id": "sws-3"}'),
          (SELECT run_id FROM rs), 'a signal to a run whose task is started');
SELECT is(durable.signal_with_start('rq-2', 'Order', 'so-q2', 'more', '3', NULL, '{"request_id": "sws-3"}'),
          (SELECT run_id FROM rs), 'and its retry');
SELECT is((SELECT count(*) FROM durable.buffered_events WHERE run_id = (SELECT run_id FROM rs)), 1::bigint,
          'buffer the signal once');

-- bad request ids change nothing
SELECT throws_ok($$SELECT durable.start_workflow('rq-3', 'Order', 'so-q', NULL, '{"request_id": 7}')$$,
                 '22023', 'start options: "request_id" must be a non-empty string', 'a number is refused');
SELECT throws_ok($$SELECT durable.start_workflow('rq-3', 'Order', 'so-q', NULL, '{"request_id": ""}')$$,
                 '22023', NULL, 'an empty request id is refused');
SELECT throws_ok(format($$SELECT durable.start_workflow('rq-3', 'Order', 'so-q', NULL, '{"request_id": "%s"}')$$, repeat('x', 256)),
                 '54000', 'start options: "request_id" is too long', 'a request id over 255 bytes is refused');
SELECT is(pg_temp.runs('rq-3'), 0::bigint, 'the refused starts made nothing');

-- id_conflict_policy -----------------------------------------------------
CREATE TEMP TABLE c1 AS SELECT durable.start_workflow('cp-1', 'Order', 'so-q') AS run_id;
SELECT throws_ok($$SELECT durable.start_workflow('cp-1', 'Order', 'so-q', NULL, '{"id_conflict_policy": "FAIL"}')$$,
                 'DU002', NULL, 'FAIL (the default) refuses a running id');
SELECT is(durable.start_workflow('cp-1', 'Order', 'so-q', '{"other": 1}', '{"id_conflict_policy": "USE_EXISTING"}'),
          (SELECT run_id FROM c1), 'USE_EXISTING returns the running run, without an error');
SELECT is(pg_temp.runs('cp-1'), 1::bigint, 'and starts nothing');
SELECT is(pg_temp.hlen('cp-1'), 2::bigint, 'nor touches its history');
CREATE TEMP TABLE c2 AS SELECT durable.start_workflow('cp-1', 'Order', 'so-q', NULL,
    '{"id_conflict_policy": "TERMINATE_EXISTING", "id_reuse_policy": "REJECT_DUPLICATE", "identity": "ops"}') AS run_id;
SELECT isnt((SELECT run_id FROM c2), (SELECT run_id FROM c1), 'TERMINATE_EXISTING starts a new run');
SELECT is(pg_temp.run_status((SELECT run_id FROM c1)), 'TERMINATED', 'after terminating the running one');
SELECT is((SELECT attributes ->> 'reason' FROM durable.get_history('cp-1', (SELECT run_id FROM c1))
            WHERE event_type = 'WorkflowExecutionTerminated'),
          'terminated by a new start (id_conflict_policy TERMINATE_EXISTING)', 'which says why');
SELECT is((SELECT attributes ->> 'identity' FROM durable.get_history('cp-1', (SELECT run_id FROM c1))
            WHERE event_type = 'WorkflowExecutionTerminated'), 'ops', 'and who');
SELECT is(pg_temp.run_status((SELECT run_id FROM c2)), 'RUNNING',
          'the reuse policy (REJECT_DUPLICATE) is about closed runs: the terminated open run does not count');
-- with no open run, the reuse policy decides
SELECT lives_ok($$SELECT durable.terminate_workflow('cp-1')$$, 'cp-1 terminated');
SELECT throws_ok($$SELECT durable.start_workflow('cp-1', 'Order', 'so-q', NULL,
                    '{"id_conflict_policy": "TERMINATE_EXISTING", "id_reuse_policy": "REJECT_DUPLICATE"}')$$,
                 'DU002', NULL, 'TERMINATE_EXISTING with no open run: REJECT_DUPLICATE refuses a closed id');
SELECT isnt(durable.start_workflow('cp-1', 'Order', 'so-q', NULL, '{"id_conflict_policy": "USE_EXISTING"}'),
            (SELECT run_id FROM c2), 'USE_EXISTING with no open run starts a new one');
SELECT is(pg_temp.runs('cp-1'), 3::bigint, 'cp-1 has three runs');

-- refused values and pairs change nothing
SELECT is(pg_temp.err($$SELECT durable.start_workflow('cp-2', 'Order', 'so-q', NULL, '{"id_conflict_policy": "KEEP"}')$$),
          '22023: unknown id_conflict_policy "KEEP"', 'an unknown conflict policy is refused');
SELECT throws_ok($$SELECT durable.start_workflow('cp-2', 'Order', 'so-q', NULL,
                    '{"id_conflict_policy": "USE_EXISTING", "id_reuse_policy": "TERMINATE_IF_RUNNING"}')$$,
                 '22023', 'id_reuse_policy TERMINATE_IF_RUNNING cannot be used with an id_conflict_policy',
                 'TERMINATE_IF_RUNNING with a conflict policy is refused, as in Temporal');
SELECT throws_ok($$SELECT durable.signal_with_start('cp-2', 'Order', 'so-q', 'go', NULL, NULL,
                    '{"id_conflict_policy": "FAIL"}')$$,
                 '22023', 'signal_with_start does not take id_conflict_policy FAIL',
                 'signal_with_start refuses FAIL, as in Temporal');
SELECT is(pg_temp.runs('cp-2'), 0::bigint, 'the refused starts made nothing');

-- signal_with_start: USE_EXISTING (its default) signals, TERMINATE_EXISTING restarts
CREATE TEMP TABLE c3 AS SELECT durable.start_workflow('cp-3', 'Order', 'so-q') AS run_id;
SELECT is(durable.signal_with_start('cp-3', 'Order', 'so-q', 'go', '1', NULL, '{"id_conflict_policy": "USE_EXISTING"}'),
          (SELECT run_id FROM c3), 'signal_with_start USE_EXISTING signals the running run');
CREATE TEMP TABLE c4 AS SELECT durable.signal_with_start('cp-3', 'Order', 'so-q', 'go', '2', NULL,
    '{"id_conflict_policy": "TERMINATE_EXISTING"}') AS run_id;
SELECT is(pg_temp.run_status((SELECT run_id FROM c3)), 'TERMINATED', 'signal_with_start TERMINATE_EXISTING terminates the open run');
SELECT is(pg_temp.types('cp-3'), ARRAY['WorkflowExecutionStarted', 'WorkflowExecutionSignaled', 'WorkflowTaskScheduled'],
          'and starts a new one with the signal');
SELECT is(pg_temp.event('cp-3', 'WorkflowExecutionSignaled') -> 'input', '2'::jsonb, 'the new signal');

-- start_delay --------------------------------------------------------------
CREATE TEMP TABLE d1 AS SELECT durable.start_workflow('sd-1', 'Order', 'sd-q', NULL,
    '{"start_delay": "1 hour", "request_id": "sd"}') AS run_id;
SELECT is(pg_temp.types('sd-1'), ARRAY['WorkflowExecutionStarted'],
          'a delayed start writes WorkflowExecutionStarted and no workflow task yet');
SELECT is((pg_temp.event('sd-1', 'WorkflowExecutionStarted') -> 'first_workflow_task_backoff')::float8, 3600::float8,
          'WorkflowExecutionStarted carries first_workflow_task_backoff in seconds');
SELECT is((durable.describe_workflow('sd-1') -> 'start_delay')::float8, 3600::float8, 'describe_workflow shows start_delay');
SELECT is(durable.describe_workflow('sd-1') -> 'pending_workflow_task' ->> 'state', 'BACKOFF',
          'the first workflow task waits in BACKOFF');
SELECT is((durable.describe_workflow('sd-1') -> 'pending_workflow_task' ->> 'timeout_at')::timestamptz,
          (durable.describe_workflow('sd-1') ->> 'started_at')::timestamptz + interval '1 hour',
          'until the start plus the delay');
SELECT is(pg_temp.status('sd-1'), 'RUNNING', 'the run is RUNNING meanwhile');
SELECT is((SELECT count(*) FROM durable.poll_workflow_tasks('sd-q', 'tester', 1)), 0::bigint, 'no task to poll');
SELECT is(durable.start_workflow('sd-1', 'Order', 'sd-q', NULL, '{"start_delay": "1 hour", "request_id": "sd"}'),
          (SELECT run_id FROM d1), 'a retried delayed start is the same run');
SELECT durable.skip_time('59 minutes');
SELECT durable.fire_due();
SELECT is(pg_temp.types('sd-1'), ARRAY['WorkflowExecutionStarted'], 'still waiting after 59 minutes (durable.now)');
SELECT durable.skip_time('2 minutes');
SELECT ok(durable.fire_due() >= 1, 'the timer worker ends the delay');
SELECT is(pg_temp.types('sd-1'), ARRAY['WorkflowExecutionStarted', 'WorkflowTaskScheduled'],
          'then the first workflow task is scheduled');
SELECT is(pg_temp.event('sd-1', 'WorkflowTaskScheduled') -> 'attempt', '1'::jsonb, 'as attempt 1');
SELECT pg_temp.complete('sd-q', '[{"type": "CompleteWorkflowExecution", "result": "done"}]');
SELECT is(pg_temp.status('sd-1'), 'COMPLETED', 'and a worker completes the run');

-- a signal ends the delay
SELECT durable.start_workflow('sd-2', 'Order', 'sd-q', NULL, '{"start_delay": 86400}');
SELECT durable.signal_workflow('sd-2', 'wake', '1');
SELECT is(pg_temp.types('sd-2'), ARRAY['WorkflowExecutionStarted', 'WorkflowExecutionSignaled', 'WorkflowTaskScheduled'],
          'a signal during the delay schedules the first workflow task at once');
SELECT is(durable.describe_workflow('sd-2') -> 'pending_workflow_task' ->> 'state', 'SCHEDULED', 'which is SCHEDULED');
-- signal_with_start: its own signal does not end the delay (Temporal's rule);
-- a later signal_with_start to the delayed run is a signal and does
SELECT durable.signal_with_start('sd-3', 'Order', 'sd-q', 'first', '1', NULL, '{"start_delay": 86400}');
SELECT is(pg_temp.types('sd-3'), ARRAY['WorkflowExecutionStarted', 'WorkflowExecutionSignaled'],
          'signal_with_start with a delay: its signal waits with the run');
SELECT durable.signal_with_start('sd-3', 'Order', 'sd-q', 'second', '2', NULL, '{"start_delay": 86400}');
SELECT is(pg_temp.types('sd-3'), ARRAY['WorkflowExecutionStarted', 'WorkflowExecutionSignaled',
                                       'WorkflowExecutionSignaled', 'WorkflowTaskScheduled'],
          'a second signal_with_start signals the delayed run and ends the delay');
-- other events do not end it
SELECT durable.start_workflow('sd-4', 'Order', 'sd-q', NULL, '{"start_delay": 86400}');
SELECT durable.cancel_workflow('sd-4', 'not yet');
SELECT is(pg_temp.types('sd-4'), ARRAY['WorkflowExecutionStarted', 'WorkflowExecutionCancelRequested'],
          'a cancel request is recorded but the delay goes on');
SELECT lives_ok($$SELECT durable.terminate_workflow('sd-4')$$, 'a delayed run can be terminated');
SELECT is(pg_temp.status('sd-4'), 'TERMINATED', 'at once');
SELECT is((SELECT count(*) FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'sd-4'),
          0::bigint, 'and its waiting task is gone');
-- zero is no delay; bad delays change nothing
SELECT durable.start_workflow('sd-5', 'Order', 'sd-q', NULL, '{"start_delay": 0}');
SELECT is(pg_temp.types('sd-5'), ARRAY['WorkflowExecutionStarted', 'WorkflowTaskScheduled'], 'start_delay 0 is no delay');
SELECT is(durable.describe_workflow('sd-5') -> 'start_delay', 'null'::jsonb, 'and describe shows none');
SELECT throws_ok($$SELECT durable.start_workflow('sd-6', 'Order', 'sd-q', NULL, '{"start_delay": -5}')$$,
                 '22023', 'start options: "start_delay" must not be negative', 'a negative delay is refused');
SELECT throws_ok($$SELECT durable.start_workflow('sd-6', 'Order', 'sd-q', NULL, '{"start_delay": "soon"}')$$,
                 '22023', 'start options: "start_delay" is not a duration', 'a delay that is not a duration is refused');
SELECT is(pg_temp.runs('sd-6'), 0::bigint, 'the refused starts made nothing');

SELECT * FROM finish();
ROLLBACK;
