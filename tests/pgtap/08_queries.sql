-- Queries without a worker: the timeout (DU005) and the argument checks.
-- The answered round trip needs a second session: tests/concurrency/two_pollers.sh.
BEGIN;
SELECT * FROM no_plan();

SELECT durable.start_workflow('q-1', 'W', 'q-nobody-polls');
SELECT throws_ok($$SELECT durable.query_workflow('q-1', 'state', timeout_ms => 50)$$, 'DU005', 'query timed out after 50 ms',
                 'a query nobody answers times out (DU005)');
SELECT throws_ok($$SELECT durable.query_workflow('nobody', 'state', timeout_ms => 50)$$, 'DU001', NULL,
                 'a query of an unknown workflow (DU001)');
SELECT throws_ok($$SELECT durable.query_workflow('q-1', '', timeout_ms => 50)$$, '22023', NULL, 'an empty query type');
SELECT throws_ok($$SELECT durable.query_workflow('q-1', 'state', timeout_ms => 0)$$, '22023', NULL, 'a zero timeout');
SELECT throws_ok($$SELECT durable.query_workflow('q-1', 'state', timeout_ms => NULL)$$, '22023', NULL, 'a NULL timeout');
SELECT throws_ok($$SELECT durable.query_workflow('q-1', 'state', to_jsonb(repeat('x', 70000)), timeout_ms => 50)$$, '54000', NULL,
                 'query arguments over 64 kB (54000)');
SELECT is((SELECT count(*) FROM durable.poll_query_tasks('q-nobody-polls', 'tester')), 0::bigint,
          'a timed-out query is no longer offered to workers');
SELECT throws_ok($$SELECT durable.answer_query_task(987654321, '1')$$, 'DU004', NULL,
                 'an answer to a query nobody waits for is refused (DU004)');
SELECT throws_ok($$SELECT * FROM durable.poll_query_tasks('q', 'tester', 1, -1)$$, '22023', NULL, 'a negative wait_ms');
SELECT throws_ok($$SELECT * FROM durable.poll_query_tasks('q', '', 1)$$, '22023', NULL, 'an empty identity');
SELECT ok((SELECT clock_timestamp() - now() FROM durable.poll_query_tasks('q', 'tester', 1, 200) RIGHT JOIN (SELECT 1) x ON true)
          >= interval '150 ms', 'poll_query_tasks waits up to wait_ms for a query');
SELECT durable.terminate_workflow('q-1');
SELECT throws_ok($$SELECT durable.query_workflow('q-1', 'state', timeout_ms => 50)$$, 'DU005', NULL,
                 'a closed workflow can still be queried (and times out here without a worker)');

SELECT * FROM finish();
ROLLBACK;
