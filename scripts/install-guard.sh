#!/usr/bin/env bash
# Refuses to go on while a running PostgreSQL has loaded the durable.so that
# an install would replace: a library replaced under a running server was
# seen to crash a backend (issue 8). Names each such cluster (its data
# directory, which is every server process's working directory) and how to
# stop it. Usage: install-guard.sh PKGLIBDIR   (exit 1: a cluster uses it)
# Needs to read other users' /proc/PID/maps: run it as root (make install does).
set -uo pipefail
lib="${1:?usage: install-guard.sh PKGLIBDIR}/durable.so"
[ -e "$lib" ] || exit 0
lib=$(readlink -f "$lib")
declare -A clusters=()
for maps in /proc/[0-9]*/maps; do
    pid=${maps#/proc/}; pid=${pid%/maps}
    grep -qF " $lib" "$maps" 2>/dev/null || continue
    data=$(readlink "/proc/$pid/cwd" 2>/dev/null) || continue
    [ -f "$data/postmaster.pid" ] && clusters[$data]=$(head -n 1 "$data/postmaster.pid")
done
[ ${#clusters[@]} -eq 0 ] && exit 0
for data in "${!clusters[@]}"; do
    echo "install: refusing to replace $lib: the cluster in $data (postmaster pid ${clusters[$data]}) has it loaded;" \
         "stop it first (pg_ctl -D $data stop; make stop for make run's), install, then start it" >&2
done
exit 1
