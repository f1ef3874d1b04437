-- 0.2 adds operator pauses of workflows and activities (schema/41_pause.sql):
-- a task of a paused run or activity waits in the new state PAUSED.
ALTER TABLE durable.workflow_tasks DROP CONSTRAINT workflow_tasks_state_check,
    ADD CONSTRAINT workflow_tasks_state_check CHECK (state IN ('SCHEDULED', 'STARTED', 'BACKOFF', 'PAUSED'));
ALTER TABLE durable.activity_tasks DROP CONSTRAINT activity_tasks_state_check,
    ADD CONSTRAINT activity_tasks_state_check CHECK (state IN ('SCHEDULED', 'STARTED', 'BACKOFF', 'PAUSED'));

CREATE TABLE durable.workflow_pauses (
    run_id     uuid PRIMARY KEY,
    reason     text,
    paused_by  text NOT NULL,    -- the caller's role (durable._caller_role)
    paused_at  timestamptz NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('durable.workflow_pauses', '');

CREATE TABLE durable.activity_pauses (
    run_id              uuid NOT NULL,
    scheduled_event_id  bigint NOT NULL,
    reason              text,
    paused_by           text NOT NULL,
    paused_at           timestamptz NOT NULL,
    PRIMARY KEY (run_id, scheduled_event_id)
);
SELECT pg_catalog.pg_extension_config_dump('durable.activity_pauses', '');
