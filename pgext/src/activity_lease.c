/*
 * activity_lease.c: durable._lease_activity_scan(namespace, task_queue,
 * max_tasks, identity, now), the activity poll's pick and lease
 * (poll_activity_tasks of a queue without flow limits,
 * api/07_activity_tasks.sql) written with the index and heap APIs, as
 * lease_update.c writes the workflow poll's lease.
 *
 * The statement it stands for (still run, kept prepared, for what this
 * does not do; its text is fallback_sql below)
 *     WITH picked AS (SELECT task_id ... WHERE namespace, task_queue, state = 'SCHEDULED'
 *                     ORDER BY priority, pass, task_id LIMIT max FOR UPDATE SKIP LOCKED),
 *          leased AS (UPDATE ... SET state = 'STARTED', fence + 1, identity, started_at,
 *                     last_heartbeat_at, timeout_at FROM picked ... RETURNING *)
 *     SELECT <the poll's columns> FROM leased ORDER BY task_id
 * was 14 µs of the 17 µs a three-activity workflow's activity spent in its
 * poll (docs/performance.md, "The activity poll's lease"): per row a
 * lock (and its WAL record), a join's probe, the executor's update with
 * the CHECK, the trigger's WHEN and four index entries, a RETURNING of
 * every column, the token's concatenation and _wake_at and _seconds
 * called. Here the queue's ready index (namespace, task_queue, priority,
 * pass, task_id WHERE state = 'SCHEDULED') is scanned in its order under a
 * statement's snapshot, and each row visible there is updated at once by
 * heap_update, unless another transaction holds it (a poller's lock, an
 * update in progress: what heap_update would wait for, looked at first),
 * where the statement's SKIP LOCKED would find its lock taken. Such a row
 * is then locked as SKIP LOCKED locks it (skipped when that would wait;
 * leased when the lock is this transaction's own); a row that was not
 * locked is not locked before its update, which holds it the same, and
 * the WAL has no lock record. The new version is checked, written and indexed as ExecUpdate
 * does it (direct_update.c), the earliest deadline announced once, and
 * the rows returned in task_id order, as the statement's.
 *
 * The statement leases everything where the direct path cannot
 * (direct_update.c's refusals: an operator's trigger on the lease's
 * columns, a rule, row security, a partition, inheritance, transition
 * tables, an index on an expression, rights, hooks; or no ready index of
 * that definition), and the rest of the batch from the first row it must
 * handle itself: one another transaction updated or deleted since the
 * snapshot (the statement follows it as READ COMMITTED does, or fails to
 * serialize), a fence at the largest bigint, a CHECK that fails.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/nbtree.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_type_d.h"
#include "commands/defrem.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/primnodes.h"
#include "storage/bufmgr.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_lease_activity_scan);

extern Datum durable_wake_at(PG_FUNCTION_ARGS);

/* The columns the lease sets. */
enum
{
	SET_STATE,
	SET_FENCE,
	SET_IDENTITY,
	SET_STARTED_AT,
	SET_LAST_HEARTBEAT_AT,
	SET_TIMEOUT_AT,
	SET_COLUMNS
};
static const DurableUpdateColumn set_columns[SET_COLUMNS] = {
	[SET_STATE] = {"state", TEXTOID},
	[SET_FENCE] = {"fence", INT8OID},
	[SET_IDENTITY] = {"identity", TEXTOID},
	[SET_STARTED_AT] = {"started_at", TIMESTAMPTZOID},
	[SET_LAST_HEARTBEAT_AT] = {"last_heartbeat_at", TIMESTAMPTZOID},
	[SET_TIMEOUT_AT] = {"timeout_at", TIMESTAMPTZOID},
};

