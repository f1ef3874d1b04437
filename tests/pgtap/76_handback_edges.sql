-- Hand-back (api/76_handback.sql), its edges: each checked against its
-- polled twin (the same steps with complete_activity_tasks, then
-- poll_workflow_tasks). Two outcomes of one run in a batch (one workflow
-- task, not two); a run whose workflow task is started (the outcome is
-- buffered, nothing is handed back, the task's completion flushes it); a
-- workflow task kept alive by its heartbeat; a run closed meanwhile; a
-- failed attempt that retries (no workflow task); a ready task of the same
-- priority scheduled before; priorities and fairness keys mixed; a worker
-- with a build id; and the notification mark of a call whose error a
-- savepoint catches.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE FUNCTION pg_temp.act(id text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('type', 'ScheduleActivityTask', 'activity_id', id, 'activity_type', 'work',
                              'start_to_close_timeout', 30,
                              'retry_policy', jsonb_build_object('initial_interval', 1, 'maximum_attempts', 5))
$$;
-- Starts wid on q, runs its first workflow task to the given activities and
-- leases them; returns their tokens in activity id order.
CREATE FUNCTION pg_temp.to_activities(wid text, q text, ids text[]) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    toks text[];
BEGIN
    PERFORM durable.start_workflow(wid, 'W', q, 'null');
    PERFORM pg_temp.complete(q, (SELECT jsonb_agg(pg_temp.act(i)) FROM unnest(ids) i));
    SELECT array_agg(p.task_token ORDER BY p.activity_id) INTO toks
      FROM durable.poll_activity_tasks(q, 'act-w', 100) p;
    IF coalesce(array_length(toks, 1), 0) <> array_length(ids, 1) THEN
        RAISE EXCEPTION 'leased % activities of %, want %', coalesce(array_length(toks, 1), 0), wid, array_length(ids, 1);
    END IF;
    RETURN toks;
END
$$;
CREATE FUNCTION pg_temp.done(toks text[]) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(jsonb_build_object('task_token', t, 'result', 42)) FROM unnest(toks) t
$$;
CREATE FUNCTION pg_temp.failed(toks text[]) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(jsonb_build_object('task_token', t, 'failure', jsonb_build_object('message', 'try again'))) FROM unnest(toks) t
$$;
CREATE FUNCTION pg_temp.wtask(wid text) RETURNS durable.workflow_tasks LANGUAGE sql AS $$
    SELECT wt.* FROM durable.workflow_tasks wt JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = wid
$$;
-- What must match a twin's: event ids, types, attributes (but the run's own
-- id and queue: each twin has a queue of its own).
CREATE FUNCTION pg_temp.hist(wid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(jsonb_build_array(event_id, event_type, attributes - 'first_execution_run_id' - 'task_queue')
                     ORDER BY event_id)
      FROM durable.get_history(wid)
$$;
-- The workflow task rows of a hand-back, as workflow ids.
CREATE FUNCTION pg_temp.handed(outcomes jsonb, q text, slots integer) RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(workflow_id ORDER BY workflow_id) FILTER (WHERE kind = 'workflow_task'), '{}')
      FROM durable.complete_activity_tasks_eager(outcomes, 'hb-w', q, slots)
$$;
CREATE FUNCTION pg_temp.polled(q text) RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(workflow_id ORDER BY workflow_id), '{}') FROM durable.poll_workflow_tasks(q, 'hb-w', 10)
$$;

-- 1. Two outcomes of one run in one batch: one workflow task, after both.
CREATE TEMP TABLE t1 AS SELECT pg_temp.to_activities('e-dup', 'eq-dup', '{x,y}') AS a,
                               pg_temp.to_activities('e-dup-twin', 'eq-dup-twin', '{x,y}') AS b;
SELECT is(pg_temp.handed(pg_temp.done((SELECT a FROM t1)), 'eq-dup', 5), ARRAY['e-dup'],
          'two outcomes of one run, five slots: its one workflow task');
