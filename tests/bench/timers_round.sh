#!/usr/bin/env bash
# One round of the timer bench on the cluster of the PG* variables, whose
# store was just reset with tests/bench/sql/fixtures.sql: N workflows each
# start a timer (through the API, each from its own now) due at one instant
# ten minutes ahead; once all are started, durable.skip_time brings that
# instant to DUE_IN seconds ahead (however long starting them took on a
# busy machine), and the timer workers fire them alone. Prints one line:
#   p50_ms p99_ms all_s visible_p50_ms visible_p99_ms visible_all_s
# The first three are the lateness of the TimerFired events (event_time, the
# time the firing transaction wrote them, minus the due time); the last three
# say when the workflow tasks those firings scheduled were visible to a
# poller (committed), seen from the client (tests/bench/visible.c).
#   tests/bench/timers_round.sh N DUE_IN BENCH_VISIBLE_BINARY
set -euo pipefail
n=${1:?N} due_in=${2:?DUE_IN} visible=${3:?bench-visible binary}
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
samples=$(mktemp)
trap 'rm -f "$samples"' EXIT
due=$(sql "SELECT durable.now() + interval '10 minutes'")
sql "SELECT durable_bench.start_timers($n, 'timer-wf', '$due')" >/dev/null
"$visible" --queue timer-wf --count "$n" --seconds $((due_in + 120)) > "$samples" &
vpid=$!
sql "SELECT durable.skip_time('$due'::timestamptz - durable.now() - interval '$due_in seconds')" >/dev/null
for _ in $(seq 1 $((due_in + 120))); do
    [ "$(sql "SELECT count(*) FROM durable.history WHERE event_type = 'TimerFired'")" -ge "$n" ] && break
    sleep 1
done
wait "$vpid" || true
# lateness in durable's clock; the client's samples are in the wall clock
read -r p50 p99 all_s due_epoch < <(sql "
    SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
           round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1),
           round((max(ms) / 1000)::numeric, 3),
           extract(epoch FROM '$due'::timestamptz - durable.clock_offset())
      FROM (SELECT extract(epoch FROM f.event_time - '$due'::timestamptz) * 1000 AS ms
              FROM durable.history f WHERE f.event_type = 'TimerFired') l" | tr '|' ' ')
# the first sample that saw a quantile's share of the tasks
read -r v50 v99 vall < <(awk -v n="$n" -v due="$due_epoch" '
    function at(q, scale, fmt) {
        for (i = 1; i <= k; i++) if (c[i] >= q * n) return sprintf(fmt, (t[i] - due) * scale)
        return "null"
    }
    { k++; t[k] = $1; c[k] = $2 }
    END { print at(0.5, 1000, "%.1f"), at(0.99, 1000, "%.1f"), at(1, 1, "%.3f") }' "$samples")
echo "$p50 $p99 $all_s $v50 $v99 $vall"
