-- Less WAL per step (issue 15): see docs/performance.md, "Rows written per
-- activity".

-- The GIN on search_attributes skips runs that hold none ('{}'), which wrote
-- an entry at their start and another at their close. Its queries
-- (api/50_search_attributes.sql, api/51_list_filter.sql) state the predicate.
DROP INDEX durable.workflows_search_attributes;
CREATE INDEX workflows_search_attributes ON durable.workflows USING gin (search_attributes)
    WHERE search_attributes <> '{}';

-- The task tables are queues: half-full pages keep room for a lease's new
-- row version on the same page (schema/01_tables.sql). New pages only; an
-- upgraded store's existing pages fill as before until their rows go.
ALTER TABLE durable.workflow_tasks SET (fillfactor = 50);
ALTER TABLE durable.activity_tasks SET (fillfactor = 50);
