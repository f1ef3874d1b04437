-- The character rule for names that durablefs shows as folder names
-- (workflows/<workflow_id>, task-queues/<task_queue>, schedules/<schedule_id>):
-- a name that no path can reach would exist in the store and be unreachable
-- in the mount. Lengths are durable._check_name's (02_limits.sql).

-- Refuses an empty name, "." and "..", "/" and control characters (NUL
-- cannot reach a text value at all). NULL passes: callers that require a
-- name check that first. Returns the name, for use in an expression.
CREATE OR REPLACE FUNCTION durable._check_path_name(name text, field text)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF name = '' OR name IN ('.', '..') OR name ~ '[/[:cntrl:]]' THEN
        PERFORM durable._bad_input(
            format('%s must not be empty, "." or "..", nor contain "/" or control characters', field),
            format('Got %L.', name),
            'It names a folder in durablefs; docs/sql-api.md, "Limits", gives the rule.');
    END IF;
    RETURN name;
END
$$;
