/*
 * kept_plan.c: a statement prepared once per backend and kept, for the C
 * functions that run one statement per call (history_append.c,
 * history_json.c, clock.c) and the timer workers' statements of every tick
 * (bgworker.c, prepare.c, version.c); and the one way the direct reads and
 * writes (row_by_key.c, run_lock.c, task_insert.c, clock.c) run the
 * statement they stand for when they may not do without it.
 */
#include "postgres.h"

#include "access/tupdesc.h"
#include "executor/spi.h"

#include "durable.h"

static SPIPlanPtr
kept_plan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes, int cursor_options)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	fresh = SPI_prepare_cursor(sql, nargs, argtypes, cursor_options);

		if (fresh == NULL)
			elog(ERROR, "could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
		SPI_keepplan(fresh);
		*plan = fresh;
	}
	return *plan;
}

/*
 * *plan, prepared from sql the first time (inside SPI_connect). PostgreSQL
 * plans it again by itself when what it reads changes.
 */
SPIPlanPtr
DurableKeptPlan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes)
{
	return kept_plan(plan, sql, nargs, argtypes, 0);
}

/*
 * The same, always run with its generic plan: for a statement whose custom
 * plans cost more to make than they save, where plancache would go on
 * choosing them (_eager_take's, eager.c).
 */
SPIPlanPtr
DurableKeptGenericPlan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes)
{
	return kept_plan(plan, sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);
}

/*
 * The statement a direct read or write of durable's tables stands for, run
 * where the direct one may not (row security, rights by column, an
 * operator's trigger...): sql, kept in *plan, run through SPI as the caller
 * with args (nulls as SPI takes them, NULL: none null), to its end (limit
 * 0) or to limit rows. Its own errors are its own. Returns the rows it
 * returned or changed when its result is of the kind expected (SPI_OK_...;
 * 0 for another, as an operator's rule may make it); *first, when asked
 * for, the first column of its first row, copied into the caller's memory
 * (*first_null: none or null).
 */
uint64
DurableRunStatement(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes, Datum *args, const char *nulls,
					bool read_only, long limit, int expected, Datum *first, bool *first_null)
{
	int			rc;
	uint64		processed;

	if (first_null != NULL)
		*first_null = true;
	SPI_connect();
	rc = SPI_execute_plan(DurableKeptPlan(plan, sql, nargs, argtypes), args, nulls, read_only, limit);
	if (rc < 0)
		elog(ERROR, "could not run \"%s\": %s", sql, SPI_result_code_string(rc));
	processed = rc == expected ? SPI_processed : 0;
	if (first != NULL && SPI_tuptable != NULL && processed > 0)
	{
		Form_pg_attribute att = TupleDescAttr(SPI_tuptable->tupdesc, 0);

		*first = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, first_null);
		if (!*first_null)
			*first = SPI_datumTransfer(*first, att->attbyval, att->attlen);
	}
	SPI_finish();
	return processed;
}
