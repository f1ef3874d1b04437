/*
 * bgworker.c: the timer worker, which fires timers, timeouts and retries.
 *
 * It runs durable._tick() (fire_due()'s work, and next_due()'s answer read
 * with it) in batches, one transaction each, then sleeps on its latch until
 * the next deadline that returns. Commits that add an
 * earlier deadline set the latch (wakeup.c), and so does durable.skip_time().
 * durable.timer_workers of them run this loop and split a burst of due
 * deadlines between them (SKIP LOCKED), one core each.
 * While it works it advertises next_wake = infinity, so that every deadline
 * committed meanwhile wakes it again instead of being missed.
 * A burst of timers due at one instant is prepared ahead of it (prepare.c):
 * the worker wakes that much earlier and fires the burst in one round.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "durable.h"

void
DurableRegisterTimerWorker(void)
{
	for (int i = 0; i < durable_timer_workers; i++)
	{
		BackgroundWorker worker;

		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
		worker.bgw_restart_time = 1;
		worker.bgw_main_arg = Int32GetDatum(i);
		snprintf(worker.bgw_library_name, BGW_MAXLEN, "durable");
		snprintf(worker.bgw_function_name, BGW_MAXLEN, "durable_timer_worker_main");
		snprintf(worker.bgw_name, BGW_MAXLEN, "durable timer worker %d", i);
		snprintf(worker.bgw_type, BGW_MAXLEN, "durable timer worker");
		RegisterBackgroundWorker(&worker);
	}
}

static void
forget_timer_worker(int code, Datum arg)
{
	pg_atomic_write_u32(&durable_shared->timer_worker_procno[DatumGetInt32(arg)], 0);
}

/*
 * Is the SQL installed the one this library fires deadlines with? The old
 * SQL of a release not yet upgraded is left alone: the workers wait, and the
 * first of them says once why (again after it changed).
 */
static bool
sql_is_current(int me)
{
	static char last_logged[64] = "";
	char	   *installed = DurableInstalledVersion();

	if (installed == NULL)
		return false;
	if (strcmp(installed, DURABLE_SQL_VERSION) == 0)
	{
		last_logged[0] = '\0';
		return true;
	}
	if (me == 0 && strcmp(last_logged, installed) != 0)
	{
		ereport(LOG,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("durable %s is installed but the library is %s: run ALTER EXTENSION durable UPDATE",
						installed, DURABLE_SQL_VERSION),
				 errdetail("The timer workers fire no timer or timeout until the update."),
				 errhint("Run ALTER EXTENSION durable UPDATE in database \"%s\" (see docs/operations.md, \"Upgrading\").",
						 durable_database)));
		strlcpy(last_logged, installed, sizeof(last_logged));
	}
	return false;
}

/* the extension a tick_once began under (InvalidOid: none) */
static Oid	tick_extension = InvalidOid;

/*
 * One transaction: fire up to durable.tick_batch due deadlines and find the
 * next one. Returns how many fired.
 */
