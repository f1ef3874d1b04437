#!/usr/bin/env bash
# Run ids when the clock steps back (pgext/src/run_id.c): a backend's next id
# still sorts after its last, one 1/4096 ms past it, until the clock passes
# it again; another backend's ids follow its own clock. The suite's own
# cluster runs under libfaketime (LD_PRELOAD), its wall clock read from a
# file that the test rewrites between statements of one session (monotonic
# clocks left real): a step back of five minutes that only this server sees.
# Runs under $DURABLE_RUN_BASE (scripts/test.sh).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
: "${DURABLE_RUN_BASE:?run me through scripts/test.sh}"
. "$top/tests/lib.sh"
faketime_so=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime\.so\.1$' | head -1)
[ -n "$faketime_so" ] || { echo "run_id_clock: no libfaketime (scripts/install-deps.sh installs it)"; exit 1; }

# the server's clock: an offset in a file the server may read
dir="$DURABLE_RUN_BASE/run-id-clock-time"
rm -rf "$dir"; mkdir -p "$dir"; chmod 755 "$dir"
clock="$dir/offset"
echo "+0" > "$clock"; chmod 644 "$clock"
LD_PRELOAD=$faketime_so FAKETIME_TIMESTAMP_FILE=$clock FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 \
    suite_cluster run_id_clock run-id-clock
trap 'cluster stop; rm -rf "$dir"' EXIT

# One session: an id (a), the clock five minutes back, two ids (b, c) and
# one from another session meanwhile (o), the clock forward again, an id (d)
# between two readings of the clock (d0, d1). Per id: its 60 bits of time
# (48 of milliseconds, 12 of their fraction; hex digit 13 is the version),
# its milliseconds, and the clock's when it was made.
out=$(psql -qXAt -v ON_ERROR_STOP=1 <<SQL
CREATE TABLE ids (name text, id uuid, at timestamptz DEFAULT clock_timestamp());
INSERT INTO ids (name, id) VALUES ('a', durable._new_run_id());
\! echo "-300" > "$clock"
INSERT INTO ids (name, id) VALUES ('b', durable._new_run_id());
INSERT INTO ids (name, id) VALUES ('c', durable._new_run_id());
\! psql -qXAt -c "INSERT INTO ids (name, id) VALUES ('o', durable._new_run_id())"
\! echo "+0" > "$clock"
SELECT pg_sleep(0.01);
INSERT INTO ids (name) VALUES ('d0');
INSERT INTO ids (name, id) VALUES ('d', durable._new_run_id());
INSERT INTO ids (name) VALUES ('d1');
CREATE TEMP VIEW t AS
SELECT name, id, floor(extract(epoch FROM at) * 1000)::bigint AS at_ms,   -- truncated, as the id's ms
       ('x' || substr(replace(id::text, '-', ''), 1, 12))::bit(48)::bigint AS ms,
       ('x' || substr(replace(id::text, '-', ''), 1, 12))::bit(48)::bigint * 4096
         + ('x' || substr(replace(id::text, '-', ''), 14, 3))::bit(12)::bigint AS tp
  FROM ids;
SELECT 'stepped', (SELECT at_ms FROM t WHERE name = 'a') - (SELECT at_ms FROM t WHERE name = 'b') > 250000;
SELECT 'ordered', (SELECT id FROM t WHERE name = 'a') < (SELECT id FROM t WHERE name = 'b')
              AND (SELECT id FROM t WHERE name = 'b') < (SELECT id FROM t WHERE name = 'c');
SELECT 'one_past', (SELECT tp FROM t WHERE name = 'b') - (SELECT tp FROM t WHERE name = 'a') = 1
               AND (SELECT tp FROM t WHERE name = 'c') - (SELECT tp FROM t WHERE name = 'b') = 1;
SELECT 'other_own_clock', (SELECT ms FROM t WHERE name = 'a') - (SELECT ms FROM t WHERE name = 'o') > 250000;
SELECT 'resumed', (SELECT id FROM t WHERE name = 'c') < (SELECT id FROM t WHERE name = 'd')
              AND (SELECT ms FROM t WHERE name = 'd') BETWEEN (SELECT at_ms FROM t WHERE name = 'd0')
                                                          AND (SELECT at_ms FROM t WHERE name = 'd1');
SELECT 'version', bool_and(substr(id::text, 15, 1) = '7' AND substr(id::text, 20, 1) IN ('8', '9', 'a', 'b'))
  FROM t WHERE id IS NOT NULL;
SQL
) || { nok "the session ran"; summary run_id_clock; exit 1; }
is_true() { [ "$(echo "$out" | sed -n "s/^$1|//p")" = t ]; }

check "the server's clock stepped back (b made about 300 s before a, by its clock)" 'is_true stepped'
check "ids made after the step still sort after the last: a < b < c" 'is_true ordered'
check "each one 1/4096 ms past the last (b = a + 1, c = b + 1)" 'is_true one_past'
check "another session meanwhile follows its own clock (its id about 300 s before a)" 'is_true other_own_clock'
check "the clock forward again: d sorts after c and holds the time it was made" 'is_true resumed'
check "version 7, variant 10 throughout" 'is_true version'
summary run_id_clock
