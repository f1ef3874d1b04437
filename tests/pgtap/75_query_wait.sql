-- durable.wait_for_query_tasks (api/75_query_wait.sql, pgext/src/query_wait.c):
-- its bad input, its grants, and that it refuses to run where it could not
-- commit before waiting. pgTAP runs in a transaction, which is such a place;
-- tests/concurrency/query_wait.sh CALLs it on its own: that it holds no
-- snapshot while it waits, and wakes for a posted query.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- bad input: refused before anything else, with errcode, message, hint -----------

SELECT is(pg_temp.error_of($$CALL durable.wait_for_query_tasks('', 10)$$),
          ARRAY['22023', 'task_queue must be non-empty', NULL,
                'Pass the task queue whose queries the worker answers.'],
          'an empty task_queue is refused');
SELECT is(pg_temp.error_of($$CALL durable.wait_for_query_tasks(NULL, 10)$$),
          ARRAY['22023', 'task_queue must be non-empty', NULL,
                'Pass the task queue whose queries the worker answers.'],
          'a NULL task_queue is refused');
SELECT is(pg_temp.error_of(format($$CALL durable.wait_for_query_tasks(%L, 10)$$, repeat('q', 256))),
          ARRAY['54000', 'task_queue is too long', 'It has 256 bytes; the limit is 255.',
                'Use a shorter name; docs/sql-api.md, "Limits", lists every limit.'],
          'a task_queue over 255 bytes is refused');
SELECT is(pg_temp.error_of($$CALL durable.wait_for_query_tasks('qw', -1)$$),
          ARRAY['22023', 'wait_ms must be between 0 and 600000', 'Got -1.',
                'A worker waits a few seconds, then calls again.'],
          'a negative wait_ms is refused');
SELECT is(pg_temp.error_of($$CALL durable.wait_for_query_tasks('qw', 600001)$$),
          ARRAY['22023', 'wait_ms must be between 0 and 600000', 'Got 600001.',
                'A worker waits a few seconds, then calls again.'],
          'a wait_ms over ten minutes is refused');
SELECT is(pg_temp.error_of($$CALL durable.wait_for_query_tasks('qw', NULL)$$),
          ARRAY['22023', 'wait_ms must be between 0 and 600000', 'Got NULL.',
                'A worker waits a few seconds, then calls again.'],
          'a NULL wait_ms is refused');
SELECT is((pg_temp.error_of($$CALL durable.wait_for_query_tasks('qw', 10, 'a/b')$$))[1:2],
          ARRAY['22023', 'namespace must be non-empty, without "/" or control characters'],
          'a malformed namespace is refused');
SELECT is((pg_temp.error_of($$CALL durable.wait_for_query_tasks('qw', 10, NULL)$$))[1:2],
          ARRAY['22023', 'namespace must be non-empty, without "/" or control characters'],
          'a NULL namespace is refused');
SELECT is(pg_temp.error_of($$CALL durable.wait_for_query_tasks('qw', 10, 'default', 'v 1')$$),
          ARRAY['22023', 'build_id must be non-empty, without spaces, "/" or control characters', 'Got ''v 1''.',
                'Use e.g. a release tag or a commit id: ''v1.4.2'', ''9f3c2ab''.'],
          'a malformed build_id is refused');

-- grants: a worker may wait, on the queues it may poll ------------------------------

SELECT ok(has_function_privilege('durable_worker', 'durable.wait_for_query_tasks(text, integer, text, text, boolean)', 'EXECUTE'),
          'durable_worker may CALL wait_for_query_tasks');
SELECT ok(has_function_privilege('durable_scoped', 'durable.wait_for_query_tasks(text, integer, text, text, boolean)', 'EXECUTE'),
          'and so may durable_scoped (its grants say on which queues)');
SELECT ok(NOT has_function_privilege('public', 'durable.wait_for_query_tasks(text, integer, text, text, boolean)', 'EXECUTE'),
          'PUBLIC may not');
SELECT ok(NOT has_function_privilege('durable_operator', 'durable.wait_for_query_tasks(text, integer, text, text, boolean)', 'EXECUTE'),
          'nor an operator');
SELECT is((SELECT prosecdef OR proconfig IS NOT NULL FROM pg_proc
            WHERE oid = 'durable.wait_for_query_tasks(text, integer, text, text, boolean)'::regprocedure), false,
          'the procedure is neither SECURITY DEFINER nor SET: it could not commit');
SELECT is((SELECT prosecdef AND 'search_path=pg_catalog, pg_temp' = ANY (proconfig) FROM pg_proc
            WHERE oid = 'durable._query_wait_key(text, integer, text, text)'::regprocedure), true,
          'its checks run SECURITY DEFINER with a pinned search_path');

CREATE ROLE qw_queue NOLOGIN;
SELECT ok(durable.grant_task_queue('qw_queue', 'qw-mine', 'qwns'), 'a worker grant on one queue');
SELECT is(pg_temp.as_role('qw_queue', $$CALL durable.wait_for_query_tasks('qw-other', 10, 'qwns')$$), '42501',
          'a scoped worker may not wait on a queue it has no grant on');
SELECT is(pg_temp.as_role('durable_operator', $$CALL durable.wait_for_query_tasks('qw-mine', 10, 'qwns')$$), '42501',
          'an operator may not wait');
SELECT is(pg_temp.as_role('qw_queue', $$CALL durable.wait_for_query_tasks('qw-mine', 10, 'qwns')$$), '25001',
          'on its own queue the checks pass (and the transaction block is what stops it)');

-- inside a transaction it cannot commit, so it does not wait -----------------------

SELECT is(pg_temp.error_of($$CALL durable.wait_for_query_tasks('qw', 10)$$),
          ARRAY['25001', 'durable.wait_for_query_tasks must be called on its own, outside a transaction block',
                'It commits before it waits, so that it holds no snapshot while it waits.',
                'CALL it in autocommit mode, not after BEGIN nor from a function; inside a transaction, use poll_query_tasks(..., wait_ms => 0).'],
          'inside a transaction block it is refused, with what to do instead');
SELECT is(pg_temp.error_of($$CALL durable.wait_for_query_tasks('qw', 0)$$),
          ARRAY['25001', 'durable.wait_for_query_tasks must be called on its own, outside a transaction block',
                'It commits before it waits, so that it holds no snapshot while it waits.',
                'CALL it in autocommit mode, not after BEGIN nor from a function; inside a transaction, use poll_query_tasks(..., wait_ms => 0).'],
          'even with wait_ms 0');

-- poll_query_tasks keeps its long poll for existing callers --------------------------
SELECT is((SELECT count(*) FROM durable.poll_query_tasks('qw', 'w', 1, 10)), 0::bigint,
          'poll_query_tasks(..., wait_ms > 0) still waits and returns nothing when nothing is posted');

SELECT * FROM finish();
ROLLBACK;
