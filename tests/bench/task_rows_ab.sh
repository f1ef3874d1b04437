#!/usr/bin/env bash
# The task rows' own statements in one backend, A/B: the CPU time one session
# spends per row to insert, lease and delete workflow tasks and activity
# tasks, each statement as the store runs it (one plpgsql statement per row:
# _schedule_workflow_task's INSERT, or its durable._insert_workflow_task
# where the store has it, the poll's lease UPDATE, the completion's
# DELETE; _cmd_schedule_activity's INSERT, or its _insert_activity_task
# where the store has it, the activity poll's set-based
# lease of up to 100, _drop_activity_task's DELETE), over N runs started
# beforehand, from that backend's own /proc/self/stat (as floor_cpu.sh).
# Only the rows: no history, no notification, no run lock.
# A runs on A_TREE's own build and install (its .run/pg, as floor_cpu.sh's
# A_TREE), on a cluster of its own; B on this checkout's; alternated.
# Not part of make bench.
#   A_TREE=<worktree> tests/bench/task_rows_ab.sh [ROUNDS] [N]     (3, 10000)
# Prints per round "variant wt_insert wt_lease wt_delete at_insert at_lease
# at_delete" in µs per row, then the ratio B / A of each column's medians.
# Needs a private PostgreSQL with this checkout installed (export
# PG_CONFIG=$(scripts/pginst.sh $PWD/.run/pg)).
set -euo pipefail
. "$(dirname "$0")/lib.sh"   # ab_setup, ab_side, product_statement, cpu_view, ab_ratio
rounds=${1:-3} n=${2:-10000}
: "${A_TREE:?A_TREE=<worktree> of the A side}"
ab_setup task-rows 55498

# Where a store has no C insert, its own statements (A_TREE's, the side that
# may lack them), run with their variables set as their functions set them:
# a copy would drift. (None: that side must have the C inserts.)
wt_insert=$(product_statement "$a_tree/sql/durable--0.2/api/02_internal.sql" durable._schedule_workflow_task \
                '^    INSERT INTO durable.workflow_tasks (' 'durable.now());$')
at_insert=$(product_statement "$a_tree/sql/durable--0.2/api/06_commands.sql" durable._cmd_schedule_activity \
                '^    INSERT INTO durable.activity_tasks (' ' INTO task;$')

