/*
 * step.c: one statement of timer worker 0's between-rounds work (the purge,
 * batch jobs) in a transaction of its own. An error is reported to the log
 * and rolled back, never rethrown: a failed step must not take the timer
 * loop down with it, and its caller decides when to try again. All it
 * allocates lives in its transaction; it returns in the caller's memory
 * context (a commit or an abort would leave TopMemoryContext current).
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/snapmgr.h"

#include "durable.h"

bool
DurableStep(const char *sql, int32 arg, bool async_commit, const char *activity,
			Datum *result, bool *isnull)
{
	MemoryContext caller = CurrentMemoryContext;
	volatile bool ok = true;
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1] = {Int32GetDatum(arg)};

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		SPI_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, activity);
		if (async_commit &&
			SPI_execute("SET LOCAL synchronous_commit TO off", false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not turn synchronous_commit off for \"%s\"", sql);
		if (SPI_execute_with_args(sql, 1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "\"%s\" failed", sql);
		/* by value (an integer, a time): still valid after the commit */
		*result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		HOLD_INTERRUPTS();
		EmitErrorReport();
		AbortOutOfAnyTransaction();
		FlushErrorState();
		RESUME_INTERRUPTS();
		ok = false;
	}
	PG_END_TRY();
	pgstat_report_stat(true);
	pgstat_report_activity(STATE_IDLE, NULL);
	MemoryContextSwitchTo(caller);
	return ok;
}
