-- Scoped grants, for administrators: worker, operator or reader access to
-- one namespace, and worker access to named task queues or a prefix of
-- names within one. durable._authorize (02_access.sql) enforces them.

-- The built-in roles are grants on every namespace (0.1's model, kept).
INSERT INTO durable.grants (grantee, access, namespace, granted_by, granted_at)
VALUES ('durable_worker', 'worker', NULL, current_user, now()),
       ('durable_operator', 'operator', NULL, current_user, now())
ON CONFLICT DO NOTHING;

-- The role a grant names, by its exact name (as in pg_roles.rolname).
CREATE OR REPLACE FUNCTION durable._grantee(role_name text) RETURNS regrole
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r regrole;
BEGIN
    SELECT a.oid::regrole INTO r FROM pg_catalog.pg_roles a WHERE a.rolname = role_name;
    IF r IS NULL THEN
        RAISE EXCEPTION 'role "%" does not exist', role_name
            USING ERRCODE = 'undefined_object',
                  HINT = 'Create it first (CREATE ROLE ... LOGIN), or check the exact name in pg_roles.';
    END IF;
    IF role_name IN ('durable_worker', 'durable_operator', 'durable_admin', 'durable_scoped') THEN
        PERFORM durable._bad_input(format('role %s is built in and cannot take scoped grants', role_name),
            'durable_worker and durable_operator act on every namespace; durable_scoped is shared by every role with scoped grants.',
            'Grant to a role of your own, e.g. CREATE ROLE orders_worker LOGIN.');
    END IF;
    RETURN r;
END
$$;

CREATE OR REPLACE FUNCTION durable._check_access(access text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF access IS NULL OR access NOT IN ('worker', 'operator', 'reader') THEN
        PERFORM durable._bad_input(format('unknown access "%s"', access), NULL,
            'Use worker (poll and complete tasks), operator (start, signal, cancel ... and read) or reader (describe, list, history, query).');
    END IF;
END
$$;

-- "orders" names one task queue; "orders-*" every queue whose name starts with "orders-".
CREATE OR REPLACE FUNCTION durable._parse_task_queue_grant(task_queue text, OUT name text, OUT prefix boolean)
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    prefix := right(task_queue, 1) = '*';
    name := CASE WHEN prefix THEN left(task_queue, -1) ELSE task_queue END;
    IF coalesce(name, '') = '' OR name ~ '[[:cntrl:]]' THEN
        PERFORM durable._bad_input('task_queue must be a queue name, or a non-empty prefix followed by "*"',
            format('Got %L.', task_queue),
            'For every queue of the namespace use durable.grant_namespace(role, ''worker'', namespace).');
    END IF;
END
$$;

-- Makes the role a member of durable_scoped, which carries EXECUTE on the API.
CREATE OR REPLACE FUNCTION durable._add_grant(grantee regrole, access text, namespace text,
                                              task_queue text DEFAULT NULL, prefix boolean DEFAULT false)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO durable.grants AS g (grantee, access, namespace, task_queue, task_queue_prefix, granted_by, granted_at)
    VALUES ($1, $2, $3, $4, $5, durable._role_name(durable._caller_role()), now())
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF NOT pg_catalog.pg_has_role($1, 'durable_scoped', 'MEMBER') THEN
        EXECUTE format('GRANT durable_scoped TO %I', durable._role_name($1));
    END IF;
    RETURN true;
END
$$;

CREATE OR REPLACE FUNCTION durable.grant_namespace(role_name text, access text, namespace text DEFAULT 'default')
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r regrole := durable._grantee(role_name);
BEGIN
    PERFORM durable._check_access(access);
    PERFORM durable._check_namespace(namespace);
    RETURN durable._add_grant(r, access, namespace);
END
$$;
COMMENT ON FUNCTION durable.grant_namespace(text, text, text) IS
    'Grants a role worker, operator or reader access to one namespace; returns false when it had it already.';

CREATE OR REPLACE FUNCTION durable.grant_task_queue(role_name text, task_queue text, namespace text DEFAULT 'default')
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r regrole := durable._grantee(role_name);
    q record := durable._parse_task_queue_grant(task_queue);
BEGIN
    PERFORM durable._check_namespace(namespace);
    RETURN durable._add_grant(r, 'worker', namespace, q.name, q.prefix);
END
$$;
COMMENT ON FUNCTION durable.grant_task_queue(text, text, text) IS
    'Grants a role worker access to one task queue ("orders") or to every queue of a prefix ("orders-*") in a namespace; returns false when it had it already.';

CREATE OR REPLACE FUNCTION durable.revoke_namespace(role_name text, access text, namespace text DEFAULT 'default')
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r regrole := durable._grantee(role_name);
BEGIN
    PERFORM durable._check_access(access);
    DELETE FROM durable.grants g
     WHERE g.grantee = r AND g.access = $2 AND g.namespace = $3 AND g.task_queue IS NULL;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION durable.revoke_namespace(text, text, text) IS
    'Takes back what grant_namespace gave; returns false when the role had no such grant. Task queue grants stay.';

CREATE OR REPLACE FUNCTION durable.revoke_task_queue(role_name text, task_queue text, namespace text DEFAULT 'default')
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r regrole := durable._grantee(role_name);
    q record := durable._parse_task_queue_grant(task_queue);
BEGIN
    DELETE FROM durable.grants g
     WHERE g.grantee = r AND g.access = 'worker' AND g.namespace = $3
       AND g.task_queue = q.name AND g.task_queue_prefix = q.prefix;
    RETURN FOUND;
END
$$;
COMMENT ON FUNCTION durable.revoke_task_queue(text, text, text) IS
    'Takes back what grant_task_queue gave (the same name or prefix); returns false when the role had no such grant.';

-- Administrators see every grant; anyone else the grants they act under.
-- namespace NULL: every namespace (the built-in roles); task_queue NULL:
-- every queue of the namespace; a trailing "*" marks a prefix.
CREATE OR REPLACE FUNCTION durable.list_grants(role_name text DEFAULT NULL)
RETURNS TABLE (grantee text, access text, namespace text, task_queue text, granted_by name, granted_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
    SELECT l.* FROM (
        SELECT durable._role_name(g.grantee) AS grantee, g.access, g.namespace,
               g.task_queue || CASE WHEN g.task_queue_prefix THEN '*' ELSE '' END AS task_queue,
               g.granted_by, g.granted_at
          FROM durable.grants g
         WHERE pg_has_role(durable._caller_role(), 'durable_admin', 'USAGE')
            OR pg_has_role(durable._caller_role(), g.grantee, 'USAGE')) l
     WHERE $1 IS NULL OR l.grantee = $1
     ORDER BY l.namespace NULLS FIRST, l.grantee, l.access, l.task_queue
$$;
COMMENT ON FUNCTION durable.list_grants(text) IS
    'The scoped grants (namespace NULL: every namespace), all of them for durable_admin, otherwise those the caller acts under.';