/* The columns it reads: the ready index's, the deadline's terms and the poll's answer. */
enum
{
	R_NAMESPACE,
	R_QUEUE,
	R_PRIORITY,
	R_PASS,
	R_TASK_ID,
	R_WORKFLOW_ID,
	R_RUN_ID,
	R_ACTIVITY_ID,
	R_ACTIVITY_TYPE,
	R_INPUT,
	R_ATTEMPT,
	R_SCHEDULED_AT,
	R_START_TO_CLOSE,
	R_SCHEDULE_TO_CLOSE,
	R_HEARTBEAT_TIMEOUT,
	R_HEARTBEAT_DETAILS,
	R_LAST_FAILURE,
	READ_COLUMNS
};
static const DurableUpdateColumn read_columns[READ_COLUMNS] = {
	[R_NAMESPACE] = {"namespace", TEXTOID},
	[R_QUEUE] = {"task_queue", TEXTOID},
	[R_PRIORITY] = {"priority", INT2OID},
	[R_PASS] = {"pass", FLOAT8OID},
	[R_TASK_ID] = {"task_id", INT8OID},
	[R_WORKFLOW_ID] = {"workflow_id", TEXTOID},
	[R_RUN_ID] = {"run_id", UUIDOID},
	[R_ACTIVITY_ID] = {"activity_id", TEXTOID},
	[R_ACTIVITY_TYPE] = {"activity_type", TEXTOID},
	[R_INPUT] = {"input", JSONBOID},
	[R_ATTEMPT] = {"attempt", INT4OID},
	[R_SCHEDULED_AT] = {"scheduled_at", TIMESTAMPTZOID},
	[R_START_TO_CLOSE] = {"start_to_close_timeout", INTERVALOID},
	[R_SCHEDULE_TO_CLOSE] = {"schedule_to_close_timeout", INTERVALOID},
	[R_HEARTBEAT_TIMEOUT] = {"heartbeat_timeout", INTERVALOID},
	[R_HEARTBEAT_DETAILS] = {"heartbeat_details", JSONBOID},
	[R_LAST_FAILURE] = {"last_failure", JSONBOID},
};

/* the ready index's key columns, in its order (reads' indexes) */
static const int ready_keys[] = {R_NAMESPACE, R_QUEUE, R_PRIORITY, R_PASS, R_TASK_ID};

/* Whether qual is the ready index's predicate: state = 'SCHEDULED' (texteq, the column's collation). */
static bool
scheduled_predicate(const DurableUpdateShape *s, Relation rel, List *predicate)
{
	Var		   *var;
	Datum		value;
	Oid			collation;
	AttrNumber	state = s->att[SET_STATE];

	return list_length(predicate) == 1 && DurableTextEqConst(linitial(predicate), &var, &value, &collation) &&
		var->varattno == state && collation == TupleDescAttr(RelationGetDescr(rel), state - 1)->attcollation &&
		strcmp(TextDatumGetCString(value), "SCHEDULED") == 0;
}

/*
 * (the shape's visit) the ready index: a valid btree on exactly the ready
 * columns, ascending, under their default operators and the columns'
 * collations, for the rows state = 'SCHEDULED': its order is the
 * statement's ORDER BY, its rows the statement's WHERE for one queue
 */
static bool
visit_index(DurableUpdateShape *s, Relation rel, Relation index, DurableDirectIndex *entry)
{
	bool		ready = index->rd_rel->relam == BTREE_AM_OID && index->rd_index->indisvalid &&
		index->rd_index->indnkeyatts == lengthof(ready_keys) && entry->info->ii_Expressions == NIL &&
		entry->info->ii_Predicate != NIL;

	if (!ready || OidIsValid(s->scan_index))
		return true;
	for (int k = 0; k < lengthof(ready_keys) && ready; k++)
	{
		Form_pg_attribute a = TupleDescAttr(RelationGetDescr(rel), s->read_att[ready_keys[k]] - 1);

		ready = index->rd_index->indkey.values[k] == s->read_att[ready_keys[k]] &&
			index->rd_opfamily[k] == get_opclass_family(GetDefaultOpClass(a->atttypid, BTREE_AM_OID)) &&
			index->rd_indcollation[k] == a->attcollation && index->rd_indoption[k] == 0;
	}
	if (ready && scheduled_predicate(s, rel, entry->info->ii_Predicate))
		s->scan_index = entry->oid;
	return true;
}

/* What a lease needs of the table, read once per change of it (direct_update.c). */
static DurableUpdateShape shape = {
	.key = {"task_id", INT8OID, F_INT8EQ},
	.ncolumns = SET_COLUMNS,
	.columns = set_columns,
	.never_fires = DurableNeverFiresOnState,	/* (activity_task_pass_again: NEW.state = 'SCHEDULED') */
	.state_column = SET_STATE,
	.state_value = "STARTED",
	.nreads = READ_COLUMNS,
	.reads = read_columns,
	.visit = visit_index,
};

