/*
 * direct_insert.c: what the rows durable writes without the executor
 * (history_append.c's events, task_insert.c's tasks, close_update.c's closed
 * run) share with the executor's INSERT, in one place: the tables and
 * indexes such a row may be written to directly, a table's indexes read
 * once into its caller's kept shape, and an index's entry for a row, made
 * as ExecInsertIndexTuples makes it. Each caller adds what its own table
 * needs (its triggers, columns, CHECKs and rights).
 */
#include "postgres.h"

#include "access/genam.h"
#include "catalog/index.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_class_d.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "optimizer/optimizer.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "durable.h"

/*
 * Whether rel is a plain heap table the executor would write as it is: not
 * a partition (its bounds are a constraint the executor checks), without
 * row security or rules.
 */
bool
DurableDirectInsertTable(Relation rel)
{
	return rel->rd_rel->relkind == RELKIND_RELATION && rel->rd_rel->relam == HEAP_TABLE_AM_OID &&
		!rel->rd_rel->relispartition && !rel->rd_rel->relrowsecurity && rel->rd_rules == NULL;
}

/*
 * Whether index's entries are its columns' values, and its uniqueness (if
 * any) is checked at once: no expression, no exclusion constraint, no
 * deferrable unique constraint. (A predicate is the caller's to read.)
 */
bool
DurableDirectInsertIndex(Relation index, IndexInfo *info)
{
	return info->ii_Expressions == NIL && info->ii_ExclusionOps == NULL &&
		(!info->ii_Unique || index->rd_index->indimmediate);
}

/*
 * The indexes of rel a row is written to directly, into indexes (at most
 * max; their number in *nindexes): each one's oid, IndexInfo and predicate
 * prepared in estate, all made in the current memory context, which the
 * caller keeps with its shape of the table. visit, if not NULL, reads what
 * else its caller needs of each open index (and may refuse it). False when
 * an index cannot be written directly (DurableDirectInsertIndex), visit
 * refuses one, or there are more than max: the caller's statement then
 * writes the row.
 *
 * The IndexInfo is kept with the shape: the caller forgets its shape on a
 * relcache invalidation of the table or of any of these indexes
 * (relcache_watch.c), which is how a change of an index's readiness for
 * inserts (CREATE INDEX CONCURRENTLY, which updates only the index's
 * pg_index row) reaches a backend, as it reaches the executor's.
 */
bool
DurableReadDirectIndexes(Relation rel, EState *estate, DurableDirectIndex *indexes, int max, int *nindexes,
						 DurableDirectIndexVisit visit, void *arg)
{
	List	   *list = RelationGetIndexList(rel);
	ListCell   *lc;
	bool		plain = list_length(list) <= max;

	*nindexes = 0;
	foreach(lc, list)
	{
		Relation	index;
		DurableDirectIndex *entry = &indexes[*nindexes];

		if (!plain)
			break;
		index = index_open(lfirst_oid(lc), AccessShareLock);
		entry->oid = RelationGetRelid(index);
		entry->info = BuildIndexInfo(index);
		entry->predicate = NULL;
		if (!DurableDirectInsertIndex(index, entry->info) || (visit != NULL && !visit(index, entry, arg)))
			plain = false;
		else
		{
			if (entry->info->ii_Predicate != NIL)
				entry->predicate = ExecPrepareQual(entry->info->ii_Predicate, estate);
			(*nindexes)++;
		}
		index_close(index, AccessShareLock);
	}
	list_free(list);
	return plain;
}

/*
 * mem made anew for rel (what it held freed): its memory context, under
 * CacheMemoryContext, switched into (the context to switch back to is
 * returned); an executor state there for the CHECKs and predicates the
 * caller prepares; a slot for the row they read, of a copy of the table's
 * row type (a slot of the relcache's would pin it across transactions).
 */
MemoryContext
DurableShapeMemoryRenew(DurableShapeMemory *mem, Relation rel, const char *name)
{
	MemoryContext old;

	if (mem->estate != NULL)
		FreeExecutorState(mem->estate);
	mem->estate = NULL;
	if (mem->cxt == NULL)
	{
		mem->cxt = AllocSetContextCreate(CacheMemoryContext, "durable direct write shape", ALLOCSET_SMALL_SIZES);
		/* (name: a literal, which lives as long as the context) */
		MemoryContextSetIdentifier(mem->cxt, name);
	}
	MemoryContextReset(mem->cxt);
	old = MemoryContextSwitchTo(mem->cxt);
	mem->estate = CreateExecutorState();
	mem->slot = ExecInitExtraTupleSlot(mem->estate, CreateTupleDescCopy(RelationGetDescr(rel)), &TTSOpsVirtual);
	return old;
}

/*
 * Whether expr, prepared in mem's executor state, holds for the row of
 * natts values and nulls: as ExecCheck (a CHECK: null passes) or ExecQual
 * (an index predicate: null fails).
 */
