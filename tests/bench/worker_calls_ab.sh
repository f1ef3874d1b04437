#!/usr/bin/env bash
# The C worker's own SQL calls in one backend, A/B (docs/performance.md,
# "The worker's calls in the server"): for each of two checkouts' installs
# (built and installed into their own .run/pg, as for history_cpu_ab.sh), a
# fresh cluster, N one-activity workflows taken through the calls the C
# worker makes, each phase in one session whose own CPU is read from its
# /proc/self/stat (cpu_view) around it:
#   schedule  complete_workflow_tasks, 50 completions a call, each with
#             the ScheduleActivityTask the worker sends for an activity
#             without options (its empty retry policy included)
#   handback  complete_activity_tasks_eager, 50 outcomes a call with 50
#             workflow slots offered (every task handed back leased), the
#             runs' histories cached up to the activity's scheduling (as
#             the worker's sticky cache holds them)
#   close     complete_workflow_tasks of those tasks, 50 a call
# (activity and first workflow tasks leased by polls of 100, not measured;
# batches of 50, as the worker's are at most 64).
# Prints per round and variant µs of CPU per workflow of each phase; the
# machine's other load moves a backend's own CPU far less than rates.
#   tests/bench/worker_calls_ab.sh A_WORKTREE [ROUNDS] [N]      (4, 3000)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
a_tree=$(cd "${1:?usage: worker_calls_ab.sh A_WORKTREE [ROUNDS] [N]}" && pwd)
rounds=${2:-4} n=${3:-3000}
port=${DURABLE_BENCH_PORT:-55753}
one() (
tree=$1
cd "$top"; export PG_CONFIG=$tree/.run/pg/lib/postgresql/15/bin/pg_config; export PATH=$(dirname "$PG_CONFIG"):$PATH
here=tests/bench; . tests/bench/lib.sh
fresh_cluster wcalls "$port" >/dev/null; eval "$(scripts/cluster.sh env wcalls "$port")"
{ cpu_view
cat <<SQL
SELECT count(durable.start_workflow('c-' || i, 'BenchSeq1', 'wq', '1')) FROM generate_series(1, $n) i;
CREATE TEMP TABLE cmd AS SELECT '[{"type": "ScheduleActivityTask", "activity_id": "1", "activity_type": "noop",
    "input": 1, "start_to_close_timeout": 300, "retry_policy": {}}]'::jsonb AS c;
CREATE TEMP TABLE t1 AS SELECT * FROM durable.poll_workflow_tasks('wq', 'w1', 1000) LIMIT 0;
DO \$\$ BEGIN LOOP
    INSERT INTO t1 SELECT * FROM durable.poll_workflow_tasks('wq', 'w1', 100);
    EXIT WHEN NOT FOUND;
END LOOP; END \$\$;
CREATE TEMP TABLE b1 AS SELECT (row_number() OVER () - 1) / 50 AS b,
    jsonb_build_object('task_token', task_token, 'commands', (SELECT c FROM cmd)) AS item FROM t1;
SELECT ticks AS s0 FROM cpu \gset
SELECT count(*) FROM (SELECT durable.complete_workflow_tasks(jsonb_agg(item), 'w1') FROM b1 GROUP BY b) x;
SELECT ticks AS s1 FROM cpu \gset
CREATE TEMP TABLE a1 AS SELECT * FROM durable.poll_activity_tasks('noop-never', 'w1', 1) LIMIT 0;
DO \$\$ BEGIN LOOP
    INSERT INTO a1 SELECT * FROM durable.poll_activity_tasks('wq', 'w1', 100);
    EXIT WHEN NOT FOUND;
END LOOP; END \$\$;
CREATE TEMP TABLE o1 AS SELECT (row_number() OVER () - 1) / 50 AS b,
    jsonb_build_object('task_token', task_token, 'result', 1) AS item, a1.run_id,
    (SELECT max(h.event_id) FROM durable.history h WHERE h.run_id = a1.run_id) AS last FROM a1;
CREATE TEMP TABLE t2 AS SELECT * FROM durable.complete_activity_tasks_eager('[]', 'w1', 'wq', 1) LIMIT 0;
SELECT ticks AS h0 FROM cpu \gset
SELECT count(*) FROM (SELECT b FROM o1 GROUP BY b ORDER BY b) g,
    LATERAL (SELECT durable.complete_activity_tasks_eager((SELECT jsonb_agg(item) FROM o1 WHERE o1.b = g.b), 'w1', 'wq', 50,
                                                          'default', (SELECT jsonb_object_agg(run_id, last) FROM o1 WHERE o1.b = g.b))) x;
SELECT ticks AS h1 FROM cpu \gset
SELECT count(*) AS handed_back FROM durable.workflow_tasks WHERE task_queue = 'wq' AND state = 'STARTED' \gset
CREATE TEMP TABLE b2 AS SELECT (row_number() OVER () - 1) / 50 AS b,
    jsonb_build_object('task_token', 'w' || task_id || '.' || fence,
                       'commands', '[{"type": "CompleteWorkflowExecution", "result": 1}]'::jsonb) AS item
  FROM durable.workflow_tasks WHERE task_queue = 'wq' AND state = 'STARTED';
SELECT ticks AS c0 FROM cpu \gset
SELECT count(*) FROM (SELECT durable.complete_workflow_tasks(jsonb_agg(item), 'w1') FROM b2 GROUP BY b) x;
SELECT ticks AS c1 FROM cpu \gset
SELECT count(*) AS closed FROM durable.workflows WHERE task_queue = 'wq' AND status = 'COMPLETED' \gset
\echo :s0 :s1 :h0 :h1 :c0 :c1 :handed_back :closed
SQL
} > "$PGHOST/run.sql"
hz=$(getconf CLK_TCK)
psql -qXAt -v ON_ERROR_STOP=1 -f "$PGHOST/run.sql" | tail -1 |
    awk -v hz="$hz" -v n="$n" '{ f = 1e6 / hz / n
        printf "schedule %.1f handback %.1f close %.1f handed_back %d closed %d\n",
               ($2 - $1) * f, ($4 - $3) * f, ($6 - $5) * f, $7, $8 }'
scripts/cluster.sh stop wcalls "$port" >/dev/null
)
for r in $(seq 1 "$rounds"); do
    echo "A $(one "$a_tree")"
    echo "B $(one "$top")"
done