SELECT is((SELECT count(*) FROM durable.workflow_tasks wt JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'e-dup'),
          1::bigint, 'one task row for the run');
SELECT is((SELECT count(*) FROM durable.complete_activity_tasks(pg_temp.done((SELECT b FROM t1)), 'hb-w')), 2::bigint,
          'the twin''s two outcomes');
SELECT is(pg_temp.polled('eq-dup-twin'), ARRAY['e-dup-twin'], 'the twin''s task, polled');
SELECT is(pg_temp.hist('e-dup'), pg_temp.hist('e-dup-twin'), 'the history is the polled twin''s');
SELECT is(pg_temp.last_types('e-dup', 5),
          ARRAY['ActivityTaskCompleted', 'WorkflowTaskScheduled', 'ActivityTaskStarted', 'ActivityTaskCompleted',
                'WorkflowTaskStarted'], 'both completions before the WorkflowTaskStarted');

-- 2. A run whose workflow task is started (a signal made it, another worker
-- holds it): the outcome is buffered; nothing is handed back; the started
-- task's completion writes it and schedules the next task, as for the twin.
CREATE TEMP TABLE t2 AS SELECT pg_temp.to_activities('e-st', 'eq-st', '{x}') AS a,
                               pg_temp.to_activities('e-st-twin', 'eq-st-twin', '{x}') AS b;
SELECT durable.signal_workflow('e-st', 'go'), durable.signal_workflow('e-st-twin', 'go');
CREATE TEMP TABLE held AS
SELECT (SELECT task_token FROM durable.poll_workflow_tasks('eq-st', 'other-w', 1)) AS a,
       (SELECT task_token FROM durable.poll_workflow_tasks('eq-st-twin', 'other-w', 1)) AS b;
SELECT is(pg_temp.handed(pg_temp.done((SELECT a FROM t2)), 'eq-st', 5), '{}'::text[],
          'the run''s task is started elsewhere: nothing handed back');
SELECT is((pg_temp.wtask('e-st')).identity, 'other-w', 'the other worker keeps it');
SELECT is((SELECT count(*) FROM durable.buffered_events b JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'e-st'),
          2::bigint, 'the outcome (its ActivityTaskStarted and ActivityTaskCompleted) waits, buffered');
SELECT durable.complete_activity_tasks(pg_temp.done((SELECT b FROM t2)), 'hb-w');
SELECT durable.complete_workflow_task((SELECT a FROM held), '[]'), durable.complete_workflow_task((SELECT b FROM held), '[]');
SELECT is(pg_temp.handed('[]', 'eq-st', 5), ARRAY['e-st'],
          'once it completes, the next task (with the buffered outcome) is ready, and taken as a poll takes it');
SELECT is(pg_temp.polled('eq-st-twin'), ARRAY['e-st-twin'], 'the twin''s, polled');
SELECT is(pg_temp.hist('e-st'), pg_temp.hist('e-st-twin'), 'the same history');

-- 3. A workflow task kept alive by its heartbeat (local activities): the
-- same; the lease stays its holder's, with its fence.
CREATE TEMP TABLE t3 AS SELECT pg_temp.to_activities('e-hb', 'eq-hb', '{x}') AS a;
SELECT durable.signal_workflow('e-hb', 'go');
CREATE TEMP TABLE held3 AS SELECT task_token FROM durable.poll_workflow_tasks('eq-hb', 'other-w', 1);
SELECT ok(durable.heartbeat_workflow_task((SELECT task_token FROM held3)) IS NOT NULL, 'heartbeat');
SELECT is(pg_temp.handed(pg_temp.done((SELECT a FROM t3)), 'eq-hb', 5), '{}'::text[],
          'a heartbeating task is not handed back');
SELECT lives_ok(format($$SELECT durable.heartbeat_workflow_task(%L)$$, (SELECT task_token FROM held3)),
                'its holder''s token still holds the lease');

