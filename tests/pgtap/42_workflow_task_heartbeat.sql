-- heartbeat_workflow_task: a worker running local activities keeps its
-- workflow task's lease; a stale token is refused and changes nothing; the
-- LocalActivity marker a task records comes back from get_history.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

SELECT durable.start_workflow('hb-1', 'W', 'hb-q', 'null', '{"task_timeout": 10}');
CREATE TEMP TABLE p AS SELECT * FROM durable.poll_workflow_tasks('hb-q', 'tester', 1);
CREATE FUNCTION pg_temp.deadline() RETURNS timestamptz LANGUAGE sql AS $$
    SELECT timeout_at FROM durable.workflow_tasks wt JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'hb-1'
$$;
SELECT durable.skip_time('8 seconds');
CREATE TEMP TABLE hb AS SELECT durable.now() AS before, durable.heartbeat_workflow_task((SELECT task_token FROM p)) AS deadline;
SELECT ok((SELECT deadline BETWEEN before + interval '10 seconds' AND durable.now() + interval '10 seconds' FROM hb),
          'a heartbeat extends the lease to now + the workflow task timeout, and returns it');
SELECT is(pg_temp.deadline(), (SELECT deadline FROM hb), 'the task''s deadline moved there');
SELECT durable.skip_time('8 seconds');
SELECT is(durable.fire_due(), 0, 'past the first deadline, the task does not time out');
SELECT is(pg_temp.status('hb-1'), 'RUNNING', 'the run goes on');
SELECT ok(NOT ('WorkflowTaskTimedOut' = ANY (pg_temp.types('hb-1'))), 'no WorkflowTaskTimedOut');
SELECT is(pg_temp.hlen('hb-1'), 3::bigint, 'a heartbeat writes no event');

-- the worker completes with the marker of its local activity
SELECT lives_ok(format($$SELECT durable.complete_workflow_task(%L, %L)$$, (SELECT task_token FROM p),
                       '[{"type": "RecordMarker", "marker_name": "LocalActivity", "details": {"activity_id": "1", "activity_type": "charge", "attempt": 2, "result": {"ok": true}}}]'),
                'complete with a LocalActivity marker');
SELECT is(pg_temp.event('hb-1', 'MarkerRecorded'),
          '{"marker_name": "LocalActivity", "details": {"activity_id": "1", "activity_type": "charge", "attempt": 2, "result": {"ok": true}}, "workflow_task_completed_event_id": 4}'::jsonb,
          'get_history gives the marker with its result and attempt');

-- a completed (or stale) token is refused and changes nothing
SELECT throws_ok(format($$SELECT durable.heartbeat_workflow_task(%L)$$, (SELECT task_token FROM p)), 'DU004',
                 'workflow task lease is no longer held', 'a heartbeat after completion is refused (DU004)');
SELECT throws_ok($$SELECT durable.heartbeat_workflow_task('w987654321.1')$$, 'DU004', NULL,
                 'an unknown token is refused');
SELECT throws_ok($$SELECT durable.heartbeat_workflow_task('banana')$$, '22023', NULL,
                 'a malformed token is refused (22023)');

-- an expired lease cannot be revived
SELECT durable.start_workflow('hb-2', 'W', 'hb-q', 'null', '{"task_timeout": 5}');
CREATE TEMP TABLE p2 AS SELECT * FROM durable.poll_workflow_tasks('hb-q', 'tester', 1);
SELECT durable.skip_time('6 seconds');
SELECT ok(durable.fire_due() >= 1, 'the task times out without heartbeats');
SELECT throws_ok(format($$SELECT durable.heartbeat_workflow_task(%L)$$, (SELECT task_token FROM p2)), 'DU004', NULL,
                 'a heartbeat of a timed-out task is refused');
SELECT is(pg_temp.as_role('durable_operator', format($$SELECT durable.heartbeat_workflow_task(%L)$$, 'w1.1')),
          '42501', 'an operator may not heartbeat workflow tasks');

SELECT * FROM finish();
ROLLBACK;
