-- Workflow retry (api/16_workflow_retry.sql): a run's attempt and its retry
-- policy, after the columns of 60_build_ids.sql (schema/01_tables.sql has
-- them in this order). attempt is added empty and filled in, not with ADD
-- COLUMN ... DEFAULT: that would leave a "missing value" in the catalog that
-- a fresh 0.2 does not have.
ALTER TABLE durable.workflows ADD COLUMN attempt integer;
UPDATE durable.workflows SET attempt = 1;
ALTER TABLE durable.workflows ALTER COLUMN attempt SET DEFAULT 1, ALTER COLUMN attempt SET NOT NULL;
ALTER TABLE durable.workflows ADD COLUMN retry_policy jsonb;
-- _create_run takes the attempt of a retried run
DROP FUNCTION durable._create_run(text, text, text, text, jsonb, jsonb, uuid, uuid, timestamptz, uuid, text, bigint,
                                  text, text, jsonb, uuid);
