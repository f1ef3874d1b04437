/*
 * task_insert.c: durable._insert_workflow_task and _insert_activity_task,
 * the inserts of the workflow task that _schedule_workflow_task makes (twice
 * per one-activity workflow: at its start and when its activity's outcome
 * comes) and of the SCHEDULED activity task of a ScheduleActivityTask
 * command (_cmd_schedule_activity); and _insert_workflow_task_leased and
 * _insert_activity_task_leased, the same tables' rows inserted already
 * leased (STARTED, fence 1): the workflow task a hand-back gives its
 * worker (_handback_take) and an eager activity (api/72_eager.sql).
 *
 * As an INSERT statement inside plpgsql, one row cost about 24 µs of CPU,
 * half of it the placing trigger (api/41_priority.sql) and most of the rest
 * the executor set up and torn down around one row: the table's CHECK read
 * from its stored text and planned again, the partial indexes' predicates
 * planned again, the trigger called through fmgr with its own snapshot
 * (docs/performance.md, "Task rows"). So, as history_append.c does for
 * events, the row is written with the heap and index APIs: the trigger's
 * placing done here (ready_pass.c's DurablePlaceWorkflowTask and
 * DurablePlaceActivityTask), the task id from the column's sequence,
 * heap_insert, then every index's entry with the executor's unique check.
 *
 * What the statement does beyond that is read once per change of the
 * table (a relcache invalidation of it, or any change of a function) and
 * kept: the columns' defaults, which must be constants (the task id's the
 * sequence's nextval); the CHECKs, prepared once and evaluated on each row
 * as the executor evaluates them (before the task id is drawn, so that a
 * row the statement refuses draws none here); the indexes' predicates,
 * evaluated once on the values this insert always gives (the statement's
 * constants, such as the state 'SCHEDULED', and the columns it leaves to
 * their defaults), or, when they read a column that varies (the deadline
 * index's timeout_at), prepared once and evaluated for each row. The row
 * then passes the same CHECKs and gets the same index entries as the
 * statement's would. Anything else an operator may add sends the task
 * through the INSERT statement, which does it all, as before: another
 * insert trigger, a changed or disabled placing trigger or one whose
 * function is not durable's C function, a rule, row security, a CHECK that
 * calls a volatile function or reads the task id the sequence gives (or
 * the whole row), a CHECK the row fails (the statement's error), an
 * index on an expression, an exclusion or deferred unique constraint, a
 * column of the operator's or with a type modifier (timestamptz(0): the
 * statement rounds to it), a partition, an ExecutorCheckPerms_hook
 * (sepgsql, pgaudit), a role without INSERT on the table (or SELECT, for
 * the activity task's statement and its RETURNING), session_replication_role
 * = replica (where the trigger does not fire), and a null where the table
 * refuses one (the statement's own error).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/heap.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_language_d.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger_d.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_func.h"
#include "rewrite/rewriteHandler.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_insert_workflow_task);
PG_FUNCTION_INFO_V1(durable_insert_activity_task);
PG_FUNCTION_INFO_V1(durable_insert_workflow_task_leased);
PG_FUNCTION_INFO_V1(durable_insert_activity_task_leased);

/* Where a column's value comes from, in the INSERT statement the direct insert stands for. */
typedef enum
{
	FROM_DEFAULT,				/* left out: its default */
	FROM_ARG,					/* a parameter: the next argument of the function */
	FROM_CONST					/* a constant of the statement */
} ValueSource;

typedef struct TaskColumn
{
	const char *name;
	Oid			type;
	ValueSource source;
	const char *constant;		/* FROM_CONST: its text (NULL: null) */
	bool		placed;			/* set by the placing trigger */
} TaskColumn;

#define MAX_TASK_COLUMNS 40
#define MAX_TASK_INDEXES 16
#define MAX_TASK_CHECKS 16

/* What an insert into a task table needs, read once per change of it. */
typedef struct TaskTableShape
{
	DurableShape base;			/* plain: the direct insert does what the statement would; its memory holds all */
	AttrNumber	att[MAX_TASK_COLUMNS];
	Datum		fixed[MAX_TASK_COLUMNS];	/* the constants and the defaults (not the task id's) */
	bool		fixed_null[MAX_TASK_COLUMNS];
	Oid			sequence;		/* the task id's */
	/* (a predicate on fixed columns only is evaluated once: has_entry, and no predicate kept) */
	DurableDirectIndex indexes[MAX_TASK_INDEXES];
	bool		has_entry[MAX_TASK_INDEXES];	/* a predicate on fixed columns holds (or there is none) */
	int			nchecks;
	ExprState  *checks[MAX_TASK_CHECKS];	/* the CHECKs, evaluated on each row */
} TaskTableShape;

