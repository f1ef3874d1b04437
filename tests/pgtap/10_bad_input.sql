-- Bad input: malformed commands, unknown types and keys, wrong JSON types,
-- malformed tokens, oversized payloads. Each is refused with its SQLSTATE
-- and changes nothing.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE FUNCTION pg_temp.snapshot() RETURNS text LANGUAGE sql AS $$
    SELECT format('%s/%s/%s/%s/%s/%s', (SELECT count(*) FROM durable.workflows), (SELECT count(*) FROM durable.history),
                  (SELECT count(*) FROM durable.activity_tasks), (SELECT count(*) FROM durable.timers),
                  (SELECT string_agg(state || fence, ',' ORDER BY task_id) FROM durable.workflow_tasks),
                  (SELECT string_agg(state || fence || attempt, ',' ORDER BY task_id) FROM durable.activity_tasks))
$$;
-- Completes the leased task of bad-1 with commands; returns the SQLSTATE (or 'ok').
CREATE FUNCTION pg_temp.try_commands(commands jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM durable.complete_workflow_task((SELECT task_token FROM tok), commands);
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

SELECT durable.start_workflow('bad-1', 'W', 'bad-q');
CREATE TEMP TABLE tok AS SELECT task_token, run_id FROM durable.poll_workflow_tasks('bad-q', 'tester', 1);
CREATE TEMP TABLE before AS SELECT pg_temp.snapshot() AS s;

-- Malformed command lists -----------------------------------------------------------
SELECT throws_ok(format($$SELECT durable.complete_workflow_task(%L, '{"type": "CompleteWorkflowExecution"}')$$, (SELECT task_token FROM tok)),
                 '22023', 'commands must be a JSON array', 'commands that are an object, not an array');
SELECT throws_ok(format($$SELECT durable.complete_workflow_task(%L, NULL)$$, (SELECT task_token FROM tok)),
                 '22023', 'commands must be a JSON array', 'NULL commands');
SELECT throws_ok(format($$SELECT durable.complete_workflow_task(%L, 'null')$$, (SELECT task_token FROM tok)),
                 '22023', 'commands must be a JSON array', 'JSON null commands');
SELECT throws_ok(format($$SELECT durable.complete_workflow_task(%L, '[1]')$$, (SELECT task_token FROM tok)),
                 '22023', 'command 0 is not an object with a "type"', 'a command that is not an object');
SELECT throws_ok(format($$SELECT durable.complete_workflow_task(%L, '[{}]')$$, (SELECT task_token FROM tok)),
                 '22023', 'command 0 is not an object with a "type"', 'a command without a type');
SELECT throws_ok(format($$SELECT durable.complete_workflow_task(%L, '[{"type": 7}]')$$, (SELECT task_token FROM tok)),
                 '22023', 'command 0 is not an object with a "type"', 'a type that is not a string');
SELECT throws_ok(format($$SELECT durable.complete_workflow_task(%L, '[{"type": "Explode"}]')$$, (SELECT task_token FROM tok)),
                 '22023', 'unknown command type "Explode"', 'an unknown command type');
SELECT throws_ok(format($$SELECT durable.complete_workflow_task(%L, '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 1, "colour": "red"}]')$$,
                        (SELECT task_token FROM tok)),
                 '22023', 'StartTimer has an unknown field "colour"', 'an unknown key in a command');
SELECT throws_ok($$SELECT durable.complete_workflow_task('w1.1', '{oops')$$, '22P02', NULL,
                 'text that is not JSON at all is refused by PostgreSQL itself (22P02)');

-- Each bad command is 22023 --------------------------------------------------------------
SELECT is(pg_temp.try_commands(c), '22023', 'bad command: ' || c::text)
  FROM unnest(ARRAY[
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "start_to_close_timeout": 5}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A"}]',
    '[{"type": "ScheduleActivityTask", "activity_id": 1, "activity_type": "A", "start_to_close_timeout": 5}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "", "activity_type": "A", "start_to_close_timeout": 5}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": "soon"}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": -1}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": [5]}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "task_queue": 3}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "retry_policy": {"backoff_coefficient": 0.5}}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "retry_policy": {"backoff_coefficient": "2"}}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "retry_policy": {"maximum_attempts": -1}}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "retry_policy": {"maximum_attempts": 1.5}}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "retry_policy": {"initial_interval": 10, "maximum_interval": 5}}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "retry_policy": {"non_retryable_error_types": "X"}}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "retry_policy": {"non_retryable_error_types": [1]}}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "retry_policy": {"jitter": 1}}]',
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5, "retry_policy": [1]}]',
    '[{"type": "StartTimer", "timer_id": "t"}]',
    '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 0}]',
    '[{"type": "StartTimer", "timer_id": 5, "start_to_fire_timeout": 1}]',
    '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 1e300}]',
    '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": -1e300}]',
    '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 1e15}]',
    '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": "100000000 years"}]',
    '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": "infinity"}]',
    '[{"type": "StartTimer", "start_to_fire_timeout": 1}]',
    '[{"type": "CancelTimer"}]',
    '[{"type": "RequestCancelActivityTask", "scheduled_event_id": "2"}]',
    '[{"type": "RequestCancelActivityTask", "scheduled_event_id": -2}]',
    '[{"type": "RequestCancelActivityTask", "scheduled_event_id": 2.5}]',
    '[{"type": "RequestCancelActivityTask", "scheduled_event_id": 2}]',
    '[{"type": "StartChildWorkflowExecution", "workflow_id": "k"}]',
    '[{"type": "StartChildWorkflowExecution", "workflow_id": "k/1", "workflow_type": "K"}]',
    '[{"type": "StartChildWorkflowExecution", "workflow_id": "k", "workflow_type": "K", "workflow_run_timeout": "never"}]',
    '[{"type": "StartChildWorkflowExecution", "workflow_id": "k", "workflow_type": "K", "workflow_id_reuse_policy": "MAYBE"}]',
    '[{"type": "StartChildWorkflowExecution", "workflow_id": "k", "workflow_type": "K", "memo": 1}]',
    '[{"type": "SignalExternalWorkflowExecution", "workflow_id": "x"}]',
    '[{"type": "SignalExternalWorkflowExecution", "signal_name": "s"}]',
    '[{"type": "SignalExternalWorkflowExecution", "workflow_id": "x", "signal_name": "s", "child_workflow_only": "yes"}]',
    '[{"type": "RequestCancelExternalWorkflowExecution", "workflow_id": "x", "run_id": "123"}]',
    '[{"type": "RecordMarker"}]',
    '[{"type": "RecordMarker", "marker_name": ["m"]}]',
    '[{"type": "UpsertWorkflowSearchAttributes"}]',
    '[{"type": "UpsertWorkflowSearchAttributes", "search_attributes": [1]}]',
    '[{"type": "CompleteWorkflowExecution", "result": 1, "extra": 2}]',
    '[{"type": "FailWorkflowExecution"}]',
    '[{"type": "FailWorkflowExecution", "failure": "boom"}]',
    '[{"type": "ContinueAsNewWorkflowExecution", "workflow_run_timeout": "later"}]',
    '[{"type": "ContinueAsNewWorkflowExecution", "memo": "m"}]',
    '[{"type": "CompleteWorkflowExecution"}, {"type": "RecordMarker", "marker_name": "m"}]',
    '[{"type": "StartTimer", "timer_id": "good", "start_to_fire_timeout": 1}, {"type": "StartTimer", "timer_id": "bad"}]',
    '[{"type": "StartTimer", "timer_id": "dup", "start_to_fire_timeout": 1}, {"type": "StartTimer", "timer_id": "dup", "start_to_fire_timeout": 1}]'
  ]::jsonb[]) c;
