-- Where two features of 0.2 meet: each has its own file; this one checks
-- what only shows when they are used together.
BEGIN;
SELECT * FROM no_plan();
\ir helpers.psql

-- Polls one workflow task of queue as a worker of build and completes it
-- with commands; returns its workflow id (NULL when it got none).
CREATE FUNCTION pg_temp.take(queue text, build text, commands jsonb DEFAULT '[]') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM durable.poll_workflow_tasks(queue, 'w-' || coalesce(build, 'none'), 1, NULL, 'default', build);
    IF r.task_token IS NOT NULL THEN
        PERFORM durable.complete_workflow_task(r.task_token, commands);
    END IF;
    RETURN r.workflow_id;
END
$$;

-- Reset x build ids: the reset run replays the history its build wrote ------
SELECT durable.set_build_id_rules('seam-rq', 'v1');
SELECT durable.start_workflow('seam-r1', 'W', 'seam-rq', '{}', '{"priority": 2}');
SELECT is(pg_temp.take('seam-rq', 'v1'), 'seam-r1', 'a v1 worker runs the first task of a pinned run');
SELECT durable.signal_workflow('seam-r1', 'go', '1');
SELECT is(pg_temp.take('seam-rq', 'v1'), 'seam-r1', 'and its second');
SELECT durable.set_build_id_rules('seam-rq', 'v2');   -- a deploy: new runs go to v2
SELECT durable.reset_workflow('seam-r1', pg_temp.event_id('seam-r1', 'WorkflowTaskCompleted'), 'redo the last step');
SELECT is(durable.describe_workflow('seam-r1') ->> 'build_id', 'v1',
          'the reset run of a pinned v1 run stays on v1: its copied history was written by v1');
SELECT is(pg_temp.take('seam-rq', 'v2'), NULL, 'a v2 worker is not handed the v1 history to replay');
SELECT is(pg_temp.take('seam-rq', 'v1'), 'seam-r1', 'a v1 worker takes the reset run');
SELECT is(durable.describe_workflow('seam-r1') ->> 'priority', '2', 'and the reset run kept its priority');
-- reset to the first workflow task: no task completed before it, so
-- nothing was written by any build, and the default build takes it
SELECT durable.reset_workflow('seam-r1', (SELECT min(event_id) FROM durable.get_history('seam-r1')
                                           WHERE event_type = 'WorkflowTaskCompleted'), 'start over');
SELECT is(durable.describe_workflow('seam-r1') ->> 'build_id', NULL,
          'a reset to the first workflow task is on no build yet');
SELECT is(pg_temp.take('seam-rq', 'v1'), NULL, 'so the old build does not get it');
SELECT is(pg_temp.take('seam-rq', 'v2'), 'seam-r1', 'the default build does');
SELECT durable.set_build_id_rules('seam-rq', NULL);

-- Children and continue-as-new x build ids: a pinned run's child on its own
-- queue, and its continued run, stay on its build (as in Temporal); a child
-- on another queue goes by that queue's rules.
SELECT durable.set_build_id_rules('seam-iq', 'v1');
SELECT durable.start_workflow('seam-ip', 'W', 'seam-iq');
SELECT is(pg_temp.take('seam-iq', 'v1', '[{"type": "StartChildWorkflowExecution", "workflow_id": "seam-ic1", "workflow_type": "K"},
    {"type": "StartChildWorkflowExecution", "workflow_id": "seam-ic2", "workflow_type": "K", "task_queue": "seam-iq-other"}]'),
          'seam-ip', 'a v1 worker starts two children in the first task of a pinned run');
