-- durable._insert_workflow_task (pgext/src/task_insert.c) against what an
-- operator may do to durable.workflow_tasks, compared with the INSERT
-- statement _schedule_workflow_task ran before (no RETURNING): whatever
-- that statement did, the function does, by either of its paths.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
SET LOCAL deadlock_timeout = '1min';   -- as 41_priority_plans.sql: the timer worker gives way
CREATE FUNCTION pg_temp.tasks(q text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM durable.workflow_tasks WHERE task_queue = q
$$;

-- A plain store's task is written directly, and its id returned.
CREATE TEMP TABLE plain AS SELECT pg_temp.taskless_run('rvi-plain') AS r;
CREATE TEMP TABLE plain_id AS
    SELECT durable._insert_workflow_task((SELECT r FROM plain), 'default', 'rvi-plain', 1, 2, now()) AS id;
SELECT is((SELECT run_id FROM durable.workflow_tasks WHERE task_id = (SELECT id FROM plain_id)),
          (SELECT r FROM plain), 'a plain store''s task: its id returned');

-- An operator's BEFORE INSERT trigger that keeps a row out of the table
-- (RETURN NULL: it archives it elsewhere, or drops what it does not want).
-- The statement wrote nothing and raised nothing.
CREATE TEMP TABLE diverted (run_id uuid);
CREATE FUNCTION pg_temp.divert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO diverted VALUES (NEW.run_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER rvi_divert BEFORE INSERT ON durable.workflow_tasks
    FOR EACH ROW WHEN (NEW.task_queue = 'rvi-divert') EXECUTE FUNCTION pg_temp.divert();
SELECT lives_ok($$INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue, state, attempt, scheduled_event_id, scheduled_at)
                  VALUES (pg_temp.taskless_run('rvi-divert'), 'default', 'rvi-divert', 'SCHEDULED', 1, 2, now())$$,
                'the statement: a trigger that keeps the row out is no error');
SELECT lives_ok($$SELECT durable._insert_workflow_task(pg_temp.taskless_run('rvi-divert'), 'default', 'rvi-divert', 1, 2, now())$$,
                '_insert_workflow_task: neither');
SELECT is(pg_temp.tasks('rvi-divert'), 0::bigint, 'no task written by either');
SELECT is((SELECT count(*) FROM diverted), 2::bigint, 'the trigger saw both');
DROP TRIGGER rvi_divert ON durable.workflow_tasks;
-- The same on activity_tasks: _cmd_schedule_activity's INSERT ... RETURNING
-- INTO left its task id null, with no error.
CREATE TRIGGER rvi_divert BEFORE INSERT ON durable.activity_tasks
    FOR EACH ROW WHEN (NEW.task_queue = 'rvi-divert') EXECUTE FUNCTION pg_temp.divert();
SELECT is(durable._insert_activity_task(pg_temp.taskless_run('rvi-divert'), 'default', 'wf', 5, 'a1', 'A', 'rvi-divert',
                                        '{}', now(), now(), NULL, NULL, '1 min', NULL, '1 s', 2, '1 min', 0,
                                        '{}', NULL, '', 3::smallint, 1),
          NULL, '_insert_activity_task: an activity task kept out is no error, and has no id');
SELECT is((SELECT count(*) FROM durable.activity_tasks WHERE task_queue = 'rvi-divert'), 0::bigint,
          'and none was written');
SELECT is((SELECT count(*) FROM diverted), 3::bigint, 'the trigger saw it');
DROP TRIGGER rvi_divert ON durable.activity_tasks;

-- A rule of the operator's: the statement ran it; an INSERT ... RETURNING
-- is refused by one that is conditional (or DO INSTEAD NOTHING).
CREATE TEMP TABLE ruled (run_id uuid);
CREATE RULE rvi_rule AS ON INSERT TO durable.workflow_tasks WHERE NEW.task_queue = 'rvi-rule'
    DO INSTEAD INSERT INTO ruled VALUES (NEW.run_id);
SELECT lives_ok($$INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue, state, attempt, scheduled_event_id, scheduled_at)
                  VALUES (pg_temp.taskless_run('rvi-rule'), 'default', 'rvi-rule', 'SCHEDULED', 1, 2, now())$$,
                'the statement: a conditional DO INSTEAD rule runs');
SELECT lives_ok($$SELECT durable._insert_workflow_task(pg_temp.taskless_run('rvi-rule'), 'default', 'rvi-rule', 1, 2, now())$$,
                '_insert_workflow_task: it runs too');
