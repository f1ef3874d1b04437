#!/usr/bin/env bash
# plan_sizes (pgext/src/plan_sizes.c) resizes only durable's own tables: its
# get_relation_info_hook runs in every backend of the cluster, for every
# query, in users' databases too. A user's schema that happens to be named
# "durable", in a database without the extension (or after the extension is
# dropped), keeps PostgreSQL's own estimate; the extension's tables are still
# resized (the positive control).
# Uses the test cluster of scripts/test.sh (PG*), in databases of its own.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib.sh"
bin=${DURABLE_PGBIN:-$($PG_CONFIG --bindir)}
q() { "$bin/psql" -X -q -At -v ON_ERROR_STOP=1 "$@"; }

db=plan_sizes_user
q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" || { echo "plan_sizes: no database"; exit 1; }
trap 'q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1' EXIT

# rows the planner expects of "SELECT * FROM s.t", t analyzed while empty
est() { q -d "$db" -c "EXPLAIN (FORMAT JSON) SELECT * FROM $1.t" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Plan"]["Plan Rows"])'; }
q -d "$db" <<'SQL' || { echo "plan_sizes: setup failed"; exit 1; }
CREATE SCHEMA durable; CREATE SCHEMA other;
CREATE TABLE durable.t (a int, b text); CREATE TABLE other.t (a int, b text);
INSERT INTO durable.t SELECT i, 'x' FROM generate_series(1, 500) i;
INSERT INTO other.t SELECT i, 'x' FROM generate_series(1, 500) i;
DELETE FROM durable.t; DELETE FROM other.t;
ANALYZE durable.t; ANALYZE other.t;
SQL
mine=$(est durable) theirs=$(est other)
check "a user's schema named durable, no extension: estimate as PostgreSQL's ($mine vs $theirs)" '[ "$mine" = "$theirs" ]'

# positive control: a table of the extension's schema (in the database the
# extension lives in), analyzed empty, is resized
ctl=$(q <<'SQL'
DROP TABLE IF EXISTS durable.plan_sizes_probe;
CREATE TABLE durable.plan_sizes_probe (a int, b text);
ANALYZE durable.plan_sizes_probe;
EXPLAIN (FORMAT JSON) SELECT * FROM durable.plan_sizes_probe;
DROP TABLE durable.plan_sizes_probe;
SQL
)
rows=$(echo "$ctl" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Plan"]["Plan Rows"])')
check "the extension's schema: a table analyzed empty is resized ($rows rows)" '[ "${rows:-1}" -gt 1 ]'
summary plan_sizes
