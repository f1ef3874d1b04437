#!/usr/bin/env bash
# The console in a real browser: a cluster of its own (password sign-in),
# real durable-worker processes, durable-web under AddressSanitizer, headless
# Chromium driven by a pinned puppeteer-core (installed outside the repository
# at test time), and a real Prometheus scraping /metrics.
# Run by scripts/test.sh (needs PG_CONFIG and DURABLE_RUN_BASE) after `make all`.
#   WEB_SHOTS=DIR  also write the screenshots docs/web.md uses into DIR
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/tests/web"
PUPPETEER_VERSION=22.15.0

make -s -C "$top/web" asan plugin >/dev/null || { echo "web: build failed"; exit 1; }
[ -x "$top/worker/build/durable-worker" ] || { echo "web: worker/build/durable-worker missing (make all)"; exit 1; }

# puppeteer-core from the npm registry, into a cache outside the checkout
cache=${DURABLE_WEB_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/durable-web/puppeteer-core-$PUPPETEER_VERSION}
if [ ! -f "$cache/node_modules/puppeteer-core/package.json" ]; then
    mkdir -p "$cache"
    npm install --silent --no-audit --no-fund --prefix "$cache" "puppeteer-core@$PUPPETEER_VERSION" >/dev/null \
        || { echo "web: cannot install puppeteer-core $PUPPETEER_VERSION from npm"; exit 1; }
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/durable-web-test.XXXXXX")
chmod 755 "$work"
name=web-$$
. "$top/tests/suite_port.sh"
port=$(suite_port 1)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    "$top/scripts/cluster.sh" stop "$name" "$port" >/dev/null 2>&1
    rm -rf "$(dirname "$DURABLE_PGDATA")"
}
trap cleanup EXIT

# our own cluster: sign-in needs real passwords, the shared one trusts everyone
"$top/scripts/cluster.sh" start "$name" "$port" || { echo "web: cannot start a cluster"; exit 1; }
eval "$("$top/scripts/cluster.sh" env "$name" "$port")"
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg tee "$DURABLE_PGDATA/pg_hba.conf" >/dev/null <<HBA
local all postgres trust
local all all scram-sha-256
HBA
psql -qXAt -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || { echo "web: cannot set up roles"; exit 1; }
SELECT pg_reload_conf();
CREATE ROLE web_operator LOGIN PASSWORD 'operator-pw' IN ROLE durable_operator;
-- read-only: may look at everything and change nothing
CREATE ROLE web_viewer LOGIN PASSWORD 'viewer-pw';
SELECT durable.grant_namespace('web_viewer', 'reader', 'default');   -- docs/security.md
SQL

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
"$top/web/build/durable-web-asan" --port 0 --port-file "$work/port" --sign-in 2>"$work/web.log" &
pids+=($!)
web_pid=$!
"$top/worker/build/durable-worker" --task-queue web-tests --plugin "$top/web/build/console_test.so" \
    --identity web-test-worker >"$work/worker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "web: durable-web did not start"; cat "$work/web.log"; exit 1; }

export WEB_URL="http://127.0.0.1:$(cat "$work/port")" WEB_WORK="$work"
export PUPPETEER_DIR="$cache/node_modules/puppeteer-core"
node --test --test-concurrency=1 "$here/console.test.cjs"
rc=$?

# the daemon stops cleanly, and AddressSanitizer found nothing
kill -TERM "$web_pid"
wait "$web_pid"
web_rc=$?
pids=("${pids[@]/$web_pid}")
if [ "$web_rc" -ne 0 ] || grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$work/web.log"; then
    echo "web: durable-web exited $web_rc or the sanitizers complained:"; tail -n 60 "$work/web.log"
    rc=1
else
    echo "web: durable-web stopped cleanly under AddressSanitizer"
fi
[ $rc -eq 0 ] && rm -rf "$work"
exit $rc
