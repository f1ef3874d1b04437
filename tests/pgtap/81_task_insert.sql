-- Workflow tasks inserted without the executor (pgext/src/task_insert.c,
-- durable._insert_workflow_task, which _schedule_workflow_task calls): the
-- row is the row the INSERT statement and its placing trigger write for the
-- same task; the errors are the statement's; and whatever an operator adds
-- to durable.workflow_tasks that the statement would do (a trigger, a CHECK,
-- a default, an index of any kind, row security, a changed placing trigger)
-- still happens. Which path wrote a task is seen by the placing trigger's
-- calls (track_functions): the direct path places the task itself.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
SET LOCAL track_functions = 'all';
SET LOCAL deadlock_timeout = '1min';   -- as 41_priority_plans.sql: the timer worker gives way
-- the placing trigger's calls so far in this transaction
CREATE FUNCTION pg_temp.trigger_calls() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce((SELECT calls FROM pg_stat_xact_user_functions
                      WHERE schemaname = 'durable' AND funcname = '_workflow_task_pass'), 0)
$$;
-- a task by _insert_workflow_task: 'direct' or 'statement' (the path), and its row
CREATE TEMP TABLE written (n serial, path text, task jsonb);
CREATE FUNCTION pg_temp.direct(run uuid, q text, attempt integer DEFAULT 1, ns text DEFAULT 'default',
                               scheduled bigint DEFAULT 2) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    calls bigint := pg_temp.trigger_calls();
    id bigint := durable._insert_workflow_task(run, ns, q, attempt, scheduled, '2026-01-02 03:04:05+00');
    path text := CASE WHEN pg_temp.trigger_calls() = calls THEN 'direct' ELSE 'statement' END;
BEGIN
    INSERT INTO written (path, task)
    SELECT path, to_jsonb(t) - 'task_id' - 'run_id' - 'task_queue' FROM durable.workflow_tasks t WHERE t.run_id = run;
    IF path = 'statement' AND id IS NOT NULL THEN
        RAISE 'the statement''s task id is not known (it has no RETURNING), yet % came back', id;
    END IF;
    RETURN path;
END
$$;
-- the same task by the INSERT statement _schedule_workflow_task made before
CREATE FUNCTION pg_temp.statement(run uuid, q text, attempt integer DEFAULT 1) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    t durable.workflow_tasks;
BEGIN
    INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue, state, attempt, scheduled_event_id, scheduled_at)
    VALUES (run, 'default', q, 'SCHEDULED', attempt, 2, '2026-01-02 03:04:05+00') RETURNING * INTO t;
    RETURN to_jsonb(t) - 'task_id' - 'run_id' - 'task_queue';
END
$$;
CREATE FUNCTION pg_temp.last() RETURNS jsonb LANGUAGE sql AS $$
    SELECT task FROM written ORDER BY n DESC LIMIT 1
$$;

-- The plain store: the direct path, and the statement's row.
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-a'), 'ins-a'), 'direct', 'a plain store''s task is written directly');
SELECT is(pg_temp.last(), pg_temp.statement(pg_temp.taskless_run('ins-b'), 'ins-b'),
          'the same row as the INSERT and its trigger write (every column but the ids and queue)');
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-a'), 'ins-a'), 'direct', 'a second task of the queue');
SELECT is(pg_temp.last(), pg_temp.statement(pg_temp.taskless_run('ins-b'), 'ins-b'), 'is placed behind the first, as by the trigger');
SELECT is((pg_temp.last() ->> 'pass')::float8, 1::float8, 'at pass 1');
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-a', 1::smallint, 'other'), 'ins-a'), 'direct', 'a task of another key and priority');
SELECT is(pg_temp.last(), pg_temp.statement(pg_temp.taskless_run('ins-b', 1::smallint, 'other'), 'ins-b'),
          'takes its run''s priority and key, level with the head');
SELECT is((SELECT count(*) FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id)
            WHERE t.task_queue = 'ins-a' AND t.task_id > 0 AND t.state = 'SCHEDULED'),
          3::bigint, 'every task is found by its run, its id and its state');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*) FROM durable.workflow_tasks t WHERE t.namespace = 'default' AND t.task_queue = 'ins-a'
             AND t.state = 'SCHEDULED' AND t.priority IN (1, 2)),
          3::bigint, 'and through the ready index (its entries written)');
