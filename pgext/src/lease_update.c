/*
 * lease_update.c: durable._lease_workflow_tasks(ids, fences, starteds,
 * timeouts, identity, build_id, now), the workflow poll's lease of the
 * tasks it took (poll_workflow_tasks, api/05_workflow_tasks.sql), written
 * with the heap and index APIs, as close_update.c writes the close.
 *
 * The statement
 *     UPDATE durable.workflow_tasks wt
 *        SET state = 'STARTED', fence = c.fence + 1, started_event_id = c.started,
 *            identity = $identity, build_id = $build_id, started_at = now,
 *            timeout_at = now + c.task_timeout
 *       FROM unnest(ids, fences, starteds, timeouts) AS c(task_id, fence, started, task_timeout)
 *      WHERE wt.task_id = c.task_id
 * was 12 µs of the store floor's ~190 per workflow in one backend, two
 * leases a workflow (docs/performance.md, "The workflow poll's lease"):
 * the executor set up the join and the table's six indexes for a batch,
 * and per row read the CHECK, evaluated durable's placing trigger's WHEN
 * and made the new version's entries. Here each task's row is found by the
 * primary key, its new version made from the old one with those seven
 * columns replaced, checked against the table's CHECKs, written by
 * heap_update, and given an entry in every index whose predicate holds for
 * it (never HOT: state is in the ready indexes' predicates and timeout_at
 * is the deadline index's column), with the executor's hint for indexes
 * whose columns the update does not set. The CHECKs and predicates are
 * prepared once per change of the table. All but the columns it sets and
 * the trigger it knows is direct_update.c's, which the close shares.
 *
 * The tasks are written in the arrays' order; the answer is how many, from
 * the first, were written. The caller's statement leases the rest, which
 * is all of them wherever it would do more or otherwise than this: a
 * trigger that would fire for the UPDATE (an operator's of any column or
 * of one the lease sets, a statement trigger, a foreign key's, transition
 * tables; durable's own workflow_task_pass_again does not fire, its WHEN
 * asking for NEW.state = 'SCHEDULED'), a rule, row security, a partition,
 * a table inheriting from workflow_tasks, a generated column, an index on
 * an expression, an exclusion or deferred unique constraint, no primary key
 * on task_id alone, a column missing or of another type, a CHECK that
 * calls a volatile function, an ExecutorCheckPerms_hook, a role without
 * UPDATE and SELECT on the whole table, arrays that are not the poll's
 * (null, of other lengths or dimensions, a null id or fence, an id twice).
 * From a task on, the statement leases that task and those after it: a
 * fence at the largest bigint (the statement's "bigint out of range"), a
 * CHECK that does not hold (the statement's error), no visible row, and a
 * row that another transaction updated or deleted meanwhile (heap_update's
 * answer other than TM_Ok: the statement then follows the row as READ
 * COMMITTED does, or fails to serialize).
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/genam.h"
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "nodes/primnodes.h"
#include "rewrite/prs2lock.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_lease_workflow_tasks);

/* The columns the lease sets. */
enum
{
	SET_STATE,
	SET_FENCE,
	SET_STARTED_EVENT_ID,
	SET_IDENTITY,
	SET_BUILD_ID,
	SET_STARTED_AT,
	SET_TIMEOUT_AT,
	SET_COLUMNS
};
static const DurableUpdateColumn set_columns[SET_COLUMNS] = {
	[SET_STATE] = {"state", TEXTOID},
	[SET_FENCE] = {"fence", INT8OID},
	[SET_STARTED_EVENT_ID] = {"started_event_id", INT8OID},
	[SET_IDENTITY] = {"identity", TEXTOID},
	[SET_BUILD_ID] = {"build_id", TEXTOID},
	[SET_STARTED_AT] = {"started_at", TIMESTAMPTZOID},
	[SET_TIMEOUT_AT] = {"timeout_at", TIMESTAMPTZOID},
};

/* What a lease needs of the table, read once per change of it (direct_update.c). */
static DurableUpdateShape shape = {
	.key = {"task_id", INT8OID, F_INT8EQ},
	.ncolumns = SET_COLUMNS,
	.columns = set_columns,
	.never_fires = DurableNeverFiresOnState,	/* (workflow_task_pass_again: its WHEN asks for NEW.state = 'SCHEDULED') */
	.state_column = SET_STATE,
	.state_value = "STARTED",
};

