/*
 * run_insert.c: durable._insert_run(run_id, namespace, workflow_id, ...),
 * the insert of a new run's row (_create_run, api/03_start.sql), written
 * with the heap and index APIs.
 *
 * The statement
 *     INSERT INTO durable.workflows (...) VALUES (...)
 *     ON CONFLICT (namespace, workflow_id) WHERE status = 'RUNNING' DO NOTHING
 *     RETURNING run_id
 * was a third of a start's CPU (docs/performance.md, "The start and the
 * workflow poll, session 10"): for one row the executor set up the table's
 * eleven indexes, read its two CHECKs from their stored text and planned
 * them again, and inferred the arbiter index, on every start. Here the row
 * is made from the arguments and the defaults of the other columns (which
 * must be constants), checked against the table's CHECKs, and inserted as
 * the executor inserts with ON CONFLICT DO NOTHING: speculatively (a
 * speculative token, so that a concurrent start of the same id waits for
 * this insert alone, not this transaction), its entry in the arbiter index
 * workflows_one_open_run first with a partial unique check, then, with no
 * conflict, the other indexes' entries (each whose predicate holds) and the
 * insert confirmed. The CHECKs, predicates and indexes are read once per
 * change of the table or of an index of it (relcache_watch.c) or of any
 * function.
 *
 * A possible conflict (an open run of the id, committed or not) is not
 * decided here: the speculative row is taken back (as the executor takes it
 * back before it waits and tries again) and the statement decides (kept
 * prepared here: insert_by_statement), waiting for the other start as it
 * would have. So does anything else the statement would do: the direct
 * write declines having written nothing, and the statement runs. That is:
 * an insert trigger (durable's own, workflows_index_search_attributes_insert,
 * fires only for search attributes other than '{}', and the row is
 * written here only when they are '{}'), a rule, row security, a partition,
 * a CHECK calling a volatile function (DurableReadChecks),
 * a column missing or of another type (or with a type modifier), a
 * generated or identity column, a
 * default that is not a constant, a column of a domain that the row leaves
 * out, an index on an expression, an exclusion
 * or deferred unique constraint, another unique index on the id's columns
 * or no arbiter index as the schema makes it, a null where the table
 * refuses one, a CHECK that does not hold (the statement's error), an
 * ExecutorCheckPerms_hook, a role without INSERT and SELECT on the table,
 * and session_replication_role = replica.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_trigger_d.h"
#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "rewrite/prs2lock.h"
#include "rewrite/rewriteHandler.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_insert_run);

/* The columns the function is given, in the order of its arguments (api/86_run_insert.sql). */
static const struct
{
	const char *name;
	Oid			type;
}			arg_columns[] = {
	{"run_id", UUIDOID},
	{"namespace", TEXTOID},
	{"workflow_id", TEXTOID},
	{"workflow_type", TEXTOID},
	{"task_queue", TEXTOID},
	{"input", JSONBOID},
	{"memo", JSONBOID},
	{"search_attributes", JSONBOID},
	{"first_run_id", UUIDOID},
	{"continued_from_run_id", UUIDOID},
	{"parent_run_id", UUIDOID},
	{"parent_workflow_id", TEXTOID},
	{"parent_initiated_event_id", INT8OID},
	{"parent_close_policy", TEXTOID},
	{"execution_started_at", TIMESTAMPTZOID},
	{"started_at", TIMESTAMPTZOID},
	{"execution_timeout", INTERVALOID},
	{"run_timeout", INTERVALOID},
	{"task_timeout", INTERVALOID},
	{"deadline_at", TIMESTAMPTZOID},
	{"request_id", TEXTOID},
	{"start_delay", INTERVALOID},
	{"priority", INT2OID},
	{"fairness_key", TEXTOID},
	{"fairness_weight", FLOAT8OID},
	{"attempt", INT4OID},
	{"retry_policy", JSONBOID},
};

#define ARGS lengthof(arg_columns)
#define ARG_NAMESPACE 1
#define ARG_WORKFLOW_ID 2
#define ARG_SEARCH_ATTRIBUTES 7
#define MAX_INDEXES 32
#define MAX_CHECKS 16

