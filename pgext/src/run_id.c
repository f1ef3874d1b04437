/*
 * run_id.c: durable._new_run_id(), the id of every new run: a UUID of
 * version 7 (RFC 9562), its first 48 bits the wall clock in milliseconds,
 * the next 12 (rand_a) the fraction of that millisecond in 1/4096ths, and
 * the last 62 random, instead of version 4's 122 random bits.
 *
 * Why time first (issue 15, less WAL per step): a run's id leads the keys of
 * the history's primary key, the runs' primary key and the task tables' run
 * indexes. Random ids put each new run's entries on a random leaf page of
 * each: every page splits in halves, a split logs half a page, and after a
 * checkpoint every page touched is logged whole once. Ids that grow with
 * time put the runs that are running together on the same few pages at the
 * right end of each index (docs/performance.md, "Run ids in time order").
 *
 * Why the fraction (RFC 9562 section 6.2, method 3: rand_a as a finer
 * clock): with random bits after the millisecond, two ids made in one
 * millisecond came out in random order, and a batch that takes its runs in
 * run id order (the activity outcomes of complete_activity_tasks, whose
 * workflow tasks enter the queue in that order) then took runs made in one
 * statement out of their creation order. A backend's ids are strictly
 * increasing: one that would not sort after the backend's last (two made in
 * one 1/4096 ms, or the clock stepped back) takes the last one's time part
 * plus 1/4096 ms. Its time part then runs ahead of the clock (by as much
 * as the clock stepped back, or while a backend makes more than 4,096 ids a
 * millisecond) until the clock passes it; otherwise its milliseconds are
 * still those of the id's creation. Backends keep their own last id: across
 * backends ids are in clock order, as before, and the 62 random bits keep
 * ids made in the same 1/4096 ms by two backends apart.
 * Ids stay unique and opaque; the time they hold is the run's start, which
 * started_at shows anyway.
 */
#include "postgres.h"

#include <time.h>

#include "fmgr.h"
#include "port.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(durable_new_run_id);

#define NS_PER_MS INT64CONST(1000000)
#define FRACTION_BITS 12		/* rand_a: 1/4096ths of a millisecond */

/*
 * The time part (milliseconds << FRACTION_BITS | fraction) of the last id
 * this backend made: every next id's is larger.
 */
static uint64 last_time_part = 0;

/* the time part of a new id: the clock's, or one past the last id's */
static uint64
next_time_part(void)
{
	struct timespec now;
	uint64		ns,
				time_part;

	/* (the realtime clock, read into a valid struct, cannot fail) */
	clock_gettime(CLOCK_REALTIME, &now);
	ns = (uint64) now.tv_sec * 1000 * NS_PER_MS + (uint64) now.tv_nsec;
	time_part = (ns / NS_PER_MS) << FRACTION_BITS
		| ((ns % NS_PER_MS) << FRACTION_BITS) / NS_PER_MS;
	if (time_part <= last_time_part)
		time_part = last_time_part + 1;
	last_time_part = time_part;
	return time_part;
}

/* durable._new_run_id() -> uuid */
Datum
durable_new_run_id(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));
	uint64		time_part = next_time_part();
	uint64		ms = time_part >> FRACTION_BITS;

	if (!pg_strong_random(&id->data[8], UUID_LEN - 8))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("could not generate a random run id")));
	for (int i = 0; i < 6; i++)
		id->data[i] = (ms >> (40 - 8 * i)) & 0xFF;
	id->data[6] = 0x70 | ((time_part >> 8) & 0x0F);	/* version 7, fraction */
	id->data[7] = time_part & 0xFF;
	id->data[8] = (id->data[8] & 0x3F) | 0x80;	/* variant 10 */
	PG_RETURN_UUID_P(id);
}
