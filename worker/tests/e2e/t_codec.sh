# Payload codecs end to end (tests/plugins/codec.c, a vault): a secret goes
# through a start (encoded with durable-codec), a C activity and its
# heartbeat, an executable activity, a side effect, a signal (encoded with
# durable-codec), a query and the result; then no table and no pg_dump of
# the database holds it in plain text, while everything decodes back. A
# worker without the key fails its workflow task and its activity attempt
# as PayloadCodecError and changes nothing else; one with the key then
# finishes them. Keys rotate: a new key encodes, the old one still decodes.
. "$(dirname "$0")/lib.sh"
PLUGIN=$WORKER_DIR/build/tests/codec.so
CODEC=$WORKER_DIR/build/durable-codec
ACTS=$WORKER_DIR/tests/e2e/activities
q=codec-$RUN
secret=Zq7pl41nMark$RUN   # in no id, name or queue of this test
keys=$LOGDIR/keys; keys2=$LOGDIR/keys2; only2=$LOGDIR/only2
(umask 077; "$CODEC" keygen k1 >"$keys")
enc() { "$CODEC" encode --codec-key "$1"; }
dec() { "$CODEC" decode --codec-key "$1"; }

check "a key file others can read is refused" bash -c "cp '$keys' '$LOGDIR/open' && chmod 644 '$LOGDIR/open' && ! '$BIN' --task-queue x --codec-key '$LOGDIR/open' 2>'$LOGDIR/open.err' && grep -q 'chmod 600' '$LOGDIR/open.err'"
check "so is a malformed one, naming the line" bash -c "(umask 077; printf 'k1 notbase64\n' >'$LOGDIR/bad') && ! '$CODEC' decode --codec-key '$LOGDIR/bad' </dev/null 2>'$LOGDIR/bad.err' && grep -q 'line 1' '$LOGDIR/bad.err'"

# The whole path ------------------------------------------------------------
gate=$LOGDIR/gate
input=$(echo "{\"secret\": \"$secret\", \"gate\": \"$gate\"}" | enc "$keys")
check "durable-codec encodes the input" grep -q '"_durable_codec":"xchacha20poly1305","key":"k1"' <<<"$input"
sql "SELECT durable.start_workflow('vault-$RUN', 'Vault', '$q', '$input')" >/dev/null
worker vault --task-queue "$q" --plugin "$PLUGIN" --activities-dir "$ACTS" --codec-key "$keys"
hb="SELECT a.heartbeat_details FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'vault-$RUN' AND a.heartbeat_details IS NOT NULL"
check "the activity heartbeats" wait_sql "SELECT count(*) FROM ($hb) x" 1
check "its details are encoded" grep -q '"_durable_codec"' <<<"$(sql "$hb")"
check "and decode to the secret" eq "$(sql "$hb" | dec "$keys")" "{\"progress\":\"$secret\"}"
touch "$gate"
check "the vault waits for its signal" wait_sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'vault-$RUN' AND h.event_type = 'MarkerRecorded'" 1
state=$(sql "SELECT durable.query_workflow('vault-$RUN', 'state')")
check "a query answers, encoded" grep -q '"_durable_codec"' <<<"$state"
check "and decodes to the workflow's state" eq "$(dec "$keys" <<<"$state")" "{\"secret\":\"$secret\",\"stage\":\"waiting\"}"
sig=$(echo "{\"note\": \"approved $secret\"}" | enc "$keys")
sql "SELECT durable.signal_workflow('vault-$RUN', 'approve', '$sig')" >/dev/null
check "the vault completes" wait_closed "vault-$RUN"
check "as COMPLETED" eq "$(status_of "vault-$RUN")" COMPLETED
result=$(sql "SELECT result FROM durable.workflows WHERE workflow_id = 'vault-$RUN'")
check "its result is encoded" grep -q '"_durable_codec"' <<<"$result"
check "and decodes to what every step saw in plain text" eq "$(dec "$keys" <<<"$result")" \
	"{\"input\":{\"secret\":\"$secret\",\"gate\":\"$gate\"},\"sealed\":{\"sealed\":\"$secret\",\"by\":\"seal\"},\"echoed\":{\"echo\":\"$secret\"},\"noted\":{\"noted\":\"$secret\"},\"approval\":{\"note\":\"approved $secret\"}}"
