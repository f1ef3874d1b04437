-- Limits at the door: every name and duration the API takes is checked here
-- before it reaches a table, because the timer worker fires what the tables
-- hold, and a value that makes firing fail (a negative retry interval, a
-- schedule id too long for the workflow ids it derives) would otherwise only
-- fail there, long after the caller left. docs/sql-api.md, "Limits", lists
-- every bound set here.

-- Names and ids: at most 255 bytes, so that they fit in index rows, NOTIFY
-- channels and durablefs file names. Returns the name, for use in an
-- expression. NULL passes: callers that require a name check that first.
CREATE OR REPLACE FUNCTION durable._check_name(name text, field text, max_bytes integer DEFAULT 255)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF octet_length(name) > max_bytes THEN
        RAISE EXCEPTION '% is too long', field
            USING ERRCODE = 'program_limit_exceeded',
                  DETAIL = format('It has %s bytes; the limit is %s.', octet_length(name), max_bytes),
                  HINT = 'Use a shorter name; docs/sql-api.md, "Limits", lists every limit.';
    END IF;
    RETURN name;
END
$$;

-- The suffix a schedule appends to the workflow ids it starts: "-" and the
-- scheduled time, e.g. "-2026-01-31T09:00:00Z" (21 bytes).
CREATE OR REPLACE FUNCTION durable._schedule_id_suffix(scheduled_at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT '-' || to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

-- A duration the API takes, already parsed: positive, and at most `max`
-- (compared both as PostgreSQL compares intervals, a month being 30 days,
-- and in seconds, a year being 365.25 days, so that no reading of a
-- "1200 months" duration passes one check and fails the other).
CREATE OR REPLACE FUNCTION durable._check_duration(d interval, field text,
                                                   max interval DEFAULT interval '36525 days',
                                                   min interval DEFAULT NULL)
RETURNS interval LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF d IS NULL THEN
        RETURN NULL;
    END IF;
    IF d <= interval '0' OR extract(epoch FROM d) <= 0 THEN
        PERFORM durable._bad_input(format('%s must be positive', field), format('Got %s.', d),
            'Give seconds as a number, or an interval such as "30 seconds".');
    END IF;
    IF min IS NOT NULL AND (d < min OR extract(epoch FROM d) < extract(epoch FROM min)) THEN
        PERFORM durable._bad_input(format('%s must be at least %s', field, min), format('Got %s.', d),
            'docs/sql-api.md, "Limits", lists every bound.');
    END IF;
    IF d > max OR extract(epoch FROM d) > extract(epoch FROM max) THEN
        PERFORM durable._bad_input(format('%s must be at most %s', field, max), format('Got %s.', d),
            'docs/sql-api.md, "Limits", lists every bound.');
    END IF;
    RETURN d;
END
$$;

-- An interval whose parts disagree in sign ('-1 year 361 days') compares as
-- positive (PostgreSQL counts a year as 360 days there) but is negative in
-- seconds and moves a timestamp backwards: every part must be >= 0.
CREATE OR REPLACE FUNCTION durable._interval_has_negative_part(d interval) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT extract(year FROM $1) * 12 + extract(month FROM $1) < 0
        OR extract(day FROM $1) < 0
        OR extract(hour FROM $1) * 3600 + extract(minute FROM $1) * 60 + extract(second FROM $1) < 0
$$;

-- A timestamp the API takes as a bound (schedule start/end, backfill range):
-- finite, and within the years durable's ids and clock can name.
CREATE OR REPLACE FUNCTION durable._check_timestamp(t timestamptz, field text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF t IS NOT NULL AND (NOT isfinite(t) OR t < timestamptz '1970-01-01 00:00:00+00'
                          OR t >= timestamptz '10000-01-01 00:00:00+00') THEN
        PERFORM durable._bad_input(format('%s is out of range', field), format('Got %s.', t),
            'Give a finite time between 1970 and 9999.');
    END IF;
    RETURN t;
END
$$;

-- A JSON number that must be an integer in [lo, hi].
CREATE OR REPLACE FUNCTION durable._json_integer(obj jsonb, key text, what text, lo bigint, hi bigint)
RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v jsonb := obj -> key;
    n numeric;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'number' THEN
        PERFORM durable._bad_input(format('%s: "%s" must be a number', what, key), format('Got %s.', v::text));
    END IF;
    n := (v #>> '{}')::numeric;
    IF n <> trunc(n) OR n < lo OR n > hi THEN
        PERFORM durable._bad_input(format('%s: "%s" must be an integer from %s to %s', what, key, lo, hi),
                                   format('Got %s.', v::text));
    END IF;
    RETURN n::bigint;
END
$$;
