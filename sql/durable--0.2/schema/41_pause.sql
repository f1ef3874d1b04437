-- Operator pauses (api/41_pause.sql). A run with a row in workflow_pauses
-- gets no workflow or activity task: its tasks wait in state PAUSED, and
-- what happens to it meanwhile (signals, fired timers, activity results)
-- waits in buffered_events until it is unpaused. An activity with a row in
-- activity_pauses is not retried, nor offered, until it is unpaused. Both
-- rows go when the run closes; an activity's also when the activity ends
-- (completed, failed for good, canceled or timed out while paused).
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
