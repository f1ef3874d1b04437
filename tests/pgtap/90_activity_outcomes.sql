-- complete_activity_tasks in C (pgext/src/activity_outcomes.c, session 10)
-- against the plpgsql body it replaced, kept here as
-- pg_temp.complete_activity_tasks_sql (its text at 1dc79ce, schema-qualified
-- for pg_temp): twin runs, one set completed by each, with the same batch of
-- good and bad items. Every row (token, outcome, error), in order, and what
-- each run has written must be the same; so must the error for outcomes that
-- are not an array.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
\ir activities.psql

CREATE FUNCTION pg_temp.complete_activity_tasks_sql(outcomes jsonb, identity text DEFAULT NULL)
RETURNS TABLE (task_token text, outcome text, error text)
LANGUAGE plpgsql AS $$
DECLARE
    item jsonb;
    kind text;
    a durable.activity_tasks;
    max_size bigint := durable._max_payload();
    n integer;
    r record;
    tokens text[];
    outs text[];
    errs text[];
    allowed jsonb := '{}';   -- "<namespace>/<task queue>" -> may the caller work there
BEGIN
    IF outcomes IS NULL OR jsonb_typeof(outcomes) <> 'array' THEN
        PERFORM durable._bad_input('outcomes must be a JSON array',
            NULL, 'Pass e.g. ''[{"task_token": "a1.1", "result": 42}]''.');
    END IF;
    n := jsonb_array_length(outcomes);
    tokens := array_fill(NULL::text, ARRAY[n]);
    outs := tokens;
    errs := tokens;
    -- Each outcome's task by one probe of the primary key (OFFSET 0 keeps
    -- the lookup apart, a nested loop): joined, it was planned as a hash of
    -- the whole table for the function's guessed 100 rows, and that scan read
    -- every page the table had grown to since its last vacuum, once per call
    -- (docs/performance.md, "Long histories").
    FOR r IN SELECT e.value AS item, e.ord::integer AS ord, t.namespace, t.task_queue, t.run_id, t.task_id
               FROM jsonb_array_elements(outcomes) WITH ORDINALITY AS e(value, ord)
               LEFT JOIN LATERAL (
                   SELECT x.namespace, x.task_queue, x.run_id, x.task_id FROM durable.activity_tasks x
                    WHERE jsonb_typeof(e.value) = 'object'
                      AND (e.value ->> 'task_token') ~ '^a[0-9]{1,18}\.[0-9]{1,18}$'
                      AND x.task_id = substring(e.value ->> 'task_token' FROM '^a([0-9]+)\.')::bigint
                   OFFSET 0) t ON true
              ORDER BY t.run_id NULLS LAST, e.ord LOOP
        item := r.item;
        task_token := item ->> 'task_token';
        error := NULL;
        kind := CASE WHEN item ? 'result' THEN 'result' WHEN item ? 'failure' THEN 'failure'
                     WHEN item ? 'canceled' THEN 'canceled' END;
        IF r.task_queue IS NOT NULL AND NOT allowed ? (r.namespace || '/' || r.task_queue) THEN
            allowed := allowed || jsonb_build_object(r.namespace || '/' || r.task_queue,
                                                     durable._may('worker', r.task_queue, r.namespace));
        END IF;
        IF jsonb_typeof(item) <> 'object' OR jsonb_typeof(item -> 'task_token') IS DISTINCT FROM 'string'
           OR task_token !~ '^a[0-9]{1,18}\.[0-9]{1,18}$' OR kind IS NULL THEN
            outcome := 'INVALID';
            error := 'each outcome needs a task_token and one of result, failure, canceled';
        ELSIF kind = 'failure' AND (jsonb_typeof(item -> 'failure') <> 'object'
                                    OR jsonb_typeof(item -> 'failure' -> 'message') IS DISTINCT FROM 'string') THEN
            outcome := 'INVALID';
            error := 'failure must be a JSON object with a "message" string';
        ELSIF octet_length((item -> kind)::text) > max_size THEN
            outcome := 'INVALID';
            error := format('%s is larger than durable.max_payload_bytes (%s)', kind, max_size);
        ELSIF r.task_queue IS NOT NULL AND NOT (allowed ->> (r.namespace || '/' || r.task_queue))::boolean THEN
            outcome := 'DENIED';
            error := format('permission denied for task queue "%s" of namespace "%s"', r.task_queue, r.namespace);
        ELSIF kind = 'result' THEN   -- the common item, in fewer statements (api/77_activity_result.sql)
            outcome := durable._complete_activity_result(r.run_id, r.task_id, task_token, item -> kind, identity);
            IF outcome = 'LEASE_LOST' THEN
                error := 'activity task lease is no longer held';
            END IF;
        ELSE
            a := durable._try_lock_activity_task(task_token);
            IF a.task_id IS NULL THEN
                outcome := 'LEASE_LOST';
                error := 'activity task lease is no longer held';
            ELSIF kind = 'canceled' AND NOT a.cancel_requested THEN
                outcome := 'INVALID';
                error := 'activity cancellation was not requested';
            ELSE
                outcome := durable._finish_activity(a, kind, item -> kind, identity);
            END IF;
        END IF;
        tokens[r.ord] := task_token;
        outs[r.ord] := outcome;
        errs[r.ord] := error;
    END LOOP;
    FOR i IN 1 .. n LOOP
        task_token := tokens[i];
        outcome := outs[i];
        error := errs[i];
        RETURN NEXT;
    END LOOP;
