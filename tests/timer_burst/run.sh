#!/usr/bin/env bash
# Bursts of timers due at one instant, fired by the real timer workers as
# prepared ahead of it (pgext/src/prepare.c, durable._fire_timers_prepared):
# every timer fires once and none before it is due, each followed by its
# WorkflowTaskScheduled and a task that points at it, and through the
# prepared path (pg_stat_user_functions counts its calls). A run that another
# session holds locked does not hold the burst back and fires once released.
# Timers whose TimerFired the history refuses make a prepared burst fail:
# the server log says so, the burst still fires when due and the refused
# timers are parked (fire_due's isolation). durable.timer_lead = 0 turns the
# preparation off; its bounds are enforced.
set -uo pipefail
: "${PGHOST:?run me through scripts/test.sh}" "${DURABLE_PGLOG:?}"
. "$(dirname "$0")/../lib.sh"
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
p=tb$$
due_table="public.${p}_due"

cleanup() {
    sql "DROP TRIGGER IF EXISTS ${p}_refuse ON durable.history_rows" >/dev/null 2>&1
    sql "DROP FUNCTION IF EXISTS public.${p}_refuse()" >/dev/null 2>&1
    sql "ALTER SYSTEM RESET track_functions" >/dev/null 2>&1
    sql "ALTER SYSTEM RESET durable.timer_lead" >/dev/null 2>&1
    sql "SELECT pg_reload_conf()" >/dev/null 2>&1
    sql "DROP TABLE IF EXISTS $due_table" >/dev/null 2>&1
    sql "SELECT count(durable.terminate_workflow(workflow_id)) FROM durable.workflows
          WHERE workflow_id LIKE '$p-%' AND status = 'RUNNING'" >/dev/null 2>&1
}
trap cleanup EXIT
sql "ALTER SYSTEM SET track_functions = 'pl'" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
sql "CREATE TABLE $due_table (run_id uuid PRIMARY KEY, fire_at timestamptz NOT NULL)"

prepared_calls() {
    sql "SELECT coalesce((SELECT calls FROM pg_stat_user_functions
                           WHERE schemaname = 'durable' AND funcname = '_fire_timers_prepared'), 0)"
}
# burst GROUP N SECONDS: N workflows on queue GROUP each start a timer due
# at one instant SECONDS ahead (each timeout reckoned from its own now, as a
# workflow sleeping until a given time does); their due times are kept in
# $due_table
burst() {
    sql "SELECT count(durable.start_workflow('$p-$1-' || i, 'W', '$p-$1')) FROM generate_series(1, $2) i" >/dev/null
    sql "WITH a AS MATERIALIZED (SELECT durable.now() + interval '$3 seconds' AS at)
         SELECT count(durable.complete_workflow_task(t.task_token, jsonb_build_array(jsonb_build_object(
                'type', 'StartTimer', 'timer_id', 't', 'start_to_fire_timeout', extract(epoch FROM a.at - durable.now())))))
           FROM a, durable.poll_workflow_tasks('$p-$1', 'tester', $2) t" >/dev/null
    sql "INSERT INTO $due_table SELECT tm.run_id, tm.fire_at FROM durable.timers tm
           JOIN durable.workflows w USING (run_id) WHERE w.task_queue = '$p-$1'"
}
fired() {   # GROUP: how many of its timers fired
    sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
          WHERE w.task_queue = '$p-$1' AND h.event_type = 'TimerFired'"
}
all_fired() { [ "$(fired "$1")" -ge "$2" ]; }

# 1. A burst of 300, one run of it held locked by another session while it
# is due.
calls_before=$(prepared_calls)
burst ok 300 4
locked=$(sql "SELECT run_id FROM durable.workflows WHERE workflow_id = '$p-ok-7'")
psql -qXAt -c "BEGIN" -c "SELECT 1 FROM durable.workflows WHERE run_id = '$locked' FOR UPDATE" \
     -c "SELECT pg_sleep(8)" -c "COMMIT" >/dev/null &
locker=$!
check "the burst fires while one of its runs is held locked" "eventually 30 all_fired ok 299"
if kill -0 "$locker" 2>/dev/null; then
    check "all but the locked run's timer, while it is held" \
        "[ \"\$(sql \"SELECT count(*) FROM durable.history WHERE run_id = '$locked' AND event_type = 'TimerFired'\")\" = 0 ]"
else
    nok "the lock was released before the burst had fired: the machine is too slow for this check"
fi
wait "$locker"
check "the locked run's timer fires once it is released" "eventually 30 all_fired ok 300"
check "each timer fired once" "[ \"\$(sql \"SELECT count(*) FROM (SELECT h.run_id FROM durable.history h
    JOIN durable.workflows w USING (run_id) WHERE w.task_queue = '$p-ok' AND h.event_type = 'TimerFired'
    GROUP BY h.run_id HAVING count(*) = 1) x\")\" = 300 ]"
check "none before it was due" "[ \"\$(sql \"SELECT count(*) FROM durable.history h JOIN $due_table d USING (run_id)
    WHERE h.event_type = 'TimerFired' AND h.event_time < d.fire_at\")\" = 0 ]"
