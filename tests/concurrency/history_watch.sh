#!/usr/bin/env bash
# durable.watch_history(): a watching session is told on channel
# durable.history which run's history grew; a session that only LISTENs,
# without watching, is told nothing (appends skip the NOTIFY while nobody
# watches). Needs PG* pointing at a cluster with durable. Exits non-zero with
# a one-line reason on failure.
set -euo pipefail
fail() { echo "history_watch: FAIL: $*"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
id="hw-$$-$(date +%s%N)"

listen() {   # watch? outfile: a session that listens for 4 s, then says done
    local watch=$1 out=$2
    local args=(-c 'LISTEN "durable.history"')
    [ "$watch" = yes ] && args+=(-c "SELECT durable.watch_history()")
    psql -qXAt "${args[@]}" -c "SELECT pg_sleep(4)" -c "SELECT 'done'" > "$out" 2>&1 &
}

# Without watch_history: nothing arrives.
listen no "$tmp/quiet"
quiet_pid=$!
sleep 1
run=$(psql -qXAt -c "SELECT durable.start_workflow('$id-quiet', 'W', 'hw')")
wait "$quiet_pid" || fail "the quiet listener failed: $(cat "$tmp/quiet")"
grep -q done "$tmp/quiet" || fail "the quiet listener did not finish: $(cat "$tmp/quiet")"
if grep -q "$run" "$tmp/quiet"; then fail "a session that does not watch was notified"; fi

# With watch_history: the run's id arrives.
listen yes "$tmp/watch"
watch_pid=$!
sleep 1
run=$(psql -qXAt -c "SELECT durable.start_workflow('$id-watched', 'W', 'hw')")
psql -qXAt -c "SELECT durable.signal_workflow('$id-watched', 'poke')" >/dev/null
wait "$watch_pid" || fail "the watching listener failed: $(cat "$tmp/watch")"
grep -q "Asynchronous notification \"durable.history\" with payload \"$run\"" "$tmp/watch" \
    || fail "no notification for run $run: $(cat "$tmp/watch")"
echo "history_watch: ok"
