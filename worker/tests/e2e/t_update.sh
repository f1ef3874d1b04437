# Workflow Update end to end (tests/plugins/updates.c, a cart): with no
# worker an update fails as a query does; a validated update returns the
# handler's result (which ran an activity); a rejected one leaves no trace;
# a retried update id returns the first result without running twice; the
# caller's timeout while the handler sleeps, then the same id's result;
# twenty updates at once, arriving while workflow tasks run, none lost; and
# through a kill -9 of the worker.
. "$(dirname "$0")/lib.sh"
PLUGIN=$WORKER_DIR/build/tests/updates.so
PLUGIN_SRC=$WORKER_DIR/tests/plugins/updates.c
q=update-$RUN
id=cart-$RUN
sql "SELECT durable.start_workflow('$id', 'Cart', '$q', 'null', '{\"task_timeout\": 2}')" >/dev/null
# sqlstate SQL: runs SQL, prints its SQLSTATE (or "ok")
sqlstate() {
	local st
	st=$(psql -qXAt -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "$1" 2>&1 >/dev/null | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1)
	echo "${st:-ok}"
}
# cart_events EXPR [CONDITION]: EXPR over the cart's events (h), those of CONDITION if given
cart_events() { sql "SELECT $1 FROM durable.history h JOIN durable.workflows w USING (run_id) WHERE w.workflow_id = '$id'${2:+ AND $2}"; }
events() { cart_events 'count(*)' "h.event_type LIKE 'WorkflowExecutionUpdate%'"; }
upd() { sql "SELECT durable.update_workflow('$id', $1)"; }

check "no worker: fails as a query does (DU005)" eq "$(sqlstate "SELECT durable.update_workflow('$id', 'add', '{\"qty\": 1}', timeout_ms => 300)")" DU005
check "and records nothing" eq "$(events)" 0

worker w1 --task-queue "$q" --plugin "$PLUGIN"; W1=$LAST_PID
check "an accepted update returns the handler's result" eq "$(upd "'add', '{\"qty\": 2}', 'u1'")" 20
check "recorded as accepted and completed" eq "$(events)" 2
check "with the update id on both" eq "$(cart_events "string_agg(h.event_type || '=' || (h.attributes ->> 'update_id'), ',' ORDER BY h.event_id)" "h.event_type LIKE 'WorkflowExecutionUpdate%'")" \
	"WorkflowExecutionUpdateAccepted=u1,WorkflowExecutionUpdateCompleted=u1"
before=$(cart_events 'count(*)')
check "the validator rejects qty 0 (DU008)" eq "$(sqlstate "SELECT durable.update_workflow('$id', 'add', '{\"qty\": 0}')")" DU008
msg=$(psql -qXAt -c "SELECT durable.update_workflow('$id', 'add', '{\"qty\": 0}')" 2>&1)
check "saying why ($msg)" grep -q "qty must be a positive integer" <<<"$msg"
check "an update the workflow has no handler for is rejected" eq "$(sqlstate "SELECT durable.update_workflow('$id', 'remove', '{}')")" DU008
check "rejections leave no trace in the history" eq "$(cart_events 'count(*)')" "$before"
check "the same update id returns the first result" eq "$(upd "'add', '{\"qty\": 5}', 'u1'")" 20
check "without running it again" eq "$(sql "SELECT durable.query_workflow('$id', 'total') ->> 'total'")" 20

check "a handler that sleeps: the caller times out (DU010)" \
	eq "$(sqlstate "SELECT durable.update_workflow('$id', 'slow', NULL, 'u-slow', timeout_ms => 1500)")" DU010
sql "SELECT durable.skip_time('31 seconds')" >/dev/null
check "past the sleep, the same id gets the result" eq "$(upd "'slow', NULL, 'u-slow', timeout_ms => 60000")" '"slept"'
check "accepted once" eq "$(cart_events 'count(*)' "h.event_type = 'WorkflowExecutionUpdateAccepted' AND h.attributes ->> 'update_id' = 'u-slow'")" 1

# Twenty at once: most arrive while a workflow task of the cart runs.
for i in $(seq 1 20); do
	psql -qXAt -c "SELECT durable.update_workflow('$id', 'add', '{\"qty\": 1}', 'par-$i', timeout_ms => 120000)" >"$LOGDIR/par-$i.out" 2>&1 &
done
wait
check "all twenty answered" eq "$(cat "$LOGDIR"/par-*.out | grep -c '^[0-9][0-9]*$')" 20
check "each with a distinct total" eq "$(cat "$LOGDIR"/par-*.out | sort -u | wc -l)" 20
check "none lost: the total counts them all" eq "$(sql "SELECT durable.query_workflow('$id', 'total') ->> 'total'")" 220

kill -9 "$W1"
psql -qXAt -c "SELECT durable.update_workflow('$id', 'add', '{\"qty\": 3}', 'after-kill', timeout_ms => 120000)" >"$LOGDIR/after-kill.out" 2>&1 &
caller=$!
sleep 0.5
worker w2 --task-queue "$q" --plugin "$PLUGIN"
wait "$caller"
check "after a kill -9, a new worker answers" eq "$(cat "$LOGDIR/after-kill.out")" 250

sql "SELECT durable.signal_workflow('$id', 'close')" >/dev/null
check "the cart closes" wait_closed "$id"
check "with the total of its updates" eq "$(sql "SELECT result FROM durable.workflows WHERE workflow_id = '$id'")" 250
check "an update of a closed workflow (DU003)" eq "$(sqlstate "SELECT durable.update_workflow('$id', 'add', '{\"qty\": 1}')")" DU003
check "a completed update id still answers" eq "$(upd "'add', '{\"qty\": 9}', 'u1'")" 20
check "in REPEATABLE READ it refuses to wait (25000)" \
	eq "$(sqlstate "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT durable.update_workflow('$id', 'add', '{\"qty\": 1}'); COMMIT")" 25000

# docs/sdk.md's example is this plugin's code: every line of its C block
# (but the "..." elisions) is a line of updates.c.
doc_lines() { sed -n '/<!-- code from worker\/tests\/plugins\/updates.c/,/^```$/p' "$WORKER_DIR/../docs/sdk.md" | sed '1,2d;$d' | grep -v '^[[:space:]]*\.\.\.$' | grep -v '^$'; }
check "docs/sdk.md shows an update example" test "$(doc_lines | wc -l)" -gt 10
check "and it is the plugin's code" eq "$(doc_lines | grep -vxFf "$PLUGIN_SRC" | head -3)" ""
finish
