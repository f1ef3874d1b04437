-- The list filter language of list_workflows and count_workflows: what it
-- finds, what it refuses (with the position of the fault), that values never
-- become SQL, counts grouped by status, paging, and that filters use indexes.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

SELECT durable.add_search_attribute('CustomerId', 'Keyword', 'lf');
SELECT durable.add_search_attribute('Amount', 'Int', 'lf');
SELECT durable.add_search_attribute('Price', 'Double', 'lf');
SELECT durable.add_search_attribute('Vip', 'Bool', 'lf');
SELECT durable.add_search_attribute('DueAt', 'Datetime', 'lf');
SELECT durable.add_search_attribute('Tags', 'KeywordList', 'lf');
SELECT durable.add_search_attribute('Notes', 'Text', 'lf');
SELECT durable.add_search_attribute('Order_', 'Keyword', 'lf');

SELECT durable.start_workflow('b-1', 'Billing', 'lq', NULL, '{"search_attributes": {"CustomerId": "c-7", "Amount": 10,
    "Price": 3.14, "Vip": true, "DueAt": "2026-11-02T00:00:00Z", "Tags": ["gold"], "Notes": "late payment reminder"}}', 'lf');
SELECT durable.start_workflow('b-2', 'Billing', 'lq', NULL, '{"search_attributes": {"CustomerId": "c-8", "Amount": 20,
    "Vip": false, "Tags": ["silver", "eu"]}}', 'lf');
SELECT durable.start_workflow('b-3', 'Billing', 'lq', NULL, '{"search_attributes": {"CustomerId": "x''; DROP TABLE durable.workflows; --"}}', 'lf');
SELECT durable.terminate_workflow('b-3', 'test', namespace => 'lf');
SELECT durable.start_workflow('s-1', 'Shipping', 'other', NULL, '{}', 'lf');
SELECT durable.start_workflow('elsewhere', 'Billing', 'lq', NULL, '{"search_attributes": {"CustomerId": "c-7"}}', 'lf-other');

CREATE FUNCTION pg_temp.ids(q text) RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(workflow_id ORDER BY workflow_id), '{}') FROM durable.list_workflows(query => q, namespace => 'lf')
$$;
CREATE FUNCTION pg_temp.ordered(q text) RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(workflow_id), '{}') FROM durable.list_workflows(query => q, namespace => 'lf')
$$;

-- Finding
SELECT is(pg_temp.ids($$WorkflowType = 'Billing' AND ExecutionStatus = 'Running' AND CustomerId = 'c-7' AND StartTime > '2000-11-01T00:00:00Z'$$),
          ARRAY['b-1'], 'the example of the issue');
SELECT is(pg_temp.ids(''), ARRAY['b-1', 'b-2', 'b-3', 's-1'], 'an empty filter lists every run of the namespace');
SELECT is(pg_temp.ids($$ExecutionStatus = 'Terminated'$$), ARRAY['b-3'], 'statuses by Temporal''s names');
SELECT is(pg_temp.ids($$ExecutionStatus = 'TERMINATED'$$), ARRAY['b-3'], 'and by durable''s');
SELECT is(pg_temp.ids($$ExecutionStatus != 'Running'$$), ARRAY['b-3'], '!=');
SELECT is(pg_temp.ids($$ExecutionStatus <> 'Running'$$), ARRAY['b-3'], '<>');
SELECT is(pg_temp.ids($$Amount > 10$$), ARRAY['b-2'], '>');
SELECT is(pg_temp.ids($$Amount >= 10$$), ARRAY['b-1', 'b-2'], '>=');
SELECT is(pg_temp.ids($$Amount < 20 OR Amount <= 5$$), ARRAY['b-1'], '< and <= and OR');
SELECT is(pg_temp.ids($$Amount BETWEEN 5 AND 15$$), ARRAY['b-1'], 'BETWEEN');
SELECT is(pg_temp.ids($$Amount NOT BETWEEN 5 AND 15$$), ARRAY['b-2'], 'NOT BETWEEN');
SELECT is(pg_temp.ids($$CustomerId IN ('c-7', 'c-8')$$), ARRAY['b-1', 'b-2'], 'IN');
SELECT is(pg_temp.ids($$CustomerId NOT IN ('c-7')$$), ARRAY['b-2', 'b-3'], 'NOT IN');
SELECT is(pg_temp.ids($$WorkflowId STARTS_WITH 'b-'$$), ARRAY['b-1', 'b-2', 'b-3'], 'STARTS_WITH');
SELECT is(pg_temp.ids($$CustomerId IS NULL$$), ARRAY['s-1'], 'IS NULL');
SELECT is(pg_temp.ids($$Amount IS NOT NULL$$), ARRAY['b-1', 'b-2'], 'IS NOT NULL');
SELECT is(pg_temp.ids($$CloseTime IS NOT NULL$$), ARRAY['b-3'], 'CloseTime');
SELECT is(pg_temp.ids($$NOT (WorkflowType = 'Billing') $$), ARRAY['s-1'], 'NOT and parentheses');
SELECT is(pg_temp.ids($$(CustomerId = 'c-7' OR CustomerId = 'c-8') AND NOT Vip = true$$), ARRAY['b-2'],
          'AND binds tighter than OR, parentheses say otherwise');
