-- Roles are cluster-wide and may survive a DROP EXTENSION: create them once.
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'durable_worker') THEN
        CREATE ROLE durable_worker NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'durable_operator') THEN
        CREATE ROLE durable_operator NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'durable_admin') THEN
        CREATE ROLE durable_admin NOLOGIN;
    END IF;
    -- EXECUTE on the API and nothing else: what a role with scoped grants
    -- (durable.grant_namespace, durable.grant_task_queue) may do is decided
    -- inside, by durable._authorize. Those functions make it a member.
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'durable_scoped') THEN
        CREATE ROLE durable_scoped NOLOGIN;
    END IF;
END
$roles$;