/* One task table, as schema/01_tables.sql makes it, and the INSERT the direct insert stands for. */
typedef struct TaskTable
{
	const char *relname;
	const TaskColumn *columns;
	int			ncolumns;
	const char *trigger_function;	/* the placing trigger's, in durable */
	const char *trigger_symbol; /* its C function */
	const char *insert_sql;		/* with the FROM_ARG columns as $1, $2, ... in order */
	AclMode		rights;			/* what it needs of the role on the table (SELECT: its RETURNING) */
	int			nargs;
	Oid			argtypes[MAX_TASK_COLUMNS];
	SPIPlanPtr	plan;			/* insert_sql's, kept */
	TaskTableShape shape;
	DurableLookup table;		/* durable.relname, its oid remembered */
} TaskTable;

static const TaskColumn workflow_task_columns[] = {
	{"task_id", INT8OID, FROM_DEFAULT},
	{"run_id", UUIDOID, FROM_ARG},
	{"namespace", TEXTOID, FROM_ARG},
	{"task_queue", TEXTOID, FROM_ARG},
	{"state", TEXTOID, FROM_CONST, "SCHEDULED"},
	{"attempt", INT4OID, FROM_ARG},
	{"scheduled_event_id", INT8OID, FROM_ARG},
	{"started_event_id", INT8OID, FROM_DEFAULT},
	{"fence", INT8OID, FROM_DEFAULT},
	{"identity", TEXTOID, FROM_DEFAULT},
	{"scheduled_at", TIMESTAMPTZOID, FROM_ARG},
	{"started_at", TIMESTAMPTZOID, FROM_DEFAULT},
	{"timeout_at", TIMESTAMPTZOID, FROM_DEFAULT},
	{"last_failure", JSONBOID, FROM_DEFAULT},
	{"priority", INT2OID, FROM_DEFAULT, NULL, true},
	{"fairness_key", TEXTOID, FROM_DEFAULT, NULL, true},
	{"pass", FLOAT8OID, FROM_DEFAULT, NULL, true},
	{"build_id", TEXTOID, FROM_DEFAULT},
};

/*
 * The hand-back's workflow task (api/76_handback.sql, _handback_take):
 * inserted STARTED, leased to its worker, with the task id and the place
 * (priority, fairness key, pass) its poll would have given it; the placing
 * trigger leaves a pass >= 0 as given.
 */
static const TaskColumn leased_workflow_task_columns[] = {
	{"task_id", INT8OID, FROM_ARG},
	{"run_id", UUIDOID, FROM_ARG},
	{"namespace", TEXTOID, FROM_ARG},
	{"task_queue", TEXTOID, FROM_ARG},
	{"state", TEXTOID, FROM_CONST, "STARTED"},
	{"attempt", INT4OID, FROM_CONST, "1"},
	{"scheduled_event_id", INT8OID, FROM_ARG},
	{"started_event_id", INT8OID, FROM_ARG},
	{"fence", INT8OID, FROM_CONST, "1"},
	{"identity", TEXTOID, FROM_ARG},
	{"scheduled_at", TIMESTAMPTZOID, FROM_ARG},
	{"started_at", TIMESTAMPTZOID, FROM_ARG},
	{"timeout_at", TIMESTAMPTZOID, FROM_ARG},
	{"last_failure", JSONBOID, FROM_DEFAULT},
	{"priority", INT2OID, FROM_ARG},
	{"fairness_key", TEXTOID, FROM_ARG},
	{"pass", FLOAT8OID, FROM_ARG},
	{"build_id", TEXTOID, FROM_ARG},
};

