-- The direct writes (close_update.c's heap_update; task_insert.c's,
-- run_insert.c's and history_append.c's inserts) against what an operator
-- may add that the executor enforces: column-level privileges, and CHECK
-- constraints that call SQL functions (volatile ones, ones that read other
-- tables, ones that raise). Each must do what the statement it stands for
-- does: the same error, the same rows, and an operator's function called as
-- many times.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- The close of a run as _close_run makes it (api/04_close.sql): directly,
-- else by its UPDATE statement; whether it was direct.
CREATE FUNCTION pg_temp.close(run uuid, st text DEFAULT 'COMPLETED') RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF durable._close_update(run, st, now(), '{"r": 1}', NULL, NULL) THEN
        RETURN true;
    END IF;
    UPDATE durable.workflows wf SET status = st, closed_at = now(), result = '{"r": 1}', failure = NULL,
           deadline_at = NULL, new_run_id = NULL WHERE wf.run_id = run;
    RETURN false;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.close(uuid, text) TO PUBLIC;
CREATE FUNCTION pg_temp.st(run uuid) RETURNS text LANGUAGE sql AS $$
    SELECT status FROM durable.workflows WHERE run_id = run
$$;
-- An operator's trigger of UPDATE OF status sends every close to the
-- statement (close_update.c): the twin each direct close is compared with.
CREATE FUNCTION pg_temp.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE FUNCTION pg_temp.force_statement(on_ boolean) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF on_ THEN
        CREATE TRIGGER dw_force AFTER UPDATE OF status ON durable.workflows FOR EACH ROW EXECUTE FUNCTION pg_temp.noop();
    ELSE
        DROP TRIGGER dw_force ON durable.workflows;
    END IF;
END
$$;
CREATE FUNCTION pg_temp.new_run(q text) RETURNS uuid LANGUAGE sql AS $$
    SELECT pg_temp.taskless_run(q)
$$;

-- 1. Column privileges: the close ---------------------------------------------------
CREATE ROLE dw_table;    -- UPDATE and SELECT on the table; then UPDATE (result) revoked
CREATE ROLE dw_cols;     -- UPDATE of exactly the six columns the close sets, SELECT of run_id
CREATE ROLE dw_some;     -- the same but result
GRANT USAGE ON SCHEMA durable TO dw_table, dw_cols, dw_some;
GRANT EXECUTE ON FUNCTION durable._close_update(uuid, text, timestamptz, jsonb, jsonb, uuid) TO dw_table, dw_cols, dw_some;
GRANT SELECT, UPDATE ON durable.workflows TO dw_table;
REVOKE UPDATE (result) ON durable.workflows FROM dw_table;
GRANT UPDATE (status, closed_at, result, failure, deadline_at, new_run_id), SELECT (run_id) ON durable.workflows TO dw_cols;
GRANT UPDATE (status, closed_at, failure, deadline_at, new_run_id), SELECT (run_id) ON durable.workflows TO dw_some;

SELECT pg_temp.new_run('dw-c') AS c1, pg_temp.new_run('dw-c') AS c2, pg_temp.new_run('dw-c') AS c3,
       pg_temp.new_run('dw-c') AS c4 \gset
-- A column's privilege revoked under the table's: PostgreSQL keeps the table's, so the statement may.
SELECT is(has_column_privilege('dw_table', 'durable.workflows', 'result', 'UPDATE'), true,
          '(a column''s UPDATE revoked under the table''s leaves the table''s)');
SELECT is(pg_temp.error_as('dw_table', format('SELECT pg_temp.close(%L)', :'c1')), NULL,
          'the table''s UPDATE with a column''s revoked: the close is made');
SELECT is(pg_temp.st(:'c1'), 'COMPLETED', '(and written)');
SET LOCAL ROLE dw_table;
SELECT is(durable._close_update(:'c2', 'COMPLETED', now(), NULL, NULL, NULL), true, 'directly, as the statement may');
RESET ROLE;
-- Only the columns granted: the statement may, the direct write leaves it to it.
SET LOCAL ROLE dw_cols;
SELECT is(durable._close_update(:'c3', 'COMPLETED', now(), NULL, NULL, NULL), false,
          'UPDATE granted on the six columns only: left to the statement');
