#!/usr/bin/env bash
# make bench's drain ratio alone (run.sh phases 4 and 6): 20,000 queued
# activities drained by one bench poller on an empty store, then with N
# workflows asleep on timers (bulk-loaded by sql/sleepers.sql, then VACUUM
# ANALYZE), each set up as run.sh does. Prints both rates, their ratio
# (scale_1m_throughput_ratio) and where each poller's time went (poller.c:
# polls, short polls, ms in statements, waits for a notification), and the
# server's CPU seconds during each drain.
#   tests/bench/scale_drain.sh [N] [ROUNDS]
# HOG=K runs K busy loops beside it for the whole run (a loaded machine).
# DIAG=1 prints, after each drain, what it read of each table and what the
# autovacuum did meanwhile (the counters are reset before each drain).
# EMPTY=0 skips the empty store's drain.
# Needs a private PostgreSQL with this checkout installed (scripts/test.sh
# makes one: export PG_CONFIG=$(scripts/pginst.sh $PWD/.run/pg)).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/tests/bench"
cd "$top"
n=${1:-1000000} rounds=${2:-1}
port=${DURABLE_BENCH_PORT:-55494}
. "$here/lib.sh"   # fresh_cluster, build_pq_tool, reset_store
cluster() { scripts/cluster.sh "$1" scale-drain "$port"; }
fresh_cluster scale-drain "$port"
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; cluster stop; rm -rf "$tmp"' EXIT
eval "$(cluster env)"
[ "${DIAG:-0}" = 1 ] && psql -qXAt -c "ALTER SYSTEM SET track_functions = 'pl'" -c "SELECT pg_reload_conf()" >/dev/null
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
poller="$tmp/bench-poller"
build_pq_tool poller "$poller"
for _ in $(seq 1 "${HOG:-0}"); do (while :; do :; done) & done

server_cpu() {   # CPU seconds of the server's processes (as store_ab.sh)
    local pm
    pm=$(head -1 "$DURABLE_PGDATA/postmaster.pid")
    { cat "/proc/$pm/stat"; for p in $(pgrep -P "$pm"); do cat "/proc/$p/stat" 2>/dev/null; done; } |
        sed 's/^.*) //' | awk -v pm="$pm" -v hz="$(getconf CLK_TCK)" '
            { t += $12 + $13; if (NR == 1) t += $14 + $15 } END { printf "%.2f", t / hz }'
}
# what run.sh does before each drain: activities at 10/s for 5 s
dispatch() {
    "$poller" --kind activity --queue disp-q --seconds 7 > /dev/null &
    local ppid=$!
    sleep 0.3
    echo "SELECT durable_bench.schedule_activities(1, 1, 'disp-wf', 'disp-q');" > "$tmp/produce.sql"
    pgbench -n -c 2 -j 2 -R 10 -T 5 -f "$tmp/produce.sql" >/dev/null 2>&1
    wait "$ppid"
}
drain() {   # label -> one line: label rate, poller's figures, server CPU s
    local s e c0
    sql "SELECT durable_bench.schedule_activities(200, 100, 'max-wf', 'max-q')" >/dev/null
    [ "${DIAG:-0}" = 1 ] && { sql "SELECT pg_stat_reset()" >/dev/null; sleep 0.6; }
    c0=$(server_cpu)
    s=$(date +%s.%N)
    "$poller" --kind activity --queue max-q --count 20000 --seconds 120 > "$tmp/drain.out"
    e=$(date +%s.%N)
    echo "$1 $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.0f", 20000 / (e - s) }')" \
         "$(grep -E '^(polls|short_polls|poll_ms|waits|wait_ms) ' "$tmp/drain.out" | tr '\n' ' ')" \
         "server_cpu_s $(awk -v a="$c0" -v b="$(server_cpu)" 'BEGIN { printf "%.2f", b - a }')"
    if [ "${DIAG:-0}" = 1 ]; then
        sleep 0.6
        psql -qX -c "SELECT relname, seq_scan, seq_tup_read, idx_scan, idx_tup_fetch, n_tup_ins, n_tup_del,
                            last_autovacuum, last_autoanalyze, autovacuum_count, autoanalyze_count
                       FROM pg_stat_user_tables WHERE schemaname = 'durable' AND seq_scan + idx_scan > 0
                      ORDER BY seq_tup_read + idx_tup_fetch DESC LIMIT 8" >&2
        psql -qX -c "SELECT funcname, calls, round(self_time) AS self_ms FROM pg_stat_user_functions
                      ORDER BY self_time DESC LIMIT 8" >&2
    fi
}
rate() { awk '{ print $2 }' <<< "$1"; }

for _ in $(seq 1 "$rounds"); do
    if [ "${EMPTY:-1}" = 1 ]; then
        reset_store
        dispatch
        empty=$(drain empty)
        echo "$empty"
    fi
    reset_store
    psql -qX -v ON_ERROR_STOP=1 -v n="$n" -f "$here/sql/sleepers.sql" >/dev/null
    sql "VACUUM ANALYZE"
    dispatch
    scale=$(drain scale)
    echo "$scale"
    [ "${EMPTY:-1}" = 1 ] && echo "ratio $(awk -v a="$(rate "$scale")" -v b="$(rate "$empty")" 'BEGIN { printf "%.3f", a / b }')"
done
