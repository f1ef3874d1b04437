# install.sh: CREATE EXTENSION durable outside durable.database is refused
# with a clear error and hint (as pg_cron does), and leaves nothing behind: a
# store there would hold workflows whose timers never fire.
. "$(dirname "$0")/../backup/lib.sh"
db=durable_other_$RUN
sql "CREATE DATABASE $db" >/dev/null
out=$(psql -qXAt -d "$db" -v VERBOSITY=verbose -c "CREATE EXTENSION durable" 2>&1)
check "refused with 55000 naming durable.database" eq "$(echo "$out" | grep -c 'ERROR:  55000: can only create extension durable in database "postgres"')" 1
check "with a hint to set durable.database" eq "$(echo "$out" | grep -c "HINT:  .*set durable.database = '$db'")" 1
check "nothing was created" eq "$(psql -qXAt -d "$db" -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'durable'")" 0
sql "DROP DATABASE $db" >/dev/null
finish
