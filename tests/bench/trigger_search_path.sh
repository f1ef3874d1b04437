#!/usr/bin/env bash
# tests/bench/trigger_search_path.sh [ROUNDS] [ROWS]: what `SET search_path`
# costs a trigger function per row (sql/README.md, "Trigger functions and
# search_path"). Each round fires four triggers ROWS times, alternated: a
# PL/pgSQL trigger that returns NEW and a C one (suppress_redundant_updates_trigger,
# as a stand-in for the C placing triggers), each without and with
# `SET search_path = pg_catalog, pg_temp`, and takes EXPLAIN ANALYZE's own
# time of the trigger (its "Trigger ...: time=" line: the trigger's calls
# alone, not the statement). Prints µs per call, each round's ratio
# with/without, the median ratios and the median µs the SET adds to a C call. On the PG* cluster, in a scratch schema
# dropped at the end.
set -euo pipefail
ROUNDS=${1:-5} ROWS=${2:-100000}
sql() { psql -qXAt -v ON_ERROR_STOP=1 -c "$1"; }
trap 'sql "DROP SCHEMA IF EXISTS t_sp CASCADE" >/dev/null' EXIT
sql "DROP SCHEMA IF EXISTS t_sp CASCADE; CREATE SCHEMA t_sp;
     CREATE FUNCTION t_sp.plain() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
     CREATE FUNCTION t_sp.pinned() RETURNS trigger LANGUAGE plpgsql
         SET search_path = pg_catalog, pg_temp AS 'BEGIN RETURN NEW; END';
     CREATE FUNCTION t_sp.c_plain() RETURNS trigger LANGUAGE internal AS 'suppress_redundant_updates_trigger';
     CREATE FUNCTION t_sp.c_pinned() RETURNS trigger LANGUAGE internal
         SET search_path = pg_catalog, pg_temp AS 'suppress_redundant_updates_trigger'" >/dev/null
# us_per_call FUNCTION: µs per call of a BEFORE INSERT (PL/pgSQL) or BEFORE
# UPDATE (C) row trigger calling FUNCTION, over ROWS rows
us_per_call() {
    local op
    sql "DROP TABLE IF EXISTS t_sp.t; CREATE TABLE t_sp.t (id int, v int)" >/dev/null
    case $1 in
    c_*) sql "INSERT INTO t_sp.t SELECT i, 0 FROM generate_series(1, $ROWS) i" >/dev/null
         sql "CREATE TRIGGER t BEFORE UPDATE ON t_sp.t FOR EACH ROW EXECUTE FUNCTION t_sp.$1()" >/dev/null
         op="UPDATE t_sp.t SET v = v + 1" ;;
    *)   sql "CREATE TRIGGER t BEFORE INSERT ON t_sp.t FOR EACH ROW EXECUTE FUNCTION t_sp.$1()" >/dev/null
         op="INSERT INTO t_sp.t SELECT i, 0 FROM generate_series(1, $ROWS) i" ;;
    esac
    psql -qXAt -c "EXPLAIN (ANALYZE) $op" |
        sed -n 's/^Trigger t: time=\([0-9.]*\) calls=\([0-9]*\).*/\1 \2/p' | awk '{ printf "%.3f", $1 * 1000 / $2 }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
pl=() c=() d=()
for r in $(seq 1 "$ROUNDS"); do
    a=$(us_per_call plain) b=$(us_per_call pinned) ca=$(us_per_call c_plain) cb=$(us_per_call c_pinned)
    pl+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')")
    c+=("$(awk -v a="$ca" -v b="$cb" 'BEGIN { printf "%.2f", b / a }')")
    d+=("$(awk -v a="$ca" -v b="$cb" 'BEGIN { printf "%.3f", b - a }')")
    echo "round $r: plpgsql $a -> $b us per call (${pl[-1]}); C $ca -> $cb us per call (${c[-1]})"
done
echo "trigger_search_path: median ratio with/without SET: plpgsql $(printf '%s\n' "${pl[@]}" | median)," \
     "C $(printf '%s\n' "${c[@]}" | median); the SET adds $(printf '%s\n' "${d[@]}" | median) us per C call"
