# Scoped grants and fenced query answers with real workers: a durable-worker
# logged in as a role with worker rights on task queue A only cannot lease
# from queue B (the store refuses its polls; another worker then runs B's
# workflow), and answers to a pending query with guessed tokens are refused
# while the real worker's answer gets through.
. "$(dirname "$0")/lib.sh"
SO=$EX/loan_application.so
ns=grants-$RUN; qa=loans-a-$RUN; qb=loans-b-$RUN; role=e2e_queue_a_$RUN
sql "CREATE ROLE $role LOGIN" >/dev/null
sql "SELECT durable.grant_task_queue('$role', '$qa', '$ns')" >/dev/null
cleanup_role() {
	sql "SELECT durable.revoke_task_queue('$role', '$qa', '$ns')" >/dev/null
	sql "DROP ROLE $role" >/dev/null
}
start_loan() {   # id queue
	sql "SELECT durable.start_workflow('$1', 'LoanApplication', '$2', '{\"applicant\": \"ann\", \"amount\": 10}',
	                                   '{\"task_timeout\": 2}', '$ns')" >/dev/null
}
stage() { sql "SELECT durable.query_workflow('$1', 'status', timeout_ms => 30000, namespace => '$ns') ->> 'stage'"; }
a=a-$RUN; b=b-$RUN
start_loan "$a" "$qa"
start_loan "$b" "$qb"

# 1. The limited role works queue A, and is refused on queue B.
PGUSER=$role worker limited_a --task-queue "$qa" --namespace "$ns" --plugin "$SO"; LIMITED_A=$LAST_PID
PGUSER=$role worker limited_b --task-queue "$qb" --namespace "$ns" --plugin "$SO" --identity "limited-b-$RUN"
check "the limited worker runs queue A's workflow" wait_sql "SELECT durable.query_workflow('$a', 'status', timeout_ms => 30000, namespace => '$ns') ->> 'stage'" awaiting_review
refused() { grep -q "poll_workflow_tasks failed: ERROR:  permission denied for task queue \"$qb\"" "$LOGDIR/limited_b.log" &&
	    grep -q "poll_activity_tasks failed: ERROR:  permission denied for task queue \"$qb\"" "$LOGDIR/limited_b.log"; }
check "its polls of queue B are refused with 42501" wait_until 60 refused
check "queue B's workflow task was not leased" \
	eq "$(sql "SELECT t.state || ':' || (SELECT count(*) FROM durable.history h WHERE h.run_id = t.run_id AND h.event_type = 'WorkflowTaskStarted')
	            FROM durable.workflow_tasks t JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$b'")" "SCHEDULED:0"
worker full_b --task-queue "$qb" --namespace "$ns" --plugin "$SO"
check "a worker with the rights runs it" wait_sql "SELECT durable.query_workflow('$b', 'status', timeout_ms => 30000, namespace => '$ns') ->> 'stage'" awaiting_review
check "no event of B's history names the limited worker" \
	eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
	            WHERE w.workflow_id = '$b' AND h.attributes ->> 'identity' = 'limited-b-$RUN'")" 0

# 2. A forged query answer is refused; the real one gets through. With no
# worker on queue A, the query waits; guesses at its token all get DU004.
stop_worker "$LIMITED_A"
sql "SELECT durable.query_workflow('$a', 'status', timeout_ms => 60000, namespace => '$ns')" >"$LOGDIR/asker.out" 2>&1 &
ASKER=$!
check "the query waits for a worker" wait_sql "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%query_workflow(''$a''%' AND wait_event_type = 'Extension'" 1
forge() {   # a worker of queue A guesses 200 tokens, then tries 50 sequential query ids
	PGUSER=$role psql -qXAt <<'SQL'
CREATE FUNCTION pg_temp.attempt(tok text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM durable.answer_query_task(tok, '{"stage": "forged"}');
    RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;
SELECT string_agg(outcome || '=' || n, ' ' ORDER BY outcome) FROM (
    SELECT pg_temp.attempt(tok) AS outcome, count(*) AS n
      FROM (SELECT 'q' || md5(random()::text) AS tok FROM generate_series(1, 200)
            UNION ALL SELECT i::text FROM generate_series(1, 50) i) g
     GROUP BY 1) r;
SQL
}
check "200 guessed tokens get DU004, 50 sequential ids 22023" eq "$(forge)" "22023=50 DU004=200"
check "and the asker has seen none of them" eq "$(kill -0 $ASKER 2>/dev/null && cat "$LOGDIR/asker.out")" ""
PGUSER=$role worker limited_a2 --task-queue "$qa" --namespace "$ns" --plugin "$SO"
wait "$ASKER"
check "the real worker's answer gets through ($(cat "$LOGDIR/asker.out"))" grep -q '"stage": "awaiting_review"' "$LOGDIR/asker.out"
stop_workers
cleanup_role
finish
