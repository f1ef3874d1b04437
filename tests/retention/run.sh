#!/usr/bin/env bash
# Retention end to end, with the real timer worker in a cluster of its own
# (the shared test cluster runs with the purge off, see scripts/cluster.sh):
# after skip_time, runs closed longer than their namespace's retention go, in
# several batches, while running ones, namespaces that keep forever and runs
# still inside the retention stay; a run that cannot be deleted is skipped
# with a warning and the timer worker keeps running; timers still fire.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
name="retention-$$"
. "$top/tests/suite_port.sh"
port=$(suite_port 1)
cluster() { "$top/scripts/cluster.sh" "$1" "$name" "$port"; }
n_fail=0
ok() { echo "ok - $*"; }
not_ok() { n_fail=$((n_fail + 1)); echo "not ok - $*"; }
is() { if [ "$1" == "$2" ]; then ok "$3"; else not_ok "$3: got [$1], want [$2]"; fi; }
eventually() {
    local deadline=$((SECONDS + ${EVENTUALLY_SECONDS:-90}))
    while [ $SECONDS -lt $deadline ]; do "$@" && return 0; sleep 0.2; done
    return 1
}

cluster start || { echo "retention: could not start a cluster"; exit 1; }
eval "$(cluster env)"
trap 'cluster stop; rm -rf "$DURABLE_RUN_BASE/$name"' EXIT
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
# small batches, short naps: many purge steps in a short test
sql "ALTER SYSTEM SET durable.purge_batch = 7" >/dev/null
sql "ALTER SYSTEM SET durable.purge_interval = '200ms'" >/dev/null
sql "ALTER SYSTEM SET durable.tick_max_wait = '500ms'" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null

closed_runs() {   # $1 namespace $2 prefix $3 how many: starts and completes them
    sql "SELECT count(durable.start_workflow('$2' || i, 'W', '$1-q', NULL, '{}', '$1')) FROM generate_series(1, $3) i" >/dev/null
    sql "SELECT count(durable.complete_workflow_task(task_token, '[{\"type\": \"CompleteWorkflowExecution\", \"result\": 1}]'))
           FROM durable.poll_workflow_tasks('$1-q', 'e2e', $3, NULL, '$1')" >/dev/null
}
count() { sql "SELECT count(*) FROM durable.workflows WHERE namespace = '$1' AND status <> 'RUNNING'"; }
zero() { [ "$(count "$1")" = 0 ]; }

sql "SELECT durable.register_namespace('e2e', '1 day')" >/dev/null
sql "SELECT durable.register_namespace('e2e-keep', '0')" >/dev/null
closed_runs e2e c- 50
closed_runs e2e-keep k- 3
closed_runs default d- 2
# a running workflow sleeping on a 40-day timer
sql "SELECT durable.start_workflow('sleeper', 'W', 'e2e-q', NULL, '{}', 'e2e')" >/dev/null
sql "SELECT durable.complete_workflow_task(task_token, '[{\"type\": \"StartTimer\", \"timer_id\": \"t\", \"start_to_fire_timeout\": 3456000}]')
       FROM durable.poll_workflow_tasks('e2e-q', 'e2e', 1, NULL, 'e2e')" >/dev/null
is "$(count e2e)" "50" "50 closed runs in namespace e2e (retention 1 day)"
sleep 1
is "$(count e2e)" "50" "none is purged while inside the retention"

sql "SELECT durable.skip_time('2 days')" >/dev/null
eventually zero e2e && ok "the timer worker purged all 50 (in batches of 7)" || not_ok "closed runs left in e2e: $(count e2e)"
is "$(sql "SELECT count(*) FROM durable.history h WHERE NOT EXISTS (SELECT 1 FROM durable.workflows w WHERE w.run_id = h.run_id)")" "0" \
   "no history row outlives its run"
is "$(sql "SELECT durable.describe_workflow('sleeper', NULL, 'e2e') ->> 'status'")" "RUNNING" "the running workflow stays"
is "$(count e2e-keep)" "3" "retention 0 keeps everything"
is "$(count default)" "2" "default (30 days) keeps what closed 2 days ago"
is "$(sql "SELECT durable.describe_namespace('e2e') ->> 'purge_backlog'")" "0" "describe_namespace: no backlog"

# a run that cannot be deleted: a warning, the others go, the worker lives on
closed_runs e2e b- 5
sql "CREATE FUNCTION public.refuse_delete() RETURNS trigger LANGUAGE plpgsql AS \$\$
     BEGIN
         IF OLD.run_id = (SELECT run_id FROM durable.workflows WHERE namespace = 'e2e' AND workflow_id = 'b-3') THEN
             RAISE EXCEPTION 'injected: this history row cannot be deleted';
         END IF;
         RETURN OLD;
     END \$\$;
     CREATE TRIGGER refuse_delete BEFORE DELETE ON durable.history_rows FOR EACH ROW EXECUTE FUNCTION public.refuse_delete()" >/dev/null
sql "SELECT durable.skip_time('2 days')" >/dev/null
one_left() { [ "$(count e2e)" = 1 ]; }
eventually one_left && ok "the runs that can be deleted go" || not_ok "closed runs in e2e: $(count e2e), want 1"
eventually grep -q "closed run .* could not be purged: injected" "$DURABLE_PGLOG" \
    && ok "the one that cannot is named in a WARNING" || not_ok "no warning in the server log"
sql "DROP TRIGGER refuse_delete ON durable.history_rows" >/dev/null
eventually zero e2e && ok "and goes once the cause is gone" || not_ok "b-3 was never purged"

# 31 days: the default namespace's runs go too; 41 days: the timer fires
sql "SELECT durable.skip_time('27 days')" >/dev/null
eventually zero default && ok "the default namespace purges after 30 days" || not_ok "default kept $(count default)"
sql "SELECT durable.skip_time('10 days')" >/dev/null
fired() { [ "$(sql "SELECT count(*) FROM durable.get_history('sleeper', NULL, 0, NULL, 'e2e') WHERE event_type = 'TimerFired'")" = 1 ]; }
eventually fired && ok "the 40-day timer still fires" || not_ok "the 40-day timer did not fire"
is "$(count e2e-keep)" "3" "retention 0 still keeps everything"
is "$(grep -c 'durable timer worker 0 started' "$DURABLE_PGLOG")" "1" "timer worker 0 never restarted"

if [ "$n_fail" -ne 0 ]; then
    echo "--- server log"; tail -n 30 "$DURABLE_PGLOG"
    exit 1
fi
echo "# retention: all passed"
