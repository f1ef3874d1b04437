-- Flow control: concurrency and rate limits per task queue and per fairness
-- key, enforced by poll_activity_tasks; keys share the limited poll fairly;
-- bad limits refused.
-- The clock moves only by skip_time, so every bucket count here is exact.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql
-- a 4/s bucket counts the time between statements: it moves only by skip_time
SELECT pg_temp.hold_clock();

-- Starts workflow wid on queue q whose first task schedules n activities,
-- the i-th with fairness key keys[1 + i % cardinality(keys)] ('' for none).
CREATE FUNCTION pg_temp.schedule(wid text, q text, n integer, keys text[] DEFAULT ARRAY[NULL]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM durable.start_workflow(wid, 'W', q);
    PERFORM pg_temp.complete(q, (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
        'type', 'ScheduleActivityTask', 'activity_type', 'A', 'activity_id', i::text,
        'start_to_close_timeout', 600, 'fairness_key', keys[1 + i % cardinality(keys)])))
        FROM generate_series(1, n) i));
END
$$;
CREATE FUNCTION pg_temp.lease(q text, n integer) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT task_token FROM durable.poll_activity_tasks(q, 'tester', n)
$$;
CREATE FUNCTION pg_temp.leased(q text, k text DEFAULT NULL) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM durable.activity_tasks
     WHERE task_queue = q AND state = 'STARTED' AND (k IS NULL OR fairness_key = k)
$$;

-- Concurrency per queue -----------------------------------------------------
SELECT pg_temp.schedule('c1', 'fc-c', 10);
SELECT lives_ok($$SELECT durable.set_task_queue_limits('fc-c', max_concurrent => 3)$$, 'set_task_queue_limits');
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-c', 10)), 3::bigint, 'a poll for 10 gets the 3 the limit allows');
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-c', 10)), 0::bigint, 'and the next poll none, while 3 are leased');
SELECT durable.complete_activity_task((SELECT task_token FROM durable.activity_tasks a, LATERAL
    (SELECT 'a' || a.task_id || '.' || a.fence AS task_token) t
     WHERE a.task_queue = 'fc-c' AND a.state = 'STARTED' ORDER BY a.task_id LIMIT 1));
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-c', 10)), 1::bigint, 'a completion frees one slot');
SELECT durable.set_task_queue_limits('fc-c', max_concurrent => 5);
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-c', 10)), 2::bigint, 'a raised limit counts on the next poll');
SELECT is((SELECT max_concurrent FROM durable.list_task_queue_limits() WHERE task_queue = 'fc-c'), 5,
          'list_task_queue_limits shows the limit');
SELECT is((SELECT leased FROM durable.list_task_queue_limits() WHERE task_queue = 'fc-c'), 5::bigint,
          'and what is leased');
-- a lease that expires frees its slot
SELECT durable.skip_time('11 minutes');
SELECT durable.fire_due(1000);
SELECT is(pg_temp.leased('fc-c'), 0::bigint, 'expired leases are given back');
SELECT durable.skip_time('1 minute');   -- past their retry backoff
SELECT durable.fire_due(1000);
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-c', 10)), 5::bigint, 'and their slots taken again');
SELECT durable.set_task_queue_limits('fc-c');
SELECT is((SELECT count(*) FROM durable.list_task_queue_limits() WHERE task_queue = 'fc-c'), 0::bigint,
          'all NULL removes the limits');
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-c', 10)), 4::bigint, 'and the poll takes every ready task again');

-- Rate per queue ------------------------------------------------------------
SELECT pg_temp.schedule('r1', 'fc-r', 20);
SELECT durable.set_task_queue_limits('fc-r', rate_per_second => 4);
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-r', 20)), 4::bigint, 'a new bucket holds one second of tokens');
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-r', 20)), 0::bigint, 'then it is empty');
SELECT durable.skip_time('500 ms');
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-r', 20)), 2::bigint, 'half a second later it holds 2');
SELECT durable.skip_time('1 hour');
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-r', 20)), 4::bigint, 'it never holds more than one second''s worth');
SELECT ok((SELECT wake_at - durable.now() BETWEEN interval '200 ms' AND interval '250 ms'
             FROM durable.task_queue_limits WHERE task_queue = 'fc-r'),
          'an empty bucket with tasks waiting asks for a wake-up when its next token is due');
SELECT ok(durable.next_due() <= durable.now() + interval '250 ms', 'next_due includes it');
SELECT durable.skip_time('250 ms');
SELECT durable.fire_due(1000);
SELECT is((SELECT wake_at FROM durable.task_queue_limits WHERE task_queue = 'fc-r'), NULL,
          'fire_due notifies the queue and clears it');
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-r', 20)), 1::bigint, 'and the token is there');
SELECT durable.set_task_queue_limits('fc-r', rate_per_second => 0.05);
SELECT durable.skip_time('10 seconds');
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-r', 20)), 0::bigint, 'a slower rate takes effect at once (half a token)');
SELECT durable.skip_time('10 seconds');
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-r', 20)), 1::bigint, 'a slow bucket holds one token');

-- Per fairness key: concurrency, a default and an override, turns -----------
SELECT pg_temp.schedule('k1', 'fc-k', 30, ARRAY['big', 'big', 'big', 'big', 'small']);
SELECT is((SELECT fairness_key FROM durable.activity_tasks WHERE workflow_id = 'k1' AND activity_id = '4'),
          'small', 'ScheduleActivityTask sets the task''s fairness key');
SELECT is((SELECT attributes ->> 'fairness_key' FROM durable.get_history('k1')
            WHERE event_type = 'ActivityTaskScheduled' AND attributes ->> 'activity_id' = '4'),
          'small', 'and its event records it');
