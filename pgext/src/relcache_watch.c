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
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "durable.h"

/* every lookup DurableOpenLookup has filled, linked through their next */
static DurableLookup *lookups;

/* (a change of a table or of its index: it is looked up again) */
static void
forget_lookups(Oid relid)
{
	for (DurableLookup *l = lookups; l != NULL; l = l->next)
		if (relid == InvalidOid || relid == l->heap || relid == l->index)
			l->known = false;
}

static void
watch_lookup(DurableLookup *lookup)
{
	if (lookup->watched)
		return;
	DurableWatchRelcache(forget_lookups);
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
	Relation	rel;

	for (;;)
	{
		if (!lookup->known)
		{
			watch_lookup(lookup);
			lookup->heap = InvalidOid;
			lookup->index = InvalidOid;
			fill(lookup, arg);
			lookup->known = true;
		}
		if (!OidIsValid(lookup->index))
			return NULL;
		/* the lock reads the invalidations that came since the lookup (see the top of this file) */
		rel = try_table_open(lookup->heap, lockmode);
		if (rel != NULL && lookup->known)
			return rel;
		/* (the table or its index changed since it was looked up) */
		if (rel != NULL)
			table_close(rel, lockmode);
		lookup->known = false;
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