-- 4. A run terminated meanwhile: its outcome is refused, nothing is handed back.
CREATE TEMP TABLE t4 AS SELECT pg_temp.to_activities('e-term', 'eq-term', '{x}') AS a;
SELECT durable.terminate_workflow('e-term', 'enough');
CREATE TEMP TABLE r4 AS SELECT * FROM durable.complete_activity_tasks_eager(pg_temp.done((SELECT a FROM t4)), 'hb-w', 'eq-term', 5);
SELECT is((SELECT array_agg(kind || ':' || outcome) FROM r4), ARRAY['activity_task:LEASE_LOST'],
          'a closed run: the lost lease, and nothing handed back');
SELECT is(pg_temp.last_types('e-term', 1), ARRAY['WorkflowExecutionTerminated'], 'its history ends as it did');

-- 5. A failed attempt that retries makes no workflow task ready: nothing of
-- its run comes back; a task ready before on the queue is taken, as a poll takes it.
CREATE TEMP TABLE t5 AS SELECT pg_temp.to_activities('e-retry', 'eq-retry', '{x}') AS a;
SELECT durable.start_workflow('e-ready', 'W', 'eq-retry', 'null');
SELECT is(pg_temp.handed(pg_temp.failed((SELECT a FROM t5)), 'eq-retry', 5), ARRAY['e-ready'],
          'a retrying failure: only the task that was ready before');
SELECT is(pg_temp.wtask('e-retry'), NULL::durable.workflow_tasks, 'the retrying run has no workflow task');
SELECT is((SELECT a.attempt FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'e-retry'),
          2, 'its activity waits for attempt 2');

-- 6. Same priority: a task scheduled before the outcome's comes first, and takes the one slot.
CREATE TEMP TABLE t6 AS SELECT pg_temp.to_activities('e-second', 'eq-fifo', '{x}') AS a;
SELECT durable.start_workflow('e-first', 'W', 'eq-fifo', 'null');
SELECT is(pg_temp.handed(pg_temp.done((SELECT a FROM t6)), 'eq-fifo', 1), ARRAY['e-first'],
          'one slot: the task ready before, of the same priority');
SELECT is((pg_temp.wtask('e-second')).state, 'SCHEDULED', 'the outcome''s task waits its turn');

