/*
 * history_json.c: durable._history_json(run, from_event), the events of a run
 * after from_event as the JSON array a worker replays, built once per leased
 * workflow task.
 *
 * The plpgsql body aggregated jsonb_build_object(...) per event: each event
 * became a jsonb of its own, and the aggregate then took it apart again to
 * copy it into the array. Here each event is pushed straight into one array,
 * with the same keys and values (event_time as jsonb_build_object writes a
 * timestamptz), so the result is the same jsonb. It reads the stored rows
 * (durable.history_rows) and unpacks their attributes straight into the
 * array, as the view durable.history would show them (history_pack.c).
 *
 * The rows are read by a scan of history_pkey under the caller's snapshot,
 * as the statement's plan reads them, without the executor that SPI starts
 * and ends around it (a third of the function's time in the store floor's
 * profile, docs/performance.md, "History, session 7"). Where the statement
 * would do more than that scan (row security, tables that inherit from
 * history_rows, a role that may read only some columns, a permission hook,
 * a table not as durable made it), it is the statement that reads them.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "durable.h"
#include "history_pack.h"

PG_FUNCTION_INFO_V1(durable_history_json);

/*
 * One event, pushed as the object a worker replays. The keys go in the order
 * jsonb keeps them (shorter first, then by bytes): jsonb sorts an object's
 * pairs when it is closed, and a sorted object costs it no moves.
 */
static void
push_event(JsonbParseState **state, Datum run, int64 event_id, int16 event_code, Datum event_time, Datum packed,
		   int64 *last)
{
	text	   *event_type = DurableEventType(event_code, packed);
	JsonbValue	v;
	char	   *time;

	pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
	DurableJsonbPushKey(state, "event_id");
	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(event_id);
	pushJsonbValue(state, WJB_VALUE, &v);
	DurableJsonbPushKey(state, "attributes");
	DurableEventUnpackPush(state, run, event_id, DatumGetJsonbP(packed));
	DurableJsonbPushKey(state, "event_time");
	time = JsonEncodeDateTime(NULL, event_time, TIMESTAMPTZOID, NULL);
	DurableJsonbPushString(state, time, strlen(time));
	DurableJsonbPushKey(state, "event_type");
	DurableJsonbPushString(state, VARDATA_ANY(event_type), VARSIZE_ANY_EXHDR(event_type));
	pushJsonbValue(state, WJB_END_OBJECT, NULL);
	if (last)
		*last = event_id;
}

/* Pushes the events of run after from_event, one object each, in id order (the statement). */
static void
push_events(JsonbParseState **state, Datum run, Datum from_event, int64 *last)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {UUIDOID, INT8OID};
	Datum		args[2] = {run, from_event};

	DurableKeptPlan(&plan, "SELECT h.event_id, h.event_code, h.event_time, h.attributes_packed "
					"  FROM durable.history_rows h WHERE h.run_id = $1 AND h.event_id > $2 "
					" ORDER BY h.event_id", 2, argtypes);
	if (SPI_execute_plan(plan, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read a run's history");

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		push_event(state, run, DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull)),
				   DatumGetInt16(SPI_getbinval(row, desc, 2, &isnull)),
				   SPI_getbinval(row, desc, 3, &isnull), SPI_getbinval(row, desc, 4, &isnull), last);
	}
}

/* history_rows's columns, as schema/01_tables.sql makes them */
static const Oid history_types[] = {UUIDOID, INT8OID, INT2OID, TIMESTAMPTZOID, JSONBOID};

/*
 * True if the statement would read rel by nothing but a scan of its
 * primary key, pkey: a heap table with durable's five columns first, no row
 * security, no table inheriting from it, SELECT on it all for the role, no
 * permission hook; a B-tree primary key on (run_id, event_id).
 */
