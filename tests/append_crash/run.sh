#!/usr/bin/env bash
# History appends (pgext/src/history_append.c: heap_insert and the indexes'
# inserts, not the executor) survive real crashes and replay as the
# executor's did. On a cluster of its own:
#  1. four clients append to runs of their own (every 40th event stored out
#     of line), one event per autocommit statement, each printing the id it
#     got after its commit, until told to stop; one client's backend is killed with SIGKILL in
#     the middle (the postmaster restarts every backend and replays the WAL);
#     then again, and the server is stopped immediately (no checkpoint) with
#     a prepared transaction holding an append.
#     After each: every acknowledged event is there, no run has a gap or a
#     duplicate id (durable.verify_store, and a scan that does not use the
#     primary key), amcheck finds history_pkey (heapallindexed, parent
#     check) and the heap whole, and appends go on from the last id.
#  2. a streaming standby has every event, its indexes whole, and refuses an
#     append with the INSERT's read-only error (25006), writing nothing.
#  0. (before the crashes) history_pkey rebuilt by REINDEX CONCURRENTLY and
#     a unique index built and dropped concurrently while the clients append:
#     every append made, and the index whole.
# Runs under $DURABLE_RUN_BASE with clusters of its own (scripts/test.sh).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
: "${DURABLE_RUN_BASE:?run me through scripts/test.sh}"
bin=${DURABLE_PGBIN:-$($PG_CONFIG --bindir)}
. "$top/tests/lib.sh"

rm -rf "$DURABLE_RUN_BASE/append-standby"
suite_cluster append_crash append-crash
work=$(mktemp -d)
s_dir="$DURABLE_RUN_BASE/append-standby"
s_port=$(suite_port 2)
s_sock="$s_dir/sock" s_data="$s_dir/data" s_log="$s_dir/postgres.log"
clients=()
cleanup() {
    for c in "${clients[@]}"; do kill "$c" 2>/dev/null; done
    as_pg "$bin/pg_ctl" -D "$s_data" -m immediate -w stop >/dev/null 2>&1
    cluster stop
    rm -rf "$work"
}
trap cleanup EXIT
psql_p() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }
psql_s() { psql -h "$s_sock" -p "$s_port" -U postgres -d postgres -qXAt -v ON_ERROR_STOP=1 "$@"; }
accepting() { psql_p -c "SELECT 1" >/dev/null 2>&1; }

psql_p -c "ALTER SYSTEM SET max_prepared_transactions = 4" >/dev/null
cluster stop && cluster start || { echo "append_crash: the cluster did not restart"; exit 1; }
psql_p -c "CREATE EXTENSION IF NOT EXISTS amcheck" >/dev/null
# 4 clients x 3 runs each, real workflows (verify_store wants their runs)
for c in 1 2 3 4; do
    for r in 1 2 3; do
        psql_p -c "SELECT durable.start_workflow('crash-$c-$r', 'W', 'crash-q')" >/dev/null
    done
done
psql_p -c "SELECT durable.start_workflow('crash-prepared', 'W', 'crash-q')" >/dev/null
run_of() { psql_p -c "SELECT run_id FROM durable.workflows WHERE workflow_id = '$1'"; }