/* What an insert of a run needs of the table, read once per change of it. */
typedef struct RunShape
{
	DurableShape base;			/* plain: the direct insert does what the statement would; its memory holds all */
	AttrNumber	att[ARGS];
	int			natts;
	Datum	   *fixed;			/* every column's default (natts), the given ones' unused */
	bool	   *fixed_null;
	bool		guarded;		/* durable's trigger: written here only when search attributes are '{}' */
	int			arbiter;		/* workflows_one_open_run's place in indexes */
	DurableDirectIndex indexes[MAX_INDEXES];
	int			nchecks;
	ExprState  *checks[MAX_CHECKS];
} RunShape;

static RunShape shape;

static int
given_column(const RunShape *s, AttrNumber attnum)
{
	for (int c = 0; c < ARGS; c++)
		if (s->att[c] == attnum)
			return c;
	return -1;
}

/*
 * The columns: each given one present with its type; every other one has a
 * default that is a constant (or none: null), as the statement would give it.
 */
static bool
read_columns(Relation rel, RunShape *s)
{
	TupleDesc	desc = RelationGetDescr(rel);

	s->natts = desc->natts;
	for (int c = 0; c < ARGS; c++)
	{
		s->att[c] = get_attnum(RelationGetRelid(rel), arg_columns[c].name);
		if (s->att[c] <= 0 || !DurableColumnTakes(TupleDescAttr(desc, s->att[c] - 1), arg_columns[c].type))
			return false;
	}
	s->fixed = palloc0(desc->natts * sizeof(Datum));
	s->fixed_null = palloc(desc->natts * sizeof(bool));
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Node	   *expr;

		s->fixed_null[i] = true;
		if (att->attisdropped)
			continue;
		if (att->attidentity || att->attgenerated)
			return false;
		if (given_column(s, att->attnum) >= 0)
			continue;
		/*
		 * (a domain: the executor coerces the column's null or default to
		 * it, checking its constraints, which an ALTER DOMAIN changes with
		 * no change of the table to tell this shape)
		 */
		if (get_typtype(att->atttypid) == TYPTYPE_DOMAIN)
			return false;
		expr = build_column_default(rel, att->attnum);
		if (expr == NULL)
			continue;
		expr = (Node *) expression_planner((Expr *) expr);
		if (!IsA(expr, Const))
			return false;
		s->fixed_null[i] = ((Const *) expr)->constisnull;
		if (!s->fixed_null[i])
			s->fixed[i] = datumCopy(((Const *) expr)->constvalue, att->attbyval, att->attlen);
	}
	return true;
}

/* Whether jsonb is the empty object, '{}' */
static bool
empty_object(Datum jsonb)
{
	Jsonb	   *j = DatumGetJsonbP(jsonb);

	return JB_ROOT_IS_OBJECT(j) && JB_ROOT_COUNT(j) == 0;
}

/*
 * Whether the trigger is an AFTER ROW trigger with WHEN (NEW.search_attributes
 * <> '{}'), as durable's workflows_index_search_attributes_insert: it does
 * not fire for a row whose search attributes are '{}'.
 */
static bool
is_search_attributes_guard(const RunShape *s, const Trigger *trigger)
{
	Node	   *qual;
	OpExpr	   *op;
	Var		   *var;
	Const	   *value;

	if (!TRIGGER_FOR_ROW(trigger->tgtype) || !TRIGGER_FOR_AFTER(trigger->tgtype) || trigger->tgqual == NULL ||
		trigger->tgnewtable != NULL || trigger->tgoldtable != NULL)
		return false;
	qual = stringToNode(trigger->tgqual);
	if (!IsA(qual, OpExpr))
		return false;
	op = (OpExpr *) qual;
	if (get_opcode(op->opno) != F_JSONB_NE || list_length(op->args) != 2 ||
		!IsA(linitial(op->args), Var) || !IsA(lsecond(op->args), Const))
		return false;
	var = linitial(op->args);
	value = lsecond(op->args);
	return var->varno == PRS2_NEW_VARNO && var->varattno == s->att[ARG_SEARCH_ATTRIBUTES] &&
		var->varlevelsup == 0 && value->consttype == JSONBOID && !value->constisnull &&
		empty_object(value->constvalue);
}

