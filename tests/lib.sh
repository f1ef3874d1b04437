# Checks for the tests/<suite>/run.sh scripts that count their own results
# (parking, readonly, batch). Source it, then end with `summary SUITE`.
pass=0 fail=0
ok()   { echo "ok - $1"; pass=$((pass + 1)); }
nok()  { echo "not ok - $1"; fail=$((fail + 1)); }
# check WHAT EXPR: ok when EXPR (eval'd) is true
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }
# eventually SECONDS COMMAND: true as soon as COMMAND (eval'd) is
eventually() { local t=$1; shift; for _ in $(seq 1 $((t * 5))); do eval "$@" && return 0; sleep 0.2; done; return 1; }
# summary SUITE: the counts; exits non-zero if any check failed
summary() { echo "$1: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; }
# as_pg COMMAND...: runs it as the postgres user when we are root
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# suite_port N: the port of a suite's Nth cluster of its own (tests/suite_port.sh)
. "$(dirname "${BASH_SOURCE[0]}")/suite_port.sh"
# suite_cluster SUITE NAME: the suite's own cluster NAME (scripts/cluster.sh,
# under $DURABLE_RUN_BASE) made anew on its first port ($port, suite_port 1)
# and reached through the PG* variables; cluster CMD runs scripts/cluster.sh
# CMD on it. The suite exits if it does not start.
suite_cluster() {
    port=$(suite_port 1) suite_cluster_name=$2
    cluster() { scripts/cluster.sh "$1" "$suite_cluster_name" "$port"; }
    cluster stop >/dev/null 2>&1; rm -rf "${DURABLE_RUN_BASE:?}/$2"
    cluster start || { echo "$1: the cluster did not start"; exit 1; }
    eval "$(cluster env)"
}
# start_clients ROUND N: the suite's function `client ROUND C` for C = 1..N in
# the background (pids in clients); wait_clients ROUND: touches
# $work/stop-ROUND, which each client watches, and waits for them (the crash
# suites' concurrent writers)
start_clients() {
    local c
    clients=()
    for c in $(seq 1 "$2"); do
        client "$1" "$c" &
        clients+=($!)
    done
}
wait_clients() {
    touch "$work/stop-$1"
    for c in "${clients[@]}"; do wait "$c" 2>/dev/null; done
    clients=()
}
# build_perms_hook SUITE: tests/hooks/perms_hook.c (an ExecutorCheckPerms_hook
# refusing INSERTs into durable's history and task tables) built against
# $PG_CONFIG into $DURABLE_RUN_BASE/SUITE, readable by the server; sets so to
# the module's path (the hooks suites)
build_perms_hook() {
    local dir="$DURABLE_RUN_BASE/$1"
    rm -rf "$dir"; mkdir -p "$dir"; chmod 755 "$dir"
    so="$dir/perms_hook.so"
    cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -fPIC -shared \
        -I"$($PG_CONFIG --includedir-server)" -o "$so" tests/hooks/perms_hook.c \
        || { echo "$1: tests/hooks/perms_hook.c did not build"; exit 1; }
    chmod 755 "$so"
}
# hooked SQL: SQL run in a session that LOADed $so (build_perms_hook): its
# error's message, then (a second session) its SQLSTATE
hooked() {
    psql -qXAt -v VERBOSITY=terse -c "LOAD '$so'" -c "$1" 2>&1
    psql -qXAt -v VERBOSITY=sqlstate -c "LOAD '$so'" -c "$1" 2>&1
}
# kill_a_client ROUND CALL DOING: SIGKILLs the backend of one of the round's
# clients (a query calling CALL, e.g. durable._append) mid-loop, checks there
# was one ("a client's backend is DOING"), waits for the round's clients, and
# checks that the postmaster restarted every backend (the crash suites)
kill_a_client() {
    local victim
    victim=$(psql -qXAt -v ON_ERROR_STOP=1 -c "SELECT pid FROM pg_stat_activity
                                                WHERE query LIKE '%$2(%' AND pid <> pg_backend_pid() LIMIT 1")
    check "$1: a client's backend is $3" "[ -n \"$victim\" ]"
    [ -n "$victim" ] && as_pg kill -9 "$victim"
    wait_clients "$1"
    check "$1: the postmaster restarted every backend" \
        "eventually 60 'grep -q \"terminating any other active server processes\\|all server processes terminated\" \"$DURABLE_PGLOG\"'"
}
