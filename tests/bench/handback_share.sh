#!/usr/bin/env bash
# Does the hand-back starve the other workers of a queue? Two workers on one
# queue, both with the hand-back (on) or both with --no-handback (off),
# alternated; per round and variant, 60 four-step workflows
# (tests/plugins/handback.c, HandbackSeq) started 50 ms apart from one
# session. Prints, per variant: the share of the workflow tasks that worker
# "a" started (0.5 is an even split), the workflow tasks handed back (both
# workers' exit lines), the workflow tasks in all, the hop from each
# WorkflowTaskScheduled to its WorkflowTaskStarted (median, 90th percentile
# and maximum, ms, from the histories) and the wall time to the last close.
# A worker that kept the queue's tasks to itself while the other's polls
# waited would show as a share far from 0.5 and a longer tail of hops.
#   tests/bench/handback_share.sh [ROUNDS]
# Needs a private PostgreSQL with this checkout installed (scripts/test.sh
# makes one: export PG_CONFIG=$(scripts/pginst.sh $PWD/.run/pg)), make all and
# the worker's test plugins (make -C worker e2e builds them).
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # bench_cluster, start_spaced, workflow_task_hops, p50_p90
rounds=${1:-2}
bench_cluster handback-share 55497 >/dev/null
sql() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }
bin="$top/worker/build/durable-worker" plugin="$top/worker/build/tests/handback.so"
[ -x "$bin" ] && [ -f "$plugin" ] || { echo "handback_share: build first (make all; make -C worker e2e)" >&2; exit 1; }

round() {   # on|off -> one line
    local v=$1 q a b t0 t1 handed
    q="share-$v-$RANDOM"
    "$bin" --task-queue "$q" --plugin "$plugin" --identity "$q-a" $([ "$v" = off ] && echo --no-handback) \
        >"$tmp/$q-a.log" 2>&1 &
    a=$!
    "$bin" --task-queue "$q" --plugin "$plugin" --identity "$q-b" $([ "$v" = off ] && echo --no-handback) \
        >"$tmp/$q-b.log" 2>&1 &
    b=$!
    sleep 0.5
    t0=$(date +%s.%N)
    start_spaced 60 HandbackSeq "$q" '{"n": 4}' 0.05
    t1=$(date +%s.%N)
    kill -TERM "$a" "$b"; wait "$a" "$b" 2>/dev/null || true
    handed=$(cat "$tmp/$q-a.log" "$tmp/$q-b.log" |
             sed -n 's/.*, \([0-9]*\) handed back with activity outcomes).*/\1/p' | awk '{ n += $1 } END { print n + 0 }')
    sql -F' ' -c "WITH s AS (
        SELECT h.who, h.ms AS hop FROM $(workflow_task_hops) h JOIN durable.workflows w USING (run_id)
         WHERE w.task_queue = '$q')
      SELECT '$v', round(avg((who = '$q-a')::int), 2), $handed, count(*), $(p50_p90 hop 1),
             round(max(hop)::numeric, 1), round(($t1 - $t0)::numeric, 1) FROM s"
}
echo "variant share_a handed_back workflow_tasks hop_p50_ms hop_p90_ms hop_max_ms wall_s"
# on first in odd rounds, off first in even ones
for r in $(seq 1 "$rounds"); do
    if [ $(( r % 2 )) = 1 ]; then round on; round off; else round off; round on; fi
done
