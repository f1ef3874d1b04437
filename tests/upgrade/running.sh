# running.sh OLD_VERSION COMMIT: an operator's upgrade with workflows in
# flight. The old release (its library, built from COMMIT, in a private copy of
# PostgreSQL of its own, and its SQL) runs workflows to the middle: a pending
# activity, a loan waiting for a signal on a 3-day timer, Hello10s under way,
# a schedule, a skipped clock. Then the operator's steps (docs/operations.md,
# "Upgrading"): stop the workers, restart the server on the new library — it
# keeps serving the old SQL but fires nothing, and says once what to run —,
# ALTER EXTENSION durable UPDATE, start the new workers. Every workflow
# completes, the clock is where it was, and the store is consistent. And a
# worker of this release left running through it all (an operator who did
# not restart it) takes the old paths the old store needs, then the new ones
# back on its own once the store is updated (worker/src/old_store.c): its
# wait for queries holds no snapshot again.
. "$(dirname "$0")/../backup/lib.sh"
old=${1:?old version}; commit=${2:?commit of the old release}
NAME=upgrade-running; PORT=$(suite_port 2)
NEW_PG_CONFIG=$PG_CONFIG
OLD_PG=$DURABLE_RUN_BASE/pg-$old
ns=upgrade-$RUN
HELLO=$EX/hello.so LOAN=$EX/loan_application.so
wf() { echo "$1-$RUN"; }
log() { echo "$DURABLE_RUN_BASE/$NAME/postgres.log"; }

# the old release's library, built from its commit into its own copy of PostgreSQL
build_old() {
	local src=$LOGDIR/src-$old
	mkdir -p "$src"
	git -C "$TOP" archive "$commit" pgext sql | tar -x -C "$src" || return 1
	OLD_PG_CONFIG=$("$TOP/scripts/pginst.sh" "$OLD_PG") || return 1
	# built against the system's headers (as make all does), installed into the copy
	{ make -s -C "$src/pgext" PG_CONFIG=pg_config && make -s -C "$src/pgext" install PG_CONFIG="$OLD_PG_CONFIG"; } >"$LOGDIR/build-$old.log" 2>&1 \
		|| { tail -n 5 "$LOGDIR/build-$old.log"; return 1; }
}
if ! git -C "$TOP" cat-file -e "$commit^{commit}" 2>/dev/null; then
	echo "skipped: commit $commit of release $old is not in this clone (a shallow checkout?)"; exit 0
fi
# a cluster left by an interrupted run would hold the old library
"$TOP/scripts/cluster.sh" stop "$NAME" "$PORT"
must "build the $old library from $commit" build_old

# --- the old release, workflows to the middle ----------------------------------------
export PG_CONFIG=$OLD_PG_CONFIG
must "a cluster on the $old library" cluster_start "$NAME" "$PORT"
eval "$(on "$NAME" "$PORT")"
sql "DROP EXTENSION durable CASCADE; DROP SCHEMA durable" >/dev/null
must "CREATE EXTENSION durable VERSION '$old'" sql "CREATE EXTENSION durable VERSION '$old'"
sql "SELECT durable.skip_time('1 day')" >/dev/null
worker old-q --namespace "$ns" --task-queue up-q --plugin "$HELLO"
worker old-pend --namespace "$ns" --task-queue up-pend --plugin "$HELLO" --no-activities
worker old-loans --namespace "$ns" --task-queue up-loans --plugin "$LOAN"
start() { sql "SELECT durable.start_workflow('$1', '$2', '$3', '$4', '{}', '$ns')" >/dev/null; }
# the kept worker: out of PIDS, so that the operator's stop leaves it running
PGAPPNAME=up-kept-$RUN worker old-kept --namespace "$ns" --task-queue up-kept --plugin "$LOAN"
KEPT=$LAST_PID
unset 'PIDS[-1]'
trap 'kill -TERM $KEPT 2>/dev/null; stop_workers; stop_clusters' EXIT
start "$(wf kept)" LoanApplication up-kept '{"applicant": "kim", "amount": 7, "review_days": 3}'
start "$(wf closed)" Hello up-q '"closed"'
start "$(wf pending)" Hello up-pend '"pending"'
start "$(wf loan)" LoanApplication up-loans '{"applicant": "uma", "amount": 5, "review_days": 3}'
start "$(wf late)" LoanApplication up-loans '{"applicant": "vic", "amount": 6, "review_days": 2}'
sql "SELECT count(durable.start_workflow('$(wf load)-' || i, 'Hello10', 'up-q', '\"x\"', '{}', '$ns')) FROM generate_series(1, 100) i" >/dev/null
sql "SELECT durable.create_schedule('$(wf sched)', '{\"interval\": [{\"every\": 86400}]}',
       '{\"workflow_type\": \"Hello\", \"task_queue\": \"up-q\", \"input\": \"scheduled\"}', '{}', '$ns')" >/dev/null
