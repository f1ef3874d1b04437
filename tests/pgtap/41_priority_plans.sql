-- The placing triggers of api/41_priority.sql read the same few index
-- entries per task whatever the statistics say. Right after an ANALYZE of
-- empty task tables (an idle store vacuumed), a plan of their probes made
-- then was a sequential scan, kept for the session: a burst of tasks read
-- every task before each one. Counted here with the transaction's own
-- table counters (pg_stat_xact_user_tables), not timed. The passes they
-- give are checked too (41_priority.sql checks what polls make of them).
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
-- The TRUNCATE below can deadlock with a timer worker's firing; the one
-- whose deadlock_timeout ends first gives up, and it must be the timer
-- worker (which retries), not this test (as in 71_plan_sizes.sql).
SET LOCAL deadlock_timeout = '1min';

-- Inserts n activity tasks of queue q, one statement each as the store does,
-- alternating key '' (weight 1) and 'k2' (weight 2).
CREATE FUNCTION pg_temp.activity_tasks(q text, n integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. n LOOP
        INSERT INTO durable.activity_tasks (run_id, namespace, workflow_id, scheduled_event_id, activity_id,
            activity_type, task_queue, state, scheduled_at, attempt_scheduled_at, start_to_close_timeout,
            retry_initial_interval, retry_backoff_coefficient, retry_maximum_interval, retry_maximum_attempts,
            fairness_key, fairness_weight)
        VALUES (gen_random_uuid(), 'default', 'plans', i, i::text, 'A', q, 'SCHEDULED', now(), now(), '10 min',
                '1 s', 2, '1 min', 0, CASE WHEN i % 2 = 0 THEN 'k2' ELSE '' END, CASE WHEN i % 2 = 0 THEN 2 ELSE 1 END);
    END LOOP;
END
$$;
-- Inserts n runs of priority 2 and key 'k' on queue q, and a workflow task for each.
CREATE FUNCTION pg_temp.workflow_tasks(q text, n integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r uuid;
BEGIN
    FOR i IN 1 .. n LOOP
        r := gen_random_uuid();
        INSERT INTO durable.workflows (run_id, namespace, workflow_id, workflow_type, task_queue, status,
                                       first_run_id, execution_started_at, started_at, priority, fairness_key)
        VALUES (r, 'default', 'plans-' || i, 'W', q, 'RUNNING', r, now(), now(), 2, 'k');
        INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue, state, scheduled_at)
        VALUES (r, 'default', q, 'SCHEDULED', now());
    END LOOP;
END
$$;
-- Sequential scans of a table so far in this transaction.
CREATE FUNCTION pg_temp.seq_scans(t text) RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(seq_scan, 0) FROM pg_stat_xact_user_tables WHERE schemaname = 'durable' AND relname = t
$$;
-- Counts are taken from the last mark on.
CREATE TEMP TABLE before (relname name, seq_scan bigint);
CREATE FUNCTION pg_temp.mark() RETURNS void LANGUAGE sql AS $$
    DELETE FROM before;
    INSERT INTO before SELECT relname, coalesce(seq_scan, 0) FROM pg_stat_xact_user_tables WHERE schemaname = 'durable';
$$;
CREATE FUNCTION pg_temp.seq_scans_since(t text) RETURNS bigint LANGUAGE sql AS $$
    SELECT pg_temp.seq_scans(t) - coalesce((SELECT seq_scan FROM before WHERE relname = t), 0)
$$;

-- The tables as a new store leaves them once vacuumed while idle: empty,
-- no pages, analyzed (TRUNCATE gives this transaction empty files; it shows
-- nothing another test left, as every test rolls back).
TRUNCATE durable.activity_tasks, durable.workflow_tasks, durable.workflows;
ANALYZE durable.activity_tasks, durable.workflow_tasks, durable.workflows;
SELECT pg_temp.mark();

SELECT lives_ok($$SELECT pg_temp.activity_tasks('plans-q', 400)$$, '400 activity tasks inserted one by one');
SELECT is(pg_temp.seq_scans_since('activity_tasks'), 0::bigint,
          'placing them scanned no activity task sequentially');
SELECT is((SELECT array_agg(pass ORDER BY task_id) FROM (SELECT * FROM durable.activity_tasks
            WHERE task_queue = 'plans-q' AND fairness_key = '' ORDER BY task_id LIMIT 4) t),
          '{0,1,2,3}'::float8[], 'a key of weight 1 is spaced 1 apart');
SELECT is((SELECT array_agg(pass ORDER BY task_id) FROM (SELECT * FROM durable.activity_tasks
            WHERE task_queue = 'plans-q' AND fairness_key = 'k2' ORDER BY task_id LIMIT 4) t),
          '{0,0.5,1,1.5}'::float8[], 'one of weight 2 starts level with the head and is spaced 1 / 2 apart');
SELECT is((SELECT max(pass) FROM durable.activity_tasks WHERE task_queue = 'plans-q' AND fairness_key = ''),
          199::float8, 'and the 200th of a key is where it belongs');

SELECT lives_ok($$SELECT pg_temp.workflow_tasks('plans-wq', 300)$$, '300 runs and their workflow tasks inserted one by one');
SELECT is(pg_temp.seq_scans_since('workflow_tasks'), 0::bigint,
          'placing the workflow tasks scanned no workflow task sequentially');
SELECT is(pg_temp.seq_scans_since('workflows'), 0::bigint, 'nor any run, to read its priority and key');
SELECT is((SELECT array_agg(DISTINCT (priority, fairness_key)::text) FROM durable.workflow_tasks
            WHERE task_queue = 'plans-wq'), '{"(2,k)"}', 'each took its run''s priority and key');
SELECT is((SELECT array_agg(pass ORDER BY task_id) FROM durable.workflow_tasks WHERE task_queue = 'plans-wq'),
          (SELECT array_agg(i::float8) FROM generate_series(0, 299) i), 'and its place: 0, 1, 2, ...');

-- A task set back to SCHEDULED goes behind its key's ready tasks (placed by
-- a statement planned per call; these updates scan the table themselves).
UPDATE durable.activity_tasks SET state = 'STARTED' WHERE task_queue = 'plans-q' AND activity_id IN ('1', '2');
UPDATE durable.activity_tasks SET state = 'SCHEDULED' WHERE task_queue = 'plans-q' AND activity_id = '1';
UPDATE durable.activity_tasks SET state = 'SCHEDULED' WHERE task_queue = 'plans-q' AND activity_id = '2';
SELECT is((SELECT array_agg(pass ORDER BY activity_id::int) FROM durable.activity_tasks
            WHERE task_queue = 'plans-q' AND activity_id IN ('1', '2')),
          '{200,100}'::float8[], 'an activity task set back to SCHEDULED goes behind its key''s last ready one');
