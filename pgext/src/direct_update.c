/*
 * direct_update.c: what the updates durable writes without the executor
 * (close_update.c's close of a run, lease_update.c's lease of workflow
 * tasks) share: the shape of the table they keep between calls
 * (the columns they set, the primary key on one column they find the row
 * by, the indexes and CHECKs, whether the executor would do more: a
 * trigger, transition tables, an inheriting table; whether the role has
 * the rights), the hooks checked on each call, a row's new version written
 * as ExecUpdate writes it: the NOT NULLs of the columns set and the CHECKs
 * evaluated, heap_update, and an entry in every index whose predicate
 * holds for the new version unless the update is HOT, with the executor's
 * hint for the indexes whose columns it does not set
 * (index_unchanged_by_update). (A direct delete writes no new version:
 * probed_table.c's DurableProbedDelete.)
 *
 * Each caller says which columns it sets, and may recognise a trigger that
 * never fires for its update (durable's own, whose WHEN its rows never
 * meet); every other trigger that would fire for an UPDATE of those
 * columns, or for each statement, sends its writes through its statement.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/xact.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_trigger_d.h"
#include "commands/defrem.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "rewrite/prs2lock.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "durable.h"

static bool
read_columns(Relation rel, DurableUpdateShape *s)
{
	TupleDesc	desc = RelationGetDescr(rel);

	if (desc->constr != NULL && desc->constr->has_generated_stored)
		return false;
	s->key_att = get_attnum(RelationGetRelid(rel), s->key.name);
	if (s->key_att <= 0 || TupleDescAttr(desc, s->key_att - 1)->atttypid != s->key.type)
		return false;
	for (int c = 0; c < s->ncolumns; c++)
	{
		s->att[c] = get_attnum(RelationGetRelid(rel), s->columns[c].name);
		if (s->att[c] <= 0 || !DurableColumnTakes(TupleDescAttr(desc, s->att[c] - 1), s->columns[c].type))
			return false;
	}
	for (int c = 0; c < s->nreads; c++)
	{
		s->read_att[c] = get_attnum(RelationGetRelid(rel), s->reads[c].name);
		if (s->read_att[c] <= 0 || TupleDescAttr(desc, s->read_att[c] - 1)->atttypid != s->reads[c].type)
			return false;
	}
	return true;
}

/* Whether att is one of the columns the update sets. */
static bool
sets(const DurableUpdateShape *s, AttrNumber att)
{
	for (int c = 0; c < s->ncolumns; c++)
		if (att == s->att[c])
			return true;
	return false;
}

/* what read_shape passes DurableReadDirectIndexes' visit: the shape read, and its table, open */
typedef struct ShapeRead
{
	DurableUpdateShape *s;
	Relation	rel;
} ShapeRead;

/* (DurableReadDirectIndexes' visit) the primary key, and whether the update changes the index's columns */
static bool
visit_index(Relation index, DurableDirectIndex *entry, void *arg)
{
	DurableUpdateShape *s = ((ShapeRead *) arg)->s;
	Oid			family = get_opclass_family(GetDefaultOpClass(s->key.type, BTREE_AM_OID));
	bool		unchanged = true;

	if (index->rd_index->indisprimary && index->rd_rel->relam == BTREE_AM_OID &&
		index->rd_index->indnkeyatts == 1 && index->rd_index->indkey.values[0] == s->key_att &&
		index->rd_opfamily[0] == family && entry->info->ii_Predicate == NIL)
		s->pkey = entry->oid;
	/* (ExecUpdate's index_unchanged_by_update: the index's columns, not its predicate's) */
	for (int k = 0; k < entry->info->ii_NumIndexAttrs; k++)
		if (sets(s, entry->info->ii_IndexAttrNumbers[k]))
			unchanged = false;
	s->unchanged[entry - s->indexes] = unchanged;
	return s->visit == NULL || s->visit(s, ((ShapeRead *) arg)->rel, index, entry);
}

/*
 * Whether the trigger (not disabled) would fire for the update: one for
 * each statement, or for each row of an UPDATE of any column or of one the
 * update sets, unless the caller knows it never fires for its rows.
 */
static bool
fires(DurableUpdateShape *s, const Trigger *trigger)
{
	bool		of_set_column = trigger->tgnattr == 0;

	if (trigger->tgenabled == TRIGGER_DISABLED)
		return false;
	if (!TRIGGER_FOR_UPDATE(trigger->tgtype))
		return false;
	if (!TRIGGER_FOR_ROW(trigger->tgtype))
		return true;
	for (int a = 0; a < trigger->tgnattr; a++)
		if (sets(s, trigger->tgattr[a]))
			of_set_column = true;
	return of_set_column && (s->never_fires == NULL || !s->never_fires(s, trigger));
}