bool
DurableShapeHolds(DurableShapeMemory *mem, ExprState *expr, bool is_check, int natts, const Datum *values,
				  const bool *nulls)
{
	ExprContext *econtext = GetPerTupleExprContext(mem->estate);
	bool		holds;

	ExecClearTuple(mem->slot);
	memcpy(mem->slot->tts_values, values, natts * sizeof(Datum));
	memcpy(mem->slot->tts_isnull, nulls, natts * sizeof(bool));
	ExecStoreVirtualTuple(mem->slot);
	econtext->ecxt_scantuple = mem->slot;
	holds = is_check ? ExecCheck(expr, econtext) : ExecQual(expr, econtext);
	ResetExprContext(econtext);
	return holds;
}

/* Whether relid is one of the indexes read (a relcache invalidation of it must forget the shape). */
bool
DurableIsDirectIndex(const DurableDirectIndex *indexes, int nindexes, Oid relid)
{
	for (int i = 0; i < nindexes; i++)
		if (indexes[i].oid == relid)
			return true;
	return false;
}

/*
 * index's entry for the heap row at tid whose columns are values and nulls
 * (an index being built gets none, as from the executor), with the check
 * of a unique index's that check asks for; whether it is unique, as
 * index_insert says (with UNIQUE_CHECK_PARTIAL: false when a live or
 * uncommitted duplicate may exist), and the executor's hint that an update
 * changed none of the index's columns (unchanged: the index may then
 * delete older versions bottom-up).
 */
static bool
insert_entry(Relation heap, Relation index, IndexInfo *info, const Datum *values, const bool *nulls,
			 ItemPointer tid, bool unchanged, IndexUniqueCheck check)
{
	Datum		key_values[INDEX_MAX_KEYS];
	bool		key_nulls[INDEX_MAX_KEYS];

	if (!info->ii_ReadyForInserts)
		return true;
	/* an access method's state (GIN's, GiST's, BRIN's) lives for this call only, as for a statement */
	info->ii_AmCache = NULL;
	info->ii_Context = CurrentMemoryContext;
	for (int i = 0; i < info->ii_NumIndexAttrs; i++)
	{
		key_values[i] = values[info->ii_IndexAttrNumbers[i] - 1];
		key_nulls[i] = nulls[info->ii_IndexAttrNumbers[i] - 1];
	}
	return index_insert(index, key_values, key_nulls, tid, heap,
						index->rd_index->indisunique ? check : UNIQUE_CHECK_NO, unchanged, info);
}

/*
 * index's entry for the heap row at tid, a unique index's checked as the
 * executor does (waiting for an uncommitted duplicate's transaction)
 */
void
DurableInsertIndexEntry(Relation heap, Relation index, IndexInfo *info, const Datum *values, const bool *nulls,
						ItemPointer tid)
{
	insert_entry(heap, index, info, values, nulls, tid, false, UNIQUE_CHECK_YES);
}

/*
 * The same for the new version of an updated row (close_update.c), with the
 * executor's hint for an update that changed none of the index's columns.
 */
void
DurableInsertUpdatedIndexEntry(Relation heap, Relation index, IndexInfo *info, const Datum *values,
							   const bool *nulls, ItemPointer tid, bool unchanged)
{
	insert_entry(heap, index, info, values, nulls, tid, unchanged, UNIQUE_CHECK_YES);
}

/*
 * The entry of a speculatively inserted row (run_insert.c) in the arbiter
 * of its ON CONFLICT, checked as the executor checks it (UNIQUE_CHECK_PARTIAL):
 * false when a live or uncommitted duplicate may exist.
 */
bool
DurableInsertArbiterEntry(Relation heap, Relation index, IndexInfo *info, const Datum *values, const bool *nulls,
						  ItemPointer tid)
{
	return insert_entry(heap, index, info, values, nulls, tid, false, UNIQUE_CHECK_PARTIAL);
}

/*
 * rel's CHECKs prepared in estate for a direct write of a row (as
 * ExecRelCheck: every CHECK, valid or not yet validated), into checks (at
 * most max of them), their count in *nchecks; false when the row must go
 * through the statement: more than max, or one that calls a volatile
 * function. A direct write hands a row whose CHECK fails to its statement,
 * which evaluates it again: a volatile function (a sequence's nextval, a
 * write) would run twice where the executor runs it once.
 */
bool
DurableReadChecks(Relation rel, EState *estate, ExprState **checks, int max, int *nchecks)
{
	TupleConstr *constr = RelationGetDescr(rel)->constr;

	*nchecks = 0;
	for (int i = 0; constr != NULL && i < constr->num_check; i++)
	{
		Expr	   *check = (Expr *) stringToNode(constr->check[i].ccbin);

		if (i >= max || contain_volatile_functions((Node *) check))
			return false;
		checks[(*nchecks)++] = ExecPrepareExpr(check, estate);
	}
	return true;
}