RESET enable_seqscan;
RESET enable_bitmapscan;

-- The statement's errors.
CREATE TEMP TABLE one AS SELECT pg_temp.taskless_run('ins-dup') AS r;
SELECT is(pg_temp.direct((SELECT r FROM one), 'ins-dup'), 'direct', 'a task of a run');
SELECT throws_ok($$SELECT pg_temp.direct((SELECT r FROM one), 'ins-dup')$$, '23505',
                 'duplicate key value violates unique constraint "workflow_tasks_run_id_key"',
                 'a second task of a run is refused by the unique run_id');
SELECT throws_ok($$SELECT pg_temp.direct(gen_random_uuid(), 'ins-none')$$, '23502',
                 'null value in column "priority" of relation "workflow_tasks" violates not-null constraint',
                 'a task without a run is refused, as the trigger left its priority null');
SELECT throws_ok($$SELECT pg_temp.direct(pg_temp.taskless_run('ins-null'), 'ins-null', 1, NULL)$$, '23502',
                 'null value in column "namespace" of relation "workflow_tasks" violates not-null constraint',
                 'a null namespace is refused');
SELECT throws_ok($$SELECT pg_temp.direct(pg_temp.taskless_run('ins-null'), 'ins-null', NULL)$$, '23502',
                 'null value in column "attempt" of relation "workflow_tasks" violates not-null constraint',
                 'a null attempt is refused');
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-null'), 'ins-null', 1, 'default', NULL), 'direct',
          'a null scheduled_event_id (the column allows it) is written directly');
SAVEPOINT read_only;
SET LOCAL transaction_read_only = on;
SELECT throws_ok($$SELECT durable._insert_workflow_task(pg_temp.taskless_run('ins-ro'), 'default', 'ins-ro', 1, 2, now())$$,
                 '25006', NULL, 'a read-only transaction refuses the insert');
ROLLBACK TO read_only;
SELECT is((SELECT count(*) FROM durable.workflow_tasks WHERE task_queue IN ('ins-none', 'ins-ro')), 0::bigint,
          'and nothing refused was written');

-- What an operator adds. A trigger of its own: the statement, which fires it.
CREATE TEMP TABLE fired (task_id bigint);
CREATE FUNCTION pg_temp.fired() RETURNS trigger LANGUAGE plpgsql
    AS 'BEGIN INSERT INTO fired VALUES (NEW.task_id); RETURN NULL; END';
CREATE TRIGGER ins_test_after AFTER INSERT ON durable.workflow_tasks FOR EACH ROW EXECUTE FUNCTION pg_temp.fired();
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-trg'), 'ins-trg'), 'statement', 'with an operator''s AFTER INSERT trigger, the statement');
SELECT is((SELECT count(*) FROM fired), 1::bigint, 'which fires it');
SELECT is(pg_temp.last(), pg_temp.statement(pg_temp.taskless_run('ins-b2'), 'ins-b2'), 'and writes the same row');
DROP TRIGGER ins_test_after ON durable.workflow_tasks;
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-trg'), 'ins-trg'), 'direct', 'the trigger dropped, directly again');

-- CHECKs, evaluated on each row as the executor does: the direct path when
-- the row passes, the statement's error when it does not.
ALTER TABLE durable.workflow_tasks ADD CONSTRAINT ins_test_attempt CHECK (attempt < 5) NOT VALID;
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-chk'), 'ins-chk', 4), 'direct', 'a CHECK on attempt the row passes: directly');
SELECT throws_ok($$SELECT pg_temp.direct(pg_temp.taskless_run('ins-chk'), 'ins-chk', 7)$$, '23514',
                 'new row for relation "workflow_tasks" violates check constraint "ins_test_attempt"',
                 'which refuses what the CHECK refuses');
