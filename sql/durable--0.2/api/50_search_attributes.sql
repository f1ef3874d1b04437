-- Typed search attributes (schema/50_visibility.sql). An administrator
-- declares an attribute of a namespace with a type; from then on every value
-- a run holds for it (at start, by UpsertWorkflowSearchAttributes, carried
-- over by continue-as-new, reset or a child start) is checked against the
-- type, and copied into the attribute's typed, indexed slot, where the list
-- filter language (51_list_filter.sql) finds it. Attributes nobody declared
-- are kept in workflows.search_attributes as in 0.1: untyped, unchecked, and
-- unknown to the filter language.

-- How many attributes of each type a namespace may declare (Temporal's SQL
-- visibility has the same numbers of Keyword01.., Int01.., ... columns).
CREATE OR REPLACE FUNCTION durable._search_attribute_slots(type text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE $1 WHEN 'Keyword' THEN 10
                   WHEN 'Text' THEN 3 WHEN 'Int' THEN 3 WHEN 'Double' THEN 3 WHEN 'Bool' THEN 3
                   WHEN 'Datetime' THEN 3 WHEN 'KeywordList' THEN 3 END
$$;

-- The column of search_attribute_values that holds slot N of a type.
CREATE OR REPLACE FUNCTION durable._search_attribute_column(type text, slot integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT lower($1) || lpad($2::text, 2, '0')
$$;

-- The filter language's own names: a declared attribute may not take one.
CREATE OR REPLACE FUNCTION durable._builtin_search_attributes()
RETURNS TABLE (name text, type text)
LANGUAGE sql IMMUTABLE AS $$
    VALUES ('WorkflowId', 'Keyword'), ('WorkflowType', 'Keyword'), ('RunId', 'Keyword'),
           ('ExecutionStatus', 'Keyword'), ('StartTime', 'Datetime'), ('CloseTime', 'Datetime'),
           ('ExecutionTime', 'Datetime'), ('TaskQueue', 'Keyword'), ('ParentWorkflowId', 'Keyword'),
           ('ParentRunId', 'Keyword'), ('DurableScheduledById', 'Keyword')
$$;

-- A declared attribute's value, checked against its type, as the JSON that
-- jsonb_populate_record turns into its slot's column (NULL: no value).
-- workflow_id only names the run in the error.
CREATE OR REPLACE FUNCTION durable._search_attribute_value(name text, type text, value jsonb,
                                                           workflow_id text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    kind text := jsonb_typeof(value);
    n numeric;
    ts timestamptz;
    wanted text;
BEGIN
    IF value IS NULL OR kind = 'null' THEN
        RETURN NULL;
    END IF;
    CASE type
        WHEN 'Keyword' THEN
            IF kind = 'string' THEN RETURN value; END IF;
            wanted := 'a JSON string';
        WHEN 'Text' THEN
            IF kind = 'string' THEN RETURN to_jsonb(to_tsvector('simple', value #>> '{}')::text); END IF;
            wanted := 'a JSON string';
        WHEN 'Int' THEN
            IF kind = 'number' THEN
                n := value::numeric;
                IF n = trunc(n) AND n BETWEEN -9223372036854775808 AND 9223372036854775807 THEN
                    RETURN to_jsonb(n::bigint);
                END IF;
            END IF;
            wanted := 'a whole JSON number between -2^63 and 2^63-1';
        WHEN 'Double' THEN
            IF kind = 'number' AND abs(value::numeric) <= 1.7976931348623157e308 THEN RETURN value; END IF;
            wanted := 'a JSON number within a double''s range';
        WHEN 'Bool' THEN
            IF kind = 'boolean' THEN RETURN value; END IF;
            wanted := 'true or false';
        WHEN 'Datetime' THEN
            IF kind = 'string' AND (value #>> '{}') ~ '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$' THEN
                BEGIN
                    ts := (value #>> '{}')::timestamptz;
                    RETURN to_jsonb(ts);
                EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
                    NULL;   -- refused below
                END;
            END IF;
            wanted := 'an RFC 3339 time string such as "2026-11-01T00:00:00Z"';
        WHEN 'KeywordList' THEN
            IF kind = 'array' AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(value) e
                                                WHERE jsonb_typeof(e) <> 'string') THEN
                RETURN value;
            END IF;
            wanted := 'a JSON array of strings';
    END CASE;
    RAISE EXCEPTION 'search attribute "%" (%) must be %', name, type, wanted
        USING ERRCODE = 'invalid_parameter_value',
              DETAIL = CASE WHEN workflow_id IS NULL THEN format('Got %s.', left(value::text, 200))
                            ELSE format('Workflow "%s" holds %s.', workflow_id, left(value::text, 200)) END,
              HINT = 'Send a value of the declared type, or null to remove it; durable.list_search_attributes() lists the types.';
END
$$;

-- Trigger on workflows: checks the declared attributes of a new or updated
-- search_attributes document and writes their typed values (one row per
-- run, none when the run holds no declared attribute).
CREATE OR REPLACE FUNCTION durable._index_search_attributes() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    a record;
    vals jsonb := '{}';
BEGIN
    FOR a IN SELECT t.name, t.type, t.slot FROM durable.search_attribute_types t
              WHERE t.namespace = NEW.namespace AND NEW.search_attributes ? t.name LOOP
        vals := vals || jsonb_build_object(durable._search_attribute_column(a.type, a.slot),
            durable._search_attribute_value(a.name, a.type, NEW.search_attributes -> a.name, NEW.workflow_id));
    END LOOP;
    -- A new run has no row yet, even in a restore: a dump keeps none of
    -- search_attribute_values (schema/50_visibility.sql), this writes them.
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM durable.search_attribute_values v WHERE v.run_id = NEW.run_id;
    END IF;
    IF vals <> '{}' THEN
        INSERT INTO durable.search_attribute_values
        SELECT * FROM jsonb_populate_record(NULL::durable.search_attribute_values,
            vals || jsonb_build_object('run_id', NEW.run_id, 'namespace', NEW.namespace));
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER workflows_index_search_attributes_insert
    AFTER INSERT ON durable.workflows
    FOR EACH ROW WHEN (NEW.search_attributes <> '{}'::jsonb)
    EXECUTE FUNCTION durable._index_search_attributes();
CREATE OR REPLACE TRIGGER workflows_index_search_attributes_update
    AFTER UPDATE OF search_attributes ON durable.workflows
    FOR EACH ROW EXECUTE FUNCTION durable._index_search_attributes();

CREATE OR REPLACE FUNCTION durable._canonical_search_attribute_type(type text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    t text;
BEGIN
    SELECT k INTO t FROM unnest(ARRAY['Keyword', 'Text', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList']) k
     WHERE lower(k) = lower($1);
    IF t IS NULL THEN
        PERFORM durable._bad_input(format('unknown search attribute type "%s"', type), NULL,
            'Use Keyword, Text, Int, Double, Bool, Datetime or KeywordList.');
    END IF;
    RETURN t;
END
$$;

CREATE OR REPLACE FUNCTION durable.add_search_attribute(name text, type text, namespace text DEFAULT 'default')
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    canonical text;
    free_slot integer;
    col text;
    existing text;
BEGIN
    PERFORM durable._check_namespace(namespace);
    canonical := durable._canonical_search_attribute_type(type);
    IF name IS NULL OR name !~ '^[A-Za-z_][A-Za-z0-9_]{0,63}$' THEN
        PERFORM durable._bad_input(format('invalid search attribute name "%s"', name),
            'A name is a letter or "_", then up to 63 letters, digits or "_".',
            'Use a name such as CustomerId.');
    END IF;
    IF EXISTS (SELECT 1 FROM durable._builtin_search_attributes() b WHERE lower(b.name) = lower(name))
       OR name ILIKE 'Durable%' THEN
        PERFORM durable._bad_input(format('search attribute "%s" is built in', name),
            'Built-in attributes and names starting with "Durable" are reserved.',
            'Pick another name; durable.list_search_attributes() lists the built-in ones.');
    END IF;
    IF upper(name) IN ('AND', 'OR', 'NOT', 'IN', 'IS', 'NULL', 'BETWEEN', 'ORDER', 'BY', 'ASC', 'DESC',
                       'GROUP', 'TRUE', 'FALSE', 'STARTS_WITH', 'LIKE') THEN
        PERFORM durable._bad_input(format('search attribute name "%s" is a word of the filter language', name),
            NULL, 'Pick another name.');
    END IF;
    -- Values written while this runs must be indexed too: no run's
    -- attributes change between the backfill below and the commit.
    LOCK TABLE durable.workflows IN SHARE MODE;
    SELECT t.type INTO existing FROM durable.search_attribute_types t
     WHERE t.namespace = namespace AND lower(t.name) = lower(name);
    IF existing IS NOT NULL THEN
        RAISE EXCEPTION 'search attribute "%" already exists in namespace "%"', name, namespace
            USING ERRCODE = 'duplicate_object',
                  DETAIL = format('It is a %s.', existing),
                  HINT = 'To change its type, remove it with durable.remove_search_attribute() and add it again.';
    END IF;
    SELECT min(s) INTO free_slot FROM generate_series(1, durable._search_attribute_slots(canonical)) s
     WHERE s NOT IN (SELECT t.slot FROM durable.search_attribute_types t
                      WHERE t.namespace = namespace AND t.type = canonical);
    IF free_slot IS NULL THEN
        RAISE EXCEPTION 'namespace "%" has no free % search attribute', namespace, canonical
            USING ERRCODE = 'program_limit_exceeded',
                  DETAIL = format('A namespace may declare %s %s attributes.', durable._search_attribute_slots(canonical), canonical),
                  HINT = 'Remove one with durable.remove_search_attribute(), or use another type.';
    END IF;
    INSERT INTO durable.search_attribute_types AS t (namespace, name, type, slot, created_at)
    VALUES (namespace, name, canonical, free_slot, durable.now());
    -- runs that already hold a value for it (found through the GIN index,
    -- partial: the implied search_attributes <> '{}' is stated for it)
    col := durable._search_attribute_column(canonical, free_slot);
    EXECUTE format(
        'INSERT INTO durable.search_attribute_values AS v (run_id, namespace, %1$I)
         SELECT w.run_id, w.namespace,
                (jsonb_populate_record(NULL::durable.search_attribute_values,
                    jsonb_build_object(%2$L, durable._search_attribute_value($2, $3, w.search_attributes -> $2, w.workflow_id)))).%1$I
           FROM durable.workflows w
          WHERE w.namespace = $1 AND w.search_attributes ? $2 AND w.search_attributes -> $2 <> ''null''
            AND w.search_attributes <> ''{}''
         ON CONFLICT (run_id) DO UPDATE SET %1$I = EXCLUDED.%1$I', col, col)
    USING namespace, name, canonical;
END
$$;
COMMENT ON FUNCTION durable.add_search_attribute(text, text, text) IS
    'durable_admin: declare a typed search attribute (Keyword, Text, Int, Double, Bool, Datetime, KeywordList) of a namespace; values already held are checked and indexed.';

CREATE OR REPLACE FUNCTION durable.remove_search_attribute(name text, namespace text DEFAULT 'default')
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_variable
DECLARE
    t durable.search_attribute_types;
BEGIN
    PERFORM durable._check_namespace(namespace);
    DELETE FROM durable.search_attribute_types st
     WHERE st.namespace = namespace AND st.name = name
    RETURNING * INTO t;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'search attribute "%" is not declared in namespace "%"', name, namespace
            USING ERRCODE = 'undefined_object',
                  HINT = 'durable.list_search_attributes() lists the declared ones.';
    END IF;
    -- the slot is free again: forget its values (workflows keep theirs in
    -- search_attributes)
    EXECUTE format('UPDATE durable.search_attribute_values v SET %1$I = NULL
                     WHERE v.namespace = $1 AND v.%1$I IS NOT NULL',
                   durable._search_attribute_column(t.type, t.slot))
    USING namespace;
END
$$;
COMMENT ON FUNCTION durable.remove_search_attribute(text, text) IS
    'durable_admin: forget a declared search attribute (its values stay in each workflow''s search_attributes, untyped and no longer filterable).';

CREATE OR REPLACE FUNCTION durable.list_search_attributes(namespace text DEFAULT 'default')
RETURNS TABLE (name text, type text, builtin boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM durable._check_namespace($1);
    PERFORM durable._authorize('reader', NULL, $1);
    RETURN QUERY
        SELECT b.name, b.type, true FROM durable._builtin_search_attributes() b
        UNION ALL
        (SELECT t.name, t.type, false FROM durable.search_attribute_types t
          WHERE t.namespace = $1 ORDER BY t.name);
END
$$;
COMMENT ON FUNCTION durable.list_search_attributes(text) IS
    'durable_operator: the search attributes the list filter language knows in a namespace: the built-in ones, then those declared with add_search_attribute.';

GRANT EXECUTE ON FUNCTION durable.add_search_attribute(text, text, text),
                          durable.remove_search_attribute(text, text) TO durable_admin;
GRANT EXECUTE ON FUNCTION durable.list_search_attributes(text) TO durable_operator;
