#!/usr/bin/env bash
# signal_with_start from two sessions at once on a new workflow id: one starts
# the run, the other must signal that run (Temporal's guarantee), never fail
# with "already started". Session A holds its start open while B arrives, so B
# meets A's uncommitted run on the id reuse index. Exits non-zero with a
# one-line reason on failure.
set -euo pipefail
ns="sws-$$-$(date +%s)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "signal_with_start: FAIL: $*"; exit 1; }

for i in 1 2 3; do
    id="race-$i"
    psql -qXtA -v ON_ERROR_STOP=1 >"$tmp/a$i" 2>&1 <<SQL &
BEGIN;
SELECT durable.signal_with_start('$id', 'W', 'race-q', 'first', namespace => '$ns');
SELECT pg_sleep(1);
COMMIT;
SQL
    a=$!
    sleep 0.4
    b=$(psql -qXtA -v ON_ERROR_STOP=1 -c "SELECT durable.signal_with_start('$id', 'W', 'race-q', 'second', namespace => '$ns')" 2>&1) \
        || { wait "$a" || true; fail "the second signal_with_start of $id failed: $(echo "$b" | head -1)"; }
    wait "$a" || fail "the first signal_with_start of $id failed: $(head -1 "$tmp/a$i")"
    [ "$b" = "$(head -1 "$tmp/a$i")" ] || fail "the two calls for $id returned different runs ($b, $(head -1 "$tmp/a$i"))"
    got=$(psql -qXtA -c "SELECT string_agg(attributes ->> 'signal_name', ',' ORDER BY event_id) FROM durable.get_history('$id', namespace => '$ns') WHERE event_type = 'WorkflowExecutionSignaled'")
    [ "$got" = "first,second" ] || fail "$id got signals '$got', wanted 'first,second'"
    runs=$(psql -qXtA -c "SELECT count(*) FROM durable.list_workflows(namespace => '$ns') WHERE workflow_id = '$id'")
    [ "$runs" = "1" ] || fail "$id has $runs runs listed"
done
echo "signal_with_start: ok (a concurrent second call signaled the run the first one started, 3 times)"
