#!/usr/bin/env bash
# Flow control figures. Needs PG* set (a durable cluster) and the store's
# fixtures loaded. Prints "name value" lines:
#   flow_poll_before_per_s / flow_poll_after_per_s / flow_poll_after_ratio
#       polls per second (batch 1) of an unlimited queue with the poll and
#       indexes as they were before flow control, and as they are now,
#       alternated three times on the same data; the ratio is after/before
#   flow_cycle_unlimited_per_s / flow_cycle_limited_per_s / flow_cycle_limited_ratio
#       poll (batch 10) + complete cycles per second, a queue without limits
#       against one with every limit set (not binding) and ten fairness keys
#   flow_rate_limit / flow_rate_achieved / flow_rate_ratio
#       activity tasks started per second by four tight polling sessions on a
#       queue limited to flow_rate_limit per second
#   flow_small_tenant_ms_median / _max, flow_small_tenant_fifo_ms
#       from scheduling one activity of a small tenant to its lease, while two
#       sessions drain another tenant's backlog of 20,000 on the same queue
#       (keys take turns); and the same once on a queue without fairness
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
quick=${BENCH_QUICK:-0}
polls=$([ "$quick" = 1 ] && echo 500 || echo 3000)
secs=$([ "$quick" = 1 ] && echo 3 || echo 10)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
now() { date +%s.%N; }
psql -qX -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -f "$here/sql/flow.sql" >/dev/null
# polls and cycles commit asynchronously, so that these figures are the
# statements' cost, not the disk's flush
tps() { PGOPTIONS='-c synchronous_commit=off' pgbench -n "$@" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'; }

# 1. The unlimited poll, before and after. Leased tasks are put back after each
# measurement, so every one starts from the same backlog of 10,000.
sql "SELECT durable_bench_flow.schedule(100, 100, 'fq-base', ARRAY[NULL]::text[]);"
unlease() {
    sql "UPDATE durable.activity_tasks SET state = 'SCHEDULED', timeout_at = NULL WHERE task_queue = '$1' AND state = 'STARTED'" >/dev/null
    sql "VACUUM durable.activity_tasks" >/dev/null
}
echo "SELECT count(*) FROM durable_bench_flow.poll_before('fq-base', 'bench', 1);" > "$tmp/before.sql"
echo "SELECT count(*) FROM durable.poll_activity_tasks('fq-base', 'bench', 1);" > "$tmp/after.sql"
before=0 after=0
for _ in 1 2 3; do
    sql "DROP INDEX durable.activity_tasks_started; DROP INDEX durable.activity_tasks_ready_by_key;"
    b=$(tps -c 1 -t "$polls" -f "$tmp/before.sql"); unlease fq-base
    sql "CREATE INDEX activity_tasks_started ON durable.activity_tasks (namespace, task_queue, fairness_key) WHERE state = 'STARTED';
         CREATE INDEX activity_tasks_ready_by_key ON durable.activity_tasks (namespace, task_queue, fairness_key, task_id) WHERE state = 'SCHEDULED';"
    a=$(tps -c 1 -t "$polls" -f "$tmp/after.sql"); unlease fq-base
    before=$(awk -v s="$before" -v x="$b" 'BEGIN { print s + x }')
    after=$(awk -v s="$after" -v x="$a" 'BEGIN { print s + x }')
done
echo "flow_poll_before_per_s $(awk -v s="$before" 'BEGIN { printf "%.0f", s / 3 }')"
echo "flow_poll_after_per_s $(awk -v s="$after" 'BEGIN { printf "%.0f", s / 3 }')"
echo "flow_poll_after_ratio $(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.3f", a / b }')"

# 2. Poll + complete, without limits and with all of them (none binding).
keys="ARRAY['k0','k1','k2','k3','k4','k5','k6','k7','k8','k9']"
sql "SELECT durable_bench_flow.schedule(200, 100, 'fq-free', $keys);
     SELECT durable_bench_flow.schedule(200, 100, 'fq-lim', $keys);
     SELECT durable.set_task_queue_limits('fq-lim', max_concurrent => 100000, rate_per_second => 1000000,
                                          key_max_concurrent => 100000, key_rate_per_second => 1000000);" >/dev/null
for q in fq-free fq-lim; do
    echo "SELECT count(*) FROM durable.complete_activity_tasks((SELECT coalesce(jsonb_agg(jsonb_build_object('task_token', task_token, 'result', 1)), '[]') FROM durable.poll_activity_tasks('$q', 'bench', 10)));" > "$tmp/$q.sql"
done
free=0 lim=0
for _ in 1 2 3; do
    f=$(tps -c 1 -t $((polls / 3)) -f "$tmp/fq-free.sql")
    l=$(tps -c 1 -t $((polls / 3)) -f "$tmp/fq-lim.sql")
    free=$(awk -v s="$free" -v x="$f" 'BEGIN { print s + x }')
    lim=$(awk -v s="$lim" -v x="$l" 'BEGIN { print s + x }')
