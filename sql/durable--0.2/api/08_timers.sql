-- Deadlines: what the timer worker fires. durable.fire_due() fires what is
-- due now, in one transaction; durable.next_due() says when to look again
-- (the worker's tick, durable._tick, does both with one read of each kind).
-- Tests call fire_due() directly after durable.skip_time() to fire a 30-day
-- timer inside their own transaction.

-- Offers a workflow task again after a failure or timeout. Attempt 2 and
-- later are *transient*, as in Temporal: no WorkflowTaskScheduled or
-- WorkflowTaskStarted is written for them, nor their failures; only when one
-- completes are its Scheduled and Started events written (complete_workflow_task),
-- so a task that fails for a day adds one WorkflowTaskFailed, not three
-- events a retry. The attempt and last failure stay on the task row
-- (describe_workflow's pending_workflow_task).
CREATE OR REPLACE FUNCTION durable._reschedule_workflow_task(t durable.workflow_tasks, attempt integer)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    task_timeout interval;
    scheduled bigint;
BEGIN
    IF attempt <= 1 THEN
        SELECT w.task_timeout INTO task_timeout FROM durable.workflows w WHERE w.run_id = t.run_id;
        scheduled := durable._append(t.run_id, 'WorkflowTaskScheduled', jsonb_build_object(
            'task_queue', t.task_queue, 'start_to_close_timeout', durable._seconds(task_timeout),
            'attempt', attempt));
    END IF;
    UPDATE durable.workflow_tasks wt
       SET state = 'SCHEDULED', attempt = _reschedule_workflow_task.attempt, scheduled_event_id = scheduled,
           started_event_id = NULL, identity = NULL, started_at = NULL,
           scheduled_at = durable.now(), timeout_at = NULL
     WHERE wt.task_id = t.task_id;
    PERFORM durable._hold_if_paused(t.run_id);   -- 41_pause.sql
    PERFORM durable._notify('workflow', t.namespace, t.task_queue);
END
$$;

CREATE OR REPLACE FUNCTION durable._workflow_task_deadline(t durable.workflow_tasks) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF t.state = 'BACKOFF' THEN
        PERFORM durable._reschedule_workflow_task(t, t.attempt);
    ELSIF t.state = 'STARTED' THEN
        -- a transient attempt's timeout is not written (see above)
        IF t.scheduled_event_id IS NOT NULL THEN
            PERFORM durable._append(t.run_id, 'WorkflowTaskTimedOut', jsonb_build_object(
                'scheduled_event_id', t.scheduled_event_id, 'started_event_id', t.started_event_id,
                'timeout_type', 'START_TO_CLOSE', 'identity', t.identity));
        END IF;
        UPDATE durable.workflow_tasks wt
           SET last_failure = jsonb_build_object('attempt', t.attempt, 'at', durable.now(),
               'cause', 'START_TO_CLOSE_TIMEOUT', 'identity', t.identity,
               'failure', jsonb_build_object('message', 'workflow task timed out', 'type', 'TimeoutError'))
         WHERE wt.task_id = t.task_id;
        PERFORM durable._flush_buffered(t.run_id);
        PERFORM durable._reschedule_workflow_task(t, t.attempt + 1);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION durable._activity_deadline(a durable.activity_tasks, now timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    timeout_type text;
    failure jsonb;
    retry_state text := 'RETRY_STATE_TIMEOUT';
    retry_at timestamptz;
BEGIN
    IF a.state = 'BACKOFF' THEN
        -- the retry delay is over: offer the next attempt to pollers (or
        -- hold it, when it or its run is paused: 41_pause.sql)
        PERFORM durable._offer_activity(a, now);
        RETURN;
    END IF;
    IF a.schedule_to_close_timeout IS NOT NULL AND now >= a.scheduled_at + a.schedule_to_close_timeout THEN
        timeout_type := 'SCHEDULE_TO_CLOSE';
    ELSIF a.state = 'SCHEDULED' THEN
        timeout_type := 'SCHEDULE_TO_START';
    ELSIF now >= a.started_at + a.start_to_close_timeout THEN
        timeout_type := 'START_TO_CLOSE';
    ELSE
        timeout_type := 'HEARTBEAT';
    END IF;
    failure := jsonb_build_object('message', format('activity %s timeout', timeout_type),
                                  'type', 'TimeoutError', 'timeout_type', timeout_type,
                                  'last_heartbeat_details', a.heartbeat_details);
    IF a.state = 'STARTED' THEN
        PERFORM durable._slot_freed(a.namespace, a.task_queue);
    END IF;
    IF timeout_type IN ('START_TO_CLOSE', 'HEARTBEAT') THEN
        SELECT r.retry_state, r.retry_at INTO retry_state, retry_at FROM durable._activity_retry(a, failure) r;
        IF retry_at IS NOT NULL THEN
            PERFORM durable._activity_backoff(a, failure, retry_at);
            RETURN;
        END IF;
    END IF;
    PERFORM durable._drop_activity_task(a);   -- with its pause, 41_pause.sql
    PERFORM durable._deliver_activity_outcome(a, 'ActivityTaskTimedOut', jsonb_build_object(
        'scheduled_event_id', a.scheduled_event_id, 'failure', failure, 'retry_state', retry_state));
END
$$;

-- Fires due user timers. Ten thousand timers due in the same second are the
-- common case to be fast for, so the usual shape (a run with one due timer
-- and no started workflow task) is fired for the whole batch in one
-- set-based statement; what remains goes one by one through _deliver, which
-- buffers for runs whose workflow task is running.
CREATE OR REPLACE FUNCTION durable._fire_timers(now timestamptz, max_items integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    runs uuid[];
    timer_ids text[];
    bulk integer;
    notified integer;
BEGIN
    -- Lock the runs first: the statements below then see their true task state.
    SELECT array_agg(d.run_id), array_agg(d.timer_id) INTO runs, timer_ids
      FROM (SELECT tm.run_id, tm.timer_id
              FROM durable.timers tm JOIN durable.workflows wf ON wf.run_id = tm.run_id
             WHERE tm.fire_at <= now
             ORDER BY tm.fire_at
             LIMIT max_items
               FOR UPDATE OF tm, wf SKIP LOCKED) d;
    IF runs IS NULL THEN
        RETURN 0;
    END IF;

    WITH simple AS (
        SELECT p.run_id, min(p.timer_id) AS timer_id
          FROM unnest(runs, timer_ids) AS p(run_id, timer_id)
         GROUP BY p.run_id HAVING count(*) = 1
    ), ready AS (
        SELECT s.run_id, s.timer_id, tm.started_event_id, t.state AS task_state,
               wf.namespace, wf.task_queue, wf.task_timeout, wf.priority, wf.fairness_key, wf.fairness_weight,
               (SELECT max(h.event_id) FROM durable.history h WHERE h.run_id = s.run_id) AS last_id
          FROM simple s
          JOIN durable.timers tm ON tm.run_id = s.run_id AND tm.timer_id = s.timer_id
          JOIN durable.workflows wf ON wf.run_id = s.run_id
          LEFT JOIN durable.workflow_tasks t ON t.run_id = s.run_id
         -- a paused run's task is PAUSED: its timer waits in buffered_events
         WHERE coalesce(t.state, '') NOT IN ('STARTED', 'PAUSED')
    ), gone AS (
        DELETE FROM durable.timers tm USING ready r
         WHERE tm.run_id = r.run_id AND tm.timer_id = r.timer_id
    ), events AS (
        -- (the stored form of durable.history: api/01_history.sql)
        INSERT INTO durable.history_rows (run_id, event_id, event_code, event_time, attributes_packed)
        SELECT e.r, e.i, durable._event_code(e.t), e.at, durable._event_pack(e.r, e.i, e.t, e.a) FROM (
        -- stamped as each row is written (durable._now is the wall clock),
        -- not when the batch was read: the time TimerFired says is when it fired
        SELECT r.run_id, r.last_id + 1, 'TimerFired', durable._now(r.namespace),
               jsonb_build_object('timer_id', r.timer_id, 'started_event_id', r.started_event_id)
          FROM ready r
        UNION ALL
        SELECT r.run_id, r.last_id + 2, 'WorkflowTaskScheduled', durable._now(r.namespace),
               jsonb_build_object('task_queue', r.task_queue, 'attempt', 1,
                                  'start_to_close_timeout', durable._seconds(r.task_timeout))
          FROM ready r WHERE r.task_state IS NULL) AS e(r, i, t, at, a)
    ), heads AS MATERIALIZED (
        -- each new task's place (api/41_priority.sql), set-based: one lookup
        -- per queue, priority and key, before any of the tasks is inserted
        -- (MATERIALIZED: evaluated per inserted row, each lookup would walk
        -- the index past the rows this statement inserted before it)
        SELECT k.namespace, k.task_queue, k.priority, k.fairness_key,
               durable._ready_pass(k.namespace, k.task_queue, k.priority, k.fairness_key, k.weight) AS first_pass
          FROM (SELECT DISTINCT ON (namespace, task_queue, priority, fairness_key)
                       namespace, task_queue, priority, fairness_key, fairness_weight AS weight
                  FROM ready WHERE task_state IS NULL
                 ORDER BY namespace, task_queue, priority, fairness_key, run_id) k
    ), placed AS (
        -- then the key's tasks 1 / weight apart
        SELECT r.run_id, r.namespace, r.task_queue, r.last_id, r.priority, r.fairness_key,
               h.first_pass + (row_number() OVER w - 1) / r.fairness_weight AS pass
          FROM ready r
          JOIN heads h ON (h.namespace, h.task_queue, h.priority, h.fairness_key)
                        = (r.namespace, r.task_queue, r.priority, r.fairness_key)
         WHERE r.task_state IS NULL
        WINDOW w AS (PARTITION BY r.namespace, r.task_queue, r.priority, r.fairness_key ORDER BY r.run_id)
    ), tasks AS (
        INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue, state, attempt,
                                            scheduled_event_id, scheduled_at, priority, fairness_key, pass)
        SELECT p.run_id, p.namespace, p.task_queue, 'SCHEDULED', 1, p.last_id + 2, durable.now(),
               p.priority, p.fairness_key, p.pass
          FROM placed p
    )
    SELECT (SELECT count(*) FROM (SELECT durable._history_changed(r.run_id) FROM ready r) h),
           (SELECT count(*) FROM (SELECT pg_notify(durable.task_queue_channel('workflow', q.task_queue, q.namespace), '')
                                    FROM (SELECT DISTINCT r.namespace, r.task_queue FROM ready r
                                           WHERE r.task_state IS DISTINCT FROM 'BACKOFF') q) n)
      INTO bulk, notified;

    -- The rest: runs with several due timers or a started workflow task.
    RETURN bulk + durable._fire_timers_one_by_one(runs, timer_ids);
END
$$;

-- Fires those of the given timers that are still there, oldest first, one
-- by one through _fire_timer. The caller holds their and their runs' locks.
CREATE OR REPLACE FUNCTION durable._fire_timers_one_by_one(runs uuid[], timer_ids text[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t durable.timers;
    fired integer := 0;
BEGIN
    FOR t IN SELECT tm.*
               FROM unnest(runs, timer_ids) AS p(run_id, timer_id)
               JOIN durable.timers tm ON tm.run_id = p.run_id AND tm.timer_id = p.timer_id
              ORDER BY tm.fire_at LOOP
        PERFORM durable._fire_timer(t);
        fired := fired + 1;
    END LOOP;
    RETURN fired;
END
$$;
COMMENT ON FUNCTION durable._fire_timers_one_by_one(uuid[], text[]) IS
    'Internal: fires the given timers still there, oldest first, through _fire_timer; the caller holds their locks.';

-- Fires a burst of timers due at one instant, prepared ahead: the timer
-- workers (bgworker.c, prepare.c) call this shortly before the instant, and
-- it does in one transaction, before the instant, everything that does not
-- depend on when the firing happens: it locks up to max_items timers due by
-- `until` (a burst: the instant and a few milliseconds after it; from the
-- burst's end with from_latest, so that two workers take it from both ends)
-- and their runs, reads what the firing writes (each run's last event id,
-- its queue, priority and fairness key), deletes the timer rows and queues
-- the notifications (sent at commit, as always). Then it writes each
-- TimerFired once its timer is due, never before, stamped with the time it
-- is written; then the WorkflowTaskScheduled events and the tasks, placed
-- from their queues' heads at that moment. Nothing of it is visible before
-- the commit.
--
-- Prepared are runs asleep on one due timer with no workflow task; only
-- those are locked, so a running workflow task's completion or a scheduled
-- task's poll never waits for the instant (the others fire the usual way,
-- fire_due). A locked run with two timers in the burst, or that got a
-- workflow task meanwhile, fires after the prepared ones, by _fire_timer.
-- Returns how many fired, when the preparation was done (the caller's
-- measure of how far ahead to start), and on an error that parking handles,
-- fired = -1 and the error: then nothing was done, and fire_due, which
-- isolates the bad item, fires the burst when it is due.
CREATE OR REPLACE FUNCTION durable._fire_timers_prepared(until timestamptz, max_items integer, from_latest boolean,
                                                         OUT fired integer, OUT prepared_at timestamptz,
                                                         OUT failure text)
LANGUAGE plpgsql AS $$
DECLARE
    runs uuid[];
    timer_ids text[];
    fire_ats timestamptz[];
    started_ids bigint[];
    due timestamptz;
    p_runs uuid[];
    p_last bigint[];
    p_namespaces text[];
    p_queues text[];
    p_priorities smallint[];
    p_keys text[];
    p_weights float8[];
    p_offsets float8[];
    p_fired jsonb[];
    p_scheduled jsonb[];
    p_due timestamptz[];
    written integer;
    due_now integer;
    now timestamptz;
BEGIN
    fired := 0;
    BEGIN
        -- Two workers take the burst from its two ends, so that they do not
        -- race for the same rows (SKIP LOCKED would still keep them apart,
        -- but a row one of them half-locked, timer or run, both would skip).
        EXECUTE format($q$
            SELECT array_agg(d.run_id), array_agg(d.timer_id), array_agg(d.fire_at), array_agg(d.started_event_id),
                   max(d.fire_at)
              FROM (SELECT tm.run_id, tm.timer_id, tm.fire_at, tm.started_event_id
                      FROM durable.timers tm JOIN durable.workflows wf ON wf.run_id = tm.run_id
                     WHERE tm.fire_at <= $1
                       AND NOT EXISTS (SELECT 1 FROM durable.workflow_tasks t WHERE t.run_id = tm.run_id)
                     ORDER BY tm.fire_at %s
                     LIMIT $2
                       FOR UPDATE OF tm, wf SKIP LOCKED) d$q$, CASE WHEN from_latest THEN 'DESC' ELSE 'ASC' END)
          INTO runs, timer_ids, fire_ats, started_ids, due
         USING until, max_items;
        prepared_at := clock_timestamp();
        IF runs IS NULL THEN
            RETURN;
        END IF;

        -- Under the locks (this statement's snapshot is newer than the
        -- locking one's): a run that got a workflow task meanwhile, or has
        -- two due timers, is left to _fire_timer below.
        WITH locked AS (
            SELECT p.*, count(*) OVER (PARTITION BY p.run_id) AS of_run
              FROM unnest(runs, timer_ids, fire_ats, started_ids) AS p(run_id, timer_id, fire_at, started_event_id)
        ), ready AS (
            SELECT s.run_id, s.timer_id, s.started_event_id, s.fire_at,
                   wf.namespace, wf.task_queue, wf.task_timeout, wf.priority, wf.fairness_key, wf.fairness_weight,
                   (SELECT max(h.event_id) FROM durable.history h WHERE h.run_id = s.run_id) AS last_id
              FROM locked s
              JOIN durable.workflows wf ON wf.run_id = s.run_id AND s.of_run = 1
             WHERE NOT EXISTS (SELECT 1 FROM durable.workflow_tasks t WHERE t.run_id = s.run_id)
        ), gone AS (
            DELETE FROM durable.timers tm USING ready r
             WHERE tm.run_id = r.run_id AND tm.timer_id = r.timer_id
        ), told AS (
            SELECT (SELECT count(*) FROM (SELECT durable._history_changed(r.run_id) FROM ready r) h)
                 + (SELECT count(*) FROM (SELECT pg_notify(durable.task_queue_channel('workflow', q.task_queue, q.namespace), '')
                                            FROM (SELECT DISTINCT r.namespace, r.task_queue FROM ready r) q) n) AS n
        ), ordered AS (
            -- a key's tasks go 1 / weight apart from its head (api/41_priority.sql)
            SELECT r.*, (row_number() OVER (PARTITION BY r.namespace, r.task_queue, r.priority, r.fairness_key
                                            ORDER BY r.run_id) - 1) / r.fairness_weight AS pass_offset
              FROM ready r
        )
        -- in the order they are due (one array per column, all in that order)
        SELECT array_agg(o.fire_at ORDER BY o.fire_at, o.run_id), array_agg(o.run_id ORDER BY o.fire_at, o.run_id),
               array_agg(o.last_id ORDER BY o.fire_at, o.run_id), array_agg(o.namespace ORDER BY o.fire_at, o.run_id),
               array_agg(o.task_queue ORDER BY o.fire_at, o.run_id), array_agg(o.priority ORDER BY o.fire_at, o.run_id),
               array_agg(o.fairness_key ORDER BY o.fire_at, o.run_id),
               array_agg(o.fairness_weight ORDER BY o.fire_at, o.run_id),
               array_agg(o.pass_offset ORDER BY o.fire_at, o.run_id),
               array_agg(jsonb_build_object('timer_id', o.timer_id, 'started_event_id', o.started_event_id)
                         ORDER BY o.fire_at, o.run_id),
               array_agg(jsonb_build_object('task_queue', o.task_queue, 'attempt', 1,
                                            'start_to_close_timeout', durable._seconds(o.task_timeout))
                         ORDER BY o.fire_at, o.run_id)
          INTO p_due, p_runs, p_last, p_namespaces, p_queues, p_priorities, p_keys, p_weights, p_offsets,
               p_fired, p_scheduled
          FROM ordered o, told;
        prepared_at := clock_timestamp();

        -- Each TimerFired is written once its timer is due, never before:
        -- what is due now, then a sleep until the next is due.
        written := 0;
        WHILE written < coalesce(cardinality(p_runs), 0) LOOP
            now := durable.now();
            IF p_due[written + 1] > now THEN
                PERFORM pg_sleep(extract(epoch FROM p_due[written + 1] - now));
                CONTINUE;
            END IF;
            SELECT count(*) INTO due_now FROM unnest(p_due) d WHERE d <= now;
            INSERT INTO durable.history_rows (run_id, event_id, event_code, event_time, attributes_packed)
            SELECT x.run_id, x.last_id + 1, durable._event_code('TimerFired'), durable._now(x.namespace),
                   durable._event_pack(x.run_id, x.last_id + 1, 'TimerFired', x.attributes)
              FROM unnest(p_runs[written + 1 : due_now], p_last[written + 1 : due_now],
                          p_namespaces[written + 1 : due_now], p_fired[written + 1 : due_now])
                   AS x(run_id, last_id, namespace, attributes);
            written := due_now;
        END LOOP;

        IF p_runs IS NOT NULL THEN
            INSERT INTO durable.history_rows (run_id, event_id, event_code, event_time, attributes_packed)
            SELECT x.run_id, x.last_id + 2, durable._event_code('WorkflowTaskScheduled'), durable._now(x.namespace),
                   durable._event_pack(x.run_id, x.last_id + 2, 'WorkflowTaskScheduled', x.attributes)
              FROM unnest(p_runs, p_last, p_namespaces, p_scheduled) AS x(run_id, last_id, namespace, attributes);
            WITH x AS (
                SELECT * FROM unnest(p_runs, p_last, p_namespaces, p_queues, p_priorities, p_keys, p_weights, p_offsets)
                    AS x(run_id, last_id, namespace, task_queue, priority, fairness_key, weight, pass_offset)
            ), heads AS MATERIALIZED (
                -- one lookup per queue, priority and key, before any task is inserted
                SELECT k.namespace, k.task_queue, k.priority, k.fairness_key,
                       durable._ready_pass(k.namespace, k.task_queue, k.priority, k.fairness_key, k.weight) AS first_pass
                  FROM (SELECT DISTINCT ON (namespace, task_queue, priority, fairness_key)
                               namespace, task_queue, priority, fairness_key, weight
                          FROM x ORDER BY namespace, task_queue, priority, fairness_key) k
            )
            INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue, state, attempt,
                                                scheduled_event_id, scheduled_at, priority, fairness_key, pass)
            SELECT x.run_id, x.namespace, x.task_queue, 'SCHEDULED', 1, x.last_id + 2, durable.now(),
                   x.priority, x.fairness_key, h.first_pass + x.pass_offset
              FROM x JOIN heads h ON (h.namespace, h.task_queue, h.priority, h.fairness_key)
                                   = (x.namespace, x.task_queue, x.priority, x.fairness_key);
            fired := cardinality(p_runs);
        END IF;

        -- the others, when the last of them is due
        WHILE durable.now() < due LOOP
            PERFORM pg_sleep(extract(epoch FROM due - durable.now()));
        END LOOP;
        fired := fired + durable._fire_timers_one_by_one(runs, timer_ids);
    EXCEPTION WHEN OTHERS THEN
        IF durable._is_transient(SQLSTATE) THEN
            RAISE;
        END IF;
        fired := -1;
        failure := format('%s (SQLSTATE %s)', SQLERRM, SQLSTATE);
    END;
END
$$;
COMMENT ON FUNCTION durable._fire_timers_prepared(timestamptz, integer, boolean) IS
    'Internal, for the timer workers: locks and reads a burst of timers due by until ahead of its instant, then writes each TimerFired when due, the tasks after, in one transaction.';

-- How many timers are due by `until` (at most max_items): the timer workers'
-- measure of the burst they prepare (bgworker.c).
CREATE OR REPLACE FUNCTION durable._timers_due_by(until timestamptz, max_items integer) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT count(*)::integer FROM (SELECT 1 FROM durable.timers tm WHERE tm.fire_at <= $1 LIMIT $2) t
$$;
COMMENT ON FUNCTION durable._timers_due_by(timestamptz, integer) IS
    'Internal, for the timer workers: how many timers are due by until (at most max_items).';

-- Closes a run whose run or execution timeout passed.
CREATE OR REPLACE FUNCTION durable._workflow_deadline(w durable.workflows) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM durable._close_run(w.run_id, 'TIMED_OUT', 'WorkflowExecutionTimedOut', jsonb_build_object(
        'timeout_type', CASE WHEN w.execution_timeout IS NOT NULL
                                  AND w.deadline_at >= w.execution_started_at + w.execution_timeout
                             THEN 'EXECUTION' ELSE 'RUN' END,
        'retry_state', 'RETRY_STATE_TIMEOUT'));
END
$$;

-- Fires one due timer through _deliver (which buffers for a run whose
-- workflow task is running). The caller holds the timer's and run's locks.
CREATE OR REPLACE FUNCTION durable._fire_timer(t durable.timers) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM durable.timers tm WHERE tm.run_id = t.run_id AND tm.timer_id = t.timer_id;
    PERFORM durable._deliver(t.run_id, 'TimerFired', jsonb_build_object(
        'timer_id', t.timer_id, 'started_event_id', t.started_event_id));
END
$$;

-- Everything due, as one batch: the common path (see _tick), and the
-- earliest deadline of its kinds left after it (next_due's answer for them).
-- Each kind is read only when its earliest deadline is due, which min()
-- over the kind's deadline index says (as next_due reads it). Most calls,
-- a timer worker's look with nothing due, stop there, and that read is the
-- kind's part of next_due: the tick read each index twice, here and then in
-- next_due (which, run read-only in the worker's tick, did not even see what
-- was fired here, so every tick that fired was followed by another). A kind
-- that fired is read again after it: what is left of it. Once max_items
-- have fired (checked where firing counts them; _tick refuses max_items < 1)
-- nothing more is read and next_due is now (the caller looks again at once). The statements that
-- lock what is due compare the deadline with `now`, a parameter: on a store
-- of many pending deadlines or runs their generic plan, costed for a third
-- of the rows due, lost to a custom one, so they were planned again at every
-- call (0.3 ms a tick for the timers' with a million asleep, 0.9 ms for the
-- activities' on the same store, against 5 us of running them: docs/
-- performance.md, "The 1M sleepers' dispatch, session 10"). The probes hold
-- no parameter inside, so their plan is made once and is the same on any store.
CREATE OR REPLACE FUNCTION durable._fire_batch(now timestamptz, max_items integer,
                                               OUT fired integer, OUT next_due timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    a durable.activity_tasks;
    t durable.workflow_tasks;
    w durable.workflows;
    due timestamptz;
BEGIN
    fired := 0;
    due := (SELECT min(tm.fire_at) FROM durable.timers tm);
    IF due <= now THEN
        fired := durable._fire_timers(now, max_items);
        IF fired >= max_items THEN
            next_due := now;
            RETURN;
        END IF;
        due := (SELECT min(tm.fire_at) FROM durable.timers tm);
    END IF;
    next_due := due;

    due := (SELECT min(at.timeout_at) FROM durable.activity_tasks at WHERE at.timeout_at IS NOT NULL);
    IF due <= now THEN
        FOR a IN SELECT at.* FROM durable.activity_tasks at JOIN durable.workflows wf ON wf.run_id = at.run_id
                  WHERE at.timeout_at <= now
                  ORDER BY at.timeout_at
                  LIMIT max_items - fired
                    FOR UPDATE SKIP LOCKED LOOP
            PERFORM durable._activity_deadline(a, now);
            fired := fired + 1;
        END LOOP;
        IF fired >= max_items THEN
            next_due := now;
            RETURN;
        END IF;
        due := (SELECT min(at.timeout_at) FROM durable.activity_tasks at WHERE at.timeout_at IS NOT NULL);
    END IF;
    next_due := least(next_due, due);

    due := (SELECT min(wt.timeout_at) FROM durable.workflow_tasks wt WHERE wt.timeout_at IS NOT NULL);
    IF due <= now THEN
        FOR t IN SELECT wt.* FROM durable.workflow_tasks wt JOIN durable.workflows wf ON wf.run_id = wt.run_id
                  WHERE wt.timeout_at <= now
                  ORDER BY wt.timeout_at
                  LIMIT max_items - fired
                    FOR UPDATE SKIP LOCKED LOOP
            PERFORM durable._workflow_task_deadline(t);
            fired := fired + 1;
        END LOOP;
        IF fired >= max_items THEN
            next_due := now;
            RETURN;
        END IF;
        due := (SELECT min(wt.timeout_at) FROM durable.workflow_tasks wt WHERE wt.timeout_at IS NOT NULL);
    END IF;
    next_due := least(next_due, due);

    due := (SELECT min(wf.deadline_at) FROM durable.workflows wf WHERE wf.status = 'RUNNING' AND wf.deadline_at IS NOT NULL);
    IF due <= now THEN
        FOR w IN SELECT * FROM durable.workflows wf
                  WHERE wf.status = 'RUNNING' AND wf.deadline_at IS NOT NULL AND wf.deadline_at <= now
                  ORDER BY wf.deadline_at
                  LIMIT max_items - fired
                    FOR UPDATE SKIP LOCKED LOOP
            PERFORM durable._workflow_deadline(w);
            fired := fired + 1;
        END LOOP;
        IF fired >= max_items THEN
            next_due := now;
            RETURN;
        END IF;
        due := (SELECT min(wf.deadline_at) FROM durable.workflows wf
                 WHERE wf.status = 'RUNNING' AND wf.deadline_at IS NOT NULL);
    END IF;
    next_due := least(next_due, due);

    due := (SELECT min(sc.next_run_at) FROM durable.schedules sc WHERE NOT sc.paused AND sc.next_run_at IS NOT NULL);
    IF due <= now THEN
        fired := fired + durable._fire_schedules(now, max_items - fired);
        IF fired >= max_items THEN
            next_due := now;
            RETURN;
        END IF;
        due := (SELECT min(sc.next_run_at) FROM durable.schedules sc WHERE NOT sc.paused AND sc.next_run_at IS NOT NULL);
    END IF;
    next_due := least(next_due, due);
END
$$;

-- Errors that say nothing about the item being fired (a deadlock, a
-- serialization failure, a read-only server, a full disk): firing again
-- later may work, so they are raised, not parked.
CREATE OR REPLACE FUNCTION durable._is_transient(sqlstate text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT left($1, 2) IN ('08', '40', '53', '57', '58')
        OR $1 IN ('55P03', '25006', '25P02')
$$;

-- Fires what is due (at most max_items): how many it handled, and the
-- earliest deadline then pending, as next_due() would say (now when max_items
-- fired: more may be due). The timer workers' tick (bgworker.c), in one call
-- so that each deadline index is read once for both (_fire_batch);
-- fire_due() is its first half.
-- The batch runs in one subtransaction: the common path costs one
-- subtransaction per call. When any item fails, the batch is undone and
-- done again item by item (at most 50, so that PostgreSQL's cache of 64
-- subtransactions per transaction never overflows), each in its own
-- subtransaction; the failing item is parked (durable._park) and every other
-- item fires. Parked items count as handled, so the caller keeps going.
CREATE OR REPLACE FUNCTION durable._tick(max_items integer, OUT fired integer, OUT next_due timestamptz)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    now timestamptz := durable.now();
    woken timestamptz;
BEGIN
    IF max_items IS NULL OR max_items < 1 THEN
        PERFORM durable._bad_input('max_items must be positive', format('Got %s.', max_items));
    END IF;
    BEGIN
        SELECT b.fired, b.next_due INTO fired, next_due FROM durable._fire_batch(now, max_items) b;
    EXCEPTION WHEN OTHERS THEN
        IF durable._is_transient(SQLSTATE) THEN
            RAISE;
        END IF;
        fired := durable._fire_isolated(now, least(max_items, 50));
        next_due := durable.next_due();   -- (item by item: read whole again)
    END;
    IF EXISTS (SELECT 1 FROM durable.parked) THEN
        PERFORM durable._forget_unparked();
    END IF;
    -- the limited queues' wakes (api/40_flow_limits.sql): the last kind of next_due
    woken := (SELECT min(l.wake_at) FROM durable.task_queue_limits l WHERE l.wake_at IS NOT NULL);
    IF woken <= now THEN
        PERFORM durable._wake_limited_queues(now);
        woken := (SELECT min(l.wake_at) FROM durable.task_queue_limits l WHERE l.wake_at IS NOT NULL);
    END IF;
    next_due := least(next_due, woken);
END
$$;

-- Fires what is due (at most max_items) and returns how many it handled
-- (_tick, without its next deadline).
CREATE OR REPLACE FUNCTION durable.fire_due(max_items integer DEFAULT 1000) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT t.fired FROM durable._tick(max_items) t);
END
$$;

-- PL/pgSQL, not SQL: a SQL function with SET is never inlined and its body
-- was planned again at every call, every timer worker's tick (300 µs of
-- planning a call, most of next_due's cost). PL/pgSQL keeps the plan for the
-- session; each branch reads its table's deadline index (partial, holding
-- only pending deadlines), which is the plan on an empty table as on a full
-- one, and a table's new statistics (autovacuum's analyze) plan it anew.
CREATE OR REPLACE FUNCTION durable.next_due() RETURNS timestamptz
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN least((SELECT min(fire_at) FROM durable.timers),
                 (SELECT min(timeout_at) FROM durable.activity_tasks WHERE timeout_at IS NOT NULL),
                 (SELECT min(timeout_at) FROM durable.workflow_tasks WHERE timeout_at IS NOT NULL),
                 (SELECT min(deadline_at) FROM durable.workflows
                   WHERE status = 'RUNNING' AND deadline_at IS NOT NULL),
                 (SELECT min(next_run_at) FROM durable.schedules
                   WHERE NOT paused AND next_run_at IS NOT NULL),
                 (SELECT min(wake_at) FROM durable.task_queue_limits WHERE wake_at IS NOT NULL));
END
$$;
