-- durable._close_update (api/84_close_update.sql, pgext/src/close_update.c):
-- the close's update of the run's row without the executor. It must write
-- what _close_run's UPDATE wrote (the row, an entry in every index whose
-- predicate holds, an operator's index too), and hand the close back to the
-- statement (false, nothing written) wherever the statement does more: a
-- trigger that fires for it, a CHECK that fails, row security; and notice
-- such a change in the same session.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
SET LOCAL deadlock_timeout = '1min';   -- as 41_priority_plans.sql: the timer worker gives way (DROP EXTENSION below)

-- Closes wid's open run with _close_update; its answer.
CREATE FUNCTION pg_temp.close(wid text, st text DEFAULT 'COMPLETED') RETURNS boolean LANGUAGE sql AS $$
    SELECT durable._close_update(pg_temp.latest_run(wid), st, durable.now(), '{"r": 1}', NULL, NULL)
$$;
-- The closed row as a user sees it.
CREATE FUNCTION pg_temp.closed_row(wid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('status', status, 'closed', closed_at IS NOT NULL, 'result', result,
                              'failure', failure, 'deadline', deadline_at, 'new_run_id', new_run_id)
      FROM durable.workflows WHERE run_id = pg_temp.latest_run(wid)
$$;
CREATE FUNCTION pg_temp.st(wid text) RETURNS text LANGUAGE sql AS $$
    SELECT status FROM durable.workflows WHERE run_id = pg_temp.latest_run(wid)
$$;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || q;
END
$$;

SELECT is(durable._close_update(NULL, 'COMPLETED', now(), NULL, NULL, NULL), false, 'no run: left to the statement');
SELECT is(durable._close_update('00000000-0000-0000-0000-000000000000', 'COMPLETED', now(), NULL, NULL, NULL), false,
          'an unknown run: left to the statement (which updates nothing)');

-- the direct write, and the indexes it fills
SELECT durable.start_workflow('cu-1', 'W', 'cuq', NULL, '{"execution_timeout": 600}');
SELECT isnt((SELECT deadline_at FROM durable.workflows WHERE run_id = pg_temp.latest_run('cu-1')), NULL, 'a deadline before');
SELECT is(durable._close_update(pg_temp.latest_run('cu-1'), 'FAILED', durable.now(), NULL, '{"message": "m"}',
                                '00000000-0000-0000-0000-00000000000f'), true, 'a plain close is written directly');
SELECT is(pg_temp.closed_row('cu-1'), jsonb_build_object('status', 'FAILED', 'closed', true, 'result', NULL,
          'failure', '{"message": "m"}'::jsonb, 'deadline', NULL, 'new_run_id', '00000000-0000-0000-0000-00000000000f'),
          'status, close time, failure and new run id set, the deadline cleared');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT count(*) FROM durable.workflows WHERE namespace = 'default' AND status = 'FAILED'), 1::bigint,
          'found by workflows_closed_by_status');
SELECT ok((SELECT string_agg(l, ' ') FROM pg_temp.plan_of(
              $$SELECT count(*) FROM durable.workflows WHERE namespace = 'default' AND status = 'FAILED'$$) l)
          ~ 'workflows_closed_by_status', '(read through that index)');
SELECT is((SELECT count(*) FROM durable.workflows WHERE namespace = 'default' AND closed_at > now() - interval '1 day'),
          1::bigint, 'found by workflows_closed');
SELECT is((SELECT count(*) FROM durable.workflows WHERE namespace = 'default' AND workflow_id = 'cu-1'), 1::bigint,
          'found by the id');
SELECT is(durable._find_open_run('default', 'cu-1'), NULL, 'no longer the open run of its id');
SELECT lives_ok($$SELECT durable.start_workflow('cu-1', 'W', 'cuq')$$, 'the id may start again');
RESET enable_seqscan;
RESET enable_bitmapscan;

