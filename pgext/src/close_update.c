/*
 * close_update.c: durable._close_update(run, status, closed_at, result,
 * failure, new_run_id), the update of a run's row that closes it
 * (_close_run, api/04_close.sql), written with the heap and index APIs.
 *
 * The statement
 *     UPDATE durable.workflows SET status = ..., closed_at = ..., result = ...,
 *            failure = ..., deadline_at = NULL, new_run_id = ... WHERE run_id = ...
 * was the largest of a one-activity workflow's (docs/performance.md, "The
 * close, session 9"): besides the row and its index entries (never HOT:
 * status and closed_at are in the visibility indexes), the executor set up
 * for one row the table's nine indexes, their six predicates and the two
 * CHECKs read from their stored text and planned again, on every close.
 * Here the row is found by the primary key, its new version made from the
 * old one with those six columns replaced, checked against the table's
 * CHECKs, written by heap_update, and given an entry in every index whose
 * predicate holds for it, as ExecUpdate and ExecInsertIndexTuples do (with
 * their hint for indexes whose columns the update does not set). The
 * CHECKs and predicates are prepared once per change of the table (a
 * relcache invalidation of it or of an index of it) or of any function.
 *
 * Anything else the statement would do sends the close through it, which
 * does it all, as before: the function returns false having written
 * nothing. That is: a trigger that would fire for the UPDATE (an
 * operator's of any column or of one the close sets, a statement trigger,
 * a foreign key's, transition tables; durable's own on search_attributes
 * does not fire for the close), a rule, row security, a partition, a
 * table inheriting from workflows, a generated column, an index on an
 * expression, an exclusion or deferred unique constraint, no primary key
 * on run_id alone, a column missing or of another type, a null where
 * the table refuses one, a CHECK that calls a volatile function, a CHECK
 * that does not hold (the statement's error),
 * an ExecutorCheckPerms_hook, a role without UPDATE and SELECT on the whole
 * table (rights granted by column are the statement's to check), no visible row, and a row that another transaction updated or
 * deleted meanwhile (heap_update's answer other than TM_Ok: the statement
 * then follows the row as READ COMMITTED does, or fails to serialize).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_type_d.h"
#include "commands/defrem.h"
#include "catalog/pg_trigger_d.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "optimizer/optimizer.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_close_update);

/* The columns the close sets, in the order of the function's arguments after run (deadline_at: NULL). */
static const struct
{
	const char *name;
	Oid			type;
}			set_columns[] = {
	{"status", TEXTOID},
	{"closed_at", TIMESTAMPTZOID},
	{"result", JSONBOID},
	{"failure", JSONBOID},
	{"new_run_id", UUIDOID},
	{"deadline_at", TIMESTAMPTZOID},
};

#define SET_COLUMNS lengthof(set_columns)
#define MAX_INDEXES 32
#define MAX_CHECKS 16

/* What a close needs of the table, read once per change of it. */
typedef struct CloseShape
{
	DurableShape base;			/* plain: the direct update does what the statement would; its memory holds all */
	AttrNumber	run_att;
	AttrNumber	att[SET_COLUMNS];
	Oid			pkey;			/* unique btree on run_id alone */
	DurableDirectIndex indexes[MAX_INDEXES];
	bool		unchanged[MAX_INDEXES]; /* the close sets none of its columns */
	int			nchecks;
	ExprState  *checks[MAX_CHECKS];
} CloseShape;

static CloseShape shape;

static bool
read_columns(Relation rel, CloseShape *s)
{
	TupleDesc	desc = RelationGetDescr(rel);

	if (desc->constr != NULL && desc->constr->has_generated_stored)
		return false;
	s->run_att = get_attnum(RelationGetRelid(rel), "run_id");
	if (s->run_att <= 0 || TupleDescAttr(desc, s->run_att - 1)->atttypid != UUIDOID)
		return false;
	for (int c = 0; c < SET_COLUMNS; c++)
	{
		s->att[c] = get_attnum(RelationGetRelid(rel), set_columns[c].name);
		if (s->att[c] <= 0 || TupleDescAttr(desc, s->att[c] - 1)->atttypid != set_columns[c].type)
			return false;
	}
	return true;
}

