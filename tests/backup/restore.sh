# A backup keeps every workflow. Workflows in every state (closed, running
# with a pending activity, sleeping on a 30-day timer, waiting for a signal
# with a buffered event, a schedule) and a load of Hello10 workflows under
# real workers; pg_dump -Fc while the workers run; pg_restore into a fresh
# cluster. There the store is consistent (durable.verify_store), the skipped
# clock is the source's, and every workflow continues and completes with the
# dumped history as the prefix of its history.
. "$(dirname "$0")/lib.sh"
DST=backup-restore; DST_PORT=$(suite_port 1)
ns=backup-$RUN
dump=$LOGDIR/store.dump
HELLO=$EX/hello.so LOAN=$EX/loan_application.so
start() { local opts=${5:-'{}'}; sql "SELECT durable.start_workflow('$1', '$2', '$3', '$4', '$opts', '$ns')" >/dev/null; }
# wait_long QUERY WANT: as wait_sql, with a deadline for a few thousand activities
wait_long() { WAIT_SQL_SECONDS=300 wait_sql "$@"; }
wf() { echo "$1-$RUN"; }

# --- the source: every state ------------------------------------------------------------
sql "SELECT durable.skip_time('1 day')" >/dev/null
worker src-q --namespace "$ns" --task-queue bk-q --plugin "$HELLO"
worker src-pend --namespace "$ns" --task-queue bk-pend --plugin "$HELLO" --no-activities
worker src-loans --namespace "$ns" --task-queue bk-loans --plugin "$LOAN"
worker src-load --namespace "$ns" --task-queue bk-load --plugin "$HELLO"

# a typed search attribute: its values are not dumped, the restore indexes them again
sql "SELECT durable.add_search_attribute('Customer', 'Keyword', '$ns')" >/dev/null
start "$(wf closed)" Hello bk-q '"closed"' '{"search_attributes": {"Customer": "c-9"}}'
start "$(wf pending)" Hello bk-pend '"pending"'
start "$(wf sleeper)" LoanApplication bk-loans '{"applicant": "sam", "amount": 7, "review_days": 30}'
# no worker on bk-buf: a worker that vanished holds the first workflow task (5 min lease),
# so the signal that arrives meanwhile waits in buffered_events
start "$(wf buffered)" LoanApplication bk-buf '{"applicant": "bea", "amount": 3}' '{"task_timeout": 300}'
sql "SELECT count(*) FROM durable.poll_workflow_tasks('bk-buf', 'vanished-worker', 1, NULL, '$ns')" >/dev/null
sql "SELECT durable.signal_workflow('$(wf buffered)', 'review_decision', '{\"approved\": true, \"reviewer\": \"ed\"}', namespace => '$ns')" >/dev/null
sql "SELECT durable.create_schedule('$(wf sched)', '{\"interval\": [{\"every\": 864000}]}',
       '{\"workflow_type\": \"Hello\", \"task_queue\": \"bk-q\", \"input\": \"scheduled\", \"workflow_id\": \"$(wf sched)-run\"}',
       '{}', '$ns')" >/dev/null
sql "SELECT durable.trigger_schedule('$(wf sched)', namespace => '$ns')" >/dev/null

# a service's own login role with a grant scoped to the namespace: the dump
# refers to it, and the restore needs it first (as docs/operations.md says)
svc=bk_svc_$RUN
sql "CREATE ROLE $svc LOGIN" >/dev/null
sql "SELECT durable.grant_task_queue('$svc', 'bk-*', '$ns')" >/dev/null
src_env=(PGHOST="$PGHOST" PGPORT="$PGPORT")
drop_svc() {
	env "${src_env[@]}" psql -qXAt -c "SELECT durable.revoke_task_queue('$svc', 'bk-*', '$ns')" -c "DROP ROLE IF EXISTS $svc" >/dev/null 2>&1
}
trap 'stop_workers; drop_svc; stop_clusters' EXIT
check "source: the closed workflow closed" wait_closed "$(wf closed)"
check "source: the pending activity waits" wait_sql "SELECT count(*) FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$(wf pending)' AND a.state = 'SCHEDULED'" 1
check "source: the sleeper waits on its 30-day timer" wait_sql "SELECT count(*) FROM durable.timers t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$(wf sleeper)' AND t.fire_at > durable.now() + interval '29 days'" 1
check "source: a signal waits in buffered_events" eq "$(sql "SELECT count(*) FROM durable.buffered_events b JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$(wf buffered)'")" 1
check "source: the schedule's run closed" wait_sql "SELECT count(*) FROM durable.workflows WHERE namespace = '$ns' AND workflow_id LIKE '$(wf sched)-run%' AND status = 'COMPLETED'" 1

