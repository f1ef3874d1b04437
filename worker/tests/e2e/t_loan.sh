# Loan application: a reviewer's signal, a N-day timeout (skip_time), the
# status query, and kill -9 of the worker while it waits.
. "$(dirname "$0")/lib.sh"
SO=$EX/loan_application.so
worker loans --task-queue loans --plugin "$SO"; LOANS=$LAST_PID
start_loan() { sql "SELECT durable.start_workflow('$1', 'LoanApplication', 'loans', '$2', '{\"task_timeout\": 2}')" >/dev/null; }
stage() { sql "SELECT durable.query_workflow('$1', 'status', timeout_ms => 30000) ->> 'stage'"; }

yes=yes-$RUN; no=no-$RUN; late=late-$RUN
start_loan "$yes" '{"applicant": "ann", "amount": 5000, "review_days": 3}'
start_loan "$no" '{"applicant": "cy", "amount": 900, "review_days": 3}'
start_loan "$late" '{"applicant": "di", "amount": 100, "review_days": 2}'
check "approved loan awaits review" wait_sql "SELECT durable.query_workflow('$yes', 'status', timeout_ms => 30000) ->> 'stage'" awaiting_review
check "the status query shows the credit score" eq "$(sql "SELECT durable.query_workflow('$yes', 'status', timeout_ms => 30000) ? 'credit_score'")" t
check "rejected loan awaits review" wait_sql "SELECT durable.query_workflow('$no', 'status', timeout_ms => 30000) ->> 'stage'" awaiting_review
check "late loan awaits review" wait_sql "SELECT durable.query_workflow('$late', 'status', timeout_ms => 30000) ->> 'stage'" awaiting_review

# kill -9 while they wait: a new worker picks up where the history says
kill -9 "$LOANS"
worker loans2 --task-queue loans --plugin "$SO"
sql "SELECT durable.signal_workflow('$yes', 'review_decision', '{\"approved\": true, \"reviewer\": \"bo\"}')" >/dev/null
sql "SELECT durable.signal_workflow('$no', 'review_decision', '{\"approved\": false, \"reviewer\": \"bo\"}')" >/dev/null
check "signaled loans close" wait_closed "$yes" "$no"
check "approved" eq "$(sql "SELECT result ->> 'decision' FROM durable.workflows WHERE workflow_id = '$yes'")" approved
check "approved by the reviewer" eq "$(sql "SELECT result ->> 'reviewer' FROM durable.workflows WHERE workflow_id = '$yes'")" bo
check "money disbursed once" eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$yes' AND h.event_type = 'ActivityTaskCompleted'")" 2
check "rejected" eq "$(sql "SELECT result ->> 'decision' FROM durable.workflows WHERE workflow_id = '$no'")" rejected
check "the review timer was canceled" eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$yes' AND h.event_type = 'TimerCanceled'")" 1
check "the late loan still waits" eq "$(status_of "$late")" RUNNING

# two days later, nobody answered
sql "SELECT durable.skip_time('2 days 1 second')" >/dev/null
check "the late loan closes" wait_closed "$late"
check "it expired" eq "$(sql "SELECT result ->> 'decision' FROM durable.workflows WHERE workflow_id = '$late'")" expired
for id in "$yes" "$no" "$late"; do check "$id closed exactly once" eq "$(closes "$id")" 1; done
finish
