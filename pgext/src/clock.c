/*
 * clock.c: the one clock every durable timestamp comes from.
 *
 * durable.now() is the wall clock plus an offset, so that a test can skip 30
 * days and every backend and the timer workers see the same new time. The
 * offset only grows: going back would leave every deadline written while time
 * was skipped stranded in the future.
 *
 * The offset is a row of durable.clock (no row: no skip). Being data, it is
 * WAL-logged: it survives a crash, reaches streaming standbys and is kept by
 * pg_dump and base backups, so a promoted standby or a restored backup does
 * not send the store back in time. Each transaction reads it once and keeps
 * it; a skip becomes visible to others when it commits, and the timer workers
 * are woken then.
 *
 * A namespace can have a clock of its own (durable.skip_time(namespace, by)):
 * durable.now(namespace) runs that namespace's offset ahead of durable.now().
 * Its history and its runs' start and close times are written in its time
 * (durable._run_now); its deadlines stay in the server's time and are moved
 * closer by the skip itself (api/16_namespace_clock.sql). The namespace
 * offsets are read with the server's, once per transaction; with none (the
 * usual case) the namespace clocks cost nothing.
 *
 * 0.1 kept the offset in the file durable_clock_offset in the data directory.
 * While 0.1's SQL is still installed (no durable.clock yet), that file's
 * offset, loaded at server start, keeps durable.now() where it was until
 * ALTER EXTENSION durable UPDATE carries it into the table.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/uuid.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "durable.h"

/* 0.1's file, relative to the data directory (every server process's cwd) */
#define LEGACY_CLOCK_OFFSET_FILE "durable_clock_offset"

PG_FUNCTION_INFO_V1(durable_now);
PG_FUNCTION_INFO_V1(durable_skip_time);
PG_FUNCTION_INFO_V1(durable_clock_offset);
PG_FUNCTION_INFO_V1(durable_namespace_now);
PG_FUNCTION_INFO_V1(durable_run_now);
PG_FUNCTION_INFO_V1(durable_namespace_clock_offset);
PG_FUNCTION_INFO_V1(durable_clock_changed);

/* the offset this backend last read, and the transaction it was read in */
static int64 known_offset = -1;
static LocalTransactionId known_offset_lxid = InvalidLocalTransactionId;

/* the namespace offsets read with it (in namespace_clocks_cxt) */
typedef struct
{
	char	   *namespace;
	int64		offset;
} NamespaceClock;
static MemoryContext namespace_clocks_cxt = NULL;
static NamespaceClock *namespace_clocks = NULL;
static int	n_namespace_clocks = 0;

/*
 * The offset 0.1 saved in its file, or 0. Called by the postmaster when it
 * creates shared memory; used only while 0.1's SQL is installed. A file that
 * cannot be read is reported and ignored: a test clock is not worth refusing
 * to start for.
 */
int64
DurableLoadLegacyClockOffset(void)
{
	FILE	   *file;
	long long	offset = 0;

	file = AllocateFile(LEGACY_CLOCK_OFFSET_FILE, "r");
	if (file == NULL)
	{
		if (errno != ENOENT)
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("could not read file \"%s\": %m", LEGACY_CLOCK_OFFSET_FILE)));
		return 0;
	}
	if (fscanf(file, "%lld", &offset) != 1 || offset < 0)
	{
		ereport(LOG,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("ignoring malformed file \"%s\"", LEGACY_CLOCK_OFFSET_FILE),
				 errdetail("It should hold the clock offset in microseconds, a non-negative integer.")));
		offset = 0;
	}
	FreeFile(file);
	return (int64) offset;
}

/* durable.clock's oid, or InvalidOid while 0.1's SQL (or none) is installed */
static Oid
clock_table(void)
{
	Oid			schema = get_namespace_oid("durable", true);

	return OidIsValid(schema) ? get_relname_relid("clock", schema) : InvalidOid;
}

/* A column's attribute number in rel (InvalidAttrNumber: none, or not of type). */
static AttrNumber
column_of(Relation rel, const char *name, Oid type)
{
	AttrNumber	att = get_attnum(RelationGetRelid(rel), name);

	return att > 0 && TupleDescAttr(RelationGetDescr(rel), att - 1)->atttypid == type ? att : InvalidAttrNumber;
}

/*
 * Reads durable.clock in the current transaction, as the extension: the
 * clock is durable's own data, which durable.now() (granted to workers and
 * operators, and called inside every append) must read whoever calls it,
 * though nobody is granted the table; so it is scanned directly, without the
 * caller's rights on it (it shows nothing durable.now(namespace) does not),
 * with the snapshot a statement would read it with.
 */
