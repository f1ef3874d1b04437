# A poll that locks ready tasks and then fails (an error answer, not a lost
# connection) rolls back: its tasks are ready again, and the notification
# that announced them was spent on it. The worker polls again at once
# (durable__poll_again, worker.c). Here the backstop is taken away
# (DURABLE_BACKSTOP_MS: an hour), and a test trigger fails the first lease
# of the workflow's workflow task and of its activity task (a sequence
# counts the attempts: it is not rolled back with them): the workflow
# completes only because each failed poll is followed by another. A poll
# that fails every time is sent twice, not in a loop. Eager execution and
# the hand-back are off, so that every task goes through a poll.
. "$(dirname "$0")/lib.sh"
q=failpoll-$RUN
stuck=failpoll-stuck-$RUN
cleanup() {
	sql "SET client_min_messages = warning; DROP TRIGGER IF EXISTS t_failed_poll ON durable.workflow_tasks;
	     DROP TRIGGER IF EXISTS t_failed_poll ON durable.activity_tasks;
	     DROP FUNCTION IF EXISTS public.t_failed_poll();
	     DROP SEQUENCE IF EXISTS public.t_failed_poll_wf, public.t_failed_poll_act, public.t_failed_poll_stuck" >/dev/null
}
trap 'stop_workers; cleanup' EXIT
cleanup
# the first lease of each kind on queue q fails; every lease on queue stuck does
sql "CREATE SEQUENCE public.t_failed_poll_wf; CREATE SEQUENCE public.t_failed_poll_act;
     CREATE SEQUENCE public.t_failed_poll_stuck;
     CREATE FUNCTION public.t_failed_poll() RETURNS trigger LANGUAGE plpgsql AS \$\$
     BEGIN
         IF NEW.task_queue = '$stuck' THEN
             PERFORM nextval('public.t_failed_poll_stuck');
             RAISE EXCEPTION 't_failed_poll: this queue''s leases always fail';
         ELSIF nextval(CASE TG_TABLE_NAME WHEN 'workflow_tasks' THEN 'public.t_failed_poll_wf'
                                          ELSE 'public.t_failed_poll_act' END::regclass) = 1 THEN
             RAISE EXCEPTION 't_failed_poll: the first lease of a % fails', TG_TABLE_NAME;
         END IF;
         RETURN NEW;
     END \$\$;
     CREATE TRIGGER t_failed_poll BEFORE UPDATE ON durable.workflow_tasks FOR EACH ROW
         WHEN (NEW.task_queue IN ('$q', '$stuck') AND OLD.state = 'SCHEDULED' AND NEW.state = 'STARTED')
         EXECUTE FUNCTION public.t_failed_poll();
     CREATE TRIGGER t_failed_poll BEFORE UPDATE ON durable.activity_tasks FOR EACH ROW
         WHEN (NEW.task_queue IN ('$q', '$stuck') AND OLD.state = 'SCHEDULED' AND NEW.state = 'STARTED')
         EXECUTE FUNCTION public.t_failed_poll();" >/dev/null

DURABLE_BACKSTOP_MS=3600000 worker failpoll --task-queue "$q" --plugin "$EX/hello.so" --no-eager --no-handback
check "the worker polls" wait_sql "SELECT count(*) FROM durable.task_queue_pollers WHERE task_queue = '$q'" 2
sql "SELECT durable.start_workflow('$q-1', 'Hello', '$q', '\"failpoll\"')" >/dev/null
check "the workflow completes without a backstop poll" wait_closed "$q-1"
check "as COMPLETED" eq "$(status_of "$q-1")" COMPLETED
check "its workflow task poll failed once" \
	eq "$(grep -c 'poll_workflow_tasks failed: .*the first lease of a workflow_tasks fails' "$LOGDIR/failpoll.log")" 1
check "its activity task poll failed once" \
	eq "$(grep -c 'poll_activity_tasks failed: .*the first lease of a activity_tasks fails' "$LOGDIR/failpoll.log")" 1
check "its activity ran once" eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
                                        WHERE w.workflow_id = '$q-1' AND h.event_type = 'ActivityTaskStarted'")" 1
stop_workers

DURABLE_BACKSTOP_MS=3600000 worker stuck --task-queue "$stuck" --plugin "$EX/hello.so" --no-eager --no-handback
check "the second worker polls" wait_sql "SELECT count(*) FROM durable.task_queue_pollers WHERE task_queue = '$stuck'" 2
sql "SELECT durable.start_workflow('$stuck-1', 'Hello', '$stuck', '\"stuck\"')" >/dev/null
attempts() { sql "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM public.t_failed_poll_stuck"; }
check "a poll that always fails is sent again at once" wait_sql "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM public.t_failed_poll_stuck" 2
sleep 2   # a loop would have sent many more by now
check "and then not again, until a notification or the backstop" eq "$(attempts)" 2
check "the workflow is still running" eq "$(status_of "$stuck-1")" RUNNING
sql "SELECT durable.terminate_workflow('$stuck-1', 'test over')" >/dev/null
finish
