#!/usr/bin/env bash
# Timer workers in a read-only server wait quietly and fire once writable:
#  1. a primary switched read-only (default_transaction_read_only, as Patroni
#     does while demoting one): a due timer waits, the log says so once and
#     shows no error loop; switched back, the timer fires;
#  2. a streaming standby (pg_basebackup -R, unix sockets only): no timer
#     worker errors there; promoted, it fires the timers that came due.
# Runs under $DURABLE_RUN_BASE with clusters of its own (scripts/test.sh).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
: "${DURABLE_RUN_BASE:?run me through scripts/test.sh}"
bin=${DURABLE_PGBIN:-$($PG_CONFIG --bindir)}
. "$top/tests/lib.sh"

p_port=$(suite_port 1)
pcluster() { scripts/cluster.sh "$1" ro-primary "$p_port"; }
pcluster stop; rm -rf "$DURABLE_RUN_BASE/ro-primary" "$DURABLE_RUN_BASE/ro-standby"
pcluster start || { echo "readonly: primary did not start"; exit 1; }
p_env=$(pcluster env)
p_sock=$(echo "$p_env" | sed -n "s/.*PGHOST='\([^']*\)'.*/\1/p")
p_log=$(echo "$p_env" | sed -n "s/.*DURABLE_PGLOG='\([^']*\)'.*/\1/p")
s_dir="$DURABLE_RUN_BASE/ro-standby"
s_port=$(suite_port 2)
s_sock="$s_dir/sock" s_data="$s_dir/data" s_log="$s_dir/postgres.log"
cleanup() {
    as_pg "$bin/pg_ctl" -D "$s_data" -m immediate -w stop >/dev/null 2>&1
    pcluster stop
}
trap cleanup EXIT
psql_p() { psql -h "$p_sock" -p "$p_port" -U postgres -d postgres -qXAt -v ON_ERROR_STOP=1 "$@"; }
psql_s() { psql -h "$s_sock" -p "$s_port" -U postgres -d postgres -qXAt -v ON_ERROR_STOP=1 "$@"; }
# A workflow asleep on a one-hour timer (on a task queue of its own): its
# timer fires after skip_time('2 hours').
sleeper() {   # psql-function id
    "$1" -c "SELECT durable.start_workflow('$2', 'W', '$2')" >/dev/null
    "$1" -c "SELECT durable.complete_workflow_task((SELECT task_token FROM durable.poll_workflow_tasks('$2', 't')),
             '[{\"type\": \"StartTimer\", \"timer_id\": \"t\", \"start_to_fire_timeout\": \"1 hour\"}]')" >/dev/null
}
fired() { [ "$("$1" -c "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
                          WHERE w.workflow_id = '$2' AND h.event_type = 'TimerFired'")" = 1 ]; }
worker_errors() { grep -c 'durable timer worker.*\(ERROR\|firing failed\)\|ERROR:.*read-only' "$1"; }

# 1. A primary switched read-only -------------------------------------------------------
sleeper psql_p ro-1
psql_p -c "ALTER SYSTEM SET default_transaction_read_only = on" -c "SELECT pg_reload_conf()" >/dev/null
check "the workers say once that the server is read-only" \
    "eventually 20 '[ \$(grep -c \"the server is read-only, waiting\" \"$p_log\") -ge 1 ]'"
psql_p -c "SET default_transaction_read_only = off" -c "SELECT durable.skip_time('2 hours')" >/dev/null
sleep 3
check "a timer due while read-only does not fire" "! fired psql_p ro-1"
check "and the log shows no error loop" "[ \$(worker_errors \"$p_log\") -eq 0 ]"
check "nor a second 'read-only' line per worker" \
    "[ \$(grep -c 'the server is read-only, waiting' \"$p_log\") -le \$(grep -c 'durable timer worker [0-9]* started' \"$p_log\") ]"
psql_p -c "ALTER SYSTEM RESET default_transaction_read_only" -c "SELECT pg_reload_conf()" >/dev/null
check "writable again, the due timer fires" "eventually 30 fired psql_p ro-1"
check "and the workers said so" "grep -q 'the server is writable again' \"$p_log\""

# 2. A streaming standby, promoted --------------------------------------------------------
sleeper psql_p ro-2
mkdir -p "$s_dir"; [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$s_dir"
as_pg mkdir -p "$s_sock"
as_pg "$bin/pg_basebackup" -h "$p_sock" -p "$p_port" -U postgres -D "$s_data" -R -X stream -c fast \
    || { nok "pg_basebackup"; exit 1; }
as_pg tee -a "$s_data/postgresql.conf" >/dev/null <<CONF
port = $s_port
unix_socket_directories = '$s_sock'
CONF
as_pg "$bin/pg_ctl" -D "$s_data" -l "$s_log" -w -t 60 start >/dev/null || { nok "standby start"; cat "$s_log"; exit 1; }
check "the standby is in recovery" "[ \"\$(psql_s -c 'SELECT pg_is_in_recovery()')\" = t ]"
# the primary's time moves on; the standby replays it (the clock is a WAL-logged row)
psql_p -c "SELECT durable.skip_time('2 hours')" >/dev/null
check "the primary fires the timer" "eventually 30 fired psql_p ro-2"
psql_p -c "SELECT durable.start_workflow('ro-3', 'W', 'ro-q')" >/dev/null
sleeper psql_p ro-4
check "the standby replays it all" "eventually 30 '[ \"\$(psql_s -c \"SELECT count(*) FROM durable.workflows WHERE workflow_id = '\''ro-4'\''\")\" = 1 ]'"
sleep 3
check "no timer worker error on the standby" "[ \$(worker_errors \"$s_log\") -eq 0 ]"
check "no timer worker runs on the standby" "! grep -q 'durable timer worker [0-9]* started' \"$s_log\""
pcluster stop
as_pg "$bin/pg_ctl" -D "$s_data" -w promote >/dev/null || nok "promote"
check "promoted, its timer workers start" "eventually 30 'grep -q \"durable timer worker [0-9]* started\" \"$s_log\"'"
psql_s -c "SELECT durable.skip_time('2 hours')" >/dev/null
check "and fire the timer that came due" "eventually 30 fired psql_s ro-4"
check "with no error in its log" "[ \$(worker_errors \"$s_log\") -eq 0 ]"

summary readonly
