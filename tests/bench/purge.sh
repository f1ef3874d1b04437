# Sourced by tests/bench/run.sh (uses its sql, put, ratio, value, dispatch,
# reset_store, $here, $tmp, $secs, $results): the purge of closed workflows.
#
# A store holding $purge_n runs closed 40 days ago (retention 30 days) is
# measured twice in the same way, first with the purge off
# (durable.purge_batch = 0, as the test clusters start), then with the timer
# worker purging at its default batch: 2000 timers are set to fire at once 10
# s into the round and dispatch runs at 10 activities/s from its start, so
# both happen while the purge runs (purge_ran_through_measurements says
# whether it still ran when they ended). Purge rate = runs deleted / (time
# the backlog was first empty - time the purge was turned on).
echo "== purge ($purge_n closed workflows past retention)"
reset_store
psql -qX -v ON_ERROR_STOP=1 -v n="$purge_n" -f "$here/sql/closed.sql" >/dev/null
sql "VACUUM ANALYZE"

backlog_left() {
    sql "SELECT EXISTS (SELECT 1 FROM durable.workflows
                         WHERE namespace = 'default' AND closed_at < durable.now() - interval '30 days')"
}
purge_round() {   # off|on -> puts purge_<mode>_* figures
    local mode=$1 q="purge-$1-t" n=2000 due fired=0 p50 p99 t0 sampler
    due=$(sql "SELECT durable.now() + interval '20 seconds'")
    sql "SELECT durable_bench.start_timers($n, '$q', '$due')" >/dev/null
    sleep "$(sql "SELECT greatest(0, extract(epoch FROM '$due'::timestamptz - interval '10 seconds' - durable.now()))")"
    if [ "$mode" = on ]; then
        sql "ALTER SYSTEM SET durable.purge_batch = $(sql "SELECT boot_val FROM pg_settings WHERE name = 'durable.purge_batch'")" >/dev/null
        sql "SELECT pg_reload_conf()" >/dev/null
        t0=$(date +%s.%N)
        ( while [ "$(backlog_left)" = t ]; do sleep 0.1; done; date +%s.%N > "$tmp/purge_t1" ) &
        sampler=$!
    fi
    read -r p50 p99 < <(dispatch 10 1)
    put "purge_${mode}_dispatch_p50_ms" "$p50"
    put "purge_${mode}_dispatch_p99_ms" "$p99"
    for _ in $(seq 1 240); do
        fired=$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id)
                      WHERE w.task_queue = '$q' AND h.event_type = 'TimerFired'")
        [ "$fired" -ge "$n" ] && break
        sleep 0.5
    done
    read -r p50 p99 < <(sql "
        SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
               round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1)
          FROM (SELECT extract(epoch FROM h.event_time - '$due'::timestamptz) * 1000 AS ms
                  FROM durable.history h JOIN durable.workflows w USING (run_id)
                 WHERE w.task_queue = '$q' AND h.event_type = 'TimerFired') l" | tr '|' ' ')
    put "purge_${mode}_timers_fired" "$fired"
    put "purge_${mode}_timer_lateness_p50_ms" "$p50"
    put "purge_${mode}_timer_lateness_p99_ms" "$p99"
    if [ "$mode" = on ]; then
        put purge_ran_through_measurements "$([ "$(backlog_left)" = t ] && echo true || echo false)"
        wait "$sampler"
        local left
        left=$(sql "SELECT count(*) FROM durable.workflows WHERE workflow_id LIKE 'closed-%'")
        put purge_runs_deleted $(( purge_n - left ))
        put purge_s "$(awk -v s="$t0" -v e="$(cat "$tmp/purge_t1")" 'BEGIN { printf "%.1f", e - s }')"
        put purge_runs_per_s "$(awk -v n=$(( purge_n - left )) -v s="$t0" -v e="$(cat "$tmp/purge_t1")" \
                                'BEGIN { printf "%.0f", n / (e - s) }')"
        put purge_history_rows_left "$(sql "SELECT count(*) FROM durable.history h WHERE NOT EXISTS
                                              (SELECT 1 FROM durable.workflows w WHERE w.run_id = h.run_id)")"
    fi
}
purge_round off
purge_round on
put purge_dispatch_p99_ratio "$(ratio "$(value purge_on_dispatch_p99_ms "$results")" "$(value purge_off_dispatch_p99_ms "$results")")"
put purge_timer_lateness_p99_ratio "$(ratio "$(value purge_on_timer_lateness_p99_ms "$results")" \
                                            "$(value purge_off_timer_lateness_p99_ms "$results")")"
