-- complete_activity_tasks delivers a result for a started task through
-- durable._complete_activity_result (api/77_activity_result.sql,
-- pgext/src/activity_result.c), in C instead of the general path's sixteen
-- statements. What it writes must be
-- the general path's: each case completes one activity of a twin pair
-- through complete_activity_tasks and the other through
-- complete_activity_task (_try_lock_activity_task, _finish_activity), and
-- compares the histories, buffered events, task rows and pauses; a lease
-- not held is LEASE_LOST and changes nothing; a too long identity is the
-- general path's error, and only where the lease is held. Where the C
-- would not do what the task's DELETE statement does (a trigger, row
-- security, a key index gone) the statement deletes, and what is written is
-- the same (14-17); results of every JSON kind are written as
-- jsonb_build_object writes them (18).
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
\ir activities.psql
SET LOCAL track_functions = 'all';

CREATE FUNCTION pg_temp.calls(f text) RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(pg_stat_get_xact_function_calls(f::regprocedure), 0)
$$;
-- Completes wid-a's activity (token ta) through the batch and wid-b's (tb)
-- through complete_activity_task, both with identity ident; returns the
-- batch's outcome.
CREATE FUNCTION pg_temp.twins(ta text, tb text, ident text DEFAULT NULL, res jsonb DEFAULT '{"r": [1, "two"]}')
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    got text;
BEGIN
    SELECT c.outcome INTO got
      FROM durable.complete_activity_tasks(jsonb_build_array(jsonb_build_object('task_token', ta, 'result', res)),
                                           ident) c;
    PERFORM durable.complete_activity_task(tb, res, ident);
    RETURN got;
END
$$;
-- Twins of runs wid-a and wid-b (queue q) brought to a started activity
-- and completed: the batch's outcome, whether both wrote the same, and how
-- many rows the trigger pg_temp.deleted counted (when there is one).
CREATE TEMP TABLE deleted_rows (task_id bigint);
CREATE FUNCTION pg_temp.deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deleted_rows VALUES (OLD.task_id);
    RETURN OLD;
