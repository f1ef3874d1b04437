-- durable._insert_run (api/86_run_insert.sql, pgext/src/run_insert.c): the
-- insert of a new run's row without the executor. It must write what
-- _create_run's INSERT ... ON CONFLICT DO NOTHING wrote (the row, with the
-- defaults of the columns it leaves out, and an entry in every index whose
-- predicate holds, an operator's too), and run that statement itself
-- (nothing written directly) wherever the statement does more: a possible
-- conflict with an open run of the id, a trigger that fires for it, a rule,
-- row security, a CHECK that fails, a role without the rights; and notice
-- such a change in the same session. Which way a run went shows in the
-- table's index scans (pg_stat_xact_user_tables): the statement's ON
-- CONFLICT probes its arbiter with an index scan before it inserts, the
-- direct write makes the arbiter's entry with a unique check, no scan.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
CREATE EXTENSION IF NOT EXISTS amcheck;

-- A run of wid by _insert_run (its answer: the run id, NULL when nothing was inserted), with search
-- attributes sa and parent close policy pcp.
CREATE FUNCTION pg_temp.ins(wid text, sa jsonb DEFAULT '{}', pcp text DEFAULT 'TERMINATE',
                            run uuid DEFAULT gen_random_uuid()) RETURNS uuid LANGUAGE sql AS $$
    SELECT durable._insert_run(run, 'default', wid, 'W', 'riq', '{"in": 1}', '{"m": 2}', sa, run, NULL,
                               '00000000-0000-0000-0000-0000000000aa', 'parent', 7, pcp,
                               '2026-01-02 03:04:05+00', '2026-01-02 03:04:06+00', '1 hour', NULL, '10 s',
                               '2026-01-02 04:04:05+00', 'req', NULL, 2::smallint, 'fk', 1.5, 1, '{"maximum_attempts": 3}')
$$;
-- The same row by the statement _insert_run stands for.
CREATE FUNCTION pg_temp.stmt(wid text, sa jsonb DEFAULT '{}', pcp text DEFAULT 'TERMINATE',
                             run uuid DEFAULT gen_random_uuid()) RETURNS uuid LANGUAGE sql AS $$
    INSERT INTO durable.workflows AS w (run_id, namespace, workflow_id, workflow_type, task_queue, input,
        memo, search_attributes, first_run_id, continued_from_run_id, parent_run_id, parent_workflow_id,
        parent_initiated_event_id, parent_close_policy, execution_started_at, started_at,
        execution_timeout, run_timeout, task_timeout, deadline_at, request_id, start_delay,
        priority, fairness_key, fairness_weight, attempt, retry_policy)
    VALUES (run, 'default', wid, 'W', 'riq', '{"in": 1}', '{"m": 2}', sa, run, NULL,
            '00000000-0000-0000-0000-0000000000aa', 'parent', 7, pcp,
            '2026-01-02 03:04:05+00', '2026-01-02 03:04:06+00', '1 hour', NULL, '10 s',
            '2026-01-02 04:04:05+00', 'req', NULL, 2, 'fk', 1.5, 1, '{"maximum_attempts": 3}')
    ON CONFLICT (namespace, workflow_id) WHERE status = 'RUNNING' DO NOTHING
    RETURNING w.run_id
