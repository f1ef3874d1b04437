/*
 * probed_table.c: a table a direct path reads (or deletes) rows of by a
 * unique index, and the columns it reads of them, looked up once per
 * change of the table (DurableProbedTable, DurableOpenLookup's fill); and
 * whether the direct path does what a statement needing some rights on it
 * would (DurableProbedFits, DurableOpenProbed); and a row found so deleted
 * as the DELETE statement deletes it (DurableProbedDeleteBegin,
 * DurableProbedDelete). activity_result.c's four tables (the task's delete
 * and its three reads), workflow_complete.c's delete of a completed
 * workflow task and lease_update.c's re-read of a scan's tasks and their
 * runs share it.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am_d.h"
#include "commands/defrem.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "durable.h"

/* Whether the index is a valid unique btree, checked at once, on exactly t's key columns under their default operators. */
static bool
key_index(Relation rel, Relation index, const DurableProbedTable *t, const AttrNumber *key_atts)
{
	TupleDesc	desc = RelationGetDescr(rel);

	if (index->rd_rel->relam != BTREE_AM_OID || !index->rd_index->indisunique || !index->rd_index->indimmediate ||
		!index->rd_index->indisvalid || index->rd_index->indnkeyatts != t->nkeys ||
		RelationGetIndexExpressions(index) != NIL || RelationGetIndexPredicate(index) != NIL)
		return false;
	for (int k = 0; k < t->nkeys; k++)
		if (index->rd_index->indkey.values[k] != key_atts[k] ||
			index->rd_opfamily[k] != get_opclass_family(GetDefaultOpClass(t->key_types[k], BTREE_AM_OID)) ||
			index->rd_indcollation[k] != TupleDescAttr(desc, key_atts[k] - 1)->attcollation)
			return false;
	return true;
}

/*
 * (DurableOpenLookup's fill, arg: the DurableProbedTable whose lookup it is) the
 * table and its index, when it is found as the direct path needs it; its
 * columns set.
 */
void
DurableFillProbedTable(DurableLookup *lookup, const void *arg)
{
	DurableProbedTable *t = (DurableProbedTable *) arg;	/* (its lookup and columns are filled in) */
	Oid			schema = DurableNamespaceOid();
	Relation	rel;
	TupleDesc	desc;
	AttrNumber	key_atts[2];
	List	   *indexes;
	ListCell   *lc;
	bool		fits = true;

	lookup->heap = OidIsValid(schema) ? get_relname_relid(t->relname, schema) : InvalidOid;
	if (!OidIsValid(lookup->heap))
		return;
	rel = table_open(lookup->heap, AccessShareLock);
	desc = RelationGetDescr(rel);
	for (int k = 0; k < t->nkeys && fits; k++)
	{
		key_atts[k] = get_attnum(lookup->heap, t->keys[k]);
		fits = key_atts[k] > 0 && TupleDescAttr(desc, key_atts[k] - 1)->atttypid == t->key_types[k];
	}
	for (int c = 0; c < t->ncolumns && fits; c++)
	{
		t->atts[c] = get_attnum(lookup->heap, t->columns[c]);
		fits = t->atts[c] > 0 && TupleDescAttr(desc, t->atts[c] - 1)->atttypid == t->column_types[c];
	}
	indexes = fits ? RelationGetIndexList(rel) : NIL;
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		bool		found = key_index(rel, index, t, key_atts);

		index_close(index, AccessShareLock);
		if (found)
		{
			lookup->index = lfirst_oid(lc);
			break;
		}
	}
	list_free(indexes);
	table_close(rel, AccessShareLock);
}

/*
 * Whether the direct path does what a statement needing rights on rel
 * would, on rel as it is now (opened under its lock).
 */
bool
DurableProbedFits(Relation rel, AclMode rights)
{
	TriggerDesc *triggers = rel->trigdesc;

	/* (a table inheriting from it: the statement reads and deletes its rows too) */
	if (!DurableDirectInsertTable(rel) || rel->rd_rel->relhassubclass ||
		pg_class_aclmask(RelationGetRelid(rel), GetUserId(), rights, ACLMASK_ALL) != rights)
		return false;
	/* (any trigger on DELETE, enabled or not, and transition tables: the statement's) */
	return !(rights & ACL_DELETE) || triggers == NULL ||
		!(triggers->trig_delete_before_row || triggers->trig_delete_after_row ||
		  triggers->trig_delete_instead_row || triggers->trig_delete_before_statement ||
		  triggers->trig_delete_after_statement || triggers->trig_delete_old_table);
}

/*
 * t's table opened with lockmode, if the direct path does what a statement
 * needing t->rights would on it as it is now (DurableProbedFits, no
 * ExecutorCheckPerms_hook); else NULL, nothing left open (the lock kept, as
 * the statement that reads it instead takes it anyway).
 */
Relation
DurableOpenProbed(DurableProbedTable *t, LOCKMODE lockmode)
{
	Relation	rel = DurableOpenLookup(&t->lookup, lockmode, DurableFillProbedTable, t);

	if (rel != NULL && (ExecutorCheckPerms_hook != NULL || !DurableProbedFits(rel, t->rights)))
	{
		table_close(rel, NoLock);
		rel = NULL;
	}
	return rel;
}

/*
 * The start of a direct delete of rows of rel (opened, with ACL_DELETE
 * among the rights DurableProbedFits checked, under RowExclusiveLock), as
 * the DELETE statement's: the direct write begun (DurableDirectWriteBegin:
 * the snapshot the rows are then found under) and the table's replica
 * identity checked (a table published for deletes without one: the
 * statement's error). DurableDirectWriteEnd ends it.
 */
void
DurableProbedDeleteBegin(Relation rel)
{
	DurableDirectWriteBegin("DELETE");
	CheckCmdReplicaIdentity(rel, CMD_DELETE);
}

/*
 * The row in slot (of rel, found under the active snapshot since
 * DurableProbedDeleteBegin) deleted as ExecDelete deletes it
 * (table_tuple_delete; its index entries stay, for vacuum, as the executor
 * leaves them). The slot keeps the row, to read. False, nothing written,
 * when another transaction updated or deleted it meanwhile: the statement
 * must then delete, following the row as READ COMMITTED does, or failing
 * to serialize.
 */
bool
DurableProbedDelete(Relation rel, TupleTableSlot *slot)
{
	TM_FailureData tmfd;

	return table_tuple_delete(rel, &slot->tts_tid, GetCurrentCommandId(true), GetActiveSnapshot(), InvalidSnapshot,
							  true, &tmfd, false) == TM_Ok;
}
