/*
 * plan_sizes.c: the planner's idea of how many rows a durable table holds,
 * when its statistics say none.
 *
 * durable's task tables are queues: they hold a backlog that comes and goes,
 * so the statistics an ANALYZE or a VACUUM takes of them (autovacuum's, or
 * an operator's) often say "no rows": taken while the table was empty, or
 * while its only rows were a burst's uncommitted inserts or a drain's
 * uncommitted deletes. PostgreSQL then estimates every scan of the table at
 * one row, whatever its size by then, and a session keeps the plans it made
 * on that. Two were seen (docs/performance.md, "Plans made on a queue's
 * statistics"):
 *   - statistics of 0 rows in 397 pages: a poll's lease of 100 tasks was a
 *     nested loop that walked all 20,000 tasks once for each leased one
 *     (make bench's drain ratio 0.13 instead of 1);
 *   - statistics of 0 rows in 0 pages, the plan made on a table of one
 *     page: sequential scans, kept while a burst of 20,000 grew the table
 *     (each scheduled activity read every task before it).
 *
 * When the statistics of a table of schema durable say it holds less than
 * one page of rows (0 in both cases above), the planner here sizes it as
 * PostgreSQL sizes a table never analyzed: its current pages, at least 10,
 * filled with rows of its average width. An empty queue then plans as a new
 * store's does (the store every test and bench starts from), and a burst is
 * never taken for one row. Statistics that count more rows are left alone.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/extension.h"
#include "nodes/pathnodes.h"
#include "optimizer/plancat.h"
#include "storage/bufpage.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "durable.h"

/* the floor of PostgreSQL's own guess for a table never analyzed (plancat.c) */
#define NEVER_ANALYZED_MIN_PAGES 10

static get_relation_info_hook_type prev_get_relation_info_hook = NULL;

/*
 * The namespace of the extension's tables in this backend's database, or
 * InvalidOid where the extension is not installed: the hook runs for every
 * query of every database, users' too, and must resize durable's own tables
 * only (not a user's schema that happens to be named durable) at the cost of
 * one comparison. The control file fixes the schema's name (schema = durable,
 * not relocatable). Looked up again after any change to a schema (rename,
 * drop, create) or to a relation (CREATE/DROP EXTENSION create and drop its
 * tables, while a schema that existed before the extension stays).
 */
static Oid	durable_namespace = InvalidOid;
static bool durable_namespace_known = false;

static void
forget_durable_namespace(int cacheid, uint32 hashvalue)
{
	durable_namespace_known = false;
}

static void
forget_durable_namespace_rel(Oid relid)
{
	durable_namespace_known = false;
}

Oid
DurableNamespaceOid(void)
{
	if (!durable_namespace_known)
	{
		/* marked first: an invalidation taken during the lookup marks it again */
		durable_namespace_known = true;
		durable_namespace = InvalidOid;
		durable_namespace = OidIsValid(get_extension_oid("durable", true)) ?
			get_namespace_oid("durable", true) : InvalidOid;
	}
	return durable_namespace;
}

static void
size_empty_statistics(PlannerInfo *root, Oid relid, bool inhparent, RelOptInfo *rel)
{
	Relation	relation;
	Oid			ours;

	if (prev_get_relation_info_hook)
		prev_get_relation_info_hook(root, relid, inhparent, rel);
	if (inhparent || rel->rtekind != RTE_RELATION)
		return;
	/* other databases' queries, and a store's own on users' tables, stop here */
	ours = DurableNamespaceOid();
	if (!OidIsValid(ours) || get_rel_namespace(relid) != ours)
		return;
	/* the planner holds a lock on it already */
	relation = table_open(relid, NoLock);
	if (relation->rd_rel->relkind == RELKIND_RELATION && relation->rd_rel->reltuples >= 0)
	{
		int32		width = get_relation_data_width(relid, NULL) +
			MAXALIGN(SizeofHeapTupleHeader) + sizeof(ItemIdData);
		double		per_page = (BLCKSZ - SizeOfPageHeaderData) / (double) width;
		BlockNumber pages = Max(rel->pages, NEVER_ANALYZED_MIN_PAGES);
		double		tuples = rint(per_page * pages);
		ListCell   *lc;

		/* (reltuples < 0, never analyzed: PostgreSQL did this already) */
		if (relation->rd_rel->reltuples < per_page && tuples > rel->tuples)
		{
			rel->pages = pages;
			rel->tuples = tuples;
			/* a whole index has the table's rows (a partial one keeps its own guess) */
			foreach(lc, rel->indexlist)
			{
				IndexOptInfo *index = (IndexOptInfo *) lfirst(lc);

				if (index->indpred == NIL)
					index->tuples = tuples;
			}
		}
	}
	table_close(relation, NoLock);
}

void
DurablePlanSizesInit(void)
{
	DurableWatchSyscache(NAMESPACEOID, forget_durable_namespace);
	DurableWatchRelcache(forget_durable_namespace_rel);
	prev_get_relation_info_hook = get_relation_info_hook;
	get_relation_info_hook = size_empty_statistics;
}
