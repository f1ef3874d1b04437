-- Flow control (api/40_flow_limits.sql): limits on how many activity tasks of
-- a task queue are leased at once and how fast they start, for the queue and
-- for each fairness key in it. poll_activity_tasks enforces them, so every
-- worker obeys them; a queue without a row here is polled as before.
CREATE TABLE durable.task_queue_limits (
    namespace            text NOT NULL,
    task_queue           text NOT NULL,
    max_concurrent       integer,         -- NULL: no limit
    rate_per_second      float8,          -- NULL: no limit
    key_max_concurrent   integer,         -- the default for each fairness key
    key_rate_per_second  float8,
    -- the queue's token bucket: it holds at most one second of tokens (at
    -- least one), refilled at rate_per_second
    tokens               float8 NOT NULL DEFAULT 0,
    refilled_at          timestamptz,
    updated_at           timestamptz NOT NULL,
    -- when a token the queue's waiting tasks need comes due: the timer
    -- worker then notifies the queue, so idle workers poll again
    wake_at              timestamptz,
    PRIMARY KEY (namespace, task_queue)
);
CREATE INDEX task_queue_limits_wake ON durable.task_queue_limits (wake_at) WHERE wake_at IS NOT NULL;
SELECT pg_catalog.pg_extension_config_dump('durable.task_queue_limits', '');

-- One row per fairness key of a limited queue: its own limits, when an
-- operator set them (NULL: the queue's key_ default), and its token bucket
-- and last dispatch, kept for every key the poll has served.
CREATE TABLE durable.fairness_keys (
    namespace            text NOT NULL,
    task_queue           text NOT NULL,
    fairness_key         text NOT NULL,
    max_concurrent       integer,
    rate_per_second      float8,
    configured           boolean NOT NULL DEFAULT false,
    tokens               float8 NOT NULL DEFAULT 0,
    refilled_at          timestamptz,
    dispatched_at        timestamptz,
    PRIMARY KEY (namespace, task_queue, fairness_key)
);
SELECT pg_catalog.pg_extension_config_dump('durable.fairness_keys', '');

-- The limited poll counts leases per queue and key, and finds each key's
-- next ready task, with these.
CREATE INDEX activity_tasks_started ON durable.activity_tasks (namespace, task_queue, fairness_key)
    WHERE state = 'STARTED';
CREATE INDEX activity_tasks_ready_by_key ON durable.activity_tasks (namespace, task_queue, fairness_key, priority,
                                                                   pass, task_id)
    WHERE state = 'SCHEDULED';
