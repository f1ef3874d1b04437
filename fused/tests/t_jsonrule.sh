# One rule for valid JSON, the same through the mount and SQL: what jsonb
# accepts (any number, however large or small), nested at most 128 levels.
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-jsonrule
trap 'unmount_fs $M' EXIT
mount_fs "$M" "$WORK/jsonrule.log" || exit 1
q="jr-$$"
"$FSX" write "$M/start" "{\"type\": \"T\", \"id\": \"jr-$$\", \"task_queue\": \"$q\"}" >/dev/null
W=$M/workflows/jr-$$
nest() { python3 -c "import sys; n=int(sys.argv[1]); print('[' * n + '1' + ']' * n)" "$1"; }
# what SQL says of a signal payload: ok, or the SQLSTATE
via_sql() {
    psql -qXAt -c "SELECT durable.signal_workflow('jr-$$', 'sql', \$j\$$1\$j\$::jsonb)" >/dev/null 2>"$WORK/jr.err" \
        && echo ok || grep -o 'ERROR: *[^:]*' "$WORK/jr.err" | head -1 | sed 's/ERROR: *//'
}
via_mount() { "$FSX" write "$W/signals/fs" "$1"; }

check() { # payload, expected mount result, expected SQL result, description
    is "$(via_mount "$2")" "$3" "mount: $1"
    is "$(via_sql "$2")" "$4" "SQL: $1"
}
check "1e400" '1e400' OK ok
check "a 30-digit integer" '123456789012345678901234567890' OK ok
check "a tiny exponent" '{"tiny": 1e-400, "neg": -0.0}' OK ok
check "128 levels of nesting" "$(nest 128)" OK ok
check "129 levels of nesting" "$(nest 129)" EINVAL "signal input is nested too deeply"
check "a leading zero" '01' EINVAL "invalid input syntax for type json"
check "\\u0000" '"\u0000"' EINVAL "unsupported Unicode escape sequence"
check "a lone surrogate" '"\ud800"' EINVAL "invalid input syntax for type json"
is "$(sql "SELECT count(*) FROM durable.get_history('jr-$$') WHERE attributes ->> 'signal_name' = 'fs'")" \
   "$(sql "SELECT count(*) FROM durable.get_history('jr-$$') WHERE attributes ->> 'signal_name' = 'sql'")" \
   "the mount and SQL accepted the same number of signals"
is "$(sql "SELECT string_agg(attributes ->> 'input', ' ' ORDER BY event_id) FROM durable.get_history('jr-$$') WHERE attributes ->> 'signal_name' = 'fs'")" \
   "$(sql "SELECT string_agg(attributes ->> 'input', ' ' ORDER BY event_id) FROM durable.get_history('jr-$$') WHERE attributes ->> 'signal_name' = 'sql'")" \
   "and stored the same values"
is "$(sql "SELECT string_agg((attributes -> 'input' = '1e400' OR attributes -> 'input' = '123456789012345678901234567890')::text, ' ' ORDER BY event_id)
            FROM durable.get_history('jr-$$') WHERE attributes ->> 'signal_name' = 'fs' AND jsonb_typeof(attributes -> 'input') = 'number'")" \
   "true true" "numbers stay exact (jsonb numeric): 1e400 and the 30-digit integer"
is "$("$FSX" write "$M/start" "{\"type\": \"T\", \"id\": \"jr2-$$\", \"task_queue\": \"$q\", \"input\": {\"x\": 1e400}}")" "OK" "a start whose input holds 1e400"
# numbers through the mount come back as they went in (the daemon never re-encodes them)
is "$("$FSX" write "$M/start" "{\"type\": \"T\", \"id\": \"jr3-$$\", \"task_queue\": \"$q\", \"input\": {\"price\": 0.1, \"rate\": 3.14, \"tiny\": 1e-7, \"big\": 9007199254740993, \"money\": 19.99}}")" "OK" "a start with money-like values, 2^53 + 1 and an exponent"
is "$(cat "$M/workflows/jr3-$$/input")" '{"big": 9007199254740993, "rate": 3.14, "tiny": 0.0000001, "money": 19.99, "price": 0.1}' "input reads back with every number unchanged (jsonb's text)"
[ "$n_fail" -eq 0 ]
