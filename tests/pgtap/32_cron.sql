-- Cron: every standard form (ranges, steps, lists, names, 7 as Sunday,
-- macros), clear 22023 errors naming the field, and time zones with both
-- daylight-saving transitions: a 09:00 Europe/Berlin schedule runs at 09:00
-- local in winter and in summer; a local time skipped in spring runs an hour
-- later on the clock; one repeated in autumn runs once.
BEGIN;
SELECT * FROM no_plan();
SET LOCAL TimeZone = 'UTC';

CREATE FUNCTION pg_temp.next(expr text, after text, zone text DEFAULT 'UTC') RETURNS timestamptz
LANGUAGE sql AS $$ SELECT durable._cron_next(expr, after::timestamptz, zone) $$;
-- The next n times, from after.
CREATE FUNCTION pg_temp.nexts(expr text, after text, n integer, zone text DEFAULT 'UTC') RETURNS timestamptz[]
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := after::timestamptz;
    r timestamptz[] := '{}';
BEGIN
    FOR i IN 1 .. n LOOP
        t := durable._cron_next(expr, t, zone);
        r := r || t;
    END LOOP;
    RETURN r;
END
$$;

-- Forms ---------------------------------------------------------------------------
-- 2026-01-04 is a Sunday.
SELECT is(pg_temp.next('0 9 * * 1-7', '2026-01-03 10:00'), '2026-01-04 09:00+00'::timestamptz, '1-7: 7 is Sunday');
SELECT is(pg_temp.next('0 9 * * 7', '2026-01-01'), '2026-01-04 09:00+00'::timestamptz, '7 alone is Sunday');
SELECT is(pg_temp.next('0 9 * * 0', '2026-01-01'), '2026-01-04 09:00+00'::timestamptz, '0 is Sunday');
SELECT is(pg_temp.next('0 9 * * MON-SUN', '2026-01-03 10:00'), '2026-01-04 09:00+00'::timestamptz, 'MON-SUN is the whole week');
SELECT is(pg_temp.next('0 9 * * SAT-SUN', '2026-01-05'), '2026-01-10 09:00+00'::timestamptz, 'SAT-SUN');
SELECT is(pg_temp.next('0 9 * * sun', '2026-01-01'), '2026-01-04 09:00+00'::timestamptz, 'names in lower case');
SELECT is(pg_temp.next('0 9 * * 5-7/2', '2026-01-03'), '2026-01-04 09:00+00'::timestamptz, 'a step over a range ending in 7');
SELECT is(pg_temp.nexts('0 0 1 JAN,JUL *', '2026-01-02', 2), ARRAY['2026-07-01 00:00+00', '2027-01-01 00:00+00']::timestamptz[],
          'month names in a list');
SELECT is(pg_temp.next('0 0 1 FEB-APR *', '2026-01-02'), '2026-02-01 00:00+00'::timestamptz, 'a range of month names');
SELECT is(pg_temp.nexts('*/20 * * * *', '2026-01-01 10:05', 3),
          ARRAY['2026-01-01 10:20+00', '2026-01-01 10:40+00', '2026-01-01 11:00+00']::timestamptz[], '*/20');
SELECT is(pg_temp.nexts('5/20 * * * *', '2026-01-01 10:06', 3),
          ARRAY['2026-01-01 10:25+00', '2026-01-01 10:45+00', '2026-01-01 11:05+00']::timestamptz[], 'n/s is n-59/s');
SELECT is(pg_temp.nexts('10-20/5,45 8 * * *', '2026-01-01', 4),
          ARRAY['2026-01-01 08:10+00', '2026-01-01 08:15+00', '2026-01-01 08:20+00', '2026-01-01 08:45+00']::timestamptz[],
          'a stepped range and a value in a list');
SELECT is(pg_temp.next('0 0 */10 * *', '2026-01-02'), '2026-01-11 00:00+00'::timestamptz, '*/10 days of the month');
SELECT is(pg_temp.next('0 0 13 * FRI', '2026-01-01'), '2026-01-02 00:00+00'::timestamptz,
          'both day fields restricted: either matches (Friday the 2nd)');
SELECT is(pg_temp.next('0 0 */2 * FRI', '2026-01-01'), '2026-01-09 00:00+00'::timestamptz,
          'a day field starting with * is a filter: odd days that are Fridays (Vixie cron)');
