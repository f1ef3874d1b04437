# Postgres going away: operations fail with EIO instead of hanging, and the
# mount recovers on the next use once Postgres is back, tail -f included.
. "$(dirname "$0")/lib.sh"
if [ -z "${DURABLE_PGDATA:-}" ]; then
    echo "ok - skipped: DURABLE_PGDATA is not set (run under scripts/test.sh)"
    exit 0
fi
M=$WORK/mnt-restart
pg_ctl() { runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$DURABLE_PGDATA" -w "$@" >/dev/null; }
trap 'kill $bg_pids 2>/dev/null; pg_ctl start -l "${DURABLE_PGLOG:-/dev/null}" 2>/dev/null; unmount_fs $M' EXIT
bg_pids=""
mount_fs "$M" "$WORK/restart.log" || exit 1
id="rs-$$"
W=$M/workflows/$id
"$FSX" write "$M/start" "{\"type\": \"T\", \"id\": \"$id\", \"task_queue\": \"rs-$$\"}" >/dev/null
is "$(cat "$W/status")" "RUNNING" "before: status"
"$FSX" poll "$W/history" >"$WORK/rs-poll.out" 2>"$WORK/rs-poll.armed" &
bg_pids="$bg_pids $!"
eventually grep -qs armed "$WORK/rs-poll.armed"

pg_ctl -m immediate restart -l "${DURABLE_PGLOG:-/dev/null}"
is "$(cat "$W/status")" "RUNNING" "after an immediate restart, reads work at once"
is "$("$FSX" write "$W/signals/after-restart" '1')" "OK" "and so do writes"
eventually bash -c "[ -s '$WORK/rs-poll.out' ]" && ok "a poll(2) waiter from before the restart still wakes up" || not_ok "poll across restart"

pg_ctl -m fast stop
is "$("$FSX" read "$W/status")" "EIO" "with Postgres down, a read is EIO"
is "$("$FSX" write "$W/signals/down" '1')" "EIO" "and a write is EIO"
like "$(cat "$M/README")" "durablefs" "local files still work"
pg_ctl start -l "${DURABLE_PGLOG:-/dev/null}"
is "$(cat "$W/status")" "RUNNING" "when it is back, the mount recovers"
is "$(sql "SELECT count(*) FROM durable.get_history('$id') WHERE event_type = 'WorkflowExecutionSignaled'")" "1" "exactly the accepted signal arrived"

[ "$n_fail" -eq 0 ]
