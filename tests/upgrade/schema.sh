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
NAME=upgrade-schema; PORT=56111
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
finish
