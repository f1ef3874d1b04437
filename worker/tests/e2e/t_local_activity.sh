# Local activities with real workers (tests/plugins/local.c, workflow
# LocalOne: one local activity, then a short timer). Each attempt of the
# code appends a ledger line, so the test counts real runs: the outcome is
# recorded once as a MarkerRecorded "LocalActivity" event and never run
# again on replay; retries happen in the worker (short backoffs) or after
# a durable timer (long ones); a non-retryable failure and a timeout reach
# the workflow; the worker keeps the task's lease while the code runs past
# the workflow task timeout; a kill -9 in the middle re-runs it (at least
# once) and the run still completes with one marker; the replay check
# reads the markers without running anything.
. "$(dirname "$0")/lib.sh"
P=$WORKER_DIR/build/tests/local.so
q=local-$RUN
worker w1 --task-queue "$q" --plugin "$P"; W1=$LAST_PID

start() {   # id input [start options]
	local opts=${3:-}
	[ -n "$opts" ] || opts='{}'
	sql "SELECT durable.start_workflow('$1', 'LocalOne', '$q', '$2', '$opts')" >/dev/null
}
out() { sql "SELECT durable.describe_workflow('$1') #>> '{result,$2}'"; }
count() {   # id event_type
	sql "SELECT count(*) FROM durable.get_history('$1') WHERE event_type = '$2'"
}
markers() {
	sql "SELECT count(*) FROM durable.get_history('$1')
	      WHERE event_type = 'MarkerRecorded' AND attributes ->> 'marker_name' = 'LocalActivity'"
}
marker() {   # id path: of the last LocalActivity marker's details
	sql "SELECT attributes -> 'details' #>> '{$2}' FROM durable.get_history('$1')
	      WHERE event_type = 'MarkerRecorded' ORDER BY event_id DESC LIMIT 1"
}
go() { touch "$DURABLE_LEDGER.go-$1"; }
ran() {   # id type: until the code ran once (deadline 60 s)
	local deadline=$((SECONDS + 60))
	until [ "$(ledger_count "$1" "$2")" -gt 0 ]; do
		[ $SECONDS -ge $deadline ] && { echo "  $2 never ran for $1"; return 1; }
		sleep 0.1
	done
}

# 1. Once: the result recorded once, as a marker; no activity task at all.
id=la-once-$RUN
start "$id" '{"type": "la_echo", "input": {"x": 1}}'
check "once: completes" wait_closed "$id"
check "once: COMPLETED" eq "$(status_of "$id")" COMPLETED
check "once: the workflow got the result" eq "$(out "$id" result,echo,x)" 1
check "once: one LocalActivity marker" eq "$(markers "$id")" 1
check "once: with the type, id and attempt" eq "$(marker "$id" activity_type) $(marker "$id" activity_id) $(marker "$id" attempt)" "la_echo 1 1"
check "once: and the result" eq "$(marker "$id" result,echo,x)" 1
check "once: no activity task went through the queue" eq "$(count "$id" ActivityTaskScheduled)" 0
check "once: the code ran once, though two later tasks replayed the marker" eq "$(ledger_count "$id" la_echo)" 1

# 2. Local retry with backoff, then success: one marker, with the attempt.
id=la-retry-$RUN
start "$id" '{"type": "la_flaky", "input": {"succeed_at": 3}, "initial": 0.2}'
check "retry: completes" wait_closed "$id"
check "retry: succeeds at attempt 3" eq "$(out "$id" result,attempt)" 3
check "retry: three runs of the code" eq "$(ledger_count "$id" la_flaky)" 3
check "retry: one marker, attempt 3" eq "$(markers "$id") $(marker "$id" attempt)" "1 3"
check "retry: waited in the worker (only the workflow's own timer)" eq "$(count "$id" TimerStarted)" 1

# 3. A non-retryable failure reaches the workflow after one attempt.
id=la-refuse-$RUN
start "$id" '{"type": "la_refuse", "input": null}'
check "non-retryable: completes" wait_closed "$id"
check "non-retryable: the workflow sees DURABLE_EFAILED" eq "$(out "$id" error)" failed
check "non-retryable: with the activity's failure" eq "$(out "$id" failure,type)" CardDeclined
check "non-retryable: one attempt" eq "$(ledger_count "$id" la_refuse)" 1
check "non-retryable: the marker records the failure" eq "$(marker "$id" failure,type)" CardDeclined

