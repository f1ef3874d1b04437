#!/usr/bin/env bash
# Timer lateness of the timer workers, A/B: the fire_due of a given commit
# (A) against this checkout's (B), alternated on one cluster so that both
# see the same machine. Each round: N timers due in the same second (the
# shape of make bench's "timers" phase), fired by the timer workers alone.
#   tests/bench/timers_ab.sh [A_COMMIT] [ROUNDS] [N]
# Needs a private PostgreSQL with this checkout installed (scripts/test.sh
# makes one: PG_CONFIG=.run/pg/bin/pg_config).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
a=${1:-main} rounds=${2:-3} n=${3:-10000}
port=${DURABLE_BENCH_PORT:-55491}
cluster() { scripts/cluster.sh "$1" timers-ab "$port"; }
cluster stop >/dev/null 2>&1 || true
cluster start
trap 'cluster stop' EXIT
eval "$(cluster env)"
sql() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }
old=$(mktemp)
# A's timer functions over B's install (all are CREATE OR REPLACE)
git show "$a:sql/durable--0.2/api/08_timers.sql" > "$old"
git show "$a:sql/durable--0.2/api/11_schedules.sql" | sed -n '/^-- Fires due schedules/,/^-- The public API/p' >> "$old"
install() {   # A or B
    sql -c "SET client_min_messages = warning" -c "DROP EXTENSION IF EXISTS durable CASCADE" -c "CREATE EXTENSION durable" \
        -f tests/bench/sql/fixtures.sql >/dev/null
    if [ "$1" = A ]; then sql -f "$old" >/dev/null; fi
}
round() {
    install "$1"
    local due
    due=$(sql -c "SELECT durable.now() + interval '40 seconds'")  # room to create them on a busy machine
    sql -c "SELECT durable_bench.start_timers($n, 'timer-wf', '$due')" >/dev/null
    for _ in $(seq 1 120); do
        [ "$(sql -c "SELECT count(*) FROM durable.history WHERE event_type = 'TimerFired'")" -ge "$n" ] && break
        sleep 1
    done
    sql -F ' ' -c "
        SELECT '$1', round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
               round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1),
               round(max(ms)::numeric, 1)
          FROM (SELECT extract(epoch FROM f.event_time - '$due'::timestamptz) * 1000 AS ms
                  FROM durable.history f WHERE f.event_type = 'TimerFired') l"
}
echo "variant p50_ms p99_ms max_ms ($n timers due at once, A = $a, B = checkout)"
for _ in $(seq 1 "$rounds"); do round A; round B; done
rm -f "$old"
