-- Schedules: start a workflow on a cron or interval spec, with an overlap
-- policy, pause, trigger and backfill, as Temporal's schedules do. The timer
-- worker fires due schedules from durable.fire_due(). Cron expressions are
-- read in the spec's time zone (10_cron.sql); intervals are absolute.

-- The spec -------------------------------------------------------------
-- {"cron": ["0 9 * * MON-FRI", ...], "timezone": "Europe/Berlin",
--  "interval": [{"every": 3600, "offset": 0}, ...], "start_at": "...", "end_at": "..."}:
-- the next time after `after` that any cron or interval gives, within
-- [start_at, end_at].

CREATE OR REPLACE FUNCTION durable._check_schedule_spec(spec jsonb) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    item jsonb;
    n_cron integer := coalesce(jsonb_array_length(CASE WHEN jsonb_typeof(spec -> 'cron') = 'array' THEN spec -> 'cron' END), 0);
    n_interval integer := coalesce(jsonb_array_length(CASE WHEN jsonb_typeof(spec -> 'interval') = 'array' THEN spec -> 'interval' END), 0);
BEGIN
    PERFORM durable._check_keys(spec, ARRAY['cron', 'timezone', 'interval', 'start_at', 'end_at'], 'schedule spec');
    IF spec ? 'timezone' AND (jsonb_typeof(spec -> 'timezone') <> 'string'
                              OR NOT durable._is_time_zone(spec ->> 'timezone')) THEN
        PERFORM durable._bad_input(format('schedule spec: unknown time zone %s', spec -> 'timezone'), NULL,
            'Give an IANA time zone name PostgreSQL knows (SELECT name FROM pg_timezone_names), e.g. "Europe/Berlin" or "UTC".');
    END IF;
    IF n_cron + n_interval = 0 THEN
        PERFORM durable._bad_input('schedule spec needs a non-empty "cron" or "interval" array',
            format('Got %s.', spec::text),
            'E.g. {"cron": ["0 * * * *"]} or {"interval": [{"every": 3600}]}.');
    END IF;
    IF spec ? 'cron' AND jsonb_typeof(spec -> 'cron') <> 'array' THEN
        PERFORM durable._bad_input('schedule spec: "cron" must be an array of strings', format('Got %s.', spec -> 'cron'));
    END IF;
    -- The timer worker computes a schedule's next run over every entry each
    -- time it acts (a cron expression costs up to tens of ms): a bounded list
    -- keeps one schedule from holding up every other deadline.
    IF n_cron > 20 OR n_interval > 20 THEN
        PERFORM durable._bad_input('schedule spec: at most 20 "cron" expressions and 20 "interval" entries',
            format('Got %s cron expressions and %s intervals.', n_cron, n_interval),
            'Split the times over several schedules, or use ranges, lists and steps within one expression (e.g. "0,30 9-17 * * MON-FRI").');
    END IF;
    FOR item IN SELECT value FROM jsonb_array_elements(coalesce(spec -> 'cron', '[]')) LOOP
        IF jsonb_typeof(item) <> 'string' THEN
            PERFORM durable._bad_input(format('invalid cron expression %s', item::text), NULL,
                'Give each cron expression as a string, e.g. "5 4 * * *".');
        END IF;
        PERFORM durable._check_cron(item #>> '{}', coalesce(spec ->> 'timezone', 'UTC'));
    END LOOP;
    FOR item IN SELECT value FROM jsonb_array_elements(coalesce(spec -> 'interval', '[]')) LOOP
        PERFORM durable._check_keys(item, ARRAY['every', 'offset'], 'schedule interval');
        IF coalesce(durable._json_interval(item, 'every', 'schedule interval'), interval '0') < interval '1 second' THEN
            PERFORM durable._bad_input('schedule interval: "every" must be at least one second',
                format('Got %s.', item::text));
        END IF;
        PERFORM durable._check_duration(durable._json_interval(item, 'every', 'schedule interval'),
                                        'schedule interval: "every"', min => interval '1 second');
        -- the offset shifts each period's start within the period
        IF extract(epoch FROM durable._json_interval(item, 'offset', 'schedule interval'))
           >= extract(epoch FROM durable._json_interval(item, 'every', 'schedule interval')) THEN
            PERFORM durable._bad_input('schedule interval: "offset" must be less than "every"',
                format('Got %s.', item::text), 'E.g. {"every": 3600, "offset": 900} runs at a quarter past each hour.');
        END IF;
    END LOOP;
    BEGIN
        PERFORM durable._check_timestamp((spec ->> 'start_at')::timestamptz, 'schedule spec: "start_at"'),
                durable._check_timestamp((spec ->> 'end_at')::timestamptz, 'schedule spec: "end_at"');
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR invalid_text_representation THEN
        PERFORM durable._bad_input('schedule spec: "start_at" and "end_at" must be timestamps',
            format('Got %s.', spec::text));
    END;
END
$$;

CREATE OR REPLACE FUNCTION durable._schedule_next(spec jsonb, after timestamptz) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
DECLARE
    start_at timestamptz := (spec ->> 'start_at')::timestamptz;
    end_at timestamptz := (spec ->> 'end_at')::timestamptz;
    base timestamptz := greatest(after, start_at - interval '1 microsecond');
    best timestamptz;
    item jsonb;
    every float8;
    "offset" float8;
    t float8;
BEGIN
    FOR item IN SELECT value FROM jsonb_array_elements(coalesce(spec -> 'cron', '[]')) LOOP
        best := least(best, durable._cron_next(item #>> '{}', base, coalesce(spec ->> 'timezone', 'UTC')));
    END LOOP;
    FOR item IN SELECT value FROM jsonb_array_elements(coalesce(spec -> 'interval', '[]')) LOOP
        every := durable._seconds(durable._json_interval(item, 'every', 'schedule interval'));
        "offset" := coalesce(durable._seconds(durable._json_interval(item, 'offset', 'schedule interval')), 0);
        t := (floor((extract(epoch FROM base) - "offset") / every) + 1) * every + "offset";
        best := least(best, to_timestamp(t));
    END LOOP;
    IF end_at IS NOT NULL AND best > end_at THEN
        RETURN NULL;
    END IF;
    RETURN best;
END
$$;

-- _schedule_next for a schedule of a namespace whose clock was skipped
-- (16_namespace_clock.sql): the calendar is read by the namespace's clock,
-- then the time is kept in the server's, as every deadline is. A monthly
-- schedule fires when the namespace's clock reads the 1st.
CREATE OR REPLACE FUNCTION durable._schedule_next_in(namespace text, spec jsonb, after timestamptz) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
DECLARE
    shift interval := durable._clock_offset(namespace);
BEGIN
    RETURN durable._schedule_next(spec, after + shift) - shift;
END
$$;
COMMENT ON FUNCTION durable._schedule_next_in(text, jsonb, timestamptz) IS
    'The first time after "after" (server time) that the spec gives, read by the namespace''s clock and returned in server time.';

-- Actions -------------------------------------------------------------

CREATE OR REPLACE FUNCTION durable._check_schedule_action(action jsonb) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM durable._check_keys(action, ARRAY['workflow_type', 'task_queue', 'input', 'workflow_id', 'options'],
                                'schedule action');
    PERFORM durable._check_start_args(coalesce(action ->> 'workflow_id', 'x'),
        durable._json_text(action, 'workflow_type', 'schedule action', true),
        durable._json_text(action, 'task_queue', 'schedule action', true));
    PERFORM durable._check_start_options(coalesce(action -> 'options', '{}'));
    PERFORM durable._check_payload(action -> 'input', 'schedule input');
END
$$;

-- Starts the schedule's workflow for one scheduled time. The workflow id is
-- "<prefix>-<scheduled time>", and the search attributes DurableScheduledById
-- and DurableScheduledStartTime say where it came from. The scheduled time
-- is in the namespace's clock (16_namespace_clock.sql), as its events are.
CREATE OR REPLACE FUNCTION durable._schedule_start(s durable.schedules, scheduled_at timestamptz) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    wf_id text := coalesce(s.action ->> 'workflow_id', s.schedule_id) || durable._schedule_id_suffix(scheduled_at);
    -- each run is a start of its own: a request id in the action is not stamped
    -- on every run (docs/sql-api.md: scheduled runs do not carry it)
    options jsonb := coalesce(s.action -> 'options', '{}') - 'request_id';
    run uuid;
BEGIN
    options := jsonb_set(options, '{search_attributes}',
        coalesce(options -> 'search_attributes', '{}') || jsonb_build_object(
            'DurableScheduledById', s.schedule_id, 'DurableScheduledStartTime', scheduled_at));
    IF durable._start_conflict(s.namespace, wf_id, 'ALLOW_DUPLICATE') IS NULL THEN
        run := durable._create_run(s.namespace, wf_id, s.action ->> 'workflow_type', s.action ->> 'task_queue',
                                   s.action -> 'input', options);
    END IF;
    IF run IS NULL THEN
        UPDATE durable.schedules sc SET actions_skipped = sc.actions_skipped + 1
         WHERE sc.namespace = s.namespace AND sc.schedule_id = s.schedule_id;
        RETURN NULL;
    END IF;
    UPDATE durable.schedules sc
       SET last_workflow_id = wf_id, last_run_id = run, actions_taken = sc.actions_taken + 1,
           remaining_actions = sc.remaining_actions - 1, updated_at = durable.now(),
           recent_actions = (SELECT coalesce(jsonb_agg(a), '[]') FROM (
               SELECT a FROM jsonb_array_elements(sc.recent_actions || jsonb_build_array(jsonb_build_object(
                   'scheduled_at', scheduled_at, 'started_at', durable._now(s.namespace),
                   'workflow_id', wf_id, 'run_id', run))) WITH ORDINALITY AS x(a, n)
                ORDER BY n DESC LIMIT 10) r)
     WHERE sc.namespace = s.namespace AND sc.schedule_id = s.schedule_id;
    RETURN run;
END
$$;

-- One scheduled time under an overlap policy: start, skip, buffer, or
-- cancel/terminate the running one first. Returns what it did.
CREATE OR REPLACE FUNCTION durable._schedule_act(s durable.schedules, scheduled_at timestamptz, policy text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    running boolean;
BEGIN
    IF s.remaining_actions IS NOT NULL AND s.remaining_actions <= 0 THEN
        RETURN 'EXHAUSTED';
    END IF;
    SELECT w.status = 'RUNNING' INTO running FROM durable.workflows w WHERE w.run_id = s.last_run_id FOR UPDATE;
    IF coalesce(running, false) AND policy <> 'ALLOW_ALL' THEN
        IF policy = 'SKIP' THEN
            UPDATE durable.schedules sc SET actions_skipped = sc.actions_skipped + 1
             WHERE sc.namespace = s.namespace AND sc.schedule_id = s.schedule_id;
            RETURN 'SKIPPED';
        ELSIF policy = 'TERMINATE_OTHER' THEN
            PERFORM durable._close_run(s.last_run_id, 'TERMINATED', 'WorkflowExecutionTerminated',
                jsonb_build_object('reason', format('schedule %s started a newer run (TERMINATE_OTHER)', s.schedule_id),
                                   'identity', 'schedule:' || s.schedule_id));
        ELSE
            IF policy = 'CANCEL_OTHER' THEN
                PERFORM durable._request_cancel(s.last_run_id,
                    format('schedule %s wants to start a newer run (CANCEL_OTHER)', s.schedule_id),
                    'schedule:' || s.schedule_id);
            END IF;
            UPDATE durable.schedules sc
               SET buffered = CASE WHEN policy = 'BUFFER_ALL' THEN sc.buffered + 1 ELSE 1 END
             WHERE sc.namespace = s.namespace AND sc.schedule_id = s.schedule_id;
            RETURN 'BUFFERED';
        END IF;
    END IF;
    IF durable._schedule_start(s, scheduled_at) IS NULL THEN
        RETURN 'SKIPPED';
    END IF;
    RETURN 'STARTED';
END
$$;

-- Called by _close_run for a workflow a schedule started: a buffered start
-- waits for exactly this.
CREATE OR REPLACE FUNCTION durable._schedule_run_closed(namespace text, schedule_id text, run uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s durable.schedules;
BEGIN
    SELECT * INTO s FROM durable.schedules sc
     WHERE sc.namespace = _schedule_run_closed.namespace AND sc.schedule_id = _schedule_run_closed.schedule_id
       AND sc.last_run_id = run AND sc.buffered > 0
     FOR UPDATE;
    IF FOUND THEN
        UPDATE durable.schedules sc SET buffered = sc.buffered - 1
         WHERE sc.namespace = s.namespace AND sc.schedule_id = s.schedule_id;
        PERFORM durable._schedule_start(s, durable._now(s.namespace));
    END IF;
END
$$;

-- Fires one due schedule (locked by the caller): it takes its action for the
-- due time, unless that time is older than the catch-up window, and moves on
-- to its next time.
CREATE OR REPLACE FUNCTION durable._fire_schedule(s durable.schedules, now timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF s.next_run_at >= now - s.catchup_window THEN
        -- the time it was scheduled for, as its namespace's calendar reads it
        PERFORM durable._schedule_act(s, s.next_run_at + durable._clock_offset(s.namespace), s.overlap_policy);
    ELSE
        UPDATE durable.schedules sc SET actions_skipped = sc.actions_skipped + 1
         WHERE sc.namespace = s.namespace AND sc.schedule_id = s.schedule_id;
    END IF;
    UPDATE durable.schedules sc
       SET next_run_at = CASE WHEN sc.remaining_actions IS NOT NULL AND sc.remaining_actions <= 0 THEN NULL
                              ELSE durable._schedule_next_in(s.namespace, sc.spec, greatest(s.next_run_at, now - sc.catchup_window)) END
     WHERE sc.namespace = s.namespace AND sc.schedule_id = s.schedule_id
    RETURNING sc.next_run_at INTO s.next_run_at;
    PERFORM durable._wake_at(s.next_run_at);
END
$$;

-- Fires due schedules (from fire_due's batch).
CREATE OR REPLACE FUNCTION durable._fire_schedules(now timestamptz, max_items integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    s durable.schedules;
    fired integer := 0;
BEGIN
    FOR s IN SELECT * FROM durable.schedules sc
              WHERE NOT sc.paused AND sc.next_run_at IS NOT NULL AND sc.next_run_at <= now
              ORDER BY sc.next_run_at
              LIMIT max_items
                FOR UPDATE SKIP LOCKED LOOP
        PERFORM durable._fire_schedule(s, now);
        fired := fired + 1;
    END LOOP;
    RETURN fired;
END
$$;

-- The public API ------------------------------------------------------

CREATE OR REPLACE FUNCTION durable._schedule_not_found(namespace text, schedule_id text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'schedule "%" not found', schedule_id
        USING ERRCODE = 'DU007', DETAIL = format('No schedule %s in namespace %s.', schedule_id, namespace),
              HINT = 'List schedules with durable.list_schedules().';
END
$$;

CREATE OR REPLACE FUNCTION durable._lock_schedule(namespace text, schedule_id text) RETURNS durable.schedules
LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    s durable.schedules;
BEGIN
    SELECT * INTO s FROM durable.schedules sc
     WHERE sc.namespace = namespace AND sc.schedule_id = schedule_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM durable._schedule_not_found(namespace, schedule_id);
    END IF;
    RETURN s;
END
$$;

CREATE OR REPLACE FUNCTION durable._check_schedule_policies(policies jsonb) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM durable._check_keys(policies, ARRAY['overlap_policy', 'catchup_window', 'paused', 'note',
                                                'remaining_actions'], 'schedule policies');
    IF (policies ->> 'overlap_policy') IS NOT NULL AND (policies ->> 'overlap_policy') NOT IN
       ('SKIP', 'BUFFER_ONE', 'BUFFER_ALL', 'CANCEL_OTHER', 'TERMINATE_OTHER', 'ALLOW_ALL') THEN
        PERFORM durable._bad_input(format('unknown overlap_policy "%s"', policies ->> 'overlap_policy'), NULL,
            'Use SKIP, BUFFER_ONE, BUFFER_ALL, CANCEL_OTHER, TERMINATE_OTHER or ALLOW_ALL.');
    END IF;
    PERFORM durable._check_duration(durable._json_interval(policies, 'catchup_window', 'schedule policies'),
                                    'schedule policies: "catchup_window"', min => interval '1 second');
    IF policies ? 'paused' AND jsonb_typeof(policies -> 'paused') <> 'boolean' THEN
        PERFORM durable._bad_input('schedule policies: "paused" must be true or false');
    END IF;
    PERFORM durable._json_integer(policies, 'remaining_actions', 'schedule policies', 0, 2147483647);
    IF jsonb_typeof(policies -> 'note') NOT IN ('string', 'null') THEN
        PERFORM durable._bad_input('schedule policies: "note" must be a string');
    END IF;
    PERFORM durable._check_name(policies ->> 'note', 'schedule policies: "note"', 4096);
END
$$;

-- Returns the first time the schedule will act.
CREATE OR REPLACE FUNCTION durable.create_schedule(schedule_id text, spec jsonb, action jsonb,
                                        policies jsonb DEFAULT '{}', namespace text DEFAULT 'default')
RETURNS timestamptz LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    next_run timestamptz;
    now timestamptz := durable.now();
BEGIN
    PERFORM durable._authorize('operator', NULL, $5);
    PERFORM durable._check_path_name(coalesce(schedule_id, ''), 'schedule_id');
    PERFORM durable._check_name(schedule_id, 'schedule_id');
    PERFORM durable._check_namespace($5);
    PERFORM durable._check_schedule_spec(spec);
    PERFORM durable._check_schedule_action(action);
    -- The workflow ids it starts are "<workflow_id or schedule_id>-<time>":
    -- they, not just the schedule id, must fit the workflow id limit.
    PERFORM durable._check_name(coalesce(action ->> 'workflow_id', schedule_id),
        CASE WHEN action ? 'workflow_id' THEN 'schedule action: "workflow_id"' ELSE 'schedule_id' END,
        255 - octet_length(durable._schedule_id_suffix(now)));
    PERFORM durable._check_schedule_policies(coalesce(policies, '{}'));
    next_run := durable._schedule_next_in($5, spec, now);
    INSERT INTO durable.schedules AS sc (namespace, schedule_id, spec, action, overlap_policy, catchup_window,
                                         paused, note, remaining_actions, next_run_at, created_at, updated_at)
    VALUES ($5, $1, spec, action, coalesce(policies ->> 'overlap_policy', 'SKIP'),
            coalesce(durable._json_interval(policies, 'catchup_window', 'schedule policies'), interval '365 days'),
            coalesce((policies ->> 'paused')::boolean, false), policies ->> 'note',
            (policies ->> 'remaining_actions')::integer, next_run, now, now)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'schedule "%" already exists', $1
            USING ERRCODE = 'DU002', HINT = 'Delete it first, or choose another schedule_id.';
    END IF;
    PERFORM durable._wake_at(next_run);
    RETURN next_run;
END
$$;

CREATE OR REPLACE FUNCTION durable.delete_schedule(schedule_id text, namespace text DEFAULT 'default')
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM durable._authorize('operator', NULL, $2);
    PERFORM durable._lock_schedule($2, $1);
    DELETE FROM durable.schedules sc WHERE sc.namespace = $2 AND sc.schedule_id = $1;
END
$$;

CREATE OR REPLACE FUNCTION durable.pause_schedule(schedule_id text, note text DEFAULT NULL, namespace text DEFAULT 'default')
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM durable._authorize('operator', NULL, $3);
    PERFORM durable._check_name($2, 'note', 4096);
    PERFORM durable._lock_schedule($3, $1);
    UPDATE durable.schedules sc SET paused = true, note = coalesce($2, sc.note), updated_at = durable.now()
     WHERE sc.namespace = $3 AND sc.schedule_id = $1;
END
$$;

-- Unpausing does not take the actions missed while paused (use backfill).
CREATE OR REPLACE FUNCTION durable.unpause_schedule(schedule_id text, note text DEFAULT NULL, namespace text DEFAULT 'default')
RETURNS timestamptz LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s durable.schedules;
    next_run timestamptz;
BEGIN
    PERFORM durable._authorize('operator', NULL, $3);
    PERFORM durable._check_name($2, 'note', 4096);
    s := durable._lock_schedule($3, $1);
    next_run := durable._schedule_next_in(s.namespace, s.spec, durable.now());
    UPDATE durable.schedules sc
       SET paused = false, note = coalesce($2, sc.note), updated_at = durable.now(), next_run_at = next_run
     WHERE sc.namespace = $3 AND sc.schedule_id = $1;
    PERFORM durable._wake_at(next_run);
    RETURN next_run;
END
$$;

-- Acts now, under the given overlap policy or the schedule's. Returns
-- STARTED, SKIPPED, BUFFERED or EXHAUSTED.
CREATE OR REPLACE FUNCTION durable.trigger_schedule(schedule_id text, overlap_policy text DEFAULT NULL,
                                         namespace text DEFAULT 'default')
RETURNS text LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s durable.schedules;
BEGIN
    PERFORM durable._authorize('operator', NULL, $3);
    s := durable._lock_schedule($3, $1);
    PERFORM durable._check_schedule_policies(jsonb_strip_nulls(jsonb_build_object('overlap_policy', $2)));
    RETURN durable._schedule_act(s, durable._now($3), coalesce($2, s.overlap_policy));
END
$$;

-- Takes the actions the spec gives in [start_at, end_at), as if they had
-- happened on time (at most 10,000). Returns how many workflows started.
CREATE OR REPLACE FUNCTION durable.backfill_schedule(schedule_id text, start_at timestamptz, end_at timestamptz,
                                          overlap_policy text DEFAULT 'ALLOW_ALL', namespace text DEFAULT 'default')
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s durable.schedules;
    t timestamptz := $2 - interval '1 microsecond';
    started integer := 0;
    n integer := 0;
BEGIN
    PERFORM durable._authorize('operator', NULL, $5);
    s := durable._lock_schedule($5, $1);
    PERFORM durable._check_schedule_policies(jsonb_strip_nulls(jsonb_build_object('overlap_policy', $4)));
    PERFORM durable._check_timestamp($2, 'start_at'), durable._check_timestamp($3, 'end_at');
    IF $2 IS NULL OR $3 IS NULL OR $3 <= $2 THEN
        PERFORM durable._bad_input('backfill needs start_at before end_at', format('Got %s to %s.', $2, $3));
    END IF;
    LOOP
        t := durable._schedule_next(s.spec, t);
        EXIT WHEN t IS NULL OR t >= $3;
        n := n + 1;
        IF n > 10000 THEN
            PERFORM durable._bad_input('backfill would start more than 10,000 workflows', NULL,
                'Backfill a shorter range at a time.');
        END IF;
        SELECT * INTO s FROM durable.schedules sc WHERE sc.namespace = $5 AND sc.schedule_id = $1;
        IF durable._schedule_act(s, t, coalesce($4, s.overlap_policy)) = 'STARTED' THEN
            started := started + 1;
        END IF;
    END LOOP;
    RETURN started;
END
$$;

CREATE OR REPLACE FUNCTION durable.describe_schedule(schedule_id text, namespace text DEFAULT 'default')
RETURNS jsonb LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s durable.schedules;
    upcoming jsonb := '[]';
    t timestamptz;
BEGIN
    PERFORM durable._authorize('reader', NULL, $2);
    SELECT * INTO s FROM durable.schedules sc WHERE sc.namespace = $2 AND sc.schedule_id = $1;
    IF NOT FOUND THEN
        PERFORM durable._schedule_not_found($2, $1);
    END IF;
    t := s.next_run_at;
    BEGIN
        FOR i IN 1 .. 5 LOOP
            EXIT WHEN t IS NULL;
            upcoming := upcoming || to_jsonb(t);
            t := durable._schedule_next_in(s.namespace, s.spec, t);
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        -- a spec changed behind the API: still describe the schedule, whose
        -- "parked" says what failed
        upcoming := '[]';
    END;
    RETURN jsonb_build_object(
        'schedule_id', s.schedule_id, 'namespace', s.namespace, 'spec', s.spec, 'action', s.action,
        'overlap_policy', s.overlap_policy, 'catchup_window', durable._seconds(s.catchup_window),
        'paused', s.paused, 'note', s.note, 'remaining_actions', s.remaining_actions,
        'next_run_at', s.next_run_at, 'upcoming', upcoming, 'buffered', s.buffered,
        'last_workflow_id', s.last_workflow_id, 'last_run_id', s.last_run_id,
        'last_status', (SELECT w.status FROM durable.workflows w WHERE w.run_id = s.last_run_id),
        'actions_taken', s.actions_taken, 'actions_skipped', s.actions_skipped,
        'recent_actions', s.recent_actions, 'created_at', s.created_at, 'updated_at', s.updated_at,
        'parked', (SELECT jsonb_build_object('error', p.error, 'attempts', p.attempts, 'due_at', p.due_at,
                                             'parked_at', p.parked_at, 'retry_at', p.retry_at)
                     FROM durable.parked p
                    WHERE p.kind = 'schedule' AND p.namespace = s.namespace AND p.schedule_id = s.schedule_id
                      AND durable._still_parked(p)));
END
$$;

CREATE OR REPLACE FUNCTION durable.list_schedules(namespace text DEFAULT 'default')
RETURNS TABLE (schedule_id text, paused boolean, next_run_at timestamptz, workflow_type text,
               last_workflow_id text, actions_taken bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
    SELECT durable._authorize('reader', NULL, $1);
    SELECT sc.schedule_id, sc.paused, sc.next_run_at, sc.action ->> 'workflow_type', sc.last_workflow_id,
           sc.actions_taken
      FROM durable.schedules sc WHERE sc.namespace = $1 ORDER BY sc.schedule_id
$$;
