-- Eager activity execution (api/72_eager.sql): complete_workflow_tasks_eager
-- leases the activities the completions schedule on the worker's queue to
-- that worker, inserted started; the history and everything after the lease
-- are a polled activity's; each gate of a poll's lease (pause, flow limits,
-- priority, a cancel in the same completion, the caller's grant) refuses it;
-- slots left take the queue's backlog as a poll; bad input changes nothing.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
\ir activities.psql

-- Leases the next workflow task of queue q and completes it through the
-- eager function with commands; returns its rows.
CREATE FUNCTION pg_temp.eager(q text, commands jsonb, slots integer, aq text DEFAULT NULL, ident text DEFAULT 'eager-w')
RETURNS TABLE (kind text, task_token text, outcome text, activity_id text, attempt integer,
               started_at timestamptz, deadline timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    tok text := (SELECT p.task_token FROM durable.poll_workflow_tasks(q, ident, 1) p);
BEGIN
    IF tok IS NULL THEN
        RAISE EXCEPTION 'no workflow task in queue %', q;
    END IF;
    RETURN QUERY SELECT e.kind, e.task_token, e.outcome, e.activity_id, e.attempt, e.started_at, e.deadline
                   FROM durable.complete_workflow_tasks_eager(
                            jsonb_build_array(jsonb_build_object('task_token', tok, 'commands', commands)),
                            ident, coalesce(aq, q), slots) e;
END
$$;
CREATE FUNCTION pg_temp.task(wid text, aid text) RETURNS durable.activity_tasks LANGUAGE sql AS $$
    SELECT a.* FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id)
     WHERE w.workflow_id = wid AND a.activity_id = aid
$$;

-- 1. The eager path: two of three activities taken, within the slots.
SELECT durable.start_workflow('eg-1', 'W', 'eq', 'null');
CREATE TEMP TABLE r1 AS
SELECT * FROM pg_temp.eager('eq', jsonb_build_array(pg_temp.act('1'), pg_temp.act('2', '{"heartbeat_timeout": 5}'),
                                                    pg_temp.act('3')), 2);
SELECT is((SELECT array_agg(kind || ':' || outcome ORDER BY kind DESC, activity_id) FROM r1),
          ARRAY['workflow_task:COMPLETED', 'activity_task:EAGER', 'activity_task:EAGER'],
          'the completion''s row, then one row per activity taken, no more than the slots offered');
SELECT is((SELECT array_agg(activity_id ORDER BY activity_id) FROM r1 WHERE kind = 'activity_task'), ARRAY['1', '2'],
          'the first activities scheduled are the ones taken');
SELECT is((SELECT task_token FROM r1 WHERE activity_id = '1'), 'a' || (pg_temp.task('eg-1', '1')).task_id || '.1',
          'the token is a first lease''s');
SELECT is(ROW((pg_temp.task('eg-1', '1')).state, (pg_temp.task('eg-1', '1')).identity, (pg_temp.task('eg-1', '1')).fence,
              (pg_temp.task('eg-1', '1')).attempt),
          ROW('STARTED'::text, 'eager-w'::text, 1::bigint, 1),
          'the task is inserted started, leased to the completing worker');
SELECT is((pg_temp.task('eg-1', '1')).started_at, (pg_temp.task('eg-1', '1')).scheduled_at,
          'it starts when it is scheduled');
SELECT is((pg_temp.task('eg-1', '1')).timeout_at,
          (pg_temp.task('eg-1', '1')).started_at + interval '30 seconds',
          'its start-to-close deadline runs from the eager lease');
SELECT is((pg_temp.task('eg-1', '2')).timeout_at,
          (pg_temp.task('eg-1', '2')).started_at + interval '5 seconds',
          'and its heartbeat deadline');
SELECT is((SELECT deadline FROM r1 WHERE activity_id = '2'), (pg_temp.task('eg-1', '2')).timeout_at,
          'the row gives the deadline as a poll does');
SELECT is((pg_temp.task('eg-1', '3')).state, 'SCHEDULED', 'the one past the slots waits for a poll');
SELECT is((SELECT array_agg(p.activity_id) FROM durable.poll_activity_tasks('eq', 'other', 10) p), ARRAY['3'],
          'another worker''s poll finds only that one');
SELECT is(current_setting('durable_eager.slots', true), '', 'the offer ends with the call');

-- 2. The history is a polled activity's: a twin workflow run through the
-- poll, with the same identity, writes the same events.
SELECT durable.start_workflow('eg-twin', 'W', 'eq-twin', 'null');
SELECT pg_temp.complete('eq-twin', jsonb_build_array(pg_temp.act('1')));
SELECT durable.complete_activity_task(p.task_token, '{"ok": 1}', 'eager-w')
  FROM durable.poll_activity_tasks('eq-twin', 'eager-w', 1) p;
SELECT durable.complete_activity_task((SELECT task_token FROM r1 WHERE activity_id = '1'), '{"ok": 1}', 'eager-w');
CREATE FUNCTION pg_temp.acts(wid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(jsonb_build_array(h.event_id, h.event_type, h.attributes - 'task_queue') ORDER BY h.event_id)
      FROM durable.get_history(wid) h
     WHERE h.event_type LIKE 'Activity%' AND (h.event_type <> 'ActivityTaskScheduled' OR h.attributes ->> 'activity_id' = '1')
$$;
SELECT is(pg_temp.acts('eg-1') #> '{0}', pg_temp.acts('eg-twin') #> '{0}', 'ActivityTaskScheduled is the same');
SELECT is((SELECT array_agg(h.event_type ORDER BY h.event_id) FROM durable.get_history('eg-1') h WHERE h.event_id > 7),
          ARRAY['ActivityTaskStarted', 'ActivityTaskCompleted', 'WorkflowTaskScheduled'],
          'completing it writes ActivityTaskStarted, then ActivityTaskCompleted');
SELECT is((SELECT h.attributes FROM durable.get_history('eg-1') h WHERE h.event_type = 'ActivityTaskStarted'),
          (SELECT h.attributes FROM durable.get_history('eg-twin') h WHERE h.event_type = 'ActivityTaskStarted'),
          'ActivityTaskStarted has a polled activity''s attributes (identity, attempt, scheduled event)');
SELECT is((SELECT h.attributes - 'started_event_id' - 'scheduled_event_id' FROM durable.get_history('eg-1') h
            WHERE h.event_type = 'ActivityTaskCompleted'),
          (SELECT h.attributes - 'started_event_id' - 'scheduled_event_id' FROM durable.get_history('eg-twin') h
            WHERE h.event_type = 'ActivityTaskCompleted'),
          'and so has ActivityTaskCompleted');

-- 3. A timed-out eager attempt goes back through the queue.
SELECT durable.skip_time('6 seconds');
SELECT ok(durable.fire_due() >= 1, 'past its heartbeat deadline the eager attempt times out');
SELECT is((pg_temp.task('eg-1', '2')).attempt, 2, 'the retry is attempt 2');
SELECT durable.skip_time('2 seconds');
SELECT durable.fire_due();
SELECT is((SELECT array_agg(p.activity_id || '#' || p.attempt || '@' || p.task_token)
             FROM durable.poll_activity_tasks('eq', 'other', 10) p),
          ARRAY['2#2@a' || (pg_temp.task('eg-1', '2')).task_id || '.2'],
          'a poll leases the retry, with the next fence');

-- 4. Only the worker's own queue, only with slots, only through the eager call.
SELECT durable.start_workflow('eg-2', 'W', 'eq2', 'null');
SELECT is((SELECT count(*) FROM pg_temp.eager('eq2', jsonb_build_array(pg_temp.act('1', '{"task_queue": "eq2-other"}')), 5)
            WHERE kind = 'activity_task'), 0::bigint, 'an activity of another queue is not taken');
SELECT is((pg_temp.task('eg-2', '1')).state, 'SCHEDULED', 'it waits for that queue''s pollers');
SELECT durable.start_workflow('eg-3', 'W', 'eq3', 'null');
SELECT is((SELECT count(*) FROM pg_temp.eager('eq3', jsonb_build_array(pg_temp.act('1')), 0) WHERE kind = 'activity_task'),
          0::bigint, 'no slots: nothing is taken');
SELECT is((pg_temp.task('eg-3', '1')).state, 'SCHEDULED', 'the activity waits for a poll');
SELECT durable.start_workflow('eg-4', 'W', 'eq4', 'null');
SELECT pg_temp.complete('eq4', jsonb_build_array(pg_temp.act('1')));
SELECT is((pg_temp.task('eg-4', '1')).state, 'SCHEDULED', 'complete_workflow_task, as before, takes nothing');

-- 5. The gates. A paused run: its new activity is held, not taken.
SELECT durable.start_workflow('eg-p', 'W', 'eq-p', 'null');
CREATE TEMP TABLE pt AS SELECT task_token FROM durable.poll_workflow_tasks('eq-p', 'eager-w', 1);
SELECT durable.pause_workflow('eg-p', 'look first');
SELECT is((SELECT count(*) FROM durable.complete_workflow_tasks_eager(
             jsonb_build_array(jsonb_build_object('task_token', (SELECT task_token FROM pt),
                                                  'commands', jsonb_build_array(pg_temp.act('1')))),
             'eager-w', 'eq-p', 5) e WHERE e.kind = 'activity_task'),
          0::bigint, 'a paused run''s activity is not taken');
SELECT is((pg_temp.task('eg-p', '1')).state, 'PAUSED', 'it is held as for a poll');

-- A queue with flow limits picks its own tasks: none taken eagerly, and the
-- poll made with the completion obeys the limit.
SELECT durable.set_task_queue_limits('eq-l', max_concurrent => 1);
SELECT durable.start_workflow('eg-l', 'W', 'eq-l', 'null');
CREATE TEMP TABLE rl AS SELECT * FROM pg_temp.eager('eq-l', jsonb_build_array(pg_temp.act('1'), pg_temp.act('2')), 5);
SELECT is((SELECT array_agg(outcome) FROM rl WHERE kind = 'activity_task'), ARRAY['POLLED'],
          'a limited queue: nothing eager, one leased by the limited poll (max_concurrent 1)');
SELECT is((SELECT count(*) FROM durable.activity_tasks a WHERE a.task_queue = 'eq-l' AND a.state = 'STARTED'), 1::bigint,
          'one started, the limit');

-- Priority: a task ready ahead keeps the new one from jumping the queue;
-- the slots take the queue's head instead.
SELECT durable.start_workflow('eg-hi', 'W', 'eq-pr', 'null', '{"priority": 1}');
SELECT pg_temp.complete('eq-pr', jsonb_build_array(pg_temp.act('hi')));
SELECT durable.start_workflow('eg-lo', 'W', 'eq-pr', 'null');
CREATE TEMP TABLE rp AS SELECT * FROM pg_temp.eager('eq-pr', jsonb_build_array(pg_temp.act('mid')), 1);
SELECT is((SELECT array_agg(activity_id || ':' || outcome) FROM rp WHERE kind = 'activity_task'), ARRAY['hi:POLLED'],
          'a ready task of higher priority is leased first, by the poll made with the completion');
SELECT is((pg_temp.task('eg-lo', 'mid')).state, 'SCHEDULED', 'the new one waits its turn');
-- the same priority: it is behind the ready one
SELECT durable.start_workflow('eg-s1', 'W', 'eq-same', 'null');
SELECT pg_temp.complete('eq-same', jsonb_build_array(pg_temp.act('first')));
SELECT durable.start_workflow('eg-s2', 'W', 'eq-same', 'null');
CREATE TEMP TABLE rs AS SELECT * FROM pg_temp.eager('eq-same', jsonb_build_array(pg_temp.act('second')), 2);
SELECT is((SELECT array_agg(activity_id || ':' || outcome ORDER BY task_token) FROM rs WHERE kind = 'activity_task'),
          ARRAY['first:POLLED', 'second:POLLED'],
          'at the same priority the earlier task goes first; with slots for both, the poll takes both in order');
-- a ready task of lower priority is behind the new one: eager
SELECT durable.start_workflow('eg-l5', 'W', 'eq-low', 'null', '{"priority": 5}');
SELECT pg_temp.complete('eq-low', jsonb_build_array(pg_temp.act('low')));
SELECT durable.start_workflow('eg-l3', 'W', 'eq-low', 'null');
SELECT is((SELECT array_agg(activity_id || ':' || outcome) FROM pg_temp.eager('eq-low', jsonb_build_array(pg_temp.act('new')), 1)
            WHERE kind = 'activity_task'), ARRAY['new:EAGER'],
          'a ready task of lower priority does not keep a new one from being taken');

-- A completion that also cancels an activity gets none: a task canceled
-- before it starts is canceled at once, as without eager execution.
SELECT durable.start_workflow('eg-c', 'W', 'eq-c', 'null');
SELECT is((SELECT count(*) FROM pg_temp.eager('eq-c', jsonb_build_array(pg_temp.act('1'),
             '{"type": "RequestCancelActivityTask", "activity_id": "1"}'::jsonb), 5) WHERE kind = 'activity_task'),
          0::bigint, 'scheduled and canceled together: not taken');
SELECT is(pg_temp.last_types('eg-c', 4),
          ARRAY['ActivityTaskScheduled', 'ActivityTaskCancelRequested', 'ActivityTaskCanceled', 'WorkflowTaskScheduled'],
          'it is canceled before it starts, as without eager execution');

-- Versioned queues: activity tasks are not routed by build, so a worker of
-- any build takes them eagerly, as its poll would.
SELECT durable.set_build_id_rules('eq-b', 'v2');
SELECT durable.start_workflow('eg-b', 'W', 'eq-b', 'null');
CREATE TEMP TABLE bt AS SELECT task_token FROM durable.poll_workflow_tasks('eq-b', 'eager-w', 1, NULL, 'default', 'v2');
SELECT is((SELECT array_agg(e.outcome) FROM durable.complete_workflow_tasks_eager(
             jsonb_build_array(jsonb_build_object('task_token', (SELECT task_token FROM bt),
                                                  'commands', jsonb_build_array(pg_temp.act('1')))),
             'eager-w', 'eq-b', 5) e WHERE e.kind = 'activity_task'),
          ARRAY['EAGER'], 'a versioned queue''s activity is taken by the build that completed the task');

-- A completion that fails changes nothing, and its slots go to the next.
SELECT durable.start_workflow('eg-f' || i, 'W', 'eq-f', 'null') FROM generate_series(1, 2) i;
CREATE TEMP TABLE ft AS SELECT task_token FROM durable.poll_workflow_tasks('eq-f', 'eager-w', 2);
CREATE TEMP TABLE rf AS SELECT * FROM durable.complete_workflow_tasks_eager(
    (SELECT jsonb_agg(jsonb_build_object('task_token', task_token, 'commands',
        CASE WHEN n = 1 THEN jsonb_build_array(pg_temp.act('1'), '{"type": "StartTimer"}'::jsonb)
             ELSE jsonb_build_array(pg_temp.act('1'), pg_temp.act('2')) END) ORDER BY n)
       FROM (SELECT task_token, row_number() OVER (ORDER BY task_token) AS n FROM ft) t),
    'eager-w', 'eq-f', 2);
SELECT is((SELECT array_agg(outcome ORDER BY outcome) FROM rf), ARRAY['COMPLETED', 'EAGER', 'EAGER', 'INVALID'],
          'the bad completion is refused; the good one takes both slots');
SELECT is((SELECT count(*) FROM durable.activity_tasks a WHERE a.task_queue = 'eq-f'), 2::bigint,
          'the refused completion left no task');

-- 6. Bad input is refused and changes nothing.
SELECT durable.start_workflow('eg-bad', 'W', 'eq-bad', 'null');
CREATE TEMP TABLE bad AS SELECT task_token FROM durable.poll_workflow_tasks('eq-bad', 'eager-w', 1);
CREATE FUNCTION pg_temp.bad_call(ident text, aq text, slots integer) RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.err(format($q$SELECT * FROM durable.complete_workflow_tasks_eager(%L, %L, %L, %s)$q$,
        jsonb_build_array(jsonb_build_object('task_token', (SELECT task_token FROM bad),
                                             'commands', jsonb_build_array(pg_temp.act('1')))),
        ident, aq, coalesce(slots::text, 'NULL')))
$$;
SELECT is(pg_temp.bad_call('eager-w', 'eq-bad', -1), '22023: max_activities must be between 0 and 1000',
          'negative slots: 22023');
SELECT is(pg_temp.bad_call('eager-w', 'eq-bad', 1001), '22023: max_activities must be between 0 and 1000',
          'too many slots: 22023');
SELECT is(pg_temp.bad_call('eager-w', 'eq-bad', NULL), '22023: max_activities must be between 0 and 1000',
          'NULL slots: 22023');
SELECT is(pg_temp.bad_call('eager-w', '', 1), '22023: task_queue and identity must be non-empty',
          'no queue: 22023');
SELECT is(pg_temp.bad_call(NULL, 'eq-bad', 1), '22023: task_queue and identity must be non-empty',
          'no identity: 22023');
SELECT is(pg_temp.err($$SELECT * FROM durable.complete_workflow_tasks_eager('{}', 'w', 'eq-bad', 1)$$),
          '22023: completions must be a JSON array', 'completions not an array: 22023');
SELECT is((SELECT state FROM durable.workflow_tasks wt JOIN durable.workflows w USING (run_id)
            WHERE w.workflow_id = 'eg-bad'), 'STARTED', 'the workflow task is still leased');
SELECT is(pg_temp.hlen('eg-bad'), 3::bigint, 'and nothing was written');

-- 7. Grants: a worker may offer only a queue it may poll, and an offer
-- forged with the settings leases nothing its grants do not allow.
CREATE ROLE eager_q NOLOGIN;
SELECT durable.grant_task_queue('eager_q', 'eq-g');
SELECT durable.start_workflow('eg-g', 'W', 'eq-g', 'null');
CREATE TEMP TABLE gt AS SELECT task_token FROM durable.poll_workflow_tasks('eq-g', 'eager-w', 1);
GRANT SELECT ON gt TO eager_q;
SELECT is(pg_temp.as_role('eager_q', format($$SELECT * FROM durable.complete_workflow_tasks_eager(%L, 'w', 'eq-other', 1)$$,
              jsonb_build_array(jsonb_build_object('task_token', (SELECT task_token FROM gt), 'commands', '[]'::jsonb)))),
          '42501', 'offering a queue the caller may not poll: 42501');
SELECT is(pg_temp.hlen('eg-g'), 3::bigint, 'and the completion did not happen');
SELECT is(pg_temp.as_role('eager_q', format($$
              SELECT set_config('durable_eager.offer', concat_ws(E'\x1f', 'default', 'eq-other', 'forger'), true),
                     set_config('durable_eager.slots', '5', true),
                     durable.complete_workflow_task(%L, %L)$$,
              (SELECT task_token FROM gt), jsonb_build_array(pg_temp.act('1', '{"task_queue": "eq-other"}')))),
          'ok', 'a completion with a forged offer goes through');
SELECT is((pg_temp.task('eg-g', '1')).state, 'SCHEDULED', 'but leases nothing on a queue the caller may not poll');
SELECT is(pg_temp.as_role('eager_q', $$SELECT durable._eager_arm('default' || E'\x1f' || 'eq-other')$$), '42501',
          'nor can it arm a queue itself (pgext/src/eager.c): the function is internal');
-- the mark itself: armed for one key, in this transaction, until disarmed
SELECT ok(NOT durable._eager_armed('default' || E'\x1f' || 'eq'), 'an eager call disarms its queue when it ends');
SELECT durable._eager_arm('ns' || E'\x1f' || 'q');
SELECT ok(durable._eager_armed('ns' || E'\x1f' || 'q') AND NOT durable._eager_armed('ns' || E'\x1f' || 'q2')
          AND NOT durable._eager_armed(NULL), 'armed: that key only');
SELECT durable._eager_arm(NULL);
SELECT ok(NOT durable._eager_armed('ns' || E'\x1f' || 'q'), 'NULL disarms');

SELECT is_empty($$SELECT * FROM durable.verify_store()$$, 'the store is consistent after all of it');

SELECT * FROM finish();
ROLLBACK;
