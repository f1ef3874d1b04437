# No document larger than the store's payload limit is held: the write that
# passes durable.max_payload_bytes (read from the server) is refused with
# EFBIG and nothing is buffered beyond it, and all open files together hold
# a bounded amount, so the daemon's memory stays bounded whatever is written.
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-limits
trap 'unmount_fs $M' EXIT
mount_fs "$M" "$WORK/limits.log" || exit 1
pid=$(cat "$M.pid")
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$pid/status"; }
q="lim-$$"
"$FSX" write "$M/start" "{\"type\": \"T\", \"id\": \"lim-$$\", \"task_queue\": \"$q\"}" >/dev/null
W=$M/workflows/lim-$$
limit=$(sql "SELECT pg_size_bytes(current_setting('durable.max_payload_bytes'))")
echo "# durable.max_payload_bytes = $limit; daemon RSS before: $(rss) kB (peak $(hwm) kB)"
before_hwm=$(hwm)

# --- 256 MiB: refused as soon as the writes pass the limit
read -r err accepted < <(python3 "$tests/bigw.py" "$W/signals/big" $((256 << 20)))
is "$err" "EFBIG" "a 256 MiB signal is EFBIG"
[ "$accepted" -le $((limit + 65536 + (1 << 20))) ] && ok "refused after $accepted bytes, not at the end" \
    || not_ok "accepted $accepted bytes before refusing"
like "$(cat "$W/last-error")" "larger than" "last-error says why"
is "$(grep -c WorkflowExecutionSignaled "$W/history")" "0" "nothing was applied"
grown=$(( $(hwm) - before_hwm ))
echo "# daemon RSS after the 256 MiB signal: $(rss) kB (peak grew by $grown kB)"
[ "$grown" -lt 65536 ] && ok "the daemon's peak RSS grew by less than 64 MB ($grown kB)" \
    || not_ok "the daemon's peak RSS grew by $grown kB"

# --- the same through bash, the way the issue met it
{ printf '"'; head -c $((256 << 20)) /dev/zero | tr '\0' a; printf '"'; } >"$W/signals/big2" 2>/dev/null \
    && not_ok "a 256 MiB signal through bash must fail" || ok "a 256 MiB signal through bash fails"

# --- just under the limit still arrives whole (the store decides the edge)
is "$(python3 "$tests/bigw.py" "$W/signals/under" $((limit - 4096)))" "OK $((limit - 4095))" "a signal just under the limit is accepted"
is "$(sql "SELECT octet_length(attributes -> 'input' #>> '{}') FROM durable.get_history('lim-$$') WHERE attributes ->> 'signal_name' = 'under'")" \
   "$((limit - 4096 - 1))" "and arrives whole"

# --- many open files at once: the daemon's budget is bounded too
out=$(python3 "$tests/bigw.py" "$W/signals/many" $((limit - 4096)) 40)
echo "# 40 opens of ~$((limit >> 20)) MiB unfinished each: $out"
like "$out" "ENOMEM" "past the budget, further writes are refused (ENOMEM) instead of held"
is "$(grep -c "signal_name\": \"many" "$W/history")" "0" "and unfinished documents were never applied"
grown=$(( $(hwm) - before_hwm ))
echo "# daemon peak RSS grew by $grown kB over all of this; RSS now $(rss) kB"
[ "$grown" -lt $(( (16 * (limit + 65536) + (96 << 20)) / 1024 )) ] && ok "peak RSS stays within the budget plus slack" \
    || not_ok "peak RSS grew by $grown kB"
[ "$n_fail" -eq 0 ]
