-- Flow control bench (tests/bench/flow.sh): poll_activity_tasks as it was
-- before flow control and priorities (commit 864d8fe~1: FIFO, by task_id),
-- so that the unlimited poll's cost can be compared with it in the same run,
-- on the same data, with the index it had.
CREATE INDEX IF NOT EXISTS activity_tasks_bench_fifo ON durable.activity_tasks (namespace, task_queue, task_id)
    WHERE state = 'SCHEDULED';
CREATE SCHEMA IF NOT EXISTS durable_bench_flow;
CREATE OR REPLACE FUNCTION durable_bench_flow.poll_before(task_queue text, identity text, max_tasks integer DEFAULT 1,
                                            namespace text DEFAULT 'default')
RETURNS TABLE (task_token text, workflow_id text, run_id uuid, activity_id text, activity_type text,
               input jsonb, attempt integer, scheduled_at timestamptz, started_at timestamptz,
               deadline timestamptz, heartbeat_timeout float8, heartbeat_details jsonb, last_failure jsonb)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    now timestamptz := durable.now();
BEGIN
    PERFORM durable._check_poll_args($1, $2, $3);
    PERFORM durable._authorize('worker', $1, $4);
    PERFORM durable._record_poller($4, $1, 'activity', $2);
    RETURN QUERY
    WITH picked AS (
        SELECT a.task_id FROM durable.activity_tasks a
         WHERE a.namespace = $4 AND a.task_queue = $1 AND a.state = 'SCHEDULED'
         ORDER BY a.task_id
         LIMIT $3
           FOR UPDATE SKIP LOCKED
    ), leased AS (
        UPDATE durable.activity_tasks a
           SET state = 'STARTED', fence = a.fence + 1, identity = $2, started_at = now,
               last_heartbeat_at = NULL,
               timeout_at = least(now + a.start_to_close_timeout,
                                  a.scheduled_at + a.schedule_to_close_timeout,
                                  now + a.heartbeat_timeout)
          FROM picked WHERE a.task_id = picked.task_id
        RETURNING a.*
    )
    SELECT 'a' || l.task_id || '.' || l.fence, l.workflow_id, l.run_id, l.activity_id, l.activity_type,
           l.input, l.attempt, l.scheduled_at, l.started_at, durable._wake_at(l.timeout_at),
           durable._seconds(l.heartbeat_timeout), l.heartbeat_details, l.last_failure
      FROM leased l ORDER BY l.task_id;
END
$$;

-- n workflows of `per` activities each on queue aq, the i-th workflow's
-- activities with fairness key keys[1 + i % cardinality(keys)].
CREATE OR REPLACE FUNCTION durable_bench_flow.schedule(n integer, per integer, aq text, keys text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t record;
    i integer := 0;
BEGIN
    PERFORM durable.start_workflow(aq || '-' || gen_random_uuid(), 'Bench', aq || '-setup')
       FROM generate_series(1, n);
    FOR t IN SELECT * FROM durable.poll_workflow_tasks(aq || '-setup', 'bench-driver', least(n, 1000)) LOOP
        i := i + 1;
        PERFORM durable.complete_workflow_task(t.task_token,
            (SELECT jsonb_agg(jsonb_build_object('type', 'ScheduleActivityTask', 'activity_id', j::text,
                                                 'activity_type', 'noop', 'task_queue', aq,
                                                 'fairness_key', keys[1 + i % cardinality(keys)],
                                                 'start_to_close_timeout', 3600))
               FROM generate_series(1, per) j));
    END LOOP;
END
$$;

-- Schedules one activity with options opts (fairness key 'small') on queue q,
-- n times, and notes in durable_bench_flow.small_latency how long each stayed
-- ready (from its commit to the moment no ready task of it is left, checked
-- every 2 ms), giving up on one after `give_up`.
CREATE TABLE IF NOT EXISTS durable_bench_flow.small_latency (queue text, ms float8);
DROP PROCEDURE IF EXISTS durable_bench_flow.measure_small(text, integer, interval);
CREATE OR REPLACE PROCEDURE durable_bench_flow.measure_small(q text, n integer, give_up interval,
                                                             opts jsonb DEFAULT '{"fairness_key": "small"}')
LANGUAGE plpgsql AS $$
DECLARE
    wid text;
    t0 timestamptz;
BEGIN
    FOR i IN 1 .. n LOOP
        wid := 'small-' || q || '-' || i;
        PERFORM durable.start_workflow(wid, 'Bench', q || '-small');
        PERFORM durable.complete_workflow_task(
            (SELECT task_token FROM durable.poll_workflow_tasks(q || '-small', 'bench', 1)),
            jsonb_build_array(jsonb_build_object('type', 'ScheduleActivityTask', 'activity_id', '1',
                'activity_type', 'noop', 'task_queue', q, 'start_to_close_timeout', 3600) || opts));
        COMMIT;
        t0 := clock_timestamp();
        WHILE EXISTS (SELECT 1 FROM durable.activity_tasks
                       WHERE workflow_id = wid AND state = 'SCHEDULED')
              AND clock_timestamp() - t0 < give_up LOOP
            PERFORM pg_sleep(0.002);
        END LOOP;
        INSERT INTO durable_bench_flow.small_latency
        VALUES (q, extract(epoch FROM clock_timestamp() - t0) * 1000);
        COMMIT;
    END LOOP;
END
$$;

-- Leased workflow tasks for the scheduling figure: n workflows on queue
-- q || '-wf', their tasks leased, tokens numbered 1..n in
-- durable_bench_flow.tokens, taken in turn with nextval of the mode's sequence.
CREATE TABLE IF NOT EXISTS durable_bench_flow.tokens (mode text, n bigint, token text, PRIMARY KEY (mode, n));
CREATE OR REPLACE FUNCTION durable_bench_flow.lease_tokens(mode text, q text, n integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    got integer;
BEGIN
    EXECUTE format('CREATE SEQUENCE IF NOT EXISTS durable_bench_flow.%I', 'seq_' || mode);
    -- leases that outlast the run (the default 10 s would expire under it)
    PERFORM durable.start_workflow(q || '-' || gen_random_uuid(), 'Bench', q || '-wf', NULL, '{"task_timeout": 86400}')
       FROM generate_series(1, n);
    LOOP
        INSERT INTO durable_bench_flow.tokens
        SELECT mode, (SELECT count(*) FROM durable_bench_flow.tokens t WHERE t.mode = lease_tokens.mode)
                     + row_number() OVER (), p.task_token
          FROM durable.poll_workflow_tasks(q || '-wf', 'bench', 1000) p;
        GET DIAGNOSTICS got = ROW_COUNT;
        EXIT WHEN got = 0;
    END LOOP;
END
$$;
-- Completes the mode's next leased workflow task with 10 activities on
-- queue q, of three fairness keys.
CREATE OR REPLACE FUNCTION durable_bench_flow.schedule_next(mode text, q text) RETURNS void
LANGUAGE sql AS $$
    SELECT durable.complete_workflow_task(t.token,
        (SELECT jsonb_agg(jsonb_build_object('type', 'ScheduleActivityTask', 'activity_id', j::text,
                                             'activity_type', 'noop', 'task_queue', q,
                                             'fairness_key', 'k' || j % 3, 'start_to_close_timeout', 3600))
           FROM generate_series(1, 10) j))
      FROM durable_bench_flow.tokens t
     WHERE t.mode = $1 AND t.n = (SELECT nextval(format('durable_bench_flow.%I', 'seq_' || $1)))   -- once
$$;
