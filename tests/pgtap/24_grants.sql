-- Scoped grants: the matrix of each right (worker, operator, reader, a task
-- queue, a prefix) on, off, on another namespace and on another queue;
-- lists and counts refuse what a role may not see; completions of tasks of
-- a queue the caller may not poll are refused and change nothing; the hint
-- names the missing grant; the grant functions' bad input.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- pg_temp.as_role (helpers.psql) runs q after SET ROLE, as durablefs does
-- for its callers, from this superuser session: so the checks follow SET
-- ROLE, not session_user.
-- The same, undoing what q did (the matrix below leaves the store as it was).
CREATE FUNCTION pg_temp.try_as(r text, q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', r);
    EXECUTE q;
    RAISE SQLSTATE 'ZZ000';
EXCEPTION WHEN OTHERS THEN
    RETURN CASE SQLSTATE WHEN 'ZZ000' THEN 'ok' ELSE SQLSTATE END;
END
$$;
-- The message and hint of the error q raises as role r.
CREATE FUNCTION pg_temp.error_of(r text, q text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    msg text;
    hint text;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', r);
    EXECUTE q;
    RESET ROLE;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
    RETURN ARRAY[SQLSTATE, msg, hint];
END
$$;

CREATE ROLE g_worker NOLOGIN;      -- worker on namespace ga
CREATE ROLE g_operator NOLOGIN;    -- operator on ga
CREATE ROLE g_reader NOLOGIN;      -- reader on ga
CREATE ROLE g_queue NOLOGIN;       -- worker on task queue qa of ga
CREATE ROLE g_prefix NOLOGIN;      -- worker on task queues orders-* of ga
CREATE ROLE g_none NOLOGIN;        -- had a grant, revoked: durable_scoped only
CREATE ROLE g_login LOGIN IN ROLE durable_operator;   -- a daemon's login, with every operator right

SELECT ok(durable.grant_namespace('g_worker', 'worker', 'ga'), 'grant_namespace worker');
SELECT ok(durable.grant_namespace('g_operator', 'operator', 'ga'), 'grant_namespace operator');
SELECT ok(durable.grant_namespace('g_reader', 'reader', 'ga'), 'grant_namespace reader');
SELECT ok(durable.grant_task_queue('g_queue', 'qa', 'ga'), 'grant_task_queue one queue');
SELECT ok(durable.grant_task_queue('g_prefix', 'orders-*', 'ga'), 'grant_task_queue a prefix');
SELECT ok(durable.grant_namespace('g_none', 'reader', 'ga'), 'a grant to take back');
SELECT ok(durable.revoke_namespace('g_none', 'reader', 'ga'), 'revoke_namespace says it took one back');
SELECT ok(NOT durable.grant_namespace('g_worker', 'worker', 'ga'), 'granting again says it was there');
SELECT ok(NOT durable.revoke_namespace('g_none', 'reader', 'ga'), 'revoking again says there was none');
SELECT ok(pg_has_role('g_none', 'durable_scoped', 'MEMBER') AND pg_has_role('g_queue', 'durable_scoped', 'MEMBER'),
          'a grant makes the role a member of durable_scoped');
SELECT ok(NOT pg_has_role('g_queue', 'durable_worker', 'MEMBER'), 'and of no built-in role');
GRANT g_reader TO g_login;

-- One running workflow per target (namespace, task queue), a schedule per namespace.
CREATE TEMP TABLE target (ns text, q text, ord integer);
INSERT INTO target VALUES ('ga', 'qa', 1), ('ga', 'qb', 2), ('gb', 'qa', 3), ('ga', 'orders-eu', 4);
GRANT SELECT ON target TO PUBLIC;
SELECT durable.start_workflow(ns || '-' || q, 'W', q, namespace => ns) FROM target;
SELECT durable.create_schedule('s', '{"interval": [{"every": 3600}]}', '{"workflow_type": "W", "task_queue": "qa"}', namespace => ns)
  FROM (SELECT DISTINCT ns FROM target) n;

-- The probes: %1$L is the namespace, %2$L the task queue, %3$L the workflow id.
CREATE TEMP TABLE probe (name text, access text, sql text, allowed text);
INSERT INTO probe VALUES
    ('poll_workflow_tasks', 'worker', $$SELECT count(*) FROM durable.poll_workflow_tasks(%2$L, 'w', 1, NULL, %1$L)$$, 'ok'),
    ('poll_activity_tasks', 'worker', $$SELECT count(*) FROM durable.poll_activity_tasks(%2$L, 'w', 1, %1$L)$$, 'ok'),
    ('poll_query_tasks', 'worker', $$SELECT count(*) FROM durable.poll_query_tasks(%2$L, 'w', 1, 0, %1$L)$$, 'ok'),
    ('start_workflow', 'operator', $$SELECT durable.start_workflow(gen_random_uuid()::text, 'W', %2$L, namespace => %1$L)$$, 'ok'),
    ('signal_workflow', 'operator', $$SELECT durable.signal_workflow(%3$L, 's', namespace => %1$L)$$, 'ok'),
    ('cancel_workflow', 'operator', $$SELECT durable.cancel_workflow(%3$L, namespace => %1$L)$$, 'ok'),
    ('create_schedule', 'operator', $$SELECT durable.create_schedule(gen_random_uuid()::text, '{"interval": [{"every": 60}]}', '{"workflow_type": "W", "task_queue": "qa"}', namespace => %1$L)$$, 'ok'),
    ('pause_schedule', 'operator', $$SELECT durable.pause_schedule('s', namespace => %1$L)$$, 'ok'),
    ('update_schedule', 'operator', $$SELECT durable.update_schedule('s', policies => '{"note": "n"}', namespace => %1$L)$$, 'ok'),
    ('delete_workflow', 'operator', $$SELECT durable.delete_workflow(%3$L, namespace => %1$L)$$, 'ok'),
    ('describe_namespace', 'reader', $$SELECT durable.describe_namespace(%1$L)$$, 'ok'),
    ('describe_workflow', 'reader', $$SELECT durable.describe_workflow(%3$L, namespace => %1$L)$$, 'ok'),
    ('get_history', 'reader', $$SELECT count(*) FROM durable.get_history(%3$L, namespace => %1$L)$$, 'ok'),
    ('list_workflows', 'reader', $$SELECT count(*) FROM durable.list_workflows(namespace => %1$L)$$, 'ok'),
    ('count_workflows', 'reader', $$SELECT count(*) FROM durable.count_workflows(%1$L)$$, 'ok'),
    ('list_task_queues', 'reader', $$SELECT count(*) FROM durable.list_task_queues(%1$L)$$, 'ok'),
    ('list_runs', 'reader', $$SELECT count(*) FROM durable.list_runs(%3$L, %1$L)$$, 'ok'),
    ('list_activity_tasks', 'reader', $$SELECT count(*) FROM durable.list_activity_tasks(%2$L, %1$L)$$, 'ok'),
    ('list_schedules', 'reader', $$SELECT count(*) FROM durable.list_schedules(%1$L)$$, 'ok'),
    ('describe_schedule', 'reader', $$SELECT durable.describe_schedule('s', %1$L)$$, 'ok'),
    ('query_workflow', 'reader', $$SELECT durable.query_workflow(%3$L, 'q', timeout_ms => 1, namespace => %1$L)$$, 'DU005');
GRANT SELECT ON probe TO PUBLIC;

-- What each role may do, written out: (role, access, target ord). All else is refused.
CREATE TEMP TABLE may (role text, access text, ord integer);
INSERT INTO may
    SELECT 'g_worker', 'worker', ord FROM target WHERE ns = 'ga'
    UNION ALL SELECT 'g_operator', a, ord FROM target, unnest(ARRAY['operator', 'reader']) a WHERE ns = 'ga'
    UNION ALL SELECT 'g_reader', 'reader', ord FROM target WHERE ns = 'ga'
    UNION ALL SELECT 'g_queue', 'worker', 1
    UNION ALL SELECT 'g_queue', 'history', 1
    UNION ALL SELECT 'g_prefix', 'worker', 4
    UNION ALL SELECT 'g_prefix', 'history', 4
    UNION ALL SELECT 'durable_worker', a, ord FROM target, unnest(ARRAY['worker', 'history']) a
    UNION ALL SELECT 'durable_operator', a, ord FROM target, unnest(ARRAY['operator', 'reader']) a;
-- A namespace worker reads the histories it replays.
INSERT INTO may SELECT role, 'history', ord FROM may WHERE role = 'g_worker';

SELECT is((SELECT array_agg(pg_temp.try_as(r.role, format(p.sql, t.ns, t.q, t.ns || '-' || t.q)) ORDER BY t.ord)
             FROM target t),
          (SELECT array_agg(CASE WHEN EXISTS (SELECT 1 FROM may m
                                               WHERE m.role = r.role AND m.ord = t.ord
                                                 AND (m.access = p.access
                                                      OR (p.name = 'get_history' AND m.access = 'history')))
                                 THEN p.allowed ELSE '42501' END ORDER BY t.ord)
             FROM target t),
          format('%s: %s on ga/qa, ga/qb, gb/qa, ga/orders-eu', r.role, p.name))
  FROM (VALUES ('g_worker'), ('g_operator'), ('g_reader'), ('g_queue'), ('g_prefix'), ('g_none'),
               ('durable_worker'), ('durable_operator')) r(role),
       probe p
 ORDER BY r.role, p.name;

SELECT is(pg_temp.as_role('g_reader', $$CREATE TEMP TABLE ln AS SELECT namespace FROM durable.list_namespaces()$$), 'ok',
          'a reader lists namespaces');
SELECT is((SELECT array_agg(namespace) FROM ln WHERE namespace IN ('ga', 'gb')), ARRAY['ga'],
          'and sees only the one it may read');
SELECT is((SELECT array_agg(namespace ORDER BY namespace) FROM durable.list_namespaces() WHERE namespace IN ('ga', 'gb')),
          ARRAY['ga', 'gb'], 'the superuser sees both');

-- has_access answers what the store acts on (the console's buttons, the mount's modes).
SELECT is(pg_temp.as_role('g_queue', $q$DO $d$ BEGIN
              IF NOT durable.has_access('worker', 'qa', 'ga') OR durable.has_access('worker', 'qb', 'ga')
                 OR durable.has_access('worker', NULL, 'ga') OR durable.has_access('reader', NULL, 'ga') THEN
                  RAISE SQLSTATE 'ZZ001';
              END IF; END $d$$q$), 'ok', 'has_access: a queue worker may work qa, not qb, not the whole namespace, not read');
SELECT is(pg_temp.as_role('g_operator', $q$DO $d$ BEGIN
              IF NOT durable.has_access('operator', NULL, 'ga') OR NOT durable.has_access('reader', NULL, 'ga')
                 OR durable.has_access('operator', NULL, 'gb') OR durable.has_access('worker', 'qa', 'ga') THEN
                  RAISE SQLSTATE 'ZZ001';
              END IF; END $d$$q$), 'ok', 'has_access: an operator of ga operates and reads ga, not gb, and does not work');
SELECT throws_ok($$SELECT durable.has_access('admin')$$, '22023', 'unknown access "admin"', 'has_access: an unknown access');

-- SET ROLE decides, not the login: a daemon logged in with every operator right
-- that SET ROLEs to a reader acts as that reader.
SELECT is(pg_temp.as_role('g_login', $$SELECT durable.start_workflow('login-1', 'W', 'qa', namespace => 'gb')$$), 'ok',
          'the daemon''s login role starts in any namespace');
SELECT is(pg_temp.as_role('g_login', $$SET ROLE g_reader; SELECT durable.start_workflow('login-2', 'W', 'qa', namespace => 'ga')$$),
          '42501', 'after SET ROLE to a reader it may not start, though session_user (the login) may');

-- The hint names the grant that is missing ---------------------------------------------
SELECT is(pg_temp.error_of('g_queue', $$SELECT * FROM durable.poll_activity_tasks('qb', 'w', 1, 'ga')$$),
          ARRAY['42501', 'permission denied for task queue "qb" of namespace "ga"',
                'An administrator can grant it: SELECT durable.grant_task_queue(''g_queue'', ''qb'', ''ga'');'],
          'a queue worker polling another queue: 42501, the hint names grant_task_queue');
SELECT is(pg_temp.error_of('g_reader', $$SELECT durable.start_workflow('x', 'W', 'qa', namespace => 'ga')$$),
          ARRAY['42501', 'permission denied for namespace "ga"',
                'An administrator can grant it: SELECT durable.grant_namespace(''g_reader'', ''operator'', ''ga'');'],
          'a reader starting: 42501, the hint names grant_namespace operator');
SELECT is((pg_temp.error_of('g_queue', $$SELECT count(*) FROM durable.get_history('no-such-id', namespace => 'ga')$$))[1],
          '42501', 'an id that does not exist is refused like one that does (no probing for ids)');
SELECT is((pg_temp.error_of('g_operator', $$SELECT durable.describe_workflow('no-such-id', namespace => 'gb')$$))[1],
          '42501', 'in another namespace too');

-- Completions carry the fence: only tasks of queues the caller may poll ---------------
-- The superuser leases a workflow task of ga/qb and one of ga/qa; g_queue (qa only) tries both.
CREATE TEMP TABLE wt AS
    SELECT q, (SELECT task_token FROM durable.poll_workflow_tasks(q, 'su', 1, NULL, 'ga')) AS tok
      FROM unnest(ARRAY['qa', 'qb']) q;
GRANT SELECT ON wt TO PUBLIC;
SELECT is(pg_temp.as_role('g_queue', format($$SELECT durable.complete_workflow_task(%L, '[]')$$,
                                             (SELECT tok FROM wt WHERE q = 'qb'))), '42501',
          'complete_workflow_task of another queue''s task: 42501');
SELECT is(pg_temp.as_role('g_queue', format($$CREATE TEMP TABLE wto AS SELECT * FROM durable.complete_workflow_tasks('[{"task_token": %s, "commands": []}, {"task_token": %s, "commands": [{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "task_queue": "qb", "start_to_close_timeout": 60}]}]')$$,
                                             to_jsonb((SELECT tok FROM wt WHERE q = 'qb')), to_jsonb((SELECT tok FROM wt WHERE q = 'qa')))), 'ok',
          'complete_workflow_tasks with one foreign and one own task');
SELECT is((SELECT array_agg(outcome ORDER BY task_token = (SELECT tok FROM wt WHERE q = 'qb') DESC) FROM wto),
          ARRAY['DENIED', 'COMPLETED'], 'the foreign one is DENIED, its own goes through');
SELECT is((SELECT state FROM durable.workflow_tasks WHERE task_id = substring((SELECT tok FROM wt WHERE q = 'qb') FROM '^w([0-9]+)\.')::bigint),
          'STARTED', 'and the foreign task is untouched');
SELECT is(pg_temp.as_role('g_queue', format($$SELECT durable.fail_workflow_task(%L)$$, (SELECT tok FROM wt WHERE q = 'qb'))),
          '42501', 'fail_workflow_task of another queue''s task: 42501');

-- Activity tasks: the qa workflow scheduled one on qb; g_queue may not touch it.
CREATE TEMP TABLE act AS SELECT task_token AS tok FROM durable.poll_activity_tasks('qb', 'su', 1, 'ga');
GRANT SELECT ON act TO PUBLIC;
SELECT is((SELECT count(*) FROM act), 1::bigint, 'an activity task of ga/qb is leased by the superuser');
SELECT is(pg_temp.as_role('g_queue', format($$SELECT durable.complete_activity_task(%L, '"forged"')$$, (SELECT tok FROM act))),
          '42501', 'complete_activity_task of another queue''s task: 42501');
SELECT is(pg_temp.as_role('g_queue', format($$SELECT durable.fail_activity_task(%L, '{"message": "x"}')$$, (SELECT tok FROM act))),
          '42501', 'fail_activity_task: 42501');
SELECT is(pg_temp.as_role('g_queue', format($$SELECT durable.heartbeat_activity_task(%L, '{"p": 1}')$$, (SELECT tok FROM act))),
          '42501', 'heartbeat_activity_task: 42501');
SELECT is(pg_temp.as_role('g_queue', format($$CREATE TEMP TABLE ao AS SELECT * FROM durable.complete_activity_tasks(%L)$$,
                                             jsonb_build_array(jsonb_build_object('task_token', (SELECT tok FROM act), 'result', 'forged'))::text)),
          'ok', 'complete_activity_tasks with a foreign task does not fail the batch');
SELECT is((SELECT outcome FROM ao), 'DENIED', 'the foreign task is DENIED in its row');
SELECT is((SELECT state || '/' || coalesce(heartbeat_details::text, 'none') FROM durable.activity_tasks
            WHERE task_id = substring((SELECT tok FROM act) FROM '^a([0-9]+)\.')::bigint),
          'STARTED/none', 'and the task is untouched: still leased, no heartbeat recorded');
SELECT is(pg_temp.as_role('durable_worker', format($$SELECT durable.complete_activity_task(%L, '"real"')$$, (SELECT tok FROM act))),
          'ok', 'durable_worker completes it');

-- Revoking takes effect at once ------------------------------------------------------
SELECT ok(durable.revoke_task_queue('g_queue', 'qa', 'ga'), 'revoke_task_queue');
SELECT is(pg_temp.as_role('g_queue', $$SELECT count(*) FROM durable.poll_activity_tasks('qa', 'w', 1, 'ga')$$), '42501',
          'after it, polling the queue is refused');
SELECT ok(NOT durable.revoke_task_queue('g_prefix', 'orders', 'ga'), 'a prefix grant is not revoked by its bare name');
SELECT ok(durable.revoke_task_queue('g_prefix', 'orders-*', 'ga'), 'but by the same prefix');

-- list_grants --------------------------------------------------------------------------
SELECT is((SELECT array_agg(grantee || ':' || access || ':' || coalesce(namespace, '*') || ':' || coalesce(task_queue, '*')
                            ORDER BY grantee, access)
             FROM durable.list_grants() WHERE grantee LIKE 'g\_%' OR namespace IS NULL),
          ARRAY['durable_operator:operator:*:*', 'durable_worker:worker:*:*',
                'g_operator:operator:ga:*', 'g_reader:reader:ga:*', 'g_worker:worker:ga:*'],
          'list_grants shows the built-in grants on every namespace and the scoped ones');
SELECT is(pg_temp.as_role('g_reader', $$CREATE TEMP TABLE lg AS SELECT * FROM durable.list_grants()$$), 'ok',
          'a scoped role may list grants');
SELECT is((SELECT array_agg(grantee || ':' || access) FROM lg), ARRAY['g_reader:reader'], 'and sees only its own');
SELECT is(pg_temp.as_role('g_operator', $$SELECT durable.grant_namespace('g_operator', 'operator', 'gb')$$), '42501',
          'only durable_admin grants');
SELECT ok((SELECT extcondition[array_position(extconfig, 'durable.grants'::regclass)] FROM pg_extension WHERE extname = 'durable')
          = 'WHERE namespace IS NOT NULL', 'pg_dump keeps the scoped grants, not the built-in rows');

-- Bad input changes nothing ------------------------------------------------------------
CREATE TEMP TABLE before AS SELECT count(*) AS n FROM durable.grants;
SELECT throws_ok($$SELECT durable.grant_namespace('no_such_role', 'worker', 'ga')$$, '42704', 'role "no_such_role" does not exist',
                 'an unknown role (42704)');
SELECT throws_ok($$SELECT durable.grant_namespace('g_worker', 'admin', 'ga')$$, '22023', 'unknown access "admin"', 'an unknown access');
SELECT throws_ok($$SELECT durable.grant_namespace('g_worker', 'worker', 'a/b')$$, '22023', NULL, 'a namespace with "/"');
SELECT throws_ok($$SELECT durable.grant_namespace('g_worker', 'worker', NULL)$$, '22023', NULL, 'a NULL namespace');
SELECT throws_ok($$SELECT durable.grant_task_queue('g_worker', '*', 'ga')$$, '22023', NULL, 'a bare "*" (use grant_namespace)');
SELECT throws_ok($$SELECT durable.grant_task_queue('g_worker', '', 'ga')$$, '22023', NULL, 'an empty queue');
SELECT throws_ok($$SELECT durable.grant_namespace('durable_worker', 'reader', 'ga')$$, '22023', NULL, 'a built-in role');
SELECT throws_ok($$SELECT durable.grant_namespace('durable_scoped', 'reader', 'ga')$$, '22023', NULL, 'durable_scoped itself');
SELECT is((SELECT count(*) FROM durable.grants), (SELECT n FROM before), 'and nothing changed');

SELECT * FROM finish();
ROLLBACK;
