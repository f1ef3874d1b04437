-- 0.2 records a failing workflow task's failure in the history once, as
-- Temporal does; the retries' failures are kept on the task (schema/01_tables.sql).
ALTER TABLE durable.workflow_tasks ADD COLUMN last_failure jsonb;
