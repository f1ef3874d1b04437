#!/usr/bin/env bash
# What the grant check costs on the hot path: microseconds per
# poll_activity_tasks call (batch 1) from three callers: the superuser, a
# login in durable_worker (the built-in grant on every namespace) and, when
# the store has scoped grants, a login with grants on the task queues. Two
# loads: leasing from a backlog, and polling an empty queue (a worker's idle
# poll: the fixed cost of a call, where the check weighs most). The calls run
# in a loop inside one transaction that is rolled back, so commits (fsync)
# stay out of the figure and every caller leases from the same backlog; the
# best of 40 short rounds is printed (the machine may be shared), as
# "grants_<caller>_<lease|empty>_us N". Then the check alone, as the scoped
# caller sees it through durable.has_access (the same _may query _authorize
# runs, plus one SECURITY DEFINER call): "grants_check_us N".
# Needs PG* set (a durable cluster whose local connections are trusted).
set -euo pipefail
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
cleanup() {
    sql "SELECT durable.revoke_task_queue('bench_scoped', q, 'default') FROM unnest(ARRAY['grants-q', 'grants-empty-q']) q" \
        >/dev/null 2>&1 || true
    sql "DROP ROLE IF EXISTS bench_worker; DROP ROLE IF EXISTS bench_scoped" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
sql "CREATE ROLE bench_worker LOGIN IN ROLE durable_worker" >/dev/null
callers="$(sql "SELECT current_user") bench_worker"
if [ "$(sql "SELECT to_regprocedure('durable.grant_task_queue(text,text,text)') IS NOT NULL")" = t ]; then
    sql "CREATE ROLE bench_scoped LOGIN;
         SELECT durable.grant_task_queue('bench_scoped', q, 'default') FROM unnest(ARRAY['grants-q', 'grants-empty-q']) q" >/dev/null
    callers="$callers bench_scoped"
fi
psql -qX -v ON_ERROR_STOP=1 -f "$(dirname "$0")/sql/fixtures.sql" >/dev/null
sql "DELETE FROM durable.activity_tasks WHERE task_queue = 'grants-q'" >/dev/null
for _ in 1 2 3 4 5 6; do
    sql "SELECT durable_bench.schedule_activities(100, 100, 'grants-wf', 'grants-q')" >/dev/null
done
read -r -d '' cost_fn <<'SQL' || true
CREATE FUNCTION pg_temp.cost(q text, n integer) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    FOR i IN 1 .. n LOOP
        PERFORM count(*) FROM durable.poll_activity_tasks(q, 'bench', 1);
    END LOOP;
    RETURN round(extract(epoch FROM clock_timestamp() - t0) * 1e6 / n, 1);
END
$$;
SQL
read -r -d '' check_fn <<'SQL' || true
CREATE FUNCTION pg_temp.check_cost(n integer) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    FOR i IN 1 .. n LOOP
        PERFORM durable.has_access('worker', 'grants-q', 'default');
    END LOOP;
    RETURN round(extract(epoch FROM clock_timestamp() - t0) * 1e6 / n, 2);
END
$$;
SQL
best_of_40() {   # sql-to-define sql-to-time psql-args... -> the smallest of 40 results
    local define=$1 round=$2; shift 2
    { echo "$define"; for _ in $(seq 1 40); do echo "$round"; done; } |
        psql -qXAt -v ON_ERROR_STOP=1 "$@" | sort -n | head -1
}
for who in $callers; do
    # each round's leases are rolled back; their dead versions would slow the next caller
    sql "VACUUM durable.activity_tasks" >/dev/null
    tag=$([ "$who" = bench_worker ] && echo builtin || { [ "$who" = bench_scoped ] && echo scoped || echo superuser; })
    echo "grants_${tag}_lease_us $(best_of_40 "$cost_fn" "BEGIN; SELECT pg_temp.cost('grants-q', 20); ROLLBACK;" -U "$who")"
    echo "grants_${tag}_empty_us $(best_of_40 "$cost_fn" "BEGIN; SELECT pg_temp.cost('grants-empty-q', 200); ROLLBACK;" -U "$who")"
done
if [ "${callers##* }" = bench_scoped ]; then
    echo "grants_check_us $(best_of_40 "$check_fn" "SELECT pg_temp.check_cost(2000);" -U bench_scoped)"
fi
