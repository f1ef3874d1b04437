-- 0.2 adds priorities and fairness (api/41_priority.sql): a priority, fairness
-- key and weight on runs, and on their tasks with each task's virtual time.
-- Added empty and filled in, not with ADD COLUMN ... DEFAULT (see 40_flow.sql).
ALTER TABLE durable.workflows ADD COLUMN priority smallint, ADD COLUMN fairness_key text,
                              ADD COLUMN fairness_weight float8;
UPDATE durable.workflows SET priority = 3, fairness_key = '', fairness_weight = 1;
ALTER TABLE durable.workflows ALTER COLUMN priority SET DEFAULT 3, ALTER COLUMN priority SET NOT NULL,
                              ALTER COLUMN fairness_key SET DEFAULT '', ALTER COLUMN fairness_key SET NOT NULL,
                              ALTER COLUMN fairness_weight SET DEFAULT 1, ALTER COLUMN fairness_weight SET NOT NULL;

ALTER TABLE durable.workflow_tasks ADD COLUMN priority smallint, ADD COLUMN fairness_key text,
                                   ADD COLUMN pass float8;
UPDATE durable.workflow_tasks SET priority = 3, fairness_key = '', pass = 0;
ALTER TABLE durable.workflow_tasks ALTER COLUMN priority SET DEFAULT 3, ALTER COLUMN priority SET NOT NULL,
                                   ALTER COLUMN fairness_key SET DEFAULT '', ALTER COLUMN fairness_key SET NOT NULL,
                                   ALTER COLUMN pass SET DEFAULT -1, ALTER COLUMN pass SET NOT NULL;

ALTER TABLE durable.activity_tasks ADD COLUMN priority smallint, ADD COLUMN fairness_weight float8,
                                   ADD COLUMN pass float8;
UPDATE durable.activity_tasks SET priority = 3, fairness_weight = 1, pass = 0;
ALTER TABLE durable.activity_tasks ALTER COLUMN priority SET DEFAULT 3, ALTER COLUMN priority SET NOT NULL,
                                   ALTER COLUMN fairness_weight SET DEFAULT 1,
                                   ALTER COLUMN fairness_weight SET NOT NULL,
                                   ALTER COLUMN pass SET DEFAULT -1, ALTER COLUMN pass SET NOT NULL;

-- polls take the ready tasks by priority, then virtual time
DROP INDEX durable.workflow_tasks_ready;
CREATE INDEX workflow_tasks_ready ON durable.workflow_tasks (namespace, task_queue, priority, pass, task_id)
    WHERE state = 'SCHEDULED';
CREATE INDEX workflow_tasks_ready_by_key ON durable.workflow_tasks (namespace, task_queue, fairness_key, priority, pass)
    WHERE state = 'SCHEDULED';
DROP INDEX durable.activity_tasks_ready;
CREATE INDEX activity_tasks_ready ON durable.activity_tasks (namespace, task_queue, priority, pass, task_id)
    WHERE state = 'SCHEDULED';
CREATE INDEX activity_tasks_ready_by_key ON durable.activity_tasks (namespace, task_queue, fairness_key, priority,
                                                                   pass, task_id)
    WHERE state = 'SCHEDULED';