check "old: a workflow closes" wait_closed "$(wf closed)"
check "old: the loans wait for review" wait_sql "SELECT count(*) FROM durable.timers t JOIN durable.workflows w USING (run_id) WHERE w.namespace = '$ns' AND w.workflow_id IN ('$(wf loan)', '$(wf late)')" 2
# this worker waits for queries with a procedure 0.1 lacks: it says so and long-polls as before
check "old: the worker finds no wait_for_query_tasks and long-polls" \
	wait_until 60 grep -q "the store has no wait_for_query_tasks" "$LOGDIR/old-loans.log"
check "old: the kept worker long-polls too" \
	wait_until 60 grep -q "the store has no wait_for_query_tasks" "$LOGDIR/old-kept.log"
# (it answers no query here: 0.1's poll_query_tasks names its columns otherwise)
check "old: the activity is pending" wait_sql "SELECT count(*) FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$(wf pending)'" 1
check "old: the load is under way" wait_sql "SELECT count(*) >= 20 FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.namespace = '$ns' AND w.workflow_id LIKE '$(wf load)-%' AND h.event_type = 'ActivityTaskCompleted'" t
clock_before=$(sql "SELECT extract(epoch FROM durable.clock_offset())::bigint")
stop_workers
check "old: some of the load is still running" eq "$(sql "SELECT count(*) > 0 FROM durable.workflows WHERE namespace = '$ns' AND workflow_id LIKE '$(wf load)-%' AND status = 'RUNNING'")" t

# --- the new library under the old SQL -----------------------------------------------
"$TOP/scripts/cluster.sh" stop "$NAME" "$PORT"
export PG_CONFIG=$NEW_PG_CONFIG
must "the server restarts on the new library" "$TOP/scripts/cluster.sh" start "$NAME" "$PORT"
waiting_said() {
	local deadline=$((SECONDS + 60)) n
	until grep -q "durable $old is installed but the library is .*: run ALTER EXTENSION durable UPDATE" "$(log)"; do
		[ $SECONDS -ge $deadline ] && { echo "  not in $(log)"; return 1; }
		sleep 0.5
	done
	sleep 11   # past durable.tick_max_wait (10 s): the workers looked again, and said nothing more
	n=$(grep -c "durable $old is installed but the library is" "$(log)")
	[ "$n" = 1 ] || { echo "  said $n times"; return 1; }
}
check "the timer workers wait and say once: run ALTER EXTENSION durable UPDATE" waiting_said
check "the old SQL still reads its clock on the new library" eq "$(sql "SELECT extract(epoch FROM durable.clock_offset())::bigint")" "$clock_before"
refusal=$(psql -qXAt -c "SELECT durable.skip_time('1 second')" 2>&1)
check "skip_time on the old SQL refuses with the next step" eq "$(echo "$refusal" | grep -c 'run ALTER EXTENSION durable UPDATE')" 1

# --- the update --------------------------------------------------------------------------
# the history as the old release shows it, to compare once its rows are converted (74_history.sql)
sql "CREATE TABLE public.history_before AS
     SELECT run_id, event_id, event_type, event_time, attributes::text AS attributes,
            pg_column_size(attributes) AS size FROM durable.history" >/dev/null
