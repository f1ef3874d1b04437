#!/usr/bin/env bash
# What one activity writes, A/B: tests/bench/wal.sh run alternately on two
# checkouts' installs (each its own private PostgreSQL and a fresh cluster
# per round), so both see the same machine. A is another worktree that was
# built and installed the same way (make all; scripts/pginst.sh DIR/.run/pg;
# make -C pgext install), B is this one. Storage changes (a table's columns,
# indexes) need two installs: the API-only A/B of store_ab.sh cannot show them.
#   tests/bench/wal_ab.sh A_WORKTREE [ROUNDS] [N]
# B_PG_CONFIG picks another private install for B (default .run/pg's, e.g.
# while a test cluster holds that one's library). Both variants' clusters
# are made under this checkout's .run (with its scripts/cluster.sh), never
# in A's tree, which others may be using at the same moment.
# A_WORKFLOWS=<file> builds A's bench plugin from that source instead of
# tests/bench/workflows.c (an old tree's worker API); an A older than wal.sh
# or worker_rate.sh is run with this checkout's, and so is every A when
# WAL_QUIET or WAL_WORKER_ARGS is set (wal.sh's header).
# Prints one line per round and variant: bytes, FPI bytes, records, index
# entries per activity; then, on the same cluster, the server's CPU time per
# workflow (µs, all its processes from /proc: what the machine's other load
# moves least) over CPU_N (2,000) more BenchSeq1 run by one worker.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
a_tree=$(cd "${1:?usage: wal_ab.sh A_WORKTREE [ROUNDS] [N]}" && pwd)
rounds=${2:-3} n=${3:-500} cpu_n=${CPU_N:-2000}
port=${DURABLE_BENCH_PORT:-55493}
tmp=$(mktemp -d)
trap 'for c in "$a_tree/.run/pg/lib/postgresql/15/bin/pg_config" "${B_PG_CONFIG:-$top/.run/pg/lib/postgresql/15/bin/pg_config}"; do PG_CONFIG=$c "$top/scripts/cluster.sh" stop wal-ab "$port" >/dev/null 2>&1 || true; done; rm -rf "$tmp"' EXIT
gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -fPIC -shared -I"$top/worker/include" \
    "$top/tests/bench/workflows.c" -o "$tmp/bench-workflows.so"
gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -fPIC -shared -I"$a_tree/worker/include" \
    "${A_WORKFLOWS:-$top/tests/bench/workflows.c}" -o "$tmp/bench-workflows-a.so"
bench_file() {   # TREE FILE: TREE's tests/bench/FILE, or this checkout's if TREE has none
    if [ -e "$1/tests/bench/$2" ]; then echo "$1/tests/bench/$2"; else echo "$top/tests/bench/$2"; fi
}

server_cpu() {   # CPU seconds of the server: live processes and those it reaped
    local pm
    pm=$(head -1 "$DURABLE_PGDATA/postmaster.pid")
    { cat "/proc/$pm/stat"; for p in $(pgrep -P "$pm"); do cat "/proc/$p/stat" 2>/dev/null; done; } |
        sed 's/^.*) //' | awk -v hz="$(getconf CLK_TCK)" '
            { t += $12 + $13; if (NR == 1) t += $14 + $15 } END { printf "%.2f", t / hz }'
}
one() {   # TREE LABEL [PG_CONFIG]: one fresh cluster on TREE's install, wal.sh on it
    local tree=$1 label=$2 out cpu0 cpu1 plugin=$tmp/bench-workflows.so
    [ "$tree" = "$top" ] || plugin=$tmp/bench-workflows-a.so
    (
        # the cluster lives under this checkout's .run for both variants: A is
        # often a worktree several engineers share (and run this against)
        cd "$top"
        export PG_CONFIG=${3:-$tree/.run/pg/lib/postgresql/15/bin/pg_config}
        here=$top/tests/bench; . "$top/tests/bench/lib.sh"
        fresh_cluster wal-ab "$port"
        eval "$(scripts/cluster.sh env wal-ab "$port")"
        # WAL_QUIET and WAL_WORKER_ARGS (wal.sh) only this checkout's wal.sh
        # may know: with either, both variants run it
        wal_sh=$(bench_file "$tree" wal.sh)
        [ -z "${WAL_QUIET:-}${WAL_WORKER_ARGS:-}" ] || wal_sh=$top/tests/bench/wal.sh
        out=$("$wal_sh" "$tree/worker/build/durable-worker" "$plugin" "$n" 2>"$tmp/wal.err") ||
            { echo "wal_ab: wal.sh failed in $label:" >&2; grep -v '^ \|^--\|^-\+\|^(' "$tmp/wal.err" | tail -5 >&2; exit 1; }
        sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
        worker_bin=$tree/worker/build/durable-worker
        . "$(bench_file "$tree" worker_rate.sh)"
        sql "CHECKPOINT" >/dev/null
        cpu0=$(server_cpu)
        worker_rate BenchSeq1 "$cpu_n" 1 >/dev/null
        cpu1=$(server_cpu)
        scripts/cluster.sh stop wal-ab "$port" >/dev/null
        echo "$out" | awk -v l="$label" -v c="$(awk -v a="$cpu0" -v b="$cpu1" -v n="$cpu_n" 'BEGIN { printf "%.0f", (b - a) * 1e6 / n }')" '
            { v[$1] = $2 } END { printf "%s bytes %s fpi %s records %s index_entries %s server_cpu_us %s\n", l,
              v["wal_bytes_per_activity"], v["wal_fpi_bytes_per_activity"], v["wal_records_per_activity"],
              v["wal_index_entries_per_activity"], c }'
    )
}
for r in $(seq 1 "$rounds"); do
    one "$a_tree" "round $r A"
    one "$top" "round $r B" "${B_PG_CONFIG:-}"
done
