#!/usr/bin/env bash
# Flow control figures. Needs PG* set (a durable cluster). Polls and cycles
# commit asynchronously, so that their figures are the statements' cost, not
# the disk's flush. Prints "name value" lines:
#   flow_poll_before_ms / flow_poll_after_ms / flow_poll_cost_ratio
#       one poll (batch 1) of a queue without limits, with the poll as it was
#       before flow control and priorities (FIFO by task id, on the index it
#       had: tests/bench/sql/flow.sql) and as it is now (by priority and
#       virtual time), interleaved in one pgbench run; the ratio is after / before
#   flow_poll_index_cost_ratio
#       the same old poll with flow control's two indexes and without them
#       (three runs of each, alternated: noisier than the interleaved figure)
#   flow_schedule_plain_ms / flow_schedule_fair_ms / flow_schedule_cost_ratio
#       completing a leased workflow task with 10 activities of 3 fairness
#       keys, with and without the triggers that give each new task its place
#       (priority and virtual time), alternated runs; the queue's backlog grows
#   flow_cycle_unlimited_ms / flow_cycle_limited_ms / flow_cycle_limited_cost_ratio
#       poll (batch 10) + complete, a queue without limits against one with
#       every limit set (none binding) and ten fairness keys, interleaved
#   flow_rate_limit / flow_rate_achieved / flow_rate_ratio
#       activity tasks started per second by four tight polling sessions on a
#       queue limited to flow_rate_limit per second
#   flow_small_tenant_ms_median / _max, flow_small_tenant_fifo_ms
#       from scheduling one activity of a small tenant to its lease, while two
#       sessions drain another tenant's backlog of 20,000 on the same queue
#       (a queue with per-key limits); and the same once with the poll as it
#       was before (FIFO), given up after 10 s (flow_fifo_backlog_left: what
#       was still ahead)
#   flow_small_tenant_unlimited_ms_median / _max
#       the same on a queue without limits: fairness is the poll's order
#   flow_priority_ms_median / _max
#       the same for an activity of priority 1 behind 20,000 of priority 3,
#       all of one key
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

# pgbench with two scripts picks one at random for each transaction and
# reports each one's latency: the two are measured in the same moments, so
# the machine's other load falls on both alike.
latencies() {   # transactions script-a script-b -> "ms-a ms-b"
    PGOPTIONS='-c synchronous_commit=off' pgbench -n -c 1 -t "$1" -f "$2@1" -f "$3@1" 2>/dev/null |
        awk '/^SQL script/ { n++ } /^ - latency average/ && n { v[n] = $5 } END { print v[1], v[2] }'
}
unlease() {
    sql "UPDATE durable.activity_tasks SET state = 'SCHEDULED', timeout_at = NULL WHERE task_queue = '$1' AND state = 'STARTED'" >/dev/null
    sql "VACUUM durable.activity_tasks" >/dev/null
}

# 1. The unlimited poll (batch 1): the poll as it was before flow control and
# as it is now, interleaved, on two queues of 10,000 ready tasks each.
sql "SELECT durable_bench_flow.schedule(100, 100, 'fq-base', ARRAY[NULL]::text[]);
     SELECT durable_bench_flow.schedule(100, 100, 'fq-base2', ARRAY[NULL]::text[]);" >/dev/null
# statistics, as autovacuum would soon have them: without, the planner takes
# the bench's own FIFO index (one row estimated) for the placing triggers'
# probes and sorts a queue's whole backlog on every new task
sql "ANALYZE durable.activity_tasks" >/dev/null
echo "SELECT count(*) FROM durable_bench_flow.poll_before('fq-base', 'bench', 1);" > "$tmp/before.sql"
echo "SELECT count(*) FROM durable.poll_activity_tasks('fq-base2', 'bench', 1);" > "$tmp/after.sql"
read -r b a < <(latencies $((polls * 2)) "$tmp/before.sql" "$tmp/after.sql")
echo "flow_poll_before_ms $b"
echo "flow_poll_after_ms $a"
echo "flow_poll_cost_ratio $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }')"
# The two indexes flow control added are written by every lease, and cannot
# be interleaved: the old poll with and without them, alternated three times.
unlease fq-base
with=0 without=0
for _ in 1 2 3; do
    sql "DROP INDEX durable.activity_tasks_started; DROP INDEX durable.activity_tasks_ready_by_key;"
    x=$(PGOPTIONS='-c synchronous_commit=off' pgbench -n -c 1 -t "$polls" -f "$tmp/before.sql" 2>/dev/null | awk '/^latency average/ { print $4 }')
    # the indexes back before the unlease: setting tasks back to SCHEDULED
    # places them again, by reading ready_by_key (pgext/src/ready_pass.c)
    sql "CREATE INDEX activity_tasks_started ON durable.activity_tasks (namespace, task_queue, fairness_key) WHERE state = 'STARTED';
         CREATE INDEX activity_tasks_ready_by_key ON durable.activity_tasks (namespace, task_queue, fairness_key, priority, pass, task_id) WHERE state = 'SCHEDULED';"
    unlease fq-base
    y=$(PGOPTIONS='-c synchronous_commit=off' pgbench -n -c 1 -t "$polls" -f "$tmp/before.sql" 2>/dev/null | awk '/^latency average/ { print $4 }')
    unlease fq-base
    without=$(awk -v s="$without" -v x="$x" 'BEGIN { print s + x }')
    with=$(awk -v s="$with" -v x="$y" 'BEGIN { print s + x }')
done
echo "flow_poll_index_cost_ratio $(awk -v a="$with" -v b="$without" 'BEGIN { printf "%.3f", a / b }')"

