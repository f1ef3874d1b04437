-- Least privilege: what durable_worker, durable_operator, durable_admin and
-- PUBLIC may call, skip_time for superusers only, and pinned search_path.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
CREATE ROLE durable_test_nobody NOLOGIN;
CREATE ROLE durable_test_skipper NOLOGIN;
GRANT USAGE ON SCHEMA durable TO durable_test_skipper;
GRANT EXECUTE ON FUNCTION durable.skip_time(interval) TO durable_test_skipper;

-- The operator starts and reads; the worker works --------------------------------------
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.start_workflow('role-1', 'W', 'role-q')$$), 'ok',
          'operator may start_workflow');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.signal_workflow('role-1', 's')$$), 'ok', 'operator may signal_workflow');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.signal_with_start('role-2', 'W', 'role-q', 's')$$), 'ok',
          'operator may signal_with_start');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.describe_workflow('role-1')$$), 'ok', 'operator may describe_workflow');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.get_history('role-1')$$), 'ok', 'operator may get_history');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.list_workflows()$$), 'ok', 'operator may list_workflows');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.list_task_queues()$$), 'ok', 'operator may list_task_queues');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.query_workflow('role-1', 'q', timeout_ms => 10)$$), 'DU005',
          'operator may query_workflow (and it times out without a worker)');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.cancel_workflow('role-2')$$), 'ok', 'operator may cancel_workflow');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.terminate_workflow('role-2')$$), 'ok', 'operator may terminate_workflow');

SELECT is(pg_temp.as_role('durable_worker', $$SELECT durable.start_workflow('role-3', 'W', 'role-q')$$), '42501',
          'worker may not start_workflow');
SELECT is(pg_temp.as_role('durable_worker', $$SELECT durable.signal_workflow('role-1', 's')$$), '42501', 'worker may not signal_workflow');
SELECT is(pg_temp.as_role('durable_worker', $$SELECT durable.terminate_workflow('role-1')$$), '42501', 'worker may not terminate_workflow');
SELECT is(pg_temp.as_role('durable_worker', $$SELECT durable.describe_workflow('role-1')$$), '42501', 'worker may not describe_workflow');
SELECT is(pg_temp.as_role('durable_worker', $$SELECT durable.fire_due()$$), '42501', 'worker may not fire_due');
SELECT is(pg_temp.as_role('durable_worker', $$SELECT * FROM durable.workflows$$), '42501', 'worker may not read the tables');
SELECT is(pg_temp.as_role('durable_worker', $$SELECT durable._append(gen_random_uuid(), 'X', '{}')$$), '42501',
          'worker may not call internal helpers');
SELECT is(pg_temp.as_role('durable_worker', $$SELECT durable.get_history('role-1')$$), 'ok', 'worker may get_history');
SELECT is(pg_temp.as_role('durable_worker', $$CREATE TEMP TABLE wt AS SELECT * FROM durable.poll_workflow_tasks('role-q', 'w', 1)$$),
          'ok', 'worker may poll_workflow_tasks');
SELECT is(pg_temp.as_role('durable_worker', format($$SELECT durable.complete_workflow_task(%L,
    '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 60},
      {"type": "ScheduleActivityTask", "activity_id": "2", "activity_type": "A", "start_to_close_timeout": 60},
      {"type": "ScheduleActivityTask", "activity_id": "3", "activity_type": "A", "start_to_close_timeout": 60}]')$$,
    (SELECT task_token FROM wt))), 'ok', 'worker may complete_workflow_task');
SELECT is(pg_temp.as_role('durable_worker', $$CREATE TEMP TABLE at AS SELECT * FROM durable.poll_activity_tasks('role-q', 'w', 3)$$),
          'ok', 'worker may poll_activity_tasks');
SELECT is(pg_temp.as_role('durable_worker', format($$SELECT durable.heartbeat_activity_task(%L)$$, (SELECT min(task_token) FROM at))),
          'ok', 'worker may heartbeat_activity_task');
SELECT is(pg_temp.as_role('durable_worker', format($$SELECT durable.complete_activity_task(%L, '1')$$, (SELECT min(task_token) FROM at))),
          'ok', 'worker may complete_activity_task');
SELECT is(pg_temp.as_role('durable_worker', format($$SELECT durable.fail_activity_task(%L, '{"message": "x"}')$$, (SELECT max(task_token) FROM at))),
          'ok', 'worker may fail_activity_task');
SELECT is(pg_temp.as_role('durable_worker', format($$SELECT * FROM durable.complete_activity_tasks('[{"task_token": %s, "result": 2}]')$$,
                                                   to_jsonb((SELECT task_token FROM at ORDER BY task_token OFFSET 1 LIMIT 1))::text)),
          'ok', 'worker may complete_activity_tasks');
SELECT is(pg_temp.as_role('durable_worker', $$SELECT durable.poll_query_tasks('role-q', 'w')$$), 'ok', 'worker may poll_query_tasks');
SELECT is(pg_temp.as_role('durable_worker', $$SELECT durable.answer_query_task('q' || md5('x'), '1')$$), 'DU004',
          'worker may answer_query_task');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.update_workflow('role-1', 'u', timeout_ms => 10)$$), 'DU005',
          'operator may update_workflow (and it times out without a worker)');
