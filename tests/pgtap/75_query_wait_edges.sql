-- durable.wait_for_query_tasks where its queue's key is too long for a query
-- slot (a namespace and task queue of 150 bytes each: the key is 301): it is
-- refused as poll_query_tasks refuses the same queue, 54000 with the sizes,
-- not an internal error. (tests/concurrency/query_wait_edges.sh covers the
-- edges a transaction cannot: a gone client, a CALL after a write.)
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

SELECT durable.register_namespace(repeat('e', 150));
SELECT is(pg_temp.error_of(format($$SELECT * FROM durable.poll_query_tasks(%L, 'w', 1, 0, %L)$$, repeat('q', 150), repeat('e', 150)))
              ::text[],
          ARRAY['54000', 'task queue name is too long', 'It has 301 bytes; the limit is 255.', NULL],
          'poll_query_tasks refuses a queue whose key is over 255 bytes');
SELECT is(pg_temp.error_of(format($$CALL durable.wait_for_query_tasks(%L, 10, %L)$$, repeat('q', 150), repeat('e', 150))),
          pg_temp.error_of(format($$SELECT * FROM durable.poll_query_tasks(%L, 'w', 1, 0, %L)$$, repeat('q', 150), repeat('e', 150))),
          'wait_for_query_tasks refuses it with the same error');

SELECT * FROM finish();
ROLLBACK;
