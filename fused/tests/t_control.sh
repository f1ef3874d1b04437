# ctl verbs, poll(2) on status, and every errno path a write or read can take.
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-control
trap 'stop_pids $bg_pids; unmount_fs $M' EXIT
bg_pids=""
mount_fs "$M" "$WORK/control.log" || exit 1
q="ctl-$$"
start() { "$FSX" write "$M/start" "{\"type\": \"T\", \"id\": \"$1\", \"task_queue\": \"$q\"}"; }

# --- start refusals change nothing
is "$(start "c1-$$")" "OK" "start"
is "$(start "c1-$$")" "EEXIST" "starting a running id again is EEXIST"
like "$(cat "$M/last-error")" "already started" "root last-error says why"
is "$("$FSX" write "$M/start" '{"type": "T", "id": "x"')" "EINVAL" "truncated JSON is EINVAL"
is "$("$FSX" write "$M/start" "{\"type\": \"T\", \"id\": \"bad-$$\", \"task_queue\": \"$q\", \"colour\": 1}")" "EINVAL" "an unknown key is EINVAL"
is "$("$FSX" write "$M/start" "{\"type\": \"T\", \"id\": \"bad-$$\"}")" "EINVAL" "a missing task_queue is EINVAL"
is "$("$FSX" write "$M/start" "{\"type\": \"T\", \"id\": \"bad-$$\", \"task_queue\": \"$q\", \"options\": {\"id_reuse_policy\": \"NOPE\"}}")" "EINVAL" "bad options are EINVAL (the store's check)"
is "$("$FSX" open "$M/workflows/bad-$$" r)" "ENOENT" "and none of them started anything"
long=$(head -c 300 /dev/zero | tr '\0' x)
is "$("$FSX" write "$M/start" "{\"type\": \"T\", \"id\": \"$long\", \"task_queue\": \"$q\"}")" "EFBIG" "an id over 255 bytes is EFBIG"

W=$M/workflows/c1-$$
# --- reads and writes that the file's mode refuses
is "$("$FSX" open "$W/status" w)" "EACCES" "status is read-only"
is "$("$FSX" open "$W/ctl" r)" "EACCES" "ctl is write-only"
is "$("$FSX" open "$W/signals/x" r)" "EACCES" "signals are write-only"
is "$("$FSX" open "$W/history" w)" "EACCES" "history is read-only"
is "$("$FSX" open "$M/workflows/nope-$$/status" r)" "ENOENT" "an unknown workflow is ENOENT"
is "$("$FSX" write "$M/workflows/nope-$$/signals/x" '{}')" "ENOENT" "signalling an unknown workflow is ENOENT"
is "$("$FSX" open "$M/tasks/not-a-token" r)" "ENOENT" "a malformed task token is ENOENT"
is "$("$FSX" write "$M/tasks/a999999999.1/result" '{}')" "ESTALE" "an unknown task token is ESTALE"
is "$("$FSX" open "$W/runs/00000000-0000-0000-0000-000000000000" r)" "ENOENT" "an unknown run is ENOENT"
is "$("$FSX" open "$M/by-status/SLEEPING" r)" "ENOENT" "an unknown status is ENOENT"

# --- signal payloads
is "$("$FSX" write "$W/signals/s" '{"a": ')" "EINVAL" "a signal with bad JSON is EINVAL"
is "$("$FSX" write "$W/signals/s" '42')" "OK" "any JSON value is a signal input"
{ printf '"'; head -c 3000000 /dev/zero | tr '\0' a; printf '"'; } >"$WORK/big.json"
is "$("$FSX" copy "$WORK/big.json" "$W/signals/s")" "EFBIG" "a 3 MB signal (split by the kernel) is EFBIG"
{ printf '{"pad": "'; head -c 300000 /dev/zero | tr '\0' b; printf '"}'; } >"$WORK/mid.json"
is "$("$FSX" copy "$WORK/mid.json" "$W/signals/mid")" "OK" "a 300 kB signal arrives whole across split writes"
is "$(sql "SELECT length(attributes -> 'input' ->> 'pad') FROM durable.get_history('c1-$$') WHERE attributes ->> 'signal_name' = 'mid'")" "300000" "all of it"
is "$(grep -c WorkflowExecutionSignaled "$W/history")" "2" "refused signals left no trace"

# --- ctl
: >"$W/ctl" && ok "truncating ctl (: >) succeeds and does nothing" || not_ok "truncate ctl"
is "$("$FSX" write "$W/ctl" 'explode')" "EINVAL" "an unknown verb is EINVAL"
like "$(cat "$W/last-error")" 'unknown verb "explode"' "last-error names it"
is "$("$FSX" write "$W/ctl" 'reset x')" "EINVAL" "reset needs a numeric event id"
is "$("$FSX" write "$W/ctl" $'cancel\nexplode\n')" "EINVAL" "a bad verb anywhere refuses the whole write"
is "$(grep -c CancelRequested "$W/history")" "0" "so nothing was canceled"
"$FSX" poll "$W/status" >"$WORK/poll.out" 2>"$WORK/poll.armed" &
bg_pids="$bg_pids $!"
eventually grep -qs armed "$WORK/poll.armed"
is "$("$FSX" write "$W/ctl" $'cancel please stop\n')" "OK" "cancel"
like "$(grep CancelRequested "$W/history")" '"cause": "please stop"' "the history has the cancel request and its reason"
is "$(cat "$W/status")" "RUNNING" "cancel is cooperative: still RUNNING"
echo 'terminate operator said so' >"$W/ctl" && ok "echo terminate > ctl" || not_ok "echo terminate > ctl"
is "$(cat "$W/status")" "TERMINATED" "terminate closes it at once"
like "$(grep WorkflowExecutionTerminated "$W/history")" '"reason": "operator said so"' "with the reason"
eventually bash -c "[ -s '$WORK/poll.out' ]" && ok "poll(2) on status returned after the change" || not_ok "poll on status"
like "$(cat "$WORK/poll.out")" "POLLIN" "with POLLIN"
is "$("$FSX" write "$W/ctl" 'cancel')" "EPERM" "cancel of a closed workflow is EPERM"
is "$("$FSX" write "$W/ctl" 'terminate again')" "EPERM" "terminate of a closed workflow is EPERM"

# --- poll on history wakes on a signal to another workflow's events
is "$(start "c2-$$")" "OK" "start another"
W2=$M/workflows/c2-$$
"$FSX" poll "$W2/history" >"$WORK/poll2.out" 2>"$WORK/poll2.armed" &
bg_pids="$bg_pids $!"
eventually grep -qs armed "$WORK/poll2.armed"
echo '"ping"' >"$W2/signals/ping"
eventually bash -c "[ -s '$WORK/poll2.out' ]" && ok "poll(2) on history returned after a signal" || not_ok "poll on history"

# --- a change made elsewhere (a worker completing the run) wakes poll(2)
# through the store's durable.history notification, not through our writes
q3="ctl3-$$"
"$FSX" write "$M/start" "{\"type\": \"T\", \"id\": \"c3-$$\", \"task_queue\": \"$q3\"}" >/dev/null
W3=$M/workflows/c3-$$
"$FSX" poll "$W3/status" >"$WORK/poll3.out" 2>"$WORK/poll3.armed" &
bg_pids="$bg_pids $!"
eventually grep -qs armed "$WORK/poll3.armed"
workflow_task "$q3" '[{"type": "CompleteWorkflowExecution", "result": 1}]'
eventually bash -c "[ -s '$WORK/poll3.out' ]" && ok "poll(2) on status wakes when a worker completes the run" || not_ok "poll on an external change"
is "$(cat "$W3/status")" "COMPLETED" "and status then reads COMPLETED"

[ "$n_fail" -eq 0 ]