must "ALTER EXTENSION durable UPDATE" sql "ALTER EXTENSION durable UPDATE"
check "the converted history reads as before, event for event" eq "$(sql "
    SELECT count(*) || ' events, ' || count(*) FILTER (WHERE h.run_id IS NULL) || ' differ'
      FROM public.history_before b
      LEFT JOIN durable.history h ON (h.run_id, h.event_id, h.event_type, h.event_time, h.attributes::text)
                                   = (b.run_id, b.event_id, b.event_type, b.event_time, b.attributes)")" \
	"$(sql "SELECT count(*) FROM public.history_before") events, 0 differ"
check "its rows are stored packed (less than half the attributes' size)" eq "$(sql "
    SELECT sum(pg_column_size(r.attributes_packed)) * 2 < sum(b.size)
      FROM public.history_before b JOIN durable.history_rows r USING (run_id, event_id)")" t
new=$(sql "SELECT extversion FROM pg_extension WHERE extname = 'durable'")
check "the clock carried over into durable.clock" eq "$(sql "SELECT extract(epoch FROM durable.clock_offset())::bigint")" "$clock_before"
check "the store is consistent after the update" no_problems
# the kept worker reconnected after the restart; within a backstop tick (5 s) it sees the update
check "new: the kept worker takes the wait for queries back" \
	wait_until 60 grep -q "the store has wait_for_query_tasks now (durable $new)" "$LOGDIR/old-kept.log"
check "new: and names itself in its polls (sticky histories) again" \
	grep -q "the store has workflow_task_history now (durable $new)" "$LOGDIR/old-kept.log"
check "new: its query connection waits with the procedure" wait_sql "SELECT count(*) > 0 FROM pg_stat_activity
    WHERE application_name = 'up-kept-$RUN' AND query LIKE 'CALL durable.wait_for_query_tasks%'" t
check "new: and holds no snapshot while it waits" eq "$(sql "SELECT count(*) FROM pg_stat_activity
    WHERE application_name = 'up-kept-$RUN' AND wait_event = 'Extension' AND backend_xmin IS NOT NULL")" 0
kept_waits() { [ "$(sql "SELECT durable.query_workflow('$(wf kept)', 'status', namespace => '$ns', timeout_ms => 30000) ->> 'stage'")" = awaiting_review ]; }
check "new: the kept worker answers a query: its loan waits for review" wait_until 60 kept_waits
PIDS+=("$KEPT")
worker new-q --namespace "$ns" --task-queue up-q --plugin "$HELLO"
worker new-pend --namespace "$ns" --task-queue up-pend --plugin "$HELLO"
worker new-loans --namespace "$ns" --task-queue up-loans --plugin "$LOAN"
check "new: the pending activity runs" wait_closed "$(wf pending)"
check "new: the load completes" wait_sql "SELECT count(*) FROM durable.workflows WHERE namespace = '$ns' AND workflow_id LIKE '$(wf load)-%' AND status = 'COMPLETED'" 100
sql "SELECT durable.signal_workflow('$(wf loan)', 'review_decision', '{\"approved\": true, \"reviewer\": \"ops\"}', namespace => '$ns')" >/dev/null
sql "SELECT durable.signal_workflow('$(wf kept)', 'review_decision', '{\"approved\": true, \"reviewer\": \"ops\"}', namespace => '$ns')" >/dev/null
check "new: the kept worker's loan completes" wait_closed "$(wf kept)"
check "new: the signaled loan completes" wait_closed "$(wf loan)"
sql "SELECT durable.skip_time('2 days 1 second')" >/dev/null
check "new: the 2-day timer set on $old fires after the update" wait_closed "$(wf late)"
check "new: it expired" eq "$(sql "SELECT result ->> 'decision' FROM durable.workflows WHERE workflow_id = '$(wf late)'")" expired
check "new: the schedule set on $old acts" wait_sql "SELECT count(*) > 0 FROM durable.workflows WHERE namespace = '$ns' AND search_attributes ->> 'DurableScheduledById' = '$(wf sched)' AND status = 'COMPLETED'" t
check "new: every workflow completes" all_closed "$ns"
check "new: none failed" eq "$(sql "SELECT count(*) FROM durable.workflows WHERE namespace = '$ns' AND status <> 'COMPLETED'")" 0
check "new: still consistent" no_problems
check "new: $new runs" eq "$new" "$(sql "SELECT default_version FROM pg_available_extensions WHERE name = 'durable'")"
finish
