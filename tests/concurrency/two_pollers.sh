#!/usr/bin/env bash
# Real concurrency against a running cluster (PG* variables): several psql
# sessions lease from one queue at once and no task is leased twice (also in
# small racing batches); a query answered by another session; the timer
# worker firing a committed timer by itself after skip_time. Exits non-zero
# with a one-line reason on failure.
set -euo pipefail

tasks=${DURABLE_CC_TASKS:-2000}        # activity tasks to lease
workflows=${DURABLE_CC_WORKFLOWS:-300} # workflow tasks to lease
sessions=${DURABLE_CC_SESSIONS:-3}
batch=7                                # odd on purpose: batches straddle each other
ns="cc-$$-$(date +%s)"                 # a namespace of our own: the cluster may be reused
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() { echo "two_pollers: FAIL: $*"; exit 1; }
sql() { psql -qXtA -v ON_ERROR_STOP=1 "$@"; }

sql -c "SELECT 1 FROM pg_extension WHERE extname = 'durable'" | grep -q 1 || fail "extension durable is not installed"

# 1. Setup: $tasks activity tasks on queue acts, $workflows workflow tasks on queue wfs.
per_wf=100
setup_wfs=$(( (tasks + per_wf - 1) / per_wf ))
sql -v ns="$ns" -v n="$setup_wfs" -v per="$per_wf" -v total="$tasks" -v wfs="$workflows" >/dev/null <<'SQL' || fail "setup failed"
SELECT durable.start_workflow('setup-' || i, 'Setup', 'setup', NULL, '{}', :'ns') FROM generate_series(1, :n) i;
SELECT durable.complete_workflow_task(t.task_token,
         (SELECT jsonb_agg(jsonb_build_object('type', 'ScheduleActivityTask', 'activity_id', j::text,
                                              'activity_type', 'Work', 'task_queue', 'acts',
                                              'start_to_close_timeout', '30 days'))
            FROM generate_series(1, least(:per, :total - (substr(t.workflow_id, 7)::int - 1) * :per)) j))
  FROM durable.poll_workflow_tasks('setup', 'setup', 1000, NULL, :'ns') t;
SELECT durable.start_workflow('wf-' || i, 'W', 'wfs', NULL, '{}', :'ns') FROM generate_series(1, :wfs) i;
SQL
scheduled=$(sql -v ns="$ns" <<< "SELECT count(*) FROM durable.activity_tasks WHERE namespace = :'ns' AND state = 'SCHEDULED'")
[ "$scheduled" = "$tasks" ] || fail "setup made $scheduled activity tasks, wanted $tasks"

# 2. Sessions poll concurrently, one transaction per poll, until both queues are empty.
# Each session is one psql process fed by a loop, so leases interleave across sessions.
# session NAME ROUNDS STATEMENT...: one psql session running the statements
# ROUNDS times over, its output in $tmp/NAME.out
session() {
    local name=$1 rounds=$2
    shift 2
    { echo "\\set QUIET on"; for _ in $(seq 1 "$rounds"); do printf '%s\n' "$@"; done; } \
        | psql -qXtA -v ON_ERROR_STOP=1 >"$tmp/$name.out" 2>"$tmp/$name.err"
}
poller() {
    session "p$1" $(( (tasks + workflows) / batch / sessions * 3 + 20 )) \
        "SELECT 'A ' || task_token FROM durable.poll_activity_tasks('acts', 'p$1', $batch, '$ns');" \
        "SELECT 'W ' || task_token FROM durable.poll_workflow_tasks('wfs', 'p$1', $batch, NULL, '$ns');"
}
for i in $(seq 1 "$sessions"); do poller "$i" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fail "a poller session failed: $(cat "$tmp"/p*.err | head -1)"; done
pids=()

cat "$tmp"/p*.out | grep -E '^[AW] ' >"$tmp/all" || true
a_leased=$(grep -c '^A ' "$tmp/all" || true)
w_leased=$(grep -c '^W ' "$tmp/all" || true)
a_unique=$(grep '^A ' "$tmp/all" | sed 's/^A a\([0-9]*\)\..*/\1/' | sort -u | wc -l)
w_unique=$(grep '^W ' "$tmp/all" | sed 's/^W w\([0-9]*\)\..*/\1/' | sort -u | wc -l)
busy=0
for i in $(seq 1 "$sessions"); do [ "$(grep -c . "$tmp/p$i.out" || true)" -gt 0 ] && busy=$((busy + 1)); done

