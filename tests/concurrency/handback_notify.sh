#!/usr/bin/env bash
# The hand-back (api/76_handback.sql) announces only what it leaves ready: a
# workflow task that complete_activity_tasks_eager leases in its own
# transaction sends no NOTIFY on the queue's channel (it would wake the
# queue's pollers for nothing); one it leaves ready (no slot for it) is
# announced; with no slots offered, every task is announced as by
# complete_activity_tasks. Two outcomes of one run in a hand-back that leases
# its task (inserted leased at the end, api/76_handback.sql) announce it as
# before, when the task was inserted ready by the first and the second found
# it so: once. A listening session sees the commits in turn.
set -euo pipefail
fail() { echo "handback_notify: FAIL: $*"; exit 1; }
sql() { psql -qXtA -v ON_ERROR_STOP=1 "$@"; }
q="hbn-$$-$(date +%s)"
chan=$(sql -c "SELECT durable.task_queue_channel('workflow', '$q')")

# Four runs, each with its activity started; prints the activity tokens.
tokens=$(sql -v q="$q" <<'SQL'
SELECT count(durable.start_workflow(:'q' || '-' || i, 'W', :'q', 'null')) FROM generate_series(1, 4) i;
SELECT count(durable.complete_workflow_task(p.task_token,
           '[{"type": "ScheduleActivityTask", "activity_id": "x", "activity_type": "a", "start_to_close_timeout": 30}]'))
  FROM durable.poll_workflow_tasks(:'q', 'setup', 4) p;
SELECT string_agg(p.task_token, ' ' ORDER BY p.workflow_id) FROM durable.poll_activity_tasks(:'q', 'setup', 4) p;
SQL
)
set -- $(echo "$tokens" | tail -1)
[ $# -eq 4 ] || fail "setup leased $# activities, want 4"
# a fifth run with two activities, both started
pair=$(sql -v q="$q" <<'SQL'
SELECT count(durable.start_workflow(:'q' || '-pair', 'W', :'q', 'null'));
SELECT count(durable.complete_workflow_task(p.task_token,
           '[{"type": "ScheduleActivityTask", "activity_id": "x", "activity_type": "a", "start_to_close_timeout": 30},
             {"type": "ScheduleActivityTask", "activity_id": "y", "activity_type": "a", "start_to_close_timeout": 30}]'))
  FROM durable.poll_workflow_tasks(:'q', 'setup', 1) p;
SELECT string_agg(p.task_token, ' ' ORDER BY p.activity_id) FROM durable.poll_activity_tasks(:'q', 'setup', 2) p;
SQL
)
read -r x y <<< "$(echo "$pair" | tail -1)"
[ -n "$y" ] || fail "setup leased no two activities of one run: $pair"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
done_json() { local j= t; for t in "$@"; do j="$j${j:+,}{\"task_token\": \"$t\", \"result\": 1}"; done; echo "[$j]"; }
call() {   # NAME SLOTS TOKEN...: a file with the call, its workflow rows counted
    local name=$1 slots=$2; shift 2
    echo "SELECT 'leased ' || count(*) FILTER (WHERE kind = 'workflow_task')
            FROM durable.complete_activity_tasks_eager('$(done_json "$@")', 'hb-w', '$q', $slots);" > "$tmp/$name.sql"
}
call one 1 "$1"
call two 1 "$2" "$3"
call none 0 "$4"
call pair 1 "$x" "$y"
# The listener: LISTEN, then each call in turn from another session (\!),
# each followed by a statement after which psql prints what arrived.
out=$(psql -qXtA 2>&1 <<SQL
LISTEN "$chan";
\\! psql -qXtA -f "$tmp/one.sql"
SELECT 'after the hand-back that leased its task';
\\! psql -qXtA -f "$tmp/two.sql"
SELECT 'after the hand-back that left one task ready';
\\! psql -qXtA -f "$tmp/none.sql"
SELECT 'after the outcome with no slots';
\\! psql -qXtA -f "$tmp/pair.sql"
SELECT 'after two outcomes of one run';
SQL
)
grep -q '^leased 1$' <<< "$out" || fail "the calls did not lease as expected: $out"
notified_by() {   # MARKER: notifications psql printed after MARKER's statement (those of the call before it)
    echo "$out" | awk -v m="$1" '$0 == m { on = 1; next } on && /^(after |leased )/ { exit }
                                  on && /Asynchronous notification/ { n++ } END { print n + 0 }'
}
[ "$(notified_by 'after the hand-back that leased its task')" = 0 ] \
    || fail "a hand-back that leased the task it scheduled sent a NOTIFY: $out"
[ "$(notified_by 'after the hand-back that left one task ready')" = 1 ] \
    || fail "a task left ready by the hand-back was not announced: $out"
[ "$(notified_by 'after the outcome with no slots')" = 1 ] \
    || fail "an outcome with no slots was not announced: $out"
[ "$(notified_by 'after two outcomes of one run')" = 1 ] \
    || fail "two outcomes of one run were not announced as before: $out"
[ "$(grep -c '^leased 1$' <<< "$out")" = 3 ] || fail "the pair's task was not leased: $out"
echo "handback_notify: ok"
