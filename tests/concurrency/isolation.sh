#!/usr/bin/env bash
# pg_isolation_regress specs (tests/concurrency/isolation/specs) against the
# running cluster named by the PG* variables: exact interleavings of leases and
# completions, compared with tests/concurrency/isolation/expected. Exits
# non-zero with a one-line reason on failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pgxs=$(dirname "$(pg_config --pgxs)")/../..
iso="$pgxs/src/test/isolation/pg_isolation_regress"
[ -x "$iso" ] || { echo "isolation: FAIL: pg_isolation_regress not found under $pgxs"; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
specs=$(cd "$here/isolation/specs" && ls *.spec | sed 's/\.spec$//')
# --use-existing: run in the database that has durable (PGDATABASE), do not create one
if ! "$iso" --use-existing --dbname="${PGDATABASE:-postgres}" --inputdir="$here/isolation" \
        --outputdir="$out" $specs >"$out/log" 2>&1; then
    cat "$out/log"
    [ -f "$out/regression.diffs" ] && head -60 "$out/regression.diffs"
    echo "isolation: FAIL: $(grep -E 'failed|FAILED' "$out/log" | head -1)"
    exit 1
fi
echo "isolation: ok ($(echo $specs | wc -w) specs)"
