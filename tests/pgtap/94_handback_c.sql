-- The hand-back's end (_handback_take, pgext/src/handback_take.c), a run's
-- next workflow task (_schedule_workflow_task, schedule_task.c) and a
-- queue's notification (_notify, notify.c) in C, against the plpgsql bodies
-- they replaced (session 12), kept below and put in place of the C for the
-- twin of each case (CREATE OR REPLACE, undone with the file's
-- transaction). Each case runs on queues of its own, once through the C
-- and once through the plpgsql, and what each wrote and returned is the
-- same but for ids, times and names: the rows the hand-back returned, in
-- their order (type, attempt, started event, the history sent), the
-- histories (types and attributes), and the task rows (state, attempt,
-- events, fence, identity, build id, priority, fairness key, pass, lease).
-- Cases: six tasks of mixed priorities, keys and weights, all taken; fewer
-- slots than tasks (inserted SCHEDULED, then polled); two outcomes of one
-- run; a worker's cached events and sticky name; a versioned queue, this
-- build's and another's; a task ready before; a start (not a hand-back);
-- a second attempt scheduled directly. _notify: the same error for a null
-- (the channels: tests/concurrency/notify_channel.sh).
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
\ir activities.psql
SELECT pg_temp.hold_clock();

-- The C definitions, to put back; the plpgsql ones, as api/02_internal.sql
-- and api/76_handback.sql had them before session 12.
CREATE TEMP TABLE defs (variant text, ddl text);
INSERT INTO defs SELECT 'c', pg_get_functiondef(f::regprocedure)
  FROM unnest(ARRAY['durable._handback_take(uuid[],bigint[],timestamptz[],text,text,text,integer,jsonb,text,text)',
                    'durable._schedule_workflow_task(uuid,integer)', 'durable._notify(text,text,text)']) f;
