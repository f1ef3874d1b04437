-- The hot path in C (pgext/src/history_append.c, history_json.c,
-- task_token.c): each function gives what its plpgsql body gave, and
-- refuses what it refused with the same errcode, message, detail and hint,
-- changing nothing.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- _parse_token -------------------------------------------------------------

SELECT is((SELECT row(t.task_id, t.fence)::text FROM durable._parse_token('w12.3', 'w') t), '(12,3)',
          'a workflow token gives its task id and fence');
SELECT is((SELECT row(t.task_id, t.fence)::text FROM durable._parse_token('a123456789012345678.999999999999999999', 'a') t),
          '(123456789012345678,999999999999999999)', 'eighteen digits each are read whole');

CREATE TEMP TABLE bad_tokens (token text, kind text);
INSERT INTO bad_tokens VALUES ('', 'w'), ('w', 'w'), ('w1', 'w'), ('w1.', 'w'), ('w.1', 'w'), ('w1.2.3', 'w'),
    ('a1.2', 'w'), ('w1.2', 'a'), ('w1234567890123456789.1', 'w'), ('w1.1234567890123456789', 'w'),
    ('w1.2 ', 'w'), (' w1.2', 'w'), (E'w1.2\n', 'w'), ('w-1.2', 'w'), ('w+1.2', 'w'), ('w1,2', 'w'),
    ('w١.2', 'w'), (E'w1\\.2', 'w'), ('it''s', 'a'), (NULL, 'w'), (NULL, 'a');
SELECT is(pg_temp.error_of(format('SELECT durable._parse_token(%L, %L)', token, kind)),
          ARRAY['22023', format('malformed %s task token', CASE kind WHEN 'w' THEN 'workflow' ELSE 'activity' END),
                format('Got %L.', token), 'Pass the task_token exactly as the poll returned it.'],
          format('token %L (kind %s) is refused: 22023, message, detail, hint', token, kind))
  FROM bad_tokens;

-- through the API: a malformed token changes nothing
SELECT durable.start_workflow('hp-1', 'W', 'hp-q');
CREATE TEMP TABLE before AS SELECT count(*) AS n FROM durable.history;
SELECT is(pg_temp.error_of($$SELECT durable.complete_workflow_task('w1.x', '[]')$$),
          ARRAY['22023', 'malformed workflow task token', 'Got ''w1.x''.', 'Pass the task_token exactly as the poll returned it.'],
          'complete_workflow_task refuses a malformed token as before');
SELECT is(pg_temp.error_of($$SELECT durable.complete_activity_task('a1', 'null')$$),
          ARRAY['22023', 'malformed activity task token', 'Got ''a1''.', 'Pass the task_token exactly as the poll returned it.'],
          'complete_activity_task refuses a malformed token as before');
SELECT is((SELECT count(*) FROM durable.history), (SELECT n FROM before), 'and nothing was written');

-- _append and _append_at ------------------------------------------------------

CREATE TEMP TABLE hp AS SELECT run_id FROM durable.workflows WHERE workflow_id = 'hp-1';
CREATE TEMP TABLE t0 AS SELECT durable.now() AS t;
SELECT is(durable._append((SELECT run_id FROM hp), 'MarkerRecorded', '{"marker_name": "m"}'), 3::bigint,
          '_append gives the next event id (after the start''s two)');
SELECT is((SELECT row(event_type, attributes, event_time BETWEEN (SELECT t FROM t0) AND durable.now())::text
             FROM durable.history WHERE run_id = (SELECT run_id FROM hp) ORDER BY event_id DESC LIMIT 1),
          '(MarkerRecorded,"{""marker_name"": ""m""}",t)', 'it writes the type, attributes and the run''s clock at the call');
SELECT is(durable._append((SELECT run_id FROM hp), 'MarkerRecorded', NULL), 4::bigint,
          'ids follow one another');
SELECT is((SELECT attributes FROM durable.history WHERE run_id = (SELECT run_id FROM hp) AND event_id = 4), '{}'::jsonb,
          'no attributes are written as {}');
SELECT is(durable._append_at((SELECT run_id FROM hp), 'MarkerRecorded', '{"n": 5}', '2001-02-03 04:05:06+00'), 5::bigint,
          '_append_at gives the next id too');
SELECT is((SELECT event_time FROM durable.history WHERE run_id = (SELECT run_id FROM hp) AND event_id = 5),
          '2001-02-03 04:05:06+00'::timestamptz, 'at the time it was given');
SELECT is(durable._append(gen_random_uuid(), 'MarkerRecorded', '{}'), 1::bigint,
          'a run with no history yet starts at 1');

DELETE FROM before;
INSERT INTO before SELECT count(*) FROM durable.history;
SELECT is((pg_temp.error_of($$SELECT durable._append(NULL, 'MarkerRecorded', '{}')$$))[1:2],
          ARRAY['23502', 'null value in column "run_id" of relation "history" violates not-null constraint'],
          '_append refuses a null run');
