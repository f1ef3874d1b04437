-- History rows packed (issue 15, less WAL per step; docs/performance.md,
-- "History rows packed"): the table durable.history becomes
-- durable.history_rows, each event's type a code and its attributes packed
-- (pgext/src/history_pack.c), and durable.history a view that shows every
-- event as it was written (api/01_history.sql).
--
-- Every row is converted here, in one rewrite of the table and its primary
-- key under an exclusive lock: the update takes about as long as a CREATE
-- TABLE AS of the history (docs/operations.md, "Upgrading").

-- The operator's own objects on the 0.1 table would not survive the
-- conversion: a view (or rule, or SQL-body function) stops it with "cannot
-- alter type of a column used by a view", naming a column the operator never
-- had; a trigger or a publication would follow the table to its packed rows,
-- where a trigger that reads NEW.event_type fails every append of every
-- workflow. Name them and change nothing (tests/upgrade/history_users.sh).
DO $users$
DECLARE
    users text;
BEGIN
    SELECT string_agg(o.what, ', ' ORDER BY o.what) INTO users FROM (
        SELECT DISTINCT format('view %s', r.ev_class::regclass) AS what
          FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
         WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
           AND d.refobjid = 'durable.history'::regclass AND r.ev_class <> 'durable.history'::regclass
        UNION ALL
        SELECT format('rule %I on durable.history', r.rulename) FROM pg_catalog.pg_rewrite r
         WHERE r.ev_class = 'durable.history'::regclass
        UNION ALL
        SELECT format('trigger %I on durable.history', t.tgname) FROM pg_catalog.pg_trigger t
         WHERE t.tgrelid = 'durable.history'::regclass AND NOT t.tgisinternal
           AND t.tgname <> 'history_is_append_only'
        UNION ALL
        SELECT DISTINCT format('function %s', d.objid::regprocedure) FROM pg_catalog.pg_depend d
         WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
           AND d.refobjid = 'durable.history'::regclass
        UNION ALL
        SELECT format('publication %I', p.pubname)
          FROM pg_catalog.pg_publication_rel pr JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid
         WHERE pr.prrelid = 'durable.history'::regclass) o;
    IF users IS NOT NULL THEN
        RAISE EXCEPTION 'durable 0.2 stores the history differently, and objects of your own depend on durable.history: %', users
            USING ERRCODE = 'dependent_objects_still_exist',
                  HINT = 'Nothing was changed. Drop them, run ALTER EXTENSION durable UPDATE again, then make them again: '
                         'durable.history keeps its columns (as a view); a trigger goes on durable.history_rows, '
                         'whose rows are packed (docs/operations.md, "Upgrading").';
    END IF;
END
$users$;

-- The two conversions, before api/ defines them again (the same text).
CREATE OR REPLACE FUNCTION durable._event_code(event_type text) RETURNS smallint
    AS 'MODULE_PATHNAME', 'durable_event_code' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION durable._event_pack(run uuid, event_id bigint, event_type text, attributes jsonb) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'durable_event_pack' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

ALTER TABLE durable.history RENAME TO history_rows;
ALTER TABLE durable.history_rows RENAME COLUMN event_type TO event_code;
ALTER TABLE durable.history_rows RENAME COLUMN attributes TO attributes_packed;
-- (each USING reads the row as it was: event_code is still the type's name)
ALTER TABLE durable.history_rows
    ALTER COLUMN event_code TYPE smallint USING durable._event_code(event_code),
    ALTER COLUMN attributes_packed TYPE jsonb USING durable._event_pack(run_id, event_id, event_code, attributes_packed);

-- Room on each page for a run's close (schema/01_tables.sql). New pages only:
-- an upgraded store's full pages stay as they are until vacuum frees room.
ALTER TABLE durable.workflows SET (fillfactor = 80);