SELECT is((SELECT count(*) FROM ruled), 2::bigint, 'both rows went where the rule sends them');
SELECT lives_ok($$SELECT durable._insert_workflow_task(pg_temp.taskless_run('rvi-rule2'), 'default', 'rvi-rule2', 1, 2, now())$$,
                'a task the rule does not take');
SELECT is(pg_temp.tasks('rvi-rule2'), 1::bigint, 'is written');
DROP RULE rvi_rule ON durable.workflow_tasks;

-- A role whose INSERT is granted by column (no SELECT): the statement, which
-- named those columns only, was allowed.
CREATE ROLE rvi_columns;
GRANT USAGE ON SCHEMA durable TO rvi_columns;
GRANT EXECUTE ON FUNCTION durable._insert_workflow_task(uuid, text, text, integer, bigint, timestamptz) TO rvi_columns;
GRANT INSERT (run_id, namespace, task_queue, state, attempt, scheduled_event_id, scheduled_at)
    ON durable.workflow_tasks TO rvi_columns;
GRANT USAGE ON SEQUENCE durable.workflow_tasks_task_id_seq TO rvi_columns;
CREATE TEMP TABLE col_runs AS SELECT pg_temp.taskless_run('rvi-col') AS a, pg_temp.taskless_run('rvi-col') AS b;
GRANT SELECT ON col_runs TO rvi_columns;
SET LOCAL ROLE rvi_columns;
SELECT lives_ok($$INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue, state, attempt, scheduled_event_id, scheduled_at)
                  VALUES ((SELECT a FROM col_runs), 'default', 'rvi-col', 'SCHEDULED', 1, 2, now())$$,
                'the statement: INSERT granted on its columns is enough');
SELECT lives_ok($$SELECT durable._insert_workflow_task((SELECT b FROM col_runs), 'default', 'rvi-col', 1, 2, now())$$,
                '_insert_workflow_task: as well');
RESET ROLE;
SELECT is(pg_temp.tasks('rvi-col'), 2::bigint, 'both written');

-- _cmd_schedule_activity's INSERT had RETURNING task_id: a role with INSERT
-- on activity_tasks but no SELECT was refused it.
CREATE ROLE rvi_no_select;
GRANT USAGE ON SCHEMA durable TO rvi_no_select;
GRANT EXECUTE ON FUNCTION durable._insert_activity_task(uuid, text, text, bigint, text, text, text, jsonb, timestamptz,
    timestamptz, interval, interval, interval, interval, interval, float8, interval, integer, text[], timestamptz,
    text, smallint, float8) TO rvi_no_select;
GRANT INSERT ON durable.activity_tasks TO rvi_no_select;
GRANT USAGE ON SEQUENCE durable.activity_tasks_task_id_seq TO rvi_no_select;
CREATE TEMP TABLE act_run AS SELECT pg_temp.taskless_run('rvi-nosel') AS r;
GRANT SELECT ON act_run TO rvi_no_select;
SET LOCAL ROLE rvi_no_select;
SELECT throws_ok($$INSERT INTO durable.activity_tasks (run_id, namespace, workflow_id, scheduled_event_id, activity_id,
                       activity_type, task_queue, input, state, scheduled_at, attempt_scheduled_at,
                       start_to_close_timeout, retry_initial_interval, retry_backoff_coefficient,
                       retry_maximum_interval, retry_maximum_attempts)
                   VALUES ((SELECT r FROM act_run), 'default', 'wf', 5, 'a1', 'A', 'rvi-nosel', '{}', 'SCHEDULED',
                           now(), now(), '1 min', '1 s', 2, '1 min', 0) RETURNING task_id$$,
                 '42501', 'permission denied for table activity_tasks',
                 'the statement: INSERT ... RETURNING without SELECT is refused');
SELECT throws_ok($$SELECT durable._insert_activity_task((SELECT r FROM act_run), 'default', 'wf', 5, 'a1', 'A',
                       'rvi-nosel', '{}', now(), now(), NULL, NULL, '1 min', NULL, '1 s', 2, '1 min', 0, '{}', NULL,
                       '', 3::smallint, 1)$$,
                 '42501', 'permission denied for table activity_tasks',
                 '_insert_activity_task: as well');
RESET ROLE;
SELECT is((SELECT count(*) FROM durable.activity_tasks WHERE task_queue = 'rvi-nosel'), 0::bigint, 'nothing written');