RESET ROLE;
SELECT is(pg_temp.st(:'c3'), 'RUNNING', '(having written nothing)');
SELECT is(pg_temp.error_as('dw_cols', format('SELECT pg_temp.close(%L)', :'c3')), NULL, 'which closes it');
SELECT is(pg_temp.st(:'c3'), 'COMPLETED', '(closed)');
-- One column not granted: refused, as the statement refuses.
SELECT is(pg_temp.error_as('dw_some', format('SELECT pg_temp.close(%L)', :'c4')),
          ARRAY['42501', 'permission denied for table workflows'], 'UPDATE of result not granted: refused');
SET LOCAL ROLE dw_some;
SELECT is(durable._close_update(:'c4', 'COMPLETED', now(), NULL, NULL, NULL), false, '(the direct write leaves it to the statement)');
RESET ROLE;
SELECT is(pg_temp.st(:'c4'), 'RUNNING', 'nothing written');

-- 2. Column privileges: the inserts ----------------------------------------------
-- The workflow task's INSERT names run_id, namespace, task_queue, state,
-- attempt, scheduled_event_id, scheduled_at (81_task_insert_edges.sql grants
-- them all); one left out is the statement's error.
CREATE ROLE dw_task_some;
GRANT USAGE ON SCHEMA durable TO dw_task_some;
GRANT EXECUTE ON FUNCTION durable._insert_workflow_task(uuid, text, text, integer, bigint, timestamptz) TO dw_task_some;
GRANT INSERT (run_id, namespace, task_queue, state, attempt, scheduled_event_id) ON durable.workflow_tasks TO dw_task_some;
GRANT USAGE ON SEQUENCE durable.workflow_tasks_task_id_seq TO dw_task_some;
CREATE ROLE dw_task_table;
GRANT USAGE ON SCHEMA durable TO dw_task_table;
GRANT EXECUTE ON FUNCTION durable._insert_workflow_task(uuid, text, text, integer, bigint, timestamptz) TO dw_task_table;
GRANT INSERT ON durable.workflow_tasks TO dw_task_table;
REVOKE INSERT (scheduled_at) ON durable.workflow_tasks FROM dw_task_table;
GRANT USAGE ON SEQUENCE durable.workflow_tasks_task_id_seq TO dw_task_table;
SELECT pg_temp.new_run('dw-t') AS t1, pg_temp.new_run('dw-t') AS t2 \gset
SELECT is(pg_temp.error_as('dw_task_some', format($$INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue,
              state, attempt, scheduled_event_id, scheduled_at) VALUES (%L, 'default', 'dw-t', 'SCHEDULED', 1, 2, now())$$, :'t1')),
          ARRAY['42501', 'permission denied for table workflow_tasks'], 'the statement: INSERT of scheduled_at not granted is refused');
SELECT is(pg_temp.error_as('dw_task_some', format($$SELECT durable._insert_workflow_task(%L, 'default', 'dw-t', 1, 2, now())$$, :'t1')),
          ARRAY['42501', 'permission denied for table workflow_tasks'], '_insert_workflow_task: refused alike');
SELECT is(pg_temp.error_as('dw_task_table', format($$SELECT durable._insert_workflow_task(%L, 'default', 'dw-t', 1, 2, now())$$, :'t2')),
          NULL, 'the table''s INSERT with a column''s revoked: inserted');
SELECT is((SELECT count(*) FROM durable.workflow_tasks WHERE task_queue = 'dw-t'), 1::bigint, '(one task written of the two)');

-- The append's INSERT names every column of history_rows.
CREATE ROLE dw_append_some;
GRANT USAGE ON SCHEMA durable TO dw_append_some;
GRANT EXECUTE ON FUNCTION durable._append(uuid, text, jsonb), durable._event_pack(uuid, bigint, text, jsonb) TO dw_append_some;
GRANT SELECT, INSERT (run_id, event_id, event_code, event_time) ON durable.history_rows TO dw_append_some;
SELECT pg_temp.new_run('dw-a') AS a1 \gset
SELECT is(pg_temp.error_as('dw_append_some', format($$INSERT INTO durable.history_rows VALUES (%L, 1, 25, now(), '{}')$$, :'a1')),
          ARRAY['42501', 'permission denied for table history_rows'], 'the statement: INSERT of attributes not granted is refused');
