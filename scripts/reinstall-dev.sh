#!/usr/bin/env bash
# Developer loop: rebuild, install, and recreate the extension in the dev cluster.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
port=${DURABLE_DEV_PORT:-55433}
# the install refuses to replace durable.so under the running dev cluster
make -s -C pgext >/dev/null && scripts/cluster.sh stop dev "$port" && make -s install >/dev/null
scripts/cluster.sh start dev "$port"
eval "$(scripts/cluster.sh env dev "$port")"
psql -qX -v ON_ERROR_STOP=1 -c "SET client_min_messages=warning" -c "DROP EXTENSION IF EXISTS durable CASCADE" -c "CREATE EXTENSION durable"