UPDATE durable.workflow_tasks SET state = 'STARTED'
 WHERE task_id = (SELECT min(task_id) FROM durable.workflow_tasks WHERE task_queue = 'plans-wq');
UPDATE durable.workflow_tasks SET state = 'SCHEDULED'
 WHERE task_id = (SELECT min(task_id) FROM durable.workflow_tasks WHERE task_queue = 'plans-wq');
SELECT is((SELECT pass FROM durable.workflow_tasks WHERE task_queue = 'plans-wq' ORDER BY task_id LIMIT 1),
          300::float8, 'and so does a workflow task');

-- _ready_pass (the timer worker's set-based placing) reads the same way.
SELECT task_id AS first_task FROM durable.activity_tasks WHERE task_queue = 'plans-q' AND activity_id = '1' \gset
SELECT pg_temp.mark();
SELECT is(durable._ready_pass('default', 'plans-wq', 2::smallint, 'k', 1), 301::float8,
          '_ready_pass: behind the key''s last ready task');
SELECT is(durable._ready_pass('default', 'plans-wq', 2::smallint, 'other', 1), 1::float8,
          'level with the head for a key with none');
SELECT is(durable._ready_pass('default', 'plans-none', 2::smallint, 'k', 1), 0::float8,
          'and 0 in an empty queue');
SELECT is(durable._ready_pass('default', 'plans-wq', NULL, 'k', 1), 0::float8, 'a null priority matches nothing');
SELECT throws_ok($$SELECT durable._ready_pass('default', 'plans-wq', 2::smallint, 'k', 0)$$, '22012', NULL,
                 'a weight of 0 behind a ready task divides by zero, as the SQL did');
SELECT is(durable._task_pass('durable.activity_tasks', 'default', 'plans-q', 3::smallint, '', 1,
                             :first_task),
          200::float8, '_task_pass leaves out the task it is given');
SELECT is(pg_temp.seq_scans_since('workflow_tasks') + pg_temp.seq_scans_since('activity_tasks'), 0::bigint,
          'and neither scanned a task table');


-- Misuse of the C functions is refused, naming what is wrong.
CREATE TEMP TABLE not_tasks (task_id bigint, namespace text, task_queue text, priority smallint,
                             fairness_key text, fairness_weight float8, pass float8, state text DEFAULT 'SCHEDULED');
CREATE TRIGGER wrong AFTER INSERT ON not_tasks FOR EACH ROW EXECUTE FUNCTION durable._activity_task_pass();
SELECT throws_ok($$INSERT INTO not_tasks VALUES (1, 'default', 'q', 3::smallint, '', 1, -1)$$, 'XX000',
                 'durable._activity_task_pass: not called as a BEFORE INSERT FOR EACH ROW trigger',
                 'the activity trigger refuses to run as anything but a BEFORE INSERT row trigger');
DROP TRIGGER wrong ON not_tasks;
CREATE TRIGGER placed BEFORE INSERT ON not_tasks FOR EACH ROW EXECUTE FUNCTION durable._activity_task_pass();
SELECT throws_ok($$INSERT INTO not_tasks VALUES (1, 'default', 'q', 3::smallint, '', 1, -1)$$, '55000',
                 'durable''s index "not_tasks_ready_by_key" is missing', 'a table without the ready indexes is refused');
CREATE INDEX not_tasks_ready_by_key ON not_tasks (namespace, task_queue, priority, pass) WHERE state = 'SCHEDULED';
SELECT throws_ok($$INSERT INTO not_tasks VALUES (1, 'default', 'q', 3::smallint, '', 1, -1)$$, '55000',
                 'durable''s index "not_tasks_ready_by_key" does not have "fairness_key" as its column 3',
                 'and so is an index of another shape');
SELECT throws_ok($$SELECT durable._task_pass('not_tasks', 'default', 'q', 3::smallint, '', 1, NULL)$$, '55000',
                 'durable''s index "not_tasks_ready_by_key" does not have "fairness_key" as its column 3',
                 '_task_pass checks the same');
SELECT is((SELECT count(*) FROM not_tasks), 0::bigint, 'nothing was inserted');

SELECT * FROM finish();
ROLLBACK;
