/*
 * prepare.c: a burst of timers due at one instant, prepared ahead of it.
 *
 * Firing a timer is mostly reading and locking: its run, the run's last event
 * id, queue and priority. For ten thousand timers due at once that was most of
 * the ~0.2 s by which the last ones were late. So a timer worker that sees a
 * burst coming wakes a little before the instant and calls
 * durable._fire_timers_prepared (api/08_timers.sql): in one transaction it
 * locks and reads the burst and deletes its timer rows before the instant,
 * waits for it, then writes the events (stamped with the time they are
 * written) and the tasks, and commits. Nothing fires early, and nothing is
 * visible before the commit.
 *
 * How far ahead: the time this worker took per timer to prepare the last
 * bursts, times the timers it will take, with a margin, at most
 * durable.timer_lead. The runs stay locked from the preparation to the
 * commit, so the lead is kept as short as the burst allows: a single timer
 * is prepared about 5 ms ahead.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "durable.h"

/*
 * Timers due within a window after the first one are one burst, prepared
 * together: each TimerFired is written when its timer is due, and all
 * commit once the last has fired. (Ten thousand timers started for one
 * instant are due over a few milliseconds, tens on a loaded machine: each
 * was started at its own now.) The window is about what writing the burst
 * takes anyway (its share times the time per timer below), 1 ms to
 * BURST_WINDOW_US: waiting for a straggler then hardly delays the commit,
 * and a single timer never waits for one due 20 ms after it.
 */
#define BURST_WINDOW_US 25000
#define MIN_WINDOW_US 1000
/* what is added to the estimate: the call, and a wake-up late on a busy machine */
#define LEAD_MARGIN_US 5000
/* bursts smaller than this say little about the time per timer */
#define MIN_SAMPLE 100

int			durable_timer_lead_ms = 500;

/*
 * Microseconds this worker took to prepare one timer, recently. It starts
 * high (a fresh worker's first burst also fills its caches; 5,000 timers
 * took ~60 us each on a loaded machine, ~15 on a quiet one), follows a
 * slower burst at once and a faster one slowly: starting early costs a
 * little idle waiting, starting late costs lateness.
 */
static double prepare_us_per_timer = 80.0;

void
DurableTimerPrepareDefineGucs(void)
{
	DefineCustomIntVariable("durable.timer_lead",
							"Longest a timer worker starts ahead of a burst of timers due at one instant, to prepare it.",
							"It locks the burst's runs and reads what firing needs before the instant, then writes at the instant. 0: no timer is prepared ahead.",
							&durable_timer_lead_ms,
							500, 0, 10000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
}

/*
 * This worker's part of the burst of timers due by next_due: the timer
 * workers split it evenly, each at most durable.tick_batch (the rest fires
 * the usual way). Called by a tick, in its transaction, connected to SPI; 0
 * when nothing is prepared ahead, as for a deadline already due (a backlog
 * drains the usual way: no count of it per tick). DURABLE_BURST_LATER when
 * next_due is further ahead than any preparation starts: a store of
 * sleeping workflows has its next timers days ahead, and counting their
 * burst (up to tick_batch * timer_workers index entries, a SQL function's
 * body planned again at each call) was 0.2-0.3 ms of every tick with a
 * million asleep, for a count nothing used before the look that
 * DurableBurstCountAt asks for.
 */
int
DurableBurstSize(TimestampTz next_due)
{
	static SPIPlanPtr plan = NULL;	/* asked near each burst */
	Oid			argtypes[2] = {TIMESTAMPTZOID, INT4OID};
	Datum		args[2];
	bool		isnull;
	Datum		n;
	TimestampTz now = DurableNow();

	if (durable_timer_lead_ms == 0 || next_due == 0 || next_due <= now)
		return 0;
	if (next_due - now > (TimestampTz) durable_timer_lead_ms * 1000)
		return DURABLE_BURST_LATER;
	args[0] = TimestampTzGetDatum(next_due + BURST_WINDOW_US);
	args[1] = Int32GetDatum(durable_tick_batch * durable_timer_workers);
	if (SPI_execute_plan(DurableKeptPlan(&plan, "SELECT durable._timers_due_by($1, $2)", 2, argtypes),
						 args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "durable._timers_due_by failed");
	n = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return 0;
	return Min((DatumGetInt32(n) + durable_timer_workers - 1) / durable_timer_workers, durable_tick_batch);
}

/*
 * When a worker whose tick left the burst due at next_due uncounted
 * (DURABLE_BURST_LATER) looks again, to count it: the earliest any
 * preparation of it starts (DurablePrepareStart's lead is at most
 * durable.timer_lead).
 */
TimestampTz
DurableBurstCountAt(TimestampTz next_due)
{
	return next_due - (TimestampTz) durable_timer_lead_ms * 1000;
}

/*
 * When to start preparing a burst of `burst` timers due at next_due (0:
 * not ahead of it, fire it when due).
 */
TimestampTz
DurablePrepareStart(TimestampTz next_due, int burst)
{
	double		lead_us;

	if (durable_timer_lead_ms == 0 || burst <= 0 || next_due == 0)
		return 0;
	lead_us = burst * prepare_us_per_timer * 1.5 + LEAD_MARGIN_US;
	lead_us = Min(lead_us, durable_timer_lead_ms * 1000.0);
	return next_due - (TimestampTz) lead_us;
}

/*
 * One transaction: prepare worker `me`'s part (`part` timers) of the burst
 * due at `due`, fire it at its instant.
 * Returns how many fired, or -1 when it failed with an error that fire_due
 * isolates and parks (then nothing was done, and the caller fires the burst
 * the usual way when it is due).
 */
int
DurablePreparedRound(int me, TimestampTz due, int part)
{
	Oid			argtypes[3] = {TIMESTAMPTZOID, INT4OID, BOOLOID};
	Datum		args[3];
	bool		isnull;
	int			fired;
	TimestampTz started = GetCurrentTimestamp();
	TimestampTz prepared_at;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "durable timer worker: firing a prepared burst of timers");

	args[0] = TimestampTzGetDatum(due + (TimestampTz) Max(MIN_WINDOW_US,
															 Min(BURST_WINDOW_US, part * prepare_us_per_timer)));
	args[1] = Int32GetDatum(part);
	args[2] = BoolGetDatum(me % 2 == 1);	/* odd workers take the burst from its end */
	if (SPI_execute_with_args("SELECT fired, prepared_at, failure FROM durable._fire_timers_prepared($1, $2, $3)",
							  3, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "durable._fire_timers_prepared failed");
	fired = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull)
		fired = 0;
	prepared_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (isnull)
		prepared_at = started;
	if (fired < 0)
		ereport(LOG,
				(errmsg("durable timer worker %d: the timers due at %s could not be fired as prepared: %s",
						me, timestamptz_to_str(due), SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3)),
				 errdetail("Nothing of the burst was written; it is fired when due, where the timer at fault is parked.")));

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(true);
	pgstat_report_activity(STATE_IDLE, NULL);

	/* learn from bursts large enough to say something */
	if (fired >= MIN_SAMPLE && prepared_at > started)
	{
		double		took = (double) (prepared_at - started) / fired;

		prepare_us_per_timer = took > prepare_us_per_timer ? took
			: 0.8 * prepare_us_per_timer + 0.2 * took;
	}
	return fired;
}