/* The poll's arrays, read: false when they are not as the poll makes them (the statement's, then). */
typedef struct LeaseArgs
{
	int			n;
	Datum	   *ids;
	Datum	   *fences;
	Datum	   *starteds;
	bool	   *starteds_null;
	Datum	   *timeouts;
	bool	   *timeouts_null;
	Datum		identity;
	bool		identity_null;
	Datum		build_id;
	bool		build_id_null;
	TimestampTz now;
} LeaseArgs;

static bool
read_array(FunctionCallInfo fcinfo, int arg, Oid type, int len, bool byval, char align, Datum **values,
		   bool **nulls, int *n)
{
	ArrayType  *a;
	int			count;

	if (PG_ARGISNULL(arg))
		return false;
	a = PG_GETARG_ARRAYTYPE_P(arg);
	if (ARR_ELEMTYPE(a) != type || ARR_NDIM(a) > 1)
		return false;
	deconstruct_array(a, type, len, byval, align, values, nulls, &count);
	if (*n >= 0 && count != *n)
		return false;
	*n = count;
	return true;
}

static bool
read_args(FunctionCallInfo fcinfo, LeaseArgs *args)
{
	bool	   *ids_null;
	bool	   *fences_null;

	args->n = -1;
	if (!read_array(fcinfo, 0, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &args->ids, &ids_null,
					&args->n) ||
		!read_array(fcinfo, 1, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &args->fences,
					&fences_null, &args->n) ||
		!read_array(fcinfo, 2, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &args->starteds,
					&args->starteds_null, &args->n) ||
		!read_array(fcinfo, 3, INTERVALOID, sizeof(Interval), false, TYPALIGN_DOUBLE, &args->timeouts,
					&args->timeouts_null, &args->n))
		return false;
	/* now, null: started_at and timeout_at null (the statement's, as are ids and fences null) */
	if (PG_ARGISNULL(6))
		return false;
	args->identity_null = PG_ARGISNULL(4);
	args->identity = args->identity_null ? (Datum) 0 : PG_GETARG_DATUM(4);
	args->build_id_null = PG_ARGISNULL(5);
	args->build_id = args->build_id_null ? (Datum) 0 : PG_GETARG_DATUM(5);
	args->now = PG_GETARG_TIMESTAMPTZ(6);
	for (int i = 0; i < args->n; i++)
	{
		if (ids_null[i] || fences_null[i])
			return false;
		/* (an id twice: the statement updates its row once) */
		for (int j = 0; j < i; j++)
			if (DatumGetInt64(args->ids[j]) == DatumGetInt64(args->ids[i]))
				return false;
	}
	return true;
}

/* Task i's lease, written directly; false (nothing written) if the statement must write it. */
static bool
lease_one(DurableUpdate *u, const LeaseArgs *args, int i)
{
	int64		fence = DatumGetInt64(args->fences[i]);

	if (fence == PG_INT64_MAX || !DurableUpdateFind(&shape, u, args->ids[i]))
		return false;
#define SET(c, value, isnull) (u->values[shape.att[c] - 1] = (value), u->nulls[shape.att[c] - 1] = (isnull))
	SET(SET_STATE, CStringGetTextDatum("STARTED"), false);
	SET(SET_FENCE, Int64GetDatum(fence + 1), false);
	SET(SET_STARTED_EVENT_ID, args->starteds_null[i] ? (Datum) 0 : args->starteds[i], args->starteds_null[i]);
	SET(SET_IDENTITY, args->identity, args->identity_null);
	SET(SET_BUILD_ID, args->build_id, args->build_id_null);
	SET(SET_STARTED_AT, TimestampTzGetDatum(args->now), false);
	/* (the statement's + of timestamptz and interval: the session's time zone, its error when out of range) */
	SET(SET_TIMEOUT_AT, args->timeouts_null[i] ? (Datum) 0 :
		DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(args->now), args->timeouts[i]),
		args->timeouts_null[i]);
#undef SET
	/* (never HOT: state is in the ready indexes' predicates, timeout_at the deadline index's column) */
	return DurableUpdateRow(&shape, u);
}

