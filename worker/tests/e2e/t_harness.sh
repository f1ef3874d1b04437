# The test harness (include/durable_test.h): each program in tests/harness/
# (built with ASan+UBSan) runs its workflows in a fresh namespace of this
# cluster with an in-process worker and skipped time, and must pass its own
# checks with a clean sanitizer report. approval_test.c is the unit test that
# docs/sdk.md shows; billing_test.c runs examples/subscription_billing.c.
. "$(dirname "$0")/lib.sh"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
for t in "$WORKER_DIR"/build/harness/*; do
	name=$(basename "$t")
	"$t" >"$LOGDIR/$name.log" 2>&1
	rc=$?
	check "$name passes its checks" eq "$rc" 0
	check "$name: no sanitizer report" eq "$(grep -c -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$LOGDIR/$name.log")" 0
	grep -E "checks,|real time" "$LOGDIR/$name.log" | sed "s/^/# $name: /"
done
check "the harness programs ran" test "$(ls "$WORKER_DIR"/build/harness | wc -l)" -ge 2
finish
