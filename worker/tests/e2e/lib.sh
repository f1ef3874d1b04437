# Helpers for the end-to-end tests: real durable-worker processes against the
# cluster named by the PG* variables. Waits have generous deadlines (they only
# turn a hang into a failure); nothing asserts how fast anything is.
set -uo pipefail
WORKER_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# DURABLE_WORKER_BIN: another build of the worker (e.g. one with the sanitizers)
BIN=${DURABLE_WORKER_BIN:-$WORKER_DIR/build/durable-worker}
EX=$WORKER_DIR/build/examples
LOGDIR=$(mktemp -d /tmp/durable-e2e.XXXXXX)
export DURABLE_LEDGER=$LOGDIR/ledger
PIDS=()
LAST_PID=
PASSED=0
FAILED=0
# a unique suffix keeps ids and queues apart from earlier runs on the same cluster
RUN=$(date +%s%N | tail -c 9)

sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }

# worker NAME ARGS...: starts durable-worker in the background; LAST_PID is its pid
worker() {
	local name=$1; shift
	"$BIN" "$@" >>"$LOGDIR/$name.log" 2>&1 &
	disown   # no "Killed" chatter from bash after a kill -9
	LAST_PID=$!
	PIDS+=("$LAST_PID")
}

# stop_worker PID: SIGTERM, then until it has exited (it drains first)
stop_worker() { kill -TERM "$1"; while kill -0 "$1" 2>/dev/null; do sleep 0.05; done; }

stop_workers() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	# disowned, so poll for their exit (SIGTERM drains, then they exit)
	for p in "${PIDS[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.05; done; done
	PIDS=()
}

finish() {
	stop_workers
	echo "$(basename "$0"): $PASSED passed, $FAILED failed (logs in $LOGDIR)"
	[ "$FAILED" -eq 0 ]
}

# check WHAT COMMAND...: counts COMMAND's success; false when it failed, for a
# test that then shows what a failure needs explained (explain_run)
check() {
	local what=$1; shift
	if "$@"; then PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); echo "FAIL: $what"; return 1; fi
}

eq() { [ "$1" = "$2" ] || { echo "  got '$1', want '$2'"; return 1; }; }

status_of() { sql "SELECT status FROM durable.workflows WHERE workflow_id = '$1' ORDER BY started_at DESC LIMIT 1"; }

# wait_closed ID...: until every workflow is closed (deadline 120 s, or
# WAIT_CLOSED_S for a test whose runs are slow by design)
wait_closed() {
	local id deadline=$((SECONDS + ${WAIT_CLOSED_S:-120}))
	for id in "$@"; do
		while [ "$(status_of "$id")" = RUNNING ] || [ -z "$(status_of "$id")" ]; do
			[ $SECONDS -ge $deadline ] && { echo "  $id still $(status_of "$id")"; return 1; }
			sleep 0.1
		done
	done
}

# wait_sql QUERY WANT: until QUERY returns WANT (deadline WAIT_SQL_SECONDS, 60 s)
wait_sql() {
	local deadline=$((SECONDS + ${WAIT_SQL_SECONDS:-60}))
	until [ "$(sql "$1")" = "$2" ]; do
		[ $SECONDS -ge $deadline ] && { echo "  '$1' returned '$(sql "$1")', want '$2'"; return 1; }
		sleep 0.1
	done
}

# wait_until SECONDS COMMAND...: until COMMAND succeeds (false after SECONDS)
wait_until() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.1; done
}

# completions ID: how many runs of the workflow closed as COMPLETED (exactly-once check)
closes() {
	sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
	      WHERE w.workflow_id = '$1' AND h.event_type IN ('WorkflowExecutionCompleted',
	            'WorkflowExecutionFailed', 'WorkflowExecutionCanceled')"
}

# explain_run ID [LOG...]: what a failed check needs to be understood later
# (CI keeps no logs): the run's events, its pending workflow task, and the
# warnings and errors of the named worker logs
explain_run() {
	local id=$1 log; shift
	echo "  events of $id:"
	sql "SELECT h.event_id || ' ' || h.event_type || ' ' || left(h.attributes::text, 160) FROM durable.history h
	       JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$id' ORDER BY h.event_id" | sed 's/^/    /'
	echo "  its workflow task:"
	sql "SELECT t.state || ' attempt ' || t.attempt || ' scheduled_event ' || coalesce(t.scheduled_event_id::text, '-') ||
	            ' timeout_at ' || coalesce(t.timeout_at::text, '-') || ' now ' || durable.now() || ' ' || coalesce(t.last_failure::text, '')
	       FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$id'" | sed 's/^/    /'
	for log in "$@"; do
		echo "  $(basename "$log"):"
		grep -E ' (WARN|ERROR) ' "$log" | tail -30 | sed 's/^/    /'
	done
}

ledger_count() { grep -c "^$1 $2 " "$DURABLE_LEDGER" 2>/dev/null || true; }

# calls_running TEXT: whether another session is running a statement that
# contains TEXT; cut_calls TEXT: their backends terminated (a connection cut
# while that call is in flight), true when at least one was. It waits until
# each has exited: a terminated backend stays in pg_stat_activity, still
# active, until it has, and on a loaded machine the next calls_running took
# the one just cut for a new call and cut it again, a cut that cut nothing
calls_where() { echo "FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%$1%'"; }
calls_running() { [ "$(sql "SELECT count(*) $(calls_where "$1")")" -gt 0 ]; }
cut_calls() { [ "$(sql "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 60000)) $(calls_where "$1")")" -gt 0 ]; }

trap 'stop_workers' EXIT