/* the rights the statement needs on the whole table (rights granted by column are its own to check) */
#define UPDATE_RIGHTS (ACL_UPDATE | ACL_SELECT)

/*
 * Whether the direct update does what the UPDATE statement would, on rel as it is now, for the current role: its rights
 * are read here, kept with the shape as history_append.c keeps its own
 * (DurableShape.userid: read again for another role, and after a change of
 * a role, a membership or the table's grants).
 */
static bool
read_shape(Relation rel, void *arg)
{
	DurableUpdateShape *s = arg;
	TriggerDesc *triggers = rel->trigdesc;
	ShapeRead	read = {s, rel};

	Assert(s->ncolumns <= DURABLE_UPDATE_MAX_COLUMNS && s->nreads <= lengthof(s->read_att));
	s->scan_index = InvalidOid;
	s->base.userid = GetUserId();
	if (pg_class_aclmask(RelationGetRelid(rel), s->base.userid, UPDATE_RIGHTS, ACLMASK_ALL) != UPDATE_RIGHTS)
		return false;
	/* (a table inheriting from it: the statement updates its rows of the key too) */
	if (!DurableDirectInsertTable(rel) || rel->rd_rel->relhassubclass ||
		RelationGetDescr(rel)->natts > MaxHeapAttributeNumber || !read_columns(rel, s))
		return false;
	/* (an UPDATE's transition tables take every row it updates) */
	if (triggers != NULL && (triggers->trig_update_old_table || triggers->trig_update_new_table))
		return false;
	for (int i = 0; triggers != NULL && i < triggers->numtriggers; i++)
		if (fires(s, &triggers->triggers[i]))
			return false;
	/* (a CHECK calling a volatile function: the statement, which calls it once) */
	if (!DurableReadChecks(rel, s->base.mem.estate, s->checks, DURABLE_UPDATE_MAX_CHECKS, &s->nchecks))
		return false;
	s->pkey = InvalidOid;
	return DurableReadDirectIndexes(rel, &s->base, s->indexes, DURABLE_UPDATE_MAX_INDEXES, visit_index, &read) &&
		OidIsValid(s->pkey) && (s->visit == NULL || OidIsValid(s->scan_index));
}

/*
 * Whether qual is <a column> = '<a text>' compared by texteq: a Var of this
 * query level (*var) against a text Const not null (*value), under the
 * comparison's collation (*collation). The caller checks which column, and
 * which text. (A trigger's WHEN, a partial index's predicate.)
 */
bool
DurableTextEqConst(Node *qual, Var **var, Datum *value, Oid *collation)
{
	OpExpr	   *op;
	Const	   *c;

	if (!IsA(qual, OpExpr))
		return false;
	op = (OpExpr *) qual;
	if (get_opcode(op->opno) != F_TEXTEQ || list_length(op->args) != 2 ||
		!IsA(linitial(op->args), Var) || !IsA(lsecond(op->args), Const))
		return false;
	*var = linitial(op->args);
	c = lsecond(op->args);
	*value = c->constvalue;
	*collation = op->inputcollid;
	return (*var)->varlevelsup == 0 && c->consttype == TEXTOID && !c->constisnull;
}

/*
 * Whether qual (a trigger's WHEN, or one of its AND's arms) is false for
 * every row the update writes: NEW.<the set column state_column> = '<a
 * text other than state_value>', compared by texteq, as durable's
 * *_task_pass_again's WHEN (NEW.state = 'SCHEDULED' AND OLD.state <>
 * 'SCHEDULED') begins for a lease, which sets state to 'STARTED'.
 */
static bool
false_for_state(const DurableUpdateShape *s, Node *qual)
{
	Var		   *var;
	Datum		value;
	Oid			collation;

	if (IsA(qual, BoolExpr) && ((BoolExpr *) qual)->boolop == AND_EXPR)
	{
		ListCell   *lc;

		foreach(lc, ((BoolExpr *) qual)->args)
			if (false_for_state(s, lfirst(lc)))
				return true;
		return false;
	}
	return DurableTextEqConst(qual, &var, &value, &collation) &&
		var->varno == PRS2_NEW_VARNO && var->varattno == s->att[s->state_column] &&
		!DatumGetBool(DirectFunctionCall2Coll(texteq, collation, value, CStringGetTextDatum(s->state_value)));
}

/*
 * (a shape's never_fires, for an update that sets the text column
 * columns[state_column] to state_value) a row trigger whose WHEN no row it
 * writes meets (see false_for_state)
 */
bool
DurableNeverFiresOnState(DurableUpdateShape *s, const Trigger *trigger)
{
	return trigger->tgqual != NULL && false_for_state(s, stringToNode(trigger->tgqual));
}

