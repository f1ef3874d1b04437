-- Deadlines the timer worker could not fire. When firing one item fails (a
-- function error, a constraint violation, a corrupt row), that item alone is
-- rolled back, its deadline moves to retry_at (a minute, doubling up to an
-- hour), and the error is kept here, where describe_workflow,
-- describe_schedule and durable.list_parked() show it; every other deadline
-- keeps firing. A row goes when its item fires, or when the item is gone.
CREATE TABLE durable.parked (
    kind          text NOT NULL
        CHECK (kind IN ('timer', 'activity_task', 'workflow_task', 'workflow', 'schedule')),
    item          text NOT NULL,
    namespace     text,
    workflow_id   text,
    run_id        uuid,
    schedule_id   text,
    due_at        timestamptz,
    error         jsonb NOT NULL,
    attempts      integer NOT NULL DEFAULT 1,
    parked_at     timestamptz NOT NULL,
    last_error_at timestamptz NOT NULL,
    retry_at      timestamptz NOT NULL,
    PRIMARY KEY (kind, item)
);
CREATE INDEX parked_run ON durable.parked (run_id) WHERE run_id IS NOT NULL;
SELECT pg_catalog.pg_extension_config_dump('durable.parked', '');
