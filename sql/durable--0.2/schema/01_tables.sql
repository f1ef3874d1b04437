-- Tables. Every deadline lives in the row it belongs to (timers.fire_at,
-- activity_tasks.timeout_at, workflow_tasks.timeout_at, workflows.deadline_at),
-- each behind a small index, so the timer worker finds the next one with four
-- index probes and no separate timer rows have to be written and deleted.

CREATE TABLE durable.workflows (
    run_id                    uuid PRIMARY KEY,
    namespace                 text NOT NULL,
    workflow_id               text NOT NULL,
    workflow_type             text NOT NULL,
    task_queue                text NOT NULL,
    status                    text NOT NULL DEFAULT 'RUNNING'
        CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED', 'CANCELED',
                          'TERMINATED', 'TIMED_OUT', 'CONTINUED_AS_NEW')),
    input                     jsonb,
    result                    jsonb,
    failure                   jsonb,
    memo                      jsonb NOT NULL DEFAULT '{}',
    search_attributes         jsonb NOT NULL DEFAULT '{}',
    first_run_id              uuid NOT NULL,
    continued_from_run_id     uuid,
    new_run_id                uuid,
    parent_run_id             uuid,
    parent_workflow_id        text,
    parent_initiated_event_id bigint,
    parent_close_policy       text NOT NULL DEFAULT 'TERMINATE'
        CHECK (parent_close_policy IN ('TERMINATE', 'ABANDON', 'REQUEST_CANCEL')),
    execution_started_at      timestamptz NOT NULL,
    started_at                timestamptz NOT NULL,
    closed_at                 timestamptz,
    execution_timeout         interval,
    run_timeout               interval,
    task_timeout              interval NOT NULL DEFAULT '10 seconds',
    deadline_at               timestamptz,
    cancel_requested          boolean NOT NULL DEFAULT false,
    -- start options (sql/durable--0.1--0.2/50_start_options.sql)
    request_id                text,
    start_delay               interval,
    -- priority 1 (first) to 5 and fairness key and weight (api/41_priority.sql),
    -- which the run's workflow tasks take and its activities and children inherit
    priority                  smallint NOT NULL DEFAULT 3,
    fairness_key              text NOT NULL DEFAULT '',
    fairness_weight           float8 NOT NULL DEFAULT 1,
    -- the worker build the run is on (schema/60_build_ids.sql): the build
    -- of the worker that completed its first workflow task, or under an
    -- AUTO_UPGRADE rule the latest; NULL until then or for unversioned workers
    build_id                  text,
    -- workflow retry (api/16_workflow_retry.sql): this run's attempt, and the
    -- policy (null: no retry)
    attempt                   integer NOT NULL DEFAULT 1,
    retry_policy              jsonb
) WITH (fillfactor = 80);
-- Room on each page for a run's close (a new version of its row, since the
-- close changes indexed columns): on the same page it is a smaller update
-- record (issue 15, docs/performance.md "History rows packed").
-- At most one open run per workflow id: this index is the id reuse guard.
CREATE UNIQUE INDEX workflows_one_open_run ON durable.workflows (namespace, workflow_id)
    WHERE status = 'RUNNING';
CREATE INDEX workflows_by_id ON durable.workflows (namespace, workflow_id, started_at DESC);
CREATE INDEX workflows_deadline ON durable.workflows (deadline_at)
    WHERE status = 'RUNNING' AND deadline_at IS NOT NULL;
CREATE INDEX workflows_children ON durable.workflows (parent_run_id)
    WHERE parent_run_id IS NOT NULL;
-- Partial: most runs hold no search attributes, and a GIN entry for '{}'
-- costs ~170 bytes of WAL at the start and again at the close. Every query
-- that wants this index states the predicate (a non-empty @> or a ? implies it).
CREATE INDEX workflows_search_attributes ON durable.workflows USING gin (search_attributes)
    WHERE search_attributes <> '{}';

