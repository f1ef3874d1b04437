#!/usr/bin/env bash
# Developer loop: rebuild, install, and recreate the extension in the dev cluster.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
make -s -C pgext >/dev/null && make -s install >/dev/null
port=${DURABLE_DEV_PORT:-55433}
scripts/cluster.sh start dev "$port"
eval "$(scripts/cluster.sh env dev "$port")"
psql -qX -v ON_ERROR_STOP=1 -c "SET client_min_messages=warning" -c "DROP EXTENSION IF EXISTS durable CASCADE" -c "CREATE EXTENSION durable"
