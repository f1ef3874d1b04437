-- The close written without the executor (durable._close_update,
-- pgext/src/close_update.c; durable._run_rows, run_rows.c), at the edges a
-- user can reach, each against what the UPDATE statement does (an
-- operator's trigger of UPDATE OF status sends the close there):
--  - rows the same completion inserted just before its close (an activity
--    and a timer scheduled with CompleteWorkflowExecution) are deleted;
--  - toasted values: a large input kept, a large result written;
--  - the table's statistics count one non-HOT update, as the statement's;
--  - an operator's unique index the close violates, and a publication
--    without replica identity: the statement's error, word for word;
--  - a table inheriting from durable's: the statements reach its rows, so
--    the close leaves them to the statements.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE FUNCTION pg_temp.run(wid text) RETURNS uuid LANGUAGE sql AS $$
    SELECT run_id FROM durable.workflows WHERE workflow_id = wid ORDER BY started_at DESC LIMIT 1
$$;
CREATE FUNCTION pg_temp.left_of(run uuid) RETURNS bigint LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM durable.workflow_tasks WHERE run_id = run)
         + (SELECT count(*) FROM durable.activity_tasks WHERE run_id = run)
         + (SELECT count(*) FROM durable.timers WHERE run_id = run)
$$;
-- The table's updates counted in this transaction: all, HOT.
CREATE FUNCTION pg_temp.updates() RETURNS bigint[] LANGUAGE sql AS $$
    SELECT ARRAY[n_tup_upd, n_tup_hot_upd] FROM pg_stat_xact_user_tables
     WHERE schemaname = 'durable' AND relname = 'workflows'
