#!/usr/bin/env bash
# Two durable-worker binaries, A/B, by the instructions the worker process
# executes (valgrind --tool=callgrind), which the machine's load does not
# move as it moves CPU time: for changes to the worker alone on a busy
# machine (worker_cpu_ab.sh's schedstat figures swing with the load). One
# store (this checkout's install, or PG_CONFIG's), a fresh one per run; each
# run is one worker under callgrind (--concurrency 64 --batch 64, as
# worker_rate.sh's) and N workflows of TYPE started at once (start_and_wait).
# The worker runs ~50x slower under callgrind, so the batches it sees differ
# from a real run's: compare A with B, not with other benches.
#   tests/bench/worker_instr_ab.sh A_WORKER_BIN [TYPE] [N] [ROUNDS]   (-, BenchSeq3, 1000, 1)
# B is this checkout's worker/build/durable-worker (or $B_WORKER). Prints per
# round "A|B instructions", then B/A of the medians. OUT_DIR=<dir> keeps the
# callgrind files (callgrind_annotate --inclusive=yes FILE).
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # bench_cluster, reset_store, sql, median
a_bin=$(realpath "${1:?usage: worker_instr_ab.sh A_WORKER_BIN [TYPE] [N] [ROUNDS]}")
b_bin=$(realpath "${B_WORKER:-$top/worker/build/durable-worker}")
type=${2:-BenchSeq3} n=${3:-1000} rounds=${4:-1}
command -v valgrind >/dev/null || { echo "worker_instr_ab: valgrind is needed" >&2; exit 1; }
export PG_CONFIG=${PG_CONFIG:-$top/.run/pg/lib/postgresql/15/bin/pg_config}
export PATH="$(dirname "$PG_CONFIG"):$PATH"
bench_cluster worker-instr-ab 55498
plugin="$tmp/plugin.so"
. "$here/worker_rate.sh"   # build_bench_plugin, start_and_wait
build_bench_plugin
out=${OUT_DIR:-$tmp}
mkdir -p "$out"
run() {   # A|B BIN ROUND -> "A|B instructions"
    local q="winstr-$RANDOM" pid file="$out/callgrind.$1.$3"
    reset_store
    valgrind --tool=callgrind --callgrind-out-file="$file" "$2" --task-queue "$q" --plugin "$plugin" \
        --concurrency 64 --batch 64 2>>"$tmp/worker.log" &
    pid=$!
    sleep 3   # valgrind's start
    start_and_wait "$q" "$type" "$n"
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    [ "$done" = "$n" ] || { echo "worker_instr_ab: only $done of $n $type workflows completed" >&2; exit 1; }
    echo "$1 $(awk '/^summary:/ { print $2 }' "$file")"
}
echo "variant instructions (A = $a_bin, B = $b_bin, $n $type)"
for r in $(seq 1 "$rounds"); do run A "$a_bin" "$r"; run B "$b_bin" "$r"; done | tee "$tmp/rounds"
read -r ratio ma mb < <(ab_ratio "$tmp/rounds" 2)
echo "worker instructions B/A $ratio (medians $ma, $mb)"
