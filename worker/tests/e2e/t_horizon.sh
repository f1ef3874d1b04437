# An idle worker holds back no one's xmin horizon: its wait for queries
# (CALL durable.wait_for_query_tasks) commits before it sleeps, so none of its
# connections shows a backend_xmin while it waits in the server, however many
# transactions commit meanwhile. (The long poll it replaced held one for each
# 2 s wait, back to back: VACUUM and HOT pruning of every table lagged, and
# dead index entries of leased tasks could not be killed.) And queries are
# still answered, before and after the idle stretch.
. "$(dirname "$0")/lib.sh"
q=horizon-$RUN
app=durable-worker-$q
PGAPPNAME=$app worker idle --task-queue "$q" --plugin "$EX/loan_application.so"
sql "SELECT durable.start_workflow('$q', 'LoanApplication', '$q', '{\"applicant\": \"hal\", \"amount\": 5, \"review_days\": 3}')" >/dev/null
status() { sql "SELECT durable.query_workflow('$q', 'status', timeout_ms => 30000) ->> 'stage'"; }
check "a query is answered" wait_sql "SELECT durable.query_workflow('$q', 'status', timeout_ms => 30000) ->> 'stage'" awaiting_review

# Samples of the worker's connections while other sessions commit: how many
# showed a connection waiting in the server (wait_event Extension: the wait
# for queries), and how many of those held a backend_xmin; and any idle
# connection holding one.
waiting=0 held=0 idle_held=0
for _ in $(seq 1 25); do
	sql "CREATE TEMP TABLE burn AS SELECT 1; DROP TABLE burn" >/dev/null   # an xid, committed
	read -r w h i < <(sql "SELECT count(*) FILTER (WHERE wait_event = 'Extension'),
	                              count(*) FILTER (WHERE wait_event = 'Extension' AND backend_xmin IS NOT NULL),
	                              count(*) FILTER (WHERE state LIKE 'idle%' AND backend_xmin IS NOT NULL)
	                         FROM pg_stat_activity WHERE application_name = '$app'" | tr '|' ' ')
	waiting=$((waiting + w)) held=$((held + h)) idle_held=$((idle_held + i))
	sleep 0.12
done
check "the worker was seen waiting for queries ($waiting of 25 samples)" [ "$waiting" -gt 0 ]
check "no wait held a backend_xmin ($held of $waiting waiting samples did)" eq "$held" 0
check "no idle connection held one ($idle_held)" eq "$idle_held" 0
check "a query is still answered" eq "$(status)" awaiting_review
check "the worker said nothing of a fallback" eq "$(grep -c 'no wait_for_query_tasks' "$LOGDIR/idle.log")" 0
sql "SELECT durable.terminate_workflow('$q', 'test over')" >/dev/null
finish
