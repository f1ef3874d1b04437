-- The SQL functions durable's C calls through fmgr (_notify, durable.now,
-- _schedule_workflow_task, _may, _complete_activity_result,
-- _authorize_by_grants, _query_wait_key; _event_pack: 78_append_guards),
-- whose oids a
-- backend remembers: dropped and made again while the session stays
-- connected (an upgrade script that re-creates a function, DROP and CREATE
-- EXTENSION), the next call finds the new function, as a statement would,
-- instead of failing with "cache lookup failed for function" on the old
-- oid; a savepoint that undoes it brings the old one back.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
\ir activities.psql

-- sig (a function of the extension) dropped and made again from def (its
-- own definition when NULL), with its rights, as an upgrade script re-creates
-- it: a new oid. The definition it had first is kept in defs.
CREATE TEMP TABLE defs (sig text PRIMARY KEY, def text);
CREATE FUNCTION pg_temp.remake(sig text, def text DEFAULT NULL) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    old regprocedure := sig::regprocedure;
    acl aclitem[] := (SELECT proacl FROM pg_proc WHERE oid = old);
    g record;
BEGIN
    INSERT INTO defs VALUES (sig, pg_get_functiondef(old)) ON CONFLICT DO NOTHING;
    EXECUTE format('ALTER EXTENSION durable DROP FUNCTION %s', old);
    EXECUTE format('DROP FUNCTION %s', old);
    EXECUTE coalesce(def, (SELECT d.def FROM defs d WHERE d.sig = remake.sig));
    EXECUTE format('ALTER EXTENSION durable ADD FUNCTION %s', sig);
    IF sig::regprocedure = old THEN
        RAISE EXCEPTION '% was made again with its old oid', sig;
    END IF;
    IF acl IS NOT NULL THEN
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', sig);
        FOR g IN SELECT a.grantee FROM aclexplode(acl) a WHERE a.privilege_type = 'EXECUTE' LOOP
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %s', sig,
                           CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE g.grantee::regrole::text END);
        END LOOP;
    END IF;
END
$$;
-- A hand-back of both outcomes of a run (the second finds the run's task
-- deferred and notifies its queue: handback.c calls _notify and, for the
-- first, durable.now()): its rows' kinds and outcomes.
CREATE FUNCTION pg_temp.handback(wid text, q text) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(kind || ':' || outcome, ' ' ORDER BY kind, outcome)
      FROM durable.complete_activity_tasks_eager(pg_temp.results(pg_temp.two_activities(wid, q)), 'hb-w', q, 5)
