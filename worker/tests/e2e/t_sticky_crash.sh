# Sticky marks live in shared memory (pgext/src/sticky.c): a crash of any
# backend makes the postmaster reinitialise it, and every mark must be
# forgotten (never half): the next history a worker is sent is whole.
# 1. At the SQL level: a poll naming a worker after the crash gets the whole
#    history where, before it, the same poll got only the newest events.
# 2. A real worker holding runs through the crash (a backend killed -9,
#    not its own): its runs go on and complete with the sums a replay gives.
. "$(dirname "$0")/lib.sh"
if [ -z "${DURABLE_PGDATA:-}" ]; then echo "skipped: DURABLE_PGDATA not set (scripts/cluster.sh env)"; exit 0; fi
q=sticky-crash-$RUN
OPTS='{"task_timeout": 5}'
. "$(dirname "$0")/steps_lib.sh"

# first event id of the next task of workflow $1, leased naming worker $2
lease_first() {
	sql "SELECT (history -> 0 ->> 'event_id') || ' ' || task_token
	       FROM durable.poll_workflow_tasks('$q-sql', 'crash-test', 1, sticky => '$2')"
}
complete_and_signal() {
	sql "SELECT durable.complete_workflow_task('$1', '[]')" >/dev/null
	sql "SELECT durable.signal_workflow('$q-sql-1', 'go', 'null')" >/dev/null
}
has_sleeper() { [ -n "$(sleeper)" ]; }
sleeper() { sql "SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(600)' LIMIT 1"; }
crash() {   # kill -9 a backend that is not the worker's: the postmaster resets shared memory
	psql -XAtc "SELECT pg_sleep(600)" >/dev/null 2>&1 &
	disown
	wait_until 30 has_sleeper || return 1
	kill -9 "$(sleeper)"
}
up() { psql -XAtc "SELECT 1" >/dev/null 2>&1; }

sql "SELECT durable.start_workflow('$q-sql-1', 'W', '$q-sql', 'null')" >/dev/null
read -r f1 t1 <<<"$(lease_first x proc-crash)"
check "(the first task: whole)" eq "$f1" 1
complete_and_signal "$t1"
read -r f2 t2 <<<"$(lease_first x proc-crash)"
check "before the crash, the same worker's next task: only the newest events" test "$f2" -gt 1
complete_and_signal "$t2"

worker c --task-queue "$q" --plugin "$P"; C=$LAST_PID
start "$q-1" 30 20
start "$q-2" 30 20
check "the worker's runs are under way" wait_until 90 at_least "$q-2" 5

crash
check "the server came back" wait_until 120 up
check "the crash was a reset (the log says so)" wait_until 30 grep -q "terminated by signal 9" "$DURABLE_PGLOG"
read -r f3 t3 <<<"$(lease_first x proc-crash)"
check "after the crash, the same worker's next task: the whole history" eq "$f3" 1
sql "SELECT durable.complete_workflow_task('$t3', '[]')" >/dev/null

for k in 1 2; do check "run $k goes on after the crash" wait_until 180 at_least "$q-$k" 30; finish_run "$q-$k"; done
check "both complete" wait_closed "$q-1" "$q-2"
for k in 1 2; do check "run $k's sum" eq "$(sum_of "$q-$k")" "$(want_sum 30)"; done
check "the worker lived through it" kill -0 "$C"
stop_worker "$C"
check "no task was skipped" eq "$(grep -c 'skipped: its history does not follow' "$LOGDIR/c.log")" 0
finish
