#!/usr/bin/env bash
# CALL durable.wait_for_query_tasks at its edges (pgext/src/query_wait.c):
# - a client that goes away mid-wait: its backend leaves the wait (and exits)
#   long before the wait's ten minutes are up, as soon as it looks again;
# - a CALL that would commit what its own transaction wrote before it (a DO
#   block or procedure that wrote, then CALLs it) is refused with 25001 and
#   the write is rolled back with it: its commit is for its own snapshot only.
# Needs PG* pointing at a cluster with durable. Exits non-zero with a one-line
# reason on failure.
set -euo pipefail
fail() { echo "query_wait_edges: FAIL: $*"; exit 1; }
q="qwe-$$-$(date +%s%N)"
trap 'kill $(jobs -p) 2>/dev/null || true; psql -qXAt -c "DROP TABLE IF EXISTS \"$q\"" >/dev/null 2>&1 || true' EXIT
sql() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }
# eventually SECONDS COMMAND: true as soon as COMMAND (eval'd) is
eventually() { local t=$1; shift; for _ in $(seq 1 $((t * 5))); do eval "$@" && return 0; sleep 0.2; done; return 1; }
backends() { sql -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$1'"; }
waiting() { sql -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$1' AND wait_event = 'Extension'"; }

# killed_mid_wait NAME SQL WHAT: runs SQL as client NAME, kills the client -9
# once its backend waits, and fails unless that backend goes away
killed_mid_wait() {
    PGAPPNAME="$1" psql -qXAt -c "$2" >/dev/null 2>&1 &
    local client=$!
    eventually 30 "[ \"\$(waiting '$1')\" = 1 ]" || fail "$3 never started"
    kill -9 "$client"
    wait "$client" 2>/dev/null || true
    eventually 30 "[ \"\$(backends '$1')\" = 0 ]" ||
        fail "the backend of $3 whose client was killed still waits ($(waiting "$1") in the wait): it sits out wait_ms"
}
# nothing is posted: the wait has ten minutes to go
killed_mid_wait "$q-gone" "CALL durable.wait_for_query_tasks('$q', 600000)" "a wait"
# the long poll must neither stay nor take a query it cannot hand on
killed_mid_wait "$q-poll" "SELECT * FROM durable.poll_query_tasks('$q', 'w', 1, 600000)" "a long poll"

# a write, then the CALL, in one transaction (a DO block): refused, the write rolled back
sql -c "CREATE TABLE \"$q\" (x int)"
err=$(psql -qXAt -v VERBOSITY=verbose -c "DO \$\$ DECLARE r boolean; BEGIN
          INSERT INTO \"$q\" VALUES (1);
          CALL durable.wait_for_query_tasks('$q', 10, 'default', NULL, r);
          RAISE EXCEPTION 'the caller fails after the CALL';
      END \$\$" 2>&1 || true)
[[ "$err" == *"ERROR:  25001: durable.wait_for_query_tasks must be called on its own"* ]] ||
    fail "a CALL after a write in its transaction was not refused with 25001: $err"
[ "$(sql -c "SELECT count(*) FROM \"$q\"")" = 0 ] || fail "the CALL committed its caller's write"
# a DO block that wrote nothing may CALL it (a plpgsql worker loop), and wait
[ "$(sql -c "DO \$\$ DECLARE r boolean; BEGIN
          CALL durable.wait_for_query_tasks('$q', 10, 'default', NULL, r);
          RAISE NOTICE 'ready %', r; END \$\$" 2>&1)" = "NOTICE:  ready f" ] ||
    fail "a DO block that wrote nothing could not CALL it"
echo "query_wait_edges: ok (a gone client's wait and long poll end; a CALL after a write is refused, the write rolled back)"