static int
tick_once(int me, TimestampTz *next_due, int *burst, bool *installed)
{
	int			fired = 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	tick_extension = get_extension_oid("durable", true);
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "durable timer worker: firing due deadlines");

	*next_due = 0;
	*burst = 0;
	*installed = false;
	if (sql_is_current(me))
	{
		/*
		 * prepared once per worker: planning it took longer than running it.
		 * One call fires what is due and says when the next deadline is, from
		 * one read of each kind's (api/08_timers.sql, _tick).
		 */
		static SPIPlanPtr tick_plan = NULL;
		Oid			argtypes[1] = {INT4OID};
		Datum		args[1] = {Int32GetDatum(durable_tick_batch)};
		bool		isnull;

		*installed = true;
		if (SPI_execute_plan(DurableKeptPlan(&tick_plan, "SELECT t.fired, t.next_due FROM durable._tick($1) t",
											 1, argtypes),
							 args, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "durable._tick failed");
		fired = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (isnull)
			fired = 0;
		*next_due = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		if (isnull)
			*next_due = 0;
		/*
		 * The burst is counted in a snapshot that sees what _tick fired (the
		 * tick's own, taken before it, would count those timers again)
		 */
		PopActiveSnapshot();
		PushActiveSnapshot(GetTransactionSnapshot());
		*burst = DurableBurstSize(*next_due);
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(true);
	pgstat_report_activity(STATE_IDLE, NULL);
	return fired;
}

/*
 * A standby, a primary being demoted (Patroni sets default_transaction_read_only
 * before it stops one) or an operator's read-only switch: nothing can be
 * fired, so the workers wait, saying so once when it starts and once when it
 * ends, instead of failing every pass. (In recovery the workers do not even
 * start: they are registered for BgWorkerStart_RecoveryFinished.)
 */
static bool
server_is_read_only(int me)
{
	static bool was_read_only = false;
	bool		read_only = RecoveryInProgress() || DefaultXactReadOnly;

	if (read_only != was_read_only)
		ereport(LOG,
				(errmsg(read_only ? "durable timer worker %d: the server is read-only, waiting"
						: "durable timer worker %d: the server is writable again, firing deadlines", me),
				 read_only ? errdetail("%s", RecoveryInProgress() ? "The server is in recovery (a standby)."
									   : "default_transaction_read_only is on.") : 0));
	was_read_only = read_only;
	return read_only;
}

/*
 * Was the extension a tick began under dropped since (DROP EXTENSION, perhaps
 * CREATE again)? A tick that read the catalog before the drop committed and
 * the store after it fails on a relation that no longer exists ("durable.clock
 * does not exist"): not a failure to report, the workers wait for the SQL as
 * when none is installed (tests/timer_plans). Called after the abort.
 */
static bool
extension_dropped_since(Oid ticked_under)
{
	Oid			now;

	if (!OidIsValid(ticked_under))
		return false;
	StartTransactionCommand();
	now = get_extension_oid("durable", true);
	CommitTransactionCommand();
	return now != ticked_under;
}

/*
 * tick_once (or a prepared round, for prepared_due), with its errors caught:
 * an error fire_due raises is one that parking could not absorb (a
 * deadlock, a full disk, a read-only transaction), so it is logged, the transaction rolled back, and the caller
 * waits before the next pass (failures in a row double the wait, up to a
 * minute) instead of the worker exiting and being restarted into the same
 * error every second.
 */
static bool
tick_guarded(int me, TimestampTz prepared_due, int prepared_part,
			 TimestampTz *next_due, int *burst, bool *installed, int *fired)
{
	MemoryContext context = CurrentMemoryContext;
	volatile bool ok = true;

	PG_TRY();
	{
		if (prepared_due != 0)
			*fired = DurablePreparedRound(me, prepared_due, prepared_part);
		else
			*fired = tick_once(me, next_due, burst, installed);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(context);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		pgstat_report_activity(STATE_IDLE, NULL);
		if (edata->sqlerrcode == ERRCODE_READ_ONLY_SQL_TRANSACTION)
			(void) server_is_read_only(me);
		else if (prepared_due == 0 && extension_dropped_since(tick_extension))
			;					/* the next pass waits for it, as for none */
		else
			ereport(LOG,
					(errcode(edata->sqlerrcode),
					 errmsg("durable timer worker %d: firing failed: %s", me, edata->message),
					 edata->detail ? errdetail("%s", edata->detail) : 0,
					 errhint("The worker retries after a pause; parked deadlines are in durable.list_parked().")));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/*
 * A commit that carries a deadline earlier than next_wake sets the latch
 * (wakeup.c), and while a tick runs next_wake is infinity. Every lease's
 * commit carries its timeout (10 s ahead for a workflow task), which is
 * earlier than anything a store of sleeping workflows has pending (their
 * timers, days ahead) and than nothing at all; the task is usually gone
 * before it. Looking at once for such a wake ticked to find nothing due:
 * with nothing pending, 0.06 ticks a one-activity workflow in the store
 * floor; with a million timers pending, every start's and every lease's
 * commit woke both workers for a tick of about a millisecond each, on the
 * cores the dispatch they came from was waiting for. Such a wake only needs
 * the sleep to end earlier, pending deadlines or not: the look near the
 * new deadline plans its burst (prepare.c), as the look at once did. Each
 * waker writes its deadline into woken_for (the earliest since the tick
 * began) before it sets the latch; this resets the latch, then reads it:
 * false when the worker must look now (a deadline due within the burst
 * lead, which a look prepares, a skip of the clock, a reload or a
 * shutdown), else true with the sleep cut to the earliest deadline less the
 * lead, and next_wake lowered to that deadline, so that later deadlines wake
 * no one (one seen meanwhile by the look then). A commit that sets the latch
 * after the reset wakes the sleep again; one that set it before left its
 * deadline where this reads it. A pending deadline is never passed over:
 * the sleep only gets shorter, and next_wake only lower.
 */
static bool
sleep_on(pg_atomic_uint64 *woken_for, pg_atomic_uint64 *next_wake, TimestampTz *sleep_until)
{
	TimestampTz earliest;
	TimestampTz look_at;

	ResetLatch(MyLatch);
	if (ConfigReloadPending || InterruptPending)
		return false;
	earliest = (TimestampTz) pg_atomic_read_u64(woken_for);
	if (earliest == PG_INT64_MAX)
		return true;
	if (earliest == PG_INT64_MIN)
		return false;
	look_at = earliest - (TimestampTz) durable_timer_lead_ms * 1000;
	if (look_at <= DurableNow())
		return false;
	if (earliest < (TimestampTz) pg_atomic_read_u64(next_wake))
		pg_atomic_write_u64(next_wake, (uint64) earliest);
	*sleep_until = Min(*sleep_until, look_at);
	return true;
}

void
durable_timer_worker_main(Datum arg)
{
	long		failure_wait_ms = 0;
	MemoryContext tick_context;
	int			me = DatumGetInt32(arg);
	pg_atomic_uint64 *next_wake = &durable_shared->next_wake[me];
	pg_atomic_uint64 *woken_for = &durable_shared->woken_for[me];
	TimestampTz prepare_for = 0;	/* the burst this sleep ends ahead of */
	int			prepare_part = 0;	/* and this worker's part of it */
	TimestampTz prepare_start = 0;
	TimestampTz prepare_failed = 0; /* a burst fired the usual way */

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(durable_database, NULL, 0);

	pg_atomic_write_u32(&durable_shared->timer_worker_procno[me], MyProc->pgprocno + 1);
	before_shmem_exit(forget_timer_worker, Int32GetDatum(me));

	tick_context = AllocSetContextCreate(TopMemoryContext, "durable timer worker tick",
										 ALLOCSET_DEFAULT_SIZES);
	elog(LOG, "durable timer worker %d started in database \"%s\"", me, durable_database);

	for (;;)
	{
		TimestampTz next_due = 0;
		int			burst = 0;
		bool		installed = false;
		long		wait_ms;
		int			fired = 0;
		bool		ok = true;
		TimestampTz count_at;	/* when next_due's burst is counted, if not yet */
		TimestampTz wake_at;	/* prepare_start, count_at, or else next_due */
		TimestampTz sleep_until;	/* when the sleep ends, if no wake ends it sooner */
		MemoryContext old;
		int			rc;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		/* read after the reload: the round a reload woke uses the new value */
		wait_ms = durable_tick_max_wait_ms;

		if (server_is_read_only(me))
		{
			/* recheck each second: promotion or a reload ends it */
			prepare_for = 0;
			pg_atomic_write_u64(next_wake, (uint64) (PG_INT64_MAX - 1));
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 1000L, PG_WAIT_EXTENSION);
			continue;
		}

		pg_atomic_write_u64(woken_for, (uint64) PG_INT64_MAX);
		pg_atomic_write_u64(next_wake, (uint64) PG_INT64_MAX);
		old = MemoryContextSwitchTo(tick_context);
		if (prepare_for != 0)
		{
			/* the burst's lead time has come: prepare it, fire it when due */
			ok = tick_guarded(me, prepare_for, prepare_part, &next_due, &burst, &installed, &fired);
			if (ok && fired < 0)
				prepare_failed = prepare_for;
			prepare_for = 0;
		}
		/* then whatever else is due, the usual way */
		while (ok && (ok = tick_guarded(me, 0, 0, &next_due, &burst, &installed, &fired)) && fired >= durable_tick_batch)
			CHECK_FOR_INTERRUPTS();
		MemoryContextSwitchTo(old);
		MemoryContextReset(tick_context);
		if (!ok)
		{
			failure_wait_ms = Min(Max(failure_wait_ms * 2, 1000L), 60000L);
			pg_atomic_write_u64(next_wake, (uint64) (PG_INT64_MAX - 1));
			(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, failure_wait_ms, PG_WAIT_EXTENSION);
			continue;
		}
		failure_wait_ms = 0;

		/*
		 * A burst of timers due ahead is prepared from its start time on
		 * (never twice: one whose preparation failed fires when due); one
		 * too far ahead to be counted yet is counted by a look at the
		 * earliest such time.
		 */
		prepare_start = 0;
		count_at = 0;
		if (installed && next_due != 0 && next_due != prepare_failed && next_due > DurableNow())
		{
			if (burst == DURABLE_BURST_LATER)
				count_at = DurableBurstCountAt(next_due);
			else
				prepare_start = DurablePrepareStart(next_due, burst);
		}
		wake_at = prepare_start != 0 ? prepare_start : count_at != 0 ? count_at : next_due;

		/* between rounds: a step of a batch job (batch.c), when one is due */
		if (me == 0 && installed && DurableBatchStep())
			continue;

		/* between rounds, with nothing due: purge closed runs (purge.c) */
		if (me == 0 && installed && DurablePurgeStep(wake_at))
			continue;

		if (installed && next_due != 0)
		{
			TimestampTz now = DurableNow();

			pg_atomic_write_u64(next_wake, (uint64) next_due);
			if (prepare_start != 0 && prepare_start <= now)
			{
				prepare_for = next_due;
				prepare_part = burst;
				continue;
			}
			if (count_at != 0 && count_at <= now)
				continue;		/* the lead began since the tick: count it now */
			if (next_due <= now && fired > 0)
				continue;
			/*
			 * Round up so we never wake a hair before the deadline. A deadline
			 * already due that did not fire belongs to a workflow locked by
			 * another transaction: retry shortly rather than spin.
			 */
			wait_ms = next_due <= now ? 10 :
				Min(wait_ms, (long) ((wake_at - now + 999) / 1000));
		}
		else
			pg_atomic_write_u64(next_wake, (uint64) (PG_INT64_MAX - 1));
		/* only while they can step: a batch step never taken is "due" at once */
		if (me == 0 && installed)
			wait_ms = Min(wait_ms, Min(DurablePurgeWaitMs(), DurableBatchWaitMs()));

		sleep_until = DurableNow() + (TimestampTz) wait_ms * 1000;
		for (;;)
		{
			rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						   wait_ms, PG_WAIT_EXTENSION);
			if (!(rc & WL_LATCH_SET) || !installed || !sleep_on(woken_for, next_wake, &sleep_until))
				break;
			/* a wake for a later deadline: sleep on, to the end it leaves */
			wait_ms = (long) ((sleep_until - DurableNow() + 999) / 1000);
			if (wait_ms <= 0)
			{
				rc = WL_TIMEOUT;
				break;
			}
		}
		/*
		 * Woken at the lead time: prepare. Woken earlier (a new earlier
		 * deadline, a skip of the clock, the purge's or a batch's own time):
		 * look again first.
		 */
		if (prepare_start != 0 && !(rc & WL_LATCH_SET) && DurableNow() >= prepare_start)
		{
			prepare_for = next_due;
			prepare_part = burst;
		}
	}
}