# --- the dump, taken while workers run a load -------------------------------------------
(for i in $(seq 1 30); do
	sql "SELECT count(durable.start_workflow('load-$RUN-$i-' || j, 'Hello10', 'bk-load', '\"x\"', '{}', '$ns')) FROM generate_series(1, 10) j" >/dev/null 2>&1
	sleep 0.1
done) &
load=$!
must "source: the load is under way" wait_sql "SELECT count(*) >= 50 FROM durable.workflows WHERE namespace = '$ns' AND workflow_id LIKE 'load-%'" t
must "pg_dump -Fc while the workers run" "$PGBIN/pg_dump" -Fc -f "$dump"
# as docs/operations.md says: a database dump grants to roles it does not create
must "pg_dumpall --roles-only" "$PGBIN/pg_dumpall" --roles-only -f "$dump.roles.sql"
wait "$load"
offset_at_dump=$(sql "SELECT extract(epoch FROM durable.clock_offset())::bigint")
# rows of a table in the dump
dumped_rows() { "$PGBIN/pg_restore" -a -n durable -t "$1" -f - "$dump" | sed -n "/^COPY durable.$1 /,/^\\\.\$/p" | grep -c "${2:-}"; }
workflows_in_dump=$(( $(dumped_rows workflows "$ns") ))

# the dumped history (its stored rows, durable.history_rows), as rows a psql
# COPY can load anywhere
dumped_history() {
	"$PGBIN/pg_restore" -a -n durable -t history_rows -f - "$dump" \
		| sed -n '/^COPY durable.history_rows /,/^\\\.$/p' \
		| sed 's/^COPY durable.history_rows /COPY pg_temp.dumped /'
}
# prefix_kept: every dumped event of the namespace's runs is in this store's history, unchanged
prefix_kept() {
	local missing
	missing=$( { echo "CREATE TEMP TABLE dumped (LIKE durable.history_rows);"; dumped_history
		echo "SELECT count(*) FROM pg_temp.dumped d JOIN durable.workflows w USING (run_id)
		       WHERE w.namespace = '$ns' ${1:+AND w.workflow_id = '$1'}
		         AND NOT EXISTS (SELECT 1 FROM durable.history h WHERE h.run_id = d.run_id AND h.event_id = d.event_id
		                            AND h.event_type = durable._event_type(d.event_code, d.attributes_packed)
		                            AND h.attributes = durable._event_attributes(d.run_id, d.event_id, d.attributes_packed));"
		echo "SELECT 'dumped:' || count(*) FROM pg_temp.dumped d JOIN durable.workflows w USING (run_id) WHERE w.namespace = '$ns';"
	} | psql -qXAt -v ON_ERROR_STOP=1)
	case "$missing" in
	0$'\n'dumped:0) echo "  the dump holds no history of namespace $ns"; return 1 ;;
	0$'\n'dumped:*) return 0 ;;
	*) echo "  events of the dump not found unchanged: $missing"; return 1 ;;
	esac
}
check "source: the dumped history is a prefix of the source's" prefix_kept
stop_workers

