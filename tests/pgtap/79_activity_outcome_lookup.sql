-- complete_activity_tasks finds each outcome's task by a probe of
-- activity_tasks's primary key, never by reading the whole table: a scan's
-- cost grows with the pages the table has grown to (every activity inserts,
-- updates and deletes a row), and in a long run that was the store's growth
-- per activity (docs/performance.md, "Long histories"). And an item whose
-- token only looks like one is that item's error, not the batch's.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- The probe reads activity_tasks alone, as the look-up statement (a SELECT)
-- would: a batch whose token names no task (first in the transaction, which
-- holds no lock on these tables yet) locks that table for reading and none of
-- the other three a result reads (they are opened only to complete one).
CREATE FUNCTION pg_temp.locked() RETURNS text[] LANGUAGE sql AS $$
    SELECT array_agg(c.relname || ' ' || l.mode ORDER BY c.relname, l.mode)
      FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
     WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'
       AND c.relnamespace = 'durable'::regnamespace
       AND c.relname IN ('activity_tasks', 'task_queue_limits', 'activity_pauses', 'workflow_tasks')
$$;
SELECT is(pg_temp.locked(), NULL, '(no lock on them yet)');
SELECT is((SELECT array_agg(outcome) FROM durable.complete_activity_tasks('[{"task_token": "a999999999.1", "result": 1}]')),
          ARRAY['LEASE_LOST'], 'a token of no task: LEASE_LOST');
SELECT is(pg_temp.locked(), ARRAY['activity_tasks AccessShareLock'], 'its look-up locked activity_tasks alone, for reading');

CREATE FUNCTION pg_temp.seq_scans() RETURNS bigint LANGUAGE sql AS $$
    SELECT pg_stat_get_xact_numscans('durable.activity_tasks'::regclass)
$$;
-- n workflows whose first task schedules one activity each on queue q
CREATE FUNCTION pg_temp.schedule(q text, n integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM durable.start_workflow(q || '-' || i, 'W', q) FROM generate_series(1, n) i;
    PERFORM durable.complete_workflow_task(t.task_token,
        '[{"type": "ScheduleActivityTask", "activity_type": "A", "activity_id": "1", "start_to_close_timeout": 60}]')
      FROM durable.poll_workflow_tasks(q, 'tester', n) t;
END
$$;

-- a table of some size, most of it dead rows, with statistics that say so
SELECT pg_temp.schedule('lk-old', 200);
SELECT is((SELECT count(*) FROM durable.complete_activity_tasks(
              (SELECT jsonb_agg(jsonb_build_object('task_token', task_token, 'result', 1))
                 FROM durable.poll_activity_tasks('lk-old', 'tester', 200)))), 200::bigint, '(200 activities done)');
ANALYZE durable.activity_tasks;

SELECT pg_temp.schedule('lk', 8);
CREATE TEMP TABLE leased AS SELECT task_token FROM durable.poll_activity_tasks('lk', 'tester', 8);
CREATE TEMP TABLE scans AS SELECT pg_temp.seq_scans() AS n;
-- one outcome per call, as a worker sends them, more than five times (plpgsql's generic plan)
SELECT is((SELECT array_agg(outcome) FROM leased l,
                  durable.complete_activity_tasks(jsonb_build_array(jsonb_build_object('task_token', l.task_token, 'result', 2)))),
          array_fill('COMPLETED'::text, ARRAY[8]), 'eight outcomes, one call each, are completed');
SELECT is(pg_temp.seq_scans(), (SELECT n FROM scans), 'without a sequential scan of activity_tasks');
SELECT is((SELECT count(*) FROM durable.activity_tasks WHERE task_queue = 'lk'), 0::bigint, '(their tasks are gone)');

-- tokens that are not a task's: each is its item's outcome
SELECT is((SELECT array_agg(row(outcome, error IS NOT NULL)::text ORDER BY ord)
             FROM durable.complete_activity_tasks('[{"task_token": "a99999999999999999999.1", "result": 1},
                                                    {"task_token": "zz", "result": 1}, 5]'::jsonb)
                  WITH ORDINALITY AS c(task_token, outcome, error, ord)),
          ARRAY['(INVALID,t)', '(INVALID,t)', '(INVALID,t)'],
          'a token with too many digits, one of another shape and an item that is not an object are each INVALID');


-- The look-up statement, where the probe may not read (row security on
-- activity_tasks; its owner, this session, still sees every row): each row
-- its items, several naming one task, out of order, among tokens of no
-- task; the outcomes and results are the probe's on a twin batch.
CREATE TEMP TABLE twins (side text, wid text, token text, i integer);
SELECT pg_temp.schedule('lk-p', 6);
SELECT pg_temp.schedule('lk-s', 6);
INSERT INTO twins SELECT 'probe', workflow_id, task_token, split_part(workflow_id, '-', 3)::integer
  FROM durable.poll_activity_tasks('lk-p', 'tester', 6);
INSERT INTO twins SELECT 'statement', workflow_id, task_token, split_part(workflow_id, '-', 3)::integer
  FROM durable.poll_activity_tasks('lk-s', 'tester', 6);
-- a side's batch: its tasks in reverse order, task 2 named first by an item between 4 and 3 (result
-- 100) and again in its place, and a token of no task between 5 and 4
CREATE FUNCTION pg_temp.batch(side text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(x ORDER BY k) FROM (
        SELECT jsonb_build_object('task_token', token, 'result', i) AS x, -i AS k FROM twins WHERE twins.side = $1
        UNION ALL
        SELECT jsonb_build_object('task_token', token, 'result', 100), -3.5 FROM twins WHERE twins.side = $1 AND i = 2
        UNION ALL
        SELECT '{"task_token": "a999999999.1", "result": 1}', -4.5) b
$$;
CREATE FUNCTION pg_temp.outcomes(side text) RETURNS text[] LANGUAGE sql AS $$
    SELECT array_agg(c.outcome || ':' || coalesce(t.i::text, '-') ORDER BY c.ord)
      FROM durable.complete_activity_tasks(pg_temp.batch(side)) WITH ORDINALITY AS c(task_token, outcome, error, ord)
      LEFT JOIN twins t ON t.token = c.task_token AND t.side = $1
$$;
CREATE TEMP TABLE probed AS SELECT pg_temp.outcomes('probe') AS o;
ALTER TABLE durable.activity_tasks ENABLE ROW LEVEL SECURITY;
CREATE TEMP TABLE stated AS SELECT pg_temp.outcomes('statement') AS o;
ALTER TABLE durable.activity_tasks DISABLE ROW LEVEL SECURITY;
SELECT is((SELECT o FROM stated), (SELECT o FROM probed), 'by the statement: the outcomes the probe gives, item by item');
SELECT is((SELECT count(*) FROM unnest((SELECT o FROM stated)) o WHERE o LIKE 'COMPLETED:%'), 6::bigint,
          '(each task completed once)');
SELECT is((SELECT array_agg(t.i ORDER BY t.i) FROM twins t
            WHERE t.side = 'statement'
              AND pg_temp.event(t.wid, 'ActivityTaskCompleted') -> 'result' = to_jsonb(CASE t.i WHEN 2 THEN 100 ELSE t.i END)),
          ARRAY[1, 2, 3, 4, 5, 6], 'with the result of the item that named it first');

SELECT * FROM finish();
ROLLBACK;
