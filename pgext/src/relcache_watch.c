/*
 * relcache_watch.c: one relcache invalidation callback for the C functions
 * that keep, per backend, what they looked up of durable's tables and
 * indexes (run_rows.c, close_update.c, row_by_key.c, run_lock.c).
 * PostgreSQL 15 has room for ten relcache callbacks in a backend
 * (MAX_RELCACHE_CALLBACKS), core's and every extension's together, and a
 * backend that registers an eleventh ends with a FATAL error: each file
 * registering its own took durable to nine.
 */
#include "postgres.h"

#include "utils/inval.h"

#include "durable.h"

#define MAX_WATCHERS 8

static DurableRelcacheForget watchers[MAX_WATCHERS];
static int	nwatchers;
static bool registered;

static void
tell_watchers(Datum arg, Oid relid)
{
	for (int i = 0; i < nwatchers; i++)
		watchers[i] (relid);
}

/* forget(relid) is called on every relcache invalidation from now on (InvalidOid: all relations). */
void
DurableWatchRelcache(DurableRelcacheForget forget)
{
	for (int i = 0; i < nwatchers; i++)
		if (watchers[i] == forget)
			return;
	if (nwatchers == MAX_WATCHERS)
		elog(ERROR, "durable: no room for another relcache watcher (%d)", MAX_WATCHERS);
	if (!registered)
	{
		CacheRegisterRelcacheCallback(tell_watchers, (Datum) 0);
		registered = true;
	}
	watchers[nwatchers++] = forget;
}
