/*
 * row_by_key.c: durable._workflow_row(run) and _workflow_task_row(task_id),
 * a run's or a workflow task's row by its primary key, read as one index
 * probe instead of a statement.
 *
 * Every workflow task completion read the task twice (before and after it
 * locks the run: _lock_workflow_task) and its run once, and every close the
 * run again (_close_run): four `SELECT * INTO` statements per completion,
 * each an executor start and end around one index probe (docs/performance.md,
 * "The close, session 9"). These read the same row with the caller's
 * snapshot (plpgsql pushes a fresh one for an expression of a volatile
 * function, as for a statement) and return it as the table's row type; NULL
 * when no row is visible, which plpgsql assigns as a SELECT INTO that found
 * nothing does. Where a direct read would not see what the statement sees
 * (row security on the table, a role without SELECT on it, an
 * ExecutorCheckPerms_hook, no primary key on the column alone) the row is
 * read by the statement `SELECT t FROM durable.<table> t WHERE <key> = $1`.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_type_d.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_workflow_row);
PG_FUNCTION_INFO_V1(durable_workflow_task_row);

typedef struct KeyedTable
{
	DurablePrimaryKey key;		/* the table and its primary key's column, alone */
	RegProcedure eq;			/* the column type's equality */
	const char *sql;			/* the statement a direct read stands for */
	SPIPlanPtr	plan;			/* sql's, kept */
	DurableLookup lookup;		/* the table and its primary key (InvalidOid: none to read directly) */
} KeyedTable;

static KeyedTable workflows = {
	{"workflows", "run_id", UUIDOID}, F_UUID_EQ,
	"SELECT t FROM durable.workflows t WHERE t.run_id = $1"
};
static KeyedTable workflow_tasks = {
	{"workflow_tasks", "task_id", INT8OID}, F_INT8EQ,
	"SELECT t FROM durable.workflow_tasks t WHERE t.task_id = $1"
};

/* The row by the statement: its composite value, or null. */
static Datum
row_by_statement(KeyedTable *t, Datum key, bool *isnull)
{
	Datum		row = (Datum) 0;

	DurableRunStatement(&t->plan, t->sql, 1, &t->key.type, &key, NULL, true, 2, SPI_OK_SELECT, &row, isnull);
	return row;
}

/* The row with key visible to the active snapshot, as the table's row type (*isnull: none). */
static Datum
row_by_key(Datum key, KeyedTable *t, bool *isnull)
{
	Relation	rel;
	Relation	index;
	TupleTableSlot *slot;
	Datum		row = (Datum) 0;
	bool		found;

	rel = DurableOpenLookup(&t->lookup, AccessShareLock, DurableFillPrimaryKey, &t->key);
	if (rel == NULL)
		return row_by_statement(t, key, isnull);
	/* (as the statement would read it: under row security, or with the rights checked, it is the statement's) */
	if (rel->rd_rel->relrowsecurity || ExecutorCheckPerms_hook != NULL ||
		pg_class_aclcheck(t->lookup.heap, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
	{
		table_close(rel, AccessShareLock);
		return row_by_statement(t, key, isnull);
	}
	index = index_open(t->lookup.index, AccessShareLock);
	slot = table_slot_create(rel, NULL);
	found = DurableProbeIndex(rel, index, t->eq, key, GetActiveSnapshot(), slot);
	if (found)
	{
		bool		should_free;
		HeapTuple	tuple = ExecFetchSlotHeapTuple(slot, false, &should_free);

		row = heap_copy_tuple_as_datum(tuple, RelationGetDescr(rel));
		if (should_free)
			heap_freetuple(tuple);
	}
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(rel, AccessShareLock);
	*isnull = !found;
	return row;
}

/* durable._workflow_row(run uuid) RETURNS durable.workflows, STRICT */
Datum
durable_workflow_row(PG_FUNCTION_ARGS)
{
	return row_by_key(PG_GETARG_DATUM(0), &workflows, &fcinfo->isnull);
}

/* durable._workflow_task_row(task_id bigint) RETURNS durable.workflow_tasks, STRICT */
Datum
durable_workflow_task_row(PG_FUNCTION_ARGS)
{
	return row_by_key(PG_GETARG_DATUM(0), &workflow_tasks, &fcinfo->isnull);
}

/* _workflow_row(run) for the C (schedule_task.c, handback_take.c): the run's row, or *isnull */
Datum
DurableWorkflowRow(Datum run, bool *isnull)
{
	return row_by_key(run, &workflows, isnull);
}

/*
 * The columns cols names of row (a composite value), as row.<name> reads
 * them: by reference into row. Their numbers are found by name once per
 * change of the row type (its typcache identifier), not per row.
 */
void
DurableReadColumns(Datum row, DurableRowColumns *cols, Datum *values, bool *nulls)
{
	HeapTupleHeader h = DatumGetHeapTupleHeader(row);
	TypeCacheEntry *type = lookup_type_cache(HeapTupleHeaderGetTypeId(h), TYPECACHE_TUPDESC);
	TupleDesc	desc = type->tupDesc;
	HeapTupleData tuple;

	if (desc == NULL)
		elog(ERROR, "durable: type %u is not composite", HeapTupleHeaderGetTypeId(h));
	if (cols->n > (int) lengthof(cols->atts))
		elog(ERROR, "durable: %d columns asked for, at most %d", cols->n, (int) lengthof(cols->atts));
	if (cols->type != HeapTupleHeaderGetTypeId(h) || cols->identifier != type->tupDesc_identifier)
	{
		for (int i = 0; i < cols->n; i++)
		{
			cols->atts[i] = InvalidAttrNumber;
			for (int a = 0; a < desc->natts; a++)
				if (!TupleDescAttr(desc, a)->attisdropped &&
					strcmp(NameStr(TupleDescAttr(desc, a)->attname), cols->names[i]) == 0)
					cols->atts[i] = a + 1;
			if (cols->atts[i] == InvalidAttrNumber)
				ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
								errmsg("column \"%s\" not found in data type %s", cols->names[i],
									   format_type_be(HeapTupleHeaderGetTypeId(h)))));
		}
		cols->type = HeapTupleHeaderGetTypeId(h);
		cols->identifier = type->tupDesc_identifier;
	}
	tuple.t_len = HeapTupleHeaderGetDatumLength(h);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = h;
	for (int i = 0; i < cols->n; i++)
		values[i] = heap_getattr(&tuple, cols->atts[i], desc, &nulls[i]);
}
