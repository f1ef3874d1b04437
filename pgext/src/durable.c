/*
 * durable.c: module load: GUCs, shared memory, and the timer worker.
 *
 * durable must be in shared_preload_libraries: the timer worker and the
 * shared clock only exist when the postmaster loads the library.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "durable.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

DurableShared *durable_shared = NULL;

char	   *durable_database = NULL;
int			durable_tick_batch = 5000;
int			durable_tick_max_wait_ms = 10000;
int			durable_timer_workers = 2;
int			durable_max_payload_bytes = 2 * 1024 * 1024;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
durable_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(DurableShared)));
	RequestAddinShmemSpace(DurableStickyShmemSize());
	RequestNamedLWLockTranche("durable", 1);
}

static void
durable_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	durable_shared = ShmemInitStruct("durable", sizeof(DurableShared), &found);
	if (!found)
	{
		memset(durable_shared, 0, sizeof(DurableShared));
		pg_atomic_init_u64(&durable_shared->legacy_clock_offset_us, (uint64) DurableLoadLegacyClockOffset());
		for (int i = 0; i < DURABLE_MAX_TIMER_WORKERS; i++)
		{
			pg_atomic_init_u64(&durable_shared->next_wake[i], PG_INT64_MAX);
			pg_atomic_init_u64(&durable_shared->woken_for[i], PG_INT64_MAX);
			pg_atomic_init_u32(&durable_shared->timer_worker_procno[i], 0);
		}
		pg_atomic_init_u32(&durable_shared->history_watchers, 0);
		durable_shared->query_lock = &(GetNamedLWLockTranche("durable"))[0].lock;
		durable_shared->next_query_id = 1;
		ConditionVariableInit(&durable_shared->query_posted);
		ConditionVariableInit(&durable_shared->query_answered);
	}
	DurableStickyShmemInit();
	LWLockRelease(AddinShmemInitLock);
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("durable can only be loaded via shared_preload_libraries"),
				 errhint("Add durable to shared_preload_libraries in postgresql.conf and restart the server.")));

	DefineCustomStringVariable("durable.database",
							   "Database in which the timer worker fires timers and timeouts.",
							   NULL,
							   &durable_database,
							   "postgres",
							   PGC_POSTMASTER,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("durable.tick_batch",
							"Most timers and timeouts the timer worker fires in one transaction.",
							NULL,
							&durable_tick_batch,
							5000, 1, 100000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("durable.tick_max_wait",
							"Longest the timer worker sleeps without being woken.",
							"Commits that add an earlier deadline wake it sooner.",
							&durable_tick_max_wait_ms,
							10000, 10, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("durable.timer_workers",
							"Number of timer worker processes.",
							"They take disjoint batches of due deadlines (SKIP LOCKED), so a burst of timers due at once fires in parallel.",
							&durable_timer_workers,
							2, 1, DURABLE_MAX_TIMER_WORKERS,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("durable.max_payload_bytes",
							"Largest input, result, failure, signal or heartbeat payload accepted.",
							"Larger payloads are refused with SQLSTATE 54000 and change nothing.",
							&durable_max_payload_bytes,
							2 * 1024 * 1024, 16, 256 * 1024 * 1024,
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DurablePurgeDefineGucs();
	DurableBatchDefineGucs();
	DurableTimerPrepareDefineGucs();
	DurableStickyDefineGucs();
	DurableMallocDefineGucs();

	MarkGUCPrefixReserved("durable");

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = durable_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = durable_shmem_startup;

	DurableWakeupInit();
	DurablePlanSizesInit();
	DurableRegisterTimerWorker();
}
