
-- Scoped grants: which role may work, operate or read in which namespace,
-- and work on which task queues (see api/02_access.sql and docs/security.md).
-- Keyed by namespace text: a grant may name a namespace that has no workflow
-- yet. The two rows with namespace NULL (every namespace) are the built-in
-- roles durable_worker and durable_operator, added by api/14_grants.sql and
-- left out of pg_dump, which re-creates them with the extension.
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
