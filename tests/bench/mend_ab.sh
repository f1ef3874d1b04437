#!/usr/bin/env bash
# What mend's fixes cost on the paths they touch, old and new code
# interleaved in one cluster (not part of make bench):
#   activity_complete  complete_activity_task, which now also deletes the
#                      activity's pause row (a probe of an empty table)
#   child_start        complete_workflow_task with one StartChildWorkflowExecution,
#                      which now also asks whether the child inherits a pinned build
# "before" is the current api files with the fixes' lines taken out, loaded
# with CREATE OR REPLACE; "after" is the file as it is. Each round times N
# calls of each in one transaction per phase; rounds alternate before/after.
# Needs PG* set (a durable cluster, superuser).
#   mend_ab.sh [ROUNDS] [N]        (3 rounds of 1000)
# Prints per round "variant path us_per_call", then "path after/before" as
# the ratio of the two medians.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:-3} n=${2:-1000}
api=$top/sql/durable--0.2/api
tmp=$(mktemp -d)
load() { psql -qX -v ON_ERROR_STOP=1 "${@/#/-f}" >/dev/null; }
# the two fixes live in one place each: the pause row's DELETE in
# _drop_activity_task (41_pause.sql), the build inheritance in _create_run
# (03_start.sql)
trap 'load "$api/03_start.sql" "$api/41_pause.sql"; rm -rf "$tmp"' EXIT
sed 's/^ *PERFORM durable._inherit_build_id(.*/        NULL;/' "$api/03_start.sql" >"$tmp/03.sql"
grep -v 'DELETE FROM durable.activity_pauses p WHERE p.run_id = a.run_id' "$api/41_pause.sql" >"$tmp/41.sql"
! cmp -s "$api/03_start.sql" "$tmp/03.sql" && ! cmp -s "$api/41_pause.sql" "$tmp/41.sql" ||
    { echo "mend_ab.sh: the fixes' lines were not found in 03_start.sql/41_pause.sql" >&2; exit 1; }

# One round of one variant: prints NOTICEs "activity_complete US" and
# "child_start US" (psql variables do not reach DO blocks: settings do).
run_round() {
    local tag=$1 q="mab-$1-$RANDOM-$$"
    psql -qXAt -v ON_ERROR_STOP=1 <<EOF
SET mab.q = '$q';
SET mab.n = '$n';
SELECT count(durable.start_workflow('$q-' || i, 'W', '$q')) FROM generate_series(1, $n) i \\g /dev/null
DO \$\$
DECLARE r record; q text := current_setting('mab.q'); got int; t0 timestamptz; total interval := '0';
        k int := 0;
BEGIN
    -- setup: every workflow schedules one activity, all leased
    LOOP
        got := 0;
        FOR r IN SELECT * FROM durable.poll_workflow_tasks(q, 'w', 1000) LOOP
            PERFORM durable.complete_workflow_task(r.task_token, '[{"type": "ScheduleActivityTask",
                "activity_id": "a", "activity_type": "A", "start_to_close_timeout": 600}]');
            got := got + 1;
        END LOOP;
        EXIT WHEN got = 0;
    END LOOP;
    CREATE TEMP TABLE mab_tok ON COMMIT DROP AS SELECT task_token FROM durable.poll_activity_tasks(q, 'w', 1000) WHERE false;
    LOOP
        INSERT INTO mab_tok SELECT task_token FROM durable.poll_activity_tasks(q, 'w', 1000);
        EXIT WHEN NOT FOUND;
    END LOOP;
    t0 := clock_timestamp();
    FOR r IN SELECT task_token FROM mab_tok LOOP
        PERFORM durable.complete_activity_task(r.task_token, '1');
        k := k + 1;
    END LOOP;
    RAISE NOTICE 'activity_complete %', round((extract(epoch FROM clock_timestamp() - t0) * 1e6 / k)::numeric, 1);
    -- each workflow's next task starts a child on another queue (once: a
    -- started child schedules the parent's next task, which is not taken)
    k := 0;
    LOOP
        got := 0;
        FOR r IN SELECT * FROM durable.poll_workflow_tasks(q, 'w', least(1000, current_setting('mab.n')::int - k)) LOOP
            t0 := clock_timestamp();
            PERFORM durable.complete_workflow_task(r.task_token, jsonb_build_array(jsonb_build_object(
                'type', 'StartChildWorkflowExecution', 'workflow_id', r.workflow_id || '-kid',
                'workflow_type', 'K', 'task_queue', q || '-kids')));
            total := total + (clock_timestamp() - t0);
            got := got + 1;
            k := k + 1;
        END LOOP;
        EXIT WHEN got = 0 OR k >= current_setting('mab.n')::int;
    END LOOP;
    RAISE NOTICE 'child_start %', round((extract(epoch FROM total) * 1e6 / k)::numeric, 1);
END \$\$;
EOF
}

: >"$tmp/results"
for i in $(seq 1 "$rounds"); do
    for variant in before after; do
        if [ $variant = before ]; then load "$tmp/03.sql" "$tmp/41.sql"; else load "$api/03_start.sql" "$api/41_pause.sql"; fi
        run_round "$variant" 2>&1 | sed -n 's/^NOTICE: *//p' | while read -r path us; do
            echo "$variant $path $us" | tee -a "$tmp/results"
        done
    done
done
for path in activity_complete child_start; do
    awk -v p="$path" '
        $2 == p { v[$1] = v[$1] " " $3 }
        function median(s,   a, m, i, j, t) {
            m = split(s, a, " ")
            for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
        }
        END { printf "%s after/before %.3f (medians %s / %s us)\n", p, median(v["after"]) / median(v["before"]),
                     median(v["after"]), median(v["before"]) }' "$tmp/results"
done