/* (a SCHEDULED task) */
static const TaskColumn activity_task_columns[] = {
	{"task_id", INT8OID, FROM_DEFAULT},
	{"run_id", UUIDOID, FROM_ARG},
	{"namespace", TEXTOID, FROM_ARG},
	{"workflow_id", TEXTOID, FROM_ARG},
	{"scheduled_event_id", INT8OID, FROM_ARG},
	{"activity_id", TEXTOID, FROM_ARG},
	{"activity_type", TEXTOID, FROM_ARG},
	{"task_queue", TEXTOID, FROM_ARG},
	{"input", JSONBOID, FROM_ARG},
	{"state", TEXTOID, FROM_CONST, "SCHEDULED"},
	{"attempt", INT4OID, FROM_DEFAULT},
	{"fence", INT8OID, FROM_CONST, "0"},
	{"identity", TEXTOID, FROM_CONST, NULL},
	{"scheduled_at", TIMESTAMPTZOID, FROM_ARG},
	{"attempt_scheduled_at", TIMESTAMPTZOID, FROM_ARG},
	{"started_at", TIMESTAMPTZOID, FROM_CONST, NULL},
	{"last_heartbeat_at", TIMESTAMPTZOID, FROM_DEFAULT},
	{"heartbeat_details", JSONBOID, FROM_DEFAULT},
	{"schedule_to_close_timeout", INTERVALOID, FROM_ARG},
	{"schedule_to_start_timeout", INTERVALOID, FROM_ARG},
	{"start_to_close_timeout", INTERVALOID, FROM_ARG},
	{"heartbeat_timeout", INTERVALOID, FROM_ARG},
	{"retry_initial_interval", INTERVALOID, FROM_ARG},
	{"retry_backoff_coefficient", FLOAT8OID, FROM_ARG},
	{"retry_maximum_interval", INTERVALOID, FROM_ARG},
	{"retry_maximum_attempts", INT4OID, FROM_ARG},
	{"non_retryable_error_types", TEXTARRAYOID, FROM_ARG},
	{"timeout_at", TIMESTAMPTZOID, FROM_ARG},
	{"last_failure", JSONBOID, FROM_DEFAULT},
	{"cancel_requested", BOOLOID, FROM_DEFAULT},
	{"fairness_key", TEXTOID, FROM_ARG},
	{"priority", INT2OID, FROM_ARG},
	{"fairness_weight", FLOAT8OID, FROM_ARG},
	{"pass", FLOAT8OID, FROM_CONST, "-1", true},
};

static TaskTable workflow_tasks = {
	"workflow_tasks", workflow_task_columns, lengthof(workflow_task_columns),
	"_workflow_task_pass", "durable_workflow_task_pass",
	"INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue, state, attempt, "
	"                                    scheduled_event_id, scheduled_at) "
	"VALUES ($1, $2, $3, 'SCHEDULED', $4, $5, $6)", ACL_INSERT,
	6, {UUIDOID, TEXTOID, TEXTOID, INT4OID, INT8OID, TIMESTAMPTZOID}
};

/*
 * The eager activity task (api/72_eager.sql, _cmd_schedule_activity):
 * inserted STARTED, leased to the worker completing its workflow task
 * (fence 1, its identity, started now), at pass 0, which the placing
 * trigger leaves as given.
 */
static const TaskColumn leased_activity_task_columns[] = {
	{"task_id", INT8OID, FROM_DEFAULT},
	{"run_id", UUIDOID, FROM_ARG},
	{"namespace", TEXTOID, FROM_ARG},
	{"workflow_id", TEXTOID, FROM_ARG},
	{"scheduled_event_id", INT8OID, FROM_ARG},
	{"activity_id", TEXTOID, FROM_ARG},
	{"activity_type", TEXTOID, FROM_ARG},
	{"task_queue", TEXTOID, FROM_ARG},
	{"input", JSONBOID, FROM_ARG},
	{"state", TEXTOID, FROM_CONST, "STARTED"},
	{"attempt", INT4OID, FROM_DEFAULT},
	{"fence", INT8OID, FROM_CONST, "1"},
	{"identity", TEXTOID, FROM_ARG},
	{"scheduled_at", TIMESTAMPTZOID, FROM_ARG},
	{"attempt_scheduled_at", TIMESTAMPTZOID, FROM_ARG},
	{"started_at", TIMESTAMPTZOID, FROM_ARG},
	{"last_heartbeat_at", TIMESTAMPTZOID, FROM_DEFAULT},
	{"heartbeat_details", JSONBOID, FROM_DEFAULT},
	{"schedule_to_close_timeout", INTERVALOID, FROM_ARG},
	{"schedule_to_start_timeout", INTERVALOID, FROM_ARG},
	{"start_to_close_timeout", INTERVALOID, FROM_ARG},
	{"heartbeat_timeout", INTERVALOID, FROM_ARG},
	{"retry_initial_interval", INTERVALOID, FROM_ARG},
	{"retry_backoff_coefficient", FLOAT8OID, FROM_ARG},
	{"retry_maximum_interval", INTERVALOID, FROM_ARG},
	{"retry_maximum_attempts", INT4OID, FROM_ARG},
	{"non_retryable_error_types", TEXTARRAYOID, FROM_ARG},
	{"timeout_at", TIMESTAMPTZOID, FROM_ARG},
	{"last_failure", JSONBOID, FROM_DEFAULT},
	{"cancel_requested", BOOLOID, FROM_DEFAULT},
	{"fairness_key", TEXTOID, FROM_ARG},
	{"priority", INT2OID, FROM_ARG},
	{"fairness_weight", FLOAT8OID, FROM_ARG},
	{"pass", FLOAT8OID, FROM_CONST, "0"},
};

