-- Cron expressions, for schedules (11_schedules.sql): parsing, with errors
-- that name the bad field, and the next matching time in a time zone.
--
-- The five standard fields, minute hour day-of-month month day-of-week, each
-- a list of *, n, a-b, */s, a-b/s (n/s is n-max/s); months 1-12 or JAN-DEC;
-- weekdays 0-7 or SUN-SAT, 0 and 7 both Sunday (so 1-7 and MON-SUN are the
-- whole week); the macros @yearly (@annually), @monthly, @weekly, @daily
-- (@midnight), @hourly; and an optional "CRON_TZ=<zone> " (or "TZ=") prefix
-- overriding the schedule's time zone. As in Vixie cron, when both day fields
-- are restricted (neither starts with "*") a day matching either counts.
--
-- Times are wall-clock times in the time zone (an IANA name from
-- PostgreSQL's own tz database, pg_timezone_names; default UTC), so a
-- "0 9 * * *" schedule in Europe/Berlin runs at 09:00 local in winter and in
-- summer. Across a daylight-saving change, a local time is read as
-- PostgreSQL reads it: one that does not exist that day (in the hour skipped
-- in spring) runs at the same instant as that time with the offset before
-- the change, i.e. an hour later on the clock (02:30 becomes 03:30 CEST); one
-- that occurs twice (the hour repeated in autumn) runs once, at its second
-- occurrence, in standard time.

-- Raises the error of a bad cron expression.
CREATE OR REPLACE FUNCTION durable._cron_error(expr text, problem text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM durable._bad_input(format('invalid cron expression "%s": %s', expr, problem), NULL,
        'Use five fields, minute hour day-of-month month day-of-week (0-7 or SUN-SAT; 0 and 7 are Sunday), '
        || 'each *, n, a-b, */s, a-b/s or a comma list of these, e.g. "0 9 * * MON-FRI"; '
        || 'or @yearly, @monthly, @weekly, @daily, @hourly; optionally after CRON_TZ=<IANA zone>.');
END
$$;

-- The values one field allows, sorted. names map to lo, lo + 1 ...;
-- weekday ranges may end in 7 or SUN (MON-SUN is 1-7).
CREATE OR REPLACE FUNCTION durable._cron_field(expr text, field text, what text, lo integer, hi integer,
                                               names text[] DEFAULT NULL, name_base integer DEFAULT NULL)
RETURNS integer[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    part text;
    m text[];
    a integer;
    b integer;
    step integer;
    result integer[] := '{}';
    f text := upper(field);
BEGIN
    IF names IS NOT NULL THEN
        FOR i IN 1 .. array_length(names, 1) LOOP
            f := regexp_replace(f, '(^|[^A-Z])' || names[i] || '(?![A-Z])', '\1' || (name_base + i - 1)::text, 'g');
        END LOOP;
    END IF;
    FOREACH part IN ARRAY string_to_array(f, ',') LOOP
        m := regexp_match(part, '^(\*|([0-9]{1,4})(-([0-9]{1,4}))?)(/([0-9]{1,4}))?$');
        IF m IS NULL THEN
            PERFORM durable._cron_error(expr, format('%s field "%s" is not *, n, a-b or a step of these', what, field));
        END IF;
        step := coalesce(m[6]::integer, 1);
        IF m[1] = '*' THEN
            a := lo; b := hi;
        ELSE
            a := m[2]::integer;
            b := coalesce(m[4]::integer, CASE WHEN m[6] IS NULL THEN a ELSE hi END);
            -- MON-SUN: SUN is 0, but ends a range as 7
            IF what = 'day-of-week' AND m[4] IS NOT NULL AND b = 0 AND a > 0 THEN
                b := 7;
            END IF;
        END IF;
        IF a < lo OR b > hi THEN
            PERFORM durable._cron_error(expr, format('%s field "%s" is out of range %s-%s', what, field, lo, hi));
        END IF;
        IF a > b THEN
            PERFORM durable._cron_error(expr, format('%s field "%s" has a range that runs backwards', what, field));
        END IF;
        IF step < 1 THEN
            PERFORM durable._cron_error(expr, format('%s field "%s" has a step of 0', what, field));
        END IF;
        result := result || ARRAY(SELECT generate_series(a, b, step));
    END LOOP;
    RETURN ARRAY(SELECT DISTINCT v FROM unnest(result) v ORDER BY v);
END
$$;

-- Is this an IANA time zone name PostgreSQL knows? (Abbreviations such as
-- CET and POSIX strings such as UTC+3, which AT TIME ZONE also takes, are not:
-- they have no daylight-saving rules, and POSIX offsets run backwards.)
CREATE OR REPLACE FUNCTION durable._is_time_zone(zone text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names WHERE name = $1)
$$;

-- A parsed expression: its own zone (from CRON_TZ=, else NULL), the values
-- of each field, and whether each day field starts with "*".
CREATE OR REPLACE FUNCTION durable._cron_parse(expr text,
    OUT zone text, OUT minutes integer[], OUT hours integer[], OUT doms integer[], OUT months integer[],
    OUT dows integer[], OUT dom_star boolean, OUT dow_star boolean)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    e text := btrim(coalesce(expr, ''));
    m text[];
    f text[];
BEGIN
    m := regexp_match(e, '^(CRON_TZ|TZ)=(\S+)\s+(.*)$', 'i');
    IF m IS NOT NULL THEN
        zone := m[2];
        e := m[3];
    END IF;
    IF left(e, 1) = '@' THEN
        e := CASE lower(e)
                 WHEN '@yearly' THEN '0 0 1 1 *' WHEN '@annually' THEN '0 0 1 1 *'
                 WHEN '@monthly' THEN '0 0 1 * *' WHEN '@weekly' THEN '0 0 * * 0'
                 WHEN '@daily' THEN '0 0 * * *' WHEN '@midnight' THEN '0 0 * * *'
                 WHEN '@hourly' THEN '0 * * * *' END;
        IF e IS NULL THEN
            PERFORM durable._cron_error(expr, 'unknown macro (@reboot has no meaning here)');
        END IF;
    END IF;
    f := regexp_split_to_array(e, '\s+');
    IF e = '' OR array_length(f, 1) <> 5 THEN
        PERFORM durable._cron_error(expr, format('it has %s fields, not 5', CASE WHEN e = '' THEN 0 ELSE array_length(f, 1) END));
    END IF;
    minutes := durable._cron_field(expr, f[1], 'minute', 0, 59);
    hours := durable._cron_field(expr, f[2], 'hour', 0, 23);
    doms := durable._cron_field(expr, f[3], 'day-of-month', 1, 31);
    months := durable._cron_field(expr, f[4], 'month', 1, 12,
        ARRAY['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'], 1);
    dows := ARRAY(SELECT DISTINCT v % 7 FROM unnest(durable._cron_field(expr, f[5], 'day-of-week', 0, 7,
        ARRAY['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'], 0)) v ORDER BY 1);
    dom_star := left(f[3], 1) = '*';
    dow_star := left(f[5], 1) = '*';
END
$$;

-- The first minute strictly after `after` that the expression matches, as
-- wall-clock time in `zone` (or the expression's CRON_TZ); NULL when none
-- in the next five years (e.g. "0 0 30 2 *"). Raises 22023 for a malformed
-- expression.
CREATE OR REPLACE FUNCTION durable._cron_next(expr text, after timestamptz, zone text DEFAULT 'UTC')
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
    c record := durable._cron_parse(expr);
    tz text := coalesce(c.zone, zone, 'UTC');
    start timestamp := date_trunc('minute', after AT TIME ZONE tz);
    day date;
    h integer;
    mi integer;
    t timestamptz;
BEGIN
    FOR i IN 0 .. 366 * 5 LOOP
        day := start::date + i;
        CONTINUE WHEN NOT (extract(month FROM day)::integer = ANY (c.months));
        CONTINUE WHEN NOT CASE WHEN c.dom_star OR c.dow_star
                               THEN extract(day FROM day)::integer = ANY (c.doms)
                                    AND extract(dow FROM day)::integer = ANY (c.dows)
                               ELSE extract(day FROM day)::integer = ANY (c.doms)
                                    OR extract(dow FROM day)::integer = ANY (c.dows) END;
        IF (day + 1)::timestamp AT TIME ZONE tz - day::timestamp AT TIME ZONE tz <> interval '24 hours' THEN
            -- a daylight-saving change: local times no longer map to instants
            -- in order (02:30 that does not exist lands after 03:00), so take
            -- the earliest instant of the day
            SELECT min(x.t) INTO t
              FROM (SELECT (day + make_time(hh, mm, 0)) AT TIME ZONE tz AS t
                      FROM unnest(c.hours) hh, unnest(c.minutes) mm) x
             WHERE x.t > after;
            IF t IS NOT NULL THEN
                RETURN t;
            END IF;
            CONTINUE;
        END IF;
        FOREACH h IN ARRAY c.hours LOOP
            CONTINUE WHEN i = 0 AND h < extract(hour FROM start);
            FOREACH mi IN ARRAY c.minutes LOOP
                t := (day + make_time(h, mi, 0)) AT TIME ZONE tz;
                IF t > after THEN
                    RETURN t;
                END IF;
            END LOOP;
        END LOOP;
    END LOOP;
    RETURN NULL;
END
$$;

-- Checks one cron expression of a spec in the spec's zone: 22023 naming the
-- problem, or nothing.
CREATE OR REPLACE FUNCTION durable._check_cron(expr text, zone text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    own_zone text := (durable._cron_parse(expr)).zone;
BEGIN
    IF own_zone IS NOT NULL AND NOT durable._is_time_zone(own_zone) THEN
        PERFORM durable._cron_error(expr, format('unknown time zone "%s"', own_zone));
    END IF;
    IF durable._cron_next(expr, durable.now(), zone) IS NULL THEN
        PERFORM durable._cron_error(expr, 'it matches no day in the next five years');
    END IF;
END
$$;
