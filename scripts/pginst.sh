#!/usr/bin/env bash
# A private, relocated copy of the system's PostgreSQL 15 for one checkout's
# tests: `make test` installs durable into it instead of into /usr, so two
# checkouts (or a running `make run` cluster) never share, or swap under each
# other, durable.so and its SQL scripts. PostgreSQL finds its share and lib
# directories relative to its binaries, so a plain copy of both trees works.
# Usage: pginst.sh DIR   (creates or refreshes DIR, prints DIR's pg_config)
set -euo pipefail
dir=${1:?usage: pginst.sh DIR}
sys_bin=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
sys_share=$(pg_config --sharedir 2>/dev/null || echo /usr/share/postgresql/15)
# a private copy's pg_config first on PATH is not the system's: copying DIR
# onto itself would first remove it
case "$(realpath -m "$sys_bin")/" in
"$(realpath -m "$dir")"/*) sys_bin=/usr/lib/postgresql/15/bin sys_share=/usr/share/postgresql/15 ;;
esac
sys_lib=$(dirname "$sys_bin")            # /usr/lib/postgresql/15
[ -x "$sys_bin/postgres" ] || { echo "pginst: no PostgreSQL server in $sys_bin" >&2; exit 1; }

# Refresh when the system's server or its set of extensions changed.
stamp=$( { echo layout-2; stat -c '%Y %s' "$sys_bin/postgres"; ls "$sys_share/extension" "$sys_lib/lib"; } | md5sum | cut -c1-16)
if [ ! -f "$dir/.stamp" ] || [ "$(cat "$dir/.stamp")" != "$stamp" ]; then
    rm -rf "$dir"
    mkdir -p "$dir/lib/postgresql" "$dir/share/postgresql"
    cp -a "$sys_lib" "$dir/lib/postgresql/"
    cp -a "$sys_share" "$dir/share/postgresql/"
    # headers and libpq stay the system's: linked, so that PGXS builds
    # against this copy work too (make -C pgext install PG_CONFIG=... before make all)
    for sys_dir in "$(pg_config --includedir)" "$(pg_config --libdir)"; do
        case "$sys_dir" in /usr/*) ;; *) continue ;; esac
        link="$dir/${sys_dir#/usr/}"
        [ -e "$link" ] || { mkdir -p "$(dirname "$link")"; ln -s "$sys_dir" "$link"; }
    done
    chmod 755 "$dir" "$dir/lib" "$dir/share"
    echo "$stamp" >"$dir/.stamp"
fi
echo "$dir/lib/postgresql/$(basename "$sys_lib")/bin/pg_config"
