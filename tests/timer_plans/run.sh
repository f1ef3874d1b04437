#!/usr/bin/env bash
# The timer workers keep their statements' plans for their lifetime
# (pgext/src/bgworker.c, prepare.c, version.c: _tick, _timers_due_by and
# the installed version, prepared once), and _tick is PL/pgSQL, whose plans
# each worker keeps too. What those plans name can
# change under a running worker: the extension dropped and created again
# (new functions, new tables), an index of _tick's rebuilt, the extension
# gone for a while. Each time a timer started afterwards must still fire,
# by the same worker processes, and no worker may log a failed pass; a kept
# plan that still pointed at the old objects would fail every pass ("cache
# lookup failed", "could not open relation") and the timer would never fire.
# On a cluster of its own: it drops the extension.
set -uo pipefail
: "${PGHOST:?run me through scripts/test.sh}"
. "$(dirname "$0")/../lib.sh"
suite_cluster timer_plans timer-plans
trap 'cluster stop >/dev/null' EXIT
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
log=$DURABLE_PGLOG
p=tp$$

workers() { sql "SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity WHERE backend_type = 'durable timer worker'"; }
# timer NAME: a workflow NAME (on a queue of its own) whose first task starts a 0.3 s timer
timer() {
    sql "SELECT durable.start_workflow('$p-$1', 'W', '$p-$1')" >/dev/null
    sql "SELECT count(durable.complete_workflow_task(t.task_token,
            '[{\"type\": \"StartTimer\", \"timer_id\": \"t\", \"start_to_fire_timeout\": 0.3}]'))
           FROM durable.poll_workflow_tasks('$p-$1', 'tester', 1) t" >/dev/null
}
fired() {   # NAME: its timer fired (by a timer worker: nothing here calls fire_due)
    [ "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
               WHERE w.workflow_id = '$p-$1' AND h.event_type = 'TimerFired'")" = 1 ]
}
failed_passes() { grep -c "firing failed" "$log" || true; }

eventually 20 '[ -n "$(workers)" ]'
before=$(workers)
# 1. the plans are made: a timer fires
timer first
check "a timer fires (the workers' plans made)" "eventually 20 fired first"

# 2. the extension dropped and created again: every function and table new
sql "DROP EXTENSION durable CASCADE" >/dev/null
sql "CREATE EXTENSION durable" >/dev/null
timer recreated
check "after DROP and CREATE EXTENSION, a timer fires" "eventually 20 fired recreated"

# 3. _tick's and next_due's indexes rebuilt (their kept plans read them)
sql "REINDEX TABLE durable.timers" >/dev/null
sql "DROP INDEX durable.workflow_tasks_deadline" >/dev/null
sql "CREATE INDEX workflow_tasks_deadline ON durable.workflow_tasks (timeout_at) WHERE timeout_at IS NOT NULL" >/dev/null
timer reindexed
check "after its indexes are rebuilt, a timer fires" "eventually 20 fired reindexed"
check "and next_due reads the new index" \
    '[ "$(sql "SELECT durable.next_due() IS NOT DISTINCT FROM (SELECT least(min(fire_at), (SELECT min(timeout_at) FROM durable.workflow_tasks)) FROM durable.timers)")" = t ]'

# 3b. _tick, next_due and fire_due replaced in place (CREATE OR REPLACE, as an
# update that re-runs api/ does: the same functions, new bodies): the
# workers run the new ones. Each new body also sends a NOTIFY, and a
# listening session must hear it from a timer worker's process.
replaced() {   # FUNCTION CHANNEL: FUNCTION's definition, its body first sending NOTIFY CHANNEL
    sql "SELECT pg_get_functiondef('$1'::regprocedure)" |
        sed "0,/^BEGIN\$/s//BEGIN\n    PERFORM pg_catalog.pg_notify('$2', '');/"
}
for f in "durable._tick(integer)" "durable.next_due()" "durable.fire_due(integer)"; do
    def=$(replaced "$f" "$p-body")
    [ "$(echo "$def" | grep -c "pg_notify('$p-body'")" = 1 ] || nok "(the new body of $f is made)"
    psql -qX -v ON_ERROR_STOP=1 -c "$def" >/dev/null
done
# the listener: LISTEN, then a timer started from another session, then a
# statement every 0.2 s (after which psql prints what arrived), 20 s at most
heard=$( { echo "LISTEN \"$p-body\";";
           for _ in $(seq 1 100); do echo "SELECT 1;"; echo "\\! sleep 0.2"; done; } |
         psql -qXAt 2>&1 &
         sleep 1; timer replaced; wait)
from=$(echo "$heard" | sed -n "s/^Asynchronous notification \"$p-body\" received from server process with PID \([0-9]*\)\.$/\1/p" | sort -u)
check "after _tick, next_due and fire_due are replaced, a timer fires" "eventually 20 fired replaced"
from_workers() {   # every process heard from is a timer worker, and there was one
    local pid w=",$(workers),"
    [ -n "$from" ] || return 1
    for pid in $from; do case "$w" in *",$pid,"*) ;; *) return 1 ;; esac; done
}
check "and the timer workers ran the new bodies" from_workers
# 4. the extension gone for a while (the workers wait), then back
sql "DROP EXTENSION durable CASCADE" >/dev/null
sleep 1
sql "CREATE EXTENSION durable" >/dev/null
timer returned
check "after the extension was gone and came back, a timer fires" "eventually 20 fired returned"

check "the same timer worker processes did it all" '[ "$(workers)" = "$before" ]'
check "and no pass of theirs failed" '[ "$(failed_passes)" = 0 ]'
summary timer_plans
