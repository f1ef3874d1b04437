/*
 * open_run.c: durable._find_open_run(namespace, workflow_id), the run id of a
 * workflow id's open run, read straight from the index that guards it
 * (workflows_one_open_run, unique on (namespace, workflow_id) where the
 * status is RUNNING). Every start asks this (api/03_start.sql,
 * _start_conflict).
 *
 * Why not a statement: its plan depends on the statistics. On a store whose
 * workflows table was never analyzed (a fresh one, or one filling faster
 * than autovacuum analyzes it) the planner saw every index of workflows
 * led by namespace as equally cheap and took workflows_by_start, filtering
 * every run of the namespace: 45 blocks and ~125 µs per start over a bulk
 * start of 3,000, growing with the store. The probe here reads one key of
 * one index whatever the statistics say. It takes no lock: the caller locks
 * the run it names by its primary key and checks the status again.
 *
 * The index, its table and the two columns read are looked up once and
 * remembered until either changes (DurableOpenLookup), not by name on
 * every call: the lookups were a third of the probe's time in a start.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/uuid.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_find_open_run);

static AttrNumber
column(Oid table, const char *name)
{
	AttrNumber	attnum = get_attnum(table, name);

	if (attnum == InvalidAttrNumber)
		DurableRefuseChangedSchema("table \"workflows\"", psprintf("has no column \"%s\"", name));
	return attnum;
}

/* the index, its table and the columns read, remembered (fill_lookup) */
static DurableLookup open_runs;
static AttrNumber status_col;
static AttrNumber run_col;

/*
 * (DurableOpenLookup's fill) workflows_one_open_run and its table, when
 * the index leads with (namespace, workflow_id) and the table has the
 * columns read; else none, and find_index raises why.
 */
static void
fill_lookup(DurableLookup *lookup, const void *arg)
{
	Oid			schema = DurableNamespaceOid();
	Oid			index_oid = OidIsValid(schema) ? get_relname_relid("workflows_one_open_run", schema) : InvalidOid;
	Oid			table_oid;
	Relation	index;
	bool		leads;

	if (!OidIsValid(index_oid))
		return;
	table_oid = IndexGetRelation(index_oid, false);
	index = index_open(index_oid, AccessShareLock);
	leads = index->rd_index->indnkeyatts >= 2 &&
		index->rd_index->indkey.values[0] == get_attnum(table_oid, "namespace") &&
		index->rd_index->indkey.values[1] == get_attnum(table_oid, "workflow_id");
	index_close(index, AccessShareLock);
	status_col = get_attnum(table_oid, "status");
	run_col = get_attnum(table_oid, "run_id");
	if (leads && status_col != InvalidAttrNumber && run_col != InvalidAttrNumber)
	{
		lookup->heap = table_oid;
		lookup->index = index_oid;
	}
}

/* The index's oid, or the error of a schema changed under it. */
static pg_attribute_noreturn() void
refuse_index(void)
{
	Oid			schema = get_namespace_oid("durable", false);
	Oid			index_oid = get_relname_relid("workflows_one_open_run", schema);
	Oid			table_oid;
	Relation	index;

	if (!OidIsValid(index_oid))
		DurableRefuseChangedSchema("index \"workflows_one_open_run\"", "is missing");
	table_oid = IndexGetRelation(index_oid, false);
	(void) column(table_oid, "status");
	(void) column(table_oid, "run_id");
	index = index_open(index_oid, AccessShareLock);
	if (index->rd_index->indnkeyatts < 2 ||
		index->rd_index->indkey.values[0] != column(table_oid, "namespace") ||
		index->rd_index->indkey.values[1] != column(table_oid, "workflow_id"))
		DurableRefuseChangedSchema("index \"workflows_one_open_run\"",
								   "does not lead with the columns (namespace, workflow_id)");
	elog(ERROR, "durable: index \"workflows_one_open_run\" could not be read");
}

/* durable._find_open_run(namespace text, workflow_id text) RETURNS uuid, STRICT */
Datum
durable_find_open_run(PG_FUNCTION_ARGS)
{
	Relation	table;
	Relation	index;
	ScanKeyData keys[2];
	IndexScanDesc scan;
	TupleTableSlot *slot;
	Datum		run = (Datum) 0;
	bool		found = false;

	table = DurableOpenLookup(&open_runs, AccessShareLock, fill_lookup, NULL);
	if (table == NULL)
		refuse_index();
	index = index_open(open_runs.index, AccessShareLock);
	/* the keys below are compared as these two columns (fill_lookup checked that the index leads with them) */
	for (int i = 0; i < 2; i++)
		ScanKeyEntryInitialize(&keys[i], 0, i + 1, BTEqualStrategyNumber, InvalidOid,
							   index->rd_indcollation[i], F_TEXTEQ, PG_GETARG_DATUM(i));
	slot = table_slot_create(table, NULL);
	scan = index_beginscan(table, index, GetActiveSnapshot(), 2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	while (!found && index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		status = slot_getattr(slot, status_col, &isnull);

		/* the caller checks again under the lock; this only skips the odd */
		if (!isnull && strcmp(TextDatumGetCString(status), "RUNNING") == 0)
		{
			Datum		value = slot_getattr(slot, run_col, &isnull);

			if (!isnull)
			{
				pg_uuid_t  *copy = palloc(sizeof(pg_uuid_t));

				memcpy(copy, DatumGetUUIDP(value), sizeof(pg_uuid_t));
				run = UUIDPGetDatum(copy);
				found = true;
			}
		}
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(table, AccessShareLock);
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(run);
}
