# A kept run decides as a replay of the same history does. A side effect's
# object comes back from the store in jsonb's key order ("a" before "zz");
# the code must see that order on every path: live in a kept run, live in
# a replaying worker, and replayed.
. "$(dirname "$0")/lib.sh"
P=$WORKER_DIR/build/tests/run_cache_review.so
q=rcd-$RUN
first_key() { sql "SELECT result->>'first' FROM durable.workflows WHERE workflow_id = '$1' ORDER BY started_at DESC LIMIT 1"; }
failed_tasks() { sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$1' AND h.event_type = 'WorkflowTaskFailed'"; }

worker replay --task-queue "$q-r" --plugin "$P" --run-cache -1
worker kept --task-queue "$q-k" --plugin "$P"
sql "SELECT durable.start_workflow('$q-ko-r', 'KeyOrder', '$q-r', 'null')" >/dev/null
sql "SELECT durable.start_workflow('$q-ko-k', 'KeyOrder', '$q-k', 'null')" >/dev/null
check "both runs close" wait_closed "$q-ko-r" "$q-ko-k"
check "replayed, the first key is jsonb's" eq "$(first_key "$q-ko-r")" a
check "kept, the first key is jsonb's too" eq "$(first_key "$q-ko-k")" a

# KeyOrderCmd picks its next command from the first key: decided by a kept
# run, then replayed by another worker once the kept run is gone.
sql "SELECT durable.start_workflow('$q-w', 'KeyOrderCmd', '$q-c', 'null')" >/dev/null
worker kept2 --task-queue "$q-c" --plugin "$P"; K=$LAST_PID
check "the kept run decides and waits for 'go'" wait_sql \
  "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$q-w' AND h.event_type IN ('TimerStarted', 'MarkerRecorded')" 74
stop_worker "$K"
worker replay2 --task-queue "$q-c" --plugin "$P" --run-cache -1
sql "SELECT durable.signal_workflow('$q-w', 'go', 'null')" >/dev/null
check "the replay completes it" wait_closed "$q-w"
check "completed" eq "$(status_of "$q-w")" COMPLETED
check "no task failed (non-determinism)" eq "$(failed_tasks "$q-w")" 0
finish
