#!/usr/bin/env bash
# make test: a throwaway cluster, the pgTAP suites, the concurrency tests, and
# each component's own tests against the same cluster. Exits non-zero on any
# failure and always stops the cluster.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
port=${DURABLE_TEST_PORT:-55432}
name=${DURABLE_TEST_NAME:-test}
cluster() { scripts/cluster.sh "$1" "$name" "$port"; }

cluster stop
base_dir=$(cluster env | sed -n "s/.*DURABLE_PGDATA='\(.*\)\/data'.*/\1/p")
rm -rf "$base_dir"
cluster start || { echo "test: could not start the test cluster"; exit 1; }
trap 'cluster stop' EXIT
eval "$(cluster env)"

failed=()
run() {
    local name=$1; shift
    echo "== $name"
    if "$@"; then echo "== $name: ok"; else echo "== $name: FAILED"; failed+=("$name"); fi
}

run pgtap pg_prove --ext .sql -r tests/pgtap
for t in tests/concurrency/*.sh; do
    [ -e "$t" ] && run "$(basename "$t")" bash "$t"
done
for d in worker fused; do
    if [ -f "$d/Makefile" ] && grep -q '^test:' "$d/Makefile"; then
        run "$d" make -C "$d" test
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "make test: FAILED: ${failed[*]}"
    if [ -n "${DURABLE_PGLOG:-}" ] && [ -f "$DURABLE_PGLOG" ]; then
        echo "--- last lines of the server log ($DURABLE_PGLOG)"; tail -n 40 "$DURABLE_PGLOG"
    fi
    exit 1
fi
echo "make test: all passed"
