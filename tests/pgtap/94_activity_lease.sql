-- The activity poll's pick and lease without the executor
-- (durable._lease_activity_scan, pgext/src/activity_lease.c, session 12)
-- against the statement it stands for, the poll's body before the change
-- (kept here as pg_temp.poll_activity_tasks_sql, its text at 44099fb):
--   1. twin queues, one polled by poll_activity_tasks, the other by the old
--      body: the same rows (in task id order, picked in priority order), the
--      same task rows, the same index entries (amcheck's heapallindexed),
--      the leases written directly (no _wake_at call per row);
--   2. a row this transaction holds by a lock of its own is leased, as
--      FOR UPDATE SKIP LOCKED leased it (rows others hold:
--      tests/concurrency/isolation/specs/activity_lease_race.spec);
--   3. where the statement does more (an operator's trigger that fires for
--      the lease, row security, a ready index of another definition, a
--      CHECK that fails, a fence at the largest bigint), the statement
--      leases, and the rows, the trigger's calls and the errors are the old
--      body's; a trigger of a column the lease does not set, and durable's
--      own, leave it direct.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
\ir activities.psql
SET LOCAL deadlock_timeout = '1min';   -- as 92_lease_update.sql: the timer worker gives way to the DDL below
SET LOCAL track_functions = 'all';     -- _wake_at's calls tell the statement's lease from the direct one
SELECT pg_temp.hold_clock();
CREATE EXTENSION IF NOT EXISTS amcheck;

CREATE FUNCTION pg_temp.poll_activity_tasks_sql(task_queue text, identity text, max_tasks integer DEFAULT 1,
                                                namespace text DEFAULT 'default')
RETURNS TABLE (task_token text, workflow_id text, run_id uuid, activity_id text, activity_type text,
               input jsonb, attempt integer, scheduled_at timestamptz, started_at timestamptz,
               deadline timestamptz, heartbeat_timeout float8, heartbeat_details jsonb, last_failure jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    now timestamptz := durable.now();
    limited bigint[];
    called text;   -- a helper called as an expression returns into it (sql/README.md, "Calls")
BEGIN
    called := durable._check_poll_args($1, $2, $3)::text;
    called := durable._authorize('worker', $1, $4)::text;
    called := durable._record_poller($4, $1, 'activity', $2)::text;
    -- a queue with limits (api/40_flow_limits.sql) picks its own tasks; the
    -- rest pay one index probe for this. Two statements, not one with a
    -- branch on `limited` inside: plpgsql would then plan the common one
    -- afresh on every call.
    IF EXISTS (SELECT 1 FROM durable.task_queue_limits l WHERE l.namespace = $4 AND l.task_queue = $1) THEN
        limited := durable._pick_limited_activity_tasks($4, $1, $3, now);
        RETURN QUERY SELECT * FROM durable._lease_activity_tasks(limited, $2, now);
        RETURN;
    END IF;
    RETURN QUERY
    WITH picked AS (
        SELECT a.task_id FROM durable.activity_tasks a
         WHERE a.namespace = $4 AND a.task_queue = $1 AND a.state = 'SCHEDULED'
         ORDER BY a.priority, a.pass, a.task_id   -- api/41_priority.sql
         LIMIT $3
           FOR UPDATE SKIP LOCKED
    ), leased AS (
        UPDATE durable.activity_tasks a
           SET state = 'STARTED', fence = a.fence + 1, identity = $2, started_at = now,
               last_heartbeat_at = NULL,
               timeout_at = least(now + a.start_to_close_timeout,
                                  a.scheduled_at + a.schedule_to_close_timeout,
                                  now + a.heartbeat_timeout)
          FROM picked WHERE a.task_id = picked.task_id
        RETURNING a.*
    )
    SELECT 'a' || l.task_id || '.' || l.fence, l.workflow_id, l.run_id, l.activity_id, l.activity_type,
           l.input, l.attempt, l.scheduled_at, l.started_at, durable._wake_at(l.timeout_at),
           durable._seconds(l.heartbeat_timeout), l.heartbeat_details, l.last_failure
      FROM leased l ORDER BY l.task_id;
END
$$;

-- Workflow q's run brought to activities 1 .. n on queue q, activity i of
-- priority 1 + i % 3, with a heartbeat timeout for even i and a
-- schedule-to-close timeout for every third: the poll picks them by
-- priority, and the deadline is each one's least.
CREATE FUNCTION pg_temp.schedule(q text, n integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM durable.start_workflow(q, 'W', q || '-wf');
    PERFORM pg_temp.complete(q || '-wf', (SELECT jsonb_agg(pg_temp.act(i::text,
        jsonb_build_object('task_queue', q, 'priority', 1 + i % 3)
        || CASE WHEN i % 2 = 0 THEN jsonb_build_object('heartbeat_timeout', 5 + i) ELSE '{}' END
        || CASE WHEN i % 3 = 0 THEN jsonb_build_object('schedule_to_close_timeout', 10 + i) ELSE '{}' END)
        ORDER BY i) FROM generate_series(1, n) i));
END
$$;
-- The poll's rows as a worker reads them, without the ids: of
-- poll_activity_tasks, or of its old body (old), in the order returned.
CREATE FUNCTION pg_temp.polled(q text, old boolean, n integer DEFAULT 100) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    got jsonb;
BEGIN
    EXECUTE format($q$
        SELECT jsonb_agg(to_jsonb(p) - 'ordinality' - 'task_token' - 'workflow_id' - 'run_id'
                         || jsonb_build_object('fence', split_part(p.task_token, '.', 2)) ORDER BY p.ordinality)
          FROM %s($1, 'w-1', $2) WITH ORDINALITY p$q$,
        CASE WHEN old THEN 'pg_temp.poll_activity_tasks_sql' ELSE 'durable.poll_activity_tasks' END)
    INTO got USING q, n;
    RETURN got;
END
$$;
-- The activity tasks of queue q as rows a twin compares.
CREATE FUNCTION pg_temp.tasks_of(q text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(to_jsonb(t) - 'task_id' - 'run_id' - 'workflow_id' - 'task_queue' ORDER BY t.activity_id::int)
      FROM durable.activity_tasks t WHERE t.task_queue = q
$$;
-- Whether the ids a poll returned come in task id order.
CREATE FUNCTION pg_temp.ids_ascending(q text, n integer) RETURNS boolean LANGUAGE sql AS $$
    SELECT bool_and(id > coalesce(prev, 0)) FROM (
        SELECT id, lag(id) OVER (ORDER BY ord) AS prev FROM (
            SELECT substr(split_part(p.task_token, '.', 1), 2)::bigint AS id, p.ordinality AS ord
              FROM durable.poll_activity_tasks(q, 'w-1', n) WITH ORDINALITY p) x) y
$$;
-- _wake_at's calls so far in this transaction: one per row the statement leases
CREATE FUNCTION pg_temp.wake_calls() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(pg_stat_get_xact_function_calls('durable._wake_at(timestamptz)'::regprocedure), 0)
$$;
-- How many _wake_at calls q's poll (all of it) made: 0 where every lease was direct.
CREATE FUNCTION pg_temp.statement_rows(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    before bigint := pg_temp.wake_calls();
BEGIN
    PERFORM * FROM durable.poll_activity_tasks(q, 'w-1', 100);
    RETURN pg_temp.wake_calls() - before;
END
$$;
-- An operator's trigger's calls.
CREATE TEMP TABLE fired (activity text, state text, level text);
CREATE FUNCTION pg_temp.record_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fired VALUES (CASE WHEN TG_LEVEL = 'ROW' THEN NEW.activity_id END,
                              CASE WHEN TG_LEVEL = 'ROW' THEN NEW.state END, TG_LEVEL);
    RETURN NULL;
END
$$;

-- 1. Twins --------------------------------------------------------------------
SELECT pg_temp.schedule('aa', 7);
SELECT pg_temp.schedule('ab', 7);
CREATE TEMP TABLE twin AS SELECT pg_temp.wake_calls() AS w0, pg_temp.polled('aa', false, 4) AS new, pg_temp.wake_calls() AS w1;
UPDATE twin SET w0 = w1 - w0;
UPDATE twin SET w1 = pg_temp.wake_calls();
SELECT is((SELECT new FROM twin), pg_temp.polled('ab', true, 4), 'four of seven polled: the same rows');
SELECT is((SELECT w0 FROM twin), 0::bigint, 'the lease direct: no _wake_at call per row');
SELECT is(pg_temp.wake_calls() - (SELECT w1 FROM twin), 4::bigint, '(the old body''s statement called it for each)');
SELECT is((SELECT array_agg(t.activity_id ORDER BY t.activity_id::int) FROM durable.activity_tasks t
            WHERE t.task_queue = 'aa' AND t.state = 'STARTED'), ARRAY['1', '3', '4', '6'],
          'the first by priority (1 + i % 3: 3 and 6, then 1 and 4 of 1, 4, 7), then by task id');
SELECT is(pg_temp.polled('aa', false), pg_temp.polled('ab', true), 'the other three: the same rows');
SELECT is(pg_temp.tasks_of('aa'), pg_temp.tasks_of('ab'), 'the same task rows (state, fence, identity, times, deadlines)');
SELECT is((SELECT count(*) FROM durable.activity_tasks t WHERE t.task_queue = 'aa' AND t.state = 'STARTED' AND t.fence = 1
              AND t.identity = 'w-1' AND t.started_at = durable.now() AND t.last_heartbeat_at IS NULL
              AND t.timeout_at = least(durable.now() + interval '30 s',
                                       CASE WHEN t.activity_id::int % 3 = 0 THEN t.scheduled_at + make_interval(secs => 10 + t.activity_id::int) END,
                                       CASE WHEN t.activity_id::int % 2 = 0 THEN durable.now() + make_interval(secs => 5 + t.activity_id::int) END)),
          7::bigint, 'each leased, its deadline the least of its timeouts');
SELECT is((SELECT jsonb_agg(p.heartbeat_timeout ORDER BY p.activity_id::int) FROM durable._lease_activity_scan('default', 'aa', 10, 'w-1', durable.now()) p),
          NULL, 'nothing left to lease');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*) FROM durable.activity_tasks t WHERE t.timeout_at >= durable.now() AND t.task_queue IN ('aa', 'ab')),
          14::bigint, 'each found by the deadline index');
SELECT is((SELECT count(*) FROM durable.activity_tasks t WHERE t.namespace = 'default' AND t.task_queue IN ('aa', 'ab')
              AND t.state = 'SCHEDULED'), 0::bigint, 'none by the ready index');
SELECT is((SELECT count(*) FROM durable.activity_tasks t WHERE t.namespace = 'default' AND t.task_queue IN ('aa', 'ab')
              AND t.state = 'STARTED' AND t.fairness_key = ''), 14::bigint, 'each by the started index');
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT lives_ok('SELECT pg_temp.check_indexes(''durable.activity_tasks'')', 'every btree index of activity_tasks holds its rows (amcheck, heapallindexed)');
-- the rows come back in task id order, whatever the priorities
SELECT pg_temp.schedule('ae', 9);
SELECT ok(pg_temp.ids_ascending('ae', 5), 'five of nine: in task id order');
SELECT ok(pg_temp.ids_ascending('ae', 5), 'the rest too');
-- attempts after a retry: the last failure, the attempt and the heartbeat details returned
SELECT pg_temp.schedule('ac', 2);
SELECT pg_temp.schedule('ad', 2);
CREATE TEMP TABLE first_attempts AS SELECT p.task_token FROM durable.poll_activity_tasks('ac', 'w-0', 2) p
    UNION ALL SELECT p.task_token FROM durable.poll_activity_tasks('ad', 'w-0', 2) p;
SELECT count(durable.heartbeat_activity_task(task_token, '{"at": 1}')) FROM first_attempts;
SELECT count(durable.fail_activity_task(task_token, '{"message": "again"}')) FROM first_attempts;
UPDATE durable.activity_tasks SET state = 'SCHEDULED' WHERE task_queue IN ('ac', 'ad') AND state = 'BACKOFF';
SELECT is(pg_temp.polled('ac', false), pg_temp.polled('ad', true), 'a second attempt: the same rows');
SELECT is((pg_temp.polled('ac', false)), NULL, '(all leased)');
SELECT is((SELECT count(*) FROM durable.activity_tasks t WHERE t.task_queue = 'ac' AND t.attempt = 2 AND t.fence = 2
              AND t.last_failure ->> 'message' = 'again' AND t.heartbeat_details = '{"at": 1}'), 2::bigint,
          'attempt 2, fence 2, the failure and the details kept');
SELECT is(pg_temp.tasks_of('ac'), pg_temp.tasks_of('ad'), 'and the same task rows');

-- 2. A row this transaction holds -----------------------------------------------
SELECT pg_temp.schedule('af', 3);
SELECT pg_temp.schedule('ag', 3);
SELECT t.activity_id FROM durable.activity_tasks t WHERE t.task_queue IN ('af', 'ag') AND t.activity_id = '2' FOR UPDATE;
SELECT t.activity_id FROM durable.activity_tasks t WHERE t.task_queue IN ('af', 'ag') AND t.activity_id = '3' FOR KEY SHARE;
SELECT is(pg_temp.polled('af', false), pg_temp.polled('ag', true), 'rows locked by this transaction: leased, the same rows');
SELECT is(pg_temp.tasks_of('af'), pg_temp.tasks_of('ag'), 'and the same task rows');
SELECT pg_temp.schedule('ah', 2);
UPDATE durable.activity_tasks t SET heartbeat_details = '{"x": 1}' WHERE t.task_queue = 'ah' AND t.activity_id = '1';
SELECT is(pg_temp.statement_rows('ah'), 0::bigint, 'a row this transaction updated: leased directly');
SELECT is((SELECT count(*) FROM durable.activity_tasks t WHERE t.task_queue = 'ah' AND t.state = 'STARTED'), 2::bigint,
          '(both)');

-- 3. Where the statement does more ----------------------------------------------
-- an operator's trigger on UPDATE: the statement leases, the trigger sees each row
SELECT pg_temp.schedule('ai', 2);
SELECT pg_temp.schedule('aj', 2);
CREATE TRIGGER operator_update AFTER UPDATE ON durable.activity_tasks FOR EACH ROW EXECUTE FUNCTION pg_temp.record_update();
SELECT is(pg_temp.polled('ai', false), pg_temp.polled('aj', true), 'with an operator''s UPDATE trigger: the old body''s rows');
SELECT is((SELECT count(*) FROM fired f WHERE f.state = 'STARTED'), 4::bigint, 'the trigger saw each lease of both');
SELECT is(pg_temp.tasks_of('ai'), pg_temp.tasks_of('aj'), 'the same task rows');
SELECT pg_temp.schedule('ak', 2);
SELECT is(pg_temp.statement_rows('ak'), 2::bigint, 'leased by the statement');
DROP TRIGGER operator_update ON durable.activity_tasks;
DELETE FROM fired;
SELECT pg_temp.schedule('al', 3);
SELECT is(pg_temp.statement_rows('al'), 0::bigint, 'the trigger dropped: leased directly again (the session noticed)');
-- a trigger of a column the lease does not set: direct; of one it sets: the statement's
CREATE TRIGGER operator_input AFTER UPDATE OF input ON durable.activity_tasks
    FOR EACH ROW EXECUTE FUNCTION pg_temp.record_update();
SELECT pg_temp.schedule('am', 2);
SELECT is(pg_temp.statement_rows('am'), 0::bigint, 'a trigger of UPDATE OF input: leased directly');
SELECT is((SELECT count(*) FROM fired), 0::bigint, 'and it did not fire (nor would it have)');
DROP TRIGGER operator_input ON durable.activity_tasks;
CREATE TRIGGER operator_heartbeat AFTER UPDATE OF last_heartbeat_at ON durable.activity_tasks
    FOR EACH ROW EXECUTE FUNCTION pg_temp.record_update();
SELECT pg_temp.schedule('an', 2);
SELECT is(pg_temp.statement_rows('an'), 2::bigint, 'a trigger of UPDATE OF last_heartbeat_at: the statement''s');
SELECT is((SELECT count(*) FROM fired), 2::bigint, 'which fired it');
DROP TRIGGER operator_heartbeat ON durable.activity_tasks;
CREATE TRIGGER operator_when_started AFTER UPDATE OF state ON durable.activity_tasks
    FOR EACH ROW WHEN (NEW.state = 'STARTED') EXECUTE FUNCTION pg_temp.record_update();
SELECT pg_temp.schedule('ao', 2);
SELECT is(pg_temp.statement_rows('ao'), 2::bigint, 'a trigger WHEN (NEW.state = ''STARTED''): the statement''s');
DROP TRIGGER operator_when_started ON durable.activity_tasks;
ALTER TABLE durable.activity_tasks DISABLE TRIGGER activity_task_pass_again;
SELECT pg_temp.schedule('ap', 2);
SELECT is(pg_temp.statement_rows('ap'), 0::bigint, 'durable''s own trigger disabled: leased directly');
ALTER TABLE durable.activity_tasks ENABLE TRIGGER activity_task_pass_again;
-- row security
SELECT pg_temp.schedule('aq', 2);
SELECT pg_temp.schedule('ar', 2);
CREATE FUNCTION pg_temp.polled_under_rls(q text, old boolean) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    got jsonb;
BEGIN
    ALTER TABLE durable.activity_tasks ENABLE ROW LEVEL SECURITY;
    got := pg_temp.polled(q, old);
    ALTER TABLE durable.activity_tasks DISABLE ROW LEVEL SECURITY;
    RETURN got;
END
$$;
SELECT is(pg_temp.polled_under_rls('aq', false), pg_temp.polled_under_rls('ar', true),
          'row security on activity_tasks: the statement''s lease, the same rows');
SELECT is(pg_temp.tasks_of('aq'), pg_temp.tasks_of('ar'), 'and the same task rows');
SELECT pg_temp.schedule('as', 2);
SELECT is(pg_temp.undone('ALTER TABLE durable.activity_tasks ENABLE ROW LEVEL SECURITY', $$SELECT pg_temp.statement_rows('as')$$),
          '2', 'leased by the statement');
-- a ready index of another order: the statement's (its plan sorts)
SELECT pg_temp.schedule('at', 3);
SELECT pg_temp.schedule('au', 3);
SELECT is(pg_temp.undone('DROP INDEX durable.activity_tasks_ready;
                          CREATE INDEX activity_tasks_ready ON durable.activity_tasks (namespace, task_queue, priority DESC, pass, task_id)
                              WHERE state = ''SCHEDULED''',
                         $$SELECT pg_temp.statement_rows('at')$$),
          '3', 'a ready index in another order: leased by the statement');
SELECT is(pg_temp.undone('DROP INDEX durable.activity_tasks_ready',
                         $$SELECT pg_temp.polled('au', false, 2) = pg_temp.polled('at', true, 2) AND pg_temp.statement_rows('au') = 1$$),
          'true', 'no ready index: the statement''s, the old body''s rows');
-- a CHECK the second leased row fails (activity 1, of priority 2, after 3, of priority 1): the
-- statement's error, as the old body's, and nothing written
SELECT pg_temp.schedule('av', 3);
SELECT pg_temp.schedule('aw', 3);
ALTER TABLE durable.activity_tasks ADD CONSTRAINT operator_no_a1
    CHECK (state <> 'STARTED' OR activity_id <> '1' OR task_queue NOT IN ('av', 'aw')) NOT VALID;
SELECT is(pg_temp.error_of($$SELECT pg_temp.polled('av', false)$$),
          ARRAY['23514', 'new row for relation "activity_tasks" violates check constraint "operator_no_a1"',
                (pg_temp.error_of($$SELECT pg_temp.polled('av', true)$$))[3], NULL],
          'a CHECK the second task fails: the statement''s error');
SELECT is((pg_temp.error_of($$SELECT pg_temp.polled('av', false)$$))[1:2],
          (pg_temp.error_of($$SELECT pg_temp.polled('aw', true)$$))[1:2], 'as from the old body');
SELECT is((SELECT array_agg(t.state ORDER BY t.activity_id) FROM durable.activity_tasks t WHERE t.task_queue = 'av'),
          ARRAY['SCHEDULED', 'SCHEDULED', 'SCHEDULED'], 'and nothing written');
ALTER TABLE durable.activity_tasks DROP CONSTRAINT operator_no_a1;
SELECT is(pg_temp.statement_rows('av'), 0::bigint, 'the CHECK dropped: leased directly');
-- a fence at the largest bigint: the statement's "bigint out of range", as the old body's
SELECT pg_temp.schedule('ax', 2);
SELECT pg_temp.schedule('ay', 2);
UPDATE durable.activity_tasks SET fence = 9223372036854775807 WHERE task_queue IN ('ax', 'ay') AND activity_id = '2';
SELECT is(pg_temp.error_of($$SELECT pg_temp.polled('ax', false)$$), pg_temp.error_of($$SELECT pg_temp.polled('ay', true)$$),
          'a fence at the largest bigint: the old body''s error');
SELECT is((pg_temp.error_of($$SELECT pg_temp.polled('ax', false)$$))[2], 'bigint out of range', '(bigint out of range)');
-- a column the lease sets, of a type with a modifier: the statement coerces the value to it
SELECT pg_temp.schedule('bb', 2);
SELECT pg_temp.schedule('bc', 2);
SELECT is(pg_temp.undone('ALTER TABLE durable.activity_tasks ALTER COLUMN started_at TYPE timestamptz(0)',
                         $$SELECT pg_temp.polled('bb', false) = pg_temp.polled('bc', true)
                                  AND pg_temp.tasks_of('bb') = pg_temp.tasks_of('bc')$$),
          'true', 'started_at of timestamptz(0): the old body''s rows and task rows (the time rounded)');
-- a read-only transaction (a poller recorded a moment ago, so that the poll's first write is its
-- lease): the old body's error, which names the FOR UPDATE the executor refuses first
SELECT pg_temp.schedule('az', 2);
SELECT count(*) FROM durable.poll_activity_tasks('az', 'w-1', 1);
SELECT is(pg_temp.undone('SET LOCAL transaction_read_only = on',
                         $$SELECT (pg_temp.error_of('SELECT pg_temp.polled(''az'', false)'))[1:2]::text$$),
          ARRAY['25006', 'cannot execute SELECT FOR UPDATE in a read-only transaction']::text,
          'a read-only transaction: the old body''s error');
SELECT is(pg_temp.undone('SET LOCAL transaction_read_only = on',
                         $$SELECT (pg_temp.error_of('SELECT pg_temp.polled(''az'', true)'))[1:2]::text$$),
          ARRAY['25006', 'cannot execute SELECT FOR UPDATE in a read-only transaction']::text, '(the old body''s own)');
-- the function itself: no rows for a null queue, an error without max_tasks
SELECT is((SELECT count(*) FROM durable._lease_activity_scan('default', NULL, 10, 'w-1', durable.now())), 0::bigint,
          'a null queue: none, as the statement''s');
SELECT is((pg_temp.error_of($$SELECT * FROM durable._lease_activity_scan('default', 'ax', NULL, 'w-1', durable.now())$$))[1],
          '22004', 'no max_tasks: refused');
SELECT lives_ok('SELECT pg_temp.check_indexes(''durable.activity_tasks'')', 'every btree index of activity_tasks still holds its rows');

SELECT * FROM finish();
ROLLBACK;
