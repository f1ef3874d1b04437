-- Run ids in time order (pgext/src/run_id.c, api/74_run_ids.sql): every new
-- run's id is a version 7 UUID whose first 48 bits are the milliseconds of
-- its creation, the next 12 its fraction of that millisecond, the rest
-- random; a backend's ids are strictly increasing, also within one
-- millisecond; ids stay unique.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE TEMP TABLE t0 AS SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms;
CREATE TEMP TABLE ids AS SELECT i, durable._new_run_id() AS id FROM generate_series(1, 10000) i;
CREATE TEMP TABLE t1 AS SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms;
SELECT is((SELECT count(DISTINCT id) FROM ids), 10000::bigint, '10,000 ids, all different');
SELECT is((SELECT count(*) FROM ids WHERE substr(id::text, 15, 1) = '7' AND substr(id::text, 20, 1) IN ('8', '9', 'a', 'b')),
          10000::bigint, 'each of version 7, variant 10');
SELECT is((SELECT count(*) FROM ids
            WHERE ('x' || substr(replace(id::text, '-', ''), 1, 12))::bit(48)::bigint
                  BETWEEN (SELECT ms FROM t0) - 1 AND (SELECT ms FROM t1) + 1),
          10000::bigint, 'each led by the milliseconds it was made in');
SELECT is((SELECT count(DISTINCT substr(id::text, 20)) FROM ids), 10000::bigint, 'and random after them');
-- a batch takes its runs in run id order (complete_activity_tasks): ids made
-- in one millisecond were in random order (516 inversions in 1,000)
SELECT is((SELECT count(*) FROM (SELECT id, lag(id) OVER (ORDER BY i) AS before FROM ids) s WHERE id <= before),
          0::bigint, 'made in one statement, each sorts after the one made before it');
SELECT cmp_ok((SELECT count(DISTINCT substr(id::text, 1, 13)) FROM ids), '<', 10000::bigint,
              'some of them made in the same millisecond (else the order above would be the clock''s alone)');
SELECT is((SELECT proparallel FROM pg_proc WHERE oid = 'durable._new_run_id'::regproc), 'r',
          'parallel restricted: a statement''s ids are all made in its own backend');
CREATE TEMP TABLE first AS SELECT durable._new_run_id() AS id;
SELECT pg_sleep(0.01);
SELECT ok(durable._new_run_id() > (SELECT id FROM first), 'an id made later sorts after');

-- every kind of new run gets one
SELECT durable.start_workflow('rid-1', 'W', 'rid-q');
SELECT is((SELECT substr(run_id::text, 15, 1) FROM durable.workflows WHERE workflow_id = 'rid-1'), '7',
          'start_workflow''s run');
SELECT pg_temp.complete('rid-q', '[{"type": "ContinueAsNewWorkflowExecution", "input": 1}]');
SELECT is((SELECT array_agg(substr(run_id::text, 15, 1)) FROM durable.workflows WHERE workflow_id = 'rid-1'), ARRAY['7', '7'],
          'a continued run''s too');
-- runs started in one statement: their run ids in the order they started
SELECT count(durable.start_workflow('rid-seq-' || i, 'W', 'rid-seq-q')) FROM generate_series(1, 200) i;
SELECT is((SELECT count(*) FROM (SELECT workflow_id, row_number() OVER (ORDER BY run_id) AS by_id
                                    FROM durable.workflows WHERE task_queue = 'rid-seq-q') s
            WHERE workflow_id <> 'rid-seq-' || by_id),
          0::bigint, 'runs started in one statement: their run ids in the order they were started');
SELECT * FROM finish();
ROLLBACK;