SELECT is(pg_temp.snapshot(), (SELECT s FROM before), 'no bad command changed anything, even after a good one in the same task');
SELECT lives_ok(format($$SELECT durable.complete_workflow_task(%L, '[]')$$, (SELECT task_token FROM tok)),
                'the lease survived every refused completion');

-- Namespaces come into being with a start or a schedule: both check them
SELECT throws_ok($$SELECT durable.create_schedule('sch', '{"interval": [{"every": 60}]}',
                                                  '{"workflow_type": "W", "task_queue": "q"}', '{}', 'a/b')$$,
                 '22023', NULL, 'create_schedule refuses a namespace with "/"');
SELECT throws_ok($$SELECT durable.create_schedule('sch', '{"interval": [{"every": 60}]}',
                                                  '{"workflow_type": "W", "task_queue": "q"}', '{}', NULL)$$,
                 '22023', NULL, 'create_schedule refuses a NULL namespace');

-- Malformed tokens -------------------------------------------------------------------------
SELECT throws_ok(format($$SELECT durable.complete_workflow_task(%L)$$, t), '22023', 'malformed workflow task token',
                 'malformed workflow token ' || quote_literal(t))
  FROM unnest(ARRAY['', 'w', 'w1', 'w1.', 'w.1', 'w-1.1', 'w1.1 ', ' w1.1', 'W1.1', 'w1.1.1', 'w1234567890123456789.1', 'a1.1']) t;
