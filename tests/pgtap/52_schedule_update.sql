-- update_schedule: a schedule's spec, action and policies change in place,
-- field by field; its next time is computed again; bad input changes nothing.
BEGIN;
SELECT * FROM no_plan();

CREATE FUNCTION pg_temp.d(field text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT durable.describe_schedule('up') -> field
$$;

SELECT durable.create_schedule('up', '{"interval": [{"every": 3600}], "timezone": "UTC"}',
    '{"workflow_type": "Report", "task_queue": "up-q", "input": {"v": 1}, "options": {"run_timeout": 600, "memo": {"m": 1}}}',
    '{"overlap_policy": "BUFFER_ONE", "note": "first"}');
-- take one action so that counters exist to keep
SELECT durable.trigger_schedule('up');
CREATE TEMP TABLE before AS SELECT durable.describe_schedule('up') AS d;

-- The spec ------------------------------------------------------------------
CREATE TEMP TABLE t1 AS SELECT durable.update_schedule('up', spec => '{"interval": [{"every": 60}]}') AS next_run;
SELECT is(pg_temp.d('spec'), '{"interval": [{"every": 60}], "timezone": "UTC"}'::jsonb,
          'a spec update replaces the fields it gives and keeps the others');
SELECT ok((SELECT next_run FROM t1) <= durable.now() + interval '1 minute', 'update_schedule returns the new next run time');
SELECT is((pg_temp.d('next_run_at') #>> '{}')::timestamptz, (SELECT next_run FROM t1), 'next_run_at is computed again');
SELECT is((pg_temp.d('upcoming') ->> 1)::timestamptz - (pg_temp.d('upcoming') ->> 0)::timestamptz, interval '1 minute',
          'and the upcoming times follow the new spec');
SELECT ok(durable.next_due() <= (SELECT next_run FROM t1), 'the timer worker knows the new time');
SELECT is(pg_temp.d('actions_taken'), (SELECT d -> 'actions_taken' FROM before), 'the counters are kept');
SELECT is(pg_temp.d('recent_actions'), (SELECT d -> 'recent_actions' FROM before), 'and the recent actions');
SELECT is(pg_temp.d('created_at'), (SELECT d -> 'created_at' FROM before), 'and the creation time');
SELECT durable.update_schedule('up', spec => '{"interval": null, "cron": ["0 9 * * *"], "timezone": "Europe/Berlin"}');
SELECT is(pg_temp.d('spec'), '{"cron": ["0 9 * * *"], "timezone": "Europe/Berlin"}'::jsonb, 'null removes a spec field');
SELECT is(to_char((pg_temp.d('next_run_at') #>> '{}')::timestamptz AT TIME ZONE 'Europe/Berlin', 'HH24:MI'), '09:00',
          'the next run is 09:00 in the new time zone');

-- The action ----------------------------------------------------------------
SELECT durable.update_schedule('up', action => '{"input": {"v": 2}, "options": {"run_timeout": 900, "memo": null}}');
SELECT is(pg_temp.d('action'),
          '{"workflow_type": "Report", "task_queue": "up-q", "input": {"v": 2}, "options": {"run_timeout": 900}}'::jsonb,
          'an action update changes the input and the start options field by field');
SELECT durable.skip_time('1 second');   -- the started workflow ids carry the time
SELECT is(durable.trigger_schedule('up', 'ALLOW_ALL'), 'STARTED', 'a trigger after the update');
SELECT is(durable.describe_workflow(durable.describe_schedule('up') ->> 'last_workflow_id') -> 'input', '{"v": 2}'::jsonb,
          'the next run it starts gets the new input');
SELECT is((durable.describe_workflow(durable.describe_schedule('up') ->> 'last_workflow_id') -> 'run_timeout')::float8, 900::float8,
          'and the new options');

-- Policies --------------------------------------------------------------------
CREATE TEMP TABLE next_before AS SELECT (pg_temp.d('next_run_at') #>> '{}')::timestamptz AS t;
SELECT durable.update_schedule('up', policies => '{"overlap_policy": "ALLOW_ALL", "catchup_window": 60, "remaining_actions": 7}');
SELECT is(pg_temp.d('overlap_policy'), '"ALLOW_ALL"'::jsonb, 'the overlap policy changes');
SELECT is(pg_temp.d('catchup_window'), '60'::jsonb, 'the catch-up window');
SELECT is(pg_temp.d('remaining_actions'), '7'::jsonb, 'the remaining actions');
SELECT is(pg_temp.d('note'), '"first"'::jsonb, 'the note it did not give is kept');
SELECT is((pg_temp.d('next_run_at') #>> '{}')::timestamptz, (SELECT t FROM next_before),
          'a policy update leaves the next run time alone');
SELECT durable.update_schedule('up', policies => '{"paused": true, "note": "frozen"}');
SELECT is(pg_temp.d('paused'), 'true'::jsonb, 'paused through policies');
SELECT is(pg_temp.d('note'), '"frozen"'::jsonb, 'with a note');
SELECT durable.update_schedule('up', policies => '{"paused": false, "overlap_policy": null, "note": null}');
SELECT is(pg_temp.d('overlap_policy'), '"SKIP"'::jsonb, 'null sets a policy back to its default');
SELECT is(pg_temp.d('note'), 'null'::jsonb, 'and clears the note');
SELECT is(pg_temp.d('paused'), 'false'::jsonb, 'unpaused');

-- An exhausted schedule given more actions runs again
SELECT durable.update_schedule('up', policies => '{"remaining_actions": 0}');
SELECT durable.skip_time('1 day');
SELECT durable.fire_due();
SELECT is(pg_temp.d('next_run_at'), 'null'::jsonb, 'a schedule with no actions left has no next time');
SELECT durable.update_schedule('up', policies => '{"remaining_actions": 2}');
SELECT ok((pg_temp.d('next_run_at') #>> '{}')::timestamptz > durable.now(), 'more actions give it a next time again');

-- A due time the timer worker has not fired yet stays due
SELECT durable.create_schedule('due', '{"interval": [{"every": 60}]}', '{"workflow_type": "R", "task_queue": "up-q"}');
SELECT durable.skip_time('2 minutes');
CREATE TEMP TABLE due_at AS SELECT (durable.describe_schedule('due') ->> 'next_run_at')::timestamptz AS t;
SELECT durable.update_schedule('due', action => '{"input": 5}');
SELECT is((durable.describe_schedule('due') ->> 'next_run_at')::timestamptz, (SELECT t FROM due_at),
          'an action update keeps a time that is due');
SELECT ok(durable.fire_due() >= 1, 'which then fires');
SELECT is(durable.describe_workflow(durable.describe_schedule('due') ->> 'last_workflow_id') -> 'input', '5'::jsonb,
          'with the updated action');

-- Bad input changes nothing ---------------------------------------------------
CREATE TEMP TABLE snap AS SELECT spec, action, overlap_policy, catchup_window, paused, note, remaining_actions,
                                 next_run_at, updated_at FROM durable.schedules WHERE schedule_id = 'up';
SELECT throws_ok($$SELECT durable.update_schedule('nope', policies => '{"note": "x"}')$$, 'DU007',
                 'schedule "nope" not found', 'an unknown schedule (DU007)');
SELECT throws_ok($$SELECT durable.update_schedule('up', spec => '{"cron": ["61 * * * *"]}')$$, '22023', NULL,
                 'a bad cron expression');
SELECT throws_ok($$SELECT durable.update_schedule('up', spec => '{"cron": null}')$$, '22023',
                 'schedule spec needs a non-empty "cron" or "interval" array', 'removing the last times');
SELECT throws_ok($$SELECT durable.update_schedule('up', spec => '{"every": 60}')$$, '22023',
                 'schedule spec has an unknown field "every"', 'an unknown spec field');
SELECT throws_ok($$SELECT durable.update_schedule('up', spec => '[1]')$$, '22023',
                 'update_schedule: "spec" must be a JSON object', 'a spec that is not an object');
SELECT throws_ok($$SELECT durable.update_schedule('up', action => '{"workflow_type": null}')$$, '22023',
                 'schedule action needs "workflow_type"', 'removing the workflow type');
SELECT throws_ok($$SELECT durable.update_schedule('up', action => '{"options": {"id_reuse_policy": "NEVER"}}')$$, '22023',
                 'unknown id_reuse_policy "NEVER"', 'bad start options');
SELECT throws_ok($$SELECT durable.update_schedule('up', policies => '{"overlap_policy": "SOMETIMES"}')$$, '22023',
                 'unknown overlap_policy "SOMETIMES"', 'a bad overlap policy');
SELECT throws_ok($$SELECT durable.update_schedule('up', spec => '{"interval": [{"every": 120}]}',
                                                 policies => '{"remaining_actions": -1}')$$, '22023', NULL,
                 'a bad policy next to a good spec');
SELECT throws_ok(format($$SELECT durable.update_schedule('up', action => '{"workflow_id": "%s"}')$$, repeat('w', 250)),
                 '54000', NULL, 'a workflow id prefix that leaves no room for the time');
SELECT is((SELECT to_jsonb(s) FROM (SELECT spec, action, overlap_policy, catchup_window, paused, note, remaining_actions,
                                           next_run_at, updated_at FROM durable.schedules WHERE schedule_id = 'up') s),
          (SELECT to_jsonb(snap) FROM snap), 'none of the refused updates changed the schedule');
SELECT lives_ok($$SELECT durable.update_schedule('up')$$, 'an update with nothing to change is accepted');

SELECT * FROM finish();
ROLLBACK;
