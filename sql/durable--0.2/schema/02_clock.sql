-- The offset durable.skip_time adds to the wall clock (durable.now()), as data:
-- WAL-logged, so a streaming standby and a restored backup keep the skipped
-- clock. No row means no skip; the install writes none, so a restore's COPY
-- never collides with a row CREATE EXTENSION made. One row per clock: the key
-- is the place a per-namespace clock would go (a namespace column next to it).
CREATE TABLE durable.clock (
    clock       text PRIMARY KEY CHECK (clock = 'server'),
    offset_us   bigint NOT NULL CHECK (offset_us >= 0),
    skipped_at  timestamptz NOT NULL
);
