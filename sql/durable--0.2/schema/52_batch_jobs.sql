-- Batch jobs (api/52_batch_jobs.sql): one operation (signal, cancel,
-- terminate, reset, pause, unpause) applied to every workflow run a list
-- filter matched when the job started, by the timer worker, at the job's own
-- rate, with its progress kept here so that a restart resumes it.
CREATE TABLE durable.batch_jobs (
    namespace        text NOT NULL,
    job_id           text NOT NULL,
    operation        text NOT NULL CHECK (operation IN ('signal', 'cancel', 'terminate', 'reset', 'pause', 'unpause')),
    query            text NOT NULL,
    arguments        jsonb NOT NULL DEFAULT '{}',
    rate_per_second  float8 NOT NULL CHECK (rate_per_second > 0),
    state            text NOT NULL DEFAULT 'RUNNING' CHECK (state IN ('RUNNING', 'COMPLETED', 'STOPPED')),
    total            bigint NOT NULL,
    done             bigint NOT NULL DEFAULT 0,
    failed           bigint NOT NULL DEFAULT 0,
    reason           text,
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    closed_at        timestamptz,
    -- when the timer worker takes the job's next step; NULL once it is closed
    next_step_at     timestamptz,
    PRIMARY KEY (namespace, job_id)
);
CREATE INDEX batch_jobs_due ON durable.batch_jobs (next_step_at) WHERE next_step_at IS NOT NULL;
SELECT pg_catalog.pg_extension_config_dump('durable.batch_jobs', '');

-- The runs a job acts on, fixed when it starts (so total is exact and a run
-- that starts matching later is not swept in), in the order it acts.
CREATE TABLE durable.batch_job_items (
    namespace    text NOT NULL,
    job_id       text NOT NULL,
    seq          bigint NOT NULL,
    workflow_id  text NOT NULL,
    run_id       uuid NOT NULL,
    state        text NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'DONE', 'FAILED')),
    error        text,
    finished_at  timestamptz,
    PRIMARY KEY (namespace, job_id, seq)
);
CREATE INDEX batch_job_items_pending ON durable.batch_job_items (namespace, job_id, seq) WHERE state = 'PENDING';
SELECT pg_catalog.pg_extension_config_dump('durable.batch_job_items', '');
