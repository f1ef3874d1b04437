# schema.sh OLD_VERSION: a fresh install and OLD_VERSION + ALTER EXTENSION
# durable UPDATE must not differ in anything pg_dump shows of the extension
# (tables, column order, indexes, functions, triggers, grants, comments), nor
# in which tables pg_dump keeps the rows of. Prints the difference and fails.
# pg_dump --binary-upgrade is what writes an extension's members one by one
# (a plain dump writes only CREATE EXTENSION); its OID-setting calls and
# dropped columns' placeholders, frozen xids and \restrict keys differ between
# any two installs and are left out.
. "$(dirname "$0")/../backup/lib.sh"
old=${1:?old version}
NAME=upgrade-schema; PORT=$(suite_port 1)
out=$LOGDIR

schema() {
	"$PGBIN/pg_dump" --schema-only --binary-upgrade -d postgres \
		| grep -v -e 'binary_upgrade' -e 'pg\.dropped\.' -e '^-- For binary upgrade' -e '^\\\(un\)\?restrict ' \
		| awk '/^UPDATE pg_catalog.pg_class$/ { skip = 1 } skip { if (/;$/) skip = 0; next } { print }'
	# what the dump keeps rows of, and with which filter
	psql -qXAt -c "SELECT 'extconfig ' || c::regclass || ' ' || coalesce(f, '')
	                 FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS x(c, f)
	                WHERE e.extname = 'durable' ORDER BY 1"
	psql -qXAt -c "SELECT 'version ' || extversion FROM pg_extension WHERE extname = 'durable'"
}

must "a cluster" cluster_start "$NAME" "$PORT"
eval "$(on "$NAME" "$PORT")"
sql "DROP EXTENSION pgtap" >/dev/null
new=$(sql "SELECT default_version FROM pg_available_extensions WHERE name = 'durable'")
schema > "$out/fresh.sql"
sql "DROP EXTENSION durable CASCADE; DROP SCHEMA durable" >/dev/null
must "CREATE EXTENSION durable VERSION '$old'" sql "CREATE EXTENSION durable VERSION '$old'"
must "ALTER EXTENSION durable UPDATE ($old -> $new)" sql "ALTER EXTENSION durable UPDATE"
schema > "$out/upgraded.sql"

same_schema() {
	[ "$(grep -c 'CREATE TABLE durable\.' "$out/fresh.sql")" -gt 0 ] || { echo "  the dump shows no table of durable"; return 1; }
	diff -u --label "fresh $new" --label "$old + ALTER EXTENSION durable UPDATE" "$out/fresh.sql" "$out/upgraded.sql" \
		|| { echo "  (full dumps in $out)"; return 1; }
}
check "fresh $new = $old + UPDATE (pg_dump --schema-only --binary-upgrade, extconfig)" same_schema

# An updated store's task tables (their columns appended by the update, the
# placing triggers replaced) are plain for the direct task inserts
# (pgext/src/task_insert.c): a start's workflow task and an activity task are
# written without their placing trigger (its calls, by track_functions),
# where a shape read as not plain would send every task through the INSERT
# statement for good, slower and saying nothing.
trigger_calls() {   # what to run; prints the placing triggers' calls it made
	sql "BEGIN; SET LOCAL track_functions = 'all'; $1;
	     SELECT 'calls ' || coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions
	      WHERE schemaname = 'durable' AND funcname IN ('_workflow_task_pass', '_activity_task_pass'); COMMIT" | grep '^calls '
}
check "updated: a start writes its workflow task directly" \
	eq "$(trigger_calls "SELECT durable.start_workflow('upgraded-direct', 'W', 'up-direct-q')")" "calls 0"
check "updated: and an activity task" \
	eq "$(trigger_calls "SELECT durable._insert_activity_task(run_id, namespace, workflow_id, 5, 'a1', 'A', 'up-direct-q',
	                         '{}', now(), now(), NULL, NULL, '1 min', NULL, '1 s', 2, '1 min', 0, '{}', NULL, '', 3::smallint, 1)
	                       FROM durable.workflows WHERE workflow_id = 'upgraded-direct'")" "calls 0"
check "updated: the statement calls the trigger (the count is real)" \
	eq "$(trigger_calls "INSERT INTO durable.activity_tasks (run_id, namespace, workflow_id, scheduled_event_id, activity_id,
	                         activity_type, task_queue, input, state, scheduled_at, attempt_scheduled_at, start_to_close_timeout,
	                         retry_initial_interval, retry_backoff_coefficient, retry_maximum_interval, retry_maximum_attempts)
	                       SELECT run_id, namespace, workflow_id, 6, 'a2', 'A', 'up-direct-q', '{}', 'SCHEDULED', now(), now(),
	                              '1 min', '1 s', 2, '1 min', 0 FROM durable.workflows WHERE workflow_id = 'upgraded-direct'")" "calls 1"
finish
