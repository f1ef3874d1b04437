-- A run's history, as every reader sees it: the view durable.history over
-- the stored rows (durable.history_rows, schema/01_tables.sql), where each
-- event's type is a small code and its attributes are packed (attribute
-- names as one character; the (name, value) pairs most events carry, such
-- as a null timeout, attempt 1 or an event id that is the one before, as one
-- character of a list). The view
-- gives back each event exactly as it was written. Issue 15: an activity's
-- eleven events wrote ~3,100 bytes of WAL, of which ~1,800 were attribute
-- names and the same nulls and defaults again and again
-- (docs/performance.md, "History rows packed"). In C: pgext/src/history_pack.c.

CREATE OR REPLACE FUNCTION durable._event_code(event_type text) RETURNS smallint
    AS 'MODULE_PATHNAME', 'durable_event_code' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION durable._event_code(text) IS
    'The stored code of an event type (durable.history_rows.event_code); 0 for a type without one, whose name is then packed with the attributes.';

CREATE OR REPLACE FUNCTION durable._event_type(event_code smallint, attributes_packed jsonb) RETURNS text
    AS 'MODULE_PATHNAME', 'durable_event_type' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION durable._event_type(smallint, jsonb) IS
    'The event type of a stored event, from its code (and, for code 0, its packed attributes).';

CREATE OR REPLACE FUNCTION durable._event_pack(run uuid, event_id bigint, event_type text, attributes jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'durable_event_pack' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION durable._event_pack(uuid, bigint, text, jsonb) IS
    'An event''s attributes as durable.history_rows stores them; durable._event_attributes gives them back as they were.';

CREATE OR REPLACE FUNCTION durable._event_attributes(run uuid, event_id bigint, attributes_packed jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'durable_event_attributes' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION durable._event_attributes(uuid, bigint, jsonb) IS
    'A stored event''s attributes as they were written (the inverse of durable._event_pack).';

-- Every column as the table durable.history had them. Filters on run_id and
-- event_id reach the primary key; a reader pays the unpacking of the rows
-- whose attributes it reads, nothing for those it does not. DELETE goes
-- through to the rows (the purge, retention); UPDATE is refused below.
CREATE OR REPLACE VIEW durable.history AS
SELECT h.run_id, h.event_id, durable._event_type(h.event_code, h.attributes_packed) AS event_type,
       h.event_time, durable._event_attributes(h.run_id, h.event_id, h.attributes_packed) AS attributes
  FROM durable.history_rows h;
COMMENT ON VIEW durable.history IS
    'Every run''s events, in the order of event_id, as they were written (stored packed in durable.history_rows).';

-- As the table's trigger did (api/01_append_only.sql), whatever the columns.
CREATE OR REPLACE TRIGGER history_is_append_only INSTEAD OF UPDATE ON durable.history
    FOR EACH ROW EXECUTE FUNCTION durable._history_is_append_only();

-- An INSERT into durable.history, as into the table it was, stores the event
-- packed. Durable's own writers go to durable.history_rows directly
-- (_append, and _event_code/_event_pack in set-based inserts): a row
-- trigger is the slow way, kept for scripts written against the table.
CREATE OR REPLACE FUNCTION durable._history_insert() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    NEW.attributes := coalesce(NEW.attributes, '{}');
    INSERT INTO durable.history_rows (run_id, event_id, event_code, event_time, attributes_packed)
    VALUES (NEW.run_id, NEW.event_id, durable._event_code(NEW.event_type), NEW.event_time,
            durable._event_pack(NEW.run_id, NEW.event_id, NEW.event_type, NEW.attributes));
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION durable._history_insert() IS
    'INSTEAD OF INSERT on the view durable.history: stores the event packed in durable.history_rows.';
CREATE OR REPLACE TRIGGER history_insert INSTEAD OF INSERT ON durable.history
    FOR EACH ROW EXECUTE FUNCTION durable._history_insert();
