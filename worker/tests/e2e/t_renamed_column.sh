# A store whose answer lacks a column the worker reads (here the wait for
# queries, CALL durable.wait_for_query_tasks, swapped for a copy whose INOUT
# column is called is_ready, as another version of the store might): the
# worker says which call and which column, and counts the call as failed,
# instead of reading "" as the answer (which here waited again and again,
# saying nothing, while queries went unanswered). The real procedure is put
# back on exit, whatever happens. Workflow tasks go on.
. "$(dirname "$0")/lib.sh"
ARGS='text, integer, text, text, boolean'
restore() {
	sql "DO \$\$ BEGIN IF to_regprocedure('durable.t_renamed_query_wait($ARGS)') IS NOT NULL THEN
	         DROP PROCEDURE durable.wait_for_query_tasks($ARGS);
	         ALTER PROCEDURE durable.t_renamed_query_wait($ARGS) RENAME TO wait_for_query_tasks;
	     END IF; END \$\$" >/dev/null
}
trap 'stop_workers; restore' EXIT
sql "ALTER PROCEDURE durable.wait_for_query_tasks($ARGS) RENAME TO t_renamed_query_wait;
     CREATE PROCEDURE durable.wait_for_query_tasks(task_queue text, wait_ms integer DEFAULT 2000,
         namespace text DEFAULT 'default', build_id text DEFAULT NULL, INOUT is_ready boolean DEFAULT NULL)
     LANGUAGE plpgsql AS \$\$ BEGIN PERFORM pg_sleep(0.1); is_ready := true; END \$\$" >/dev/null

q=renamed-$RUN
worker renamed --task-queue "$q" --plugin "$EX/hello.so"
said() { grep -c 'the answer to durable.wait_for_query_tasks has no column "ready"' "$LOGDIR/renamed.log"; }
said_it() { [ "$(said)" -ge 1 ]; }
check "the worker names the call and the column" wait_until 60 said_it
check "as an error that fails the call" grep -q 'ERROR .*has no column "ready" .*the call counts as failed' \
	"$LOGDIR/renamed.log"
sleep 1   # a worker that read "" as the answer would have called again several times by now
check "once: a failed wait is not sent again in a loop" eq "$(said)" 1
sql "SELECT durable.start_workflow('$q-1', 'Hello', '$q', '\"renamed\"')" >/dev/null
check "workflow tasks go on" wait_closed "$q-1"
check "and complete" eq "$(status_of "$q-1")" COMPLETED
stop_workers
restore
check "the real procedure is back" eq "$(sql "SELECT count(*) FROM pg_proc WHERE proname = 'wait_for_query_tasks'")" 1
finish
