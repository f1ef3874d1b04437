# A daemon that exits while files are still open (a lazy unmount, then a
# signal) frees their handles: the kernel never sends their release. Under
# AddressSanitizer a leaked handle is a LeakSanitizer report in the log,
# which tests/run.sh fails on; this test checks its own log for it too.
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-exit-open
LOG=$WORK/exit-open.log
holder=
trap '[ -n "$holder" ] && kill "$holder" 2>/dev/null; unmount_fs $M' EXIT
sql "SELECT durable.start_workflow('exit-open-$$', 'T', 'exit-open-q')" >/dev/null
mount_fs "$M" "$LOG" || exit 1

# a reader holding a file, a history watch and a folder open
(exec 3<"$M/metrics" 4<"$M/workflows/exit-open-$$/history" 5<"$M/workflows"; sleep 600) &
holder=$!
eventually [ "$(ls -l /proc/$holder/fd 2>/dev/null | grep -c "$M")" -ge 3 ]
is "$(ls -l /proc/$holder/fd | grep -c "$M")" 3 "three files of the mount are held open"

pid=$(cat "$M.pid")
fusermount3 -uz "$M"        # lazy: the mount goes away, the open files stay
kill -TERM "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && { not_ok "the daemon exits on SIGTERM"; kill -KILL "$pid"; } || ok "the daemon exits on SIGTERM"
rm -f "$M.pid"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; holder=
if grep -q "LeakSanitizer" "$LOG"; then
    not_ok "no handle leaked at exit: $(grep -m1 -A6 'Direct leak' "$LOG" | tr '\n' ' ' | cut -c1-300)"
else
    ok "no handle leaked at exit"
fi
echo "# exit-open: $n_pass passed, $n_fail failed"
[ "$n_fail" -eq 0 ]