/* the poll's answer's columns (poll_activity_tasks' RETURNS TABLE), and the task id they are ordered by */
enum
{
	O_TOKEN, O_WORKFLOW_ID, O_RUN_ID, O_ACTIVITY_ID, O_ACTIVITY_TYPE, O_INPUT, O_ATTEMPT, O_SCHEDULED_AT,
	O_STARTED_AT, O_DEADLINE, O_HEARTBEAT_TIMEOUT, O_HEARTBEAT_DETAILS, O_LAST_FAILURE, O_COLUMNS
};
typedef struct Leased
{
	int64		task_id;
	Datum		values[O_COLUMNS];
	bool		nulls[O_COLUMNS];
} Leased;

typedef struct Lease
{
	Datum		namespace;
	Datum		task_queue;
	int			max;
	Datum		identity;
	bool		identity_null;
	TimestampTz now;
	Leased	   *rows;			/* (max of them) */
	int			n;
	TimestampTz earliest;		/* of the direct leases' deadlines */
} Lease;

/* the rest of a poll's lease, as the statement: poll_activity_tasks' before session 12, and its task id */
static const char *fallback_sql =
"WITH picked AS ("
"    SELECT a.task_id FROM durable.activity_tasks a"
"     WHERE a.namespace = $1 AND a.task_queue = $2 AND a.state = 'SCHEDULED'"
"     ORDER BY a.priority, a.pass, a.task_id"
"     LIMIT $3"
"       FOR UPDATE SKIP LOCKED"
"), leased AS ("
"    UPDATE durable.activity_tasks a"
"       SET state = 'STARTED', fence = a.fence + 1, identity = $4, started_at = $5,"
"           last_heartbeat_at = NULL,"
"           timeout_at = least($5 + a.start_to_close_timeout,"
"                              a.scheduled_at + a.schedule_to_close_timeout,"
"                              $5 + a.heartbeat_timeout)"
"      FROM picked WHERE a.task_id = picked.task_id"
"    RETURNING a.*"
")"
"SELECT 'a' || l.task_id || '.' || l.fence, l.workflow_id, l.run_id, l.activity_id, l.activity_type,"
"       l.input, l.attempt, l.scheduled_at, l.started_at, durable._wake_at(l.timeout_at),"
"       durable._seconds(l.heartbeat_timeout), l.heartbeat_details, l.last_failure, l.task_id"
"  FROM leased l";
static SPIPlanPtr fallback_plan;

/* a column of the row being leased (read from u's values), copied into the caller's context */
static Datum
row_value(const DurableUpdate *u, int read, bool *isnull)
{
	AttrNumber	att = shape.read_att[read];
	Form_pg_attribute a = TupleDescAttr(RelationGetDescr(u->rel), att - 1);

	*isnull = u->nulls[att - 1];
	return *isnull ? (Datum) 0 : datumCopy(u->values[att - 1], a->attbyval, a->attlen);
}

/* now + the interval column read, or null (the statement's +: the session's time zone, its error) */
static bool
plus(const DurableUpdate *u, TimestampTz base, int read, TimestampTz *sum)
{
	AttrNumber	att = shape.read_att[read];

	if (u->nulls[att - 1])
		return false;
	*sum = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(base),
												   u->values[att - 1]));
	return true;
}

/*
 * The row u read (its values in u->values), as the poll returns it once
 * leased, with deadline, into the next place of l->rows (in outer, the
 * function's context): copied before the update, which frees the row.
 */
