-- 0.1 kept skip_time's offset in the file durable_clock_offset in the data
-- directory (invisible to standbys and backups); 0.2 keeps it in
-- durable.clock (schema/02_clock.sql). Carry a skipped clock over, so that
-- the upgrade does not send durable.now() back in time.
CREATE TABLE durable.clock (
    clock       text PRIMARY KEY CHECK (clock = 'server'),
    offset_us   bigint NOT NULL CHECK (offset_us >= 0),
    skipped_at  timestamptz NOT NULL
);

INSERT INTO durable.clock (clock, offset_us, skipped_at)
SELECT 'server', offset_us, pg_catalog.now()
  FROM (SELECT pg_catalog.btrim(pg_catalog.pg_read_file('durable_clock_offset', 0, 64, true), E' \n')
               AS saved) AS file,
       LATERAL (SELECT CASE WHEN saved ~ '^[0-9]{1,18}$' THEN saved::bigint END AS offset_us) AS parsed
 WHERE offset_us > 0;
