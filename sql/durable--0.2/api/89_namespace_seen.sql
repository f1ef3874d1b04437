-- A start remembers, per backend, the namespaces whose row it saw committed
-- (pgext/src/namespace_seen.c), instead of looking for the row on every
-- start (_namespace_seen, api/30_retention.sql). durable never deletes a
-- namespace's row nor changes its key; an operator who does (DELETE,
-- TRUNCATE, or an UPDATE of namespace) makes every backend forget what it
-- saw through this trigger, so that the next start in that namespace writes
-- the row again. (An UPDATE of the other columns, set_namespace_retention's,
-- leaves the key and does not fire it.)
-- The cache's limit: a statement that runs with triggers off
-- (session_replication_role = replica, or the trigger disabled) is not
-- seen, so a backend that remembered the namespace writes no row for it
-- until some other change of the table makes it forget (another such
-- statement with the trigger on, an ALTER TABLE, a vacuum), where
-- _namespace_seen, which looked every time, wrote it at the next start.
CREATE OR REPLACE FUNCTION durable._namespaces_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'durable_namespaces_changed' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;
CREATE OR REPLACE TRIGGER namespaces_forget_seen
    AFTER UPDATE OF namespace OR DELETE OR TRUNCATE ON durable.namespaces
    FOR EACH STATEMENT EXECUTE FUNCTION durable._namespaces_changed();
