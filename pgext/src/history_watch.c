/*
 * history_watch.c: tell watchers which run's history grew, at no cost when
 * nobody watches.
 *
 * A NOTIFY per appended event made one-activity workflows a third slower,
 * and almost always nobody listens. So a session that wants to follow
 * histories (durablefs, for tail -f and poll on status) calls
 * durable.watch_history(), which counts it in shared memory until it ends;
 * every append calls durable._history_changed(run), which only notifies
 * channel "durable.history" (payload: the run id) while the count is not
 * zero. PostgreSQL folds the notifications of one run in one transaction.
 */
#include "postgres.h"

#include "commands/async.h"
#include "fmgr.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_watch_history);
PG_FUNCTION_INFO_V1(durable_unwatch_history);
PG_FUNCTION_INFO_V1(durable_history_changed);

static bool watching = false;
static bool exit_callback_registered = false;

static void
stop_watching(int code, Datum arg)
{
	if (watching)
	{
		pg_atomic_fetch_sub_u32(&durable_shared->history_watchers, 1);
		watching = false;
	}
}

Datum
durable_watch_history(PG_FUNCTION_ARGS)
{
	if (!watching)
	{
		if (!exit_callback_registered)
		{
			before_shmem_exit(stop_watching, (Datum) 0);
			exit_callback_registered = true;
		}
		pg_atomic_fetch_add_u32(&durable_shared->history_watchers, 1);
		watching = true;
	}
	PG_RETURN_VOID();
}

Datum
durable_unwatch_history(PG_FUNCTION_ARGS)
{
	stop_watching(0, (Datum) 0);
	PG_RETURN_VOID();
}

Datum
durable_history_changed(PG_FUNCTION_ARGS)
{
	if (pg_atomic_read_u32(&durable_shared->history_watchers) > 0)
	{
		pg_uuid_t  *run = PG_GETARG_UUID_P(0);

		Async_Notify("durable.history",
					 DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(run))));
	}
	PG_RETURN_VOID();
}
