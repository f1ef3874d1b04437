#!/usr/bin/env bash
# Every cluster a test suite makes of its own takes its port from the test
# cluster's (DURABLE_TEST_PORT, scripts/test.sh) through suite_port
# (tests/suite_port.sh, which tests/lib.sh and tests/backup/lib.sh source), so that whoever runs the tests uses
# ports of their own range and two checkouts can run the same suite at once:
# no suite picks a port by itself (a number, a random one, a free one found
# at run time), but tests/ha, whose Patroni and etcd listen on TCP and need
# ports free on the machine. Reads the scripts; starts nothing.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/lib.sh

scripts=$(git ls-files 'tests/*.sh' | grep -v -e '^tests/bench/' -e '^tests/ha/' -e '^tests/suite_ports/')
# a port variable set to a number, to arithmetic of its own, to RANDOM or $$, or to free_port
own=$(grep -nE '(^|[^A-Za-z_])[A-Za-z_]*(port|PORT)=(\$\{[A-Z_]+:-)?([0-9]{4,5}|\$\(\((5|6)[0-9]{4}|\$\(free_port\))' $scripts)
check "no suite sets a port of its own (a number, RANDOM, \$\$ or free_port)" '[ -z "$own" ]'
[ -z "$own" ] || echo "$own"
check "free_port is gone from the suites' helpers" '! grep -n "free_port" tests/lib.sh tests/backup/lib.sh'
# suite_port is written once: no suite (nor helper) counts from the test
# cluster's port itself
again=$(grep -n 'DURABLE_TEST_PORT' $(echo "$scripts" | grep -v '^tests/suite_port\.sh$'))
check "only tests/suite_port.sh reads DURABLE_TEST_PORT" '[ -z "$again" ]'
[ -z "$again" ] || echo "$again"
check "suite_port counts from DURABLE_TEST_PORT" \
    '[ "$(DURABLE_TEST_PORT=58400 suite_port 2)" = 58402 ] && [ "$(DURABLE_TEST_PORT=61000 bash -c ". tests/backup/lib.sh >/dev/null 2>&1; suite_port 1")" = 61001 ]'
check "scripts/test.sh hands its port to the suites" 'grep -q "^export DURABLE_TEST_PORT=" scripts/test.sh'
summary suite_ports