/* The leases written directly, from the first task: how many. */
static int
lease_direct(const LeaseArgs *args)
{
	DurableUpdate u;
	int			written = 0;

	MemoryContext scratch;
	MemoryContext outer;

	if (args->n == 0 || !DurableUpdateBegin(&shape, "workflow_tasks", "durable lease shape", &u))
		return 0;
	/* each row's new version, probes and index entries in a context emptied after it */
	scratch = AllocSetContextCreate(CurrentMemoryContext, "durable lease", ALLOCSET_DEFAULT_SIZES);
	outer = MemoryContextSwitchTo(scratch);
	while (written < args->n && lease_one(&u, args, written))
	{
		written++;
		MemoryContextReset(scratch);
	}
	MemoryContextSwitchTo(outer);
	MemoryContextDelete(scratch);
	DurableUpdateEnd(&u, written > 0);
	return written;
}

/*
 * durable._lease_workflow_tasks(ids bigint[], fences bigint[], starteds
 * bigint[], timeouts interval[], identity text, build_id text, now
 * timestamptz) RETURNS integer: the tasks leased as poll_workflow_tasks'
 * UPDATE leases them, from the first, and how many; the caller's statement
 * leases the rest (see the top of this file).
 */
Datum
durable_lease_workflow_tasks(PG_FUNCTION_ARGS)
{
	LeaseArgs	args;

	PG_RETURN_INT32(read_args(fcinfo, &args) ? lease_direct(&args) : 0);
}

/*
 * The poll's scan (durable._lease_scan): the tasks it picked, read again now
 * that their runs are locked, each one's WorkflowTaskStarted appended and
 * all leased, in C instead of a statement and a plpgsql loop per task.
 */
PG_FUNCTION_INFO_V1(durable_lease_scan);

extern Datum durable_append(PG_FUNCTION_ARGS);
extern Datum durable_wake_at(PG_FUNCTION_ARGS);

/* the re-read as the poll's statement, where a direct read would not see what it sees */
static const char *reread_sql =
"SELECT x.task_id, x.run_id, x.fence, x.attempt, x.scheduled_event_id, x.workflow_id, x.workflow_type, x.task_timeout"
"  FROM unnest($1) WITH ORDINALITY p(task_id, ord)"
" CROSS JOIN LATERAL ("
"       SELECT wt.task_id, wt.run_id, wt.fence, wt.attempt, wt.scheduled_event_id,"
"              w.workflow_id, w.workflow_type, w.task_timeout"
"         FROM durable.workflow_tasks wt JOIN durable.workflows w ON w.run_id = wt.run_id"
"        WHERE wt.task_id = p.task_id AND wt.state = 'SCHEDULED' OFFSET 0) x"
" ORDER BY p.ord";
static SPIPlanPtr reread_plan;
/* the lease as the poll's statement, for the tasks the direct update left */
static const char *update_sql =
"UPDATE durable.workflow_tasks wt"
"   SET state = 'STARTED', fence = c.fence + 1, started_event_id = c.started, identity = $5,"
"       build_id = $6, started_at = $7, timeout_at = $7 + c.task_timeout"
"  FROM unnest($1, $2, $3, $4) AS c(task_id, fence, started, task_timeout)"
" WHERE wt.task_id = c.task_id";
static SPIPlanPtr update_plan;

/* A scan's task, read again. */
typedef struct ScanTask
{
	Datum		task_id;
	Datum		run;			/* uuid */
	Datum		fence;
	Datum		attempt;
	Datum		scheduled;
	bool		scheduled_null;
	Datum		workflow_id;
	Datum		workflow_type;
	Datum		timeout;
	bool		timeout_null;
} ScanTask;

/* the tables the re-read probes, and the columns it reads (probed_table.c: found once per change of each) */
enum
{
	WT_STATE, WT_RUN, WT_FENCE, WT_ATTEMPT, WT_SCHEDULED
};
static DurableProbedTable tasks_table = {
	"workflow_tasks", 1, {"task_id"}, {INT8OID}, {F_INT8EQ},
	5, {"state", "run_id", "fence", "attempt", "scheduled_event_id"}, {TEXTOID, UUIDOID, INT8OID, INT4OID, INT8OID},
	ACL_SELECT
};
enum
{
	W_WORKFLOW_ID, W_WORKFLOW_TYPE, W_TASK_TIMEOUT
};
static DurableProbedTable runs_table = {
	"workflows", 1, {"run_id"}, {UUIDOID}, {F_UUID_EQ},
	3, {"workflow_id", "workflow_type", "task_timeout"}, {TEXTOID, TEXTOID, INTERVALOID}, ACL_SELECT
};

