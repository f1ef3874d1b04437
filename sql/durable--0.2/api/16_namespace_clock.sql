-- A clock per namespace, for tests: durable.skip_time(namespace, by) moves
-- one namespace's time forward and nothing else's.
--
-- A namespace's clock is durable.now() plus its offset (durable.clock, row
-- 'namespace'). What a namespace shows is written in its time: its history's
-- event times (so durable_now() in its workflows), its runs' started_at and
-- closed_at (the mount's). Its deadlines (timers, activity and workflow task
-- timeouts and backoffs, run and execution timeouts, schedules) are kept in
-- the server's time, with the times they are computed from (when a task
-- was scheduled, started, last heartbeat; when the execution started): the
-- skip moves all of these closer by the same amount, in the transaction that
-- moves the clock, so a deadline falls due when the namespace's clock passes
-- it, and every other namespace's deadlines stay where they are.

CREATE OR REPLACE FUNCTION durable.now(namespace text) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'durable_namespace_now' LANGUAGE C STABLE STRICT PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION durable.now(text) IS
    'The namespace''s clock: durable.now() plus what durable.skip_time(namespace, by) added for it.';

CREATE OR REPLACE FUNCTION durable.clock_offset(namespace text) RETURNS interval
    AS 'MODULE_PATHNAME', 'durable_namespace_clock_offset' LANGUAGE C STABLE STRICT SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION durable.clock_offset(text) IS
    'How far durable.skip_time(namespace, by) has moved the namespace''s clock ahead of durable.now().';

-- What the namespace's clock runs ahead (inside the entry points).
CREATE OR REPLACE FUNCTION durable._clock_offset(namespace text) RETURNS interval
    AS 'MODULE_PATHNAME', 'durable_namespace_clock_offset' LANGUAGE C STABLE STRICT;

-- The namespace's clock inside the entry points: durable.now(namespace)
-- without its SECURITY DEFINER wrapper (a search_path set and reset per call).
CREATE OR REPLACE FUNCTION durable._now(namespace text) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'durable_namespace_now' LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- The clock of a run's namespace, for what is written into its history.
CREATE OR REPLACE FUNCTION durable._run_now(run uuid) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'durable_run_now' LANGUAGE C STABLE STRICT;

CREATE OR REPLACE FUNCTION durable._clock_changed() RETURNS void
    AS 'MODULE_PATHNAME', 'durable_clock_changed' LANGUAGE C VOLATILE;

CREATE OR REPLACE FUNCTION durable.skip_time(namespace text, by interval) RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
BEGIN
    PERFORM durable._check_namespace(namespace);
    PERFORM durable._authorize('operator', NULL, namespace);
    IF by IS NULL OR extract(month FROM by) <> 0 OR extract(year FROM by) <> 0 THEN
        PERFORM durable._bad_input('cannot skip time by a number of months, or by nothing',
            format('Got %L.', by), 'Use days, e.g. durable.skip_time(''tests'', ''30 days'').');
    END IF;
    IF by < interval '0' THEN
        PERFORM durable._bad_input('cannot skip time backwards',
            'Deadlines already fired would fire again out of order.', 'Pass a positive interval.');
    END IF;
    IF by = interval '0' THEN
        RETURN durable.now(namespace);
    END IF;

    -- the row lock serializes concurrent skips of one namespace; each adds its own
    INSERT INTO durable.clock AS c (clock, namespace, offset_us, skipped_at)
    VALUES ('namespace', namespace, (extract(epoch FROM by) * 1000000)::bigint, clock_timestamp())
    ON CONFLICT ON CONSTRAINT clock_pkey DO UPDATE
       SET offset_us = c.offset_us + EXCLUDED.offset_us, skipped_at = EXCLUDED.skipped_at;

    -- Its deadlines, and the times they are computed from, come closer.
    UPDATE durable.timers tm SET fire_at = tm.fire_at - by
      FROM durable.workflows w
     WHERE w.run_id = tm.run_id AND w.namespace = skip_time.namespace;
    UPDATE durable.workflow_tasks t
       SET scheduled_at = t.scheduled_at - by, started_at = t.started_at - by, timeout_at = t.timeout_at - by
     WHERE t.namespace = skip_time.namespace;
    UPDATE durable.activity_tasks a
       SET scheduled_at = a.scheduled_at - by, attempt_scheduled_at = a.attempt_scheduled_at - by,
           started_at = a.started_at - by, last_heartbeat_at = a.last_heartbeat_at - by,
           timeout_at = a.timeout_at - by
     WHERE a.namespace = skip_time.namespace;
    UPDATE durable.workflows w
       SET execution_started_at = w.execution_started_at - by, deadline_at = w.deadline_at - by
     WHERE w.namespace = skip_time.namespace AND w.status = 'RUNNING';
    UPDATE durable.schedules s SET next_run_at = s.next_run_at - by
     WHERE s.namespace = skip_time.namespace AND s.next_run_at IS NOT NULL;

    -- this transaction reads the new clock; the timer worker looks again at commit
    PERFORM durable._clock_changed();
    RETURN durable.now(namespace);
