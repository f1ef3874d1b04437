-- The clocks are read as the extension, not as the caller (pgext/src/clock.c):
-- durable.now(), granted to workers and operators, reads durable.clock, and
-- an append (durable._append -> _run_now) reads the run's namespace from durable.workflows when a namespace clock is set. Both
-- were read through SPI as the calling role, which the least-privilege roles
-- (docs/security.md) may not read: durable.now() failed for durable_worker
-- ("permission denied for table clock") in a transaction whose first clock
-- read was its own, and an append by a role with an append's rights failed
-- ("permission denied for table workflows") only once a namespace clock was
-- set. Reading as the extension opens nothing: the tables stay unreadable to
-- those roles, and the internal helpers unexecutable.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE ROLE ck_worker NOLOGIN;      -- durable_worker, as 0.1 made it
GRANT durable_worker TO ck_worker;
CREATE ROLE ck_operator NOLOGIN;    -- durable_operator
GRANT durable_operator TO ck_operator;
CREATE ROLE ck_scoped NOLOGIN;      -- a scoped worker of namespace ck
SELECT durable.grant_namespace('ck_scoped', 'worker', 'ck');
CREATE ROLE ck_scoped_op NOLOGIN;   -- a scoped operator of namespace ck
SELECT durable.grant_namespace('ck_scoped_op', 'operator', 'ck');

-- A clock skipped, so that there are rows to read.
SELECT durable.skip_time('ck', '2 days');

-- durable.now() as the first clock read of a transaction
-- (durable._clock_changed() makes the next call read the table again, as a
-- new transaction would).
CREATE FUNCTION pg_temp.first_read_as(r text, q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM durable._clock_changed();
    RETURN pg_temp.as_role(r, q);
END
$$;
SELECT is(pg_temp.first_read_as(r, 'SELECT durable.now()'), 'ok', 'durable.now() reads the clock for ' || r)
  FROM unnest(ARRAY['ck_worker', 'ck_operator']) r;
SELECT is(pg_temp.first_read_as(r, $$SELECT durable.now('ck')$$), 'ok', 'durable.now(namespace) for ' || r)
  FROM unnest(ARRAY['ck_worker', 'ck_operator', 'ck_scoped', 'ck_scoped_op']) r;
SELECT durable._clock_changed();
SET LOCAL ROLE ck_worker;
SELECT ok(durable.now('ck') - durable.now() BETWEEN interval '1 day 23:59:59' AND interval '2 days 1 second',
          'what it read is the namespace''s offset');
RESET ROLE;

-- The whole path with the scoped roles: started by the operator, the workflow
-- task completed and the activity polled by the worker, events in ck's time.
SET LOCAL ROLE ck_scoped_op;
SELECT durable.start_workflow('ck-w', 'W', 'ck-q', NULL, '{}', 'ck') AS ck_run \gset
SELECT durable.signal_workflow('ck-w', 'go', '{}', NULL, 'ck');
RESET ROLE;
SET LOCAL ROLE ck_scoped;
SELECT pg_temp.complete('ck-q', '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "A",
                                   "start_to_close_timeout": "1 hour"}]', 'ck');
SELECT is((SELECT count(*) FROM durable.poll_activity_tasks('ck-q', 'tester', 1, 'ck')), 1::bigint,
          'the scoped worker completes and polls in a namespace with a clock');
RESET ROLE;
SELECT ok((SELECT bool_and(event_time >= now() + interval '1 day 23 hours')
             FROM durable.get_history('ck-w', NULL, 0, 100, 'ck')), 'every event in the namespace''s time');

-- An append by a role with exactly the rights of the append's statement (as
-- tests/pgtap/78_append_guards.sql grants them): no right on durable.workflows
-- or durable.clock.
CREATE ROLE ck_appender NOLOGIN;
GRANT USAGE ON SCHEMA durable TO ck_appender;
GRANT EXECUTE ON FUNCTION durable._append(uuid, text, jsonb) TO ck_appender;
GRANT SELECT, INSERT ON durable.history_rows TO ck_appender;
GRANT EXECUTE ON FUNCTION durable._event_pack(uuid, bigint, text, jsonb) TO ck_appender;
SELECT durable._clock_changed();
SELECT is(pg_temp.error_as('ck_appender', format($q$SELECT durable._append(%L, 'MarkerRecorded', '{}')$q$, :'ck_run')),
          NULL, 'an append with a namespace clock set needs no right on durable.workflows or durable.clock');
SELECT ok((SELECT event_time >= now() + interval '1 day 23 hours' FROM durable.get_history('ck-w', NULL, 0, 100, 'ck')
            WHERE event_type = 'MarkerRecorded'), 'and is in the namespace''s time');

-- Nothing opened: the tables and helpers stay closed to those roles.
SELECT is(pg_temp.as_role(r, 'SELECT 1 FROM durable.clock'), '42501', r || ' still may not read durable.clock')
  FROM unnest(ARRAY['ck_worker', 'ck_operator', 'ck_scoped', 'ck_appender']) r;
SELECT is(pg_temp.as_role(r, 'SELECT 1 FROM durable.workflows'), '42501', r || ' still may not read durable.workflows')
  FROM unnest(ARRAY['ck_worker', 'ck_operator', 'ck_scoped', 'ck_appender']) r;
SELECT is(pg_temp.as_role(r, format('SELECT durable._run_now(%L)', :'ck_run')), '42501',
          r || ' may not call durable._run_now')
  FROM unnest(ARRAY['ck_worker', 'ck_operator', 'ck_scoped', 'ck_appender']) r;

-- Without a primary key on run_id to probe, the namespace is read by the
-- statement, as the caller (a superuser here): the same time.
SAVEPOINT no_key;
ALTER TABLE durable.workflows DROP CONSTRAINT workflows_pkey CASCADE;
SELECT durable._run_now(:'ck_run') >= now() + interval '1 day 23 hours' AS by_statement \gset
ROLLBACK TO SAVEPOINT no_key;
SELECT ok(:'by_statement', 'without the key, the statement reads it');

SELECT * FROM finish();
ROLLBACK;
