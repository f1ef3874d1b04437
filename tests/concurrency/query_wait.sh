#!/usr/bin/env bash
# A worker's wait for queries holds no snapshot: CALL durable.wait_for_query_tasks
# (pgext/src/query_wait.c) commits before it sleeps, so while it waits its
# backend shows no backend_xmin in pg_stat_activity however many transactions
# run meanwhile (poll_query_tasks' long poll, sampled the same way, holds one:
# the check can fail). It wakes for a query posted to its queue (its wait is
# ten minutes: only the post can end it within this test's guard), says
# ready, and poll_query_tasks(..., 0) then takes the query and the caller gets
# its answer. Needs PG* pointing at a cluster with durable. Exits non-zero
# with a one-line reason on failure.
set -euo pipefail
fail() { echo "query_wait: FAIL: $*"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; kill $(jobs -p) 2>/dev/null || true' EXIT
q="qw-$$-$(date +%s%N)"
sql() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }
# eventually SECONDS COMMAND: true as soon as COMMAND (eval'd) is
eventually() { local t=$1; shift; for _ in $(seq 1 $((t * 5))); do eval "$@" && return 0; sleep 0.2; done; return 1; }
# the backend_xmin of the session named NAME (application_name) while it
# waits in the extension ("waiting" when it is not waiting there yet)
xmin_of() {
    sql -c "SELECT coalesce(backend_xmin::text, 'none') FROM pg_stat_activity
             WHERE application_name = '$1' AND state = 'active' AND wait_event = 'Extension'
            UNION ALL SELECT 'waiting' LIMIT 1"
}
# samples the session's backend_xmin while other sessions commit: the
# distinct values seen ('none' when it held none)
sample() {
    local seen=()
    for _ in $(seq 1 10); do
        sql -c "CREATE TEMP TABLE burn AS SELECT 1; DROP TABLE burn" >/dev/null   # an xid, committed
        seen+=("$(xmin_of "$1")")
        sleep 0.1
    done
    printf '%s\n' "${seen[@]}" | sort -u | tr '\n' ' '
}

sql -c "SELECT durable.start_workflow('$q-wf', 'W', '$q')" >/dev/null

# the long poll, for comparison: it holds its statement's snapshot
PGAPPNAME="$q-poll" sql -c "SELECT count(*) FROM durable.poll_query_tasks('$q', 'old', 1, 600000)" >/dev/null 2>&1 &
poller=$!
eventually 30 '[ "$(xmin_of "$q-poll")" != waiting ]' || fail "the long poll never waited"
held=$(sample "$q-poll")
[[ "$held" =~ ^[0-9\ ]+$ ]] || fail "poll_query_tasks' long poll did not show a backend_xmin throughout ($held): the comparison is void"
sql -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = '$q-poll'" >/dev/null
wait "$poller" && fail "the canceled long poll succeeded"

# the procedure: waits up to ten minutes, holding nothing
PGAPPNAME="$q-wait" sql -c "CALL durable.wait_for_query_tasks('$q', 600000)" > "$tmp/ready" 2>&1 &
waiter=$!
eventually 30 '[ "$(xmin_of "$q-wait")" != waiting ]' || fail "wait_for_query_tasks never waited: $(cat "$tmp/ready")"
seen=$(sample "$q-wait")
[ "$seen" = "none " ] || fail "wait_for_query_tasks' backend showed backend_xmin $seen while it waited"
kill -0 "$waiter" 2>/dev/null || fail "wait_for_query_tasks returned with nothing posted: $(cat "$tmp/ready")"

# a query is posted: the wait ends, ready
sql -c "SELECT durable.query_workflow('$q-wf', 'state', timeout_ms => 60000)" > "$tmp/answer" 2>&1 &
caller=$!
eventually 60 '! kill -0 '"$waiter"' 2>/dev/null' || fail "wait_for_query_tasks did not wake for a posted query"
wait "$waiter" || fail "wait_for_query_tasks failed: $(cat "$tmp/ready")"
[ "$(cat "$tmp/ready")" = t ] || fail "wait_for_query_tasks returned ready = '$(cat "$tmp/ready")', not t"

# it took nothing: the worker takes the query with a poll that does not wait,
# and answers on the same connection (a taker whose backend is gone loses it)
taken=$(sql -v q="$q" <<'SQL'
SELECT count(*) AS n, min(query_token) AS token FROM durable.poll_query_tasks(:'q', 'new', 1, 0) \gset
SELECT durable.answer_query_task(:'token', '"answered"') WHERE :n = 1;
SELECT :n;
SQL
)
taken=${taken##*$'\n'}   # the last line: the count (the answer prints an empty one)
[ "$taken" = 1 ] || fail "poll_query_tasks(..., 0) took $taken queries after ready, not 1"
wait "$caller" || fail "the caller failed: $(cat "$tmp/answer")"
[ "$(cat "$tmp/answer")" = '"answered"' ] || fail "the caller got $(cat "$tmp/answer")"

# nothing posted: it returns at its deadline, not ready
[ "$(sql -c "CALL durable.wait_for_query_tasks('$q', 50)")" = f ] || fail "a wait with nothing posted said ready"
echo "query_wait: ok (no backend_xmin while waiting, long poll held one: $held; woke for a query, answered)"
