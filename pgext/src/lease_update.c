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

#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "nodes/primnodes.h"
#include "rewrite/prs2lock.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

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

/*
 * Whether qual (a trigger's WHEN, or one of its AND's arms) is false for
 * every row the lease writes: NEW.state = '<a state other than STARTED>',
 * compared by texteq (the lease sets state to 'STARTED'), as durable's
 * workflow_task_pass_again's WHEN (NEW.state = 'SCHEDULED' AND OLD.state <>
 * 'SCHEDULED') begins.
 */
static bool
false_for_lease(const DurableUpdateShape *s, Node *qual)
{
	OpExpr	   *op;
	Var		   *var;
	Const	   *value;

	if (IsA(qual, BoolExpr) && ((BoolExpr *) qual)->boolop == AND_EXPR)
	{
		ListCell   *lc;

		foreach(lc, ((BoolExpr *) qual)->args)
			if (false_for_lease(s, lfirst(lc)))
				return true;
		return false;
	}
	if (!IsA(qual, OpExpr))
		return false;
	op = (OpExpr *) qual;
	if (get_opcode(op->opno) != F_TEXTEQ || list_length(op->args) != 2 ||
		!IsA(linitial(op->args), Var) || !IsA(lsecond(op->args), Const))
		return false;
	var = linitial(op->args);
	value = lsecond(op->args);
	return var->varno == PRS2_NEW_VARNO && var->varattno == s->att[SET_STATE] && var->varlevelsup == 0 &&
		value->consttype == TEXTOID && !value->constisnull &&
		!DatumGetBool(DirectFunctionCall2Coll(texteq, op->inputcollid, value->constvalue,
											  CStringGetTextDatum("STARTED")));
}

/* (the shape's never_fires) a row trigger whose WHEN no leased row meets */
static bool
never_fires_on_lease(DurableUpdateShape *s, const Trigger *trigger)
{
	return trigger->tgqual != NULL && false_for_lease(s, stringToNode(trigger->tgqual));
}

/* What a lease needs of the table, read once per change of it (direct_update.c). */
static DurableUpdateShape shape = {
	.key = {"task_id", INT8OID, F_INT8EQ},
	.ncolumns = SET_COLUMNS,
	.columns = set_columns,
	.never_fires = never_fires_on_lease,
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
lease_one(FunctionCallInfo fcinfo, DurableUpdate *u, const LeaseArgs *args, int i)
{
	int64		fence = DatumGetInt64(args->fences[i]);
	TimestampTz now = PG_GETARG_TIMESTAMPTZ(6);

	if (fence == PG_INT64_MAX || !DurableUpdateFind(&shape, u, args->ids[i]))
		return false;
#define SET(c, value, isnull) (u->values[shape.att[c] - 1] = (value), u->nulls[shape.att[c] - 1] = (isnull))
	SET(SET_STATE, CStringGetTextDatum("STARTED"), false);
	SET(SET_FENCE, Int64GetDatum(fence + 1), false);
	SET(SET_STARTED_EVENT_ID, args->starteds_null[i] ? (Datum) 0 : args->starteds[i], args->starteds_null[i]);
	SET(SET_IDENTITY, PG_ARGISNULL(4) ? (Datum) 0 : PG_GETARG_DATUM(4), PG_ARGISNULL(4));
	SET(SET_BUILD_ID, PG_ARGISNULL(5) ? (Datum) 0 : PG_GETARG_DATUM(5), PG_ARGISNULL(5));
	SET(SET_STARTED_AT, TimestampTzGetDatum(now), false);
	/* (the statement's + of timestamptz and interval: the session's time zone, its error when out of range) */
	SET(SET_TIMEOUT_AT, args->timeouts_null[i] ? (Datum) 0 :
		DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(now), args->timeouts[i]),
		args->timeouts_null[i]);
#undef SET
	/* (never HOT: state is in the ready indexes' predicates, timeout_at the deadline index's column) */
	return DurableUpdateRow(&shape, u);
}

/* The leases written directly, from the first task: how many. */
static int
lease_direct(FunctionCallInfo fcinfo)
{
	LeaseArgs	args;
	DurableUpdate u;
	int			written = 0;

	if (!read_args(fcinfo, &args) || args.n == 0 ||
		!DurableUpdateBegin(&shape, "workflow_tasks", "durable lease shape", &u))
		return 0;
	while (written < args.n && lease_one(fcinfo, &u, &args, written))
		written++;
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
	PG_RETURN_INT32(lease_direct(fcinfo));
}
