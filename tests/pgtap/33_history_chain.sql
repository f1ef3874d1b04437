-- durable.history_chain: the runs a history follower reads as one file, the
-- latest run and the runs it continues (continue-as-new), oldest first.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

SELECT durable.start_workflow('hc-1', 'W', 'hc-q');
CREATE TEMP TABLE r1 AS SELECT durable.describe_workflow('hc-1') ->> 'run_id' AS id;
SELECT is((SELECT count(*) FROM durable.history_chain('hc-1')), 1::bigint, 'one run: a chain of one');
SELECT pg_temp.complete('hc-q', '[{"type": "ContinueAsNewWorkflowExecution", "input": 2}]');
CREATE TEMP TABLE r2 AS SELECT durable.describe_workflow('hc-1') ->> 'run_id' AS id;
SELECT pg_temp.complete('hc-q', '[{"type": "ContinueAsNewWorkflowExecution", "input": 3}]');
CREATE TEMP TABLE r3 AS SELECT durable.describe_workflow('hc-1') ->> 'run_id' AS id;
SELECT is((SELECT array_agg(run_id::text) FROM durable.history_chain('hc-1')),
          ARRAY[(SELECT id FROM r1), (SELECT id FROM r2), (SELECT id FROM r3)], 'three runs, oldest first');
SELECT is((SELECT array_agg(history_length) FROM durable.history_chain('hc-1')),
          (SELECT array_agg(l) FROM (SELECT (durable.describe_workflow('hc-1', id::uuid) ->> 'history_length')::bigint l
                                       FROM (SELECT id FROM r1 UNION ALL SELECT id FROM r2 UNION ALL SELECT id FROM r3) x) y),
          'with each run''s history length');
SELECT is((SELECT array_agg(run_id::text) FROM durable.history_chain('hc-1', (SELECT id FROM r2)::uuid)),
          ARRAY[(SELECT id FROM r1), (SELECT id FROM r2)], 'a chain can end at an earlier run');
-- a new start after the chain closed begins a chain of its own
SELECT pg_temp.complete('hc-q', '[{"type": "CompleteWorkflowExecution", "result": 1}]');
SELECT durable.start_workflow('hc-1', 'W', 'hc-q');
SELECT is((SELECT count(*) FROM durable.history_chain('hc-1')), 1::bigint, 'a new start is a new chain');
SELECT throws_ok($$SELECT * FROM durable.history_chain('hc-nope')$$, 'DU001', NULL, 'an unknown workflow is DU001');
SELECT * FROM finish();
ROLLBACK;
