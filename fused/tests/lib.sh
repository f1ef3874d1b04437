# Shared helpers for the durablefs shell tests: TAP-style assertions, mounting,
# and a psql stand-in for the workflow worker. Sourced, not run.
set -uo pipefail
tests=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FSX=$tests/fsx
DURABLEFS=${DURABLEFS:-$tests/../durablefs}
n_pass=0
n_fail=0

ok() { n_pass=$((n_pass + 1)); echo "ok - $*"; }
not_ok() { n_fail=$((n_fail + 1)); echo "not ok - $*"; }
is() { if [ "$1" == "$2" ]; then ok "$3"; else not_ok "$3: got [$1], want [$2]"; fi; }
like() { if [[ "$1" == *"$2"* ]]; then ok "$3"; else not_ok "$3: [$1] lacks [$2]"; fi; }
unlike() { if [[ "$1" != *"$2"* ]]; then ok "$3"; else not_ok "$3: [$1] has [$2]"; fi; }

sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }

# Retries a command until it succeeds: a guard against hanging forever when
# something is broken, never an assertion about how long things take.
eventually() {
    local deadline=$((SECONDS + ${EVENTUALLY_SECONDS:-60}))
    while [ $SECONDS -lt $deadline ]; do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

# need_worker PLUGIN WHAT: the worker in BIN and PLUGIN (a path under
# worker/build/) in SO; skips the whole test when either is not built.
need_worker() {
    local top
    top=$(cd "$tests/../.." && pwd)
    BIN=$top/worker/build/durable-worker
    SO=$top/worker/build/$1
    if [ ! -x "$BIN" ] || [ ! -f "$SO" ]; then
        echo "ok - skipped: the worker and its $2 are not built"
        exit 0
    fi
}
# start_worker QUEUE NAME: runs the worker on QUEUE in the background
# (worker_pid), its output in $WORK/NAME-worker.out; stop_worker ends it.
start_worker() {
    "$BIN" --task-queue "$1" --plugin "$SO" >"$WORK/$2-worker.out" 2>&1 &
    worker_pid=$!
}
stop_worker() { kill ${worker_pid:-} 2>/dev/null; wait ${worker_pid:-} 2>/dev/null; }

# mount_fs DIR LOG [durablefs args...]: mounts in the foreground, in the background.
mount_fs() {
    local dir=$1 log=$2
    shift 2
    mkdir -p "$dir"
    "$DURABLEFS" "$dir" -f "$@" >"$log" 2>&1 &
    echo $! >"$dir.pid"
    local i
    for i in $(seq 1 200); do
        mountpoint -q "$dir" && return 0
        kill -0 "$(cat "$dir.pid")" 2>/dev/null || break
        sleep 0.05
    done
    echo "# mount of $dir failed:"; sed 's/^/#   /' "$log"
    return 1
}

# stop_pids PID...: SIGTERM, then until each has gone (at most 5 s each), so
# that their last requests are done before an unmount
stop_pids() {
    local p i
    kill "$@" 2>/dev/null
    for p in "$@"; do
        for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    done
}

# unmount_fs DIR: always tries, then waits for the daemon to exit (so that
# AddressSanitizer's leak report lands in the log).
#
# A reader killed while its request is being answered makes the kernel send
# an INTERRUPT that libfuse 3.14 can only queue (the request it names is
# done); libfuse frees a queued interrupt when the next request arrives, so
# with no request after it the daemon exits holding a 128-byte fuse_req
# that LeakSanitizer reports (seen once in t_workflow, whose trap kills its
# tail -f just before this). One last
# request before the unmount lets libfuse free it; a request durablefs
# itself never answered would still be reported.
unmount_fs() {
    local dir=$1 pid
    pid=$(cat "$dir.pid" 2>/dev/null) || return 0
    stat "$dir" >/dev/null 2>&1
    fusermount3 -u "$dir" 2>/dev/null || fusermount3 -uz "$dir" 2>/dev/null
    local i
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rm -f "$dir.pid"
}

# Plays the workflow worker's part by hand: leases the workflow task of
# queue $1 and completes it with commands $2 (a JSON array).
workflow_task() {
    local tok
    tok=$(sql "SELECT task_token FROM durable.poll_workflow_tasks('$1', 'test-wf-worker', 1)")
    [ -n "$tok" ] || { echo "# no workflow task on $1"; return 1; }
    sql "SELECT durable.complete_workflow_task('$tok', '$2')" >/dev/null
}

# The number of events in a workflow's latest run.
history_len() { sql "SELECT durable.describe_workflow('$1') ->> 'history_length'"; }