SELECT is(pg_temp.next(m, '2026-06-15 12:00'), t::timestamptz, m)
  FROM (VALUES ('@yearly', '2027-01-01 00:00+00'), ('@annually', '2027-01-01 00:00+00'),
               ('@monthly', '2026-07-01 00:00+00'), ('@weekly', '2026-06-21 00:00+00'),
               ('@daily', '2026-06-16 00:00+00'), ('@midnight', '2026-06-16 00:00+00'),
               ('@hourly', '2026-06-15 13:00+00'), ('@DAILY', '2026-06-16 00:00+00')) x(m, t);
SELECT is(pg_temp.next('  0   9 *  * *  ', '2026-01-01'), '2026-01-01 09:00+00'::timestamptz, 'extra blanks');
SELECT is(pg_temp.next('0 0 30 2 *', '2026-01-01'), NULL, 'February 30th never comes');

-- Errors name the field ------------------------------------------------------------
SELECT throws_ok(format('SELECT durable._cron_next(%L, now())', e), '22023', 'invalid cron expression "' || e || '": ' || m, e)
  FROM (VALUES ('0 9 * * 8', 'day-of-week field "8" is out of range 0-7'),
               ('0 24 * * *', 'hour field "24" is out of range 0-23'),
               ('0 9 0 * *', 'day-of-month field "0" is out of range 1-31'),
               ('0 9 * 13 *', 'month field "13" is out of range 1-12'),
               ('0 9 * * FRI-MON', 'day-of-week field "FRI-MON" has a range that runs backwards'),
               ('*/0 * * * *', 'minute field "*/0" has a step of 0'),
               ('0 9 * * MONDAY', 'day-of-week field "MONDAY" is not *, n, a-b or a step of these'),
               ('0 9 ? * *', 'day-of-month field "?" is not *, n, a-b or a step of these'),
               ('0 9 L * *', 'day-of-month field "L" is not *, n, a-b or a step of these'),
               ('0 9 * * 5#2', 'day-of-week field "5#2" is not *, n, a-b or a step of these'),
               ('0 9 1,,2 * *', 'day-of-month field "1,,2" is not *, n, a-b or a step of these'),
               ('99999999999 * * * *', 'minute field "99999999999" is not *, n, a-b or a step of these'),
               ('0 0 * * * *', 'it has 6 fields, not 5'),
               ('', 'it has 0 fields, not 5'),
               ('@reboot', 'unknown macro (@reboot has no meaning here)')) x(e, m);

-- Time zones -----------------------------------------------------------------------------
SELECT is(pg_temp.next('0 9 * * *', '2026-01-10', 'Europe/Berlin'), '2026-01-10 08:00+00'::timestamptz,
          '09:00 Berlin in winter is 08:00 UTC');
SELECT is(pg_temp.next('0 9 * * *', '2026-07-10', 'Europe/Berlin'), '2026-07-10 07:00+00'::timestamptz,
          '09:00 Berlin in summer is 07:00 UTC');
SELECT is(pg_temp.next('CRON_TZ=America/New_York 0 9 * * *', '2026-01-10', 'Europe/Berlin'), '2026-01-10 14:00+00'::timestamptz,
          'CRON_TZ= overrides the schedule''s zone');
-- Spring: Europe/Berlin goes from 02:00 CET to 03:00 CEST on 2026-03-29.
SELECT is(pg_temp.nexts('0 9 * * *', '2026-03-27 12:00', 3, 'Europe/Berlin'),
          ARRAY['2026-03-28 08:00+00', '2026-03-29 07:00+00', '2026-03-30 07:00+00']::timestamptz[],
          'spring: 09:00 local on both sides of the change');
SELECT is(pg_temp.nexts('30 2 * * *', '2026-03-28 12:00', 2, 'Europe/Berlin'),
          ARRAY['2026-03-29 01:30+00', '2026-03-30 00:30+00']::timestamptz[],
          'spring: 02:30, which does not exist that day, runs at 03:30 CEST (01:30 UTC), once');
SELECT is(pg_temp.nexts('0,30 2,3 * * *', '2026-03-29 00:00', 3, 'Europe/Berlin'),
          ARRAY['2026-03-29 01:00+00', '2026-03-29 01:30+00', '2026-03-30 00:00+00']::timestamptz[],
          'spring: skipped 02:00 and 02:30 coincide with 03:00 and 03:30, each instant once, in order');
SELECT is(pg_temp.nexts('0 * * * *', '2026-03-28 23:30', 4, 'Europe/Berlin'),
          ARRAY['2026-03-29 00:00+00', '2026-03-29 01:00+00', '2026-03-29 02:00+00', '2026-03-29 03:00+00']::timestamptz[],
          'spring: hourly stays hourly in real time');
