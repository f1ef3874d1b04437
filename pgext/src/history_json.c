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
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "durable.h"
#include "history_pack.h"

PG_FUNCTION_INFO_V1(durable_history_json);

/* Pushes the events of run after from_event, one object each, in id order. */
static void
push_events(JsonbParseState **state, Datum run, Datum from_event)
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
		Datum		event_id = SPI_getbinval(row, desc, 1, &isnull);
		int16		event_code = DatumGetInt16(SPI_getbinval(row, desc, 2, &isnull));
		Datum		event_time = SPI_getbinval(row, desc, 3, &isnull);
		Datum		packed = SPI_getbinval(row, desc, 4, &isnull);
		text	   *event_type = DurableEventType(event_code, packed);
		JsonbValue	v;
		char	   *time;

		pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
		DurableJsonbPushKey(state, "event_id");
		v.type = jbvNumeric;
		v.val.numeric = int64_to_numeric(DatumGetInt64(event_id));
		pushJsonbValue(state, WJB_VALUE, &v);
		DurableJsonbPushKey(state, "event_type");
		DurableJsonbPushString(state, VARDATA_ANY(event_type), VARSIZE_ANY_EXHDR(event_type));
		DurableJsonbPushKey(state, "event_time");
		time = JsonEncodeDateTime(NULL, event_time, TIMESTAMPTZOID, NULL);
		DurableJsonbPushString(state, time, strlen(time));
		DurableJsonbPushKey(state, "attributes");
		DurableEventUnpackPush(state, run, DatumGetInt64(event_id), DatumGetJsonbP(packed));
		pushJsonbValue(state, WJB_END_OBJECT, NULL);
	}
}

/* durable._history_json(run, from_event) */
Datum
durable_history_json(PG_FUNCTION_ARGS)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	JsonbParseState *state = NULL;
	JsonbValue *array;
	Jsonb	   *result;

	SPI_connect();
	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	/* no row matches a null run or a null bound: the empty array, as before */
	if (!PG_ARGISNULL(0) && !PG_ARGISNULL(1))
		push_events(&state, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1));
	array = pushJsonbValue(&state, WJB_END_ARRAY, NULL);

	/* the result outlives SPI's memory */
	MemoryContextSwitchTo(caller_cxt);
	result = JsonbValueToJsonb(array);
	SPI_finish();
	PG_RETURN_JSONB_P(result);
}
