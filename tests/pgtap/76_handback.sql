-- Hand-back (api/76_handback.sql): complete_activity_tasks_eager leases, in
-- the activity completion's transaction, the workflow tasks its outcomes
-- made ready, as a poll at that moment would lease them: the history and
-- the lease are a polled twin's; each gate of the poll (pause, priority,
-- build ids, the queue, the namespace, the caller's grant) keeps a task
-- ready; never more than the slots; bad input changes nothing; a lost
-- lease in the batch is reported and the rest goes through.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
\ir activities.psql

CREATE FUNCTION pg_temp.done(tok text, result jsonb DEFAULT '42') RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_array(jsonb_build_object('task_token', tok, 'result', result))
$$;
CREATE FUNCTION pg_temp.wtask(wid text) RETURNS durable.workflow_tasks LANGUAGE sql AS $$
    SELECT wt.* FROM durable.workflow_tasks wt JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = wid
$$;
-- A run's history with what must match a twin's: ids, types, attributes
-- (but the run's own id).
CREATE FUNCTION pg_temp.hist(wid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(jsonb_build_array(event_id, event_type, attributes - 'first_execution_run_id') ORDER BY event_id)
      FROM durable.get_history(wid)
$$;

-- 1. The hand-back and its polled twin: the same history, the same lease.
CREATE TEMP TABLE tok AS
SELECT pg_temp.to_activity('hb-a', 'hq') AS a, pg_temp.to_activity('hb-b', 'hq') AS b;
CREATE TEMP TABLE r1 AS
SELECT * FROM durable.complete_activity_tasks_eager(pg_temp.done((SELECT a FROM tok)), 'hb-w', 'hq', 1);
SELECT is((SELECT array_agg(kind || ':' || outcome ORDER BY kind) FROM r1),
          ARRAY['activity_task:COMPLETED', 'workflow_task:POLLED'],
          'the outcome''s row, then the workflow task it made ready, leased');
-- the twin: complete, then poll
SELECT is((SELECT array_agg(outcome) FROM durable.complete_activity_tasks(pg_temp.done((SELECT b FROM tok)), 'hb-w')),
          ARRAY['COMPLETED'], 'the twin''s activity completes');
CREATE TEMP TABLE p1 AS SELECT * FROM durable.poll_workflow_tasks('hq', 'hb-w', 1);
SELECT is(pg_temp.hist('hb-a'), pg_temp.hist('hb-b'),
          'the history (ids, types, attributes: WorkflowTaskStarted''s identity) is the polled twin''s');
SELECT is(pg_temp.last_types('hb-a', 4),
          ARRAY['ActivityTaskStarted', 'ActivityTaskCompleted', 'WorkflowTaskScheduled', 'WorkflowTaskStarted'],
          'started right after it was scheduled');
SELECT ok((SELECT bool_and(event_time >= coalesce(prev, event_time)) FROM
             (SELECT event_time, lag(event_time) OVER (ORDER BY event_id) AS prev FROM durable.get_history('hb-a')) h),
          'the times never go back');
SELECT is((SELECT ROW(r.workflow_id, r.workflow_type, r.attempt, r.started_event_id) FROM r1 r WHERE kind = 'workflow_task'),
          (SELECT ROW('hb-a'::text, p.workflow_type, p.attempt, p.started_event_id) FROM p1 p),
          'the row is the poll''s: workflow, type, attempt, started event');
SELECT is((SELECT jsonb_path_query_array(history, '$[*].event_type') FROM r1 WHERE kind = 'workflow_task'),
          (SELECT jsonb_path_query_array(history, '$[*].event_type') FROM p1),
          'with the whole history, as the poll sends it');
SELECT is((SELECT task_token FROM r1 WHERE kind = 'workflow_task'),
          'w' || (pg_temp.wtask('hb-a')).task_id || '.' || (pg_temp.wtask('hb-a')).fence,
          'the token is the lease''s');
SELECT is(ROW((pg_temp.wtask('hb-a')).state, (pg_temp.wtask('hb-a')).identity, (pg_temp.wtask('hb-a')).fence,
              (pg_temp.wtask('hb-a')).timeout_at - (pg_temp.wtask('hb-a')).started_at),
          ROW((pg_temp.wtask('hb-b')).state, (pg_temp.wtask('hb-b')).identity, (pg_temp.wtask('hb-b')).fence,
              (pg_temp.wtask('hb-b')).timeout_at - (pg_temp.wtask('hb-b')).started_at),
          'state, identity, fence and timeout as the poll''s lease');
SELECT ok(EXISTS (SELECT 1 FROM durable.task_queue_pollers p
                   WHERE p.task_queue = 'hq' AND p.kind = 'workflow' AND p.identity = 'hb-w'),
          'the worker is recorded as the queue''s poller');
-- the task goes on as a polled one: completing it closes the run
SELECT lives_ok(format($$SELECT durable.complete_workflow_task(%L, '[{"type": "CompleteWorkflowExecution"}]')$$,
                       (SELECT task_token FROM r1 WHERE kind = 'workflow_task')),
                'the handed-back task completes with its token');
SELECT is(pg_temp.status('hb-a'), 'COMPLETED', 'and the run closes');

-- 2. The run cache: a run the worker holds gets only its new events.
CREATE TEMP TABLE tc AS SELECT pg_temp.to_activity('hb-c', 'hq-c') AS a;
CREATE TEMP TABLE rc AS
SELECT * FROM durable.complete_activity_tasks_eager(
    pg_temp.done((SELECT a FROM tc)), 'hb-w', 'hq-c', 1, 'default',
    jsonb_build_object((SELECT w.run_id FROM durable.workflows w WHERE w.workflow_id = 'hb-c')::text, 4));
SELECT is((SELECT jsonb_path_query_array(history, '$[*].event_id') FROM rc WHERE kind = 'workflow_task'),
          '[5, 6, 7, 8, 9]'::jsonb, 'cached up to event 4: events 5 on');
SELECT is((SELECT jsonb_path_query_array(history, '$[*].event_type') FROM rc WHERE kind = 'workflow_task'),
          '["ActivityTaskScheduled", "ActivityTaskStarted", "ActivityTaskCompleted", "WorkflowTaskScheduled", "WorkflowTaskStarted"]'::jsonb,
          'up to its WorkflowTaskStarted');

-- 3. Slots: never more than offered, none with 0; what is not taken waits,
-- ready, for a poll.
-- A batch takes its outcomes in run id order, and so its workflow tasks
-- enter the queue: the three runs, made in this order by this backend, have
-- run ids in that order, also within one millisecond (74_run_ids; before
-- that, CI at c24f888 queued s1, s3, s2).
CREATE TEMP TABLE ts AS SELECT pg_temp.to_activity('hb-s' || i, 'hq-s') AS a, i FROM generate_series(1, 3) i;
CREATE TEMP TABLE rs AS
SELECT * FROM durable.complete_activity_tasks_eager((SELECT jsonb_agg(d.e ORDER BY i) FROM ts,
                                                      jsonb_array_elements(pg_temp.done(a)) d(e)), 'hb-w', 'hq-s', 2);
SELECT is((SELECT array_agg(outcome ORDER BY outcome) FROM rs WHERE kind = 'activity_task'),
          ARRAY['COMPLETED', 'COMPLETED', 'COMPLETED'], 'three outcomes');
SELECT is((SELECT array_agg(workflow_id ORDER BY workflow_id) FROM rs WHERE kind = 'workflow_task'),
          ARRAY['hb-s1', 'hb-s2'], 'two slots: the first two tasks, in the queue''s order');
SELECT is((pg_temp.wtask('hb-s3')).state, 'SCHEDULED', 'the third waits for a poll');
CREATE TEMP TABLE t0 AS SELECT pg_temp.to_activity('hb-z', 'hq-z') AS a;
SELECT is((SELECT array_agg(kind) FROM durable.complete_activity_tasks_eager(pg_temp.done((SELECT a FROM t0)),
                                                                             'hb-w', 'hq-z', 0)),
          ARRAY['activity_task'], '0 slots: the outcome only');
SELECT is((pg_temp.wtask('hb-z')).state, 'SCHEDULED', 'its task waits for a poll');

-- 4. The gates: where a poll would not take the task, it stays ready.
-- Another queue than the run's:
CREATE TEMP TABLE tq AS SELECT pg_temp.to_activity('hb-q', 'hq-q') AS a;
SELECT is((SELECT count(*) FROM durable.complete_activity_tasks_eager(pg_temp.done((SELECT a FROM tq)),
                                                                      'hb-w', 'hq-q-other', 5) WHERE kind = 'workflow_task'),
          0::bigint, 'a task of another queue is not taken');
SELECT is((pg_temp.wtask('hb-q')).state, 'SCHEDULED', 'it waits for its queue''s pollers');
-- Another namespace:
SELECT durable.register_namespace('hb-ns');
CREATE TEMP TABLE tn AS SELECT pg_temp.to_activity('hb-n', 'hq-n', '{}', 'hb-ns') AS a;
SELECT is((SELECT count(*) FROM durable.complete_activity_tasks_eager(pg_temp.done((SELECT a FROM tn)),
                                                                      'hb-w', 'hq-n', 5) WHERE kind = 'workflow_task'),
          0::bigint, 'a task of the same queue name in another namespace is not taken');
SELECT is((pg_temp.wtask('hb-n')).state, 'SCHEDULED', 'it waits');
-- A paused run: its task is held, not ready.
CREATE TEMP TABLE tp AS SELECT pg_temp.to_activity('hb-p', 'hq-p') AS a;
SELECT durable.pause_workflow('hb-p', 'look first');
SELECT is((SELECT count(*) FROM durable.complete_activity_tasks_eager(pg_temp.done((SELECT a FROM tp)),
                                                                      'hb-w', 'hq-p', 5) WHERE kind = 'workflow_task'),
          0::bigint, 'a paused run''s task is not taken');
SELECT is((pg_temp.wtask('hb-p')).state, 'PAUSED', 'it is held as for a poll');
-- Priority: a ready task of a higher priority goes first, and takes the slot.
SELECT durable.start_workflow('hb-hi', 'W', 'hq-pr', 'null', '{"priority": 1}');
CREATE TEMP TABLE tpr AS SELECT pg_temp.to_activity('hb-lo', 'hq-pr') AS a;
SELECT is((SELECT array_agg(workflow_id) FROM durable.complete_activity_tasks_eager(pg_temp.done((SELECT a FROM tpr)),
                                                                                    'hb-w', 'hq-pr', 1) WHERE kind = 'workflow_task'),
          ARRAY['hb-hi'], 'one slot: the ready task of higher priority is leased, as a poll leases it');
SELECT is((pg_temp.wtask('hb-lo')).state, 'SCHEDULED', 'the new one waits its turn');
-- Build ids: a versioned queue gives a run's task only to its build.
SELECT durable.set_build_id_rules('hq-b', 'v1');
CREATE TEMP TABLE tb AS SELECT durable.start_workflow('hb-b1', 'W', 'hq-b', 'null');
CREATE TEMP TABLE tbt AS SELECT task_token FROM durable.poll_workflow_tasks('hq-b', 'hb-w', 1, NULL, 'default', 'v1');
SELECT durable.complete_workflow_task((SELECT task_token FROM tbt), jsonb_build_array(pg_temp.act('x')));
CREATE TEMP TABLE tba AS SELECT task_token FROM durable.poll_activity_tasks('hq-b', 'act-w', 1);
SELECT is((SELECT count(*) FROM durable.complete_activity_tasks_eager(pg_temp.done((SELECT task_token FROM tba)),
                                                                      'hb-w', 'hq-b', 5, 'default', NULL, 'v2')
            WHERE kind = 'workflow_task'),
          0::bigint, 'a worker of another build does not take a task pinned to v1');
SELECT is((pg_temp.wtask('hb-b1')).state, 'SCHEDULED', 'it waits for a v1 worker');
SELECT is((SELECT array_agg(p.workflow_id) FROM durable.poll_workflow_tasks('hq-b', 'hb-w', 1, NULL, 'default', 'v1') p),
          ARRAY['hb-b1'], 'which polls it');
CREATE TEMP TABLE tb2 AS SELECT pg_temp.to_activity('hb-b2', 'hq-b2') AS a;
SELECT durable.set_build_id_rules('hq-b2', 'v3');
SELECT is((SELECT count(*) FROM durable.complete_activity_tasks_eager(pg_temp.done((SELECT a FROM tb2)),
                                                                      'hb-w', 'hq-b2', 5) WHERE kind = 'workflow_task'),
          0::bigint, 'an unversioned worker takes nothing of a versioned queue');

-- 5. A lost lease in the batch is reported; the rest goes through.
CREATE TEMP TABLE tl AS SELECT pg_temp.to_activity('hb-l1', 'hq-l') AS a, pg_temp.to_activity('hb-l2', 'hq-l') AS b;
SELECT durable.complete_activity_tasks(pg_temp.done((SELECT b FROM tl)));   -- b's lease is gone: completed already
SELECT is((SELECT array_agg(p.workflow_id) FROM durable.poll_workflow_tasks('hq-l', 'other-w', 1) p), ARRAY['hb-l2'],
          'another worker took hb-l2''s task');
CREATE TEMP TABLE rl AS
SELECT * FROM durable.complete_activity_tasks_eager(pg_temp.done((SELECT b FROM tl)) || pg_temp.done((SELECT a FROM tl)),
                                                    'hb-w', 'hq-l', 5);
SELECT is((SELECT array_agg(outcome) FROM rl WHERE kind = 'activity_task'), ARRAY['LEASE_LOST', 'COMPLETED'],
          'the stale outcome is refused, in its place; the other completes');
SELECT is((SELECT array_agg(workflow_id) FROM rl WHERE kind = 'workflow_task'), ARRAY['hb-l1'],
          'and its workflow task is handed back');
SELECT is((pg_temp.wtask('hb-l2')).identity, 'other-w', 'the other worker keeps its lease');

-- 6. Bad input is refused, with its errcode, message and hint, and changes nothing.
CREATE TEMP TABLE tx AS SELECT pg_temp.to_activity('hb-x', 'hq-x') AS a;
CREATE FUNCTION pg_temp.bad(ident text, q text, slots text, ns text DEFAULT 'default', cached text DEFAULT 'NULL',
                            build text DEFAULT 'NULL') RETURNS text[] LANGUAGE sql AS $$
    SELECT pg_temp.error_of(format($q$SELECT * FROM durable.complete_activity_tasks_eager(%L, %L, %L, %s, %L, %s, %s)$q$,
        pg_temp.done((SELECT a FROM tx)), ident, q, slots, ns, cached, build))
$$;
SELECT is(pg_temp.bad('hb-w', 'hq-x', '-1'),
          ARRAY['22023', 'max_workflow_tasks must be between 0 and 1000', 'Got -1.',
                'Pass the workflow tasks the worker can take now; 0 completes without taking any.'],
          'negative slots: 22023 with a hint');
SELECT is(pg_temp.bad('hb-w', 'hq-x', '1001'), ARRAY['22023', 'max_workflow_tasks must be between 0 and 1000', 'Got 1001.',
                'Pass the workflow tasks the worker can take now; 0 completes without taking any.'],
          'too many slots: 22023');
SELECT is((pg_temp.bad('hb-w', 'hq-x', 'NULL'))[1:3], ARRAY['22023', 'max_workflow_tasks must be between 0 and 1000', 'Got NULL.'],
          'NULL slots: 22023');
SELECT is((pg_temp.bad('hb-w', '', '1'))[1:2], ARRAY['22023', 'task_queue and identity must be non-empty'],
          'no queue: 22023');
SELECT is((pg_temp.bad(NULL, 'hq-x', '1'))[1:2], ARRAY['22023', 'task_queue and identity must be non-empty'],
          'no identity: 22023');
SELECT is((pg_temp.bad('hb-w', 'hq-x', '1', NULL))[1:2],
          ARRAY['22023', 'namespace must be non-empty, without "/" or control characters'], 'a NULL namespace: 22023');
SELECT is((pg_temp.bad('hb-w', 'hq-x', '1', 'default', $$'[1]'$$))[1:2],
          ARRAY['22023', 'cached must map run ids to the last event id the worker holds'], 'a bad cache: 22023');
SELECT is((pg_temp.bad('hb-w', 'hq-x', '1', 'default', 'NULL', $$''$$))[1], '22023', 'an empty build id: 22023');
SELECT is(pg_temp.error_of($$SELECT * FROM durable.complete_activity_tasks_eager('{}', 'hb-w', 'hq-x', 1)$$),
          ARRAY['22023', 'outcomes must be a JSON array', NULL, 'Pass e.g. ''[{"task_token": "a1.1", "result": 42}]''.'],
          'outcomes not an array: 22023');
SELECT is((SELECT a.state FROM durable.activity_tasks a WHERE a.task_queue = 'hq-x'), 'STARTED',
          'the activity is still leased');
SELECT is(pg_temp.hlen('hb-x'), 5::bigint, 'and nothing was written');

-- 7. Grants: a worker offers only a queue it may poll; refused, the
-- outcomes are not delivered either.
CREATE ROLE handback_q NOLOGIN;
SELECT durable.grant_task_queue('handback_q', 'hq-g');
CREATE TEMP TABLE tg AS SELECT pg_temp.to_activity('hb-g', 'hq-g') AS a;
GRANT SELECT ON tg TO handback_q;
SELECT is(pg_temp.as_role('handback_q', format($$SELECT * FROM durable.complete_activity_tasks_eager(%L, 'w', 'hq-other', 1)$$,
              pg_temp.done((SELECT a FROM tg)))),
          '42501', 'offering a queue the caller may not poll: 42501');
SELECT is(pg_temp.hlen('hb-g'), 5::bigint, 'and the outcome was not delivered');
SELECT is(pg_temp.as_role('handback_q', format($$SELECT * FROM durable.complete_activity_tasks_eager(%L, 'w', 'hq-g', 1)$$,
              pg_temp.done((SELECT a FROM tg)))),
          'ok', 'its own queue: granted');
SELECT is((pg_temp.wtask('hb-g')).identity, 'w', 'and the task is handed back to it');

-- 8. The mark that holds back the notification of the tasks it schedules
-- (tests/concurrency/handback_notify.sh) ends with the call.
SELECT ok(NOT durable._eager_armed('default/workflow' || E'\x1f' || 'hq-g'), 'the call disarms its queue when it ends');

SELECT is_empty($$SELECT * FROM durable.verify_store()$$, 'the store is consistent after all of it');

SELECT * FROM finish();
ROLLBACK;