done
echo "flow_cycle_unlimited_per_s $(awk -v s="$free" 'BEGIN { printf "%.0f", s / 3 }')"
echo "flow_cycle_limited_per_s $(awk -v s="$lim" 'BEGIN { printf "%.0f", s / 3 }')"
echo "flow_cycle_limited_ratio $(awk -v a="$lim" -v b="$free" 'BEGIN { printf "%.3f", a / b }')"

# 3. The achieved rate against a configured one. The first poll empties the
# bucket (a second's worth), then four sessions poll as fast as they can.
rate=200
sql "SELECT durable_bench_flow.schedule(100, 100, 'fq-rate', ARRAY[NULL]::text[]);
     SELECT durable.set_task_queue_limits('fq-rate', rate_per_second => $rate);
     SELECT count(*) FROM durable.poll_activity_tasks('fq-rate', 'bench', 1000);" >/dev/null
n0=$(sql "SELECT count(*) FROM durable.activity_tasks WHERE task_queue = 'fq-rate' AND state = 'STARTED'")
echo "SELECT count(*) FROM durable.poll_activity_tasks('fq-rate', 'bench', 10);" > "$tmp/rate.sql"
t0=$(now)
pgbench -n -c 4 -j 4 -T "$secs" -f "$tmp/rate.sql" >/dev/null 2>&1
t1=$(now)
n1=$(sql "SELECT count(*) FROM durable.activity_tasks WHERE task_queue = 'fq-rate' AND state = 'STARTED'")
achieved=$(awk -v n=$((n1 - n0)) -v s="$t0" -v e="$t1" 'BEGIN { printf "%.1f", n / (e - s) }')
echo "flow_rate_limit $rate"
echo "flow_rate_achieved $achieved"
echo "flow_rate_ratio $(awk -v a="$achieved" -v r="$rate" 'BEGIN { printf "%.3f", a / r }')"

# 4. A small tenant's dispatch latency while a large one floods the queue.
small_latency() {   # queue samples timeout_s: one line of milliseconds per sample
    local q=$1 n=$2 limit=$3 i t0 t1 wid
    echo "SELECT count(*) FROM durable.complete_activity_tasks((SELECT coalesce(jsonb_agg(jsonb_build_object('task_token', task_token, 'result', 1)), '[]') FROM durable.poll_activity_tasks('$q', 'bench', 10)));" > "$tmp/drain-$q.sql"
    pgbench -n -c 2 -j 2 -T $((n * 2 + limit + 5)) -f "$tmp/drain-$q.sql" >/dev/null 2>&1 &
    local drain=$!
    sleep 1
    for i in $(seq 1 "$n"); do
        wid="small-$q-$i"
        sql "SELECT durable.start_workflow('$wid', 'Bench', '$q-small')" >/dev/null
        t0=$(now)
        sql "SELECT durable.complete_workflow_task((SELECT task_token FROM durable.poll_workflow_tasks('$q-small', 'bench', 1)),
               '[{\"type\": \"ScheduleActivityTask\", \"activity_id\": \"1\", \"activity_type\": \"noop\",
                  \"task_queue\": \"$q\", \"fairness_key\": \"small\", \"start_to_close_timeout\": 3600}]')" >/dev/null
        while [ "$(sql "SELECT count(*) FROM durable.activity_tasks WHERE workflow_id = '$wid' AND state = 'SCHEDULED'")" != 0 ]; do
            awk -v s="$t0" -v e="$(now)" -v l="$limit" 'BEGIN { exit !(e - s > l) }' && break
            sleep 0.005
        done
        t1=$(now)
        awk -v s="$t0" -v e="$t1" 'BEGIN { printf "%.0f\n", (e - s) * 1000 }'
    done
    kill "$drain" 2>/dev/null || true
    wait "$drain" 2>/dev/null || true
}
sql "SELECT durable_bench_flow.schedule(200, 100, 'fq-fair', ARRAY['big']);
     SELECT durable_bench_flow.schedule(200, 100, 'fq-fifo', ARRAY['big']);
     SELECT durable.set_task_queue_limits('fq-fair', key_max_concurrent => 100000);" >/dev/null
small_latency fq-fair 15 10 | sort -n > "$tmp/fair"
echo "flow_small_tenant_ms_median $(awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }' "$tmp/fair")"
echo "flow_small_tenant_ms_max $(tail -1 "$tmp/fair")"
fifo=$(small_latency fq-fifo 1 10)
echo "flow_small_tenant_fifo_ms $fifo"
echo "flow_fifo_backlog_left $(sql "SELECT count(*) FROM durable.activity_tasks WHERE task_queue = 'fq-fifo' AND state = 'SCHEDULED'")"
