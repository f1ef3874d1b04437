-- The clock, wake-ups, and the small helpers every entry point shares.
-- Helpers (names starting with _) are not executable by PUBLIC; they run
-- inside the SECURITY DEFINER entry points, whose search_path is pinned.

CREATE OR REPLACE FUNCTION durable.now() RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'durable_now' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION durable.now() IS
    'The one clock of durable: the wall clock plus the offset added by durable.skip_time.';

CREATE OR REPLACE FUNCTION durable.skip_time(by interval) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'durable_skip_time' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION durable.skip_time(interval) IS
    'Superuser only, for tests: move durable.now() forward, under every namespace, and wake the timer worker. Tests of one namespace use durable.skip_time(namespace, by).';

CREATE OR REPLACE FUNCTION durable.clock_offset() RETURNS interval
    AS 'MODULE_PATHNAME', 'durable_clock_offset' LANGUAGE C STABLE;

-- Remembers the deadline; after commit the timer worker is woken if it sleeps
-- past it. Returns its argument so that it can sit in a RETURNING list.
CREATE OR REPLACE FUNCTION durable._wake_at(deadline timestamptz) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'durable_wake_at' LANGUAGE C VOLATILE;

CREATE OR REPLACE FUNCTION durable._history_changed(run uuid) RETURNS void
    AS 'MODULE_PATHNAME', 'durable_history_changed' LANGUAGE C VOLATILE STRICT;
CREATE OR REPLACE FUNCTION durable.watch_history() RETURNS void
    AS 'MODULE_PATHNAME', 'durable_watch_history' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION durable.watch_history() IS
    'From now until this session ends, every change of a run''s history is notified on channel durable.history with the run id as payload.';
CREATE OR REPLACE FUNCTION durable.unwatch_history() RETURNS void
    AS 'MODULE_PATHNAME', 'durable_unwatch_history' LANGUAGE C VOLATILE;

CREATE OR REPLACE FUNCTION durable._query_post(task_queue text, namespace text, workflow_id text,
                                    run_id text, query_type text, args text, timeout_ms integer)
    RETURNS text AS 'MODULE_PATHNAME', 'durable_query_post' LANGUAGE C VOLATILE STRICT;
-- A taken query comes with a fresh random token, and only that token answers it.
CREATE OR REPLACE FUNCTION durable._query_take(task_queue text, max_tasks integer, wait_ms integer,
    OUT query_token text, OUT namespace text, OUT workflow_id text, OUT run_id text,
    OUT query_type text, OUT args text)
    RETURNS SETOF record AS 'MODULE_PATHNAME', 'durable_query_take_0_2' LANGUAGE C VOLATILE STRICT;
CREATE OR REPLACE FUNCTION durable._query_answer(query_token text, answer text, is_error boolean)
    RETURNS boolean AS 'MODULE_PATHNAME', 'durable_query_answer_0_2' LANGUAGE C VOLATILE STRICT;

-- The NOTIFY channel a poller of one task queue listens on. Identical
-- notifications in one transaction are folded by PostgreSQL into one, so a
-- batch of a thousand new tasks wakes each listener once.
CREATE OR REPLACE FUNCTION durable.task_queue_channel(kind text, task_queue text, namespace text DEFAULT 'default')
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- one expression with no FROM, so that callers inline it
    SELECT CASE WHEN octet_length('durable.' || left($1, 1) || '.' || $3 || '.' || $2) <= 63
                THEN 'durable.' || left($1, 1) || '.' || $3 || '.' || $2
                ELSE 'durable.' || left($1, 1) || '.' || md5($3 || '/' || $2) END
$$;

-- pg_notify(durable.task_queue_channel(kind, task_queue, namespace), ''),
-- in C (pgext/src/notify.c): every task made ready calls it.
CREATE OR REPLACE FUNCTION durable._notify(kind text, namespace text, task_queue text) RETURNS void
    AS 'MODULE_PATHNAME', 'durable_notify' LANGUAGE C VOLATILE;

-- Input validation ------------------------------------------------------

