#!/usr/bin/env bash
# History appends decode as the INSERT statement's did: _append writes the row
# with heap_insert (pgext/src/history_append.c), and logical decoding (a
# publication, a CDC tool reading the history) must see every event, with
# every column, exactly as it saw the executor's insert. On a cluster of its
# own at wal_level = logical, with test_decoding: the same events written
# once by _append_at and once through durable.history's INSERT trigger (the
# SQL path), into the same run, decode to the same INSERT lines; a value
# stored out of line is decoded whole.
# Runs under $DURABLE_RUN_BASE with a cluster of its own (scripts/test.sh).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
: "${DURABLE_RUN_BASE:?run me through scripts/test.sh}"
. "$top/tests/lib.sh"

suite_cluster decoding decoding
trap 'psql_d -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots" >/dev/null 2>&1; cluster stop' EXIT
psql_d() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }
psql_d -c "ALTER SYSTEM SET wal_level = logical" >/dev/null
cluster stop && cluster start || { echo "decoding: the cluster did not restart"; exit 1; }
check "the cluster runs at wal_level = logical" '[ "$(psql_d -c "SHOW wal_level")" = logical ]'
psql_d -c "SELECT 1 FROM pg_create_logical_replication_slot('appendc', 'test_decoding')" >/dev/null

run=00000000-0000-0000-0000-0000000000dc
events="(VALUES (1, 'WorkflowTaskStarted', '{\"identity\": \"vm:1\", \"scheduled_event_id\": 2}'::jsonb),
                (2, 'ActivityTaskScheduled', '{\"input\": 1, \"attempt\": 1, \"activity_id\": \"1\", \"task_queue\": \"q\", \"retry_policy\": null, \"activity_type\": \"noop\", \"start_to_close_timeout\": 600, \"workflow_task_completed_event_id\": 4}'),
                (3, 'SomethingNew', '{\"x\": null}'),
                (4, 'ActivityTaskCompleted', jsonb_build_object('result', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 600) i))))
         AS e(n, event_type, attributes)"
at="'2026-01-02 03:04:05.678901+00'::timestamptz + e.n * interval '1 ms'"
# the INSERT lines of the changes since the last call
inserts() {
    psql_d -c "SELECT data FROM pg_logical_slot_get_changes('appendc', NULL, NULL, 'include-xids', '0')
                WHERE data LIKE 'table durable.history_rows: INSERT:%'"
}
inserts >/dev/null

psql_d -c "SELECT count(durable._append_at('$run', e.event_type, e.attributes, $at)) FROM (SELECT * FROM $events ORDER BY n) e" >/dev/null
by_c=$(inserts)
psql_d -c "DELETE FROM durable.history_rows WHERE run_id = '$run'" >/dev/null
psql_d -c "INSERT INTO durable.history (run_id, event_id, event_type, event_time, attributes)
           SELECT '$run', e.n, e.event_type, $at, e.attributes FROM $events" >/dev/null
by_sql=$(inserts)

check "every append decodes as an INSERT of history_rows" '[ "$(echo "$by_c" | grep -c .)" = 4 ]'
check "with each column: run, id, code, time, packed attributes" \
    'head -1 <<< "$by_c" | grep -q "run_id\[uuid\]:'"'"'$run'"'"' event_id\[bigint\]:1 event_code\[smallint\]:3 event_time\[timestamp with time zone\]:'"'"'2026-01-02 .* attributes_packed\[jsonb\]:"'
check "the value stored out of line is decoded whole" \
    '[ "$(echo "$by_c" | tail -1 | wc -c)" -gt 19000 ]'
check "the appends decode exactly as the SQL path's INSERTs" '[ "$by_c" = "$by_sql" ]'
[ "$by_c" = "$by_sql" ] || diff <(echo "$by_c" | cut -c1-300) <(echo "$by_sql" | cut -c1-300)

# Workflow tasks decode as the INSERT statement's did too: _insert_workflow_task
# writes the row with heap_insert (pgext/src/task_insert.c). The same task,
# written once by it and once by the statement _schedule_workflow_task ran
# (the run's task deleted between), decodes to the same INSERT line but for
# its task id; a task queue stored out of line is decoded whole.
task_run=00000000-0000-0000-0000-0000000000dd
queue="dq-$(psql_d -c "SELECT string_agg(md5(i::text), '') FROM generate_series(1, 70) i")"
psql_d -c "INSERT INTO durable.workflows (run_id, namespace, workflow_id, workflow_type, task_queue, status,
                                          first_run_id, execution_started_at, started_at, priority, fairness_key)
           VALUES ('$task_run', 'default', 'decoding-task', 'W', '$queue', 'RUNNING', '$task_run', now(), now(), 2, 'k')" >/dev/null