SELECT throws_ok(format($$SELECT durable.heartbeat_activity_task(%L)$$, t), '22023', 'malformed activity task token',
                 'malformed activity token ' || quote_literal(t))
  FROM unnest(ARRAY['', 'a', 'a1', 'a1.x', 'w1.1', 'a1.1;drop']) t;

-- Poll arguments --------------------------------------------------------------------------------
SELECT throws_ok($$SELECT * FROM durable.poll_workflow_tasks('bad-q', 'tester', 0)$$, '22023', NULL, 'max_tasks 0');
SELECT throws_ok($$SELECT * FROM durable.poll_workflow_tasks('bad-q', 'tester', 1001)$$, '22023', NULL, 'max_tasks over 1000');
SELECT throws_ok($$SELECT * FROM durable.poll_activity_tasks('bad-q', 'tester', NULL)$$, '22023', NULL, 'max_tasks NULL');
SELECT throws_ok($$SELECT * FROM durable.poll_activity_tasks('', 'tester', 1)$$, '22023', NULL, 'an empty task queue');
SELECT throws_ok($$SELECT * FROM durable.poll_workflow_tasks('bad-q', NULL, 1)$$, '22023', NULL, 'a NULL identity');
SELECT durable.signal_workflow('bad-1', 'wake');
SELECT throws_ok(format($$SELECT * FROM durable.poll_workflow_tasks('bad-q', 'tester', 1, '{"%s": "abc"}')$$, (SELECT run_id FROM tok)),
                 '22023', NULL, 'a cached event id that is not a number');
SELECT throws_ok($$SELECT * FROM durable.poll_workflow_tasks('bad-q', 'tester', 1, '[1]')$$,
                 '22023', NULL, 'a cache that is not an object');
SELECT is((durable.describe_workflow('bad-1') -> 'pending_workflow_task' ->> 'state'), 'SCHEDULED', 'the refused polls leased nothing');

-- Activity outcomes -------------------------------------------------------------------------------
SELECT durable.complete_workflow_task((SELECT task_token FROM durable.poll_workflow_tasks('bad-q', 'tester', 1)),
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 60}]');
CREATE TEMP TABLE act AS SELECT task_token FROM durable.poll_activity_tasks('bad-q', 'tester', 1);
DELETE FROM before;
INSERT INTO before SELECT pg_temp.snapshot();
SELECT throws_ok(format($$SELECT durable.fail_activity_task(%L, %L)$$, (SELECT task_token FROM act), f), '22023',
                 'failure must be a JSON object with a "message" string', 'bad failure ' || coalesce(f, 'NULL'))
  FROM unnest(ARRAY[NULL, '"boom"', '{}', '{"message": 1}', '[{"message": "x"}]']) f;

-- Oversized payloads: 54000 ---------------------------------------------------------------------
SET LOCAL durable.max_payload_bytes = 1000;
CREATE TEMP TABLE big AS SELECT to_jsonb(repeat('x', 1200)) AS v;
SELECT throws_ok($$SELECT durable.start_workflow('big-1', 'W', 'bad-q', (SELECT v FROM big))$$, '54000', 'workflow input is too large',
                 'oversized workflow input');
SELECT throws_ok($$SELECT durable.start_workflow('big-1', 'W', 'bad-q', NULL, jsonb_build_object('memo', jsonb_build_object('m', (SELECT v FROM big))))$$,
                 '54000', NULL, 'oversized memo');
SELECT throws_ok($$SELECT durable.start_workflow('big-1', 'W', 'bad-q', NULL, jsonb_build_object('search_attributes', jsonb_build_object('k', (SELECT v FROM big))))$$,
                 '54000', NULL, 'oversized search attributes');
SELECT throws_ok($$SELECT durable.signal_with_start('big-1', 'W', 'bad-q', 's', (SELECT v FROM big))$$, '54000', NULL,
                 'oversized signal_with_start signal input');
SELECT throws_ok($$SELECT durable.signal_workflow('bad-1', 's', (SELECT v FROM big))$$, '54000', 'signal input is too large',
                 'oversized signal input');