CREATE OR REPLACE FUNCTION durable._bad_input(message text, detail text DEFAULT NULL, hint text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- RAISE options cannot be NULL, and an empty one still prints as an empty
    -- "DETAIL:" or "HINT:" line: give only those we have.
    IF detail IS NULL AND hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = message;
    ELSIF hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = message, DETAIL = detail;
    ELSIF detail IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = message, HINT = hint;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = message, DETAIL = detail, HINT = hint;
END
$$;

-- current_setting shows a byte-unit GUC in the largest unit that divides it
-- ("2MB", "3kB") or with a bare "B" ("1000B"), which pg_size_bytes rejects.
-- In C (pgext/src/payload_limit.c): the setting's own variable, in bytes.
CREATE OR REPLACE FUNCTION durable._max_payload() RETURNS bigint
    AS 'MODULE_PATHNAME', 'durable_max_payload' LANGUAGE C STABLE;

CREATE OR REPLACE FUNCTION durable._json_depth(payload jsonb) RETURNS integer
    AS 'MODULE_PATHNAME', 'durable_json_depth' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- One rule for every payload, the same in durablefs (docs/sql-api.md,
-- "Payloads"): what jsonb accepts, at most durable.max_payload_bytes, and at
-- most 128 levels of arrays and objects.
CREATE OR REPLACE FUNCTION durable._check_payload(payload jsonb, what text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    size integer;
    max_size bigint := durable._max_payload();
    depth integer;
BEGIN
    IF payload IS NOT NULL THEN
        depth := durable._json_depth(payload);
        IF depth > 128 THEN
            PERFORM durable._bad_input(format('%s is nested too deeply', what),
                format('It nests %s levels of arrays and objects; the limit is 128.', depth),
                'Flatten the payload; durablefs refuses the same documents.');
        END IF;
        size := octet_length(payload::text);
        IF size > max_size THEN
            RAISE EXCEPTION '% is too large', what
                USING ERRCODE = 'program_limit_exceeded',
                      DETAIL = format('It has %s bytes; durable.max_payload_bytes is %s.', size, max_size),
                      HINT = 'Store large data elsewhere and pass a reference.';
        END IF;
    END IF;
    RETURN payload;
END
$$;

-- A required or optional string member of a JSON object.
CREATE OR REPLACE FUNCTION durable._json_text(obj jsonb, key text, what text, required boolean DEFAULT false)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v jsonb := obj -> key;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        IF required THEN
            PERFORM durable._bad_input(format('%s needs "%s"', what, key),
                                       format('Got %s.', obj::text));
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'string' OR (v #>> '{}') = '' THEN
        PERFORM durable._bad_input(format('%s: "%s" must be a non-empty string', what, key),
                                   format('Got %s.', v::text));
    END IF;
    RETURN v #>> '{}';
END
$$;

-- A duration: a JSON number of seconds, or a string PostgreSQL reads as an
-- interval ("30 days"). NULL when absent.
CREATE OR REPLACE FUNCTION durable._json_interval(obj jsonb, key text, what text)
RETURNS interval LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v jsonb := obj -> key;
    result interval;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RETURN NULL;
    ELSIF jsonb_typeof(v) = 'number' THEN
        -- make_interval silently wraps around far beyond this
        IF abs((v #>> '{}')::numeric) > 3155760000 THEN
            result := interval '36526 days';
        ELSE
            result := make_interval(secs => (v #>> '{}')::float8);
        END IF;
    ELSIF jsonb_typeof(v) = 'string' THEN
        BEGIN
            result := (v #>> '{}')::interval;
        EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR interval_field_overflow THEN
            PERFORM durable._bad_input(format('%s: "%s" is not a duration', what, key),
                                       format('Got %s.', v::text),
                                       'Give seconds as a number, or an interval such as "30 days".');
        END;
    ELSE
        PERFORM durable._bad_input(format('%s: "%s" is not a duration', what, key),
                                   format('Got %s.', v::text),
                                   'Give seconds as a number, or an interval such as "30 days".');
    END IF;
    IF result < interval '0' OR durable._interval_has_negative_part(result) THEN
        PERFORM durable._bad_input(format('%s: "%s" must not be negative', what, key),
                                   format('Got %s.', v::text),
                                   'Every part of a duration must be zero or positive ("-1 year 361 days" is negative).');
    END IF;
    -- Deadlines are durable.now() plus durations: keep them far from the end of time.
    IF result > interval '36525 days' OR extract(epoch FROM result) > 3155760000 THEN
        PERFORM durable._bad_input(format('%s: "%s" is longer than 100 years', what, key),
                                   format('Got %s.', v::text));
    END IF;
    RETURN result;
END
$$;

CREATE OR REPLACE FUNCTION durable._seconds(i interval) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$ SELECT extract(epoch FROM $1)::float8 $$;

-- In C (pgext/src/check_keys.c): every start and every command checks its
-- keys, and the plpgsql body ran a query over jsonb_object_keys per call.
CREATE OR REPLACE FUNCTION durable._check_keys(obj jsonb, allowed text[], what text) RETURNS void
    AS 'MODULE_PATHNAME', 'durable_check_keys' LANGUAGE C IMMUTABLE;

-- Task tokens -----------------------------------------------------------
-- A token is "<kind><task_id>.<fence>": the fence grows with every lease, so
-- a token from an earlier lease no longer matches and is refused.

-- In C (pgext/src/task_token.c): it runs on every completion, and the
-- regular expression it was matched with was compiled on every call.
CREATE OR REPLACE FUNCTION durable._parse_token(token text, kind text, OUT task_id bigint, OUT fence bigint)
    AS 'MODULE_PATHNAME', 'durable_parse_token' LANGUAGE C IMMUTABLE;

CREATE OR REPLACE FUNCTION durable._lease_lost(kind text, token text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% task lease is no longer held', kind
        USING ERRCODE = 'DU004',
              DETAIL = format('Task token %s is unknown, expired, or was already completed.', token),
              HINT = 'Discard this result: the task was completed, retried or timed out, or its workflow closed.';
END
$$;

CREATE OR REPLACE FUNCTION durable._workflow_not_found(namespace text, workflow_id text, run_id uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'workflow "%" not found', workflow_id
        USING ERRCODE = 'DU001',
              DETAIL = CASE WHEN run_id IS NULL THEN format('No run of workflow %s in namespace %s.', workflow_id, namespace)
                            ELSE format('No run %s of workflow %s in namespace %s.', run_id, workflow_id, namespace) END,
              HINT = 'Check the workflow id and namespace with durable.list_workflows().';
END
$$;

CREATE OR REPLACE FUNCTION durable._workflow_not_running(w durable.workflows) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'workflow "%" is not running', w.workflow_id
        USING ERRCODE = 'DU003',
              DETAIL = format('Run %s closed as %s at %s.', w.run_id, w.status, w.closed_at),
              HINT = 'Closed workflows take no signals, cancellations or terminations.';
END
$$;

-- The run a client call means: the given run, or the latest run of the id.
CREATE OR REPLACE FUNCTION durable._resolve_run(namespace text, workflow_id text, run_id uuid)
RETURNS uuid LANGUAGE plpgsql STABLE AS $$
DECLARE
    found_run uuid;
BEGIN
    IF workflow_id IS NULL THEN
        PERFORM durable._bad_input('workflow_id must not be null');
    END IF;
    SELECT w.run_id INTO found_run FROM durable.workflows w
     WHERE w.namespace = _resolve_run.namespace AND w.workflow_id = _resolve_run.workflow_id
       AND (_resolve_run.run_id IS NULL OR w.run_id = _resolve_run.run_id)
     ORDER BY w.started_at DESC, (w.status = 'RUNNING') DESC
     LIMIT 1;
    IF found_run IS NULL THEN
        PERFORM durable._workflow_not_found(namespace, workflow_id, run_id);
    END IF;
    RETURN found_run;
END
$$;

-- History -----------------------------------------------------------------

-- Appends one event. The caller holds the run's row lock, so the next id is
-- the last one plus one, read from the end of the primary key: no counter
-- row is updated per event (that update was a third of a workflow's cost).
-- Sessions that called durable.watch_history() (durablefs, for tail -f)
-- learn on channel durable.history which run grew; with none, nothing is
-- sent (see history_watch.c). In C: pgext/src/history_append.c.
CREATE OR REPLACE FUNCTION durable._append(run uuid, event_type text, attributes jsonb)
    RETURNS bigint AS 'MODULE_PATHNAME', 'durable_append' LANGUAGE C VOLATILE;

-- The same, at a time the caller chose (a run's started_at or closed_at, so
-- that what the run shows is its start or close event's time exactly). Kept
-- apart from _append, which every event goes through: a call less there.
CREATE OR REPLACE FUNCTION durable._append_at(run uuid, event_type text, attributes jsonb, at timestamptz)
    RETURNS bigint AS 'MODULE_PATHNAME', 'durable_append_at' LANGUAGE C VOLATILE;

-- Schedules the run's next workflow task. The caller holds the run's row lock
-- and knows there is no workflow task yet. Its WorkflowTaskScheduled is
-- appended and the task inserted SCHEDULED and announced; or, while a
-- hand-back (api/76_handback.sql) has armed the run's queue, a first attempt
-- is deferred to the hand-back's end (_handback_defer), which inserts it,
-- leased to its worker when its poll would take it, and announces only what
-- it leaves ready. In C (pgext/src/schedule_task.c), called by the C of the
-- activity's outcome and the workflow task's completion too.
CREATE OR REPLACE FUNCTION durable._schedule_workflow_task(run uuid, attempt integer DEFAULT 1)
    RETURNS void AS 'MODULE_PATHNAME', 'durable_schedule_workflow_task' LANGUAGE C VOLATILE;

-- Delivers an event from outside the workflow's own commands (a signal, an
-- activity or child result, a fired timer, a cancel request) to a running
-- run whose row lock the caller holds. While a workflow task is started, or
-- the run is paused (its task is PAUSED, 41_pause.sql), the event is
-- buffered; otherwise it is appended and a workflow task is made sure to
-- exist.
CREATE OR REPLACE FUNCTION durable._deliver(run uuid, event_type text, attributes jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    called text;   -- a helper called as an expression returns into it (sql/README.md, "Calls")
    task durable.workflow_tasks;
BEGIN
    SELECT * INTO task FROM durable.workflow_tasks WHERE run_id = run;
    IF task.state IN ('STARTED', 'PAUSED') THEN
        INSERT INTO durable.buffered_events (run_id, event_type, event_time, attributes)
        VALUES (run, event_type, durable._run_now(run), attributes);
        RETURN;
    END IF;
    called := durable._append(run, event_type, attributes)::text;
    IF task.state IS NULL THEN
        called := durable._schedule_workflow_task(run)::text;
    ELSIF task.state = 'SCHEDULED' THEN
        -- A poller may have skipped this task while we held the run locked.
        called := durable._notify('workflow', task.namespace, task.task_queue)::text;
    ELSIF task.state = 'BACKOFF' AND task.attempt = 1 AND event_type = 'WorkflowExecutionSignaled' THEN
        -- a signal ends a start delay (the first task's backoff), as in Temporal
        PERFORM durable._reschedule_workflow_task(task, 1);
    END IF;
END
$$;

-- Moves buffered events into the history, in arrival order. An activity
-- result that follows its ActivityTaskStarted gets that event's id.
CREATE OR REPLACE FUNCTION durable._flush_buffered(run uuid) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    b record;
    n integer := 0;
    last_started_event bigint;
    last_started_scheduled bigint;
    attrs jsonb;
    event_id bigint;
BEGIN
    FOR b IN SELECT event_type, attributes FROM durable.buffered_events WHERE run_id = run ORDER BY seq LOOP
        attrs := b.attributes;
        IF b.event_type IN ('ActivityTaskCompleted', 'ActivityTaskFailed', 'ActivityTaskTimedOut', 'ActivityTaskCanceled')
           AND (attrs ->> 'scheduled_event_id')::bigint = last_started_scheduled THEN
            attrs := attrs || jsonb_build_object('started_event_id', last_started_event);
        END IF;
        event_id := durable._append(run, b.event_type, attrs);
        IF b.event_type = 'ActivityTaskStarted' THEN
            last_started_event := event_id;
            last_started_scheduled := (attrs ->> 'scheduled_event_id')::bigint;
        END IF;
        n := n + 1;
    END LOOP;
    IF n > 0 THEN
        DELETE FROM durable.buffered_events WHERE run_id = run;
    END IF;
    RETURN n;
END
$$;

-- Delivers an activity's outcome: its ActivityTaskStarted event (written only
-- now, with the final attempt, so retries do not grow the history) followed by
-- the outcome event.
CREATE OR REPLACE FUNCTION durable._deliver_activity_outcome(a durable.activity_tasks, event_type text, attributes jsonb)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    started_attrs jsonb;
    task_state text;
    started_event bigint;
BEGIN
    IF a.state = 'STARTED' THEN
        started_attrs := jsonb_build_object('scheduled_event_id', a.scheduled_event_id,
                                            'identity', a.identity,
                                            'attempt', a.attempt,
                                            'last_failure', a.last_failure);
        SELECT state INTO task_state FROM durable.workflow_tasks WHERE run_id = a.run_id;
        IF task_state IN ('STARTED', 'PAUSED') THEN
            PERFORM durable._deliver(a.run_id, 'ActivityTaskStarted', started_attrs);
            PERFORM durable._deliver(a.run_id, event_type, attributes || jsonb_build_object('started_event_id', NULL));
            RETURN;
        END IF;
        started_event := durable._append(a.run_id, 'ActivityTaskStarted', started_attrs);
        attributes := attributes || jsonb_build_object('started_event_id', started_event);
    END IF;
    PERFORM durable._deliver(a.run_id, event_type, attributes);
END
$$;
