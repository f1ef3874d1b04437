-- 0.2 adds worker versioning by build id (schema/60_build_ids.sql).
ALTER TABLE durable.workflows ADD COLUMN build_id text;
ALTER TABLE durable.workflow_tasks ADD COLUMN build_id text;

CREATE TABLE durable.task_queue_build_ids (
    namespace         text NOT NULL,
    task_queue        text NOT NULL,
    default_build_id  text NOT NULL,
    mode              text NOT NULL CHECK (mode IN ('PINNED', 'AUTO_UPGRADE')),
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (namespace, task_queue)
);
SELECT pg_catalog.pg_extension_config_dump('durable.task_queue_build_ids', '');

-- poll_workflow_tasks takes the poller's build id.
DROP FUNCTION IF EXISTS durable.poll_workflow_tasks(text, text, integer, jsonb, text);
-- poll_query_tasks too (11_query_tokens.sql dropped 0.1's already).
DROP FUNCTION IF EXISTS durable.poll_query_tasks(text, text, integer, integer, text);
