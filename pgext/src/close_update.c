/*
 * close_update.c: durable._close_update(run, status, closed_at, result,
 * failure, new_run_id), the update of a run's row that closes it
 * (_close_run, api/04_close.sql), written with the heap and index APIs.
 *
 * The statement
 *     UPDATE durable.workflows SET status = ..., closed_at = ..., result = ...,
 *            failure = ..., deadline_at = NULL, new_run_id = ... WHERE run_id = ...
 * was the largest of a one-activity workflow's (docs/performance.md, "The
 * close, session 9"): besides the row and its index entries (never HOT:
 * status and closed_at are in the visibility indexes), the executor set up
 * for one row the table's nine indexes, their six predicates and the two
 * CHECKs read from their stored text and planned again, on every close.
 * Here the row is found by the primary key, its new version made from the
 * old one with those six columns replaced, checked against the table's
 * CHECKs, written by heap_update, and given an entry in every index whose
 * predicate holds for it, as ExecUpdate and ExecInsertIndexTuples do (with
 * their hint for indexes whose columns the update does not set). The
 * CHECKs and predicates are prepared once per change of the table (a
 * relcache invalidation of it or of an index of it) or of any function.
 * All but the columns it sets is direct_update.c's, which the workflow
 * poll's lease (lease_update.c) shares.
 *
 * Anything else the statement would do sends the close through it, which
 * does it all, as before: the function returns false having written
 * nothing. That is: a trigger that would fire for the UPDATE (an
 * operator's of any column or of one the close sets, a statement trigger,
 * a foreign key's, transition tables; durable's own on search_attributes
 * does not fire for the close), a rule, row security, a partition, a
 * table inheriting from workflows, a generated column, an index on an
 * expression, an exclusion or deferred unique constraint, no primary key
 * on run_id alone, a column missing or of another type, a null where
 * the table refuses one, a CHECK that calls a volatile function, a CHECK
 * that does not hold (the statement's error),
 * an ExecutorCheckPerms_hook, a role without UPDATE and SELECT on the whole
 * table (rights granted by column are the statement's to check), no visible row, and a row that another transaction updated or
 * deleted meanwhile (heap_update's answer other than TM_Ok: the statement
 * then follows the row as READ COMMITTED does, or fails to serialize).
 */
#include "postgres.h"

#include "catalog/pg_type_d.h"
#include "fmgr.h"
#include "utils/fmgroids.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_close_update);

/* The columns the close sets, in the order of the function's arguments after run (deadline_at: NULL). */
static const DurableUpdateColumn set_columns[] = {
	{"status", TEXTOID},
	{"closed_at", TIMESTAMPTZOID},
	{"result", JSONBOID},
	{"failure", JSONBOID},
	{"new_run_id", UUIDOID},
	{"deadline_at", TIMESTAMPTZOID},
};

#define SET_COLUMNS lengthof(set_columns)

/* What a close needs of the table, read once per change of it (direct_update.c). */
static DurableUpdateShape shape = {
	.key = {"run_id", UUIDOID, F_UUID_EQ},
	.ncolumns = SET_COLUMNS,
	.columns = set_columns,
};

/* The close's update, written directly; false (nothing written) if the statement must write it. */
static bool
update_direct(FunctionCallInfo fcinfo)
{
	DurableUpdate u;
	bool		written = false;

	/* run, status and closed_at are never null in a close: the statement says what is wrong */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) ||
		!DurableUpdateBegin(&shape, "workflows", "durable close shape", &u))
		return false;
	if (DurableUpdateFind(&shape, &u, PG_GETARG_DATUM(0)))
	{
		for (int c = 0; c < SET_COLUMNS; c++)
		{
			int			i = shape.att[c] - 1;
			int			arg = c + 1;

			u.nulls[i] = arg >= PG_NARGS() || PG_ARGISNULL(arg);
			u.values[i] = u.nulls[i] ? (Datum) 0 : PG_GETARG_DATUM(arg);
		}
		/* (the visibility indexes, on status and closed_at, rule out a HOT update today) */
		written = DurableUpdateRow(&shape, &u);
	}
	DurableUpdateEnd(&u, written);
	return written;
}

/*
 * durable._close_update(run uuid, status text, closed_at timestamptz,
 * result jsonb, failure jsonb, new_run_id uuid) RETURNS boolean: the run's
 * row closed as _close_run's UPDATE closes it (deadline_at set to null);
 * false, with nothing written, when that statement must do it (see the top
 * of this file).
 */
Datum
durable_close_update(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(update_direct(fcinfo));
}
