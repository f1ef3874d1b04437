# A store without durable.task_schedule_to_start (durable 0.1, during an
# upgrade): the first backstop poll that asks it fails with 42883, the
# worker says once that it will not ask again, polls at once without it, and
# judges what it finds as before (every find counts).
. "$(dirname "$0")/lib.sh"
PLUGIN=$WORKER_DIR/build/tests/flaky.so
Q=oldstore-$RUN
sql "ALTER FUNCTION durable.task_schedule_to_start(text) RENAME TO task_schedule_to_start_hidden"
restore() { sql "ALTER FUNCTION durable.task_schedule_to_start_hidden(text) RENAME TO task_schedule_to_start"; }
trap restore EXIT
worker old1 --task-queue "$Q" --plugin "$PLUGIN"
check "the worker polls" wait_sql "SELECT count(*) FROM durable.task_queue_pollers WHERE task_queue = '$Q'" 2
psql -qX -v id="$Q-unannounced" -v type=Flaky -v queue="$Q" -v input='"x"' -v skip='5 seconds' \
	-f "$(dirname "$0")/start_unannounced.sql" >/dev/null
check "the unannounced workflow completes" wait_closed "$Q-unannounced"
stop_workers
check "the worker said once that the store cannot say how long a task waited" \
	eq "$(grep -c 'the store has no task_schedule_to_start' "$LOGDIR/old1.log")" 1
check "and no poll failed for it" eq "$(grep -c 'poll_.*_tasks failed' "$LOGDIR/old1.log")" 0
check "the backstop find counted a lost wake-up" test "$(grep -c 'a lost wake-up' "$LOGDIR/old1.log")" -ge 1
finish
