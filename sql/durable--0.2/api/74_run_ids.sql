-- The id of every new run (start, child, continue-as-new, retry, reset): a
-- UUID of version 7, its first 48 bits the time in milliseconds, so the
-- runs that run together share the pages of every index their id leads
-- (issue 15; pgext/src/run_id.c, docs/performance.md "Run ids in time order").
-- The next 12 bits are the millisecond's fraction, kept increasing by each
-- backend, so that a statement's ids are in the order it made them: PARALLEL
-- RESTRICTED keeps a statement's calls in its own backend (a parallel
-- worker's ids would follow its own last id, not the leader's).
CREATE OR REPLACE FUNCTION durable._new_run_id() RETURNS uuid
    AS 'MODULE_PATHNAME', 'durable_new_run_id' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION durable._new_run_id() IS
    'A new run''s id: a version 7 UUID (48 bits of milliseconds, 12 of their fraction, then random), strictly increasing within a backend.';