/* Whether the index predicate is exactly status = 'RUNNING' */
static bool
is_running_predicate(Relation rel, List *predicate)
{
	OpExpr	   *op;
	Var		   *var;
	Const	   *value;

	if (list_length(predicate) != 1 || !IsA(linitial(predicate), OpExpr))
		return false;
	op = linitial(predicate);
	if (op->opno != TextEqualOperator || list_length(op->args) != 2 ||
		!IsA(linitial(op->args), Var) || !IsA(lsecond(op->args), Const))
		return false;
	var = linitial(op->args);
	value = lsecond(op->args);
	return var->varattno == get_attnum(RelationGetRelid(rel), "status") && !value->constisnull &&
		value->consttype == TEXTOID && strcmp(TextDatumGetCString(value->constvalue), "RUNNING") == 0;
}

/*
 * (DurableReadDirectIndexes' visit) The arbiter the statement's ON CONFLICT
 * infers: the unique btree on (namespace, workflow_id) WHERE status =
 * 'RUNNING', valid and ready. Any other unique index on those two columns
 * alone (which the inference could take as well, or in its place) is
 * refused.
 */
static bool
visit_index(Relation index, DurableDirectIndex *entry, void *arg)
{
	Relation	rel = ((void **) arg)[0];
	RunShape   *s = ((void **) arg)[1];
	IndexInfo  *info = entry->info;
	bool		on_id;

	if (!info->ii_Unique)
		return true;
	on_id = info->ii_NumIndexKeyAttrs == 2 &&
		((info->ii_IndexAttrNumbers[0] == s->att[ARG_NAMESPACE] &&
		  info->ii_IndexAttrNumbers[1] == s->att[ARG_WORKFLOW_ID]) ||
		 (info->ii_IndexAttrNumbers[0] == s->att[ARG_WORKFLOW_ID] &&
		  info->ii_IndexAttrNumbers[1] == s->att[ARG_NAMESPACE]));
	if (!on_id)
		return true;
	if (s->arbiter >= 0 || index->rd_rel->relam != BTREE_AM_OID || info->ii_NumIndexAttrs != 2 ||
		info->ii_IndexAttrNumbers[0] != s->att[ARG_NAMESPACE] || !index->rd_index->indisvalid ||
		!info->ii_ReadyForInserts || !is_running_predicate(rel, info->ii_Predicate))
		return false;
	s->arbiter = entry - s->indexes;
	return true;
}

/* Whether the direct insert does what the INSERT statement would, on rel as it is now. */
static bool
read_shape(Relation rel, void *arg)
{
	RunShape   *s = arg;
	TriggerDesc *triggers = rel->trigdesc;
	void	   *args[2] = {rel, s};

	if (!DurableDirectInsertTable(rel) || RelationGetDescr(rel)->natts > MaxHeapAttributeNumber ||
		!read_columns(rel, s))
		return false;
	s->guarded = false;
	for (int i = 0; triggers != NULL && i < triggers->numtriggers; i++)
		if (TRIGGER_FOR_INSERT(triggers->triggers[i].tgtype))
		{
			if (!is_search_attributes_guard(s, &triggers->triggers[i]))
				return false;
			s->guarded = true;
		}
	/* (a CHECK calling a volatile function: the statement, which calls it once) */
	if (!DurableReadChecks(rel, s->base.mem.estate, s->checks, MAX_CHECKS, &s->nchecks))
		return false;
	s->arbiter = -1;
	return DurableReadDirectIndexes(rel, &s->base, s->indexes, MAX_INDEXES, visit_index, args) &&
		s->arbiter >= 0;
}

static RunShape *
shape_of(Relation rel)
{
	DurableShapeOf(&shape.base, rel, "durable run insert shape", read_shape, &shape);
	return &shape;
}

