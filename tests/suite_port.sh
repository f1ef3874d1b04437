# suite_port N: the port of a suite's Nth cluster of its own (N from 1), after
# the test cluster's (DURABLE_TEST_PORT, scripts/test.sh): in the range of
# ports of whoever runs the tests, each checkout on its own (the suites run
# one after another, so they share these). The one place that reads
# DURABLE_TEST_PORT (tests/suite_ports checks it): sourced by tests/lib.sh,
# tests/backup/lib.sh and the suites that source neither.
suite_port() { echo $(( ${DURABLE_TEST_PORT:-55432} + $1 )); }
