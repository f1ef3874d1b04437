# Typed search attributes through a real worker: the SDK's
# durable_upsert_search_attributes of a declared Double is indexed and found
# by the list filter language; an upsert of a string to it is refused by the
# store (the completion is INVALID, the worker logs why) and changes nothing.
. "$(dirname "$0")/lib.sh"
ns=sa-$RUN
q=sa-q-$RUN
sql "SELECT durable.add_search_attribute('rate', 'Double', '$ns')" >/dev/null
worker sa --namespace "$ns" --task-queue "$q" --plugin "$WORKER_DIR/build/tests/numbers.so" \
    --activities-dir "$(dirname "$0")/activities"
filter() { sql "SELECT string_agg(workflow_id, ',' ORDER BY workflow_id) FROM durable.list_workflows(query => \$f\$$1\$f\$, namespace => '$ns')"; }

sql "SELECT durable.start_workflow('sa-good-$RUN', 'Numbers', '$q', '{\"rate\": 3.14}', NULL, '$ns')" >/dev/null
touch "$DURABLE_LEDGER.go-sa-good-$RUN"
check "the workflow that upserts rate 3.14 completes" wait_closed "sa-good-$RUN"
check "as COMPLETED" eq "$(status_of "sa-good-$RUN")" COMPLETED
check "its typed value is indexed" eq "$(sql "SELECT v.double01 FROM durable.search_attribute_values v
      JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'sa-good-$RUN'")" 3.14
check "rate = 3.14 finds it" eq "$(filter "rate = 3.14")" "sa-good-$RUN"
check "rate > 3 AND ExecutionStatus = 'Completed' finds it" eq "$(filter "rate > 3 AND ExecutionStatus = 'Completed'")" "sa-good-$RUN"
check "rate < 3 does not" eq "$(filter "rate < 3")" ""

sql "SELECT durable.start_workflow('sa-bad-$RUN', 'Numbers', '$q', '{\"rate\": \"high\"}', NULL, '$ns')" >/dev/null
touch "$DURABLE_LEDGER.go-sa-bad-$RUN"
refused() { grep -q "completion refused: search attribute \"rate\" (Double) must be a JSON number" "$LOGDIR/sa.log"; }
check "the upsert of a string is refused, and the worker logs why" wait_until 60 refused
check "the workflow did not complete" eq "$(status_of "sa-bad-$RUN")" RUNNING
check "nothing was upserted" eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
      WHERE w.workflow_id = 'sa-bad-$RUN' AND h.event_type = 'UpsertWorkflowSearchAttributes'")" 0
check "nor indexed" eq "$(filter "rate IS NOT NULL")" "sa-good-$RUN"
sql "SELECT durable.terminate_workflow('sa-bad-$RUN', 'test over', namespace => '$ns')" >/dev/null
finish
