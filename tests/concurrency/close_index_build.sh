#!/usr/bin/env bash
# The close's update written without the executor (durable._close_update,
# pgext/src/close_update.c) keeps the table's indexes as the statement
# did while an operator builds one: one backend closes runs in its own
# short transactions (its prepared shape of the table cached from the
# first), while another session runs CREATE INDEX CONCURRENTLY of a
# partial index the closes fill, then REINDEX INDEX CONCURRENTLY of one of
# durable's own; the closes go on after each. Every btree index of
# durable.workflows then holds exactly the heap's rows (amcheck's
# bt_index_check with heapallindexed: each heap row its predicate holds
# for has its entry). Fails if a close after a change of the
# indexes wrote by a stale shape (an index missed, or one written after
# its drop), or if an index entry were made in an index not ready.
# Runs against the cluster named by the PG* variables; exits non-zero with
# a one-line reason on failure.
set -euo pipefail

runs=${DURABLE_CI_RUNS:-900}
ns="ci-$$-$(date +%s)"   # a namespace of our own: the cluster may be reused
index="close_build_$$"
tmp=$(mktemp -d)
closer=
cleanup() {
    exec 3>&- 2>/dev/null || true
    [ -z "$closer" ] || kill "$closer" 2>/dev/null || true
    psql -qXtA -c "DROP INDEX IF EXISTS durable.$index" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() { echo "close_index_build: FAIL: $*"; exit 1; }
sql() { psql -qXtA -v ON_ERROR_STOP=1 "$@"; }

sql -c "SELECT 1 FROM pg_extension WHERE extname = 'durable'" | grep -q 1 || fail "extension durable is not installed"
sql -c "CREATE EXTENSION IF NOT EXISTS amcheck" >/dev/null 2>&1 || fail "amcheck is not available"
sql -v ns="$ns" -v n="$runs" >/dev/null <<'SQL' || fail "could not start $runs runs"
SELECT count(durable.start_workflow('ci-' || i, 'W', 'ci', NULL, '{}', :'ns')) FROM generate_series(1, :n) i;
SQL

closed() { sql -v ns="$ns" <<< "SELECT count(*) FROM durable.workflows WHERE namespace = :'ns' AND status <> 'RUNNING'"; }
# waits until at least $1 runs are closed
wait_closed() {
    for _ in $(seq 1 1200); do
        [ "$(closed)" -ge "$1" ] && return 0
        kill -0 "$closer" 2>/dev/null || fail "the closing session ended early (see $tmp/closer.log)"
        sleep 0.1
    done
    fail "only $(closed) of $1 runs closed after 120 s"
}
# one backend closes the runs from $1 to $2, each in its own transaction
close_runs() {
    for i in $(seq "$1" "$2"); do
        echo "SELECT durable.terminate_workflow('ci-$i', 'index build', NULL, NULL, '$ns');"
    done >&3
}

mkfifo "$tmp/in"
psql -qXtA -v ON_ERROR_STOP=1 <"$tmp/in" >"$tmp/closer.log" 2>&1 &
closer=$!
exec 3>"$tmp/in"
third=$((runs / 3))

# 1. closes with the shape read before the index exists
close_runs 1 "$third"
wait_closed 20
# 2. the index built while the closes go on
close_runs $((third + 1)) $((2 * third)) &
writer=$!
before=$(closed)
sql -c "CREATE INDEX CONCURRENTLY $index ON durable.workflows (namespace, closed_at) WHERE status = 'TERMINATED'" \
    || fail "CREATE INDEX CONCURRENTLY failed"
during=$(( $(closed) - before ))
wait "$writer"
wait_closed $((2 * third))
# 3. one of durable's own indexes rebuilt while the rest close
close_runs $((2 * third + 1)) "$runs"
sql -c "REINDEX INDEX CONCURRENTLY durable.workflows_closed" || fail "REINDEX CONCURRENTLY failed"
exec 3>&-
wait "$closer" || fail "the closing session failed: $(tail -3 "$tmp/closer.log")"
closer=
[ "$(closed)" -eq "$runs" ] || fail "$(closed) of $runs runs closed"

# every btree index of the table has an entry for each heap row it should
sql -c "SELECT bt_index_check(i.indexrelid, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = 'durable.workflows'::regclass AND a.amname = 'btree'" \
    >/dev/null || fail "amcheck found an index of durable.workflows that does not match the heap"
valid=$(sql <<< "SELECT indisvalid FROM pg_index WHERE indexrelid = 'durable.$index'::regclass")
[ "$valid" = t ] || fail "$index was left invalid"
echo "close_index_build: ok ($runs closes in one backend, $during of them during CREATE INDEX CONCURRENTLY, the last third after it and during a REINDEX CONCURRENTLY; the indexes match the heap)"
