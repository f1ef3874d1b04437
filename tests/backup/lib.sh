# Helpers for the backup and upgrade suites: extra clusters of their own
# (scripts/cluster.sh under $DURABLE_RUN_BASE, from the private $PG_CONFIG),
# on top of the worker end-to-end helpers (real durable-worker processes).
# Source it after setting SUITE (the suite's name, used for cluster names).
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/worker/tests/e2e/lib.sh"
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PGBIN=${DURABLE_PGBIN:-$("${PG_CONFIG:-pg_config}" --bindir)}
CLUSTERS=()

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# suite_port N: the port of the suite's Nth cluster of its own (tests/suite_port.sh)
. "$TOP/tests/suite_port.sh"

# cluster_start NAME PORT: a fresh cluster of our own (wiped first), durable created in it
cluster_start() {
	"$TOP/scripts/cluster.sh" stop "$1" "$2"
	rm -rf "${DURABLE_RUN_BASE:?}/$1"
	CLUSTERS+=("$1:$2")   # stopped on exit even if it starts but CREATE EXTENSION fails
	"$TOP/scripts/cluster.sh" start "$1" "$2"
}

# on NAME PORT: the PG* variables of that cluster (eval "$(on NAME PORT)")
on() { "$TOP/scripts/cluster.sh" env "$1" "$2"; }

stop_clusters() {
	local c
	for c in "${CLUSTERS[@]}"; do "$TOP/scripts/cluster.sh" stop "${c%%:*}" "${c##*:}"; done
	CLUSTERS=()
}

trap 'stop_workers; stop_clusters' EXIT

# must WHAT CMD...: a check the rest of the test cannot go on without
must() {
	local what=$1; shift
	if "$@"; then PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); echo "FAIL: $what (cannot go on)"; finish; exit 1; fi
}

# all_closed NS: every workflow of the namespace closed (deadline 180 s)
all_closed() {
	local deadline=$((SECONDS + 180))
	until [ "$(sql "SELECT count(*) FROM durable.workflows WHERE namespace = '$1' AND status = 'RUNNING'")" = 0 ]; do
		if [ $SECONDS -ge $deadline ]; then
			echo "  still running:"; sql "SELECT workflow_id, workflow_type, task_queue FROM durable.workflows WHERE namespace = '$1' AND status = 'RUNNING' LIMIT 10"
			return 1
		fi
		sleep 0.2
	done
}

# no_problems: durable.verify_store() finds nothing (prints what it found)
no_problems() {
	local found
	found=$(sql "SELECT problem || ' ' || coalesce(run_id::text, '') || ' ' || detail FROM durable.verify_store() LIMIT 20")
	[ -z "$found" ] || { echo "  verify_store: $found"; return 1; }
}
