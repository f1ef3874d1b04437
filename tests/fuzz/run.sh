#!/usr/bin/env bash
# The fuzz suite: a cluster of its own (its server log is the fuzzer's alone),
# a durablefs mount (the AddressSanitizer build) on it, and tests/fuzz/fuzz
# for FUZZ_SECONDS split over the FUZZ_SEEDS, after a replay of the corpus.
# `make test` runs it for about a minute with fixed seeds; `make fuzz` runs it
# for FUZZ_SECONDS (default 600) with a fresh seed. Inputs that break
# something are kept in $FUZZ_FOUND (default: a folder the run prints).
#   FUZZ_SECONDS=60 FUZZ_SEEDS="1 2 3" scripts/test.sh fuzz
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
seconds=${FUZZ_SECONDS:-60}
seeds=${FUZZ_SEEDS:-"1 2 3"}
. "$top/tests/suite_port.sh"
port=${FUZZ_PORT:-$(suite_port 1)}
name=fuzz

make -s -C "$here" >/dev/null || { echo "fuzz: cannot build the fuzzer"; exit 1; }
# FUZZ_DURABLEFS: another daemon to fuzz (an older build, to see the corpus catch its bugs)
daemon=${FUZZ_DURABLEFS:-$top/fused/durablefs-asan}
[ -n "${FUZZ_DURABLEFS:-}" ] || make -s -C "$top/fused" durablefs-asan >/dev/null ||
    { echo "fuzz: cannot build durablefs"; exit 1; }

# the whole input stream is a function of the seed: the same twice, another for another
a=$("$here/fuzz" --seed 1 --dry 1000 | md5sum)
b=$("$here/fuzz" --seed 1 --dry 1000 | md5sum)
c=$("$here/fuzz" --seed 2 --dry 1000 | md5sum)
if [ "$a" == "$b" ] && [ "$a" != "$c" ]; then
    echo "ok - the fuzzer's inputs are a function of its seed"
else
    echo "not ok - the fuzzer's inputs do not follow the seed ($a $b $c)"
    exit 1
fi

cluster() { "$top/scripts/cluster.sh" "$1" "$name" "$port"; }
eval "$(cluster env)"
cluster stop
rm -rf "$(dirname "$DURABLE_PGDATA")" # a fresh store: the fingerprint starts clean
cluster start || { echo "fuzz: cannot start a cluster"; exit 1; }
eval "$(cluster env)"

work=$(mktemp -d /tmp/durable-fuzz.XXXXXX)
found=${FUZZ_FOUND:-$work/found}
mkdir -p "$found" "$work/mnt"
M=$work/mnt
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
    "$daemon" "$M" -f --namespace fz --query-timeout-ms 1000 >"$work/durablefs.log" 2>&1 &
dpid=$!
for _ in $(seq 1 200); do
    mountpoint -q "$M" && break
    kill -0 $dpid 2>/dev/null || break
    sleep 0.05
done
cleanup() {
    fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 $dpid 2>/dev/null || break; sleep 0.1; done
    kill $dpid 2>/dev/null
    wait $dpid 2>/dev/null
    cluster stop
}
trap cleanup EXIT
mountpoint -q "$M" || { echo "not ok - durablefs did not mount:"; sed 's/^/#   /' "$work/durablefs.log"; exit 1; }

set -- $seeds
per=$(( seconds / $# ))
[ "$per" -lt 1 ] && per=1
status=0
corpus=(--corpus "$here/corpus")
for seed in "$@"; do
    echo "# fuzz: seed $seed for $per s (replay: FUZZ_SEEDS=$seed FUZZ_SECONDS=$per)"
    if "$here/fuzz" --seed "$seed" --seconds "$per" --mount "$M" --daemon-pid $dpid \
        --pglog "$DURABLE_PGLOG" --found "$found" "${corpus[@]}" ${FUZZ_ARGS:-}; then
        echo "ok - fuzz seed $seed: nothing found"
    else
        echo "not ok - fuzz seed $seed found something (inputs in $found)"
        status=1
    fi
    corpus=() # replayed once is enough
done

trap - EXIT
cleanup
if grep -q -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$work/durablefs.log"; then
    echo "not ok - sanitizer report in durablefs's log:"
    grep -A30 -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$work/durablefs.log" | head -60
    status=1
fi
if [ $status -eq 0 ]; then
    rm -rf "$work"
else
    echo "# fuzz: logs in $work (durablefs.log), server log $DURABLE_PGLOG"
fi
exit $status
