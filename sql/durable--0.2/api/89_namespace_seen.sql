-- A start remembers, per backend, the namespaces whose row it saw committed
-- (pgext/src/namespace_seen.c), instead of looking for the row on every
-- start (_namespace_seen, api/30_retention.sql). durable never deletes a
-- namespace's row; an operator who does (DELETE, TRUNCATE) makes every
-- backend forget what it saw through this trigger, so that the next start
-- in that namespace writes the row again.
CREATE OR REPLACE FUNCTION durable._namespaces_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'durable_namespaces_changed' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;
CREATE OR REPLACE TRIGGER namespaces_forget_seen
    AFTER DELETE OR TRUNCATE ON durable.namespaces
    FOR EACH STATEMENT EXECUTE FUNCTION durable._namespaces_changed();
