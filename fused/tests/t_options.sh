# Every documented option in every form docs/filesystem.md and --help show:
# "--opt VALUE", "--opt=VALUE" and "-o opt=VALUE". The daemon logs the values
# it took, and the namespace shows in what the mount lists.
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-options
trap 'unmount_fs $M' EXIT
ns="opt-ns-$$"
sql "SELECT durable.start_workflow('opt-$$', 'T', 'opt-q', NULL, '{}', '$ns')" >/dev/null

# mounts with the given options; prints the daemon's "mounted" line, or FAILED
try_mount() {
    local log=$WORK/options-$1.log
    shift
    if mount_fs "$M" "$log" "$@" >/dev/null; then
        grep -o 'mounted .*' "$log" | head -1
        ls "$M/workflows" | grep -c "opt-$$" >"$WORK/options.seen"
        unmount_fs "$M"
    else
        echo FAILED
        unmount_fs "$M"
    fi
}

like "$(try_mount a --query-timeout-ms 2000)" "query timeout 2000 ms" "--query-timeout-ms 2000 (the documented form)"
like "$(try_mount b --statement-timeout-ms 20000)" "statement timeout 20000 ms" "--statement-timeout-ms 20000"
like "$(try_mount c --query-timeout-ms=3000 --statement-timeout-ms=25000)" "query timeout 3000 ms, statement timeout 25000 ms" "--opt=N forms"
like "$(try_mount d -o query_timeout_ms=4000,statement_timeout_ms=26000)" "query timeout 4000 ms, statement timeout 26000 ms" "-o forms"
like "$(try_mount e --namespace "$ns")" "namespace $ns" "--namespace NS"
is "$(cat "$WORK/options.seen")" "1" "and the mount shows that namespace's workflows"
like "$(try_mount f --namespace="$ns")" "namespace $ns" "--namespace=NS"
like "$(try_mount g -o namespace="$ns")" "namespace $ns" "-o namespace=NS"
is "$(cat "$WORK/options.seen")" "1" "and the mount shows that namespace's workflows"
dsn="host=${PGHOST:-/tmp} port=${PGPORT:-5432} dbname=${PGDATABASE:-postgres}"
like "$(PGPORT=1 try_mount h --dsn "$dsn")" "mounted" "--dsn DSN overrides PG* (PGPORT=1 would fail)"
like "$(PGPORT=1 try_mount i --dsn="$dsn")" "mounted" "--dsn=DSN"
like "$(PGPORT=1 try_mount j -o dsn="$dsn")" "mounted" "-o dsn=DSN"
# the statement timeout is raised to the query timeout plus one second
like "$(try_mount k --query-timeout-ms 40000 --statement-timeout-ms 1000)" "statement timeout 41000 ms" "statement timeout at least query timeout + 1 s"
is "$(try_mount l --query-timeout-ms nope)" "FAILED" "a non-number is refused"
"$DURABLEFS" --help >"$WORK/options-help.txt" 2>&1
for o in --dsn --namespace --query-timeout-ms --statement-timeout-ms; do
    like "$(cat "$WORK/options-help.txt")" "$o" "--help shows $o"
done
[ "$n_fail" -eq 0 ]
