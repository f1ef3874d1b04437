#!/usr/bin/env bash
# Installs the Debian packages durable needs, only those missing. Works as
# root or as a user with sudo.
set -euo pipefail
packages=(make gcc pkg-config postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap
          libpq-dev libfuse3-dev fuse3 libuv1-dev libjansson-dev inotify-tools valgrind)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