SELECT is((pg_temp.error_of(format('SELECT durable._append(%L, NULL, %L)', (SELECT run_id FROM hp), '{}')))[1:2],
          ARRAY['23502', 'null value in column "event_type" of relation "history" violates not-null constraint'],
          '_append refuses a null event type');
SELECT is((pg_temp.error_of(format('SELECT durable._append_at(%L, %L, %L, NULL)', (SELECT run_id FROM hp), 'X', '{}')))[1:2],
          ARRAY['23502', 'null value in column "event_time" of relation "history" violates not-null constraint'],
          '_append_at refuses a null time');
SELECT is((SELECT count(*) FROM durable.history), (SELECT n FROM before), 'and nothing was written');

-- _history_json ----------------------------------------------------------------

-- (pg_temp.history_json_sql, helpers.psql: what the plpgsql body computed)
SELECT durable._append((SELECT run_id FROM hp), 'MarkerRecorded',
                       '{"deep": {"a": [1, 2.50, {"b": null}], "s": "é\"\\"}, "big": 12345678901234567890}');
SET LOCAL timezone = 'Asia/Kolkata';   -- times are written in the session's zone, as jsonb_build_object does
SELECT is(durable._history_json(r, f)::text, pg_temp.history_json_sql(r, f)::text,
          format('_history_json after event %s is what the SQL gave', f))
  FROM (SELECT run_id AS r FROM hp) hp, generate_series(0, 7) f;
RESET timezone;
SELECT is(durable._history_json((SELECT run_id FROM hp), 0), pg_temp.history_json_sql((SELECT run_id FROM hp), 0),
          'the same in UTC');
SELECT is(durable._history_json(gen_random_uuid(), 0), '[]'::jsonb, 'an unknown run gives []');
SELECT is(durable._history_json(NULL, 0), '[]'::jsonb, 'a null run gives []');
SELECT is(durable._history_json((SELECT run_id FROM hp), NULL), '[]'::jsonb, 'a null bound gives []');

-- what a poll hands a worker is that array
SELECT is((SELECT history FROM durable.poll_workflow_tasks('hp-q', 'tester', 1)),
          pg_temp.history_json_sql((SELECT run_id FROM hp), 0), 'a poll returns the whole history');

-- _priority_json, _build_id_attrs, _max_payload ---------------------------------

SELECT is(durable._priority_json(p::smallint, k, w)::text,
          jsonb_strip_nulls(jsonb_build_object('priority', nullif(p::smallint, 3), 'fairness_key', nullif(k, ''),
                                               'fairness_weight', nullif(w, 1)))::text,
          format('_priority_json(%s, %L, %s) is what the SQL gave', p, k, w))
  FROM (VALUES (NULL::smallint, NULL::text, NULL::float8), (3::smallint, '', 1), (1, 'tenant-a', 2.5), (5, NULL, 0.001),
               (2, 'é"x', 1000), (3, 'k', 0.1), (4, '', 1e-3), (3, NULL, 'NaN'), (3, NULL, 'Infinity'),
               (3, NULL, 1.0000000000000002)) v(p, k, w);
SELECT is(durable._build_id_attrs(b), CASE WHEN b IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('build_id', b) END,
          format('_build_id_attrs(%L)', b))
  FROM (VALUES (NULL::text), ('v1'), (''), ('a"b\c')) v(b);
SET LOCAL durable.max_payload_bytes = '3kB';
SELECT is(durable._max_payload(), 3072::bigint, '_max_payload reads the setting in bytes (3kB)');
SET LOCAL durable.max_payload_bytes = 1000;
SELECT is(durable._max_payload(), 1000::bigint, '_max_payload reads the setting in bytes (1000B)');
SELECT is(pg_temp.error_of($$SELECT durable.signal_workflow('hp-1', 's', to_jsonb(repeat('x', 1000)))$$),
          ARRAY['54000', 'signal input is too large', 'It has 1002 bytes; durable.max_payload_bytes is 1000.',
                'Store large data elsewhere and pass a reference.'],
          'a payload over it is refused as before');
RESET durable.max_payload_bytes;

-- _check_keys -------------------------------------------------------------------------

