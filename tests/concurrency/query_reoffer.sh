#!/usr/bin/env bash
# A worker that takes a query and dies before answering does not lose it:
# the waiting caller sees the taker's backend is gone and offers the query
# again, and a second worker answers it. Needs PG* pointing at a cluster with
# durable. Also: poll_query_tasks names the workflow type, and the token of
# the worker that left no longer answers. Exits non-zero with a one-line
# reason on failure.
set -euo pipefail
fail() { echo "query_reoffer: FAIL: $*"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; kill $(jobs -p) 2>/dev/null || true' EXIT
q="qr-$$-$(date +%s%N)"
sql() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }

sql -c "SELECT durable.start_workflow('$q-wf', 'W', '$q')" >/dev/null
# the caller waits up to 20 s for an answer
sql -c "SELECT durable.query_workflow('$q-wf', 'state', timeout_ms => 20000)" > "$tmp/answer" 2>&1 &
caller=$!
# the first worker takes the query and goes away without answering
taken=$(sql -c "SELECT query_token FROM durable.poll_query_tasks('$q', 'dies', 1, 10000)")
[ -n "$taken" ] || fail "the first worker got no query"
# the second worker must be offered the same query, under a new token; it
# answers on the connection it polled on (a taker whose backend is gone
# loses the query again), after trying the first taker's token
read -r again_differs type stale < <(sql -F ' ' -v q="$q" -v taken="$taken" <<'SQL'
CREATE FUNCTION pg_temp.attempt(tok text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM durable.answer_query_task(tok, '"stale"');
    RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
SELECT query_token AS again, workflow_type FROM durable.poll_query_tasks(:'q', 'lives', 1, 10000) \gset
SELECT :'again' <> :'taken', :'workflow_type', pg_temp.attempt(:'taken');
SELECT durable.answer_query_task(:'again', '"alive"');
SQL
)
[ "${again_differs:-}" = t ] || fail "the query was not offered again under a new token ('${again_differs:-}')"
[ "${type:-}" = W ] || fail "poll_query_tasks gave workflow_type '${type:-}', not W"
[ "${stale:-}" = DU004 ] || fail "the first taker's token did not get DU004 but '${stale:-}'"
wait "$caller" || fail "the caller failed: $(cat "$tmp/answer")"
[ "$(cat "$tmp/answer")" = '"alive"' ] || fail "the caller got $(cat "$tmp/answer")"
echo "query_reoffer: ok (a query taken by a worker that left, answered by another; the first token refused)"
