/*
 * purge.c: the timer worker's purge of runs closed longer than their
 * namespace's retention.
 *
 * Timer worker 0 calls DurablePurgeStep() between firing rounds. A step is
 * one transaction running durable._purge_closed(durable.purge_batch), and is
 * taken only when no deadline is due before the last step's duration has
 * passed, so a purge never holds up a timer that this worker should fire
 * (the other timer workers keep firing meanwhile). After a full batch the
 * purge rests durable.purge_delay, as VACUUM rests between cost units, so that
 * a backlog of a million does not take the disk and the WAL from everyone
 * else; after a partial one the backlog is empty and it rests
 * durable.purge_interval. It rests on the worker's latch: deadlines still
 * wake the worker meanwhile.
 *
 * A purge that fails (a bug, a lock timeout) is logged and retried after the
 * nap: it must never take the timer loop down with it.
 */
#include "postgres.h"

#include <limits.h>

#include "access/xlog.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "durable.h"

int			durable_purge_batch = 500;
int			durable_purge_interval_ms = 60000;
int			durable_purge_delay_ms = 50;

/* wall-clock time of the next step; 0: at once */
static TimestampTz next_purge_at = 0;
/* how long the last step took: no step starts that close to a deadline */
static TimestampTz last_step_us = 0;

void
DurablePurgeDefineGucs(void)
{
	DefineCustomIntVariable("durable.purge_batch",
							"Most closed runs the timer worker purges in one transaction.",
							"0 turns the purge off. Runs are purged once closed longer than their namespace's retention.",
							&durable_purge_batch,
							500, 0, 100000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("durable.purge_delay",
							"How long the purge rests between two full batches.",
							"It leaves the disk and the WAL to everything else while a large backlog is purged; 0 purges without rest.",
							&durable_purge_delay_ms,
							50, 0, 60000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("durable.purge_interval",
							"How long the purge rests once it found nothing more to delete.",
							NULL,
							&durable_purge_interval_ms,
							60000, 10, 24 * 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
}

/*
 * One transaction: durable._purge_closed(batch). Returns the runs it took
 * from the backlog, or -1 when the step failed. The caller steps only when
 * the firing round found this library's SQL installed (sql_is_current in
 * bgworker.c), which has _purge_closed: no need to look it up again.
 */
static int
purge_once(int batch)
{
	Datum		purged;
	bool		isnull;

	/*
	 * A purge lost in a crash is purged again, so its commit need not wait
	 * for the WAL flush, and client commits do not queue behind a flush of
	 * ours.
	 */
	if (DurableStep("SELECT durable._purge_closed($1)", batch, true,
					"durable timer worker: purging closed workflows", &purged, &isnull))
		return isnull ? 0 : DatumGetInt32(purged);
	ereport(LOG,
			(errmsg("durable timer worker: the purge of closed workflows failed; it is retried in %d ms",
					durable_purge_interval_ms),
			 errdetail("Timers keep firing: only the purge waits.")));
	return -1;
}

bool
DurablePurgeStep(TimestampTz next_due)
{
	TimestampTz started;
	int			batch = durable_purge_batch;
	int			purged;

	if (batch == 0 || RecoveryInProgress())
		return false;
	started = GetCurrentTimestamp();
	if (started < next_purge_at)
		return false;
	/* a deadline due, or due before a step like the last one would end: fire first */
	if (next_due != 0 && next_due <= DurableNow() + last_step_us)
		return false;

	purged = purge_once(batch);

	last_step_us = GetCurrentTimestamp() - started;
	if (purged >= batch && durable_purge_delay_ms == 0)
		return true;
	next_purge_at = GetCurrentTimestamp() +
		(TimestampTz) (purged >= batch ? durable_purge_delay_ms : durable_purge_interval_ms) * 1000;
	return false;
}

long
DurablePurgeWaitMs(void)
{
	TimestampTz now;

	now = GetCurrentTimestamp();
	/* a step held back by a deadline runs after it: that wake-up is enough */
	if (durable_purge_batch == 0 || next_purge_at <= now)
		return LONG_MAX;
	return (long) ((next_purge_at - now + 999) / 1000);
}
