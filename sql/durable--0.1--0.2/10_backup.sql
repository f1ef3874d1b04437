-- 0.1 marked no table for pg_dump, so a backup kept no workflow. Mark every
-- 0.1 table and sequence, as schema/90_backup.sql does for a fresh 0.2.
SELECT pg_catalog.pg_extension_config_dump('durable.workflows', '');
SELECT pg_catalog.pg_extension_config_dump('durable.history', '');
SELECT pg_catalog.pg_extension_config_dump('durable.buffered_events', '');
SELECT pg_catalog.pg_extension_config_dump('durable.buffered_events_seq_seq', '');
SELECT pg_catalog.pg_extension_config_dump('durable.workflow_tasks', '');
SELECT pg_catalog.pg_extension_config_dump('durable.workflow_tasks_task_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('durable.activity_tasks', '');
SELECT pg_catalog.pg_extension_config_dump('durable.activity_tasks_task_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('durable.timers', '');
SELECT pg_catalog.pg_extension_config_dump('durable.schedules', '');
SELECT pg_catalog.pg_extension_config_dump('durable.task_queue_pollers', '');
