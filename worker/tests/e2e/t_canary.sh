# Model canary: hourly checks driven by skip_time, continue-as-new every 4
# checks, promotion after 10 hours, and a rollback at the first bad hour.
. "$(dirname "$0")/lib.sh"
worker canary --task-queue canary --plugin "$EX/model_canary.so"
good=good-$RUN; bad=bad-$RUN
sql "SELECT durable.start_workflow('$good', 'Canary', 'canary', '{\"model\": \"m7\", \"hours\": 10, \"checks_per_run\": 4}', '{\"task_timeout\": 2}')" >/dev/null
sql "SELECT durable.start_workflow('$bad', 'Canary', 'canary', '{\"model\": \"m8\", \"hours\": 10, \"checks_per_run\": 4, \"bad_at_hour\": 6}', '{\"task_timeout\": 2}')" >/dev/null
running() { sql "SELECT count(*) FROM durable.workflows WHERE workflow_id IN ('$good', '$bad') AND status = 'RUNNING'"; }
ok=1
for hour in $(seq 1 12); do
	[ "$(running)" = 0 ] && break
	# each running canary waits on its hourly timer before the clock moves
	wait_sql "SELECT count(*) FROM durable.workflows w WHERE w.workflow_id IN ('$good', '$bad') AND w.status = 'RUNNING' AND NOT EXISTS (SELECT 1 FROM durable.timers t WHERE t.run_id = w.run_id)" 0 || { ok=0; break; }
	sql "SELECT durable.skip_time('1 hour')" >/dev/null
	sleep 0.2
	wait_sql "SELECT count(*) FROM durable.timers t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id IN ('$good', '$bad') AND w.status = 'RUNNING' AND t.fire_at <= durable.now()" 0 || { ok=0; break; }
done
check "the clock loop ran" eq "$ok" 1
check "both canaries close" wait_closed "$good" "$bad"
check "the good model is promoted" eq "$(sql "SELECT result ->> 'decision' FROM durable.workflows WHERE workflow_id = '$good' AND status = 'COMPLETED'")" promoted
check "after 10 hours" eq "$(sql "SELECT result ->> 'hours' FROM durable.workflows WHERE workflow_id = '$good' AND status = 'COMPLETED'")" 10
check "in three runs (continue-as-new twice)" eq "$(sql "SELECT count(*) FROM durable.workflows WHERE workflow_id = '$good'")" 3
check "two runs continued as new" eq "$(sql "SELECT count(*) FROM durable.workflows WHERE workflow_id = '$good' AND status = 'CONTINUED_AS_NEW'")" 2
check "the bad model is rolled back" eq "$(sql "SELECT result ->> 'decision' FROM durable.workflows WHERE workflow_id = '$bad' AND status = 'COMPLETED'")" rolled_back
check "at hour 6" eq "$(sql "SELECT result ->> 'hour' FROM durable.workflows WHERE workflow_id = '$bad' AND status = 'COMPLETED'")" 6
for id in "$good" "$bad"; do check "$id completed exactly once" eq "$(sql "SELECT count(*) FROM durable.workflows WHERE workflow_id = '$id' AND status = 'COMPLETED'")" 1; done
finish