/* Whether the index has an entry for the row (its predicate holds, or it has none). */
static bool
has_entry(RunShape *s, int i, const Datum *values, const bool *nulls)
{
	return s->indexes[i].predicate == NULL ||
		DurableShapeHolds(&s->base.mem, s->indexes[i].predicate, false, s->natts, values, nulls);
}

/* The run's row, written directly; false (nothing written) if the statement must write it. */
static bool
insert_direct(FunctionCallInfo fcinfo)
{
	static DurableLookup workflows;
	Relation	rel;
	RunShape   *s;
	TupleDesc	desc;
	Datum	   *values;
	bool	   *nulls;
	HeapTuple	tuple;
	Relation	arbiter;
	uint32		token;
	bool		unique;
	bool		written = false;

	rel = DurableOpenTable(&workflows, "workflows", RowExclusiveLock);
	if (rel == NULL)
		return false;
	s = shape_of(rel);
	/*
	 * (an insert trigger does not fire as a replica; an extension that checks
	 * or audits permissions in the executor's hook must see the statement)
	 */
	if (!s->base.plain || SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA ||
		ExecutorCheckPerms_hook != NULL ||
		pg_class_aclmask(RelationGetRelid(rel), GetUserId(), ACL_INSERT | ACL_SELECT, ACLMASK_ALL) != (ACL_INSERT | ACL_SELECT))
	{
		table_close(rel, NoLock);
		return false;
	}
	desc = RelationGetDescr(rel);

	DurableDirectWriteBegin("INSERT");

	values = palloc(desc->natts * sizeof(Datum));
	nulls = palloc(desc->natts * sizeof(bool));
	memcpy(values, s->fixed, desc->natts * sizeof(Datum));
	memcpy(nulls, s->fixed_null, desc->natts * sizeof(bool));
	for (int c = 0; c < ARGS; c++)
	{
		int			i = s->att[c] - 1;

		nulls[i] = c >= PG_NARGS() || PG_ARGISNULL(c);
		values[i] = nulls[i] ? (Datum) 0 : PG_GETARG_DATUM(c);
	}
	/* a null where the table refuses one: the statement, with its error */
	for (int i = 0; i < desc->natts; i++)
		if (nulls[i] && TupleDescAttr(desc, i)->attnotnull && !TupleDescAttr(desc, i)->attisdropped)
			goto done;
	/* durable's trigger fires for search attributes other than '{}': the statement */
	if (s->guarded && !empty_object(values[s->att[ARG_SEARCH_ATTRIBUTES] - 1]))
		goto done;
	for (int i = 0; i < s->nchecks; i++)
		if (!DurableShapeHolds(&s->base.mem, s->checks[i], true, s->natts, values, nulls))
			goto done;

	/*
	 * As ExecInsert with ON CONFLICT: the row inserted speculatively, the
	 * arbiter's entry made with a partial check (no wait, no error: whether
	 * an open run of the id, committed or not, may conflict)
	 */
	tuple = heap_form_tuple(desc, values, nulls);
	token = SpeculativeInsertionLockAcquire(GetCurrentTransactionId());
	HeapTupleHeaderSetSpeculativeToken(tuple->t_data, token);
	heap_insert(rel, tuple, GetCurrentCommandId(true), HEAP_INSERT_SPECULATIVE, NULL);
	/* (a row its predicate does not hold for, with a default of the operator's, conflicts with none) */
	unique = true;
	if (has_entry(s, s->arbiter, values, nulls))
	{
		arbiter = index_open(s->indexes[s->arbiter].oid, RowExclusiveLock);
		unique = DurableInsertArbiterEntry(rel, arbiter, s->indexes[s->arbiter].info, values, nulls,
										   &tuple->t_self);
		index_close(arbiter, NoLock);
	}
	if (!unique)
	{
		/* taken back: the statement waits for the other start, or finds its run */
		heap_abort_speculative(rel, &tuple->t_self);
		SpeculativeInsertionLockRelease(GetCurrentTransactionId());
		goto done;
	}
	DurableInsertRowEntries(rel, &s->base, NULL, s->arbiter, s->natts, values, nulls, &tuple->t_self, NULL);
	heap_finish_speculative(rel, &tuple->t_self);
	SpeculativeInsertionLockRelease(GetCurrentTransactionId());
	heap_freetuple(tuple);
	written = true;

done:
	pfree(values);
	pfree(nulls);
	DurableDirectWriteEnd(written);
	table_close(rel, NoLock);
	return written;
}

