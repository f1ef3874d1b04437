-- complete_activity_tasks finds each outcome's task by a probe of
-- activity_tasks's primary key, never by reading the whole table: a scan's
-- cost grows with the pages the table has grown to (every activity inserts,
-- updates and deletes a row), and in a long run that was the store's growth
-- per activity (docs/performance.md, "Long histories"). And an item whose
-- token only looks like one is that item's error, not the batch's.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

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

SELECT * FROM finish();
ROLLBACK;
