# The clock is data: a streaming standby (pg_basebackup -R of the test
# cluster) sees the primary's skipped clock, also a skip made after it
# started, and keeps it when promoted: a timer started after a 2-day skip on
# the primary fires on the promoted standby an hour (of skipped time) later. (restore.sh shows the same for pg_dump/pg_restore.)
. "$(dirname "$0")/lib.sh"
if [ -z "${DURABLE_RUN_BASE:-}" ]; then echo "skipped: DURABLE_RUN_BASE not set (scripts/cluster.sh env)"; exit 0; fi
SB=backup-standby; SB_PORT=$(suite_port 2)
sb_dir=$DURABLE_RUN_BASE/$SB
offset() { sql "SELECT (extract(epoch FROM durable.clock_offset()) * 1000000)::bigint"; }
PRIMARY_ENV=$(env | grep -E '^PG(HOST|PORT|USER|DATABASE)=' | sed 's/^/export /')
primary() { eval "$PRIMARY_ENV"; }

sql "SELECT durable.skip_time('1 hour')" >/dev/null
"$TOP/scripts/cluster.sh" stop "$SB" "$SB_PORT"
rm -rf "$sb_dir"; mkdir -p "$sb_dir/sock"
if [ "$(id -u)" -eq 0 ]; then chown -R postgres:postgres "$sb_dir"; chmod 755 "$sb_dir"; fi
must "pg_basebackup -R of the test cluster" as_pg "$PGBIN/pg_basebackup" -D "$sb_dir/data" -R -X stream -c fast
as_pg tee -a "$sb_dir/data/postgresql.conf" >/dev/null <<CONF
# the standby of the backup suite
unix_socket_directories = '$sb_dir/sock'
port = $SB_PORT
CONF
CLUSTERS+=("$SB:$SB_PORT")
must "the standby starts" as_pg "$PGBIN/pg_ctl" -D "$sb_dir/data" -l "$sb_dir/postgres.log" -w -t 60 start >/dev/null

# a 1-hour timer started after a 2-day skip: due at wall clock + 2 days 1 hour
sql "SELECT durable.skip_time('2 days')" >/dev/null
want=$(offset)
q=clock-$RUN; ns=clock-$RUN
sql "SELECT durable.start_workflow('$q', 'W', '$q', NULL, '{}', '$ns')" >/dev/null
sql "SELECT durable.complete_workflow_task((SELECT task_token FROM durable.poll_workflow_tasks('$q', 'tester', 1, NULL, '$ns')),
       '[{\"type\": \"StartTimer\", \"timer_id\": \"hour\", \"start_to_fire_timeout\": 3600}]')" >/dev/null
fire_at=$(sql "SELECT t.fire_at FROM durable.timers t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$q'")

eval "$(on "$SB" "$SB_PORT")"
check "the standby is in recovery" eq "$(sql "SELECT pg_is_in_recovery()")" t
check "the standby sees the primary's skipped clock" wait_sql "SELECT (extract(epoch FROM durable.clock_offset()) * 1000000)::bigint" "$want"
check "durable.now() on the standby is 2 days ahead" eq "$(sql "SELECT durable.now() > now() + interval '2 days'")" t
check "the timer came along" wait_sql "SELECT t.fire_at FROM durable.timers t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$q'" "$fire_at"
check "the standby is promoted" as_pg "$PGBIN/pg_ctl" -D "$sb_dir/data" -w -t 60 promote >/dev/null
check "the promoted standby keeps the clock" eq "$(offset)" "$want"
check "its timer workers start" wait_sql "SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'durable timer worker'" t
sql "SELECT durable.skip_time('3600 seconds')" >/dev/null
check "an hour later on the promoted standby, the timer fires (it was due in skipped time)" \
	wait_sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$q' AND h.event_type = 'TimerFired'" 1
primary
finish
