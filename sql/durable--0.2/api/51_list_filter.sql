-- The list filter language (Temporal's visibility queries) of list_workflows,
-- count_workflows and batch jobs. The filter is compiled in C
-- (pgext/src/list_filter.c) into SQL made only of the compiler's own text,
-- and one text[] of the filter's values, always passed as a parameter ($1):
-- no text of a filter ever becomes SQL. The statements below are assembled
-- from those pieces and fixed text, then run with EXECUTE ... USING.

CREATE OR REPLACE FUNCTION durable._compile_list_filter(
    filter text, names text[], types text[], slots integer[], for_count boolean,
    OUT where_sql text, OUT order_sql text, OUT anchor_sql text, OUT after_sql text,
    OUT params text[], OUT group_by_status boolean)
AS 'MODULE_PATHNAME', 'durable_compile_list_filter' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- Compiles a filter against the attributes declared in a namespace.
CREATE OR REPLACE FUNCTION durable._compile_namespace_filter(
    filter text, namespace text, for_count boolean,
    OUT where_sql text, OUT order_sql text, OUT anchor_sql text, OUT after_sql text,
    OUT params text[], OUT group_by_status boolean)
LANGUAGE sql STABLE AS $$
    SELECT c.* FROM (SELECT coalesce(array_agg(t.name ORDER BY t.name), '{}') AS names,
                            coalesce(array_agg(t.type ORDER BY t.name), '{}') AS types,
                            coalesce(array_agg(t.slot ORDER BY t.name), '{}') AS slots
                       FROM durable.search_attribute_types t WHERE t.namespace = $2) d,
                    durable._compile_list_filter($1, d.names, d.types, d.slots, $3) c
$$;

-- The FROM clause every compiled filter is written against: workflows w and
-- the typed values v of its declared attributes (the planner drops the join
-- when the filter uses none). The namespace in the join lets a condition on
-- v alone start from its slot's index, (namespace, slot).
CREATE OR REPLACE FUNCTION durable._list_filter_from() RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'durable.workflows w LEFT JOIN durable.search_attribute_values v'
        || ' ON v.run_id = w.run_id AND v.namespace = w.namespace'
$$;

-- The statement list_workflows runs for a filter: $1 the filter's values,
-- $2 the namespace, $3 the run to continue after (with_anchor), $4 the page
-- size. Also what tests EXPLAIN.
CREATE OR REPLACE FUNCTION durable._list_filter_sql(where_sql text, order_sql text, anchor_sql text, after_sql text,
                                                    with_anchor boolean, extra_where text DEFAULT '')
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN CASE WHEN with_anchor THEN
               'WITH a AS MATERIALIZED (SELECT ' || anchor_sql || ' FROM ' || durable._list_filter_from()
               || ' WHERE w.namespace = $2 AND w.run_id = $3) ' ELSE '' END
        || 'SELECT w.workflow_id, w.run_id, w.workflow_type, w.task_queue, w.status, w.started_at,'
        || ' w.closed_at, w.search_attributes, w.memo FROM ' || durable._list_filter_from()
        || CASE WHEN with_anchor THEN ' CROSS JOIN a' ELSE '' END
        || ' WHERE w.namespace = $2 AND ' || where_sql
        || CASE WHEN with_anchor THEN ' AND ' || after_sql ELSE '' END
        || extra_where
        || ' ORDER BY ' || order_sql || ' LIMIT $4';
END
$$;

-- (The arguments are named apart from the result's columns, as PL/pgSQL
-- requires; list_workflows passes them in its own order.)
CREATE OR REPLACE FUNCTION durable._list_workflows_by_filter(
    filter text, in_namespace text, after_run uuid, page_size integer,
    with_status text, with_type text, with_queue text, started_after timestamptz, started_before timestamptz,
    with_attributes jsonb)
RETURNS TABLE (workflow_id text, run_id uuid, workflow_type text, task_queue text, status text,
               started_at timestamptz, closed_at timestamptz, search_attributes jsonb, memo jsonb)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c record;
    extra text := '';
BEGIN
    c := durable._compile_namespace_filter($1, $2, false);
    IF $3 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM durable.workflows w WHERE w.namespace = $2 AND w.run_id = $3) THEN
        PERFORM durable._bad_input(format('after_run_id %s is not a run of namespace "%s"', $3, $2), NULL,
            'Pass the run_id of the last row of the previous page (it may have been purged: start again).');
    END IF;
    -- list_workflows' older filters, ANDed: fixed text, their values are parameters
    IF $5 IS NOT NULL THEN extra := extra || ' AND w.status = $5'; END IF;
    -- as the filter states it for its own closed statuses (pgext/src/list_filter.c,
    -- state_closed): by CloseTime, workflows_closed serves a closed status
    IF $5 IS NOT NULL AND $5 <> 'RUNNING' AND c.order_sql LIKE 'w.closed_at%' THEN
        extra := extra || ' AND w.closed_at IS NOT NULL';
    END IF;
    IF $6 IS NOT NULL THEN extra := extra || ' AND w.workflow_type = $6'; END IF;
    IF $7 IS NOT NULL THEN extra := extra || ' AND w.task_queue = $7'; END IF;
    IF $8 IS NOT NULL THEN extra := extra || ' AND w.started_at >= $8'; END IF;
    IF $9 IS NOT NULL THEN extra := extra || ' AND w.started_at < $9'; END IF;
    -- a non-empty match implies the partial GIN's predicate; stated, so its index can serve
    IF $10 IS NOT NULL THEN
        extra := extra || ' AND w.search_attributes @> $10'
                 || CASE WHEN $10 <> '{}' THEN ' AND w.search_attributes <> ''{}''' ELSE '' END;
    END IF;
    RETURN QUERY EXECUTE durable._list_filter_sql(c.where_sql, c.order_sql, c.anchor_sql, c.after_sql,
                                                  $3 IS NOT NULL, extra)
        USING c.params, $2, $3, $4, $5, $6, $7, $8, $9, $10;
END
$$;

CREATE OR REPLACE FUNCTION durable._count_workflows_by_filter(filter text, namespace text)
RETURNS TABLE (status text, workflows bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    c record;
BEGIN
    c := durable._compile_namespace_filter($1, $2, true);
    RETURN QUERY EXECUTE
        'SELECT ' || CASE WHEN c.group_by_status THEN 'w.status' ELSE 'NULL::text' END || ', count(*)'
        || ' FROM ' || durable._list_filter_from()
        || ' WHERE w.namespace = $2 AND ' || c.where_sql
        || CASE WHEN c.group_by_status THEN ' GROUP BY w.status ORDER BY w.status' ELSE '' END
        USING c.params, $2;
END
$$;