# 1b. Scheduling: a workflow task of 10 activities, with the triggers that
# place each new task (api/41_priority.sql) and without them. A trigger's
# state cannot change inside one pgbench run without replanning everything
# (session_replication_role and DISABLE TRIGGER both reset the plan cache), so
# the two alternate, three runs each.
sql "SELECT durable_bench_flow.lease_tokens('sched', 'fq-sched', $polls)" >/dev/null
echo "SELECT durable_bench_flow.schedule_next('sched', 'fq-sched');" > "$tmp/sched.sql"
plain=0 fair=0
for _ in 1 2 3; do
    for mode in plain fair; do
        verb=$([ $mode = plain ] && echo DISABLE || echo ENABLE)
        sql "ALTER TABLE durable.activity_tasks $verb TRIGGER activity_task_pass;
             ALTER TABLE durable.workflow_tasks $verb TRIGGER workflow_task_pass;"
        x=$(PGOPTIONS='-c synchronous_commit=off' pgbench -n -c 1 -t $((polls / 6)) -f "$tmp/sched.sql" 2>/dev/null | awk '/^latency average/ { print $4 }')
        add() { awk -v s="$1" -v x="$x" 'BEGIN { print s + x / 3 }'; }
        if [ $mode = plain ]; then plain=$(add "$plain"); else fair=$(add "$fair"); fi
    done
done
echo "flow_schedule_plain_ms $plain"
echo "flow_schedule_fair_ms $fair"
echo "flow_schedule_cost_ratio $(awk -v a="$fair" -v b="$plain" 'BEGIN { printf "%.3f", a / b }')"

# 2. Poll (batch 10) + complete, interleaved: a queue without limits and one
# with every limit set (none binding) and ten fairness keys.
keys="ARRAY['k0','k1','k2','k3','k4','k5','k6','k7','k8','k9']"
sql "SELECT durable_bench_flow.schedule(200, 100, 'fq-free', $keys);
     SELECT durable_bench_flow.schedule(200, 100, 'fq-lim', $keys);
     SELECT durable.set_task_queue_limits('fq-lim', max_concurrent => 100000, rate_per_second => 1000000,
                                          key_max_concurrent => 100000, key_rate_per_second => 1000000);" >/dev/null
for q in fq-free fq-lim; do
    echo "SELECT count(*) FROM durable.complete_activity_tasks((SELECT coalesce(jsonb_agg(jsonb_build_object('task_token', task_token, 'result', 1)), '[]') FROM durable.poll_activity_tasks('$q', 'bench', 10)));" > "$tmp/$q.sql"
done
read -r free lim < <(latencies "$polls" "$tmp/fq-free.sql" "$tmp/fq-lim.sql")
echo "flow_cycle_unlimited_ms $free"
echo "flow_cycle_limited_ms $lim"
echo "flow_cycle_limited_cost_ratio $(awk -v a="$lim" -v b="$free" 'BEGIN { printf "%.3f", a / b }')"

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
small_latency() {   # queue samples give-up-seconds [poll function [activity options]]
    local q=$1 n=$2 limit=$3 poll=${4:-durable.poll_activity_tasks} opts=${5:-'{"fairness_key": "small"}'}
    echo "SELECT count(*) FROM durable.complete_activity_tasks((SELECT coalesce(jsonb_agg(jsonb_build_object('task_token', task_token, 'result', 1)), '[]') FROM $poll('$q', 'bench', 10)));" > "$tmp/drain-$q.sql"
    pgbench -n -c 2 -j 2 -T $((n * 2 + limit + 5)) -f "$tmp/drain-$q.sql" >/dev/null 2>&1 &
    local drain=$!
    sleep 1
    sql "CALL durable_bench_flow.measure_small('$q', $n, '$limit s', '$opts')"
    kill "$drain" 2>/dev/null || true
    wait "$drain" 2>/dev/null || true
}
latency_of() {   # prefix queue
    echo "$1_ms_median $(sql "SELECT round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) FROM durable_bench_flow.small_latency WHERE queue = '$2'")"
    echo "$1_ms_max $(sql "SELECT round(max(ms)::numeric, 1) FROM durable_bench_flow.small_latency WHERE queue = '$2'")"
}
sql "SELECT durable_bench_flow.schedule(200, 100, 'fq-fair', ARRAY['big']);
     SELECT durable_bench_flow.schedule(200, 100, 'fq-open', ARRAY['big']);
     SELECT durable_bench_flow.schedule(200, 100, 'fq-prio', ARRAY['big']);
     SELECT durable_bench_flow.schedule(200, 100, 'fq-fifo', ARRAY['big']);
     SELECT durable.set_task_queue_limits('fq-fair', key_max_concurrent => 100000);" >/dev/null
small_latency fq-fair 15 10
latency_of flow_small_tenant fq-fair
small_latency fq-open 15 10
latency_of flow_small_tenant_unlimited fq-open
small_latency fq-prio 15 10 durable.poll_activity_tasks '{"fairness_key": "big", "priority": 1}'
latency_of flow_priority fq-prio
small_latency fq-fifo 1 10 durable_bench_flow.poll_before
echo "flow_small_tenant_fifo_ms $(sql "SELECT round(max(ms)::numeric, 1) FROM durable_bench_flow.small_latency WHERE queue = 'fq-fifo'")"
echo "flow_fifo_backlog_left $(sql "SELECT count(*) FROM durable.activity_tasks WHERE task_queue = 'fq-fifo' AND state = 'SCHEDULED'")"
