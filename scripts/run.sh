#!/usr/bin/env bash
# make run: the local cluster (under .run/dev) with durable installed.
# `scripts/run.sh stop` stops it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
port=${DURABLE_DEV_PORT:-55433}
if [ "${1:-}" = stop ]; then
    scripts/cluster.sh stop dev "$port"
    exit 0
fi
scripts/cluster.sh start dev "$port"
echo "durable is running. To use it from psql:"
scripts/cluster.sh env dev "$port" | sed 's/^/  /'
echo "  psql -c \"SELECT durable.start_workflow('hello-1', 'Hello', 'default', '\\\"world\\\"')\""