/*
 * The statement _create_run ran, built once from arg_columns:
 * INSERT INTO durable.workflows AS w (<the columns>) VALUES ($1, ...)
 * ON CONFLICT (namespace, workflow_id) WHERE status = 'RUNNING' DO NOTHING
 * RETURNING w.run_id
 */
static const char *
statement_sql(void)
{
	static char *sql;
	StringInfoData buf;

	if (sql != NULL)
		return sql;
	initStringInfo(&buf);
	appendStringInfoString(&buf, "INSERT INTO durable.workflows AS w (");
	for (int c = 0; c < ARGS; c++)
		appendStringInfo(&buf, "%s%s", c > 0 ? ", " : "", arg_columns[c].name);
	appendStringInfoString(&buf, ") VALUES (");
	for (int c = 0; c < ARGS; c++)
		appendStringInfo(&buf, "%s$%d", c > 0 ? ", " : "", c + 1);
	appendStringInfoString(&buf, ") ON CONFLICT (namespace, workflow_id) WHERE status = 'RUNNING' DO NOTHING"
						   " RETURNING w.run_id");
	sql = MemoryContextStrdup(TopMemoryContext, buf.data);
	pfree(buf.data);
	return sql;
}

/*
 * The run's row by the statement, where the direct write declined: its
 * RETURNING's run id, or null when it inserted nothing (an open run of the
 * id; an operator's trigger that kept the row out). Its errors are its own.
 */
static Datum
insert_by_statement(FunctionCallInfo fcinfo)
{
	static SPIPlanPtr plan;
	Oid			types[ARGS];
	Datum		args[ARGS];
	char		args_null[ARGS];
	Datum		run;
	bool		isnull;

	for (int c = 0; c < ARGS; c++)
	{
		bool		null = c >= PG_NARGS() || PG_ARGISNULL(c);

		types[c] = arg_columns[c].type;
		args[c] = null ? (Datum) 0 : PG_GETARG_DATUM(c);
		args_null[c] = null ? 'n' : ' ';
	}
	/* (to its end: AFTER STATEMENT triggers fire there) */
	if (DurableRunStatement(&plan, statement_sql(), ARGS, types, args, args_null, false, 0,
							SPI_OK_INSERT_RETURNING, &run, &isnull) != 1 || isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(run);
}

/*
 * durable._insert_run(run_id, namespace, workflow_id, workflow_type,
 * task_queue, input, memo, search_attributes, first_run_id,
 * continued_from_run_id, parent_run_id, parent_workflow_id,
 * parent_initiated_event_id, parent_close_policy, execution_started_at,
 * started_at, execution_timeout, run_timeout, task_timeout, deadline_at,
 * request_id, start_delay, priority, fairness_key, fairness_weight, attempt,
 * retry_policy) RETURNS uuid: the run's row inserted as _create_run's
 * INSERT ... ON CONFLICT DO NOTHING inserts it, directly or, where the
 * direct write declines (see the top of this file; a possible conflict with
 * an open run of the id among them), by that statement; the run id the
 * statement's RETURNING gives, null when nothing was inserted.
 */
Datum
durable_insert_run(PG_FUNCTION_ARGS)
{
	bool		direct;

	return DurableInsertRun(fcinfo, &direct);
}

/*
 * The same for the C (run_start.c), given _insert_run's arguments in
 * fcinfo; *direct: the row was written directly, so it holds exactly the
 * arguments (no trigger or rule of an operator's changed it).
 */
Datum
DurableInsertRun(FunctionCallInfo fcinfo, bool *direct)
{
	*direct = insert_direct(fcinfo);
	if (*direct)
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	return insert_by_statement(fcinfo);
}
