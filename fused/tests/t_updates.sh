# updates/<name>: write the arguments, read the result on the same
# descriptor (as queries do), against a real durable-worker running the
# update test plugin (worker/tests/plugins/updates.c, a cart). Skipped when
# the worker is not built.
. "$(dirname "$0")/lib.sh"
need_worker tests/updates.so "update test plugin"
M=$WORK/mnt-updates
q="updates-fs-$$"
id="cart-fs-$$"
W=$M/workflows/$id
mount_fs "$M" "$WORK/updates.log" || exit 1
trap 'stop_worker; unmount_fs $M' EXIT
sql "SELECT durable.start_workflow('$id', 'Cart', '$q')" >/dev/null

like "$(ls "$W")" "updates" "a workflow folder has updates/"
is "$("$FSX" writeread "$W/updates/add" '{"qty": 1}')" "ETIMEDOUT" "with no worker an update times out, as a query does"
start_worker "$q" updates
is "$(timeout 60 "$FSX" writeread "$W/updates/add" '{"qty": 2}')" "20" "write the arguments, read the handler's result"
is "$(timeout 60 "$FSX" writeread "$W/updates/add" '{"qty": 3}')" "50" "a second update adds to the first"
n=$(history_len "$id")
is "$(timeout 60 "$FSX" writeread "$W/updates/add" '{"qty": 0}')" "EINVAL" "an update the validator rejects gives EINVAL"
like "$(cat "$W/last-error")" "qty must be a positive integer" "and last-error says why"
is "$(history_len "$id")" "$n" "a rejected update leaves no trace in the history"
is "$("$FSX" writeread "$W/updates/add" '{"qty": ')" "EINVAL" "arguments that are not JSON are refused before anything is sent"
is "$(sql "SELECT count(*) FROM durable.get_history('$id') WHERE event_type = 'WorkflowExecutionUpdateCompleted'")" "2" \
    "two updates completed in the history"
sql "SELECT durable.signal_workflow('$id', 'close')" >/dev/null
closed() { [ "$(cat "$W/status")" = COMPLETED ]; }
eventually closed && ok "the cart closes" || not_ok "the cart closes"
is "$(cat "$W/result")" "50" "with the total of its updates"
is "$(timeout 60 "$FSX" writeread "$W/updates/add" '{"qty": 1}')" "EPERM" "a closed workflow takes no update (EPERM)"
[ "$n_fail" -eq 0 ]