SELECT durable.set_build_id_rules('seam-iq', 'v2');   -- a deploy
SELECT is(durable.describe_workflow('seam-ic1') ->> 'build_id', 'v1', 'the child on its queue is on the parent''s build');
SELECT is(durable.describe_workflow('seam-ic2') ->> 'build_id', NULL, 'the child on an unversioned queue is on none');
SELECT is(pg_temp.take('seam-iq', 'v2'), NULL, 'so the new build takes neither the parent''s task nor the child''s');
SELECT is(pg_temp.take('seam-iq', 'v1') || ' ' || pg_temp.take('seam-iq', 'v1'), 'seam-ic1 seam-ip',
          'the parent''s build takes both (the child''s first task, then the parent''s)');
SELECT durable.signal_workflow('seam-ip', 'go', '1');
SELECT is(pg_temp.take('seam-iq', 'v1', '[{"type": "ContinueAsNewWorkflowExecution", "input": 2}]'), 'seam-ip',
          'the pinned parent continues as new');
SELECT is(durable.describe_workflow('seam-ip') ->> 'build_id', 'v1', 'its continued run is on its build');
SELECT is(pg_temp.take('seam-iq', 'v2'), NULL, 'which the new build does not take');
SELECT is(pg_temp.take('seam-iq', 'v1'), 'seam-ip', 'the old one does');
SELECT durable.start_workflow('seam-in', 'W', 'seam-iq');
SELECT is(pg_temp.take('seam-iq', 'v2'), 'seam-in', 'a new workflow goes to the new build');
SELECT durable.start_workflow('seam-ir', 'W', 'seam-iq', '{}', '{"retry_policy": {"initial_interval": 1, "maximum_attempts": 2}}');
SELECT is(pg_temp.take('seam-iq', 'v2', '[{"type": "FailWorkflowExecution", "failure": {"message": "boom"}}]'), 'seam-ir',
          'a pinned run on the new build fails, to be retried');
SELECT is((SELECT build_id FROM durable.workflows WHERE workflow_id = 'seam-ir' AND attempt = 2), 'v2',
          'its retry is on its build too');
SELECT durable.set_build_id_rules('seam-iq', 'v3', 'AUTO_UPGRADE');
SELECT durable.signal_workflow('seam-in', 'go', '1');
SELECT is(pg_temp.take('seam-iq', 'v3', '[{"type": "StartChildWorkflowExecution", "workflow_id": "seam-ic3", "workflow_type": "K"}]'),
          'seam-in', 'under AUTO_UPGRADE a run moves to the default build');
SELECT is(pg_temp.take('seam-iq', 'v3'), 'seam-ic3', 'and so do its children');
SELECT durable.set_build_id_rules('seam-iq', NULL);

-- Retention x batch jobs: a closed job goes when its namespace's runs would -
SELECT durable.register_namespace('seam-bj', '1 day');
SELECT durable.register_namespace('seam-keep', '0');
SELECT durable.start_workflow('seam-b' || i, 'W', 'seam-bq', '{}', '{}', 'seam-bj') FROM generate_series(1, 3) i;
SELECT durable.start_workflow('seam-k1', 'W', 'seam-bq', '{}', '{}', 'seam-keep');
SELECT is(durable.start_batch_job('t', 'terminate', '', '{}', 1000, 'seam-bj'), 3::bigint, 'a job over three runs');
SELECT is(durable.start_batch_job('t', 'terminate', '', '{}', 1000, 'seam-keep'), 1::bigint,
          'and one in a namespace that keeps everything');
SELECT durable.skip_time('1 second'), durable._batch_step(10) FROM generate_series(1, 4);
SELECT is((SELECT array_agg(state ORDER BY namespace) FROM durable.batch_jobs WHERE job_id = 't'
            AND namespace IN ('seam-bj', 'seam-keep')), ARRAY['COMPLETED', 'COMPLETED'], 'both jobs completed');
SELECT durable._purge_closed(2);
SELECT is((SELECT count(*) FROM durable.batch_job_items WHERE namespace = 'seam-bj'), 3::bigint,
          'the purge keeps a job closed for less than the retention');
SELECT durable.skip_time('25 hours');
SELECT durable._purge_closed(2);
SELECT is((SELECT count(*) FROM durable.batch_job_items WHERE namespace = 'seam-bj'), 1::bigint,
          'past the retention its items go, at most a purge batch at a time');
