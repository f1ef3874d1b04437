-- What \df+ and \dd show for each public function that is defined without a
-- comment next to it (the others are commented where they are defined).
-- One line each, pointing at the contract; docs/sql-api.md has the details.
-- tests/pgtap/80_comments.sql fails when a public function has none.

-- Clients (durable_operator)
COMMENT ON FUNCTION durable.start_workflow(text, text, text, jsonb, jsonb, text) IS
    'Starts a run of workflow_type on task_queue (WorkflowExecutionStarted, then its first workflow task) and returns its run id; options carry timeouts, retry policy, id reuse/conflict policies, memo, search attributes, priority and start delay.';
COMMENT ON FUNCTION durable.signal_with_start(text, text, text, text, jsonb, jsonb, jsonb, text) IS
    'Signals the running run of workflow_id, or starts one with the signal as its first event when none runs; returns the run id.';
COMMENT ON FUNCTION durable.signal_workflow(text, text, jsonb, uuid, text, text) IS
    'Appends WorkflowExecutionSignaled to a running run (buffered while a workflow task runs) and schedules a workflow task.';
COMMENT ON FUNCTION durable.cancel_workflow(text, text, uuid, text, text) IS
    'Requests cooperative cancellation (WorkflowExecutionCancelRequested); the workflow decides how to finish. Returns false when a cancellation was already requested.';
COMMENT ON FUNCTION durable.terminate_workflow(text, text, jsonb, uuid, text, text) IS
    'Closes a running run at once as TERMINATED; its workflow task, activities, timers and buffered events are dropped.';
COMMENT ON FUNCTION durable.query_workflow(text, text, jsonb, uuid, integer, text) IS
    'Asks a worker of the run''s task queue to replay the workflow and answer query_type; waits up to timeout_ms for the answer.';
COMMENT ON FUNCTION durable.describe_workflow(text, uuid, text) IS
    'One JSON object describing a run: status, times, options, memo and search attributes, and its pending workflow task, activities, timers and children.';
COMMENT ON FUNCTION durable.get_history(text, uuid, bigint, integer, text) IS
    'A run''s events after after_event_id, in order, at most max_events (all when NULL); event ids start at 1 with no gaps.';
COMMENT ON FUNCTION durable.list_workflows(text, text, text, timestamptz, timestamptz, jsonb, text, integer, text, text, uuid) IS
    'Runs of a namespace, filtered by status, type, queue, start time, search attributes or a list filter query, paged by (workflow_id, run_id).';
COMMENT ON FUNCTION durable.list_task_queues(text) IS
    'Each task queue with tasks or recent pollers: workflow and activity backlog, activities running, and its pollers.';
COMMENT ON FUNCTION durable.reset_workflow(text, bigint, text, uuid, text, text) IS
    'Starts a new run from an earlier point of a run: its history up to the workflow task that event_id ends, then WorkflowTaskFailed (RESET_WORKFLOW) and a new workflow task; a running old run is terminated. Returns the new run id.';
COMMENT ON FUNCTION durable.list_runs(text, text) IS
    'Every run of one workflow id, oldest first (continue-as-new chains, reruns, resets), with the links between them.';
COMMENT ON FUNCTION durable.count_workflows(text, text) IS
    'The latest run of each workflow id counted by status (a full scan, for metrics scrapes), or the runs a list filter query matches.';
COMMENT ON FUNCTION durable.list_activity_tasks(text, text, integer, bigint) IS
    'The activity tasks of a task queue in task order, paged by task id, without their tokens.';
COMMENT ON FUNCTION durable.unwatch_history() IS
    'Stops the notifications durable.watch_history started for this session.';

-- Schedules (durable_operator)
COMMENT ON FUNCTION durable.create_schedule(text, jsonb, jsonb, jsonb, text) IS
    'Creates a schedule that starts a workflow on cron or interval specs (spec), with the action to start and its overlap, catch-up and pause policies.';
COMMENT ON FUNCTION durable.delete_schedule(text, text) IS
    'Deletes a schedule; the workflows it started keep running.';
COMMENT ON FUNCTION durable.pause_schedule(text, text, text) IS
    'Pauses a schedule: it takes no action until unpaused; note is kept for describe_schedule.';
COMMENT ON FUNCTION durable.unpause_schedule(text, text, text) IS
    'Resumes a paused schedule from now (missed times are not taken: use backfill_schedule); returns the next action time.';
