# durable.sticky_runs (pgext/src/sticky.c): the store's table of marks is
# direct-mapped, a run taking the slot another held makes that run's next
# history whole; 0 turns sticky histories off. With one slot, and with none:
# a poll naming the worker gets whole histories where the slot is not its
# run's, only the newest events where it is; a real worker that believes it
# is sticky runs four runs at once to the right sums, never skipping a task.
# Restarts the test cluster twice (as t_pg_restart does) and resets the
# setting at the end.
. "$(dirname "$0")/lib.sh"
if [ -z "${DURABLE_PGDATA:-}" ]; then echo "skipped: DURABLE_PGDATA not set (scripts/cluster.sh env)"; exit 0; fi
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
bindir=${DURABLE_PGBIN:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
[ -x "$bindir/pg_ctl" ] || bindir=/usr/lib/postgresql/15/bin
restart() { as_pg "$bindir/pg_ctl" -D "$DURABLE_PGDATA" -l "$DURABLE_PGLOG" -m fast -w restart >/dev/null; }
reset() { sql "ALTER SYSTEM RESET durable.sticky_runs" >/dev/null 2>&1 && restart; }
trap 'stop_workers; reset' EXIT
q=sticky-slots-$RUN
OPTS='{"task_timeout": 10}'
. "$(dirname "$0")/steps_lib.sh"

lease_first() {   # workflow's queue $1: first event id and token of the next task, leased naming 'p'
	sql "SELECT (history -> 0 ->> 'event_id') || ' ' || task_token
	       FROM durable.poll_workflow_tasks('$1', 'slots-test', 1, sticky => 'p')"
}
next() { sql "SELECT durable.complete_workflow_task('$1', '[]')" >/dev/null; sql "SELECT durable.signal_workflow('$2', 'go', 'null')" >/dev/null; }
four_runs() {   # $1: the case's name
	worker "$1" --task-queue "$q" --plugin "$P"; local W=$LAST_PID
	for k in 1 2 3 4; do start "$q-$1-$k" 12 5; done
	for k in 1 2 3 4; do check "$1: run $k runs" wait_until 120 at_least "$q-$1-$k" 12; finish_run "$q-$1-$k"; done
	check "$1: all complete" wait_closed "$q-$1-1" "$q-$1-2" "$q-$1-3" "$q-$1-4"
	for k in 1 2 3 4; do check "$1: run $k's sum" eq "$(sum_of "$q-$1-$k")" "$(want_sum 12)"; done
	stop_worker "$W"
	check "$1: no task skipped" eq "$(grep -c 'skipped: its history does not follow' "$LOGDIR/$1.log")" 0
	check "$1: no workflow task failed or timed out" eq "$(sql "SELECT count(*) FROM durable.history h
		JOIN durable.workflows w USING (run_id) WHERE w.workflow_id LIKE '$q-$1-%'
		AND h.event_type IN ('WorkflowTaskFailed', 'WorkflowTaskTimedOut')")" 0
}

# 1. one slot: two runs take it in turns
sql "ALTER SYSTEM SET durable.sticky_runs = 1" >/dev/null && restart
check "(one slot)" eq "$(sql "SHOW durable.sticky_runs")" 1
sql "SELECT durable.start_workflow('$q-a', 'W', '$q-sql1', 'null'), durable.start_workflow('$q-b', 'W', '$q-sql2', 'null')" >/dev/null
read -r f t <<<"$(lease_first "$q-sql1")"; next "$t" "$q-a"
read -r f t <<<"$(lease_first "$q-sql2")"; next "$t" "$q-b"
read -r f t <<<"$(lease_first "$q-sql1")"
check "a run whose slot another run took: its next history whole" eq "$f" 1
next "$t" "$q-a"
read -r f t <<<"$(lease_first "$q-sql1")"
check "(the slot its own again: only the newest events)" test "$f" -gt 1
sql "SELECT durable.complete_workflow_task('$t', '[]')" >/dev/null
four_runs one

# 2. none: sticky histories off
sql "ALTER SYSTEM SET durable.sticky_runs = 0" >/dev/null && restart
check "(no slots)" eq "$(sql "SHOW durable.sticky_runs")" 0
next "$(sql "SELECT task_token FROM durable.poll_workflow_tasks('$q-sql2', 'slots-test', 1)")" "$q-b"
read -r f t <<<"$(lease_first "$q-sql2")"; next "$t" "$q-b"
read -r f t <<<"$(lease_first "$q-sql2")"
check "sticky_runs 0: the same worker's next history whole" eq "$f" 1
sql "SELECT durable.complete_workflow_task('$t', '[]')" >/dev/null
four_runs none
finish
