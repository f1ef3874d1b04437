# Issue 4's acceptance: the worker team's loan example, run by a person with
# only the mount. Skipped when the worker is not built.
. "$(dirname "$0")/lib.sh"
need_worker examples/loan_application.so "loan example"
M=$WORK/mnt-loan
q="loans-fs-$$"
trap 'stop_worker; unmount_fs $M' EXIT
start_worker "$q" loan
mount_fs "$M" "$WORK/loan.log" || exit 1

id="loan-$$"
W=$M/workflows/$id
echo "{\"type\": \"LoanApplication\", \"id\": \"$id\", \"task_queue\": \"$q\", \"input\": {\"applicant\": \"ann\", \"amount\": 5000, \"review_days\": 3}}" >"$M/start" \
    && ok "start an application with echo" || not_ok "start"
awaiting() { "$FSX" read "$W/queries/status" | grep -q '"stage": "awaiting_review"'; }
eventually awaiting && ok "queries/status shows it waiting for review" || not_ok "waiting for review"
is "$(cat "$W/status")" "RUNNING" "status is RUNNING while it waits"
# (a query replays the task a worker is still completing: the timer is
# committed when that task is, a moment after the query could answer)
eventually grep -q '"event_type": "TimerStarted"' "$W/history" && ok "history shows the review timer" \
    || not_ok "history shows the review timer: $(cat "$W/history")"
echo '{"approved": true, "reviewer": "bo"}' >"$W/signals/review_decision" && ok "signal the decision with echo" || not_ok "signal"
completed() { [ "$(cat "$W/status")" = COMPLETED ]; }
eventually completed && ok "the workflow completes" || not_ok "completes"
like "$(cat "$W/result")" '"decision": "approved"' "cat result shows the decision"
like "$(cat "$W/result")" '"reviewer": "bo"' "and the reviewer"
is "$(readlink "$M/by-status/COMPLETED/$id")" "../../workflows/$id" "it is listed under by-status/COMPLETED"
[ "$n_fail" -eq 0 ]
