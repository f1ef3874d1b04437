-- Plans made on a queue's statistics (pgext/src/plan_sizes.c): statistics
-- that say a durable table is empty (taken while it was, or while its rows
-- were another transaction's uncommitted inserts or deletes) no longer make
-- the store's statements read whole tables once the rows are there.
-- Counted with the transaction's own table counters (pg_stat_xact_user_tables),
-- not timed.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
-- The TRUNCATEs below can deadlock with a timer worker's firing; the one
-- whose deadlock_timeout ends first gives up, and it must be the timer
-- worker (which retries), not this test.
SET LOCAL deadlock_timeout = '1min';

-- Rows read from t (by sequential scans, and heap rows fetched through
-- indexes) since the last mark.
CREATE TEMP TABLE before (relname name, rows_read bigint);
CREATE FUNCTION pg_temp.rows_read_now(t text) RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_xact_user_tables
     WHERE schemaname = 'durable' AND relname = t
$$;
CREATE FUNCTION pg_temp.mark() RETURNS void LANGUAGE sql AS $$
    DELETE FROM before;
    INSERT INTO before SELECT relname, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)
      FROM pg_stat_xact_user_tables WHERE schemaname = 'durable';
$$;
CREATE FUNCTION pg_temp.rows_read(t text) RETURNS bigint LANGUAGE sql AS $$
    SELECT pg_temp.rows_read_now(t) - coalesce((SELECT rows_read FROM before WHERE relname = t), 0)
$$;
-- n ready activity tasks of queue q, in one statement (placed by hand: no trigger)
CREATE FUNCTION pg_temp.ready_tasks(q text, n integer) RETURNS void LANGUAGE sql AS $$
    INSERT INTO durable.activity_tasks (run_id, namespace, workflow_id, scheduled_event_id, activity_id,
        activity_type, task_queue, state, scheduled_at, attempt_scheduled_at, start_to_close_timeout,
        retry_initial_interval, retry_backoff_coefficient, retry_maximum_interval, retry_maximum_attempts, pass)
    SELECT gen_random_uuid(), 'default', 'sizes', i, i::text, 'A', q, 'SCHEDULED', now(), now(), '10 min',
           '1 s', 2, '1 min', 0, i
      FROM generate_series(1, n) i
$$;

-- 1. Statistics taken while the only rows were uncommitted: the table has
-- pages, and the statistics say they hold nothing. (Here the rows are this
-- transaction's, deleted: ANALYZE counts them as gone.)
TRUNCATE durable.activity_tasks;
SELECT pg_temp.ready_tasks('sizes-old', 3000);
DELETE FROM durable.activity_tasks;
ANALYZE durable.activity_tasks;
SELECT ok((SELECT relpages > 10 AND reltuples = 0 FROM pg_class WHERE oid = 'durable.activity_tasks'::regclass),
          'activity_tasks: statistics of no rows in many pages');
SELECT pg_temp.ready_tasks('sizes-q', 2000);
SELECT pg_temp.mark();
SELECT is((SELECT count(*) FROM durable.poll_activity_tasks('sizes-q', 'tester', 100)), 100::bigint, 'a poll leases 100');
SELECT is((SELECT count(*) FROM durable.poll_activity_tasks('sizes-q', 'tester', 100)), 100::bigint, 'and another 100');
SELECT is((SELECT count(*) FROM durable.poll_activity_tasks('sizes-q', 'tester', 100)), 100::bigint, 'and another');
SELECT cmp_ok(pg_temp.rows_read('activity_tasks'), '<', 1500::bigint,
              'three polls of 100 in a queue of 2,000 read the tasks they lease, not the whole queue each');

-- 2. Statistics taken while the tables were empty, and a burst scheduled
-- in one transaction: no statement reads every task or event before it.
TRUNCATE durable.activity_tasks, durable.history_rows, durable.workflows, durable.workflow_tasks;
ANALYZE durable.activity_tasks, durable.history_rows, durable.workflows, durable.workflow_tasks;
SELECT count(durable.start_workflow('sizes-burst-' || i, 'W', 'sizes-wf')) FROM generate_series(1, 10) i;
SELECT pg_temp.mark();
SELECT lives_ok($$SELECT pg_temp.complete('sizes-wf', (SELECT jsonb_agg(jsonb_build_object(
                    'type', 'ScheduleActivityTask', 'activity_id', i::text, 'activity_type', 'A',
                    'task_queue', 'sizes-burst-q', 'start_to_close_timeout', 600))
                  FROM generate_series(1, 40) i)) FROM generate_series(1, 10)$$,
                'ten workflow tasks schedule 40 activities each, in one transaction');
SELECT is((SELECT count(*) FROM durable.activity_tasks WHERE task_queue = 'sizes-burst-q'), 400::bigint,
          'all 400 are queued');
-- (each schedule looks for an open activity of the same id among its run's:
-- 40 x 39 / 2 rows a run; every task before each would be 80,000)
SELECT cmp_ok(pg_temp.rows_read('activity_tasks'), '<', 20000::bigint,
              'scheduling them read their runs'' tasks, not every task before each');
SELECT cmp_ok(pg_temp.rows_read('history_rows'), '<', 4000::bigint,
              'and about one event per event written (every event before each would be 100,000)');

SELECT * FROM finish();
ROLLBACK;
