-- Scoped grants (see sql/durable--0.2/schema/10_grants.sql): 0.1 had only the
-- three roles, which api/14_grants.sql enters as the "every namespace" rows.
CREATE TABLE durable.grants (
    grantee           regrole NOT NULL,
    access            text NOT NULL CHECK (access IN ('worker', 'operator', 'reader')),
    namespace         text,
    task_queue        text,
    task_queue_prefix boolean NOT NULL DEFAULT false,
    granted_by        name NOT NULL,
    granted_at        timestamptz NOT NULL,
    CHECK (access = 'worker' OR task_queue IS NULL),
    CHECK (task_queue IS NOT NULL OR NOT task_queue_prefix),
    UNIQUE NULLS NOT DISTINCT (grantee, access, namespace, task_queue, task_queue_prefix)
);
SELECT pg_catalog.pg_extension_config_dump('durable.grants', 'WHERE namespace IS NOT NULL');
