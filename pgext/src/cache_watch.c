/*
 * cache_watch.c: the extension's one invalidation callback of each kind,
 * which tells every cache of durable's C that watches that kind.
 *
 * A backend has room for ten relcache callbacks (MAX_RELCACHE_CALLBACKS in
 * PostgreSQL 15's utils/cache/inval.c) and 64 syscache callbacks, core's
 * and every loaded extension's together; one more is a FATAL error. The
 * files of durable that keep something per backend (a table's shape, a
 * function's oid, an answer) registered their own, five relcache callbacks
 * and twelve syscache callbacks by session 11; through here durable takes
 * one relcache callback and one syscache callback per catalog it watches.
 *
 * A watcher is told of every invalidation of its kind from the time it is
 * added (a relcache one: InvalidOid for all relations; a syscache one: hash
 * value 0 for all rows). It only marks what it kept as to be read again:
 * it runs wherever PostgreSQL takes in invalidations, and may not read the
 * catalogs.
 */
#include "postgres.h"

#include "utils/inval.h"

#include "durable.h"

#define MAX_RELCACHE_WATCHERS 16
#define MAX_SYSCACHE_WATCHERS 32
#define MAX_WATCHED_CACHES 16

static DurableRelcacheForget relcache_watchers[MAX_RELCACHE_WATCHERS];
static int	nrelcache_watchers;
static bool relcache_registered;

static struct
{
	int			cacheid;
	DurableSyscacheForget forget;
}			syscache_watchers[MAX_SYSCACHE_WATCHERS];
static int	nsyscache_watchers;
static int	watched_caches[MAX_WATCHED_CACHES];	/* the syscaches a callback is registered for */
static int	nwatched_caches;

static void
tell_relcache_watchers(Datum arg, Oid relid)
{
	for (int i = 0; i < nrelcache_watchers; i++)
		relcache_watchers[i] (relid);
}

static void
tell_syscache_watchers(Datum arg, int cacheid, uint32 hashvalue)
{
	for (int i = 0; i < nsyscache_watchers; i++)
		if (syscache_watchers[i].cacheid == cacheid)
			syscache_watchers[i].forget(cacheid, hashvalue);
}

/* forget(relid) is called on every relcache invalidation from now on (InvalidOid: all relations). */
void
DurableWatchRelcache(DurableRelcacheForget forget)
{
	for (int i = 0; i < nrelcache_watchers; i++)
		if (relcache_watchers[i] == forget)
			return;
	if (nrelcache_watchers == MAX_RELCACHE_WATCHERS)
		elog(ERROR, "durable: no room for another relcache watcher (%d)", MAX_RELCACHE_WATCHERS);
	if (!relcache_registered)
	{
		CacheRegisterRelcacheCallback(tell_relcache_watchers, (Datum) 0);
		relcache_registered = true;
	}
	relcache_watchers[nrelcache_watchers++] = forget;
}

/*
 * forget(cacheid, hashvalue) is called on every invalidation of the
 * syscache cacheid from now on (hashvalue: the row's, as
 * GetSysCacheHashValue gives it; 0: all rows).
 */
void
DurableWatchSyscache(int cacheid, DurableSyscacheForget forget)
{
	bool		registered = false;

	for (int i = 0; i < nsyscache_watchers; i++)
		if (syscache_watchers[i].cacheid == cacheid && syscache_watchers[i].forget == forget)
			return;
	if (nsyscache_watchers == MAX_SYSCACHE_WATCHERS)
		elog(ERROR, "durable: no room for another syscache watcher (%d)", MAX_SYSCACHE_WATCHERS);
	for (int i = 0; i < nwatched_caches && !registered; i++)
		registered = watched_caches[i] == cacheid;
	if (!registered)
	{
		if (nwatched_caches == MAX_WATCHED_CACHES)
			elog(ERROR, "durable: no room for another watched syscache (%d)", MAX_WATCHED_CACHES);
		CacheRegisterSyscacheCallback(cacheid, tell_syscache_watchers, (Datum) 0);
		watched_caches[nwatched_caches++] = cacheid;
	}
	syscache_watchers[nsyscache_watchers].cacheid = cacheid;
	syscache_watchers[nsyscache_watchers].forget = forget;
	nsyscache_watchers++;
}
