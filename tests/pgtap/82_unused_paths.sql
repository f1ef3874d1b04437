-- The short paths a call that uses no option takes (session 7, "What the 0.2
-- features cost when unused"): each must refuse what the full checks refuse,
-- with the same error, first error first, and change nothing.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE FUNCTION pg_temp.runs() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM durable.workflows $$;
CREATE TEMP TABLE before AS SELECT pg_temp.runs() AS n;
CREATE TEMP TABLE ns_before AS SELECT namespace FROM durable.namespaces;

-- _check_start_args: one expression for the names that pass, the five checks for the others
SELECT is(pg_temp.error_of(format('SELECT durable.start_workflow(%L, %L, %L)', w, t, q)), e, d)
  FROM (VALUES
    (repeat('w', 256), 'W', 'uq', ARRAY['54000', 'workflow_id is too long', 'It has 256 bytes; the limit is 255.',
        'Use a shorter name; docs/sql-api.md, "Limits", lists every limit.'], 'a workflow_id of 256 bytes'),
    ('uw', repeat('t', 256), 'uq', ARRAY['54000', 'workflow_type is too long', 'It has 256 bytes; the limit is 255.',
        'Use a shorter name; docs/sql-api.md, "Limits", lists every limit.'], 'a workflow_type of 256 bytes'),
    ('uw', 'W', repeat('q', 256), ARRAY['54000', 'task_queue is too long', 'It has 256 bytes; the limit is 255.',
        'Use a shorter name; docs/sql-api.md, "Limits", lists every limit.'], 'a task_queue of 256 bytes'),
    (repeat('é', 128), 'W', 'uq', ARRAY['54000', 'workflow_id is too long', 'It has 256 bytes; the limit is 255.',
        'Use a shorter name; docs/sql-api.md, "Limits", lists every limit.'], 'bytes, not characters'),
    (repeat('w', 256), '', 'uq', ARRAY['22023', 'workflow_id, workflow_type and task_queue must be non-empty',
        format('Got workflow_id %L, workflow_type '''', task_queue ''uq''.', repeat('w', 256)), NULL],
        'an empty name is told before a long one'),
    ('uw', 'W', NULL, ARRAY['22023', 'workflow_id, workflow_type and task_queue must be non-empty',
        'Got workflow_id ''uw'', workflow_type ''W'', task_queue NULL.', NULL], 'a NULL task_queue'),
    ('..', 'W', 'uq', ARRAY['22023', 'workflow_id must not be empty, "." or "..", nor contain "/" or control characters',
        'Got ''..''.', 'It names a folder in durablefs; docs/sql-api.md, "Limits", gives the rule.'], 'a workflow_id ".."'),
    ('uw', 'W', '.', ARRAY['22023', 'task_queue must not be empty, "." or "..", nor contain "/" or control characters',
        'Got ''.''.', 'It names a folder in durablefs; docs/sql-api.md, "Limits", gives the rule.'], 'a task_queue "."'),
    ('u' || chr(1), 'W', 'u/q', ARRAY['22023', 'workflow_id must not be empty, "." or "..", nor contain "/" or control characters',
        format('Got %L.', 'u' || chr(1)), 'It names a folder in durablefs; docs/sql-api.md, "Limits", gives the rule.'],
        'a control character in workflow_id is told before the task_queue''s "/"'),
    ('uw', 'W', 'u/q', ARRAY['22023', 'task_queue must not be empty, "." or "..", nor contain "/" or control characters',
        'Got ''u/q''.', 'It names a folder in durablefs; docs/sql-api.md, "Limits", gives the rule.'], 'a "/" in task_queue'),
    (repeat('w', 256), 'W', 'u/q', ARRAY['54000', 'workflow_id is too long', 'It has 256 bytes; the limit is 255.',
        'Use a shorter name; docs/sql-api.md, "Limits", lists every limit.'], 'a long name is told before a "/"')
  ) c(w, t, q, e, d);
SELECT isnt(durable.start_workflow(repeat('w', 255), 'W./x', repeat('q', 255)), NULL,
            'names of 255 bytes pass, and a workflow_type may hold "/" and "."');
SELECT isnt(durable.start_workflow('.x', 'W', '...'), NULL, 'as may ids and queues that only start with "."');

-- _check_namespace: 'default' without its regular expression, any other with it
SELECT is(pg_temp.error_of(format('SELECT durable.start_workflow(''uw'', ''W'', ''uq'', NULL, ''{}'', %L)', n)), e, d)
  FROM (VALUES
    ('a/b', ARRAY['22023', 'namespace must be non-empty, without "/" or control characters', 'Got ''a/b''.', NULL], 'a "/"'),
    ('', ARRAY['22023', 'namespace must be non-empty, without "/" or control characters', 'Got ''''.', NULL], 'an empty namespace'),
    (repeat('n', 256), ARRAY['54000', 'namespace is too long', 'It has 256 bytes; the limit is 255.',
        'Use a shorter name; docs/sql-api.md, "Limits", lists every limit.'], 'a namespace of 256 bytes'),
    ('default' || chr(10), ARRAY['22023', 'namespace must be non-empty, without "/" or control characters',
        format('Got %L.', 'default' || chr(10)), NULL], '"default" and a newline is not "default"')
  ) c(n, e, d);
SELECT is(pg_temp.runs(), (SELECT n FROM before) + 2, 'the refused starts wrote no run');

-- _namespace_seen: a new namespace's row, once; the probe finds it after
SELECT isnt(durable.start_workflow('uw', 'W', 'uq', NULL, '{}', 'unused-ns'), NULL, 'a start in a new namespace');
SELECT isnt(durable.start_workflow('uw2', 'W', 'uq', NULL, '{}', 'unused-ns'), NULL, 'and another');
SELECT is((SELECT count(*) FROM durable.namespaces WHERE namespace = 'unused-ns'), 1::bigint, 'it has one row');
SELECT is(array(SELECT namespace FROM durable.namespaces EXCEPT SELECT namespace FROM ns_before ORDER BY 1),
          array_remove(ARRAY['default', 'unused-ns'], CASE WHEN EXISTS (SELECT 1 FROM ns_before WHERE namespace = 'default') THEN 'default' END),
          'and no namespace was made for the refused starts');

-- _priority_options: nothing given is the inherited values, anything given is checked
SELECT is(ROW(p.*)::text, '(2,k,2.5)', 'no key given: the inherited priority, key and weight')
  FROM durable._priority_options('{"activity_id": "1"}', 'x', 2::smallint, 'k', 2.5) p;
SELECT is(ROW(p.*)::text, '(3,"",1)', 'and the defaults') FROM durable._priority_options('{}', 'x') p;
SELECT is(ROW(p.*)::text, '(2,k,2.5)', 'keys given as null inherit too')
  FROM durable._priority_options('{"priority": null, "fairness_key": null, "fairness_weight": null}', 'x', 2::smallint, 'k', 2.5) p;
SELECT is(ROW(p.*)::text, '(2,a,2.5)', 'a key alone') FROM durable._priority_options('{"fairness_key": "a"}', 'x', 2::smallint, 'k', 2.5) p;
SELECT is(ROW(p.*)::text, '(2,k,0.5)', 'a weight alone') FROM durable._priority_options('{"fairness_weight": 0.5}', 'x', 2::smallint, 'k', 2.5) p;
SELECT is((pg_temp.error_of($$SELECT durable._priority_options('{"priority": 9}', 'x')$$))[1:2],
          ARRAY['22023', 'x: "priority" must be an integer from 1 to 5'], 'a priority given is still checked');
SELECT is((pg_temp.error_of(format('SELECT durable._priority_options(%L, ''x'')', jsonb_build_object('fairness_key', repeat('k', 256)))))[1:2],
          ARRAY['54000', 'x: "fairness_key" is too long'], 'and a key');
SELECT is((SELECT (w.priority, w.fairness_key, w.fairness_weight)::text FROM durable.workflows w WHERE w.workflow_id = 'uw' AND w.namespace = 'default'),
          NULL, 'no run uw in default (refused above)');
SELECT is((SELECT (w.priority, w.fairness_key, w.fairness_weight)::text FROM durable.workflows w WHERE w.workflow_id = '.x'),
          '(3,"",1)', 'a start without options has the default priority, key and weight');

SELECT * FROM finish();
ROLLBACK;
