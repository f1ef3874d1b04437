#!/usr/bin/env bash
# A workflow task the hand-back inserted already leased (api/76_handback.sql,
# _handback_take) outlives its worker as a polled lease does: a client
# process takes one with complete_activity_tasks_eager, the commit returns,
# and the process is killed with SIGKILL (its backend goes with the
# connection); its twin's task is leased by poll_workflow_tasks, and that
# client killed the same way. Once the clock passes the task
# timeout, the timer worker times both leases out (WorkflowTaskTimedOut) and
# offers the tasks again; another worker's poll takes both, completes them,
# and the two runs close with the same history.
set -euo pipefail
fail() { echo "handback_crash: FAIL: $*"; exit 1; }
sql() { psql -qXtA -v ON_ERROR_STOP=1 "$@"; }
ns="hbc-$$-$(date +%s)"
q=hbc
sql -c "SELECT durable.register_namespace('$ns')" >/dev/null

# run WID: starts WID with one activity, leased; prints its token
run() {
    sql -c "SELECT durable.start_workflow('$1', 'W', '$q', 'null', '{}', '$ns')" >/dev/null
    sql -c "SELECT count(durable.complete_workflow_task(p.task_token,
                '[{\"type\": \"ScheduleActivityTask\", \"activity_id\": \"x\", \"activity_type\": \"a\", \"start_to_close_timeout\": 300}]'))
              FROM durable.poll_workflow_tasks('$q', 'setup', 1, NULL, '$ns') p" >/dev/null
    sql -c "SELECT p.task_token FROM durable.poll_activity_tasks('$q', 'setup', 1, '$ns') p"
}
# state WID: its workflow task's state, attempt and identity
state() {
    sql -c "SELECT wt.state || ' ' || wt.attempt || ' ' || coalesce(wt.identity, '-')
              FROM durable.workflow_tasks wt JOIN durable.workflows w USING (run_id)
             WHERE w.namespace = '$ns' AND w.workflow_id = '$1'"
}
# eventually WID WANT: waits (60 s at most) for WID's task state to be WANT
eventually() {
    local i got=
    for i in $(seq 1 600); do
        got=$(state "$1")
        [ "$got" = "$2" ] && return 0
        sleep 0.1
    done
    fail "$1: task '$got', want '$2'"
}
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "${tmp:-}"' EXIT
done_json() { echo "[{\"task_token\": \"$1\", \"result\": 1}]"; }

a=$(run hbc-handback)
b=$(run hbc-polled)
# the two workers: each leases its task, commits, and waits to be killed
tmp=$(mktemp -d)
# worker NAME: a client process reading its statements from stdin, in the
# background (its pid in $tmp/NAME; its shell reaps it quietly once killed)
worker() {
    cat > "$tmp/$1.sql"   # (psql -f: each statement commits on its own)
    ( psql -qXtA -v ON_ERROR_STOP=1 -f "$tmp/$1.sql" >/dev/null 2>&1 & echo $! > "$tmp/$1"; wait ) 2>/dev/null &
    for _ in $(seq 1 100); do [ -s "$tmp/$1" ] && break; sleep 0.05; done
    pids+=("$(cat "$tmp/$1")")
}
worker handback <<SQL
SELECT count(*) FROM durable.complete_activity_tasks_eager('$(done_json "$a")', 'crashy', '$q', 1, '$ns');
SELECT pg_sleep(300);
SQL
eventually hbc-handback "STARTED 1 crashy"
[ "$(sql -c "SELECT count(*) FROM durable.workflow_tasks wt JOIN durable.workflows w USING (run_id)
              WHERE w.workflow_id = 'hbc-handback' AND wt.fence = 1 AND wt.timeout_at IS NOT NULL")" = 1 ] \
    || fail "the hand-back's task is not a first lease with a deadline"
worker polled <<SQL
SELECT count(*) FROM durable.complete_activity_tasks('$(done_json "$b")', 'crashy');
SELECT count(*) FROM durable.poll_workflow_tasks('$q', 'crashy', 1, NULL, '$ns');
SELECT pg_sleep(300);
SQL
eventually hbc-polled "STARTED 1 crashy"
kill -9 "${pids[@]}"
pids=()
# and their backends, as a dead worker's connection ends: left in pg_sleep
# they would hold their snapshots for five minutes, which a later test's
# REINDEX INDEX CONCURRENTLY waits for (cached_index_remade)
sql -c "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity
         WHERE datname = current_database() AND query = 'SELECT pg_sleep(300);'" >/dev/null

# past the workflow task timeout (10 s); the global clock, as the other tests
# here move it (a namespace's offset left behind would make every later
# append on this cluster read its run's namespace)
sql -c "SELECT durable.skip_time(interval '11 seconds')" >/dev/null
eventually hbc-handback "SCHEDULED 2 -"
eventually hbc-polled "SCHEDULED 2 -"
hist() {
    sql -c "SELECT string_agg(event_type || ' ' || (attributes - 'first_execution_run_id')::text, E'\n' ORDER BY event_id)
              FROM durable.get_history('$1', namespace => '$ns')"
}
grep -q '^WorkflowTaskTimedOut' <<< "$(hist hbc-handback)" || fail "no WorkflowTaskTimedOut in the hand-back's run: $(hist hbc-handback)"
# another worker takes both and closes the runs
[ "$(sql -c "SELECT count(durable.complete_workflow_task(p.task_token, '[{\"type\": \"CompleteWorkflowExecution\"}]'))
               FROM durable.poll_workflow_tasks('$q', 'rescuer', 2, NULL, '$ns') p")" = 2 ] \
    || fail "the timed-out tasks were not offered again"
for wid in hbc-handback hbc-polled; do
    [ "$(sql -c "SELECT status FROM durable.workflows WHERE namespace = '$ns' AND workflow_id = '$wid'")" = COMPLETED ] \
        || fail "$wid did not close"
done
[ "$(hist hbc-handback)" = "$(hist hbc-polled)" ] \
    || fail "the histories differ:
$(diff <(hist hbc-handback) <(hist hbc-polled))"
echo "handback_crash: ok (a task leased at its insert by the hand-back, its worker killed after the commit, timed out and retried as a polled one)"
