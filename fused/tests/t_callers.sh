# With -o allow_other, each local user acts as the database role the users
# file maps it to: exactly that role's rights, truthful modes, EACCES for
# users the file does not map (nobody and root included).
. "$(dirname "$0")/lib.sh"
base=$(mktemp -d /tmp/durablefs-callers.XXXXXX)
chmod 755 "$base" # other users must reach the mount point and fsx
M=$base/mnt
P=$base/mnt-perm
U=$base/users
cp "$FSX" "$base/fsx"
fsx=$base/fsx
login="dfs_fs_$$" ops="dfs_ops_$$" ro="dfs_ro_$$" wk="dfs_wk_$$" lone="dfs_lone_$$" qw="dfs_qw_$$"
a="dfs$$a" b="dfs$$b" c="dfs$$c" w="dfs$$w" e="dfs$$e"
q="callers-q-$$"

cleanup() {
    unmount_fs "$M"
    unmount_fs "$P"
    for u in $a $b $c $w $e; do userdel "$u" >/dev/null 2>&1; done
    sql "SELECT durable.revoke_namespace('$ro', 'reader', 'default'),
                durable.revoke_task_queue('$qw', '$q', 'default');
         DROP ROLE IF EXISTS $login; DROP ROLE IF EXISTS $ops; DROP ROLE IF EXISTS $ro;
         DROP ROLE IF EXISTS $wk; DROP ROLE IF EXISTS $lone; DROP ROLE IF EXISTS $qw" >/dev/null 2>&1
    rm -rf "$base"
}
trap cleanup EXIT

# useradd locks /etc/passwd: another test may hold it for a moment
for u in $a $b $c $w $e; do
    eventually useradd --system --no-create-home --no-user-group --shell /usr/sbin/nologin "$u" ||
        { not_ok "useradd $u"; exit 1; }
done
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups -- "$@"; }

# The login role is a member of every mapped role (docs/security.md); its
# own rights serve only the daemon's watcher (tail -f, poll). And a worker
# of one task queue.
sql "CREATE ROLE $login LOGIN;
     CREATE ROLE $ops; GRANT durable_operator TO $ops;
     CREATE ROLE $wk; GRANT durable_worker TO $wk;
     CREATE ROLE $ro; SELECT durable.grant_namespace('$ro', 'reader', 'default');
     CREATE ROLE $qw; SELECT durable.grant_task_queue('$qw', '$q', 'default');
     CREATE ROLE $lone;
     GRANT $ops, $ro, $wk, $qw TO $login;" >/dev/null

# --- refusals at start ---
mkdir -p "$M"
out=$(timeout 30 "$DURABLEFS" "$M" -f -o allow_other --dsn "user=$login" 2>&1)
rc=$?
[ $rc -ne 0 ] && ok "allow_other without a users file is refused at start" || not_ok "mounted without users (rc $rc)"
like "$out" "users=FILE" "and the message says what to give"
mountpoint -q "$M" 2>/dev/null && fusermount3 -u "$M"

start_with() { # users file text, expected message part, description
    printf '%s\n' "$1" >"$U"
    chmod "${4:-644}" "$U"
    out=$(timeout 30 "$DURABLEFS" "$M" -f -o allow_other,users="$U" --dsn "user=$login" 2>&1)
    rc=$?
    mountpoint -q "$M" 2>/dev/null && fusermount3 -u "$M"
    [ $rc -ne 0 ] && like "$out" "$2" "$3" || not_ok "$3: mounted (rc $rc)"
}
start_with "$a $ops" "writable by others" "a users file others may write is refused" 666
start_with "$a no_such_role_$$" "line 1: role \"no_such_role_$$\" does not exist" "an unknown role is refused, with its line"
start_with "$a $ops
$b $lone" "line 2: the login role $login is not a member of role \"$lone\"" "a role the login role cannot take is refused"
start_with "dfs_no_such_user_$$ $ops" "no local user named" "an unknown user is refused"

# --- the mapped mount ---
cat >"$U" <<EOF
# who may use the mount, as which database role
$a    $ops      # operator
$b    $ro       # read-only
$w    $wk       # worker
nobody -
$e    $qw       # a worker of one task queue
EOF
chmod 644 "$U"
mount_fs "$M" "$WORK/callers.log" -o allow_other,users="$U" --dsn "user=$login" || exit 1

id="callers-$$"
sql "SELECT durable.start_workflow('$id', 'T', '$q', '{\"secret\": 42}')" >/dev/null
W=$M/workflows/$id
signals() { sql "SELECT count(*) FROM durable.get_history('$id') WHERE event_type = 'WorkflowExecutionSignaled'"; }
n_workflows() { sql "SELECT count(*) FROM durable.list_workflows()"; }

# the operator
is "$(as $a cat "$W/status")" "RUNNING" "the operator reads status"
is "$(as $a "$fsx" write "$W/signals/go" '{"n": 1}')" "OK" "and signals"
is "$(signals)" "1" "the signal arrived"
like "$(sql "SELECT attributes->>'identity' FROM durable.get_history('$id') WHERE event_type = 'WorkflowExecutionSignaled'")" \
     "for uid $(id -u $a) ($a) as $ops" "and its event says who sent it, as which role"