END
$$;

-- Two sets of three runs, each with four started activities (w, x, y, z).
SELECT durable.start_workflow('ao-' || s || i, 'W', 'aoq-' || s) FROM unnest(ARRAY['a', 'b']) s, generate_series(1, 3) i;
SELECT pg_temp.complete('aoq-' || s, jsonb_build_array(pg_temp.act('w'), pg_temp.act('x'), pg_temp.act('y'),
                                                      pg_temp.act('z')))
  FROM unnest(ARRAY['a', 'b']) s, generate_series(1, 3) i;
CREATE TEMP TABLE tok AS
SELECT right(p.workflow_id, 1) || p.activity_id AS k, left(right(p.workflow_id, 2), 1) AS s, p.task_token
  FROM (SELECT * FROM durable.poll_activity_tasks('aoq-a', 'act-w', 20)
        UNION ALL SELECT * FROM durable.poll_activity_tasks('aoq-b', 'act-w', 20)) p;
SELECT is((SELECT count(*) FROM tok), 24::bigint, '(twelve activities started in each set)');

-- The batch for set s: {"k": ...} names the token of activity k (run and
-- activity id) of that set, "big" a result of 1,100 bytes (the limit is set
-- to 1,000); everything else is the same for both.
CREATE FUNCTION pg_temp.batch(s text) RETURNS jsonb LANGUAGE sql AS $f$
    SELECT jsonb_agg(CASE WHEN i ? 'k' THEN (i - 'k' - 'big') || jsonb_build_object('task_token',
                                (SELECT t.task_token FROM tok t WHERE t.s = $1 AND t.k = i ->> 'k'))
                                || CASE WHEN i ? 'big' THEN jsonb_build_object('result', repeat('x', 1100))
                                        ELSE '{}' END
                          ELSE i END ORDER BY n)
      FROM jsonb_array_elements($j$[
        {"k": "3w", "result": {"r": 1}},
        {"k": "1w", "result": "one"},
        {"k": "2w", "failure": {"message": "final", "non_retryable": true}},
        {"k": "1x", "failure": {"message": "again"}},
        {"k": "1w", "result": "twice"},
        {"k": "2x", "canceled": "not asked"},
        {"k": "3x", "failure": "not an object"},
        {"k": "3y", "failure": {"message": 5}},
        {"k": "3z", "failure": null},
        {"k": "1y"},
        {"k": "1z", "big": true},
        {"k": "2y", "result": null, "failure": {"message": "ignored"}},
        {"k": "2z", "canceled": 1, "failure": {"message": "failure before canceled"}},
        {"task_token": "a99999999.1", "result": 1},
        {"task_token": "garbage", "result": 1},
        {"task_token": "a1.1x", "result": 1},
        {"task_token": "a1234567890123456789.1", "result": 1},
        {"task_token": "a.1", "result": 1},
        {"task_token": "a1.", "result": 1},
        {"task_token": "A1.1", "result": 1},
        {"task_token": " a1.1", "result": 1},
        {"task_token": "a1.1\n", "result": 1},
        {"task_token": 5, "result": 1},
        {"task_token": null, "result": 1},
        {"task_token": {"t": "a1.1"}, "result": 1},
        {"task_token": ["a1.1"], "result": 1},
        {"result": 1},
        "just a string", 42, null, [], ["result"], {}
      ]$j$::jsonb) WITH ORDINALITY e(i, n)
