#!/usr/bin/env bash
# Measures durable-web's memory while a browser keeps a live workflow page
# open on a workflow whose history grows by an activity a second (six events);
# with "reload", a second page also reloads it every 20 s (a stream opened and
# closed, and the whole history read again each time). Prints the daemon's
# resident memory every 10 s. A measurement, not a test: it asserts nothing.
# Needs `make all`, PG_CONFIG (scripts/pginst.sh) and the puppeteer cache
# tests/web/run.sh installs.
#   tests/web/memory.sh [SECONDS [reload]]      (default 300)
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-300}
cache=${DURABLE_WEB_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/durable-web/puppeteer-core-22.15.0}
make -s -C "$top/web" all plugin >/dev/null || exit 1
work=$(mktemp -d "${TMPDIR:-/tmp}/durable-web-mem.XXXXXX")
name=webmem-$$
. "$top/tests/suite_port.sh"
port=$(suite_port 2)   # (beside tests/web/run.sh's)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    wait 2>/dev/null
    "$top/scripts/cluster.sh" stop "$name" "$port" >/dev/null 2>&1
    rm -rf "$(dirname "$DURABLE_PGDATA")" "$work"
}
trap cleanup EXIT
"$top/scripts/cluster.sh" start "$name" "$port" || exit 1
eval "$("$top/scripts/cluster.sh" env "$name" "$port")"
"$top/web/build/durable-web" --port 0 --port-file "$work/port" 2>"$work/web.log" &
web=$!
pids+=($web)
"$top/worker/build/durable-worker" --task-queue web-tests --plugin "$top/web/build/console_test.so" >"$work/worker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
id=mem-$$
psql -qXAt -c "SELECT durable.start_workflow('$id', 'Steps', 'web-tests', '{\"steps\": 100000, \"ms\": 1000}')" >/dev/null

rss() { awk '/VmRSS/ {print $2}' "/proc/$web/status"; }
echo "durable-web pid $web, workflow $id, ${seconds}s; resident memory in kB:"
RELOAD=$([ "${2:-}" = reload ] && echo 1 || echo 0) WEB_URL="http://127.0.0.1:$(cat "$work/port")" WORKFLOW=$id SECONDS_OPEN=$seconds WEB_WORK=$work \
    PUPPETEER_DIR="$cache/node_modules/puppeteer-core" node "$top/tests/web/memory.cjs" &
browser=$!
pids+=($browser)
start=$SECONDS
printf "%6s %10s %10s %8s %8s\n" seconds rss_kB peak_kB events streams
while kill -0 "$browser" 2>/dev/null; do
    events=$(psql -qXAt -c "SELECT (durable.describe_workflow('$id'))->>'history_length'")
    streams=$(curl -s "http://127.0.0.1:$(cat "$work/port")/metrics" | awk '/^durable_web_event_streams / {print $2}')
    printf "%6d %10s %10s %8s %8s\n" $((SECONDS - start)) "$(rss)" "$(awk '/VmHWM/ {print $2}' "/proc/$web/status")" "$events" "$streams"
    sleep 10
done
wait "$browser"
