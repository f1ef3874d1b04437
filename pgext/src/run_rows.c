/*
 * run_rows.c: durable._run_rows(run), which of the tables a run's close
 * empties (api/04_close.sql, _close_run) still hold a row of the run, read
 * from one index probe per table.
 *
 * A close deleted the run's rows from six tables and looked for its running
 * children with seven statements, each with its executor set up and torn
 * down (some 4 µs each) to find nothing in the common close: its workflow
 * task is deleted by the completion that closes it, its activities and
 * timers are done. _close_run now asks this first and runs only the
 * statements that have rows to act on. A probe answers "rows" whenever it
 * cannot tell (the table or an index leading with the column is missing, or
 * the index is one whose equality it does not know): the statement then
 * runs as before (so also for a table another inherits from, whose rows
 * the statement reaches). So a probe can only leave out a statement that
 * would have found no row: it reads with the caller's snapshot (the one a statement
 * would take: plpgsql pushes a fresh one for an expression of a volatile
 * function) and without row security, so it sees every row the statement
 * could. And it answers "rows" for a table whose statement the caller may
 * not run (a role granted _close_run itself, without DELETE on a table, say):
 * the statement then runs and refuses the caller, as it did before any
 * probe, rather than being left out because the table had no row of the run.
 *
 * ScheduleActivityTask's check that its activity id is not pending
 * (cmd_schedule.c) asks the same of activity_tasks, one column further
 * (DurableRunMayHoldRowWith): the rows of the run are read by the probe's
 * index and their activity_id compared; only when one may match does the
 * statement look. A workflow schedules its next activity once the last is
 * done, so the run mostly has none.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_type_d.h"
#include "commands/defrem.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "nodes/primnodes.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_run_rows);

/* The tables, in the order of _close_run's bits (bit i is 1 << i). */
typedef struct RunTable
{
	const char *relname;
	const char *column;			/* uuid: the run (or, for workflows, the parent run) */
	AclMode		rights;			/* what the close's statement on it needs */
	const char *with;			/* DurableRunMayHoldRowWith's text column, or NULL */
} RunTable;

#define DELETES (ACL_SELECT | ACL_DELETE)	/* DELETE ... WHERE t.run_id = run */
static const RunTable run_tables[] = {
	{"workflow_tasks", "run_id", DELETES, NULL},
	{"activity_tasks", "run_id", DELETES, "activity_id"},
	{"timers", "run_id", DELETES, NULL},
	{"buffered_events", "run_id", DELETES, NULL},
	{"workflow_pauses", "run_id", DELETES, NULL},
	{"activity_pauses", "run_id", DELETES, NULL},
	{"workflows", "parent_run_id", ACL_SELECT | ACL_UPDATE, NULL},	/* the children, SELECT ... FOR UPDATE */
};

#define RUN_TABLES lengthof(run_tables)

/* What a probe reads (heap and index), looked up once per backend and again after a change of either. */
static DurableLookup run_indexes[RUN_TABLES];
/* with the lookup: the attribute of run_tables[i].with when it can be compared byte for byte, else InvalidAttrNumber */
static AttrNumber with_atts[RUN_TABLES];

/*
 * Whether predicate (an index's, implicitly ANDed) holds for every row whose
 * column att is not null: none, or exactly "att IS NOT NULL" (the children's
 * index).
 */
static bool
holds_when_set(List *predicate, AttrNumber att)
{
	NullTest   *test;

	if (predicate == NIL)
		return true;
	if (list_length(predicate) != 1 || !IsA(linitial(predicate), NullTest))
		return false;
	test = (NullTest *) linitial(predicate);
	return test->nulltesttype == IS_NOT_NULL && !test->argisrow && IsA(test->arg, Var) &&
		((Var *) test->arg)->varattno == att && ((Var *) test->arg)->varlevelsup == 0;
}

/*
 * A valid btree index of heap whose first column is att, under uuid's
 * default btree operator family, and that holds every row with att set;
 * InvalidOid when there is none.
 */
static Oid
probe_index(Relation heap, AttrNumber att)
{
	Oid			uuid_family = get_opclass_family(GetDefaultOpClass(UUIDOID, BTREE_AM_OID));
	List	   *indexes = RelationGetIndexList(heap);
	ListCell   *lc;
	Oid			found = InvalidOid;

	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		bool		fits = index->rd_rel->relam == BTREE_AM_OID && index->rd_index->indisvalid &&
			index->rd_index->indislive && index->rd_index->indnkeyatts >= 1 &&
			index->rd_index->indkey.values[0] == att && index->rd_opfamily[0] == uuid_family &&
			RelationGetIndexExpressions(index) == NIL &&
			holds_when_set(RelationGetIndexPredicate(index), att);

		index_close(index, AccessShareLock);
		if (fits)
		{
			found = lfirst_oid(lc);
			break;
		}
	}
	list_free(indexes);
	return found;
}

/*
 * The attribute of heap's text column name, if "=" on it compares bytes
 * (a deterministic collation; a database's default one is);
 * InvalidAttrNumber otherwise (missing, another type).
 */
static AttrNumber
bytewise_text(Relation heap, const char *name)
{
	AttrNumber	att = get_attnum(RelationGetRelid(heap), name);
	Form_pg_attribute attr = att > 0 ? TupleDescAttr(RelationGetDescr(heap), att - 1) : NULL;

	if (attr == NULL || attr->atttypid != TEXTOID || !OidIsValid(attr->attcollation) ||
		(attr->attcollation != DEFAULT_COLLATION_OID && !get_collation_isdeterministic(attr->attcollation)))
		return InvalidAttrNumber;
	return att;
}