$f$;
SET LOCAL durable.max_payload_bytes = 1000;
CREATE TEMP TABLE got AS SELECT 'a' AS s, row_number() OVER () AS n, c.* FROM durable.complete_activity_tasks(pg_temp.batch('a'), 'ident-1') c;
INSERT INTO got SELECT 'b', row_number() OVER (), c.* FROM pg_temp.complete_activity_tasks_sql(pg_temp.batch('b'), 'ident-1') c;
RESET durable.max_payload_bytes;
SELECT is((SELECT count(*) FROM got WHERE s = 'a'), (SELECT jsonb_array_length(pg_temp.batch('a')))::bigint,
          'a row per item');
SELECT is((SELECT array_agg(row(outcome, error)::text ORDER BY n) FROM got WHERE s = 'a'),
          (SELECT array_agg(row(outcome, error)::text ORDER BY n) FROM got WHERE s = 'b'),
          'every item''s outcome and error, in order, are the plpgsql function''s');
SELECT is((SELECT array_agg(coalesce(t.k, g.task_token) ORDER BY g.n) FROM got g LEFT JOIN tok t ON t.task_token = g.task_token
            WHERE g.s = 'a'),
          (SELECT array_agg(coalesce(t.k, g.task_token) ORDER BY g.n) FROM got g LEFT JOIN tok t ON t.task_token = g.task_token
            WHERE g.s = 'b'),
          'and so are the tokens it gives back (as ->> reads them)');
SELECT is((SELECT array_agg(outcome ORDER BY n) FROM got WHERE s = 'a'),
          ARRAY['COMPLETED', 'COMPLETED', 'FAILED', 'RETRYING', 'LEASE_LOST', 'INVALID', 'INVALID', 'INVALID', 'INVALID',
                'INVALID', 'INVALID', 'COMPLETED', 'RETRYING', 'LEASE_LOST', 'INVALID', 'INVALID', 'INVALID', 'INVALID',
                'INVALID', 'INVALID', 'INVALID', 'INVALID', 'INVALID', 'INVALID', 'INVALID', 'INVALID', 'INVALID',
                'INVALID', 'INVALID', 'INVALID', 'INVALID', 'INVALID', 'INVALID'],
          '(the outcomes: results, a failure, retries, a repeat, and every kind of bad item; result before failure before canceled)');
SELECT is(replace(pg_temp.written('ao-a' || i)::text, 'aoq-a', 'aoq-b'), pg_temp.written('ao-b' || i)::text,
          format('run %s: the same is written (but the queue''s name)', i))
  FROM generate_series(1, 3) i;
SELECT is(pg_temp.error_of($$SELECT * FROM durable.complete_activity_tasks('{"task_token": "a1.1"}')$$),
          pg_temp.error_of($$SELECT * FROM pg_temp.complete_activity_tasks_sql('{"task_token": "a1.1"}')$$),
          'outcomes not an array: the same error');
SELECT is(pg_temp.error_of($$SELECT * FROM durable.complete_activity_tasks(NULL)$$),
          pg_temp.error_of($$SELECT * FROM pg_temp.complete_activity_tasks_sql(NULL)$$), 'nor null');
SELECT is((SELECT count(*) FROM durable.complete_activity_tasks('[]')), 0::bigint, 'an empty batch: no row');

SELECT * FROM finish();
ROLLBACK;
