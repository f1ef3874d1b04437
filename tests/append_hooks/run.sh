#!/usr/bin/env bash
# An extension that checks or audits permissions through the executor's
# ExecutorCheckPerms_hook (sepgsql, pgaudit's object audit) sees every
# history append, as it saw the INSERT statement's: durable._append writes
# without the executor when it can (pgext/src/history_append.c), and must
# take the statement when such a hook is installed. tests/hooks/perms_hook.c,
# built here and LOADed into one session, refuses INSERTs into history_rows:
# the append is refused with its error and writes nothing; a session without
# it appends.
# Runs against the test cluster (scripts/test.sh); builds into $DURABLE_RUN_BASE.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
: "${DURABLE_RUN_BASE:?run me through scripts/test.sh}"
. "$top/tests/lib.sh"

build_perms_hook append_hooks
psql_t() { psql -qXAt "$@"; }

run=00000000-0000-0000-0000-0000000000ab
psql_t -c "DELETE FROM durable.history_rows WHERE run_id = '$run'" >/dev/null
trap 'psql_t -c "DELETE FROM durable.history_rows WHERE run_id = '"'$run'"'" >/dev/null' EXIT

by_append=$(hooked "SELECT durable._append('$run', 'MarkerRecorded', '{}')")
by_insert=$(hooked "INSERT INTO durable.history_rows VALUES ('$run', 1, 25, now(), '{}')")
check "with the hook, an INSERT into history_rows is refused by it" \
    "grep -q 'perms_hook: an INSERT into history_rows is refused' <<<\"\$by_insert\" && grep -q 42501 <<<\"\$by_insert\""
check "and an append is refused as the INSERT is" "[ \"\$by_append\" = \"\$by_insert\" ]"
check "writing nothing" "[ \"\$(psql_t -c \"SELECT count(*) FROM durable.history_rows WHERE run_id = '$run'\")\" = 0 ]"
check "_append_at too" \
    "[ \"\$(hooked \"SELECT durable._append_at('$run', 'MarkerRecorded', '{}', now())\")\" = \"\$by_insert\" ]"
check "a session without the hook appends" \
    "[ \"\$(psql_t -c \"SELECT durable._append('$run', 'MarkerRecorded', '{}')\")\" = 1 ]"

summary append_hooks