-- Row security forced on the owner, with a policy that lets it insert but
-- see no task: the statement (no RETURNING) inserted.
CREATE ROLE rvi_owner;
ALTER TABLE durable.workflow_tasks OWNER TO rvi_owner;
GRANT USAGE ON SCHEMA durable TO rvi_owner;
GRANT EXECUTE ON FUNCTION durable._insert_workflow_task(uuid, text, text, integer, bigint, timestamptz) TO rvi_owner;
GRANT SELECT ON durable.workflows TO rvi_owner;
ALTER SEQUENCE durable.workflow_tasks_task_id_seq OWNER TO rvi_owner;
CREATE POLICY rvi_insert ON durable.workflow_tasks FOR INSERT WITH CHECK (true);
CREATE POLICY rvi_select ON durable.workflow_tasks FOR SELECT USING (task_queue <> 'rvi-rls');
ALTER TABLE durable.workflow_tasks ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE TEMP TABLE rls_runs AS SELECT pg_temp.taskless_run('rvi-rls') AS a, pg_temp.taskless_run('rvi-rls') AS b;
GRANT SELECT ON rls_runs TO rvi_owner;
SET LOCAL ROLE rvi_owner;
SELECT lives_ok($$INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue, state, attempt, scheduled_event_id, scheduled_at)
                  VALUES ((SELECT a FROM rls_runs), 'default', 'rvi-rls', 'SCHEDULED', 1, 2, now())$$,
                'the statement: forced row security that hides the task from its owner inserts it');
SELECT lives_ok($$SELECT durable._insert_workflow_task((SELECT b FROM rls_runs), 'default', 'rvi-rls', 1, 2, now())$$,
                '_insert_workflow_task: as well');
RESET ROLE;
SELECT is(pg_temp.tasks('rvi-rls'), 2::bigint, 'both written');
ALTER TABLE durable.workflow_tasks NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY;
DROP POLICY rvi_insert ON durable.workflow_tasks;
DROP POLICY rvi_select ON durable.workflow_tasks;
ALTER TABLE durable.workflow_tasks OWNER TO CURRENT_USER;
ALTER SEQUENCE durable.workflow_tasks_task_id_seq OWNER TO CURRENT_USER;

-- A CHECK that reads no column but calls a function whose value changes
-- (a setting the operator flips to stop new tasks): the statement checked
-- it for every row, so a row after the flip is refused.
ALTER TABLE durable.workflow_tasks ADD CONSTRAINT rvi_gate
    CHECK (coalesce(current_setting('rvi.closed', true), '') <> 'yes') NOT VALID;
SELECT lives_ok($$SELECT durable._insert_workflow_task(pg_temp.taskless_run('rvi-gate'), 'default', 'rvi-gate', 1, 2, now())$$,
                'a CHECK on a setting, open: the task is written');
SET LOCAL rvi.closed = 'yes';
SELECT throws_ok($$SELECT durable._insert_workflow_task(pg_temp.taskless_run('rvi-gate'), 'default', 'rvi-gate', 1, 2, now())$$,
                 '23514', 'new row for relation "workflow_tasks" violates check constraint "rvi_gate"',
                 'closed: the next one is refused, as by the statement');
RESET rvi.closed;
ALTER TABLE durable.workflow_tasks DROP CONSTRAINT rvi_gate;
SELECT is(pg_temp.tasks('rvi-gate'), 1::bigint, 'one task written');

-- A foreign key of the operator's from workflow_tasks (its check is an
-- AFTER INSERT trigger): a task whose queue it does not know is refused.
CREATE TABLE public.rvi_queues (name text PRIMARY KEY);
INSERT INTO public.rvi_queues VALUES ('rvi-fk');
ALTER TABLE durable.workflow_tasks ADD CONSTRAINT rvi_fk FOREIGN KEY (task_queue) REFERENCES public.rvi_queues (name)
    NOT VALID;
SELECT lives_ok($$SELECT durable._insert_workflow_task(pg_temp.taskless_run('rvi-fk'), 'default', 'rvi-fk', 1, 2, now())$$,
                'a foreign key from workflow_tasks: a task of a known queue is written');
SELECT throws_ok($$SELECT durable._insert_workflow_task(pg_temp.taskless_run('rvi-fk2'), 'default', 'rvi-fk2', 1, 2, now())$$,
                 '23503', 'insert or update on table "workflow_tasks" violates foreign key constraint "rvi_fk"',
                 'one of a queue it does not know is refused, as by the statement');
ALTER TABLE durable.workflow_tasks DROP CONSTRAINT rvi_fk;
-- one to workflow_tasks: a task is written directly, and the key holds
CREATE TABLE public.rvi_notes (task_id bigint REFERENCES durable.workflow_tasks);
CREATE TEMP TABLE fk_id AS
    SELECT durable._insert_workflow_task(pg_temp.taskless_run('rvi-fk3'), 'default', 'rvi-fk3', 1, 2, now()) AS id;
