#!/usr/bin/env bash
# Timer lateness A/B: durable as built from a given commit (A: its timer
# workers and its SQL) against this checkout (B), rounds alternated so that
# both see the same machine. Each round is make bench's timer phase
# (tests/bench/timers_round.sh): N timers due at the same instant, fired by
# the timer workers alone, on a fresh store of a cluster of A's or B's own
# install. Prints one line per round and the ratios B / A of the medians.
#   tests/bench/timers_ab.sh [A_COMMIT] [ROUNDS] [N]
# A_SETTINGS (e.g. "durable.timer_lead = 0") is set on A's cluster only: with
# A_COMMIT=HEAD it measures one setting against the default on one build.
# B is this checkout's pgext, built and installed here into its private
# PostgreSQL (.run/pg, scripts/pginst.sh); A is built here too, in a
# temporary worktree with an install of its own.
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # build_pq_tool, reset_store
a=${1:-main} rounds=${2:-3} n=${3:-10000}
port=${DURABLE_BENCH_PORT:-55491}
tmp=$(mktemp -d)
b_config=$(scripts/pginst.sh "$top/.run/pg")
make -s -C pgext install PG_CONFIG="$b_config" >/dev/null
# A: its own checkout and its own copy of PostgreSQL, under the run directory
# (the postgres user must reach the install)
a_dir="$top/.run/timers-ab-a"
rm -rf "$a_dir"
git worktree add --detach -q "$a_dir/src" "$a"
a_config=$(scripts/pginst.sh "$a_dir/pg")
make -s -C "$a_dir/src/pgext" >/dev/null
make -s -C "$a_dir/src/pgext" install PG_CONFIG="$a_config" >/dev/null
cleanup() {
    for v in a b; do PG_CONFIG=$([ $v = a ] && echo "$a_config" || echo "$b_config") \
        scripts/cluster.sh stop "timers-ab-$v" "$port" >/dev/null 2>&1 || true; done
    git worktree remove --force "$a_dir/src" 2>/dev/null || true
    rm -rf "$tmp" "$a_dir"
}
trap cleanup EXIT
build_pq_tool visible "$tmp/bench-visible"

round() {   # a|b
    local config
    config=$([ "$1" = a ] && echo "$a_config" || echo "$b_config")
    PG_CONFIG="$config" scripts/cluster.sh start "timers-ab-$1" "$port"
    (
        eval "$(PG_CONFIG="$config" scripts/cluster.sh env "timers-ab-$1" "$port")"
        if [ "$1" = a ] && [ -n "${A_SETTINGS:-}" ]; then
            psql -qX -v ON_ERROR_STOP=1 -c "ALTER SYSTEM SET $A_SETTINGS" -c "SELECT pg_reload_conf()" >/dev/null
            sleep 1
        fi
        reset_store
        echo "$1 $("$here/timers_round.sh" "$n" 5 "$tmp/bench-visible")"
    )
    PG_CONFIG="$config" scripts/cluster.sh stop "timers-ab-$1" "$port" >/dev/null
}
echo "variant p50_ms p99_ms all_s visible_p50_ms visible_p99_ms visible_all_s ($n timers due at once, A = $a${A_SETTINGS:+ with $A_SETTINGS}, B = checkout)"
for _ in $(seq 1 "$rounds"); do round a; round b; done | tee "$tmp/rounds"
awk '
    function median(v, k,   i, j, x) {
        for (i = 2; i <= k; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
        return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
    }
    /^[ab] / { k[$1]++; for (f = 2; f <= 7; f++) col[$1, f, k[$1]] = $f }
    END {
        split("p50 p99 all visible_p50 visible_p99 visible_all", name, " ")
        for (f = 2; f <= 7; f++) {
            for (i = 1; i <= k["a"]; i++) va[i] = col["a", f, i]
            for (i = 1; i <= k["b"]; i++) vb[i] = col["b", f, i]
            ma = median(va, k["a"]); mb = median(vb, k["b"])
            printf "median %-12s A %9.3f  B %9.3f  B/A %.3f\n", name[f - 1], ma, mb, (ma > 0 ? mb / ma : 0)
        }
    }' "$tmp/rounds"
