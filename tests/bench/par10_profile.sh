#!/usr/bin/env bash
# Where the ten-parallel shape's server time goes by SQL function and
# statement, for one build: N / 10 BenchPar10 workflows started at once on
# one durable-worker (build_ab.sh's shape), on a fresh cluster with
# track_functions = all and pg_stat_statements (track = all), the counters
# reset once the worker polls and read once every workflow closed. A
# development tool for diff profiles (floor_profile.sh's for the worker's
# shapes), not part of make bench: the counters cost time of their own, so
# compare its figures with each other, never with build_ab.sh's.
#   tests/bench/par10_profile.sh [N] [OUT_DIR] [TYPE PER_WF]  (2000, ./par10_profile, BenchPar10 10)
# TYPE PER_WF = BenchSeq3 3 profiles the three-activity shape instead.
# TREE=<worktree> profiles that worktree's own install and worker;
# SETTINGS="name = value" is added to the cluster's postgresql.conf.
# PERF=1 records the worker's backends with perf instead (call graphs, no
# counters): OUT_DIR/perf.data, read with perf report --no-children -i;
# PERF_QUERY=<regexp> only the backends whose last statement matches (by
# default every backend, also those that have run no statement yet: half the
# worker's connections when the recording starts, whose query is '')
# (activity_tasks: the activity connection), PERF_CALLGRAPH=<perf option>
# (--call-graph=dwarf where the server has no frame pointers); PERF_WORKER=1
# records the durable-worker process instead.
# BACKENDS=1 prints instead each of the worker's backends' CPU per activity
# (from /proc, no counters) beside the last statement it ran, which names
# the connection (the activity poll, the workflow poll, a completion).
# Writes OUT_DIR/{functions,statements}.tsv: per activity
# "calls self_us total_us name" and "calls exec_us plan_us query", largest first.
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # bench_cluster, reset_store, sql
n=${1:-2000}
out=$(realpath -m "${2:-par10_profile}")
type=${3:-BenchPar10} per_wf=${4:-10}
tree=$(cd "${TREE:-$top}" && pwd)
export PG_CONFIG=$tree/.run/pg/lib/postgresql/15/bin/pg_config
export PATH="$(dirname "$PG_CONFIG"):$PATH"
bench_cluster "par10-profile-$(basename "$tree")" 55521 >/dev/null
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ -n "${PERF:-}${BACKENDS:-}" ] || as_pg tee -a "$DURABLE_PGDATA/postgresql.conf" >/dev/null <<CONF
shared_preload_libraries = 'durable, pg_stat_statements'
track_functions = all
pg_stat_statements.track = all
pg_stat_statements.max = 10000
CONF
[ -z "${SETTINGS:-}" ] || echo "$SETTINGS" | as_pg tee -a "$DURABLE_PGDATA/postgresql.conf" >/dev/null
cluster stop >/dev/null
cluster start >/dev/null
reset_store
[ -n "${PERF:-}${BACKENDS:-}" ] || sql "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
worker_bin=$tree/worker/build/durable-worker plugin=$tmp/plugin.so
gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -fPIC -shared -I"$tree/worker/include" \
    "$here/workflows.c" -o "$plugin"
q=prof-$RANDOM wf=$(( n / per_wf ))
# shellcheck disable=SC2086
"$worker_bin" --task-queue "$q" --plugin "$plugin" --concurrency 64 --batch 64 ${WORKER_ARGS:-} 2>>"$tmp/worker.log" &
wpid=$!
sleep 0.5
mkdir -p "$out"
if [ -n "${PERF:-}" ]; then
    pids=$(sql "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE backend_type = 'client backend'
                  AND pid <> pg_backend_pid() AND query ~ '${PERF_QUERY:-^}'")
    [ -z "${PERF_WORKER:-}" ] || pids=$wpid
    perf record -F 2000 ${PERF_CALLGRAPH:--g} -o "$out/perf.data" -p "$pids" 2>"$tmp/perf.log" &
    perf_pid=$!
    sleep 0.5
elif [ -z "${BACKENDS:-}" ]; then
    sql "SELECT pg_stat_reset(), pg_stat_statements_reset()" >/dev/null
fi
backend_cpu() {   # pid -> CPU seconds so far
    sed 's/^.*) //' "/proc/$1/stat" | awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($12 + $13) / hz }'
}
if [ -n "${BACKENDS:-}" ]; then
    for p in $(sql "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()"); do
        echo "$p $(backend_cpu "$p")"
    done > "$tmp/cpu0"
    server0=$(server_cpu_seconds)
fi
. "$here/worker_rate.sh"   # start_and_wait
start_and_wait "$q" "$type" "$wf"
if [ -n "${BACKENDS:-}" ]; then
    while read -r p c0; do
        c1=$(backend_cpu "$p")
        what=$(sql "SELECT CASE backend_type WHEN 'client backend' THEN left(regexp_replace(query, '\s+', ' ', 'g'), 70)
                                          ELSE backend_type END FROM pg_stat_activity WHERE pid = $p")
        [ -n "$what" ] || continue
        awk -v a="$c0" -v b="$c1" -v n="$(( wf * per_wf ))" -v q="$what" 'BEGIN { printf "%7.1f us/activity  %s\n", (b - a) * 1e6 / n, q }'
    done < "$tmp/cpu0"
fi
kill -TERM "$wpid"; wait "$wpid" 2>/dev/null || true
if [ -n "${BACKENDS:-}" ]; then
    awk -v a="$server0" -v b="$(server_cpu_seconds)" -v n="$(( wf * per_wf ))" \
        'BEGIN { printf "%7.1f us/activity  the whole server (server_cpu_seconds, its backends gone)\n", (b - a) * 1e6 / n }'
fi
[ "$done" = "$wf" ] || { echo "par10_profile: only $done of $wf closed" >&2; tail -5 "$tmp/worker.log" >&2; exit 1; }
[ -z "${BACKENDS:-}" ] || exit 0
if [ -n "${PERF:-}" ]; then
    kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
    echo "par10_profile: $out/perf.data"; exit 0
fi
acts=$(( wf * per_wf ))
psql -qXAt -F $'\t' -v ON_ERROR_STOP=1 <<SQL
SELECT pg_stat_force_next_flush();
\o $out/functions.tsv
SELECT round(calls::numeric / $acts, 2), round((self_time * 1000 / $acts)::numeric, 2),
       round((total_time * 1000 / $acts)::numeric, 2), funcname
  FROM pg_stat_user_functions ORDER BY self_time DESC;
\o $out/statements.tsv
SELECT round(calls::numeric / $acts, 2), round((total_exec_time * 1000 / $acts)::numeric, 2),
       round((total_plan_time * 1000 / $acts)::numeric, 2), regexp_replace(query, '\s+', ' ', 'g')
  FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_%'
 ORDER BY total_exec_time + total_plan_time DESC;
SQL
echo "par10_profile: $acts activities of $type (${tree}); $out"