ALTER TABLE durable.workflow_tasks DROP CONSTRAINT ins_test_attempt;
ALTER TABLE durable.workflow_tasks ADD CONSTRAINT ins_test_fence CHECK (fence = 0 AND state <> 'PAUSED') NOT VALID;
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-chk'), 'ins-chk'), 'direct', 'a CHECK on fixed columns that holds: directly');
ALTER TABLE durable.workflow_tasks ADD CONSTRAINT ins_test_identity CHECK (identity IS NOT NULL) NOT VALID;
SELECT throws_ok($$SELECT pg_temp.direct(pg_temp.taskless_run('ins-chk'), 'ins-chk')$$, '23514',
                 'new row for relation "workflow_tasks" violates check constraint "ins_test_identity"',
                 'one that fails: the statement''s error');
ALTER TABLE durable.workflow_tasks DROP CONSTRAINT ins_test_identity, DROP CONSTRAINT ins_test_fence;
-- A CHECK whose function is labelled IMMUTABLE but reads a table (a wrong
-- label): its columns are the ones this insert fixes, yet it is not taken to
-- hold for every row once it held for one. The statement called it for each
-- row, so a row after the gate closes is refused, as by the statement.
CREATE TEMP TABLE ins_gate (closed boolean);
INSERT INTO ins_gate VALUES (false);
CREATE FUNCTION pg_temp.gate_open(state text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE
    AS 'BEGIN RETURN NOT (SELECT closed FROM ins_gate); END';
ALTER TABLE durable.workflow_tasks ADD CONSTRAINT ins_test_gate CHECK (pg_temp.gate_open(state)) NOT VALID;
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-gate'), 'ins-gate'), 'direct',
          'a CHECK calling an IMMUTABLE-labelled function, open: directly');
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-gate'), 'ins-gate'), 'direct', '(again)');
UPDATE ins_gate SET closed = true;
SELECT throws_ok($$SELECT pg_temp.direct(pg_temp.taskless_run('ins-gate'), 'ins-gate')$$, '23514',
                 'new row for relation "workflow_tasks" violates check constraint "ins_test_gate"',
                 'the gate closed: the next row is refused, as by the statement');
SELECT throws_ok($$SELECT pg_temp.statement(pg_temp.taskless_run('ins-gate2'), 'ins-gate2')$$, '23514',
                 'new row for relation "workflow_tasks" violates check constraint "ins_test_gate"',
                 '(the statement''s own)');
UPDATE ins_gate SET closed = false;
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-gate'), 'ins-gate'), 'direct', 'open again: directly');
ALTER TABLE durable.workflow_tasks DROP CONSTRAINT ins_test_gate;
-- one that reads the task id the sequence gives: the statement (the row is checked before its id is drawn)
ALTER TABLE durable.workflow_tasks ADD CONSTRAINT ins_test_id CHECK (task_id > 0) NOT VALID;
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-id'), 'ins-id'), 'statement', 'a CHECK on the task id: the statement');
ALTER TABLE durable.workflow_tasks DROP CONSTRAINT ins_test_id;
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-id'), 'ins-id'), 'direct', 'dropped: directly');

-- Defaults: read again when changed.
ALTER TABLE durable.workflow_tasks ALTER COLUMN fence SET DEFAULT 7;
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-def'), 'ins-def'), 'direct', 'a changed default: directly');
SELECT is(pg_temp.last(), pg_temp.statement(pg_temp.taskless_run('ins-def2'), 'ins-def2'), 'with the new default, as the statement');
SELECT is((pg_temp.last() ->> 'fence')::bigint, 7::bigint, 'fence 7');
ALTER TABLE durable.workflow_tasks ALTER COLUMN fence SET DEFAULT 0;
ALTER TABLE durable.workflow_tasks ALTER COLUMN pass SET DEFAULT 5;
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-def'), 'ins-def'), 'direct', 'a pass given by default (>= 0)');
SELECT is(pg_temp.last(), pg_temp.statement(pg_temp.taskless_run('ins-def2'), 'ins-def2'),
          'is kept, with the default priority and key, as the trigger leaves it');
ALTER TABLE durable.workflow_tasks ALTER COLUMN pass SET DEFAULT -1;
ALTER TABLE durable.workflow_tasks ALTER COLUMN fence SET DEFAULT (random() * 0)::bigint;
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-def'), 'ins-def'), 'statement', 'a default that is not a constant: the statement');
ALTER TABLE durable.workflow_tasks ALTER COLUMN fence SET DEFAULT 0;

