-- Retention and deletion: namespaces and their retention, the purge of runs
-- closed longer than it (durable._purge_closed, what the timer worker calls),
-- and delete_workflow. Runs are aged by moving their closed_at back, so the
-- shared clock is left alone; tests/retention/ runs the real timer worker.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- Closes the latest run of wid (in namespace ns, queue q) as COMPLETED.
CREATE FUNCTION pg_temp.finish(wid text, q text, ns text) RETURNS void LANGUAGE sql AS $$
    SELECT pg_temp.complete(q, '[{"type": "CompleteWorkflowExecution", "result": 1}]', ns)
$$;
-- Pretends the closed runs of wid closed `by` earlier.
CREATE FUNCTION pg_temp.age(wid text, ns text, by interval) RETURNS void LANGUAGE sql AS $$
    UPDATE durable.workflows SET closed_at = closed_at - by
     WHERE namespace = ns AND workflow_id = wid AND closed_at IS NOT NULL
$$;
-- Rows of any table that still name one of these runs.
CREATE FUNCTION pg_temp.leftovers(runs uuid[]) RETURNS bigint LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM durable.workflows WHERE run_id = ANY (runs))
         + (SELECT count(*) FROM durable.history WHERE run_id = ANY (runs))
         + (SELECT count(*) FROM durable.buffered_events WHERE run_id = ANY (runs))
         + (SELECT count(*) FROM durable.workflow_tasks WHERE run_id = ANY (runs))
         + (SELECT count(*) FROM durable.activity_tasks WHERE run_id = ANY (runs))
         + (SELECT count(*) FROM durable.timers WHERE run_id = ANY (runs))
         + (SELECT count(*) FROM durable.parked WHERE run_id = ANY (runs))
