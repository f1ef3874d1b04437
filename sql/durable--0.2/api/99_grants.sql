-- Least privilege. Nobody but the owner touches the tables directly; the
-- three roles get exactly the entry points their job needs.
REVOKE ALL ON ALL TABLES IN SCHEMA durable FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA durable FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA durable FROM PUBLIC;

GRANT USAGE ON SCHEMA durable TO durable_worker, durable_operator, durable_admin;

GRANT EXECUTE ON FUNCTION
    durable.now(),
    durable.task_queue_channel(text, text, text),
    durable.poll_workflow_tasks(text, text, integer, jsonb, text, text, text),
    durable.complete_workflow_task(text, jsonb, text),
    durable.complete_workflow_tasks(jsonb, text),
    durable.fail_workflow_task(text, text, jsonb, text),
    durable.poll_activity_tasks(text, text, integer, text),
    durable.complete_activity_task(text, jsonb, text),
    durable.fail_activity_task(text, jsonb, text),
    durable.cancel_activity_task(text, jsonb, text),
    durable.heartbeat_activity_task(text, jsonb),
    durable.complete_activity_tasks(jsonb, text),
    durable.poll_query_tasks(text, text, integer, integer, text, text),
    durable.answer_query_task(text, jsonb, text),
    durable.accept_update_task(text, uuid, text, text, jsonb, text),
    durable.get_history(text, uuid, bigint, integer, text)
TO durable_worker;
-- a wait for queries that holds no snapshot (75_query_wait.sql); ALL
-- FUNCTIONS above leaves procedures out, so PUBLIC's grant goes here
REVOKE ALL ON PROCEDURE durable.wait_for_query_tasks(text, integer, text, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE durable.wait_for_query_tasks(text, integer, text, text, boolean) TO durable_worker;

GRANT EXECUTE ON FUNCTION
    durable.now(),
    durable.start_workflow(text, text, text, jsonb, jsonb, text),
    durable.signal_with_start(text, text, text, text, jsonb, jsonb, jsonb, text),
    durable.signal_workflow(text, text, jsonb, uuid, text, text),
    durable.cancel_workflow(text, text, uuid, text, text),
    durable.terminate_workflow(text, text, jsonb, uuid, text, text),
    durable.reset_workflow(text, bigint, text, uuid, text, text),
    durable.query_workflow(text, text, jsonb, uuid, integer, text),
    durable.update_workflow(text, text, jsonb, text, integer, uuid, text, text),
    durable.describe_workflow(text, uuid, text),
    durable.get_history(text, uuid, bigint, integer, text),
    durable.history_chain(text, uuid, text),
    durable.list_workflows(text, text, text, timestamptz, timestamptz, jsonb, text, integer, text, text, uuid),
    durable.list_task_queues(text),
    durable.list_runs(text, text),
    durable.count_workflows(text, text),
    durable.list_activity_tasks(text, text, integer, bigint),
    durable.watch_history(),
    durable.unwatch_history(),
    durable.create_schedule(text, jsonb, jsonb, jsonb, text),
    durable.delete_schedule(text, text),
    durable.pause_schedule(text, text, text),
    durable.update_schedule(text, jsonb, jsonb, jsonb, text),
    durable.unpause_schedule(text, text, text),
    durable.trigger_schedule(text, text, text),
    durable.backfill_schedule(text, timestamptz, timestamptz, text, text),
    durable.describe_schedule(text, text),
    durable.list_schedules(text),
    durable.list_parked(text),
    durable.retry_parked(text, text, text, text)
TO durable_operator;

-- Per-namespace clocks (16_namespace_clock.sql): operators of a namespace
-- move its clock (_authorize checks which namespace).
GRANT EXECUTE ON FUNCTION durable.now(text) TO durable_worker, durable_operator;
GRANT EXECUTE ON FUNCTION durable.clock_offset(text), durable.skip_time(text, interval),
    durable.skip_to_next_deadline(text)
TO durable_operator;

GRANT durable_worker, durable_operator TO durable_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA durable TO durable_admin;
-- a view's functions are called as its reader: durable.history's (api/01_history.sql)
GRANT EXECUTE ON FUNCTION durable._event_type(smallint, jsonb), durable._event_attributes(uuid, bigint, jsonb)
TO durable_admin;
GRANT EXECUTE ON FUNCTION durable.fire_due(integer), durable.next_due(), durable.clock_offset()
TO durable_admin;

-- Scoped grants: administrators give and take them; anyone may list those
-- they act under.
GRANT EXECUTE ON FUNCTION
    durable.grant_namespace(text, text, text),
    durable.revoke_namespace(text, text, text),
    durable.grant_task_queue(text, text, text),
    durable.revoke_task_queue(text, text, text)
TO durable_admin;
GRANT EXECUTE ON FUNCTION durable.list_grants(text), durable.has_access(text, text, text)
TO durable_worker, durable_operator, durable_scoped;

-- durable_scoped executes what durable_worker or durable_operator may; its
-- members' grants (durable._authorize, inside) say on what. Keep this last,
-- after every grant to those two roles.
GRANT USAGE ON SCHEMA durable TO durable_scoped;
DO $scoped$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_catalog.pg_proc p
              WHERE p.pronamespace = 'durable'::regnamespace
                AND (pg_catalog.has_function_privilege('durable_worker', p.oid, 'EXECUTE')
                     OR pg_catalog.has_function_privilege('durable_operator', p.oid, 'EXECUTE')) LOOP
        EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO durable_scoped', f);
    END LOOP;
END
$scoped$;

-- Wake the timer worker: it may have been waiting for this extension.
SELECT durable._wake_at('-infinity');
