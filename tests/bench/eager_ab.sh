#!/usr/bin/env bash
# Eager activity execution, A/B: the same build's C worker with eager
# execution on (the default) and off (--no-eager), alternated on one cluster
# so that both see the same machine. Each round gives, per variant, the
# peers bench's two durable shapes with one worker process: three-activity
# workflows (BenchSeq3) and activities of ten-parallel workflows
# (BenchPar10), each with the server's CPU time (all its processes, from
# /proc), commits and WAL bytes per activity, and the share of activities the
# worker got eagerly (its exit line).
#   tests/bench/eager_ab.sh [ROUNDS] [N]    N three-activity workflows and
#                                           N / 10 ten-parallel ones
# WORKER_ARGS adds worker arguments to both variants (e.g. "--concurrency 256":
# the bench's 64 slots are fewer than two completion batches of 64 schedule).
# AB_OFF is the switch of the "off" variant (default --no-eager; e.g.
# --no-handback for the hand-back, api/76_handback.sql). Each shape also gives
# the share of workflow tasks handed back with activity outcomes (the exit
# line) and the median hop from an activity's WorkflowTaskScheduled to its
# WorkflowTaskStarted (ms, from the histories: every workflow task but the
# first); each round adds a quiet shape, 30 three-activity workflows started
# 100 ms apart, for that hop's median and 90th percentile without the burst's
# queueing, and its server CPU, commits and WAL per activity (what the
# worker does while idle included: its backstop polls). QUIET_ONLY=1 runs the
# quiet shape alone.
# Needs a private PostgreSQL with this checkout installed (scripts/test.sh
# makes one: export PG_CONFIG=$(scripts/pginst.sh $PWD/.run/pg)) and make all.
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # bench_cluster, sql, reset_store, server_cpu_seconds, commits, per, start_spaced, workflow_task_hops
rounds=${1:-3} n=${2:-2000}
bench_cluster eager-ab 55493
real_worker="$top/worker/build/durable-worker"
[ -x "$real_worker" ] || { echo "eager_ab: build first (make all)" >&2; exit 1; }
# worker_rate runs "$worker_bin" --concurrency 64 --batch 64 ...; WORKER_ARGS
# (e.g. "--concurrency 256") are added to both variants' arguments
for v in on off; do
    printf '#!/bin/sh\nexec "%s" "$@" %s %s\n' "$real_worker" "${WORKER_ARGS:-}" \
        "$([ "$v" = off ] && echo "${AB_OFF:---no-eager}")" > "$tmp/worker-$v"
    chmod +x "$tmp/worker-$v"
done
plugin="$tmp/bench-workflows.so"
. "$here/worker_rate.sh"   # worker_rate, build_bench_plugin
build_bench_plugin

server_cpu() { server_cpu_seconds; }
# percentiles (ms) of the hop WorkflowTaskScheduled -> WorkflowTaskStarted
# of the store's workflow tasks after each run's first: "p50 p90"
hops() { sql "SELECT concat_ws(' ', $(p50_p90 ms 2)) FROM $(workflow_task_hops) h WHERE h.scheduled_event_id > 2"; }
# the workflow tasks handed back, from the worker's exit line
handed_back() { grep 'handed back with activity outcomes' "$tmp/worker.log" | tail -1 |
                    sed 's/.* \([0-9]*\) handed back with activity outcomes.*/\1/'; }
shape() {   # TYPE WORKFLOWS ACTIVITIES_PER_WORKFLOW -> "workflows/s cpu_us_per_activity commits_per_activity wal_per_activity eager_share handback_share hop_p50_ms"
    local c0 w0 cpu0 rate eager acts=$(( $2 * $3 ))
    reset_store
    sql "CHECKPOINT"
    c0=$(commits); w0=$(sql "SELECT pg_current_wal_lsn()"); cpu0=$(server_cpu)
    rate=$(worker_rate "$1" "$2" 1)
    # the worker's exit line: "... with a completion: N eager, M polled)"
    eager=$(grep 'with a completion:' "$tmp/worker.log" | tail -1 | sed 's/.*with a completion: \([0-9]*\) eager.*/\1/')
    echo "$rate $(per "$cpu0" "$(server_cpu)" "$acts" '%.6f' | awk '{ printf "%.0f", $1 * 1e6 }')" \
         "$(per "$c0" "$(commits)" "$acts" '%.3f')" \
         "$(sql "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$w0') / $acts)")" \
         "$(awk -v e="${eager:-0}" -v n="$acts" 'BEGIN { printf "%.2f", e / n }')" \
         "$(awk -v e="$(handed_back)" -v n="$acts" 'BEGIN { printf "%.2f", e / n }')" \
         "$(hops | cut -d' ' -f1)"
}
quiet() {   # 30 three-activity workflows, started 100 ms apart -> "hop_p50_ms hop_p90_ms cpu_us_per_activity commits_per_activity wal_per_activity"
    local q="quiet-$RANDOM" pid c0 w0 cpu0
    reset_store
    sql "CHECKPOINT"
    c0=$(commits); w0=$(sql "SELECT pg_current_wal_lsn()"); cpu0=$(server_cpu)
    "$worker_bin" --task-queue "$q" --plugin "$plugin" --concurrency 64 --batch 64 2>>"$tmp/worker.log" &
    pid=$!
    sleep 0.5
    # one start every 100 ms (a workflow takes a few ms to a few tens here),
    # from one session: the same statements in both variants
    start_spaced 30 BenchSeq3 "$q" 1 0.1
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    echo "$(hops) $(per "$cpu0" "$(server_cpu)" 90 '%.6f' | awk '{ printf "%.0f", $1 * 1e6 }')" \
         "$(per "$c0" "$(commits)" 90 '%.3f')" "$(sql "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$w0') / 90)")"
}
round() {   # on or off -> one line of figures
    local v=$1 wf3 par10
    worker_bin="$tmp/worker-$v"
    if [ -n "${QUIET_ONLY:-}" ]; then echo "$v $(quiet)"; return; fi
    wf3=$(shape BenchSeq3 "$n" 3)
    par10=$(shape BenchPar10 $(( n / 10 )) 10)
    set -- $par10
    echo "$v $wf3 $(( $1 * 10 )) $2 $3 $4 $5 $6 $7 $(quiet)"
}
echo "worker arguments added: ${WORKER_ARGS:-none}; off is ${AB_OFF:---no-eager}"
echo "variant wf3_per_s wf3_server_cpu_us_per_activity wf3_commits_per_activity wf3_wal_bytes_per_activity" \
     "wf3_eager_share wf3_handback_share wf3_hop_p50_ms par10_activities_per_s par10_server_cpu_us_per_activity" \
     "par10_commits_per_activity par10_wal_bytes_per_activity par10_eager_share par10_handback_share" \
     "par10_hop_p50_ms quiet30_hop_p50_ms quiet30_hop_p90_ms quiet30_server_cpu_us_per_activity" \
     "quiet30_commits_per_activity quiet30_wal_bytes_per_activity (N = $n; QUIET_ONLY: the variant and the quiet30 columns)"
# on first in odd rounds, off first in even ones: a drift of the machine
# within a round weighs on both alike
for r in $(seq 1 "$rounds"); do
    if [ $(( r % 2 )) = 1 ]; then round on; round off; else round off; round on; fi
done