-- A run's history as stored: the event type as a code and the attributes
-- packed (pgext/src/history_pack.c), which halves what an event writes.
-- Everything reads the view durable.history (api/01_history.sql), which
-- shows each event exactly as it was written.
CREATE TABLE durable.history_rows (
    run_id             uuid NOT NULL,
    event_id           bigint NOT NULL,
    event_code         smallint NOT NULL,
    event_time         timestamptz NOT NULL,
    attributes_packed  jsonb NOT NULL DEFAULT '{}',
    CONSTRAINT history_pkey PRIMARY KEY (run_id, event_id)
);

-- Events that arrive while a workflow task is started wait here, and join the
-- history after that task's outcome, as in Temporal: a worker never sees the
-- history change under the task it is running.
CREATE TABLE durable.buffered_events (
    seq         bigserial PRIMARY KEY,
    run_id      uuid NOT NULL,
    event_type  text NOT NULL,
    event_time  timestamptz NOT NULL,
    attributes  jsonb NOT NULL
);
CREATE INDEX buffered_events_run ON durable.buffered_events (run_id, seq);

-- At most one workflow task per run (unique run_id): this is what makes
-- "the next workflow task is scheduled exactly once" hold.
CREATE TABLE durable.workflow_tasks (
    task_id             bigserial PRIMARY KEY,
    run_id              uuid NOT NULL UNIQUE,
    namespace           text NOT NULL,
    task_queue          text NOT NULL,
    -- PAUSED: its run is paused (schema/41_pause.sql); never leased
    state               text NOT NULL CHECK (state IN ('SCHEDULED', 'STARTED', 'BACKOFF', 'PAUSED')),
    attempt             integer NOT NULL DEFAULT 1,
    scheduled_event_id  bigint,
    started_event_id    bigint,
    fence               bigint NOT NULL DEFAULT 0,
    identity            text,
    scheduled_at        timestamptz NOT NULL,
    started_at          timestamptz,
    timeout_at          timestamptz,
    -- the last failure or timeout of a retried task, whose retries the
    -- history does not record (only the first one)
    last_failure        jsonb,
    -- the run's priority and fairness key, and the task's virtual time
    -- within them (api/41_priority.sql): polls take the lowest first; -1
    -- until placed
    priority            smallint NOT NULL DEFAULT 3,
    fairness_key        text NOT NULL DEFAULT '',
    pass                float8 NOT NULL DEFAULT -1,
    -- the build id of the worker that leased the task (poll_workflow_tasks)
    build_id            text
) WITH (fillfactor = 50);   -- see below
CREATE INDEX workflow_tasks_ready ON durable.workflow_tasks (namespace, task_queue, priority, pass, task_id)
    WHERE state = 'SCHEDULED';
CREATE INDEX workflow_tasks_ready_by_key ON durable.workflow_tasks (namespace, task_queue, fairness_key, priority, pass)
    WHERE state = 'SCHEDULED';
CREATE INDEX workflow_tasks_deadline ON durable.workflow_tasks (timeout_at)
    WHERE timeout_at IS NOT NULL;

