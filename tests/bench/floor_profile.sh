#!/usr/bin/env bash
# Where the store floor's time goes by SQL function and statement, for one
# build: floor_cpu.sh's shape (N one-activity workflows started, then leased
# and completed in batches of 100 until all closed) in one backend, on a
# fresh cluster with track_functions = all and pg_stat_statements (track =
# all, track_planning = on), the counters reset before the starts and read
# after them and after the run. A development tool for diff profiles (run it
# for two builds, compare the lists), not part of make bench; the counters
# cost time of their own, so compare its figures with each other, never with
# floor_cpu.sh's.
#   tests/bench/floor_profile.sh [N] [OUT_DIR]      (3000, ./floor_profile)
# TREE=<worktree> profiles that worktree's own install (its .run/pg, as
# floor_cpu.sh's A_TREE) instead of this checkout's.
# Writes OUT_DIR/{start,run}_{functions,statements}.tsv: per function
# "calls_per_wf self_us_per_wf total_us_per_wf name", per statement
# "calls_per_wf exec_us_per_wf plan_us_per_wf query", largest first.
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # bench_cluster, floor_rounds
n=${1:-3000}
out=$(realpath -m "${2:-floor_profile}")
tree=${TREE:+$(cd "$TREE" && pwd)}
[ -z "$tree" ] || export PG_CONFIG=$tree/.run/pg/lib/postgresql/15/bin/pg_config
name=floor-profile${tree:+-$(basename "$tree")}
bench_cluster "$name" 55511 >/dev/null
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg tee -a "$DURABLE_PGDATA/postgresql.conf" >/dev/null <<CONF
shared_preload_libraries = 'durable, pg_stat_statements'
track_functions = all
pg_stat_statements.track = all
pg_stat_statements.track_planning = on
pg_stat_statements.max = 10000
CONF
cluster stop >/dev/null
cluster start
psql -qX -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
    -c "DROP EXTENSION IF EXISTS durable CASCADE" -c "CREATE EXTENSION durable" \
    -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c CHECKPOINT >/dev/null
mkdir -p "$out"
dump() {   # PHASE: the function counters and all statements since the reset, per workflow
    echo "SELECT pg_stat_force_next_flush();"
    echo "SELECT pg_stat_clear_snapshot();"
    echo "\\o $tmp/$1_functions.tsv"
    echo "SELECT round(calls::numeric / $n, 2), round((self_time * 1000 / $n)::numeric, 2),
                 round((total_time * 1000 / $n)::numeric, 2), funcname
            FROM pg_stat_user_functions ORDER BY self_time DESC;"
    echo "\\o $tmp/$1_statements.tsv"
    echo "SELECT round(calls::numeric / $n, 2), round((total_exec_time * 1000 / $n)::numeric, 2),
                 round((total_plan_time * 1000 / $n)::numeric, 2), regexp_replace(query, '\\s+', ' ', 'g')
            FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_%'
           ORDER BY total_exec_time + total_plan_time DESC;"
    echo "\\o"
    echo "SELECT pg_stat_reset(), pg_stat_statements_reset();"
}
{
    echo "SELECT pg_stat_reset(), pg_stat_statements_reset();"
    echo "SELECT count(durable.start_workflow('f-' || i, 'Bench', 'fq')) FROM generate_series(1, $n) i;"
    dump start
    floor_rounds "$n"
    dump run
    echo "SELECT count(*) FROM durable.workflows WHERE status = 'COMPLETED';"
} > "$tmp/run.sql"
closed=$(psql -qXAt -F $'\t' -v ON_ERROR_STOP=1 -f "$tmp/run.sql" 2>"$tmp/err" | tail -1) || { cat "$tmp/err" >&2; exit 1; }
[ "$closed" = "$n" ] || { cat "$tmp/err" >&2; echo "floor_profile: only $closed of $n workflows closed" >&2; exit 1; }
cp "$tmp"/*.tsv "$out/"
echo "floor_profile: $n workflows (${tree:-this checkout}); $out"