SELECT is(pg_temp.as_role('durable_worker', $$SELECT durable.task_queue_channel('activity', 'role-q')$$), 'ok',
          'worker may compute its NOTIFY channel');

SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.poll_workflow_tasks('role-q', 'o', 1)$$), '42501',
          'operator may not poll_workflow_tasks');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.poll_activity_tasks('role-q', 'o', 1)$$), '42501',
          'operator may not poll_activity_tasks');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.complete_activity_task('a1.1', '1')$$), '42501',
          'operator may not complete_activity_task');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.fire_due()$$), '42501', 'operator may not fire_due');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT * FROM durable.history$$), '42501', 'operator may not read the tables');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.skip_time('1 second')$$), '42501', 'operator may not skip_time');

-- The admin: both jobs, the timer functions, read-only tables -----------------------------
SELECT is(pg_temp.as_role('durable_admin', $$SELECT durable.start_workflow('role-4', 'W', 'role-q')$$), 'ok', 'admin may start_workflow');
SELECT is(pg_temp.as_role('durable_admin', $$SELECT durable.poll_workflow_tasks('role-q', 'a', 1)$$), 'ok', 'admin may poll');
SELECT is(pg_temp.as_role('durable_admin', $$SELECT durable.fire_due()$$), 'ok', 'admin may fire_due');
SELECT is(pg_temp.as_role('durable_admin', $$SELECT durable.next_due()$$), 'ok', 'admin may next_due');
SELECT is(pg_temp.as_role('durable_admin', $$SELECT count(*) FROM durable.workflows$$), 'ok', 'admin may read the tables');
SELECT is(pg_temp.as_role('durable_admin', $$UPDATE durable.workflows SET status = 'COMPLETED'$$), '42501', 'admin may not write them');
SELECT is(pg_temp.as_role('durable_admin', $$DELETE FROM durable.history$$), '42501', 'admin may not delete history');
SELECT is(pg_temp.as_role('durable_admin', $$SELECT durable.skip_time('1 second')$$), '42501', 'admin may not skip_time');
SELECT is(pg_temp.as_role('durable_admin', $$SELECT durable._close_run(gen_random_uuid(), 'TERMINATED', 'X', '{}')$$), '42501',
          'admin may not call internal helpers');
SELECT is(pg_temp.as_role('durable_test_skipper', $$SELECT durable.skip_time('1 second')$$), '42501',
          'skip_time refuses a non-superuser even with EXECUTE granted');

-- PUBLIC: nothing ---------------------------------------------------------------------------
SELECT is(pg_temp.as_role('durable_test_nobody', $$SELECT durable.now()$$), '42501', 'PUBLIC may not even call durable.now()');
SELECT is(pg_temp.as_role('durable_test_nobody', $$SELECT durable.start_workflow('x', 'W', 'q')$$), '42501', 'PUBLIC may not start');
SELECT is((SELECT array_agg(p.oid::regprocedure::text) FROM pg_proc p
            WHERE p.pronamespace = 'durable'::regnamespace
              AND has_function_privilege('durable_test_nobody', p.oid, 'EXECUTE')), NULL,
          'PUBLIC has EXECUTE on no durable function');
SELECT is((SELECT array_agg(c.relname::text) FROM pg_class c
            WHERE c.relnamespace = 'durable'::regnamespace AND c.relkind IN ('r', 'S', 'v')
              AND has_table_privilege('durable_test_nobody', c.oid, 'SELECT')), NULL,
          'PUBLIC can read no durable table');
SELECT ok(NOT has_schema_privilege('durable_test_nobody', 'durable', 'USAGE'), 'PUBLIC has no USAGE on the schema');

