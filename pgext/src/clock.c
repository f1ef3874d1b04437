/*
 * clock.c: the one clock every durable timestamp comes from.
 *
 * durable.now() is the wall clock plus an offset kept in shared memory, so
 * that a test can skip 30 days and every backend and the timer worker see
 * the same new time at once. The offset only grows and is not persisted:
 * skipping time is a test facility, and a restart returns to the wall clock.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_now);
PG_FUNCTION_INFO_V1(durable_skip_time);
PG_FUNCTION_INFO_V1(durable_clock_offset);

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

	pg_atomic_fetch_add_u64(&durable_shared->clock_offset_us, (uint64) delta);
	DurableWakeTimerWorker();
	PG_RETURN_TIMESTAMPTZ(DurableNow());
}
