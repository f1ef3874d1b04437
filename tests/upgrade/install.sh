# install.sh: CREATE EXTENSION durable outside durable.database is refused
# with a clear error and hint (as pg_cron does), and leaves nothing behind: a
# store there would hold workflows whose timers never fire. And make install
# refuses to replace the durable.so a running server loaded.
. "$(dirname "$0")/../backup/lib.sh"
db=durable_other_$RUN
sql "CREATE DATABASE $db" >/dev/null
out=$(psql -qXAt -d "$db" -v VERBOSITY=verbose -c "CREATE EXTENSION durable" 2>&1)
check "refused with 55000 naming durable.database" eq "$(echo "$out" | grep -c 'ERROR:  55000: can only create extension durable in database "postgres"')" 1
check "with a hint to set durable.database" eq "$(echo "$out" | grep -c "HINT:  .*set durable.database = '$db'")" 1
check "nothing was created" eq "$(psql -qXAt -d "$db" -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'durable'")" 0
sql "DROP DATABASE $db" >/dev/null

# make install never replaces durable.so under a running server that loaded it
lib="$("$PG_CONFIG" --pkglibdir)/durable.so"
before=$(stat -c '%i %Y' "$lib")
out=$(make -s -C "$TOP/pgext" install PG_CONFIG="$PG_CONFIG" 2>&1)
check "make install refuses while the test cluster has durable.so loaded" eq "$?" 2
check "naming the cluster's data directory" eq "$(echo "$out" | grep -c "refusing to replace $lib: the cluster in $(readlink -f "$DURABLE_PGDATA")")" 1
check "durable.so was not touched" eq "$(stat -c '%i %Y' "$lib")" "$before"
finish