static void
keep_row(const DurableUpdate *u, Lease *l, TimestampTz deadline, bool deadline_null, MemoryContext outer)
{
	MemoryContext scratch = MemoryContextSwitchTo(outer);
	Leased	   *r = &l->rows[l->n];
	bool		isnull;
	int64		fence = DatumGetInt64(u->values[shape.att[SET_FENCE] - 1]) + 1;
	Datum		heartbeat;

	r->task_id = DatumGetInt64(row_value(u, R_TASK_ID, &isnull));
	r->values[O_TOKEN] = CStringGetTextDatum(psprintf("a" INT64_FORMAT "." INT64_FORMAT, r->task_id, fence));
	r->nulls[O_TOKEN] = false;
	r->values[O_WORKFLOW_ID] = row_value(u, R_WORKFLOW_ID, &r->nulls[O_WORKFLOW_ID]);
	r->values[O_RUN_ID] = row_value(u, R_RUN_ID, &r->nulls[O_RUN_ID]);
	r->values[O_ACTIVITY_ID] = row_value(u, R_ACTIVITY_ID, &r->nulls[O_ACTIVITY_ID]);
	r->values[O_ACTIVITY_TYPE] = row_value(u, R_ACTIVITY_TYPE, &r->nulls[O_ACTIVITY_TYPE]);
	r->values[O_INPUT] = row_value(u, R_INPUT, &r->nulls[O_INPUT]);
	r->values[O_ATTEMPT] = row_value(u, R_ATTEMPT, &r->nulls[O_ATTEMPT]);
	r->values[O_SCHEDULED_AT] = row_value(u, R_SCHEDULED_AT, &r->nulls[O_SCHEDULED_AT]);
	r->values[O_STARTED_AT] = TimestampTzGetDatum(l->now);
	r->nulls[O_STARTED_AT] = false;
	r->values[O_DEADLINE] = TimestampTzGetDatum(deadline);
	r->nulls[O_DEADLINE] = deadline_null;
	/* durable._seconds: extract(epoch FROM heartbeat_timeout)::float8 */
	heartbeat = row_value(u, R_HEARTBEAT_TIMEOUT, &r->nulls[O_HEARTBEAT_TIMEOUT]);
	r->values[O_HEARTBEAT_TIMEOUT] = r->nulls[O_HEARTBEAT_TIMEOUT] ? (Datum) 0 :
		DirectFunctionCall1(numeric_float8, DirectFunctionCall2(extract_interval, CStringGetTextDatum("epoch"),
																heartbeat));
	r->values[O_HEARTBEAT_DETAILS] = row_value(u, R_HEARTBEAT_DETAILS, &r->nulls[O_HEARTBEAT_DETAILS]);
	r->values[O_LAST_FAILURE] = row_value(u, R_LAST_FAILURE, &r->nulls[O_LAST_FAILURE]);
	MemoryContextSwitchTo(scratch);
}

/*
 * The lease of the row u read (its values in u->values), written with the
 * new version's set columns, and the row kept in l->rows; false (nothing
 * written or kept, u->result saying why) when it is not.
 */
static bool
lease_row(DurableUpdate *u, Lease *l, MemoryContext outer)
{
	AttrNumber	fence_att = shape.att[SET_FENCE];
	int64		fence = DatumGetInt64(u->values[fence_att - 1]);
	TimestampTz terms[3];
	int			nterms = 0;
	AttrNumber	scheduled_att = shape.read_att[R_SCHEDULED_AT];
	TimestampTz deadline = 0;

	/* (the statement's "bigint out of range") */
	u->result = TM_Invisible;
	if (u->nulls[fence_att - 1] || fence == PG_INT64_MAX)
		return false;
	/* least(now + start_to_close, scheduled_at + schedule_to_close, now + heartbeat): least skips nulls */
	nterms += plus(u, l->now, R_START_TO_CLOSE, &terms[nterms]);
	if (!u->nulls[scheduled_att - 1])
		nterms += plus(u, DatumGetTimestampTz(u->values[scheduled_att - 1]), R_SCHEDULE_TO_CLOSE, &terms[nterms]);
	nterms += plus(u, l->now, R_HEARTBEAT_TIMEOUT, &terms[nterms]);
	for (int i = 0; i < nterms; i++)
		if (i == 0 || terms[i] < deadline)
			deadline = terms[i];
	keep_row(u, l, deadline, nterms == 0, outer);
#define SET(c, value, isnull) (u->values[shape.att[c] - 1] = (value), u->nulls[shape.att[c] - 1] = (isnull))
	SET(SET_STATE, CStringGetTextDatum("STARTED"), false);
	SET(SET_FENCE, Int64GetDatum(fence + 1), false);
	SET(SET_IDENTITY, l->identity, l->identity_null);
	SET(SET_STARTED_AT, TimestampTzGetDatum(l->now), false);
	SET(SET_LAST_HEARTBEAT_AT, (Datum) 0, true);
	SET(SET_TIMEOUT_AT, TimestampTzGetDatum(deadline), nterms == 0);
#undef SET
	/* (never HOT: state is in the ready indexes' predicates, timeout_at the deadline index's column) */
	if (!DurableUpdateRow(&shape, u))
		return false;
	l->n++;
	if (nterms > 0 && deadline < l->earliest)
		l->earliest = deadline;
	return true;
}