SELECT is(pg_temp.ids($$CustomerId = 'c-7' OR CustomerId = 'c-8' AND Vip = true$$), ARRAY['b-1'], 'precedence');
SELECT is(pg_temp.ids($$Price = 3.14$$), ARRAY['b-1'], 'a Double compared as written');
SELECT is(pg_temp.ids($$Vip = 'false'$$), ARRAY['b-2'], 'a Bool, quoted');
SELECT is(pg_temp.ids($$DueAt < '2026-11-02T01:00:01+01:00'$$), ARRAY['b-1'], 'a Datetime with an offset');
SELECT is(pg_temp.ids($$Tags = 'eu'$$), ARRAY['b-2'], 'a KeywordList holds a value');
SELECT is(pg_temp.ids($$Tags IN ('gold', 'eu')$$), ARRAY['b-1', 'b-2'], 'a KeywordList holds one of the values');
SELECT is(pg_temp.ids($$Notes = 'reminder late'$$), ARRAY['b-1'], 'a Text matches all the words, in any order');
SELECT is(pg_temp.ids($$Notes = 'reminder early'$$), '{}', 'and not only some');
SELECT is(pg_temp.ids($$`CustomerId` = "c-7"$$), ARRAY['b-1'], 'backquoted names, double-quoted strings');
SELECT is(pg_temp.ids($$WorkflowType = 'Billing' and ExecutionStatus = 'Running' And Order_ is null order by WorkflowId$$),
          ARRAY['b-1', 'b-2'], 'keywords in any case');
SELECT is(pg_temp.ids($$RunId = '$$ || (SELECT run_id FROM durable.workflows WHERE workflow_id = 's-1') || $$'$$), ARRAY['s-1'], 'RunId');
SELECT is(pg_temp.ids($$TaskQueue = 'other'$$), ARRAY['s-1'], 'TaskQueue');
SELECT durable.start_workflow('d-1', 'Delayed', 'other', NULL, '{"start_delay": "1 hour"}', 'lf');
SELECT is(pg_temp.ids($$WorkflowType = 'Delayed' AND ExecutionTime > '$$ || to_char(durable.now() AT TIME ZONE 'UTC' + interval '59 minutes', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || $$'$$),
          ARRAY['d-1'], 'ExecutionTime is the start plus its start_delay');
SELECT is(pg_temp.ids($$WorkflowType = 'Delayed' AND StartTime > '$$ || to_char(durable.now() AT TIME ZONE 'UTC' + interval '59 minutes', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || $$'$$),
          '{}', 'StartTime is not');
SELECT durable.terminate_workflow('d-1', 'done', namespace => 'lf');
DELETE FROM durable.workflows WHERE workflow_id = 'd-1';

-- Values are values: quotes, semicolons and SQL in them are compared, not run
SELECT is(pg_temp.ids($$CustomerId = 'x''; DROP TABLE durable.workflows; --'$$), ARRAY['b-3'],
          'a value holding a quote, a semicolon and SQL is matched as text');
