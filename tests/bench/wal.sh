#!/usr/bin/env bash
# What one activity writes: N one-activity workflows (BenchSeq1) run by one
# durable-worker process, from a checkpoint, with autovacuum paused, and the
# WAL between the two points read back with pg_walinspect and attributed to
# the relation of each record's first block (a commit has none).
# Needs PG* set (a durable cluster, superuser), the worker binary and the
# plugin (tests/bench/workflows.c):
#   wal.sh WORKER_BIN PLUGIN [N]     (N workflows: 500, or WAL_N; WAL_WARMUP
#                                    workflows before the window: N / 5 + 1)
# The N are started at once (a burst: both queues keep a backlog, so eager
# activities and the hand-back mostly stand aside), or with WAL_QUIET=1 one
# at a time, each once the one before has closed (a worker with room: they
# take every task they may). WAL_WORKER_ARGS adds arguments to the worker's
# (e.g. --no-eager --no-handback). WAL_TYPE=BenchSeq3 runs the three-activity
# shape instead (the peers bench's; figures then per activity, a third of a
# workflow's), WAL_WALDUMP=1 adds pg_waldump --stats=record of the window
# (PostgreSQL's own count, images apart) to the breakdown.
# Prints "name value" lines on stdout, per activity (= per workflow of BenchSeq1):
#   wal_bytes_per_activity          WAL between the two LSNs
#   wal_fpi_bytes_per_activity      of which full-page images (one per page
#                                   first touched after the checkpoint, so this
#                                   shrinks as N grows: compare at equal N)
#   wal_records_per_activity        WAL records
#   wal_rows_inserted_per_activity  heap rows of durable's tables
#   wal_rows_updated_per_activity   (pg_stat_user_tables, before and after)
#   wal_rows_deleted_per_activity
#   wal_index_entries_per_activity  index inserts in the WAL (btree leaf,
#                                   GIN entry or pending list, GiST)
#   hot_update_ratio                HOT updates / updates, durable's tables
#   wal_checkpoints_in_window       0 unless a checkpoint broke the window
# and on stderr the breakdown: by relation, by record type, by both, by step
# (each transaction named by what it writes: the start, a workflow task's
# poll, its completion, the activity's poll and its completion; a batched
# completion's items are subtransactions, each with its own xid, so "other"
# is mostly the commits of their transactions), and rows
# per table (all per activity). WAL_KEEP=1 leaves the window's records
# (durable_walbench.records: LSN, xid, kind, sizes, relation) in the cluster
# for a closer look.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
worker_bin=$1 plugin=$2
n=${3:-${WAL_N:-500}}
type=${WAL_TYPE:-BenchSeq1}
case $type in
    BenchSeq1) per_wf=1 ;;
    BenchSeq3) per_wf=3 ;;
    *) echo "wal.sh: WAL_TYPE is BenchSeq1 or BenchSeq3" >&2; exit 2 ;;
esac
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
tmp=$(mktemp -d)
restore() {
    sql "ALTER SYSTEM RESET autovacuum" >/dev/null && sql "SELECT pg_reload_conf()" >/dev/null || true
    rm -rf "$tmp"
}
trap restore EXIT
. "$top/tests/bench/worker_rate.sh"

sql "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_walinspect" >/dev/null
# Warm up: the tables and indexes have pages and the worker's statements are
# the steady state's, not a first run's.
# WAL_WARMUP (default N / 5 + 1) sets how many: a store that already holds
# many runs shows what random keys cost its indexes (a page first touched
# since the checkpoint is logged whole).
worker_rate "$type" "${WAL_WARMUP:-$(( n / 5 + 1 ))}" 1 >/dev/null
# The snapshot of row counters lives in a scratch schema, written before the
# window opens and after it closes.
sql "ALTER SYSTEM SET autovacuum = off" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
rows() {   # phase: counters of durable's tables into durable_walbench.rows
    sql "INSERT INTO durable_walbench.rows
         SELECT '$1', relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del
           FROM pg_stat_user_tables WHERE schemaname = 'durable'" >/dev/null
}
sql "SET client_min_messages = warning; DROP SCHEMA IF EXISTS durable_walbench CASCADE;
     CREATE SCHEMA durable_walbench;
     CREATE TABLE durable_walbench.rows (phase text, relname name, ins bigint, upd bigint, hot bigint, del bigint)" >/dev/null
