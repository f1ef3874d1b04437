# Failover under load, with real crashes. Sourced by run.sh with the HA test
# bed up (lib.sh). Three rounds, one per failover: kill -9 of the leader's
# postmaster and Patroni, the same on the new leader, then a planned
# switchover. Each round starts HA_WORKFLOWS workflows (default 1000) of the
# failover plugin, fails the leader over while they run, signals them all
# and checks: every workflow completed once with the right result, no
# history has a gap or a duplicate event, no activity whose completion was
# acknowledged ran again, and the timers due during the outage fired after
# it. The write outage of each failover is measured and reported.
HA_WORKFLOWS=${HA_WORKFLOWS:-1000}
WORK=$HA_DIR/failover
mkdir -p "$WORK"
. "$(dirname "${BASH_SOURCE[0]}")/clients.sh"
export HA_LEDGER=$WORK/ledger
PLUGIN=$WORK/failover_plugin.so
WORKER_BIN=$TOP/worker/build/durable-worker
WORKER_PIDS=()
OUTAGES=()
TOTAL_STARTED=0

cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fPIC -shared -I"$TOP/worker/include" \
	$(pkg-config --cflags jansson) -o "$PLUGIN" "$(dirname "${BASH_SOURCE[0]}")/failover_plugin.c" ||
	{ fail "build the test plugin"; return; }

start_workers() {
	local i
	for i in 1 2; do
		# DURABLE_LOG=debug: the worker logs each outcome the store acknowledged
		DURABLE_LOG=debug setsid "$WORKER_BIN" --dsn "$HA_DSN" --task-queue ha --plugin "$PLUGIN" \
			--concurrency 64 --identity "ha-worker-$i" >>"$WORK/worker$i.log" 2>&1 </dev/null &
		WORKER_PIDS+=($!)
		HA_SESSIONS+=($!)
	done
}

workers_alive() { local p; for p in "${WORKER_PIDS[@]}"; do kill -0 "$p" 2>/dev/null || return 1; done; }

# The write probe: one small committed write every 0.1 s, the time of each
# success logged; the longest gap around a failover is its write outage.
start_probe() {
	psql_leader -c "CREATE TABLE IF NOT EXISTS ha_probe (at timestamptz)" || return 1
	( while :; do
		psql "$HA_DSN" -qXAt -c "INSERT INTO ha_probe VALUES (now()) RETURNING extract(epoch FROM now())" \
			>>"$WORK/probe" 2>/dev/null
		sleep 0.1
	done ) &
	PROBE_PID=$!
	HA_SESSIONS+=($PROBE_PID)
}

# outage_since T: the longest gap between probe successes after T (epoch s),
# when it began (the last write on the old primary) and when it ended (the
# first on the new one)
outage_since() {
	awk -v t="$1" '$1 + 0 >= t - 1 { if (prev && $1 - prev > gap) { gap = $1 - prev; from = prev; to = $1 } prev = $1 }
		END { printf "%.1f %.3f %.3f\n", gap, from, to }' "$WORK/probe"
}

# sql_retry QUERY: runs QUERY on the leader, retrying while no leader answers
sql_retry() {
	local out deadline=$((SECONDS + 180))
	until out=$(psql_leader -c "$1" 2>>"$WORK/sql_retry.err"); do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.5
	done
	printf '%s\n' "$out"
}