/*
 * The start of a direct update of rows of durable's table
 * relname: the table opened, s read (again, if the table, a function or a
 * role changed since, or for another role), the direct write begun
 * (DurableDirectWriteBegin) and the primary key opened, with a slot for
 * its rows, into u. False, with nothing open, when the statement must
 * write: no such table, s found something the executor would do more, an
 * ExecutorCheckPerms_hook, or a role without UPDATE and SELECT on
 * the whole table (rights granted by column are the statement's to check).
 * name: the shape's memory's (a literal).
 */
bool
DurableUpdateBegin(DurableUpdateShape *s, const char *relname, const char *name, DurableUpdate *u)
{
	u->rel = DurableOpenTable(&s->table, relname, RowExclusiveLock);
	if (u->rel == NULL)
		return false;
	DurableShapeOf(&s->base, u->rel, name, read_shape, s);
	if (!s->base.plain || ExecutorCheckPerms_hook != NULL)
	{
		table_close(u->rel, NoLock);
		return false;
	}
	DurableDirectWriteBegin("UPDATE");
	/* (a table published for updates without a replica identity) */
	CheckCmdReplicaIdentity(u->rel, CMD_UPDATE);
	u->pkey = index_open(s->pkey, RowExclusiveLock);
	u->slot = table_slot_create(u->rel, NULL);
	u->values = palloc(RelationGetDescr(u->rel)->natts * sizeof(Datum));
	u->nulls = palloc(RelationGetDescr(u->rel)->natts * sizeof(bool));
	u->result = TM_Invisible;
	return true;
}

/* Its end (written: whether any row was), the locks kept to the transaction's end. */
void
DurableUpdateEnd(DurableUpdate *u, bool written)
{
	ExecDropSingleTupleTableSlot(u->slot);
	index_close(u->pkey, NoLock);
	DurableDirectWriteEnd(written);
	table_close(u->rel, NoLock);
}

/*
 * The row of key visible to the active snapshot, read by the primary key,
 * into u->values and u->nulls (the caller then replaces the set columns);
 * false: none.
 */
bool
DurableUpdateFind(DurableUpdateShape *s, DurableUpdate *u, Datum key)
{
	if (!DurableProbeIndex(u->rel, u->pkey, s->key.eq, key, GetActiveSnapshot(), u->slot))
		return false;
	DurableUpdateFrom(u, u->slot);
	return true;
}

/* The row in slot (of u's table), found otherwise, read as DurableUpdateFind reads its row; slot cleared. */
void
DurableUpdateFrom(DurableUpdate *u, TupleTableSlot *slot)
{
	u->old_row = ExecCopySlotHeapTuple(slot);
	ExecClearTuple(slot);
	heap_deform_tuple(u->old_row, RelationGetDescr(u->rel), u->values, u->nulls);
}

/*
 * The row DurableUpdateFind read, its new version (u->values and u->nulls:
 * its own with the set columns replaced) written as ExecUpdate writes it;
 * false, with nothing written, when the statement must write it: a null in
 * a set column the table refuses, a CHECK that does not hold (the
 * statement's error), or heap_update's answer other than TM_Ok (a row
 * another transaction updated or deleted meanwhile: the statement follows
 * it as READ COMMITTED does, or fails to serialize). u->result is that
 * answer (TM_Invisible where heap_update was not called). heap_update
 * waits for a row another transaction holds (PostgreSQL 15's supports
 * nothing else); a caller that must not wait looks first (activity_lease.c).
 */
bool
DurableUpdateRow(DurableUpdateShape *s, DurableUpdate *u)
{
	TupleDesc	desc = RelationGetDescr(u->rel);
	HeapTuple	new_row;
	TM_Result	result;
	TM_FailureData tmfd;
	LockTupleMode lockmode;
	bool		written = false;

	u->result = TM_Invisible;
	for (int c = 0; c < s->ncolumns; c++)
		if (u->nulls[s->att[c] - 1] && TupleDescAttr(desc, s->att[c] - 1)->attnotnull)
			goto done;
	for (int i = 0; i < s->nchecks; i++)
		if (!DurableShapeHolds(&s->base.mem, s->checks[i], true, desc->natts, u->values, u->nulls))
			goto done;
	new_row = heap_form_tuple(desc, u->values, u->nulls);
	result = heap_update(u->rel, &u->old_row->t_self, new_row, GetCurrentCommandId(true), InvalidSnapshot, true,
						 &tmfd, &lockmode);
	u->result = result;
	if (result == TM_Ok)
	{
		written = true;
		/* a HOT update adds no index entries */
		if (!HeapTupleIsHeapOnly(new_row))
			DurableInsertRowEntries(u->rel, &s->base, NULL, -1, desc->natts, u->values, u->nulls,
									&new_row->t_self, s->unchanged);
	}
	heap_freetuple(new_row);
done:
	heap_freetuple(u->old_row);
	u->old_row = NULL;
	return written;
}