/* column c of t's row in slot, copied out of it (text, uuid and interval by reference) */
static Datum
column(const DurableProbedTable *t, Relation rel, TupleTableSlot *slot, int c, bool *isnull)
{
	Form_pg_attribute a = TupleDescAttr(RelationGetDescr(rel), t->atts[c] - 1);
	Datum		value = slot_getattr(slot, t->atts[c], isnull);

	return *isnull ? (Datum) 0 : datumCopy(value, a->attbyval, a->attlen);
}

/*
 * The picked tasks still SCHEDULED, with their runs' id, type and task
 * timeout, in the picked order, read by the primary keys; false when the
 * statement must read them.
 */
static bool
reread_direct(Datum *picked, bool *picked_null, int n, ScanTask *tasks, int *found)
{
	Relation	wt = DurableOpenProbed(&tasks_table, AccessShareLock);
	Relation	w = wt == NULL ? NULL : DurableOpenProbed(&runs_table, AccessShareLock);
	Relation	wt_key;
	Relation	w_key;
	TupleTableSlot *wt_slot;
	TupleTableSlot *w_slot;
	MemoryContext scratch;
	MemoryContext outer = CurrentMemoryContext;

	if (w == NULL)
	{
		if (wt != NULL)
			table_close(wt, AccessShareLock);
		return false;
	}
	wt_key = index_open(tasks_table.lookup.index, AccessShareLock);
	w_key = index_open(runs_table.lookup.index, AccessShareLock);
	wt_slot = table_slot_create(wt, NULL);
	w_slot = table_slot_create(w, NULL);
	scratch = AllocSetContextCreate(CurrentMemoryContext, "durable lease scan", ALLOCSET_DEFAULT_SIZES);

	*found = 0;
	for (int i = 0; i < n; i++)
	{
		ScanTask   *t = &tasks[*found];
		bool		isnull;
		Datum		state;
		Datum		run;
		bool		read;

		/* (the probes' scans in a context emptied after each task; the columns kept copied outside it) */
		MemoryContextSwitchTo(scratch);
		read = !picked_null[i] && DurableProbeIndex(wt, wt_key, tasks_table.eqs[0], picked[i], GetActiveSnapshot(), wt_slot);
		if (read)
		{
			state = slot_getattr(wt_slot, tasks_table.atts[WT_STATE], &isnull);
			read = !isnull && VARSIZE_ANY_EXHDR(DatumGetPointer(state)) == strlen("SCHEDULED") &&
				memcmp(VARDATA_ANY(DatumGetPointer(state)), "SCHEDULED", strlen("SCHEDULED")) == 0;
		}
		/* (run_id is NOT NULL; a null would join no run) */
		if (read)
			run = slot_getattr(wt_slot, tasks_table.atts[WT_RUN], &isnull);
		read = read && !isnull && DurableProbeIndex(w, w_key, runs_table.eqs[0], run, GetActiveSnapshot(), w_slot);
		MemoryContextSwitchTo(outer);
		if (read)
		{
			t->task_id = picked[i];
			t->run = column(&tasks_table, wt, wt_slot, WT_RUN, &isnull);
			t->fence = column(&tasks_table, wt, wt_slot, WT_FENCE, &isnull);
			t->attempt = column(&tasks_table, wt, wt_slot, WT_ATTEMPT, &isnull);
			t->scheduled = column(&tasks_table, wt, wt_slot, WT_SCHEDULED, &t->scheduled_null);
			t->workflow_id = column(&runs_table, w, w_slot, W_WORKFLOW_ID, &isnull);
			t->workflow_type = column(&runs_table, w, w_slot, W_WORKFLOW_TYPE, &isnull);
			t->timeout = column(&runs_table, w, w_slot, W_TASK_TIMEOUT, &t->timeout_null);
			(*found)++;
		}
		ExecClearTuple(wt_slot);
		ExecClearTuple(w_slot);
		MemoryContextReset(scratch);
	}
	MemoryContextDelete(scratch);
	ExecDropSingleTupleTableSlot(wt_slot);
	ExecDropSingleTupleTableSlot(w_slot);
	index_close(wt_key, AccessShareLock);
	index_close(w_key, AccessShareLock);
	table_close(w, AccessShareLock);
	table_close(wt, AccessShareLock);
	return true;
}