-- twins: a close through the direct write and one through the statement
-- (an operator's trigger on UPDATE sends it there) leave the same run
CREATE TEMP TABLE fired (run uuid, status text);
CREATE FUNCTION pg_temp.record_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fired VALUES (NEW.run_id, NEW.status);
    RETURN NEW;
END
$$;
SELECT durable.start_workflow('cu-a', 'W', 'cuq2');
SELECT pg_temp.complete('cuq2', '[{"type": "CompleteWorkflowExecution", "result": {"x": [1, 2]}}]');
CREATE TRIGGER operator_update AFTER UPDATE ON durable.workflows FOR EACH ROW EXECUTE FUNCTION pg_temp.record_update();
SELECT durable.start_workflow('cu-b', 'W', 'cuq2');
SELECT pg_temp.complete('cuq2', '[{"type": "CompleteWorkflowExecution", "result": {"x": [1, 2]}}]');
SELECT is((SELECT array_agg(status) FROM fired WHERE run = pg_temp.latest_run('cu-b')), ARRAY['COMPLETED'],
          'with an operator''s UPDATE trigger the close is the statement''s, and the trigger sees it');
SELECT is(pg_temp.closed_row('cu-a'), pg_temp.closed_row('cu-b'), 'both runs closed alike');
SELECT is(pg_temp.types('cu-a'), pg_temp.types('cu-b'), 'with the same history');
SELECT durable.start_workflow('cu-c', 'W', 'cuq2');
SELECT is(pg_temp.close('cu-c'), false, '_close_update leaves it to the statement while the trigger is there');
SELECT is(pg_temp.st('cu-c'), 'RUNNING', 'having written nothing');
DROP TRIGGER operator_update ON durable.workflows;
SELECT is(pg_temp.close('cu-c'), true, 'the trigger dropped: written directly again (the session noticed)');
SELECT is((SELECT count(*) FROM fired WHERE run = pg_temp.latest_run('cu-c')), 0::bigint, 'and no trigger fired');

-- a trigger of a column the close does not set does not fire for it (as
-- durable's own on search_attributes); one of a column it sets does
CREATE TRIGGER operator_memo AFTER UPDATE OF memo ON durable.workflows
    FOR EACH ROW EXECUTE FUNCTION pg_temp.record_update();
SELECT durable.start_workflow('cu-d', 'W', 'cuq2');
SELECT is(pg_temp.close('cu-d'), true, 'a trigger of UPDATE OF memo: still written directly');
SELECT is((SELECT count(*) FROM fired WHERE run = pg_temp.latest_run('cu-d')), 0::bigint, 'and it did not fire (nor would it have)');
DROP TRIGGER operator_memo ON durable.workflows;
CREATE TRIGGER operator_status AFTER UPDATE OF status ON durable.workflows
    FOR EACH ROW EXECUTE FUNCTION pg_temp.record_update();
SELECT durable.start_workflow('cu-e', 'W', 'cuq2');
SELECT is(pg_temp.close('cu-e'), false, 'a trigger of UPDATE OF status: the statement''s');
DROP TRIGGER operator_status ON durable.workflows;
CREATE FUNCTION pg_temp.record_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fired VALUES (NULL, TG_LEVEL);
    RETURN NULL;
END
$$;
CREATE TRIGGER operator_statement AFTER UPDATE ON durable.workflows
    FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.record_statement();
SELECT is(pg_temp.close('cu-e'), false, 'a statement trigger on UPDATE: the statement''s');
SELECT durable.terminate_workflow('cu-e', 'test');
SELECT is((SELECT count(*) FROM fired WHERE status = 'STATEMENT'), 1::bigint, 'whose close fires it');
DROP TRIGGER operator_statement ON durable.workflows;

-- a CHECK the new row fails: the statement, with its own error, and nothing written
ALTER TABLE durable.workflows ADD CONSTRAINT operator_no_cancel CHECK (status <> 'CANCELED') NOT VALID;
SELECT durable.start_workflow('cu-f', 'W', 'cuq2');
SELECT is(pg_temp.close('cu-f', 'CANCELED'), false, 'a CHECK the close fails: left to the statement');
SELECT is(pg_temp.st('cu-f'), 'RUNNING', 'having written nothing');
SELECT is((pg_temp.error_of($$SELECT durable.cancel_workflow('cu-f'); SELECT pg_temp.complete('cuq2', '[{"type": "CancelWorkflowExecution"}]')$$))[1:2],
          ARRAY['23514', 'new row for relation "workflows" violates check constraint "operator_no_cancel"'],
          'whose error is the statement''s');
SELECT is(pg_temp.close('cu-f', 'COMPLETED'), true, 'a close the CHECK passes: written directly, the CHECK evaluated');
ALTER TABLE durable.workflows DROP CONSTRAINT operator_no_cancel;

-- a CHECK calling a function replaced meanwhile
CREATE FUNCTION pg_temp.allowed(status text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT true $$;
ALTER TABLE durable.workflows ADD CONSTRAINT operator_allowed CHECK (pg_temp.allowed(status)) NOT VALID;
SELECT durable.start_workflow('cu-g', 'W', 'cuq2');
SELECT durable.start_workflow('cu-h', 'W', 'cuq2');
SELECT is(pg_temp.close('cu-g'), true, 'a CHECK through a function that allows it: written directly');
CREATE OR REPLACE FUNCTION pg_temp.allowed(status text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT false $$;
SELECT is(pg_temp.close('cu-h'), false, 'the function replaced to refuse: left to the statement');
ALTER TABLE durable.workflows DROP CONSTRAINT operator_allowed;

-- an operator's index: its entry made, its predicate read on the new row
CREATE INDEX operator_completed ON durable.workflows (closed_at) WHERE status = 'COMPLETED';
SELECT is(pg_temp.close('cu-h'), true, 'with an operator''s partial index: written directly');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT ok('cu-h' = ANY ((SELECT array_agg(workflow_id) FROM durable.workflows
                          WHERE status = 'COMPLETED' AND closed_at > now() - interval '1 day')::text[]),
          'the run closed after the index was made is in it');
SELECT ok((SELECT string_agg(l, ' ') FROM pg_temp.plan_of(
              $$SELECT count(*) FROM durable.workflows WHERE status = 'COMPLETED' AND closed_at > now() - interval '1 day'$$) l)
          ~ 'operator_completed', '(read through it)');
RESET enable_seqscan;
RESET enable_bitmapscan;
DROP INDEX durable.operator_completed;

-- row security on the table: the statement's
SELECT durable.start_workflow('cu-i', 'W', 'cuq2');
SELECT is(pg_temp.undone('ALTER TABLE durable.workflows ENABLE ROW LEVEL SECURITY',
                         $$SELECT pg_temp.close('cu-i')::text$$), 'false', 'row security: left to the statement');

-- the extension dropped and created again in this session
SELECT is(pg_temp.undone($$SET LOCAL client_min_messages = warning;
                           DROP EXTENSION durable CASCADE; CREATE EXTENSION durable;
                           SELECT durable.start_workflow('cu-j', 'W', 'cuq2')$$,
                         $$SELECT pg_temp.close('cu-j')::text || ' ' || pg_temp.st('cu-j')$$), 'true COMPLETED',
          'after DROP and CREATE EXTENSION the new table is written');
SELECT is(pg_temp.close('cu-i'), true, 'and, that undone, the old one again');

SELECT * FROM finish();
ROLLBACK;
