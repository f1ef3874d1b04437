#!/usr/bin/env bash
# make bench-peers: durable and the job queues and workflow engines its users
# compare it with, on one throwaway cluster in one run, so that every figure is
# a ratio within the run (the disk's speed varies by 6x from day to day).
#   graphile-worker   no-op jobs/s, stock and batched      vs durable activities/s
#   pg-boss           no-op jobs/s, stock and batched        (ten-parallel shape,
#                                                             one worker process)
#   DBOS Transact     three-step workflows/s, direct and     vs durable three-activity
#                     queued                                   workflows/s
# durable's two shapes run twice: with the worker settings every earlier run
# used (64 activity slots, workflow batches of 64), and with its throughput
# settings (docs/sdk.md, "Throughput settings"), which are set against the
# peers' batched variants as graphile-worker's documented ones are.
# The peers (pinned in package.json) are installed from npm into a scratch
# directory outside the repository: $DURABLE_PEERS_DIR, default
# ~/.cache/durable/bench-peers. Prints a table of ratios and writes
# tests/bench/results/peers.json. BENCH_QUICK=1 shrinks every phase.
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
here="$top/tests/bench/peers"
cd "$top"
port=${DURABLE_BENCH_PORT:-55492}
quick=${BENCH_QUICK:-0}
size() { [ "$quick" = 1 ] && echo "$2" || echo "$1"; }
scratch=${DURABLE_PEERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/durable/bench-peers}
case "$scratch" in "$top"|"$top"/*) echo "bench-peers: DURABLE_PEERS_DIR must be outside the repository" >&2; exit 1;; esac
command -v node >/dev/null && command -v npm >/dev/null ||
    { echo "bench-peers: node and npm are needed (apt-get install nodejs npm)" >&2; exit 1; }

# 1. The peers, pinned, installed once per package.json.
mkdir -p "$scratch"
if ! cmp -s "$here/package.json" "$scratch/package.json" || [ ! -d "$scratch/node_modules" ]; then
    echo "== installing the peers into $scratch"
    cp "$here/package.json" "$scratch/package.json"
    (cd "$scratch" && npm install --no-audit --no-fund --loglevel=error >/dev/null) ||
        { echo "bench-peers: npm install failed in $scratch" >&2; exit 1; }
fi
cp "$here"/*.mjs "$scratch/"
versions=$(for p in graphile-worker pg-boss @dbos-inc/dbos-sdk; do
    printf '%s %s, ' "$p" "$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$scratch/node_modules/$p/package.json")"
done)

# 2. One cluster for everyone, durable installed.
export DURABLE_TEST_NAME=bench-peers
cluster() { scripts/cluster.sh "$1" bench-peers "$port"; }
cluster stop
eval "$(cluster env)"
rm -rf "$(dirname "$DURABLE_PGDATA")"
cluster start
tmp=$(mktemp -d)
cleanup() { kill $(jobs -p) 2>/dev/null || true; cluster stop; rm -rf "$tmp"; }
trap cleanup EXIT
eval "$(cluster env)"
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
sql "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS durable" >/dev/null
sql "CREATE DATABASE dbos_bench" >/dev/null
results="$tmp/results"
: > "$results"
put() { echo "$1 $2" >> "$results"; printf '  %-34s %s\n' "$1" "$2"; }
value() { sed -n "s/^$1 //p" "$results"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "null" }'; }
# Commits of the whole cluster per unit of work, around one phase: the
# statistics of other backends reach pg_stat_database within a second.
commits() { sleep 1.2; sql "SELECT sum(xact_commit) FROM pg_stat_database"; }
phase() {   # KEY UNITS COMMAND...: COMMAND prints a rate; puts KEY and KEY_commits_per_unit
    local key=$1 units=$2 c0 rate; shift 2
    c0=$(commits)
    rate=$("$@" | tail -1) || { echo "bench-peers: $key failed" >&2; exit 1; }
    [[ "$rate" =~ ^[0-9]+$ ]] || { echo "bench-peers: $key gave no rate: $rate" >&2; exit 1; }
    put "$key" "$rate"
    put "${key}_commits_per_unit" "$(awk -v a="$c0" -v b="$(commits)" -v n="$units" 'BEGIN { printf "%.2f", (b - a) / n }')"
}
best() { local a b; a=$(value "${1}_1") b=$(value "${1}_2"); put "$1" $(( a > b ? a : b )); }
peer() { (cd "$scratch" && NODE_NO_WARNINGS=1 node "$@"); }
durable() {   # TYPE WORKFLOWS [ACTIVITIES PER WORKFLOW] -> units/s
    echo $(( $(worker_rate "$1" "$2" 1) * ${3:-1} ))
}
# the worker's throughput settings (docs/sdk.md): added after worker_rate's own
# --concurrency 64 --batch 64, which they replace
throughput_settings="--concurrency 256 --batch 256"
durable_tuned() { WORKER_RATE_ARGS="$throughput_settings" durable "$@"; }
echo "durable bench-peers on $(nproc) cores, $(pg_config --version); ${versions%, }"

worker_bin="$top/worker/build/durable-worker"
[ -x "$worker_bin" ] || { echo "bench-peers: build first (make all)" >&2; exit 1; }
plugin="$tmp/bench-workflows.so"
. "$top/tests/bench/worker_rate.sh"
build_bench_plugin

# 3. Workflows of three steps, durable and DBOS interleaved, twice (the
#    better round counts: the first run of each warms caches and plans).
wf=$(size 3000 300) dbos_n=$(size 1000 100) dbos_q=$(size 500 50)
echo "== three-step workflows"
for r in 1 2; do
    phase "wf3_per_s_$r" "$wf" durable BenchSeq3 "$wf"
    phase "wf3_tuned_per_s_$r" "$wf" durable_tuned BenchSeq3 "$wf"
    phase "dbos_wf3_per_s_$r" "$dbos_n" peer dbos.mjs direct "$dbos_n" 16
done
best wf3_per_s
best wf3_tuned_per_s
best dbos_wf3_per_s
phase dbos_queue_wf3_per_s "$dbos_q" peer dbos.mjs queue "$dbos_q" 16

# 4. Units of work: durable activities (ten at once per workflow, one worker
#    process) and one-activity workflows, against no-op jobs, stock and batched.
acts=$(size 1000 100) jobs=$(size 20000 2000) stock=$(size 5000 500) boss_stock=$(size 200 40)
echo "== activities and jobs"
for r in 1 2; do
    phase "par10_activities_per_s_$r" $(( acts * 10 )) durable BenchPar10 "$acts" 10
    phase "par10_tuned_activities_per_s_$r" $(( acts * 10 )) durable_tuned BenchPar10 "$acts" 10
    phase "graphile_stock_jobs_per_s_$r" "$stock" peer graphile.mjs stock "$stock" 16
    phase "graphile_batch_jobs_per_s_$r" "$jobs" peer graphile.mjs batch "$jobs" 16
done
best par10_activities_per_s
best par10_tuned_activities_per_s
best graphile_stock_jobs_per_s
best graphile_batch_jobs_per_s
phase wf1_per_s "$wf" durable BenchSeq1 "$wf"
phase pgboss_stock_jobs_per_s "$boss_stock" peer pgboss.mjs stock "$boss_stock" 16
phase pgboss_batch_jobs_per_s "$jobs" peer pgboss.mjs batch "$jobs" 16

# 5. The table of ratios (the issue's targets in the last column).
echo
echo "== ratios (durable / peer, same run)"
row() { printf '  %-58s %8s   %s\n' "$1" "$(ratio "$(value "$2")" "$(value "$3")")" "$4"; put "$5" "$(ratio "$(value "$2")" "$(value "$3")")" >/dev/null; }
row "three-activity workflows / DBOS three-step workflows" wf3_per_s dbos_wf3_per_s "target >= 5" wf3_vs_dbos
row "three-activity workflows / DBOS queued three-step" wf3_per_s dbos_queue_wf3_per_s "" wf3_vs_dbos_queue
row "three-activity workflows, throughput settings / DBOS" wf3_tuned_per_s dbos_wf3_per_s "" wf3_tuned_vs_dbos
row "activities (par10, 1 process) / graphile-worker stock jobs" par10_activities_per_s graphile_stock_jobs_per_s "target >= 2" par10_vs_graphile_stock
row "activities (par10, 1 process) / graphile-worker batched jobs" par10_activities_per_s graphile_batch_jobs_per_s "target >= 0.5" par10_vs_graphile_batch
row "activities (par10, throughput settings) / graphile batched" par10_tuned_activities_per_s graphile_batch_jobs_per_s "" par10_tuned_vs_graphile_batch
row "activities (par10, throughput settings) / pg-boss batched" par10_tuned_activities_per_s pgboss_batch_jobs_per_s "" par10_tuned_vs_pgboss_batch
row "activities (par10, 1 process) / pg-boss stock jobs" par10_activities_per_s pgboss_stock_jobs_per_s "" par10_vs_pgboss_stock
row "activities (par10, 1 process) / pg-boss batched jobs" par10_activities_per_s pgboss_batch_jobs_per_s "" par10_vs_pgboss_batch
row "one-activity workflows / graphile-worker stock jobs" wf1_per_s graphile_stock_jobs_per_s "" wf1_vs_graphile_stock
printf '  %-58s %8s\n' "commits per durable three-activity workflow" "$(value wf3_per_s_2_commits_per_unit)"
printf '  %-58s %8s\n' "commits per DBOS three-step workflow" "$(value dbos_wf3_per_s_2_commits_per_unit)"

mkdir -p "$top/tests/bench/results"
awk -v v="${versions%, }" 'BEGIN { print "{"; printf "  \"peers\": \"%s\"", v } { printf ",\n  \"%s\": %s", $1, ($2 == "" ? "null" : $2) }
     END { print "\n}" }' "$results" > "$top/tests/bench/results/peers.json"
echo "wrote tests/bench/results/peers.json"