task_inserts() {
    psql_d -c "SELECT regexp_replace(data, 'task_id\[bigint\]:[0-9]+', 'task_id[bigint]:N')
                 FROM pg_logical_slot_get_changes('appendc', NULL, NULL, 'include-xids', '0')
                WHERE data LIKE 'table durable.workflow_tasks: INSERT:%'"
}
task_inserts >/dev/null
psql_d -c "SELECT durable._insert_workflow_task('$task_run', 'default', '$queue', 1, 2, '2026-01-02 03:04:05+00')" >/dev/null
task_by_c=$(task_inserts)
psql_d -c "DELETE FROM durable.workflow_tasks WHERE run_id = '$task_run'" >/dev/null
psql_d -c "INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue, state, attempt, scheduled_event_id, scheduled_at)
           VALUES ('$task_run', 'default', '$queue', 'SCHEDULED', 1, 2, '2026-01-02 03:04:05+00')" >/dev/null
task_by_sql=$(task_inserts)
check "a workflow task written directly decodes as one INSERT of workflow_tasks" \
    '[ "$(echo "$task_by_c" | grep -c .)" = 1 ]'
check "with its queue stored out of line decoded whole, and its placing" \
    'grep -q "task_queue\[text\]:'"'"'$queue'"'"' .*priority\[smallint\]:2 fairness_key\[text\]:'"'"'k'"'"' pass\[double precision\]:0" <<< "$task_by_c"'
check "exactly as the statement's INSERT (but for the task id)" '[ "$task_by_c" = "$task_by_sql" ]'
[ "$task_by_c" = "$task_by_sql" ] || diff <(echo "$task_by_c" | cut -c1-300) <(echo "$task_by_sql" | cut -c1-300)

# Runs decode as the INSERT statement's did too: _insert_run writes the row
# speculatively with heap_insert and confirms it (pgext/src/run_insert.c), as
# the executor's INSERT ... ON CONFLICT does. The same run, written once by it
# and once by the statement _create_run runs (the first deleted between),
# decodes to the same INSERT line; an input stored out of line is decoded whole.
run_row=00000000-0000-0000-0000-0000000000de
big="(SELECT jsonb_build_object('in', string_agg(md5(i::text), '')) FROM generate_series(1, 600) i)"
run_values="'$run_row', 'default', 'decoding-run', 'W', 'dq', $big, '{\"m\": 1}', '{}', '$run_row', NULL, NULL, NULL,
            NULL, 'TERMINATE', '2026-01-02 03:04:05+00', '2026-01-02 03:04:06+00', '1 hour', NULL, '10 s',
            '2026-01-02 04:04:05+00', 'req', NULL, 2::smallint, 'k', 1.5, 1, NULL"
run_inserts() {
    psql_d -c "SELECT data FROM pg_logical_slot_get_changes('appendc', NULL, NULL, 'include-xids', '0')
                WHERE data LIKE 'table durable.workflows: INSERT:%'"
}
run_inserts >/dev/null
check "the run is written directly" \
    '[ "$(psql_d -c "SELECT durable._insert_run($run_values)")" = "$run_row" ]'
run_by_c=$(run_inserts)
psql_d -c "DELETE FROM durable.workflows WHERE run_id = '$run_row'" >/dev/null
psql_d -c "INSERT INTO durable.workflows AS w (run_id, namespace, workflow_id, workflow_type, task_queue, input,
               memo, search_attributes, first_run_id, continued_from_run_id, parent_run_id, parent_workflow_id,
               parent_initiated_event_id, parent_close_policy, execution_started_at, started_at,
               execution_timeout, run_timeout, task_timeout, deadline_at, request_id, start_delay,
               priority, fairness_key, fairness_weight, attempt, retry_policy)
           VALUES ($run_values)
           ON CONFLICT (namespace, workflow_id) WHERE status = 'RUNNING' DO NOTHING RETURNING w.run_id" >/dev/null
run_by_sql=$(run_inserts)
# (its deadline is long past: a timer would close it, at any time, and the
# close's checks below would read that UPDATE as the close's)
psql_d -c "DELETE FROM durable.workflows WHERE run_id = '$run_row'" >/dev/null
check "a run written directly decodes as one INSERT of workflows" '[ "$(echo "$run_by_c" | grep -c .)" = 1 ]'
check "with its status's default and its input stored out of line decoded whole" \
    'grep -q "status\[text\]:'"'"'RUNNING'"'"'" <<< "$run_by_c" && [ "$(echo "$run_by_c" | wc -c)" -gt 19000 ]'
