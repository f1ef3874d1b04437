#!/usr/bin/env bash
# Nothing stalls time, with the real timer workers: rows written behind the
# API that make firing fail (a retry interval negative in seconds, a schedule
# id whose workflow ids overflow the index) are committed next to good
# deadlines; the timer workers fire every good one, park the bad ones with
# their error (list_parked, the server log with the workflow id), do not
# retry them in a loop, and do not restart. (tests/pgtap/31_parking.sql
# covers each kind through fire_due in one transaction.)
set -uo pipefail
: "${PGHOST:?run me through scripts/test.sh}" "${DURABLE_PGLOG:?}"
. "$(dirname "$0")/../lib.sh"
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
run=pk$$
# The server log from this suite's start: the suites before it share the
# cluster, and what they made the timer workers log (a deadlock with a
# test's TRUNCATE, say) is not this suite's to judge.
log_from=$(($(stat -c %s "$DURABLE_PGLOG") + 1))
our_log() { tail -c "+$log_from" "$DURABLE_PGLOG"; }
started_lines() { our_log | grep -c 'durable timer worker [0-9]* started'; }
parked_lines() { our_log | grep -c "durable: .*of workflow \"$run-bad\".*failed to fire"; }
fired() { [ "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
                     WHERE w.workflow_id = '$1' AND h.event_type = 'TimerFired'")" = 1 ]; }
sleeper() {   # id: a workflow asleep on a one-hour timer, on a queue of its own
    sql "SELECT durable.start_workflow('$1', 'W', '$1')" >/dev/null
    sql "SELECT durable.complete_workflow_task((SELECT task_token FROM durable.poll_workflow_tasks('$1', 't')),
         '[{\"type\": \"StartTimer\", \"timer_id\": \"t\", \"start_to_fire_timeout\": \"1 hour\"}]')" >/dev/null
}
workers_before=$(started_lines)

sleeper "$run-good-1"
sleeper "$run-good-2"
# an activity whose retry interval was set behind the API: its timeout makes
# the retry computation take the logarithm of a negative number
sql "SELECT durable.start_workflow('$run-bad', 'W', '$run-bad')" >/dev/null
sql "SELECT durable.complete_workflow_task((SELECT task_token FROM durable.poll_workflow_tasks('$run-bad', 't')),
     '[{\"type\": \"ScheduleActivityTask\", \"activity_id\": \"a\", \"activity_type\": \"A\", \"start_to_close_timeout\": \"1 hour\"}]')" >/dev/null
sql "SELECT count(*) FROM durable.poll_activity_tasks('$run-bad', 't')" >/dev/null
sql "UPDATE durable.activity_tasks SET retry_initial_interval = '-1 year 361 days' WHERE workflow_id = '$run-bad'"
# a schedule whose id was lengthened behind the API past what an index row holds
sql "SELECT durable.create_schedule('$run-long', '{\"interval\": [{\"every\": 3600}]}', '{\"workflow_type\": \"W\", \"task_queue\": \"$run-s\"}')" >/dev/null
sql "UPDATE durable.schedules SET schedule_id = '$run-long' || (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 83) i)
      WHERE schedule_id = '$run-long'"
sql "SELECT durable.create_schedule('$run-sched', '{\"interval\": [{\"every\": 3600}]}', '{\"workflow_type\": \"W\", \"task_queue\": \"$run-s\"}')" >/dev/null

sql "SELECT durable.skip_time('2 hours')" >/dev/null
check "the timer workers fire the good timers" "eventually 60 'fired $run-good-1 && fired $run-good-2'"
check "and the good schedule" \
    "eventually 60 '[ \"\$(sql \"SELECT count(*) FROM durable.workflows WHERE workflow_id LIKE '\''$run-sched-%'\''\")\" -ge 1 ]'"
check "the bad activity is parked with its error" \
    "eventually 60 '[ \"\$(sql \"SELECT error ->> '\''sqlstate'\'' FROM durable.list_parked() WHERE workflow_id = '\''$run-bad'\''\")\" = 2201E ]'"
check "the bad schedule is parked with its error" \
    "eventually 60 '[ \"\$(sql \"SELECT error ->> '\''sqlstate'\'' FROM durable.list_parked() WHERE schedule_id LIKE '\''$run-long%'\''\")\" = 54000 ]'"
check "the server log names the workflow" "eventually 10 '[ \$(parked_lines) -ge 1 ]'"
sleep 3
check "once: no retry in a loop" "[ \$(parked_lines) -eq 1 ]"
check "no timer worker restarted" "[ \$(started_lines) -eq $workers_before ]"
check "no timer worker error" "[ \"\$(our_log | grep -c 'firing failed')\" = 0 ]"
sleeper "$run-good-3"
sql "SELECT durable.skip_time('2 hours')" >/dev/null
check "deadlines made afterwards fire too" "eventually 60 'fired $run-good-3'"

# tidy the shared test cluster
sql "UPDATE durable.activity_tasks SET retry_initial_interval = '1 second' WHERE workflow_id = '$run-bad'"
for w in good-1 good-2 good-3 bad; do sql "SELECT durable.terminate_workflow('$run-$w')" >/dev/null 2>&1; done
sql "DELETE FROM durable.schedules WHERE schedule_id LIKE '$run-%'"
sql "SELECT durable.terminate_workflow(workflow_id) FROM durable.workflows WHERE workflow_id LIKE '$run-sched-%' AND status = 'RUNNING'" >/dev/null
summary parking
