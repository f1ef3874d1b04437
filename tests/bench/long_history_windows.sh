#!/usr/bin/env bash
# Which statements grow with a long history: one long_history.sh run (one
# BenchSeqN workflow of N activities, one worker) on a fresh cluster of this
# checkout's install with pg_stat_statements (track = all) and
# track_functions = all, the statistics reset and read over two windows of
# 1,000 activities, early (activities 300-1,300) and late (the last 1,300 to
# 300). Not part of make bench.
#   tests/bench/long_history_windows.sh [N] [OUT]     (10000, a new temp dir)
# A_COMMIT=<commit> runs that commit's api/*.sql over the install first (as
# store_ab.sh's A: for a change in SQL functions, run once with and once
# without, alternated).
# Prints the server's CPU per activity in each window (all its processes,
# from /proc, 10 ms ticks), long_history.sh's own figures, and for the 25
# costliest statements: buffer hits and µs per call early and late. OUT keeps
# the windows' pg_stat_statements, pg_stat_user_functions and
# pg_stat_user_tables. Needs a private PostgreSQL with this checkout
# installed and built (make all; export PG_CONFIG=$(scripts/pginst.sh $PWD/.run/pg)).
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # bench_cluster (its exit kills long_history.sh too), api_sql, sql
n=${1:-10000}
out=${2:-$(mktemp -d)}
mkdir -p "$out"
bench_cluster long-windows 55505 >/dev/null
cat >> "$DURABLE_PGDATA/postgresql.auto.conf" <<CONF
shared_preload_libraries = 'durable,pg_stat_statements'
pg_stat_statements.track = all
pg_stat_statements.max = 5000
track_functions = all
CONF
cluster stop >/dev/null
cluster start >/dev/null
psql -qX -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
if [ -n "${A_COMMIT:-}" ]; then
    api_sql "$A_COMMIT" "$tmp/a_api.sql"
    psql -qX -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -f "$tmp/a_api.sql" >/dev/null
fi
gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -fPIC -shared -I"$top/worker/include" \
    "$here/workflows.c" -o "$tmp/bench-workflows.so"
"$here/long_history.sh" "$top/worker/build/durable-worker" "$tmp/bench-workflows.so" "$n" > "$out/result.txt" 2>&1 &
lh=$!
run=
for _ in $(seq 1 600); do
    run=$(sql "SELECT run_id FROM durable.workflows WHERE workflow_type = 'BenchSeqN' LIMIT 1")
    [ -n "$run" ] && break
    sleep 0.1
done
[ -n "$run" ] || { echo "long_history_windows: the workflow did not start" >&2; exit 1; }
# (an activity is six events)
acts() { sql "SELECT coalesce(max(event_id), 0) / 6 FROM durable.history_rows WHERE run_id = '$run'"; }
cpu() {
    local pm; pm=$(head -1 "$DURABLE_PGDATA/postmaster.pid")
    { cat "/proc/$pm/stat"; for p in $(pgrep -P "$pm"); do cat "/proc/$p/stat" 2>/dev/null; done; } |
        sed 's/^.*) //' | awk '{ t += $12 + $13; if (NR == 1) t += $14 + $15 } END { print t }'
}
wait_for() { while [ "$(acts)" -lt "$1" ]; do kill -0 "$lh" 2>/dev/null || return 1; sleep 0.05; done; }
window() {   # NAME FROM TO
    local a0 a1 c0 c1
    wait_for "$2"
    sql "SELECT pg_stat_statements_reset(); SELECT pg_stat_reset();" >/dev/null
    a0=$(acts); c0=$(cpu)
    wait_for "$3"
    a1=$(acts); c1=$(cpu)
    sql "SELECT calls, shared_blks_hit, round((total_exec_time / calls)::numeric * 1000, 1),
                left(regexp_replace(query, '\s+', ' ', 'g'), 200)
           FROM pg_stat_statements WHERE calls > 0 ORDER BY total_exec_time DESC LIMIT 60" > "$out/statements_$1.txt"
    sql "SELECT funcname, calls, round(self_time::numeric, 1), round(total_time::numeric, 1)
           FROM pg_stat_user_functions WHERE calls > 0 ORDER BY self_time DESC" > "$out/functions_$1.txt"
    sql "SELECT relname, seq_scan, seq_tup_read, idx_scan, n_tup_ins, n_tup_upd, n_tup_del
           FROM pg_stat_user_tables WHERE schemaname = 'durable' ORDER BY relname" > "$out/tables_$1.txt"
    echo "long_history_windows_${1}_server_ms_per_activity $(awk -v c="$(( c1 - c0 ))" -v a="$(( a1 - a0 ))" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", c * 1000 / hz / a }')"
}
window early 300 1300
window late $(( n - 1300 )) $(( n - 300 ))
wait "$lh" || { echo "long_history_windows: long_history.sh failed: $(tail -3 "$out/result.txt")" >&2; exit 1; }
cat "$out/result.txt"
echo "-- per call, early / late: buffer hits, µs (statements in both windows, costliest late first)"
awk -F'|' 'NR == FNR { e[$4] = $2 / $1 " " $3; next }
           ($4 in e) { split(e[$4], v, " "); printf "%8.1f %8.1f hits | %9.1f %9.1f µs | %s\n", v[1], $2 / $1, v[2], $3, substr($4, 1, 90) }' \
    "$out/statements_early.txt" "$out/statements_late.txt" | head -25
echo "(windows' statistics in $out)"