static void
reread_by_statement(Datum picked, ScanTask *tasks, int *found)
{
	Oid			type = INT8ARRAYOID;
	int			rc;

	SPI_connect();
	rc = SPI_execute_plan(DurableKeptPlan(&reread_plan, reread_sql, 1, &type), &picked, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not run \"%s\": %s", reread_sql, SPI_result_code_string(rc));
	*found = 0;
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	row = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		ScanTask   *t = &tasks[(*found)++];
		bool		isnull;

#define GET(col, byval, len) SPI_datumTransfer(SPI_getbinval(row, desc, col, &isnull), byval, len)
		t->task_id = GET(1, FLOAT8PASSBYVAL, 8);
		t->run = GET(2, false, UUID_LEN);
		t->fence = GET(3, FLOAT8PASSBYVAL, 8);
		t->attempt = GET(4, true, 4);
		t->scheduled = SPI_getbinval(row, desc, 5, &t->scheduled_null);
		t->workflow_id = GET(6, false, -1);
		t->workflow_type = GET(7, false, -1);
		t->timeout = SPI_getbinval(row, desc, 8, &t->timeout_null);
		if (!t->timeout_null)
			t->timeout = SPI_datumTransfer(t->timeout, false, sizeof(Interval));
#undef GET
	}
	SPI_finish();
}

/* jsonb_build_object('scheduled_event_id', ..., 'identity', ..., 'attempt', ...) || _build_id_attrs(build_id) */
static Jsonb *
started_attributes(const ScanTask *t, const LeaseArgs *args)
{
	JsonbParseState *state = NULL;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	DurableJsonbPushKey(&state, "scheduled_event_id");
	DurableJsonbPushInt64(&state, DatumGetInt64(t->scheduled));
	DurableJsonbPushKey(&state, "identity");
	DurableJsonbPushText(&state, args->identity_null ? NULL : DatumGetTextPP(args->identity));
	DurableJsonbPushKey(&state, "attempt");
	DurableJsonbPushInt64(&state, DatumGetInt32(t->attempt));
	if (!args->build_id_null)
	{
		DurableJsonbPushKey(&state, "build_id");
		DurableJsonbPushText(&state, DatumGetTextPP(args->build_id));
	}
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
}

static Datum
array_of(const Datum *values, const bool *nulls, int n, Oid type)
{
	int16		len;
	bool		byval;
	char		align;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(type, &len, &byval, &align);
	return PointerGetDatum(construct_md_array((Datum *) values, (bool *) nulls, 1, dims, lbs, type, len, byval, align));
}

/* The leases from task from on, by the poll's UPDATE statement. */
static void
lease_by_statement(const LeaseArgs *args, int from)
{
	int			n = args->n - from;
	bool	   *no_nulls = palloc0(Max(n, 1) * sizeof(bool));
	Oid			types[7] = {INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INTERVALARRAYOID, TEXTOID, TEXTOID,
	TIMESTAMPTZOID};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', args->identity_null ? 'n' : ' ', args->build_id_null ? 'n' : ' ', ' '};

	values[0] = array_of(args->ids + from, no_nulls, n, INT8OID);
	values[1] = array_of(args->fences + from, no_nulls, n, INT8OID);
	values[2] = array_of(args->starteds + from, args->starteds_null + from, n, INT8OID);
	values[3] = array_of(args->timeouts + from, args->timeouts_null + from, n, INTERVALOID);
	values[4] = args->identity;
	values[5] = args->build_id;
	values[6] = TimestampTzGetDatum(args->now);
	DurableRunStatement(&update_plan, update_sql, 7, types, values, nulls, false, 0, SPI_OK_UPDATE, NULL, NULL);
}

/*
 * durable._lease_scan(picked bigint[], identity text, build_id text, now
 * timestamptz, cached jsonb, sticky text) RETURNS TABLE (task_id bigint,
 * run_id uuid, fence bigint, attempt integer, started_event_id bigint,
 * workflow_id text, workflow_type text, history jsonb): of the tasks a
 * poll's scan picked (their runs locked), those still SCHEDULED, read
 * again, each one's WorkflowTaskStarted appended (not for a transient
 * attempt: no scheduled event), all leased to identity, the earliest
 * deadline announced (_wake_at), and each one's history as the poll sends
 * it (_history_json_sticky after the events cached names, or the sticky
 * mark); in the picked order, fence as it was before the lease. What
 * poll_workflow_tasks' statements and loop did per task.
 */
