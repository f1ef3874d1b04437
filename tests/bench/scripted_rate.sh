# Sourced by the benches of the store's floor (run.sh's phase 3a,
# store_ab.sh). Needs PG* set, sql(), $tmp and $poller (tests/bench/poller.c).
#   run_scripted MODE COUNT -> prints workflows/s
# COUNT workflows of MODE (seq1, seq10, par10) are started, then one workflow
# poller (decisions in SQL by durable_bench.decide) and one activity poller
# process run them, batches of 100, each poll and its completions in one
# transaction; rate = COUNT / the wall time until the last one completed.
run_scripted() {
    local mode=$1 n=$2 acts start end done wpid
    acts=$(( ${mode:3} * n ))
    sql "SELECT count(durable.start_workflow('$mode-' || i, 'Bench', 'wf-$mode')) FROM generate_series(1, $n) i" >/dev/null
    start=$(date +%s.%N)
    "$poller" --kind workflow --queue "wf-$mode" --mode "$mode" --activity-queue "act-$mode" --seconds 300 \
        > "$tmp/wf.out" 2>&1 &
    wpid=$!
    "$poller" --kind activity --queue "act-$mode" --count "$acts" --seconds 300 > "$tmp/act.out"
    # the last workflow tasks follow the last activities within milliseconds
    for _ in $(seq 1 600); do
        done=$(sql "SELECT count(*) FROM durable.workflows WHERE workflow_id LIKE '$mode-%' AND status = 'COMPLETED'")
        [ "$done" = "$n" ] && break
        sleep 0.02
    done
    end=$(date +%s.%N)
    kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null || true
    [ "$done" = "$n" ] || { echo "bench: only $done of $n $mode workflows completed" >&2; exit 1; }
    awk -v n="$n" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", n / (e - s) }'
}