SELECT is(pg_temp.error_as('dw_append_some', format($$SELECT durable._append(%L, 'MarkerRecorded', '{}')$$, :'a1')),
          ARRAY['42501', 'permission denied for table history_rows'], '_append: refused alike');
SELECT is((SELECT count(*) FROM durable.history_rows WHERE run_id = :'a1'), 0::bigint, '(nothing written)');

-- 3. CHECKs that call SQL functions: the close --------------------------------------
-- A volatile function with an effect no rollback takes back (a sequence):
-- the executor calls it once per row it checks; so must the close, also when
-- the CHECK fails (the statement's error).
CREATE SEQUENCE pg_temp.dw_calls;
CREATE FUNCTION pg_temp.counted(st text) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM nextval('pg_temp.dw_calls');
    RETURN st <> 'CANCELED';
END
$$;
CREATE FUNCTION pg_temp.calls() RETURNS bigint LANGUAGE sql AS $$
    SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM pg_temp.dw_calls
$$;
-- The calls one close makes, and its error (NULL: none).
CREATE FUNCTION pg_temp.close_calls(run uuid, st text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    before bigint := pg_temp.calls();
    e text[] := pg_temp.error_of(format('SELECT pg_temp.close(%L, %L)', run, st));
BEGIN
    RETURN (pg_temp.calls() - before) || ' ' || coalesce(e[1] || ' ' || e[2], 'ok');
END
$$;
ALTER TABLE durable.workflows ADD CONSTRAINT dw_counted CHECK (pg_temp.counted(status)) NOT VALID;
SELECT pg_temp.new_run('dw-v') AS v1, pg_temp.new_run('dw-v') AS v2, pg_temp.new_run('dw-v') AS v3,
       pg_temp.new_run('dw-v') AS v4 \gset
SELECT pg_temp.force_statement(true);
SELECT pg_temp.close_calls(:'v1', 'COMPLETED') AS stmt_ok, pg_temp.close_calls(:'v2', 'CANCELED') AS stmt_fails \gset
SELECT pg_temp.force_statement(false);
SELECT is(:'stmt_ok'::text, '1 ok', '(the statement calls a volatile CHECK''s function once for a close it allows)');
SELECT is(:'stmt_fails'::text, '1 23514 new row for relation "workflows" violates check constraint "dw_counted"',
          '(and once for one it refuses, with its error)');
SELECT is(pg_temp.close_calls(:'v3', 'COMPLETED'), :'stmt_ok'::text, 'the close without the trigger: the same calls');
SELECT is(pg_temp.close_calls(:'v4', 'CANCELED'), :'stmt_fails'::text, 'refused: the same calls, the same error');
SELECT is(pg_temp.st(:'v4'), 'RUNNING', '(nothing written)');
ALTER TABLE durable.workflows DROP CONSTRAINT dw_counted;

-- A function that reads another table, STABLE (the direct write evaluates
-- it) and VOLATILE: it sees what the transaction wrote just before the close.
CREATE TEMP TABLE dw_closable (run uuid);
CREATE FUNCTION pg_temp.closable_stable(run uuid, st text) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT st = 'RUNNING' OR EXISTS (SELECT 1 FROM dw_closable c WHERE c.run = closable_stable.run)
$$;
CREATE FUNCTION pg_temp.closable_volatile(run uuid, st text) RETURNS boolean LANGUAGE sql VOLATILE AS $$
    SELECT st = 'RUNNING' OR EXISTS (SELECT 1 FROM dw_closable c WHERE c.run = closable_volatile.run)
$$;
CREATE FUNCTION pg_temp.close_after_insert(run uuid, allow boolean) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    e text[];
BEGIN
    IF allow THEN
        INSERT INTO dw_closable VALUES (run);
    END IF;
    e := pg_temp.error_of(format('SELECT pg_temp.close(%L)', run));
    RETURN coalesce(e[1] || ' ' || e[2], 'ok') || ' ' || pg_temp.st(run);
END
$$;
CREATE FUNCTION pg_temp.reading_check(fn text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    got text[];
BEGIN
    EXECUTE format('ALTER TABLE durable.workflows ADD CONSTRAINT dw_reads CHECK (%s(run_id, status)) NOT VALID', fn);
    got := ARRAY[pg_temp.close_after_insert(pg_temp.new_run('dw-r'), true),
                 pg_temp.close_after_insert(pg_temp.new_run('dw-r'), false)];
    ALTER TABLE durable.workflows DROP CONSTRAINT dw_reads;
    RETURN got;
END
$$;
SELECT pg_temp.force_statement(true);
SELECT pg_temp.reading_check('pg_temp.closable_stable') AS stmt_stable,
       pg_temp.reading_check('pg_temp.closable_volatile') AS stmt_volatile \gset
SELECT pg_temp.force_statement(false);
SELECT is(:'stmt_stable'::text[], ARRAY['ok COMPLETED',
          '23514 new row for relation "workflows" violates check constraint "dw_reads" RUNNING'],
          '(the statement: a CHECK reading a row written just before passes, one without fails)');
SELECT is(pg_temp.reading_check('pg_temp.closable_stable'), :'stmt_stable'::text[],
          'a STABLE function reading another table: the direct close sees the same rows');
SELECT is(pg_temp.reading_check('pg_temp.closable_volatile'), :'stmt_volatile'::text[],
          'a VOLATILE one: the same');

-- A function that raises: its error, nothing written.
CREATE FUNCTION pg_temp.refuse(st text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF st = 'TERMINATED' THEN
        RAISE EXCEPTION 'operator says no' USING ERRCODE = 'P0042', HINT = 'ask the operator';
    END IF;
    RETURN true;
END
$$;
ALTER TABLE durable.workflows ADD CONSTRAINT dw_refuse CHECK (pg_temp.refuse(status)) NOT VALID;
SELECT pg_temp.new_run('dw-x') AS x1, pg_temp.new_run('dw-x') AS x2 \gset
SELECT pg_temp.force_statement(true);
SELECT pg_temp.error_of(format($$SELECT pg_temp.close(%L, 'TERMINATED')$$, :'x1')) AS stmt_raises \gset
SELECT pg_temp.force_statement(false);
SELECT is(:'stmt_raises'::text[], ARRAY['P0042', 'operator says no', NULL, 'ask the operator'],
          '(the statement raises the function''s error)');
SELECT is(pg_temp.error_of(format($$SELECT pg_temp.close(%L, 'TERMINATED')$$, :'x2')), :'stmt_raises'::text[],
          'a CHECK whose function raises: the direct close raises the same');
SELECT is(ARRAY[pg_temp.st(:'x1'), pg_temp.st(:'x2')], ARRAY['RUNNING', 'RUNNING'], '(nothing written by either)');
SELECT is(pg_temp.close(:'x2'), true, 'a close it allows is written directly');
ALTER TABLE durable.workflows DROP CONSTRAINT dw_refuse;

-- 4. CHECKs that call SQL functions: the inserts -------------------------------------
-- The workflow task's insert, twinned with the statement (an operator's
-- insert trigger sends it there, task_insert.c).
CREATE FUNCTION pg_temp.insert_task(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    before bigint := pg_temp.calls();
    e text[] := pg_temp.error_of(format($f$SELECT durable._insert_workflow_task(%L, 'default', %L, 1, 2, now())$f$,
                                        pg_temp.new_run(q), q));
BEGIN
    RETURN (pg_temp.calls() - before) || ' ' || coalesce(e[1] || ' ' || e[2], 'ok') || ' ' ||
           (SELECT count(*) FROM durable.workflow_tasks WHERE task_queue = q);
END
$$;
CREATE FUNCTION pg_temp.task_twins(check_sql text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    by_statement text;
    direct text;
BEGIN
    EXECUTE 'ALTER TABLE durable.workflow_tasks ADD CONSTRAINT dw_task_check CHECK (' || check_sql || ') NOT VALID';
    CREATE TRIGGER dw_force_insert AFTER INSERT ON durable.workflow_tasks FOR EACH ROW EXECUTE FUNCTION pg_temp.noop();
    by_statement := pg_temp.insert_task('dw-ts-' || md5(check_sql));
    DROP TRIGGER dw_force_insert ON durable.workflow_tasks;
    direct := pg_temp.insert_task('dw-td-' || md5(check_sql));
    ALTER TABLE durable.workflow_tasks DROP CONSTRAINT dw_task_check;
    RETURN ARRAY[by_statement, direct];
END
$$;
CREATE TEMP TABLE task_twins AS
SELECT k, pg_temp.task_twins(c) AS t FROM (VALUES
    ('volatile, allows', 'pg_temp.counted(state)'),
    ('volatile, refuses', 'pg_temp.counted(CASE WHEN attempt = 1 THEN ''CANCELED'' ELSE state END)'),
    ('raises', 'pg_temp.refuse(CASE WHEN state = ''SCHEDULED'' THEN ''TERMINATED'' ELSE state END)'),
    ('reads another table', 'pg_temp.closable_volatile(run_id, ''X'')')) v(k, c);
SELECT is(t[2], t[1], 'a workflow task''s insert under a CHECK calling a function (' || k || '): as the statement''s')
  FROM task_twins;
SELECT is((SELECT t[1] FROM task_twins WHERE k = 'volatile, allows'), '1 ok 1', '(the statement: one call, one task)');
SELECT is((SELECT t[1] FROM task_twins WHERE k = 'raises'), '0 P0042 operator says no 0', '(the statement: its error, no task)');

-- The start's run row (run_insert.c), twinned with its INSERT (an
-- operator's insert trigger on workflows sends it there).
CREATE FUNCTION pg_temp.start_calls(wid text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    before bigint := pg_temp.calls();
    e text[] := pg_temp.error_of(format($f$SELECT durable.start_workflow(%L, 'W', 'dw-s')$f$, wid));
BEGIN
    RETURN (pg_temp.calls() - before) || ' ' || coalesce(e[1] || ' ' || e[2], 'ok');
END
$$;
ALTER TABLE durable.workflows ADD CONSTRAINT dw_start_counted
    CHECK (pg_temp.counted(CASE WHEN workflow_id LIKE '%-refused' THEN 'CANCELED' ELSE 'x' END)) NOT VALID;
CREATE TRIGGER dw_force_start AFTER INSERT ON durable.workflows FOR EACH ROW EXECUTE FUNCTION pg_temp.noop();
SELECT pg_temp.start_calls('dw-s1') AS start_ok_stmt, pg_temp.start_calls('dw-s2-refused') AS start_refused_stmt \gset
DROP TRIGGER dw_force_start ON durable.workflows;
SELECT ok(:'start_refused_stmt'::text LIKE '% 23514 new row for relation "workflows" violates check constraint "dw_start_counted"',
          '(the statement refuses a start the CHECK refuses)');
SELECT is(pg_temp.start_calls('dw-s3'), :'start_ok_stmt'::text, 'a start under a volatile CHECK: the statement''s calls');
SELECT is(pg_temp.start_calls('dw-s4-refused'), :'start_refused_stmt'::text, 'refused: the same calls, the same error');
ALTER TABLE durable.workflows DROP CONSTRAINT dw_start_counted;

-- The append: any CHECK on history_rows sends it to the statement (history_append.c).
ALTER TABLE durable.history_rows ADD CONSTRAINT dw_append_check CHECK (pg_temp.counted(CASE WHEN event_id > 1 THEN 'CANCELED' ELSE 'x' END)) NOT VALID;
SELECT pg_temp.new_run('dw-h') AS h1 \gset
SELECT is(durable._append(:'h1', 'MarkerRecorded', '{}'), 1::bigint, '(an append the CHECK allows)');
SELECT pg_temp.calls() AS before_append \gset
SELECT is((pg_temp.error_of(format($$SELECT durable._append(%L, 'MarkerRecorded', '{}')$$, :'h1')))[1:2],
          (pg_temp.error_of(format($$INSERT INTO durable.history_rows VALUES (%L, 2, 25, now(), '{}')$$, :'h1')))[1:2],
          'an append the CHECK refuses: the statement''s error');
SELECT is(pg_temp.calls() - :before_append, 2::bigint, '(one call each)');
ALTER TABLE durable.history_rows DROP CONSTRAINT dw_append_check;

SELECT * FROM finish();
ROLLBACK;