# 4. Timeouts: start-to-close per attempt (retried), schedule-to-close overall.
id=la-stc-$RUN
start "$id" '{"type": "la_block", "input": 1, "start_to_close": 0.5, "attempts": 2, "initial": 0.1}'
check "start-to-close: completes" wait_closed "$id"
check "start-to-close: the workflow sees DURABLE_ETIMEDOUT" eq "$(out "$id" error)" "timed out"
check "start-to-close: TimeoutError START_TO_CLOSE" eq "$(out "$id" failure,type) $(out "$id" failure,timeout_type)" "TimeoutError START_TO_CLOSE"
check "start-to-close: both attempts ran" eq "$(ledger_count "$id" la_block)" 2
id=la-sch-$RUN
start "$id" '{"type": "la_block", "input": 1, "schedule_to_close": 0.8, "initial": 0.1}'
check "schedule-to-close: completes" wait_closed "$id"
check "schedule-to-close: TimeoutError SCHEDULE_TO_CLOSE" eq "$(out "$id" failure,type) $(out "$id" failure,timeout_type)" "TimeoutError SCHEDULE_TO_CLOSE"
check "schedule-to-close: one marker" eq "$(markers "$id")" 1

# 5. A backoff past local_retry_threshold: recorded, then a durable timer.
id=la-timer-$RUN
start "$id" '{"type": "la_flaky", "input": {"succeed_at": 3}, "initial": 0.3, "threshold": 0.1}'
check "long backoff: completes" wait_closed "$id"
check "long backoff: succeeds at attempt 3" eq "$(out "$id" result,attempt)" 3
check "long backoff: a marker per failed attempt and one for the result" eq "$(markers "$id")" 3
check "long backoff: two backoff timers and the workflow's own" eq "$(count "$id" TimerStarted)" 3
check "long backoff: the first marker records the failure and its backoff" \
	eq "$(sql "SELECT attributes #>> '{details,failure,type}', attributes #>> '{details,backoff}' FROM durable.get_history('$id')
	            WHERE event_type = 'MarkerRecorded' ORDER BY event_id LIMIT 1")" "Flaky|0.3"
check "long backoff: three runs of the code" eq "$(ledger_count "$id" la_flaky)" 3

# 6. Running past the workflow task timeout: the worker keeps the lease.
id=la-lease-$RUN
# A 2 s timeout, not 1: the worker heartbeats every 0.4 of it, and on a loaded
# machine a heartbeat can queue behind other statements for a good part of a
# second; what is tested is outliving the timeout, not how tight it can be.
start "$id" '{"type": "la_block", "input": 2}' '{"task_timeout": 2}'
check "lease: the code runs" ran "$id" la_block
sleep 5   # two and a half workflow task timeouts
go "$id"
check "lease: completes" wait_closed "$id"
check "lease: no WorkflowTaskTimedOut" eq "$(count "$id" WorkflowTaskTimedOut)" 0
check "lease: ran once" eq "$(ledger_count "$id" la_block)" 1
check "lease: the result" eq "$(out "$id" result)" 2

# 7. The replay check reads the markers and runs nothing.
H=$LOGDIR/histories; mkdir -p "$H"
for id in la-timer-$RUN la-refuse-$RUN; do
	sql "SELECT row_to_json(h) FROM durable.get_history('$id') h" >"$H/$id.ndjson"
done
runs_before=$(wc -l <"$DURABLE_LEDGER")
"$BIN" --replay "$H" --plugin "$P" >"$LOGDIR/replay.out" 2>"$LOGDIR/replay.err"
check "replay: histories with markers replay ($(cat "$LOGDIR/replay.err"))" eq $? 0
check "replay: ran no activity" eq "$(wc -l <"$DURABLE_LEDGER")" "$runs_before"
sed 's/"activity_type": "la_flaky"/"activity_type": "la_other"/' "$H/la-timer-$RUN.ndjson" >"$LOGDIR/changed.ndjson"
"$BIN" --replay "$LOGDIR/changed.ndjson" --plugin "$P" >/dev/null 2>"$LOGDIR/replay.err"
check "replay: another type in a marker is non-deterministic" eq $? 1
check "replay: naming both types ($(cat "$LOGDIR/replay.err"))" grep -q "NON_DETERMINISTIC_ERROR: .*la_other.*la_flaky" "$LOGDIR/replay.err"

