#!/usr/bin/env bash
# durable._notify (pgext/src/notify.c, in C since session 12) sends on the
# channel durable.task_queue_channel names, which the workers LISTEN on:
# for short names, for names whose channel would pass 63 bytes (then an md5
# of namespace and queue), right at 63 and 64 bytes, and multibyte names
# and kinds. A session listens on each channel; another commits one
# _notify per name; each must arrive on its channel, once.
set -euo pipefail
fail() { echo "notify_channel: FAIL: $*"; exit 1; }
sql() { psql -qXtA -v ON_ERROR_STOP=1 "$@"; }
long=$(printf 'q%.0s' $(seq 1 70))
# kind|namespace|queue; "durable.w." is 10 bytes, so a queue of 63 - 10 - 8 ("default.") = 45 bytes is the last that fits
q45=$(printf 'a%.0s' $(seq 1 45)) q46=$(printf 'b%.0s' $(seq 1 46))
cases=("workflow|default|short-$$" "activity|default|short-$$" "workflow|default|$long" "workflow|default|$q45"
       "workflow|default|$q46" "workflow|nämespace|qüeue-$$" "ärbeit|default|q-$$" "workflow|default|é$q45")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
    for c in "${cases[@]}"; do
        IFS='|' read -r k ns q <<<"$c"
        echo "SELECT format('LISTEN %I', durable.task_queue_channel('$k', '$q', '$ns')) \\gexec"
    done
    # (listening, then waiting until every notification is sent: a fixed
    # sleep lost the last ones on a loaded machine)
    echo "\\! touch '$tmp/listening'"
    echo "\\! for i in \$(seq 600); do [ -e '$tmp/sent' ] && break; sleep 0.1; done"
    echo "SELECT 1;"
} > "$tmp/listen.sql"
sql -f "$tmp/listen.sql" > "$tmp/heard" 2>&1 &
listener=$!
for i in $(seq 600); do [ -e "$tmp/listening" ] && break; sleep 0.1; done
[ -e "$tmp/listening" ] || fail "the listener did not start"
for c in "${cases[@]}"; do
    IFS='|' read -r k ns q <<<"$c"
    sql -c "SELECT durable._notify('$k', '$ns', '$q')" >/dev/null
done
touch "$tmp/sent"
wait "$listener"
for c in "${cases[@]}"; do
    IFS='|' read -r k ns q <<<"$c"
    ch=$(sql -c "SELECT durable.task_queue_channel('$k', '$q', '$ns')")
    n=$(grep -cF "Asynchronous notification \"$ch\" received" "$tmp/heard" || true)
    [ "$n" = 1 ] || { cat "$tmp/heard"; fail "$k $ns $q: $n notifications on $ch, expected 1"; }
done
echo "notify_channel: ok (${#cases[@]} channels)"
