# The "Steps" workflow of tests/plugins/runcache.c, for the tests of kept
# runs and sticky histories (t_run_cache.sh, t_sticky.sh): sourced after
# lib.sh, with q (the task queue) and OPTS (start options) set.
P=$WORKER_DIR/build/tests/runcache.so

start_sql() {   # ID N DELAY_MS [LOCAL]: the statement that starts it
	echo "SELECT durable.start_workflow('$1', 'Steps', '$q', '{\"n\": $2, \"delay_ms\": $3, \"local\": ${4:-false}}', '$OPTS');"
}
start() {   # ID N DELAY_MS [LOCAL]: N activities (local ones if LOCAL is true), DELAY_MS each
	sql "$(start_sql "$@")" >/dev/null
}
# start_together N DELAY_MS ID...: runs of N activities started in one
# transaction: the worker's next poll finds them all ready at once, so they
# are in flight together however slow the machine (started one psql call
# after another, the first could run all its activities before the second
# was there, and a worker holding one run never had to take turns)
start_together() {
	local n=$1 delay=$2 id s=""; shift 2
	for id in "$@"; do s="$s $(start_sql "$id" "$n" "$delay")"; done
	sql "$s" >/dev/null
}
progress() {   # ID: activities completed
	sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
	      WHERE w.workflow_id = '$1' AND h.event_type = 'ActivityTaskCompleted'"
}
at_least() { [ "$(progress "$1")" -ge "$2" ]; }
finish_run() { sql "SELECT durable.signal_workflow('$1', 'finish', 'null')" >/dev/null; }
sum_of() { sql "SELECT result ->> 'sum' FROM durable.workflows WHERE workflow_id = '$1' AND status = 'COMPLETED'"; }
want_sum() { echo $(( $1 * ($1 + 1) / 2 + ${2:-0} )); }
positive() { [ "${1:-0}" -gt 0 ] || { echo "  got '${1:-}', want > 0"; return 1; }; }
# take_turns N WAIT_S: two runs of N activities ($q-evict-1, -2) started in
# one transaction on a worker already polling whose cache holds one run, so
# that each task turns the other out; checks that both run, complete and sum
# right
take_turns() {
	start_together "$1" 0 "$q-evict-1" "$q-evict-2"
	check "both run all their activities" wait_until "$2" at_least "$q-evict-1" "$1"
	check "(the second too)" wait_until "$2" at_least "$q-evict-2" "$1"
	finish_run "$q-evict-1"; finish_run "$q-evict-2"
	check "both complete" wait_closed "$q-evict-1" "$q-evict-2"
	check "the first's sum" eq "$(sum_of "$q-evict-1")" "$(want_sum "$1")"
	check "the second's sum" eq "$(sum_of "$q-evict-2")" "$(want_sum "$1")"
}
