/*
 * direct_insert.c: what the rows durable writes without the executor
 * (history_append.c's events, task_insert.c's tasks) share with the
 * executor's INSERT, in one place: the tables and indexes such a row may be
 * written to directly, and an index's entry for it, made as
 * ExecInsertIndexTuples makes it. Each caller adds what its own table needs
 * (its triggers, columns, CHECKs, index predicates and rights).
 */
#include "postgres.h"

#include "access/genam.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_class_d.h"
#include "nodes/execnodes.h"
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
 * index's entry for the heap row at tid whose columns are values and nulls,
 * a unique index's checked as the executor does (waiting for an uncommitted
 * duplicate's transaction); none in an index being built, as the executor.
 */
void
DurableInsertIndexEntry(Relation heap, Relation index, IndexInfo *info, const Datum *values, const bool *nulls,
						ItemPointer tid)
{
	DurableInsertUpdatedIndexEntry(heap, index, info, values, nulls, tid, false);
}

/*
 * The same for the new version of an updated row (close_update.c), with the
 * executor's hint that the update changed none of the index's columns
 * (unchanged: the index may then delete older versions bottom-up).
 */
void
DurableInsertUpdatedIndexEntry(Relation heap, Relation index, IndexInfo *info, const Datum *values,
							   const bool *nulls, ItemPointer tid, bool unchanged)
{
	Datum		key_values[INDEX_MAX_KEYS];
	bool		key_nulls[INDEX_MAX_KEYS];

	if (!info->ii_ReadyForInserts)
		return;
	/* an access method's state (GIN's, GiST's, BRIN's) lives for this call only, as for a statement */
	info->ii_AmCache = NULL;
	info->ii_Context = CurrentMemoryContext;
	for (int i = 0; i < info->ii_NumIndexAttrs; i++)
	{
		key_values[i] = values[info->ii_IndexAttrNumbers[i] - 1];
		key_nulls[i] = nulls[info->ii_IndexAttrNumbers[i] - 1];
	}
	index_insert(index, key_values, key_nulls, tid, heap,
				 index->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO, unchanged, info);
}