check "exactly as the statement's INSERT" '[ "$run_by_c" = "$run_by_sql" ]'
[ "$run_by_c" = "$run_by_sql" ] || diff <(echo "$run_by_c" | cut -c1-300) <(echo "$run_by_sql" | cut -c1-300)
# The close decodes as the UPDATE statement's did: _close_run writes it with
# heap_update (pgext/src/close_update.c) unless something only the statement
# does is there (a trigger that fires for the UPDATE, among others: it then
# hands the close to the statement). The same run closed once each way, the
# table at REPLICA IDENTITY DEFAULT and then FULL, decodes to the same
# UPDATE for test_decoding and for pgoutput (a publication's subscriber) but
# for the close's time: the old row (FULL) with its values stored out of
# line whole, the columns the close sets (a result stored out of line
# whole), and the values stored out of line it leaves alone as unchanged.
close_run=00000000-0000-0000-0000-0000000000e0
close_probe=00000000-0000-0000-0000-0000000000e1
big="(SELECT string_agg(md5(i::text), '') FROM generate_series(1, 400) i)"
psql_d -c "CREATE PUBLICATION closes FOR TABLE durable.workflows" >/dev/null
psql_d -c "SELECT 1 FROM pg_create_logical_replication_slot('closep', 'pgoutput')" >/dev/null
# pgoutput's UPDATE message as text: its relation, then each tuple (K or O:
# the old, N: the new), each column as t=value, n (null) or u (unchanged,
# stored out of line); column $2 (the close's time) as t=T
psql_d <<'SQL' >/dev/null
CREATE SCHEMA decoding_test;
CREATE FUNCTION decoding_test.update_text(m bytea, skip int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    pos int := 5;   -- past 'U' and the relation's id
    out text := 'U ' || ((get_byte(m, 1) << 24) | (get_byte(m, 2) << 16) | (get_byte(m, 3) << 8) | get_byte(m, 4));
    kind text;
    n int;
    len int;
BEGIN
    WHILE pos < length(m) LOOP
        out := out || ' ' || chr(get_byte(m, pos)) || ':';
        n := (get_byte(m, pos + 1) << 8) | get_byte(m, pos + 2);
        pos := pos + 3;
        FOR i IN 0 .. n - 1 LOOP
            kind := chr(get_byte(m, pos));
            pos := pos + 1;
            IF kind = 't' THEN
                len := (get_byte(m, pos) << 24) | (get_byte(m, pos + 1) << 16) | (get_byte(m, pos + 2) << 8) | get_byte(m, pos + 3);
                out := out || ' ' || i || 't=' ||
                       CASE WHEN i = skip THEN 'T' ELSE encode(substring(m FROM pos + 5 FOR len), 'escape') END;
                pos := pos + 4 + len;
            ELSE
                out := out || ' ' || i || kind;
            END IF;
        END LOOP;
    END LOOP;
    RETURN out;
END $$;
CREATE FUNCTION decoding_test.nothing() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
SQL
closed_col=$(psql_d -c "SELECT count(*) FROM pg_attribute WHERE attrelid = 'durable.workflows'::regclass AND attnum > 0
                         AND NOT attisdropped AND attnum < (SELECT attnum FROM pg_attribute
                          WHERE attrelid = 'durable.workflows'::regclass AND attname = 'closed_at')")
# a RUNNING run with its input and memo stored out of line
open_run() {
    psql_d -c "DELETE FROM durable.workflows WHERE run_id = '$1'" \
           -c "INSERT INTO durable.workflows (run_id, namespace, workflow_id, workflow_type, task_queue, input, memo,
                                              first_run_id, execution_started_at, started_at, deadline_at)
               VALUES ('$1', 'default', 'decoding-close-$1', 'W', 'q', jsonb_build_object('in', $big),
                       jsonb_build_object('memo', $big), '$1', '2026-01-02 03:04:05+00', '2026-01-02 03:04:05+00',
                       '2999-01-03 03:04:05+00')" >/dev/null
}
# the UPDATEs of workflows since the last call: test_decoding's, then pgoutput's
close_updates() {
    psql_d -c "SELECT regexp_replace(data, 'closed_at\[timestamp with time zone\]:''[^'']*''', 'closed_at:T')
                 FROM pg_logical_slot_get_changes('appendc', NULL, NULL, 'include-xids', '0')
                WHERE data LIKE 'table durable.workflows: UPDATE:%'"
    psql_d -c "SELECT decoding_test.update_text(data, $closed_col)
                 FROM pg_logical_slot_get_binary_changes('closep', NULL, NULL, 'proto_version', '1',
                                                         'publication_names', 'closes')
                WHERE get_byte(data, 0) = ascii('U')"
}
# close_by DIRECT: the run closed by _close_run, with (DIRECT=0) a statement
# trigger on workflows, which makes _close_update leave the close to the
# statement; first line: what _close_update answers for a run of the same
# shape then (t: it wrote the close itself)
close_by() {
    [ "$1" = 1 ] || psql_d -c "CREATE TRIGGER decoding_close AFTER UPDATE ON durable.workflows
                               FOR EACH STATEMENT EXECUTE FUNCTION decoding_test.nothing()" >/dev/null
    open_run $close_probe
    psql_d -c "SELECT durable._close_update('$close_probe', 'COMPLETED', now(), NULL, NULL, NULL)"
    psql_d -c "DELETE FROM durable.workflows WHERE run_id = '$close_probe'" >/dev/null
    open_run $close_run
    close_updates >/dev/null
    psql_d -c "SELECT durable._close_run('$close_run', 'COMPLETED', 'WorkflowExecutionCompleted',
                                         jsonb_build_object('result', 1), jsonb_build_object('out', $big || 'x'))" >/dev/null
    [ "$1" = 1 ] || psql_d -c "DROP TRIGGER decoding_close ON durable.workflows" >/dev/null
    close_updates
}
for identity in DEFAULT FULL; do
    psql_d -c "ALTER TABLE durable.workflows REPLICA IDENTITY $identity" >/dev/null
    direct=$(close_by 1)
    by_statement=$(close_by 0)
    check "($identity) the close is written directly, and handed to the statement under an UPDATE trigger" \
        '[ "$(echo "$direct" | head -1)" = t ] && [ "$(echo "$by_statement" | head -1)" = f ]'
    direct=$(echo "$direct" | tail -n +2) by_statement=$(echo "$by_statement" | tail -n +2)
    check "($identity) the close decodes as one UPDATE of workflows, for test_decoding and for pgoutput" \
        '[ "$(echo "$direct" | grep -c "^table durable.workflows: UPDATE:")" = 1 ] && [ "$(echo "$direct" | grep -c "^U ")" = 1 ]'
    td=$(echo "$direct" | head -1) po=$(echo "$direct" | tail -1)
    out=$(echo "$td" | sed -n 's/.* result\[jsonb\]:'"'"'{"out": "\([0-9a-f]*\)x"}'"'"' .*/\1/p')
    check "($identity) with the columns the close sets: status, its time, no deadline, the result stored out of line whole" \
        'grep -q "^table durable.workflows: UPDATE: .* status\[text\]:'"'"'COMPLETED'"'"' input\[jsonb\]:unchanged-toast-datum result\[jsonb\]:'"'"'{\"out\": \"[0-9a-f]*x\"}'"'"' failure\[jsonb\]:null memo\[jsonb\]:unchanged-toast-datum .* closed_at:T .* deadline_at\[timestamp with time zone\]:null" <<< "$td"'
    check "($identity) the result whole (12,800 characters and its x)" '[ ${#out} = 12800 ]'
    check "($identity) and so for pgoutput: status, the input and memo unchanged (u), the result whole, no failure, the time, no deadline" \
        'grep -Eq " N: 0t=$close_run .* 5t=COMPLETED 6u 7t=\{\"out\": \"[0-9a-f]+x\"\} 8n 9u .* 20t=T 21n 22n 23t=00:00:10 24n " <<< "$po"'
    if [ $identity = DEFAULT ]; then
        check "(DEFAULT) no old row: the run's id, its key, is not changed" \
            '! grep -q "old-key" <<< "$td" && grep -q "^U [0-9]* N: " <<< "$po"'
    else
        check "(FULL) the old row, RUNNING, with its deadline (far off: no timer closes it first), its input and memo whole" \
            'grep -q "UPDATE: old-key: run_id\[uuid\]:'"'"'$close_run'"'"' .* status\[text\]:'"'"'RUNNING'"'"' input\[jsonb\]:'"'"'{\"in\": \"[0-9a-f]*\"}'"'"' memo\[jsonb\]:'"'"'{\"memo\": \"[0-9a-f]*\"}'"'"' .* deadline_at\[timestamp with time zone\]:'"'"'2999-01-03 03:04:05+00'"'"' .* new-tuple: " <<< "$td" &&
             grep -Eq "^U [0-9]+ O: 0t=$close_run .* 5t=RUNNING 6t=\{\"in\": \"[0-9a-f]+\"\} 7n 8n 9t=\{\"memo\": \"[0-9a-f]+\"\} .* 20n .* 24t=2999-01-03 03:04:05\+00 .* N: " <<< "$po"'
    fi
    check "($identity) exactly as the statement's UPDATE (but for the close's time)" '[ "$direct" = "$by_statement" ]'
    [ "$direct" = "$by_statement" ] || diff <(echo "$direct" | cut -c1-400) <(echo "$by_statement" | cut -c1-400)
done
psql_d -c "ALTER TABLE durable.workflows REPLICA IDENTITY DEFAULT" >/dev/null

summary decoding
