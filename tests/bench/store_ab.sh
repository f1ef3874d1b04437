#!/usr/bin/env bash
# The store's floor, A/B: the SQL API of a given commit (A, main by default)
# against this checkout's (B), alternated on one cluster so that both see the
# same machine. A is B's install with A's api/*.sql run over it (every
# function there is CREATE OR REPLACE, so A's plpgsql bodies replace B's C
# ones; B's durable.so is loaded by both). Each round runs make bench's store
# phase (3a: tests/bench/poller.c, decisions in SQL by durable_bench.decide)
# and, with WORKER=1, the C worker's one-activity workflows (3b's wf1).
# Besides the rates it gives the server's CPU time per workflow (all its
# processes, from /proc), which the machine's other load moves far less.
#   tests/bench/store_ab.sh [A_COMMIT] [ROUNDS] [N]
# PROFILE=A or PROFILE=B: instead, one round of that variant with
# pg_stat_statements (track = all) and track_functions = all, and the top
# statements and functions by self time, per workflow (with WORKER=1, of the
# C worker's one-activity workflows instead).
# SETTINGS="name = value" is set on the cluster (ALTER SYSTEM) for A and B
# alike: e.g. SETTINGS="autovacuum = off" takes out the rounds' largest
# noise, an autovacuum of the fresh store that lands in some runs and not
# others (its CPU counts as the server's).
# A_TREE=<worktree> instead runs A on that worktree's own build (its
# .run/pg install and durable-worker, made as for build_ab.sh) on a cluster
# of its own, as floor_cpu.sh does: for an A whose schema or C code differs
# (A_COMMIT is then only a label). A_WORKFLOWS=<file> builds A's bench
# plugin from that source instead of tests/bench/workflows.c (an old tree's
# worker API). With WORKER=1 the line ends with the worker processes' own CPU
# per workflow.
# Needs a private PostgreSQL with this checkout installed (scripts/test.sh
# makes one: export PG_CONFIG=$(scripts/pginst.sh $PWD/.run/pg)).
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # ab_setup, ab_side, sql, commits, build_pq_tool, api_sql, server_cpu_seconds, ab_install
a=${1:-main} rounds=${2:-3} n=${3:-3000}
profile=${PROFILE:-}
[ -z "${A_TREE:-}" ] || [ -z "$profile" ] || { echo "store_ab: PROFILE is for one install, not with A_TREE" >&2; exit 2; }
ab_setup store-ab 55492
eval "$b_env"
if [ -n "${SETTINGS:-}" ]; then
    for env in "$a_env" "$b_env"; do
        (eval "$env"; sql "ALTER SYSTEM SET $SETTINGS"; sql "SELECT pg_reload_conf()" >/dev/null)
    done
fi
if [ -n "$profile" ]; then
    sql "ALTER SYSTEM SET shared_preload_libraries = 'durable', 'pg_stat_statements'"
    sql "ALTER SYSTEM SET track_functions = 'all'"
    cluster stop; cluster start
    sql "ALTER SYSTEM SET pg_stat_statements.track = 'all'"
    sql "ALTER SYSTEM SET pg_stat_statements.track_planning = on"
    sql "SELECT pg_reload_conf()" >/dev/null
    sql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
fi

[ -n "$a_tree" ] || api_sql "$a" "$tmp/a_api.sql"

poller="$tmp/bench-poller"
build_pq_tool poller "$poller"
worker_bin="$top/worker/build/durable-worker"
plugin="$tmp/bench-workflows.so"
. "$here/worker_rate.sh"
if [ "${WORKER:-0}" = 1 ]; then
    build_bench_plugin
    b_plugin=$plugin a_plugin=$plugin a_worker_bin=$worker_bin
    if [ -n "$a_tree" ]; then
        a_plugin="$tmp/bench-workflows-a.so" a_worker_bin="$a_tree/worker/build/durable-worker"
        gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -fPIC -shared -I"$a_tree/worker/include" \
            "${A_WORKFLOWS:-$here/workflows.c}" -o "$a_plugin"
    fi
fi
b_worker_bin=$worker_bin

