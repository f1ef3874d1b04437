#!/usr/bin/env bash
# Batch jobs survive an immediate restart of PostgreSQL (pg_ctl -m immediate)
# in the middle: the timer worker resumes the job after the restart, it
# completes, and every workflow it matched was acted on exactly once. While
# it runs, the job's `done` always equals the signals in the histories (a
# step's signals and its progress commit together). Runs a cluster of its
# own under $DURABLE_RUN_BASE (scripts/test.sh).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
: "${DURABLE_RUN_BASE:?run me through scripts/test.sh}"
bin=${DURABLE_PGBIN:-$($PG_CONFIG --bindir)}
. "$top/tests/lib.sh"

port=$(suite_port 1)
name=batch-restart
bc() { scripts/cluster.sh "$1" "$name" "$port"; }
bc stop >/dev/null 2>&1; rm -rf "${DURABLE_RUN_BASE:?}/$name"
bc start || { echo "batch: the cluster did not start"; exit 1; }
trap 'bc stop >/dev/null 2>&1' EXIT
env_=$(bc env)
sock=$(echo "$env_" | sed -n "s/.*PGHOST='\([^']*\)'.*/\1/p")
data=$(echo "$env_" | sed -n "s/.*DURABLE_PGDATA='\([^']*\)'.*/\1/p")
log=$(echo "$env_" | sed -n "s/.*DURABLE_PGLOG='\([^']*\)'.*/\1/p")
q() { psql -h "$sock" -p "$port" -U postgres -d postgres -qXAt -v ON_ERROR_STOP=1 -c "$1"; }

n=400
q "SELECT count(durable.start_workflow('br-' || i, 'Restart', 'brq')) FROM generate_series(1, $n) i" >/dev/null
q "SELECT durable.start_workflow('br-other', 'Other', 'brq')" >/dev/null
# 400 runs at 40 a second: about ten seconds of work
check "the job matches the $n workflows" \
    "[ \"\$(q \"SELECT durable.start_batch_job('br', 'signal', 'WorkflowType = ''Restart''', '{\\\"signal_name\\\": \\\"go\\\"}', 40)\")\" = $n ]"
done_count() { q "SELECT done FROM durable.batch_jobs WHERE job_id = 'br'"; }
# one statement, one snapshot: the job's progress and the histories agree
consistent() {
    [ "$(q "SELECT (SELECT done FROM durable.batch_jobs WHERE job_id = 'br')
                 = (SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
                     WHERE w.workflow_id LIKE 'br-%' AND h.event_type = 'WorkflowExecutionSignaled')")" = t ]
}
check "the timer worker gets it under way" "eventually 60 '[ \$(done_count) -ge 40 ]'"
samples=0 bad=0
for _ in $(seq 1 5); do samples=$((samples + 1)); consistent || bad=$((bad + 1)); sleep 0.2; done
as_pg "$bin/pg_ctl" -D "$data" -l "$log" -m immediate -w restart >/dev/null \
    || { nok "the server restarts"; summary batch; exit 1; }
for _ in $(seq 1 60); do q "SELECT 1" >/dev/null 2>&1 && break; sleep 0.5; done
at_restart=$(done_count)
check "the restart came in the middle of the job ($at_restart of $n done)" "[ $at_restart -gt 0 ] && [ $at_restart -lt $n ]"
check "the committed progress agrees with the histories after the crash" "consistent"
check "the job completes after the restart" \
    "eventually 180 '[ \"\$(q \"SELECT state FROM durable.batch_jobs WHERE job_id = '\''br'\''\")\" = COMPLETED ]'"
for _ in $(seq 1 5); do samples=$((samples + 1)); consistent || bad=$((bad + 1)); done
check "progress and histories agreed in all $samples samples" "[ $bad -eq 0 ]"
check "done = total = $n, nothing failed" \
    "[ \"\$(q \"SELECT done || '/' || failed || '/' || total FROM durable.batch_jobs WHERE job_id = 'br'\")\" = '$n/0/$n' ]"
check "every matched workflow got the signal exactly once" \
    "[ \"\$(q \"SELECT count(*) FROM durable.workflows w WHERE w.workflow_id LIKE 'br-%' AND w.workflow_type = 'Restart'
               AND (SELECT count(*) FROM durable.history h WHERE h.run_id = w.run_id
                     AND h.event_type = 'WorkflowExecutionSignaled' AND h.attributes ->> 'identity' = 'batch job br') = 1\")\" = $n ]"
check "and the workflow it did not match got none" \
    "[ \"\$(q \"SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
               WHERE w.workflow_id = 'br-other' AND h.event_type = 'WorkflowExecutionSignaled'\")\" = 0 ]"
check "no step failed in the server log" "! grep -q 'a step of a batch job failed' \"$log\""
summary batch
