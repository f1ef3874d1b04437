# Clients through a failover (sourced by t_failover.sh, around its first kill):
# durablefs mounted with the multi-host string fails file operations with EIO
# while no primary exists (quickly: never a hang) and logs why; a query in
# flight when the leader dies fails with a clear error; both work again on
# the new primary without a remount.
MNT=$HA_DIR/mnt
DURABLEFS=$TOP/fused/durablefs

# mount_ha: durablefs on the multi-host string, in the foreground, in the background
mount_ha() {
	mkdir -p "$MNT"
	setsid "$DURABLEFS" "$MNT" -f --dsn="$HA_DSN" --query-timeout-ms=60000 >>"$WORK/durablefs.log" 2>&1 </dev/null &
	MNT_PID=$!
	HA_SESSIONS+=($MNT_PID)
	HA_MOUNTS+=("$MNT")
	wait_until 30 "durablefs mounts" mountpoint -q "$MNT"
}

# Before the kill: a query nobody answers (its queue has no worker) is left
# waiting, through the mount and through psql.
clients_before_kill() {
	local id=ha-noworker-$$
	sql_retry "SELECT durable.start_workflow('$id', 'Failover', 'ha-noworker', '{\"n\": 1}')" >/dev/null
	cat "$MNT/workflows/$id/status" >"$WORK/status.before" 2>&1
	expect "the mount reads before the failover" "$(cat "$WORK/status.before")" RUNNING
	( start=$(date +%s); timeout 120 cat "$MNT/workflows/$id/queries/state" >"$WORK/fs_query.out" 2>&1
	  echo "$? $(($(date +%s) - start))" >"$WORK/fs_query.rc" ) &
	( start=$(date +%s); timeout 120 psql "$HA_DSN" -qXAt -c "SELECT durable.query_workflow('$id', 'state', timeout_ms => 60000)" \
		>"$WORK/sql_query.out" 2>&1; echo "$? $(($(date +%s) - start))" >"$WORK/sql_query.rc" ) &
	# an activity whose lease runs out during the outage, its result produced in it
	sql_retry "SELECT durable.start_workflow('ha-hold-$$', 'Hold', 'ha', '\"held\"')" >/dev/null
	wait_until 60 "the hold activity is leased" sql_true "SELECT EXISTS (SELECT 1 FROM durable.activity_tasks
		WHERE workflow_id = 'ha-hold-$$' AND state = 'STARTED')"
	sleep 1   # the queries are waiting in the server
}

# Right after the kill, before a new leader is elected.
clients_during_outage() {
	local out rc
	out=$(timeout 60 cat "$MNT/workflows/ha-noworker-$$/status" 2>&1); rc=$?
	if leader_is_writable; then
		log "a new leader was up before the mount was tried: the outage case was not exercised"
	else
		[ $rc -ne 124 ] || fail "a file operation hung while no primary exists"
		[[ "$out" == *"Input/output error"* ]] || fail "a file operation while no primary exists: got '$out' ($rc), want EIO"
		# whichever operation reached the daemon first: lookup, or getattr when
		# the kernel still had the name cached
		grep -qE "durablefs: [a-z]+ [^:]*: Input/output error: cannot connect to PostgreSQL" "$WORK/durablefs.log" ||
			fail "durablefs logs why it cannot reach a primary"
	fi
}

# After the new leader takes writes.
clients_after_failover() {
	local id=ha-noworker-$$
	wait_until 60 "the queries in flight return" test -s "$WORK/fs_query.rc" -a -s "$WORK/sql_query.rc"
	local rc secs
	read -r rc secs <"$WORK/fs_query.rc"
	[ "$rc" != 124 ] && [ "$rc" != 0 ] || fail "a query read through the mount in flight during the failover: exit $rc"
	grep -q "Input/output error" "$WORK/fs_query.out" || fail "the mount's query in flight fails with EIO: $(cat "$WORK/fs_query.out")"
	log "a query read through the mount during the failover failed after ${secs} s: $(head -c 200 "$WORK/fs_query.out")"
	read -r rc secs <"$WORK/sql_query.rc"
	[ "$rc" != 124 ] && [ "$rc" != 0 ] || fail "a psql query in flight during the failover: exit $rc"
	grep -qE "terminating connection|server closed the connection" "$WORK/sql_query.out" ||
		fail "a psql query in flight fails with a clear error: $(cat "$WORK/sql_query.out")"
	log "a psql query in flight during the failover failed after ${secs} s: $(tr '\n' ' ' <"$WORK/sql_query.out" | head -c 200)"
	wait_until 60 "the mount reads from the new primary" grep -qx RUNNING "$MNT/workflows/$id/status" ||
		fail "the mount works again after the failover, without a remount"
	echo '{"add": 0}' >"$MNT/workflows/$id/signals/go" 2>>"$WORK/durablefs.write.err" ||
		fail "a signal written through the mount after the failover"
	expect "the signal written through the mount landed" \
		"$(sql_retry "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
			WHERE w.workflow_id = '$id' AND h.event_type = 'WorkflowExecutionSignaled'")" 1
	sql_retry "SELECT durable.terminate_workflow('$id', 'test over')" >/dev/null
	# The held result: refused cleanly (LEASE_LOST) if the new primary timed
	# the attempt out first, taken if the worker came back before that;
	# either way the workflow completes once, with the right result.
	wait_until 120 "the hold workflow closes" sql_true "SELECT status <> 'RUNNING' FROM durable.workflows
		WHERE workflow_id = 'ha-hold-$$'"
	expect "the hold workflow completes with its result" "$(sql_retry "SELECT status || ' ' || (result #>> '{}')
		FROM durable.workflows WHERE workflow_id = 'ha-hold-$$'")" "COMPLETED held"
	local tok; tok=$(grep -ho "activity task [^ ]* finished: workflow ha-hold-$$ activity [^ ]* attempt 1" \
		"$WORK"/worker*.log | awk '{print $3}')
	if [ -z "$tok" ]; then
		fail "the hold activity's first attempt finished in a worker"
	elif grep -q "activity task $tok: LEASE_LOST" "$WORK"/worker*.log; then
		log "the result produced during the outage after its lease ran out was refused cleanly (LEASE_LOST); attempt 2 ran"
		# Attempt 2 can itself finish as a later round kills the primary:
		# its answer is lost with the connection and attempt 3 runs (an
		# activity is at least once). What must hold: it ran again, and no
		# more than one attempt's result was taken.
		local runs taken=0 t
		runs=$(grep -c "^EXEC ha-hold-$$ " "$HA_LEDGER")
		expect "after a refused result the activity ran again" "$([ "$runs" -ge 2 ] && echo yes || echo "no ($runs runs)")" yes
		for t in $(grep -ho "activity task [^ ]* finished: workflow ha-hold-$$ activity [^ ]* attempt [0-9]*" \
			"$WORK"/worker*.log | awk '{print $3}'); do
			grep -q "activity task $t: COMPLETED" "$WORK"/worker*.log && taken=$((taken + 1))
		done
		expect "at most one attempt's result was taken ($runs runs)" "$([ "$taken" -le 1 ] && echo yes || echo "no ($taken)")" yes
	elif grep -q "activity task $tok: COMPLETED" "$WORK"/worker*.log; then
		log "the result produced during the outage was taken: the worker was back before the new primary timed it out"
		expect "a taken result is not run again" "$(grep -c "^EXEC ha-hold-$$ " "$HA_LEDGER")" 1
	else
		fail "the result of the hold activity was neither delivered nor refused"
	fi
}
