# The hand-back among several workers on one queue: two that hand back and
# one with --no-handback share 30 four-step runs while signals arrive (each
# a workflow task outside the steps' chain). Every run completes once with
# every step run once, no workflow task is lost on the way (none times out
# or fails: a task handed back that its worker could not run would time
# out), no worker drops an outcome or skips a task; then the same with one
# of the handing-back workers killed with -9 in the middle: its tasks time
# out (task_timeout 2 s) and the others finish each run exactly once.
# Plugin: tests/plugins/handback.c.
. "$(dirname "$0")/lib.sh"
PLUGIN=$WORKER_DIR/build/tests/handback.so
handed() { local n=0 f; for f in "$@"; do n=$((n + $(grep -c "handed back with the activity outcomes" "$LOGDIR/$f.log" || true))); done; echo "$n"; }
# events of the given types in the runs of workflows named PREFIX-*, but the
# closing tasks refused because a signal came meanwhile (UNHANDLED_COMMAND:
# the workflow must see it first; polled tasks get the same)
events_of() { sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
                    WHERE w.workflow_id LIKE '$1-%' AND h.event_type = ANY ('{$2}')
                      AND h.attributes ->> 'cause' IS DISTINCT FROM 'UNHANDLED_COMMAND'"; }
troubles() { grep -hE "task .* skipped|not run|outcomes dropped|failed:" "$@" || true; }

round() {   # PREFIX QUEUE KILL(0/1)
	local p=$1 q=$2 kill=$3 ids=() i
	DURABLE_LOG=debug worker "$p-a" --task-queue "$q" --plugin "$PLUGIN" --identity "$p-a"
	local A=$LAST_PID
	DURABLE_LOG=debug worker "$p-b" --task-queue "$q" --plugin "$PLUGIN" --identity "$p-b"
	DURABLE_LOG=debug worker "$p-c" --task-queue "$q" --plugin "$PLUGIN" --identity "$p-c" --no-handback
	for i in $(seq 1 30); do ids+=("$p-$i"); done
	sql "SELECT count(durable.start_workflow('$p-' || i, 'HandbackSeq', '$q', '{\"n\": 4}', '{\"task_timeout\": 2}'))
	       FROM generate_series(1, 30) i" >/dev/null
	# signals while the steps run: workflow tasks that race the hand-backs
	for i in $(seq 1 30); do
		# one signal a transaction (a run may close between the listing and its signal)
		sql "DO \$\$ DECLARE id text; BEGIN
		       FOR id IN SELECT w.workflow_id FROM durable.workflows w WHERE w.workflow_id LIKE '$p-%' AND w.status = 'RUNNING' LOOP
		         BEGIN PERFORM durable.signal_workflow(id, 'poke', to_jsonb($i));
		         EXCEPTION WHEN SQLSTATE 'DU003' THEN NULL; END;
		         COMMIT;
		       END LOOP; END \$\$" >/dev/null
		if [ "$kill" = 1 ] && [ "$i" = 3 ]; then kill -9 "$A"; fi
		sleep 0.05
	done
	check "$p: the runs complete" wait_closed "${ids[@]}"
	check "$p: each completed with four steps" eq \
		"$(sql "SELECT count(*) FROM durable.workflows WHERE workflow_id LIKE '$p-%' AND status = 'COMPLETED' AND result ->> 'ran' = '4'")" 30
	local once=0 steps=0
	for i in "${ids[@]}"; do
		[ "$(closes "$i")" = 1 ] && once=$((once + 1))
		[ "$(ledger_count step "$i")" -ge 4 ] && steps=$((steps + 1))
	done
	check "$p: each run closed exactly once" eq "$once" 30
	check "$p: each run's four steps ran" eq "$steps" 30
}

# 1. Three workers, no crash: nothing lost, nothing twice.
round "share-$RUN" "share-$RUN" 0
stop_workers
p=share-$RUN
check "no workflow task timed out or failed" eq "$(events_of "$p" WorkflowTaskTimedOut,WorkflowTaskFailed)" 0
check "no activity timed out or failed" eq "$(events_of "$p" ActivityTaskTimedOut,ActivityTaskFailed)" 0
check "every step ran once (120)" eq "$(grep -c "^step $p-" "$DURABLE_LEDGER")" 120
check "no worker dropped an outcome or skipped a task" eq "$(troubles "$LOGDIR/$p-a.log" "$LOGDIR/$p-b.log" "$LOGDIR/$p-c.log")" ""
n=$(handed "$p-a" "$p-b")
check "workflow tasks were handed back ($n)" test "$n" -gt 0
check "none to the worker that does not hand back" eq "$(handed "$p-c")" 0
started=$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
                WHERE w.workflow_id LIKE '$p-%' AND h.event_type = 'WorkflowTaskStarted'
                  AND h.attributes ->> 'identity' IN ('$p-a', '$p-b')")
check "the histories name the handing-back workers for at least their $n tasks ($started)" test "$started" -ge "$n"

# 2. The same, one handing-back worker killed with -9 in the middle.
round "kill-$RUN" "kill-$RUN" 1
stop_workers
p=kill-$RUN
check "the survivors dropped nothing and skipped nothing" eq "$(troubles "$LOGDIR/$p-b.log" "$LOGDIR/$p-c.log")" ""
check "no workflow task failed" eq "$(events_of "$p" WorkflowTaskFailed)" 0
finish
