#!/usr/bin/env bash
# make test: a throwaway cluster, the pgTAP suites, the concurrency tests, each
# component's own tests against the same cluster, and every tests/<suite>/run.sh
# (suites that need clusters of their own make them with scripts/cluster.sh,
# under $DURABLE_RUN_BASE, from the private $PG_CONFIG). Exits non-zero on any
# failure and always stops the cluster.
#   scripts/test.sh                 everything
#   scripts/test.sh pgtap fused     only the named suites (pgtap, concurrency,
#                                   worker, fused, or a tests/<suite> folder)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
port=${DURABLE_TEST_PORT:-55432}
export DURABLE_TEST_PORT=$port   # the suites' own clusters take the ports after it (tests/lib.sh, suite_port)
name=${DURABLE_TEST_NAME:-test}
cluster() { scripts/cluster.sh "$1" "$name" "$port"; }

# Tests run on a private copy of PostgreSQL with this checkout's durable
# installed into it (scripts/pginst.sh), never on the system's installation.
eval "$(cluster env)"
cluster stop
mkdir -p "$DURABLE_RUN_BASE"
export PG_CONFIG
PG_CONFIG=$(scripts/pginst.sh "$DURABLE_RUN_BASE/pg") || { echo "test: no private PostgreSQL"; exit 1; }
make -s -C pgext install PG_CONFIG="$PG_CONFIG" >/dev/null || { echo "test: could not install durable"; exit 1; }
rm -rf "$(dirname "$DURABLE_PGDATA")"
cluster start || { echo "test: could not start the test cluster"; exit 1; }
trap 'cluster stop' EXIT
eval "$(cluster env)"

failed=()
run() {
    local name=$1; shift
    echo "== $name"
    if "$@"; then echo "== $name: ok"; else echo "== $name: FAILED"; failed+=("$name"); fi
}

wanted() { [ -z "$only" ] || [[ " $only " == *" $1 "* ]]; }
only="$*"

wanted pgtap && run pgtap pg_prove --ext .sql -r tests/pgtap
if wanted concurrency; then
    for t in tests/concurrency/*.sh; do
        [ -e "$t" ] && run "$(basename "$t")" bash "$t"
    done
fi
for d in worker fused; do
    if wanted "$d" && [ -f "$d/Makefile" ] && grep -q '^test:' "$d/Makefile"; then
        run "$d" make -C "$d" test
    fi
done
for t in tests/*/run.sh; do
    suite=$(basename "$(dirname "$t")")
    [ "$suite" = bench ] && continue
    wanted "$suite" && run "$suite" bash "$t"
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "make test: FAILED: ${failed[*]}"
    if [ -n "${DURABLE_PGLOG:-}" ] && [ -f "$DURABLE_PGLOG" ]; then
        echo "--- last lines of the server log ($DURABLE_PGLOG)"; tail -n 40 "$DURABLE_PGLOG"
    fi
    exit 1
fi
echo "make test: all passed"
