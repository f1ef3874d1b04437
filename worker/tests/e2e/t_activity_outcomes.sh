# Activity outcomes on their own connection (activity.c, outcome_pg): the
# "activity-completions" connection commits a batch of outcomes while the
# "activities" connection polls the next tasks. complete_activity_tasks is
# made slow (a stand-in that sleeps 1 s, then calls the real one), the
# worker takes one activity at a time (--concurrency 1) and neither eager
# activities nor the hand-back (whose call the stand-in does not cover).
# 1. Outcomes do not hold up the poll: of two one-step runs, the second
#    activity runs (its "finished" line) while the first one's outcome is
#    still being committed (before the first's acknowledgement, ": COMPLETED";
#    when both took turns on one connection, the poll waited for the
#    outcome's commit, a second later). (Not from the history: a task's
#    ActivityTaskStarted is written with its outcome.)
# 2. The outcomes' connection cut while a batch is in flight, three times:
#    the worker says so, reconnects, sends the outcomes again (on the
#    polling connection while the other is down, or on it once back), and
#    every run completes with each step run once.
. "$(dirname "$0")/lib.sh"
PLUGIN=$WORKER_DIR/build/tests/handback.so
q=act-outcomes-$RUN
restore() {
	sql "DROP FUNCTION IF EXISTS durable.complete_activity_tasks(jsonb, text)" >/dev/null 2>&1
	sql "ALTER FUNCTION durable.complete_activity_tasks_off(jsonb, text) RENAME TO complete_activity_tasks" >/dev/null 2>&1
}
trap 'stop_workers; restore' EXIT
sql "ALTER FUNCTION durable.complete_activity_tasks(jsonb, text) RENAME TO complete_activity_tasks_off" >/dev/null
sql "CREATE FUNCTION durable.complete_activity_tasks(outcomes jsonb, identity text DEFAULT NULL)
     RETURNS TABLE (task_token text, outcome text, error text) LANGUAGE plpgsql AS \$\$
BEGIN
    PERFORM pg_sleep(1);
    RETURN QUERY SELECT * FROM durable.complete_activity_tasks_off(outcomes, identity);
END \$\$" >/dev/null
DURABLE_LOG=debug worker w --task-queue "$q" --plugin "$PLUGIN" --concurrency 1 --no-eager --no-handback
W=$LAST_PID
# line numbers in the worker's log: activity TOKEN's "finished" and its acknowledgement
line_of() { grep -n "$1" "$LOGDIR/w.log" | head -1 | cut -d: -f1; }
before() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" -lt "$2" ] || { echo "  line '$1' is not before line '$2'"; return 1; }; }

# 1.
sql "SELECT durable.start_workflow('one-$RUN-' || i, 'HandbackSeq', '$q', '{\"n\": 1}') FROM generate_series(1, 2) i" >/dev/null
check "both runs complete" wait_closed "one-$RUN-1" "one-$RUN-2"
finished=$(grep -o 'activity task [^ ]* finished: workflow one-' "$LOGDIR/w.log" | awk '{ print $3 }')
first=$(echo "$finished" | sed -n 1p) second=$(echo "$finished" | sed -n 2p)
check "the second activity ran while the first one's outcome was being committed" \
	before "$(line_of "activity task $second finished")" "$(line_of "activity task $first: COMPLETED")"

# 2.
ids=()
for i in $(seq 1 4); do ids+=("cut-$RUN-$i"); done
sql "SELECT durable.start_workflow('cut-$RUN-' || i, 'HandbackSeq', '$q', '{\"n\": 3}') FROM generate_series(1, 4) i" >/dev/null
cuts=0
for i in 1 2 3; do
	wait_until 60 calls_running "durable.complete_activity_tasks(" && cut_calls "durable.complete_activity_tasks(" && cuts=$((cuts + 1))
done
check "three batches cut in flight" eq "$cuts" 3
check "(the worker said so)" wait_until 30 grep -q 'connection activity-completions lost' "$LOGDIR/w.log"
check "every run completes" wait_closed "${ids[@]}"
for id in "${ids[@]}"; do
	check "$id completed, three steps" eq "$(status_of "$id")/$(sql "SELECT result ->> 'ran' FROM durable.workflows WHERE workflow_id = '$id'")" COMPLETED/3
	check "$id closed once" eq "$(closes "$id")" 1
done
check "the worker is still the one started" kill -0 "$W"
stop_worker "$W"
check "no sanitizer report" eq "$(grep -c 'AddressSanitizer\|runtime error' "$LOGDIR/w.log")" 0
finish
