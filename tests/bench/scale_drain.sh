#!/usr/bin/env bash
# make bench's drain ratio alone (run.sh phases 4 and 6): 20,000 queued
# activities drained by one bench poller on an empty store, then with N
# workflows asleep on timers (bulk-loaded by sql/sleepers.sql, then VACUUM
# ANALYZE), each set up as run.sh does. Prints both rates, their ratio
# (scale_1m_throughput_ratio) and where each poller's time went (poller.c:
# polls, short polls, ms in statements, waits for a notification, the CPU
# seconds of its server process) and the timer workers' CPU seconds meanwhile
# (each lease's commit carries a deadline, which may wake them).
#   tests/bench/scale_drain.sh [N] [ROUNDS]
# BASE_PG_CONFIG=<another private install's pg_config> makes it an A/B: each
# round runs A (that install: another commit's build, e.g. a worktree's
# .run/pg) and then B (this checkout's, PG_CONFIG) on the same cluster,
# restarted on each install's binaries and library. Each line starts with A or B.
# HOG=K runs K busy loops beside it for the whole run (a loaded machine).
# DIAG=1 prints, after each drain, what it read of each table and what the
# autovacuum did meanwhile (the counters are reset before each drain).
# EMPTY=0 skips the empty store's drain. MID_ANALYZE=1 analyzes activity_tasks
# while each drain's set-up (one transaction) is still open, as autovacuum
# does when the set-up outlasts its visit (a loaded machine).
# Needs a private PostgreSQL with this checkout installed (scripts/test.sh
# makes one: export PG_CONFIG=$(scripts/pginst.sh $PWD/.run/pg)).
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # bench_cluster, build_pq_tool, reset_store, timer_worker_cpu
n=${1:-1000000} rounds=${2:-1}
bench_cluster scale-drain 55494
[ "${DIAG:-0}" = 1 ] && psql -qXAt -c "ALTER SYSTEM SET track_functions = 'pl'" -c "SELECT pg_reload_conf()" >/dev/null
poller="$tmp/bench-poller"
build_pq_tool poller "$poller"
for _ in $(seq 1 "${HOG:-0}"); do (while :; do :; done) & done

# what run.sh does before each drain: activities at 10/s for 5 s
dispatch() {   # -> the dispatch p50 (ms), as run.sh's scale_dispatch_p50_ms
    "$poller" --kind activity --queue disp-q --seconds 7 > "$tmp/disp.out" &
    local ppid=$!
    sleep 0.3
    echo "SELECT durable_bench.schedule_activities(1, 1, 'disp-wf', 'disp-q');" > "$tmp/produce.sql"
    pgbench -n -c 2 -j 2 -R 10 -T 5 -f "$tmp/produce.sql" >/dev/null 2>&1
    wait "$ppid"
    sed -n 's/^p50_ms //p' "$tmp/disp.out"
}
drain() {   # label -> one line: the label, the rate, the poller's figures
    local s e t0=$(date +%s)
    if [ "${MID_ANALYZE:-0}" = 1 ]; then
        # autovacuum's visit during a long set-up, made certain
        psql -qXAt -v ON_ERROR_STOP=1 -c "BEGIN" \
            -c "SELECT durable_bench.schedule_activities(200, 100, 'max-wf', 'max-q')" \
            -c "SELECT pg_sleep(2) AS set_up_done" -c "COMMIT" >/dev/null &
        until [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%AS set_up_done%'
                          AND pid <> pg_backend_pid()")" = 1 ]; do sleep 0.2; done
        sql "ANALYZE durable.activity_tasks"
        wait $!
    else
        sql "SELECT durable_bench.schedule_activities(200, 100, 'max-wf', 'max-q')" >/dev/null
    fi
    [ "${DIAG:-0}" = 1 ] && sql "SELECT 'set-up ' || $(( $(date +%s) - t0 )) || ' s; activity_tasks statistics: '
                                       || relpages || ' pages, ' || reltuples || ' rows; autoanalyzed '
                                       || coalesce(to_char(last_autoanalyze, 'HH24:MI:SS'), 'never')
                                       || ', now ' || to_char(now(), 'HH24:MI:SS')
                                  FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid
                                 WHERE c.oid = 'durable.activity_tasks'::regclass" >&2
    [ "${DIAG:-0}" = 1 ] && { sql "SELECT pg_stat_reset()" >/dev/null; sleep 0.6; }
    local c0=$(timer_worker_cpu) c1
    s=$(date +%s.%N)
    "$poller" --kind activity --queue max-q --count 20000 --seconds 120 > "$tmp/drain.out"
    e=$(date +%s.%N)
    c1=$(timer_worker_cpu)
    echo "$1 $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.0f", 20000 / (e - s) }')" \
         "$(grep -E '^(polls|short_polls|poll_ms|waits|wait_ms|backend_cpu_s) ' "$tmp/drain.out" | tr '\n' ' ')" \
         "timer_cpu_s $(awk -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", c / hz }')"
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
rate() { awk '{ print $3 }' <<< "$1"; }

one_variant() {   # label: the empty store's drain, the scale store's, their ratio
    local empty scale d_empty d_scale
    if [ "${EMPTY:-1}" = 1 ]; then
        reset_store
        d_empty=$(dispatch)
        empty=$(drain "$1 empty")
        echo "$empty dispatch_p50_ms $d_empty"
    fi
    reset_store
    psql -qX -v ON_ERROR_STOP=1 -v n="$n" -f "$here/sql/sleepers.sql" >/dev/null
    sql "VACUUM ANALYZE"
    d_scale=$(dispatch)
    scale=$(drain "$1 scale")
    echo "$scale dispatch_p50_ms $d_scale"
    [ "${EMPTY:-1}" = 1 ] && echo "$1 ratio $(awk -v a="$(rate "$scale")" -v b="$(rate "$empty")" 'BEGIN { printf "%.3f", a / b }')" \
        "dispatch_ratio $(awk -v a="$d_scale" -v b="$d_empty" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "null" }')"
    return 0
}
use_install() {   # pg_config: the cluster restarted on that install
    cluster stop >/dev/null
    PG_CONFIG=$1 cluster start
}
mine=${PG_CONFIG:-pg_config}
for _ in $(seq 1 "$rounds"); do
    if [ -n "${BASE_PG_CONFIG:-}" ]; then
        use_install "$BASE_PG_CONFIG"
        one_variant A
        use_install "$mine"
        one_variant B
    else
        one_variant B
    fi
done