static TaskTable leased_activity_tasks = {
	"activity_tasks", leased_activity_task_columns, lengthof(leased_activity_task_columns),
	"_activity_task_pass", "durable_activity_task_pass",
	"INSERT INTO durable.activity_tasks (run_id, namespace, workflow_id, scheduled_event_id, activity_id, "
	"    activity_type, task_queue, input, state, scheduled_at, attempt_scheduled_at, "
	"    schedule_to_close_timeout, schedule_to_start_timeout, start_to_close_timeout, heartbeat_timeout, "
	"    retry_initial_interval, retry_backoff_coefficient, retry_maximum_interval, retry_maximum_attempts, "
	"    non_retryable_error_types, timeout_at, fairness_key, priority, fairness_weight, "
	"    fence, identity, started_at, pass) "
	"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'STARTED', $10, $11, $13, $14, $15, $16, $17, $18, $19, $20, "
	"        $21, $22, $23, $24, $25, 1, $9, $12, 0) RETURNING task_id", ACL_INSERT | ACL_SELECT,
	25, {UUIDOID, TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, TEXTOID, TIMESTAMPTZOID,
		TIMESTAMPTZOID, TIMESTAMPTZOID, INTERVALOID, INTERVALOID, INTERVALOID, INTERVALOID, INTERVALOID,
	FLOAT8OID, INTERVALOID, INT4OID, TEXTARRAYOID, TIMESTAMPTZOID, TEXTOID, INT2OID, FLOAT8OID}
};

static TaskTable leased_workflow_tasks = {
	"workflow_tasks", leased_workflow_task_columns, lengthof(leased_workflow_task_columns),
	"_workflow_task_pass", "durable_workflow_task_pass",
	"INSERT INTO durable.workflow_tasks (task_id, run_id, namespace, task_queue, state, attempt, "
	"    scheduled_event_id, started_event_id, fence, identity, scheduled_at, started_at, timeout_at, "
	"    priority, fairness_key, pass, build_id) "
	"VALUES ($1, $2, $3, $4, 'STARTED', 1, $5, $6, 1, $7, $8, $9, $10, $11, $12, $13, $14)", ACL_INSERT,
	14, {INT8OID, UUIDOID, TEXTOID, TEXTOID, INT8OID, INT8OID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
	TIMESTAMPTZOID, INT2OID, TEXTOID, FLOAT8OID, TEXTOID}
};

static TaskTable activity_tasks = {
	"activity_tasks", activity_task_columns, lengthof(activity_task_columns),
	"_activity_task_pass", "durable_activity_task_pass",
	"INSERT INTO durable.activity_tasks (run_id, namespace, workflow_id, scheduled_event_id, activity_id, "
	"    activity_type, task_queue, input, state, scheduled_at, attempt_scheduled_at, "
	"    schedule_to_close_timeout, schedule_to_start_timeout, start_to_close_timeout, heartbeat_timeout, "
	"    retry_initial_interval, retry_backoff_coefficient, retry_maximum_interval, retry_maximum_attempts, "
	"    non_retryable_error_types, timeout_at, fairness_key, priority, fairness_weight, "
	"    fence, identity, started_at, pass) "
	"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'SCHEDULED', $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, "
	"        $19, $20, $21, $22, $23, 0, NULL, NULL, -1) RETURNING task_id", ACL_INSERT | ACL_SELECT,
	23, {UUIDOID, TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, TIMESTAMPTZOID,
		TIMESTAMPTZOID, INTERVALOID, INTERVALOID, INTERVALOID, INTERVALOID, INTERVALOID, FLOAT8OID,
	INTERVALOID, INT4OID, TEXTARRAYOID, TIMESTAMPTZOID, TEXTOID, INT2OID, FLOAT8OID}
};

static int
column_index(const TaskTable *t, const char *name)
{
	for (int c = 0; c < t->ncolumns; c++)
		if (strcmp(t->columns[c].name, name) == 0)
			return c;
	elog(ERROR, "durable: task table \"%s\" has no column \"%s\" in task_insert.c", t->relname, name);
	return -1;
}

/*
 * column_index, remembered (the names are this file's literals, told apart
 * by address): a search by name per value was a good part of an insert
 */
static int
known_column_index(const TaskTable *t, const char *name)
{
	static struct
	{
		const TaskTable *table;
		const char *name;
		int			index;
	}			known[24];
	static int	nknown;

	for (int i = 0; i < nknown; i++)
		if (known[i].table == t && known[i].name == name)
			return known[i].index;
	if (nknown == lengthof(known))
		return column_index(t, name);
	known[nknown].index = column_index(t, name);
	known[nknown].table = t;
	known[nknown].name = name;
	return known[nknown++].index;
}