INSERT INTO defs VALUES ('plpgsql', $ddl$
CREATE OR REPLACE FUNCTION durable._handback_take(runs uuid[], scheduled bigint[], scheduled_at timestamptz[],
                                                 namespace text, task_queue text, identity text,
                                                 slots integer, cached jsonb, build_id text, sticky text)
RETURNS TABLE (task_token text, workflow_id text, run_id uuid, workflow_type text,
               attempt integer, started_event_id bigint, history jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    n integer;
    rule_mode text;
    rule_build text;
    take boolean;
    t durable.workflows;
    keys text[] := '{}';       -- "<priority>/<key>" of the tasks placed
    key_last float8[] := '{}'; -- and each one's last pass
    head float8[];             -- by priority (1 to 5): the lowest pass
    k integer;
    j integer;
    ids bigint[];
    passes float8[];
    priorities smallint[];
    fairness_keys text[];
    workflow_ids text[];
    workflow_types text[];
    timeouts interval[];
    p float8;
    started bigint;
    now timestamptz;
    earliest timestamptz;
    called text;   -- helpers called as assignments (sql/README.md, "Calls")
BEGIN
    n := pg_catalog.cardinality(runs);
    take := n <= slots;
    IF take THEN
        SELECT r.mode, r.default_build_id INTO rule_mode, rule_build FROM durable._build_id_rules(namespace, task_queue) r;
        take := NOT EXISTS (SELECT 1 FROM durable.workflow_tasks wt
                             WHERE wt.namespace = namespace AND wt.task_queue = task_queue AND wt.state = 'SCHEDULED')
            AND NOT EXISTS (SELECT 1 FROM durable.workflow_pauses wp WHERE wp.run_id = ANY (runs))
            AND (rule_mode IS NULL
                 OR NOT EXISTS (SELECT 1 FROM durable.workflows w
                                 WHERE w.run_id = ANY (runs)
                                   AND build_id IS DISTINCT FROM CASE rule_mode WHEN 'PINNED'
                                       THEN coalesce(w.build_id, rule_build) ELSE rule_build END));
    END IF;
    IF NOT take THEN
        FOR i IN 1 .. n LOOP
            called := durable._insert_workflow_task(runs[i], namespace, task_queue, 1, scheduled[i],
                                                    scheduled_at[i])::text;
        END LOOP;
        RETURN;
    END IF;
    called := durable._record_poller(namespace, task_queue, 'workflow', identity)::text;
    now := durable.now();
    -- each task's place, in the order they were scheduled (each run read
    -- by its key, api/85_row_by_key.sql: a join on the array was planned as
    -- a scan of the runs)
    FOR i IN 1 .. n LOOP
        t := durable._workflow_row(runs[i]);
        k := pg_catalog.array_position(keys, t.priority::text || '/' || t.fairness_key);
        IF k IS NOT NULL THEN   -- the key's next: 1 / weight after its last
            p := key_last[k] + 1.0::float8 / t.fairness_weight;
            p := CASE WHEN p > 0 THEN p ELSE 0 END;
            key_last[k] := p;
        ELSE                    -- its first: at the head of its priority
            p := greatest(coalesce(head[t.priority], 0), 0);
            keys := keys || (t.priority::text || '/' || t.fairness_key);
            key_last := key_last || p;
        END IF;
        IF head[t.priority] IS NULL OR head[t.priority] > p THEN
            head[t.priority] := p;
        END IF;
        ids[i] := pg_catalog.nextval('durable.workflow_tasks_task_id_seq');
        passes[i] := p;
        priorities[i] := t.priority;
        fairness_keys[i] := t.fairness_key;
        workflow_ids[i] := t.workflow_id;
        workflow_types[i] := t.workflow_type;
        timeouts[i] := t.task_timeout;
    END LOOP;
    -- leased in the poll's order, as poll_workflow_tasks leases them
    FOR j IN SELECT u.i::integer FROM ROWS FROM (pg_catalog.unnest(priorities), pg_catalog.unnest(passes), pg_catalog.unnest(ids))
                              WITH ORDINALITY u(pr, pa, id, i)
              ORDER BY u.pr, u.pa, u.id LOOP
        started := durable._append(runs[j], 'WorkflowTaskStarted', pg_catalog.jsonb_build_object(
            'scheduled_event_id', scheduled[j], 'identity', identity, 'attempt', 1) || durable._build_id_attrs(build_id));
        -- INSERT INTO durable.workflow_tasks (task_id, run_id, namespace,
        -- task_queue, state, attempt, scheduled_event_id, started_event_id,
        -- fence, identity, scheduled_at, started_at, timeout_at, priority,
        -- fairness_key, pass, build_id) VALUES (..., 'STARTED', 1, ..., 1,
        -- ...), in C (api/80_task_insert.sql)
        called := durable._insert_workflow_task_leased(ids[j], runs[j], namespace, task_queue, scheduled[j], started,
            identity, scheduled_at[j], now, now + timeouts[j], priorities[j], fairness_keys[j], passes[j],
            build_id)::text;
        earliest := least(earliest, now + timeouts[j]);
        task_token := 'w' || ids[j] || '.1';
        workflow_id := workflow_ids[j];
        run_id := runs[j];
        workflow_type := workflow_types[j];
        attempt := 1;
        started_event_id := started;
        history := durable._history_json_sticky(runs[j], coalesce((cached ->> runs[j]::text)::bigint, 0), sticky);
        RETURN NEXT;
    END LOOP;
    called := durable._wake_at(earliest)::text;
END
$$;
$ddl$), ('plpgsql', $ddl$
CREATE OR REPLACE FUNCTION durable._schedule_workflow_task(run uuid, attempt integer DEFAULT 1)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    called text;   -- a helper called as an expression returns into it (sql/README.md, "Calls")
    -- the run's row by its key (api/85_row_by_key.sql), not a statement
    w durable.workflows := durable._workflow_row(run);
    scheduled bigint;
    task bigint;
    armed boolean;
BEGIN
    -- a hand-back (api/76_handback.sql) inserts the task at its end, leased
    -- to its worker when its poll would take it
    armed := durable._eager_armed(w.namespace || '/workflow' || E'\x1f' || w.task_queue);
    IF armed AND attempt = 1 THEN
        IF durable._handback_defer(run, w.namespace, w.task_queue, w.task_timeout) THEN
            RETURN;
        END IF;
    END IF;
    scheduled := durable._append(run, 'WorkflowTaskScheduled',
        jsonb_build_object('task_queue', w.task_queue,
                           'start_to_close_timeout', durable._seconds(w.task_timeout),
                           'attempt', attempt));
    -- INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue, state,
    -- attempt, scheduled_event_id, scheduled_at), in C (api/80_task_insert.sql)
    task := durable._insert_workflow_task(run, w.namespace, w.task_queue, attempt, scheduled, durable.now());
    -- a hand-back (api/76_handback.sql) polls the queue before its commit,
    -- and announces only what it leaves ready
    IF NOT armed THEN
        called := durable._notify('workflow', w.namespace, w.task_queue)::text;
    END IF;
