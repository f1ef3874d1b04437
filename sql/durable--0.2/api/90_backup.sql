-- pg_dump writes an extension's tables without their rows unless they are
-- marked (PostgreSQL: "Extension Configuration Tables"). Every table and
-- sequence of schema durable must be: the pgTAP test 30_backup.sql fails on
-- one that is not. 0.1 marked none. This piece runs in a fresh install and in
-- the upgrade alike (marking again only sets the filter again). A table the
-- install fills with rows of its own needs a filter that leaves those rows out
-- (the restore's CREATE EXTENSION makes them again); these start empty, so
-- they dump every row. (One call a statement: each updates pg_extension's row.)
SELECT pg_catalog.pg_extension_config_dump('durable.workflows', '');
SELECT pg_catalog.pg_extension_config_dump('durable.history_rows', '');
SELECT pg_catalog.pg_extension_config_dump('durable.buffered_events', '');
SELECT pg_catalog.pg_extension_config_dump('durable.buffered_events_seq_seq', '');
SELECT pg_catalog.pg_extension_config_dump('durable.workflow_tasks', '');
SELECT pg_catalog.pg_extension_config_dump('durable.workflow_tasks_task_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('durable.activity_tasks', '');
SELECT pg_catalog.pg_extension_config_dump('durable.activity_tasks_task_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('durable.timers', '');
SELECT pg_catalog.pg_extension_config_dump('durable.schedules', '');
SELECT pg_catalog.pg_extension_config_dump('durable.task_queue_pollers', '');
SELECT pg_catalog.pg_extension_config_dump('durable.clock', '');