$$;
CREATE FUNCTION pg_temp.noop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RETURN NULL;
END
$$;
-- Runs q with the close sent to the statement (an operator's trigger that
-- fires for it), and undoes both; returns q's value.
CREATE FUNCTION pg_temp.by_statement(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    got text;
BEGIN
    CREATE TRIGGER force_statement AFTER UPDATE OF status ON durable.workflows
        FOR EACH ROW EXECUTE FUNCTION pg_temp.noop();
    EXECUTE q INTO got;
    RAISE EXCEPTION 'undo';
EXCEPTION WHEN raise_exception THEN
    RETURN got;
END
$$;
-- Runs q and undoes it; returns q's value.
CREATE FUNCTION pg_temp.undone(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    got text;
BEGIN
    EXECUTE q INTO got;
    RAISE EXCEPTION 'undo';
EXCEPTION WHEN raise_exception THEN
    RETURN got;
END
$$;

-- 1. an activity and a timer scheduled by the completion that closes the run
SELECT durable.start_workflow('ce-1', 'W', 'ceq');
SELECT pg_temp.complete('ceq', '[{"type": "ScheduleActivityTask", "activity_id": "a", "activity_type": "A",
                                  "start_to_close_timeout": 60},
                                 {"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": 3600},
                                 {"type": "CompleteWorkflowExecution", "result": 1}]');
SELECT is(pg_temp.status('ce-1'), 'COMPLETED', 'a run closed by the completion that scheduled an activity and a timer');
SELECT is(pg_temp.left_of(pg_temp.run('ce-1')), 0::bigint, 'the activity task and the timer it inserted are deleted');
SELECT is(pg_temp.last_types('ce-1', 4), ARRAY['WorkflowTaskCompleted', 'ActivityTaskScheduled', 'TimerStarted',
                                               'WorkflowExecutionCompleted'], 'with their events, in order');

-- 2. toasted values: an input stored out of line, a large result
CREATE TEMP TABLE big AS
SELECT to_jsonb(string_agg(md5(i::text), '' ORDER BY i)) AS v FROM generate_series(1, 12000) i;
SELECT durable.start_workflow('ce-2', 'W', 'ceq', (SELECT v FROM big));
SELECT durable.start_workflow('ce-3', 'W', 'ceq', (SELECT v FROM big));
SELECT ok((SELECT octet_length(input::text) FROM durable.workflows WHERE run_id = (SELECT pg_temp.run('ce-2'))) > 16384,
          '(the input is larger than a page: stored out of line)');
SELECT is(durable._close_update(pg_temp.run('ce-2'), 'COMPLETED', durable.now(), (SELECT v FROM big), NULL, NULL), true,
          'a close with a large result is written directly');
SELECT is((SELECT md5(input::text) || ' ' || md5(result::text) FROM durable.workflows WHERE run_id = (SELECT pg_temp.run('ce-2'))),
          (SELECT md5(v::text) || ' ' || md5(v::text) FROM big), 'its input kept and its result written whole');
SELECT is(pg_temp.by_statement($$SELECT durable._close_update(pg_temp.run('ce-3'), 'COMPLETED', durable.now(),
                                                               (SELECT v FROM big), NULL, NULL)::text$$), 'false',
          '(with the trigger, _close_update leaves it to the statement)');
SELECT pg_temp.complete('ceq', '[{"type": "CompleteWorkflowExecution", "result": 2}]');
SELECT pg_temp.complete('ceq', '[{"type": "CompleteWorkflowExecution", "result": 2}]');
SELECT is((SELECT md5(input::text) FROM durable.workflows WHERE run_id = (SELECT pg_temp.run('ce-3'))),
          (SELECT md5(v::text) FROM big), 'a run closed by its completion keeps its large input');

-- 3. statistics: one update, not HOT, either way
SELECT durable.start_workflow('ce-4', 'W', 'ceq');
SELECT durable.start_workflow('ce-5', 'W', 'ceq');
CREATE TEMP TABLE counts AS SELECT pg_temp.updates() AS before;
SELECT is(durable._close_update(pg_temp.run('ce-4'), 'TERMINATED', durable.now(), NULL, NULL, NULL), true, '(direct)');
SELECT is((SELECT ARRAY[u[1] - before[1], u[2] - before[2]] FROM counts, pg_temp.updates() u), ARRAY[1, 0]::bigint[],
          'the direct close counts one update of workflows, not HOT');
UPDATE counts SET before = pg_temp.updates();
UPDATE durable.workflows SET status = 'TERMINATED', closed_at = durable.now(), result = NULL, failure = NULL,
       deadline_at = NULL, new_run_id = NULL WHERE run_id = (SELECT pg_temp.run('ce-5'));
SELECT is((SELECT ARRAY[u[1] - before[1], u[2] - before[2]] FROM counts, pg_temp.updates() u), ARRAY[1, 0]::bigint[],
          'as the statement does');

-- 4. the statement's errors
CREATE UNIQUE INDEX operator_one_terminated ON durable.workflows (namespace, workflow_type)
    WHERE status = 'TERMINATED' AND workflow_type = 'OneTerminated';
SELECT durable.start_workflow('ce-6', 'OneTerminated', 'ceq');
SELECT durable.start_workflow('ce-7', 'OneTerminated', 'ceq');
SELECT durable.terminate_workflow('ce-6', 'first');
SELECT is(pg_temp.undone($$SELECT pg_temp.error_of('SELECT durable.terminate_workflow(''ce-7'', ''second'')')::text$$),
          pg_temp.by_statement($$SELECT pg_temp.error_of('SELECT durable.terminate_workflow(''ce-7'', ''second'')')::text$$),
          'a unique index of the operator''s the close violates: the statement''s error');
SELECT is((pg_temp.error_of($$SELECT durable.terminate_workflow('ce-7', 'second')$$))[1:2],
          ARRAY['23505', 'duplicate key value violates unique constraint "operator_one_terminated"'], '(which is that)');
SELECT is(pg_temp.status('ce-7'), 'RUNNING', 'and nothing changed');
DROP INDEX durable.operator_one_terminated;

SET LOCAL client_min_messages = warning;
CREATE PUBLICATION close_direct_edges FOR TABLE durable.workflows;
ALTER TABLE durable.workflows REPLICA IDENTITY NOTHING;
RESET client_min_messages;
SELECT is(pg_temp.undone($$SELECT pg_temp.error_of('SELECT durable.terminate_workflow(''ce-7'', ''r'')')::text$$),
          pg_temp.by_statement($$SELECT pg_temp.error_of('SELECT durable.terminate_workflow(''ce-7'', ''r'')')::text$$),
          'a publication of updates without replica identity: the statement''s error');
SELECT is((pg_temp.error_of($$SELECT durable.terminate_workflow('ce-7', 'r')$$))[1], '55000', '(which is that)');
ALTER TABLE durable.workflows REPLICA IDENTITY DEFAULT;
DROP PUBLICATION close_direct_edges;
SELECT lives_ok($$SELECT durable.terminate_workflow('ce-7', 'r')$$, 'with replica identity back, it closes');

-- 5. tables inheriting from durable's (UPDATE and DELETE without ONLY reach their rows)
CREATE TEMP TABLE timers_child () INHERITS (durable.timers);
SELECT durable.start_workflow('ce-8', 'W', 'ceq');
INSERT INTO timers_child (run_id, timer_id, started_event_id, fire_at)
SELECT pg_temp.run('ce-8'), 'inherited', 1, now() + interval '1 day';
SELECT is(durable._run_rows((SELECT pg_temp.run('ce-8')), 4), 4, 'timers with a table inheriting from it: "rows" (the statement looks)');
SELECT durable.terminate_workflow('ce-8', 'r');
SELECT is((SELECT count(*) FROM timers_child), 0::bigint, 'and the close deletes the inheriting table''s timer, as the statement did');
CREATE TEMP TABLE workflows_child () INHERITS (durable.workflows);
SELECT durable.start_workflow('ce-9', 'W', 'ceq');
SELECT is(durable._close_update((SELECT pg_temp.run('ce-9')), 'TERMINATED', durable.now(), NULL, NULL, NULL), false,
          'workflows with a table inheriting from it: the close is the statement''s (it updates that table''s rows too)');

SELECT * FROM finish();
ROLLBACK;
