-- Starts workflow :id (type :type, queue :queue, input :input) with no
-- NOTIFY: durable._notify is a no-op inside this transaction only, so no
-- other session ever misses a notification; then moves the clock on by
-- :skip (an interval, '0' for none). Used by e2e/t_wakeups.sh and
-- tests/bench/late_notify.sh:
--   psql -v id=... -v type=... -v queue=... -v input=... -v skip=... -f start_unannounced.sql
\set ON_ERROR_STOP 1
BEGIN;
SELECT pg_get_functiondef('durable._notify(text, text, text)'::regprocedure) AS notify_def \gset
CREATE OR REPLACE FUNCTION durable._notify(kind text, namespace text, task_queue text) RETURNS void
    LANGUAGE plpgsql AS $$ BEGIN END $$;
SELECT durable.start_workflow(:'id', :'type', :'queue', :'input');
:notify_def;
SELECT durable.skip_time(:'skip'::interval) WHERE :'skip'::interval > interval '0';
COMMIT;
