-- Workflow tasks: lease, complete with commands, fail.

CREATE OR REPLACE FUNCTION durable._record_poller(namespace text, task_queue text, kind text, identity text)
RETURNS void LANGUAGE plpgsql AS $$
#variable_conflict use_variable
BEGIN
    IF NOT EXISTS (SELECT 1 FROM durable.task_queue_pollers p
                    WHERE p.namespace = _record_poller.namespace AND p.task_queue = _record_poller.task_queue
                      AND p.kind = _record_poller.kind AND p.identity = _record_poller.identity
                      AND p.last_poll_at > durable.now() - interval '1 second') THEN
        INSERT INTO durable.task_queue_pollers AS p (namespace, task_queue, kind, identity, last_poll_at)
        VALUES (namespace, task_queue, kind, identity, durable.now())
        ON CONFLICT ON CONSTRAINT task_queue_pollers_pkey DO UPDATE SET last_poll_at = EXCLUDED.last_poll_at;
        -- A poller silent for a minute is gone (workers poll at least every
        -- few seconds; list_task_queues hides it): the next poller of its
        -- queue forgets it. This write happens at most once a second per
        -- poller, and the delete reads one queue's rows by the primary key.
        DELETE FROM durable.task_queue_pollers p
         WHERE p.namespace = _record_poller.namespace AND p.task_queue = _record_poller.task_queue
           AND p.last_poll_at < durable.now() - interval '1 minute';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION durable._check_poll_args(task_queue text, identity text, max_tasks integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF coalesce(task_queue, '') = '' OR coalesce(identity, '') = '' THEN
        PERFORM durable._bad_input('task_queue and identity must be non-empty',
            NULL, 'The identity names the worker in the history, e.g. host:pid.');
    END IF;
    IF max_tasks IS NULL OR max_tasks < 1 OR max_tasks > 1000 THEN
        PERFORM durable._bad_input('max_tasks must be between 1 and 1000', format('Got %s.', max_tasks));
    END IF;
    PERFORM durable._check_name(task_queue, 'task_queue');
    PERFORM durable._check_name(identity, 'identity');
END
$$;

-- The events of a run after from_event, as the JSON array a worker replays
-- (pgext/src/history_json.c).
CREATE OR REPLACE FUNCTION durable._history_json(run uuid, from_event bigint) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'durable_history_json' LANGUAGE C STABLE;

-- The worker's cache: {"<run_id>": <last event id it holds>, ...}.
CREATE OR REPLACE FUNCTION durable._check_cached(cached jsonb) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF cached IS NULL OR jsonb_typeof(cached) = 'null' THEN
        RETURN;
    END IF;
    IF jsonb_typeof(cached) <> 'object'
       OR EXISTS (SELECT 1 FROM jsonb_each(cached) e
                   WHERE jsonb_typeof(e.value) <> 'number' OR (e.value #>> '{}')::numeric < 0
                      OR (e.value #>> '{}')::numeric <> trunc((e.value #>> '{}')::numeric)
                      OR (e.value #>> '{}')::numeric > 9223372036854775807) THEN
        PERFORM durable._bad_input('cached must map run ids to the last event id the worker holds',
            format('Got %s.', left(cached::text, 200)), 'Pass e.g. ''{"<run_id>": 42}'', or NULL.');
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION durable.poll_workflow_tasks(
    task_queue text, identity text, max_tasks integer DEFAULT 1,
    cached jsonb DEFAULT NULL, namespace text DEFAULT 'default', build_id text DEFAULT NULL,
    sticky text DEFAULT NULL)
RETURNS TABLE (task_token text, workflow_id text, run_id uuid, workflow_type text,
               attempt integer, started_event_id bigint, history jsonb)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    now timestamptz := durable.now();
    rule_mode text;
    rule_build text;
    leased integer := 0;
    picked bigint[];   -- a scan's tasks, their runs locked
    n integer;
    called text;   -- a helper called as an expression returns into it (sql/README.md, "Calls")
BEGIN
    called := durable._check_poll_args($1, $2, $3)::text;
    called := durable._check_cached($4)::text;
    called := durable._check_build_id($6)::text;
    called := durable._check_name($7, 'sticky');
    called := durable._authorize('worker', $1, $5)::text;
    called := durable._record_poller($5, $1, 'workflow', $2)::text;
    -- a versioned queue's tasks go only to the build each run is on
    -- (api/60_build_ids.sql); without rules, to any worker
    SELECT r.mode, r.default_build_id INTO rule_mode, rule_build FROM durable._build_id_rules($5, $1) r;
    -- The batch is leased set-wise: a statement per step for all its tasks,
    -- not per task (docs/performance.md, "The polls and the start, session
    -- 9"). A task skipped below took a place of the LIMIT: the scan runs
    -- again, with a fresh snapshot (which shows those leased), for the
    -- places left.
    LOOP
        SELECT array_agg(s.task_id ORDER BY s.priority, s.pass, s.task_id) INTO picked FROM (
            SELECT wt.task_id, wt.priority, wt.pass
              FROM durable.workflow_tasks wt JOIN durable.workflows w ON w.run_id = wt.run_id
             WHERE wt.namespace = $5 AND wt.task_queue = $1 AND wt.state = 'SCHEDULED'
               AND (rule_mode IS NULL
                    OR $6 = CASE rule_mode WHEN 'PINNED' THEN coalesce(w.build_id, rule_build) ELSE rule_build END)
             ORDER BY wt.priority, wt.pass, wt.task_id   -- api/41_priority.sql
             LIMIT $3 - leased
               FOR UPDATE OF w SKIP LOCKED) s;
        EXIT WHEN picked IS NULL;
        -- Only the runs are locked (every lease holds its run; a lock on the
        -- task row too would cost WAL). A row seen may have been leased by a
        -- poll that committed before this one took its run: _lease_scan
        -- reads them again, now, each by its key, in the scan's order,
        -- appends each one's WorkflowTaskStarted (not for a transient attempt,
        -- see _reschedule_workflow_task, whose worker replays the history as
        -- it is), leases them and announces their deadline (in C,
        -- api/87_lease_update.sql). Then the events after those the worker
        -- names in cached, or else after those it was last sent if it names
        -- itself in sticky (api/82_sticky.sql).
        RETURN QUERY
        SELECT 'w' || c.task_id || '.' || (c.fence + 1), c.workflow_id, c.run_id, c.workflow_type, c.attempt,
               c.started_event_id, c.history
          FROM durable._lease_scan(picked, $2, $6, now, $4, $7) c;
        GET DIAGNOSTICS n = ROW_COUNT;
        leased := leased + n;
        EXIT WHEN n = cardinality(picked) OR leased >= $3;
    END LOOP;
END
$$;

-- Locks the run of a started workflow task by its token, and refuses a stale
-- or unknown token, or one of a task queue the caller may not work on
-- (checked before locking). The task row itself is read, not locked: its
-- lease, state and fence change only under its run's lock, and what others
-- write to it unlocked (a deadline moved) the caller's update or delete
-- waits for. A row lock would only cost WAL.
-- In C (pgext/src/workflow_complete.c), with complete_workflow_task: the
-- same steps (the token read, the row by its key, the caller's rights, the
-- run's lock, the row again, its fence and state), each helper called as
-- the plpgsql's expression called it.
CREATE OR REPLACE FUNCTION durable._lock_workflow_task(task_token text) RETURNS durable.workflow_tasks
    AS 'MODULE_PATHNAME', 'durable_lock_workflow_task' LANGUAGE C VOLATILE;

-- A transient attempt (attempt 2 and later, see _reschedule_workflow_task)
-- that completes gets its WorkflowTaskScheduled and WorkflowTaskStarted now,
-- before WorkflowTaskCompleted. They carry the time of the event before them:
-- the time the worker's replay saw as durable_now() for this task (it was
-- given no Started event), so that later replays see the same time.
CREATE OR REPLACE FUNCTION durable._record_transient_task(t durable.workflow_tasks) RETURNS durable.workflow_tasks
LANGUAGE plpgsql AS $$
DECLARE
    last record;
    task_timeout interval;
BEGIN
    SELECT h.event_id, h.event_time INTO last FROM durable.history h
     WHERE h.run_id = t.run_id ORDER BY h.event_id DESC LIMIT 1;
    SELECT w.task_timeout INTO task_timeout FROM durable.workflows w WHERE w.run_id = t.run_id;
    -- the stored form of durable.history (api/01_history.sql)
    INSERT INTO durable.history_rows (run_id, event_id, event_code, event_time, attributes_packed)
    SELECT e.r, e.i, durable._event_code(e.t), e.at, durable._event_pack(e.r, e.i, e.t, e.a) FROM (
    VALUES (t.run_id, last.event_id + 1, 'WorkflowTaskScheduled', last.event_time, jsonb_build_object(
                'task_queue', t.task_queue, 'start_to_close_timeout', durable._seconds(task_timeout),
                'attempt', t.attempt)),
           (t.run_id, last.event_id + 2, 'WorkflowTaskStarted', last.event_time, jsonb_build_object(
                'scheduled_event_id', last.event_id + 1, 'identity', t.identity, 'attempt', t.attempt)
                || durable._build_id_attrs(t.build_id))) AS e(r, i, t, at, a);
    PERFORM durable._history_changed(t.run_id);
    t.scheduled_event_id := last.event_id + 1;
    t.started_event_id := last.event_id + 2;
    RETURN t;
END
$$;

CREATE OR REPLACE FUNCTION durable._command_types() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['ScheduleActivityTask', 'RequestCancelActivityTask', 'StartTimer', 'CancelTimer',
                 'StartChildWorkflowExecution', 'SignalExternalWorkflowExecution',
                 'RequestCancelExternalWorkflowExecution', 'RecordMarker',
                 'UpsertWorkflowSearchAttributes', 'CompleteWorkflowUpdate', 'CompleteWorkflowExecution',
                 'FailWorkflowExecution', 'CancelWorkflowExecution', 'ContinueAsNewWorkflowExecution']
$$;

CREATE OR REPLACE FUNCTION durable._closing_command_types() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['CompleteWorkflowExecution', 'FailWorkflowExecution', 'CancelWorkflowExecution',
                 'ContinueAsNewWorkflowExecution']
$$;

-- The commands of a completion: a JSON array of objects, each with a
-- "type" of _command_types(), a closing one (_closing_command_types()) only
-- last. In C (pgext/src/workflow_complete.c), with complete_workflow_task.
CREATE OR REPLACE FUNCTION durable._check_commands(commands jsonb) RETURNS void
    AS 'MODULE_PATHNAME', 'durable_check_commands' LANGUAGE C IMMUTABLE;

-- Ends a leased workflow task with the workflow's commands: the commands
-- checked, the task locked and deleted, WorkflowTaskCompleted (or, when a
-- closing command would lose events that arrived meanwhile, WorkflowTaskFailed
-- and a new task), each command applied by its _cmd_* function, then the
-- events buffered meanwhile flushed, the next workflow task when a command
-- needs one, and a pause that came meanwhile. In C
-- (pgext/src/workflow_complete.c): as plpgsql, its own statements were the
-- largest cost of the workflow poller's backend after the poll
-- (docs/performance.md, "The workflow task's completion in C"); it calls the
-- same helpers, in the same order, each as the plpgsql's expression did.
-- pgTAP 93_workflow_complete.sql compares it with the plpgsql it replaced.
CREATE OR REPLACE FUNCTION durable.complete_workflow_task(task_token text, commands jsonb DEFAULT '[]', identity text DEFAULT NULL)
    RETURNS void AS 'MODULE_PATHNAME', 'durable_complete_workflow_task' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION durable.fail_workflow_task(task_token text, cause text DEFAULT 'WORKFLOW_WORKER_UNHANDLED_FAILURE',
                                           failure jsonb DEFAULT NULL, identity text DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t durable.workflow_tasks;
    retry_at timestamptz;
BEGIN
    IF cause IS NULL OR cause !~ '^[A-Z][A-Z_]*$' THEN
        PERFORM durable._bad_input('cause must be an upper-case identifier', format('Got %L.', cause),
            'Use e.g. NON_DETERMINISTIC_ERROR or WORKFLOW_WORKER_UNHANDLED_FAILURE.');
    END IF;
    IF failure IS NOT NULL AND jsonb_typeof(failure) <> 'object' THEN
        PERFORM durable._bad_input('failure must be a JSON object', format('Got %s.', failure::text),
            'Pass e.g. ''{"message": "...", "type": "..."}''.');
    END IF;
    PERFORM durable._check_payload(failure, 'failure');
    PERFORM durable._check_name(cause, 'cause');
    PERFORM durable._check_name(identity, 'identity');
    t := durable._lock_workflow_task(task_token);
    -- Only the first failure in a row is written (Temporal's rule): the
    -- retries are transient (_reschedule_workflow_task), and their failures
    -- are kept on the task, where describe_workflow shows them.
    IF t.scheduled_event_id IS NOT NULL THEN
        PERFORM durable._append(t.run_id, 'WorkflowTaskFailed', jsonb_build_object(
            'scheduled_event_id', t.scheduled_event_id, 'started_event_id', t.started_event_id,
            'cause', cause, 'failure', failure, 'identity', coalesce(identity, t.identity)));
    END IF;
    UPDATE durable.workflow_tasks wt
       SET last_failure = jsonb_build_object('attempt', t.attempt, 'at', durable.now(),
                                             'cause', fail_workflow_task.cause, 'failure', fail_workflow_task.failure,
                                             'identity', coalesce(fail_workflow_task.identity, t.identity))
     WHERE wt.task_id = t.task_id;
    PERFORM durable._flush_buffered(t.run_id);
    -- A failing workflow task usually fails again until new code is deployed:
    -- retry with backoff (1 s, 2 s, 4 s ... at most a minute).
    retry_at := durable.now() + least(interval '1 second' * power(2, least(t.attempt - 1, 10)), interval '1 minute');
    UPDATE durable.workflow_tasks wt
       SET state = 'BACKOFF', attempt = t.attempt + 1, scheduled_event_id = NULL,
           started_event_id = NULL, identity = NULL, started_at = NULL, timeout_at = retry_at
     WHERE wt.task_id = t.task_id;
    PERFORM durable._hold_if_paused(t.run_id);   -- 41_pause.sql
    PERFORM durable._wake_at(retry_at);
END
$$;

-- Many workflow task outcomes in one transaction, so that a worker commits
-- once per batch instead of once per task: [{"task_token": ..., "commands":
-- [...]} | {"task_token": ..., "cause": ..., "failure": {...}}]. Each item
-- is on its own: a lost lease or bad commands are reported in that item's
-- row (outcome LEASE_LOST, INVALID, or DENIED for a task of a queue the
-- caller may not work on, with the error) and change nothing, while the
-- other items go through.
--
-- The batch is first run whole in one subtransaction; only when an item
-- fails so is it undone and run again item by item, each in a
-- subtransaction of its own, as it always was. A subtransaction that writes
-- costs a transaction id, its pg_subtrans entry, its lock and its place in
-- the commit record; one per item was two per workflow of the C worker
-- (docs/performance.md, "The worker's calls in the server"), where nearly
-- every batch goes through whole. Keep batches at most 64 items: beyond
-- that, when an item fails, PostgreSQL's subtransaction cache overflows.
-- In C (pgext/src/workflow_batch.c): the plpgsql's loop cost each item a
-- few expressions, and a call of complete_workflow_task through SQL, whose
-- pinned search_path is set and restored around every call; the C calls
-- complete_workflow_task's C directly, within the batch's own settings.
CREATE OR REPLACE FUNCTION durable.complete_workflow_tasks(completions jsonb, identity text DEFAULT NULL)
RETURNS TABLE (task_token text, outcome text, error text)
    AS 'MODULE_PATHNAME', 'durable_complete_workflow_tasks' LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
