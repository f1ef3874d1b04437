-- Typed search attributes: declaring, checking values at start and upsert,
-- indexing them (and existing values when declared), removing.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- Declaring
SELECT lives_ok($$SELECT durable.add_search_attribute('CustomerId', 'keyword', 'sa')$$, 'a Keyword (type in any case)');
SELECT lives_ok($$SELECT durable.add_search_attribute('Amount', 'Int', 'sa')$$, 'an Int');
SELECT lives_ok($$SELECT durable.add_search_attribute('Price', 'Double', 'sa')$$, 'a Double');
SELECT lives_ok($$SELECT durable.add_search_attribute('Vip', 'Bool', 'sa')$$, 'a Bool');
SELECT lives_ok($$SELECT durable.add_search_attribute('DueAt', 'Datetime', 'sa')$$, 'a Datetime');
SELECT lives_ok($$SELECT durable.add_search_attribute('Tags', 'KeywordList', 'sa')$$, 'a KeywordList');
SELECT lives_ok($$SELECT durable.add_search_attribute('Notes', 'Text', 'sa')$$, 'a Text');
SELECT is((SELECT array_agg(name || ':' || type ORDER BY name) FROM durable.list_search_attributes('sa') WHERE NOT builtin),
          ARRAY['Amount:Int', 'CustomerId:Keyword', 'DueAt:Datetime', 'Notes:Text', 'Price:Double', 'Tags:KeywordList', 'Vip:Bool'],
          'list_search_attributes lists them with their types');
SELECT ok((SELECT bool_and(builtin) FROM durable.list_search_attributes('sa')
            WHERE name IN ('WorkflowId', 'WorkflowType', 'ExecutionStatus', 'StartTime', 'CloseTime', 'TaskQueue')),
          'and the built-in ones');

SELECT throws_ok($$SELECT durable.add_search_attribute('CustomerId', 'Int', 'sa')$$, '42710', NULL, 'a second declaration');
SELECT throws_ok($$SELECT durable.add_search_attribute('customerid', 'Int', 'sa')$$, '42710', NULL, 'names differing in case only');
SELECT throws_ok($$SELECT durable.add_search_attribute('Region', 'Money', 'sa')$$, '22023',
                 'unknown search attribute type "Money"', 'an unknown type');
SELECT throws_ok($$SELECT durable.add_search_attribute('WorkflowType', 'Keyword', 'sa')$$, '22023',
                 'search attribute "WorkflowType" is built in', 'a built-in name');
SELECT throws_ok($$SELECT durable.add_search_attribute('DurableX', 'Keyword', 'sa')$$, '22023', NULL, 'the reserved prefix');
SELECT throws_ok($$SELECT durable.add_search_attribute('Order', 'Keyword', 'sa')$$, '22023', NULL, 'a word of the language');
SELECT throws_ok($$SELECT durable.add_search_attribute('a b', 'Keyword', 'sa')$$, '22023', NULL, 'a name with a space');
SELECT throws_ok($$SELECT durable.add_search_attribute('x''; DROP TABLE durable.workflows; --', 'Keyword', 'sa')$$, '22023', NULL,
                 'a name with a quote and a semicolon');
SELECT lives_ok($$SELECT durable.add_search_attribute('Flag2', 'Bool', 'sa'); SELECT durable.add_search_attribute('Flag3', 'Bool', 'sa')$$,
                'two more Bools fill the three slots');
SELECT throws_ok($$SELECT durable.add_search_attribute('Flag4', 'Bool', 'sa')$$, '54000',
                 'namespace "sa" has no free Bool search attribute', 'a fourth Bool');
SELECT is((SELECT count(*) FROM durable.search_attribute_types WHERE namespace = 'sa'), 9::bigint,
          'refused declarations added nothing');

-- Values are checked at start
SELECT lives_ok($$SELECT durable.start_workflow('sa-1', 'Billing', 'saq', NULL, '{"search_attributes":
    {"CustomerId": "c-7", "Amount": 12, "Price": 3.14, "Vip": true, "DueAt": "2026-11-02T10:00:00Z",
     "Tags": ["gold", "eu"], "Notes": "late payment reminder", "Free": {"any": "thing"}}}', 'sa')$$,
    'a start with a value of each type (and an undeclared attribute)');
SELECT is((SELECT ROW(keyword01, int01, double01, bool01, datetime01, keywordlist01)::text FROM durable.search_attribute_values v
             JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'sa-1'),
          ROW('c-7', 12::bigint, 3.14::float8, true, '2026-11-02T10:00:00Z'::timestamptz, ARRAY['gold', 'eu'])::text,
          'the values are in their typed slots (3.14 stays 3.14)');
SELECT throws_ok($$SELECT durable.start_workflow('sa-bad', 'Billing', 'saq', NULL, '{"search_attributes": {"Amount": 1.5}}', 'sa')$$,
                 '22023', 'search attribute "Amount" (Int) must be a whole JSON number between -2^63 and 2^63-1', 'a fraction for an Int');
SELECT throws_ok($$SELECT durable.start_workflow('sa-bad', 'Billing', 'saq', NULL, '{"search_attributes": {"Amount": "12"}}', 'sa')$$,
                 '22023', NULL, 'a string for an Int');
SELECT throws_ok($$SELECT durable.start_workflow('sa-bad', 'Billing', 'saq', NULL, '{"search_attributes": {"Amount": 9223372036854775808}}', 'sa')$$,
                 '22023', NULL, '2^63 for an Int');
SELECT throws_ok($$SELECT durable.start_workflow('sa-bad', 'Billing', 'saq', NULL, '{"search_attributes": {"CustomerId": 7}}', 'sa')$$,
                 '22023', NULL, 'a number for a Keyword');
