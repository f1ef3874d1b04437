#!/usr/bin/env bash
# The HA suite: etcd and three PostgreSQL 15 nodes under Patroni (lib.sh,
# patroni.yml.in), synchronous_mode on, and real failovers under load
# (t_failover.sh). Everything it starts is stopped on exit, failure or ^C.
# HA_WORKFLOWS scales the load of each round (default 1000).
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/lib.sh"
for tool in patroni etcd etcdctl patronictl; do
	command -v "$tool" >/dev/null || { echo "ha: $tool is not installed (scripts/install-deps.sh)"; exit 1; }
done
[ -x "$TOP/worker/build/durable-worker" ] || { echo "ha: build first (make all)"; exit 1; }

FAILED=0
fail() { log "FAIL: $*"; FAILED=$((FAILED + 1)); }
expect() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }

trap 'ha_teardown' EXIT
trap 'exit 130' INT TERM
log "ha: starting etcd and $HA_NODES Patroni nodes under $HA_DIR"
if ! ha_setup; then
	fail "the HA test bed did not come up"
	tail -n 20 "$HA_DIR"/node*/patroni.log "$HA_DIR/etcd.log" 2>/dev/null
	exit 1
fi
log "ha: $(members | tr '\n' ' ')"
for t in "$(dirname "$0")"/t_*.sh; do
	log "-- $(basename "$t")"
	. "$t"
done
if [ "$FAILED" -gt 0 ]; then
	log "ha: $FAILED checks failed (logs kept in $HA_DIR)"
	HA_KEEP=1
	exit 1
fi
log "ha: all passed"
