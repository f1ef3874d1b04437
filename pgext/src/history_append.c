/*
 * history_append.c: durable._append and durable._append_at, the one way an
 * event enters a run's history (about ten calls per one-activity workflow).
 *
 * The statement is the one the plpgsql bodies ran (the next id is the last
 * one plus one, read from the end of the primary key, under the run's row
 * lock that every caller holds), prepared once per backend and kept. What C
 * saves is the interpreter around it: a plpgsql call, its statement
 * bookkeeping and a second call for the watchers' notification.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_append);
PG_FUNCTION_INFO_V1(durable_append_at);

/* $4 is the event's time: the run's clock (_append) or the caller's (_append_at) */
#define APPEND_SQL(event_time) \
	"INSERT INTO durable.history AS h (run_id, event_id, event_type, event_time, attributes) " \
	"SELECT $1, coalesce(max(p.event_id), 0) + 1, $2, " event_time ", coalesce($3, '{}') " \
	"  FROM durable.history p WHERE p.run_id = $1 " \
	"RETURNING h.event_id"

static Datum
append(FunctionCallInfo fcinfo, bool at)
{
	static SPIPlanPtr plan_now = NULL;
	static SPIPlanPtr plan_at = NULL;
	Oid			argtypes[4] = {UUIDOID, TEXTOID, JSONBOID, TIMESTAMPTZOID};
	Datum		args[4];
	char		nulls[4];
	int			nargs = at ? 4 : 3;
	SPIPlanPtr	plan;
	bool		isnull;
	int64		event_id;

	for (int i = 0; i < nargs; i++)
	{
		args[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	SPI_connect();
	plan = at ? DurableKeptPlan(&plan_at, APPEND_SQL("$4"), 4, argtypes)
		: DurableKeptPlan(&plan_now, APPEND_SQL("durable._run_now($1)"), 3, argtypes);
	if (SPI_execute_plan(plan, args, nulls, false, 1) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not append to a run's history");
	event_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	/* the run is not null here: the insert refused it */
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
