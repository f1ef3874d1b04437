/*
 * direct_insert.c: what the rows durable writes without the executor
 * (history_append.c's events, task_insert.c's tasks, close_update.c's closed
 * run, run_insert.c's run) share with the executor's INSERT, in one place:
 * the tables and indexes such a row may be written to directly, the shape
 * a caller keeps of its table between calls (DurableShapeOf: read once,
 * forgotten on a change of the table, of an index read or of a function,
 * and of a role where it holds rights),
 * a table's indexes and CHECKs read into it, and an index's entry for a
 * row, made as ExecInsertIndexTuples makes it. Each caller adds what its
 * own table needs (its triggers, columns and rights).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_class_d.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "optimizer/optimizer.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

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
 * Whether a column a direct write stores a value of type in takes it as
 * the statement would: of that type, without a type modifier
 * (timestamptz(0) say, which the statement coerces the value to).
 */
bool
DurableColumnTakes(const FormData_pg_attribute *att, Oid type)
{
	return att->atttypid == type && att->atttypmod == -1;
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
 * max), recorded in shape (their number in shape->nindexes; a relcache
 * invalidation of any of them forgets the shape): each one's oid,
 * IndexInfo and predicate prepared in the shape's executor state, all made
 * in the current memory context, the shape's. visit, if not NULL, reads
 * what else its caller needs of each open index (and may refuse it).
 * False when an index cannot be written directly (DurableDirectInsertIndex),
 * visit refuses one, or there are more than max: the caller's statement
 * then writes the row.
 *
 * The IndexInfo is kept with the shape: the shape is forgotten on a
 * relcache invalidation of the table or of any of these indexes
 * (forget_shapes_of_relation), which is how a change of an index's
 * readiness for inserts (CREATE INDEX CONCURRENTLY, which updates only the
 * index's pg_index row) reaches a backend, as it reaches the executor's.
 */
bool
DurableReadDirectIndexes(Relation rel, DurableShape *shape, DurableDirectIndex *indexes, int max,
						 DurableDirectIndexVisit visit, void *arg)
{
	List	   *list = RelationGetIndexList(rel);
	ListCell   *lc;
	bool		plain = list_length(list) <= max;

	shape->indexes = indexes;
	shape->nindexes = 0;
	foreach(lc, list)
	{
		Relation	index;
		DurableDirectIndex *entry = &indexes[shape->nindexes];

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
				entry->predicate = ExecPrepareQual(entry->info->ii_Predicate, shape->mem.estate);
			shape->nindexes++;
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
static MemoryContext
renew_memory(DurableShapeMemory *mem, Relation rel, const char *name)
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

/* every shape DurableShapeOf has read, linked through their next */
static DurableShape *shapes;

/* relcache and function invalidations since the first shape was read, counted */
static uint64 invalidations;

/* (a change of the table or of an index read: its IndexInfo, with its readiness for inserts, is kept) */
static void
forget_shapes_of_relation(Oid relid)
{
	for (DurableShape *s = shapes; s != NULL; s = s->next)
	{
		if (relid == InvalidOid || relid == s->relid)
			s->valid = false;
		for (int i = 0; i < s->nindexes && s->valid; i++)
			if (s->indexes[i].oid == relid)
				s->valid = false;
	}
	invalidations++;
}

/*
 * (a function replaced: a CHECK, predicate or trigger a shape holds may
 * call it; a role or a membership changed: the rights a reader read)
 */
static void
forget_shapes(int cacheid, uint32 hashvalue)
{
	for (DurableShape *s = shapes; s != NULL; s = s->next)
		if (cacheid == PROCOID || OidIsValid(s->userid))
			s->valid = false;
	invalidations++;
}

static void
watch_shape(DurableShape *shape)
{
	if (shape->watched)
		return;
	if (shapes == NULL)
	{
		DurableWatchRelcache(forget_shapes_of_relation);
		DurableWatchSyscache(PROCOID, forget_shapes);
		DurableWatchSyscache(AUTHOID, forget_shapes);
		DurableWatchSyscache(AUTHMEMROLEMEM, forget_shapes);
	}
	shape->next = shapes;
	shapes = shape;
	shape->watched = true;
}

/*
 * shape, for rel: as it was last read, if still valid for rel (and for
 * the current role, when the reader read its rights: it sets
 * shape->userid); else read anew, in its memory made anew, by read(rel,
 * arg), whose answer is shape->plain. An invalidation that comes while it
 * is read (the reader opens indexes and reads the catalogs, which reads
 * invalidations) leaves it invalid, to be read again next time: what was
 * read may predate it.
 */
void
DurableShapeOf(DurableShape *shape, Relation rel, const char *name, DurableShapeRead read, void *arg)
{
	MemoryContext old;
	uint64		before;

	if (shape->valid && shape->relid == RelationGetRelid(rel) &&
		(!OidIsValid(shape->userid) || shape->userid == GetUserId()))
		return;
	watch_shape(shape);
	shape->valid = false;
	shape->nindexes = 0;
	shape->relid = RelationGetRelid(rel);
	shape->userid = InvalidOid;
	before = invalidations;
	old = renew_memory(&shape->mem, rel, name);
	shape->plain = read(rel, arg);
	MemoryContextSwitchTo(old);
	shape->valid = invalidations == before;
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
 * The entries of a row written directly at tid in shape's indexes, made
 * as ExecInsertIndexTuples makes them: in each index whose predicate holds
 * for the row, but those has_entry (when given) rules out and the one at
 * skip (-1: none, or one the caller wrote itself, such as an arbiter); for
 * an update's new version, unchanged (when given) is the executor's hint
 * per index that the update changed none of its columns.
 */
void
DurableInsertRowEntries(Relation heap, DurableShape *shape, const bool *has_entry, int skip, int natts,
						const Datum *values, const bool *nulls, ItemPointer tid, const bool *unchanged)
{
	for (int i = 0; i < shape->nindexes; i++)
	{
		const DurableDirectIndex *entry = &shape->indexes[i];
		Relation	index;

		if (i == skip || (has_entry != NULL && !has_entry[i]))
			continue;
		if (entry->predicate != NULL && !DurableShapeHolds(&shape->mem, entry->predicate, false, natts, values, nulls))
			continue;
		index = index_open(entry->oid, RowExclusiveLock);
		insert_entry(heap, index, entry->info, values, nulls, tid, unchanged != NULL && unchanged[i],
					 UNIQUE_CHECK_YES);
		/* the locks stay to the transaction's end, as the executor's */
		index_close(index, NoLock);
	}
}

/*
 * The start of a direct write (command: "INSERT", "UPDATE", "DELETE"):
 * what the executor refuses before it writes anything, then, as SPI for a
 * statement, a new snapshot with the command counter advanced.
 * DurableDirectWriteEnd ends it.
 */
void
DurableDirectWriteBegin(const char *command)
{
	PreventCommandIfReadOnly(command);
	PreventCommandIfParallelMode(command);
	PushActiveSnapshot(GetTransactionSnapshot());
	CommandCounterIncrement();
	UpdateActiveSnapshotCommandId();
}

/* Its end: the snapshot popped, and what was written seen by what follows, as after a statement. */
void
DurableDirectWriteEnd(bool written)
{
	PopActiveSnapshot();
	if (written)
		CommandCounterIncrement();
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
