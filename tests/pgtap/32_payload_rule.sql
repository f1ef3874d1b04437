-- One rule for payloads, shared with durablefs: what jsonb accepts (any
-- number: 1e400 and 30-digit integers stay exact), at most
-- durable.max_payload_bytes, and at most 128 levels of arrays and objects.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE FUNCTION pg_temp.nest(n integer) RETURNS jsonb LANGUAGE sql AS $$
    SELECT (repeat('[', n) || '1' || repeat(']', n))::jsonb
$$;
SELECT is(durable._json_depth('1'), 0, 'a scalar nests 0 levels');
SELECT is(durable._json_depth('{"a": [1, {"b": []}]}'), 4, 'an array in an object in an array in an object: 4');
SELECT is(durable._json_depth(pg_temp.nest(128)), 128, '128 nested arrays: 128');

SELECT durable.start_workflow('pr-1', 'W', 'pr-q');
SELECT lives_ok($$SELECT durable.signal_workflow('pr-1', 's', pg_temp.nest(128))$$, '128 levels are accepted');
SELECT throws_ok($$SELECT durable.signal_workflow('pr-1', 's', pg_temp.nest(129))$$, '22023',
                 'signal input is nested too deeply', '129 levels are refused (22023)');
SELECT throws_ok($$SELECT durable.start_workflow('pr-2', 'W', 'pr-q', jsonb_build_object('deep', pg_temp.nest(128)))$$,
                 '22023', 'workflow input is nested too deeply', 'so is a workflow input 129 deep');
SELECT is((SELECT count(*) FROM durable.workflows WHERE workflow_id = 'pr-2'), 0::bigint, 'which started nothing');
SELECT lives_ok($$SELECT durable.signal_workflow('pr-1', 'n', '{"big": 1e400, "int": 123456789012345678901234567890, "tiny": 1e-7}')$$,
                'numbers beyond double precision are accepted');
SELECT is((SELECT attributes -> 'input' FROM durable.get_history('pr-1') WHERE attributes ->> 'signal_name' = 'n'),
          '{"big": 1e400, "int": 123456789012345678901234567890, "tiny": 1e-7}'::jsonb, 'and kept exact');
SELECT is((SELECT attributes -> 'input' ->> 'tiny' FROM durable.get_history('pr-1') WHERE attributes ->> 'signal_name' = 'n'),
          '0.0000001', '1e-7 reads back as the same number');
SELECT * FROM finish();
ROLLBACK;
