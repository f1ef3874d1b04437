# Helpers for t_cancel_*.sh, over tests/plugins/cancel.c, whose workflows
# record the canceled future's status in a SideEffect marker the moment it
# resolves: comparing event ids then shows whether the workflow moved on
# before or after the activity or child really ended. Sourced after lib.sh.
ECANCELED=-10003
EFAILED=-10002
ETIMEDOUT=-10004
CANCEL_PLUGIN=$WORKER_DIR/build/tests/cancel.so

start() { sql "SELECT durable.start_workflow('$1', '$2', '$q', '$3')" >/dev/null; }
signal() { sql "SELECT durable.signal_workflow('$1', '$2')" >/dev/null; }
# ev_id ID TYPE: the first event of TYPE in ID's history ("" if none)
ev_id() {
	sql "SELECT min(h.event_id) FROM durable.history h JOIN durable.workflows w USING (run_id)
	      WHERE w.workflow_id = '$1' AND h.event_type = '$2'"
}
has_event() { [ -n "$(ev_id "$1" "$2")" ]; }
no_event() { [ -z "$(ev_id "$1" "$2")" ] || { echo "  $1 has $2"; return 1; }; }
wait_event() { wait_sql "SELECT count(*) > 0 FROM durable.history h JOIN durable.workflows w USING (run_id)
                         WHERE w.workflow_id = '$1' AND h.event_type = '$2'" t; }
# the status the workflow recorded when the canceled future resolved
marker() {
	sql "SELECT h.attributes -> 'details' ->> 'value' FROM durable.history h JOIN durable.workflows w USING (run_id)
	      WHERE w.workflow_id = '$1' AND h.event_type = 'MarkerRecorded'"
}
wait_marker() { wait_event "$1" MarkerRecorded; }
wait_ledger() {
	local deadline=$((SECONDS + 60))
	until grep -q "^$1\$" "$DURABLE_LEDGER" 2>/dev/null; do
		[ $SECONDS -ge $deadline ] && { echo "  no ledger line '$1'"; return 1; }
		sleep 0.1
	done
}
kid_runs() { wait_sql "SELECT status FROM durable.workflows WHERE workflow_id = '$1-kid'" RUNNING; }
before() { [ -n "$1" ] && [ -n "$2" ] && [ "$1" -lt "$2" ] || { echo "  event '$1' is not before '$2'"; return 1; }; }

# cancel_at_stop LABEL ID WORKFLOW INPUT RUNS...: starts the workflow, checks
# that the activity or child runs (the command RUNS...), signals "stop" and
# checks that the canceled future resolves.
cancel_at_stop() {
	local label=$1 id=$2 wf=$3 input=$4
	shift 4
	start "$id" "$wf" "$input"
	check "$label: it runs" "$@"
	signal "$id" stop
	check "$label: the future resolves" wait_marker "$id"
}

# finish_wf LABEL ID: signals "finish" and checks that the workflow closes.
finish_wf() {
	signal "$2" finish
	check "$1: closes" wait_closed "$2"
}
