-- History is append-only.
CREATE OR REPLACE FUNCTION durable._history_is_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'workflow history is append-only'
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = 'Events are never changed once written.';
END
$$;
CREATE OR REPLACE TRIGGER history_is_append_only BEFORE UPDATE ON durable.history_rows
    FOR EACH ROW EXECUTE FUNCTION durable._history_is_append_only();
