-- Namespaces and their retention (see api/30_retention.sql). A namespace gets
-- its row with its first run (durable._create_run), or from
-- durable.register_namespace. No other table refers to this one by a foreign
-- key: runs keep their namespace as text, so a namespace's row can gain
-- columns (or other tables keyed by namespace) without touching the hot path.
CREATE TABLE durable.namespaces (
    namespace   text PRIMARY KEY,
    -- closed runs older than this are purged by the timer worker; 0 keeps them forever
    retention   interval NOT NULL DEFAULT '30 days' CHECK (retention >= interval '0'),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('durable.namespaces', '');

-- The purge walks this per namespace, oldest close first, and stops at the
-- first run still inside the retention: its cost is the batch, not the
-- number of closed runs kept.
CREATE INDEX workflows_closed ON durable.workflows (namespace, closed_at)
    WHERE closed_at IS NOT NULL;