END
$$;
CREATE FUNCTION pg_temp.twins_same(wid text, q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    got text;
BEGIN
    got := pg_temp.twins(pg_temp.to_activity(wid || '-a', q), pg_temp.to_activity(wid || '-b', q));
    RETURN got || ' ' || (pg_temp.written(wid || '-a') = pg_temp.written(wid || '-b'))::text
        || ' ' || (SELECT count(*) FROM deleted_rows);
END
$$;
CREATE TEMP TABLE calls0 AS
SELECT pg_temp.calls('durable._complete_activity_result(uuid,bigint,text,jsonb,text)') AS fast,
       pg_temp.calls('durable._try_lock_activity_task(text)') AS general;

-- 1. No workflow task: the events are appended and one is scheduled.
SELECT is(pg_temp.twins(pg_temp.to_activity('ar1-a', 'arq'), pg_temp.to_activity('ar1-b', 'arq')),
          'COMPLETED', 'a result for a started task is COMPLETED');
SELECT is(pg_temp.written('ar1-a'), pg_temp.written('ar1-b'),
          'with no workflow task: the history, workflow task and rows are the general path''s');
SELECT is(pg_temp.last_types('ar1-a', 3), ARRAY['ActivityTaskStarted', 'ActivityTaskCompleted', 'WorkflowTaskScheduled'],
          '(started, completed, a workflow task scheduled)');
SELECT is(pg_temp.calls('durable._complete_activity_result(uuid,bigint,text,jsonb,text)') - (SELECT fast FROM calls0),
          1::bigint, 'the batch took the short path once');
SELECT is(pg_temp.calls('durable._try_lock_activity_task(text)') - (SELECT general FROM calls0),
          1::bigint, 'the twin took the general path once');
SELECT is((pg_temp.event('ar1-a', 'ActivityTaskCompleted')) - 'started_event_id',
          jsonb_build_object('scheduled_event_id', pg_temp.event_id('ar1-a', 'ActivityTaskScheduled'),
                             'result', '{"r": [1, "two"]}'::jsonb, 'identity', 'act-w'),
          'the outcome''s attributes: scheduled event, result, the lease''s identity');
SELECT is((pg_temp.event('ar1-a', 'ActivityTaskCompleted') ->> 'started_event_id')::bigint,
          pg_temp.event_id('ar1-a', 'ActivityTaskStarted'), 'and the started event''s id');

-- 2. A workflow task started meanwhile: both events are buffered, and
-- flushed when it completes.
CREATE TEMP TABLE t2 AS SELECT pg_temp.to_activity('ar2-a', 'arq2') AS a, pg_temp.to_activity('ar2-b', 'arq2') AS b;
SELECT durable.signal_workflow('ar2-a', 'go'), durable.signal_workflow('ar2-b', 'go');
CREATE TEMP TABLE wt2 AS SELECT task_token, workflow_id FROM durable.poll_workflow_tasks('arq2', 'tester', 2);
SELECT is(pg_temp.twins((SELECT a FROM t2), (SELECT b FROM t2), 'done-by'), 'COMPLETED',
          'a result while the workflow task is started is COMPLETED');
SELECT is((SELECT jsonb_agg(b.event_type ORDER BY b.seq) FROM durable.buffered_events b
            WHERE b.run_id = pg_temp.run('ar2-a')),
          '["ActivityTaskStarted", "ActivityTaskCompleted"]', '(both events buffered)');
SELECT is(pg_temp.written('ar2-a'), pg_temp.written('ar2-b'),
          'with a started workflow task: the buffered events and rows are the general path''s');
SELECT durable.complete_workflow_task(task_token, '[]') FROM wt2;
SELECT is(pg_temp.written('ar2-a'), pg_temp.written('ar2-b'), 'and the history once they are flushed');
SELECT is(pg_temp.event('ar2-a', 'ActivityTaskCompleted') ->> 'identity', 'done-by',
          'the identity given is the outcome''s');

-- 3. A workflow task scheduled (a signal came first): the events are
-- appended before its start, and no second task is scheduled.
CREATE TEMP TABLE t3 AS SELECT pg_temp.to_activity('ar3-a', 'arq3') AS a, pg_temp.to_activity('ar3-b', 'arq3') AS b;
SELECT durable.signal_workflow('ar3-a', 'go'), durable.signal_workflow('ar3-b', 'go');
SELECT is(pg_temp.twins((SELECT a FROM t3), (SELECT b FROM t3)), 'COMPLETED',
          'a result while the workflow task is scheduled is COMPLETED');
SELECT is(pg_temp.written('ar3-a'), pg_temp.written('ar3-b'),
          'with a scheduled workflow task: the history and rows are the general path''s');
SELECT is(pg_temp.last_types('ar3-a', 4),
          ARRAY['WorkflowExecutionSignaled', 'WorkflowTaskScheduled', 'ActivityTaskStarted', 'ActivityTaskCompleted'],
          '(appended after the signal, one workflow task)');

-- 4. A paused activity whose attempt was running: the pause goes with it.
CREATE TEMP TABLE t4 AS SELECT pg_temp.to_activity('ar4-a', 'arq4') AS a, pg_temp.to_activity('ar4-b', 'arq4') AS b;
SELECT durable.pause_activity('ar4-a', 'x'), durable.pause_activity('ar4-b', 'x');
SELECT is(pg_temp.twins((SELECT a FROM t4), (SELECT b FROM t4)), 'COMPLETED', 'a paused activity''s result is COMPLETED');
SELECT is(pg_temp.written('ar4-a') -> 'pauses', '0', 'its pause is gone');
SELECT is(pg_temp.written('ar4-a'), pg_temp.written('ar4-b'), 'as the general path leaves it');

-- 5. A queue with limits, and the run paused: the workflow task is held,
-- the events buffered.
CREATE TEMP TABLE t5 AS SELECT pg_temp.to_activity('ar5-a', 'arq5') AS a, pg_temp.to_activity('ar5-b', 'arq5') AS b;
SELECT durable.set_task_queue_limits('arq5', max_concurrent => 5);
SELECT durable.pause_workflow('ar5-a'), durable.pause_workflow('ar5-b');
SELECT is(pg_temp.twins((SELECT a FROM t5), (SELECT b FROM t5)), 'COMPLETED',
          'a result on a limited queue, its run paused, is COMPLETED');
SELECT is(pg_temp.written('ar5-a'), pg_temp.written('ar5-b'), 'written as the general path writes it');
SELECT is(pg_temp.written('ar5-a') -> 'workflow_task' ->> 0, 'PAUSED', '(the workflow task held)');

-- 6. A lease not held: LEASE_LOST, nothing written.
CREATE TEMP TABLE t6 AS SELECT pg_temp.to_activity('ar6', 'arq6') AS tok;
CREATE TEMP TABLE w6 AS SELECT pg_temp.written('ar6') AS before,
    (SELECT row_to_json(t)::jsonb FROM durable.activity_tasks t WHERE t.run_id = pg_temp.run('ar6')) AS task;
SELECT is((SELECT array_agg(row(c.outcome, c.error)::text)
             FROM durable.complete_activity_tasks(jsonb_build_array(
                      jsonb_build_object('task_token', split_part((SELECT tok FROM t6), '.', 1) || '.'
                                         || (split_part((SELECT tok FROM t6), '.', 2)::bigint + 1), 'result', 1),
                      jsonb_build_object('task_token', split_part((SELECT tok FROM t6), '.', 1) || '.0', 'result', 1)),
                  repeat('i', 300)) c),
          ARRAY['(LEASE_LOST,"activity task lease is no longer held")',
                '(LEASE_LOST,"activity task lease is no longer held")'],
          'a later fence and an earlier one are LEASE_LOST (a too long identity is not checked for them)');
SELECT is(pg_temp.written('ar6'), (SELECT before FROM w6), 'and nothing is written');
SELECT is((SELECT row_to_json(t)::jsonb FROM durable.activity_tasks t WHERE t.run_id = pg_temp.run('ar6')),
          (SELECT task FROM w6), 'the task row is untouched');
-- a task that is not started (its attempt in backoff) with its old token
SELECT is(durable.fail_activity_task((SELECT tok FROM t6), '{"message": "boom"}'), 'RETRYING', '(the attempt failed)');
SELECT is((SELECT array_agg(c.outcome) FROM durable.complete_activity_tasks(
             jsonb_build_array(jsonb_build_object('task_token', (SELECT tok FROM t6), 'result', 1))) c),
          ARRAY['LEASE_LOST'], 'the token of an attempt in backoff is LEASE_LOST');
SELECT is((SELECT state FROM durable.activity_tasks t WHERE t.run_id = pg_temp.run('ar6')), 'BACKOFF',
          '(the task stays in backoff)');

-- 7. A too long identity where the lease is held: the general path's error,
-- and nothing written.
CREATE TEMP TABLE t7 AS SELECT pg_temp.to_activity('ar7', 'arq7') AS tok;
CREATE TEMP TABLE w7 AS SELECT pg_temp.written('ar7') AS before;
SELECT is(pg_temp.error_of(format('SELECT * FROM durable.complete_activity_tasks(%L, %L)',
                                  jsonb_build_array(jsonb_build_object('task_token', (SELECT tok FROM t7), 'result', 1)),
                                  repeat('i', 256))),
          pg_temp.error_of(format('SELECT durable.complete_activity_task(%L, %L, %L)',
                                  (SELECT tok FROM t7), '1', repeat('i', 256))),
          'a too long identity: the general path''s error (code, message, detail, hint)');
SELECT is((pg_temp.error_of(format('SELECT * FROM durable.complete_activity_tasks(%L, %L)',
                                   jsonb_build_array(jsonb_build_object('task_token', (SELECT tok FROM t7), 'result', 1)),
                                   repeat('i', 256))))[1:2],
          ARRAY['54000', 'identity is too long'], '(54000, identity is too long)');
SELECT is(pg_temp.written('ar7'), (SELECT before FROM w7), 'and nothing is written');
SELECT is((SELECT array_agg(c.outcome) FROM durable.complete_activity_tasks(
             jsonb_build_array(jsonb_build_object('task_token', (SELECT tok FROM t7), 'result', 1)), repeat('i', 255)) c),
          ARRAY['COMPLETED'], 'an identity of 255 bytes is fine');

-- 8. The second attempt: the first failed, its retry came due and was
-- leased again. The first attempt's token is LEASE_LOST; the second's
-- completes, and its ActivityTaskStarted says attempt 2 and the failure.
CREATE TEMP TABLE t8 AS SELECT pg_temp.to_activity('ar8-a', 'arq8') AS a1, pg_temp.to_activity('ar8-b', 'arq8') AS b1;
SELECT is(ARRAY[durable.fail_activity_task(a1, '{"message": "first"}'), durable.fail_activity_task(b1, '{"message": "first"}')],
          ARRAY['RETRYING', 'RETRYING'], '(both first attempts failed)') FROM t8;
SELECT durable.skip_time('1 minute');
SELECT durable.fire_due();
ALTER TABLE t8 ADD COLUMN a2 text, ADD COLUMN b2 text;
CREATE TEMP TABLE p8 AS SELECT * FROM durable.poll_activity_tasks('arq8', 'act-w2', 2);
UPDATE t8 SET a2 = (SELECT task_token FROM p8 WHERE workflow_id = 'ar8-a'),
              b2 = (SELECT task_token FROM p8 WHERE workflow_id = 'ar8-b');
SELECT is((SELECT array_agg(attempt) FROM p8), ARRAY[2, 2], '(the second attempts are leased)');
SELECT is((SELECT array_agg(c.outcome) FROM t8, durable.complete_activity_tasks(
             jsonb_build_array(jsonb_build_object('task_token', a1, 'result', 1))) c),
          ARRAY['LEASE_LOST'], 'the first attempt''s token, while the second runs, is LEASE_LOST');
SELECT is(pg_temp.twins(a2, b2), 'COMPLETED', 'the second attempt''s result is COMPLETED') FROM t8;
SELECT is(pg_temp.written('ar8-a'), pg_temp.written('ar8-b'), 'written as the general path writes it');
SELECT is(pg_temp.event('ar8-a', 'ActivityTaskStarted') - 'last_failure',
          jsonb_build_object('scheduled_event_id', pg_temp.event_id('ar8-a', 'ActivityTaskScheduled'),
                             'identity', 'act-w2', 'attempt', 2),
          'ActivityTaskStarted: the second attempt''s identity and number');
SELECT is(pg_temp.event('ar8-a', 'ActivityTaskStarted') -> 'last_failure' ->> 'message', 'first', 'and the first''s failure');

-- 9. Cancellation requested: a result is still a result.
CREATE TEMP TABLE t9 AS SELECT pg_temp.to_activity('ar9-a', 'arq9') AS a, pg_temp.to_activity('ar9-b', 'arq9') AS b;
SELECT durable.signal_workflow('ar9-a', 'go'), durable.signal_workflow('ar9-b', 'go');
SELECT pg_temp.complete('arq9', jsonb_build_array(jsonb_build_object('type', 'RequestCancelActivityTask',
                                                  'activity_id', 'x'))),
       pg_temp.complete('arq9', jsonb_build_array(jsonb_build_object('type', 'RequestCancelActivityTask',
                                                  'activity_id', 'x')));
SELECT is((SELECT count(*) FROM durable.activity_tasks t WHERE t.cancel_requested
             AND t.run_id IN (pg_temp.run('ar9-a'), pg_temp.run('ar9-b'))), 2::bigint, '(cancel requested of both)');
SELECT is(pg_temp.twins((SELECT a FROM t9), (SELECT b FROM t9)), 'COMPLETED',
          'a result for an activity asked to cancel is COMPLETED');
SELECT is(pg_temp.written('ar9-a'), pg_temp.written('ar9-b'), 'written as the general path writes it');

-- 10. The workflow task in backoff (its last attempt failed): the events are
-- appended and no task is scheduled or announced before the retry.
CREATE TEMP TABLE t10 AS SELECT pg_temp.to_activity('ar10-a', 'arq10') AS a, pg_temp.to_activity('ar10-b', 'arq10') AS b;
SELECT durable.signal_workflow('ar10-a', 'go'), durable.signal_workflow('ar10-b', 'go');
SELECT durable.fail_workflow_task(p.task_token) FROM durable.poll_workflow_tasks('arq10', 'tester', 2) p;
SELECT is((SELECT array_agg(DISTINCT wt.state || wt.attempt) FROM durable.workflow_tasks wt
            WHERE wt.run_id IN (pg_temp.run('ar10-a'), pg_temp.run('ar10-b'))), ARRAY['BACKOFF2'],
          '(both workflow tasks in backoff, attempt 2)');
SELECT is(pg_temp.twins((SELECT a FROM t10), (SELECT b FROM t10)), 'COMPLETED',
          'a result while the workflow task is in backoff is COMPLETED');
SELECT is(pg_temp.written('ar10-a'), pg_temp.written('ar10-b'), 'written as the general path writes it');
SELECT is(pg_temp.written('ar10-a') -> 'workflow_task', '["BACKOFF", 2, null]', '(the task stays in backoff)');

-- 11. One batch, one run's two activities: a result, a failure, the same
-- result again and a cancellation not asked for. Each item is what the
-- general path says for the same calls in the same order.
SELECT durable.start_workflow('ar11-a', 'W', 'arq11'),
       pg_temp.complete('arq11', jsonb_build_array(pg_temp.act('x'), pg_temp.act('y'))),
       durable.start_workflow('ar11-b', 'W', 'arq11'),
       pg_temp.complete('arq11', jsonb_build_array(pg_temp.act('x'), pg_temp.act('y')));
CREATE TEMP TABLE p11 AS SELECT * FROM durable.poll_activity_tasks('arq11', 'act-w', 4);
CREATE TEMP TABLE t11 AS
SELECT (SELECT array_agg(task_token ORDER BY activity_id) FROM p11 WHERE workflow_id = 'ar11-a') AS a,
       (SELECT array_agg(task_token ORDER BY activity_id) FROM p11 WHERE workflow_id = 'ar11-b') AS b;
SELECT is((SELECT array_agg(c.outcome || ':' || coalesce(c.error, '')) FROM t11, durable.complete_activity_tasks(jsonb_build_array(
               jsonb_build_object('task_token', a[1], 'result', 'one'),
               jsonb_build_object('task_token', a[2], 'failure', '{"message": "no", "non_retryable": true}'::jsonb),
               jsonb_build_object('task_token', a[1], 'result', 'again'),
               jsonb_build_object('task_token', a[2], 'canceled', 'late'))) c),
          ARRAY['COMPLETED:', 'FAILED:', 'LEASE_LOST:activity task lease is no longer held',
                'LEASE_LOST:activity task lease is no longer held'],
          'a batch mixing a result, a failure and repeats of them for one run: each item''s outcome');
SELECT is(ARRAY[pg_temp.err(format('SELECT durable.complete_activity_task(%L, %L)', b[1], '"one"')),
                pg_temp.err(format('SELECT durable.fail_activity_task(%L, %L)', b[2], '{"message": "no", "non_retryable": true}')),
                pg_temp.err(format('SELECT durable.complete_activity_task(%L, %L)', b[1], '"again"'))],
          ARRAY['ok', 'ok', 'DU004: activity task lease is no longer held'], '(the twin, call by call)') FROM t11;
SELECT is(pg_temp.written('ar11-a'), pg_temp.written('ar11-b'), 'written as the general path writes it');

-- 12. The run closed meanwhile (terminated): LEASE_LOST, nothing written.
CREATE TEMP TABLE t12 AS SELECT pg_temp.to_activity('ar12', 'arq12') AS tok;
SELECT durable.terminate_workflow('ar12', 'gone');
CREATE TEMP TABLE w12 AS SELECT pg_temp.written('ar12') AS before;
SELECT is((SELECT array_agg(c.outcome) FROM t12, durable.complete_activity_tasks(
             jsonb_build_array(jsonb_build_object('task_token', tok, 'result', 1))) c),
          ARRAY['LEASE_LOST'], 'a result for an activity of a terminated run is LEASE_LOST');
SELECT is(pg_temp.written('ar12'), (SELECT before FROM w12), 'and nothing is written');

-- 13. Least privilege: a role granted one task queue completes through the
-- short path with only its grants; a task of another queue is DENIED and
-- left as it was; the internal function itself is not the role's to call.
CREATE ROLE ar_queue_worker NOLOGIN;
SELECT durable.grant_task_queue('ar_queue_worker', 'arq13');
CREATE TEMP TABLE t13 AS SELECT pg_temp.to_activity('ar13', 'arq13') AS mine, pg_temp.to_activity('ar13-other', 'arq13x') AS other;
CREATE TEMP TABLE r13 (outcomes text[]);
GRANT SELECT ON t13 TO PUBLIC;
GRANT INSERT ON r13 TO PUBLIC;
SELECT is(pg_temp.as_role('ar_queue_worker', $$INSERT INTO r13 SELECT array_agg(c.outcome) FROM t13,
              durable.complete_activity_tasks(jsonb_build_array(jsonb_build_object('task_token', mine, 'result', 1),
                                                                jsonb_build_object('task_token', other, 'result', 1))) c$$),
          'ok', 'the role calls complete_activity_tasks');
SELECT is(outcomes, ARRAY['COMPLETED', 'DENIED'], 'its queue''s result is COMPLETED, another queue''s DENIED') FROM r13;
SELECT is(pg_temp.last_types('ar13', 3), ARRAY['ActivityTaskStarted', 'ActivityTaskCompleted', 'WorkflowTaskScheduled'],
          '(its activity completed)');
SELECT is((SELECT t.state FROM durable.activity_tasks t WHERE t.run_id = pg_temp.run('ar13-other')), 'STARTED',
          'the other queue''s task is untouched');
SELECT is(pg_temp.as_role('ar_queue_worker', format('SELECT durable._complete_activity_result(%L, %s, %L, %L, NULL)',
              pg_temp.run('ar13-other'), split_part(substr((SELECT other FROM t13), 2), '.', 1), (SELECT other FROM t13), '1')),
          '42501', 'the role may not call durable._complete_activity_result itself');
CREATE TEMP TABLE t13w AS SELECT pg_temp.to_activity('ar13-w', 'arq13w') AS tok;
GRANT SELECT ON t13w TO PUBLIC;
SELECT is(pg_temp.as_role('durable_worker', $$INSERT INTO r13 SELECT array_agg(c.outcome) FROM t13w,
              durable.complete_activity_tasks(jsonb_build_array(jsonb_build_object('task_token', tok, 'result', 1))) c$$),
          'ok', 'durable_worker calls complete_activity_tasks');
SELECT is((SELECT outcomes FROM r13 WHERE outcomes = ARRAY['COMPLETED']), ARRAY['COMPLETED'],
          'and its result is COMPLETED, with only durable_worker''s rights');
SELECT is(pg_temp.as_role('durable_worker', format('SELECT durable._complete_activity_result(%L, %s, %L, %L, NULL)',
              pg_temp.run('ar13-other'), split_part(substr((SELECT other FROM t13), 2), '.', 1), (SELECT other FROM t13), '1')),
          '42501', 'nor may durable_worker');

-- 14. A trigger on DELETE of the tasks: the statement deletes (the trigger
-- fires for the batch's task and for its twin's), and writes the same.
SELECT is(pg_temp.undone($$CREATE TRIGGER ar_deleted BEFORE DELETE ON durable.activity_tasks
                           FOR EACH ROW EXECUTE FUNCTION pg_temp.deleted()$$,
                         $$SELECT pg_temp.twins_same('ar14', 'arq14')$$),
          'COMPLETED true 2', 'a trigger on DELETE: the statement deletes, the trigger fires, the same is written');
SELECT is(pg_temp.undone($$CREATE TRIGGER ar_deleted BEFORE DELETE ON durable.activity_tasks
                           FOR EACH ROW EXECUTE FUNCTION pg_temp.deleted();
                           ALTER TABLE durable.activity_tasks DISABLE TRIGGER ar_deleted$$,
                         $$SELECT pg_temp.twins_same('ar14d', 'arq14')$$),
          'COMPLETED true 0', 'a disabled one: the same is written');

-- 15. Row security on any of the four tables: the statement, the same.
SELECT is(pg_temp.undone(format('ALTER TABLE durable.%I ENABLE ROW LEVEL SECURITY', t),
                         format('SELECT pg_temp.twins_same(%L, ''arq15'')', 'ar15' || t)),
          'COMPLETED true 0', format('row security on %s: the same is written', t))
  FROM unnest(ARRAY['activity_tasks', 'workflow_tasks', 'activity_pauses', 'task_queue_limits']) t;

-- 16. A key index gone (the statement plans without it), or the queue
-- limited and its key gone: the same.
SELECT is(pg_temp.undone('ALTER TABLE durable.activity_tasks DROP CONSTRAINT activity_tasks_pkey CASCADE',
                         $$SELECT pg_temp.twins_same('ar16', 'arq16')$$),
          'COMPLETED true 0', 'without the tasks'' primary key: the same is written');
SELECT is(pg_temp.undone($$SELECT durable.set_task_queue_limits('arq16l', max_concurrent => 5);
                           ALTER TABLE durable.task_queue_limits DROP CONSTRAINT task_queue_limits_pkey CASCADE$$,
                         $$SELECT pg_temp.twins_same('ar16l', 'arq16l')$$),
          'COMPLETED true 0', 'a limited queue without the limits'' primary key: the same is written');
SELECT is(pg_temp.twins_same('ar16b', 'arq16'), 'COMPLETED true 0', 'and the keys are probed again once they are back');

-- 17. The extension dropped and created again in this session: the tables
-- and the functions it calls are looked up again.
SELECT is(pg_temp.undone($$SET LOCAL client_min_messages = warning;
                           DROP EXTENSION durable CASCADE; CREATE EXTENSION durable$$,
                         $$SELECT pg_temp.twins_same('ar17', 'arq17')$$),
          'COMPLETED true 0', 'after DROP and CREATE EXTENSION: the same is written');
SELECT is(pg_temp.twins_same('ar17b', 'arq17'), 'COMPLETED true 0', 'and, that undone, the old one''s again');

-- 18. Results of every kind, and a heartbeat before the result (its row
-- version is the one deleted).
SELECT is(pg_temp.twins(pg_temp.to_activity('ar18-' || k || '-a', 'arq18-' || k),
                        pg_temp.to_activity('ar18-' || k || '-b', 'arq18-' || k), NULL, r),
          'COMPLETED', format('a result %s is COMPLETED', r))
  FROM (VALUES (1, 'null'::jsonb), (2, '"text"'), (3, '-4.50'), (4, 'true'), (5, '[]'), (6, '{}'),
               (7, '[1, {"a": [null]}]'), (8, '{"b": 1, "a": "x\u00e9y"}')) v(k, r);
SELECT is(pg_temp.written('ar18-' || k || '-a'), pg_temp.written('ar18-' || k || '-b'),
          format('a result %s is written as the general path writes it', r))
  FROM (VALUES (1, 'null'::jsonb), (2, '"text"'), (3, '-4.50'), (4, 'true'), (5, '[]'), (6, '{}'),
               (7, '[1, {"a": [null]}]'), (8, '{"b": 1, "a": "x\u00e9y"}')) v(k, r);
SELECT is(pg_temp.event('ar18-3-a', 'ActivityTaskCompleted') -> 'result', '-4.50', '(the number as given)');
CREATE TEMP TABLE t18 AS SELECT pg_temp.to_activity('ar18h-a', 'arq18h') AS a, pg_temp.to_activity('ar18h-b', 'arq18h') AS b;
SELECT durable.heartbeat_activity_task(a, '"beat"'), durable.heartbeat_activity_task(b, '"beat"') FROM t18;
SELECT is(pg_temp.twins(a, b), 'COMPLETED', 'a result after a heartbeat in the same transaction is COMPLETED') FROM t18;
SELECT is(pg_temp.written('ar18h-a'), pg_temp.written('ar18h-b'), 'written as the general path writes it');

-- 19. A batch with bad items among results: each item's outcome is the
-- general path's, and the results around them are written.
CREATE TEMP TABLE t19 AS SELECT pg_temp.to_activity('ar19-a', 'arq19') AS a, pg_temp.to_activity('ar19-b', 'arq19') AS b,
                                pg_temp.to_activity('ar19-c', 'arq19') AS c, pg_temp.to_activity('ar19-d', 'arq19') AS d;
SELECT is((SELECT array_agg(c.outcome || ':' || coalesce(c.error, '')) FROM t19, durable.complete_activity_tasks(jsonb_build_array(
               jsonb_build_object('task_token', a, 'result', 1),
               '"not an object"'::jsonb,
               jsonb_build_object('task_token', 'a99999999.1', 'result', 2),
               jsonb_build_object('task_token', a, 'result', 3),
               jsonb_build_object('task_token', 'a1.x', 'result', 4),
               jsonb_build_object('task_token', c, 'result', 5))) c),
          ARRAY['COMPLETED:', 'INVALID:each outcome needs a task_token and one of result, failure, canceled',
                'LEASE_LOST:activity task lease is no longer held', 'LEASE_LOST:activity task lease is no longer held',
                'INVALID:each outcome needs a task_token and one of result, failure, canceled', 'COMPLETED:'],
          'a batch of results with bad items: each item''s own outcome');
SELECT durable.complete_activity_task(b, '1'), durable.complete_activity_task(d, '5') FROM t19;
SELECT is(pg_temp.written('ar19-a'), pg_temp.written('ar19-b'), 'the first result is written as the general path writes it');
SELECT is(pg_temp.written('ar19-c'), pg_temp.written('ar19-d'), 'and the last');

-- 20. The function itself, given a token without a fence: the cast's error
-- (split_part(token, '.', 2)::bigint), as before.
SELECT is((pg_temp.error_of(format('SELECT durable._complete_activity_result(%L, %s, %L, %L, NULL)',
              pg_temp.run('ar12'), split_part(substr((SELECT tok FROM t12), 2), '.', 1), 'a1', '1')))[1:2],
          ARRAY['22P02', 'invalid input syntax for type bigint: ""'], 'a token without a fence: the cast''s error');
SELECT is(durable._complete_activity_result(pg_temp.run('ar12'), NULL, 'a1.1', '1', NULL), 'LEASE_LOST',
          'no task: LEASE_LOST');

SELECT * FROM finish();
ROLLBACK;
