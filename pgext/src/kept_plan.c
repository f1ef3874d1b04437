/*
 * kept_plan.c: a statement prepared once per backend and kept, for the C
 * functions that run one statement per call (history_append.c,
 * history_json.c, clock.c) and the timer workers' statements of every tick
 * (bgworker.c, prepare.c, version.c).
 */
#include "postgres.h"

#include "executor/spi.h"

#include "durable.h"

/*
 * *plan, prepared from sql the first time (inside SPI_connect). PostgreSQL
 * plans it again by itself when what it reads changes.
 */
SPIPlanPtr
DurableKeptPlan(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	fresh = SPI_prepare(sql, nargs, argtypes);

		if (fresh == NULL)
			elog(ERROR, "could not prepare \"%s\": %s", sql, SPI_result_code_string(SPI_result));
		SPI_keepplan(fresh);
		*plan = fresh;
	}
	return *plan;
}
