#!/usr/bin/env bash
# make run: the local cluster (under .run/dev) with durable installed, the
# example workers, durablefs mounted at .run/mnt, and the web console
# (durable-web on 127.0.0.1, port DURABLE_WEB_PORT or 8233, or any free one).
# `scripts/run.sh stop` (make stop) stops all of it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
port=${DURABLE_DEV_PORT:-55433}
mnt="$top/.run/mnt"
workers="$top/worker/examples/run.sh"
fs="$top/fused/durablefs"
web="$top/web/build/durable-web"
webpid="$top/.run/web.pid"

if [ "${1:-}" = stop ]; then
    eval "$(scripts/cluster.sh env dev "$port")"
    [ -x "$workers" ] && "$workers" stop "$top/.run/workers" || true
    if [ -f "$webpid" ]; then
        kill -TERM "$(cat "$webpid")" 2>/dev/null || true
        rm -f "$webpid" "$top/.run/web.port"
    fi
    if mountpoint -q "$mnt" 2>/dev/null; then
        fusermount3 -u "$mnt" || fusermount3 -uz "$mnt" || true
    fi
    scripts/cluster.sh stop dev "$port"
    echo "stopped"
    exit 0
fi

DURABLE_PURGE=on scripts/cluster.sh start dev "$port"
eval "$(scripts/cluster.sh env dev "$port")"

if [ -x "$workers" ] && [ -x worker/build/durable-worker ]; then
    "$workers" start "$top/.run/workers"
fi

if [ -x "$fs" ]; then
    mkdir -p "$mnt"
    if ! mountpoint -q "$mnt"; then
        "$fs" "$mnt" 2>>"$top/.run/durablefs.log" || echo "durablefs did not mount; see .run/durablefs.log"
    fi
fi

# The console: sign-in on, so the buttons act as the role you sign in with.
web_url="(not built)"
if [ -x "$web" ]; then
    if ! { [ -f "$webpid" ] && kill -0 "$(cat "$webpid")" 2>/dev/null; }; then
        for p in "${DURABLE_WEB_PORT:-8233}" 0; do
            rm -f "$top/.run/web.port"
            nohup "$web" --sign-in --port "$p" --port-file "$top/.run/web.port" >>"$top/.run/web.log" 2>&1 &
            echo $! >"$webpid"
            for _ in $(seq 50); do [ -s "$top/.run/web.port" ] && break; kill -0 "$(cat "$webpid")" 2>/dev/null || break; sleep 0.1; done
            [ -s "$top/.run/web.port" ] && break
        done
    fi
    [ -s "$top/.run/web.port" ] && web_url="http://127.0.0.1:$(cat "$top/.run/web.port")/" || web_url="(did not start; see .run/web.log)"
fi

cat <<EOF

durable is running.
  console:     $web_url   (sign in as postgres: the dev cluster trusts local connections)
  psql:        eval "\$(scripts/cluster.sh env dev $port)"; psql
  filesystem:  ls $mnt/workflows      (README at $mnt/README)
  workers:     logs in .run/workers/
  try:         echo '{"type": "LoanApplication", "id": "loan-1", "task_queue": "loans", "input": {"applicant": "ada", "amount": 1000}}' > $mnt/start
  stop:        make stop
EOF