is "$(as $a "$fsx" write "$M/start" "{\"type\": \"T\", \"id\": \"$id-2\", \"task_queue\": \"$q\"}")" "OK" "and starts"
is "$(sql "SELECT durable.describe_workflow('$id-2') ->> 'status'")" "RUNNING" "the started workflow runs"
is "$(as $a stat -c '%u %a' "$M/start")" "$(id -u $a) 600" "start is rw and the operator's own"
is "$(as $a stat -c '%a' "$W/signals/go") $(as $a stat -c '%a' "$W/ctl")" "200 200" "signals and ctl are writable for it"
is "$(as $a stat -c '%a' "$W/status")" "400" "status is readable"
as $a "$fsx" poll "$W/history" >"$WORK/callers-poll.out" 2>"$WORK/callers-poll.armed" &
poller=$!
eventually grep -qs armed "$WORK/callers-poll.armed"
sql "SELECT durable.signal_workflow('$id', 'poke')" >/dev/null
eventually grep -qs POLLIN "$WORK/callers-poll.out" && ok "poll on history wakes for the operator (the watcher works)" ||
    not_ok "poll on history did not wake: $(cat "$WORK/callers-poll.out")"
kill $poller 2>/dev/null
wait $poller 2>/dev/null
is "$(as $a stat -c '%a' "$M/task-queues/$q/next")" "0" "next is not: an operator does not lease"

# the read-only role
is "$(as $b cat "$W/input")" '{"secret": 42}' "the read-only role reads input"
like "$(as $b ls "$M/workflows")" "$id" "and lists workflows"
before=$(n_workflows)
is "$(as $b "$fsx" write "$M/start" "{\"type\": \"T\", \"id\": \"$id-3\", \"task_queue\": \"$q\"}")" "EACCES" "but starting is EACCES"
is "$(n_workflows)" "$before" "and started nothing"
is "$(as $b "$fsx" write "$W/signals/go" '{}')" "EACCES" "signalling is EACCES"
is "$(as $b "$fsx" write "$W/ctl" 'terminate no')" "EACCES" "terminating is EACCES"
is "$(signals) $(sql "SELECT durable.describe_workflow('$id') ->> 'status'")" "2 RUNNING" "and nothing changed"
is "$(as $b stat -c '%u %a' "$M/start")" "$(id -u $b) 0" "start shows no bits to it"
is "$(as $b stat -c '%a' "$W/signals/go") $(as $b stat -c '%a' "$W/ctl") $(as $b stat -c '%a' "$W/status")" \
   "0 0 400" "nor signals and ctl; status is readable"
like "$(as $b cat "$M/last-error")" "42501" "its last-error names the missing privilege"
unlike "$(as $a cat "$M/last-error")" "42501" "which the operator's last-error does not show"

# the worker
is "$(as $w "$fsx" readnb "$M/task-queues/$q/next")" "EAGAIN" "the worker may lease (nothing ready)"
is "$(as $b "$fsx" readnb "$M/task-queues/$q/next")" "EACCES" "the read-only role may not"
is "$(as $w stat -c '%a' "$M/task-queues/$q/next")" "400" "next is readable for the worker"
is "$(as $w "$fsx" read "$W/input")" "EACCES" "the worker does not read workflows"

# a worker granted one task queue
is "$(as $e "$fsx" readnb "$M/task-queues/$q/next")" "EAGAIN" "a worker of queue A may lease from A"
is "$(as $e "$fsx" readnb "$M/task-queues/other-$q/next")" "EACCES" "but not from B"
is "$(as $e stat -c '%a' "$M/task-queues/$q/next") $(as $e stat -c '%a' "$M/task-queues/other-$q/next")" \
   "400 0" "and next's modes say so"

# unmapped callers: a user not in the file, nobody ("-"), root
for u in $c nobody root; do
    is "$(as $u "$fsx" read "$W/input")" "EACCES" "$u cannot read input"
    is "$(as $u "$fsx" read "$W/history")" "EACCES" "$u cannot read history"
    is "$(as $u "$fsx" read "$W/result")" "EACCES" "$u cannot read result"
    as $u ls "$M/workflows" >/dev/null 2>&1 && not_ok "$u lists workflows" || ok "$u cannot list workflows"
    is "$(as $u "$fsx" write "$W/signals/go" '{}')" "EACCES" "$u cannot signal"
    like "$(as $u cat "$M/README")" "durablefs" "$u reads README"
done
is "$(signals)" "2" "no unmapped caller changed anything"
like "$(as $c cat "$M/last-error")" "uid $(id -u $c) ($c) is not in the users file $U" "last-error tells an unmapped user why"
like "$(as nobody cat "$M/last-error")" "refused by line 5" "and one refused by \"-\""
like "$(cat "$WORK/callers.log")" "uid $(id -u $c) ($c) is not in the users file" "the daemon log has the reason"

# with default_permissions the kernel checks the same modes before the daemon
mount_fs "$P" "$WORK/callers-perm.log" -o allow_other,default_permissions,users="$U" --dsn "user=$login" || exit 1
is "$(as $b "$fsx" open "$P/start" w)" "EACCES" "default_permissions: the kernel refuses the read-only role"
is "$(as $a "$fsx" write "$P/workflows/$id/signals/go" '{"n": 2}')" "OK" "and lets the operator signal"
is "$(as $b cat "$P/workflows/$id/status")" "RUNNING" "and the read-only role read"
is "$(as nobody "$fsx" read "$P/workflows/$id/input")" "EACCES" "nobody still reads nothing"
is "$(signals)" "3" "exactly the operator's signals (and the poke) arrived"

[ "$n_fail" -eq 0 ]
