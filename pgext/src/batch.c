/*
 * batch.c: the timer worker's steps of batch jobs (signal, cancel, terminate,
 * reset, pause or unpause every workflow a list filter matched).
 *
 * Timer worker 0 calls DurableBatchStep() between firing rounds. A step is
 * one transaction running durable._batch_step(durable.batch_step_items): it
 * applies the operation to the next few pending workflows of the job that is
 * due, records each outcome, and moves the job's next step as far ahead as
 * its rate limit asks. The operations, their outcomes and the job's progress
 * commit together, so a crash in the middle of a step undoes all of it, and
 * the step is taken again after the restart: nothing is done twice, nothing
 * is skipped.
 *
 * _batch_step returns when the next step is due; with no job running, the
 * worker looks again once a second (a new job waits at most that long).
 * A step that fails is logged and retried after a pause: it never takes the
 * timer loop down.
 */
#include "postgres.h"

#include <limits.h>

#include "access/xlog.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "durable.h"

#define BATCH_IDLE_RECHECK_MS 1000
#define BATCH_FAILURE_WAIT_MS 5000

int			durable_batch_step_items = 100;

/* DurableNow() time of the next step; 0: look at once */
static TimestampTz next_step_at = 0;

void
DurableBatchDefineGucs(void)
{
	DefineCustomIntVariable("durable.batch_step_items",
							"Most workflows one step of a batch job acts on, in one transaction.",
							"Each job's own rate_per_second decides how often its steps come; 0 pauses every batch job.",
							&durable_batch_step_items,
							100, 0, 10000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);
}

/*
 * One transaction: durable._batch_step(items). Sets next_step_at from its
 * answer (no job: a second from now; a failed step: five seconds).
 */
static void
step_once(int items)
{
	Datum		next;
	bool		isnull;

	if (!DurableStep("SELECT durable._batch_step($1)", items, false,
					 "durable timer worker: a step of a batch job", &next, &isnull))
	{
		ereport(LOG,
				(errmsg("durable timer worker: a step of a batch job failed; it is retried in %d ms",
						BATCH_FAILURE_WAIT_MS),
				 errdetail("Timers keep firing: only batch jobs wait.")));
		next_step_at = DurableNow() + (TimestampTz) BATCH_FAILURE_WAIT_MS * 1000;
	}
	else
		next_step_at = isnull ? DurableNow() + (TimestampTz) BATCH_IDLE_RECHECK_MS * 1000
			: DatumGetTimestampTz(next);
}

/* Takes a step if one is due. Returns true when another is due at once. */
bool
DurableBatchStep(void)
{
	int			items = durable_batch_step_items;

	if (items == 0 || RecoveryInProgress() || DurableNow() < next_step_at)
		return false;
	step_once(items);
	return next_step_at <= DurableNow();
}

long
DurableBatchWaitMs(void)
{
	TimestampTz now = DurableNow();

	if (durable_batch_step_items == 0)
		return LONG_MAX;
	if (next_step_at <= now)
		return 0;
	return (long) ((next_step_at - now + 999) / 1000);
}