SELECT throws_ok($$SELECT durable.start_workflow('sa-bad', 'Billing', 'saq', NULL, '{"search_attributes": {"Vip": "yes"}}', 'sa')$$,
                 '22023', NULL, 'a string for a Bool');
SELECT throws_ok($$SELECT durable.start_workflow('sa-bad', 'Billing', 'saq', NULL, '{"search_attributes": {"DueAt": "2026-11-02"}}', 'sa')$$,
                 '22023', NULL, 'a date without a time for a Datetime');
SELECT throws_ok($$SELECT durable.start_workflow('sa-bad', 'Billing', 'saq', NULL, '{"search_attributes": {"DueAt": "2026-02-30T00:00:00Z"}}', 'sa')$$,
                 '22023', NULL, 'a day past the end of its month');
SELECT throws_ok($$SELECT durable.start_workflow('sa-bad', 'Billing', 'saq', NULL, '{"search_attributes": {"Tags": ["a", 1]}}', 'sa')$$,
                 '22023', NULL, 'a number in a KeywordList');
SELECT throws_ok($$SELECT durable.start_workflow('sa-bad', 'Billing', 'saq', NULL, '{"search_attributes": {"Price": 1e400}}', 'sa')$$,
                 '22023', NULL, 'a Double out of range');
SELECT is((SELECT count(*) FROM durable.workflows WHERE workflow_id = 'sa-bad'), 0::bigint, 'refused starts started nothing');
SELECT lives_ok($$SELECT durable.start_workflow('sa-bad', 'Billing', 'saq', NULL, '{"search_attributes": {"Amount": 12}}', 'other-ns')$$,
                'another namespace did not declare Amount: anything goes there, as in 0.1');

-- ... and at upsert, from a workflow task
SELECT pg_temp.complete('saq', '[{"type": "UpsertWorkflowSearchAttributes", "search_attributes": {"Amount": 13, "Vip": null}}]', 'sa');
SELECT is((SELECT ROW(int01, bool01)::text FROM durable.search_attribute_values v
             JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'sa-1'),
          ROW(13::bigint, NULL::boolean)::text, 'an upsert updates a value and removes one set to null');
SELECT is((SELECT outcome FROM durable.complete_workflow_tasks(jsonb_build_array(jsonb_build_object(
              'task_token', (SELECT task_token FROM durable.poll_workflow_tasks('saq', 'tester', 1, NULL, 'sa')),
              'commands', '[{"type": "UpsertWorkflowSearchAttributes", "search_attributes": {"Amount": "many"}}]'::jsonb)))),
          'INVALID', 'an upsert of a bad value is refused as an invalid completion');
SELECT is((SELECT int01 FROM durable.search_attribute_values v JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'sa-1'),
          13::bigint, 'and changed nothing');
SELECT is((SELECT w.search_attributes -> 'Amount' FROM durable.workflows w WHERE w.workflow_id = 'sa-1' AND namespace = 'sa'),
          '13'::jsonb, 'not even the document');

-- Declaring an attribute that runs already hold indexes their values, or is refused
SELECT durable.start_workflow('sa-2', 'Billing', 'saq', NULL, '{"search_attributes": {"Region": "eu-west", "Level": "high"}}', 'sa');
SELECT lives_ok($$SELECT durable.add_search_attribute('Region', 'Keyword', 'sa')$$, 'declare an attribute already held');
SELECT is((SELECT keyword02 FROM durable.search_attribute_values v JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'sa-2'),
          'eu-west', 'the value held before is indexed');
SELECT throws_ok($$SELECT durable.add_search_attribute('Level', 'Int', 'sa')$$, '22023', NULL,
                 'a declaration that a held value does not fit is refused');
SELECT ok(NOT EXISTS (SELECT 1 FROM durable.search_attribute_types WHERE namespace = 'sa' AND name = 'Level'), 'and not declared');

-- Removing
SELECT lives_ok($$SELECT durable.remove_search_attribute('Region', 'sa')$$, 'remove an attribute');
SELECT is((SELECT keyword02 FROM durable.search_attribute_values v JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'sa-2'),
          NULL, 'its slot is emptied');
SELECT is((SELECT w.search_attributes ->> 'Region' FROM durable.workflows w WHERE w.workflow_id = 'sa-2'), 'eu-west',
          'the workflow keeps the value in its document');
SELECT throws_ok($$SELECT durable.remove_search_attribute('Region', 'sa')$$, '42704', NULL, 'removing it again');

-- Deleting (and purging) a run deletes its values; verify_store names strays
SELECT durable.start_workflow('sa-del', 'Billing', 'saq-del', NULL, '{"search_attributes": {"CustomerId": "c-del"}}', 'sa');
SELECT is((SELECT count(*) FROM durable.search_attribute_values WHERE keyword01 = 'c-del'), 1::bigint, 'a run with a value has its row');
SELECT durable.delete_workflow('sa-del', 'test', 'sa');
SELECT is((SELECT count(*) FROM durable.search_attribute_values WHERE keyword01 = 'c-del'), 0::bigint, 'delete_workflow deletes it');
SAVEPOINT stray;
INSERT INTO durable.search_attribute_values (run_id, namespace, keyword01) VALUES (gen_random_uuid(), 'sa', 'stray');
SELECT ok(EXISTS (SELECT 1 FROM durable.verify_store() WHERE problem = 'search attribute values without a run'),
          'verify_store names values without a run');
ROLLBACK TO stray;

-- Roles
SET LOCAL ROLE durable_operator;
SELECT throws_ok($$SELECT durable.add_search_attribute('Other', 'Keyword', 'sa')$$, '42501', NULL, 'operators may not declare');
SELECT lives_ok($$SELECT * FROM durable.list_search_attributes('sa')$$, 'but may list');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
