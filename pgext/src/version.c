/*
 * version.c: which version of durable's SQL is installed, for a library
 * that must not run SQL it was not built with.
 *
 * Between installing a new release (the library) and ALTER EXTENSION durable
 * UPDATE (the SQL), the old SQL calls the new library. What cannot work on
 * the old SQL refuses with the operator's next step, once, clearly.
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

#include "durable.h"

/*
 * extversion of durable in this database, palloc'd in the caller's context,
 * or NULL when it is not installed. Needs a transaction.
 */
char *
DurableInstalledVersion(void)
{
	MemoryContext caller = CurrentMemoryContext;
	bool		pushed = false;
	char	   *version = NULL;
	static SPIPlanPtr plan = NULL;	/* the timer workers ask at every tick */

	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	SPI_connect();
	if (SPI_execute_plan(DurableKeptPlan(&plan, "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'durable'", 0, NULL),
						 NULL, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_extension");
	if (SPI_processed == 1)
	{
		char	   *found = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (found != NULL)
			version = MemoryContextStrdup(caller, found);
	}
	SPI_finish();
	if (pushed)
		PopActiveSnapshot();
	return version;
}

/* Errors out: `what` needs the SQL of this library's version. */
void
DurableRefuseOldSql(const char *what)
{
	char	   *installed = DurableInstalledVersion();

	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("durable %s is installed but the library is %s: run ALTER EXTENSION durable UPDATE",
					installed ? installed : "(none)", DURABLE_SQL_VERSION),
			 errdetail("%s needs the SQL of durable %s.", what, DURABLE_SQL_VERSION),
			 errhint("Run ALTER EXTENSION durable UPDATE in database \"%s\" (see docs/operations.md, \"Upgrading\").",
					 durable_database)));
}

/*
 * The store's tables differ from the schema this library reads directly
 * (an index or column dropped, renamed or rebuilt by hand). Refused with
 * what differs, rather than read wrongly or reported as an internal error.
 */
void
DurableRefuseChangedSchema(const char *object, const char *problem)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("durable's %s %s", object, problem),
			 errdetail("durable reads this object directly and needs it as its schema defines it."),
			 errhint("Recreate it as durable's install script (durable--%s.sql) defines it, "
					 "or reinstall the extension in a copy of the store and compare.", DURABLE_SQL_VERSION)));
}
