# An immediate restart of PostgreSQL in the middle of 200 workflows of ten
# activities: the worker reconnects by itself and every workflow completes once.
# On a quick machine all 200 can close before the restart lands, so 20 more
# start after it: those complete only through a reconnected worker.
. "$(dirname "$0")/lib.sh"
if [ -z "${DURABLE_PGDATA:-}" ]; then echo "skipped: DURABLE_PGDATA not set (scripts/cluster.sh env)"; exit 0; fi
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
bindir=${DURABLE_PGBIN:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
[ -x "$bindir/pg_ctl" ] || bindir=/usr/lib/postgresql/15/bin
q=restart-$RUN
worker restart --task-queue "$q" --plugin "$EX/hello.so"
sql "SELECT count(durable.start_workflow('$q-' || i, 'Hello10', '$q', '\"x\"', '{\"task_timeout\": 2}')) FROM generate_series(1, 200) i" >/dev/null
check "some complete before the restart" wait_sql "SELECT count(*) > 0 FROM durable.workflows WHERE workflow_id LIKE '$q-%' AND status = 'COMPLETED'" t
as_pg "$bindir/pg_ctl" -D "$DURABLE_PGDATA" -l "$DURABLE_PGLOG" -m immediate -w restart >/dev/null
sql "SELECT count(durable.start_workflow('$q-after-' || i, 'Hello10', '$q', '\"x\"', '{\"task_timeout\": 2}')) FROM generate_series(1, 20) i" >/dev/null
# A poll can commit its leases and die with the server before the worker
# reads them: those tasks are run again only when their lease ends (Hello10's
# activities keep the SDK's 300 s start-to-close), so wait past that.
deadline=$((SECONDS + 420))
until [ "$(sql "SELECT count(*) FROM durable.workflows WHERE workflow_id LIKE '$q-%' AND status = 'COMPLETED'" 2>/dev/null)" = 220 ] || [ $SECONDS -ge $deadline ]; do sleep 0.5; done
check "all 220 complete after the restart" eq "$(sql "SELECT count(*) FROM durable.workflows WHERE workflow_id LIKE '$q-%' AND status = 'COMPLETED'")" 220
check "none closed twice" eq "$(sql "SELECT count(*) FROM (SELECT w.workflow_id FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id LIKE '$q-%' AND h.event_type = 'WorkflowExecutionCompleted' GROUP BY 1 HAVING count(*) > 1) d")" 0
check "each result went through ten activities" eq "$(sql "SELECT count(*) FROM durable.workflows WHERE workflow_id LIKE '$q-%' AND result #>> '{}' = repeat('hello, ', 10) || 'x'")" 220
check "the worker logged its reconnection" wait_until 30 grep -q "re-established" "$LOGDIR/restart.log"
finish