$$;
-- A run's row as a user sees it, but for what names it.
CREATE FUNCTION pg_temp.row_of(wid text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT to_jsonb(w) - 'run_id' - 'first_run_id' - 'workflow_id' FROM durable.workflows w
     WHERE w.workflow_id = wid ORDER BY started_at DESC LIMIT 1
$$;
CREATE FUNCTION pg_temp.runs(wid text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM durable.workflows WHERE workflow_id = wid
$$;
CREATE FUNCTION pg_temp.plan_of(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || q;
END
$$;
CREATE FUNCTION pg_temp.scans() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(idx_scan, 0) FROM pg_stat_xact_user_tables WHERE relid = 'durable.workflows'::regclass
$$;
-- The way a run of wid by _insert_run went: 'direct', 'statement' (which inserted it), or
-- 'statement: none' (which inserted nothing); and the id returned is the run's.
CREATE FUNCTION pg_temp.path(wid text, sa jsonb DEFAULT '{}', pcp text DEFAULT 'TERMINATE') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    before bigint := pg_temp.scans();
    run uuid := gen_random_uuid();
    got uuid := pg_temp.ins(wid, sa, pcp, run);
    way text := CASE WHEN pg_temp.scans() = before THEN 'direct' ELSE 'statement' END;
BEGIN
    IF got IS DISTINCT FROM run AND got IS NOT NULL THEN
        RETURN 'another run id: ' || got;
    END IF;
    IF got IS NOT NULL AND NOT EXISTS (SELECT 1 FROM durable.workflows WHERE run_id = run) THEN
        RETURN 'no such run: ' || got;
    END IF;
    RETURN way || CASE WHEN got IS NULL THEN ': none' ELSE '' END;
END
$$;

-- the direct write, and the same row as the statement's
SELECT is(pg_temp.path('ri-1'), 'direct', 'a plain store''s run is written directly');
SELECT isnt(pg_temp.stmt('ri-2'), NULL, '(its twin by the statement)');
SELECT is(pg_temp.row_of('ri-1'), pg_temp.row_of('ri-2'), 'the same row as the statement''s, defaults and all');
SELECT is(pg_temp.row_of('ri-1') ->> 'status', 'RUNNING', 'RUNNING, the status''s default');

-- its index entries: found through each index, and every btree holds exactly the heap's rows
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is(durable._find_open_run('default', 'ri-1'), (SELECT run_id FROM durable.workflows WHERE workflow_id = 'ri-1'),
          'the open run of its id (workflows_one_open_run)');
SELECT is((SELECT count(*) FROM durable.workflows WHERE deadline_at = '2026-01-02 04:04:05+00' AND status = 'RUNNING'),
          2::bigint, 'found by its deadline (workflows_deadline)');
SELECT ok((SELECT string_agg(l, ' ') FROM pg_temp.plan_of(
              $$SELECT count(*) FROM durable.workflows WHERE deadline_at = '2026-01-02 04:04:05+00' AND status = 'RUNNING'$$) l)
          ~ 'workflows_deadline', '(read through that index)');
SELECT is((SELECT count(*) FROM durable.workflows WHERE parent_run_id = '00000000-0000-0000-0000-0000000000aa'),
          2::bigint, 'found as a child (workflows_children)');
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT lives_ok($$SELECT bt_index_check(i.indexrelid, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                   JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = 'durable.workflows'::regclass AND a.amname = 'btree'$$,
                'every btree index of workflows holds its rows (amcheck, heapallindexed)');

-- an open run of the id: left to the statement, which does nothing
SELECT is(pg_temp.path('ri-1'), 'statement: none', 'an open run of the id: the statement, which inserts nothing');
SELECT is(pg_temp.runs('ri-1'), 1::bigint, 'one run still');
SELECT is(pg_temp.stmt('ri-1'), NULL, '(the statement does nothing)');
SELECT lives_ok($$SELECT bt_index_check('durable.workflows_one_open_run', true)$$,
                '(the taken-back row left the arbiter whole)');
UPDATE durable.workflows SET status = 'COMPLETED', closed_at = now() WHERE workflow_id = 'ri-1';
SELECT is(pg_temp.path('ri-1'), 'direct', 'the id''s run closed: a new run written directly');
SELECT is(pg_temp.runs('ri-1'), 2::bigint, 'beside the closed one');

-- search attributes: durable's trigger indexes them, so the statement writes the run
SELECT is(pg_temp.path('ri-sa', '{"k": "v"}'), 'statement', 'search attributes: by the statement');
SELECT isnt(pg_temp.stmt('ri-sa2', '{"k": "v"}'), NULL, '(its twin by the statement)');
SELECT is(pg_temp.row_of('ri-sa'), pg_temp.row_of('ri-sa2'), 'the same row');
SELECT ok(EXISTS (SELECT 1 FROM durable.workflows WHERE search_attributes @> '{"k": "v"}' AND workflow_id = 'ri-sa'),
          'and its trigger indexed them');

-- a CHECK that fails: the statement, with its error
SELECT throws_ok($$SELECT pg_temp.ins('ri-chk', '{}', 'NEVER')$$, '23514',
                 'new row for relation "workflows" violates check constraint "workflows_parent_close_policy_check"',
                 'a CHECK the row fails: the statement''s error');
SELECT throws_ok($$SELECT pg_temp.stmt('ri-chk', '{}', 'NEVER')$$, '23514',
                 'new row for relation "workflows" violates check constraint "workflows_parent_close_policy_check"',
                 '(the statement''s own)');
SELECT is(pg_temp.runs('ri-chk'), 0::bigint, 'having written nothing');

-- an operator's CHECK on a given column: read on each row
ALTER TABLE durable.workflows ADD CONSTRAINT operator_queue CHECK (task_queue <> 'forbidden') NOT VALID;
SELECT is(pg_temp.path('ri-chk2'), 'direct', 'an operator''s CHECK the row passes: written directly');
SELECT throws_ok($$SELECT durable._insert_run(gen_random_uuid(), 'default', 'ri-chk3', 'W', 'forbidden', NULL, '{}', '{}',
                              gen_random_uuid(), NULL, NULL, NULL, NULL, 'TERMINATE', now(), now(), NULL, NULL,
                              '10 s', NULL, NULL, NULL, 3::smallint, '', 1, 1, NULL)$$,
          '23514', 'new row for relation "workflows" violates check constraint "operator_queue"',
          'one it fails: the statement''s error');
ALTER TABLE durable.workflows DROP CONSTRAINT operator_queue;

-- a null where the table refuses one
SELECT throws_ok($$SELECT durable._insert_run(gen_random_uuid(), 'default', 'ri-null', NULL, 'riq', NULL, '{}', '{}',
                              gen_random_uuid(), NULL, NULL, NULL, NULL, 'TERMINATE', now(), now(), NULL, NULL,
                              '10 s', NULL, NULL, NULL, 3::smallint, '', 1, 1, NULL)$$,
          '23502', NULL, 'a null workflow type: the statement''s error');
SELECT is(pg_temp.runs('ri-null'), 0::bigint, 'having written nothing');

-- an operator's trigger on INSERT, of either timing or level: the statement's
CREATE TEMP TABLE fired (wid text, level text);
CREATE FUNCTION pg_temp.record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO fired VALUES (CASE WHEN TG_LEVEL = 'ROW' THEN NEW.workflow_id END, TG_LEVEL);
    RETURN NEW;
END
$$;
CREATE TRIGGER operator_before BEFORE INSERT ON durable.workflows FOR EACH ROW EXECUTE FUNCTION pg_temp.record();
SELECT is(pg_temp.path('ri-trig'), 'statement', 'an operator''s BEFORE INSERT trigger: the statement''s');
SELECT lives_ok($$SELECT durable.start_workflow('ri-trig-s', 'W', 'riq')$$, 'a start too');
SELECT is((SELECT array_agg(wid ORDER BY wid) FROM fired), ARRAY['ri-trig', 'ri-trig-s'], 'whose trigger fires');
DROP TRIGGER operator_before ON durable.workflows;
SELECT is(pg_temp.path('ri-trig2'), 'direct', 'the trigger dropped: written directly again (the session noticed)');
CREATE TRIGGER operator_after AFTER INSERT ON durable.workflows FOR EACH ROW EXECUTE FUNCTION pg_temp.record();
SELECT is(pg_temp.path('ri-trig3'), 'statement', 'an AFTER INSERT row trigger: the statement''s');
SELECT is((SELECT count(*) FROM fired WHERE wid = 'ri-trig3'), 1::bigint, '(which fired)');
DROP TRIGGER operator_after ON durable.workflows;
CREATE TRIGGER operator_statement AFTER INSERT ON durable.workflows FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.record();
SELECT is(pg_temp.path('ri-trig4'), 'statement', 'a statement trigger on INSERT: the statement''s');
SELECT is((SELECT count(*) FROM fired WHERE level = 'STATEMENT'), 1::bigint, '(which fired)');
DROP TRIGGER operator_statement ON durable.workflows;
CREATE TRIGGER operator_update AFTER UPDATE ON durable.workflows FOR EACH ROW EXECUTE FUNCTION pg_temp.record();
SELECT is(pg_temp.path('ri-trig5'), 'direct', 'a trigger on UPDATE only: still written directly');
DROP TRIGGER operator_update ON durable.workflows;
-- durable's own with another condition no longer says when it fires
ALTER TABLE durable.workflows DISABLE TRIGGER workflows_index_search_attributes_insert;
SELECT is(pg_temp.path('ri-trig6'), 'direct', 'durable''s own trigger disabled: written directly');
ALTER TABLE durable.workflows ENABLE TRIGGER workflows_index_search_attributes_insert;
CREATE TRIGGER operator_when AFTER INSERT ON durable.workflows FOR EACH ROW
    WHEN (NEW.memo <> '{}') EXECUTE FUNCTION pg_temp.record();
SELECT is(pg_temp.path('ri-trig7'), 'statement', 'a trigger with a WHEN on another column: the statement''s');
SELECT is((SELECT count(*) FROM fired WHERE wid = 'ri-trig7'), 1::bigint, '(which fired)');
DROP TRIGGER operator_when ON durable.workflows;

-- a rule, row security
CREATE TEMP TABLE ruled (wid text);
CREATE RULE operator_rule AS ON INSERT TO durable.workflows WHERE NEW.task_queue = 'ruled'
    DO ALSO INSERT INTO ruled VALUES (NEW.workflow_id);
SELECT throws_ok($$SELECT pg_temp.ins('ri-rule')$$, '0A000', NULL,
                 'a rule: the statement''s (which refuses ON CONFLICT on a table with rules)');
SELECT is(pg_temp.runs('ri-rule'), 0::bigint, 'having written nothing');
DROP RULE operator_rule ON durable.workflows;
ALTER TABLE durable.workflows ENABLE ROW LEVEL SECURITY;
SELECT is(pg_temp.path('ri-rls'), 'statement', 'row security: the statement''s');
ALTER TABLE durable.workflows DISABLE ROW LEVEL SECURITY;

-- an operator's column: its constant default written, as the statement; one not constant: the statement's
ALTER TABLE durable.workflows ADD COLUMN operator_note text DEFAULT 'noted';
SELECT is(pg_temp.path('ri-col'), 'direct', 'an operator''s column with a constant default: written directly');
SELECT is((SELECT operator_note FROM durable.workflows WHERE workflow_id = 'ri-col'), 'noted', 'with its default');
ALTER TABLE durable.workflows ALTER COLUMN operator_note SET DEFAULT now()::text;
SELECT is(pg_temp.path('ri-col2'), 'statement', 'a default that is not a constant: the statement''s');
SELECT is((SELECT operator_note IS NOT NULL FROM durable.workflows WHERE workflow_id = 'ri-col2'), true, '(which set it)');
ALTER TABLE durable.workflows DROP COLUMN operator_note;
SELECT is(pg_temp.path('ri-col3'), 'direct', 'the column dropped: written directly');
-- an operator's column of a domain, left out: the executor coerces its null (or default) to the
-- domain, checking the domain's constraints, which change without any change of the table
CREATE DOMAIN public.ri_operator_tag AS text;
ALTER TABLE durable.workflows ADD COLUMN operator_tag public.ri_operator_tag;
SELECT isnt(pg_temp.ins('ri-dom'), NULL, 'an operator''s column of a domain: the run written');
ALTER DOMAIN public.ri_operator_tag ADD CONSTRAINT tagged CHECK (VALUE IS NOT NULL) NOT VALID;
SELECT throws_ok($$SELECT pg_temp.ins('ri-dom2')$$, '23514',
                 'value for domain ri_operator_tag violates check constraint "tagged"',
                 'a constraint the domain gained since, which the null fails: the statement''s error');
SELECT throws_ok($$SELECT durable.start_workflow('ri-dom3', 'W', 'riq')$$, '23514',
                 'value for domain public.ri_operator_tag violates check constraint "tagged"',
                 'a start''s too (under its search_path)');
SELECT is(pg_temp.runs('ri-dom2') + pg_temp.runs('ri-dom3'), 0::bigint, 'having written nothing');
ALTER TABLE durable.workflows DROP COLUMN operator_tag;
DROP DOMAIN public.ri_operator_tag;
-- a given column with a type modifier: the statement coerces the value to it (rounds a time to the second)
ALTER TABLE durable.workflows ALTER COLUMN started_at TYPE timestamptz(0);
SELECT isnt(durable._insert_run(gen_random_uuid(), 'default', 'ri-mod', 'W', 'riq', NULL, '{}', '{}',
                                gen_random_uuid(), NULL, NULL, NULL, NULL, 'TERMINATE', now(), '2026-01-02 03:04:05.6+00',
                                NULL, NULL, '10 s', NULL, NULL, NULL, 3::smallint, '', 1, 1, NULL), NULL,
            'a column of timestamptz(0): the run written');
SELECT is((SELECT started_at FROM durable.workflows WHERE workflow_id = 'ri-mod'), '2026-01-02 03:04:06+00'::timestamptz,
          'its time as the column holds it, rounded as the statement rounds it');
SELECT lives_ok($$SELECT durable.start_workflow('ri-mod2', 'W', 'riq')$$, 'a start');
SELECT is((SELECT extract(microseconds FROM started_at)::bigint % 1000000 FROM durable.workflows WHERE workflow_id = 'ri-mod2'),
          0::bigint, 'its time rounded too');
ALTER TABLE durable.workflows ALTER COLUMN started_at TYPE timestamptz;

-- indexes: an operator's partial index filled; an expression index, another unique index on the id: the statement's
CREATE INDEX operator_fk ON durable.workflows (fairness_key) WHERE fairness_key = 'fk';
SELECT is(pg_temp.path('ri-idx'), 'direct', 'an operator''s partial index: written directly');
SELECT lives_ok($$SELECT bt_index_check('durable.operator_fk', true)$$, 'and the index holds its rows (amcheck)');
SELECT is((SELECT count(*) FROM durable.workflows WHERE fairness_key = 'fk' AND workflow_id = 'ri-idx'), 1::bigint,
          'found by it');
DROP INDEX durable.operator_fk;
CREATE INDEX operator_expr ON durable.workflows (lower(workflow_id));
SELECT is(pg_temp.path('ri-idx2'), 'statement', 'an index on an expression: the statement''s');
DROP INDEX durable.operator_expr;
CREATE UNIQUE INDEX operator_unique_id ON durable.workflows (workflow_id, namespace) WHERE status = 'RUNNING';
SELECT is(pg_temp.path('ri-idx3'), 'statement', 'another unique index on the id''s columns: the statement''s');
DROP INDEX durable.operator_unique_id;
SELECT is(pg_temp.path('ri-idx4'), 'direct', 'dropped: written directly');

-- the rights: a role without INSERT on the table (a SECURITY DEFINER caller of the operator's)
CREATE ROLE ri_test_role;
GRANT USAGE ON SCHEMA durable TO ri_test_role;
GRANT SELECT ON durable.workflows TO ri_test_role;
GRANT EXECUTE ON FUNCTION durable._insert_run(uuid, text, text, text, text, jsonb, jsonb, jsonb, uuid, uuid, uuid,
    text, bigint, text, timestamptz, timestamptz, interval, interval, interval, timestamptz, text, interval, smallint,
    text, float8, integer, jsonb) TO ri_test_role;
GRANT EXECUTE ON FUNCTION pg_temp.ins(text, jsonb, text, uuid) TO ri_test_role;
SET LOCAL ROLE ri_test_role;
SELECT throws_ok($$SELECT pg_temp.ins('ri-role')$$, '42501', 'permission denied for table workflows',
                 'a role without INSERT: the statement''s error');
RESET ROLE;
SELECT is(pg_temp.runs('ri-role'), 0::bigint, 'having written nothing');

-- as a replica (session_replication_role): the statement's
SET LOCAL session_replication_role = replica;
SELECT is(pg_temp.path('ri-replica'), 'statement', 'session_replication_role = replica: the statement''s');
RESET session_replication_role;

-- read-only: the executor's error
SAVEPOINT read_only;
SET LOCAL transaction_read_only = on;
SELECT throws_ok($$SELECT pg_temp.ins('ri-ro')$$, '25006', NULL, 'a read-only transaction: the executor''s error');
ROLLBACK TO read_only;

-- a start, a child's start, a retried start: through the direct write, with the same history as before
SELECT lives_ok($$SELECT durable.start_workflow('ri-start', 'W', 'riq2', '{"a": 1}',
                  '{"memo": {"m": 1}, "execution_timeout": 60, "priority": 2, "request_id": "r1"}')$$, 'a start');
SELECT is(durable.start_workflow('ri-start', 'W', 'riq2', '{"a": 1}',
                  '{"memo": {"m": 1}, "execution_timeout": 60, "priority": 2, "request_id": "r1"}'),
          pg_temp.latest_run('ri-start'), 'its retry gets the same run');
SELECT is(pg_temp.runs('ri-start'), 1::bigint, 'one run');
SELECT is(pg_temp.types('ri-start'), ARRAY['WorkflowExecutionStarted', 'WorkflowTaskScheduled'], 'its history');
SELECT throws_ok($$SELECT durable.start_workflow('ri-start', 'W', 'riq2')$$, 'DU002', NULL,
                 'a second start of the open id: already started');
SELECT is((SELECT memo FROM durable.workflows WHERE workflow_id = 'ri-start'), '{"m": 1}'::jsonb, 'its memo');
SELECT isnt((SELECT deadline_at FROM durable.workflows WHERE workflow_id = 'ri-start'), NULL, 'its deadline');

SELECT * FROM finish();
ROLLBACK;
