-- durable._start_run (api/88_run_start.sql, pgext/src/run_start.c), the
-- run start_workflow creates, in C when the options need no parsing,
-- against durable._create_run (api/03_start.sql) on the same inputs: twin
-- runs, one by each, with the same input, options and namespace, each on a
-- queue of its own; the same row, history, workflow task and namespace row
-- (but ids and the queue's name), the same answer (NULL for an id with an
-- open run), the same error. Which way a start went shows in
-- track_functions: _create_run called, or not.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
SELECT pg_temp.hold_clock();
SET LOCAL track_functions = 'all';

CREATE FUNCTION pg_temp.create_run_calls() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions
     WHERE schemaname = 'durable' AND funcname = '_create_run'
$$;
-- What a run wrote, but for what names it (its id, the workflow id, the queue): its row, its history,
-- its workflow task.
CREATE FUNCTION pg_temp.wrote(run uuid, queue text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT replace(jsonb_build_object(
        'row', (SELECT to_jsonb(w) - 'run_id' - 'first_run_id' - 'workflow_id' FROM durable.workflows w WHERE w.run_id = run),
        'first_run', (SELECT w.first_run_id = w.run_id FROM durable.workflows w WHERE w.run_id = run),
        'history', (SELECT jsonb_agg(jsonb_build_object('id', h.event_id, 'type', h.event_type,
                                                        -- (the start event's time is the run's; the next one's is the C clock's, not held)
                                                        'time', CASE WHEN h.event_id = 1 THEN h.event_time END,
                                                        'attributes', h.attributes - 'first_execution_run_id',
                                                        'first', h.attributes ->> 'first_execution_run_id' = run::text)
                                     ORDER BY h.event_id)
                      FROM durable.history h WHERE h.run_id = run),
        'tasks', (SELECT jsonb_agg(to_jsonb(t) - 'task_id' - 'run_id' ORDER BY t.task_id)
                    FROM durable.workflow_tasks t WHERE t.run_id = run))::text, queue, 'QUEUE')::jsonb
$$;
-- A start of case c by each: 'same' when both answered alike and wrote the same, and which way the
-- C one went ('c' or '_create_run'); else what differs.
CREATE FUNCTION pg_temp.twin(c text, input jsonb, options jsonb, ns text DEFAULT 'default') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    before bigint := pg_temp.create_run_calls();
    a uuid := durable._start_run(ns, 'rs-c-' || c, 'W', 'rsq-c-' || c, input, options);
    way text := CASE WHEN pg_temp.create_run_calls() = before THEN 'c' ELSE '_create_run' END;
    b uuid := durable._create_run(ns, 'rs-p-' || c, 'W', 'rsq-p-' || c, input, options);
    wa jsonb := pg_temp.wrote(a, 'rsq-c-' || c);
    wb jsonb := pg_temp.wrote(b, 'rsq-p-' || c);
BEGIN
    IF (a IS NULL) <> (b IS NULL) THEN
        RETURN format('answers %s, %s', a, b);
    END IF;
    IF wa IS DISTINCT FROM wb THEN
        RETURN format('C wrote %s, _create_run %s', wa, wb);
    END IF;
    RETURN 'same, ' || way;
END
$$;
-- the common path, in C
SELECT is(pg_temp.twin('plain', NULL, '{}'), 'same, c', 'no input, no options: the same run, in C');
SELECT is(pg_temp.twin('scalar', '42', '{}'), 'same, c', 'a scalar input');
SELECT is(pg_temp.twin('string', '"s"', '{}'), 'same, c', 'a string input');
SELECT is(pg_temp.twin('jnull', 'null', '{}'), 'same, c', 'a JSON null input');
SELECT is(pg_temp.twin('object', '{"a": [1, 2.5, {"b": null}], "c": "d"}', '{}'), 'same, c', 'an object input');
SELECT is(pg_temp.twin('identity', '[1]', '{"identity": "me"}'), 'same, c', 'an identity');
SELECT is(pg_temp.twin('identity-null', NULL, '{"identity": null}'), 'same, c', 'a null identity');
SELECT is(pg_temp.twin('request', NULL, '{"request_id": "r-1"}'), 'same, c', 'a request id');
SELECT is(pg_temp.twin('request-null', NULL, '{"request_id": null}'), 'same, c', 'a null request id');
SELECT is(pg_temp.twin('memo', NULL, '{"memo": {"m": 1}}'), 'same, c', 'a memo');
SELECT is(pg_temp.twin('memo-null', NULL, '{"memo": null}'), 'same, c', 'a JSON null memo');
SELECT is(pg_temp.twin('sa-empty', NULL, '{"search_attributes": {}}'), 'same, c', 'empty search attributes');
SELECT is(pg_temp.twin('sa', NULL, '{"search_attributes": {"CustomKeywordField": "k", "n": 3}}'), 'same, c',
          'search attributes (the row by its statement, indexed by the trigger)');
SELECT is((SELECT count(*) FROM durable.search_attribute_values s JOIN durable.workflows w USING (run_id)
            WHERE w.workflow_id = 'rs-c-sa'),
          (SELECT count(*) FROM durable.search_attribute_values s JOIN durable.workflows w USING (run_id)
            WHERE w.workflow_id = 'rs-p-sa'), '(both indexed alike)');
SELECT is(pg_temp.twin('policies', NULL, '{"id_reuse_policy": "REJECT_DUPLICATE", "id_conflict_policy": "FAIL"}'),
          'same, c', 'the start''s own policies (not _create_run''s)');
SELECT is(pg_temp.twin('all', '{"x": 1}', '{"identity": "i", "request_id": "r", "memo": {"a": "b"}, "search_attributes": {}}'),
          'same, c', 'every option it takes');
SELECT is(pg_temp.twin('ns', '1', '{}', 'rs-new-ns'), 'same, c', 'a namespace''s first runs');
SELECT is((SELECT count(*) FROM durable.namespaces WHERE namespace = 'rs-new-ns'), 1::bigint, '(which has its row)');
SELECT durable.skip_time('rs-clock', '1 day');
SELECT is(pg_temp.twin('clock', NULL, '{}', 'rs-clock'), 'same, c', 'a namespace whose clock was skipped');
SELECT is((SELECT started_at FROM durable.workflows WHERE workflow_id = 'rs-c-clock'), durable.now() + interval '1 day',
          '(started on its clock)');
SELECT is((SELECT event_time FROM durable.history h JOIN durable.workflows w USING (run_id)
            WHERE w.workflow_id = 'rs-c-clock' AND h.event_id = 1), durable.now() + interval '1 day',
          '(its start event too)');

-- a namespace's row, seen once committed (pgext/src/namespace_seen.c), is written again when an
-- operator deleted it: in the same transaction, and (tests/concurrency) in another backend
CREATE FUNCTION pg_temp.ns_rows(ns text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM durable.namespaces WHERE namespace = ns
$$;
SELECT isnt(durable._start_run('default', 'rs-ns-1', 'W', 'rsq-ns', NULL, '{}'), NULL, 'a start in default');
SELECT is(pg_temp.ns_rows('default'), 1::bigint, '(whose row is there)');
DELETE FROM durable.namespaces WHERE namespace = 'default';
SELECT isnt(durable._start_run('default', 'rs-ns-2', 'W', 'rsq-ns', NULL, '{}'), NULL, 'a start after its row was deleted');
SELECT is(pg_temp.ns_rows('default'), 1::bigint, '(writes the row again)');
TRUNCATE durable.namespaces;
SELECT isnt(durable._start_run('default', 'rs-ns-3', 'W', 'rsq-ns', NULL, '{}'), NULL, 'a start after a truncate');
SELECT is(pg_temp.ns_rows('default'), 1::bigint, '(writes it again too)');
SAVEPOINT ns;
SELECT isnt(durable._start_run('rs-ns-rolled', 'rs-ns-4', 'W', 'rsq-ns', NULL, '{}'), NULL, 'a new namespace''s first start');
ROLLBACK TO ns;
SELECT isnt(durable._start_run('rs-ns-rolled', 'rs-ns-5', 'W', 'rsq-ns', NULL, '{}'), NULL, '(rolled back) and again');
SELECT is(pg_temp.ns_rows('rs-ns-rolled'), 1::bigint, '(whose row, its own, is written again)');
SELECT is((SELECT tgfoid::regprocedure::text FROM pg_trigger WHERE tgname = 'namespaces_forget_seen'),
          'durable._namespaces_changed()', 'the trigger that makes backends forget');

-- an operator's trigger that changes the run's queue as it is inserted: the row is then the statement's,
-- and its first workflow task goes to the queue the row holds (read from it, as _schedule_workflow_task did)
CREATE FUNCTION public.rs_move_queue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.task_queue := NEW.task_queue || '-moved';
    RETURN NEW;
END
$$;
CREATE TRIGGER rs_move_queue BEFORE INSERT ON durable.workflows
    FOR EACH ROW WHEN (NEW.workflow_id LIKE 'rs-_-moved') EXECUTE FUNCTION public.rs_move_queue();
SELECT is(pg_temp.twin('moved', NULL, '{}'), 'same, c', 'an operator''s trigger that moves the run to another queue');
SELECT is((SELECT t.task_queue FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id)
            WHERE w.workflow_id = 'rs-c-moved'), 'rsq-c-moved-moved', '(its workflow task is on the moved queue)');
DROP TRIGGER rs_move_queue ON durable.workflows;

-- an id with an open run: NULL, nothing written
SELECT is(pg_temp.twin('plain', '7', '{}'), 'same, c', 'an id whose run is open: NULL from both');
SELECT is((SELECT count(*) FROM durable.workflows WHERE workflow_id IN ('rs-c-plain', 'rs-p-plain')), 2::bigint,
          '(no second run)');

-- everything else is _create_run's (one assertion a case, in this order)
SELECT is(pg_temp.twin(c, NULL, options), 'same, _create_run', what)
  FROM (VALUES ('exec', '{"execution_timeout": "1 hour"}'::jsonb, 'an execution timeout'),
               ('runt', '{"run_timeout": 60}', 'a run timeout'),
               ('taskt', '{"task_timeout": "5 s"}', 'a task timeout'),
               ('delay', '{"start_delay": "1 minute"}', 'a start delay'),
               ('retry', '{"retry_policy": {"maximum_attempts": 3}}', 'a retry policy'),
               ('prio', '{"priority": 2}', 'a priority'),
               ('fkey', '{"fairness_key": "k"}', 'a fairness key'),
               ('fw', '{"fairness_weight": 2}', 'a fairness weight'),
               ('prio-null', '{"priority": null}', 'a null priority'),
               ('id-num', '{"identity": 5}', 'an identity that is no string'),
               ('req-obj', '{"request_id": {"a": 1}}', 'a request id that is no string'),
               ('array', '[]', 'options that are no object'),
               ('scalar-opts', '3', 'options that are a scalar'),
               ('null-opts', NULL, 'no options at all')) AS cases(c, options, what);

-- errors: the same
SET LOCAL durable.max_payload_bytes = 100;
SELECT is(pg_temp.error_of($$SELECT durable._start_run('default', 'rs-big', 'W', 'q', to_jsonb(repeat('x', 200)), '{}')$$),
          pg_temp.error_of($$SELECT durable._create_run('default', 'rs-big', 'W', 'q', to_jsonb(repeat('x', 200)), '{}')$$),
          'an input too large: the same error');
SELECT is((pg_temp.error_of($$SELECT durable._start_run('default', 'rs-big', 'W', 'q', to_jsonb(repeat('x', 200)), '{}')$$))[1:2],
          ARRAY['54000', 'workflow input is too large'], '(program_limit_exceeded)');
RESET durable.max_payload_bytes;
SELECT is(pg_temp.error_of($$SELECT durable._start_run('default', 'rs-deep', 'W', 'q', repeat('[', 130)::jsonb, '{}')$$),
          pg_temp.error_of($$SELECT durable._create_run('default', 'rs-deep', 'W', 'q', repeat('[', 130)::jsonb, '{}')$$),
          'an input nested too deeply: the same error');
SELECT is(pg_temp.error_of($$SELECT durable._start_run('default', 'rs-prio', 'W', 'q', NULL, '{"priority": 9}')$$),
          pg_temp.error_of($$SELECT durable._create_run('default', 'rs-prio', 'W', 'q', NULL, '{"priority": 9}')$$),
          'a bad priority: _create_run''s error');
SELECT is((pg_temp.error_of($$SELECT durable._start_run(NULL, 'rs-nons', 'W', 'q', NULL, '{}')$$))[1:2],
          (pg_temp.error_of($$SELECT durable._create_run(NULL, 'rs-nons', 'W', 'q', NULL, '{}')$$))[1:2],
          'no namespace: _create_run''s error (its detail names the run)');

-- start_workflow goes through it
CREATE TEMP TABLE calls AS SELECT pg_temp.create_run_calls() AS n;
SELECT isnt(durable.start_workflow('rs-sw', 'W', 'rsq-sw', '{"a": 1}'), NULL, 'start_workflow starts a run');
SELECT is(pg_temp.create_run_calls(), (SELECT n FROM calls), '(in C: no _create_run)');
SELECT is(pg_temp.types('rs-sw'), ARRAY['WorkflowExecutionStarted', 'WorkflowTaskScheduled'], '(its start''s events)');
SELECT is(durable.start_workflow('rs-sw', 'W', 'rsq-sw', NULL, '{"id_conflict_policy": "USE_EXISTING"}'),
          (SELECT run_id FROM durable.workflows WHERE workflow_id = 'rs-sw'), 'and finds it open');
SELECT is((pg_temp.error_of($$SELECT durable.start_workflow('rs-sw', 'W', 'rsq-sw')$$))[1], 'DU002',
          'or refuses a second start (DU002)');

-- start_workflow in C (its common path) against its plpgsql body, _start_workflow: twin starts, the
-- same answer, rows and events, or the same error; which way it went shows in _start_workflow's calls
CREATE FUNCTION pg_temp.body_calls() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions
     WHERE schemaname = 'durable' AND funcname = '_start_workflow'
$$;
CREATE FUNCTION pg_temp.sw_twin(c text, wid text, input jsonb, options jsonb, ns text DEFAULT 'default',
                                wtype text DEFAULT 'W') RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    before bigint := pg_temp.body_calls();
    a uuid := durable.start_workflow(wid, wtype, 'swq-c-' || c, input, options, ns);
    way text := CASE WHEN pg_temp.body_calls() = before THEN 'c' ELSE '_start_workflow' END;
    b uuid := durable._start_workflow(wid || '-p', wtype, 'swq-p-' || c, input, options, ns, 1);
    wa jsonb := pg_temp.wrote(a, 'swq-c-' || c);
    wb jsonb := pg_temp.wrote(b, 'swq-p-' || c);
BEGIN
    IF wa IS DISTINCT FROM wb THEN
        RETURN format('C wrote %s, plpgsql %s', wa, wb);
    END IF;
    RETURN 'same, ' || way;
END
$$;
-- the error of a start by each: the same one, or both
CREATE FUNCTION pg_temp.sw_error(wid text, wtype text, queue text, options jsonb, ns text) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    a text[] := pg_temp.error_of(format('SELECT durable.start_workflow(%L, %L, %L, NULL, %L, %L)',
                                        wid, wtype, queue, options, ns));
    b text[] := pg_temp.error_of(format('SELECT durable._start_workflow(%L, %L, %L, NULL, %L, %L, 1)',
                                        wid, wtype, queue, options, ns));
BEGIN
    RETURN CASE WHEN a IS NOT DISTINCT FROM b THEN a ELSE ARRAY['differ'] || a || b END;
END
$$;
SELECT is(pg_temp.sw_twin('plain', 'sw-plain', NULL, '{}'), 'same, c', 'start_workflow: a plain start, in C');
SELECT is(pg_temp.sw_twin('input', 'sw-input', '{"a": 1}', NULL), 'same, c', 'null options (as {}), an input');
SELECT is(pg_temp.sw_twin('ns', 'sw-ns', '2', '{}', 'sw-ns.x_y'), 'same, c', 'another namespace');
SELECT is(pg_temp.sw_twin('type', 'sw-type', NULL, '{}', 'default', 'A type/with ünïcode'), 'same, c',
          'a workflow type of any characters');
SELECT is(pg_temp.sw_twin('opts', 'sw-opts', NULL, '{"identity": "me"}'), 'same, _start_workflow', 'options: plpgsql');
SELECT is(pg_temp.sw_twin('uni', 'sw-ünï', NULL, '{}'), 'same, _start_workflow', 'an id beyond ASCII: plpgsql');
SELECT is(pg_temp.sw_twin('dot', '.sw', NULL, '{}', '.'), 'same, _start_workflow', 'the namespace "." : plpgsql');
SELECT is(pg_temp.sw_twin('long', repeat('l', 253), NULL, '{}'), 'same, c', 'an id of 253 bytes (and its twin''s 255)');
SELECT is(pg_temp.sw_error('sw-plain', 'W', 'swq-c-plain', '{}', 'default'),
          ARRAY['DU002', 'workflow "sw-plain" already started',
                format('workflow sw-plain is already running as run %s.',
                       (SELECT run_id FROM durable.workflows WHERE workflow_id = 'sw-plain')),
                'Signal or wait for the running workflow, or choose another workflow_id, id_conflict_policy (USE_EXISTING, TERMINATE_EXISTING) or id_reuse_policy.'],
          'an id whose run is open: DU002, from either');
SELECT is(pg_temp.sw_error(wid, wtype, queue, '{}', ns), (pg_temp.error_of(format(
              'SELECT durable._start_workflow(%L, %L, %L, NULL, %L, %L, 1)', wid, wtype, queue, '{}', ns)))::text[],
          format('the same error for %s, %s, %s, %s', wid, wtype, queue, ns))
  FROM (VALUES ('', 'W', 'q', 'default'), ('.', 'W', 'q', 'default'), ('..', 'W', 'q', 'default'),
               ('a/b', 'W', 'q', 'default'), (E'a\tb', 'W', 'q', 'default'), (repeat('x', 256), 'W', 'q', 'default'),
               ('ok', '', 'q', 'default'), ('ok', repeat('t', 256), 'q', 'default'), ('ok', 'W', '', 'default'),
               ('ok', 'W', '..', 'default'), ('ok', 'W', 'q/r', 'default'), ('ok', 'W', 'q', ''),
               ('ok', 'W', 'q', 'a/b'), ('ok', 'W', 'q', repeat('n', 256)), (NULL, 'W', 'q', 'default'),
               ('ok', NULL, 'q', 'default'), ('ok', 'W', NULL, 'default'), ('ok', 'W', 'q', NULL)) v(wid, wtype, queue, ns);
SELECT is(pg_temp.sw_error('ok', 'W', 'q', '{"id_reuse_policy": "NOPE"}', 'default'),
          pg_temp.error_of($$SELECT durable._start_workflow('ok', 'W', 'q', NULL, '{"id_reuse_policy": "NOPE"}', 'default', 1)$$),
          'bad options: the same error');
SELECT is(pg_temp.sw_error('ok', 'W', 'q', '[]', 'default'),
          pg_temp.error_of($$SELECT durable._start_workflow('ok', 'W', 'q', NULL, '[]', 'default', 1)$$),
          'options that are no object: the same error');
-- (_authorize's answers, through the C path: pgTAP 24_grants)

SELECT * FROM finish();
ROLLBACK;