Datum
durable_lease_scan(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArrayType  *picked_array;
	Datum	   *picked;
	bool	   *picked_null;
	int			n;
	ScanTask   *tasks;
	int			found;
	LeaseArgs	args;
	TimestampTz earliest = PG_INT64_MAX;
	int			direct;
	Jsonb	   *cached = PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4);
	MemoryContext scratch;

	InitMaterializedSRF(fcinfo, 0);
	scratch = AllocSetContextCreate(CurrentMemoryContext, "durable lease scan task", ALLOCSET_DEFAULT_SIZES);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(3))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("durable._lease_scan needs picked and now")));
	picked_array = PG_GETARG_ARRAYTYPE_P(0);
	deconstruct_array(picked_array, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &picked, &picked_null,
					  &n);
	tasks = palloc(Max(n, 1) * sizeof(ScanTask));
	/* the re-read under a statement's snapshot, as the poll's statement read them */
	PushActiveSnapshot(GetTransactionSnapshot());
	CommandCounterIncrement();
	UpdateActiveSnapshotCommandId();
	if (!reread_direct(picked, picked_null, n, tasks, &found))
		reread_by_statement(PG_GETARG_DATUM(0), tasks, &found);
	PopActiveSnapshot();

	args.n = found;
	args.ids = palloc(Max(found, 1) * sizeof(Datum));
	args.fences = palloc(Max(found, 1) * sizeof(Datum));
	args.starteds = palloc(Max(found, 1) * sizeof(Datum));
	args.starteds_null = palloc(Max(found, 1) * sizeof(bool));
	args.timeouts = palloc(Max(found, 1) * sizeof(Datum));
	args.timeouts_null = palloc(Max(found, 1) * sizeof(bool));
	args.identity_null = PG_ARGISNULL(1);
	args.identity = args.identity_null ? (Datum) 0 : PG_GETARG_DATUM(1);
	args.build_id_null = PG_ARGISNULL(2);
	args.build_id = args.build_id_null ? (Datum) 0 : PG_GETARG_DATUM(2);
	args.now = PG_GETARG_TIMESTAMPTZ(3);
	for (int i = 0; i < found; i++)
	{
		ScanTask   *t = &tasks[i];

		args.ids[i] = t->task_id;
		args.fences[i] = t->fence;
		args.timeouts[i] = t->timeout;
		args.timeouts_null[i] = t->timeout_null;
		/* a transient attempt (see _reschedule_workflow_task) writes no event now */
		args.starteds_null[i] = t->scheduled_null;
		args.starteds[i] = (Datum) 0;
		if (!t->scheduled_null)
		{
			/* (the append's memory emptied after it: the event id is by value) */
			MemoryContext outer = MemoryContextSwitchTo(scratch);

			args.starteds[i] = DirectFunctionCall3(durable_append, t->run, CStringGetTextDatum("WorkflowTaskStarted"),
												   JsonbPGetDatum(started_attributes(t, &args)));
			MemoryContextSwitchTo(outer);
			MemoryContextReset(scratch);
		}
		if (!t->timeout_null)
		{
			TimestampTz deadline = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
																		   TimestampTzGetDatum(args.now), t->timeout));

			earliest = Min(earliest, deadline);
		}
	}
	direct = lease_direct(&args);
	if (direct < found)
		lease_by_statement(&args, direct);
	if (earliest != PG_INT64_MAX)
		DirectFunctionCall1(durable_wake_at, TimestampTzGetDatum(earliest));
	/* the histories read now, as the poll's next statement read them */
	PushActiveSnapshot(GetTransactionSnapshot());
	CommandCounterIncrement();
	UpdateActiveSnapshotCommandId();
	for (int i = 0; i < found; i++)
	{
		/* (each history in memory emptied once the tuplestore holds its copy) */
		MemoryContext outer = MemoryContextSwitchTo(scratch);
		bool		nulls[8] = {false, false, false, false, args.starteds_null[i], false, false, false};
		Datum		values[8] = {tasks[i].task_id, tasks[i].run, tasks[i].fence, tasks[i].attempt, args.starteds[i],
			tasks[i].workflow_id, tasks[i].workflow_type,
			DurableHistorySticky(tasks[i].run, DurableCachedEvent((struct varlena *) cached, tasks[i].run),
								 PG_ARGISNULL(5) ? (Datum) 0 : PG_GETARG_DATUM(5), PG_ARGISNULL(5), &nulls[7])};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(outer);
		MemoryContextReset(scratch);
	}
	MemoryContextDelete(scratch);
	PopActiveSnapshot();
	PG_RETURN_NULL();
}
