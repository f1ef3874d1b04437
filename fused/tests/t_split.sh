# A document may reach the mount in any pieces (bash writes `echo '{...}'`
# one line per write(2)): it is applied when complete, whatever the writes,
# and refused with EINVAL at close() if it never becomes valid.
. "$(dirname "$0")/lib.sh"
SPLITW="python3 $tests/splitw.py"
M=$WORK/mnt-split
trap 'unmount_fs $M' EXIT
mount_fs "$M" "$WORK/split.log" || exit 1
q="split-$$"

# --- the README's own first command, in bash (two write(2)s, split at the newline)
(cd "$M" && bash -c 'echo '"'"'{"type": "LoanApplication", "id": "readme-'$$'", "task_queue": "loans",
       "input": {"applicant": "ada", "amount": 1000, "review_days": 3}}'"'"' > start') \
    && ok "the README's first command succeeds in bash" || not_ok "the README's first command"
is "$(cat "$M/workflows/readme-$$/status")" "RUNNING" "and started the workflow"
is "$(sql "SELECT input FROM durable.workflows WHERE workflow_id = 'readme-$$'")" \
   '{"amount": 1000, "applicant": "ada", "review_days": 3}' "with its whole input"

# --- a start spec split at every byte, and one byte per write
doc() { printf '{"type": "T", "id": "sp-%s-%03d", "task_queue": "%s", "input": {"n": [1, 2.5, "x y"]}}' "$$" "$1" "$q"; }
n=$(doc 0 | wc -c)
bad=0
for at in $(seq 1 $((n - 1))); do
    r=$($SPLITW "$M/start" "$(doc "$at")" "$at")
    [ "$r" = OK ] || { bad=$((bad + 1)); echo "# split at $at: $r"; }
done
is "$bad" "0" "a start spec split at each of its $((n - 1)) inner bytes is accepted every time"
is "$(sql "SELECT count(*) FROM durable.workflows WHERE workflow_id LIKE 'sp-$$-%'")" "$((n - 1))" "and started exactly one workflow each"
is "$($SPLITW "$M/start" "$(doc 999)" bytes)" "OK" "one byte per write(2)"
is "$(sql "SELECT input FROM durable.workflows WHERE workflow_id = 'sp-$$-999'")" '{"n": [1, 2.5, "x y"]}' "arrives whole"

# --- a signal split at every byte arrives whole, once per write sequence
W=$M/workflows/sp-$$-001
sig='{"a": [1, -2.5e3, "q\"uote\\u00e9"], "b": {"c": null, "d": true}}'
n=$(printf '%s' "$sig" | wc -c)
bad=0
for at in $(seq 1 $((n - 1))); do
    r=$($SPLITW "$W/signals/s" "$sig" "$at")
    [ "$r" = OK ] || { bad=$((bad + 1)); echo "# split at $at: $r"; }
done
is "$bad" "0" "a signal split at each of its $((n - 1)) inner bytes is accepted"
is "$(sql "SELECT count(*) FROM durable.get_history('sp-$$-001') WHERE attributes ->> 'signal_name' = 's'
              AND attributes -> 'input' = '$sig'::jsonb")" "$((n - 1))" "each delivered once, whole and equal"

# --- printf, cat file >, a number split in two, a ctl verb split mid-word
printf '{"type": "T",\n "id": "pf-%s",\n "task_queue": "%s"}\n' "$$" "$q" >"$M/start" && ok "printf of a multi-line spec" || not_ok "printf"
is "$(cat "$M/workflows/pf-$$/status")" "RUNNING" "started"
printf '{"type": "T",\n  "id": "cat-%s",\n  "task_queue": "%s"}\n' "$$" "$q" >"$WORK/spec.json"
cat "$WORK/spec.json" >"$M/start" && ok "cat file > start" || not_ok "cat file > start"
is "$(cat "$M/workflows/cat-$$/status")" "RUNNING" "started"
is "$($SPLITW "$W/signals/num" "42" 1)" "OK" "a number written as 4 then 2"
is "$(sql "SELECT attributes -> 'input' FROM durable.get_history('sp-$$-001') WHERE attributes ->> 'signal_name' = 'num'")" "42" "is 42 (a number ends at close)"
is "$($SPLITW "$W/ctl" $'cancel split\n' 3)" "OK" "a ctl verb split mid-word"
is "$(grep -c CancelRequested "$W/history")" "1" "is applied once, whole"
like "$(grep CancelRequested "$W/history")" '"cause": "split"' "with its reason"

# --- never valid: refused at close (or at the write that shows it), nothing applied
before=$(history_len "sp-$$-001")
is "$($SPLITW "$W/signals/s" '{"a": [1, 2' 4)" "close EINVAL" "a document unfinished at close is EINVAL at close"
like "$(cat "$W/last-error")" "ends early, after 11 bytes" "last-error describes the whole document, not the last piece"
like "$(cat "$W/last-error")" "close workflows/sp-$$-001/signals/s" "and names the file"
is "$($SPLITW "$W/signals/s" '{"a": [1, 2}' 6)" "write EINVAL" "a document that can never be valid is EINVAL at the write that shows it"
like "$(cat "$W/last-error")" "at byte 12" "last-error counts bytes of the whole document"
is "$($SPLITW "$W/signals/s" '{"a": 1}|{"b": 2}' docs)" "write EINVAL" "a second document on the same open is EINVAL"
is "$(history_len "sp-$$-001")" "$((before + 1))" "only the first document was applied"
is "$($SPLITW "$M/start" $'{"type": "T", "id": "nv-'$$'", "task_queue": "q"' 5)" "close EINVAL" "an unfinished start spec is EINVAL at close"
is "$("$FSX" open "$M/workflows/nv-$$" r)" "ENOENT" "and started nothing"
echo 'explode' >"$W/ctl" 2>/dev/null && not_ok "echo explode > ctl must fail" || ok "echo explode > ctl fails in bash (the line is complete at the write)"
[ "$n_fail" -eq 0 ]
