#!/usr/bin/env bash
# The worker's wait for queries, A/B: the C worker of BASE (default 9358b08,
# whose query poller long-polls poll_query_tasks(..., wait_ms => 2000) and so
# holds a snapshot, back to back) and this checkout's (CALL
# durable.wait_for_query_tasks: it commits before it waits), alternated on one
# cluster with this checkout's store (the long poll still works on it). Per
# variant and round, the peers bench's two durable shapes with one worker
# process: three-activity workflows (BenchSeq3) and activities of
# ten-parallel workflows (BenchPar10), each with the server's CPU time (all
# its processes, from /proc) per activity, and what pg_stat_activity showed of
# the worker's connections while it ran, sampled every 0.2 s: the share of
# samples in which one held a backend_xmin, and the largest age(backend_xmin)
# seen (in transactions: how far the horizon lagged behind).
#   tests/bench/horizon_ab.sh [ROUNDS] [N]   N three-activity workflows and
#                                            N / 10 ten-parallel ones
# BASE=commit picks the old worker (built from that commit into a temporary
# directory). TRACK=1 also turns track_functions on and adds, per shape, the
# time per activity in the placing trigger's walk over the queue's head
# (_workflow_task_pass, pg_stat_user_functions' total_time): what the dead
# index entries cost (the profile's overhead is in both variants' CPU then). Needs a private PostgreSQL with this checkout installed
# (export PG_CONFIG=$(scripts/pginst.sh $PWD/.run/pg); make -C pgext install
# PG_CONFIG=$PG_CONFIG) and make all.
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # fresh_cluster, reset_store, server_cpu_seconds
rounds=${1:-3} n=${2:-2000} base=${BASE:-9358b08}
port=${DURABLE_BENCH_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
cluster() { scripts/cluster.sh "$1" horizon-ab "$port"; }
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; cluster stop; rm -rf "$tmp"' EXIT
new_worker="$top/worker/build/durable-worker"
[ -x "$new_worker" ] || { echo "horizon_ab: build first (make all)" >&2; exit 1; }
mkdir -p "$tmp/base"
git archive "$base" worker | tar -x -C "$tmp/base"
make -s -C "$tmp/base/worker" build/durable-worker >"$tmp/base-build.log" 2>&1 ||
    { echo "horizon_ab: could not build the worker of $base" >&2; tail -5 "$tmp/base-build.log" >&2; exit 1; }
fresh_cluster horizon-ab "$port"
eval "$(cluster env)"
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
if [ "${TRACK:-0}" = 1 ]; then
    sql "ALTER SYSTEM SET track_functions = 'all'" >/dev/null
    sql "SELECT pg_reload_conf()" >/dev/null
fi
# worker_rate runs "$worker_bin"; each variant's connections carry its name
for v in poll wait; do
    bin=$([ "$v" = poll ] && echo "$tmp/base/worker/build/durable-worker" || echo "$new_worker")
    printf '#!/bin/sh\nPGAPPNAME=horizon-ab-%s exec "%s" "$@"\n' "$v" "$bin" > "$tmp/worker-$v"
    chmod +x "$tmp/worker-$v"
done
plugin="$tmp/bench-workflows.so"
. "$here/worker_rate.sh"   # worker_rate, build_bench_plugin
build_bench_plugin

# sample_xmin APP OUT: until killed, every 0.2 s a line "held max_age" of
# APP's connections (one session, \watch: each look a statement of its own)
sample_xmin() {
    echo "SELECT count(backend_xmin) > 0, coalesce(max(age(backend_xmin)), 0)
            FROM pg_stat_activity WHERE application_name = '$1' \\watch 0.2" |
        psql -qXAt -F ' ' 2>/dev/null | grep -v '^$' > "$2"
}
shape() {   # TYPE WORKFLOWS ACTIVITIES_PER_WORKFLOW -> "cpu_us_per_activity held_share max_xmin_age"
    local cpu0 cpu1 acts=$(( $2 * $3 )) sampler
    reset_store
    sql "CHECKPOINT"
    cpu0=$(server_cpu_seconds)
    sample_xmin "horizon-ab-$v" "$tmp/xmin" &
    sampler=$!
    worker_rate "$1" "$2" 1 >/dev/null
    pkill -INT -P "$sampler" psql 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
    cpu1=$(server_cpu_seconds)
    echo "$(awk -v a="$cpu0" -v b="$cpu1" -v n="$acts" 'BEGIN { printf "%.0f", (b - a) * 1e6 / n }')" \
         "$(awk '{ n++; if ($1 == "t") h++; if ($2 > m) m = $2 } END { printf "%.2f %d", n ? h / n : 0, m }' "$tmp/xmin")" \
         "$(track "$acts")"
}
track() {   # ACTIVITIES -> microseconds per activity in _workflow_task_pass (TRACK=1)
    [ "${TRACK:-0}" = 1 ] || return 0
    # the worker's backends report their function counts as they exit
    for _ in $(seq 1 100); do
        [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'horizon-ab-$v'")" = 0 ] && break
        sleep 0.1
    done
    sql "SELECT round(coalesce(sum(total_time), 0)::numeric * 1000 / $1)
           FROM pg_stat_user_functions WHERE schemaname = 'durable' AND funcname = '_workflow_task_pass'"
}
t=$([ "${TRACK:-0}" = 1 ] && echo " task_pass_us_per_activity" || true)
echo "variant wf3_server_cpu_us_per_activity wf3_xmin_held_share wf3_max_xmin_age${t/ / wf3_}" \
     "par10_server_cpu_us_per_activity par10_xmin_held_share par10_max_xmin_age${t/ / par10_}" \
     "(N = $n; poll = $base's worker, wait = this checkout's)"
for _ in $(seq 1 "$rounds"); do
    for v in poll wait; do
        worker_bin="$tmp/worker-$v"
        echo "$v $(shape BenchSeq3 "$n" 3) $(shape BenchPar10 $(( n / 10 )) 10)"
    done
done
