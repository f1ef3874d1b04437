-- Priorities and fairness (api/41_priority.sql): priority, fairness key and
-- weight on runs, inherited by activities and children; polls take higher
-- priority first and serve keys in proportion to their weights, limited or
-- not, for activity and workflow tasks; bad options refused.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- Starts workflow wid on queue q whose first task schedules one activity of
-- each options object in acts (activity ids 1, 2, ...).
CREATE FUNCTION pg_temp.schedule(wid text, q text, acts jsonb, opts jsonb DEFAULT '{}') RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM durable.start_workflow(wid, 'W', q || '-wf', NULL, opts);
    PERFORM pg_temp.complete(q || '-wf', (SELECT jsonb_agg(jsonb_build_object(
        'type', 'ScheduleActivityTask', 'activity_type', 'A', 'activity_id', i::text, 'task_queue', q,
        'start_to_close_timeout', 600) || a ORDER BY i)
        FROM jsonb_array_elements(acts) WITH ORDINALITY AS e(a, i)));
END
$$;
-- n copies of one options object, as a JSON array
CREATE FUNCTION pg_temp.times(n integer, o jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(o) FROM generate_series(1, n)
$$;
-- leases up to n activity tasks of q: the fairness keys (or workflow ids) of
-- what it got, in the order the poll took them
CREATE FUNCTION pg_temp.poll_keys(q text, n integer) RETURNS text[] LANGUAGE sql AS $$
    SELECT array_agg(a.fairness_key ORDER BY a.priority, a.pass, a.task_id)
      FROM durable.poll_activity_tasks(q, 'tester', n) p
      JOIN durable.activity_tasks a ON a.task_id = (regexp_match(p.task_token, '^a([0-9]+)'))[1]::bigint
$$;
CREATE FUNCTION pg_temp.count_of(keys text[], k text) RETURNS integer LANGUAGE sql AS $$
    SELECT count(*)::integer FROM unnest(keys) x WHERE x = k
$$;

-- Options, events, inheritance ---------------------------------------------
SELECT lives_ok($$SELECT durable.start_workflow('p-opt', 'W', 'pq-opt', NULL,
                  '{"priority": 1, "fairness_key": "acme", "fairness_weight": 2.5}')$$,
                'start_workflow takes priority, fairness_key and fairness_weight');
SELECT is((SELECT (priority, fairness_key, fairness_weight)::text FROM durable.workflows WHERE workflow_id = 'p-opt'),
          '(1,acme,2.5)', 'the run keeps them');
SELECT is(pg_temp.event('p-opt', 'WorkflowExecutionStarted') - ARRAY['workflow_type', 'task_queue', 'input',
          'workflow_execution_timeout', 'workflow_run_timeout', 'workflow_task_timeout', 'first_execution_run_id',
          'continued_execution_run_id', 'parent_workflow_id', 'parent_run_id', 'parent_initiated_event_id',
          'memo', 'search_attributes', 'identity', 'attempt'],
          '{"priority": 1, "fairness_key": "acme", "fairness_weight": 2.5}', 'and its started event records them');
SELECT is((SELECT (t.priority, t.fairness_key)::text FROM durable.workflow_tasks t
            JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'p-opt'),
          '(1,acme)', 'its workflow task has the run''s priority and key');
SELECT is((SELECT jsonb_build_object('p', d -> 'priority', 'k', d -> 'fairness_key', 'w', d -> 'fairness_weight')
             FROM durable.describe_workflow('p-opt') d),
          '{"p": 1, "k": "acme", "w": 2.5}', 'describe_workflow shows them');
SELECT durable.start_workflow('p-plain', 'W', 'pq-opt');
SELECT ok(NOT (pg_temp.event('p-plain', 'WorkflowExecutionStarted') ?| ARRAY['priority', 'fairness_key', 'fairness_weight']),
          'a start without them records none');
SELECT is((SELECT (priority, fairness_key, fairness_weight)::text FROM durable.workflows WHERE workflow_id = 'p-plain'),
          '(3,"",1)', 'and the run has the defaults: priority 3, no key, weight 1');

SELECT pg_temp.complete('pq-opt', '[
    {"type": "ScheduleActivityTask", "activity_id": "inherits", "activity_type": "A", "start_to_close_timeout": 5},
    {"type": "ScheduleActivityTask", "activity_id": "own", "activity_type": "A", "start_to_close_timeout": 5,
     "priority": 5, "fairness_key": "other", "fairness_weight": 0.5},
    {"type": "StartChildWorkflowExecution", "workflow_id": "p-child", "workflow_type": "C", "task_queue": "pq-kids"},
    {"type": "StartChildWorkflowExecution", "workflow_id": "p-child-own", "workflow_type": "C", "task_queue": "pq-kids",
     "priority": 4, "fairness_key": "kid"}]');
SELECT is((SELECT (priority, fairness_key, fairness_weight)::text FROM durable.activity_tasks
            WHERE workflow_id = 'p-opt' AND activity_id = 'inherits'),
          '(1,acme,2.5)', 'an activity inherits the workflow''s priority, key and weight');
SELECT is((SELECT (priority, fairness_key, fairness_weight)::text FROM durable.activity_tasks
            WHERE workflow_id = 'p-opt' AND activity_id = 'own'),
          '(5,other,0.5)', 'or sets its own');
SELECT is((SELECT a - ARRAY['activity_id', 'activity_type', 'task_queue', 'scheduled_event_id', 'state', 'attempt',
                  'maximum_attempts', 'scheduled_at', 'started_at', 'identity', 'last_heartbeat_at',
                  'heartbeat_details', 'last_failure', 'cancel_requested', 'paused', 'options',
                  'next_attempt_at', 'deadline']
             FROM jsonb_array_elements(durable.describe_workflow('p-opt') -> 'pending_activities') a
            WHERE a ->> 'activity_id' = 'own'),
          '{"priority": 5, "fairness_key": "other", "fairness_weight": 0.5}', 'describe_workflow shows each pending activity''s');
SELECT is((SELECT attributes - ARRAY['activity_id', 'activity_type', 'task_queue', 'input', 'schedule_to_close_timeout',
                  'schedule_to_start_timeout', 'start_to_close_timeout', 'heartbeat_timeout', 'retry_policy',
                  'workflow_task_completed_event_id']
             FROM durable.get_history('p-opt') WHERE event_type = 'ActivityTaskScheduled'
              AND attributes ->> 'activity_id' = 'own'),
          '{"priority": 5, "fairness_key": "other", "fairness_weight": 0.5}', 'its event records them');
SELECT is((SELECT (priority, fairness_key, fairness_weight)::text FROM durable.workflows WHERE workflow_id = 'p-child'),
          '(1,acme,2.5)', 'a child inherits the parent''s');
SELECT is((SELECT (priority, fairness_key, fairness_weight)::text FROM durable.workflows WHERE workflow_id = 'p-child-own'),
          '(4,kid,2.5)', 'or sets its own (what it does not set, it inherits)');
SELECT pg_temp.complete('pq-opt', '[{"type": "ContinueAsNewWorkflowExecution"}]');
SELECT is((SELECT (priority, fairness_key, fairness_weight)::text FROM durable.workflows
            WHERE workflow_id = 'p-plain' AND status = 'RUNNING'),
          '(3,"",1)', 'continue-as-new keeps the defaults of a run without them');
SELECT durable.start_workflow('p-can', 'W', 'pq-can', NULL, '{"priority": 2, "fairness_key": "acme"}');
SELECT pg_temp.complete('pq-can', '[{"type": "ContinueAsNewWorkflowExecution"}]');
SELECT is((SELECT (priority, fairness_key, fairness_weight)::text FROM durable.workflows
            WHERE workflow_id = 'p-can' AND status = 'RUNNING'),
          '(2,acme,1)', 'and the priority and key of one with them');

SELECT pg_temp.complete('pq-can', '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 60}]');
SELECT durable.reset_workflow('p-can', pg_temp.event_id('p-can', 'WorkflowTaskCompleted'), 'try again');
SELECT is((SELECT (priority, fairness_key, fairness_weight)::text FROM durable.workflows
            WHERE workflow_id = 'p-can' AND status = 'RUNNING'),
          '(2,acme,1)', 'and so does a reset');

-- Activity tasks: priority first ---------------------------------------------
SELECT pg_temp.schedule('pa-5', 'pq-a', pg_temp.times(3, '{"priority": 5, "fairness_key": "five"}'));
SELECT pg_temp.schedule('pa-3', 'pq-a', pg_temp.times(3, '{"fairness_key": "three"}'));
SELECT pg_temp.schedule('pa-1', 'pq-a', pg_temp.times(3, '{"priority": 1, "fairness_key": "one"}'));
SELECT is(pg_temp.poll_keys('pq-a', 4), ARRAY['one', 'one', 'one', 'three'],
          'a poll takes priority 1 first, then 3, though scheduled last');
SELECT is(pg_temp.poll_keys('pq-a', 10), ARRAY['three', 'three', 'five', 'five', 'five'], 'and 5 last');

-- Activity tasks: a flood does not starve a small tenant ------------------------
SELECT pg_temp.schedule('pf-big', 'pq-f', pg_temp.times(200, '{"fairness_key": "big"}'));
SELECT pg_temp.schedule('pf-small', 'pq-f', pg_temp.times(5, '{"fairness_key": "small"}'));
SELECT is(pg_temp.count_of(pg_temp.poll_keys('pq-f', 10), 'small'), 5,
          'a small tenant scheduled behind 200 tasks of another gets half of the next poll');
SELECT pg_temp.schedule('pf-late', 'pq-f', pg_temp.times(3, '{"fairness_key": "late"}'));
SELECT is(pg_temp.poll_keys('pq-f', 6), ARRAY['big', 'late', 'big', 'late', 'big', 'late'],
          'one that comes later, while the flood has 195 ready, is level with its head');

-- Activity tasks: weights ------------------------------------------------------
SELECT pg_temp.schedule('pw-x', 'pq-w', pg_temp.times(40, '{"fairness_key": "x"}'));
SELECT pg_temp.schedule('pw-y', 'pq-w', pg_temp.times(40, '{"fairness_key": "y", "fairness_weight": 4}'));
SELECT pg_temp.schedule('pw-z', 'pq-w', pg_temp.times(40, '{"fairness_key": "z", "fairness_weight": 2}'));
SELECT is((SELECT array[pg_temp.count_of(k, 'x'), pg_temp.count_of(k, 'y'), pg_temp.count_of(k, 'z')]
             FROM pg_temp.poll_keys('pq-w', 14) k),
          ARRAY[2, 8, 4], 'keys of weight 1, 4 and 2 with backlogs share a poll 1 : 4 : 2');
SELECT is((SELECT array[pg_temp.count_of(k, 'x'), pg_temp.count_of(k, 'y'), pg_temp.count_of(k, 'z')]
             FROM pg_temp.poll_keys('pq-w', 21) k),
          ARRAY[3, 12, 6], 'and so does the next');

-- Activity tasks: a task ready again goes behind its key's ready tasks ----------
SELECT pg_temp.schedule('pr', 'pq-r', pg_temp.times(3, '{"fairness_key": "r"}'));
SELECT durable.fail_activity_task((SELECT task_token FROM durable.poll_activity_tasks('pq-r', 'tester', 1)),
                                  '{"message": "again"}');
SELECT durable.skip_time('2 seconds');
SELECT durable.fire_due(1000);
SELECT is((SELECT array_agg(activity_id ORDER BY priority, pass, task_id) FROM durable.activity_tasks
            WHERE task_queue = 'pq-r' AND state = 'SCHEDULED'),
          ARRAY['2', '3', '1'], 'a retried task gets a new place, behind its key''s other ready tasks');

-- The limited poll keeps the same order ----------------------------------------
SELECT pg_temp.schedule('pl-big', 'pq-l', pg_temp.times(30, '{"fairness_key": "big"}'));
SELECT pg_temp.schedule('pl-y', 'pq-l', pg_temp.times(30, '{"fairness_key": "y", "fairness_weight": 4}'));
SELECT pg_temp.schedule('pl-urgent', 'pq-l', pg_temp.times(2, '{"fairness_key": "u", "priority": 1}'));
SELECT durable.set_task_queue_limits('pq-l', key_max_concurrent => 100);
SELECT is(pg_temp.poll_keys('pq-l', 2), ARRAY['u', 'u'], 'a limited queue takes priority 1 first');
SELECT is((SELECT array[pg_temp.count_of(k, 'big'), pg_temp.count_of(k, 'y')] FROM pg_temp.poll_keys('pq-l', 10) k),
          ARRAY[2, 8], 'then shares by weight');
SELECT durable.set_fairness_key_limits('pq-l', 'y', max_concurrent => 9);
SELECT is((SELECT array[pg_temp.count_of(k, 'big'), pg_temp.count_of(k, 'y')] FROM pg_temp.poll_keys('pq-l', 10) k),
          ARRAY[9, 1], 'and a key at its limit leaves its share to the others');

-- Workflow tasks ---------------------------------------------------------------
SELECT durable.start_workflow('pw5-' || i, 'W', 'pq-wt', NULL, '{"priority": 5}') FROM generate_series(1, 3) i;
SELECT durable.start_workflow('pw1-' || i, 'W', 'pq-wt', NULL, '{"priority": 1}') FROM generate_series(1, 3) i;
SELECT is((SELECT array_agg(left(workflow_id, 3) ORDER BY workflow_id)
             FROM durable.poll_workflow_tasks('pq-wt', 'tester', 3)),
          ARRAY['pw1', 'pw1', 'pw1'], 'workflow tasks: priority 1 first');
SELECT durable.start_workflow('pwb-' || i, 'W', 'pq-wf', NULL, '{"fairness_key": "big"}') FROM generate_series(1, 50) i;
SELECT durable.start_workflow('pws-' || i, 'W', 'pq-wf', NULL, '{"fairness_key": "small"}') FROM generate_series(1, 2) i;
SELECT is((SELECT count(*) FROM durable.poll_workflow_tasks('pq-wf', 'tester', 4) WHERE workflow_id LIKE 'pws-%'),
          2::bigint, 'a small tenant''s workflows started behind 50 of another are in the next poll for 4');

-- workflow tasks made in bulk by fired timers are placed the same way
SELECT durable.start_workflow('pt-a' || i, 'W', 'pq-tm', NULL, '{"fairness_key": "a"}') FROM generate_series(1, 3) i;
SELECT durable.start_workflow('pt-b' || i, 'W', 'pq-tm', NULL, '{"fairness_key": "b", "fairness_weight": 2}')
  FROM generate_series(1, 3) i;
SELECT pg_temp.complete('pq-tm', '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 60}]')
  FROM generate_series(1, 6);
SELECT durable.skip_time('61 seconds');
SELECT durable.fire_due(1000);
SELECT is((SELECT array_agg(t.fairness_key || ' ' || t.pass ORDER BY t.pass, t.fairness_key)
             FROM durable.workflow_tasks t WHERE t.task_queue = 'pq-tm' AND t.state = 'SCHEDULED'),
          ARRAY['a 0', 'b 0', 'b 0.5', 'a 1', 'b 1', 'a 2'],
          'timers fired together give their workflow tasks places 1 / weight apart per key');

-- a workflow task whose lease timed out is ready again behind its key's ready tasks
SELECT durable.start_workflow('prw-' || i, 'W', 'pq-rw', NULL, '{"fairness_key": "r"}') FROM generate_series(1, 3) i;
SELECT is((SELECT array_agg(workflow_id) FROM durable.poll_workflow_tasks('pq-rw', 'tester', 1)), ARRAY['prw-1'],
          'the first of a key''s workflow tasks is leased first');
SELECT durable.skip_time('11 seconds');
SELECT durable.fire_due(1000);
SELECT is((SELECT array_agg(w.workflow_id || ' ' || t.attempt ORDER BY t.priority, t.pass, t.task_id)
             FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id)
            WHERE t.task_queue = 'pq-rw' AND t.state = 'SCHEDULED'),
          ARRAY['prw-2 1', 'prw-3 1', 'prw-1 2'],
          'a workflow task whose lease timed out gets a new place, behind its key''s other ready tasks');

