#!/usr/bin/env bash
# Where one backend's CPU goes in the store floor: `perf record -g` of the
# backend that runs floor_cpu.sh's statements (N one-activity workflows
# started, then leased and completed in batches of 100 until all closed),
# on a fresh cluster of this checkout's install. A development tool (needs
# linux-perf), not part of make bench.
#   tests/bench/floor_perf.sh [N] [OUT]     (3000, perf.data here)
# Then e.g. `perf report -i OUT --children --sort symbol -g none` for each
# function's share, or `--no-children` for self time.
set -euo pipefail
out=$(realpath -m "${2:-perf.data}")
. "$(dirname "$0")/lib.sh"   # bench_cluster, floor_rounds
n=${1:-3000}
bench_cluster floor-perf 55501 >/dev/null
{
    echo "SELECT pg_backend_pid() AS pid \\gset"
    echo "\\setenv FLOOR_PERF_PID :pid"
    echo "\\! perf record -q -g -p \$FLOOR_PERF_PID -o $out >/dev/null 2>&1 & echo \$! > $tmp/perf.pid; sleep 1"
    echo "SELECT count(durable.start_workflow('f-' || i, 'Bench', 'fq')) FROM generate_series(1, $n) i;"
    floor_rounds "$n"
    echo "\\! kill -INT \$(cat $tmp/perf.pid); sleep 2"
    echo "SELECT count(*) FROM durable.workflows WHERE status = 'COMPLETED';"
} > "$tmp/run.sql"
closed=$(psql -qXAt -v ON_ERROR_STOP=1 -f "$tmp/run.sql" | tail -1)
[ "$closed" = "$n" ] || { echo "floor_perf: only $closed of $n workflows closed" >&2; exit 1; }
echo "floor_perf: $n workflows; perf data in $out"