[ "$a_unique" = "$a_leased" ] || fail "an activity task was leased twice ($a_leased leases of $a_unique tasks)"
[ "$w_unique" = "$w_leased" ] || fail "a workflow task was leased twice ($w_leased leases of $w_unique tasks)"
[ "$a_leased" = "$tasks" ] || fail "$a_leased of $tasks activity tasks were leased"
[ "$w_leased" = "$workflows" ] || fail "$w_leased of $workflows workflow tasks were leased"
[ "$busy" -ge 2 ] || fail "only $busy session(s) leased anything: not a concurrency test"
check=$(sql -v ns="$ns" <<'SQL'
SELECT (SELECT count(*) FROM durable.activity_tasks WHERE namespace = :'ns' AND state = 'STARTED' AND fence = 1)
    || ' ' || (SELECT count(*) FROM durable.activity_tasks WHERE namespace = :'ns' AND fence <> 1)
    || ' ' || (SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
                WHERE w.namespace = :'ns' AND w.task_queue = 'wfs' AND h.event_type = 'WorkflowTaskStarted');
SQL
)
[ "$check" = "$tasks 0 $workflows" ] || fail "store disagrees after leasing (started/re-leased/WorkflowTaskStarted: $check)"
echo "two_pollers: $sessions sessions leased $a_leased activity and $w_leased workflow tasks, each exactly once ($busy sessions got work)"

# 2b. The sessions complete what they leased, at once, in batches of 50 in
# random order, so batches of different sessions touch the same runs in
# different orders. Every result must land, each run must get exactly one new
# workflow task, and its event ids must stay dense.
completer() {
    local id=$1
    grep '^A ' "$tmp/p$id.out" | cut -c3- | shuf | split -l 50 - "$tmp/c$id."
    for f in "$tmp/c$id."*; do
        [ -e "$f" ] || continue
        printf "SELECT outcome, error FROM durable.complete_activity_tasks('%s');\n" \
            "$(sed 's/.*/{"task_token": "&", "result": 1}/' "$f" | paste -sd, | sed 's/^/[/; s/$/]/')"
    done | psql -qXtA -v ON_ERROR_STOP=1 >"$tmp/c$id.out" 2>"$tmp/c$id.err"
}
for i in $(seq 1 "$sessions"); do completer "$i" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fail "a completing session failed: $(cat "$tmp"/c*.err | head -1)"; done
pids=()
completed=$(cat "$tmp"/c*.out | grep -c '^COMPLETED|' || true)
[ "$completed" = "$tasks" ] || fail "$completed of $tasks concurrent completions were COMPLETED: $(cat "$tmp"/c*.out | grep -v '^COMPLETED|' | sort | uniq -c | head -2)"
check=$(sql -v ns="$ns" <<'SQL'
SELECT count(*) FILTER (WHERE completed <> expected) || ' ' || count(*) FILTER (WHERE scheduled <> 2)
    || ' ' || count(*) FILTER (WHERE events <> last_id) || ' ' || count(*) FILTER (WHERE tasks <> 1)
  FROM (SELECT w.run_id,
               (SELECT count(*) FROM durable.history h WHERE h.run_id = w.run_id AND h.event_type = 'ActivityTaskCompleted') AS completed,
               (SELECT count(*) FROM durable.history h WHERE h.run_id = w.run_id AND h.event_type = 'ActivityTaskScheduled') AS expected,
               (SELECT count(*) FROM durable.history h WHERE h.run_id = w.run_id AND h.event_type = 'WorkflowTaskScheduled') AS scheduled,
               (SELECT count(*) FROM durable.history h WHERE h.run_id = w.run_id) AS events,
               (SELECT max(event_id) FROM durable.history h WHERE h.run_id = w.run_id) AS last_id,
               (SELECT count(*) FROM durable.workflow_tasks t WHERE t.run_id = w.run_id) AS tasks
          FROM durable.workflows w WHERE w.namespace = :'ns' AND w.task_queue = 'setup') r;
SQL
)
[ "$check" = "0 0 0 0" ] || fail "after concurrent completions, runs with missing results/extra task events/gaps/task rows: $check"
echo "two_pollers: $sessions sessions completed $completed activities concurrently in shuffled batches; one workflow task per run"

