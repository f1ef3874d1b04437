#!/usr/bin/env bash
# durablefs end-to-end tests: mounts the daemon (ASan build from make test)
# against the cluster in PG* and runs every tests/t_*.sh against the mount.
# Always unmounts. Exits non-zero if any assertion failed or ASan spoke.
set -uo pipefail
tests=$(cd "$(dirname "$0")" && pwd)
export DURABLEFS=${DURABLEFS:-$tests/../durablefs}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
work=$(mktemp -d /tmp/durablefs-test.XXXXXX)
export WORK=$work
status=0
shopt -s nullglob
for t in "$tests"/t_*.sh; do
    [ -n "${ONLY:-}" ] && [[ "$t" != *"$ONLY"* ]] && continue
    echo "# === $(basename "$t")"
    if ! bash "$t"; then
        echo "# $(basename "$t"): FAILED"
        status=1
    fi
done
# every daemon log must be free of sanitizer reports
for log in "$work"/*.log; do
    [ -e "$log" ] || continue
    if grep -q -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$log"; then
        echo "not ok - sanitizer report in $(basename "$log"):"
        grep -A30 -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$log" | head -60
        status=1
    fi
done
if [ $status -eq 0 ]; then
    echo "# durablefs tests: all passed"
    rm -rf "$work"
else
    echo "# durablefs tests: FAILED (logs in $work)"
fi
exit $status
