# 100,000 workflows: ls streams them page by page. Prints how long ls took
# and the daemon's peak RSS (timing is reported, never asserted).
. "$(dirname "$0")/lib.sh"
M=$WORK/mnt-big
trap 'unmount_fs $M' EXIT
mount_fs "$M" "$WORK/big.log" || exit 1
count=${DURABLEFS_BIG_COUNT:-100000}
p="big-$$-"
t0=$(date +%s%N)
for ((from = 1; from <= count; from += 10000)); do
    to=$((from + 9999 < count ? from + 9999 : count))
    sql "SELECT count(durable.start_workflow('$p' || lpad(i::text, 6, '0'), 'Bulk', 'big-q-$$'))
           FROM generate_series($from, $to) i" >/dev/null || { not_ok "starting workflows $from..$to"; exit 1; }
done
t1=$(date +%s%N)
echo "# started $count workflows in $(awk "BEGIN { printf \"%.2f\", ($t1 - $t0) / 1e9 }") s"

t0=$(date +%s%N)
n=$(ls "$M/workflows" | grep -c "^$p")
t1=$(date +%s%N)
is "$n" "$count" "ls workflows lists all $count"
echo "# ls of workflows/ took $(awk "BEGIN { printf \"%.2f\", ($t1 - $t0) / 1e9 }") s"
is "$(ls "$M/workflows" | grep "^$p" | head -n 3 | tr '\n' ' ')" "${p}000001 ${p}000002 ${p}000003 " "in workflow_id order"
is "$(ls "$M/by-status/RUNNING" | grep -c "^$p")" "$count" "by-status/RUNNING lists them too"
is "$(ls -U "$M/workflows" | grep "^$p" | sort | uniq -d | wc -l)" "0" "no entry twice across page boundaries"
pid=$(cat "$M.pid")
echo "# daemon peak RSS: $(grep VmHWM /proc/"$pid"/status | tr -s ' ')"
[ "$n_fail" -eq 0 ]
