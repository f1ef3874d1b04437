# Sticky histories and a poll that rolls back (pgext/src/sticky.c): a real
# worker leases two tasks in one poll, the first of a run it holds, and the
# poll fails on the second (a trigger raises once, as any error after the
# render would: a deadlock, a full disk, a statement timeout); its
# transaction rolls back, the first run's WorkflowTaskStarted with it, and
# the next poll leases that task again with the same started event id.
# What must hold: the run's next history brings the signals that made the
# task (never an empty one that the worker takes for "nothing new"), the
# run completes with them in its sum, nothing is skipped or fails.
. "$(dirname "$0")/lib.sh"
q=sticky-rb-$RUN
OPTS='{"task_timeout": 10}'
. "$(dirname "$0")/steps_lib.sh"
A=$q-held
B=$q-poison
sql "CREATE SEQUENCE IF NOT EXISTS public.sticky_rb_poison" >/dev/null
sql "CREATE OR REPLACE FUNCTION public.sticky_rb_poison() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
    IF (SELECT workflow_id FROM durable.workflows WHERE run_id = NEW.run_id) = '$B'
       AND EXISTS (SELECT 1 FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id)
                    WHERE w.workflow_id = '$A' AND t.state = 'STARTED')
       AND nextval('public.sticky_rb_poison') = 1 THEN
        RAISE EXCEPTION 'sticky_rb: the poll fails after rendering $A''s history';
    END IF;
    RETURN NEW;
END \$\$" >/dev/null
sql "CREATE TRIGGER sticky_rb_poison BEFORE UPDATE ON durable.workflow_tasks FOR EACH ROW
     WHEN (OLD.state = 'SCHEDULED' AND NEW.state = 'STARTED') EXECUTE FUNCTION public.sticky_rb_poison()" >/dev/null
cleanup() {
	sql "DROP TRIGGER IF EXISTS sticky_rb_poison ON durable.workflow_tasks;
	     DROP FUNCTION IF EXISTS public.sticky_rb_poison(); DROP SEQUENCE IF EXISTS public.sticky_rb_poison" >/dev/null
}
trap 'stop_workers; cleanup' EXIT

idle() { # no task of the queue is ready or leased
	[ "$(sql "SELECT count(*) FROM durable.workflow_tasks WHERE task_queue = '$q'")" = 0 ]
}
result_of() { sql "SELECT result FROM durable.workflows WHERE workflow_id = '$1' AND status = 'COMPLETED'"; }

DURABLE_LOG=debug worker w --task-queue "$q" --plugin "$P"; W=$LAST_PID
start "$A" 2 0
check "the held run does its steps" wait_until 90 at_least "$A" 2
check "(and waits for its signal, the worker holding its history)" wait_until 90 idle

# the worker stopped: the held run's task, then the poisoned run's, both
# ready when it polls again
kill -STOP "$W"
sql "SELECT durable.signal_workflow('$A', 'add', '100')" >/dev/null
finish_run "$A"
start "$B" 1 0
kill -CONT "$W"

check "the poll that held both failed after rendering the first" \
	wait_sql "SELECT (SELECT last_value FROM public.sticky_rb_poison) >= 1 AND (SELECT is_called FROM public.sticky_rb_poison)" t
check "(and the worker saw it fail)" wait_until 60 grep -q 'sticky_rb: the poll fails' "$LOGDIR/w.log"
check "the held run completes" wait_closed "$A"
check "with the signal the rolled-back poll had rendered" eq "$(result_of "$A")" '{"sum": 103, "adds": 1, "steps": 2}'
finish_run "$B"
check "the poisoned run completes too" wait_closed "$B"
stop_worker "$W"
check "no task was skipped" eq "$(grep -c 'skipped: its history does not follow' "$LOGDIR/w.log")" 0
check "no workflow task failed or timed out" eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
	WHERE w.workflow_id IN ('$A', '$B') AND h.event_type IN ('WorkflowTaskFailed', 'WorkflowTaskTimedOut')")" 0
finish
