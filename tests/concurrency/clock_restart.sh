#!/usr/bin/env bash
# skip_time survives an immediate restart of PostgreSQL: durable.now() does
# not go back, and a workflow task leased (2 s timeout) after a skip times out
# on time after the restart, fired by the timer worker alone. Needs
# DURABLE_PGDATA and DURABLE_PGLOG (scripts/cluster.sh env). Exits non-zero
# with a one-line reason on failure.
set -euo pipefail
fail() { echo "clock_restart: FAIL: $*"; exit 1; }
if [ -z "${DURABLE_PGDATA:-}" ]; then echo "clock_restart: skipped: DURABLE_PGDATA not set"; exit 0; fi
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
bindir=${DURABLE_PGBIN:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
[ -x "$bindir/pg_ctl" ] || bindir=/usr/lib/postgresql/15/bin
sql() { psql -qXtA -v ON_ERROR_STOP=1 "$@"; }
ns="clock-$$-$(date +%s)"

sql -c "SELECT durable.skip_time('3 days')" >/dev/null || fail "skip_time failed"
before=$(sql -c "SELECT durable.now()")
sql -v ns="$ns" >/dev/null <<'SQL' || fail "setup failed"
SELECT durable.start_workflow('clock-1', 'W', 'clock-q', NULL, '{"task_timeout": 2}', :'ns');
SELECT count(*) FROM durable.poll_workflow_tasks('clock-q', 'gone-worker', 1, NULL, :'ns');
SQL
as_pg "$bindir/pg_ctl" -D "$DURABLE_PGDATA" -l "$DURABLE_PGLOG" -m immediate -w restart >/dev/null \
    || fail "could not restart the server"
for _ in $(seq 1 60); do sql -c "SELECT 1" >/dev/null 2>&1 && break; sleep 0.5; done
went_back=$(sql -c "SELECT durable.now() < '$before'::timestamptz")
[ "$went_back" = "f" ] || fail "durable.now() went back after the restart (before: $before, now: $(sql -c 'SELECT durable.now()'))"
timed_out=0
for _ in $(seq 1 60); do
    timed_out=$(sql -v ns="$ns" <<< "SELECT count(*) FROM durable.get_history('clock-1', namespace => :'ns') WHERE event_type = 'WorkflowTaskTimedOut'")
    [ "$timed_out" = "1" ] && break
    sleep 0.5
done
[ "$timed_out" = "1" ] || fail "the workflow task leased before the restart did not time out within 30 s after it"
echo "clock_restart: ok (the skipped clock survived an immediate restart; a 2 s lease timed out on time)"
