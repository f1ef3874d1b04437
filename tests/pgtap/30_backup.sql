-- Backups: pg_dump keeps a table's rows only if the table is marked with
-- pg_extension_config_dump. Every table and sequence of schema durable must be,
-- so that a restore keeps every workflow (tests/backup restores one for real).
-- A new table that is not marked fails here: mark it next to its CREATE TABLE
-- (sql/README.md).
BEGIN;
SELECT * FROM no_plan();

SELECT is_empty($$
    SELECT c.oid::regclass::text
      FROM pg_catalog.pg_class c
     WHERE c.relnamespace = 'durable'::regnamespace
       AND c.relkind IN ('r', 'p', 'S')
       AND c.oid <> ALL (SELECT unnest(extconfig) FROM pg_catalog.pg_extension WHERE extname = 'durable')
$$, 'every table and sequence of schema durable is dumped with its rows (pg_extension_config_dump)');

SELECT is_empty($$
    SELECT cfg::regclass::text
      FROM pg_catalog.pg_extension e, unnest(e.extconfig) AS cfg
     WHERE e.extname = 'durable'
       AND (SELECT relnamespace FROM pg_catalog.pg_class WHERE oid = cfg) <> 'durable'::regnamespace
$$, 'nothing outside schema durable is marked');

SELECT is((SELECT count(*)::int FROM durable.clock), 0,
          'the install writes no clock row (a restore''s COPY adds the saved one without a conflict)');

-- The clock is data: skip_time writes durable.clock in the transaction ----------------
SELECT durable.skip_time('2 days');
SELECT ok((SELECT offset_us >= 2 * 86400 * 1000000::bigint FROM durable.clock WHERE clock = 'server'),
          'skip_time keeps its offset in durable.clock');
SELECT is(durable.clock_offset(),
          (SELECT make_interval(secs => offset_us / 1e6) FROM durable.clock WHERE clock = 'server'),
          'clock_offset() is the offset in durable.clock');
SELECT ok(durable.now() >= now() + interval '2 days', 'durable.now() includes the offset at once, in the same transaction');
SELECT durable.skip_time('1 day');
SELECT ok((SELECT offset_us >= 3 * 86400 * 1000000::bigint FROM durable.clock WHERE clock = 'server'),
          'a second skip adds to the first');

SELECT throws_ok($$INSERT INTO durable.clock VALUES ('ns-1', 1, now())$$, '23514', NULL,
                 'durable.clock has one row, the server''s, until clocks per namespace exist');

-- verify_store: a consistent store has nothing to say; each kind of damage is named --
SELECT durable.start_workflow('verify-1', 'W', 'verify-q');
SELECT durable.start_workflow('verify-2', 'W', 'verify-q');
SELECT is_empty($$SELECT * FROM durable.verify_store()$$, 'a consistent store: verify_store returns nothing');
SAVEPOINT damage;
DELETE FROM durable.workflow_tasks WHERE run_id = (SELECT run_id FROM durable.workflows WHERE workflow_id = 'verify-1');
DELETE FROM durable.history WHERE event_id = 1
   AND run_id = (SELECT run_id FROM durable.workflows WHERE workflow_id = 'verify-2');
INSERT INTO durable.timers SELECT run_id, 't-lost', 99, now() FROM durable.workflows WHERE workflow_id = 'verify-1';
INSERT INTO durable.workflow_tasks (task_id, run_id, namespace, task_queue, state, scheduled_at)
SELECT 1000000000, run_id, 'default', 'verify-q', 'SCHEDULED', now() FROM durable.workflows WHERE workflow_id = 'verify-1';
SELECT bag_eq($$SELECT problem FROM durable.verify_store()$$,
              ARRAY['history has a gap', 'run has no start event', 'timer without its started event',
                    'sequence behind its table'],
              'verify_store names a gap, a lost start event, a timer without its event and a sequence behind its table');
ROLLBACK TO damage;
SELECT is_empty($$SELECT * FROM durable.verify_store()$$, 'and nothing once the damage is rolled back');

SELECT * FROM finish();
ROLLBACK;