SELECT is(pg_temp.error_of(format('SELECT durable._check_keys(%L, %L, %L)', o, a, w)), e,
          format('_check_keys(%s, %s, %s)', o, a, w))
  FROM (VALUES
    ('{"a": 1, "b": {"zz": 1}}'::jsonb, ARRAY['a', 'b'], 'opts', NULL::text[]),
    (NULL, ARRAY['a'], 'opts', NULL),
    ('{"a": 1}', NULL, 'opts', NULL),
    ('{"a": 1, "x": 2}', ARRAY['a', NULL], 'opts', NULL),
    ('{}', '{}', 'opts', NULL),
    ('{"a": 1, "bb": 2, "c": 3}', ARRAY['a', 'bb'], 'ScheduleActivityTask',
     ARRAY['22023', 'ScheduleActivityTask has an unknown field "c"', NULL, 'Known fields: a, bb.']),
    ('{"zz": 1, "y": 2}', ARRAY['a', NULL, 'b'], 'opts', NULL),
    ('{"zz": 1, "y": 2}', ARRAY['a', 'b'], 'opts', ARRAY['22023', 'opts has an unknown field "y"', NULL, 'Known fields: a, b.']),
    ('{"k": 1}', '{}', NULL, ARRAY['22023', ' has an unknown field "k"', NULL, 'Known fields: .']),
    ('[1, 2]', ARRAY['a'], 'start options', ARRAY['22023', 'start options must be a JSON object', 'Got [1, 2].', NULL]),
    ('"s%s"', ARRAY['a'], 'x', ARRAY['22023', 'x must be a JSON object', 'Got "s%s".', NULL]),
    ('null', ARRAY['a'], 'x', ARRAY['22023', 'x must be a JSON object', 'Got null.', NULL])
  ) v(o, a, w, e);
CREATE TEMP TABLE e2 AS
    SELECT pg_temp.error_of($$SELECT durable.start_workflow('hp-2', 'W', 'hp-q', NULL, '{"bogus": 1}')$$) AS e;
SELECT is((SELECT e[1:3] FROM e2), ARRAY['22023', 'start options has an unknown field "bogus"', NULL],
          'a start with an unknown option is refused as before');
SELECT ok((SELECT e[4] LIKE 'Known fields: %, task_timeout, %.' FROM e2), 'its hint lists the known options');
SELECT is((SELECT count(*) FROM durable.workflows WHERE workflow_id = 'hp-2'), 0::bigint, 'and nothing was started');

-- _ready_pass and the activity tasks' pass: the queue's head is read only
-- when the key has no ready task; the pass is what the full formula gives
CREATE FUNCTION pg_temp.ready_pass_sql(ns text, q text, p smallint, k text, w float8) RETURNS float8 LANGUAGE sql AS $$
    SELECT greatest((SELECT t.pass FROM durable.workflow_tasks t
                      WHERE t.namespace = ns AND t.task_queue = q AND t.priority = p AND t.state = 'SCHEDULED'
                      ORDER BY t.pass LIMIT 1),
                    (SELECT t.pass FROM durable.workflow_tasks t
                      WHERE t.namespace = ns AND t.task_queue = q AND t.fairness_key = k AND t.priority = p
                        AND t.state = 'SCHEDULED'
                      ORDER BY t.pass DESC LIMIT 1) + 1 / w, 0)
$$;
SELECT durable.start_workflow('rp-' || i, 'W', 'rp-q', NULL,
                              jsonb_build_object('fairness_key', 'k' || (i % 3), 'fairness_weight', 1 + i % 2))
  FROM generate_series(1, 7) i;
SELECT is(durable._ready_pass('default', 'rp-q', 3::smallint, k, w), pg_temp.ready_pass_sql('default', 'rp-q', 3::smallint, k, w),
          format('_ready_pass for key %L, weight %s is the full formula''s', k, w))
  FROM (VALUES ('k0', 1.0::float8), ('k1', 2.0), ('k2', 0.5), ('nobody', 1.0), ('k1', NULL)) v(k, w);
SELECT is((pg_temp.error_of($$SELECT durable._ready_pass('default', 'rp-q', 3::smallint, 'k0', 0)$$))[1], '22012',
          'a weight of 0 still divides by zero');
SELECT is(durable._ready_pass('default', 'nowhere', 3::smallint, 'k0', 1), 0::float8, 'an empty queue starts at 0');
-- activity tasks: three keys scheduled in one completion, one after another
SELECT durable.start_workflow('rp-act', 'W', 'rp-wf');
SELECT pg_temp.complete('rp-wf', (SELECT jsonb_agg(jsonb_build_object('type', 'ScheduleActivityTask', 'activity_type', 'A',
    'activity_id', i::text, 'task_queue', 'rp-aq', 'start_to_close_timeout', 60,
    'fairness_key', 'k' || (i % 3), 'fairness_weight', 1 + i % 2) ORDER BY i) FROM generate_series(1, 7) i));
SELECT is((SELECT array_agg(fairness_key || ':' || pass ORDER BY scheduled_event_id) FROM durable.activity_tasks
            WHERE task_queue = 'rp-aq'),
          ARRAY['k1:0', 'k2:0', 'k0:0', 'k1:1', 'k2:0.5', 'k0:1', 'k1:1.5'],
          'each key''s activities are spaced 1 / weight apart from the head');

SELECT * FROM finish();
ROLLBACK;
