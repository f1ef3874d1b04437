# Numbers come back as they went in, through a real worker: a C activity (and
# its heartbeat details), an executable activity, and a search attribute
# that a filter for 3.14 then finds. jsonb compares numbers exactly, so
# 0.10000000000000001 would not equal 0.1.
. "$(dirname "$0")/lib.sh"
q=numbers-$RUN
worker numbers --task-queue "$q" --plugin "$WORKER_DIR/build/tests/numbers.so" \
    --activities-dir "$(dirname "$0")/activities"
input='{"price": 0.1, "rate": 3.14, "tiny": 1e-7, "money": [19.99, 0.3, 1234567.89, 0.01],
        "big": 9007199254740993, "max": 9223372036854775807, "neg": -42.5, "exp": 6.02214076e23,
        "small": 1.602176634e-19, "whole": 100.0, "sum": 0.30000000000000004}'
sql "SELECT durable.start_workflow('$q', 'Numbers', '$q', '$input')" >/dev/null
check "the C activity heartbeats its input" wait_sql \
    "SELECT count(*) FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id)
      WHERE w.workflow_id = '$q' AND a.heartbeat_details IS NOT NULL" 1
check "the heartbeat details are the input, number for number" eq "$(sql "SELECT a.heartbeat_details = '$input'::jsonb
      FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$q'")" t
touch "$DURABLE_LEDGER.go-$q"
check "it completes" wait_closed "$q"
check "as COMPLETED" eq "$(status_of "$q")" COMPLETED
res() { sql "SELECT result -> '$1' = '$input'::jsonb FROM durable.workflows WHERE workflow_id = '$q'"; }
check "through the C activity, every number is unchanged" eq "$(res via_c)" t
check "the heartbeat details came back to the next attempt unchanged" eq "$(res details)" t
check "through the executable activity too" eq "$(res via_exec)" t
check "0.1 is stored as 0.1 (not 0.10000000000000001)" eq \
    "$(sql "SELECT result -> 'via_c' ->> 'price' FROM durable.workflows WHERE workflow_id = '$q'")" 0.1
check "2^53 + 1 stays that integer" eq \
    "$(sql "SELECT result -> 'via_exec' ->> 'big' FROM durable.workflows WHERE workflow_id = '$q'")" 9007199254740993
check "the upserted search attribute is 3.14" eq \
    "$(sql "SELECT search_attributes ->> 'rate' FROM durable.workflows WHERE workflow_id = '$q'")" 3.14
check "so a filter for 3.14 finds it" eq \
    "$(sql "SELECT count(*) FROM durable.list_workflows(search_attributes => '{\"rate\": 3.14}') WHERE workflow_id = '$q'")" 1
finish