static bool
varies(const TaskColumn *column)
{
	return column->source == FROM_ARG || column->placed || strcmp(column->name, "task_id") == 0;
}

/* Whether the trigger is durable's placing trigger of t as api/41_priority.sql makes it. */
static bool
is_placing_trigger(const TaskTable *t, const Trigger *trigger)
{
	Oid			function = LookupFuncName(list_make2(makeString("durable"), makeString((char *) t->trigger_function)),
										  0, NULL, true);
	HeapTuple	proc;
	bool		ours = false;

	if (!OidIsValid(function) || trigger->tgfoid != function || !TRIGGER_FOR_ROW(trigger->tgtype) ||
		!TRIGGER_FOR_BEFORE(trigger->tgtype) || trigger->tgnargs != 0 || trigger->tgqual != NULL ||
		trigger->tgenabled != TRIGGER_FIRES_ON_ORIGIN || trigger->tgnewtable != NULL)
		return false;
	proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(function));
	if (HeapTupleIsValid(proc))
	{
		bool		src_null,
					bin_null;
		Datum		src = SysCacheGetAttr(PROCOID, proc, Anum_pg_proc_prosrc, &src_null);
		Datum		bin = SysCacheGetAttr(PROCOID, proc, Anum_pg_proc_probin, &bin_null);

		ours = ((Form_pg_proc) GETSTRUCT(proc))->prolang == ClanguageId && !src_null && !bin_null &&
			strcmp(TextDatumGetCString(src), t->trigger_symbol) == 0 &&
			strcmp(TextDatumGetCString(bin), "$libdir/durable") == 0;
		ReleaseSysCache(proc);
	}
	return ours;
}

/* Whether expr reads a column whose value varies from one insert to the next. */
static bool
reads_varying(const TaskTable *t, Node *expr)
{
	const TaskTableShape *s = &t->shape;
	Bitmapset  *read = NULL;

	pull_varattnos(expr, 1, &read);
	if (bms_is_member(InvalidAttrNumber - FirstLowInvalidHeapAttributeNumber, read))
		return true;			/* a whole-row reference */
	for (int c = 0; c < t->ncolumns; c++)
		if (varies(&t->columns[c]) && bms_is_member(s->att[c] - FirstLowInvalidHeapAttributeNumber, read))
			return true;
	return false;
}

/* An index predicate (an implicit-AND list) on a row of the fixed values, as ExecQual (null fails). */
static bool
holds_for_fixed_row(TaskTable *t, int natts, List *predicate)
{
	TaskTableShape *s = &t->shape;
	Datum		values[MaxHeapAttributeNumber];
	bool		nulls[MaxHeapAttributeNumber];

	for (int i = 0; i < natts; i++)
	{
		values[i] = (Datum) 0;
		nulls[i] = true;
	}
	for (int c = 0; c < t->ncolumns; c++)
		if (!varies(&t->columns[c]))
		{
			values[s->att[c] - 1] = s->fixed[c];
			nulls[s->att[c] - 1] = s->fixed_null[c];
		}
	return DurableShapeHolds(&s->base.mem, ExecPrepareQual(predicate, s->base.mem.estate), false, natts, values,
							 nulls);
}

/* The columns by name: durable's, of the right types (no modifier), and no other live one. */
static bool
read_columns(Relation rel, TaskTable *t)
{
	TupleDesc	desc = RelationGetDescr(rel);
	TaskTableShape *s = &t->shape;

	for (int c = 0; c < t->ncolumns; c++)
		s->att[c] = InvalidAttrNumber;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		int			c;

		if (att->attisdropped)
			continue;
		for (c = 0; c < t->ncolumns; c++)
			if (strcmp(NameStr(att->attname), t->columns[c].name) == 0)
				break;
		if (c == t->ncolumns || !DurableColumnTakes(att, t->columns[c].type) || att->attidentity || att->attgenerated)
			return false;
		s->att[c] = att->attnum;
	}
	for (int c = 0; c < t->ncolumns; c++)
		if (s->att[c] == InvalidAttrNumber)
			return false;
	return true;
}

/*
 * The values of the columns the function is not given: the statement's
 * constants, and the defaults of those it leaves out, which must be
 * constants too (the task id's: the sequence's nextval).
 */
