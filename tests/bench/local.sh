#!/usr/bin/env bash
# Local activities against activities: workflows of ten no-op steps in
# sequence, BenchSeq10 (ten activities, each a round trip through the task
# queue) and BenchLocal10 (ten local activities, run by the workflow's own
# worker), N of each, one durable-worker process, nothing else running.
# Needs PG* set (a durable cluster), the worker binary and the plugin
# (tests/bench/workflows.c):
#   local.sh WORKER_BIN PLUGIN [N]     (N workflows of each: 300, or LOCAL_N)
# Prints "name value" lines:
#   local_seq10_wf_per_s             BenchSeq10 workflows/s (worker_rate.sh)
#   local_local10_wf_per_s           BenchLocal10 workflows/s
#   local_wf_per_s_ratio             local10 / seq10 (how many times faster)
#   local_seq10_commits_per_step     database commits per step (per activity)
#   local_local10_commits_per_step   database commits per step (per local activity)
#   local_commits_per_step_ratio     local10 / seq10
#   local_seq10_events_per_wf        history events per workflow
#   local_local10_events_per_wf
# The commit counts include this script's own polling for completion (one
# query a tenth of a second), the same for both.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
worker_bin=$1 plugin=$2
n=${3:-${LOCAL_N:-300}}
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$top/tests/bench/worker_rate.sh"
commits() { sql "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"; }
run() {   # type -> "wf_per_s commits_per_step events_per_wf"
    local c0 rate c1 t0
    t0=$(sql "SELECT durable.now()")
    c0=$(commits)
    rate=$(worker_rate "$1" "$n" 1)
    c1=$(commits)
    echo "$rate $(awk -v a="$c0" -v b="$c1" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / (n * 10) }') \
          $(sql "SELECT round(count(*)::numeric / $n, 1) FROM durable.history h JOIN durable.workflows w USING (run_id)
                  WHERE w.workflow_type = '$1' AND w.started_at >= '$t0'")"
}
read -r s_rate s_commits s_events < <(run BenchSeq10)
read -r l_rate l_commits l_events < <(run BenchLocal10)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "null" }'; }
echo "local_seq10_wf_per_s $s_rate"
echo "local_local10_wf_per_s $l_rate"
echo "local_wf_per_s_ratio $(ratio "$l_rate" "$s_rate")"
echo "local_seq10_commits_per_step $s_commits"
echo "local_local10_commits_per_step $l_commits"
echo "local_commits_per_step_ratio $(ratio "$l_commits" "$s_commits")"
echo "local_seq10_events_per_wf $s_events"
echo "local_local10_events_per_wf $l_events"