-- The exact EXECUTE grants of each role --------------------------------------------------------
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
            WHERE p.pronamespace = 'durable'::regnamespace AND has_function_privilege('durable_worker', p.oid, 'EXECUTE')),
          ARRAY['accept_update_task', 'answer_query_task', 'cancel_activity_task', 'complete_activity_task', 'complete_activity_tasks',
                'complete_activity_tasks_eager',
                'complete_workflow_task', 'complete_workflow_tasks', 'complete_workflow_tasks_eager', 'fail_activity_task',
                'fail_workflow_task', 'get_history', 'has_access',
                'heartbeat_activity_task',
                'heartbeat_activity_task_status',
                'heartbeat_workflow_task',
                'list_grants', 'now',
                'now',
                'poll_activity_tasks', 'poll_query_tasks', 'poll_workflow_tasks', 'task_queue_channel',
                'task_schedule_to_start', 'wait_for_query_tasks', 'workflow_task_history'],
          'durable_worker executes exactly the worker API');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
            WHERE p.pronamespace = 'durable'::regnamespace AND has_function_privilege('durable_operator', p.oid, 'EXECUTE')),
          ARRAY['backfill_schedule', 'cancel_workflow',
                'clock_offset',
                'count_workflows', 'create_schedule', 'delete_schedule', 'delete_workflow',
                'describe_batch_job', 'describe_namespace', 'describe_schedule',
                'describe_workflow', 'get_history', 'has_access', 'history_chain', 'list_activity_tasks', 'list_batch_jobs', 'list_build_id_rules', 'list_grants', 'list_namespaces', 'list_parked', 'list_runs',
                'list_schedules', 'list_search_attributes', 'list_task_queue_limits', 'list_task_queues', 'list_workflows', 'now',
                'now',
                'pause_activity', 'pause_schedule', 'pause_workflow',
                'query_workflow',
                'reset_activity',
                'reset_workflow', 'retry_parked',
                'set_build_id_rules', 'set_fairness_key_limits', 'set_task_queue_limits', 'signal_with_start', 'signal_workflow',
                'skip_time', 'skip_to_next_deadline',
                'start_batch_job', 'start_workflow', 'stop_batch_job',
                'terminate_workflow', 'trigger_schedule',
                'unpause_activity',
                'unpause_schedule',
                'unpause_workflow',
                'unwatch_history',
                'update_activity_options',
                'update_schedule',
                'update_workflow', 'watch_history'],
          'durable_operator executes exactly the client API');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
            WHERE p.pronamespace = 'durable'::regnamespace AND has_function_privilege('durable_admin', p.oid, 'EXECUTE')
              AND NOT has_function_privilege('durable_worker', p.oid, 'EXECUTE')
              AND NOT has_function_privilege('durable_operator', p.oid, 'EXECUTE')),
          ARRAY['_event_attributes', '_event_type',
                'add_search_attribute', 'clock_offset', 'fire_due', 'grant_namespace', 'grant_task_queue', 'next_due', 'register_namespace',
                'remove_search_attribute', 'revoke_namespace', 'revoke_task_queue', 'set_namespace_retention', 'verify_store'],
          'durable_admin adds only clock_offset, fire_due, next_due, the namespace settings, search attributes, verify_store, the grant functions and the two that durable.history''s view calls');
SELECT is((SELECT array_agg(p.proname::text ORDER BY p.proname) FROM pg_proc p
            WHERE p.pronamespace = 'durable'::regnamespace
              AND has_function_privilege('durable_scoped', p.oid, 'EXECUTE')
                  <> (has_function_privilege('durable_worker', p.oid, 'EXECUTE')
                      OR has_function_privilege('durable_operator', p.oid, 'EXECUTE'))), NULL,
          'durable_scoped executes exactly what durable_worker or durable_operator may');
SELECT is((SELECT array_agg(p.proname::text) FROM pg_proc p
            WHERE p.pronamespace = 'durable'::regnamespace AND p.proname LIKE '\_%'
              -- a view's functions are called as its reader: durable_admin reads
              -- durable.history (api/01_history.sql) through these two, which
              -- only render the row they are given
              AND p.proname NOT IN ('_event_type', '_event_attributes')
              AND (has_function_privilege('durable_admin', p.oid, 'EXECUTE'))), NULL,
          'no role executes an internal _helper (but the administrator durable.history''s two renderers)');

-- search_path ---------------------------------------------------------------------------
SELECT is((SELECT array_agg(p.oid::regprocedure::text) FROM pg_proc p
            WHERE p.pronamespace = 'durable'::regnamespace AND p.prosecdef
              AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)), NULL,
          'every SECURITY DEFINER function pins search_path = pg_catalog, pg_temp');
SELECT ok((SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'durable'::regnamespace AND p.prosecdef) >= 23,
          'and there are SECURITY DEFINER entry points to check');
SELECT is((SELECT array_agg(p.oid::regprocedure::text) FROM pg_proc p
            WHERE p.pronamespace = 'durable'::regnamespace AND NOT p.prosecdef
              AND (has_function_privilege('durable_worker', p.oid, 'EXECUTE')
                   OR has_function_privilege('durable_operator', p.oid, 'EXECUTE'))
              AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')), NULL,
          'no granted PL/pgSQL function runs as its caller');
-- Trigger functions run as whoever wrote the row, with that session's path:
-- each pins it, but the C placing triggers, which look no name up and run
-- twice per activity, where a SET costs more than the call (sql/README.md,
-- "Trigger functions and search_path").
SELECT is((SELECT array_agg(p.oid::regprocedure::text ORDER BY p.oid::regprocedure::text) FROM pg_proc p
            WHERE p.pronamespace = 'durable'::regnamespace AND p.prorettype = 'trigger'::regtype
              AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)),
          ARRAY['durable._activity_task_pass()', 'durable._workflow_task_pass()'],
          'every trigger function pins search_path but the two C placing triggers');
SELECT is((SELECT array_agg(l.lanname::text) FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
            WHERE p.oid IN ('durable._activity_task_pass()'::regprocedure, 'durable._workflow_task_pass()'::regprocedure)),
          ARRAY['c', 'c'], 'and those are C');

SELECT * FROM finish();
ROLLBACK;
