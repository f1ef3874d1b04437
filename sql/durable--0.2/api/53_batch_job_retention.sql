-- A closed batch job (api/52_batch_jobs.sql) is kept as long as its
-- namespace keeps closed workflows, then goes with its items: a job keeps a
-- row per run it acted on, so without this every job ever run would stay,
-- long after the runs it names were purged, and its id could never be used
-- again. A namespace whose retention is 0 keeps them, as it keeps its runs.
-- The purge (_purge_closed, api/30_retention.sql) calls it each batch.
-- A job's times are written in its namespace's clock, as its runs' are, so a
-- namespace whose clock was skipped (skip_time(namespace, by)) ages its jobs
-- and its runs alike.
CREATE OR REPLACE FUNCTION durable._purge_closed_batch_jobs(max_items integer, now timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- items first, at most max_items a batch (a job of a million runs is
    -- deleted over many batches, as its runs are), then the emptied jobs
    DELETE FROM durable.batch_job_items i
     USING (SELECT it.namespace, it.job_id, it.seq
              FROM durable.batch_jobs j
              JOIN durable.namespaces n ON n.namespace = j.namespace
             CROSS JOIN LATERAL (SELECT b.namespace, b.job_id, b.seq FROM durable.batch_job_items b
                                  WHERE b.namespace = j.namespace AND b.job_id = j.job_id
                                  ORDER BY b.seq LIMIT max_items) it
             WHERE n.retention > interval '0' AND j.closed_at < now + durable._clock_offset(j.namespace) - n.retention
             LIMIT max_items) gone
     WHERE i.namespace = gone.namespace AND i.job_id = gone.job_id AND i.seq = gone.seq;
    DELETE FROM durable.batch_jobs j
     USING durable.namespaces n
     WHERE n.namespace = j.namespace AND n.retention > interval '0'
       AND j.closed_at < now + durable._clock_offset(j.namespace) - n.retention
       AND NOT EXISTS (SELECT 1 FROM durable.batch_job_items b WHERE b.namespace = j.namespace AND b.job_id = j.job_id);
END
$$;
COMMENT ON FUNCTION durable._purge_closed_batch_jobs(integer, timestamptz) IS
    'Part of the purge: deletes batch jobs closed longer than their namespace''s retention, with their items (at most max_items items a call).';
REVOKE ALL ON FUNCTION durable._purge_closed_batch_jobs(integer, timestamptz) FROM PUBLIC;
