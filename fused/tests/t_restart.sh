# Postgres going away: operations fail with EIO instead of hanging, and the
# mount recovers on the next use once Postgres is back, tail -f included.
. "$(dirname "$0")/lib.sh"
if [ -z "${DURABLE_PGDATA:-}" ]; then
    echo "ok - skipped: DURABLE_PGDATA is not set (run under scripts/test.sh)"
    exit 0
fi
M=$WORK/mnt-restart
pg_ctl() { runuser -u postgres -- "${DURABLE_PGBIN:-/usr/lib/postgresql/15/bin}/pg_ctl" -D "$DURABLE_PGDATA" -w "$@" >/dev/null; }
pg_pids() {
    local pm
    pm=$(head -n 1 "$DURABLE_PGDATA/postmaster.pid" 2>/dev/null) || return 0
    echo "$pm" $(pgrep -P "$pm")
}
stopped=""
trap 'kill $bg_pids 2>/dev/null; [ -n "$stopped" ] && kill -CONT $stopped 2>/dev/null
      pg_ctl start -l "${DURABLE_PGLOG:-/dev/null}" 2>/dev/null; unmount_fs $M; unmount_fs $S' EXIT
S=$WORK/mnt-stuck
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


# a server that stops answering (SIGSTOP) must not hang the mount: the
# daemon gives up after statement_timeout + 5 s, whatever the server does
mount_fs "$S" "$WORK/stuck.log" --query-timeout-ms=500 --statement-timeout-ms=1000 || exit 1
is "$(cat "$S/workflows/$id/status")" "RUNNING" "a mount with short timeouts reads"
stopped=$(pg_pids)
kill -STOP $stopped
# ETIMEDOUT from the statement, or EIO when the kernel's second lookup needs
# a new connection that cannot be made either: both are "fails, not hangs"
got=$("$FSX" read "$S/workflows/$id/status")
[[ $got == ETIMEDOUT || $got == EIO ]] && ok "with Postgres frozen, a read fails ($got) instead of hanging" \
    || not_ok "with Postgres frozen, a read fails instead of hanging: got [$got]"
kill -CONT $stopped
stopped=""
is "$(cat "$S/workflows/$id/status")" "RUNNING" "and the mount works again once it thaws"

[ "$n_fail" -eq 0 ]