SELECT is(durable.describe_batch_job('t', 'seam-bj') ->> 'state', 'COMPLETED', 'the job stays while it has items');
SELECT durable._purge_closed(2);
SELECT is((SELECT count(*) FROM durable.batch_jobs WHERE namespace = 'seam-bj'), 0::bigint,
          'then the job goes (its runs went with the same retention)');
SELECT is((SELECT count(*) FROM durable.batch_job_items WHERE namespace = 'seam-bj'), 0::bigint, 'with all its items');
SELECT is(durable.start_batch_job('t', 'cancel', '', '{}', 1000, 'seam-bj'), 0::bigint, 'and its id can be used again');
SELECT is((SELECT count(*) FROM durable.batch_job_items WHERE namespace = 'seam-keep'), 1::bigint,
          'a namespace with retention 0 keeps its jobs');

-- Reset x workflow retry: the reset run keeps the retry policy -------------
SELECT durable.start_workflow('seam-rr', 'W', 'seam-rrq', '{}',
                              '{"retry_policy": {"initial_interval": 1, "maximum_attempts": 3}}');
SELECT pg_temp.complete('seam-rrq', '[]');
SELECT durable.reset_workflow('seam-rr', pg_temp.event_id('seam-rr', 'WorkflowTaskCompleted'), 'redo');
SELECT is(durable.describe_workflow('seam-rr') -> 'retry_policy' -> 'maximum_attempts', '3'::jsonb,
          'the reset run keeps the retry policy it was started with');
SELECT is((durable.describe_workflow('seam-rr') ->> 'attempt')::int, 1, 'and its attempt');
SELECT pg_temp.complete('seam-rrq', '[{"type": "FailWorkflowExecution", "failure": {"message": "boom"}}]');
SELECT is(pg_temp.event('seam-rr', 'WorkflowExecutionStarted') ->> 'attempt', '2',
          'so when it fails it is retried (attempt 2), as the run before the reset would have been');
SELECT is((SELECT count(*) FROM durable.list_runs('seam-rr') WHERE status = 'RUNNING'), 1::bigint, 'one run runs');

-- Reset x pause: the new run of a paused run is not paused (as documented)
SELECT durable.start_workflow('seam-rp', 'W', 'seam-rpq');
SELECT pg_temp.complete('seam-rpq', '[]');
SELECT durable.pause_workflow('seam-rp', 'look first');
SELECT durable.reset_workflow('seam-rp', pg_temp.event_id('seam-rp', 'WorkflowTaskCompleted'), 'redo');
SELECT is(durable.describe_workflow('seam-rp') -> 'paused', 'null'::jsonb, 'the reset run of a paused run is not paused');
SELECT is((SELECT count(*) FROM durable.workflow_pauses p JOIN durable.workflows w USING (run_id)
            WHERE w.workflow_id = 'seam-rp'), 0::bigint, 'and no pause row is left behind');
SELECT lives_ok($$SELECT pg_temp.complete('seam-rpq', '[]')$$, 'its workflow task is handed out');

-- skip_time(namespace) x schedules -------------------------------------------
-- A namespace's clock runs ahead by its offset; deadlines are kept in the
-- server's time. A schedule's calendar (cron, intervals) must be read in the
-- namespace's time, then kept in the server's.
SELECT durable.register_namespace('seam-sk');
SELECT durable.register_namespace('seam-plain');
SELECT durable.skip_time('seam-sk', '10 days');
SELECT durable.create_schedule('monthly', '{"cron": ["0 0 1 * *"]}', '{"workflow_type": "W", "task_queue": "seam-skq"}',
                               '{}', ns) FROM unnest(ARRAY['seam-sk', 'seam-plain']) ns;
