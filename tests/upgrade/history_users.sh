# history_users.sh: the 0.1 -> 0.2 update converts durable.history to its
# stored form (durable.history_rows, packed; durable.history a view:
# sql/durable--0.1--0.2/74_history.sql). An operator's own objects on the 0.1
# table would not survive that: a view stops the update with PostgreSQL's
# "cannot alter type of a column used by a view" (naming a column the operator
# never had), and a trigger would follow the table to its packed rows, where
# one that reads NEW.event_type fails every append of every workflow. The
# update must name them, refuse with a hint and change nothing; once they are
# gone it goes through, every event as before.
. "$(dirname "$0")/../backup/lib.sh"
NAME=upgrade-history-users; PORT=$(suite_port 3)

must "a cluster" cluster_start "$NAME" "$PORT"
eval "$(on "$NAME" "$PORT")"
sql "DROP EXTENSION durable CASCADE; DROP SCHEMA durable" >/dev/null
must "CREATE EXTENSION durable VERSION '0.1'" sql "CREATE EXTENSION durable VERSION '0.1'"
sql "SELECT durable.start_workflow('users-1', 'W', 'q')" >/dev/null
sql "SELECT durable.signal_workflow('users-1', 's', '{\"attempt\": 1}')" >/dev/null
history() { sql "SELECT string_agg(format('%s %s %s', event_id, event_type, attributes), E'\n' ORDER BY event_id) FROM durable.history"; }
before=$(history)
version() { sql "SELECT extversion FROM pg_extension WHERE extname = 'durable'"; }

# update_refused WHAT: the update fails with 2BP01 naming WHAT and saying nothing changed
update_refused() {
	local out
	out=$(psql -qXAt -v VERBOSITY=verbose -c "ALTER EXTENSION durable UPDATE" 2>&1)
	# here-strings, not pipes: under pipefail (e2e/lib.sh) grep -q leaving at
	# its match can kill the echo still writing, and the check fails on a match
	grep -q "ERROR:  2BP01: .*$1" <<<"$out" || { echo "  got: $out"; return 1; }
	grep -q "HINT:  Nothing was changed" <<<"$out" || { echo "  no hint in: $out"; return 1; }
}

sql "CREATE VIEW public.my_events AS SELECT run_id, event_type, attributes ->> 'signal_name' AS signal FROM durable.history" >/dev/null
check "a view of the operator's on durable.history: the update names it and refuses" update_refused 'view public.my_events'
check "and changed nothing (still 0.1)" eq "$(version)" 0.1
sql "DROP VIEW public.my_events" >/dev/null

sql "CREATE TABLE public.audit (run_id uuid, event_type text)
     ; CREATE FUNCTION public.audit_event() RETURNS trigger LANGUAGE plpgsql AS
       \$\$BEGIN INSERT INTO public.audit VALUES (NEW.run_id, NEW.event_type); RETURN NEW; END\$\$
     ; CREATE TRIGGER audit_event AFTER INSERT ON durable.history FOR EACH ROW EXECUTE FUNCTION public.audit_event()" >/dev/null
check "a trigger of the operator's on durable.history: the update names it and refuses" update_refused 'trigger audit_event on durable.history'
check "and changed nothing (still 0.1)" eq "$(version)" 0.1
check "the history is as it was" eq "$(history)" "$before"
sql "DROP TRIGGER audit_event ON durable.history" >/dev/null

must "without them, ALTER EXTENSION durable UPDATE" sql "ALTER EXTENSION durable UPDATE"
check "the update went through" eq "$(version)" "$(sql "SELECT default_version FROM pg_available_extensions WHERE name = 'durable'")"
check "every event reads as before" eq "$(history)" "$before"
check "and the store appends again" eq "$(sql "SELECT count(*) FROM (SELECT durable.start_workflow('users-2', 'W', 'q')) s")" 1
finish
