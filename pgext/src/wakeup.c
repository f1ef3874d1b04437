/*
 * wakeup.c: wake the timer worker when a commit adds an earlier deadline.
 *
 * SQL functions that create a timer, a lease or a retry call
 * durable._wake_at(deadline). The earliest such deadline of the transaction
 * is remembered here and compared, once the transaction has committed, with
 * the time the timer worker sleeps until; only then is its latch set. Waking
 * before commit would let the worker look before the new row is visible.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/timestamp.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_wake_at);

static TimestampTz earliest_in_xact = PG_INT64_MAX;

/*
 * Wakes every running timer worker that sleeps past `deadline`
 * (PG_INT64_MIN: every running one). Slots without a worker are skipped:
 * their next_wake never moves, and counting it made every commit that
 * carried any deadline wake the workers. Before the latch, the deadline
 * goes into the worker's woken_for (the earliest since its tick began): a
 * worker woken during a tick, when its next_wake is infinity, reads it to
 * tell a deadline earlier than the one its tick found from the leases and
 * timers committed meanwhile, which need no second tick.
 */
static void
wake_timer_workers_before(TimestampTz deadline)
{
	for (int i = 0; i < DURABLE_MAX_TIMER_WORKERS; i++)
	{
		uint32		procno_plus_one = pg_atomic_read_u32(&durable_shared->timer_worker_procno[i]);

		if (procno_plus_one != 0 &&
			deadline < (TimestampTz) pg_atomic_read_u64(&durable_shared->next_wake[i]))
		{
			pg_atomic_uint64 *woken_for = &durable_shared->woken_for[i];
			uint64		earliest = pg_atomic_read_u64(woken_for);

			/* (a failed exchange reads the current value into earliest) */
			while (deadline < (TimestampTz) earliest &&
				   !pg_atomic_compare_exchange_u64(woken_for, &earliest, (uint64) deadline))
				;
			SetLatch(&ProcGlobal->allProcs[procno_plus_one - 1].procLatch);
		}
	}
}

/* Every running timer worker is woken when this transaction commits. */
void
DurableWakeTimerWorkersAtCommit(void)
{
	earliest_in_xact = PG_INT64_MIN;
}

static void
durable_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (earliest_in_xact != PG_INT64_MAX)
				wake_timer_workers_before(earliest_in_xact);
			earliest_in_xact = PG_INT64_MAX;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			earliest_in_xact = PG_INT64_MAX;
			break;
		default:
			break;
	}
}

void
DurableWakeupInit(void)
{
	RegisterXactCallback(durable_xact_callback, NULL);
}

Datum
durable_wake_at(PG_FUNCTION_ARGS)
{
	TimestampTz deadline;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	deadline = PG_GETARG_TIMESTAMPTZ(0);
	if (deadline < earliest_in_xact)
		earliest_in_xact = deadline;
	PG_RETURN_TIMESTAMPTZ(deadline);
}