# round NAME ACTION: one failover round on its own batch of workflows
round() {
	local name=$1 action=$2 batch=ha-$1 old new t0
	[ "$action" = kill ] && KILLS=$((KILLS + 1))
	# skip_time's offset is data (durable.clock): it must survive a failover.
	# Skipped before the round's workflows start, so that none of their
	# timers straddles the skip.
	[ "$name" = switchover ] && sql_retry "SELECT durable.skip_time('2 seconds')" >/dev/null
	log "round $name: starting $HA_WORKFLOWS workflows"
	sql_retry "SELECT count(durable.start_workflow('$batch-' || i, 'Failover', 'ha',
			jsonb_build_object('n', i, 'sleep', 5 + i % 20)))
		   FROM generate_series(1, $HA_WORKFLOWS) i" >/dev/null || { fail "$name: start the workflows"; return; }
	TOTAL_STARTED=$((TOTAL_STARTED + HA_WORKFLOWS))
	# Fail over while they run: once a fifth of the first activities completed.
	wait_until 300 "$name: progress" sql_true "SELECT count(*) >= $HA_WORKFLOWS / 5 FROM durable.history h
		JOIN durable.workflows w USING (run_id) WHERE w.workflow_id LIKE '$batch-%'
		AND h.event_type = 'ActivityTaskCompleted'" || { fail "$name: workflows make progress"; return; }
	# half are signaled before the failover, half after
	sql_retry "SELECT count(durable.signal_workflow('$batch-' || i, 'go', jsonb_build_object('add', i % 7)))
		   FROM generate_series(1, $HA_WORKFLOWS, 2) i" >/dev/null || { fail "$name: signal"; return; }
	[ "$name" = kill1 ] && clients_before_kill
	old=$(leader_node)
	t0=$(date +%s.%N)
	case $action in
	kill)
		kill_node "$old"
		[ "$name" = kill1 ] && clients_during_outage
		;;
	switchover)
		log "switchover from node$old"
		patronictl_ switchover --master "node$old" --force >>"$WORK/patronictl.log" 2>&1 ||
			{ fail "$name: patronictl switchover"; return; }
		;;
	esac
	wait_until 180 "$name: a new leader takes writes" new_leader_other_than "$old" ||
		{ fail "$name: a new leader is elected"; return; }
	new=$(leader_node)
	log "round $name: node$new leads"
	[ "$name" = kill1 ] && clients_after_failover
	[ "$name" = switchover ] && expect "$name: the skipped clock survives the failover" \
		"$(sql_retry "SELECT durable.now() - clock_timestamp() > interval '1.5 seconds'")" t
	sql_retry "SELECT count(durable.signal_workflow('$batch-' || i, 'go', jsonb_build_object('add', i % 7)))
		   FROM generate_series(2, $HA_WORKFLOWS, 2) i" >/dev/null || { fail "$name: signal after"; return; }
	wait_until 600 "$name: every workflow closes" sql_true "SELECT count(*) = 0 FROM durable.workflows
		WHERE workflow_id LIKE '$batch-%' AND status = 'RUNNING'"
	local outage from to; read -r outage from to <<<"$(outage_since "$t0")"
	OUTAGES+=("$name=${outage}s")
	log "round $name: write outage ${outage} s"
	check_batch "$name" "$batch" "${from:-$t0}" "${to:-$t0}"
	if [ "$action" = kill ]; then
		# the operator's part: start the dead node again; it rejoins as a standby
		node_start "$old"
		wait_until 300 "node$old rejoins" cluster_complete || fail "$name: node$old rejoins the cluster"
	fi
	workers_alive || fail "$name: the workers ran through without a restart"
	# after a crash (15 s without a primary) each worker logs its reconnection
	local wl
	for wl in "$WORK"/worker*.log; do
		[ "$action" = kill ] && [ "$(grep -c "connection workflows re-established" "$wl")" -lt "$KILLS" ] &&
			fail "$name: $(basename "$wl" .log) reconnected its workflow connection (and LISTENs) by itself"
	done
}

sql_true() { [ "$(psql_leader -c "$1" 2>/dev/null)" = t ]; }
new_leader_other_than() { local l; l=$(leader_node); [ -n "$l" ] && [ "$l" != "$1" ] && leader_is_writable; }

