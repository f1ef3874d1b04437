#!/usr/bin/env bash
# Workflow tasks written with the heap and index APIs (pgext/src/task_insert.c:
# heap_insert and each index's insert, not the executor) survive real crashes
# and online index rebuilds as the executor's rows did. On a cluster of its
# own, three clients start workflows (durable.start_workflow, whose
# _schedule_workflow_task writes the task directly), one autocommit statement
# each, printing the run id once committed:
#  0. while workflow_tasks's ready and run_id indexes are rebuilt by REINDEX
#     CONCURRENTLY and a unique and a partial index are built and dropped
#     concurrently (the shape each backend keeps is read again each time):
#     no client fails, every run has its task, every index holds every row;
#  1. one client's backend killed with SIGKILL mid-loop (the postmaster
#     restarts every backend and replays the WAL): every acknowledged run has
#     its task, amcheck finds every index of workflow_tasks whole (parent
#     check, heapallindexed) and the heap whole, the ready index finds every
#     SCHEDULED task, and a start writes its task again.
# Runs under $DURABLE_RUN_BASE with a cluster of its own (scripts/test.sh).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
: "${DURABLE_RUN_BASE:?run me through scripts/test.sh}"
. "$top/tests/lib.sh"

suite_cluster task_crash task-crash
work=$(mktemp -d)
clients=()
cleanup() {
    for c in "${clients[@]}"; do kill "$c" 2>/dev/null; done
    cluster stop
    rm -rf "$work"
}
trap cleanup EXIT
psql_p() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }
accepting() { psql_p -c "SELECT 1" >/dev/null 2>&1; }
psql_p -c "CREATE EXTENSION IF NOT EXISTS amcheck" >/dev/null

# One client: starts workflows until the round's stop file appears (or its
# server goes away); psql prints the run id once the statement has committed.
client() {   # round client
    local round=$1 c=$2 i=0
    while [ ! -e "$work/stop-$round" ]; do
        i=$((i + 1))
        echo "SELECT durable.start_workflow('tc-$round-$c-$i', 'W', 'tc-q-$c');"
    done | psql -qXAt -v ON_ERROR_STOP=1 >"$work/acked-$round-$c" 2>"$work/err-$round-$c"
}
tasks() { psql_p -c "SELECT count(*) FROM durable.workflow_tasks WHERE task_queue LIKE 'tc-q-%'"; }

# every acknowledged run of the round has its workflow task, and every index is whole
check_tasks() {   # round
    local round=$1
    cat "$work"/acked-"$round"-* | grep -E '^[0-9a-f-]{36}$' | sort -u >"$work/acked-$round"
    check "$round: some starts were acknowledged" "[ \$(wc -l <\"$work/acked-$round\") -gt 50 ]"
    psql_p -c "SELECT run_id FROM durable.workflow_tasks" | sort -u >"$work/stored-$round"
    check "$round: every acknowledged run has its workflow task" \
        "[ -z \"\$(comm -23 \"$work/acked-$round\" \"$work/stored-$round\")\" ]"
    check "$round: every index of workflow_tasks holds every row and is well formed (amcheck, heapallindexed, parent check)" \
        "[ \"\$(psql_p -c \"SELECT count(bt_index_parent_check(indexrelid, true, true)) FROM pg_index
                            WHERE indrelid = 'durable.workflow_tasks'::regclass\")\" -ge 5 ]"
    check "$round: and the heap (verify_heapam)" \
        "[ -z \"\$(psql_p -c \"SELECT * FROM verify_heapam('durable.workflow_tasks')\")\" ]"
    check "$round: the ready index finds every SCHEDULED task a scan of the heap finds" \
        "[ \"\$(psql_p -c 'SET enable_seqscan = off' -c 'SET enable_bitmapscan = off' \
                -c \"SELECT count(*) FROM durable.workflow_tasks WHERE namespace = 'default' AND task_queue LIKE 'tc-q-%' AND state = 'SCHEDULED'\")\" \
           = \"\$(psql_p -c 'SET enable_indexscan = off' -c 'SET enable_indexonlyscan = off' -c 'SET enable_bitmapscan = off' \
                -c \"SELECT count(*) FROM durable.workflow_tasks WHERE namespace = 'default' AND task_queue LIKE 'tc-q-%' AND state = 'SCHEDULED'\")\" ]"
}

# 0. indexes rebuilt, built and dropped online while the clients write ----------------------
start_clients online 3
eventually 120 '[ "$(tasks)" -gt 200 ]' || nok "online: the clients start workflows"
for k in 1 2; do
    psql_p -c "REINDEX INDEX CONCURRENTLY durable.workflow_tasks_ready" \
           -c "REINDEX INDEX CONCURRENTLY durable.workflow_tasks_run_id_key" \
           -c "CREATE UNIQUE INDEX CONCURRENTLY workflow_tasks_tc_unique ON durable.workflow_tasks (run_id) INCLUDE (task_queue)" \
           -c "CREATE INDEX CONCURRENTLY workflow_tasks_tc_partial ON durable.workflow_tasks (task_queue, pass) WHERE state = 'SCHEDULED'" \
           -c "SELECT bt_index_parent_check('durable.workflow_tasks_tc_unique', true, true)" \
           -c "SELECT bt_index_parent_check('durable.workflow_tasks_tc_partial', true, true)" \
           -c "DROP INDEX CONCURRENTLY durable.workflow_tasks_tc_unique" \
           -c "DROP INDEX CONCURRENTLY durable.workflow_tasks_tc_partial" >/dev/null || nok "online: rebuild $k"
done
running=0
for c in "${clients[@]}"; do kill -0 "$c" 2>/dev/null && running=$((running + 1)); done
check "online: the clients were still writing when the rebuilds ended" "[ $running = 3 ]"
wait_clients online
check "online: no client failed" "[ -z \"\$(cat \"$work\"/err-online-*)\" ]"
check_tasks online

# 1. SIGKILL of one client's backend mid-loop -----------------------------------------------
base=$(tasks)
start_clients kill 3
eventually 120 '[ "$(tasks)" -gt $((base + 500)) ]' || nok "kill: the clients start workflows"
kill_a_client kill durable.start_workflow "starting workflows"
check "kill: the server accepts connections again" "eventually 60 accepting"
check_tasks kill
check "kill: a start writes its workflow task again" \
    "r=\$(psql_p -c \"SELECT durable.start_workflow('tc-after', 'W', 'tc-q-after')\") &&
     [ \"\$(psql_p -c \"SELECT state FROM durable.workflow_tasks WHERE run_id = '\$r'\")\" = SCHEDULED ]"

summary task_crash
