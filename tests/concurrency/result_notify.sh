#!/usr/bin/env bash
# complete_activity_tasks' short path for results (api/77_activity_result.sql)
# announces what the general path announces: the freed slot of a queue with
# limits (_slot_freed) on the activity channel, and on the workflow channel
# a workflow task it schedules, or one already scheduled (a poller may have
# skipped it while the run was locked); nothing where the workflow task is
# started. Each case completes one run through the batch and its twin
# through complete_activity_task (the general path), each in a transaction
# of its own, and a listening session counts what each commit sent.
set -euo pipefail
fail() { echo "result_notify: FAIL: $*"; exit 1; }
sql() { psql -qXtA -v ON_ERROR_STOP=1 "$@"; }
p="rn-$$-$(date +%s)"
lq="$p-limited" fq="$p-free"
sql -c "SELECT durable.set_task_queue_limits('$lq', max_concurrent => 10)" >/dev/null

# run WID QUEUE: starts WID on QUEUE with one activity, leased; prints its token
run() {
    sql -c "SELECT durable.start_workflow('$1', 'W', '$2', 'null')" >/dev/null
    sql -c "SELECT count(durable.complete_workflow_task(p.task_token,
                '[{\"type\": \"ScheduleActivityTask\", \"activity_id\": \"x\", \"activity_type\": \"a\", \"start_to_close_timeout\": 300}]'))
              FROM durable.poll_workflow_tasks('$2', 'setup', 1) p" >/dev/null
    sql -c "SELECT p.task_token FROM durable.poll_activity_tasks('$2', 'setup', 1) p"
}
declare -A tok
for q in "$lq" "$fq"; do
    for twin in batch single; do tok[$q-$twin]=$(run "$q-$twin" "$q"); done
done
# a third queue's runs, their workflow task scheduled by a signal; a
# fourth's, their workflow task started
for c in sig started; do
    for twin in batch single; do tok[$c-$twin]=$(run "$fq-$c-$twin" "$fq-$c"); done
    for twin in batch single; do sql -c "SELECT durable.signal_workflow('$fq-$c-$twin', 'go')" >/dev/null; done
done
[ "$(sql -c "SELECT count(*) FROM durable.poll_workflow_tasks('$fq-started', 'holder', 2)")" = 2 ] \
    || fail "could not start the fourth queue's workflow tasks"
for k in "${!tok[@]}"; do [ -n "${tok[$k]}" ] || fail "no activity token for $k"; done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
call() {   # CASE: one file per twin, the batch and the single call
    echo "SELECT outcome FROM durable.complete_activity_tasks('[{\"task_token\": \"${tok[$1-batch]}\", \"result\": 1}]');" \
        > "$tmp/$1-batch.sql"
    echo "SELECT durable.complete_activity_task('${tok[$1-single]}', '1');" > "$tmp/$1-single.sql"
}
for c in "$lq" "$fq" sig started; do call "$c"; done
chan() { sql -c "SELECT durable.task_queue_channel('$1', '$2')"; }
listens=""
for q in "$lq" "$fq" "$fq-sig" "$fq-started"; do
    listens="$listens LISTEN \"$(chan activity "$q")\"; LISTEN \"$(chan workflow "$q")\";"
done
script="$listens"
for c in "$lq" "$fq" sig started; do
    for twin in batch single; do
        script="$script
\\! psql -qXtA -f '$tmp/$c-$twin.sql' >/dev/null
SELECT 'after $c $twin';"
    done
done
out=$(psql -qXtA 2>&1 <<<"$script")
# what arrived after CASE TWIN's marker statement (sent by its commit), as
# "activity N workflow M"
sent() {
    local a w
    a=$(chan activity "$3") w=$(chan workflow "$3")
    echo "$out" | awk -v m="after $1 $2" -v a="\"$a\"" -v w="\"$w\"" '
        $0 == m { on = 1; next } on && /^after / { exit }
        on && index($0, a) { na++ } on && index($0, w) { nw++ }
        END { printf "activity %d workflow %d\n", na, nw }'
}
expect() {   # CASE QUEUE WANT DESCRIPTION
    local b s
    b=$(sent "$1" batch "$2") s=$(sent "$1" single "$2")
    [ "$s" = "$3" ] || fail "the general path, $4: sent $s, want $3 ($out)"
    [ "$b" = "$s" ] || fail "the batch, $4: sent $b, the general path $s ($out)"
}
# (a notification arrives before the statement after its commit: the markers
# after the batch's and the single call's commits split them)
expect "$lq" "$lq" "activity 1 workflow 1" "a result on a limited queue (slot freed, task scheduled)"
expect "$fq" "$fq" "activity 0 workflow 1" "a result on a queue without limits"
expect sig "$fq-sig" "activity 0 workflow 1" "a result while the workflow task is scheduled"
expect started "$fq-started" "activity 0 workflow 0" "a result while the workflow task is started"
sql -c "SELECT durable.set_task_queue_limits('$lq')" >/dev/null 2>&1 || true
echo "result_notify: ok"
