#!/usr/bin/env bash
# What writing and reading history costs the server, A/B: for each of two
# checkouts' installs (built and installed into their own .run/pg, as for
# wal_ab.sh), a fresh cluster, the events of a real BenchSeq1 history appended
# to 2,000 runs with durable._append (22,000 events, five times), the poll's
# history (_history_json) of those runs (five times), and every row's
# attributes read through durable.history (five times). Prints the server's
# CPU time (ms, all its processes from /proc, 10 ms ticks) of each, per round
# and variant.
#   tests/bench/history_cpu_ab.sh A_WORKTREE [ROUNDS]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
a_tree=$(cd "${1:?usage: history_cpu_ab.sh A_WORKTREE [ROUNDS]}" && pwd)
rounds=${2:-4}
port=${DURABLE_BENCH_PORT:-55751}
plugin_so=$(mktemp -d)/bench-workflows.so
gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -fPIC -shared -I"$top/worker/include" \
    "$top/tests/bench/workflows.c" -o "$plugin_so"
one() (
tree=$1
# (both variants' clusters under this checkout's .run, as wal_ab.sh's: A is
# often a worktree several engineers share and run this against)
cd "$top"; export PG_CONFIG=$tree/.run/pg/lib/postgresql/15/bin/pg_config; export PATH=$(dirname $PG_CONFIG):$PATH
here=tests/bench; . tests/bench/lib.sh
fresh_cluster micro $port >/dev/null; eval "$(scripts/cluster.sh env micro $port)"
tmp=$(mktemp -d); sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
worker_bin=$tree/worker/build/durable-worker plugin=$plugin_so
. tests/bench/worker_rate.sh; worker_rate BenchSeq1 20 1 >/dev/null
server_cpu() {
    local pm; pm=$(head -1 "$DURABLE_PGDATA/postmaster.pid")
    { cat "/proc/$pm/stat"; for p in $(pgrep -P "$pm"); do cat "/proc/$p/stat" 2>/dev/null; done; } |
        sed 's/^.*) //' | awk -v hz="$(getconf CLK_TCK)" '{ t += $12 + $13; if (NR == 1) t += $14 + $15 } END { printf "%.0f", t * 1000 / hz }'
}
sql "SELECT count(durable.start_workflow('m-' || i, 'W', 'mq')) FROM generate_series(1, 2000) i" >/dev/null
sql "CREATE TABLE public.runs AS SELECT run_id FROM durable.workflows WHERE task_queue = 'mq';
     CREATE TABLE public.evs AS SELECT event_id, event_type, attributes FROM durable.history
      WHERE run_id = (SELECT run_id FROM durable.workflows WHERE workflow_type = 'BenchSeq1' LIMIT 1) AND event_id > 1" >/dev/null
out=""
for q in "SELECT count(durable._append(r.run_id, e.event_type, e.attributes)) FROM public.runs r, public.evs e" \
         "SELECT sum(jsonb_array_length(durable._history_json(r.run_id, 0))) FROM public.runs r" \
         "SELECT count(*) FROM durable.history h JOIN public.runs r USING (run_id) WHERE h.attributes ? 'identity'"; do
    c0=$(server_cpu); for _ in 1 2 3 4 5; do sql "$q" >/dev/null; done; c1=$(server_cpu)
    out="$out $((c1 - c0))"
done
echo "append$out" | awk '{ printf "append %s ms, history_json %s ms, view %s ms\n", $2, $3, $4 }'
scripts/cluster.sh stop micro $port >/dev/null; rm -rf $tmp
)
for r in $(seq 1 "$rounds"); do
    echo "round $r A $(one "$a_tree")"
    echo "round $r B $(one "$top")"
done
