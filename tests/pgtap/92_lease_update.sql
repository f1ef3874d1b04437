-- The workflow poll's lease without the executor (durable._lease_workflow_tasks,
-- pgext/src/lease_update.c, session 11) against the statement it stands for:
--   1. arrays that are not the poll's are left to the statement, nothing written;
--   2. twin queues, one polled by poll_workflow_tasks, the other by its body
--      before the change (kept here as pg_temp.poll_workflow_tasks_sql, its
--      text at 84eb59b): the same rows returned, the same task rows, the same
--      histories, the same index entries (amcheck's heapallindexed);
--   3. where the statement does more (an operator's trigger that fires for the
--      lease, transition tables, row security, a CHECK that fails), the
--      direct write leaves the tasks to it, and the poll's outcome, the
--      trigger's calls and the errors are the old body's;
--   4. durable's own trigger (its WHEN asks for NEW.state = 'SCHEDULED') and
--      one of a column the lease does not set leave the lease direct;
--   5. the scan's re-read, appends and histories in C (durable._lease_scan):
--      the twins above, the re-read by the statement under row security, a
--      cached event id's cast.
-- The poll reaches the direct write through _lease_scan, whose rows and
-- writes are the statement's either way; 1. and 3. call the entry point
-- _lease_workflow_tasks because its answer (how many it wrote) is the only
-- sign of which one leased: with the direct write always declining, those
-- counts fail and every assertion made through the poll passes, here and in
-- the isolation specs (session 12).
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
SET LOCAL deadlock_timeout = '1min';   -- as 87_close_update.sql: the timer worker gives way to the DDL below
SELECT pg_temp.hold_clock();
CREATE EXTENSION IF NOT EXISTS amcheck;

CREATE FUNCTION pg_temp.poll_workflow_tasks_sql(
    task_queue text, identity text, max_tasks integer DEFAULT 1,
    cached jsonb DEFAULT NULL, namespace text DEFAULT 'default', build_id text DEFAULT NULL,
    sticky text DEFAULT NULL)
RETURNS TABLE (task_token text, workflow_id text, run_id uuid, workflow_type text,
               attempt integer, started_event_id bigint, history jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    now timestamptz := durable.now();
    earliest timestamptz;
    rule_mode text;
    rule_build text;
    leased integer := 0;
    picked bigint[];   -- a scan's tasks, their runs locked
    t record;
    -- of those, the ones still SCHEDULED, in the scan's order; the columns
    -- of a task are the same place in each array
    ids bigint[];
    runs uuid[];
    fences bigint[];
    attempts integer[];
    starteds bigint[];
    wf_ids text[];
    wf_types text[];
    timeouts interval[];
    -- every scan's leased tasks, as they are returned
    all_ids bigint[] := '{}';
    all_runs uuid[] := '{}';
    all_fences bigint[] := '{}';
    all_attempts integer[] := '{}';
    all_starteds bigint[] := '{}';
    all_wf_ids text[] := '{}';
    all_wf_types text[] := '{}';
    n integer;
    called text;   -- a helper called as an expression returns into it (sql/README.md, "Calls")
BEGIN
    called := durable._check_poll_args($1, $2, $3)::text;
    called := durable._check_cached($4)::text;
    called := durable._check_build_id($6)::text;
    called := durable._check_name($7, 'sticky');
    called := durable._authorize('worker', $1, $5)::text;
    called := durable._record_poller($5, $1, 'workflow', $2)::text;
    -- a versioned queue's tasks go only to the build each run is on
    -- (api/60_build_ids.sql); without rules, to any worker
    SELECT r.mode, r.default_build_id INTO rule_mode, rule_build FROM durable._build_id_rules($5, $1) r;
    -- The batch is leased set-wise: a statement per step for all its tasks,
    -- not per task (docs/performance.md, "The polls and the start, session
    -- 9"). A task skipped below took a place of the LIMIT: the scan runs
    -- again, with a fresh snapshot (which shows those leased), for the
    -- places left.
    LOOP
        SELECT array_agg(s.task_id ORDER BY s.priority, s.pass, s.task_id) INTO picked FROM (
            SELECT wt.task_id, wt.priority, wt.pass
              FROM durable.workflow_tasks wt JOIN durable.workflows w ON w.run_id = wt.run_id
             WHERE wt.namespace = $5 AND wt.task_queue = $1 AND wt.state = 'SCHEDULED'
               AND (rule_mode IS NULL
                    OR $6 = CASE rule_mode WHEN 'PINNED' THEN coalesce(w.build_id, rule_build) ELSE rule_build END)
             ORDER BY wt.priority, wt.pass, wt.task_id   -- api/41_priority.sql
             LIMIT $3 - leased
               FOR UPDATE OF w SKIP LOCKED) s;
        EXIT WHEN picked IS NULL;
        -- Only the runs are locked (every lease holds its run; a lock on the
        -- task row too would cost WAL). A row seen may have been leased by a
        -- poll that committed before this one took its run: read them
        -- again, now, each by its key, in the scan's order.
        n := 0;
        ids := '{}'; runs := '{}'; fences := '{}'; attempts := '{}'; starteds := '{}';
        wf_ids := '{}'; wf_types := '{}'; timeouts := '{}';
        FOR t IN SELECT x.* FROM unnest(picked) WITH ORDINALITY p(task_id, ord)
                  CROSS JOIN LATERAL (
                        SELECT wt.task_id, wt.run_id, wt.fence, wt.attempt, wt.scheduled_event_id,
                               w.workflow_id, w.workflow_type, w.task_timeout
                          FROM durable.workflow_tasks wt JOIN durable.workflows w ON w.run_id = wt.run_id
                         WHERE wt.task_id = p.task_id AND wt.state = 'SCHEDULED' OFFSET 0) x
                  ORDER BY p.ord LOOP
            n := n + 1;
            ids[n] := t.task_id;
            runs[n] := t.run_id;
            fences[n] := t.fence;
            attempts[n] := t.attempt;
            wf_ids[n] := t.workflow_id;
            wf_types[n] := t.workflow_type;
            timeouts[n] := t.task_timeout;
            -- a transient attempt (see _reschedule_workflow_task) writes no
            -- event now, and the worker replays the history as it is
            starteds[n] := NULL;
            IF t.scheduled_event_id IS NOT NULL THEN
                starteds[n] := durable._append(t.run_id, 'WorkflowTaskStarted', jsonb_build_object(
                    'scheduled_event_id', t.scheduled_event_id, 'identity', $2, 'attempt', t.attempt)
                    || durable._build_id_attrs($6));
            END IF;
            earliest := least(earliest, now + t.task_timeout);
        END LOOP;
        IF n > 0 THEN
            UPDATE durable.workflow_tasks wt
               SET state = 'STARTED', fence = c.fence + 1, started_event_id = c.started, identity = $2,
                   build_id = $6, started_at = now, timeout_at = now + c.task_timeout
              FROM unnest(ids, fences, starteds, timeouts) AS c(task_id, fence, started, task_timeout)
             WHERE wt.task_id = c.task_id;
            all_ids := all_ids || ids;
            all_runs := all_runs || runs;
            all_fences := all_fences || fences;
            all_attempts := all_attempts || attempts;
            all_starteds := all_starteds || starteds;
            all_wf_ids := all_wf_ids || wf_ids;
            all_wf_types := all_wf_types || wf_types;
            leased := leased + n;
        END IF;
        EXIT WHEN n = cardinality(picked) OR leased >= $3;
    END LOOP;
    -- the events after those the worker names in cached, or else after
    -- those it was last sent if it names itself in sticky (api/82_sticky.sql)
    RETURN QUERY
    SELECT 'w' || c.task_id || '.' || (c.fence + 1), c.workflow_id, c.run_id, c.workflow_type, c.attempt,
           c.started, durable._history_json_sticky(c.run_id, coalesce(($4 ->> c.run_id::text)::bigint, 0), $7)
      FROM unnest(all_ids, all_runs, all_fences, all_attempts, all_starteds, all_wf_ids, all_wf_types)
           WITH ORDINALITY AS c(task_id, run_id, fence, attempt, started, workflow_id, workflow_type, ord)
     ORDER BY c.ord;
    called := durable._wake_at(earliest)::text;
END
$$;


-- A task row as the lease leaves it, without what differs between twins.
CREATE FUNCTION pg_temp.task_row(wid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT to_jsonb(t) - 'task_id' - 'run_id' - 'task_queue' - 'pass'
      FROM durable.workflow_tasks t WHERE t.run_id = pg_temp.latest_run(wid)
$$;
-- The poll's rows as a worker reads them, without the ids: of poll_workflow_tasks,
-- or of its old body (old).
CREATE FUNCTION pg_temp.polled(q text, old boolean, n integer DEFAULT 10, build text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    got jsonb;
BEGIN
    EXECUTE format($q$
        SELECT jsonb_agg(jsonb_build_object('wid', split_part(p.workflow_id, '-', 2), 'type', p.workflow_type,
                                            'attempt', p.attempt, 'started', p.started_event_id,
                                            'fence', split_part(p.task_token, '.', 2),
                                            'history', (SELECT jsonb_agg(e - 'event_time' || jsonb_build_object('attributes',
                                                              (e -> 'attributes') - 'task_queue' - 'first_execution_run_id')
                                                            ORDER BY (e ->> 'event_id')::int)
                                                          FROM jsonb_array_elements(p.history) e))
                         ORDER BY p.workflow_id)
          FROM %s($1, 'w-1', $2, NULL, 'default', $3) p$q$,
        CASE WHEN old THEN 'pg_temp.poll_workflow_tasks_sql' ELSE 'durable.poll_workflow_tasks' END)
    INTO got USING q, n, build;
    RETURN got;
END
$$;
-- The tasks of queue q as rows a twin compares.
CREATE FUNCTION pg_temp.tasks_of(q text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(to_jsonb(t) - 'task_id' - 'run_id' - 'task_queue' - 'pass' || jsonb_build_object('wid', split_part(w.workflow_id, '-', 2))
                     ORDER BY w.workflow_id)
      FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id) WHERE t.task_queue = q
$$;
-- Starts n workflows on queue q (ids q-1 .. q-n).
CREATE FUNCTION pg_temp.starts(q text, n integer) RETURNS void LANGUAGE sql AS $$
    SELECT count(durable.start_workflow(q || '-' || i, 'W', q, jsonb_build_object('i', i),
                                        jsonb_build_object('task_timeout', 10 + i)))
      FROM generate_series(1, n) i
$$;
-- An operator's trigger's calls.
CREATE TEMP TABLE fired (task bigint, state text, level text);
CREATE FUNCTION pg_temp.record_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fired VALUES (CASE WHEN TG_LEVEL = 'ROW' THEN NEW.task_id END,
                              CASE WHEN TG_LEVEL = 'ROW' THEN NEW.state END, TG_LEVEL);
    RETURN NULL;
END
$$;
-- _lease_workflow_tasks of the SCHEDULED task of wid's latest run
CREATE FUNCTION pg_temp.lease(wid text, identity text DEFAULT 'w-1') RETURNS integer LANGUAGE sql AS $$
    SELECT durable._lease_workflow_tasks(ARRAY[t.task_id], ARRAY[t.fence], ARRAY[NULL::bigint],
                                         ARRAY[interval '10 seconds'], identity, NULL, durable.now())
      FROM durable.workflow_tasks t WHERE t.run_id = pg_temp.latest_run(wid)
$$;

-- 1. Arrays that are not the poll's: 0, nothing written --------------------------
SELECT pg_temp.starts('l0', 2);
CREATE FUNCTION pg_temp.bad_lease(ids bigint[], fences bigint[], starteds bigint[], timeouts interval[],
                                  now timestamptz DEFAULT durable.now()) RETURNS integer LANGUAGE sql AS $$
    SELECT durable._lease_workflow_tasks(ids, fences, starteds, timeouts, 'w-1', NULL, now)
$$;
CREATE TEMP TABLE l0 AS SELECT array_agg(t.task_id ORDER BY t.task_id) AS ids FROM durable.workflow_tasks t WHERE t.task_queue = 'l0';
SELECT is(pg_temp.bad_lease(NULL, '{0,0}', '{NULL,NULL}', '{1s,1s}'), 0, 'no ids: the statement''s');
SELECT is(pg_temp.bad_lease((SELECT ids FROM l0), NULL, '{NULL,NULL}', '{1s,1s}'), 0, 'no fences');
SELECT is(pg_temp.bad_lease((SELECT ids FROM l0), '{0,0}', NULL, '{1s,1s}'), 0, 'no starteds');
SELECT is(pg_temp.bad_lease((SELECT ids FROM l0), '{0,0}', '{NULL,NULL}', NULL), 0, 'no timeouts');
SELECT is(pg_temp.bad_lease((SELECT ids FROM l0), '{0}', '{NULL,NULL}', '{1s,1s}'), 0, 'fences of another length');
SELECT is(pg_temp.bad_lease((SELECT ids FROM l0), '{0,0}', '{NULL,NULL}', '{1s,1s}', NULL), 0, 'no time');
SELECT is(pg_temp.bad_lease((SELECT ids FROM l0) || NULL::bigint, '{0,0,0}', '{NULL,NULL,NULL}', '{1s,1s,1s}'), 0,
          'a null id');
SELECT is(pg_temp.bad_lease((SELECT ids FROM l0), '{0,NULL}', '{NULL,NULL}', '{1s,1s}'), 0, 'a null fence');
SELECT is(pg_temp.bad_lease((SELECT ids || ids[1] FROM l0), '{0,0,0}', '{NULL,NULL,NULL}', '{1s,1s,1s}'), 0,
          'an id twice');
SELECT is(pg_temp.bad_lease((SELECT ARRAY[ids] FROM l0), '{{0,0}}', '{{NULL,NULL}}', '{{1s,1s}}'), 0,
          'arrays of two dimensions');
SELECT is(pg_temp.bad_lease('{}', '{}', '{}', '{}'), 0, 'no tasks: none');
SELECT is((SELECT count(*) FROM durable.workflow_tasks t WHERE t.task_queue = 'l0' AND t.state = 'SCHEDULED'), 2::bigint,
          'and nothing was written');
SELECT is(pg_temp.bad_lease((SELECT ids FROM l0), '{0,9223372036854775807}', '{NULL,NULL}', '{1s,1s}'), 1,
          'a fence at the largest bigint: the tasks before it, the statement (its error) from it on');
SELECT is((SELECT array_agg(t.state ORDER BY t.task_id) FROM durable.workflow_tasks t WHERE t.task_queue = 'l0'),
          ARRAY['STARTED', 'SCHEDULED'], 'the first task leased');
SELECT is(pg_temp.bad_lease((SELECT ARRAY[9223372036854775807::bigint] || ids[2] FROM l0), '{0,0}', '{NULL,NULL}', '{1s,1s}'), 0,
          'a task not there: the statement from it on');

-- 2. Twins --------------------------------------------------------------------
SELECT pg_temp.starts('la', 5);
SELECT pg_temp.starts('lb', 5);
SELECT is(pg_temp.polled('la', false, 3), pg_temp.polled('lb', true, 3), 'three polled: the same rows');
SELECT is(pg_temp.polled('la', false, 10, 'b1'), pg_temp.polled('lb', true, 10, 'b1'),
          'the other two, with a build id: the same rows');
SELECT is(pg_temp.tasks_of('la'), pg_temp.tasks_of('lb'), 'the same task rows (state, fence, started event, identity, build, times)');
SELECT is((SELECT count(*) FROM durable.workflow_tasks t WHERE t.task_queue = 'la' AND t.state = 'STARTED'
              AND t.fence = 1 AND t.identity = 'w-1' AND t.timeout_at = durable.now() + interval '1 second' * (10 + split_part((SELECT workflow_id FROM durable.workflows w WHERE w.run_id = t.run_id), '-', 2)::int)),
          5::bigint, 'each leased, its deadline its own task timeout from now');
SELECT is((SELECT jsonb_agg(pg_temp.types('la-' || i) ORDER BY i) FROM generate_series(1, 5) i),
          (SELECT jsonb_agg(pg_temp.types('lb-' || i) ORDER BY i) FROM generate_series(1, 5) i), 'the same histories');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*) FROM durable.workflow_tasks t WHERE t.timeout_at >= durable.now() AND t.task_queue IN ('la', 'lb')),
          10::bigint, 'each found by the deadline index');
SELECT is((SELECT count(*) FROM durable.workflow_tasks t WHERE t.namespace = 'default' AND t.task_queue IN ('la', 'lb')
              AND t.state = 'SCHEDULED'), 0::bigint, 'none by the ready index');
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT lives_ok('SELECT pg_temp.check_indexes(''durable.workflow_tasks'')', 'every btree index of workflow_tasks holds its rows (amcheck, heapallindexed)');
-- the tasks completed and polled again: fence 2, a second Started event
SELECT count(durable.complete_workflow_task('w' || t.task_id || '.' || t.fence,
                                            '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 3600}]'))
  FROM durable.workflow_tasks t WHERE t.task_queue IN ('la', 'lb');
SELECT durable.signal_workflow('la-' || i, 's', '1') FROM generate_series(1, 5) i;
SELECT durable.signal_workflow('lb-' || i, 's', '1') FROM generate_series(1, 5) i;
SELECT is(pg_temp.polled('la', false), pg_temp.polled('lb', true), 'a second task each: the same rows');
SELECT is(pg_temp.tasks_of('la'), pg_temp.tasks_of('lb'), 'and the same task rows');

-- the scan read again by the statement where row security is on (the poll's own
-- re-read, api/87_lease_update.sql's _lease_scan): the same rows
SELECT pg_temp.starts('lk', 2);
SELECT pg_temp.starts('ll', 2);
CREATE FUNCTION pg_temp.polled_under_rls(q text, old boolean) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    got jsonb;
BEGIN
    ALTER TABLE durable.workflows ENABLE ROW LEVEL SECURITY;
    got := pg_temp.polled(q, old);
    ALTER TABLE durable.workflows DISABLE ROW LEVEL SECURITY;
    RETURN got;
END
$$;
SELECT is(pg_temp.polled_under_rls('lk', false), pg_temp.polled_under_rls('ll', true),
          'row security on workflows: the tasks read by the statement, the same rows');
SELECT is(pg_temp.tasks_of('lk'), pg_temp.tasks_of('ll'), 'and the same task rows');
-- a cached event id that is not a bigint's text: the cast's error, as before
SELECT pg_temp.starts('lm', 1);
SELECT pg_temp.starts('ln', 1);
SELECT is((pg_temp.error_of(format($$SELECT * FROM durable.poll_workflow_tasks('lm', 'w-1', 1, '{"%s": 1.0}')$$,
                                   pg_temp.latest_run('lm-1'))))[1:2],
          (pg_temp.error_of(format($$SELECT * FROM pg_temp.poll_workflow_tasks_sql('ln', 'w-1', 1, '{"%s": 1.0}')$$,
                                   pg_temp.latest_run('ln-1'))))[1:2],
          'a cached event id of 1.0: the old body''s error');
SELECT is((SELECT count(*) FROM durable.poll_workflow_tasks('lm', 'w-1', 1,
                                                            jsonb_build_object(pg_temp.latest_run('lm-1')::text, 2))
            WHERE history -> 0 ->> 'event_id' = '3'), 1::bigint, 'a cached event id of 2: the events after it');

-- 3. Where the statement does more --------------------------------------------
-- an operator's trigger on UPDATE: the statement leases, the trigger sees each row
SELECT pg_temp.starts('lc', 2);
SELECT pg_temp.starts('ld', 2);
CREATE TRIGGER operator_update AFTER UPDATE ON durable.workflow_tasks FOR EACH ROW EXECUTE FUNCTION pg_temp.record_update();
SELECT is(pg_temp.lease('lc-1'), 0, 'with an operator''s UPDATE trigger: the statement''s');
SELECT is(pg_temp.task_row('lc-1') ->> 'state', 'SCHEDULED', 'having written nothing');
SELECT is(pg_temp.polled('lc', false), pg_temp.polled('ld', true), 'the poll''s rows are the old body''s');
SELECT is((SELECT count(*) FROM fired f JOIN durable.workflow_tasks t ON t.task_id = f.task WHERE t.task_queue = 'lc'), 2::bigint,
          'the trigger saw both leases');
SELECT is(pg_temp.tasks_of('lc'), pg_temp.tasks_of('ld'), 'the same task rows');
DROP TRIGGER operator_update ON durable.workflow_tasks;
DELETE FROM fired;
SELECT pg_temp.starts('le', 1);
SELECT is(pg_temp.lease('le-1'), 1, 'the trigger dropped: written directly again (the session noticed)');
SELECT is((SELECT count(*) FROM fired), 0::bigint, 'and no trigger fired');
-- a trigger of a column the lease sets fires; one of a column it does not set does not
SELECT pg_temp.starts('lf', 3);
CREATE TRIGGER operator_failure AFTER UPDATE OF last_failure ON durable.workflow_tasks
    FOR EACH ROW EXECUTE FUNCTION pg_temp.record_update();
SELECT is(pg_temp.lease('lf-1'), 1, 'a trigger of UPDATE OF last_failure: still written directly');
SELECT is((SELECT count(*) FROM fired), 0::bigint, 'and it did not fire (nor would it have)');
DROP TRIGGER operator_failure ON durable.workflow_tasks;
CREATE TRIGGER operator_timeout AFTER UPDATE OF timeout_at ON durable.workflow_tasks
    FOR EACH ROW EXECUTE FUNCTION pg_temp.record_update();
SELECT is(pg_temp.lease('lf-2'), 0, 'a trigger of UPDATE OF timeout_at: the statement''s');
DROP TRIGGER operator_timeout ON durable.workflow_tasks;
-- a WHEN on the new state: durable's own shape is read, another state is not
CREATE TRIGGER operator_when_started AFTER UPDATE OF state ON durable.workflow_tasks
    FOR EACH ROW WHEN (NEW.state = 'STARTED') EXECUTE FUNCTION pg_temp.record_update();
SELECT is(pg_temp.lease('lf-2'), 0, 'a trigger WHEN (NEW.state = ''STARTED''): the statement''s, which fires it');
DROP TRIGGER operator_when_started ON durable.workflow_tasks;
CREATE TRIGGER operator_when_old AFTER UPDATE OF state ON durable.workflow_tasks
    FOR EACH ROW WHEN (OLD.state = 'PAUSED') EXECUTE FUNCTION pg_temp.record_update();
SELECT is(pg_temp.lease('lf-2'), 0, 'a trigger WHEN (OLD.state = ''PAUSED''): the statement''s');
DROP TRIGGER operator_when_old ON durable.workflow_tasks;
CREATE TRIGGER operator_when_scheduled AFTER UPDATE OF state ON durable.workflow_tasks
    FOR EACH ROW WHEN (NEW.state = 'BACKOFF' AND NEW.attempt > 1) EXECUTE FUNCTION pg_temp.record_update();
SELECT is(pg_temp.lease('lf-2'), 1, 'a trigger WHEN (NEW.state = ''BACKOFF'' AND ...), as durable''s own: written directly');
SELECT is((SELECT count(*) FROM fired), 0::bigint, 'and nothing fired');
DROP TRIGGER operator_when_scheduled ON durable.workflow_tasks;
CREATE TRIGGER operator_statement AFTER UPDATE ON durable.workflow_tasks
    FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.record_update();
SELECT is(pg_temp.lease('lf-3'), 0, 'a statement trigger on UPDATE: the statement''s');
DROP TRIGGER operator_statement ON durable.workflow_tasks;
CREATE TRIGGER operator_transition AFTER UPDATE ON durable.workflow_tasks REFERENCING NEW TABLE AS n
    FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.record_update();
SELECT is(pg_temp.lease('lf-3'), 0, 'transition tables: the statement''s');
DROP TRIGGER operator_transition ON durable.workflow_tasks;
ALTER TABLE durable.workflow_tasks DISABLE TRIGGER workflow_task_pass_again;
SELECT is(pg_temp.lease('lf-3'), 1, 'durable''s own trigger disabled: written directly');
ALTER TABLE durable.workflow_tasks ENABLE TRIGGER workflow_task_pass_again;
-- row security
SELECT pg_temp.starts('lg', 1);
SELECT is(pg_temp.undone('ALTER TABLE durable.workflow_tasks ENABLE ROW LEVEL SECURITY', $$SELECT pg_temp.lease('lg-1')$$),
          '0', 'row security: the statement''s');
-- a CHECK the leased row fails: the tasks before it directly, then the statement's error
SELECT pg_temp.starts('lh', 3);
SELECT pg_temp.starts('li', 3);
ALTER TABLE durable.workflow_tasks ADD CONSTRAINT operator_no_la2
    CHECK (state <> 'STARTED' OR run_id NOT IN ('00000000-0000-0000-0000-000000000000')) NOT VALID;
SELECT is(pg_temp.lease('lh-1'), 1, 'a CHECK that holds: written directly, the CHECK evaluated');
CREATE FUNCTION pg_temp.forbid(wid text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE durable.workflow_tasks DROP CONSTRAINT operator_no_la2, ADD CONSTRAINT operator_no_la2 '
                   'CHECK (state <> %L OR run_id <> %L) NOT VALID', 'STARTED', pg_temp.latest_run(wid));
END
$$;
SELECT pg_temp.forbid('lh-2');
SELECT is(pg_temp.error_of($$SELECT pg_temp.polled('lh', false)$$),
          ARRAY['23514', 'new row for relation "workflow_tasks" violates check constraint "operator_no_la2"',
                (pg_temp.error_of($$SELECT pg_temp.polled('lh', true)$$))[3], NULL],
          'a CHECK the second task fails: the statement''s error');
SELECT is((pg_temp.error_of($$SELECT pg_temp.polled('lh', false)$$))[1:2],
          (pg_temp.error_of($$SELECT pg_temp.polled('lh', true)$$))[1:2], 'as from the old body');
SELECT is((SELECT array_agg(pg_temp.task_row('lh-' || i) ->> 'state' ORDER BY i) FROM generate_series(2, 3) i),
          ARRAY['SCHEDULED', 'SCHEDULED'], 'and nothing written');
CREATE FUNCTION pg_temp.lease_all(q text) RETURNS integer LANGUAGE sql AS $$
    SELECT durable._lease_workflow_tasks(array_agg(t.task_id ORDER BY w.workflow_id), array_agg(t.fence ORDER BY w.workflow_id),
                                         array_agg(NULL::bigint ORDER BY w.workflow_id),
                                         array_agg(interval '10 seconds' ORDER BY w.workflow_id), 'w-1', NULL, durable.now())
      FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id) WHERE t.task_queue = q AND t.state = 'SCHEDULED'
$$;
SELECT is(pg_temp.lease_all('lh'), 0, 'the task the CHECK refuses first: none written directly');
SELECT pg_temp.forbid('lh-3');
SELECT is(pg_temp.lease_all('lh'), 1, 'the task the CHECK refuses second: the first written directly, the rest left');
SELECT is((SELECT array_agg(pg_temp.task_row('lh-' || i) ->> 'state' ORDER BY i) FROM generate_series(2, 3) i),
          ARRAY['STARTED', 'SCHEDULED'], '(the first)');
ALTER TABLE durable.workflow_tasks DROP CONSTRAINT operator_no_la2;
-- rights: a role with SELECT but without UPDATE on the table (a SECURITY DEFINER caller of an operator's)
SELECT pg_temp.starts('lj', 1);
CREATE ROLE lu_test_role;
GRANT USAGE ON SCHEMA durable TO lu_test_role;
GRANT SELECT ON durable.workflow_tasks, durable.workflows TO lu_test_role;
GRANT EXECUTE ON FUNCTION durable._lease_workflow_tasks(bigint[], bigint[], bigint[], interval[], text, text, timestamptz),
    pg_temp.lease(text, text), durable.now(), durable.clock_offset() TO lu_test_role;
SET LOCAL ROLE lu_test_role;
SELECT is(pg_temp.lease('lj-1'), 0, 'a role without UPDATE: left to the statement');
RESET ROLE;
SELECT is(pg_temp.task_row('lj-1') ->> 'state', 'SCHEDULED', 'having written nothing');
SELECT lives_ok('SELECT pg_temp.check_indexes(''durable.workflow_tasks'')', 'every btree index of workflow_tasks still holds its rows');

SELECT * FROM finish();
ROLLBACK;