sleep 1   # the warm-up's backends have exited and flushed their counters
rows before
sql "CHECKPOINT"
checkpoints() { sql "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"; }
ckpt0=$(checkpoints)
lsn0=$(sql "SELECT pg_current_wal_insert_lsn()")
if [ "${WAL_QUIET:-0}" = 1 ]; then
    # one worker, as worker_rate.sh starts it; each workflow waits for the last
    q="wal-quiet-$RANDOM"
    # shellcheck disable=SC2086
    "$worker_bin" --task-queue "$q" --plugin "$plugin" --concurrency 64 --batch 64 ${WAL_WORKER_ARGS:-} \
        2>>"$tmp/worker.log" &
    quiet_pid=$!
    sleep 0.5
    for i in $(seq 1 "$n"); do
        sql "SELECT durable.start_workflow('$q-$i', '$type', '$q', '1')" >/dev/null
        for _ in $(seq 1 3000); do
            [ "$(sql "SELECT status FROM durable.workflows WHERE workflow_id = '$q-$i' AND task_queue = '$q'")" = COMPLETED ] && break
            sleep 0.01
        done
    done
    kill -TERM "$quiet_pid"; wait "$quiet_pid" 2>/dev/null || true
    [ "$(sql "SELECT count(*) FROM durable.workflows WHERE task_queue = '$q' AND status = 'COMPLETED'")" = "$n" ] ||
        { echo "wal.sh: not all $n quiet workflows completed (worker log:)" >&2; tail -5 "$tmp/worker.log" >&2; exit 1; }
else
    WORKER_RATE_ARGS=${WAL_WORKER_ARGS:-} worker_rate "$type" "$n" 1 >/dev/null
fi
lsn1=$(sql "SELECT pg_current_wal_insert_lsn()")
ckpt1=$(checkpoints)
sleep 1   # the worker's backends flush their counters as they exit
rows after

sql "CREATE TABLE durable_walbench.records AS
     SELECT r.start_lsn, r.xid, r.resource_manager || '/' || r.record_type AS kind, r.record_length, r.fpi_length,
            coalesce(pg_filenode_relation(b[1]::oid, b[3]::oid)::regclass::text, 'filenode ' || b[3], '(no block)')
              || CASE WHEN b[4] <> 'main' THEN ' (' || b[4] || ')' ELSE '' END AS relation
       FROM pg_get_wal_records_info('$lsn0', '$lsn1') r,
            LATERAL (SELECT regexp_match(r.block_ref, 'blkref #0: rel (\d+)/(\d+)/(\d+) fork (\w+)') AS b) m" >/dev/null

per() { echo "round(($1)::numeric / $(( n * per_wf )), ${2:-0})"; }
sql "SELECT 'wal_bytes_per_activity ' || $(per "pg_wal_lsn_diff('$lsn1', '$lsn0')")"
sql "SELECT 'wal_fpi_bytes_per_activity ' || $(per "sum(fpi_length)"),
            'wal_records_per_activity ' || $(per "count(*)" 1),
            'wal_index_entries_per_activity ' || $(per "count(*) FILTER (WHERE kind ~ '^(Btree/INSERT_LEAF|Gin/INSERT$|Gin/UPDATE_META_PAGE|Gist/PAGE_UPDATE)')" 1)
       FROM durable_walbench.records" | tr '|' '\n'
sql "SELECT 'wal_rows_inserted_per_activity ' || $(per "sum(a.ins - b.ins)" 1),
            'wal_rows_updated_per_activity ' || $(per "sum(a.upd - b.upd)" 1),
            'wal_rows_deleted_per_activity ' || $(per "sum(a.del - b.del)" 1),
            'hot_update_ratio ' || round(sum(a.hot - b.hot)::numeric / nullif(sum(a.upd - b.upd), 0), 3)
       FROM durable_walbench.rows a JOIN durable_walbench.rows b USING (relname)
      WHERE a.phase = 'after' AND b.phase = 'before'" | tr '|' '\n'
echo "wal_checkpoints_in_window $(( ckpt1 - ckpt0 ))"