SELECT throws_ok($$SELECT durable.terminate_workflow('bad-1', 'r', (SELECT v FROM big))$$, '54000', NULL, 'oversized termination details');
SELECT throws_ok(format($$SELECT durable.complete_activity_task(%L, (SELECT v FROM big))$$, (SELECT task_token FROM act)),
                 '54000', 'activity result is too large', 'oversized activity result');
SELECT throws_ok(format($$SELECT durable.fail_activity_task(%L, jsonb_build_object('message', (SELECT v FROM big)))$$, (SELECT task_token FROM act)),
                 '54000', NULL, 'oversized activity failure');
SELECT throws_ok(format($$SELECT durable.heartbeat_activity_task(%L, (SELECT v FROM big))$$, (SELECT task_token FROM act)),
                 '54000', NULL, 'oversized heartbeat details');
SELECT throws_ok(format($$SELECT durable.cancel_activity_task(%L, (SELECT v FROM big))$$, (SELECT task_token FROM act)),
                 '54000', NULL, 'oversized cancellation details');
SELECT is((SELECT outcome FROM durable.complete_activity_tasks(jsonb_build_array(jsonb_build_object(
              'task_token', (SELECT task_token FROM act), 'result', (SELECT v FROM big))))), 'INVALID',
          'an oversized item of a batch is INVALID');
SELECT is(pg_temp.snapshot(), (SELECT s FROM before), 'no refused payload changed anything');
SELECT durable.signal_workflow('bad-1', 'wake');
CREATE TEMP TABLE tok2 AS SELECT task_token FROM durable.poll_workflow_tasks('bad-q', 'tester', 1);
DELETE FROM tok;
INSERT INTO tok SELECT task_token, NULL FROM tok2;
DELETE FROM before;
INSERT INTO before SELECT pg_temp.snapshot();
SELECT is(pg_temp.try_commands(c), '54000', 'oversized payload in ' || (c -> 0 ->> 'type'))
  FROM (SELECT ARRAY[
    jsonb_build_array(jsonb_build_object('type', 'ScheduleActivityTask', 'activity_id', '2', 'activity_type', 'A',
                                         'start_to_close_timeout', 5, 'input', v)),
    jsonb_build_array(jsonb_build_object('type', 'StartChildWorkflowExecution', 'workflow_id', 'k', 'workflow_type', 'K', 'input', v)),
    jsonb_build_array(jsonb_build_object('type', 'StartChildWorkflowExecution', 'workflow_id', 'k', 'workflow_type', 'K', 'memo', jsonb_build_object('m', v))),
    jsonb_build_array(jsonb_build_object('type', 'SignalExternalWorkflowExecution', 'workflow_id', 'x', 'signal_name', 's', 'input', v)),
    jsonb_build_array(jsonb_build_object('type', 'RecordMarker', 'marker_name', 'm', 'details', v)),
    jsonb_build_array(jsonb_build_object('type', 'UpsertWorkflowSearchAttributes', 'search_attributes', jsonb_build_object('k', v))),
    jsonb_build_array(jsonb_build_object('type', 'CompleteWorkflowExecution', 'result', v)),
    jsonb_build_array(jsonb_build_object('type', 'FailWorkflowExecution', 'failure', jsonb_build_object('message', v))),
    jsonb_build_array(jsonb_build_object('type', 'CancelWorkflowExecution', 'details', v)),
    jsonb_build_array(jsonb_build_object('type', 'ContinueAsNewWorkflowExecution', 'input', v)),
    jsonb_build_array(jsonb_build_object('type', 'ContinueAsNewWorkflowExecution', 'memo', jsonb_build_object('m', v)))
  ] AS cs, v FROM big) x, unnest(x.cs) c;
SELECT throws_ok(format($$SELECT durable.fail_workflow_task(%L, 'X', jsonb_build_object('message', (SELECT v FROM big)))$$,
                        (SELECT task_token FROM tok)), '54000', NULL, 'oversized workflow task failure');
SELECT is(pg_temp.snapshot(), (SELECT s FROM before), 'no refused command changed anything');
RESET durable.max_payload_bytes;
SELECT lives_ok($$SELECT durable.signal_workflow('bad-1', 's', (SELECT v FROM big))$$, 'the same payload passes the default limit');

SELECT * FROM finish();
ROLLBACK;
