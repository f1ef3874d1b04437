#!/usr/bin/env bash
# tests/bench/dispatch_ab.sh A_PG_CONFIG [ROUNDS]: make bench's dispatch
# phase alone (activities at 10/s, one per transaction, and signals at 10/s
# to 100 idle workflows, 5 s each, through bench-poller) on a fresh cluster
# of install A (another build's pg_config) alternated with this checkout's
# ($PG_CONFIG), ROUNDS times. Prints p50/p99 of each, per round: latency
# moves with the machine's load, so only rounds run back to back compare.
# SLEEPERS=N measures make bench's scale phase instead: each install gets one
# cluster, made once and loaded with N workflows asleep on timers
# (sql/sleepers.sql, as the bench does), and the rounds alternate on the two.
# SLEEPERS_A=0 leaves A's store empty: with A the same install as B, the
# bench's scale_1m_dispatch_ratio, its two sides alternated.
# Each line also gives the timer workers' ticks (fire_due's calls) and CPU
# per activity dispatched, and their CPU per tick: a wake that made them tick
# at each start's and lease's commit ran on the cores the dispatch waited
# for. DISPATCH_AB_SECS (default 5) lengthens the rounds, for finer CPU
# figures (the clock ticks of /proc are 10 ms).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
a=${1:?usage: dispatch_ab.sh A_PG_CONFIG [ROUNDS]}
b=${PG_CONFIG:?PG_CONFIG of the install of this checkout}
rounds=${2:-3}
secs=${DISPATCH_AB_SECS:-5}
port=${DISPATCH_AB_PORT:-57411}
tmp=$(mktemp -d)
trap 'for c in "dispatch-ab $port" "dispatch-ab-A $port" "dispatch-ab-B $((port + 1))"; do
          scripts/cluster.sh stop $c >/dev/null 2>&1; done; rm -rf "$tmp"' EXIT
poller=$tmp/bench-poller
build_pq_tool poller "$poller"
value() { sed -n "s/^$1 //p" "$2"; }
sleepers=${SLEEPERS:-}
# the cluster a round runs on: made for it, or with SLEEPERS the install's own
setup() {   # LABEL PG_CONFIG
    export PG_CONFIG=$2
    local name=dispatch-ab at=$port
    if [ -n "$sleepers" ]; then
        name=dispatch-ab-$1
        [ "$1" = A ] || at=$((port + 1))
        if [ -f "$tmp/loaded-$1" ]; then
            eval "$(scripts/cluster.sh env "$name" "$at")"
            return
        fi
    fi
    fresh_cluster "$name" "$at" >/dev/null
    eval "$(scripts/cluster.sh env "$name" "$at")"
    psql -qXAt -c "ALTER SYSTEM SET track_functions = 'pl'" -c "SELECT pg_reload_conf()" >/dev/null
    reset_store
    local n=$sleepers
    [ "$1" = A ] && n=${SLEEPERS_A:-$sleepers}
    if [ -n "$sleepers" ]; then
        [ "$n" = 0 ] || psql -qX -v ON_ERROR_STOP=1 -v n="$n" -f "$here/sql/sleepers.sql" >/dev/null
        psql -qXAt -c "VACUUM ANALYZE" >/dev/null
        touch "$tmp/loaded-$1"
    fi
}
round() {   # LABEL PG_CONFIG ROUND
    setup "$1" "$2"
    local c0 f0 c1 f1
    c0=$(timer_worker_cpu) f0=$(fire_due_calls)
    "$poller" --kind activity --queue disp-q --seconds $((secs + 2)) > "$tmp/d.out" &
    local p=$!
    sleep 0.3
    echo "SELECT durable_bench.schedule_activities(1, 1, 'disp-wf', 'disp-q');" > "$tmp/produce.sql"
    pgbench -n -c 2 -j 2 -R 10 -T $secs -f "$tmp/produce.sql" >/dev/null 2>&1
    wait $p
    sleep 0.3   # the last ticks' statistics reported
    c1=$(timer_worker_cpu) f1=$(fire_due_calls)
    local sig=sig-$3-   # a round's own workflows: with SLEEPERS the cluster is the last round's
    psql -qXAt -c "SELECT count(durable.start_workflow('$sig' || i, 'Bench', 'sig-wf-$3')) FROM generate_series(1, 100) i" >/dev/null
    "$poller" --kind workflow --queue sig-wf-$3 --count 100 --seconds 30 >/dev/null
    "$poller" --kind workflow --queue sig-wf-$3 --seconds $((secs + 2)) > "$tmp/s.out" &
    p=$!
    sleep 0.3
    printf '%s\n' '\set i random(1, 100)' "SELECT durable.signal_workflow('$sig' || :i, 'ping');" > "$tmp/signal.sql"
    pgbench -n -c 1 -R 10 -T $secs -f "$tmp/signal.sql" >/dev/null 2>&1
    wait $p
    echo "$1 dispatch_p50_ms $(value p50_ms "$tmp/d.out") dispatch_p99_ms $(value p99_ms "$tmp/d.out")" \
         "signal_p50_ms $(value p50_ms "$tmp/s.out") signal_p99_ms $(value p99_ms "$tmp/s.out")" \
         "$(awk -v f=$((f1 - f0)) -v c=$((c1 - c0)) -v n="$(value tasks "$tmp/d.out")" -v hz="$(getconf CLK_TCK)" \
                'BEGIN { if (n > 0) printf "timer_ticks_per_task %.2f timer_cpu_us_per_task %.0f timer_cpu_us_per_tick %.0f",
                                           f / n, c * 1e6 / hz / n, (f > 0 ? c * 1e6 / hz / f : 0) }')"
    [ -n "$sleepers" ] || scripts/cluster.sh stop dispatch-ab "$port" >/dev/null 2>&1
}
for r in $(seq 1 "$rounds"); do
    round A "$a" "$r"
    round B "$b" "$r"
done