SELECT durable.set_task_queue_limits('fc-k', key_max_concurrent => 2);
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-k', 10)), 4::bigint, 'two keys, two each');
SELECT is(pg_temp.leased('fc-k', 'big'), 2::bigint, 'big has 2');
SELECT is(pg_temp.leased('fc-k', 'small'), 2::bigint, 'small has 2');
SELECT durable.set_fairness_key_limits('fc-k', 'big', max_concurrent => 5);
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-k', 10)), 3::bigint, 'a key''s own limit overrides the default');
SELECT is(pg_temp.leased('fc-k', 'big'), 5::bigint, 'big now has 5');
SELECT is((SELECT max_concurrent FROM durable.list_task_queue_limits()
            WHERE task_queue = 'fc-k' AND fairness_key = 'big'), 5, 'listed per key');
SELECT durable.set_fairness_key_limits('fc-k', 'big');
SELECT is((SELECT count(*) FROM durable.list_task_queue_limits() WHERE task_queue = 'fc-k'), 1::bigint,
          'a key''s limits forgotten leaves the queue''s');

-- keys take turns: a flood of one key does not hold back the others
SELECT pg_temp.schedule('t1', 'fc-t', 40, ARRAY['flood', 'flood', 'flood', 'flood', 'flood', 'flood', 'flood',
                                             'flood', 'flood', 'a', 'b']);
SELECT durable.set_task_queue_limits('fc-t', key_max_concurrent => 100);
SELECT is((SELECT array_agg(DISTINCT a.fairness_key ORDER BY a.fairness_key) FROM durable.activity_tasks a
            WHERE a.task_id IN (SELECT (regexp_match(t, '^a([0-9]+)'))[1]::bigint FROM pg_temp.lease('fc-t', 3) t)),
          ARRAY['a', 'b', 'flood'], 'a poll for 3 takes one task of each key');
-- (keys a and b have 3 tasks each, the flood 34: each key's tasks are one
-- virtual second apart, api/41_priority.sql)
SELECT is((SELECT array_agg(a.fairness_key ORDER BY a.fairness_key) FROM durable.activity_tasks a
            WHERE a.task_id IN (SELECT (regexp_match(t, '^a([0-9]+)'))[1]::bigint FROM pg_temp.lease('fc-t', 6) t)),
          ARRAY['a', 'a', 'b', 'b', 'flood', 'flood'], 'the next poll for 6 takes two of each key');
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-t', 3)), 3::bigint, 'and then the flood''s, as the others have none');

-- Rate per key
SELECT pg_temp.schedule('kr1', 'fc-kr', 40, ARRAY['x', 'y']);
SELECT durable.set_task_queue_limits('fc-kr', key_rate_per_second => 2);
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-kr', 40)), 4::bigint, 'each key starts with its own bucket');
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-kr', 40)), 0::bigint, 'then both are empty');
SELECT durable.set_fairness_key_limits('fc-kr', 'x', rate_per_second => 10);
SELECT durable.skip_time('1 second');
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-kr', 40)), 12::bigint, 'a second later: x''s own 10 and y''s 2');
SELECT durable.set_task_queue_limits('fc-kr', rate_per_second => 1, key_rate_per_second => 2);
SELECT durable.skip_time('1 second');
SELECT is((SELECT count(*) FROM pg_temp.lease('fc-kr', 40)), 1::bigint, 'the queue''s rate bounds all keys together');

-- Bad input changes nothing -------------------------------------------------
SELECT throws_ok($$SELECT durable.set_task_queue_limits('fc-c', max_concurrent => 0)$$, '22023',
                 'max_concurrent must be an integer from 1 to 1000000, or NULL for no limit', 'a limit of 0');
SELECT throws_ok($$SELECT durable.set_task_queue_limits('fc-c', rate_per_second => -1)$$, '22023', NULL, 'a negative rate');
SELECT throws_ok($$SELECT durable.set_task_queue_limits('fc-c', rate_per_second => 'NaN')$$, '22023', NULL, 'a NaN rate');
SELECT throws_ok($$SELECT durable.set_task_queue_limits('', 1)$$, '22023', NULL, 'an empty queue');
SELECT throws_ok($$SELECT durable.set_task_queue_limits('..', 1)$$, '22023', NULL, 'a queue named ..');
SELECT throws_ok($$SELECT durable.set_fairness_key_limits('fc-c', NULL, 1)$$, '22023', NULL, 'a NULL key');
SELECT throws_ok(format($$SELECT durable.set_fairness_key_limits('fc-c', %L, 1)$$, repeat('k', 256)), '54000', NULL,
                 'a key too long');
SELECT is((SELECT count(*) FROM durable.list_task_queue_limits() WHERE task_queue = 'fc-c'), 0::bigint,
          'none of them set anything');
SELECT durable.start_workflow('bad-key', 'W', 'fc-bad');
SELECT throws_ok($$SELECT pg_temp.complete('fc-bad', '[{"type": "ScheduleActivityTask", "activity_type": "A",
                   "activity_id": "1", "start_to_close_timeout": 5, "fairness_key": 7}]')$$, '22023', NULL,
                 'a fairness_key that is not a string');
SELECT is(pg_temp.as_role('durable_worker', $$SELECT durable.set_task_queue_limits('fc-c', 1)$$), '42501',
          'a worker may not set limits');
SELECT is(pg_temp.as_role('durable_operator', $$SELECT durable.set_task_queue_limits('fc-op', 1)$$), 'ok',
          'an operator may');

SELECT * FROM finish();
ROLLBACK;