{
    echo "-- WAL per activity by relation ($n $type workflows, $(( n * per_wf )) activities, from $lsn0 to $lsn1)"
    psql -qX -P footer=off -c "
        SELECT relation, $(per "count(*)" 2) AS records, $(per "sum(record_length)") AS bytes,
               $(per "sum(fpi_length)") AS fpi_bytes,
               round(100.0 * sum(record_length) / sum(sum(record_length)) OVER (), 1) AS pct
          FROM durable_walbench.records GROUP BY relation ORDER BY sum(record_length) DESC"
    echo "-- by record type"
    psql -qX -P footer=off -c "
        SELECT kind, $(per "count(*)" 2) AS records, $(per "sum(record_length)") AS bytes,
               $(per "sum(fpi_length)") AS fpi_bytes,
               round(100.0 * sum(record_length) / sum(sum(record_length)) OVER (), 1) AS pct
          FROM durable_walbench.records GROUP BY kind ORDER BY sum(record_length) DESC"
    echo "-- by relation and record type (top 30)"
    psql -qX -P footer=off -c "
        SELECT relation, kind, $(per "count(*)" 2) AS records, $(per "sum(record_length)") AS bytes,
               $(per "sum(fpi_length)") AS fpi_bytes
          FROM durable_walbench.records GROUP BY relation, kind ORDER BY sum(record_length) DESC LIMIT 30"
    echo "-- by step: each transaction (or completion item's subtransaction) named by what it writes"
    psql -qX -P footer=off -c "
        WITH x AS (
            SELECT xid,
                   bool_or(relation = 'durable.workflows' AND kind LIKE 'Heap/INSERT%') AS start,
                   bool_or(relation = 'durable.workflows' AND kind LIKE 'Heap/%UPDATE%') AS close,
                   bool_or(relation = 'durable.workflow_tasks' AND kind LIKE 'Heap/%UPDATE%') AS wt_lease,
                   bool_or(relation = 'durable.activity_tasks' AND kind LIKE 'Heap/INSERT%') AS at_insert,
                   bool_or(relation = 'durable.activity_tasks' AND kind LIKE 'Heap/%UPDATE%') AS at_lease,
                   bool_or(relation = 'durable.activity_tasks' AND kind = 'Heap/DELETE') AS at_delete
              FROM durable_walbench.records WHERE xid <> 0 GROUP BY xid)
        SELECT coalesce(CASE WHEN start THEN 'start'
                             WHEN close THEN 'workflow task completion that closes'
                             WHEN at_insert THEN 'workflow task completion that schedules'
                             WHEN at_delete THEN 'activity completion'
                             WHEN at_lease THEN 'activity poll'
                             WHEN wt_lease THEN 'workflow task poll'
                             WHEN x.xid IS NOT NULL THEN 'other' END, '(no transaction)') AS step,
               $(per "count(*)" 2) AS records, $(per "sum(record_length)") AS bytes,
               $(per "sum(fpi_length)") AS fpi_bytes,
               round(100.0 * sum(record_length) / sum(sum(record_length)) OVER (), 1) AS pct
          FROM durable_walbench.records r LEFT JOIN x USING (xid) GROUP BY 1 ORDER BY sum(record_length) DESC"
    echo "-- rows per activity by table (pg_stat_user_tables)"
    psql -qX -P footer=off -c "
        SELECT relname AS table, $(per "a.ins - b.ins" 2) AS inserted, $(per "a.upd - b.upd" 2) AS updated,
               $(per "a.hot - b.hot" 2) AS hot, $(per "a.del - b.del" 2) AS deleted
          FROM durable_walbench.rows a JOIN durable_walbench.rows b USING (relname)
         WHERE a.phase = 'after' AND b.phase = 'before'
           AND (a.ins, a.upd, a.del) IS DISTINCT FROM (b.ins, b.upd, b.del)
         ORDER BY a.ins - b.ins + a.upd - b.upd + a.del - b.del DESC"
    if [ "${WAL_WALDUMP:-0}" = 1 ]; then
        # (the window's whole records, not per activity; the first block's
        # relation is above)
        echo "-- pg_waldump --stats=record, the whole window ($(( n * per_wf )) activities)"
        "$("${PG_CONFIG:-pg_config}" --bindir)/pg_waldump" --stats=record -p "$(sql "SHOW data_directory")/pg_wal" \
            -s "$lsn0" -e "$lsn1"
    fi
} >&2
[ "${WAL_KEEP:-0}" = 1 ] || sql "SET client_min_messages = warning; DROP SCHEMA durable_walbench CASCADE" >/dev/null