static bool
read_fixed_values(Relation rel, TaskTable *t)
{
	TaskTableShape *s = &t->shape;

	for (int c = 0; c < t->ncolumns; c++)
	{
		const TaskColumn *column = &t->columns[c];
		Node	   *expr;
		Const	   *value;

		s->fixed[c] = (Datum) 0;
		s->fixed_null[c] = true;
		if (column->source == FROM_ARG)
			continue;
		if (column->source == FROM_CONST)
		{
			if (column->constant != NULL)
			{
				Oid			input;
				Oid			ioparam;

				getTypeInputInfo(column->type, &input, &ioparam);
				s->fixed[c] = OidInputFunctionCall(input, (char *) column->constant, ioparam, -1);
				s->fixed_null[c] = false;
			}
			continue;
		}
		expr = build_column_default(rel, s->att[c]);
		if (strcmp(column->name, "task_id") == 0)
		{
			FuncExpr   *call = (FuncExpr *) expr;
			Const	   *seq;

			if (expr == NULL || !IsA(expr, FuncExpr) || call->funcid != F_NEXTVAL ||
				list_length(call->args) != 1 || !IsA(linitial(call->args), Const))
				return false;
			seq = linitial(call->args);
			if (seq->constisnull || seq->consttype != REGCLASSOID)
				return false;
			s->sequence = DatumGetObjectId(seq->constvalue);
			continue;
		}
		if (expr == NULL)
			continue;
		expr = (Node *) expression_planner((Expr *) expr);
		if (!IsA(expr, Const))
			return false;
		value = (Const *) expr;
		s->fixed_null[c] = value->constisnull;
		if (!value->constisnull)
			s->fixed[c] = datumCopy(value->constvalue, value->constbyval, value->constlen);
	}
	return true;
}

/*
 * (DurableReadDirectIndexes' visit) an index's predicate on fixed columns
 * only, evaluated here for every row; one on varying columns is kept,
 * prepared, for each row
 */
static bool
visit_index(Relation index, DurableDirectIndex *entry, void *arg)
{
	Relation	rel = ((void **) arg)[0];
	TaskTable  *t = ((void **) arg)[1];
	List	   *predicate = entry->info->ii_Predicate;

	t->shape.has_entry[entry - t->shape.indexes] =
		predicate == NIL || reads_varying(t, (Node *) predicate) ||
		holds_for_fixed_row(t, RelationGetDescr(rel)->natts, predicate);
	return true;
}

/* The indexes: on plain columns, immediate; their predicates as visit_index reads them. */
static bool
read_indexes(Relation rel, TaskTable *t)
{
	TaskTableShape *s = &t->shape;
	void	   *arg[2] = {rel, t};

	if (!DurableReadDirectIndexes(rel, &s->base, s->indexes, MAX_TASK_INDEXES, visit_index, arg))
		return false;
	for (int i = 0; i < s->base.nindexes; i++)
		if (s->indexes[i].predicate != NULL && !reads_varying(t, (Node *) s->indexes[i].info->ii_Predicate))
			s->indexes[i].predicate = NULL; /* evaluated once, into has_entry */
	return true;
}

/* Whether the direct insert does what the INSERT statement would, on rel as it is now. */
static bool
read_shape(Relation rel, void *arg)
{
	TaskTable  *t = arg;
	TriggerDesc *trig = rel->trigdesc;
	TupleConstr *constr = RelationGetDescr(rel)->constr;
	int			insert_triggers = 0;
	bool		given_id = t->columns[known_column_index(t, "task_id")].source == FROM_ARG;

	if (!DurableDirectInsertTable(rel) || RelationGetDescr(rel)->natts > MaxHeapAttributeNumber)
		return false;
	if (!read_columns(rel, t) || !read_fixed_values(rel, t))
		return false;
	/* exactly one insert trigger: durable's placing trigger */
	for (int i = 0; trig != NULL && i < trig->numtriggers; i++)
		if (TRIGGER_FOR_INSERT(trig->triggers[i].tgtype))
		{
			if (!is_placing_trigger(t, &trig->triggers[i]))
				return false;
			insert_triggers++;
		}
	if (insert_triggers != 1)
		return false;
	/*
	 * The CHECKs, evaluated on each row as the executor does: one calling a
	 * function labelled immutable is not taken to hold once for all rows (a
	 * wrong label must not let a row by that the statement refuses). One
	 * calling a volatile function is the statement's (DurableReadChecks), and
	 * so, where the task id comes from the sequence, is one reading it or the
	 * whole row: the row is checked before its id is drawn.
	 */
	if (!DurableReadChecks(rel, t->shape.base.mem.estate, t->shape.checks, MAX_TASK_CHECKS, &t->shape.nchecks))
		return false;
	for (int i = 0; constr != NULL && i < constr->num_check && !given_id; i++)
	{
		Bitmapset  *read = NULL;

		pull_varattnos(stringToNode(constr->check[i].ccbin), 1, &read);
		if (bms_is_member(InvalidAttrNumber - FirstLowInvalidHeapAttributeNumber, read) ||
			bms_is_member(t->shape.att[known_column_index(t, "task_id")] - FirstLowInvalidHeapAttributeNumber, read))
			return false;
	}
	return read_indexes(rel, t);
}

