-- Typed visibility (api/50_search_attributes.sql, api/51_list_filter.sql).
-- An operator declares a search attribute of a namespace with a type; it
-- takes a free slot of that type (Temporal's SQL visibility does the same:
-- Keyword01..10, Int01..03, ...). The value of every declared attribute a run
-- holds is copied, typed, into that slot's column of search_attribute_values,
-- which has one index per slot: a filter on CustomerId is an index scan on
-- keyword03 whichever namespace calls it so. workflows.search_attributes
-- stays the document users see; attributes nobody declared are kept there,
-- as in 0.1, untyped and not filterable by the list filter language.
CREATE TABLE durable.search_attribute_types (
    namespace   text NOT NULL,
    name        text NOT NULL,
    type        text NOT NULL CHECK (type IN ('Keyword', 'Text', 'Int', 'Double', 'Bool',
                                              'Datetime', 'KeywordList')),
    slot        integer NOT NULL CHECK (slot BETWEEN 1 AND 10),
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (namespace, name),
    UNIQUE (namespace, type, slot)
);
SELECT pg_catalog.pg_extension_config_dump('durable.search_attribute_types', '');

-- One row per run that holds a declared attribute (none for the others, so
-- runs without search attributes cost nothing here). Keywords compare
-- bytewise (COLLATE "C"), as Temporal's do, which also lets STARTS_WITH use
-- their indexes. The purge deletes it
-- with its run (api/30_retention.sql).
CREATE TABLE durable.search_attribute_values (
    run_id           uuid PRIMARY KEY,
    namespace        text NOT NULL,
    keyword01        text COLLATE "C",
    keyword02        text COLLATE "C",
    keyword03        text COLLATE "C",
    keyword04        text COLLATE "C",
    keyword05        text COLLATE "C",
    keyword06        text COLLATE "C",
    keyword07        text COLLATE "C",
    keyword08        text COLLATE "C",
    keyword09        text COLLATE "C",
    keyword10        text COLLATE "C",
    text01           tsvector,
    text02           tsvector,
    text03           tsvector,
    int01            bigint,
    int02            bigint,
    int03            bigint,
    double01         float8,
    double02         float8,
    double03         float8,
    bool01           boolean,
    bool02           boolean,
    bool03           boolean,
    datetime01       timestamptz,
    datetime02       timestamptz,
    datetime03       timestamptz,
    keywordlist01    text[],
    keywordlist02    text[],
    keywordlist03    text[]
);
-- Derived data: a dump keeps none of its rows. A restore's COPY of workflows
-- fires the trigger that writes them (api/50_search_attributes.sql), after
-- search_attribute_types, whose data comes first in a dump (by name); a COPY
-- of the rows as well would collide with the trigger's.
SELECT pg_catalog.pg_extension_config_dump('durable.search_attribute_values', 'WHERE false');
CREATE INDEX search_attribute_values_keyword01 ON durable.search_attribute_values (namespace, keyword01)
    WHERE keyword01 IS NOT NULL;
CREATE INDEX search_attribute_values_keyword02 ON durable.search_attribute_values (namespace, keyword02)
    WHERE keyword02 IS NOT NULL;
CREATE INDEX search_attribute_values_keyword03 ON durable.search_attribute_values (namespace, keyword03)
    WHERE keyword03 IS NOT NULL;
CREATE INDEX search_attribute_values_keyword04 ON durable.search_attribute_values (namespace, keyword04)
    WHERE keyword04 IS NOT NULL;
CREATE INDEX search_attribute_values_keyword05 ON durable.search_attribute_values (namespace, keyword05)
    WHERE keyword05 IS NOT NULL;
CREATE INDEX search_attribute_values_keyword06 ON durable.search_attribute_values (namespace, keyword06)
    WHERE keyword06 IS NOT NULL;
CREATE INDEX search_attribute_values_keyword07 ON durable.search_attribute_values (namespace, keyword07)
    WHERE keyword07 IS NOT NULL;