check "each followed by its WorkflowTaskScheduled and a task that points at it" \
    "[ \"\$(sql \"SELECT count(*) FROM durable.history f
        JOIN durable.history s ON s.run_id = f.run_id AND s.event_id = f.event_id + 1
                              AND s.event_type = 'WorkflowTaskScheduled' AND s.event_time >= f.event_time
        JOIN durable.workflow_tasks t ON t.run_id = f.run_id AND t.scheduled_event_id = s.event_id
                                     AND t.state = 'SCHEDULED'
        JOIN durable.workflows w ON w.run_id = f.run_id
       WHERE w.task_queue = '$p-ok' AND f.event_type = 'TimerFired'\")\" = 300 ]"
check "through the prepared path" "eventually 10 '[ \$(prepared_calls) -gt $calls_before ]'"
check "the tasks can be leased" \
    "[ \"\$(sql \"SELECT count(*) FROM durable.poll_workflow_tasks('$p-ok', 'tester', 300)\")\" = 300 ]"

# 2. A burst whose first and last timers (by when they are due) the history
# refuses: the timer workers take a burst from its two ends, so every
# prepared round that takes any of it takes one of them. The refusal (a
# trigger added once the timers exist) must be in place before a timer
# worker starts preparing, at most durable.timer_lead (500 ms) before the
# instant: 10 s ahead leaves room for a loaded machine's psql calls (at 4 s
# the burst was once prepared first, fired whole, and logged nothing).
# Before it refuses, the trigger logs what its backend was doing: a timer
# worker prepares a burst only when it wakes before the instant, and on a
# loaded machine both can wake after it and fire the burst the plain way
# (seen at load 13), which logs nothing of a preparation. So the log's line
# is required exactly when a prepared round met a refused timer; a count of
# prepared calls said too little (a round that took only good timers, or
# none, left it unlogged: seen once).
burst bad 200 10
bad_first=$(sql "SELECT tm.run_id FROM durable.timers tm JOIN durable.workflows w USING (run_id)
                  WHERE w.task_queue = '$p-bad' ORDER BY tm.fire_at, tm.run_id LIMIT 1")
bad_last=$(sql "SELECT tm.run_id FROM durable.timers tm JOIN durable.workflows w USING (run_id)
                 WHERE w.task_queue = '$p-bad' ORDER BY tm.fire_at DESC, tm.run_id DESC LIMIT 1")
sql "CREATE FUNCTION public.${p}_refuse() RETURNS trigger LANGUAGE plpgsql AS \$\$
     BEGIN
         IF NEW.run_id IN ('$bad_first', '$bad_last') THEN
             RAISE LOG '${p}_refused in: %', (SELECT a.query FROM pg_catalog.pg_stat_activity a
                                               WHERE a.pid = pg_catalog.pg_backend_pid());
             RAISE EXCEPTION 'the history refuses run % (${p}_check)', NEW.run_id USING ERRCODE = 'check_violation';
         END IF;
         RETURN NEW;
     END \$\$"
sql "CREATE TRIGGER ${p}_refuse BEFORE INSERT ON durable.history_rows
     FOR EACH ROW EXECUTE FUNCTION public.${p}_refuse()"
check "the good timers of the burst fire" "eventually 60 all_fired bad 198"
if eventually 10 "grep -q '${p}_refused in: durable timer worker: firing a prepared burst' \"\$DURABLE_PGLOG\""; then
    check "the server log says the burst could not be fired as prepared" \
        "eventually 10 'grep -q \"timers due at .* could not be fired as prepared: .*${p}_check\" \"\$DURABLE_PGLOG\"'"
else
    echo "ok - # SKIP the server log's line: no timer worker prepared this burst (both woke after its instant)"
fi
for bad in "$bad_first" "$bad_last"; do
    check "a refused timer is parked with its error" \
        "eventually 30 '[ \"\$(sql \"SELECT error ->> '\''sqlstate'\'' FROM durable.list_parked() WHERE run_id = '\''$bad'\''\")\" = 23514 ]'"
done
check "none before it was due" "[ \"\$(sql \"SELECT count(*) FROM durable.history h JOIN $due_table d USING (run_id)
    WHERE h.event_type = 'TimerFired' AND h.event_time < d.fire_at\")\" = 0 ]"
sql "DROP TRIGGER ${p}_refuse ON durable.history_rows"

# 3. durable.timer_lead: its bounds, and 0 turns the preparation off.
check "durable.timer_lead refuses -1" "! sql 'ALTER SYSTEM SET durable.timer_lead = -1' 2>/dev/null"
check "durable.timer_lead refuses more than 10 s" "! sql \"ALTER SYSTEM SET durable.timer_lead = '10001ms'\" 2>/dev/null"
sql "ALTER SYSTEM SET durable.timer_lead = 0" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
sleep 1
calls_before=$(prepared_calls)
burst off 50 3
check "with durable.timer_lead = 0 the burst fires" "eventually 30 all_fired off 50"
sleep 1
check "and nothing was prepared" "[ \$(prepared_calls) -eq $calls_before ]"

summary timer_burst