/* Whether the index reads a column the close sets (ExecUpdate's index_unchanged_by_update, negated). */
static bool
reads_set_column(const CloseShape *s, IndexInfo *info)
{
	for (int k = 0; k < info->ii_NumIndexAttrs; k++)
		for (int c = 0; c < SET_COLUMNS; c++)
			if (info->ii_IndexAttrNumbers[k] == s->att[c])
				return true;
	return false;
}

/* (DurableReadDirectIndexes' visit) the primary key, and whether the close changes the index's columns */
static bool
visit_index(Relation index, DurableDirectIndex *entry, void *arg)
{
	CloseShape *s = arg;
	Oid			uuid_family = get_opclass_family(GetDefaultOpClass(UUIDOID, BTREE_AM_OID));

	if (index->rd_index->indisprimary && index->rd_rel->relam == BTREE_AM_OID &&
		index->rd_index->indnkeyatts == 1 && index->rd_index->indkey.values[0] == s->run_att &&
		index->rd_opfamily[0] == uuid_family && entry->info->ii_Predicate == NIL)
		s->pkey = entry->oid;
	s->unchanged[entry - s->indexes] = !reads_set_column(s, entry->info);
	return true;
}

static bool
read_indexes(Relation rel, CloseShape *s)
{
	s->pkey = InvalidOid;
	return DurableReadDirectIndexes(rel, &s->base, s->indexes, MAX_INDEXES, visit_index, s) &&
		OidIsValid(s->pkey);
}

/*
 * Whether the trigger (not disabled) would fire for the close's UPDATE: one
 * for each statement, or for each row of an UPDATE of any column or of one
 * the close sets (durable's own, workflows_index_search_attributes_update,
 * is of search_attributes alone).
 */
static bool
fires_on_close(const CloseShape *s, const Trigger *trigger)
{
	if (!TRIGGER_FOR_UPDATE(trigger->tgtype) || trigger->tgenabled == TRIGGER_DISABLED)
		return false;
	if (!TRIGGER_FOR_ROW(trigger->tgtype) || trigger->tgnattr == 0)
		return true;
	for (int a = 0; a < trigger->tgnattr; a++)
		for (int c = 0; c < SET_COLUMNS; c++)
			if (trigger->tgattr[a] == s->att[c])
				return true;
	return false;
}

/* Whether the direct update does what the UPDATE statement would, on rel as it is now. */
static bool
read_shape(Relation rel, void *arg)
{
	CloseShape *s = arg;
	TriggerDesc *triggers = rel->trigdesc;

	/* (a table inheriting from it: the statement updates its rows of the run too) */
	if (!DurableDirectInsertTable(rel) || rel->rd_rel->relhassubclass ||
		RelationGetDescr(rel)->natts > MaxHeapAttributeNumber || !read_columns(rel, s))
		return false;
	/* (an UPDATE's transition tables take every row it updates) */
	if (triggers != NULL && (triggers->trig_update_old_table || triggers->trig_update_new_table))
		return false;
	for (int i = 0; triggers != NULL && i < triggers->numtriggers; i++)
		if (fires_on_close(s, &triggers->triggers[i]))
			return false;
	/* (a CHECK calling a volatile function: the statement, which calls it once) */
	if (!DurableReadChecks(rel, s->base.mem.estate, s->checks, MAX_CHECKS, &s->nchecks))
		return false;
	return read_indexes(rel, s);
}

static CloseShape *
shape_of(Relation rel)
{
	DurableShapeOf(&shape.base, rel, "durable close shape", read_shape, &shape);
	return &shape;
}