install() { ab_install "$1" -f "$here/sql/fixtures.sql"; }   # A or B
. "$here/scripted_rate.sh"   # run_scripted, as make bench runs it
round() {   # A or B -> one line of figures
    local v=$1 c0 w0 cpu0 wf1 cpu commits wal seq10 par10 worker=null worker_cpu=null own_cpu=
    ab_side "$v"
    install "$v"
    c0=$(commits); w0=$(sql "SELECT pg_current_wal_lsn()"); cpu0=$(server_cpu_seconds)
    wf1=$(run_scripted seq1 "$n")
    cpu=$(awk -v a="$cpu0" -v b="$(server_cpu_seconds)" -v n="$n" 'BEGIN { printf "%.0f", (b - a) * 1e6 / n }')
    commits=$(awk -v a="$c0" -v b="$(commits)" -v n="$n" 'BEGIN { printf "%.3f", (b - a) / n }')
    wal=$(sql "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$w0') / $n)")
    seq10=$(( $(run_scripted seq10 $(( n / 10 ))) * 10 ))
    par10=$(( $(run_scripted par10 $(( n / 10 ))) * 10 ))
    if [ "${WORKER:-0}" = 1 ]; then
        install "$v"
        if [ "$v" = A ]; then worker_bin=$a_worker_bin plugin=$a_plugin; else worker_bin=$b_worker_bin plugin=$b_plugin; fi
        cpu0=$(server_cpu_seconds)
        worker=$(worker_rate BenchSeq1 "$n" 1)
        worker_cpu=$(awk -v a="$cpu0" -v b="$(server_cpu_seconds)" -v n="$n" 'BEGIN { printf "%.0f", (b - a) * 1e6 / n }')
        own_cpu=" $(awk -v t="$(cat "$tmp/worker_cpu")" -v n="$n" 'BEGIN { printf "%.0f", t * 1e6 / n }')"
    fi
    echo "$v $wf1 $cpu $seq10 $par10 $commits $wal $worker $worker_cpu$own_cpu"
}

if [ -n "$profile" ]; then
    install "$profile"
    sql "SELECT pg_stat_statements_reset(), pg_stat_reset()" >/dev/null
    cpu0=$(server_cpu_seconds)
    if [ "${WORKER:-0}" = 1 ]; then
        echo "wf1_per_s $(worker_rate BenchSeq1 "$n" 1) ($profile = $([ "$profile" = A ] && echo "$a" || echo checkout), $n workflows)"
    else
        echo "store_wf1_per_s $(run_scripted seq1 "$n") ($profile = $([ "$profile" = A ] && echo "$a" || echo checkout), $n workflows)"
    fi
    echo "server_cpu_us_per_wf $(awk -v a="$cpu0" -v b="$(server_cpu_seconds)" -v n="$n" 'BEGIN { printf "%.0f", (b - a) * 1e6 / n }') (profiling on)"
    echo "-- functions by self time, µs per workflow (calls per workflow)"
    psql -qX -c "SELECT funcname, round(self_time::numeric * 1000 / $n) AS self_us_per_wf,
                        round(total_time::numeric * 1000 / $n) AS total_us_per_wf,
                        round(calls::numeric / $n, 1) AS calls_per_wf
                   FROM pg_stat_user_functions ORDER BY self_time DESC LIMIT 60"
    echo "-- statements by time, µs per workflow (calls per workflow)"
    psql -qX -c "SELECT round(total_exec_time::numeric * 1000 / $n) AS us_per_wf,
                        round(calls::numeric / $n, 1) AS calls_per_wf,
                        round(total_plan_time::numeric * 1000 / $n) AS plan_us_per_wf, round(plans::numeric / $n, 1) AS plans_per_wf,
                        round((total_exec_time / greatest(calls, 1))::numeric * 1000, 1) AS us_per_call, round(shared_blks_hit::numeric / greatest(calls, 1), 1) AS blks_per_call,
                        left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query
                   FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT 70"
    exit 0
fi

echo "variant store_wf1_per_s server_cpu_us_per_wf store_seq10_activities_per_s store_par10_activities_per_s store_commits_per_activity store_wal_bytes_per_activity wf1_per_s worker_server_cpu_us_per_wf$([ "${WORKER:-0}" = 1 ] && echo " worker_own_cpu_us_per_wf") (A = ${a_tree:-$a}, B = checkout, N = $n${SETTINGS:+, $SETTINGS})"
for _ in $(seq 1 "$rounds"); do round A; round B; done