END
$$;
COMMENT ON FUNCTION durable.skip_time(text, interval) IS
    'For tests: move one namespace''s clock forward by an interval (no months); its timers, timeouts and schedules fall due as if that time had passed, no other namespace moves. Operators of the namespace may call it.';

-- What a test harness calls when it has nothing else to wait for: if nothing
-- in the namespace can run now (no workflow or activity task waits for a
-- worker or runs: every open run waits for a deadline or an outside event),
-- skips the namespace's clock to its next deadline and fires what is due.
-- Returns how far it skipped, 0 when a deadline was already due, NULL when
-- something can run or nothing is pending.
CREATE OR REPLACE FUNCTION durable.skip_to_next_deadline(namespace text) RETURNS interval
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    next_at timestamptz;
    gap interval;
BEGIN
    PERFORM durable._check_namespace(namespace);
    PERFORM durable._authorize('operator', NULL, namespace);
    IF EXISTS (SELECT 1 FROM durable.workflow_tasks t
                WHERE t.namespace = skip_to_next_deadline.namespace AND t.state IN ('SCHEDULED', 'STARTED'))
       OR EXISTS (SELECT 1 FROM durable.activity_tasks a
                   WHERE a.namespace = skip_to_next_deadline.namespace AND a.state IN ('SCHEDULED', 'STARTED'))
       OR EXISTS (SELECT 1 FROM durable.buffered_events b JOIN durable.workflows w USING (run_id)
                   WHERE w.namespace = skip_to_next_deadline.namespace) THEN
        RETURN NULL;
    END IF;
    SELECT least((SELECT min(tm.fire_at) FROM durable.timers tm JOIN durable.workflows w USING (run_id)
                   WHERE w.namespace = skip_to_next_deadline.namespace),
                 (SELECT min(t.timeout_at) FROM durable.workflow_tasks t
                   WHERE t.namespace = skip_to_next_deadline.namespace AND t.state = 'BACKOFF'),
                 (SELECT min(a.timeout_at) FROM durable.activity_tasks a
                   WHERE a.namespace = skip_to_next_deadline.namespace AND a.state = 'BACKOFF'),
                 (SELECT min(w.deadline_at) FROM durable.workflows w
                   WHERE w.namespace = skip_to_next_deadline.namespace AND w.status = 'RUNNING'),
                 (SELECT min(s.next_run_at) FROM durable.schedules s
                   WHERE s.namespace = skip_to_next_deadline.namespace AND NOT s.paused))
      INTO next_at;
    IF next_at IS NULL THEN
        RETURN NULL;
    END IF;
    gap := greatest(next_at - durable.now(), interval '0');
    IF gap > interval '0' THEN
        PERFORM durable.skip_time(namespace, gap);
    END IF;
    PERFORM durable.fire_due();
    RETURN gap;
END
$$;
COMMENT ON FUNCTION durable.skip_to_next_deadline(text) IS
    'For test harnesses: when nothing in the namespace can run, skip its clock to its next deadline and fire it; returns how far it skipped (NULL: something can run, or nothing is pending).';