/* The run's row visible to snapshot, copied (NULL: none), by the primary key. */
static HeapTuple
find_row(Relation rel, Oid pkey, Datum run, Snapshot snapshot)
{
	Relation	index = index_open(pkey, RowExclusiveLock);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	HeapTuple	row = NULL;

	if (DurableProbeIndex(rel, index, F_UUID_EQ, run, snapshot, slot))
		row = ExecCopySlotHeapTuple(slot);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, NoLock);
	return row;
}

/* The close's update, written directly; false (nothing written) if the statement must write it. */
static bool
update_direct(FunctionCallInfo fcinfo)
{
	Oid			schema = DurableNamespaceOid();
	Oid			relid = OidIsValid(schema) ? get_relname_relid("workflows", schema) : InvalidOid;
	Relation	rel;
	CloseShape *s;
	TupleDesc	desc;
	HeapTuple	old_row;
	HeapTuple	new_row;
	Datum	   *values;
	bool	   *nulls;
	TM_Result	result;
	TM_FailureData tmfd;
	LockTupleMode lockmode;
	bool		written = false;

	/* run, status and closed_at are never null in a close: the statement says what is wrong */
	if (!OidIsValid(relid) || PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		return false;
	rel = table_open(relid, RowExclusiveLock);
	s = shape_of(rel);
	if (!s->base.plain || ExecutorCheckPerms_hook != NULL ||
		pg_class_aclmask(relid, GetUserId(), ACL_UPDATE | ACL_SELECT, ACLMASK_ALL) != (ACL_UPDATE | ACL_SELECT))
	{
		table_close(rel, NoLock);
		return false;
	}
	desc = RelationGetDescr(rel);

	DurableDirectWriteBegin("UPDATE");
	/* (a table published for updates without a replica identity) */
	CheckCmdReplicaIdentity(rel, CMD_UPDATE);

	old_row = find_row(rel, s->pkey, PG_GETARG_DATUM(0), GetActiveSnapshot());
	if (old_row == NULL)
		goto done;
	values = palloc(desc->natts * sizeof(Datum));
	nulls = palloc(desc->natts * sizeof(bool));
	heap_deform_tuple(old_row, desc, values, nulls);
	for (int c = 0; c < SET_COLUMNS; c++)
	{
		int			i = s->att[c] - 1;
		int			arg = c + 1;

		nulls[i] = arg >= PG_NARGS() || PG_ARGISNULL(arg);
		values[i] = nulls[i] ? (Datum) 0 : PG_GETARG_DATUM(arg);
		if (nulls[i] && TupleDescAttr(desc, i)->attnotnull)
			goto done;
	}
	for (int i = 0; i < s->nchecks; i++)
		if (!DurableShapeHolds(&s->base.mem, s->checks[i], true, desc->natts, values, nulls))
			goto done;

	new_row = heap_form_tuple(desc, values, nulls);
	result = heap_update(rel, &old_row->t_self, new_row, GetCurrentCommandId(true), InvalidSnapshot, true,
						 &tmfd, &lockmode);
	if (result != TM_Ok)
		goto done;
	written = true;
	/* a HOT update (which the visibility indexes rule out today) adds no index entries */
	if (!HeapTupleIsHeapOnly(new_row))
		DurableInsertRowEntries(rel, &s->base, NULL, -1, desc->natts, values, nulls, &new_row->t_self,
								s->unchanged);

done:
	DurableDirectWriteEnd(written);
	table_close(rel, NoLock);
	return written;
}

/*
 * durable._close_update(run uuid, status text, closed_at timestamptz,
 * result jsonb, failure jsonb, new_run_id uuid) RETURNS boolean: the run's
 * row closed as _close_run's UPDATE closes it (deadline_at set to null);
 * false, with nothing written, when that statement must do it (see the top
 * of this file).
 */
Datum
durable_close_update(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(update_direct(fcinfo));
}