static TaskTableShape *
shape_of(Relation rel, TaskTable *t)
{
	DurableShapeOf(&t->shape.base, rel, "durable task table shape", read_shape, t);
	return &t->shape;
}

/* The task, written directly; false (nothing written) if the statement must write it. */
static bool
insert_direct(FunctionCallInfo fcinfo, TaskTable *t, int64 *task_id)
{
	Relation	rel;
	TaskTableShape *s;
	TupleDesc	desc;
	Datum	   *values;
	bool	   *nulls;
	HeapTuple	tuple;
	int			arg = 0;
	int			pass_c = known_column_index(t, "pass");
	bool		given_id;
	bool		written = false;

	rel = DurableOpenTable(&t->table, t->relname, RowExclusiveLock);
	if (rel == NULL)
		return false;
	s = shape_of(rel, t);
	desc = RelationGetDescr(rel);
	/*
	 * (the trigger does not fire as a replica; an extension that checks or
	 * audits permissions in the executor's hook must see the statement)
	 */
	if (!s->base.plain || SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA ||
		ExecutorCheckPerms_hook != NULL ||
		pg_class_aclmask(RelationGetRelid(rel), GetUserId(), t->rights, ACLMASK_ALL) != t->rights)
	{
		table_close(rel, NoLock);
		return false;
	}

	DurableDirectWriteBegin("INSERT");

	values = palloc(desc->natts * sizeof(Datum));
	nulls = palloc(desc->natts * sizeof(bool));
	for (int i = 0; i < desc->natts; i++)
	{
		values[i] = (Datum) 0;
		nulls[i] = true;
	}
	for (int c = 0; c < t->ncolumns; c++)
	{
		int			i = s->att[c] - 1;

		values[i] = s->fixed[c];
		nulls[i] = s->fixed_null[c];
		if (t->columns[c].source == FROM_ARG)
		{
			nulls[i] = PG_ARGISNULL(arg);
			values[i] = nulls[i] ? (Datum) 0 : PG_GETARG_DATUM(arg);
			arg++;
		}
	}
#define VALUE(name) values[s->att[known_column_index(t, name)] - 1]
#define NULLS(name) nulls[s->att[known_column_index(t, name)] - 1]
	/* the trigger's test (ready_pass.c's needs_place), and its placing */
	if (!nulls[s->att[pass_c] - 1] && DatumGetFloat8(values[s->att[pass_c] - 1]) < 0)
	{
		if (t == &workflow_tasks || t == &leased_workflow_tasks)
		{
			Datum		placed[3];
			bool		placed_null[3];

			DurablePlaceWorkflowTask(rel, VALUE("run_id"), NULLS("run_id"), VALUE("namespace"), NULLS("namespace"),
									 VALUE("task_queue"), NULLS("task_queue"), GetActiveSnapshot(),
									 placed, placed_null);
			VALUE("priority") = placed[0];
			NULLS("priority") = placed_null[0];
			VALUE("fairness_key") = placed[1];
			NULLS("fairness_key") = placed_null[1];
			VALUE("pass") = placed[2];
			NULLS("pass") = placed_null[2];
		}
		else
		{
			bool		place_nulls[5] = {NULLS("namespace"), NULLS("task_queue"), NULLS("priority"),
			NULLS("fairness_key"), NULLS("fairness_weight")};

			VALUE("pass") = Float8GetDatum(DurablePlaceActivityTask(rel, VALUE("namespace"), VALUE("task_queue"),
																	VALUE("priority"), VALUE("fairness_key"),
																	VALUE("fairness_weight"), place_nulls,
																	GetActiveSnapshot()));
			NULLS("pass") = false;
		}
	}
#undef VALUE
#undef NULLS
	/*
	 * A null where the table refuses one (a null argument, no run for a
	 * workflow task): the statement, with its own error. The task id's
	 * default comes after, with its permission check (a task id given is
	 * an argument like the others).
	 */
	given_id = t->columns[known_column_index(t, "task_id")].source == FROM_ARG;
	for (int c = 0; c < t->ncolumns; c++)
		if (nulls[s->att[c] - 1] && (given_id || strcmp(t->columns[c].name, "task_id") != 0) &&
			TupleDescAttr(desc, s->att[c] - 1)->attnotnull)
			goto done;
	/* a CHECK the row fails: the statement, with its error */
	for (int i = 0; i < s->nchecks; i++)
		if (!DurableShapeHolds(&s->base.mem, s->checks[i], true, desc->natts, values, nulls))
			goto done;
	if (given_id)
		*task_id = DatumGetInt64(values[s->att[known_column_index(t, "task_id")] - 1]);
	else
	{
		*task_id = nextval_internal(s->sequence, true);
		values[s->att[known_column_index(t, "task_id")] - 1] = Int64GetDatum(*task_id);
		nulls[s->att[known_column_index(t, "task_id")] - 1] = false;
	}

	tuple = heap_form_tuple(desc, values, nulls);
	heap_insert(rel, tuple, GetCurrentCommandId(true), 0, NULL);
	DurableInsertRowEntries(rel, &s->base, s->has_entry, -1, desc->natts, values, nulls, &tuple->t_self, NULL);
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
 * The task, by the INSERT statement (the fallback), as its caller ran it:
 * the workflow task's without RETURNING (which an operator's rule, row
 * security or column grants may refuse where that statement did not), the
 * activity task's with it. So the task's id, in *task_id, is not always
 * known: false without a RETURNING, or when an operator's trigger kept the
 * row out (no error, as before).
 */