check "both activity results were encoded" eq "$(sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'vault-$RUN' AND h.event_type = 'ActivityTaskCompleted' AND h.attributes -> 'result' ? '_durable_codec'")" 2
# every table, read as text, and a dump of the whole database
tables=$(sql "SELECT string_agg(format('SELECT t::text FROM %I.%I t', schemaname, tablename), ' UNION ALL ') FROM pg_tables WHERE schemaname = 'durable'")
check "the secret is in no table" eq "$(sql "SELECT count(*) FROM ($tables) x(t) WHERE t LIKE '%$secret%'")" 0
pg_dump >"$LOGDIR/dump.sql" 2>"$LOGDIR/dump.err"
check "the dump was taken" grep -q "vault-$RUN" "$LOGDIR/dump.sql"
check "the secret is nowhere in it" eq "$(grep -c "$secret" "$LOGDIR/dump.sql")" 0
check "the history decodes line by line" bash -c "psql -qXAt -c \"SELECT attributes FROM durable.get_history('vault-$RUN')\" | '$CODEC' decode --lines --codec-key '$keys' | grep -q 'approved $secret'"
stop_workers

# A worker without the key --------------------------------------------------
sql "SELECT durable.start_workflow('nokey-$RUN', 'Vault', '$q', '$input')" >/dev/null
worker keyless --task-queue "$q" --plugin "$PLUGIN"; KEYLESS=$LAST_PID
check "its workflow task fails as PayloadCodecError" wait_sql "SELECT h.attributes -> 'failure' ->> 'type' FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'nokey-$RUN' AND h.event_type = 'WorkflowTaskFailed' LIMIT 1" PayloadCodecError
check "naming the key it lacks" grep -q 'key "k1"' <<<"$(sql "SELECT h.attributes -> 'failure' ->> 'message' FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'nokey-$RUN' AND h.event_type = 'WorkflowTaskFailed' LIMIT 1")"
check "and the worker's log says so" grep -q "PayloadCodecError" "$LOGDIR/keyless.log"
check "the workflow is still running, nothing scheduled" eq "$(sql "SELECT w.status || ' ' || (SELECT count(*) FROM durable.activity_tasks a WHERE a.run_id = w.run_id) FROM durable.workflows w WHERE w.workflow_id = 'nokey-$RUN'")" "RUNNING 0"
stop_worker "$KEYLESS"
# the workflows with the key, the activities without
worker wf --task-queue "$q" --plugin "$PLUGIN" --codec-key "$keys" --no-activities
worker acts --task-queue "$q" --plugin "$PLUGIN" --no-workflows; ACTS_PID=$LAST_PID
check "an activity attempt without the key fails as PayloadCodecError" wait_sql "SELECT a.last_failure ->> 'type' FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'nokey-$RUN'" PayloadCodecError
check "and the activity never ran (no heartbeat)" eq "$(sql "SELECT count(*) FROM durable.activity_tasks a JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'nokey-$RUN' AND a.heartbeat_details IS NOT NULL")" 0
stop_worker "$ACTS_PID"
worker acts2 --task-queue "$q" --plugin "$PLUGIN" --activities-dir "$ACTS" --codec-key "$keys" --no-workflows
check "with the key, the activities run" wait_sql "SELECT count(*) FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = 'nokey-$RUN' AND h.event_type = 'MarkerRecorded'" 1
stop_workers

# Key rotation: k2 encodes from now on, k1 still decodes ---------------------
(umask 077; cp "$keys" "$keys2"; "$CODEC" keygen k2 >>"$keys2")
(umask 077; grep '^k2 ' "$keys2" >"$only2")
worker rotated --task-queue "$q" --plugin "$PLUGIN" --activities-dir "$ACTS" --codec-key "$keys2"
sig2=$(echo '{"note": "after rotation"}' | enc "$keys2")
check "durable-codec encodes with the newest key" grep -q '"key":"k2"' <<<"$sig2"
sql "SELECT durable.signal_workflow('nokey-$RUN', 'approve', '$sig2')" >/dev/null
check "the workflow started under k1 completes under k2" wait_closed "nokey-$RUN"
check "as COMPLETED" eq "$(status_of "nokey-$RUN")" COMPLETED
r2=$(sql "SELECT result FROM durable.workflows WHERE workflow_id = 'nokey-$RUN'")
check "its result is encoded with k2" grep -q '"key": "k2"' <<<"$r2"
check "which a k2-only file decodes" grep -q 'after rotation' <<<"$(dec "$only2" <<<"$r2")"
check "its input stays under k1" grep -q '"key": "k1"' <<<"$(sql "SELECT input FROM durable.workflows WHERE workflow_id = 'nokey-$RUN'")"
check "which a k2-only file cannot decode" bash -c "! '$CODEC' decode --codec-key '$only2' <<<'$input' 2>/dev/null"
check "the secret is in no table after all this" eq "$(sql "SELECT count(*) FROM ($tables) x(t) WHERE t LIKE '%$secret%'")" 0
finish