-- Autumn: Europe/Berlin goes from 03:00 CEST back to 02:00 CET on 2026-10-25.
SELECT is(pg_temp.nexts('0 9 * * *', '2026-10-23 12:00', 3, 'Europe/Berlin'),
          ARRAY['2026-10-24 07:00+00', '2026-10-25 08:00+00', '2026-10-26 08:00+00']::timestamptz[],
          'autumn: 09:00 local on both sides of the change');
SELECT is(pg_temp.nexts('30 2 * * *', '2026-10-24 12:00', 2, 'Europe/Berlin'),
          ARRAY['2026-10-25 01:30+00', '2026-10-26 01:30+00']::timestamptz[],
          'autumn: 02:30, which happens twice, runs once, at its second occurrence (02:30 CET)');
SELECT is(pg_temp.nexts('0 * * * *', '2026-10-24 23:30', 3, 'Europe/Berlin'),
          ARRAY['2026-10-25 01:00+00', '2026-10-25 02:00+00', '2026-10-25 03:00+00']::timestamptz[],
          'autumn: the repeated 02:00 runs once, in CET, so hourly skips one real hour (00:00 UTC)');
SELECT is(pg_temp.next('0 9 * * *', '2026-01-10', 'UTC'), '2026-01-10 09:00+00'::timestamptz, 'UTC is the default');

-- Schedules with a time zone ---------------------------------------------------------
SELECT throws_ok($$SELECT durable.create_schedule('tz-bad', '{"cron": ["0 9 * * *"], "timezone": "Mars/Olympus"}',
                   '{"workflow_type": "W", "task_queue": "q"}')$$, '22023', 'schedule spec: unknown time zone "Mars/Olympus"',
                 'an unknown time zone');
SELECT throws_ok($$SELECT durable.create_schedule('tz-bad', '{"cron": ["0 9 * * *"], "timezone": "UTC+3"}',
                   '{"workflow_type": "W", "task_queue": "q"}')$$, '22023', NULL, 'a POSIX offset is not a zone name');
SELECT throws_ok($$SELECT durable.create_schedule('tz-bad', '{"cron": ["0 9 * * *"], "timezone": 1}',
                   '{"workflow_type": "W", "task_queue": "q"}')$$, '22023', NULL, 'a zone that is not a string');
SELECT throws_ok($$SELECT durable.create_schedule('tz-bad', '{"cron": ["CRON_TZ=Nowhere 0 9 * * *"]}',
                   '{"workflow_type": "W", "task_queue": "q"}')$$, '22023',
                 'invalid cron expression "CRON_TZ=Nowhere 0 9 * * *": unknown time zone "Nowhere"', 'an unknown CRON_TZ');
SELECT throws_ok($$SELECT durable.create_schedule('tz-bad', '{"cron": ["0 9 * * 1-8"]}',
                   '{"workflow_type": "W", "task_queue": "q"}')$$, '22023',
                 'invalid cron expression "0 9 * * 1-8": day-of-week field "1-8" is out of range 0-7', 'create_schedule names the field');
SELECT throws_ok($$SELECT durable.create_schedule('tz-bad', '{"cron": "0 9 * * *"}',
                   '{"workflow_type": "W", "task_queue": "q"}')$$, '22023', NULL, 'cron must be an array');
SELECT throws_ok($$SELECT durable.create_schedule('tz-bad', '{"cron": ["0 0 30 2 *"]}',
                   '{"workflow_type": "W", "task_queue": "q"}')$$, '22023',
                 'invalid cron expression "0 0 30 2 *": it matches no day in the next five years', 'one that never matches');
SELECT is((SELECT count(*) FROM durable.schedules WHERE schedule_id = 'tz-bad'), 0::bigint, 'none was created');
SELECT durable.create_schedule('tz-berlin', '{"cron": ["0 9 * * 1-7"], "timezone": "Europe/Berlin"}',
                               '{"workflow_type": "W", "task_queue": "q"}');
SELECT is((SELECT array_agg(extract(hour FROM (u #>> '{}')::timestamptz AT TIME ZONE 'Europe/Berlin')::int)
             FROM jsonb_array_elements(durable.describe_schedule('tz-berlin') -> 'upcoming') u),
          ARRAY[9, 9, 9, 9, 9], 'its upcoming runs are all at 09:00 Berlin time');
SELECT * FROM finish();
ROLLBACK;
