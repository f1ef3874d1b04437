# Sticky histories when asking for the whole history fails (worker.c's
# refetch, durable.workflow_task_history): a worker that holds one run
# (--cache 1) and two runs taking turns, so that every task after a run's
# first comes with only its newest events and the worker asks for the
# whole history. 1. The call fails (the function is not there: renamed
# for the test; a role without the grant fails the same way): a clear
# line, the worker stays up, the task times out and comes back, and once
# the call works again both runs complete with the sums a replay gives.
# 2. The connection is cut while the call is in flight, three times: the
# same, and the worker reconnects by itself. Under the sanitizer build
# (DURABLE_WORKER_BIN) this also checks the failure paths' memory.
. "$(dirname "$0")/lib.sh"
q=sticky-rf-$RUN
OPTS='{"task_timeout": 2}'
. "$(dirname "$0")/steps_lib.sh"
restore() { sql "ALTER FUNCTION durable.workflow_task_history_off(text) RENAME TO workflow_task_history" >/dev/null 2>&1; }
trap 'stop_workers; restore' EXIT
timed_out() {
	sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
	      WHERE w.workflow_id LIKE '$q-evict-%' AND h.event_type = 'WorkflowTaskTimedOut'"
}
refetch_failed() { [ "$(grep -c 'its whole history could not be read' "$LOGDIR/f.log")" -ge "$1" ]; }

# 1. workflow_task_history fails
sql "ALTER FUNCTION durable.workflow_task_history(text) RENAME TO workflow_task_history_off" >/dev/null
worker f --task-queue "$q" --plugin "$P" --cache 1; F=$LAST_PID
start_together 6 0 "$q-evict-1" "$q-evict-2"
check "asking for a whole history fails, and says so (twice: the task came back)" wait_until 120 refetch_failed 2
check "(with the store's reason)" grep -q 'whole history could not be read:.*workflow_task_history' "$LOGDIR/f.log"
check "the worker stays up" kill -0 "$F"
check "the task timed out and came back" test "$(timed_out)" -ge 1
check "no run closed meanwhile" eq "$(sql "SELECT count(*) FROM durable.workflows WHERE workflow_id LIKE '$q-evict-%' AND status <> 'RUNNING'")" 0
restore
check "then both run all their activities" wait_until 180 at_least "$q-evict-1" 6
check "(the second too)" wait_until 180 at_least "$q-evict-2" 6
finish_run "$q-evict-1"; finish_run "$q-evict-2"
check "both complete" wait_closed "$q-evict-1" "$q-evict-2"
check "the first's sum" eq "$(sum_of "$q-evict-1")" "$(want_sum 6)"
check "the second's sum" eq "$(sum_of "$q-evict-2")" "$(want_sum 6)"

# 2. connections cut while a whole history is asked for: the call made
#    slow (a stand-in that sleeps, then asks the real one), each in-flight
#    call cut; then the real call back
c=$q-cut
sql "ALTER FUNCTION durable.workflow_task_history(text) RENAME TO workflow_task_history_off" >/dev/null
sql "CREATE FUNCTION durable.workflow_task_history(task_token text) RETURNS jsonb LANGUAGE plpgsql AS \$\$
BEGIN
    PERFORM pg_sleep(1);
    RETURN durable.workflow_task_history_off(task_token);
END \$\$" >/dev/null
restore() {
	sql "DROP FUNCTION IF EXISTS durable.workflow_task_history(text)" >/dev/null 2>&1
	sql "ALTER FUNCTION durable.workflow_task_history_off(text) RENAME TO workflow_task_history" >/dev/null 2>&1
}
start_together 10 5 "$c-1" "$c-2"
cuts=0
for i in 1 2 3; do
	wait_until 120 calls_running "durable.workflow_task_history(" && cut_calls "durable.workflow_task_history(" && cuts=$((cuts + 1))
done
check "three calls cut in flight" eq "$cuts" 3
check "(the worker said so)" wait_until 30 refetch_failed 5
restore
check "after the cuts, the first runs all its activities" wait_until 240 at_least "$c-1" 10
check "(the second too)" wait_until 240 at_least "$c-2" 10
finish_run "$c-1"; finish_run "$c-2"
check "both complete" wait_closed "$c-1" "$c-2"
check "the first's sum" eq "$(sum_of "$c-1")" "$(want_sum 10)"
check "the second's sum" eq "$(sum_of "$c-2")" "$(want_sum 10)"
check "the worker is still the one started" kill -0 "$F"
stop_worker "$F"
check "whole histories were asked for" test "$(sed -n 's/.*workflow tasks (\([0-9]*\) whole histories asked for;.*/\1/p' "$LOGDIR/f.log" | tail -1)" -gt 2
check "no task was skipped" eq "$(grep -c 'skipped: its history does not follow' "$LOGDIR/f.log")" 0
check "no sanitizer report" eq "$(grep -c 'AddressSanitizer\|runtime error' "$LOGDIR/f.log")" 0
finish
