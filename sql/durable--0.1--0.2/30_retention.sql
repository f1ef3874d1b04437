-- Retention (0.2): the namespaces table, the purge's index, and a row for
-- every namespace a 0.1 store already used, with the default retention of
-- 30 days. To keep everything of an upgraded store, set the retention to 0 in
-- the same transaction as the update:
--   BEGIN; ALTER EXTENSION durable UPDATE;
--   SELECT durable.set_namespace_retention('default', '0'); COMMIT;
CREATE TABLE durable.namespaces (
    namespace   text PRIMARY KEY,
    retention   interval NOT NULL DEFAULT '30 days' CHECK (retention >= interval '0'),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('durable.namespaces', '');

CREATE INDEX workflows_closed ON durable.workflows (namespace, closed_at)
    WHERE closed_at IS NOT NULL;

INSERT INTO durable.namespaces (namespace, created_at, updated_at)
SELECT u.namespace, min(u.since), durable.now()
  FROM (SELECT w.namespace, w.started_at AS since FROM durable.workflows w
        UNION ALL
        SELECT s.namespace, s.created_at FROM durable.schedules s) u
 GROUP BY u.namespace;
