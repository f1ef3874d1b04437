-- Limits at the door: every duration the API takes is positive and bounded,
-- every name is at most 255 bytes (a schedule's id leaves room for the
-- workflow ids it derives), and out-of-range arguments are 22023 naming the
-- field. Each refusal changes nothing. These are the values that used to
-- reach the timer worker and stop it (issue 8).
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
    SELECT format('%s/%s/%s/%s/%s', (SELECT count(*) FROM durable.workflows), (SELECT count(*) FROM durable.history),
                  (SELECT count(*) FROM durable.activity_tasks), (SELECT count(*) FROM durable.timers),
                  (SELECT count(*) FROM durable.schedules))
$$;
SELECT durable.start_workflow('lim-1', 'W', 'lim-q');
CREATE TEMP TABLE tok AS SELECT task_token FROM durable.poll_workflow_tasks('lim-q', 'tester', 1);
-- Completes the leased task of lim-1 with one command: the error, or 'ok'.
CREATE FUNCTION pg_temp.cmd(command jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.err(format('SELECT durable.complete_workflow_task(%L, %L)',
                              (SELECT task_token FROM tok), jsonb_build_array(command)))
$$;
CREATE FUNCTION pg_temp.activity(extra jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT '{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 5}'::jsonb || extra
$$;

CREATE TEMP TABLE before AS SELECT pg_temp.state() AS s;

-- Durations --------------------------------------------------------------------
-- '-1 year 361 days' compares as +1 day but is negative in seconds: it was the
-- retry interval whose logarithm stopped every timer.
SELECT is(left(pg_temp.cmd(pg_temp.activity('{"retry_policy": {"initial_interval": "-1 year 361 days"}}')), 5), '22023',
          'a retry initial_interval with a negative part');
SELECT matches(pg_temp.cmd(pg_temp.activity('{"retry_policy": {"initial_interval": "-1 year 361 days"}}')),
               'initial_interval', 'the error names the field');
SELECT is(left(pg_temp.cmd(pg_temp.activity('{"retry_policy": {"maximum_interval": "1 day -25 hours"}}')), 5), '22023',
          'a maximum_interval with a negative part');
SELECT is(left(pg_temp.cmd(pg_temp.activity(jsonb_build_object(k, v))), 5), '22023', format('%s = %s', k, v))
  FROM unnest(ARRAY['start_to_close_timeout', 'schedule_to_close_timeout', 'schedule_to_start_timeout', 'heartbeat_timeout']) k,
       unnest(ARRAY['-1'::jsonb, '"-1 year 361 days"', '"101 years"', '1e20', '"2 mons -61 days"']) v;
SELECT is(left(pg_temp.cmd(pg_temp.activity(jsonb_build_object('retry_policy', jsonb_build_object(k, v)))), 5), '22023',
          format('retry_policy %s = %s', k, v))
  FROM (VALUES ('backoff_coefficient', '0.5'::jsonb), ('backoff_coefficient', '1001'), ('backoff_coefficient', '1e400'),
               ('maximum_attempts', '-1'), ('maximum_attempts', '1e29'), ('maximum_attempts', '2.5'),
               ('initial_interval', '"101 years"'), ('maximum_interval', '-3')) p(k, v);
SELECT matches(pg_temp.cmd(pg_temp.activity('{"retry_policy": {"backoff_coefficient": 1e400}}')),
               '^22023: retry_policy: "backoff_coefficient"', 'a huge backoff is 22023 naming it, not 22003');
SELECT is(left(pg_temp.cmd(jsonb_build_object('type', 'StartTimer', 'timer_id', 't', 'start_to_fire_timeout', v)), 5),
          '22023', format('StartTimer start_to_fire_timeout = %s', v))
  FROM unnest(ARRAY['0'::jsonb, '-5', '"-1 year 361 days"', '"101 years"', '"0 seconds"', '1e300']) v;
SELECT is(pg_temp.cmd(pg_temp.activity('{"retry_policy": {"initial_interval": "1 year -1 day", "backoff_coefficient": 1000, "maximum_attempts": 2147483647}}')),
          '22023: retry_policy: "initial_interval" must not be negative', 'the message names the field');

-- Workflow timeouts, at start and for children
SELECT is(left(pg_temp.err(format('SELECT durable.start_workflow(''lim-x'', ''W'', ''lim-q'', NULL, %L)', o)), 5), '22023',
          'start options ' || o)
  FROM unnest(ARRAY['{"task_timeout": "2 days"}', '{"task_timeout": "-1 year 366 days"}', '{"task_timeout": 0}',
                    '{"run_timeout": "-1 year 361 days"}', '{"execution_timeout": "101 years"}',
                    '{"execution_timeout": "1 mon -31 days"}', '{"identity": 5}']) o;
SELECT matches(pg_temp.err($$SELECT durable.start_workflow('lim-x', 'W', 'lim-q', NULL, '{"task_timeout": "2 days"}')$$),
               'task_timeout" must be at most 1 day', 'a task timeout over a day names the field and the bound');
SELECT is(left(pg_temp.cmd('{"type": "StartChildWorkflowExecution", "workflow_id": "c", "workflow_type": "W", "workflow_task_timeout": "1000 years"}'), 5),
          '22023', 'a child with a century-long task timeout');
SELECT is(pg_temp.state(), (SELECT s FROM before), 'no refused duration changed anything');
SELECT is(pg_temp.err($$SELECT durable.start_workflow('lim-ok', 'W', 'lim-q', NULL, '{"task_timeout": "1 day", "run_timeout": "100 years"}')$$),
          'ok', 'the bounds themselves are accepted');
UPDATE before SET s = pg_temp.state();

-- Names ---------------------------------------------------------------------------
SELECT is(left(pg_temp.cmd(c), 5), '54000', 'a 256-byte name in ' || (c ->> 'type') || ' ' || k)
  FROM (VALUES
    ('activity_id', pg_temp.activity(jsonb_build_object('activity_id', repeat('a', 256)))),
    ('activity_type', pg_temp.activity(jsonb_build_object('activity_type', repeat('a', 256)))),
    ('task_queue', pg_temp.activity(jsonb_build_object('task_queue', repeat('a', 256)))),
    ('timer_id', jsonb_build_object('type', 'StartTimer', 'timer_id', repeat('t', 3000), 'start_to_fire_timeout', 5)),
    ('signal_name', jsonb_build_object('type', 'SignalExternalWorkflowExecution', 'workflow_id', 'lim-ok', 'signal_name', repeat('s', 256))),
    ('workflow_id', jsonb_build_object('type', 'SignalExternalWorkflowExecution', 'workflow_id', repeat('w', 256), 'signal_name', 's')),
    ('marker_name', jsonb_build_object('type', 'RecordMarker', 'marker_name', repeat('m', 256))),
    ('workflow_id', jsonb_build_object('type', 'StartChildWorkflowExecution', 'workflow_id', repeat('c', 256), 'workflow_type', 'W')),
    ('task_queue', jsonb_build_object('type', 'ContinueAsNewWorkflowExecution', 'task_queue', repeat('q', 256)))) p(k, c);
SELECT matches(pg_temp.cmd(jsonb_build_object('type', 'StartTimer', 'timer_id', repeat('t', 3000), 'start_to_fire_timeout', 5)),
               '^54000: StartTimer: "timer_id" is too long', 'the error names the field');
SELECT is(left(pg_temp.err(s), 5), '54000', s)
  FROM unnest(ARRAY[
    format('SELECT durable.signal_workflow(''lim-ok'', %L)', repeat('s', 256)),
    format('SELECT durable.signal_workflow(''lim-ok'', ''s'', identity => %L)', repeat('i', 256)),
    format('SELECT durable.signal_with_start(''lim-ok'', ''W'', ''lim-q'', %L)', repeat('s', 256)),
    format('SELECT durable.cancel_workflow(''lim-ok'', %L)', repeat('r', 4097)),
    format('SELECT durable.terminate_workflow(''lim-ok'', %L)', repeat('r', 4097)),
    format('SELECT durable.query_workflow(''lim-ok'', %L)', repeat('q', 256)),
    format('SELECT durable.poll_workflow_tasks(%L, ''me'')', repeat('q', 256)),
    format('SELECT durable.poll_activity_tasks(''lim-q'', %L)', repeat('i', 3000)),
    format('SELECT durable.poll_query_tasks(''lim-q'', %L)', repeat('i', 256)),
    format('SELECT durable.start_workflow(''lim-y'', ''W'', ''lim-q'', NULL, %L)', jsonb_build_object('identity', repeat('i', 256))),
    format('SELECT durable.create_schedule(%L, ''{"interval": [{"every": 60}]}'', ''{"workflow_type": "W", "task_queue": "q"}'')', repeat('s', 2660)),
    format('SELECT durable.pause_schedule(''nope'', %L)', repeat('n', 4097))]) s;
SELECT is(pg_temp.err(format('SELECT durable.fail_workflow_task(%L, %L)', (SELECT task_token FROM tok), repeat('C', 256)))::text ~ '^54000',
          true, 'a 256-byte workflow task failure cause');
SELECT is(pg_temp.state(), (SELECT s FROM before), 'no refused call changed anything');

-- Schedules: the ids they derive ---------------------------------------------------
-- A schedule's workflow ids are "<id>-2026-01-31T09:00:00Z": 21 bytes more.
SELECT matches(pg_temp.err(format($$SELECT durable.create_schedule(%L, '{"interval": [{"every": 60}]}',
                                  '{"workflow_type": "W", "task_queue": "q"}')$$, repeat('s', 235))),
               '^54000: schedule_id is too long', 'a 235-byte schedule id leaves no room for its workflow ids');
SELECT is(pg_temp.err(format($$SELECT durable.create_schedule(%L, '{"interval": [{"every": 60}]}',
                             '{"workflow_type": "W", "task_queue": "q"}')$$, repeat('s', 234))),
          'ok', 'a 234-byte schedule id fits');
SELECT matches(pg_temp.err(format($$SELECT durable.create_schedule('lim-s2', '{"interval": [{"every": 60}]}', %L)$$,
                                  jsonb_build_object('workflow_type', 'W', 'task_queue', 'q', 'workflow_id', repeat('w', 240)))),
               '^54000: schedule action: "workflow_id" is too long', 'so must the action''s workflow id prefix');
SELECT durable.skip_time('61 seconds');
SELECT durable.fire_due();
SELECT is((SELECT max(octet_length(workflow_id)) FROM durable.workflows WHERE workflow_id LIKE 'sss%'), 255,
          'the 234-byte schedule fired a 255-byte workflow id');

-- Schedule arguments
SELECT is(left(pg_temp.err(format('SELECT durable.create_schedule(''lim-s3'', %L, ''{"workflow_type": "W", "task_queue": "q"}'', %L)', sp, po)), 5),
          '22023', format('spec %s policies %s', sp, po))
  FROM (VALUES ('{"interval": [{"every": 60}]}', '{"remaining_actions": 1e29}'),
               ('{"interval": [{"every": 60}]}', '{"remaining_actions": 2.5}'),
               ('{"interval": [{"every": 60}]}', '{"remaining_actions": -1}'),
               ('{"interval": [{"every": 60}]}', '{"catchup_window": 0}'),
               ('{"interval": [{"every": 60}]}', '{"catchup_window": "-1 year 361 days"}'),
               ('{"interval": [{"every": 60}]}', '{"catchup_window": "101 years"}'),
               ('{"interval": [{"every": 60}]}', '{"note": 5}'),
               ('{"interval": [{"every": "-1 year 361 days"}]}', '{}'),
               ('{"interval": [{"every": "101 years"}]}', '{}'),
               ('{"interval": [{"every": 60, "offset": 60}]}', '{}'),
               ('{"interval": [{"every": 60, "offset": -1}]}', '{}'),
               ('{"interval": [{"every": 60}], "start_at": "infinity"}', '{}'),
               ('{"interval": [{"every": 60}], "end_at": "-infinity"}', '{}'),
               ('{"interval": [{"every": 60}], "end_at": "20000-01-01"}', '{}')) p(sp, po);
SELECT matches(pg_temp.err($$SELECT durable.create_schedule('lim-s3', '{"interval": [{"every": 60}]}',
                              '{"workflow_type": "W", "task_queue": "q"}', '{"remaining_actions": 1e29}')$$),
               '^22023: schedule policies: "remaining_actions"', 'remaining_actions 1e29 is 22023 naming the field');
SELECT durable.create_schedule('lim-s4', '{"interval": [{"every": 60}]}', '{"workflow_type": "W", "task_queue": "q"}');
SELECT matches(pg_temp.err(format('SELECT durable.backfill_schedule(''lim-s4'', %L, %L)', a, b)), '^22023: ' || f,
               format('backfill from %s to %s', a, b))
  FROM (VALUES ('-infinity', '2026-01-01', 'start_at'), ('2026-01-01', 'infinity', 'end_at'),
               ('0001-01-01', '2026-01-01', 'start_at')) p(a, b, f);
SELECT is(pg_temp.err($$SELECT durable.query_workflow('lim-ok', 'q', timeout_ms => 2000000000)$$)::text ~ '^22023: timeout_ms',
          true, 'a query timeout of 23 days');
SELECT * FROM finish();
ROLLBACK;