SELECT isnt((SELECT id FROM fk_id), NULL, 'a foreign key to workflow_tasks: the task is written directly');
SELECT lives_ok($$INSERT INTO public.rvi_notes SELECT id FROM fk_id$$, 'and a row may refer to it');
DROP TABLE public.rvi_notes;

-- workflow_tasks attached as a partition of a table of the operator's: the
-- partition's bounds are checked, as by the statement.
CREATE TABLE public.rvi_parent (LIKE durable.workflow_tasks) PARTITION BY LIST (namespace);
ALTER TABLE public.rvi_parent ATTACH PARTITION durable.workflow_tasks FOR VALUES IN ('default', 'rvi-ns');
SELECT lives_ok($$SELECT durable._insert_workflow_task(pg_temp.taskless_run('rvi-part'), 'default', 'rvi-part', 1, 2, now())$$,
                'as a partition: a task within its bounds is written');
SELECT throws_ok($$SELECT durable._insert_workflow_task(pg_temp.taskless_run('rvi-part'), 'outside', 'rvi-part', 1, 2, now())$$,
                 '23514', 'new row for relation "workflow_tasks" violates partition constraint',
                 'one outside them is refused');
ALTER TABLE public.rvi_parent DETACH PARTITION durable.workflow_tasks;

-- Subtransactions: a task written and rolled back to a savepoint leaves
-- nothing that counts (its index entries point to a dead row), and the run's
-- task is written again; an insert that fails on a later index, after its
-- row and earlier entries were written, likewise.
CREATE TEMP TABLE sub_run AS SELECT pg_temp.taskless_run('rvi-sub') AS r;
SAVEPOINT sub;
SELECT isnt(durable._insert_workflow_task((SELECT r FROM sub_run), 'default', 'rvi-sub', 1, 2, now()), NULL,
            'a task written in a subtransaction');
ROLLBACK TO sub;
SELECT isnt(durable._insert_workflow_task((SELECT r FROM sub_run), 'default', 'rvi-sub', 1, 2, now()), NULL,
            'rolled back: the run''s task is written again (the unique run_id sees no duplicate)');
CREATE TEMP TABLE sub_run2 AS SELECT pg_temp.taskless_run('rvi-sub') AS r;
CREATE UNIQUE INDEX rvi_zz_last ON durable.workflow_tasks (task_queue) WHERE task_queue = 'rvi-sub';
SELECT throws_ok($$SELECT durable._insert_workflow_task((SELECT r FROM sub_run2), 'default', 'rvi-sub', 1, 2, now())$$,
                 '23505', 'duplicate key value violates unique constraint "rvi_zz_last"',
                 'a second task of the queue fails on the operator''s unique index');
DROP INDEX durable.rvi_zz_last;
SELECT isnt(durable._insert_workflow_task((SELECT r FROM sub_run2), 'default', 'rvi-sub', 1, 2, now()), NULL,
            'the index dropped, the failed run''s task is written');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*) FROM durable.workflow_tasks WHERE namespace = 'default' AND task_queue = 'rvi-sub'
             AND state = 'SCHEDULED' AND priority = 2), 2::bigint,
          'the ready index finds the two tasks, and nothing of what was rolled back');
SELECT is((SELECT count(*) FROM durable.workflow_tasks
            WHERE run_id IN ((SELECT r FROM sub_run), (SELECT r FROM sub_run2))), 2::bigint,
          'as does the run_id index');
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT is((SELECT count(*) FROM durable.workflow_tasks WHERE task_queue || '' = 'rvi-sub'), 2::bigint,
          'and a scan of the heap');

-- The statistics autovacuum and ANALYZE read: every insert counted.
CREATE TEMP TABLE ins_before AS
    SELECT n_tup_ins FROM pg_stat_xact_user_tables WHERE relid = 'durable.workflow_tasks'::regclass;
SELECT durable._insert_workflow_task(pg_temp.taskless_run('rvi-stat'), 'default', 'rvi-stat', 1, 2, now());
SELECT durable._insert_workflow_task(pg_temp.taskless_run('rvi-stat'), 'default', 'rvi-stat', 1, 2, now());
SELECT is((SELECT n_tup_ins FROM pg_stat_xact_user_tables WHERE relid = 'durable.workflow_tasks'::regclass)
          - (SELECT n_tup_ins FROM ins_before), 2::bigint, 'n_tup_ins counts each task inserted');

SELECT * FROM finish();
ROLLBACK;