CREATE INDEX search_attribute_values_keyword08 ON durable.search_attribute_values (namespace, keyword08)
    WHERE keyword08 IS NOT NULL;
CREATE INDEX search_attribute_values_keyword09 ON durable.search_attribute_values (namespace, keyword09)
    WHERE keyword09 IS NOT NULL;
CREATE INDEX search_attribute_values_keyword10 ON durable.search_attribute_values (namespace, keyword10)
    WHERE keyword10 IS NOT NULL;
CREATE INDEX search_attribute_values_text01 ON durable.search_attribute_values USING gin (text01);
CREATE INDEX search_attribute_values_text02 ON durable.search_attribute_values USING gin (text02);
CREATE INDEX search_attribute_values_text03 ON durable.search_attribute_values USING gin (text03);
CREATE INDEX search_attribute_values_int01 ON durable.search_attribute_values (namespace, int01)
    WHERE int01 IS NOT NULL;
CREATE INDEX search_attribute_values_int02 ON durable.search_attribute_values (namespace, int02)
    WHERE int02 IS NOT NULL;
CREATE INDEX search_attribute_values_int03 ON durable.search_attribute_values (namespace, int03)
    WHERE int03 IS NOT NULL;
CREATE INDEX search_attribute_values_double01 ON durable.search_attribute_values (namespace, double01)
    WHERE double01 IS NOT NULL;
CREATE INDEX search_attribute_values_double02 ON durable.search_attribute_values (namespace, double02)
    WHERE double02 IS NOT NULL;
CREATE INDEX search_attribute_values_double03 ON durable.search_attribute_values (namespace, double03)
    WHERE double03 IS NOT NULL;
CREATE INDEX search_attribute_values_bool01 ON durable.search_attribute_values (namespace, bool01)
    WHERE bool01 IS NOT NULL;
CREATE INDEX search_attribute_values_bool02 ON durable.search_attribute_values (namespace, bool02)
    WHERE bool02 IS NOT NULL;
CREATE INDEX search_attribute_values_bool03 ON durable.search_attribute_values (namespace, bool03)
    WHERE bool03 IS NOT NULL;
CREATE INDEX search_attribute_values_datetime01 ON durable.search_attribute_values (namespace, datetime01)
    WHERE datetime01 IS NOT NULL;
CREATE INDEX search_attribute_values_datetime02 ON durable.search_attribute_values (namespace, datetime02)
    WHERE datetime02 IS NOT NULL;
CREATE INDEX search_attribute_values_datetime03 ON durable.search_attribute_values (namespace, datetime03)
    WHERE datetime03 IS NOT NULL;
CREATE INDEX search_attribute_values_keywordlist01 ON durable.search_attribute_values USING gin (keywordlist01);
CREATE INDEX search_attribute_values_keywordlist02 ON durable.search_attribute_values USING gin (keywordlist02);
CREATE INDEX search_attribute_values_keywordlist03 ON durable.search_attribute_values USING gin (keywordlist03);

-- The built-in attributes the list filter sorts and filters by most:
-- WorkflowType, StartTime, and the rare statuses of closed runs (written
-- once, at the close; Running uses workflows_one_open_run and CloseTime
-- workflows_closed). COMPLETED, the status most runs close with, is left
-- out: a filter on it is not selective (workflows_by_start with the status
-- as a filter reads few rows more than it returns), and an entry here cost
-- every completed run ~100 bytes of WAL (issue 15, docs/performance.md
-- "Index entries cut").
CREATE INDEX workflows_by_type ON durable.workflows (namespace, workflow_type, started_at, run_id);
CREATE INDEX workflows_by_start ON durable.workflows (namespace, started_at, run_id);
CREATE INDEX workflows_closed_by_status ON durable.workflows (namespace, status, closed_at)
    WHERE status NOT IN ('RUNNING', 'COMPLETED');
