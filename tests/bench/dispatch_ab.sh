#!/usr/bin/env bash
# tests/bench/dispatch_ab.sh A_PG_CONFIG [ROUNDS]: make bench's dispatch
# phase alone (activities at 10/s, one per transaction, and signals at 10/s
# to 100 idle workflows, 5 s each, through bench-poller) on a fresh cluster
# of install A (another build's pg_config) alternated with this checkout's
# ($PG_CONFIG), ROUNDS times. Prints p50/p99 of each, per round: latency
# moves with the machine's load, so only rounds run back to back compare.
set -uo pipefail
cd "$(dirname "$0")/../.."
here=tests/bench
. "$here/lib.sh"
a=${1:?usage: dispatch_ab.sh A_PG_CONFIG [ROUNDS]}
b=${PG_CONFIG:?PG_CONFIG of the install of this checkout}
rounds=${2:-3}
secs=5
port=${DISPATCH_AB_PORT:-57411}
tmp=$(mktemp -d)
trap 'scripts/cluster.sh stop dispatch-ab $port >/dev/null 2>&1; rm -rf "$tmp"' EXIT
poller=$tmp/bench-poller
build_pq_tool poller "$poller"
value() { sed -n "s/^$1 //p" "$2"; }
round() {   # LABEL PG_CONFIG
    export PG_CONFIG=$2
    fresh_cluster dispatch-ab "$port" >/dev/null
    eval "$(scripts/cluster.sh env dispatch-ab "$port")"
    reset_store
    "$poller" --kind activity --queue disp-q --seconds $((secs + 2)) > "$tmp/d.out" &
    local p=$!
    sleep 0.3
    echo "SELECT durable_bench.schedule_activities(1, 1, 'disp-wf', 'disp-q');" > "$tmp/produce.sql"
    pgbench -n -c 2 -j 2 -R 10 -T $secs -f "$tmp/produce.sql" >/dev/null 2>&1
    wait $p
    psql -qXAt -c "SELECT count(durable.start_workflow('sig-' || i, 'Bench', 'sig-wf')) FROM generate_series(1, 100) i" >/dev/null
    "$poller" --kind workflow --queue sig-wf --count 100 --seconds 30 >/dev/null
    "$poller" --kind workflow --queue sig-wf --seconds $((secs + 2)) > "$tmp/s.out" &
    p=$!
    sleep 0.3
    printf '%s\n' '\set i random(1, 100)' "SELECT durable.signal_workflow('sig-' || :i, 'ping');" > "$tmp/signal.sql"
    pgbench -n -c 1 -R 10 -T $secs -f "$tmp/signal.sql" >/dev/null 2>&1
    wait $p
    echo "$1 dispatch_p50_ms $(value p50_ms "$tmp/d.out") dispatch_p99_ms $(value p99_ms "$tmp/d.out")" \
         "signal_p50_ms $(value p50_ms "$tmp/s.out") signal_p99_ms $(value p99_ms "$tmp/s.out")"
    scripts/cluster.sh stop dispatch-ab "$port" >/dev/null 2>&1
}
for r in $(seq 1 "$rounds"); do
    round A "$a"
    round B "$b"
done