SELECT is(pg_temp.ids($$CustomerId = 'x\'; DROP TABLE durable.workflows; --'$$), ARRAY['b-3'], 'the quote escaped with a backslash');
SELECT is(pg_temp.ids($$CustomerId = 'c-7'' OR ''1''=''1'$$), '{}', 'a classic OR 1=1 is one value');
SELECT ok(to_regclass('durable.workflows') IS NOT NULL, 'the table is still there');

-- Refused, with the errcode, and the position of the fault in the detail
CREATE FUNCTION pg_temp.fault(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    code text; msg text; detail text; hint text;
BEGIN
    PERFORM * FROM durable.list_workflows(query => q, namespace => 'lf');
    RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN code || ' ' || msg || ' | ' || coalesce(detail, '') || ' | ' || coalesce(hint, '');
END
$$;
SELECT is(pg_temp.fault($$WorkflowId = 'b-1') OR (1=1$$),
          '42601 list filter: unexpected ")" | At character 19 of the filter, near ") OR (1=1". | Join conditions with AND or OR; ORDER BY comes last.',
          'an injection that closes a parenthesis is a syntax error at it');
SELECT matches(pg_temp.fault($$WorkflowType = 'a'; DELETE FROM durable.workflows$$),
               '^42601 list filter: unexpected character ";" \| At character 19 ', 'a semicolon');
SELECT matches(pg_temp.fault($$WorkflowType = 'a' -- comment$$), '^42601 .* At character 20 ', 'a comment');
SELECT matches(pg_temp.fault($$WorkflowType = 'a$$), '^42601 list filter: unterminated string \| At character 16 ', 'an open string');
SELECT matches(pg_temp.fault($$`WorkflowType = 'a'$$), '^42601 list filter: unterminated quoted name', 'an open backquote');
SELECT matches(pg_temp.fault($$CustomerId = 'a' AND$$), '^42601 list filter: expected a search attribute name, found the end', 'a dangling AND');
SELECT matches(pg_temp.fault($$(CustomerId = 'a'$$), '^42601 list filter: expected \), found the end of the filter', 'an open parenthesis');
SELECT matches(pg_temp.fault($$CustomerId == 'a'$$), '^42601 list filter: .* \| At character 13 ', '==');
SELECT matches(pg_temp.fault($$CustomerId 'a'$$), '^42601 list filter: expected an operator after CustomerId', 'no operator');
SELECT matches(pg_temp.fault($$CustomerId = NULL$$), '^42601 list filter: NULL is not a value', '= NULL');
SELECT matches(pg_temp.fault($$CustomerId LIKE 'a%'$$), '^0A000 list filter: LIKE is not supported', 'LIKE');
SELECT matches(pg_temp.fault($$Customer = 'a'$$), '^42703 list filter: unknown search attribute "Customer" \| At character 1 ', 'an unknown attribute');
SELECT matches(pg_temp.fault($$customerid = 'a'$$), '^42703 .*did you mean CustomerId\?$', 'a name in the wrong case gets a hint');
SELECT matches(pg_temp.fault($$`x'; DROP TABLE durable.workflows; --` = 'a'$$), '^42703 list filter: unknown search attribute', 'an injection as a name');
SELECT matches(pg_temp.fault($$CustomerId = 7$$), '^42804 list filter: CustomerId is a Keyword, and "7" is not one \| At character 14 ', 'a number for a Keyword');
SELECT matches(pg_temp.fault($$Amount = '7'$$), '^42804 list filter: Amount is a Int', 'a string for an Int');
SELECT matches(pg_temp.fault($$Amount = 7.5$$), '^22P02 list filter: Amount is an Int: 7.5 is not a whole number', 'a fraction for an Int');
SELECT matches(pg_temp.fault($$Amount = 99999999999999999999$$), '^22P02 ', 'an Int out of range');
SELECT matches(pg_temp.fault($$Price = 1e400$$), '^22003 ', 'a Double out of range');
SELECT matches(pg_temp.fault($$Amount = 7x$$), '^42601 list filter: malformed number', 'a malformed number');
SELECT matches(pg_temp.fault($$StartTime > '2026-11-01'$$), '^22007 list filter: StartTime is a Datetime', 'a date without a time');
SELECT matches(pg_temp.fault($$StartTime > '2026-13-01T00:00:00Z'$$), '^22007 ', 'month 13');
SELECT matches(pg_temp.fault($$ExecutionStatus = 'Sleeping'$$), '^22023 list filter: unknown execution status', 'an unknown status');
SELECT matches(pg_temp.fault($$RunId = 'abc'$$), '^22P02 list filter: RunId needs a run id', 'a bad run id');
SELECT matches(pg_temp.fault($$Notes > 'a'$$), '^42883 list filter: Notes is a Text: it cannot be compared with >', '> on a Text');
SELECT matches(pg_temp.fault($$Vip > true$$), '^42883 ', '> on a Bool');
SELECT matches(pg_temp.fault($$Tags STARTS_WITH 'a'$$), '^42883 ', 'STARTS_WITH on a KeywordList');
SELECT matches(pg_temp.fault($$ORDER BY Notes$$), '^42883 list filter: Notes is a Text: it cannot be sorted', 'sorting by a Text');
SELECT matches(pg_temp.fault($$GROUP BY ExecutionStatus$$), '^42601 list filter: GROUP BY is only allowed when counting', 'GROUP BY in a list');
SELECT matches(pg_temp.fault($$ORDER BY StartTime DESC LIMIT 5$$), '^42601 list filter: unexpected "LIMIT"', 'anything after ORDER BY');
SELECT matches(pg_temp.fault(repeat('(', 100) || 'Amount = 1' || repeat(')', 100)), '^54000 ', 'nesting past the limit');
SELECT matches(pg_temp.fault('CustomerId IN (' || (SELECT string_agg(quote_literal(i::text), ',') FROM generate_series(1, 1001) i) || ')'),
               '^54000 list filter: a filter may hold at most 1000 values', 'too many values');
SELECT matches(pg_temp.fault('CustomerId = ''' || repeat('a', 40000) || ''''), '^54000 list filter: the filter is too long', 'too long');
SELECT matches(pg_temp.fault($$StartTime > 'ü' AND x$$), '^22007 .* At character 13 ', 'positions count characters, not bytes');

-- Existing arguments keep working, and combine with a query
SELECT is((SELECT array_agg(workflow_id ORDER BY workflow_id) FROM durable.list_workflows(status => 'RUNNING', namespace => 'lf')),
          ARRAY['b-1', 'b-2', 's-1'], 'list_workflows without a query, as before');
SELECT is((SELECT array_agg(workflow_id ORDER BY workflow_id)
             FROM durable.list_workflows(workflow_type => 'Billing', query => 'Amount IS NOT NULL OR CustomerId IS NOT NULL', namespace => 'lf')),
          ARRAY['b-1', 'b-2', 'b-3'], 'the older filters AND with a query');
SELECT throws_ok($$SELECT * FROM durable.list_workflows(query => '', after_workflow_id => 'b-1', namespace => 'lf')$$, '22023',
                 'after_workflow_id does not page a query', 'after_workflow_id with a query');
SELECT throws_ok($$SELECT * FROM durable.list_workflows(after_run_id => gen_random_uuid(), namespace => 'lf')$$, '22023',
                 'after_run_id pages a query', 'after_run_id without one');

-- Order and pages
SELECT is(pg_temp.ordered($$WorkflowType = 'Billing' ORDER BY Amount DESC$$), ARRAY['b-3', 'b-2', 'b-1'],
          'ORDER BY DESC puts runs without the attribute first, as PostgreSQL does');
SELECT is(pg_temp.ordered($$WorkflowType = 'Billing' ORDER BY Amount$$), ARRAY['b-1', 'b-2', 'b-3'], 'ORDER BY ASC last');
SELECT is(pg_temp.ordered($$ORDER BY WorkflowType DESC, WorkflowId ASC$$), ARRAY['s-1', 'b-1', 'b-2', 'b-3'], 'two keys');
CREATE FUNCTION pg_temp.paged(q text, size integer) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    got text[] := '{}';
    last uuid;
    r record;
    n integer;
BEGIN
    LOOP
        n := 0;
        FOR r IN SELECT * FROM durable.list_workflows(query => q, namespace => 'lf', page_size => size, after_run_id => last) LOOP
            got := got || r.workflow_id;
            last := r.run_id;
            n := n + 1;
        END LOOP;
        EXIT WHEN n < size;
    END LOOP;
    RETURN got;
END
$$;
SELECT is(pg_temp.paged($$ORDER BY Amount DESC$$, 1), pg_temp.ordered($$ORDER BY Amount DESC$$),
          'pages of one, nullable key, continue where the last ended');
SELECT is(pg_temp.paged($$ORDER BY Amount$$, 2), pg_temp.ordered($$ORDER BY Amount$$), 'pages of two, ascending');
SELECT is(pg_temp.paged('', 1), pg_temp.ordered(''), 'the default order (newest first) in pages');
SELECT throws_ok($$SELECT * FROM durable.list_workflows(query => '', after_run_id => gen_random_uuid(), namespace => 'lf')$$,
                 '22023', NULL, 'an unknown after_run_id');

-- Counts
SELECT is((SELECT array_agg(coalesce(status, '-') || '=' || workflows) FROM durable.count_workflows('lf', $$WorkflowType = 'Billing'$$)),
          ARRAY['-=3'], 'count_workflows with a query: one total');
SELECT is((SELECT array_agg(status || '=' || workflows ORDER BY status) FROM durable.count_workflows('lf', $$WorkflowType = 'Billing' GROUP BY ExecutionStatus$$)),
          ARRAY['RUNNING=2', 'TERMINATED=1'], 'grouped by status');
SELECT is((SELECT array_agg(status || '=' || workflows ORDER BY status) FROM durable.count_workflows('lf', 'GROUP BY ExecutionStatus')),
          ARRAY['RUNNING=3', 'TERMINATED=1'], 'a grouping alone');
SELECT is((SELECT array_agg(status || '=' || workflows ORDER BY status) FROM durable.count_workflows('lf')),
          ARRAY['RUNNING=3', 'TERMINATED=1'], 'without a query, as before');
SELECT throws_ok($$SELECT * FROM durable.count_workflows('lf', 'ORDER BY StartTime')$$, '42601', NULL, 'a count takes no ORDER BY');
SELECT throws_ok($$SELECT * FROM durable.count_workflows('lf', 'GROUP BY WorkflowType')$$, '0A000', NULL, 'groups by status only');

-- Readers only see namespaces they may read
CREATE ROLE lf_stranger LOGIN;
GRANT durable_scoped TO lf_stranger;
SET LOCAL ROLE lf_stranger;
SELECT throws_ok($$SELECT * FROM durable.list_workflows(query => '', namespace => 'lf')$$, '42501', NULL, 'a role without a grant');
RESET ROLE;

-- The plans use the indexes (a store of 20,000 runs, analyzed)
INSERT INTO durable.workflows (run_id, namespace, workflow_id, workflow_type, task_queue, status, search_attributes,
                               first_run_id, execution_started_at, started_at, closed_at)
SELECT r, 'lf-big', 'big-' || i, CASE WHEN i % 10 = 0 THEN 'Billing' ELSE 'Other' || (i % 7) END, 'bq',
       CASE WHEN i % 3 = 0 THEN 'COMPLETED' ELSE 'RUNNING' END,
       jsonb_build_object('CustomerId', 'c-' || (i % 5000), 'Amount', i),
       r, now() - i * interval '1 minute', now() - i * interval '1 minute',
       CASE WHEN i % 3 = 0 THEN now() END
  FROM generate_series(1, 20000) i, LATERAL (SELECT md5('lf-big' || i)::uuid AS r) u;
SELECT durable.add_search_attribute('CustomerId', 'Keyword', 'lf-big');
SELECT durable.add_search_attribute('Amount', 'Int', 'lf-big');
ANALYZE durable.workflows;
ANALYZE durable.search_attribute_values;
CREATE FUNCTION pg_temp.plan(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    c record;
    plan text := '';
    line text;
BEGIN
    c := durable._compile_namespace_filter(q, 'lf-big', false);
    FOR line IN EXECUTE 'EXPLAIN ' || durable._list_filter_sql(c.where_sql, c.order_sql, c.anchor_sql, c.after_sql, false)
                USING c.params, 'lf-big'::text, NULL::uuid, 100 LOOP
        plan := plan || line || E'\n';
    END LOOP;
    RETURN plan;
END
$$;
SELECT matches(pg_temp.plan($$CustomerId = 'c-7'$$), 'Index (Only )?Scan using search_attribute_values_keyword01|Bitmap Index Scan on search_attribute_values_keyword01',
               'a Keyword filter uses its slot''s index');
SELECT matches(pg_temp.plan($$Amount BETWEEN 100 AND 120$$), 'search_attribute_values_int01', 'an Int range uses its slot''s index');
SELECT matches(pg_temp.plan($$WorkflowType = 'Billing' AND ExecutionStatus = 'Running' AND CustomerId = 'c-7' AND StartTime > '2026-11-01T00:00:00Z'$$),
               'search_attribute_values_keyword01', 'the example of the issue starts from the customer''s index');
SELECT matches(pg_temp.plan($$WorkflowType = 'Billing'$$), 'workflows_by_type', 'WorkflowType uses workflows_by_type');
SELECT matches(pg_temp.plan(''), 'Index Scan Backward using workflows_by_start', 'the default order reads workflows_by_start, newest first');
SELECT matches(pg_temp.plan($$ExecutionStatus = 'Failed'$$), 'workflows_closed_by_status', 'a rare closed status uses workflows_closed_by_status');
-- workflows_closed_by_status leaves COMPLETED out (issue 15: an entry per
-- completed run); ordered by CloseTime, such a filter walks workflows_closed
SELECT matches(pg_temp.plan($$ExecutionStatus = 'Completed' ORDER BY CloseTime DESC$$), 'Index Scan Backward using workflows_closed ',
               'Completed by CloseTime walks workflows_closed');
SELECT matches(pg_temp.plan($$ExecutionStatus != 'Running' ORDER BY CloseTime$$), 'Index Scan using workflows_closed ',
               'every closed run by CloseTime walks workflows_closed');
SELECT is((SELECT where_sql FROM durable._compile_namespace_filter($$ExecutionStatus = 'Completed'$$, 'lf-big', false)),
          '(((w.status = ($1[1])::text)))', 'other orders leave the status condition as it is');
SELECT is((SELECT count(*) FROM durable.list_workflows(query => $$ExecutionStatus = 'Completed' ORDER BY CloseTime DESC$$,
                                                       page_size => 10000, namespace => 'lf-big')),
          (SELECT count(*) FROM durable.workflows WHERE namespace = 'lf-big' AND status = 'COMPLETED'),
          'Completed by CloseTime lists every completed run');
SELECT matches(pg_temp.plan($$ExecutionStatus = 'Running' AND WorkflowType = 'Billing'$$), 'workflows_by_type|workflows_one_open_run',
               'Running and a type: one of their indexes');
SELECT doesnt_match(pg_temp.plan($$CustomerId = 'c-7'$$), 'Seq Scan', 'no sequential scan for a selective filter');
SELECT matches(pg_temp.plan($$CustomerId STARTS_WITH 'c-49'$$), 'search_attribute_values_keyword01',
               'STARTS_WITH on a Keyword uses its index (keywords compare bytewise)');
SELECT doesnt_match(pg_temp.plan($$CustomerId IN ('c-1', 'c-2') OR CustomerId STARTS_WITH 'c-499'$$), 'Seq Scan',
                    'IN OR STARTS_WITH: both arms from the index');
SELECT matches(pg_temp.plan($$CustomerId = 'c-7'$$), 'Index Cond: \(\(namespace = ''lf-big''::text\) AND \(keyword01 = ',
               'the slot''s index is entered by namespace and value');

SELECT * FROM finish();
ROLLBACK;
