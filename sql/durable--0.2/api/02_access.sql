-- Who may do what: the one check every entry point makes (see
-- docs/security.md). A call is allowed when a row of durable.grants covers
-- it and the caller has the privileges of that row's grantee (membership
-- with INHERIT, as for any PostgreSQL privilege). The built-in rows make
-- durable_worker and durable_operator grants on every namespace, and
-- superusers have the privileges of every role.

-- The role a call is made for: the session user, or the role SET ROLE chose
-- (not current_user, which is the owner inside SECURITY DEFINER; not
-- session_user, which SET ROLE leaves alone). See pgext/src/caller.c.
CREATE OR REPLACE FUNCTION durable._caller_role() RETURNS oid
    AS 'MODULE_PATHNAME', 'durable_caller_role' LANGUAGE C STABLE STRICT;

-- A role's name as written in pg_roles (regrole's text is quoted), or its
-- oid when the role was dropped.
CREATE OR REPLACE FUNCTION durable._role_name(role oid) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT r.rolname::text FROM pg_catalog.pg_roles r WHERE r.oid = $1), $1::text)
$$;

-- Whether the caller may act with access (worker, operator or reader) in a
-- namespace, on a task queue for worker access (NULL: the whole namespace).
-- Operators may also read. The grants table has a row per grant, not per
-- workflow.
CREATE OR REPLACE FUNCTION durable._may(access text, task_queue text, namespace text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    -- plpgsql, not SQL: a SQL function with a subquery is never inlined, and
    -- one called from plpgsql is planned again in every (sub)transaction
    RETURN EXISTS (
        SELECT 1 FROM durable.grants g
         WHERE (g.namespace IS NULL OR g.namespace = $3)
           AND CASE $1 WHEN 'reader' THEN g.access IN ('reader', 'operator')
                       WHEN 'worker' THEN g.access = 'worker'
                                          AND (g.task_queue IS NULL OR g.task_queue = $2
                                               OR (g.task_queue_prefix AND starts_with($2, g.task_queue)))
                       ELSE g.access = $1 END
           AND pg_catalog.pg_has_role(durable._caller_role(), g.grantee, 'USAGE'));
END
$$;

-- Raises 42501 unless the caller may: the hint names the grant it lacks.
-- The full check; entry points call _authorize, below.
CREATE OR REPLACE FUNCTION durable._authorize_by_grants(access text, task_queue text, namespace text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    caller text;
BEGIN
    IF durable._may(access, task_queue, namespace) THEN
        RETURN;
    END IF;
    caller := durable._role_name(durable._caller_role());
    IF access = 'worker' AND task_queue IS NOT NULL THEN
        RAISE EXCEPTION 'permission denied for task queue "%" of namespace "%"', task_queue, namespace
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('Role %s has no worker grant on this task queue.', caller),
                  HINT = format('An administrator can grant it: SELECT durable.grant_task_queue(%L, %L, %L);',
                                caller, task_queue, namespace);
    END IF;
    RAISE EXCEPTION 'permission denied for namespace "%"', namespace
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = format('Role %s has no %s grant on this namespace.', caller,
                              CASE access WHEN 'reader' THEN 'reader or operator' ELSE access END),
              HINT = format('An administrator can grant it: SELECT durable.grant_namespace(%L, %L, %L);',
                            caller, access, namespace);
END
$$;

-- _authorize_by_grants, with the calls it allowed kept per backend until a
-- grant row, a role, a membership or a function changes (pgext/src/
-- authorize.c): the check ran three times per one-activity workflow and once
-- per activity, 4-8 us each, for the same few questions. A revoke takes
-- effect for a backend where PostgreSQL's own REVOKE would: at its next
-- catalog invalidation point (its next transaction, a lock), not within a
-- statement. The trigger below tells every backend of a change to grants.
CREATE OR REPLACE FUNCTION durable._authorize(access text, task_queue text, namespace text) RETURNS void
    AS 'MODULE_PATHNAME', 'durable_authorize' LANGUAGE C STABLE;

CREATE OR REPLACE FUNCTION durable._grants_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'durable_grants_changed' LANGUAGE C
    SET search_path = pg_catalog, pg_temp;   -- as every trigger function (sql/README.md)
CREATE OR REPLACE TRIGGER grants_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON durable.grants
    FOR EACH STATEMENT EXECUTE FUNCTION durable._grants_changed();
-- always: a write under session_replication_role = replica must tell every
-- session too (_authorize keeps nothing unless the trigger fires always)
ALTER TABLE durable.grants ENABLE ALWAYS TRIGGER grants_changed;

-- For clients that show what a caller may do (the console's buttons, the
-- mount's file modes): the same answer _authorize acts on.
CREATE OR REPLACE FUNCTION durable.has_access(access text, task_queue text DEFAULT NULL, namespace text DEFAULT 'default')
RETURNS boolean LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF access IS NULL OR access NOT IN ('worker', 'operator', 'reader') THEN
        PERFORM durable._bad_input(format('unknown access "%s"', access), NULL, 'Use worker, operator or reader.');
    END IF;
    RETURN durable._may(access, task_queue, namespace);
END
$$;
COMMENT ON FUNCTION durable.has_access(text, text, text) IS
    'Whether the caller (the role SET ROLE chose, or the login) may act with worker, operator or reader access in a namespace (on a task queue, for worker access).';
