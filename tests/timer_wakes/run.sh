#!/usr/bin/env bash
# A commit that carries a deadline wakes the timer workers (wakeup.c). A
# worker woken for a deadline later than the burst lead only moves the end
# of its sleep (pgext/src/bgworker.c, sleep_on), whether it has deadlines
# pending or none: it looks when the deadline is near, not at once. This
# checks both paths on a cluster of its own, with durable.tick_max_wait at
# 10 minutes so that no timer is fired by the workers' backstop wake instead
# of the wake under test, and with batch jobs paused (batch_step_items = 0):
# idle, worker 0 looks for a batch job each second (and the purge, off in
# test clusters, each minute), and each of those looks fires whatever is
# due, which hid a lost wake from step 2;
# 1. with nothing pending, commits of a deadline nine minutes ahead make
#    (almost) no tick (each made one per worker before: _tick's calls,
#    track_functions = pl);
# 2. after those (the sleep's end moved to nine minutes ahead, far beyond
#    step 2's wait), a timer due in 3 s, beyond the lead, still fires: its
#    wake moves the end again (a lost wake would leave it to the nine
#    minutes' look, or to the backstop);
# 3. with a timer pending (due in 3 minutes, seen by both workers' look),
#    commits of deadlines before it, each earlier than the last so that each
#    wakes them, make (almost) no tick either (each made one per worker
#    before: a store of a million sleeping workflows has their timers
#    pending, and every start and lease woke both workers for a tick);
#    Nor does any of step 3's ticks count the pending timer's burst
#    (durable._timers_due_by, calls counted with track_functions = all):
#    it is further ahead than any preparation starts, and the count was
#    0.2-0.3 ms of every tick with a million asleep;
# 4. after those, a timer due in 1 s fires long before the pending one, its
#    burst counted by the look durable.timer_lead before it;
# 5. a skip of the clock makes them look at once.
set -uo pipefail
: "${PGHOST:?run me through scripts/test.sh}"
. "$(dirname "$0")/../lib.sh"
suite_cluster timer_wakes timer-wakes
trap 'cluster stop >/dev/null' EXIT
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
p=tw$$

sql "ALTER SYSTEM SET durable.tick_max_wait = '10min'" >/dev/null
sql "ALTER SYSTEM SET track_functions = 'all'" >/dev/null   # _timers_due_by is SQL
sql "ALTER SYSTEM SET durable.batch_step_items = 0" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
eventually 20 '[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = '"'"'durable timer worker'"'"'")" -ge 1 ]'
calls() { sql "SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE schemaname = 'durable' AND funcname = '$1'"; }
ticks() { calls _tick; }   # (fire_due's work and next_due's, one call a tick)
counts() { calls _timers_due_by; }
# timer NAME SECONDS: a workflow NAME (on a queue of its own) whose first task starts a timer
timer() {
    sql "SELECT durable.start_workflow('$p-$1', 'W', '$p-$1')" >/dev/null
    sql "SELECT count(durable.complete_workflow_task(t.task_token,
            jsonb_build_array(jsonb_build_object('type', 'StartTimer', 'timer_id', 't', 'start_to_fire_timeout', $2))))
           FROM durable.poll_workflow_tasks('$p-$1', 'tester', 1) t" >/dev/null
}
fired() {
    [ "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
               WHERE w.workflow_id = '$p-$1' AND h.event_type = 'TimerFired'")" = 1 ]
}
sleep 2   # the workers' first ticks, and the reload, behind us

# ticks_of_wakes SECONDS STEP: the workers' ticks around twenty commits, the
# i-th of a deadline SECONDS + i * STEP seconds ahead
ticks_of_wakes() {
    local before i
    before=$(ticks)
    for i in $(seq 1 20); do
        sql "SELECT durable._wake_at(durable.now() + make_interval(secs => $1 + $i * $2))" >/dev/null
    done
    sleep 2
    echo $(( $(ticks) - before ))
}

# 1. twenty commits of a deadline nine minutes ahead, nothing else pending
n=$(ticks_of_wakes 540 0)
check "twenty commits of a deadline nine minutes ahead: $n ticks (two workers: 40 or more without sleep_on)" \
    '[ "$n" -lt 10 ]'

# 2. nothing pending, the sleep's end nine minutes ahead: a timer due in 3 s
timer near 3
check "then a timer due in 3 s fires (its wake moved the sleep's end)" "eventually 60 fired near"

# 3. a timer pending, which both workers have seen: a deadline due now makes
# each look at once (and the far timer's lease is gone by then)
timer far 180
before=$(ticks)
counted=$(counts)
sql "SELECT durable._wake_at(durable.now())" >/dev/null
check "a deadline due now makes both workers look" 'eventually 60 "[ \$((\$(ticks) - before)) -ge 2 ]"'
sleep 1
n=$(ticks_of_wakes 150 -1)
check "with a timer due in 3 minutes pending, twenty commits of earlier deadlines: $n ticks (40 or more with sleep_on only when nothing is pending)" \
    '[ "$n" -lt 10 ]'
check "and none of those ticks counted the burst of the timer due in 3 minutes" '[ "$(counts)" = "$counted" ]'

# 4. the sleep's end moved to 130 s ahead: a timer due in 1 s fires first
timer soon 1
check "then a timer due in 1 s fires" "eventually 60 fired soon"
check "its burst counted by the look just before it" 'eventually 10 "[ \$(counts) -gt $counted ]"'
check "before the pending one" '! fired far'

# 5. a skip of the clock: the far timer is due at once
sql "SELECT durable.skip_time(interval '4 minutes')" >/dev/null
check "skip_time makes them look at once" "eventually 60 fired far"
summary timer_wakes
