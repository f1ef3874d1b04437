-- History rows packed (issue 15, less WAL per step; docs/performance.md,
-- "History rows packed"): the table durable.history becomes
-- durable.history_rows, each event's type a code and its attributes packed
-- (pgext/src/history_pack.c), and durable.history a view that shows every
-- event as it was written (api/01_history.sql).
--
-- Every row is converted here, in one rewrite of the table and its primary
-- key under an exclusive lock: the update takes about as long as a CREATE
-- TABLE AS of the history (docs/operations.md, "Upgrading").

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