typedef enum
{
	ROW_LEASED,
	ROW_SKIPPED,				/* another transaction holds it: SKIP LOCKED's */
	ROW_BY_STATEMENT			/* nothing written: the statement leases from this row on */
} RowOutcome;

/*
 * Whether the scan's row (in slot, its buffer pinned) is held: what
 * heap_update would find first (HeapTupleSatisfiesUpdate, under a share
 * lock of the buffer as heap_update's own exclusive one) is
 * TM_BeingModified, a locker or an updater in progress, this transaction
 * by a lock of its own included. heap_update itself is never asked not
 * to wait: PostgreSQL 15's does not support it (its Assert after that
 * same call, "no caller uses that case").
 */
static bool
row_held(TupleTableSlot *slot)
{
	BufferHeapTupleTableSlot *bslot = (BufferHeapTupleTableSlot *) slot;
	TM_Result	result;

	Assert(TTS_IS_BUFFERTUPLE(slot) && BufferIsValid(bslot->buffer));
	LockBuffer(bslot->buffer, BUFFER_LOCK_SHARE);
	result = HeapTupleSatisfiesUpdate(bslot->base.tuple, GetCurrentCommandId(true), bslot->buffer);
	LockBuffer(bslot->buffer, BUFFER_LOCK_UNLOCK);
	return result == TM_BeingModified;
}

/*
 * The row in slot, found by the scan: leased, skipped or left to the
 * statement. A row another transaction holds, or this one by a lock of
 * its own, is locked as SKIP LOCKED locks it, then leased if that took it.
 * A lock another transaction takes between row_held's look and
 * heap_update is waited for (a rare wait, where SKIP LOCKED would have
 * skipped); after it the row has been updated (TM_Updated: the statement
 * takes it from there, as for any row changed since the snapshot) or
 * only locked (the lease goes on, the row unchanged).
 */
static RowOutcome
lease_found(DurableUpdate *u, Lease *l, TupleTableSlot *slot, TupleTableSlot *locked, MemoryContext outer)
{
	ItemPointerData tid = slot->tts_tid;
	TM_FailureData tmfd;
	TM_Result	lock;

	if (!row_held(slot))
	{
		DurableUpdateFrom(u, slot);
		return lease_row(u, l, outer) ? ROW_LEASED : ROW_BY_STATEMENT;
	}
	ExecClearTuple(slot);
	/* (the statement's lock: FOR UPDATE, SKIP LOCKED, of this version only) */
	lock = table_tuple_lock(u->rel, &tid, GetActiveSnapshot(), locked, GetCurrentCommandId(true),
							LockTupleExclusive, LockWaitSkip, 0, &tmfd);
	if (lock == TM_WouldBlock)
		return ROW_SKIPPED;
	if (lock != TM_Ok)
		return ROW_BY_STATEMENT;
	/* held now: by this transaction alone (its own lock before, or the other's ended) */
	DurableUpdateFrom(u, locked);
	return lease_row(u, l, outer) ? ROW_LEASED : ROW_BY_STATEMENT;
}

