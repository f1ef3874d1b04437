-- Worker versioning by build id (api/60_build_ids.sql): a task queue with a
-- row here is versioned. New workflows go to default_build_id; under PINNED
-- a run stays on the build it started on (workflows.build_id), under
-- AUTO_UPGRADE every run moves to default_build_id at its next workflow task.
-- A queue without a row is polled as before, by any worker.
CREATE TABLE durable.task_queue_build_ids (
    namespace         text NOT NULL,
    task_queue        text NOT NULL,
    default_build_id  text NOT NULL,
    mode              text NOT NULL CHECK (mode IN ('PINNED', 'AUTO_UPGRADE')),
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (namespace, task_queue)
);
SELECT pg_catalog.pg_extension_config_dump('durable.task_queue_build_ids', '');