-- the day of the month, by the namespace's clock, the schedule next fires on
CREATE FUNCTION pg_temp.next_day(ns text) RETURNS int LANGUAGE sql AS $$
    SELECT extract(day FROM (s.next_run_at + durable.clock_offset(ns)) AT TIME ZONE 'UTC')::int
      FROM durable.schedules s WHERE s.namespace = ns AND s.schedule_id = 'monthly'
$$;
SELECT is(pg_temp.next_day('seam-plain'), 1, 'a monthly schedule fires on the 1st');
SELECT is(pg_temp.next_day('seam-sk'), 1,
          'a monthly schedule in a namespace whose clock was skipped fires on the 1st by that clock (create_schedule)');
SELECT is(extract(day FROM ((durable.describe_schedule('monthly', 'seam-sk') #>> '{upcoming,1}')::timestamptz
                         + durable.clock_offset('seam-sk')) AT TIME ZONE 'UTC')::int, 1,
          'and so is each of the upcoming times describe_schedule gives');
SELECT durable.pause_schedule('monthly', NULL, 'seam-sk');
SELECT durable.skip_time('seam-sk', '3 days');
SELECT durable.unpause_schedule('monthly', NULL, 'seam-sk');
SELECT is(pg_temp.next_day('seam-sk'), 1, 'unpause_schedule reads the calendar by the namespace''s clock');
SELECT durable.update_schedule('monthly', '{"cron": ["0 0 2 * *"]}', NULL, NULL, 'seam-sk');
SELECT is(pg_temp.next_day('seam-sk'), 2, 'so does update_schedule');
SELECT durable.update_schedule('monthly', '{"cron": ["0 0 1 * *"]}', NULL, NULL, 'seam-sk');
-- fire it: skip the namespace to its due time, as a test harness would
SELECT durable.skip_time('seam-sk', (SELECT s.next_run_at - durable.now() FROM durable.schedules s
                                      WHERE s.namespace = 'seam-sk' AND s.schedule_id = 'monthly'));
SELECT cmp_ok(durable._fire_schedules(durable.now(), 100), '>=', 1, 'the schedule falls due by the namespace''s clock');
SELECT is((SELECT actions_taken FROM durable.schedules WHERE namespace = 'seam-sk' AND schedule_id = 'monthly'),
          1::bigint, 'and acts');
SELECT is(pg_temp.next_day('seam-sk'), 1, 'its next time after firing is the 1st again, by the namespace''s clock');
CREATE TEMP TABLE seam_fired AS
    SELECT sc.last_workflow_id, (w.search_attributes ->> 'DurableScheduledStartTime')::timestamptz AS scheduled_at
      FROM durable.schedules sc JOIN durable.workflows w ON w.run_id = sc.last_run_id
     WHERE sc.namespace = 'seam-sk' AND sc.schedule_id = 'monthly';
SELECT is((SELECT to_char(scheduled_at AT TIME ZONE 'UTC', 'DD HH24:MI') FROM seam_fired), '01 00:00',
          'the run it started was scheduled for midnight on the 1st, by the namespace''s clock');
SELECT is((SELECT last_workflow_id FROM seam_fired), (SELECT 'monthly' || durable._schedule_id_suffix(scheduled_at) FROM seam_fired),
          'and is named for that time');
SELECT is(pg_temp.next_day('seam-plain'), 1, 'and the other namespace''s schedule never moved off the 1st');

-- Schedules x request ids: a request id in the action's start options is not
-- stamped on the runs the schedule starts (each is a start of its own, and
-- a stamped id would make a client's retry of another start look like one)
SELECT durable.create_schedule('seam-rid', '{"interval": [{"every": 3600}]}',
    '{"workflow_type": "W", "task_queue": "seam-ridq", "options": {"request_id": "r-1"}}');
SELECT is(durable.trigger_schedule('seam-rid', 'ALLOW_ALL'), 'STARTED', 'a schedule with a request id in its action acts');
SELECT is((SELECT request_id FROM durable.workflows
            WHERE run_id = (SELECT last_run_id FROM durable.schedules WHERE schedule_id = 'seam-rid')), NULL,
          'its run carries no request id');
SELECT is((SELECT h.attributes ? 'request_id' FROM durable.history h
            WHERE h.run_id = (SELECT last_run_id FROM durable.schedules WHERE schedule_id = 'seam-rid')
              AND h.event_type = 'WorkflowExecutionStarted'), false, 'nor does its started event');

-- skip_time(namespace) x retention and batch jobs ---------------------------
-- A run's closed_at is written in its namespace's time, so its age is read by
-- that clock too: a namespace skipped past its retention loses its closed runs
-- and closed batch jobs, as after a skip of the server's clock, while another
-- namespace with the same retention keeps its own. A job's pace is a rate
-- limit on the server: a skip does not hurry it.
SELECT durable.register_namespace(ns, '1 day') FROM unnest(ARRAY['seam-rs', 'seam-rk']) ns;
SELECT durable.skip_time('seam-rs', '1 hour');   -- its clock and the server's differ from here on
SELECT durable.start_workflow('seam-x' || i, 'W', 'seam-xq', '{}', '{}', ns)
  FROM unnest(ARRAY['seam-rs', 'seam-rk']) ns, generate_series(1, 3) i;
SELECT durable.start_batch_job('end', 'terminate', 'WorkflowId = ''seam-x1''', '{}', 1000, ns)
  FROM unnest(ARRAY['seam-rs', 'seam-rk']) ns;
SELECT durable._batch_step(10) FROM generate_series(1, 2);
SELECT is((SELECT array_agg(state ORDER BY namespace) FROM durable.batch_jobs
            WHERE job_id = 'end' AND namespace IN ('seam-rs', 'seam-rk')), ARRAY['COMPLETED', 'COMPLETED'],
          'a job in each namespace closed its run');
SELECT cmp_ok((durable.describe_batch_job('end', 'seam-rs') ->> 'closed_at')::timestamptz,
              '>', durable.now('seam-rs') - interval '10 minutes',
              'a job''s close is written in its namespace''s time (an hour ahead of the server''s)');
SELECT is(durable.start_batch_job('slow', 'signal', 'WorkflowId IN (''seam-x2'', ''seam-x3'')',
                                  '{"signal_name": "poke"}', 0.001, 'seam-rs'), 2::bigint, 'a slow job over two runs');
SELECT durable._batch_step(10) FROM generate_series(1, 2);
SELECT is((durable.describe_batch_job('slow', 'seam-rs') ->> 'done')::int, 1, 'takes its first run');
SELECT durable.skip_time('seam-rs', '2 days');
SELECT is((durable.describe_namespace('seam-rs') ->> 'purge_backlog')::int, 1,
          'describe_namespace counts the run closed two days ago by the namespace''s clock');
SELECT is((durable.describe_namespace('seam-rk') ->> 'purge_backlog')::int, 0, 'and none in the other namespace');
SELECT durable._batch_step(10);
SELECT is((durable.describe_batch_job('slow', 'seam-rs') ->> 'done')::int, 1,
          'the slow job did not hurry: its pace is the server''s time');
SELECT durable._purge_closed(100);
SELECT is((SELECT array_agg(namespace) FROM durable.workflows WHERE workflow_id = 'seam-x1'), ARRAY['seam-rk'],
          'the purge takes the run closed past the retention by its namespace''s clock, and only that one');
SELECT is((SELECT array_agg(namespace) FROM durable.batch_jobs WHERE job_id = 'end'), ARRAY['seam-rk'],
          'and the closed job, with its items');
SELECT is((SELECT count(*) FROM durable.batch_job_items WHERE namespace = 'seam-rs' AND job_id = 'end'), 0::bigint,
          'its items went');
SELECT is((SELECT count(*) FROM durable.workflows WHERE namespace = 'seam-rs' AND status = 'RUNNING'), 2::bigint,
          'running runs stay');

SELECT * FROM finish();
ROLLBACK;
