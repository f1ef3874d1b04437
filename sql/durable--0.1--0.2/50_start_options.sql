-- Start options of 0.2 (api/03_start.sql): the request id that makes a
-- retried start return the run it made, and the start delay.
ALTER TABLE durable.workflows ADD COLUMN request_id text;
-- and the start delay (first_workflow_task_backoff), shown by describe
ALTER TABLE durable.workflows ADD COLUMN start_delay interval;
-- _signal_running takes the start options (for the request id), not the identity
DROP FUNCTION durable._signal_running(text, text, text, jsonb, text);
