#!/usr/bin/env bash
# The console's list over whatever the store named by PG* holds (make bench
# runs it over the million sleeping workflows): median time of 20 requests of
# each kind of page through durable-web, and the deep page against the first.
# Prints "name value" lines. Usage: tests/bench/web_list.sh DEEP_AFTER_ID PREFIX
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
web="$top/web/build/durable-web"
[ -x "$web" ] || { echo "web_list: $web not built" >&2; exit 1; }
deep=${1:?an id deep in the keyspace}
prefix=${2:?an id prefix}
tmp=$(mktemp -d)
"$web" --port 0 --port-file "$tmp/port" 2>"$tmp/log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
base="http://127.0.0.1:$(cat "$tmp/port")"
median_ms() {   # URL: median of 20 requests, after one to warm up
    curl -sf -o /dev/null "$1"
    for _ in $(seq 20); do curl -sf -o /dev/null -w '%{time_total}\n' "$1"; done |
        sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] * 1000 }'
}
first=$(median_ms "$base/api/workflows?page_size=50")
deep_ms=$(median_ms "$base/api/workflows?page_size=50&after=$deep")
echo "web_list_first_page_ms $first"
echo "web_list_deep_page_ms $deep_ms"
echo "web_list_deep_vs_first_ratio $(awk -v a="$deep_ms" -v b="$first" 'BEGIN { printf "%.3f", a / b }')"
echo "web_list_prefix_page_ms $(median_ms "$base/api/workflows?page_size=50&prefix=$prefix")"
echo "web_list_status_filter_page_ms $(median_ms "$base/api/workflows?page_size=50&status=RUNNING&after=$deep")"
s=$(date +%s.%N); curl -sf -o /dev/null "$base/api/counts"; e=$(date +%s.%N)
echo "web_counts_ms $(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.0f", (e - s) * 1000 }')"