END
$$;
$ddl$), ('plpgsql', $ddl$
CREATE OR REPLACE FUNCTION durable._notify(kind text, namespace text, task_queue text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    called text;   -- a helper called as an expression returns into it (sql/README.md, "Calls")
BEGIN
    called := pg_catalog.pg_notify(durable.task_queue_channel(kind, task_queue, namespace), '')::text;
END
$$;
$ddl$);
CREATE FUNCTION pg_temp.use(variant text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    d text;
BEGIN
    FOR d IN SELECT defs.ddl FROM defs WHERE defs.variant = use.variant LOOP
        EXECUTE d;
    END LOOP;
END
$$;

CREATE FUNCTION pg_temp.done(toks text[]) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(jsonb_build_object('task_token', t, 'result', 42) ORDER BY i)
      FROM unnest(toks) WITH ORDINALITY u(t, i)
$$;
-- A hand-back of toks' outcomes on queue q: its rows as a worker reads them
-- (the token's shape, not its id; the run by its workflow id).
CREATE FUNCTION pg_temp.handback(toks text[], q text, slots integer, cached jsonb DEFAULT NULL,
                                 build text DEFAULT NULL, sticky text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_array(h.kind, h.outcome, h.error, regexp_replace(h.task_token, '[0-9]+', 'N', 'g'),
                                                h.workflow_id, h.workflow_type, h.attempt, h.started_event_id,
                                                (SELECT jsonb_agg(jsonb_build_array(e -> 'event_id', e -> 'event_type',
                                                                                    (e -> 'attributes') - 'first_execution_run_id'))
                                                   FROM jsonb_array_elements(h.history) e),
                                                h.run_id = w.run_id) ORDER BY h.o), '[]')
      FROM (SELECT *, row_number() OVER () AS o
              FROM durable.complete_activity_tasks_eager(pg_temp.done(toks), 'hw', q, slots, 'default', cached, build,
                                                         sticky)) h
      LEFT JOIN durable.workflows w ON w.workflow_id = h.workflow_id
$$;
-- What the runs of workflow ids starting with prefix hold: histories and task rows.
CREATE FUNCTION pg_temp.held(prefix text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(jsonb_build_object(
        'run', w.workflow_id,
        'history', (SELECT jsonb_agg(jsonb_build_array(h.event_id, h.event_type,
                                                       h.attributes - 'first_execution_run_id') ORDER BY h.event_id)
                      FROM durable.history h WHERE h.run_id = w.run_id),
        'task', (SELECT to_jsonb(wt) - 'task_id' - 'run_id' - 'scheduled_at' - 'started_at' - 'timeout_at'
                        || jsonb_build_object('lease', (wt.timeout_at - wt.started_at)::text)
                   FROM durable.workflow_tasks wt WHERE wt.run_id = w.run_id)) ORDER BY w.workflow_id)
      FROM durable.workflows w WHERE w.workflow_id LIKE prefix || '%'
$$;
-- The cases, with names and queues under prefix; what they returned and wrote, prefix made P.
CREATE FUNCTION pg_temp.cases(p text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    got jsonb := '{}';
    toks text[];
    r uuid;
BEGIN
    -- 1. six tasks of mixed priorities, keys and weights, all taken
    toks := pg_temp.activity_runs(p || '1-', p || 'q1', ARRAY['{"fairness_key": "a"}', '{"fairness_key": "a"}',
        '{"fairness_key": "b", "fairness_weight": 2}', '{"priority": 1, "fairness_key": "a"}',
        '{"fairness_key": "b", "fairness_weight": 2}', '{"fairness_key": "a", "fairness_weight": 0.5}']::jsonb[]);
    got := got || jsonb_build_object('1', pg_temp.handback(toks, p || 'q1', 6));
    -- 2. fewer slots than tasks: inserted SCHEDULED, the poll takes two
    toks := pg_temp.activity_runs(p || '2-', p || 'q2', ARRAY['{}', '{"priority": 2}', '{"fairness_key": "z"}']::jsonb[]);
    got := got || jsonb_build_object('2', pg_temp.handback(toks, p || 'q2', 2));
    -- 3. two outcomes of one run
    PERFORM durable.start_workflow(p || '3-1', 'W', p || 'q3', 'null');
    PERFORM pg_temp.complete(p || 'q3', jsonb_build_array(pg_temp.act('x'), pg_temp.act('y')));
    SELECT array_agg(a.task_token ORDER BY a.activity_id) INTO toks FROM durable.poll_activity_tasks(p || 'q3', 'aw', 2) a;
    got := got || jsonb_build_object('3', pg_temp.handback(toks, p || 'q3', 5));
    -- 4. the worker's cached events and its sticky name
    toks := pg_temp.activity_runs(p || '4-', p || 'q4', ARRAY['{}', '{}']::jsonb[]);
    got := got || jsonb_build_object('4', pg_temp.handback(toks, p || 'q4', 5,
        jsonb_build_object(pg_temp.run(p || '4-1'), 3, pg_temp.run(p || '4-2'), 2), NULL, 'sticky-' || p));
    -- 5. a versioned queue: this build's runs taken, another build's not
    toks := pg_temp.activity_runs(p || '5-', p || 'q5', ARRAY['{}', '{}']::jsonb[]);
    PERFORM durable.set_build_id_rules(p || 'q5', 'v1');
    got := got || jsonb_build_object('5a', pg_temp.handback(toks[1:1], p || 'q5', 5, NULL, 'v1'));
    got := got || jsonb_build_object('5b', pg_temp.handback(toks[2:2], p || 'q5', 5, NULL, 'v2'));
    -- 6. a task ready before: the hand-back's tasks inserted SCHEDULED, polled with it
    toks := pg_temp.activity_runs(p || '6-', p || 'q6', ARRAY['{}', '{}']::jsonb[]);
    PERFORM durable.start_workflow(p || '6-ready', 'W', p || 'q6', 'null');
    got := got || jsonb_build_object('6', pg_temp.handback(toks, p || 'q6', 5));
    -- 7. a second attempt scheduled directly (as a retry would), and a null one (its error)
    r := pg_temp.taskless_run(p || 'q7');
    UPDATE durable.workflows SET workflow_id = p || '7-1' WHERE run_id = r;
    PERFORM durable._schedule_workflow_task(r, 2);
    r := pg_temp.taskless_run(p || 'q7');
    UPDATE durable.workflows SET workflow_id = p || '7-2' WHERE run_id = r;
    got := got || jsonb_build_object('7', to_jsonb((pg_temp.error_of(
        format('SELECT durable._schedule_workflow_task(%L, NULL)', r)))[1:2]));
    got := got || jsonb_build_object('held', pg_temp.held(p));
    RETURN replace(got::text, p, 'P')::jsonb;
END
$$;

SELECT pg_temp.use('c');
CREATE TEMP TABLE c_got AS SELECT pg_temp.cases('hcc') AS got;
SELECT pg_temp.use('plpgsql');
CREATE TEMP TABLE p_got AS SELECT pg_temp.cases('hcp') AS got;
SELECT pg_temp.use('c');
SELECT is((SELECT got -> k FROM c_got), (SELECT got -> k FROM p_got), 'the same returned and written: case ' || k)
  FROM unnest(ARRAY['1', '2', '3', '4', '5a', '5b', '6', '7']) k;
SELECT is((SELECT got -> 'held' -> i FROM c_got), (SELECT got -> 'held' -> i FROM p_got),
          'the same history and task: ' || (SELECT got -> 'held' -> i ->> 'run' FROM c_got))
  FROM generate_series(0, (SELECT jsonb_array_length(got -> 'held') - 1 FROM c_got)) i;
SELECT is((SELECT jsonb_array_length(got -> 'held') FROM c_got), 19, 'every run compared');
-- (the cases do what they are for)
SELECT is((SELECT count(*) FROM c_got, jsonb_array_elements(got -> '1') e WHERE e ->> 0 = 'workflow_task'), 6::bigint,
          'case 1: six tasks taken');
SELECT is((SELECT count(*) FROM c_got, jsonb_array_elements(got -> '2') e WHERE e ->> 0 = 'workflow_task'), 2::bigint,
          'case 2: two of three polled');
SELECT is((SELECT count(*) FROM c_got, jsonb_array_elements(got -> '5b') e WHERE e ->> 0 = 'workflow_task'), 0::bigint,
          'case 5: another build''s task not taken');

-- _notify: the channel task_queue_channel names, and pg_notify's error for a null.
SELECT is(pg_temp.error_of(format('SELECT durable._notify(%L, %L, %L)', k, ns, q)),
          pg_temp.error_of(format('SELECT pg_notify(durable.task_queue_channel(%L, %L, %L), %L)', k, q, ns, '')),
          format('_notify(%s, %s, %s) fails as pg_notify of task_queue_channel does', k, ns, q))
  FROM (VALUES (NULL, 'default', 'q'), ('workflow', NULL, 'q'), ('workflow', 'default', NULL), ('', 'default', 'q'))
       v(k, ns, q);
-- (the channel each name is sent on, after a commit: tests/concurrency/notify_channel.sh)
SELECT * FROM finish();
ROLLBACK;
