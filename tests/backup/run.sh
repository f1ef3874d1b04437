#!/usr/bin/env bash
# The backup suite: a restore keeps every workflow (restore.sh), and a
# restore and a streaming standby keep the skipped clock (clock.sh).
cd "$(dirname "$0")"
failed=()
for t in restore.sh clock.sh; do
	echo "-- $t"
	bash "$t" || failed+=("$t")
done
[ ${#failed[@]} -eq 0 ] || { echo "backup: FAILED: ${failed[*]}"; exit 1; }
echo "backup: all passed"
