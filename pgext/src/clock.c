/*
 * clock.c: the one clock every durable timestamp comes from.
 *
 * durable.now() is the wall clock plus an offset, so that a test can skip 30
 * days and every backend and the timer workers see the same new time. The
 * offset only grows: going back would leave every deadline written while time
 * was skipped stranded in the future.
 *
 * The offset is a row of durable.clock (no row: no skip). Being data, it is
 * WAL-logged: it survives a crash, reaches streaming standbys and is kept by
 * pg_dump and base backups, so a promoted standby or a restored backup does
 * not send the store back in time. Each transaction reads it once and keeps
 * it; a skip becomes visible to others when it commits, and the timer workers
 * are woken then.
 *
 * 0.1 kept the offset in the file durable_clock_offset in the data directory.
 * While 0.1's SQL is still installed (no durable.clock yet), that file's
 * offset, loaded at server start, keeps durable.now() where it was until
 * ALTER EXTENSION durable UPDATE carries it into the table.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "durable.h"

/* 0.1's file, relative to the data directory (every server process's cwd) */
#define LEGACY_CLOCK_OFFSET_FILE "durable_clock_offset"

PG_FUNCTION_INFO_V1(durable_now);
PG_FUNCTION_INFO_V1(durable_skip_time);
PG_FUNCTION_INFO_V1(durable_clock_offset);

/* the offset this backend last read, and the transaction it was read in */
static int64 known_offset = -1;
static LocalTransactionId known_offset_lxid = InvalidLocalTransactionId;

/*
 * The offset 0.1 saved in its file, or 0. Called by the postmaster when it
 * creates shared memory; used only while 0.1's SQL is installed. A file that
 * cannot be read is reported and ignored: a test clock is not worth refusing
 * to start for.
 */
int64
DurableLoadLegacyClockOffset(void)
{
	FILE	   *file;
	long long	offset = 0;

	file = AllocateFile(LEGACY_CLOCK_OFFSET_FILE, "r");
	if (file == NULL)
	{
		if (errno != ENOENT)
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", LEGACY_CLOCK_OFFSET_FILE)));
		return 0;
	}
	if (fscanf(file, "%lld", &offset) != 1 || offset < 0)
	{
		ereport(LOG,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ignoring malformed file \"%s\"", LEGACY_CLOCK_OFFSET_FILE),
				 errdetail("It should hold the clock offset in microseconds, a non-negative integer.")));
		offset = 0;
	}
	FreeFile(file);
	return (int64) offset;
}

/* durable.clock's oid, or InvalidOid while 0.1's SQL (or none) is installed */
static Oid
clock_table(void)
{
	Oid			schema = get_namespace_oid("durable", true);

	return OidIsValid(schema) ? get_relname_relid("clock", schema) : InvalidOid;
}

/* Reads durable.clock in the current transaction. */
static int64
read_clock_table(void)
{
	static SPIPlanPtr plan = NULL;
	bool		pushed = false;
	int64		offset = 0;

	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	SPI_connect();
	if (plan == NULL)
	{
		SPIPlanPtr	fresh = SPI_prepare("SELECT offset_us FROM durable.clock WHERE clock = 'server'", 0, NULL);

		if (fresh == NULL)
			elog(ERROR, "could not prepare the read of durable.clock: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(fresh);
		plan = fresh;
	}
	if (SPI_execute_plan(plan, NULL, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read durable.clock");
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		offset = isnull ? 0 : DatumGetInt64(value);
	}
	SPI_finish();
	if (pushed)
		PopActiveSnapshot();
	return offset;
}

/*
 * The offset in effect for this transaction. Outside a transaction (the timer
 * worker between ticks) the one its last transaction saw.
 */
static int64
clock_offset(void)
{
	if (IsTransactionState() && MyProc != NULL && known_offset_lxid != MyProc->lxid)
	{
		if (OidIsValid(clock_table()))
			known_offset = read_clock_table();
		else
			known_offset = (int64) pg_atomic_read_u64(&durable_shared->legacy_clock_offset_us);
		known_offset_lxid = MyProc->lxid;
	}
	if (known_offset < 0)
		return (int64) pg_atomic_read_u64(&durable_shared->legacy_clock_offset_us);
	return known_offset;
}

TimestampTz
DurableNow(void)
{
	return GetCurrentTimestamp() + clock_offset();
}

Datum
durable_now(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(DurableNow());
}

Datum
durable_clock_offset(PG_FUNCTION_ARGS)
{
	Interval   *result = palloc0(sizeof(Interval));

	result->time = clock_offset();
	PG_RETURN_INTERVAL_P(result);
}

Datum
durable_skip_time(PG_FUNCTION_ARGS)
{
	Interval   *by = PG_GETARG_INTERVAL_P(0);
	int64		delta;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1];
	bool		isnull;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to skip time"),
				 errdetail("Skipping time changes the clock of every workflow on this server."),
				 errhint("Only superusers may call durable.skip_time, and only in tests.")));

	if (by->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot skip time by a number of months"),
				 errhint("Use days, e.g. durable.skip_time('30 days').")));

	delta = by->time + (int64) by->day * USECS_PER_DAY;
	if (delta < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot skip time backwards"),
				 errdetail("Deadlines already fired would fire again out of order."),
				 errhint("Pass a positive interval.")));

	if (!OidIsValid(clock_table()))
		DurableRefuseOldSql("durable.skip_time");

	/* the row lock serializes concurrent skips; each adds its own delta */
	args[0] = Int64GetDatum(delta);
	SPI_connect();
	if (SPI_execute_with_args("INSERT INTO durable.clock AS c (clock, offset_us, skipped_at) "
							  "VALUES ('server', $1, pg_catalog.clock_timestamp()) "
							  "ON CONFLICT (clock) DO UPDATE "
							  "SET offset_us = c.offset_us + EXCLUDED.offset_us, skipped_at = EXCLUDED.skipped_at "
							  "RETURNING offset_us",
							  1, argtypes, args, NULL, false, 1) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not update durable.clock");
	known_offset = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	known_offset_lxid = MyProc->lxid;
	SPI_finish();

	/* the workers see the new time once this commits: wake them then */
	DurableWakeTimerWorkersAtCommit();
	PG_RETURN_TIMESTAMPTZ(DurableNow());
}