$$;
-- A result through complete_activity_tasks (activity_outcomes.c asks _may and
-- calls _complete_activity_result, which calls _schedule_workflow_task), and
-- its twin's through complete_activity_task: the outcome, and whether both
-- wrote the same.
CREATE FUNCTION pg_temp.result_twins(wid text, q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    a text := pg_temp.to_activity(wid || '-a', q);
    b text := pg_temp.to_activity(wid || '-b', q);
    got text;
BEGIN
    SELECT c.outcome INTO got FROM durable.complete_activity_tasks(pg_temp.results(ARRAY[a]), 'w') c;
    PERFORM durable.complete_activity_task(b, '42', 'w');
    RETURN got || ' ' || (pg_temp.written(wid || '-a') = pg_temp.written(wid || '-b'))::text;
END
$$;
-- Calls of the stand-ins below.
CREATE TEMP TABLE called (fn text, arg text);

-- 1. The hand-back, with its functions looked up; then _notify and now()
-- made again: the next hand-back calls the new ones.
SELECT is(pg_temp.handback('fo1', 'foq1'), 'activity_task:COMPLETED activity_task:COMPLETED workflow_task:POLLED',
          'a hand-back of two outcomes of one run');
SELECT pg_temp.remake('durable.now()');
SELECT pg_temp.remake('durable._notify(text,text,text)');
SELECT is(pg_temp.handback('fo1b', 'foq1b'), 'activity_task:COMPLETED activity_task:COMPLETED workflow_task:POLLED',
          'after _notify and durable.now() are dropped and made again, the same');
SELECT pg_temp.remake('durable._notify(text,text,text)', $def$
CREATE FUNCTION durable._notify(kind text, namespace text, task_queue text) RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO pg_temp.called VALUES ('_notify', kind || ' ' || task_queue);
END
$f$$def$);
SELECT is(pg_temp.handback('fo1c', 'foq1c'), 'activity_task:COMPLETED activity_task:COMPLETED workflow_task:POLLED',
          'made again as a stand-in: the same');
SELECT ok(EXISTS (SELECT 1 FROM called WHERE fn = '_notify' AND arg = 'workflow foq1c'),
          'and the stand-in is the one called');
SELECT pg_temp.remake('durable._notify(text,text,text)');

-- 2. A result (activity_result.c's _schedule_workflow_task and _notify),
-- with its functions looked up; then both made again.
SELECT is(pg_temp.result_twins('fo2', 'foq2'), 'COMPLETED true', 'a result, written as its twin''s');
SELECT pg_temp.remake('durable._schedule_workflow_task(uuid,integer)');
SELECT pg_temp.remake('durable._notify(text,text,text)');
SELECT is(pg_temp.result_twins('fo2b', 'foq2'), 'COMPLETED true',
          'after _schedule_workflow_task and _notify are made again, the same');

-- 3. complete_activity_tasks' own: _complete_activity_result and _may.
SELECT pg_temp.remake('durable._complete_activity_result(uuid,bigint,text,jsonb,text)');
SELECT is(pg_temp.result_twins('fo3', 'foq3'), 'COMPLETED true',
          'after _complete_activity_result is made again, the same');
SELECT pg_temp.remake('durable._may(text,text,text)');
SELECT is(pg_temp.result_twins('fo3b', 'foq3'), 'COMPLETED true', 'after _may is made again, the same');
CREATE TEMP TABLE t3 AS SELECT pg_temp.to_activity('fo3c', 'foq3c') AS tok;
SELECT pg_temp.remake('durable._may(text,text,text)', $def$
CREATE FUNCTION durable._may(access text, task_queue text, namespace text) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO pg_temp.called VALUES ('_may', access || ' ' || task_queue);
    RETURN false;
END
$f$$def$);
SELECT is((SELECT c.outcome FROM t3, durable.complete_activity_tasks(pg_temp.results(ARRAY[t3.tok]), 'w') c),
          'DENIED', 'made again as a stand-in that refuses: DENIED');
SELECT ok(EXISTS (SELECT 1 FROM called WHERE fn = '_may' AND arg = 'worker foq3c'), 'the stand-in is the one asked');
SELECT pg_temp.remake('durable._may(text,text,text)');
SELECT is(pg_temp.result_twins('fo3d', 'foq3d'), 'COMPLETED true', 'made again as it was: COMPLETED');
-- (and _authorize's full check, which every start makes)
SELECT pg_temp.remake('durable._authorize_by_grants(text,text,text)');
SELECT is(pg_temp.result_twins('fo3e', 'foq3e'), 'COMPLETED true', 'after _authorize_by_grants is made again, the same');

-- 4. wait_for_query_tasks' checks (query_wait.c calls _query_wait_key
-- first, however it is called: inside a transaction, its refusal follows).
SELECT is((pg_temp.error_of($$CALL durable.wait_for_query_tasks('foq5', 10)$$))[1], '25001',
          'a wait in a transaction, its key made, is refused');
SELECT pg_temp.remake('durable._query_wait_key(text,integer,text,text)');
SELECT is((pg_temp.error_of($$CALL durable.wait_for_query_tasks('foq5', 10)$$))[1], '25001',
          'after _query_wait_key is made again, the same');

-- 4b. durable._retry_policy replaced in the session (CREATE OR REPLACE keeps
-- its oid): a ScheduleActivityTask without a policy of its own takes the new
-- default, also when a command with a policy of its own came just before it
-- (cmd_schedule.c keeps the default until the function changes, not until
-- its oid is looked up again, which that command's own policy does first).
CREATE FUNCTION pg_temp.attempts(wid text) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(a.activity_id || '=' || a.retry_maximum_attempts, ' ' ORDER BY a.activity_id)
      FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = wid
$$;
CREATE FUNCTION pg_temp.replace_default_attempts(old text, new text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    def text := pg_get_functiondef('durable._retry_policy(jsonb,text)'::regprocedure);
    made text := replace(def, format('coalesce(max_attempts, %s)', old), format('coalesce(max_attempts, %s)', new));
BEGIN
    IF made = def THEN
        RAISE EXCEPTION '_retry_policy has no default of % attempts to replace', old;
    END IF;
    EXECUTE made;
END
$$;
SELECT ok(pg_temp.two_activities('rp1', 'rpq1') IS NOT NULL, 'two activities with the default policy');
SELECT is(pg_temp.attempts('rp1'), 'x=0 y=0', 'the default policy before: unlimited attempts');
SELECT lives_ok($$SELECT pg_temp.replace_default_attempts('0', '5')$$, '_retry_policy replaced: 5 attempts by default');
SELECT lives_ok($$SELECT durable.start_workflow('rp2', 'W', 'rpq2', 'null');
                  SELECT pg_temp.complete('rpq2', jsonb_build_array(
                      pg_temp.act('own', '{"retry_policy": {"maximum_attempts": 2}}'), pg_temp.act('plain')))$$,
                'a policy of its own, then none, in one completion');
SELECT is(pg_temp.attempts('rp2'), 'own=2 plain=5', 'the command without one takes the new default');
SELECT lives_ok($$SELECT pg_temp.replace_default_attempts('5', '0')$$, '_retry_policy as it was');

-- 5. The extension dropped and created again in the session: every
-- function has a new oid; undone by the savepoint, the old ones are back.
SAVEPOINT recreated;
SET LOCAL client_min_messages = warning;
DROP EXTENSION durable CASCADE;
CREATE EXTENSION durable;
RESET client_min_messages;
SELECT is(pg_temp.handback('fo4', 'foq4'), 'activity_task:COMPLETED activity_task:COMPLETED workflow_task:POLLED',
          'after DROP and CREATE EXTENSION: a hand-back');
SELECT is(pg_temp.result_twins('fo4b', 'foq4'), 'COMPLETED true', 'and a result');
ROLLBACK TO SAVEPOINT recreated;
SELECT is(pg_temp.handback('fo4c', 'foq4c'), 'activity_task:COMPLETED activity_task:COMPLETED workflow_task:POLLED',
          'that undone, a hand-back with the old ones');
SELECT is(pg_temp.result_twins('fo4d', 'foq4d'), 'COMPLETED true', 'and a result');

SELECT is_empty($$SELECT * FROM durable.verify_store()$$, 'the store is consistent after all of it');

SELECT * FROM finish();
ROLLBACK;
