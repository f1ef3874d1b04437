/*
 * run_id.c: durable._new_run_id(), the id of every new run: a UUID of
 * version 7 (RFC 9562), its first 48 bits the wall clock in milliseconds and
 * the other 74 random, instead of version 4's 122 random bits.
 *
 * Why (issue 15, less WAL per step): a run's id leads the keys of the
 * history's primary key, the runs' primary key and the task tables' run
 * indexes. Random ids put each new run's entries on a random leaf page of
 * each: every page splits in halves, a split logs half a page, and after a
 * checkpoint every page touched is logged whole once. Ids that grow with
 * time put the runs that are running together on the same few pages at the
 * right end of each index (docs/performance.md, "Run ids in time order").
 * Ids stay unique and opaque; the time they hold is the run's start, which
 * started_at shows anyway.
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "port.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(durable_new_run_id);

/* durable._new_run_id() -> uuid */
Datum
durable_new_run_id(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));
	TimestampTz now = GetCurrentTimestamp();
	uint64		ms = (uint64) (now / 1000)
		+ (uint64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;

	if (!pg_strong_random(id->data, UUID_LEN))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("could not generate a random run id")));
	for (int i = 0; i < 6; i++)
		id->data[i] = (ms >> (40 - 8 * i)) & 0xFF;
	id->data[6] = (id->data[6] & 0x0F) | 0x70;	/* version 7 */
	id->data[8] = (id->data[8] & 0x3F) | 0x80;	/* variant 10 */
	PG_RETURN_UUID_P(id);
}
