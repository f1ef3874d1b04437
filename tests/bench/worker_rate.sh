# Sourced by the benches that run real durable-worker processes (run.sh,
# peers/run.sh). Needs PG* set, sql(), $tmp, $worker_bin and $plugin.
#   worker_rate TYPE COUNT PROCESSES -> prints workflows/s; leaves the first
#   process's peak RSS (kB) in $tmp/rss, the CPU seconds (user + system)
#   all its processes used in $tmp/worker_cpu, and the rate counted from the
#   last start in $tmp/rate_from_last_start. WORKER_RATE_ARGS adds arguments
#   to the workers' (e.g. --no-eager).
# PROCESSES durable-worker processes already poll when COUNT workflows of TYPE
# are started at once; rate = COUNT / (last close - first start), on the
# store's clock. The one statement that starts them commits with its last
# start and the workers see none before: counted from the last start instead,
# the rate is the store floor's (scripted_rate.sh starts its clock after that
# commit), the figure to set against it.
# start_and_wait QUEUE TYPE COUNT: COUNT workflows of TYPE started at once on
# QUEUE (ids QUEUE-1...), then waits (5 minutes at most) until all completed;
# leaves how many did in the caller's $done
start_and_wait() {
    sql "SELECT count(durable.start_workflow('$1-' || i, '$2', '$1', '1')) FROM generate_series(1, $3) i" >/dev/null
    for _ in $(seq 1 3000); do
        done=$(sql "SELECT count(*) FROM durable.workflows WHERE task_queue = '$1' AND status = 'COMPLETED'")
        [ "$done" = "$3" ] && break
        sleep 0.1
    done
}

worker_rate() {
    local type=$1 n=$2 procs=$3 q="cw-$1-$3-$RANDOM" pids=() done
    for _ in $(seq 1 "$procs"); do
        # shellcheck disable=SC2086
        "$worker_bin" --task-queue "$q" --plugin "$plugin" --concurrency 64 --batch 64 ${WORKER_RATE_ARGS:-} \
            2>>"$tmp/worker.log" &
        pids+=($!)
    done
    sleep 0.5
    start_and_wait "$q" "$type" "$n"
    awk '/VmHWM/ {print $2}' "/proc/${pids[0]}/status" > "$tmp/rss"
    for p in "${pids[@]}"; do sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null || true; done |
        awk -v hz="$(getconf CLK_TCK)" '{ t += $12 + $13 } END { printf "%.3f\n", t / hz }' > "$tmp/worker_cpu"
    kill -TERM "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null || true
    [ "$done" = "$n" ] || { echo "bench: only $done of $n $type workflows completed (see worker log)" >&2; tail -5 "$tmp/worker.log" >&2; exit 1; }
    local rate from_last_start
    IFS='|' read -r rate from_last_start < <(sql "
        SELECT round($n / extract(epoch FROM max(closed_at) - min(started_at))::numeric),
               round($n / extract(epoch FROM max(closed_at) - max(started_at))::numeric)
          FROM durable.workflows WHERE task_queue = '$q'")
    echo "$from_last_start" > "$tmp/rate_from_last_start"
    echo "$rate"
}

# Builds tests/bench/workflows.c into $plugin.
build_bench_plugin() {
    gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -fPIC -shared -I"$top/worker/include" \
        "$top/tests/bench/workflows.c" -o "$plugin"
}

# shape_figures TYPE WORKFLOWS ACTIVITIES_PER_WORKFLOW: on a new store (lib.sh's
# reset_store), WORKFLOWS of TYPE started at once on one worker process
# (worker_rate); prints "workflows/s cpu_us commits wal_bytes", the last three
# per activity: the server's CPU (all its processes), the database's commits
# and the WAL written. Needs lib.sh's sql, commits, per and server_cpu_seconds.
shape_figures() {
    local c0 w0 cpu0 rate acts=$(( $2 * $3 ))
    reset_store
    sql "CHECKPOINT"
    c0=$(commits); w0=$(sql "SELECT pg_current_wal_lsn()"); cpu0=$(server_cpu_seconds)
    rate=$(worker_rate "$1" "$2" 1)
    echo "$rate $(per "$cpu0" "$(server_cpu_seconds)" "$acts" '%.6f' | awk '{ printf "%.0f", $1 * 1e6 }')" \
         "$(per "$c0" "$(commits)" "$acts" '%.3f')" \
         "$(sql "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$w0') / $acts)")"
}