# check_batch NAME BATCH T0 T1: the invariants, on the new leader (the outage
# lasted from T0 to T1)
check_batch() {
	local name=$1 b=$2 t0=$3 t1=$4 n
	n=$(sql_retry "SELECT count(*) FROM durable.workflows WHERE workflow_id LIKE '$b-%' AND status <> 'COMPLETED'")
	expect "$name: lost or not completed" "$n" 0
	LOST=$((LOST + ${n:-0}))
	n=$(sql_retry "SELECT count(*) FROM (SELECT w.workflow_id FROM durable.history h JOIN durable.workflows w USING (run_id)
		WHERE w.workflow_id LIKE '$b-%' AND h.event_type = 'WorkflowExecutionCompleted'
		GROUP BY 1 HAVING count(*) > 1) d")
	n=$((n + $(sql_retry "SELECT count(*) FROM (SELECT workflow_id FROM durable.workflows
		WHERE workflow_id LIKE '$b-%' GROUP BY 1 HAVING count(*) > 1) d")))
	expect "$name: completed twice" "$n" 0
	TWICE=$((TWICE + n))
	n=$(sql_retry "SELECT count(*) FROM durable.workflows WHERE workflow_id LIKE '$b-%' AND status = 'COMPLETED'
		AND (result ->> 'v')::bigint IS DISTINCT FROM
		    2 * (input ->> 'n')::bigint + 105 + (input ->> 'n')::bigint % 7")
	expect "$name: completed with a wrong result" "$n" 0
	expect "$name: workflows that ran" "$(sql_retry "SELECT count(*) FROM durable.workflows WHERE workflow_id LIKE '$b-%'")" "$HA_WORKFLOWS"
	# gaps: event ids of each run are exactly 1..n
	n=$(sql_retry "SELECT count(*) FROM (SELECT run_id FROM durable.history h JOIN durable.workflows w USING (run_id)
		WHERE w.workflow_id LIKE '$b-%' GROUP BY run_id HAVING count(*) <> max(event_id) OR min(event_id) <> 1) d")
	expect "$name: histories with a gap" "$n" 0
	# duplicates: one outcome per activity, one firing per timer, one signal per run
	n=$(sql_retry "SELECT count(*) FROM (SELECT run_id, event_type, coalesce(attributes ->> 'scheduled_event_id',
			attributes ->> 'timer_id', attributes ->> 'signal_name', '') k
		FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id LIKE '$b-%'
		AND event_type IN ('ActivityTaskCompleted', 'ActivityTaskFailed', 'ActivityTaskTimedOut', 'TimerFired',
		                   'WorkflowExecutionSignaled', 'WorkflowExecutionCompleted')
		GROUP BY 1, 2, 3 HAVING count(*) > 1) d")
	expect "$name: histories with a duplicate event" "$n" 0
	n=$(sql_retry "SELECT count(*) FROM (SELECT run_id FROM durable.history h JOIN durable.workflows w USING (run_id)
		WHERE w.workflow_id LIKE '$b-%' GROUP BY run_id
		HAVING count(*) FILTER (WHERE event_type = 'TimerFired') <> 2
		    OR count(*) FILTER (WHERE event_type = 'TimerStarted') <> 2
		       + count(*) FILTER (WHERE event_type = 'TimerCanceled')
		    OR count(*) FILTER (WHERE event_type = 'WorkflowExecutionSignaled') <> 1) d")
	expect "$name: runs without both sleeps fired and the one signal" "$n" 0
	# timers due during the outage fired after it, never before they were due
	n=$(sql_retry "SELECT count(*) FILTER (WHERE f.event_time < s.event_time
			+ make_interval(secs => (s.attributes ->> 'start_to_fire_timeout')::float8)),
		count(*) FILTER (WHERE s.event_time + make_interval(secs => (s.attributes ->> 'start_to_fire_timeout')::float8)
			BETWEEN to_timestamp($t0) + durable.clock_offset() AND to_timestamp($t1) + durable.clock_offset())
		FROM durable.history s JOIN durable.workflows w USING (run_id)
		JOIN durable.history f ON f.run_id = s.run_id AND f.event_type = 'TimerFired'
		     AND f.attributes ->> 'timer_id' = s.attributes ->> 'timer_id'
		WHERE w.workflow_id LIKE '$b-%' AND s.event_type = 'TimerStarted'")
	expect "$name: timers that fired before they were due" "${n%%|*}" 0
	log "round $name: ${n##*|} timers were due during the outage; all fired after it"
	# a crash with a thousand workflows in flight always leaves some due
	if [ "$name" != switchover ] && [ "$HA_WORKFLOWS" -ge 100 ] && [ "${n##*|}" -eq 0 ]; then
		fail "$name: no timer came due during the outage: the case was not exercised"
	fi
	check_executions "$name" "$b" "$t0" "$t1"
}

# Executions (the ledger) against acknowledgements (the workers' logs): an
# activity that ran again after the store acknowledged its completion is a
# lost step; one that ran again after an unacknowledged one is at-least-once.
# Results produced while no primary existed must each be delivered after it
# (COMPLETED) or refused cleanly (LEASE_LOST: its lease ran out meanwhile).
check_executions() {
	local name=$1 b=$2 t0=$3 t1=$4 out
	out=$(python3 - "$HA_LEDGER" "$b-" "$t0" "$t1" "$WORK"/worker*.log <<'PY'
import datetime, re, sys
ledger, prefix, t0, t1, logs = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5:]
token_of, acked, refused, during = {}, set(), set(), set()
line_re = re.compile(r"^(\S+Z) durable-worker\[\d+\] (\w+) activity task ([^\s:]+)(.*)$")
for path in logs:
    for line in open(path, errors="replace"):
        m = line_re.match(line)
        if not m:
            continue
        when, level, token, rest = m.groups()
        if rest.startswith(" finished: "):
            f = rest.split()
            token_of[token] = (f[2], f[4], int(f[6]))
            at = datetime.datetime.strptime(when, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
            if t0 <= at <= t1:
                during.add(token)
        elif rest == ": COMPLETED":
            acked.add(token)
        elif rest.startswith(": LEASE_LOST"):
            refused.add(token)
acked_ids = {}
for t in acked:
    if t in token_of:
        wf, act, att = token_of[t]
        acked_ids.setdefault((wf, act), []).append(att)
runs = {}
for line in open(ledger):
    _, wf, act, att = line.split()
    if wf.startswith(prefix):
        runs.setdefault((wf, act), []).append(int(att))
mine = lambda t: token_of[t][0].startswith(prefix)
after_ack = sum(1 for k, atts in runs.items() for a in atts if any(a > x for x in acked_ids.get(k, [])))
again = sum(len(atts) - 1 for atts in runs.values())
during = {t for t in during if mine(t)}
print(after_ack, again - after_ack, sum(len(a) for a in runs.values()),
      sum(len(v) for k, v in acked_ids.items() if k[0].startswith(prefix)),
      len(during), len(during & acked), len(during & refused), len(during - acked - refused))
PY
)
	local after unacked execs acks produced delivered refused unaccounted
	read -r after unacked execs acks produced delivered refused unaccounted <<<"$out"
	log "round $name: $execs activity executions, $acks acknowledged completions, $unacked unacknowledged re-executions;" \
	    "$produced results produced during the outage: $delivered delivered after it, $refused refused (lease ran out)"
	expect "$name: activities run again after an acknowledged completion" "$after" 0
	expect "$name: results produced during the outage and neither delivered nor refused" "$unaccounted" 0
	REEXEC_ACKED=$((REEXEC_ACKED + ${after:-0}))
	REEXEC_UNACKED=$((REEXEC_UNACKED + ${unacked:-0}))
}

LOST=0 TWICE=0 REEXEC_ACKED=0 REEXEC_UNACKED=0 KILLS=0
mount_ha || fail "mount durablefs on the multi-host string"
start_workers
start_probe || fail "start the write probe"
round kill1 kill
round kill2 kill
round switchover switchover
kill "$PROBE_PID" 2>/dev/null
if grep -h "outcomes dropped" "$WORK"/worker*.log; then fail "a worker dropped activity results"; fi
# The timer workers start once on each node that becomes primary (four
# times here, and at most as often again for a restart): more starts are a
# crash loop, such as one on a node that is still read-only.
starts=$(cat "$HA_DIR"/node*/patroni.log | grep -c "durable timer worker 0 started")
log "timer worker 0 started $starts times over 4 leaderships"
[ "$starts" -le 8 ] || fail "the timer workers restarted $starts times: an error loop"
log "SUMMARY workflows=$TOTAL_STARTED kills=2 switchovers=1 lost=$LOST completed_twice=$TWICE" \
    "reexecuted_after_ack=$REEXEC_ACKED unacknowledged_reexecutions=$REEXEC_UNACKED outages: ${OUTAGES[*]}"
