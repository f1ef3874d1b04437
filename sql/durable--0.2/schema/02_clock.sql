-- The offsets durable.skip_time adds to the wall clock, as data: WAL-logged,
-- so a streaming standby and a restored backup keep the skipped clocks. No
-- row means no skip; the install writes none, so a restore's COPY never
-- collides with a row CREATE EXTENSION made.
--   clock 'server', namespace '': durable.skip_time(by), the server's clock
--     (durable.now()), under every namespace;
--   clock 'namespace', namespace N: durable.skip_time(N, by), what N's clock
--     (durable.now(N)) runs ahead of the server's (api/16_namespace_clock.sql).
CREATE TABLE durable.clock (
    clock       text NOT NULL,
    offset_us   bigint NOT NULL CHECK (offset_us >= 0),
    skipped_at  timestamptz NOT NULL,
    namespace   text NOT NULL DEFAULT '',
    CONSTRAINT clock_pkey PRIMARY KEY (clock, namespace),
    CONSTRAINT clock_clock_check CHECK (clock = 'server' AND namespace = ''
                                        OR clock = 'namespace' AND namespace <> '')
);
