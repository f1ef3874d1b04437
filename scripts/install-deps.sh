#!/usr/bin/env bash
# Installs the Debian packages durable needs, only those missing. Works as
# root or as a user with sudo. chromium, prometheus, nodejs and npm are for the
# console's browser tests (tests/web), which fetch a pinned puppeteer-core.
set -euo pipefail
packages=(make gcc pkg-config postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap
          libpq-dev libfuse3-dev fuse3 libuv1-dev libjansson-dev inotify-tools valgrind
          libmicrohttpd-dev libsodium-dev chromium prometheus
          python3                             # worker/tests/docs_check.py, fused tests
          libfaketime                         # tests/run_id_clock
          patroni etcd-server etcd-client)   # tests/ha
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm may come from elsewhere (a nodejs that bundles npm): only by command
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
