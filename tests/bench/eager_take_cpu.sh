#!/usr/bin/env bash
# An eager take alone, A/B: the CPU one session spends per call of
# durable._eager_take (the gate a ScheduleActivityTask passes to be leased
# at once, api/72_eager.sql) over the whole path: an offer that fits, the
# queue armed, the run not paused, no ready task ahead. A is A_COMMIT's
# body, made pg_temp._eager_take in the session (the plpgsql one, before
# pgext/src/eager.c); B is this checkout's durable._eager_take. Alternated
# in one session, so both see the same machine; the session's own CPU from
# its /proc/self/stat (cpu_view). Not part of make bench: a small part of
# an activity (0.11 calls an activity in the ten-parallel shape). On its
# near-empty tables plancache settles on the plpgsql's generic plan, so A
# here is the interpreter and its statements, not the re-planning a busy
# queue's statistics kept it in (docs/performance.md, "_eager_take in C").
# The CPU is read in clock ticks (10 ms): N calls make each round some
# hundred of them.
#   tests/bench/eager_take_cpu.sh [A_COMMIT] [ROUNDS] [N]     (c1c196a, 5, 200000)
# Prints per round "variant us_per_call", then the ratio B / A of the medians.
# Needs a private PostgreSQL with this checkout installed (export
# PG_CONFIG=$(scripts/pginst.sh $PWD/.run/pg)).
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # bench_cluster, api_sql, product_statement, cpu_view, median
a=${1:-c1c196a} rounds=${2:-5} n=${3:-200000}
bench_cluster eager-take-cpu 55498
api_sql "$a" "$tmp/a_api.sql"
body=$(sed -n '/^CREATE OR REPLACE FUNCTION durable._eager_take(/,/^\$\$;/p' "$tmp/a_api.sql")
case "$body" in
*"LANGUAGE plpgsql"*) ;;
*) echo "eager_take_cpu: $a's _eager_take is not the plpgsql one" >&2; exit 1 ;;
esac

sql "SELECT durable.start_workflow('et', 'W', 'etq')" >/dev/null
take() {   # FUNCTION -> the calls' CPU, in ticks, and how many took
    cat <<SQL
BEGIN;
SELECT durable._eager_arm('default' || E'\x1f' || 'etq') AS armed \gset
SELECT ticks AS c0 FROM cpu \gset
SELECT count($1(w, 'etq', 3::smallint)) AS took FROM durable.workflows w, generate_series(1, $n)
 WHERE w.workflow_id = 'et' \gset
SELECT ticks - :c0 AS ticks FROM cpu \gset
\echo :ticks :took
COMMIT;
SQL
}
{
    echo "SET client_min_messages = warning;"
    echo "${body/CREATE OR REPLACE FUNCTION durable._eager_take(/CREATE FUNCTION pg_temp._eager_take(}"
    cpu_view
    echo "SELECT set_config('durable_eager.offer', concat_ws(E'\x1f', 'default', 'etq', 'bench'), false) AS offer,"
    echo "       set_config('durable_eager.slots', '1000000000', false) AS slots \gset"
    for _ in $(seq 1 "$rounds"); do
        echo "\\echo A"; take pg_temp._eager_take
        echo "\\echo B"; take durable._eager_take
    done
} | psql -qXAt -v ON_ERROR_STOP=1 | paste -d' ' - - > "$tmp/rounds"
ticks=$(getconf CLK_TCK)
awk -v n="$n" -v hz="$ticks" '{ if ($3 != n) { print "eager_take_cpu: " $1 " took " $3 " of " n > "/dev/stderr"; exit 1 }
                                printf "%s %.2f\n", $1, $2 / hz * 1e6 / n }' "$tmp/rounds" | tee "$tmp/per_call"
ma=$(awk '$1 == "A" { print $2 }' "$tmp/per_call" | median)
mb=$(awk '$1 == "B" { print $2 }' "$tmp/per_call" | median)
awk -v a="$ma" -v b="$mb" 'BEGIN { printf "_eager_take CPU per call B/A %.3f (medians %s, %s µs)\n", b / a, a, b }'