-- 7. A call whose error a savepoint catches (an operator's trigger refuses
-- the outcome's event) leaves no mark behind: the workflow tasks the rest of
-- the transaction schedules on the queue are announced as usual. (pgTAP's
-- throws_ok runs the call in an EXCEPTION block: a subtransaction.)
CREATE TEMP TABLE t7 AS SELECT pg_temp.to_activities('e-sp', 'eq-sp', '{x}') AS a;
CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'refused by the operator' USING ERRCODE = 'P0001';
END
$$;
CREATE TRIGGER refuse_sp BEFORE INSERT ON durable.history_rows FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse();
SELECT throws_ok(format($$SELECT * FROM durable.complete_activity_tasks_eager(%L, 'hb-w', 'eq-sp', 5)$$,
                        pg_temp.done((SELECT a FROM t7))),
                 'P0001', 'refused by the operator', 'the hand-back fails with the trigger''s error');
DROP TRIGGER refuse_sp ON durable.history_rows;
SELECT ok(NOT durable._eager_armed('default/workflow' || E'\x1f' || 'eq-sp'),
          'the failed call''s mark is gone once its savepoint rolled back');
SELECT is(pg_temp.handed(pg_temp.done((SELECT a FROM t7)), 'eq-sp', 5), ARRAY['e-sp'],
          'the outcome, sent again, hands the task back');
SELECT ok(NOT durable._eager_armed('default/workflow' || E'\x1f' || 'eq-sp'), 'and disarms');

-- the same with a savepoint of the caller's, and a completion that
-- commits its subtransaction into the one rolled back
SAVEPOINT outer_sp;
SAVEPOINT inner_sp;
SELECT durable._eager_arm('default/workflow' || E'\x1f' || 'eq-sp');
RELEASE SAVEPOINT inner_sp;
SELECT ok(durable._eager_armed('default/workflow' || E'\x1f' || 'eq-sp'), 'a mark set in a released savepoint holds');
ROLLBACK TO SAVEPOINT outer_sp;
SELECT ok(NOT durable._eager_armed('default/workflow' || E'\x1f' || 'eq-sp'), 'and ends with the rollback of the savepoint around it');
SELECT durable._eager_arm(NULL);


-- 8. Priorities and fairness keys mixed: the hand-back takes the runs its twin's
-- poll takes (queues set up alike; runs named by suffix).
CREATE FUNCTION pg_temp.mixed(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    tok text;
BEGIN
    PERFORM durable.start_workflow(q || '-light', 'W', q, 'null', '{"fairness_key": "light", "priority": 3}');
    PERFORM pg_temp.complete(q, jsonb_build_array(pg_temp.act('x')));
    SELECT p.task_token INTO tok FROM durable.poll_activity_tasks(q, 'act-w', 1) p;
    PERFORM durable.start_workflow(q || '-heavy' || i, 'W', q, 'null', '{"fairness_key": "heavy", "priority": 3}')
       FROM generate_series(1, 3) i;
    PERFORM durable.start_workflow(q || '-light2', 'W', q, 'null', '{"fairness_key": "light", "priority": 3}');
    PERFORM durable.start_workflow(q || '-low', 'W', q, 'null', '{"priority": 4}');
    PERFORM durable.start_workflow(q || '-heavy-weighted', 'W', q, 'null',
                                   '{"fairness_key": "heavy", "fairness_weight": 10, "priority": 3}');
    RETURN tok;
END
$$;
CREATE TEMP TABLE t8 AS SELECT pg_temp.mixed('eq-mix') AS a, pg_temp.mixed('eq-mix-twin') AS b;
CREATE TEMP TABLE r8 AS
SELECT array_agg(substr(workflow_id, length('eq-mix-') + 1) ORDER BY workflow_id) AS ids
  FROM durable.complete_activity_tasks_eager(pg_temp.done(ARRAY[(SELECT a FROM t8)]), 'hb-w', 'eq-mix', 4)
 WHERE kind = 'workflow_task';
SELECT durable.complete_activity_tasks(pg_temp.done(ARRAY[(SELECT b FROM t8)]), 'hb-w');
CREATE TEMP TABLE p8 AS
SELECT array_agg(substr(workflow_id, length('eq-mix-twin-') + 1) ORDER BY workflow_id) AS ids
  FROM durable.poll_workflow_tasks('eq-mix-twin', 'hb-w', 4);
SELECT is((SELECT array_length(ids, 1) FROM r8), 4, 'four slots, four tasks');
SELECT is((SELECT ids FROM r8), (SELECT ids FROM p8), 'the same runs as the twin''s poll takes, by priority and fairness');
SELECT is((SELECT array_agg(substr(w.workflow_id, length('eq-mix-') + 1) ORDER BY w.workflow_id)
             FROM durable.workflow_tasks wt JOIN durable.workflows w USING (run_id)
            WHERE wt.task_queue = 'eq-mix' AND wt.state = 'SCHEDULED'),
          (SELECT array_agg(substr(w.workflow_id, length('eq-mix-twin-') + 1) ORDER BY w.workflow_id)
             FROM durable.workflow_tasks wt JOIN durable.workflows w USING (run_id)
            WHERE wt.task_queue = 'eq-mix-twin' AND wt.state = 'SCHEDULED'),
          'and leaves the same ones ready');


-- 9. A worker with a build id: on an unversioned queue and on a queue that
-- pins runs to its build (AUTO_UPGRADE too), the hand-back's lease, events
-- and the run's build are the polled twin's; the lease carries the build.
CREATE FUNCTION pg_temp.versioned(q text, mode text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    tok text;
BEGIN
    IF mode IS NOT NULL THEN
        PERFORM durable.set_build_id_rules(q, 'v1', mode);
    END IF;
    PERFORM durable.start_workflow(q || '-r', 'W', q, 'null');
    PERFORM durable.complete_workflow_task(p.task_token, jsonb_build_array(pg_temp.act('x')))
       FROM durable.poll_workflow_tasks(q, 'tester', 1, NULL, 'default', 'v1') p;
    SELECT p.task_token INTO tok FROM durable.poll_activity_tasks(q, 'act-w', 1) p;
    RETURN tok;
END
$$;
CREATE TEMP TABLE t9 AS
SELECT m, pg_temp.versioned('eq-v-' || coalesce(m, 'none'), m) AS a, pg_temp.versioned('eq-v-' || coalesce(m, 'none') || '-twin', m) AS b
  FROM unnest(ARRAY[NULL, 'PINNED', 'AUTO_UPGRADE']) m;
CREATE TEMP TABLE r9 AS
SELECT t9.m, (SELECT array_agg(r.workflow_id) FROM durable.complete_activity_tasks_eager(pg_temp.done(ARRAY[t9.a]), 'hb-w',
                  'eq-v-' || coalesce(t9.m, 'none'), 1, 'default', NULL, 'v1') r WHERE r.kind = 'workflow_task') AS ids
  FROM t9;
SELECT count(*) FROM t9, durable.complete_activity_tasks(pg_temp.done(ARRAY[b]), 'hb-w') c;
CREATE TEMP TABLE p9 AS
SELECT t9.m, (SELECT array_agg(p.workflow_id) FROM durable.poll_workflow_tasks('eq-v-' || coalesce(t9.m, 'none') || '-twin',
                  'hb-w', 1, NULL, 'default', 'v1') p) AS ids
  FROM t9;
SELECT is((SELECT array_agg(coalesce(m, 'none') || ':' || array_to_string(ids, ',') ORDER BY m NULLS FIRST) FROM r9),
          ARRAY['none:eq-v-none-r', 'AUTO_UPGRADE:eq-v-AUTO_UPGRADE-r', 'PINNED:eq-v-PINNED-r'],
          'a v1 worker takes its run''s task back: unversioned, pinned, auto-upgrade');
SELECT is((SELECT count(*) FROM p9 WHERE array_length(ids, 1) = 1), 3::bigint, 'and the twins'' polls take theirs');
SELECT is(pg_temp.hist('eq-v-' || coalesce(m, 'none') || '-r'), pg_temp.hist('eq-v-' || coalesce(m, 'none') || '-twin-r'),
          coalesce(m, 'unversioned') || ': the history (WorkflowTaskStarted''s build) is the polled twin''s')
  FROM t9;
SELECT is((SELECT ROW(wt.build_id, w.build_id) FROM durable.workflow_tasks wt JOIN durable.workflows w USING (run_id)
            WHERE w.workflow_id = 'eq-v-' || coalesce(m, 'none') || '-r'),
          (SELECT ROW(wt.build_id, w.build_id) FROM durable.workflow_tasks wt JOIN durable.workflows w USING (run_id)
            WHERE w.workflow_id = 'eq-v-' || coalesce(m, 'none') || '-twin-r'),
          coalesce(m, 'unversioned') || ': the lease''s build and the run''s as the twin''s')
  FROM t9;
SELECT ok((SELECT bool_and(wt.build_id = 'v1') FROM durable.workflow_tasks wt JOIN durable.workflows w USING (run_id)
            WHERE w.workflow_id LIKE 'eq-v-%'), 'every lease carries the worker''s build');
SELECT is((SELECT array_agg(h.attributes ->> 'build_id') FROM durable.history h JOIN durable.workflows w USING (run_id)
            WHERE w.workflow_id LIKE 'eq-v-%' AND w.workflow_id NOT LIKE '%-twin-r'
              AND h.event_type = 'WorkflowTaskStarted' AND h.event_id > 5),
          ARRAY['v1', 'v1', 'v1'], 'each handed-back WorkflowTaskStarted names the build');

SELECT is_empty($$SELECT * FROM durable.verify_store()$$, 'the store is consistent after all of it');

SELECT * FROM finish();
ROLLBACK;
