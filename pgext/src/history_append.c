/*
 * history_append.c: durable._append and durable._append_at, the one way an
 * event enters a run's history (about ten calls per one-activity workflow).
 *
 * The statement is the one the plpgsql bodies ran (the next id is the last
 * one plus one, read from the end of the primary key, under the run's row
 * lock that every caller holds), prepared once per backend and kept. What C
 * saves is the interpreter around it: a plpgsql call, its statement
 * bookkeeping and a second call for the watchers' notification.
 *
 * The row goes into durable.history_rows, its type as a code and its
 * attributes packed (history_pack.c); durable.history shows it as written.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/fmgrprotos.h"

#include "durable.h"
#include "history_pack.h"

PG_FUNCTION_INFO_V1(durable_append);
PG_FUNCTION_INFO_V1(durable_append_at);

/* $4 is the event's time: the run's clock (_append) or the caller's (_append_at) */
/* (packed with its own id: $5 is the type's name, $3 the attributes as given) */
#define APPEND_SQL(event_time) \
	"INSERT INTO durable.history_rows AS h (run_id, event_id, event_code, event_time, attributes_packed) " \
	"SELECT $1, n.id, $2, " event_time ", durable._event_pack($1, n.id, $5, $3) " \
	"  FROM (SELECT coalesce(max(p.event_id), 0) + 1 AS id " \
	"          FROM durable.history_rows p WHERE p.run_id = $1) n " \
	"RETURNING h.event_id"

/* what the insert into durable.history said of a missing value */
static void
refuse_null(const char *column)
{
	ereport(ERROR, (errcode(ERRCODE_NOT_NULL_VIOLATION),
					errmsg("null value in column \"%s\" of relation \"history\" violates not-null constraint",
						   column)));
}

static Datum
append(FunctionCallInfo fcinfo, bool at)
{
	static SPIPlanPtr plan_now = NULL;
	static SPIPlanPtr plan_at = NULL;
	Oid			argtypes[5] = {UUIDOID, INT2OID, JSONBOID, TIMESTAMPTZOID, TEXTOID};
	Datum		args[5];
	SPIPlanPtr	plan;
	bool		isnull;
	int64		event_id;
	text	   *type;
	Jsonb	   *attributes;

	if (PG_ARGISNULL(0))
		refuse_null("run_id");
	if (PG_ARGISNULL(1))
		refuse_null("event_type");
	if (at && PG_ARGISNULL(3))
		refuse_null("event_time");
	type = PG_GETARG_TEXT_PP(1);
	attributes = PG_ARGISNULL(2)
		? DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")))
		: PG_GETARG_JSONB_P(2);
	args[0] = PG_GETARG_DATUM(0);
	args[1] = Int16GetDatum(DurableEventCode(VARDATA_ANY(type), VARSIZE_ANY_EXHDR(type)));
	args[2] = JsonbPGetDatum(attributes);
	args[3] = at ? PG_GETARG_DATUM(3) : (Datum) 0;
	args[4] = PointerGetDatum(type);
	SPI_connect();
	plan = at ? DurableKeptPlan(&plan_at, APPEND_SQL("$4"), 5, argtypes)
		: DurableKeptPlan(&plan_now, APPEND_SQL("durable._run_now($1)"), 5, argtypes);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not append to a run's history");
	event_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	DirectFunctionCall1(durable_history_changed, args[0]);
	PG_RETURN_INT64(event_id);
}

/* durable._append(run, event_type, attributes) */
Datum
durable_append(PG_FUNCTION_ARGS)
{
	return append(fcinfo, false);
}

/* durable._append_at(run, event_type, attributes, at) */
Datum
durable_append_at(PG_FUNCTION_ARGS)
{
	return append(fcinfo, true);
}