COMMENT ON FUNCTION durable.trigger_schedule(text, text, text) IS
    'Takes the schedule''s action now under the given overlap policy (the schedule''s own when NULL); returns STARTED, SKIPPED, BUFFERED or EXHAUSTED.';
COMMENT ON FUNCTION durable.backfill_schedule(text, timestamptz, timestamptz, text, text) IS
    'Takes the actions of the times the spec matches in [start_at, end_at) as if on time (at most 10,000) under the given overlap policy; returns how many started.';
COMMENT ON FUNCTION durable.describe_schedule(text, text) IS
    'One JSON object describing a schedule: spec, action, policies, next action times, buffered starts, counters, recent actions, and why its last firing failed if it did.';
COMMENT ON FUNCTION durable.list_schedules(text) IS
    'The schedules of a namespace: paused or not, next action time, workflow type, last workflow started and actions taken.';

-- Workers (durable_worker)
COMMENT ON FUNCTION durable.task_queue_channel(text, text, text) IS
    'The NOTIFY channel on which a queue''s workflow or activity tasks are announced (LISTEN to it instead of polling in a loop).';
COMMENT ON FUNCTION durable.poll_workflow_tasks(text, text, integer, jsonb, text, text, text) IS
    'Leases up to max_tasks ready workflow tasks of a queue (WorkflowTaskStarted); each comes with its history, or only the new events for runs the worker says it has cached, or, for a worker that names itself in sticky, for runs whose last history it was sent (api/82_sticky.sql).';
COMMENT ON FUNCTION durable.complete_workflow_task(text, jsonb, text) IS
    'Ends a leased workflow task with the workflow''s commands, in one transaction: WorkflowTaskCompleted, then each command''s events, tasks and timers.';
COMMENT ON FUNCTION durable.complete_workflow_tasks(jsonb, text) IS
    'Many workflow task outcomes (commands or failures) in one transaction, each on its own: one row per item with its outcome or error.';
COMMENT ON FUNCTION durable.fail_workflow_task(text, text, jsonb, text) IS
    'The worker could not produce commands: appends WorkflowTaskFailed and retries the workflow task after a backoff.';
COMMENT ON FUNCTION durable.poll_activity_tasks(text, text, integer, text) IS
    'Leases up to max_tasks ready activity tasks of a queue, in priority and fairness order, within the queue''s flow limits; the attempt''s timeouts start now.';
COMMENT ON FUNCTION durable.complete_activity_task(text, jsonb, text) IS
    'Ends a leased activity attempt with its result (ActivityTaskStarted, ActivityTaskCompleted) and schedules a workflow task.';
COMMENT ON FUNCTION durable.fail_activity_task(text, jsonb, text) IS
    'Reports a failed activity attempt; the retry policy decides between a retry after a backoff and ActivityTaskFailed. Returns which happened.';
COMMENT ON FUNCTION durable.cancel_activity_task(text, jsonb, text) IS
    'The worker stopped an activity whose cancellation was requested: appends ActivityTaskStarted and ActivityTaskCanceled.';
COMMENT ON FUNCTION durable.heartbeat_activity_task(text, jsonb) IS
    'Records an activity''s progress and pushes its heartbeat deadline; returns true when the workflow asked to cancel it.';
COMMENT ON FUNCTION durable.complete_activity_tasks(jsonb, text) IS
    'Many activity outcomes (results, failures, cancellations) in one transaction, each on its own: one row per item with its outcome or error.';
COMMENT ON FUNCTION durable.poll_query_tasks(text, text, integer, integer, text, text) IS
    'Leases queries waiting on a queue (waiting up to wait_ms), each with the history to replay to answer it.';
COMMENT ON FUNCTION durable.answer_query_task(text, jsonb, text) IS
    'Hands a query''s answer (or, with error, its failure) to the waiting query_workflow caller.';

-- Time and the timer worker (durable_admin)
COMMENT ON FUNCTION durable.clock_offset() IS
    'How far durable.skip_time has moved the clock, as this transaction sees it.';
COMMENT ON FUNCTION durable.fire_due(integer) IS
    'Fires up to max_items due deadlines (timers, retries, timeouts, schedules, delayed starts) in one transaction; returns how many it handled. The timer worker does the same at each tick.';
COMMENT ON FUNCTION durable.next_due() IS
    'The earliest pending deadline of any kind, or NULL.';