{ cat <<'SQL'
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS durable CASCADE;
CREATE EXTENSION durable;
SELECT count(durable.start_workflow('r-' || i, 'W', 'rq')) FROM generate_series(1, :n) i;
CREATE TEMP TABLE runs AS SELECT run_id, namespace, workflow_id, task_queue FROM durable.workflows;
DELETE FROM durable.workflow_tasks;
VACUUM durable.workflow_tasks;
CHECKPOINT;
SQL
cpu_view
cat <<'SQL'
CREATE FUNCTION pg_temp.rows(n integer) RETURNS text LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    r record;
    t bigint;
    -- the variables of the store's statements (_schedule_workflow_task's,
    -- _cmd_schedule_activity's)
    w record; run uuid; attempt integer := 1; scheduled bigint; now timestamptz; task bigint;
    cmd jsonb := '{"input": 1}'; activity_id text := '1'; activity_type text := 'noop'; queue text := 'raq';
    s2c interval; s2s interval; stc interval := '10 min'; hb interval; initial interval := '1 s';
    backoff float8 := 2; max_interval interval := '100 s'; max_attempts float8 := 0; non_retryable text[] := '{}';
    deadline timestamptz; prio record; eager text;
    c bigint[] := ARRAY[]::bigint[];
    leased integer;
    -- the store's inserts, in C where it has them (task_insert.c)
    direct boolean := to_regprocedure('durable._insert_workflow_task(uuid,text,text,integer,bigint,timestamptz)') IS NOT NULL;
    direct_activity boolean := to_regproc('durable._insert_activity_task') IS NOT NULL;
BEGIN
    c := c || (SELECT ticks FROM cpu);
    scheduled := 2;
    FOR w IN SELECT * FROM runs LOOP
        IF direct THEN
            t := durable._insert_workflow_task(w.run_id, w.namespace, w.task_queue, 1, 2, durable.now());
        ELSE
            run := w.run_id;
SQL
echo "${wt_insert:-RAISE EXCEPTION 'A_TREE has no INSERT INTO durable.workflow_tasks in _schedule_workflow_task';}"
cat <<'SQL'
        END IF;
    END LOOP;
    c := c || (SELECT ticks FROM cpu);
    FOR r IN SELECT wt.task_id FROM durable.workflow_tasks wt ORDER BY wt.task_id LOOP
        UPDATE durable.workflow_tasks wt
           SET state = 'STARTED', fence = wt.fence + 1, started_event_id = 3, identity = 'bench', build_id = NULL,
               started_at = durable.now(), timeout_at = durable.now() + interval '10 s'
         WHERE wt.task_id = r.task_id;
    END LOOP;
    c := c || (SELECT ticks FROM cpu);
    FOR r IN SELECT wt.task_id FROM durable.workflow_tasks wt ORDER BY wt.task_id LOOP
        DELETE FROM durable.workflow_tasks wt WHERE wt.task_id = r.task_id;
    END LOOP;
    c := c || (SELECT ticks FROM cpu);
    scheduled := 5;
    SELECT 3::smallint AS priority, ''::text AS fairness_key, 1::float8 AS fairness_weight INTO prio;
    FOR w IN SELECT * FROM runs LOOP
      IF direct_activity THEN
        t := durable._insert_activity_task(w.run_id, w.namespace, w.workflow_id, 5, '1', 'noop', 'raq', '1',
            durable.now(), durable.now(), NULL, NULL, interval '10 min', NULL, interval '1 s', 2, interval '100 s',
            0, '{}', NULL, '', 3::smallint, 1);
      ELSE
        now := durable.now();
SQL
echo "${at_insert:-RAISE EXCEPTION 'A_TREE has no INSERT INTO durable.activity_tasks in _cmd_schedule_activity';}"
cat <<'SQL'
      END IF;
    END LOOP;
    c := c || (SELECT ticks FROM cpu);
    LOOP
        WITH picked AS (
            SELECT a.task_id FROM durable.activity_tasks a
             WHERE a.namespace = 'default' AND a.task_queue = 'raq' AND a.state = 'SCHEDULED'
             ORDER BY a.priority, a.pass, a.task_id LIMIT 100 FOR UPDATE SKIP LOCKED
        )
        UPDATE durable.activity_tasks a
           SET state = 'STARTED', fence = a.fence + 1, identity = 'bench', started_at = durable.now(),
               last_heartbeat_at = NULL,
               timeout_at = least(durable.now() + a.start_to_close_timeout,
                                  a.scheduled_at + a.schedule_to_close_timeout, durable.now() + a.heartbeat_timeout)
          FROM picked WHERE a.task_id = picked.task_id;
        GET DIAGNOSTICS leased = ROW_COUNT;
        EXIT WHEN leased = 0;
    END LOOP;
    c := c || (SELECT ticks FROM cpu);
    FOR r IN SELECT a.task_id FROM durable.activity_tasks a ORDER BY a.task_id LOOP
        DELETE FROM durable.activity_tasks a WHERE a.task_id = r.task_id;
    END LOOP;
    c := c || (SELECT ticks FROM cpu);
    RETURN (SELECT string_agg(round((c[i + 1] - c[i]) * 1e6 / current_setting('bench.hz')::numeric / n, 2)::text, ' ')
              FROM generate_series(1, 6) i);
END
$$;
SELECT pg_temp.rows(:n);
SQL
} > "$tmp/run.sql"

hz=$(getconf CLK_TCK)
round() {   # A or B -> "variant six µs-per-row figures"
    ab_side "$1"
    echo "$1 $(PGOPTIONS="-c bench.hz=$hz" psql -qXAt -v n="$n" -f "$tmp/run.sql" | tail -1)"
}
echo "variant wt_insert wt_lease wt_delete at_insert at_lease at_delete (µs per row, one backend's CPU; A = $a_tree, B = checkout, N = $n)"
for _ in $(seq 1 "$rounds"); do round A; round B; done | tee "$tmp/rounds"
names=(x variant wt_insert wt_lease wt_delete at_insert at_lease at_delete)
for col in 2 3 4 5 6 7; do
    read -r ratio ma mb < <(ab_ratio "$tmp/rounds" "$col")
    echo "${names[$col]} B/A $ratio (medians $ma, $mb µs)"
done