# 8. The example of docs/sdk.md: the same text as the plugin's, and it runs.
doc=$(sed -n '/^\/\* An order.s small steps, each a local activity. \*\//,/^```$/p' "$WORKER_DIR/../docs/sdk.md" | sed '$d')
code=$(sed -n '/^\/\* An order.s small steps, each a local activity. \*\//,/^\/\* end of the sdk.md example \*\//p' "$WORKER_DIR/tests/plugins/local.c" | sed '$d')
check "example: docs/sdk.md shows the code the test runs" eq "$(echo "$doc" | md5sum)" "$(echo "$code" | md5sum)"
check "example: it is not empty" eq "$(echo "$doc" | grep -c "durable_local_activity(ctx")" 1
id=order-$RUN
sql "SELECT durable.start_workflow('$id', 'OrderSteps', '$q', '{\"order\": 7}')" >/dev/null
check "example: completes" wait_closed "$id"
check "example: every step ran on the order" eq "$(sql "SELECT durable.describe_workflow('$id') -> 'result'")" \
	'{"order": 7, "priced": true, "reserved": true, "validated": true}'
check "example: three markers, no activity task" eq "$(markers "$id") $(count "$id" ActivityTaskScheduled)" "3 0"

# 9. kill -9 while the local activity runs: the next worker runs it again
#    (at least once), and the run completes with one marker.
id=la-crash-$RUN
start "$id" '{"type": "la_block", "input": 3}' '{"task_timeout": 2}'
check "crash: the code runs in the first worker" ran "$id" la_block
kill -9 "$W1"
go "$id"
worker w2 --task-queue "$q" --plugin "$P"
check "crash: completes" wait_closed "$id"
check "crash: COMPLETED, once" eq "$(status_of "$id") $(closes "$id")" "COMPLETED 1"
check "crash: the task timed out after the kill" eq "$(count "$id" WorkflowTaskTimedOut)" 1
check "crash: the code ran again" eq "$(ledger_count "$id" la_block)" 2
check "crash: one marker" eq "$(markers "$id")" 1
check "crash: the result" eq "$(out "$id" result)" 3

# 10. Drain: SIGTERM waits for a running local activity; a second SIGTERM
#     lets go of it at once, and the next worker runs it again.
W2=$LAST_PID
id=la-drain-$RUN
start "$id" '{"type": "la_block", "input": 4}' '{"task_timeout": 2}'
check "drain: the code runs" ran "$id" la_block
kill -TERM "$W2"
sleep 1
check "drain: the worker waits for its local activity" kill -0 "$W2"
kill -TERM "$W2"
gone() { ! kill -0 "$W2" 2>/dev/null; }
check "drain: a second SIGTERM exits without waiting for it" wait_until 30 gone
go "$id"
worker w3 --task-queue "$q" --plugin "$P"
check "drain: the next worker completes it" wait_closed "$id"
check "drain: ran twice, one marker" eq "$(ledger_count "$id" la_block) $(markers "$id")" "2 1"

# 11. With a payload codec the marker's details are encoded: the store
#     never sees the result (nor the type and attempt, as in Temporal).
keys=$LOGDIR/keys
(umask 077; "$WORKER_DIR/build/durable-codec" keygen k1 >"$keys")
qc=$q-codec
worker w4 --task-queue "$qc" --plugin "$P" --codec-key "$keys"
id=la-codec-$RUN
sql "SELECT durable.start_workflow('$id', 'LocalOne', '$qc', '{\"type\": \"la_echo\", \"input\": 1}')" >/dev/null
check "codec: completes" wait_closed "$id"
check "codec: COMPLETED" eq "$(status_of "$id")" COMPLETED
check "codec: one marker, its details encoded" eq "$(markers "$id") $(marker "$id" activity_type,_durable_codec)" "1 xchacha20poly1305"
check "codec: no plaintext type or result in the marker" eq "$(sql "SELECT count(*) FROM durable.get_history('$id')
	WHERE event_type = 'MarkerRecorded' AND (attributes::text LIKE '%la_echo%' OR attributes::text LIKE '%\"echo\"%')")" 0
finish