CREATE TABLE durable.activity_tasks (
    task_id                   bigserial PRIMARY KEY,
    run_id                    uuid NOT NULL,
    namespace                 text NOT NULL,
    workflow_id               text NOT NULL,
    scheduled_event_id        bigint NOT NULL,
    activity_id               text NOT NULL,
    activity_type             text NOT NULL,
    task_queue                text NOT NULL,
    input                     jsonb,
    -- PAUSED: it or its run is paused (schema/41_pause.sql); never leased
    state                     text NOT NULL CHECK (state IN ('SCHEDULED', 'STARTED', 'BACKOFF', 'PAUSED')),
    attempt                   integer NOT NULL DEFAULT 1,
    fence                     bigint NOT NULL DEFAULT 0,
    identity                  text,
    scheduled_at              timestamptz NOT NULL,
    attempt_scheduled_at      timestamptz NOT NULL,
    started_at                timestamptz,
    last_heartbeat_at         timestamptz,
    heartbeat_details         jsonb,
    schedule_to_close_timeout interval,
    schedule_to_start_timeout interval,
    start_to_close_timeout    interval NOT NULL,
    heartbeat_timeout         interval,
    retry_initial_interval    interval NOT NULL,
    retry_backoff_coefficient float8 NOT NULL,
    retry_maximum_interval    interval NOT NULL,
    retry_maximum_attempts    integer NOT NULL,
    non_retryable_error_types text[] NOT NULL DEFAULT '{}',
    timeout_at                timestamptz,
    last_failure              jsonb,
    cancel_requested          boolean NOT NULL DEFAULT false,
    UNIQUE (run_id, scheduled_event_id),
    -- who the task is for (a tenant, a customer), for per-key limits
    -- (schema/40_flow.sql); '' when the workflow set none
    fairness_key              text NOT NULL DEFAULT '',
    -- priority, fairness weight and virtual time, as on workflow_tasks
    priority                  smallint NOT NULL DEFAULT 3,
    fairness_weight           float8 NOT NULL DEFAULT 1,
    pass                      float8 NOT NULL DEFAULT -1
) WITH (fillfactor = 50);
-- Both task tables are queues: a row is inserted, updated by its lease and
-- deleted, and the table holds only the backlog. Pages filled only half by
-- inserts keep room for the lease's new row version on its own page, which
-- the WAL then records as the changed middle of the row only, with no
-- Heap/LOCK of the old version (issue 15, docs/performance.md).
CREATE INDEX activity_tasks_ready ON durable.activity_tasks (namespace, task_queue, priority, pass, task_id)
    WHERE state = 'SCHEDULED';
CREATE INDEX activity_tasks_deadline ON durable.activity_tasks (timeout_at)
    WHERE timeout_at IS NOT NULL;

CREATE TABLE durable.timers (
    run_id            uuid NOT NULL,
    timer_id          text NOT NULL,
    started_event_id  bigint NOT NULL,
    fire_at           timestamptz NOT NULL,
    PRIMARY KEY (run_id, timer_id)
);
CREATE INDEX timers_due ON durable.timers (fire_at);

-- Schedules (see 11_schedules.sql).
CREATE TABLE durable.schedules (
    namespace         text NOT NULL,
    schedule_id       text NOT NULL,
    spec              jsonb NOT NULL,
    action            jsonb NOT NULL,
    overlap_policy    text NOT NULL DEFAULT 'SKIP'
        CHECK (overlap_policy IN ('SKIP', 'BUFFER_ONE', 'BUFFER_ALL', 'CANCEL_OTHER',
                                  'TERMINATE_OTHER', 'ALLOW_ALL')),
    catchup_window    interval NOT NULL DEFAULT '365 days',
    paused            boolean NOT NULL DEFAULT false,
    note              text,
    remaining_actions integer,
    next_run_at       timestamptz,
    last_workflow_id  text,
    last_run_id       uuid,
    buffered          integer NOT NULL DEFAULT 0,
    actions_taken     bigint NOT NULL DEFAULT 0,
    actions_skipped   bigint NOT NULL DEFAULT 0,
    recent_actions    jsonb NOT NULL DEFAULT '[]',
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (namespace, schedule_id)
);
CREATE INDEX schedules_due ON durable.schedules (next_run_at)
    WHERE NOT paused AND next_run_at IS NOT NULL;

-- Who polled which queue recently (visibility only; written at most once a
-- second per poller so idle polling does not churn the table).
CREATE TABLE durable.task_queue_pollers (
    namespace     text NOT NULL,
    task_queue    text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('workflow', 'activity')),
    identity      text NOT NULL,
    last_poll_at  timestamptz NOT NULL,
    PRIMARY KEY (namespace, task_queue, kind, identity)
);
