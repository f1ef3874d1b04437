-- Eager activity execution, reviewed against the polled lease
-- (api/72_eager.sql): what complete_workflow_tasks_eager leases and to whom
-- must be what the worker's own poll would lease, slot for slot.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
\ir activities.psql

-- Leases the next workflow task of q as ident and completes it with
-- commands through the eager function, offering slots of q.
CREATE FUNCTION pg_temp.eager(q text, commands jsonb, slots integer, ident text DEFAULT 'eager-w')
RETURNS TABLE (kind text, task_token text, outcome text, activity_id text) LANGUAGE plpgsql AS $$
DECLARE
    tok text := (SELECT p.task_token FROM durable.poll_workflow_tasks(q, ident, 1) p);
BEGIN
    IF tok IS NULL THEN
        RAISE EXCEPTION 'no workflow task in queue %', q;
    END IF;
    RETURN QUERY SELECT e.kind, e.task_token, e.outcome, e.activity_id FROM durable.complete_workflow_tasks_eager(
        jsonb_build_array(jsonb_build_object('task_token', tok, 'commands', commands)), ident, q, slots) e;
END
$$;

-- 1. Slots the completion's own activities did not use go to the queue's
-- ready tasks, and no more: offered 3, two taken eagerly, the third leases
-- the first of two ready tasks of lower priority (which did not keep the new
-- ones from going first); the other waits.
SELECT durable.start_workflow('eg-left-low', 'W', 'eq-left', 'null', '{"priority": 5}');
SELECT pg_temp.complete('eq-left', jsonb_build_array(pg_temp.act('low1'), pg_temp.act('low2')));
SELECT durable.start_workflow('eg-left', 'W', 'eq-left', 'null');
SELECT is((SELECT array_agg(activity_id || ':' || outcome ORDER BY outcome, activity_id)
             FROM pg_temp.eager('eq-left', jsonb_build_array(pg_temp.act('a'), pg_temp.act('b')), 3)
            WHERE kind = 'activity_task'),
          ARRAY['a:EAGER', 'b:EAGER', 'low1:POLLED'],
          'the slot left after the eager leases takes the queue''s next ready task, and only that');
SELECT is((SELECT a.state FROM durable.activity_tasks a WHERE a.task_queue = 'eq-left' AND a.activity_id = 'low2'),
          'SCHEDULED', 'the other waits for a poll');

-- 2. The lease is the completing worker's, whatever its identity holds (the
-- offer's fields travel joined by the unit separator, which an identity
-- may contain): history and lease as a poll with that identity writes them.
SELECT durable.start_workflow('eg-ident', 'W', 'eq-ident', 'null');
SELECT is((SELECT array_agg(outcome) FROM pg_temp.eager('eq-ident', jsonb_build_array(pg_temp.act('a')), 1, E'host\x1f42')
            WHERE kind = 'activity_task'), ARRAY['EAGER'], 'an identity with a unit separator takes the activity');
SELECT is((SELECT a.identity FROM durable.activity_tasks a WHERE a.task_queue = 'eq-ident'), E'host\x1f42',
          'leased to that identity, whole');

-- 3. A NULL namespace is refused (22023) and changes nothing: without the
-- check the completion went through and its offer was silently ignored.
SELECT durable.start_workflow('eg-ns', 'W', 'eq-ns', 'null');
CREATE TEMP TABLE nst AS SELECT task_token FROM durable.poll_workflow_tasks('eq-ns', 'eager-w', 1);
SELECT is(pg_temp.err(format($q$SELECT * FROM durable.complete_workflow_tasks_eager(%L, 'eager-w', 'eq-ns', 1, NULL)$q$,
              jsonb_build_array(jsonb_build_object('task_token', (SELECT task_token FROM nst),
                                                   'commands', jsonb_build_array(pg_temp.act('a')))))),
          '22023: namespace must be non-empty, without "/" or control characters',
          'a NULL namespace: 22023');
SELECT is((SELECT state FROM durable.workflow_tasks wt JOIN durable.workflows w USING (run_id)
            WHERE w.workflow_id = 'eg-ns'), 'STARTED', 'the workflow task is still leased');
SELECT is(pg_temp.hlen('eg-ns'), 3::bigint, 'and nothing was written');

-- 4. Priority across the activities the completions schedule: with fewer
-- slots than activities, an activity taken eagerly must not run ahead of one
-- of a higher priority that the same call scheduled after it (a poll at the
-- commit would take that one first). It gives its slot back, and the poll
-- made with the completion takes the queue's tasks in priority order.
SELECT durable.start_workflow('eg-inv', 'W', 'eq-inv', 'null');
SELECT is((SELECT array_agg(activity_id || ':' || outcome)
             FROM pg_temp.eager('eq-inv', jsonb_build_array(pg_temp.act('low', '{"priority": 5}'),
                                                            pg_temp.act('high', '{"priority": 1}')), 1)
            WHERE kind = 'activity_task'),
          ARRAY['high:POLLED'], 'one slot, two activities: the higher priority one is leased');
SELECT is((SELECT ROW(a.state, a.fence, a.identity, a.started_at) FROM durable.activity_tasks a
            WHERE a.task_queue = 'eq-inv' AND a.activity_id = 'low'),
          ROW('SCHEDULED'::text, 0::bigint, NULL::text, NULL::timestamptz),
          'the lower one waits in the queue, not leased');
SELECT is((SELECT array_agg(p.activity_id || '#' || p.attempt || '@' || p.task_token)
             FROM durable.poll_activity_tasks('eq-inv', 'other', 5) p),
          (SELECT ARRAY['low#1@a' || a.task_id || '.1'] FROM durable.activity_tasks a
            WHERE a.task_queue = 'eq-inv' AND a.activity_id = 'low'),
          'a poll leases it as a first lease');
-- across the completions of one call: the workflows' own priorities
SELECT durable.start_workflow('eg-inv-5', 'W', 'eq-inv2', 'null', '{"priority": 5}');
SELECT durable.start_workflow('eg-inv-1', 'W', 'eq-inv2', 'null', '{"priority": 1}');
CREATE TEMP TABLE inv AS
SELECT p.task_token, p.workflow_id FROM durable.poll_workflow_tasks('eq-inv2', 'eager-w', 2) p;
SELECT is((SELECT array_agg(e.activity_id || ':' || e.outcome) FROM durable.complete_workflow_tasks_eager(
             (SELECT jsonb_agg(jsonb_build_object('task_token', task_token,
                                                  'commands', jsonb_build_array(pg_temp.act(workflow_id)))
                               ORDER BY workflow_id DESC) FROM inv),
             'eager-w', 'eq-inv2', 1) e WHERE e.kind = 'activity_task'),
          ARRAY['eg-inv-1:POLLED'], 'one slot, two completions: the activity of the higher priority run is leased');
-- with a slot for each, both go eagerly
SELECT durable.start_workflow('eg-inv3', 'W', 'eq-inv3', 'null');
SELECT is((SELECT array_agg(activity_id || ':' || outcome ORDER BY activity_id)
             FROM pg_temp.eager('eq-inv3', jsonb_build_array(pg_temp.act('low', '{"priority": 5}'),
                                                             pg_temp.act('high', '{"priority": 1}')), 2)
            WHERE kind = 'activity_task'),
          ARRAY['high:EAGER', 'low:EAGER'], 'with a slot each, both are taken eagerly');

SELECT is_empty($$SELECT * FROM durable.verify_store()$$, 'the store is consistent after all of it');

SELECT * FROM finish();
ROLLBACK;