$$;
CREATE FUNCTION pg_temp.hlen_ns(wid text, ns text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM durable.get_history(wid, NULL, 0, 1000, ns)
$$;
CREATE FUNCTION pg_temp.runs(wid text, ns text DEFAULT 'default') RETURNS uuid[] LANGUAGE sql AS $$
    SELECT array_agg(run_id) FROM durable.workflows WHERE namespace = ns AND workflow_id = wid
$$;

-- Namespaces: a first start creates one with the default retention -----------------
SELECT throws_ok($$SELECT durable.describe_namespace('ret-a')$$, '42704', 'namespace "ret-a" not found',
                 'describe_namespace of a namespace never used (42704)');
SELECT durable.start_workflow('a1', 'W', 'ret-q', NULL, '{}', 'ret-a');
SELECT is(durable.describe_namespace('ret-a') ->> 'retention', (30 * 86400)::text, 'a first start creates it with 30 days');
SELECT ok((durable.describe_namespace('ret-a') ->> 'created_at')::timestamptz BETWEEN durable.now() - interval '1 minute' AND durable.now(),
          'created now');
SELECT is((SELECT retention FROM durable.list_namespaces() WHERE namespace = 'ret-a'), interval '30 days',
          'list_namespaces lists it');
SELECT durable.start_workflow('a2', 'W', 'ret-q', NULL, '{}', 'ret-a');
SELECT is((SELECT count(*) FROM durable.namespaces WHERE namespace = 'ret-a'), 1::bigint, 'a second start adds no row');

-- register_namespace --------------------------------------------------------------
SELECT lives_ok($$SELECT durable.register_namespace('ret-new', '2 days')$$, 'register_namespace');
SELECT is(durable.describe_namespace('ret-new') ->> 'retention', (2 * 86400)::text, 'with its retention');
SELECT throws_ok($$SELECT durable.register_namespace('ret-new')$$, '42710', 'namespace "ret-new" already exists',
                 'registering twice (42710)');
SELECT throws_ok($$SELECT durable.register_namespace('a/b')$$, '22023', NULL, 'a namespace with "/" (22023)');
SELECT throws_ok($$SELECT durable.register_namespace(repeat('n', 256))$$, '54000', NULL, 'a namespace over 255 bytes (54000)');
SELECT throws_ok($$SELECT durable.register_namespace('ret-neg', '-1 day')$$, '22023',
                 'retention must be between 0 and 100 years', 'a negative retention (22023)');
SELECT ok(NOT EXISTS (SELECT 1 FROM durable.namespaces WHERE namespace IN ('a/b', 'ret-neg') OR namespace LIKE 'nnnn%'),
          'refused registrations created nothing');

-- set_namespace_retention ---------------------------------------------------------
SELECT is(durable.set_namespace_retention('ret-a', '1 day'), interval '30 days', 'set_namespace_retention returns the old one');
SELECT is(durable.describe_namespace('ret-a') ->> 'retention', '86400', 'and sets the new one');
SELECT throws_ok($$SELECT durable.set_namespace_retention('ret-a', '-1 second')$$, '22023', NULL, 'negative (22023)');
SELECT throws_ok($$SELECT durable.set_namespace_retention('ret-a', '1 month -40 days')$$, '22023', NULL,
                 'negative in total (22023)');
SELECT throws_ok($$SELECT durable.set_namespace_retention('ret-a', '-1 year 361 days')$$, '22023', NULL,
                 'with a negative part (22023)');
SELECT throws_ok($$SELECT durable.set_namespace_retention('ret-a', '101 years')$$, '22023', NULL, 'over 100 years (22023)');
SELECT throws_ok($$SELECT durable.set_namespace_retention('ret-a', NULL)$$, '22023', NULL, 'NULL (22023)');
SELECT throws_ok($$SELECT durable.set_namespace_retention('ret-nobody', '1 day')$$, '42704', 'namespace "ret-nobody" not found',
                 'an unknown namespace (42704)');
SELECT throws_ok($$SELECT durable.set_namespace_retention(NULL, '1 day')$$, '22023', NULL, 'a NULL namespace (22023)');
SELECT is(durable.describe_namespace('ret-a') ->> 'retention', '86400', 'refused changes changed nothing');
SELECT ok(NOT EXISTS (SELECT 1 FROM durable.namespaces WHERE namespace = 'ret-nobody'), 'and created no namespace');

-- The purge: runs closed longer than the retention go, with everything they had -----
-- ret-a keeps 1 day. a1 closed 3 days ago, a2 2 days ago, a3 1 hour ago, a4 runs.
SELECT pg_temp.finish('a1', 'ret-q', 'ret-a');
SELECT pg_temp.finish('a2', 'ret-q', 'ret-a');
SELECT pg_temp.age('a1', 'ret-a', '3 days');
SELECT pg_temp.age('a2', 'ret-a', '2 days');
SELECT durable.start_workflow('a3', 'W', 'ret-q', NULL, '{}', 'ret-a');
SELECT pg_temp.finish('a3', 'ret-q', 'ret-a');
SELECT pg_temp.age('a3', 'ret-a', '1 hour');
SELECT durable.start_workflow('a4', 'W', 'ret-q', NULL, '{}', 'ret-a');
-- ret-keep keeps forever; k1 closed ten years ago
SELECT durable.start_workflow('k1', 'W', 'ret-kq', NULL, '{}', 'ret-keep');
SELECT pg_temp.finish('k1', 'ret-kq', 'ret-keep');
SELECT durable.set_namespace_retention('ret-keep', '0');
SELECT pg_temp.age('k1', 'ret-keep', '10 years');
CREATE TEMP TABLE gone AS SELECT pg_temp.runs('a1', 'ret-a') || pg_temp.runs('a2', 'ret-a') AS runs;
SELECT ok(pg_temp.leftovers((SELECT runs FROM gone)) > 2, 'a1 and a2 have rows (history) before the purge');
SELECT is((durable.describe_namespace('ret-a') ->> 'purge_backlog')::int, 2, 'describe_namespace counts 2 runs to purge');
SELECT is((durable.describe_namespace('ret-keep') ->> 'purge_backlog')::int, 0, 'and none where retention is 0');

SELECT throws_ok($$SELECT durable._purge_closed(0)$$, '22023', NULL, '_purge_closed(0) is refused (22023)');
SELECT is(durable._purge_closed(1), 1, 'a batch of 1 purges one run');
SELECT is(pg_temp.runs('a1', 'ret-a'), NULL, 'the oldest first (a1)');
SELECT is(pg_temp.runs('a2', 'ret-a') IS NOT NULL, true, 'a2 waits for the next batch');
-- what the other namespaces of this cluster may hold is not ours to count
SELECT ok(durable._purge_closed(100) >= 1, 'the next batch takes the rest');
SELECT is(pg_temp.leftovers((SELECT runs FROM gone)), 0::bigint, 'no row of any table names a1 or a2 any more');
SELECT is(durable.describe_workflow('a3', NULL, 'ret-a') ->> 'status', 'COMPLETED', 'a3, closed an hour ago, is kept');
SELECT is(durable.describe_workflow('a4', NULL, 'ret-a') ->> 'status', 'RUNNING', 'a4, running, is kept');
SELECT is(durable.describe_workflow('k1', NULL, 'ret-keep') ->> 'status', 'COMPLETED', 'k1 is kept: retention 0 is forever');
SELECT throws_ok($$SELECT durable.describe_workflow('a1', NULL, 'ret-a')$$, 'DU001', NULL, 'a purged workflow is not found (DU001)');
SELECT is((durable.describe_namespace('ret-a') ->> 'purge_backlog')::int, 0, 'the backlog is empty');
SELECT is(durable._purge_closed(100), 0, 'and a batch then finds nothing');
-- a longer retention takes effect at once
SELECT pg_temp.age('a3', 'ret-a', '2 days');
SELECT durable.set_namespace_retention('ret-a', '7 days');
SELECT is(durable._purge_closed(100), 0, 'with 7 days, a3 (closed 2 days ago) stays');
SELECT lives_ok($$SELECT durable.start_workflow('a1', 'W', 'ret-q', NULL, '{"id_reuse_policy": "REJECT_DUPLICATE"}', 'ret-a')$$,
                'a purged id can be started again, even under REJECT_DUPLICATE');

-- Continue-as-new: the purge works by run; a chain that still runs keeps working ---
SELECT durable.start_workflow('can', 'W', 'ret-cq', NULL, '{}', 'ret-c');
SELECT pg_temp.complete('ret-cq', '[{"type": "ContinueAsNewWorkflowExecution", "input": 2}]', 'ret-c');
SELECT durable.set_namespace_retention('ret-c', '1 day');
SELECT pg_temp.age('can', 'ret-c', '2 days');
CREATE TEMP TABLE can_first AS SELECT run_id FROM durable.workflows WHERE namespace = 'ret-c' AND status = 'CONTINUED_AS_NEW';
SELECT is(durable._purge_closed(100) >= 1, true, 'the continued-as-new run is purged');
SELECT is(pg_temp.leftovers(ARRAY(SELECT run_id FROM can_first)), 0::bigint, 'all of it');
SELECT is((SELECT count(*) FROM durable.list_runs('can', 'ret-c')), 1::bigint, 'list_runs shows the run kept');
SELECT is(durable.describe_workflow('can', NULL, 'ret-c') ->> 'status', 'RUNNING', 'the new run runs on');
SELECT lives_ok($$SELECT durable.signal_workflow('can', 'go', NULL, NULL, 'ret-c')$$, 'takes signals');
SELECT pg_temp.finish('can', 'ret-cq', 'ret-c');
SELECT is(durable.describe_workflow('can', NULL, 'ret-c') ->> 'status', 'COMPLETED', 'and completes');

-- Children and parents: links to a purged run lead nowhere, and nothing breaks -----
SELECT durable.start_workflow('par', 'P', 'ret-pq', NULL, '{}', 'ret-p');
SELECT durable.set_namespace_retention('ret-p', '1 day');
SELECT pg_temp.complete('ret-pq', '[{"type": "StartChildWorkflowExecution", "workflow_id": "kid-done", "workflow_type": "K", "task_queue": "ret-kidq"},
    {"type": "StartChildWorkflowExecution", "workflow_id": "kid-left", "workflow_type": "K", "task_queue": "ret-leftq", "parent_close_policy": "ABANDON"}]', 'ret-p');
SELECT pg_temp.finish('kid-done', 'ret-kidq', 'ret-p');
SELECT pg_temp.age('kid-done', 'ret-p', '2 days');
SELECT is(durable._purge_closed(100) >= 1, true, 'a child closed long ago is purged');
SELECT is(pg_temp.runs('kid-done', 'ret-p'), NULL, 'kid-done is gone');
SELECT is(durable.describe_workflow('par', NULL, 'ret-p') ->> 'status', 'RUNNING', 'its parent runs on');
SELECT pg_temp.finish('par', 'ret-pq', 'ret-p');
SELECT pg_temp.age('par', 'ret-p', '2 days');
SELECT is(durable._purge_closed(100) >= 1, true, 'the parent, closed long ago, is purged');
SELECT is(durable.describe_workflow('kid-left', NULL, 'ret-p') ->> 'status', 'RUNNING', 'its abandoned child runs on');
SELECT lives_ok($$SELECT pg_temp.finish('kid-left', 'ret-leftq', 'ret-p')$$, 'and completes without its parent');
SELECT is(durable.describe_workflow('kid-left', NULL, 'ret-p') ->> 'status', 'COMPLETED', 'COMPLETED');

-- Schedules forget a purged last run ------------------------------------------------
SELECT durable.create_schedule('ret-s', '{"interval": [{"every": 86400}]}', '{"workflow_type": "R", "task_queue": "ret-sq"}',
                               '{}', 'ret-s');
SELECT durable.trigger_schedule('ret-s', NULL, 'ret-s');
CREATE TEMP TABLE s_last AS SELECT durable.describe_schedule('ret-s', 'ret-s') ->> 'last_workflow_id' AS wid;
SELECT pg_temp.finish((SELECT wid FROM s_last), 'ret-sq', 'ret-s');
SELECT durable.set_namespace_retention('ret-s', '1 day');
SELECT pg_temp.age((SELECT wid FROM s_last), 'ret-s', '2 days');
SELECT is(durable._purge_closed(100) >= 1, true, 'the schedule''s last run is purged');
SELECT is(durable.describe_schedule('ret-s', 'ret-s') -> 'last_run_id', 'null'::jsonb, 'the schedule forgets its run id');
SELECT is(durable.describe_schedule('ret-s', 'ret-s') ->> 'last_workflow_id', (SELECT wid FROM s_last), 'keeps the workflow id');
SELECT is(durable.trigger_schedule('ret-s', NULL, 'ret-s'), 'STARTED', 'and starts the next run as usual');

-- One run that cannot be deleted does not stop the purge of the others ----------------
SELECT durable.start_workflow('bad', 'W', 'ret-bq', NULL, '{}', 'ret-b');
SELECT pg_temp.finish('bad', 'ret-bq', 'ret-b');
SELECT durable.start_workflow('good', 'W', 'ret-bq', NULL, '{}', 'ret-b');
SELECT pg_temp.finish('good', 'ret-bq', 'ret-b');
SELECT durable.set_namespace_retention('ret-b', '1 day');
SELECT pg_temp.age('bad', 'ret-b', '3 days');
SELECT pg_temp.age('good', 'ret-b', '2 days');
CREATE TEMP TABLE bad_run AS SELECT run_id FROM durable.workflows WHERE namespace = 'ret-b' AND workflow_id = 'bad';
CREATE FUNCTION pg_temp.refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.run_id = (SELECT run_id FROM bad_run) THEN
        RAISE EXCEPTION 'injected: this history row cannot be deleted';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER refuse_delete BEFORE DELETE ON durable.history_rows FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse_delete();
SET LOCAL client_min_messages = error;
SELECT lives_ok($$SELECT durable._purge_closed(100)$$, 'a batch with a run that cannot be deleted does not fail');
RESET client_min_messages;
SELECT is(pg_temp.runs('good', 'ret-b'), NULL, 'the other expired run of the batch is purged');
SELECT is(durable.describe_workflow('bad', NULL, 'ret-b') ->> 'status', 'COMPLETED', 'the bad one stays, whole');
SELECT is(pg_temp.hlen_ns('bad', 'ret-b'), 5::bigint, 'with all of its history (5 events)');
DROP TRIGGER refuse_delete ON durable.history_rows;
SELECT ok(durable._purge_closed(100) >= 1, 'once the cause is gone, the next batch purges it');
SELECT is(pg_temp.runs('bad', 'ret-b'), NULL, 'gone');

-- delete_workflow ---------------------------------------------------------------------
-- a running workflow with an activity, a timer, a buffered signal and an earlier run
SELECT durable.start_workflow('del', 'W', 'ret-dq');
SELECT pg_temp.finish('del', 'ret-dq', 'default');
SELECT durable.start_workflow('del', 'W', 'ret-dq');
SELECT pg_temp.complete('ret-dq', '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A", "start_to_close_timeout": 60},
    {"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 3600}]');
SELECT durable.signal_workflow('del', 's');
CREATE TEMP TABLE del_wft AS SELECT * FROM durable.poll_workflow_tasks('ret-dq', 'tester', 1);
SELECT durable.signal_workflow('del', 'buffered');
CREATE TEMP TABLE del_runs AS SELECT pg_temp.runs('del') AS runs;
-- as if its timer had failed to fire (the timer worker parks such deadlines)
INSERT INTO durable.parked (kind, item, namespace, workflow_id, run_id, error, parked_at, last_error_at, retry_at)
SELECT 'timer', run_id || '/t', 'default', 'del', run_id, '{"message": "injected"}', now(), now(), now() + interval '1 hour'
  FROM durable.timers WHERE run_id = ANY ((SELECT runs FROM del_runs)::uuid[]);
SELECT is((SELECT count(*) FROM durable.parked x, del_runs d WHERE x.run_id = ANY (d.runs)), 1::bigint, 'a parked deadline');
SELECT is((SELECT count(*) FROM durable.buffered_events x, del_runs d WHERE x.run_id = ANY (d.runs)), 1::bigint,
          'before: a buffered signal');
SELECT is((SELECT count(*) FROM durable.timers x, del_runs d WHERE x.run_id = ANY (d.runs)), 1::bigint, 'a timer');
SELECT is((SELECT count(*) FROM durable.activity_tasks x, del_runs d WHERE x.run_id = ANY (d.runs)), 1::bigint, 'an activity');
-- refusals first: each changes nothing
SELECT throws_ok($$SELECT durable.delete_workflow('nobody')$$, 'DU001', 'workflow "nobody" not found', 'an unknown id (DU001)');
SELECT throws_ok($$SELECT durable.delete_workflow('del', namespace => 'ret-a')$$, 'DU001', NULL, 'in another namespace (DU001)');
SELECT throws_ok($$SELECT durable.delete_workflow('')$$, '22023', NULL, 'an empty id (22023)');
SELECT throws_ok($$SELECT durable.delete_workflow(NULL)$$, '22023', NULL, 'a NULL id (22023)');
SELECT throws_ok(format('SELECT durable.delete_workflow(%L)', repeat('x', 256)), '54000', 'workflow_id is too long',
                 'an id over 255 bytes (54000)');
SELECT throws_ok($$SELECT durable.delete_workflow('del', namespace => 'a/b')$$, '22023', NULL, 'a bad namespace (22023)');
SELECT is(pg_temp.leftovers((SELECT runs FROM del_runs)) > 0, true, 'refused deletes changed nothing');
SELECT is(pg_temp.status('del'), 'RUNNING', 'del still runs');
-- the delete
SELECT is(durable.delete_workflow('del', 'cleanup'), 2, 'delete_workflow deletes both runs and says so');
SELECT is(pg_temp.leftovers((SELECT runs FROM del_runs)), 0::bigint,
          'no row of any table (history, tasks, timers, buffered events, parked deadlines) names them');
SELECT throws_ok($$SELECT durable.describe_workflow('del')$$, 'DU001', NULL, 'describe then says not found');
SELECT throws_ok($$SELECT durable.delete_workflow('del')$$, 'DU001', NULL, 'deleting it again is DU001');
SELECT throws_ok(format('SELECT durable.complete_workflow_task(%L, %L)', (SELECT task_token FROM del_wft), '[]'), 'DU004', NULL,
                 'the worker''s late completion is refused (DU004)');
SELECT lives_ok($$SELECT durable.start_workflow('del', 'W', 'ret-dq', NULL, '{"id_reuse_policy": "REJECT_DUPLICATE"}')$$,
                'the id can be reused, even under REJECT_DUPLICATE');
SELECT is(pg_temp.types('del'), ARRAY['WorkflowExecutionStarted', 'WorkflowTaskScheduled'], 'as a fresh workflow');

-- deleting a running child: the parent hears it was terminated
SELECT durable.start_workflow('dpar', 'P', 'ret-dpq');
SELECT pg_temp.complete('ret-dpq', '[{"type": "StartChildWorkflowExecution", "workflow_id": "dkid", "workflow_type": "K", "task_queue": "ret-dkq"}]');
SELECT is(durable.delete_workflow('dkid', 'not needed', identity => 'ops'), 1, 'delete a running child');
SELECT is((pg_temp.event('dpar', 'ChildWorkflowExecutionTerminated') ->> 'reason'), 'not needed',
          'its parent gets ChildWorkflowExecutionTerminated with the reason');
-- deleting a running parent: its children get their parent close policy
SELECT durable.start_workflow('dpar2', 'P', 'ret-dpq2');
SELECT pg_temp.complete('ret-dpq2', '[{"type": "StartChildWorkflowExecution", "workflow_id": "dkid2", "workflow_type": "K", "task_queue": "ret-dkq2"}]');
SELECT is(durable.delete_workflow('dpar2'), 1, 'delete a running parent');
SELECT is(pg_temp.status('dkid2'), 'TERMINATED', 'its child is terminated (parent close policy TERMINATE), not deleted');

-- Roles ---------------------------------------------------------------------------------
SELECT durable.start_workflow('del-role', 'W', 'ret-rq');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.delete_workflow('del-role')$$), 'ok', 'operator may delete_workflow');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.describe_namespace('ret-a')$$), 'ok', 'operator may describe_namespace');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.list_namespaces()$$), 'ok', 'operator may list_namespaces');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.set_namespace_retention('ret-a', '1 day')$$), '42501',
          'operator may not set_namespace_retention');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.register_namespace('ret-op')$$), '42501',
          'operator may not register_namespace');
SELECT is(pg_temp.as_role('durable_admin', $$SELECT durable.set_namespace_retention('ret-a', '2 days')$$), 'ok',
          'admin may set_namespace_retention');
SELECT is(pg_temp.as_role('durable_admin', $$SELECT durable._purge_closed(1)$$), '42501', 'nobody but a superuser calls _purge_closed');
SELECT is(pg_temp.as_role('durable_worker', $$SELECT durable.delete_workflow('x')$$), '42501', 'worker may not delete_workflow');

SELECT * FROM finish();
ROLLBACK;