static bool
insert_by_statement(FunctionCallInfo fcinfo, TaskTable *t, int64 *task_id)
{
	Datum		args[MAX_TASK_COLUMNS];
	char		args_null[MAX_TASK_COLUMNS];
	Datum		id;
	bool		isnull;

	for (int arg = 0; arg < t->nargs; arg++)
	{
		args[arg] = PG_ARGISNULL(arg) ? (Datum) 0 : PG_GETARG_DATUM(arg);
		args_null[arg] = PG_ARGISNULL(arg) ? 'n' : ' ';
	}
	/* (run to its end, with no row limit: AFTER STATEMENT triggers fire at the end) */
	if (DurableRunStatement(&t->plan, t->insert_sql, t->nargs, t->argtypes, args, args_null, false, 0,
							SPI_OK_INSERT_RETURNING, &id, &isnull) != 1 || isnull)
		return false;
	*task_id = DatumGetInt64(id);
	return true;
}

/* The task, directly or by the statement: its task id, or null when that is not known. */
static Datum
insert_task(FunctionCallInfo fcinfo, TaskTable *t)
{
	int64		task_id;

	if (!insert_direct(fcinfo, t, &task_id) && !insert_by_statement(fcinfo, t, &task_id))
		PG_RETURN_NULL();
	PG_RETURN_INT64(task_id);
}

/*
 * durable._insert_workflow_task(run, namespace, task_queue, attempt,
 * scheduled_event_id, scheduled_at): a SCHEDULED workflow task, placed in
 * its queue as the trigger places it; returns its task id when written
 * directly, null when by the statement.
 */
Datum
durable_insert_workflow_task(PG_FUNCTION_ARGS)
{
	return insert_task(fcinfo, &workflow_tasks);
}

/*
 * durable._insert_activity_task(run_id, namespace, workflow_id,
 * scheduled_event_id, activity_id, activity_type, task_queue, input,
 * scheduled_at, attempt_scheduled_at, the four timeouts, the retry policy's
 * five columns, timeout_at, fairness_key, priority, fairness_weight): a
 * SCHEDULED activity task, placed in its queue as the trigger places it;
 * returns its task id (null when an operator's trigger kept the row out).
 */
Datum
durable_insert_activity_task(PG_FUNCTION_ARGS)
{
	return insert_task(fcinfo, &activity_tasks);
}

/*
 * durable._insert_workflow_task_leased(task_id, run, namespace, task_queue,
 * scheduled_event_id, started_event_id, identity, scheduled_at, started_at,
 * timeout_at, priority, fairness_key, pass, build_id): the hand-back's
 * STARTED workflow task (fence 1, attempt 1); returns its task id when
 * written directly, null when by the statement.
 */
Datum
durable_insert_workflow_task_leased(PG_FUNCTION_ARGS)
{
	return insert_task(fcinfo, &leased_workflow_tasks);
}

/*
 * durable._insert_activity_task_leased(run_id, namespace, workflow_id,
 * scheduled_event_id, activity_id, activity_type, task_queue, input,
 * identity, scheduled_at, attempt_scheduled_at, started_at, the four
 * timeouts, the retry policy's five columns, timeout_at, fairness_key,
 * priority, fairness_weight): the eager STARTED activity task (fence 1,
 * pass 0); returns its task id (null when an operator's trigger kept the
 * row out).
 */
Datum
durable_insert_activity_task_leased(PG_FUNCTION_ARGS)
{
	return insert_task(fcinfo, &leased_activity_tasks);
}
