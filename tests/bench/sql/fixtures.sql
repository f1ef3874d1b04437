-- Benchmark fixtures: helpers that build load through the public API, in
-- schema durable_bench (dropped and recreated by every bench run).
DROP SCHEMA IF EXISTS durable_bench CASCADE;
CREATE SCHEMA durable_bench;

-- Starts n workflows on queue q and completes each one's first workflow task
-- with `per` ScheduleActivityTask commands on activity queue aq, all in the
-- calling transaction. Returns the number of activity tasks scheduled.
CREATE FUNCTION durable_bench.schedule_activities(n integer, per integer, q text, aq text,
                                                  prefix text DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    t record;
    cmds jsonb;
    scheduled integer := 0;
    p text := coalesce(prefix, gen_random_uuid()::text);
BEGIN
    PERFORM durable.start_workflow(p || '-' || i, 'Bench', q) FROM generate_series(1, n) i;
    SELECT jsonb_agg(jsonb_build_object('type', 'ScheduleActivityTask', 'activity_id', j::text,
                                        'activity_type', 'noop', 'task_queue', aq, 'input', j,
                                        'start_to_close_timeout', 600))
      INTO cmds FROM generate_series(1, per) j;
    FOR t IN SELECT * FROM durable.poll_workflow_tasks(q, 'bench-driver', least(n, 1000)) LOOP
        PERFORM durable.complete_workflow_task(t.task_token, cmds);
        scheduled := scheduled + per;
    END LOOP;
    RETURN scheduled;
END
$$;

-- Starts n workflows whose first task starts a timer firing at `at`.
CREATE FUNCTION durable_bench.start_timers(n integer, q text, at timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    t record;
    p text := gen_random_uuid()::text;
    started integer := 0;
BEGIN
    PERFORM durable.start_workflow(p || '-' || i, 'BenchTimer', q) FROM generate_series(1, n) i;
    LOOP
        FOR t IN SELECT * FROM durable.poll_workflow_tasks(q, 'bench-driver', 1000) LOOP
            PERFORM durable.complete_workflow_task(t.task_token, jsonb_build_array(jsonb_build_object(
                'type', 'StartTimer', 'timer_id', 't',
                'start_to_fire_timeout', extract(epoch FROM at - durable.now()))));
            started := started + 1;
        END LOOP;
        EXIT WHEN started >= n;
    END LOOP;
    RETURN started;
END
$$;

-- The decisions of a scripted benchmark workflow, from its history:
-- 'seq<N>' runs N activities one after another, 'par<N>' runs N at once;
-- both complete when all N have completed. This is the store's own floor:
-- a worker that takes no time to decide.
CREATE FUNCTION durable_bench.decide(history jsonb, mode text, aq text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    n integer := substr(mode, 4)::integer;
    done integer;
    scheduled integer;
BEGIN
    SELECT count(*) FILTER (WHERE e ->> 'event_type' = 'ActivityTaskCompleted'),
           count(*) FILTER (WHERE e ->> 'event_type' = 'ActivityTaskScheduled')
      INTO done, scheduled FROM jsonb_array_elements(history) e;
    IF done >= n THEN
        RETURN jsonb_build_array(jsonb_build_object('type', 'CompleteWorkflowExecution', 'result', done));
    END IF;
    IF left(mode, 3) = 'seq' AND scheduled = done THEN
        RETURN jsonb_build_array(jsonb_build_object('type', 'ScheduleActivityTask', 'activity_id', (done + 1)::text,
            'activity_type', 'noop', 'task_queue', aq, 'input', done + 1, 'start_to_close_timeout', 600));
    END IF;
    IF left(mode, 3) = 'par' AND scheduled = 0 THEN
        RETURN (SELECT jsonb_agg(jsonb_build_object('type', 'ScheduleActivityTask', 'activity_id', j::text,
            'activity_type', 'noop', 'task_queue', aq, 'input', j, 'start_to_close_timeout', 600))
            FROM generate_series(1, n) j);
    END IF;
    RETURN '[]';
END
$$;