# 2c. Workflow polls racing each other in small batches over one queue of
# many tasks. A poll locks the run, not the task row (a row lock costs WAL),
# so a poll whose snapshot was taken before another poll committed its lease
# still sees that task ready when it gets the run's lock: it must read the
# task again then. Without that re-read this part failed 3 runs in 4, and
# part 2 (300 workflow tasks polled among 2,000 activity tasks) 1 in 10.
racing=${DURABLE_CC_RACE_WORKFLOWS:-2000}
race_sessions=$(( sessions + 1 ))
sql -v ns="$ns" -v n="$racing" >/dev/null <<'SQL' || fail "race setup failed"
SELECT count(durable.start_workflow('r-' || i, 'W', 'race', NULL, '{}', :'ns')) FROM generate_series(1, :n) i;
SQL
racer() {
    session "r$1" $(( racing / 3 / race_sessions * 3 + 20 )) \
        "SELECT 'W ' || task_token FROM durable.poll_workflow_tasks('race', 'r$1', 3, NULL, '$ns');"
}
for i in $(seq 1 "$race_sessions"); do racer "$i" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fail "a racing poller failed: $(cat "$tmp"/r*.err | head -1)"; done
pids=()
r_leased=$(cat "$tmp"/r*.out | grep -c '^W ' || true)
r_unique=$(cat "$tmp"/r*.out | grep '^W ' | sed 's/^W w\([0-9]*\)\..*/\1/' | sort -u | wc -l)
[ "$r_unique" = "$r_leased" ] || fail "a racing poll leased a workflow task twice ($r_leased leases of $r_unique tasks)"
[ "$r_leased" = "$racing" ] || fail "$r_leased of $racing racing workflow tasks were leased"
check=$(sql -v ns="$ns" <<'SQL'
SELECT (SELECT count(*) FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id)
         WHERE w.namespace = :'ns' AND w.task_queue = 'race' AND t.state = 'STARTED' AND t.fence = 1)
    || ' ' || (SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
                WHERE w.namespace = :'ns' AND w.task_queue = 'race' AND h.event_type = 'WorkflowTaskStarted');
SQL
)
[ "$check" = "$racing $racing" ] || fail "store disagrees after racing polls (started once/WorkflowTaskStarted: $check)"
echo "two_pollers: $race_sessions sessions racing in batches of 3 leased $r_leased workflow tasks, each exactly once"

# 3. Query round trip: one session answers, another asks.
sql -v ns="$ns" <<< "SELECT durable.start_workflow('q-1', 'W', 'queries', '{\"n\": 5}', '{}', :'ns')" >/dev/null
answerer() {
    sql -v ns="$ns" <<'SQL'
SELECT query_token, query_type, workflow_id, jsonb_array_length(history) AS events
  FROM durable.poll_query_tasks('queries', 'answerer', 1, 20000, :'ns') \gset
SELECT durable.answer_query_task(:'query_token', jsonb_build_object('query', :'query_type', 'workflow', :'workflow_id', 'events', :events));
SELECT query_token FROM durable.poll_query_tasks('queries', 'answerer', 1, 20000, :'ns') \gset
SELECT durable.answer_query_task(:'query_token', NULL, 'no handler for this query');
SQL
}
answerer >"$tmp/answerer.out" 2>&1 & pids+=($!)
answer=$(sql -v ns="$ns" <<< "SELECT durable.query_workflow('q-1', 'status', timeout_ms => 20000, namespace => :'ns')") \
    || fail "query_workflow failed: $answer"
[ "$answer" = '{"query": "status", "events": 2, "workflow": "q-1"}' ] || fail "unexpected query answer: $answer"
err=$(sql -v ns="$ns" <<< "SELECT durable.query_workflow('q-1', 'nope', timeout_ms => 20000, namespace => :'ns')" 2>&1) \
    && fail "a query the worker failed returned $err"
grep -q 'query failed in the worker' <<< "$err" || fail "a failed query gave: $err"
state=$(psql -qXtA -c "DO \$\$BEGIN PERFORM durable.query_workflow('q-1', 'nope', timeout_ms => 10, namespace => '$ns');
    EXCEPTION WHEN OTHERS THEN RAISE NOTICE '%', SQLSTATE; END\$\$" 2>&1 | sed -n 's/.*NOTICE: *//p')
[ "$state" = "DU005" ] || fail "an unanswered query gave SQLSTATE '$state', wanted DU005"
wait "${pids[0]}" || fail "the answering session failed: $(head -3 "$tmp/answerer.out")"
pids=()
echo "two_pollers: query answered by another session: $answer; a worker error gave DU006"

# 4. The timer worker fires a committed timer on its own after skip_time.
sql -v ns="$ns" >/dev/null <<'SQL' || fail "timer setup failed"
SELECT durable.start_workflow('timer-1', 'W', 'timers', NULL, '{}', :'ns');
SELECT durable.complete_workflow_task(task_token,
         '[{"type": "StartTimer", "timer_id": "t", "start_to_fire_timeout": "7 days"}]')
  FROM durable.poll_workflow_tasks('timers', 'setup', 1, NULL, :'ns');
SQL
sql -c "SELECT durable.skip_time('7 days')" >/dev/null
fired=""
for _ in $(seq 1 60); do
    fired=$(sql -v ns="$ns" <<< "SELECT count(*) FROM durable.get_history('timer-1', namespace => :'ns') WHERE event_type = 'TimerFired'")
    [ "$fired" = "1" ] && break
    sleep 0.5
done
[ "$fired" = "1" ] || fail "the timer worker did not fire a due committed timer within 30 s"
echo "two_pollers: the timer worker fired a 7-day timer by itself after skip_time"
echo "two_pollers: ok"
