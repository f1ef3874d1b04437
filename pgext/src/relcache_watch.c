/*
 * relcache_watch.c: what the C functions that keep, per backend, a table
 * of durable's and the index they read it by (run_rows.c, row_by_key.c,
 * run_lock.c, clock.c, activity_result.c) share: the one way such a
 * lookup is read, the table opened and locked with the index remembered
 * for it still the one, and the lookup forgotten on a relcache
 * invalidation of either (through cache_watch.c's one callback).
 *
 * A remembered index goes stale without the backend knowing it until it
 * reads the invalidation: REINDEX INDEX CONCURRENTLY (or a constraint
 * dropped and added again) between two statements of a transaction that
 * holds no lock on the table leaves the old index's OID ("could not open
 * relation with OID ..."; tests/concurrency/isolation, cached_index_remade).
 * Locking the table reads the invalidations that came meanwhile, so
 * DurableOpenLookup locks it first and reads the remembered index only
 * after, looking it up again under the lock when it changed. The files
 * that remember an index open their table through it and none checks this
 * by itself.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "catalog/pg_am_d.h"
#include "commands/defrem.h"
#include "storage/lmgr.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "durable.h"

/* every lookup DurableOpenLookup has filled, linked through their next */
static DurableLookup *lookups;

/*
 * (a change of a table or of its index: it is looked up again; and a
 * lookup that found no table, on any change, which a table created is)
 */
static void
forget_lookups(Oid relid)
{
	for (DurableLookup *l = lookups; l != NULL; l = l->next)
		if (relid == InvalidOid || !OidIsValid(l->heap) || relid == l->heap || relid == l->index)
			l->known = false;
}

/* (a schema renamed, dropped or made: every table is looked up by its name again) */
static void
forget_all_lookups(int cacheid, uint32 hashvalue)
{
	forget_lookups(InvalidOid);
}

static void
watch_lookup(DurableLookup *lookup)
{
	if (lookup->watched)
		return;
	DurableWatchRelcache(forget_lookups);
	DurableWatchSyscache(NAMESPACEOID, forget_all_lookups);
	lookup->next = lookups;
	lookups = lookup;
	lookup->watched = true;
}

/*
 * The table lookup names, opened with lockmode, when fill (called with arg
 * whenever the lookup is not known: first, and after any change of the
 * table or its index) found an index to read it by; lookup->index is then
 * valid under that lock until the table is closed. NULL, with nothing
 * opened, when there is no such table or index (the caller's statement
 * then does the work).
 */
Relation
DurableOpenLookup(DurableLookup *lookup, LOCKMODE lockmode, DurableLookupFill fill, const void *arg)
{
	for (;;)
	{
		if (!lookup->known)
		{
			watch_lookup(lookup);
			lookup->heap = InvalidOid;
			lookup->index = InvalidOid;
			/* marked first: an invalidation the fill takes in (it opens the table) marks it again */
			lookup->known = true;
			/*
			 * (a fill an error cut short, a statement timeout while it waits
			 * for a lock say, is not a lookup done: it is looked up again at
			 * the next call, as no invalidation may ever come to say so)
			 */
			PG_TRY();
			{
				fill(lookup, arg);
			}
			PG_CATCH();
			{
				lookup->known = false;
				PG_RE_THROW();
			}
			PG_END_TRY();
		}
		if (!OidIsValid(lookup->index))
			return NULL;
		/*
		 * The lock reads the invalidations that came since the lookup (see
		 * the top of this file): with none of the table or its index, the
		 * table is still there, as RangeVarGetRelidExtended reasons.
		 */
		LockRelationOid(lookup->heap, lockmode);
		if (lookup->known)
			return table_open(lookup->heap, NoLock);
		/* (the table or its index changed since it was looked up) */
		UnlockRelationOid(lookup->heap, lockmode);
	}
}

/*
 * A DurableLookupFill: durable.<key->relname> and its primary key, if that
 * is a valid btree on key->column alone (of type key->type) under the
 * type's default operators, with no expression or predicate: the index a
 * probe by the column reads every row by.
 */
void
DurableFillPrimaryKey(DurableLookup *lookup, const void *arg)
{
	const DurablePrimaryKey *key = arg;
	Oid			schema = DurableNamespaceOid();
	Relation	rel;
	Relation	index;
	Oid			pkey;
	AttrNumber	att;

	lookup->heap = OidIsValid(schema) ? get_relname_relid(key->relname, schema) : InvalidOid;
	if (!OidIsValid(lookup->heap))
		return;
	rel = table_open(lookup->heap, AccessShareLock);
	pkey = RelationGetPrimaryKeyIndex(rel);
	att = get_attnum(lookup->heap, key->column);
	if (OidIsValid(pkey) && att > 0 && TupleDescAttr(RelationGetDescr(rel), att - 1)->atttypid == key->type)
	{
		index = index_open(pkey, AccessShareLock);
		if (index->rd_rel->relam == BTREE_AM_OID && index->rd_index->indnkeyatts == 1 &&
			index->rd_index->indkey.values[0] == att && index->rd_index->indisvalid &&
			index->rd_opfamily[0] == get_opclass_family(GetDefaultOpClass(key->type, BTREE_AM_OID)) &&
			RelationGetIndexExpressions(index) == NIL && RelationGetIndexPredicate(index) == NIL)
			lookup->index = pkey;
		index_close(index, AccessShareLock);
	}
	table_close(rel, AccessShareLock);
}

/* (DurableOpenTable's fill, arg: the table's name) the table, standing for its index too: none is read */
static void
fill_table(DurableLookup *lookup, const void *arg)
{
	Oid			schema = DurableNamespaceOid();

	lookup->heap = OidIsValid(schema) ? get_relname_relid((const char *) arg, schema) : InvalidOid;
	lookup->index = lookup->heap;
}

/*
 * durable.<relname> (a literal), opened with lockmode, its oid remembered
 * in lookup until a change of the table (a drop, a rename: a relcache
 * invalidation of it) instead of looked up by name on every call; NULL,
 * nothing opened, where there is no such table.
 */
Relation
DurableOpenTable(DurableLookup *lookup, const char *relname, LOCKMODE lockmode)
{
	return DurableOpenLookup(lookup, lockmode, fill_table, relname);
}
