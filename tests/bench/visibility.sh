#!/usr/bin/env bash
# Visibility at scale, on the store named by PG*: VIS_N runs (default
# 1,000,000) in a namespace of their own, written straight into the store in
# one INSERT (the search-attribute trigger indexes their values), 10% of them
# Billing, a third closed, 10,000 customers. Then the average latency
# (pgbench, one client, VIS_T calls) of filtered lists and counts through
# list_workflows(query => ...) and count_workflows, against the same question
# asked the 0.1 way (list_workflows(search_attributes => ...), which reads
# every id of the namespace) and describe_workflow (one run, the floor) in the
# same run. Last, what the write path pays: starts per second with declared
# attributes against undeclared ones, and with the two visibility indexes of
# workflows against without (alternated, two rounds each, on a loaded
# machine). Prints "name value" lines. Leaves its data: run it on a store
# that is thrown away (make bench resets the store first).
set -euo pipefail
n=${VIS_N:-1000000}
calls=${VIS_T:-20}
secs=${VIS_SECS:-5}
ns=vis-bench
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
latency_ms() {   # SQL: average latency of $calls calls, one client
    echo "$1" > "$tmp/q.sql"
    pgbench -n -c 1 -t "$calls" -f "$tmp/q.sql" 2>/dev/null | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p'
}
tps() {   # SQL clients: transactions per second over $secs
    echo "$1" > "$tmp/w.sql"
    pgbench -n -c "$2" -j "$2" -T "$secs" -f "$tmp/w.sql" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "null" }'; }

# (a second run over the same store reuses the rows)
if [ "$(sql "SELECT count(*) FROM durable.workflows WHERE namespace = '$ns'")" -lt "$n" ]; then
    sql "SELECT durable.add_search_attribute('CustomerId', 'Keyword', '$ns'),
                durable.add_search_attribute('Amount', 'Int', '$ns')" >/dev/null
    s=$(date +%s.%N)
    sql "INSERT INTO durable.workflows (run_id, namespace, workflow_id, workflow_type, task_queue, status,
                                        search_attributes, first_run_id, execution_started_at, started_at, closed_at)
         SELECT r, '$ns', 'vis-' || lpad(i::text, 7, '0'), CASE WHEN i % 10 = 0 THEN 'Billing' ELSE 'Other' || (i % 7) END,
                'vq', CASE WHEN i % 3 = 0 THEN 'COMPLETED' ELSE 'RUNNING' END,
                jsonb_build_object('CustomerId', 'c-' || (i % 10000), 'Amount', i % 1000),
                r, timestamptz '2026-11-20' - i * interval '1 second', timestamptz '2026-11-20' - i * interval '1 second',
                CASE WHEN i % 3 = 0 THEN timestamptz '2026-11-21' END
           FROM generate_series(1, $n) i, LATERAL (SELECT md5('$ns' || i)::uuid AS r) u"
    e=$(date +%s.%N)
    echo "visibility_insert_rows_per_s $(awk -v s="$s" -v e="$e" -v n="$n" 'BEGIN { printf "%.0f", n / (e - s) }')"
fi
echo "visibility_rows $n"
psql -qXAt -c "VACUUM ANALYZE durable.workflows" -c "VACUUM ANALYZE durable.search_attribute_values"

q() { echo "SELECT count(*) FROM durable.list_workflows(query => \$q\$$1\$q\$, page_size => 100, namespace => '$ns');"; }
floor=$(latency_ms "SELECT durable.describe_workflow('vis-0000070', namespace => '$ns');")
echo "visibility_describe_ms $floor"
issue=$(latency_ms "$(q "WorkflowType = 'Billing' AND ExecutionStatus = 'Running' AND CustomerId = 'c-70' AND StartTime > '2026-11-01T00:00:00Z'")")
echo "visibility_issue_filter_ms $issue"
echo "visibility_issue_filter_vs_describe $(ratio "$issue" "$floor")"
old=$(latency_ms "SELECT count(*) FROM durable.list_workflows(search_attributes => '{\"CustomerId\": \"c-70\"}', page_size => 100, namespace => '$ns');")
echo "visibility_same_question_0_1_ms $old"
echo "visibility_0_1_vs_filter $(ratio "$old" "$issue")"
t=$(latency_ms "$(q "WorkflowType = 'Billing' AND ExecutionStatus = 'Running'")")
echo "visibility_type_status_page_ms $t"
t=$(latency_ms "$(q "Amount BETWEEN 100 AND 101 ORDER BY Amount DESC")")
echo "visibility_int_range_ordered_page_ms $t"
t=$(latency_ms "$(q "CustomerId IN ('c-1', 'c-2', 'c-3') OR CustomerId STARTS_WITH 'c-999'")")
echo "visibility_in_or_prefix_page_ms $t"
t=$(latency_ms "SELECT * FROM durable.count_workflows('$ns', \$q\$CustomerId = 'c-70' GROUP BY ExecutionStatus\$q\$);")
echo "visibility_count_customer_by_status_ms $t"
t=$(latency_ms "SELECT * FROM durable.count_workflows('$ns', \$q\$WorkflowType = 'Billing' GROUP BY ExecutionStatus\$q\$);")
echo "visibility_count_100k_by_status_ms $t"
# a page deep in a filtered list: 50 pages of 100 in, by after_run_id
after=$(sql "SELECT run_id FROM durable.list_workflows(query => \$q\$WorkflowType = 'Billing'\$q\$, page_size => 5000, namespace => '$ns')
             OFFSET 4999 LIMIT 1")
t=$(latency_ms "SELECT count(*) FROM durable.list_workflows(query => \$q\$WorkflowType = 'Billing'\$q\$, page_size => 100, after_run_id => '$after', namespace => '$ns');")
echo "visibility_page_51_ms $t"

# The write path: starts with attributes, declared or not; with and without
# the two indexes of workflows that the filters use.
doc='{"search_attributes": {"CustomerId": "c-1", "Amount": 5}}'
sql "SELECT durable.add_search_attribute('CustomerId', 'Keyword', 'vis-w-typed'),
            durable.add_search_attribute('Amount', 'Int', 'vis-w-typed')" >/dev/null
typed=$(tps "SELECT durable.start_workflow(gen_random_uuid()::text, 'W', 'vw', NULL, '$doc', 'vis-w-typed');" 4)
untyped=$(tps "SELECT durable.start_workflow(gen_random_uuid()::text, 'W', 'vw', NULL, '$doc', 'vis-w-untyped');" 4)
echo "visibility_starts_typed_per_s $typed"
echo "visibility_starts_untyped_per_s $untyped"
echo "visibility_typed_vs_untyped $(ratio "$typed" "$untyped")"
plain="SELECT durable.start_workflow(gen_random_uuid()::text, 'W', 'vw', NULL, NULL, 'vis-w-plain');"
with=0 without=0
for _ in 1 2; do
    with=$(awk -v a="$with" -v b="$(tps "$plain" 4)" 'BEGIN { print a + b / 2 }')
    sql "DROP INDEX durable.workflows_by_type; DROP INDEX durable.workflows_by_start"
    without=$(awk -v a="$without" -v b="$(tps "$plain" 4)" 'BEGIN { print a + b / 2 }')
    sql "CREATE INDEX workflows_by_type ON durable.workflows (namespace, workflow_type, started_at, run_id);
         CREATE INDEX workflows_by_start ON durable.workflows (namespace, started_at, run_id);"
done
echo "visibility_starts_with_indexes_per_s $with"
echo "visibility_starts_without_indexes_per_s $without"
echo "visibility_with_vs_without_indexes $(ratio "$with" "$without")"