/* DurableOpenLookup's fill for run_tables[i] (arg) */
static void
look_up(DurableLookup *lookup, const void *arg)
{
	const RunTable *table = arg;
	Oid			schema = DurableNamespaceOid();
	Relation	heap;
	AttrNumber	att;

	with_atts[table - run_tables] = InvalidAttrNumber;
	lookup->heap = OidIsValid(schema) ? get_relname_relid(table->relname, schema) : InvalidOid;
	if (!OidIsValid(lookup->heap))
		return;
	heap = table_open(lookup->heap, AccessShareLock);
	att = get_attnum(lookup->heap, table->column);
	/* (a table inheriting from it: the statement deletes its rows too, the probe would not see them) */
	if (heap->rd_rel->relkind == RELKIND_RELATION && !heap->rd_rel->relhassubclass && att != InvalidAttrNumber &&
		TupleDescAttr(RelationGetDescr(heap), att - 1)->atttypid == UUIDOID)
		lookup->index = probe_index(heap, att);
	if (table->with != NULL)
		with_atts[table - run_tables] = bytewise_text(heap, table->with);
	table_close(heap, AccessShareLock);
}

/* Whether heap holds a row visible to snapshot whose index's first column equals run. */
static bool
has_row(Relation heap, Oid index_oid, Datum run, Snapshot snapshot)
{
	Relation	index = index_open(index_oid, AccessShareLock);
	TupleTableSlot *slot = table_slot_create(heap, NULL);
	bool		found = DurableProbeIndex(heap, index, F_UUID_EQ, run, snapshot, slot);

	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	return found;
}

/*
 * Whether run_tables[i] may hold a row of run (true when no index can tell,
 * or when the caller may not run the statement: it then says so itself).
 */
static bool
may_hold_rows(int i, Datum run, Snapshot snapshot)
{
	Relation	heap = DurableOpenLookup(&run_indexes[i], AccessShareLock, look_up, &run_tables[i]);
	AclMode		rights = run_tables[i].rights;
	bool		found;

	if (heap == NULL)
		return true;
	found = pg_class_aclmask(RelationGetRelid(heap), GetUserId(), rights, ACLMASK_ALL) != rights ||
		has_row(heap, run_indexes[i].index, run, snapshot);
	table_close(heap, AccessShareLock);
	return found;
}

/*
 * durable._run_rows(run uuid [, tables integer]) RETURNS integer, STRICT:
 * of the bits set in tables (all without it), bit i set when run_tables[i]
 * may hold a row of run (see the top of this file); the others are not read.
 */
Datum
durable_run_rows(PG_FUNCTION_ARGS)
{
	Datum		run = PG_GETARG_DATUM(0);
	int32		tables = PG_NARGS() > 1 ? PG_GETARG_INT32(1) : ~0;
	Snapshot	snapshot = GetActiveSnapshot();
	int32		rows = 0;

	for (int i = 0; i < RUN_TABLES; i++)
	{
		if ((tables & (1 << i)) != 0 && may_hold_rows(i, run, snapshot))
			rows |= 1 << i;
	}
	PG_RETURN_INT32(rows);
}

/*
 * Whether the table of bit 1 << table may hold a row of run whose column
 * run_tables[table].with (a text) equals value, under the statement's snapshot (a fresh one, with
 * the command counter advanced, as SPI takes for it): the rows of the run
 * read by the probe's index, each one's column compared byte for byte, as
 * "=" compares texts of a deterministic collation. True whenever the probe
 * cannot tell (as may_hold_rows: no index, rights the statement needs and
 * the caller lacks; or the column is missing, not a text, or of a
 * nondeterministic collation): the statement then looks.
 */
bool
DurableRunMayHoldRowWith(int table, Datum run, text *value)
{
	Relation	heap;
	AclMode		rights = run_tables[table].rights;
	AttrNumber	att;
	bool		found = false;

	Assert(table >= 0 && table < RUN_TABLES && run_tables[table].with != NULL);
	heap = DurableOpenLookup(&run_indexes[table], AccessShareLock, look_up, &run_tables[table]);
	if (heap == NULL)
		return true;
	/* (the column's attribute read with the lookup, refreshed with it) */
	att = with_atts[table];
	if (att == InvalidAttrNumber || pg_class_aclmask(RelationGetRelid(heap), GetUserId(), rights, ACLMASK_ALL) != rights)
		found = true;
	else
	{
		Relation	index = index_open(run_indexes[table].index, AccessShareLock);
		TupleTableSlot *slot = table_slot_create(heap, NULL);
		ScanKeyData key;
		IndexScanDesc scan;
		Snapshot	snapshot;

		PushActiveSnapshot(GetTransactionSnapshot());
		CommandCounterIncrement();
		UpdateActiveSnapshotCommandId();
		snapshot = GetActiveSnapshot();
		ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid, index->rd_indcollation[0], F_UUID_EQ,
							   run);
		scan = index_beginscan(heap, index, snapshot, 1, 0);
		index_rescan(scan, &key, 1, NULL, 0);
		while (!found && index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			bool		isnull;
			Datum		d = slot_getattr(slot, att, &isnull);

			if (!isnull)
			{
				text	   *t = DatumGetTextPP(d);

				found = VARSIZE_ANY_EXHDR(t) == VARSIZE_ANY_EXHDR(value) &&
					memcmp(VARDATA_ANY(t), VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value)) == 0;
			}
		}
		index_endscan(scan);
		PopActiveSnapshot();
		ExecDropSingleTupleTableSlot(slot);
		index_close(index, AccessShareLock);
	}
	table_close(heap, AccessShareLock);
	return found;
}