# --- the restore: a fresh cluster ---------------------------------------------------------
must "a fresh cluster" cluster_start "$DST" "$DST_PORT"
eval "$(on "$DST" "$DST_PORT")"
# as a fresh database: what cluster.sh created goes (a dump creates schema durable itself)
sql "DROP EXTENSION durable CASCADE; DROP SCHEMA durable; DROP EXTENSION pgtap" >/dev/null
# the source's roles first (ALTER/CREATE of roles that exist here already fail harmlessly)
psql -qX -f "$dump.roles.sql" >/dev/null 2>&1
must "pg_restore into it" "$PGBIN/pg_restore" --exit-on-error -d postgres "$dump"
check "restored: the store is consistent (verify_store)" no_problems
check "restored: the service's scoped grant" eq "$(sql "SELECT task_queue FROM durable.list_grants('$svc') WHERE namespace = '$ns'")" "bk-*"
check "restored: the skipped clock is the source's" eq "$(sql "SELECT extract(epoch FROM durable.clock_offset())::bigint")" "$offset_at_dump"
check "restored: every workflow of the dump" eq "$(sql "SELECT count(*) FROM durable.workflows WHERE namespace = '$ns'")" "$workflows_in_dump"
check "restored: the closed workflow and its result" eq "$(sql "SELECT status || ' ' || (result #>> '{}') FROM durable.workflows WHERE workflow_id = '$(wf closed)'")" "COMPLETED hello, closed"
check "restored: the buffered signal" eq "$(sql "SELECT count(*) FROM durable.buffered_events b JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$(wf buffered)'")" 1
check "restored: the schedule" eq "$(sql "SELECT actions_taken FROM durable.schedules WHERE namespace = '$ns' AND schedule_id = '$(wf sched)'")" 1
check "restored: the history is the dump's" prefix_kept
check "restored: a typed search attribute is indexed again, and filters find it" \
	eq "$(sql "SELECT string_agg(workflow_id, ',') FROM durable.list_workflows(query => \$\$Customer = 'c-9'\$\$, namespace => '$ns')")" "$(wf closed)"
check "restored: new workflows get new task ids (sequences restored)" \
	eq "$(sql "SELECT durable.start_workflow('$(wf after)', 'Hello', 'bk-q', '\"after\"', '{}', '$ns') IS NOT NULL")" t

# --- it continues ------------------------------------------------------------------------
for q in bk-q bk-pend bk-loans bk-load bk-buf; do
	plugin=$HELLO; case $q in bk-loans|bk-buf) plugin=$LOAN ;; esac
	worker "dst-$q" --namespace "$ns" --task-queue "$q" --plugin "$plugin"
done
check "restored: the pending activity runs, its workflow completes" wait_closed "$(wf pending)"
# tasks the source's workers held at the dump are offered again when their leases
# run out (activities: 300 s start-to-close; the vanished worker's workflow task: 300 s)
sql "SELECT durable.skip_time('301 seconds')" >/dev/null
check "restored: the load completes" wait_long "SELECT count(*) FROM durable.workflows WHERE namespace = '$ns' AND workflow_id LIKE 'load-%' AND status <> 'COMPLETED'" 0
check "restored: the vanished worker's task times out, the buffered signal is seen" wait_closed "$(wf buffered)"
check "restored: approved by the buffered signal" eq "$(sql "SELECT result ->> 'decision' FROM durable.workflows WHERE workflow_id = '$(wf buffered)'")" approved
check "restored: the sleeper still sleeps" eq "$(status_of "$(wf sleeper)")" RUNNING
check "restored: every dumped event is still the prefix" prefix_kept
sql "SELECT durable.skip_time('30 days')" >/dev/null
check "restored: the 30-day timer fires" wait_closed "$(wf sleeper)"
check "restored: the sleeper expired" eq "$(sql "SELECT result ->> 'decision' FROM durable.workflows WHERE workflow_id = '$(wf sleeper)'")" expired
check "restored: the sleeper's history starts with the dumped one" prefix_kept "$(wf sleeper)"
check "restored: the schedule acts again" wait_sql "SELECT actions_taken > 1 FROM durable.schedules WHERE namespace = '$ns' AND schedule_id = '$(wf sched)'" t
check "restored: every workflow completes" all_closed "$ns"
check "restored: none failed" eq "$(sql "SELECT count(*) FROM durable.workflows WHERE namespace = '$ns' AND status NOT IN ('COMPLETED')")" 0
check "restored: still consistent" no_problems
finish
