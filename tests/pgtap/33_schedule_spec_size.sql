-- A schedule spec holds at most 20 cron expressions and 20 intervals: the
-- timer worker computes the next run over all of them each time the schedule
-- acts, and a spec of a thousand expressions (found by tests/fuzz) held a
-- backend for minutes. Refused with 22023 and nothing created.
BEGIN;
SELECT plan(6);

CREATE FUNCTION pg_temp.spec(n_cron integer, n_interval integer) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'cron', (SELECT coalesce(jsonb_agg(format('%s 9 * * *', i % 60)), '[]') FROM generate_series(1, n_cron) i),
        'interval', (SELECT coalesce(jsonb_agg(jsonb_build_object('every', 3600 + i)), '[]') FROM generate_series(1, n_interval) i))
$$;
CREATE FUNCTION pg_temp.create(id text, spec jsonb) RETURNS timestamptz LANGUAGE sql AS $$
    SELECT durable.create_schedule(id, spec, '{"workflow_type": "T", "task_queue": "q"}', '{}', 'spec-size')
$$;

SELECT lives_ok($$ SELECT pg_temp.create('twenty', pg_temp.spec(20, 20)) $$,
    '20 cron expressions and 20 intervals are accepted');
SELECT throws_ok($$ SELECT pg_temp.create('cron21', pg_temp.spec(21, 0)) $$, '22023',
    'schedule spec: at most 20 "cron" expressions and 20 "interval" entries',
    '21 cron expressions are refused with 22023');
SELECT throws_ok($$ SELECT pg_temp.create('int21', pg_temp.spec(0, 21)) $$, '22023',
    'schedule spec: at most 20 "cron" expressions and 20 "interval" entries',
    '21 intervals are refused with 22023');
SELECT throws_like($$ SELECT pg_temp.create('fuzzed', pg_temp.spec(1001, 0)) $$,
    '%at most 20%', 'the fuzzer''s thousand expressions are refused before any is parsed');
SELECT is((SELECT count(*) FROM durable.schedules WHERE namespace = 'spec-size'), 1::bigint,
    'the refused specs created nothing');
SELECT is((SELECT jsonb_array_length(spec -> 'cron') FROM durable.schedules
            WHERE namespace = 'spec-size' AND schedule_id = 'twenty'), 20, 'the accepted one keeps all 20');

SELECT * FROM finish();
ROLLBACK;
