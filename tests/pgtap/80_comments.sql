-- Every public function of durable says what it does in \df+ and \dd:
-- a function added without COMMENT ON fails here, named.
BEGIN;
SELECT plan(2);
\ir helpers.psql

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = 'durable' AND p.proname !~ '^_' AND p.prokind = 'f'
         AND obj_description(p.oid, 'pg_proc') IS NULL
       ORDER BY 1$$,
    'every public durable function has a COMMENT ON FUNCTION');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = 'durable' AND p.proname !~ '^_'
         AND length(obj_description(p.oid, 'pg_proc')) < 20
       ORDER BY 1$$,
    'no public durable function has a placeholder comment');

SELECT * FROM finish();
ROLLBACK;
