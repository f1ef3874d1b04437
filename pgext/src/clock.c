/*
 * clock.c: the one clock every durable timestamp comes from.
 *
 * durable.now() is the wall clock plus an offset kept in shared memory, so
 * that a test can skip 30 days and every backend and the timer worker see
 * the same new time at once. The offset only grows, and it survives a
 * restart in the file durable_clock_offset in the data directory: going back
 * to the wall clock would be a skip backwards, leaving every deadline
 * written while time was skipped stranded in the future (a workflow task
 * leased with a 10 s timeout would wait out the whole skip).
 */
#include "postgres.h"

#include <unistd.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "durable.h"

/* relative to the data directory, which is every server process's cwd */
#define CLOCK_OFFSET_FILE "durable_clock_offset"
#define CLOCK_OFFSET_TMP CLOCK_OFFSET_FILE ".tmp"

PG_FUNCTION_INFO_V1(durable_now);
PG_FUNCTION_INFO_V1(durable_skip_time);
PG_FUNCTION_INFO_V1(durable_clock_offset);

/*
 * The offset saved by the last skip_time, or 0. Called by the postmaster
 * when it creates shared memory (start and crash restart). A file that
 * cannot be read is reported and ignored: a test clock is not worth refusing
 * to start for.
 */
int64
DurableLoadClockOffset(void)
{
	FILE	   *file;
	long long	offset = 0;

	file = AllocateFile(CLOCK_OFFSET_FILE, "r");
	if (file == NULL)
	{
		if (errno != ENOENT)
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", CLOCK_OFFSET_FILE)));
		return 0;
	}
	if (fscanf(file, "%lld", &offset) != 1 || offset < 0)
	{
		ereport(LOG,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ignoring malformed file \"%s\"", CLOCK_OFFSET_FILE),
				 errdetail("It should hold the clock offset in microseconds, a non-negative integer.")));
		offset = 0;
	}
	FreeFile(file);
	if (offset != 0)
		ereport(LOG,
				(errmsg("durable clock is %lld microseconds ahead of the wall clock (skip_time)", offset)));
	return (int64) offset;
}

/* Writes the offset (the caller holds clock_lock): tmp file, then rename. */
static void
save_clock_offset(int64 offset)
{
	FILE	   *file;

	file = AllocateFile(CLOCK_OFFSET_TMP, PG_BINARY_W);
	if (file == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", CLOCK_OFFSET_TMP)));
	if (fprintf(file, "%lld\n", (long long) offset) < 0 || FreeFile(file) != 0)
	{
		int			save_errno = errno;

		unlink(CLOCK_OFFSET_TMP);
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", CLOCK_OFFSET_TMP)));
	}
	(void) durable_rename(CLOCK_OFFSET_TMP, CLOCK_OFFSET_FILE, ERROR);
}

TimestampTz
DurableNow(void)
{
	int64		offset = (int64) pg_atomic_read_u64(&durable_shared->clock_offset_us);

	return GetCurrentTimestamp() + offset;
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

	result->time = (int64) pg_atomic_read_u64(&durable_shared->clock_offset_us);
	PG_RETURN_INTERVAL_P(result);
}

Datum
durable_skip_time(PG_FUNCTION_ARGS)
{
	Interval   *by = PG_GETARG_INTERVAL_P(0);
	int64		delta;

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

	/* saved before it takes effect, so that a crash cannot rewind a skip */
	LWLockAcquire(durable_shared->clock_lock, LW_EXCLUSIVE);
	save_clock_offset((int64) pg_atomic_read_u64(&durable_shared->clock_offset_us) + delta);
	pg_atomic_fetch_add_u64(&durable_shared->clock_offset_us, (uint64) delta);
	LWLockRelease(durable_shared->clock_lock);
	DurableWakeTimerWorker();
	PG_RETURN_TIMESTAMPTZ(DurableNow());
}
