#!/usr/bin/env bash
# Runs every end-to-end test (tests/e2e/t_*.sh); fails if one fails.
cd "$(dirname "$0")"
failed=()
for t in t_*.sh; do
	echo "-- $t"
	bash "$t" || failed+=("$t")
done
[ ${#failed[@]} -eq 0 ] || { echo "end-to-end FAILED: ${failed[*]}"; exit 1; }
echo "end-to-end: all passed"