# One client: appends round its three runs, one autocommit statement each,
# until the round's stop file appears (or its server goes away); psql prints
# "run|id" once the statement (and so its commit) is done.
client() {   # round client
    local round=$1 c=$2 runs=() r i=0
    for r in 1 2 3; do runs+=("$(run_of "crash-$c-$r")"); done
    while [ ! -e "$work/stop-$round" ]; do
        i=$((i + 1)); r=${runs[$((i % 3))]}
        echo "SELECT '$r', durable._append('$r', 'MarkerRecorded', jsonb_build_object('c', $c, 'i', $i,
                'pad', CASE WHEN $i % 40 = 0 THEN (SELECT string_agg(md5(g::text || '$c'), '') FROM generate_series(1, 400) g) END));"
    done | psql -qXAt -v ON_ERROR_STOP=1 >"$work/acked-$round-$c" 2>"$work/err-$round-$c"
}
events() { psql_p -c "SELECT count(*) FROM durable.history_rows h JOIN durable.workflows w USING (run_id)
                      WHERE w.workflow_id LIKE 'crash-%'"; }

# What must hold after a crash and the restart (round named by $1).
check_store() {
    local round=$1
    check "$round: the server accepts connections again" "eventually 60 accepting"
    cat "$work"/acked-"$round"-* | grep '|' | sort -u >"$work/acked-$round"
    check "$round: some appends were acknowledged before the crash" "[ \$(wc -l <\"$work/acked-$round\") -gt 100 ]"
    psql_p -c "SELECT run_id || '|' || event_id FROM durable.history_rows" | sort -u >"$work/stored-$round"
    check "$round: every acknowledged event is stored" \
        "[ -z \"\$(comm -23 \"$work/acked-$round\" \"$work/stored-$round\")\" ]"
    check "$round: durable.verify_store() finds nothing" "[ -z \"\$(psql_p -c 'SELECT * FROM durable.verify_store()')\" ]"
    check "$round: no run has a duplicate id (a scan without the primary key)" \
        "[ \"\$(psql_p -c 'SET enable_indexscan = off' -c 'SET enable_indexonlyscan = off' -c 'SET enable_bitmapscan = off' \
             -c 'SELECT count(*) FROM (SELECT run_id, event_id FROM durable.history_rows GROUP BY 1, 2 HAVING count(*) > 1) d')\" = 0 ]"
    check "$round: history_pkey holds every row and is well formed (amcheck, heapallindexed, parent check)" \
        "psql_p -c \"SELECT bt_index_parent_check('durable.history_pkey', true, true)\" >/dev/null"
    check "$round: the toast table's index too" \
        "psql_p -c \"SELECT bt_index_parent_check(i.indexrelid, true, true) FROM pg_class c JOIN pg_index i ON i.indrelid = c.reltoastrelid
                     WHERE c.oid = 'durable.history_rows'::regclass\" >/dev/null"
    check "$round: and the heap (verify_heapam, with its toast)" \
        "[ -z \"\$(psql_p -c \"SELECT * FROM verify_heapam('durable.history_rows', check_toast => true)\")\" ]"
    check "$round: the history reads whole (every attribute, out-of-line ones too)" \
        "psql_p -c \"SELECT sum(length(h.attributes::text)) FROM durable.history h JOIN durable.workflows w USING (run_id)
                     WHERE w.workflow_id LIKE 'crash-%'\" >/dev/null"
    local r=$(run_of crash-1-1) last
    last=$(psql_p -c "SELECT max(event_id) FROM durable.history_rows WHERE run_id = '$r'")
    check "$round: an append goes on from the last id" \
        "[ \"\$(psql_p -c \"SELECT durable._append('$r', 'MarkerRecorded', '{}')\")\" = $((last + 1)) ]"
}

# 0. history_pkey rebuilt online while the clients append (no crash) -------------------------
start_clients reindex 4
eventually 120 '[ "$(events)" -gt 500 ]' || nok "reindex: the clients append"
running=0
for c in "${clients[@]}"; do kill -0 "$c" 2>/dev/null && running=$((running + 1)); done
check "reindex: the clients are appending when the rebuilds begin" "[ $running -gt 0 ]"
for k in 1 2 3; do
    psql_p -c "REINDEX INDEX CONCURRENTLY durable.history_pkey" \
           -c "CREATE UNIQUE INDEX CONCURRENTLY history_rows_crash_cic ON durable.history_rows (run_id, event_id) INCLUDE (event_code)" \
           -c "DROP INDEX CONCURRENTLY durable.history_rows_crash_cic" >/dev/null || nok "reindex: rebuild $k"
done
wait_clients reindex
check "reindex: no client failed" "[ -z \"\$(cat \"$work\"/err-reindex-*)\" ]"
cat "$work"/acked-reindex-* | grep '|' | sort -u >"$work/acked-reindex"
psql_p -c "SELECT run_id || '|' || event_id FROM durable.history_rows" | sort -u >"$work/stored-reindex"
check "reindex: every acknowledged event is stored" \
    "[ -s \"$work/acked-reindex\" ] && [ -z \"\$(comm -23 \"$work/acked-reindex\" \"$work/stored-reindex\")\" ]"
check "reindex: durable.verify_store() finds nothing" "[ -z \"\$(psql_p -c 'SELECT * FROM durable.verify_store()')\" ]"
check "reindex: the rebuilt history_pkey holds every row (amcheck, heapallindexed, parent check)" \
    "psql_p -c \"SELECT bt_index_parent_check('durable.history_pkey', true, true)\" >/dev/null"

# 1a. SIGKILL of one client's backend mid-loop -------------------------------------------
base=$(events)
start_clients kill 4
eventually 120 '[ "$(events)" -gt $((base + 2000)) ]' || nok "kill: the clients append"
kill_a_client kill durable._append appending
check_store kill

# 1b. an immediate stop mid-loop, a prepared transaction holding an append ---------------
# (on a run of its own: a client appending to it would wait for the prepared event)
base=$(events)
start_clients stop 4
eventually 120 '[ "$(events)" -gt $((base + 2000)) ]' || nok "stop: the clients append"
psql_p -c "BEGIN" -c "SELECT durable._append('$(run_of crash-prepared)', 'MarkerRecorded', '{\"prepared\": true}')" \
       -c "PREPARE TRANSACTION 'append_crash'" >/dev/null
check "stop: a transaction with an append is prepared" "[ \"\$(psql_p -c 'SELECT count(*) FROM pg_prepared_xacts')\" = 1 ]"
as_pg "$bin/pg_ctl" -D "$DURABLE_PGDATA" -m immediate -w stop >/dev/null
wait_clients stop
cluster start || nok "stop: the cluster starts again"
check "stop: the prepared transaction survived" "[ \"\$(psql_p -c 'SELECT count(*) FROM pg_prepared_xacts')\" = 1 ]"
psql_p -c "COMMIT PREPARED 'append_crash'" >/dev/null
check "stop: committed, its event is in the history" \
    "[ \"\$(psql_p -c \"SELECT count(*) FROM durable.history WHERE attributes @> '{\\\"prepared\\\": true}'\")\" = 1 ]"
check_store stop

# 2. A streaming standby ------------------------------------------------------------------
mkdir -p "$s_dir"; [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$s_dir"
as_pg mkdir -p "$s_sock"
as_pg "$bin/pg_basebackup" -h "$PGHOST" -p "$port" -U postgres -D "$s_data" -R -X stream -c fast \
    || { nok "pg_basebackup"; summary append_crash; exit 1; }
as_pg tee -a "$s_data/postgresql.conf" >/dev/null <<CONF
port = $s_port
unix_socket_directories = '$s_sock'
CONF
as_pg "$bin/pg_ctl" -D "$s_data" -l "$s_log" -w -t 60 start >/dev/null || { nok "standby start"; summary append_crash; exit 1; }
r=$(run_of crash-2-1)
psql_p -c "SELECT durable._append('$r', 'MarkerRecorded', '{\"last\": true}')" >/dev/null
primary_count=$(events)
check "standby: it replays every event" "eventually 60 '[ \"\$(psql_s -c \"SELECT count(*) FROM durable.history_rows h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id LIKE '\''crash-%'\''\")\" = $primary_count ]'"
check "standby: history_pkey holds every row (amcheck, heapallindexed)" \
    "psql_s -c \"SELECT bt_index_check('durable.history_pkey', true)\" >/dev/null"
before=$(psql_s -c "SELECT max(event_id) FROM durable.history_rows WHERE run_id = '$r'")
by_append=$(psql_s -c "SELECT durable._append('$r', 'MarkerRecorded', '{}')" 2>&1)
by_insert=$(psql_s -c "INSERT INTO durable.history_rows VALUES ('$r', $((before + 1)), 25, now(), '{}')" 2>&1)
check "standby: an append is refused as read-only" "grep -q 'ERROR:  cannot execute INSERT in a read-only transaction' <<<\"\$by_append\""
check "standby: with the INSERT's error" "[ \"\$by_append\" = \"\$by_insert\" ]"
check "standby: its code is 25006" \
    "[ \"\$(psql_s -c \"DO \\\$\\\$BEGIN PERFORM durable._append('$r', 'MarkerRecorded', '{}'); EXCEPTION WHEN OTHERS THEN RAISE NOTICE '%', SQLSTATE; END\\\$\\\$\" 2>&1)\" = 'NOTICE:  25006' ]"
check "standby: it is still replaying, with nothing new" \
    "[ \"\$(psql_s -c \"SELECT pg_is_in_recovery() || '|' || max(event_id) FROM durable.history_rows WHERE run_id = '$r'\")\" = \"true|$before\" ]"

summary append_crash