/* The leases written directly, in the ready index's order, into l; false: the statement leases the rest. */
static bool
lease_direct(Lease *l)
{
	DurableUpdate u;
	Relation	ready;
	IndexScanDesc scan;
	ScanKeyData keys[2];
	TupleTableSlot *slot;
	TupleTableSlot *locked;
	MemoryContext scratch;
	MemoryContext outer = CurrentMemoryContext;
	bool		done = true;

	/*
	 * (the statement's error in a read-only transaction, or on a standby,
	 * names its FOR UPDATE, which the executor refuses before its UPDATE)
	 */
	PreventCommandIfReadOnly("SELECT FOR UPDATE");
	if (!DurableUpdateBegin(&shape, "activity_tasks", "durable activity lease shape", &u))
		return false;
	ready = index_open(shape.scan_index, RowExclusiveLock);
	ScanKeyEntryInitialize(&keys[0], 0, 1, BTEqualStrategyNumber, InvalidOid, ready->rd_indcollation[0],
						   F_TEXTEQ, l->namespace);
	ScanKeyEntryInitialize(&keys[1], 0, 2, BTEqualStrategyNumber, InvalidOid, ready->rd_indcollation[1],
						   F_TEXTEQ, l->task_queue);
	slot = table_slot_create(u.rel, NULL);
	locked = table_slot_create(u.rel, NULL);
	/* each row's new version, index entries and copies in a context emptied after it */
	scratch = AllocSetContextCreate(CurrentMemoryContext, "durable activity lease", ALLOCSET_DEFAULT_SIZES);
	scan = index_beginscan(u.rel, ready, GetActiveSnapshot(), 2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	while (l->n < l->max && index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		RowOutcome	outcome;

		MemoryContextSwitchTo(scratch);
		outcome = lease_found(&u, l, slot, locked, outer);
		ExecClearTuple(locked);
		MemoryContextSwitchTo(outer);
		MemoryContextReset(scratch);
		if (outcome == ROW_BY_STATEMENT)
		{
			done = false;
			break;
		}
	}
	index_endscan(scan);
	MemoryContextDelete(scratch);
	ExecDropSingleTupleTableSlot(slot);
	ExecDropSingleTupleTableSlot(locked);
	index_close(ready, NoLock);
	DurableUpdateEnd(&u, l->n > 0);
	return done;
}

/* The leases of the rest of the batch, by the statement, into l. */
static void
lease_by_statement(Lease *l)
{
	Oid			types[5] = {TEXTOID, TEXTOID, INT4OID, TEXTOID, TIMESTAMPTZOID};
	Datum		args[5] = {l->namespace, l->task_queue, Int32GetDatum(l->max - l->n), l->identity,
	TimestampTzGetDatum(l->now)};
	char		nulls[5] = {' ', ' ', ' ', l->identity_null ? 'n' : ' ', ' '};
	int			rc;

	SPI_connect();
	rc = SPI_execute_plan(DurableKeptPlan(&fallback_plan, fallback_sql, 5, types), args, nulls, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not run \"%s\": %s", fallback_sql, SPI_result_code_string(rc));
	for (uint64 i = 0; i < SPI_processed && l->n < l->max; i++)
	{
		Leased	   *r = &l->rows[l->n++];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		for (int c = 0; c < O_COLUMNS; c++)
		{
			Form_pg_attribute a = TupleDescAttr(desc, c);
			Datum		d = SPI_getbinval(SPI_tuptable->vals[i], desc, c + 1, &r->nulls[c]);

			r->values[c] = r->nulls[c] ? (Datum) 0 : SPI_datumTransfer(d, a->attbyval, a->attlen);
		}
		r->task_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], desc, O_COLUMNS + 1, &isnull));
	}
	SPI_finish();
}

static int
by_task_id(const void *a, const void *b)
{
	int64		x = ((const Leased *) a)->task_id;
	int64		y = ((const Leased *) b)->task_id;

	return x < y ? -1 : x > y;
}

/*
 * durable._lease_activity_scan(namespace text, task_queue text, max_tasks
 * integer, identity text, now timestamptz) RETURNS TABLE (<the poll's
 * columns>): up to max_tasks ready tasks of the queue, in priority order,
 * leased to identity as poll_activity_tasks' statement leases them, and
 * returned as it returns them (see the top of this file). The caller has
 * checked its arguments and that the queue has no flow limits.
 */
Datum
durable_lease_activity_scan(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Lease		l;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(2) || PG_ARGISNULL(4))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						errmsg("durable._lease_activity_scan needs max_tasks and now")));
	/* (the statement's: no rows for a null queue or namespace, none for LIMIT 0) */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_GETARG_INT32(2) <= 0)
		PG_RETURN_NULL();
	l.namespace = PG_GETARG_DATUM(0);
	l.task_queue = PG_GETARG_DATUM(1);
	l.max = PG_GETARG_INT32(2);
	l.identity_null = PG_ARGISNULL(3);
	l.identity = l.identity_null ? (Datum) 0 : PG_GETARG_DATUM(3);
	l.now = PG_GETARG_TIMESTAMPTZ(4);
	l.rows = palloc(l.max * sizeof(Leased));
	l.n = 0;
	l.earliest = DT_NOEND;
	if (!lease_direct(&l) && l.n < l.max)
		lease_by_statement(&l);
	if (l.earliest != DT_NOEND)
		DirectFunctionCall1(durable_wake_at, TimestampTzGetDatum(l.earliest));
	qsort(l.rows, l.n, sizeof(Leased), by_task_id);
	for (int i = 0; i < l.n; i++)
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, l.rows[i].values, l.rows[i].nulls);
	PG_RETURN_NULL();
}
