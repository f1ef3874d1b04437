# The replay check before a deploy: the history of a run of version 1,
# saved as NDJSON, replayed by durable-worker --replay against each new
# build. A compatible change (only what the history has not reached yet)
# and a get_version-guarded one pass; an unguarded one fails naming the
# event, as the live workflow task would; the guarded build then really
# finishes the run that the check passed.
. "$(dirname "$0")/lib.sh"
P=$WORKER_DIR/build/tests
q=replay-$RUN
worker v1 --task-queue "$q" --plugin "$P/versioned-v1.so"; P1=$LAST_PID
sql "SELECT durable.start_workflow('$q', 'TwoSteps', '$q', '7', '{\"task_timeout\": 2}')" >/dev/null
check "version 1 reaches its timer" wait_sql "SELECT count(*) FROM durable.timers t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$q'" 1
stop_worker "$P1"

H=$LOGDIR/histories; mkdir -p "$H"
run=$(sql "SELECT run_id FROM durable.workflows WHERE workflow_id = '$q'")
sql "SELECT row_to_json(h) FROM durable.get_history('$q') h" >"$H/$run.ndjson"
check "the saved history has the timer" grep -q TimerStarted "$H/$run.ndjson"

replay() { "$BIN" --replay "$1" --plugin "$P/versioned-v$2.so" >"$LOGDIR/replay.out" 2>"$LOGDIR/replay.err"; echo $?; }
check "version 1 replays its own history" eq "$(replay "$H/$run.ndjson" 1)" 0
check "a change past the timer is compatible" eq "$(replay "$H/$run.ndjson" 3)" 0
check "a change behind get_version is compatible" eq "$(replay "$H/$run.ndjson" 4)" 0
check "an unguarded change is not" eq "$(replay "$H/$run.ndjson" 2)" 1
check "naming the event and both activities ($(cat "$LOGDIR/replay.err"))" \
	grep -q "NON_DETERMINISTIC_ERROR: event 5: .*prepare.*prepare_v2" "$LOGDIR/replay.err"
check "on one line" eq "$(wc -l <"$LOGDIR/replay.err")" 1

cp "$H/$run.ndjson" "$H/copy.ndjson"
check "a folder replays every file" eq "$(replay "$H" 4)" 0
check "and counts them" grep -q "replayed 2 histories: 2 ok" "$LOGDIR/replay.out"
check "a folder with one bad build fails" eq "$(replay "$H" 2)" 1
echo 'not json' >"$H/zz-broken.ndjson"
check "a file that is not a history is refused (exit 2)" eq "$(replay "$H" 1)" 2
check "with the line that is wrong" grep -q "zz-broken.ndjson:1: not JSON" "$LOGDIR/replay.err"
check "a missing path is refused (exit 2)" eq "$(replay "$H/nothing" 1)" 2
"$BIN" --replay "$H" >/dev/null 2>&1
check "--replay without a plugin is a usage error" eq $? 2

# The check agreed with what a deploy of version 4 does.
worker v4 --task-queue "$q" --plugin "$P/versioned-v4.so"
sql "SELECT durable.skip_time('61 seconds')" >/dev/null
check "version 4 finishes the run of version 1" wait_closed "$q"
check "as COMPLETED" eq "$(status_of "$q")" COMPLETED
check "with no failed workflow task" eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$q' AND h.event_type = 'WorkflowTaskFailed'")" 0
finish
