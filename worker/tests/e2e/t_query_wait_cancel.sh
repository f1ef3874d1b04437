# A worker whose wait for queries fails (canceled by an operator's
# pg_cancel_backend, or by a statement_timeout) waits again: queries posted
# after the failure are still answered. (The failed wait's callback logged the
# error and stopped: the worker never waited for queries again, and every
# query to its queue timed out.) A failure that another wait would repeat (a
# queue whose query key is over 255 bytes: 54000) is logged once, not once per
# backstop tick.
. "$(dirname "$0")/lib.sh"
q=qcancel-$RUN
app=durable-worker-$q
PGAPPNAME=$app worker qcancel --task-queue "$q" --plugin "$EX/loan_application.so"
longns=$(printf 'n%.0s' $(seq 1 150))-$RUN
sql "SELECT durable.register_namespace('$longns')" >/dev/null
worker qlong --namespace "$longns" --task-queue "$(printf 'q%.0s' $(seq 1 150))" --plugin "$EX/loan_application.so"
sql "SELECT durable.start_workflow('$q', 'LoanApplication', '$q', '{\"applicant\": \"cal\", \"amount\": 5, \"review_days\": 3}')" >/dev/null
status() { sql "SELECT durable.query_workflow('$q', 'status', timeout_ms => 30000) ->> 'stage'"; }
check "a query is answered" wait_sql "SELECT durable.query_workflow('$q', 'status', timeout_ms => 30000) ->> 'stage'" awaiting_review

waiter() { sql "SELECT pid FROM pg_stat_activity WHERE application_name = '$app' AND wait_event = 'Extension'
                  AND query LIKE '%wait_for_query_tasks%' LIMIT 1"; }
cancel_wait() { local pid; pid=$(waiter); [ -n "$pid" ] && [ "$(sql "SELECT pg_cancel_backend($pid)")" = t ]; }
for round in 1 2; do
	check "round $round: the worker's wait for queries is canceled" wait_until 60 cancel_wait
	check "round $round: the worker logged the failed wait" \
		wait_until 30 grep -q "wait_for_query_tasks failed: .*canceling statement due to user request" "$LOGDIR/qcancel.log"
	check "round $round: a query after the cancel is answered" eq "$(status)" awaiting_review
done
check "the worker waits for queries again" wait_until 60 sh -c "[ -n \"\$(psql -qXAt -c \"SELECT pid FROM pg_stat_activity WHERE application_name = '$app' AND wait_event = 'Extension' AND query LIKE '%wait_for_query_tasks%'\")\" ]"
check "the long-keyed queue's wait fails (54000)" \
	wait_until 60 grep -q "wait_for_query_tasks failed: .*task queue name is too long" "$LOGDIR/qlong.log"
sleep 11   # two backstop ticks (BACKSTOP_MS, 5 s) and more
check "and is logged once, not at each backstop tick" eq "$(grep -c "wait_for_query_tasks failed" "$LOGDIR/qlong.log")" 1
sql "SELECT durable.terminate_workflow('$q', 'test over')" >/dev/null
finish