static int64
read_clock_table(Oid relid)
{
	bool		pushed = false;
	int64		offset = 0;
	Relation	rel;
	AttrNumber	offset_att,
				namespace_att,
				clock_att;
	TableScanDesc scan;
	TupleTableSlot *slot;

	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	rel = table_open(relid, AccessShareLock);
	offset_att = column_of(rel, "offset_us", INT8OID);
	/* (an upgrade reads the clock before it adds the namespace column) */
	namespace_att = column_of(rel, "namespace", TEXTOID);
	clock_att = column_of(rel, "clock", TEXTOID);
	if (offset_att == InvalidAttrNumber || clock_att == InvalidAttrNumber)
		elog(ERROR, "could not read durable.clock: no offset_us or clock column");
	if (namespace_clocks_cxt == NULL)
		namespace_clocks_cxt = AllocSetContextCreate(TopMemoryContext, "durable namespace clocks",
													 ALLOCSET_SMALL_SIZES);
	MemoryContextReset(namespace_clocks_cxt);
	namespace_clocks = NULL;
	n_namespace_clocks = 0;
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull,
					clock_isnull,
					namespace_isnull = true;
		int64		value = DatumGetInt64(slot_getattr(slot, offset_att, &isnull));
		Datum		clock = slot_getattr(slot, clock_att, &clock_isnull);
		Datum		namespace = namespace_att != InvalidAttrNumber ?
			slot_getattr(slot, namespace_att, &namespace_isnull) : (Datum) 0;
		char	   *clock_name;

		if (isnull || clock_isnull)
			continue;
		clock_name = TextDatumGetCString(clock);
		if (strcmp(clock_name, "server") == 0)
			offset = value;
		else if (!namespace_isnull)
		{
			if (n_namespace_clocks % 8 == 0)
			{
				Size		size = sizeof(NamespaceClock) * (n_namespace_clocks + 8);

				namespace_clocks = namespace_clocks == NULL ?
					MemoryContextAlloc(namespace_clocks_cxt, size) : repalloc(namespace_clocks, size);
			}
			namespace_clocks[n_namespace_clocks].namespace =
				MemoryContextStrdup(namespace_clocks_cxt, TextDatumGetCString(namespace));
			namespace_clocks[n_namespace_clocks].offset = value;
			n_namespace_clocks++;
		}
		pfree(clock_name);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
	if (pushed)
		PopActiveSnapshot();
	return offset;
}

/*
 * The offset in effect for this transaction. Outside a transaction (the timer
 * worker between ticks) the one its last transaction saw.
 */
static int64
clock_offset(void)
{
	if (IsTransactionState() && MyProc != NULL && known_offset_lxid != MyProc->lxid)
	{
		Oid			relid = clock_table();

		if (OidIsValid(relid))
			known_offset = read_clock_table(relid);
		else
			known_offset = (int64) pg_atomic_read_u64(&durable_shared->legacy_clock_offset_us);
		known_offset_lxid = MyProc->lxid;
	}
	if (known_offset < 0)
		return (int64) pg_atomic_read_u64(&durable_shared->legacy_clock_offset_us);
	return known_offset;
}

TimestampTz
DurableNow(void)
{
	return GetCurrentTimestamp() + clock_offset();
}

Datum
durable_now(PG_FUNCTION_ARGS)
{
	PG_RETURN_TIMESTAMPTZ(DurableNow());
}

Datum
durable_clock_offset(PG_FUNCTION_ARGS)
{
	Interval   *result = palloc0(sizeof(Interval));

	result->time = clock_offset();
	PG_RETURN_INTERVAL_P(result);
}

/* What the namespace's clock runs ahead of the server's (0: none). */
static int64
namespace_offset(const char *namespace)
{
	(void) clock_offset();		/* reads the offsets once per transaction */
	for (int i = 0; i < n_namespace_clocks; i++)
		if (strcmp(namespace_clocks[i].namespace, namespace) == 0)
			return namespace_clocks[i].offset;
	return 0;
}

/* durable.now(namespace): the namespace's clock. */
Datum
durable_namespace_now(PG_FUNCTION_ARGS)
{
	char	   *namespace = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PG_RETURN_TIMESTAMPTZ(DurableNow() + namespace_offset(namespace));
}

