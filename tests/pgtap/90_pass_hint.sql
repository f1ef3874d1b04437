-- A key's last ready task is first looked for among the entries of
-- ready_by_key whose pass is at least the last one this backend read of the
-- key (pgext/src/ready_pass.c, last_of_key), and among them all when none is
-- found there. The place a task gets must be the one the whole walk gives,
-- whatever the hint: after the hinted task was leased, with the only task at
-- or past the hint left out, with a task placed below the hint, per key,
-- priority and table, and with a NaN pass.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

CREATE FUNCTION pg_temp.task(q text, k text, st text, p float8, prio smallint DEFAULT 3) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO durable.activity_tasks (run_id, namespace, workflow_id, scheduled_event_id, activity_id,
        activity_type, task_queue, state, scheduled_at, attempt_scheduled_at, start_to_close_timeout,
        retry_initial_interval, retry_backoff_coefficient, retry_maximum_interval, retry_maximum_attempts,
        fairness_key, priority, pass)
    VALUES (gen_random_uuid(), 'default', 'ph', 1, '1', 'A', q, st, now(), now(), '10 min',
            '1 s', 2, '1 min', 0, k, prio, p)
    RETURNING task_id
$$;
-- the place of a new task of key k in queue q (weight 1), leaving out task leave_out
CREATE FUNCTION pg_temp.place(q text, k text, leave_out bigint DEFAULT 0, prio smallint DEFAULT 3) RETURNS float8
LANGUAGE sql AS $$
    SELECT durable._task_pass('durable.activity_tasks', 'default', q, prio, k, 1, leave_out)
$$;

-- the hint made: the last task read has pass 5
SELECT pg_temp.task('ph-q', 'a', 'SCHEDULED', 2);
SELECT pg_temp.task('ph-q', 'a', 'SCHEDULED', 5) AS t5 \gset
SELECT is(pg_temp.place('ph-q', 'a'), 6::float8, 'the key''s last ready task, read the first time');
-- one past the hint: found among the entries at or past it
SELECT pg_temp.task('ph-q', 'a', 'SCHEDULED', 9) AS t9 \gset
SELECT is(pg_temp.place('ph-q', 'a'), 10::float8, 'a task past the hint is the last one');

-- the hinted tasks leased: none at or past the hint (9), the whole walk finds 2
UPDATE durable.activity_tasks SET state = 'STARTED' WHERE task_id IN (:t5, :t9);
SELECT is(pg_temp.place('ph-q', 'a'), 3::float8, 'the hinted task leased: the last ready one below the hint');

-- a task placed below the hint (2 now hinted... then 8, 1 added): the last is 8
SELECT pg_temp.task('ph-q', 'a', 'SCHEDULED', 8) AS t8 \gset
SELECT pg_temp.task('ph-q', 'a', 'SCHEDULED', 1);
SELECT is(pg_temp.place('ph-q', 'a'), 9::float8, 'a task past the hint (2) found, not one below it');
SELECT is(pg_temp.place('ph-q', 'a'), 9::float8, 'and again, the hint now at 8');

-- the only task at or past the hint (8) left out: the one before it, 2
SELECT is(pg_temp.place('ph-q', 'a', :t8), 3::float8, 'the only task past the hint left out: the one before');

-- another key, another priority, another table keep hints of their own
SELECT pg_temp.task('ph-q', 'b', 'SCHEDULED', 100);
SELECT is(pg_temp.place('ph-q', 'b'), 101::float8, 'another key');
SELECT pg_temp.task('ph-q', 'a', 'SCHEDULED', 0.5, 1::smallint);
SELECT is(pg_temp.place('ph-q', 'a', 0, 1::smallint), 1.5::float8, 'another priority');
SELECT is(pg_temp.place('ph-q', 'a'), 9::float8, 'the first key and priority, unchanged');
SELECT is(durable._task_pass('durable.workflow_tasks', 'default', 'ph-q', 3::smallint, 'a', 1, 0), 0::float8,
          'the other task table has no ready task of the key');

-- the same key and queue spelled in other bytes are another key
SELECT pg_temp.task('ph-qa', '', 'SCHEDULED', 40);
SELECT is(pg_temp.place('ph-qa', ''), 41::float8, 'queue ph-qa, key ''''');
SELECT is(pg_temp.place('ph-q', 'a'), 9::float8, 'queue ph-q, key a');

-- NaN sorts past every pass: hinted, found, and a leased NaN falls back
SELECT pg_temp.task('ph-n', 'a', 'SCHEDULED', 4);
SELECT pg_temp.task('ph-n', 'a', 'SCHEDULED', 'NaN') AS tn \gset
SELECT ok(pg_temp.place('ph-n', 'a') = 'NaN'::float8, 'a NaN pass is the last');
SELECT ok(pg_temp.place('ph-n', 'a') = 'NaN'::float8, 'and again, hinted at NaN');
UPDATE durable.activity_tasks SET state = 'STARTED' WHERE task_id = :tn;
SELECT is(pg_temp.place('ph-n', 'a'), 5::float8, 'the NaN task leased: the one before it');

-- a place is the same in a backend that has no hint (a new session's first walk)
SELECT is(pg_temp.place('ph-q', 'a'), 9::float8, 'the hinted walk');
DISCARD PLANS;
SELECT is((SELECT max(pass) + 1 FROM durable.activity_tasks
            WHERE task_queue = 'ph-q' AND fairness_key = 'a' AND priority = 3 AND state = 'SCHEDULED'),
          9::float8, 'the same as the ready tasks say');

SELECT * FROM finish();
ROLLBACK;
