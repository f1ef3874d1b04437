# Sourced by make bench (run.sh) and the A/B scripts beside it. Sourcing it
# sets $top (the checkout) and $here (tests/bench) and makes the checkout's
# top the working directory, where its functions and scripts/cluster.sh run:
# a script's arguments that name files are read after it, as from the top.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$top/tests/bench
cd "$top"
# fresh_cluster NAME PORT: the cluster scripts/cluster.sh makes under that
# name, stopped, removed and started anew, so no earlier run's store is left
fresh_cluster() {
    scripts/cluster.sh stop "$1" "$2" >/dev/null 2>&1 || true
    rm -rf "$(scripts/cluster.sh env "$1" "$2" | sed -n "s/.*DURABLE_PGDATA='\(.*\)\/data'.*/\1/p")"
    scripts/cluster.sh start "$1" "$2"
}
# build_pq_tool NAME OUT: tests/bench/NAME.c, a libpq client, built as OUT
build_pq_tool() {
    gcc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -O2 -I"$(pg_config --includedir)" \
        "$here/$1.c" -lpq -o "$2"
}
# reset_store: durable dropped and created anew in the PG* cluster, with the
# bench fixtures (tests/bench/sql/fixtures.sql)
reset_store() {
    psql -qX -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
        -c "DROP EXTENSION IF EXISTS durable CASCADE" -c "CREATE EXTENSION durable" \
        -f "$here/sql/fixtures.sql" >/dev/null
}
# api_sql COMMIT OUT: COMMIT's sql/durable--0.2/api/*.sql, in order, as one
# file to run over an install (CREATE OR REPLACE puts that commit's bodies in
# place of the installed ones): the A of the A/B scripts
api_sql() {
    local f
    for f in $(git ls-tree --name-only "$1" sql/durable--0.2/api/ | sort); do
        git show "$1:$f"
    done | sed "s|'MODULE_PATHNAME'|'\$libdir/durable'|g" | grep -v 'pg_extension_config_dump(' > "$2"
}
# product_statement FILE FUNCTION FIRST LAST: the lines of FUNCTION's body
# in FILE (an api/*.sql, or a pgTAP file's twin of a body made C, which it
# creates without OR REPLACE) from the first matching FIRST to the next
# matching LAST (sed patterns): a store's own statement, for a bench to run
# with its variables set as FUNCTION sets them (command_cpu.sh,
# task_rows_ab.sh), where a copy would drift
product_statement() {
    sed -n "/^CREATE \(OR REPLACE \)\{0,1\}FUNCTION $2(/,/^\\\$\\\$;/p" "$1" | sed -n "/$3/,/$4/p"
}
# cpu_view: SQL of a temporary view cpu whose one row, ticks, is the CPU time
# (user + system, in clock ticks) the session's own backend has used so far,
# from its /proc/self/stat: read between the statements of a run.sql, it
# gives their cost alone (floor_cpu.sh, command_cpu.sh, task_rows_ab.sh,
# history_backend_ab.sh)
cpu_view() {
    echo "CREATE TEMP VIEW cpu AS SELECT (t[12]::bigint + t[13]::bigint) AS ticks
            FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') t) s;"
}
# server_cpu_seconds: CPU seconds the whole server of the PG* cluster has used (live
# processes, and those it reaped; needs sql()):
# what a workflow costs the server, whatever else the machine is doing.
# First the round's client backends must be gone (a killed poller's backend
# finishes its statement and exits after the round), and a child reaped while
# the children are read moves its time into the postmaster's between the two
# reads of the postmaster: read again then. Without both, a round could miss
# the workflow poller's backend, half the total: the two groups of figures,
# ~600 and ~1,100 µs, that session 4 saw in A and B alike.
server_cpu_seconds() {
    local pm before after t
    pm=$(head -1 "$DURABLE_PGDATA/postmaster.pid")
    for _ in $(seq 1 500); do
        [ "$(sql "SELECT count(*) FROM pg_stat_activity
                   WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")" = 0 ] && break
        sleep 0.02
    done
    while :; do
        before=$(sed 's/^.*) //' "/proc/$pm/stat" | awk '{ print $14 + $15 }')
        t=$({ cat "/proc/$pm/stat"; for p in $(pgrep -P "$pm"); do cat "/proc/$p/stat" 2>/dev/null; done; } |
            sed 's/^.*) //' | awk -v hz="$(getconf CLK_TCK)" '
                { t += $12 + $13; if (NR == 1) t += $14 + $15 } END { printf "%.2f", t / hz }')
        after=$(sed 's/^.*) //' "/proc/$pm/stat" | awk '{ print $14 + $15 }')
        [ "$before" = "$after" ] && break
    done
    echo "$t"
}
# own_cluster NAME PORT: the script's own cluster, made anew (fresh_cluster)
# and reached through the PG* variables; cluster CMD is scripts/cluster.sh
# CMD on it, $tmp a scratch folder. On exit the script's background jobs are
# killed, $on_exit evaluated if the script set it (commands: its other
# clusters'), the cluster stopped and $tmp removed.
own_cluster() {
    own_cluster_name=$1 own_cluster_port=$2
    cluster() { scripts/cluster.sh "$1" "$own_cluster_name" "$own_cluster_port"; }
    fresh_cluster "$1" "$2"
    tmp=$(mktemp -d)
    trap 'kill $(jobs -p) 2>/dev/null || true; eval "${on_exit:-}"; cluster stop >/dev/null; rm -rf "$tmp"' EXIT
    eval "$(cluster env)"
}
# bench_cluster NAME PORT: a bench script's own cluster, NAME, on $port:
# DURABLE_BENCH_PORT if set, else PORT (own_cluster)
bench_cluster() {
    port=${DURABLE_BENCH_PORT:-$2}
    own_cluster "$1" "$port"
}
# sql QUERY: one value (or rows), unaligned; a script may define its own after sourcing this
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
# timer_worker_cpu: CPU clock ticks (getconf CLK_TCK a second) the PG*
# cluster's timer workers have used so far (from /proc: the same machine)
timer_worker_cpu() {
    local pm p t=0
    pm=$(head -1 "$DURABLE_PGDATA/postmaster.pid")
    for p in $(pgrep -P "$pm"); do
        grep -q "durable timer worker" "/proc/$p/cmdline" 2>/dev/null || continue
        t=$(( t + $(sed 's/^.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }') ))
    done
    echo "$t"
}
# fire_due_calls: the timer workers' ticks so far (_tick's calls, fire_due's
# on an A side from before _tick; nothing else calls either in a bench: needs
# track_functions = pl, and a tick's statistics are reported at its end)
fire_due_calls() {
    sql "SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE schemaname = 'durable' AND funcname IN ('fire_due', '_tick')"
}
# commits: transactions committed in the database so far
commits() { sql "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"; }
# per BEFORE AFTER N FORMAT: (AFTER - BEFORE) / N, printed with FORMAT
per() { awk -v a="$1" -v b="$2" -v n="$3" -v f="$4" 'BEGIN { printf f, (b - a) / n }'; }
# median: of the numbers on stdin, one a line
# (printed with 15 digits: awk's default of 6 turned a median of two instruction counts into 7.38e+08)
median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.15g\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# workflow_task_hops: SQL of a relation of every workflow task started in the
# store: its run_id, scheduled_event_id, who (the identity that started it)
# and ms, the hop from its WorkflowTaskScheduled to its WorkflowTaskStarted
workflow_task_hops() {
    echo "(SELECT s.run_id, d.event_id AS scheduled_event_id, s.attributes ->> 'identity' AS who,
                  extract(epoch FROM s.event_time - d.event_time) * 1000 AS ms
             FROM durable.history s
             JOIN durable.history d ON d.run_id = s.run_id AND d.event_id = (s.attributes ->> 'scheduled_event_id')::bigint
            WHERE s.event_type = 'WorkflowTaskStarted')"
}
# p50_p90 COLUMN DIGITS: SQL of the median and 90th percentile of COLUMN, rounded to DIGITS
p50_p90() {
    echo "round(percentile_cont(0.5) WITHIN GROUP (ORDER BY $1)::numeric, $2),
          round(percentile_cont(0.9) WITHIN GROUP (ORDER BY $1)::numeric, $2)"
}
# start_spaced N TYPE QUEUE INPUT PAUSE: N workflows of TYPE on QUEUE (ids
# QUEUE-1 to QUEUE-N, input INPUT) started from one session, each in its own
# transaction, PAUSE seconds apart; then waits until all N have completed
start_spaced() {
    psql -qXAt -v ON_ERROR_STOP=1 -c "DO \$\$ BEGIN FOR i IN 1 .. $1 LOOP
             PERFORM durable.start_workflow('$3-' || i, '$2', '$3', '$4'); COMMIT;
             PERFORM pg_sleep($5);
         END LOOP; END \$\$"
    until [ "$(psql -qXAt -c "SELECT count(*) FROM durable.workflows WHERE task_queue = '$3' AND status = 'COMPLETED'")" = "$1" ]; do
        sleep 0.1
    done
}
# floor_rounds N: the store floor's statements after N starts into 'fq'
# (floor_cpu.sh, floor_perf.sh, floor_profile.sh): workflow tasks leased in
# batches of 100, each completed with a ScheduleActivityTask or, once its
# activity completed, a CompleteWorkflowExecution (the workflow side decides
# by the history, as durable_bench.decide does for seq1), then the leased
# activities completed in one complete_activity_tasks; enough rounds for all
# N to close (the queue serves the starts' tasks first)
floor_rounds() {
    for _ in $(seq 1 $(( 2 * $1 / 100 + 2 ))); do
        echo "SELECT count(durable.complete_workflow_task(t.task_token,
                  CASE WHEN t.history @> '[{\"event_type\": \"ActivityTaskCompleted\"}]'
                       THEN '[{\"type\": \"CompleteWorkflowExecution\", \"result\": 1}]'
                       ELSE '[{\"type\": \"ScheduleActivityTask\", \"activity_id\": \"1\", \"activity_type\": \"noop\", \"task_queue\": \"faq\", \"input\": 1, \"start_to_close_timeout\": 600}]' END::jsonb))
                FROM durable.poll_workflow_tasks('fq', 'floor', 100, '{}') t;"
        echo "WITH leased AS (SELECT * FROM durable.poll_activity_tasks('faq', 'floor', 100))
              SELECT count(*) FROM durable.complete_activity_tasks(
                  (SELECT coalesce(jsonb_agg(jsonb_build_object('task_token', task_token, 'result', input)), '[]') FROM leased));"
    done
}
# ab_ratio FILE COL: "B/A median_A median_B" of column COL over the lines of
# FILE whose first field is A or B (the A/B scripts' rounds)
ab_ratio() {
    local ma mb
    ma=$(awk -v c="$2" '$1 == "A" { print $c }' "$1" | median)
    mb=$(awk -v c="$2" '$1 == "B" { print $c }' "$1" | median)
    awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%.3f %s %s\n", b / a, a, b }'
}
# session_round A|B WHAT (after ab_setup, with n and tmp set; in a round of
# floor_cpu.sh, activity_cpu.sh): side A|B's store made anew (ab_install),
# then $tmp/run.sql run in one session, whose last line is "COUNT X Y";
# exits, saying "only COUNT of N WHAT", unless COUNT is $n; else sets
# round_x and round_y
session_round() {
    local count
    ab_side "$1"
    ab_install "$1"
    read -r count round_x round_y < <(psql -qXAt -v ON_ERROR_STOP=1 -f "$tmp/run.sql" | tail -1)
    [ "$count" = "$n" ] || { echo "$(basename "$0" .sh): only $count of $n $2 ($1)" >&2; exit 1; }
}
# ab_ratios FILE UNIT LABEL... : for the Kth LABEL, "LABEL B/A ratio
# (medians A, B UNIT)" of column K + 1 of FILE (ab_ratio; UNIT may be "")
ab_ratios() {
    local file=$1 unit=$2 col=2 label ratio ma mb
    shift 2
    for label in "$@"; do
        read -r ratio ma mb < <(ab_ratio "$file" "$col")
        echo "$label B/A $ratio (medians $ma, $mb${unit:+ $unit})"
        col=$(( col + 1 ))
    done
}
# two_trees NAME A_WORKFLOWS_C [A_SETTINGS] (with top, here, a_tree, port and tmp set):
# the A/B scripts that run two worktrees' own installs and workers
# (build_ab.sh, sticky_ab.sh). Defines tree_of, pg_config_of and port_of
# (A or B) and cluster (A|B start|stop|env: NAME-A on port, NAME-B on
# port + 1); on exit kills the jobs, stops both clusters and removes $tmp;
# checks that each tree is built and installed; makes both clusters anew;
# builds each side's workflows plugin into $tmp/plugin-A.so / plugin-B.so,
# A's from A_WORKFLOWS_C, B's from tests/bench/workflows.c. A_SETTINGS, if
# given, is set on A's cluster (ALTER SYSTEM SET ..., then a restart): a
# same-build A/B of a setting (build_ab.sh's A_SETTINGS).
two_trees() {
    local v src
    two_trees_name=$1
    tree_of() { [ "$1" = A ] && echo "$a_tree" || echo "$top"; }
    pg_config_of() { echo "$(tree_of "$1")/.run/pg/lib/postgresql/15/bin/pg_config"; }
    port_of() { [ "$1" = A ] && echo "$port" || echo $(( port + 1 )); }
    cluster() {   # A|B start|stop|env
        PG_CONFIG=$(pg_config_of "$1") scripts/cluster.sh "$2" "$two_trees_name-$1" "$(port_of "$1")"
    }
    trap 'kill $(jobs -p) 2>/dev/null || true; cluster A stop >/dev/null 2>&1; cluster B stop >/dev/null 2>&1; rm -rf "$tmp"' EXIT
    for v in A B; do
        [ -x "$(tree_of $v)/worker/build/durable-worker" ] || { echo "$1: build $(tree_of $v) first (make all)" >&2; exit 1; }
        [ -x "$(pg_config_of $v)" ] || { echo "$1: no private install in $(tree_of $v)/.run/pg" >&2; exit 1; }
        PG_CONFIG=$(pg_config_of $v) fresh_cluster "$1-$v" "$(port_of $v)"
        if [ "$v" = A ] && [ -n "${3:-}" ]; then
            (eval "$(cluster A env)"; sql "ALTER SYSTEM SET $3")
            cluster A stop >/dev/null; cluster A start >/dev/null
        fi
        src=$([ "$v" = A ] && echo "$2" || echo "$here/workflows.c")
        gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -fPIC -shared -I"$(tree_of $v)/worker/include" \
            "$src" -o "$tmp/plugin-$v.so"
    done
}
# ab_install A|B [PSQL ARGS...] (with the PG* of that side's cluster, after
# a_tree_side and, without A_TREE, api_sql into $tmp/a_api.sql): the store
# made anew, the schema too (A may have made functions that B's extension
# lacks), PSQL ARGS run after CREATE EXTENSION (e.g. -f fixtures.sql), A's
# function bodies put over the install when A shares B's, then a CHECKPOINT
ab_install() {
    local side=$1
    shift
    psql -qX -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
        -c "DROP EXTENSION IF EXISTS durable CASCADE" -c "DROP SCHEMA IF EXISTS durable CASCADE" \
        -c "CREATE EXTENSION durable" "$@" >/dev/null
    if [ "$side" = A ] && [ -z "$a_tree" ]; then
        psql -qX -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -f "$tmp/a_api.sql" >/dev/null
    fi
    psql -qXAt -v ON_ERROR_STOP=1 -c CHECKPOINT >/dev/null
}
# a_tree_side NAME PORT (after own_cluster): the A side of an A/B script.
# With A_TREE=<worktree>, A runs on that worktree's own install (its
# .run/pg), on a cluster of its own, NAME on PORT, made anew (a_cluster CMD
# runs scripts/cluster.sh CMD on it; it is stopped on exit); otherwise A
# shares B's cluster. Sets a_tree ("" without A_TREE), a_pg_config, and
# b_env and a_env, the PG* of each side's cluster (to eval).
a_tree_side() {
    a_tree=${A_TREE:+$(cd "$A_TREE" && pwd)}
    a_pg_config=${a_tree:+$a_tree/.run/pg/lib/postgresql/15/bin/pg_config}
    a_cluster_name=$1 a_cluster_port=$2
    a_cluster() { PG_CONFIG=$a_pg_config scripts/cluster.sh "$1" "$a_cluster_name" "$a_cluster_port"; }
    on_exit='[ -z "$a_tree" ] || a_cluster stop'
    b_env=$(cluster env)
    a_env=$b_env
    if [ -n "$a_tree" ]; then
        PG_CONFIG=$a_pg_config fresh_cluster "$1" "$2"
        a_env=$(a_cluster env)
    fi
}
# ab_side A|B (after a_tree_side): the PG* variables of that side's cluster
ab_side() {
    if [ "$1" = A ]; then eval "$a_env"; else eval "$b_env"; fi
}
# ab_setup NAME PORT: the clusters of an A/B script that takes A_TREE: its
# own, NAME on $port (bench_cluster), and A's side, NAME-a on $port + 1
# (a_tree_side)
ab_setup() {
    bench_cluster "$1" "$2"
    a_tree_side "$1-a" $(( port + 1 ))
}
