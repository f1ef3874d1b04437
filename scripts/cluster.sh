#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster with durable loaded, on a unix socket
# only. Usage: cluster.sh start|stop|env NAME PORT
#   start  creates the cluster under .run/NAME if needed, starts it and
#          creates the extensions; prints nothing on success. The purge of
#          closed workflows is off unless DURABLE_PURGE=on.
#   stop   stops it (fast)
#   env    prints the PG* variables to reach it (eval "$(cluster.sh env ...)")
# As root, PostgreSQL runs as the postgres user, which refuses to run as root.
set -euo pipefail
cmd=${1:?usage: cluster.sh start|stop|env NAME PORT}
name=${2:?cluster name}
port=${3:?port}
top=$(cd "$(dirname "$0")/.." && pwd)
# PG_CONFIG picks the installation (scripts/pginst.sh makes a private one).
bindir=$(${PG_CONFIG:-pg_config} --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
[ -x "$bindir/pg_ctl" ] || bindir=/usr/lib/postgresql/15/bin

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The data directory lives under the project unless the postgres user cannot
# reach it (a checkout under /root), or the socket path would be too long.
base="$top/.run"
if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$top" 2>/dev/null; then
    base="/tmp/durable-$(echo "$top" | md5sum | cut -c1-8)"
fi
if [ ${#base} -gt 70 ]; then
    base="/tmp/durable-$(echo "$top" | md5sum | cut -c1-8)"
fi
data="$base/$name/data"
sock="$base/$name/sock"
log="$base/$name/postgres.log"

case "$cmd" in
env)
    echo "export PGHOST='$sock' PGPORT='$port' PGUSER=postgres PGDATABASE=postgres"
    echo "export DURABLE_PGDATA='$data' DURABLE_PGLOG='$log' DURABLE_RUN_BASE='$base' DURABLE_PGBIN='$bindir'"
    ;;
start)
    mkdir -p "$base/$name"
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$base/$name"; chmod 755 "$base" "$base/$name"; fi
    as_pg mkdir -p "$sock"
    if [ ! -f "$data/PG_VERSION" ]; then
        as_pg "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        as_pg tee -a "$data/postgresql.conf" >/dev/null <<CONF
# durable
listen_addresses = ''
unix_socket_directories = '$sock'
port = $port
shared_preload_libraries = 'durable'
durable.database = 'postgres'
max_connections = 200
shared_buffers = 256MB
log_line_prefix = '%m [%p] %q%a '
# Tests skip time by months (durable.skip_time): a purge of closed runs racing
# their reads would make them flaky. tests/retention turns it on (ALTER SYSTEM);
# make run's sandbox (DURABLE_PURGE=on) purges as a real store does.
$([ "${DURABLE_PURGE:-off}" = on ] && echo "# durable.purge_batch: default" || echo "durable.purge_batch = 0")
CONF
    fi
    if ! as_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_pg "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null
    fi
    as_pg "$bindir/psql" -h "$sock" -p "$port" -U postgres -d postgres -qX -v ON_ERROR_STOP=1 \
        -c "SET client_min_messages = warning" \
        -c "CREATE EXTENSION IF NOT EXISTS durable" -c "CREATE EXTENSION IF NOT EXISTS pgtap" >/dev/null
    ;;
stop)
    if [ -f "$data/PG_VERSION" ]; then
        as_pg "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
*)
    echo "cluster.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
