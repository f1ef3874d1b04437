/*
 * namespace_seen.c: the namespaces a backend has seen in durable.namespaces,
 * committed, so that a start (run_start.c) in one of them need not look for
 * its row again; and durable._namespaces_changed(), the trigger that makes
 * every backend forget them when rows are deleted or re-keyed.
 *
 * Every new run calls _namespace_seen (api/30_retention.sql): an EXISTS on
 * the namespace's key, and the row's insert when there is none. With 20,000
 * starts in one statement that EXISTS was 2.3 µs of a ~40 µs start
 * (docs/performance.md, "The start on the server"), for a row that nearly
 * always exists: a namespace gets its row with its first run and durable
 * never deletes one nor changes its key. An operator may (DELETE, TRUNCATE
 * or an UPDATE of namespace, as the table's owner); then the next start in
 * that namespace must insert the row again.
 *
 * So a namespace is remembered only once its row was found committed by
 * another transaction (a row this transaction wrote may still be rolled
 * back), and forgotten on any relcache invalidation of the table: the
 * trigger namespaces_forget_seen (api/89_namespace_seen.sql) sends one for
 * every statement that deletes, truncates or re-keys rows, at its commit; a
 * dropped or altered table, or its vacuum, sends one too. A backend takes
 * invalidations in when it starts a transaction, when it takes a lock it did
 * not hold, and here before it trusts what it remembers: a second start in
 * one transaction must see a delete committed since the first, and the
 * start's earlier steps (which do take a new lock each time today) need
 * not be what brings it in.
 *
 * The probe that decides whether to remember must not predate the
 * invalidations it took in: opening the table takes them in (the first lock
 * on it in the transaction), after the start's snapshot was taken; a delete
 * committed in between is then consumed and yet invisible to that snapshot.
 * So the start's own answer comes from its snapshot (as _namespace_seen's
 * EXISTS would), but a namespace is remembered only after a second probe
 * with a snapshot taken after the table was opened finds the row too, and
 * never under REPEATABLE READ or SERIALIZABLE, whose one snapshot may be
 * older than any lock of the transaction.
 *
 * Under SERIALIZABLE a start reads the row every time, remembered or not:
 * that read (its predicate lock) is how SSI learns that the start depends
 * on the row, and makes one of a start and a concurrent "delete the
 * namespace's row if it has no runs" fail to serialize, as _namespace_seen's
 * EXISTS did; without it both committed, leaving a run in a namespace
 * without its row (isolation namespace_seen_serializable).
 *
 * What the cache does not see: a delete with the trigger off
 * (session_replication_role = replica, or the trigger disabled), which
 * _namespace_seen, looking every time, would have seen at the next start
 * (api/89_namespace_seen.sql).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_namespaces_changed);

/* (most stores have a handful of namespaces; past this many, the rest are looked for each time) */
#define MAX_SEEN 64

static char *seen[MAX_SEEN];	/* in TopMemoryContext */
static int	nseen;
static bool watching;

static DurableLookup namespaces;
static const DurablePrimaryKey namespaces_key = {"namespaces", "namespace", TEXTOID};

static void
forget_seen(Oid relid)
{
	if (nseen == 0 || (OidIsValid(relid) && relid != namespaces.heap))
		return;
	for (int i = 0; i < nseen; i++)
		pfree(seen[i]);
	nseen = 0;
}

/*
 * Whether the namespace's row was seen committed, and nothing deleted
 * since; never under SERIALIZABLE, where the start reads the row each
 * time (see the top).
 */
bool
DurableNamespaceSeen(text *namespace)
{
	const char *name = VARDATA_ANY(namespace);
	int			len = VARSIZE_ANY_EXHDR(namespace);

	if (nseen == 0 || IsolationIsSerializable())
		return false;
	AcceptInvalidationMessages();	/* a delete committed since (see the top); cheap when there is none */
	for (int i = 0; i < nseen; i++)
		if (strncmp(seen[i], name, len) == 0 && seen[i][len] == '\0')
			return true;
	return false;
}

/* Whether the probe finds the namespace's row under snapshot, written by another transaction (so committed). */
static bool
committed_under(Relation rel, Relation index, TupleTableSlot *slot, text *namespace, Snapshot snapshot)
{
	HeapTuple	tuple;

	if (!DurableProbeIndex(rel, index, F_TEXTEQ, PointerGetDatum(namespace), snapshot, slot))
		return false;
	tuple = ExecFetchSlotHeapTuple(slot, false, NULL);
	return !TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tuple->t_data));
}

/*
 * Whether the namespace has a row visible to the active snapshot, written
 * by another transaction (so committed). False also where the table has no
 * such key to probe. Remembered only when also found under a snapshot
 * taken after the table was opened, and not under a transaction snapshot
 * (see the top).
 */
bool
DurableNamespaceCommitted(text *namespace)
{
	Relation	rel;
	Relation	index;
	TupleTableSlot *slot;
	bool		committed;
	bool		remember;

	if (!watching)
	{
		DurableWatchRelcache(forget_seen);
		watching = true;
	}
	rel = DurableOpenLookup(&namespaces, AccessShareLock, DurableFillPrimaryKey, &namespaces_key);
	if (rel == NULL)
		return false;
	index = index_open(namespaces.index, AccessShareLock);
	slot = table_slot_create(rel, NULL);
	committed = committed_under(rel, index, slot, namespace, GetActiveSnapshot());
	remember = committed && nseen < MAX_SEEN && !IsolationUsesXactSnapshot() &&
		committed_under(rel, index, slot, namespace, GetLatestSnapshot());
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, NoLock);
	table_close(rel, NoLock);
	if (remember)
		seen[nseen++] = MemoryContextStrdup(TopMemoryContext, text_to_cstring(namespace));
	return committed;
}

/*
 * durable._namespaces_changed() RETURNS trigger: after a statement that
 * deleted, truncated or re-keyed namespaces' rows, every backend forgets the
 * namespaces it saw (its relcache invalidation of the table, sent at commit).
 */
Datum
durable_namespaces_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("durable._namespaces_changed() must be called as a trigger")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}
