-- What _authorize keeps per backend (pgext/src/authorize.c): an allowed call
-- is kept (the full check, which calls _may, runs once for many calls), a
-- refusal never is, and what is kept is bounded (a backend that checks many
-- distinct queues forgets all and keeps anew). Revokes by other sessions:
-- tests/concurrency/isolation/specs/authorize_cache.spec.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

SET LOCAL track_functions = 'all';
CREATE ROLE durable_test_kept;
GRANT durable_worker TO durable_test_kept;   -- the built-in rows: worker on every queue
CREATE ROLE durable_test_kept_none;
GRANT durable_scoped TO durable_test_kept_none;
CREATE FUNCTION pg_temp.authorize(q text) RETURNS text LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM durable._authorize('worker', q, 'default');
    RETURN 'ok';
EXCEPTION WHEN insufficient_privilege THEN
    RETURN SQLSTATE;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.authorize(text) TO PUBLIC;
CREATE FUNCTION pg_temp.may_calls() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(pg_stat_get_xact_function_calls('durable._may(text,text,text)'::regprocedure), 0)
$$;
CREATE TEMP TABLE calls (n bigint);
GRANT ALL ON calls TO PUBLIC;

SET LOCAL ROLE durable_test_kept;
INSERT INTO calls SELECT pg_temp.may_calls();
SELECT is((SELECT count(*) FROM generate_series(1, 50) WHERE pg_temp.authorize('kept-q') = 'ok'), 50::bigint,
          'an allowed call, fifty times');
SELECT cmp_ok(pg_temp.may_calls() - (SELECT n FROM calls), '<=', 2::bigint,
              'the full check ran for the first call, not for the ones after');

SET LOCAL ROLE durable_test_kept_none;
UPDATE calls SET n = pg_temp.may_calls();
SELECT is((SELECT count(*) FROM generate_series(1, 5) WHERE pg_temp.authorize('kept-q') = '42501'), 5::bigint,
          'another role asking the same is refused');
SELECT is(pg_temp.may_calls() - (SELECT n FROM calls), 5::bigint, 'a refusal is never kept: the full check each time');

SET LOCAL ROLE durable_test_kept;
SELECT is((SELECT count(*) FROM generate_series(1, 5000) i WHERE pg_temp.authorize('many-' || i) = 'ok'), 5000::bigint,
          'five thousand distinct queues');
RESET ROLE;
SELECT cmp_ok((SELECT sum(total_bytes) FROM pg_backend_memory_contexts WHERE name = 'durable allowed calls'),
              '<', 2000000::numeric, 'what is kept stays bounded (1,024 calls, then forgotten and kept anew)');

-- a database that subscribes to a publication keeps nothing: logical
-- replication's apply fires no statement trigger, a grant it writes tells no one
CREATE SUBSCRIPTION durable_test_kept_sub CONNECTION 'dbname=durable_test_none' PUBLICATION p WITH (connect = false);
SET LOCAL ROLE durable_test_kept;
UPDATE calls SET n = pg_temp.may_calls();
SELECT is((SELECT count(*) FROM generate_series(1, 5) WHERE pg_temp.authorize('kept-sub') = 'ok'), 5::bigint,
          'allowed, with a subscription');
SELECT is(pg_temp.may_calls() - (SELECT n FROM calls), 5::bigint, 'but not kept: the full check each time');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
