#!/usr/bin/env bash
# make run: the local cluster (under .run/dev) with durable installed, the
# example workers, and durablefs mounted at .run/mnt.
# `scripts/run.sh stop` (make stop) stops all of it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
port=${DURABLE_DEV_PORT:-55433}
mnt="$top/.run/mnt"
workers="$top/worker/examples/run.sh"
fs="$top/fused/durablefs"

if [ "${1:-}" = stop ]; then
    eval "$(scripts/cluster.sh env dev "$port")"
    [ -x "$workers" ] && "$workers" stop "$top/.run/workers" || true
    if mountpoint -q "$mnt" 2>/dev/null; then
        fusermount3 -u "$mnt" || fusermount3 -uz "$mnt" || true
    fi
    scripts/cluster.sh stop dev "$port"
    echo "stopped"
    exit 0
fi

scripts/cluster.sh start dev "$port"
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

cat <<EOF

durable is running.
  psql:        eval "\$(scripts/cluster.sh env dev $port)"; psql
  filesystem:  ls $mnt/workflows      (README at $mnt/README)
  workers:     logs in .run/workers/
  try:         echo '{"type": "LoanApplication", "id": "loan-1", "task_queue": "loans", "input": {"applicant": "ada", "amount": 1000}}' > $mnt/start
  stop:        make stop
EOF