-- Indexes of the operator's, each with its entry: plain, partial on a fixed
-- column (true and false: evaluated once), partial on a varying column (for
-- each row), on an expression (the statement).
DELETE FROM durable.workflow_tasks;   -- (what this test or another left could collide)
CREATE UNIQUE INDEX ins_test_plain ON durable.workflow_tasks (task_queue, scheduled_event_id);
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-idx'), 'ins-idx', 1, 'default', 11), 'direct', 'a plain unique index: directly');
SELECT throws_ok($$SELECT pg_temp.direct(pg_temp.taskless_run('ins-idx'), 'ins-idx', 1, 'default', 11)$$, '23505',
                 'duplicate key value violates unique constraint "ins_test_plain"', 'its entry written and checked');
DROP INDEX durable.ins_test_plain;
CREATE UNIQUE INDEX ins_test_fixed ON durable.workflow_tasks (task_queue) WHERE fence = 0;
CREATE UNIQUE INDEX ins_test_never ON durable.workflow_tasks (namespace) WHERE identity IS NOT NULL;
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-idx2'), 'ins-idx2'), 'direct', 'partial indexes on fixed columns: directly');
SELECT throws_ok($$SELECT pg_temp.direct(pg_temp.taskless_run('ins-idx2'), 'ins-idx2')$$, '23505',
                 'duplicate key value violates unique constraint "ins_test_fixed"',
                 'the entry of the one whose predicate holds written');
DROP INDEX durable.ins_test_fixed;
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-idx2'), 'ins-idx2'), 'direct', 'and none of the one whose predicate fails');
DROP INDEX durable.ins_test_never;
CREATE UNIQUE INDEX ins_test_varying ON durable.workflow_tasks (task_queue) WHERE attempt > 100;
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-idx3'), 'ins-idx3', 101), 'direct',
          'a partial index on a varying column: directly, its predicate read for each row');
SELECT throws_ok($$SELECT pg_temp.direct(pg_temp.taskless_run('ins-idx3'), 'ins-idx3', 102)$$, '23505',
                 'duplicate key value violates unique constraint "ins_test_varying"', 'the entry written when it holds');
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-idx3'), 'ins-idx3', 100), 'direct', 'and none when it does not');
DROP INDEX durable.ins_test_varying;
DELETE FROM durable.workflow_tasks;
CREATE UNIQUE INDEX ins_test_expr ON durable.workflow_tasks (lower(task_queue));
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-idx4'), 'ins-idx4'), 'statement', 'an index on an expression: the statement');
SELECT throws_ok($$SELECT pg_temp.direct(pg_temp.taskless_run('INS-IDX4'), 'INS-IDX4')$$, '23505',
                 'duplicate key value violates unique constraint "ins_test_expr"', 'which writes its entry');
DROP INDEX durable.ins_test_expr;

-- The placing trigger changed: disabled, replaced, not fired as a replica.
ALTER TABLE durable.workflow_tasks DISABLE TRIGGER workflow_task_pass;
-- (neither path calls the trigger here: what is seen is the row)
SELECT lives_ok($$SELECT pg_temp.direct(pg_temp.taskless_run('ins-pl'), 'ins-pl')$$, 'the placing trigger disabled');
SELECT is(pg_temp.last(), pg_temp.statement(pg_temp.taskless_run('ins-pl0'), 'ins-pl0'), 'the row as the statement''s');
SELECT is((pg_temp.last() ->> 'pass')::float8, -1::float8, 'the task left unplaced');
ALTER TABLE durable.workflow_tasks ENABLE TRIGGER workflow_task_pass;
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-pl'), 'ins-pl'), 'direct', 'enabled again: directly');
SAVEPOINT replica;
SET LOCAL session_replication_role = replica;
SELECT lives_ok($$SELECT pg_temp.direct(pg_temp.taskless_run('ins-pl2'), 'ins-pl2')$$, 'as a replica');
SELECT is((pg_temp.last() ->> 'pass')::float8, -1::float8, 'the task is left unplaced, as the trigger does not fire there');
ROLLBACK TO replica;
CREATE OR REPLACE FUNCTION durable._workflow_task_pass() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.priority := 4;
    NEW.pass := 99;
    RETURN NEW;