-- Bad input changes nothing ----------------------------------------------------
SELECT throws_ok($$SELECT durable.start_workflow('p-bad', 'W', 'pq-bad', NULL, '{"priority": 0}')$$, '22023',
                 'start options: "priority" must be an integer from 1 to 5', 'priority 0');
SELECT throws_ok($$SELECT durable.start_workflow('p-bad', 'W', 'pq-bad', NULL, '{"priority": 6}')$$, '22023', NULL, 'priority 6');
SELECT throws_ok($$SELECT durable.start_workflow('p-bad', 'W', 'pq-bad', NULL, '{"priority": 2.5}')$$, '22023', NULL, 'priority 2.5');
SELECT throws_ok($$SELECT durable.start_workflow('p-bad', 'W', 'pq-bad', NULL, '{"priority": "1"}')$$, '22023', NULL, 'priority "1"');
SELECT throws_ok($$SELECT durable.start_workflow('p-bad', 'W', 'pq-bad', NULL, '{"fairness_weight": 0}')$$, '22023',
                 'start options: "fairness_weight" must be a number from 0.001 to 1000', 'weight 0');
SELECT throws_ok($$SELECT durable.start_workflow('p-bad', 'W', 'pq-bad', NULL, '{"fairness_weight": 1001}')$$, '22023', NULL, 'weight 1001');
SELECT throws_ok($$SELECT durable.start_workflow('p-bad', 'W', 'pq-bad', NULL, '{"fairness_key": ""}')$$, '22023', NULL, 'an empty key');
SELECT throws_ok($$SELECT durable.start_workflow('p-bad', 'W', 'pq-bad', NULL, '{"fairness_key": 7}')$$, '22023', NULL, 'a key not a string');
SELECT throws_ok(format($$SELECT durable.start_workflow('p-bad', 'W', 'pq-bad', NULL, '{"fairness_key": "%s"}')$$, repeat('k', 256)),
                 '54000', NULL, 'a key too long');
SELECT is((SELECT count(*) FROM durable.workflows WHERE workflow_id = 'p-bad'), 0::bigint, 'none of them started a run');
SELECT durable.start_workflow('p-badcmd', 'W', 'pq-badcmd');
SELECT throws_ok($$SELECT pg_temp.complete('pq-badcmd', '[{"type": "ScheduleActivityTask", "activity_type": "A",
                   "activity_id": "1", "start_to_close_timeout": 5, "priority": 9}]')$$, '22023',
                 'ScheduleActivityTask: "priority" must be an integer from 1 to 5', 'an activity''s priority 9');
SELECT throws_ok($$SELECT pg_temp.complete('pq-badcmd', '[{"type": "StartChildWorkflowExecution", "workflow_id": "c",
                   "workflow_type": "C", "fairness_weight": -1}]')$$, '22023',
                 'StartChildWorkflowExecution: "fairness_weight" must be a number from 0.001 to 1000', 'a child''s weight -1');
SELECT is((SELECT count(*) FROM durable.activity_tasks WHERE workflow_id = 'p-badcmd'), 0::bigint,
          'no activity was scheduled');

SELECT * FROM finish();
ROLLBACK;