Datum
durable_namespace_clock_offset(PG_FUNCTION_ARGS)
{
	Interval   *result = palloc0(sizeof(Interval));

	result->time = namespace_offset(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_INTERVAL_P(result);
}

/*
 * The namespace of a run (NULL: no such run), read as the extension, as
 * durable.clock is (read_clock_table): by a probe of durable.workflows'
 * primary key, without the caller's rights on the table (an append's
 * caller needs none on it: the time of the run's namespace is all it
 * learns). Without such a key (an operator's change), by the statement, as
 * the caller.
 */
static char *
namespace_of_run(Datum run)
{
	static DurableLookup workflows;
	static const DurablePrimaryKey workflows_key = {"workflows", "run_id", UUIDOID};
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[1] = {UUIDOID};
	Relation	rel = DurableOpenLookup(&workflows, AccessShareLock, DurableFillPrimaryKey, &workflows_key);
	char	   *namespace = NULL;
	Datum		value;
	bool		isnull;

	if (rel != NULL)
	{
		Relation	index = index_open(workflows.index, AccessShareLock);
		TupleTableSlot *slot = table_slot_create(rel, NULL);
		AttrNumber	att = column_of(rel, "namespace", TEXTOID);

		if (att != InvalidAttrNumber && DurableProbeIndex(rel, index, F_UUID_EQ, run, GetActiveSnapshot(), slot))
		{
			value = slot_getattr(slot, att, &isnull);
			if (!isnull)
				namespace = TextDatumGetCString(value);
		}
		ExecDropSingleTupleTableSlot(slot);
		index_close(index, AccessShareLock);
		table_close(rel, AccessShareLock);
		return namespace;
	}
	if (DurableRunStatement(&plan, "SELECT namespace FROM durable.workflows WHERE run_id = $1", 1, argtypes, &run,
							NULL, true, 1, SPI_OK_SELECT, &value, &isnull) == 1 && !isnull)
		namespace = TextDatumGetCString(value);
	return namespace;
}

/*
 * durable._run_now(run): the clock of the run's namespace, for the times
 * written into its history. With no namespace clock (the usual case) it is
 * durable.now() and looks nothing up.
 */
Datum
durable_run_now(PG_FUNCTION_ARGS)
{
	char	   *namespace;

	(void) clock_offset();
	if (n_namespace_clocks == 0)
		PG_RETURN_TIMESTAMPTZ(DurableNow());
	namespace = namespace_of_run(PG_GETARG_DATUM(0));
	PG_RETURN_TIMESTAMPTZ(DurableNow() + (namespace != NULL ? namespace_offset(namespace) : 0));
}

/* durable.clock was written in this transaction: read it again. */
Datum
durable_clock_changed(PG_FUNCTION_ARGS)
{
	known_offset_lxid = InvalidLocalTransactionId;
	DurableWakeTimerWorkersAtCommit();
	PG_RETURN_VOID();
}

Datum
durable_skip_time(PG_FUNCTION_ARGS)
{
	Interval   *by = PG_GETARG_INTERVAL_P(0);
	int64		delta;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1];
	bool		isnull;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to skip time"),
				 errdetail("Skipping time changes the clock of every workflow on this server."),
				 errhint("Only superusers may call durable.skip_time, and only in tests.")));

	if (by->month != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot skip time by a number of months"),
				 errhint("Use days, e.g. durable.skip_time('30 days').")));

	delta = by->time + (int64) by->day * USECS_PER_DAY;
	if (delta < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot skip time backwards"),
				 errdetail("Deadlines already fired would fire again out of order."),
				 errhint("Pass a positive interval.")));

	if (!OidIsValid(clock_table()))
		DurableRefuseOldSql("durable.skip_time");

	/* the row lock serializes concurrent skips; each adds its own delta */
	args[0] = Int64GetDatum(delta);
	SPI_connect();
	if (SPI_execute_with_args("INSERT INTO durable.clock AS c (clock, offset_us, skipped_at) "
							  "VALUES ('server', $1, pg_catalog.clock_timestamp()) "
							  "ON CONFLICT (clock, namespace) DO UPDATE "
							  "SET offset_us = c.offset_us + EXCLUDED.offset_us, skipped_at = EXCLUDED.skipped_at "
							  "RETURNING offset_us",
							  1, argtypes, args, NULL, false, 1) != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not update durable.clock");
	known_offset = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	known_offset_lxid = MyProc->lxid;
	SPI_finish();

	/* the workers see the new time once this commits: wake them then */
	DurableWakeTimerWorkersAtCommit();
	PG_RETURN_TIMESTAMPTZ(DurableNow());
}
