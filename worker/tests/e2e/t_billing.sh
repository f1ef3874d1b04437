# Subscription billing: 30-day waits driven by durable.skip_time, and a
# cancel signal in the middle of a month.
. "$(dirname "$0")/lib.sh"
worker billing --task-queue billing --plugin "$EX/subscription_billing.so"; BILLING=$LAST_PID
sub=sub-$RUN; quit=quit-$RUN
sql "SELECT durable.start_workflow('$sub', 'Subscription', 'billing', '{\"customer\": \"c1\", \"amount\": 9, \"months\": 3}', '{\"task_timeout\": 2}')" >/dev/null
sql "SELECT durable.start_workflow('$quit', 'Subscription', 'billing', '{\"customer\": \"c2\", \"amount\": 5, \"months\": 12}', '{\"task_timeout\": 2}')" >/dev/null
timers() { sql "SELECT count(*) FROM durable.timers t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$1'"; }
billed() { sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$1' AND h.event_type = 'ActivityTaskCompleted'"; }

check "month 1 billed, waiting a month" wait_sql "SELECT count(*) FROM durable.timers t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id IN ('$sub', '$quit')" 2
# Move the clock a month at a time, once the next 30-day timer exists.
check "month 1 billed once" eq "$(billed "$sub")" 1
sql "SELECT durable.skip_time('30 days')" >/dev/null
check "month 2 billed" wait_sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$sub' AND h.event_type = 'ActivityTaskCompleted'" 2
check "waiting for month 3" wait_sql "SELECT count(*) FROM durable.timers t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$sub'" 1
kill -9 "$BILLING"
worker billing2 --task-queue billing --plugin "$EX/subscription_billing.so"
sql "SELECT durable.signal_workflow('$quit', 'cancel_subscription', '\"moving abroad\"')" >/dev/null
check "the canceled subscription closes" wait_closed "$quit"
check "it billed two months" eq "$(sql "SELECT result ->> 'months_billed' FROM durable.workflows WHERE workflow_id = '$quit'")" 2
check "and says canceled" eq "$(sql "SELECT result ->> 'canceled' FROM durable.workflows WHERE workflow_id = '$quit'")" true
sql "SELECT durable.skip_time('30 days')" >/dev/null
check "the 3-month subscription closes" wait_closed "$sub"
check "after three bills" eq "$(sql "SELECT result ->> 'months_billed' FROM durable.workflows WHERE workflow_id = '$sub'")" 3
check "three bill activities" eq "$(billed "$sub")" 3
check "60 days passed on its clock" eq "$(sql "SELECT extract(day FROM closed_at - started_at) >= 60 FROM durable.workflows WHERE workflow_id = '$sub'")" t
for id in "$sub" "$quit"; do check "$id closed exactly once" eq "$(closes "$id")" 1; done
finish
