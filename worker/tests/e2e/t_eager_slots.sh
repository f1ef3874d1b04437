# Eager activity execution never runs more activities at once than
# --concurrency: the slots a completion offers are held until its answer,
# against the activity poll and the other completion connections' offers.
# Fan-outs wider than the slots, from many workflows completing on several
# connections at once, on a worker of 3 slots: every activity counts the ones
# running beside it (plugin tests/plugins/eager_slots.c).
. "$(dirname "$0")/lib.sh"
PLUGIN=$WORKER_DIR/build/tests/eager_slots.so
SLOTS=3

q=eager-slots-$RUN
DURABLE_LOG=debug worker slots --task-queue "$q" --plugin "$PLUGIN" --concurrency $SLOTS --connections 3
W=$LAST_PID
ids=()
for i in $(seq 1 12); do
	ids+=("slots-$RUN-$i")
	sql "SELECT durable.start_workflow('slots-$RUN-$i', 'SlotFan', '$q', '{\"n\": 4}')" >/dev/null
done
check "the fan-outs complete" wait_closed "${ids[@]}"
for id in "${ids[@]}"; do
	check "$id: all four activities succeeded" eq "$(sql "SELECT status || '/' || (result ->> 'ok') FROM durable.workflows WHERE workflow_id = '$id'")" COMPLETED/4
done
check "each activity ran once" eq "$(grep -c "^slot slots-$RUN-" "$DURABLE_LEDGER")" 48
most=$(grep "^slot slots-$RUN-" "$DURABLE_LEDGER" | awk '{print $NF}' | sort -n | tail -1)
check "never more than $SLOTS activities at once (at most $most)" test "$most" -le $SLOTS
stop_worker "$W"
eager=$(grep -c "leased with the completion (EAGER)" "$LOGDIR/slots.log" || true)
check "some were leased with a completion (eager: $eager)" test "$eager" -gt 0
finish
