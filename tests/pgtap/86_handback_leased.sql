-- Hand-back tasks inserted leased (api/76_handback.sql, _handback_take):
-- where the hand-back's poll would take every workflow task its outcomes
-- scheduled, each is inserted STARTED, leased to the worker, and never
-- updated; elsewhere they are inserted SCHEDULED and polled, as before.
-- Each case has a twin completed by complete_activity_tasks and leased by
-- poll_workflow_tasks: the same history (ids, types, attributes), the same
-- task row (state, attempt, events, fence, identity, build id, priority,
-- fairness key, pass, last failure, lease length), the same rows returned,
-- in the same order, and the poller recorded. (The notifications:
-- tests/concurrency/handback_notify.sh; a worker killed after the commit:
-- tests/task_crash.)
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
\ir activities.psql
CREATE TEMP TABLE u (at text, n bigint);
CREATE TEMP TABLE sent (call text, rows jsonb);

CREATE FUNCTION pg_temp.hist(wid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(jsonb_build_array(event_id, event_type, attributes - 'first_execution_run_id') ORDER BY event_id)
      FROM durable.get_history(wid)
$$;
-- The task row but its ids and times; the lease's length instead.
CREATE FUNCTION pg_temp.trow(wid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT to_jsonb(wt) - 'task_id' - 'run_id' - 'scheduled_at' - 'started_at' - 'timeout_at'
           || jsonb_build_object('lease', (wt.timeout_at - wt.started_at)::text,
                                 'started_after_scheduled', wt.started_at >= wt.scheduled_at)
      FROM durable.workflow_tasks wt JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = wid
$$;
-- The workflow rows of a call, as a worker reads them: [workflow id, type,
-- attempt, started event, the history's event types]; the run id and the
-- token in "keys" (compared with the task rows by pg_temp.tokens, after the
-- call's statement).
CREATE FUNCTION pg_temp.wrows(q text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
BEGIN
    EXECUTE format('SELECT coalesce(jsonb_agg(jsonb_build_array(x.workflow_id, x.workflow_type, x.attempt,
                                                                 x.started_event_id,
                                                                 jsonb_path_query_array(x.history, ''$[*].event_type''),
                                                                 x.run_id, x.task_token) ORDER BY x.o), ''[]'')
                      FROM (SELECT *, row_number() OVER () AS o FROM (%s) y) x', q) INTO r;
    RETURN r;
END
$$;
CREATE FUNCTION pg_temp.rows_of(c text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT coalesce(jsonb_agg((e - 6) - 5 ORDER BY i), '[]') FROM sent, jsonb_array_elements(rows) WITH ORDINALITY x(e, i)
     WHERE call = c
$$;
-- Whether every token a call returned is its run's task's lease, as it is now.
CREATE FUNCTION pg_temp.tokens(c text) RETURNS boolean LANGUAGE sql AS $$
    SELECT bool_and(e ->> 6 = 'w' || wt.task_id || '.' || wt.fence AND wt.state = 'STARTED')
      FROM sent, jsonb_array_elements(rows) e LEFT JOIN durable.workflow_tasks wt ON wt.run_id = (e ->> 5)::uuid
     WHERE call = c
$$;
-- Updates of workflow task rows so far in this transaction.
CREATE FUNCTION pg_temp.wt_updates() RETURNS bigint LANGUAGE sql AS $$
    SELECT pg_stat_get_xact_tuples_updated('durable.workflow_tasks'::regclass)
$$;

-- 1. One task, taken: inserted leased, never updated; its twin polled.
CREATE TEMP TABLE t1 AS SELECT pg_temp.activity_runs('l1-a', 'lq1', ARRAY['{}'::jsonb]) AS a;
INSERT INTO u VALUES ('1 before', pg_temp.wt_updates());
INSERT INTO sent SELECT 'l1-a', pg_temp.wrows(format(
    $$SELECT * FROM durable.complete_activity_tasks_eager(%L, 'lw', 'lq1', 4) WHERE kind = 'workflow_task'$$,
    pg_temp.results((SELECT a FROM t1))));
INSERT INTO u VALUES ('1 after', pg_temp.wt_updates());
SELECT is((SELECT n FROM u WHERE at = '1 after') - (SELECT n FROM u WHERE at = '1 before'), 0::bigint,
          'the hand-back leases its task without updating a task row');
SELECT is((SELECT jsonb_array_length(rows) FROM sent WHERE call = 'l1-a'), 1, 'and returns it');
CREATE TEMP TABLE t1b AS SELECT pg_temp.activity_runs('l1-b', 'lq1', ARRAY['{}'::jsonb]) AS a;
SELECT is((SELECT array_agg(outcome) FROM durable.complete_activity_tasks(pg_temp.results((SELECT a FROM t1b)), 'lw')),
          ARRAY['COMPLETED'], 'the twin''s activity completes');
INSERT INTO u VALUES ('1b before', pg_temp.wt_updates());
INSERT INTO sent SELECT 'l1-b', pg_temp.wrows($$SELECT * FROM durable.poll_workflow_tasks('lq1', 'lw', 4)$$);
INSERT INTO u VALUES ('1b after', pg_temp.wt_updates());
SELECT is((SELECT n FROM u WHERE at = '1b after') - (SELECT n FROM u WHERE at = '1b before'), 1::bigint,
          'the twin''s poll updates its row (the lease)');
SELECT is(pg_temp.hist('l1-a1'), pg_temp.hist('l1-b1'), 'the same history as the polled twin');
SELECT is(pg_temp.last_types('l1-a1', 4),
          ARRAY['ActivityTaskStarted', 'ActivityTaskCompleted', 'WorkflowTaskScheduled', 'WorkflowTaskStarted'],
          'WorkflowTaskStarted after the outcome''s events');
SELECT is(pg_temp.trow('l1-a1'), pg_temp.trow('l1-b1'), 'the same task row (state, fence, identity, pass, lease...)');
SELECT is((pg_temp.trow('l1-a1')) ->> 'state', 'STARTED', 'leased');
SELECT is(pg_temp.rows_of('l1-a') #- '{0,0}', pg_temp.rows_of('l1-b') #- '{0,0}',
          'the same row returned (type, attempt, started event, history)');
SELECT ok(pg_temp.tokens('l1-a') AND pg_temp.tokens('l1-b'), 'with the lease''s token');
SELECT is((SELECT count(*) FROM durable.task_queue_pollers p WHERE p.task_queue = 'lq1' AND p.kind = 'workflow'
                                                              AND p.identity = 'lw'), 1::bigint,
          'the worker is recorded as the queue''s poller');
SELECT is((SELECT count(*) FROM durable.workflow_tasks wt JOIN durable.workflows w USING (run_id)
            WHERE w.workflow_id = 'l1-a1' AND wt.timeout_at IS NOT NULL), 1::bigint, 'its lease has a deadline');
SELECT lives_ok(format($$SELECT durable.complete_workflow_task(%L, '[{"type": "CompleteWorkflowExecution"}]')$$,
                       'w' || (SELECT wt.task_id FROM durable.workflow_tasks wt JOIN durable.workflows w USING (run_id)
                                WHERE w.workflow_id = 'l1-a1') || '.1'),
                'the token completes the task');
SELECT is(pg_temp.status('l1-a1'), 'COMPLETED', 'and the run closes');

-- 2. Several tasks of several priorities and fairness keys, all taken: each
-- with the pass it would have had in the queue, returned in the poll's
-- order (priority, pass, task id).
CREATE FUNCTION pg_temp.mixed() RETURNS jsonb[] LANGUAGE sql AS $$
    SELECT ARRAY['{"fairness_key": "a"}', '{"fairness_key": "a"}', '{"fairness_key": "b", "fairness_weight": 2}',
                 '{"priority": 1, "fairness_key": "a"}', '{"fairness_key": "b", "fairness_weight": 2}',
                 '{"fairness_key": "a", "fairness_weight": 0.5}']::jsonb[]
$$;
CREATE TEMP TABLE t2 AS SELECT pg_temp.activity_runs('l2-a', 'lq2', pg_temp.mixed()) AS a;
INSERT INTO u VALUES ('2 before', pg_temp.wt_updates());
INSERT INTO sent SELECT 'l2-a', pg_temp.wrows(format(
    $$SELECT * FROM durable.complete_activity_tasks_eager(%L, 'lw', 'lq2', 6) WHERE kind = 'workflow_task'$$,
    pg_temp.results((SELECT a FROM t2))));
INSERT INTO u VALUES ('2 after', pg_temp.wt_updates());
SELECT is((SELECT n FROM u WHERE at = '2 after') - (SELECT n FROM u WHERE at = '2 before'), 0::bigint,
          'six tasks leased, no task row updated');
CREATE TEMP TABLE t2b AS SELECT pg_temp.activity_runs('l2-b', 'lq2', pg_temp.mixed()) AS a;
SELECT is((SELECT count(*) FROM durable.complete_activity_tasks(pg_temp.results((SELECT a FROM t2b)), 'lw')),
          6::bigint, 'the twins complete');
INSERT INTO sent SELECT 'l2-b', pg_temp.wrows($$SELECT * FROM durable.poll_workflow_tasks('lq2', 'lw', 6)$$);
SELECT is((SELECT jsonb_agg(e -> 0) FROM sent, jsonb_array_elements(rows) e WHERE call = 'l2-a'),
          (SELECT jsonb_agg(to_jsonb(replace(e ->> 0, 'l2-b', 'l2-a'))) FROM sent, jsonb_array_elements(rows) e
            WHERE call = 'l2-b'),
          'returned in the poll''s order');
SELECT is((SELECT jsonb_agg(e #- '{0}') FROM jsonb_array_elements(pg_temp.rows_of('l2-a')) e),
          (SELECT jsonb_agg(e #- '{0}') FROM jsonb_array_elements(pg_temp.rows_of('l2-b')) e),
          'the same rows');
SELECT ok(pg_temp.tokens('l2-a') AND pg_temp.tokens('l2-b'), 'with the leases'' tokens');
SELECT is((SELECT jsonb_agg(pg_temp.trow('l2-a' || i) ORDER BY i) FROM generate_series(1, 6) i),
          (SELECT jsonb_agg(pg_temp.trow('l2-b' || i) ORDER BY i) FROM generate_series(1, 6) i),
          'the same task rows: priorities, keys, passes');
SELECT is((SELECT array_agg((pg_temp.trow('l2-a' || i) ->> 'pass')::float8 ORDER BY i) FROM generate_series(1, 6) i),
          ARRAY[0, 1, 0, 0, 0.5, 3]::float8[], 'passes as the queue gives them');
SELECT is((SELECT jsonb_agg(pg_temp.hist('l2-a' || i) ORDER BY i) FROM generate_series(1, 6) i),
          (SELECT jsonb_agg(pg_temp.hist('l2-b' || i) ORDER BY i) FROM generate_series(1, 6) i),
          'the same histories');

-- 3. Two outcomes of one run in a batch: one task, leased after both.
CREATE TEMP TABLE t3 AS SELECT pg_temp.two_activities('l3-a', 'lq3') AS a;
INSERT INTO sent SELECT 'l3-a', pg_temp.wrows(format(
    $$SELECT * FROM durable.complete_activity_tasks_eager(%L, 'lw', 'lq3', 2) WHERE kind = 'workflow_task'$$,
    pg_temp.results((SELECT a FROM t3))));
CREATE TEMP TABLE t3b AS SELECT pg_temp.two_activities('l3-b', 'lq3') AS a;
SELECT is((SELECT count(*) FROM durable.complete_activity_tasks(pg_temp.results((SELECT a FROM t3b)), 'lw')),
          2::bigint, 'the twin''s two outcomes');
INSERT INTO sent SELECT 'l3-b', pg_temp.wrows($$SELECT * FROM durable.poll_workflow_tasks('lq3', 'lw', 2)$$);
SELECT is(pg_temp.hist('l3-a'), pg_temp.hist('l3-b'), 'two outcomes of one run: the same history');
SELECT is(pg_temp.last_types('l3-a', 6),
          ARRAY['ActivityTaskStarted', 'ActivityTaskCompleted', 'WorkflowTaskScheduled',
                'ActivityTaskStarted', 'ActivityTaskCompleted', 'WorkflowTaskStarted'],
          'one WorkflowTaskScheduled, and WorkflowTaskStarted after both outcomes');
SELECT is(pg_temp.trow('l3-a'), pg_temp.trow('l3-b'), 'the same task row');
SELECT is(pg_temp.rows_of('l3-a') #- '{0,0}', pg_temp.rows_of('l3-b') #- '{0,0}', 'the same row returned');
SELECT ok(pg_temp.tokens('l3-a'), 'with the lease''s token');

-- 4. The gates: where the poll would not take every task, each is inserted
-- ready, as today, and the poll takes what it takes.
-- Fewer slots than tasks: the poll's first ones leased, the rest ready.
CREATE TEMP TABLE t4 AS SELECT pg_temp.activity_runs('l4-a', 'lq4', pg_temp.mixed()) AS a;
INSERT INTO sent SELECT 'l4-a', pg_temp.wrows(format(
    $$SELECT * FROM durable.complete_activity_tasks_eager(%L, 'lw', 'lq4', 2) WHERE kind = 'workflow_task'$$,
    pg_temp.results((SELECT a FROM t4))));
SELECT is((SELECT jsonb_agg(e -> 0) FROM sent, jsonb_array_elements(rows) e WHERE call = 'l4-a'),
          '["l4-a4", "l4-a1"]', 'two slots: the poll''s first two (priority 1, then the earliest pass)');
SELECT is((SELECT array_agg(pg_temp.trow('l4-a' || i) ->> 'state' ORDER BY i) FROM generate_series(1, 6) i),
          ARRAY['STARTED', 'SCHEDULED', 'SCHEDULED', 'STARTED', 'SCHEDULED', 'SCHEDULED'], 'the rest ready');
SELECT is((SELECT jsonb_agg(pg_temp.trow('l4-a' || i) ORDER BY i) FROM generate_series(1, 6) i),
          (SELECT jsonb_agg(replace((pg_temp.trow('l2-b' || i))::text, 'lq2', 'lq4')::jsonb || CASE WHEN i IN (1, 4) THEN '{}'
                   ELSE jsonb_build_object('state', 'SCHEDULED', 'fence', 0, 'identity', NULL, 'started_event_id', NULL,
                                           'build_id', NULL, 'lease', NULL, 'started_after_scheduled', NULL) END
                            ORDER BY i) FROM generate_series(1, 6) i),
          'each row as the polled twins'' (the ready ones not leased)');
SELECT is((SELECT jsonb_agg(pg_temp.hist('l4-a' || i) ORDER BY i) FROM generate_series(1, 6) i),
          (SELECT jsonb_agg(replace((CASE WHEN i IN (1, 4) THEN pg_temp.hist('l2-b' || i)
                                         ELSE pg_temp.hist('l2-b' || i) #- '{-1}' END)::text, 'lq2', 'lq4')::jsonb
                            ORDER BY i) FROM generate_series(1, 6) i),
          'the histories: the leased ones'' with WorkflowTaskStarted, the others without');
-- A ready task already in the queue: polled first, the new one waits.
CREATE TEMP TABLE t5 AS SELECT pg_temp.activity_runs('l5-a', 'lq5', ARRAY['{}'::jsonb]) AS a;
SELECT durable.start_workflow('l5-ready', 'W', 'lq5', 'null');
SELECT is((SELECT jsonb_agg(e -> 0) FROM jsonb_array_elements(pg_temp.wrows(format(
              $$SELECT * FROM durable.complete_activity_tasks_eager(%L, 'lw', 'lq5', 1) WHERE kind = 'workflow_task'$$,
              pg_temp.results((SELECT a FROM t5))))) e),
          '["l5-ready"]', 'a task ready before comes first');
SELECT is(pg_temp.trow('l5-a1') ->> 'state', 'SCHEDULED', 'the new one is ready, not leased');
SELECT is((pg_temp.trow('l5-a1') ->> 'pass')::float8, (pg_temp.trow('l5-ready') ->> 'pass')::float8 + 1,
          'behind the one that was ready (its pass)');
-- A versioned queue: this build's runs are leased; another build's are not.
SELECT durable.set_build_id_rules('lq6', 'v1');
CREATE FUNCTION pg_temp.to_activity_v(wid text, q text, build text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    tok text;
BEGIN
    PERFORM pg_sleep(0.002);
    PERFORM durable.start_workflow(wid, 'W', q, 'null');
    PERFORM durable.complete_workflow_task(p.task_token, jsonb_build_array(pg_temp.act('x')))
       FROM durable.poll_workflow_tasks(q, 'lw', 1, NULL, 'default', build) p;
    SELECT p.task_token INTO tok FROM durable.poll_activity_tasks(q, 'act-w', 1) p;
    RETURN tok;
END
$$;
CREATE TEMP TABLE t6 AS SELECT pg_temp.to_activity_v('l6-a', 'lq6', 'v1') AS a;
INSERT INTO u VALUES ('6 before', pg_temp.wt_updates());
INSERT INTO sent SELECT 'l6-a', pg_temp.wrows(format(
    $$SELECT * FROM durable.complete_activity_tasks_eager(%L, 'lw', 'lq6', 1, 'default', NULL, 'v1')
       WHERE kind = 'workflow_task'$$, pg_temp.results(ARRAY[(SELECT a FROM t6)])));
INSERT INTO u VALUES ('6 after', pg_temp.wt_updates());
SELECT is((SELECT n FROM u WHERE at = '6 after') - (SELECT n FROM u WHERE at = '6 before'), 0::bigint,
          'a versioned queue''s task for this build: leased at its insert');
CREATE TEMP TABLE t6b AS SELECT pg_temp.to_activity_v('l6-b', 'lq6', 'v1') AS a;
SELECT is((SELECT count(*) FROM durable.complete_activity_tasks(pg_temp.results(ARRAY[(SELECT a FROM t6b)]), 'lw')),
          1::bigint, 'its twin completes');
INSERT INTO sent SELECT 'l6-b', pg_temp.wrows($$SELECT * FROM durable.poll_workflow_tasks('lq6', 'lw', 1, NULL, 'default', 'v1')$$);
SELECT is(pg_temp.hist('l6-a'), pg_temp.hist('l6-b'), 'the same history (the build id in WorkflowTaskStarted)');
SELECT is(pg_temp.trow('l6-a'), pg_temp.trow('l6-b'), 'the same task row (its build id)');
SELECT is(pg_temp.trow('l6-a') ->> 'build_id', 'v1', 'leased to v1');
SELECT is(pg_temp.rows_of('l6-a') #- '{0,0}', pg_temp.rows_of('l6-b') #- '{0,0}', 'the same row returned');
SELECT ok(pg_temp.tokens('l6-a'), 'with the lease''s token');
CREATE TEMP TABLE t6c AS SELECT pg_temp.to_activity_v('l6-c', 'lq6', 'v1') AS a;
SELECT is((SELECT count(*) FROM durable.complete_activity_tasks_eager(pg_temp.results(ARRAY[(SELECT a FROM t6c)]), 'lw',
                                                                      'lq6', 1, 'default', NULL, 'v2')
            WHERE kind = 'workflow_task'), 0::bigint, 'a worker of another build takes nothing');
SELECT is(pg_temp.trow('l6-c') ->> 'state', 'SCHEDULED', 'the task is ready, for v1');
-- A paused run: its task is held PAUSED, the outcome's events wait
-- buffered, as for its twin completed without the hand-back.
CREATE TEMP TABLE tp AS SELECT pg_temp.activity_runs('l9-a', 'lq9', ARRAY['{}'::jsonb]) AS a;
CREATE TEMP TABLE tpb AS SELECT pg_temp.activity_runs('l9-b', 'lq9', ARRAY['{}'::jsonb]) AS a;
SELECT durable.pause_workflow('l9-a1', 'look first');
SELECT durable.pause_workflow('l9-b1', 'look first');
SELECT is((SELECT count(*) FROM durable.complete_activity_tasks_eager(pg_temp.results((SELECT a FROM tp)), 'lw', 'lq9', 4)
            WHERE kind = 'workflow_task'), 0::bigint, 'a paused run''s task is not taken');
SELECT is((SELECT count(*) FROM durable.complete_activity_tasks(pg_temp.results((SELECT a FROM tpb)), 'lw')), 1::bigint,
          'its twin completes without the hand-back');
SELECT is(pg_temp.trow('l9-a1'), pg_temp.trow('l9-b1'), 'the same task row (PAUSED)');
SELECT is(pg_temp.hist('l9-a1'), pg_temp.hist('l9-b1'), 'the same history');
SELECT is((SELECT count(*) FROM durable.buffered_events b JOIN durable.workflows w USING (run_id)
            WHERE w.workflow_id = 'l9-a1'),
          (SELECT count(*) FROM durable.buffered_events b JOIN durable.workflows w USING (run_id)
            WHERE w.workflow_id = 'l9-b1'), 'the same events buffered');
-- No slot offered: the plain completion's path, the task ready.
CREATE TEMP TABLE t0 AS SELECT pg_temp.activity_runs('l0-a', 'lq0', ARRAY['{}'::jsonb]) AS a;
SELECT is((SELECT count(*) FROM durable.complete_activity_tasks_eager(pg_temp.results((SELECT a FROM t0)), 'lw', 'lq0', 0)),
          1::bigint, 'no slot: the outcome''s row only');
SELECT is(pg_temp.trow('l0-a1') ->> 'state', 'SCHEDULED', 'its task ready for a poll');
-- No grant on the queue: refused before any outcome (76_handback, section 7).

-- 5. A savepoint rolled back takes the deferred tasks with it.
CREATE TEMP TABLE t7 AS SELECT pg_temp.activity_runs('l7-a', 'lq7', ARRAY['{}'::jsonb]) AS a;
SAVEPOINT s7;
SELECT is((SELECT count(*) FROM durable.complete_activity_tasks_eager(pg_temp.results((SELECT a FROM t7)), 'lw', 'lq7', 1)),
          2::bigint, 'an outcome and its task');
ROLLBACK TO SAVEPOINT s7;
SELECT is((SELECT runs FROM durable._handback_close()), NULL, 'no task is pending after the call');
SELECT is(pg_temp.trow('l7-a1'), NULL, 'rolled back: no task');
SELECT is((SELECT count(*) FROM durable.complete_activity_tasks(pg_temp.results((SELECT a FROM t7)), 'lw')),
          1::bigint, 'the outcome is delivered again, without the hand-back');
SELECT is(pg_temp.trow('l7-a1') ->> 'state', 'SCHEDULED', 'and its task is ready for a poll');
-- A setting forged by the caller defers nothing: only the hand-back arms its
-- queue (the list is in backend memory since session 10, and the setting
-- that held it is read by nobody: a session that sets it still changes nothing).
SELECT set_config('durable_handback.pending', '-', true);
CREATE TEMP TABLE t8 AS SELECT pg_temp.activity_runs('l8-a', 'lq8', ARRAY['{}'::jsonb]) AS a;
SELECT is((SELECT count(*) FROM durable.complete_activity_tasks(pg_temp.results((SELECT a FROM t8)), 'lw')),
          1::bigint, 'a plain completion with the setting forged');
SELECT is(pg_temp.trow('l8-a1') ->> 'state', 'SCHEDULED', 'still schedules its task');

SELECT is_empty($$SELECT * FROM durable.verify_store()$$, 'the store is consistent after all of it');

SELECT * FROM finish();
ROLLBACK;