static bool
plain_read(Relation rel, Relation pkey)
{
	TupleDesc	desc = RelationGetDescr(rel);

	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relam != HEAP_TABLE_AM_OID ||
		rel->rd_rel->relrowsecurity || rel->rd_rel->relhassubclass || desc->natts < (int) lengthof(history_types))
		return false;
	for (int i = 0; i < (int) lengthof(history_types); i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || att->atttypid != history_types[i])
			return false;
	}
	if (ExecutorCheckPerms_hook != NULL ||
		pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return false;
	return pkey->rd_rel->relam == BTREE_AM_OID && pkey->rd_index->indisvalid &&
		pkey->rd_index->indnkeyatts == 2 && pkey->rd_index->indkey.values[0] == 1 &&
		pkey->rd_index->indkey.values[1] == 2;
}

/*
 * The array of run's events after from_event, read straight from
 * history_pkey; NULL (nothing read) where plain_read says the statement
 * must read them.
 */
static JsonbValue *
events_direct(Datum run, Datum from_event, int64 *last)
{
	Oid			schema = DurableNamespaceOid();
	Oid			relid = OidIsValid(schema) ? get_relname_relid("history_rows", schema) : InvalidOid;
	Oid			pkey_oid;
	Relation	rel;
	Relation	pkey;
	IndexScanDesc scan;
	ScanKeyData keys[2];
	TupleTableSlot *slot;
	JsonbParseState *state = NULL;
	JsonbValue *array;

	if (!OidIsValid(relid) || !ActiveSnapshotSet())
		return NULL;
	/* the locks the statement takes, kept to the transaction's end */
	rel = table_open(relid, AccessShareLock);
	pkey_oid = RelationGetPrimaryKeyIndex(rel);
	if (!OidIsValid(pkey_oid))
	{
		table_close(rel, NoLock);
		return NULL;
	}
	pkey = index_open(pkey_oid, AccessShareLock);
	if (!plain_read(rel, pkey))
	{
		index_close(pkey, NoLock);
		table_close(rel, NoLock);
		return NULL;
	}

	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_UUID_EQ, run);
	ScanKeyInit(&keys[1], 2, BTGreaterStrategyNumber, F_INT8GT, from_event);
	slot = table_slot_create(rel, NULL);
	scan = index_beginscan(rel, pkey, GetActiveSnapshot(), 2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		slot_getsomeattrs(slot, lengthof(history_types));
		/*
		 * (the attributes copied out of the buffer, which the slot lets go of
		 * at the next row, into this context: the array points into them)
		 */
		push_event(&state, run, DatumGetInt64(slot->tts_values[1]), DatumGetInt16(slot->tts_values[2]),
				   slot->tts_values[3], PointerGetDatum(PG_DETOAST_DATUM_COPY(slot->tts_values[4])), last);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	array = pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	index_close(pkey, NoLock);
	table_close(rel, NoLock);
	return array;
}

/*
 * The events of run after from_event as the array a worker replays (a
 * null run or bound: the empty array); *last, if asked, is set to the last
 * event's id (left as it was when there is none).
 */
Datum
DurableHistoryJsonb(Datum run, bool run_null, Datum from_event, bool from_null, int64 *last)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	JsonbParseState *state = NULL;
	JsonbValue *array;
	Jsonb	   *result;

	if (!run_null && !from_null && (array = events_direct(run, from_event, last)) != NULL)
		return JsonbPGetDatum(JsonbValueToJsonb(array));

	SPI_connect();
	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	/* no row matches a null run or a null bound: the empty array, as before */
	if (!run_null && !from_null)
		push_events(&state, run, from_event, last);
	array = pushJsonbValue(&state, WJB_END_ARRAY, NULL);

	/* the result outlives SPI's memory */
	MemoryContextSwitchTo(caller_cxt);
	result = JsonbValueToJsonb(array);
	SPI_finish();
	return JsonbPGetDatum(result);
}

/* durable._history_json(run, from_event) */
Datum
durable_history_json(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATUM(DurableHistoryJsonb(PG_GETARG_DATUM(0), PG_ARGISNULL(0), PG_GETARG_DATUM(1), PG_ARGISNULL(1),
										NULL));
}
