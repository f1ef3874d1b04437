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
SELECT throws_ok($$SELECT durable.answer_query_task('q' || md5('guessed'), '1')$$, 'DU004', NULL,
                 'an answer with a token no poll handed out is refused (DU004)');
SELECT throws_ok($$SELECT durable.answer_query_task('987654321', '1')$$, '22023', 'malformed query token',
                 'a sequential query id is no token (22023)');
SELECT throws_ok($$SELECT durable.answer_query_task('q' || upper(md5('x')), '1')$$, '22023', 'malformed query token',
                 'a token in upper case is malformed (22023)');
SELECT throws_ok($$SELECT durable.answer_query_task(NULL, '1')$$, '22023', NULL, 'a NULL token (22023)');
SELECT throws_ok($$SELECT * FROM durable.poll_query_tasks('q', 'tester', 1, -1)$$, '22023', NULL, 'a negative wait_ms');
SELECT throws_ok($$SELECT * FROM durable.poll_query_tasks('q', '', 1)$$, '22023', NULL, 'an empty identity');
CREATE FUNCTION pg_temp.poll_wait(wait_ms integer) RETURNS interval LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    PERFORM * FROM durable.poll_query_tasks('q-idle', 'tester', 1, wait_ms);
    RETURN clock_timestamp() - t0;
END
$$;
SELECT ok(pg_temp.poll_wait(200) >= interval '190 ms', 'poll_query_tasks waits up to wait_ms for a query');
SELECT ok(pg_temp.poll_wait(0) < interval '150 ms', 'and not at all with wait_ms 0');
SELECT durable.terminate_workflow('q-1');
SELECT throws_ok($$SELECT durable.query_workflow('q-1', 'state', timeout_ms => 50)$$, 'DU005', NULL,
                 'a closed workflow can still be queried (and times out here without a worker)');

SELECT * FROM finish();
ROLLBACK;
