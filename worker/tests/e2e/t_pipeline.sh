# Ingestion pipeline: 1,000 pipelines started at once, parallel fetches, one
# worker process killed -9 midway and replaced; a bad source fails visibly.
. "$(dirname "$0")/lib.sh"
SO=$EX/ingestion_pipeline.so
N=${DURABLE_E2E_PIPELINES:-1000}
worker pipe --task-queue pipeline --plugin "$SO" --concurrency 64; PIPE=$LAST_PID
sql "SELECT count(durable.start_workflow('pipe-$RUN-' || i, 'Pipeline', 'pipeline', '{\"source\": \"s3://b/x\", \"parts\": 3}', '{\"task_timeout\": 2}')) FROM generate_series(1, $N) i" >/dev/null
sql "SELECT durable.start_workflow('bad-$RUN', 'Pipeline', 'pipeline', '{\"source\": \"s3://b/bad\", \"parts\": 2, \"bad\": true}')" >/dev/null
done_count() { sql "SELECT count(*) FROM durable.workflows WHERE workflow_id LIKE 'pipe-$RUN-%' AND status = 'COMPLETED'"; }
check "some pipelines finish" wait_sql "SELECT count(*) > 0 FROM durable.workflows WHERE workflow_id LIKE 'pipe-$RUN-%' AND status = 'COMPLETED'" t
kill -9 "$PIPE"
worker pipe2 --task-queue pipeline --plugin "$SO" --concurrency 64
deadline=$((SECONDS + 600))
until [ "$(done_count)" = "$N" ] || [ $SECONDS -ge $deadline ]; do sleep 0.5; done
check "all $N pipelines completed" eq "$(done_count)" "$N"
check "none closed twice" eq "$(sql "SELECT count(*) FROM (SELECT w.workflow_id FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id LIKE 'pipe-$RUN-%' AND h.event_type = 'WorkflowExecutionCompleted' GROUP BY 1 HAVING count(*) > 1) d")" 0
check "each uploaded 3 parts' bytes" eq "$(sql "SELECT count(*) FROM durable.workflows WHERE workflow_id LIKE 'pipe-$RUN-%' AND (result ->> 'uploaded')::int = 3003")" "$N"
check "visibility: the stage is done" eq "$(sql "SELECT count(*) FROM durable.list_workflows(search_attributes => '{\"stage\": \"done\"}', page_size => 100000) WHERE workflow_id LIKE 'pipe-$RUN-%'")" "$N"
check "the bad pipeline closes" wait_closed "bad-$RUN"
check "it failed" eq "$(status_of "bad-$RUN")" FAILED
check "validation is the reason" eq "$(sql "SELECT failure ->> 'type' FROM durable.workflows WHERE workflow_id = 'bad-$RUN'")" ValidationError
check "it stopped at validating" eq "$(sql "SELECT search_attributes ->> 'stage' FROM durable.workflows WHERE workflow_id = 'bad-$RUN'")" validating
finish