END
$$;
SELECT lives_ok($$SELECT pg_temp.direct(pg_temp.taskless_run('ins-pl3'), 'ins-pl3')$$,
                'the placing trigger''s function replaced by another');
SELECT is(ROW((pg_temp.last() ->> 'priority')::int, (pg_temp.last() ->> 'pass')::float8)::text, '(4,99)',
          'runs that function, through the statement');

-- Row security, a column of the operator's: the statement.
ROLLBACK TO replica;   -- (the function as it was)
ALTER TABLE durable.workflow_tasks ENABLE ROW LEVEL SECURITY;
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-rls'), 'ins-rls'), 'statement', 'with row security: the statement');
ALTER TABLE durable.workflow_tasks DISABLE ROW LEVEL SECURITY;
ALTER TABLE durable.workflow_tasks ADD COLUMN ins_test_note text DEFAULT 'noted';
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-col'), 'ins-col'), 'statement', 'with a column of the operator''s: the statement');
SELECT is(pg_temp.last() ->> 'ins_test_note', 'noted', 'which gives it its default');
ALTER TABLE durable.workflow_tasks DROP COLUMN ins_test_note;
SELECT is(pg_temp.direct(pg_temp.taskless_run('ins-col3'), 'ins-col3'), 'direct', 'the column dropped: directly');
SELECT is(pg_temp.last(), pg_temp.statement(pg_temp.taskless_run('ins-col2'), 'ins-col2'), 'the row as the statement''s');
-- A column of a type with a modifier (timestamptz(0)): the statement coerces the time to it, rounding it to the second.
ALTER TABLE durable.workflow_tasks ALTER COLUMN scheduled_at TYPE timestamptz(0);
SELECT lives_ok($$SELECT durable._insert_workflow_task(pg_temp.taskless_run('ins-mod'), 'default', 'ins-mod', 1, 2,
                                                       '2026-01-02 03:04:05.6+00')$$, 'scheduled_at of timestamptz(0): the task written');
SELECT is((SELECT scheduled_at FROM durable.workflow_tasks WHERE task_queue = 'ins-mod'), '2026-01-02 03:04:06+00'::timestamptz,
          'its time as the column holds it, rounded as the statement rounds it');
ALTER TABLE durable.workflow_tasks ALTER COLUMN scheduled_at TYPE timestamptz;

-- A role without INSERT on the table gets the statement's refusal.
CREATE ROLE ins_test_role;
GRANT EXECUTE ON FUNCTION durable._insert_workflow_task(uuid, text, text, integer, bigint, timestamptz) TO ins_test_role;
GRANT USAGE ON SCHEMA durable TO ins_test_role;
GRANT SELECT ON durable.workflows TO ins_test_role;
CREATE TEMP TABLE role_run AS SELECT pg_temp.taskless_run('ins-role') AS r;
GRANT SELECT ON role_run TO ins_test_role;
SET LOCAL ROLE ins_test_role;
SELECT throws_ok($$SELECT durable._insert_workflow_task((SELECT r FROM role_run), 'default', 'ins-role', 1, 2, now())$$,
                 '42501', 'permission denied for table workflow_tasks', 'a role without INSERT is refused, as by the statement');
RESET ROLE;

-- _schedule_workflow_task goes through it: a start's task is placed, and written directly.
SELECT is((SELECT pg_temp.trigger_calls() - c FROM (SELECT pg_temp.trigger_calls() AS c,
            durable.start_workflow('ins-start', 'W', 'ins-start') AS s) x), 0::bigint,
          'a start writes its workflow task without the trigger');
SELECT is((SELECT ROW(state, attempt, pass)::text FROM durable.workflow_tasks WHERE task_queue = 'ins-start'),
          '(SCHEDULED,1,0)', 'SCHEDULED, attempt 1, at the head of its queue');

SELECT * FROM finish();
ROLLBACK;
