/*
 * workflow_complete.c: durable.complete_workflow_task(task_token, commands,
 * identity), the end of a workflow task with the workflow's commands;
 * durable._check_commands(commands), the check of the commands it and the
 * batches (complete_workflow_tasks, complete_workflow_tasks_eager) make
 * first; durable._lock_workflow_task(task_token), the task's lock it (and
 * the workflow task heartbeat, the sticky release) takes; in C. The common
 * close, CompleteWorkflowExecution, is applied here too (the other closing
 * commands by _cmd_close).
 *
 * As plpgsql, complete_workflow_task's own statements were the largest
 * self time of the workflow poller's backend after the poll (17 µs a call
 * with profiling on, twice per one-activity workflow, and _check_commands
 * 5 µs more: docs/performance.md, "The workflow task's completion in C"):
 * some fifteen statements and expressions a call, each with plpgsql's
 * set-up around it, for what is mostly calls of other functions. Here the
 * same steps run in the same order: the commands checked, the identity,
 * the task locked (_lock_workflow_task), a transient task's events
 * (_record_transient_task), the run's row (_workflow_row), the task's
 * DELETE, the unseen events' check (_run_rows, then the buffered events'
 * EXISTS), WorkflowTaskCompleted (_append), the build (_record_build_id),
 * each command's function (_cmd_*), then the buffered events flushed, the
 * next workflow task and a pause. Each helper is called through fmgr by its
 * oid (call_function.c), as the plpgsql's expression called it, after a
 * command counter increment and with a fresh snapshot pushed, as plpgsql
 * does for each expression of a volatile function: a helper sees what the
 * ones before it wrote, and what other transactions committed meanwhile,
 * as before. The two EXISTS are the same statements, kept prepared; the
 * task's DELETE is written directly where that does what the statement
 * would, else by the statement (delete_task). So every error is raised where it was, with
 * its code, message, detail and hint; only the CONTEXT lines differ. The
 * plpgsql bodies this replaces are kept as twins in pgTAP
 * 93_workflow_complete.sql, which compares the two.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/snapmgr.h"

#include "durable.h"
#include "command.h"

PG_FUNCTION_INFO_V1(durable_complete_workflow_task);
PG_FUNCTION_INFO_V1(durable_check_commands);
PG_FUNCTION_INFO_V1(durable_lock_workflow_task);

extern Datum durable_append(PG_FUNCTION_ARGS);

/* _run_rows' bits (api/83_run_rows.sql) */
#define RUN_ROWS_BUFFERED 8
#define RUN_ROWS_PAUSES 16
#define RUN_ROWS_CHILDREN 64
#define RUN_ROWS_ALL 127

/* the helpers (a row type argument is set from the value passed, which follows the table's) */
static DurableFunction command_types_fn = {"_command_types", 0};
static DurableFunction closing_types_fn = {"_closing_command_types", 0};
static DurableFunction lock_task_fn = {"_lock_workflow_task", 1, {TEXTOID}};
static DurableFunction parse_token_fn = {"_parse_token", 2, {TEXTOID, TEXTOID}};
static DurableFunction task_row_fn = {"_workflow_task_row", 1, {INT8OID}};
static DurableFunction lease_lost_fn = {"_lease_lost", 2, {TEXTOID, TEXTOID}};
static DurableFunction authorize_fn = {"_authorize", 3, {TEXTOID, TEXTOID, TEXTOID}};
static DurableFunction lock_run_fn = {"_lock_run", 1, {UUIDOID}};
static DurableFunction record_transient_fn = {"_record_transient_task", 1, {InvalidOid}};
static DurableFunction workflow_row_fn = {"_workflow_row", 1, {UUIDOID}};
static DurableFunction run_rows_fn = {"_run_rows", 2, {UUIDOID, INT4OID}};
static DurableFunction flush_buffered_fn = {"_flush_buffered", 1, {UUIDOID}};
static DurableFunction hold_if_paused_fn = {"_hold_if_paused", 1, {UUIDOID}};
static DurableFunction record_build_id_fn = {"_record_build_id", 2, {InvalidOid, InvalidOid}};
static DurableFunction close_run_fn = {"_close_run", 7, {UUIDOID, TEXTOID, TEXTOID, JSONBOID, JSONBOID, JSONBOID, UUIDOID}};
static DurableFunction namespace_now_fn = {"_now", 1, {TEXTOID}};
static DurableFunction append_at_fn = {"_append_at", 4, {UUIDOID, TEXTOID, JSONBOID, TIMESTAMPTZOID}};
static DurableFunction close_update_fn = {"_close_update", 6, {UUIDOID, TEXTOID, TIMESTAMPTZOID, JSONBOID, JSONBOID, UUIDOID}};

/* A command type and the function that applies it (w, cmd, completed); what it means for the task. */
typedef enum
{
	AFTER_NOTHING,
	AFTER_TASK_IF_TRUE,			/* needs a workflow task when it returns true */
	AFTER_TASK,					/* needs a workflow task */
	AFTER_CLOSED				/* the run is closed */
} CommandAfter;

typedef struct CommandKind
{
	const char *type;			/* NULL: any other (a closing command, checked before) */
	CommandAfter after;
	DurableFunction fn;
	/* applied here instead of by fn (w, cmd, completed; run): the common close */
	void		(*apply) (HeapTupleHeader w, Jsonb *cmd, int64 completed, Datum run);
} CommandKind;

static void complete_execution(HeapTupleHeader w, Jsonb *cmd, int64 completed, Datum run);

#define COMMAND_ARGS(name) {name, 3, {InvalidOid, JSONBOID, INT8OID}}
static CommandKind command_kinds[] = {
	{"ScheduleActivityTask", AFTER_NOTHING, COMMAND_ARGS("_cmd_schedule_activity")},
	{"RequestCancelActivityTask", AFTER_TASK_IF_TRUE, COMMAND_ARGS("_cmd_request_cancel_activity")},
	{"StartTimer", AFTER_NOTHING, COMMAND_ARGS("_cmd_start_timer")},
	{"CancelTimer", AFTER_NOTHING, COMMAND_ARGS("_cmd_cancel_timer")},
	{"StartChildWorkflowExecution", AFTER_TASK, COMMAND_ARGS("_cmd_start_child")},
	{"SignalExternalWorkflowExecution", AFTER_TASK, COMMAND_ARGS("_cmd_signal_external")},
	{"RequestCancelExternalWorkflowExecution", AFTER_TASK, COMMAND_ARGS("_cmd_cancel_external")},
	{"RecordMarker", AFTER_NOTHING, COMMAND_ARGS("_cmd_record_marker")},
	{"UpsertWorkflowSearchAttributes", AFTER_NOTHING, COMMAND_ARGS("_cmd_upsert_search_attributes")},
	{"CompleteWorkflowUpdate", AFTER_NOTHING, COMMAND_ARGS("_cmd_complete_update")},
	{"CompleteWorkflowExecution", AFTER_CLOSED, COMMAND_ARGS("_cmd_close"), complete_execution},
	{NULL, AFTER_CLOSED, COMMAND_ARGS("_cmd_close")},
};

/*
 * A text[] of an IMMUTABLE function of no arguments (_command_types(),
 * _closing_command_types()), as C strings, read once and kept until the
 * function changes (call_function.c counts its changes), as the plpgsql's
 * planner folded the call once per session.
 */
typedef struct TypeList
{
	DurableFunction *fn;
	int			n;
	char	  **names;			/* in TopMemoryContext */
	char	   *joined;			/* array_to_string(list, ', ') */
	uint32		changes;		/* fn's changes when read */
} TypeList;

static TypeList command_types = {&command_types_fn};
static TypeList closing_types = {&closing_types_fn};

static TypeList *
type_list(TypeList *list)
{
	ArrayType  *array;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	MemoryContext old;
	StringInfoData joined;
	uint32		changes = list->fn->changes;

	if (list->names != NULL && list->changes == changes)
		return list;
	array = DatumGetArrayTypeP(DurableCallFunction(DurableFunctionOid(list->fn, false), InvalidOid, 0, NULL, NULL));
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (list->names != NULL)
	{
		for (int i = 0; i < list->n; i++)
			if (list->names[i] != NULL)
				pfree(list->names[i]);
		pfree(list->names);
		pfree(list->joined);
		list->names = NULL;
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	initStringInfo(&joined);
	list->names = palloc0(Max(n, 1) * sizeof(char *));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			continue;			/* (never equal to a type; array_to_string skips it) */
		list->names[i] = TextDatumGetCString(elems[i]);
		if (joined.len > 0)
			appendStringInfoString(&joined, ", ");
		appendStringInfoString(&joined, list->names[i]);
	}
	list->joined = joined.data;
	list->n = n;
	list->changes = changes;
	MemoryContextSwitchTo(old);
	return list;
}

static bool
in_list(TypeList *list, const char *s, int len)
{
	type_list(list);
	for (int i = 0; i < list->n; i++)
		if (list->names[i] != NULL && strlen(list->names[i]) == (size_t) len && memcmp(list->names[i], s, len) == 0)
			return true;
	return false;
}

/* v's JSON text, as jsonb's output writes it */
static char *
json_text(JsonbValue *v)
{
	Jsonb	   *j = JsonbValueToJsonb(v);

	return JsonbToCString(NULL, &j->root, VARSIZE(j));
}

/* the command's "type" if it is an object with a string type (into *len), else NULL */
static const char *
command_type(JsonbValue *cmd, int *len)
{
	JsonbValue	buf;
	JsonbValue *type;

	if (cmd->type != jbvBinary || !JsonContainerIsObject(cmd->val.binary.data))
		return NULL;
	type = getKeyJsonValueFromContainer(cmd->val.binary.data, "type", 4, &buf);
	if (type == NULL || type->type != jbvString)
		return NULL;
	*len = type->val.string.len;
	return type->val.string.val;
}

/*
 * _check_commands(commands): an array of objects, each with a known string
 * "type", a closing one only last; the plpgsql's errors, in its order.
 */
static void
check_commands(Jsonb *commands)
{
	int			n;

	if (commands == NULL || !JB_ROOT_IS_ARRAY(commands) || JB_ROOT_IS_SCALAR(commands))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("commands must be a JSON array"),
				 errdetail("Got %s.", commands == NULL ? "NULL"
						   : JsonbToCString(NULL, &commands->root, VARSIZE(commands))),
				 errhint("Pass e.g. '[{\"type\": \"CompleteWorkflowExecution\", \"result\": 42}]'.")));
	n = JB_ROOT_COUNT(commands);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *cmd = getIthJsonbValueFromContainer(&commands->root, i);
		int			len = 0;
		const char *type = command_type(cmd, &len);
		char	   *name;

		if (type == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("command %d is not an object with a \"type\"", i),
					 errdetail("Got %s.", json_text(cmd))));
		if (in_list(&command_types, type, len) && !(in_list(&closing_types, type, len) && i != n - 1))
			continue;
		name = pnstrdup(type, len);
		if (!in_list(&command_types, type, len))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown command type \"%s\"", name),
					 errhint("Known types: %s.", type_list(&command_types)->joined)));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be the last command", name),
				 errdetail("It is command %d of %d.", i + 1, n)));
	}
}

/* durable._check_commands(commands jsonb) */
Datum
durable_check_commands(PG_FUNCTION_ARGS)
{
	check_commands(PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0));
	PG_RETURN_VOID();
}

/*
 * fn(args) as an expression of the plpgsql called it: the command counter
 * advanced and a fresh snapshot pushed (a volatile function's expression),
 * text arguments of the default collation; (Datum) 0 when null.
 */
static Datum
step(DurableFunction *fn, const Datum *args, const bool *nulls)
{
	Datum		result;

	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	result = DurableCallFunction(DurableFunctionOid(fn, false), DEFAULT_COLLATION_OID, fn->nargs, args, nulls);
	PopActiveSnapshot();
	return result;
}

/*
 * The columns of a task's row this file reads (row_by_key.c's
 * DurableReadColumns: their numbers found once per row type, not by name
 * per read as GetAttributeByName finds them)
 */
enum
{
	T_SCHEDULED_EVENT_ID,
	T_STARTED_EVENT_ID,
	T_RUN_ID,
	T_TASK_ID,
	T_IDENTITY,
	T_BUILD_ID,
	T_TASK_QUEUE,
	T_NAMESPACE,
	T_FENCE,
	T_STATE,
	T_COLUMNS
};
static const char *const task_names[T_COLUMNS] = {
	"scheduled_event_id", "started_event_id", "run_id", "task_id", "identity", "build_id", "task_queue", "namespace",
	"fence", "state"
};
static DurableRowColumns task_columns = {T_COLUMNS, task_names};

typedef struct TaskRow
{
	Datum		v[T_COLUMNS];
	bool		n[T_COLUMNS];
} TaskRow;

static void
read_task(HeapTupleHeader t, TaskRow *row)
{
	DurableReadColumns(PointerGetDatum(t), &task_columns, row->v, row->n);
}

/* the columns of the run's row close_completed reads */
static const char *const run_names[] = {"parent_run_id", "search_attributes", "namespace"};
static DurableRowColumns run_columns = {lengthof(run_names), run_names};

/* _workflow_task_row(task_id): the task's row (its columns into *r), or NULL when there is none */
static HeapTupleHeader
task_row(int64 task_id, TaskRow *r)
{
	Datum		args[1] = {Int64GetDatum(task_id)};
	Datum		row = step(&task_row_fn, args, NULL);

	if (row == (Datum) 0)
		return NULL;
	read_task(DatumGetHeapTupleHeader(row), r);
	return r->n[T_TASK_ID] ? NULL : DatumGetHeapTupleHeader(row);
}

/* _lease_lost('workflow', token): raises DU004 */
static void
lease_lost(Datum token, bool token_null)
{
	Datum		args[2] = {CStringGetTextDatum("workflow"), token};
	bool		nulls[2] = {false, token_null};

	step(&lease_lost_fn, args, nulls);
	elog(ERROR, "durable._lease_lost returned");
}

/*
 * durable._lock_workflow_task(task_token text) returns durable.workflow_tasks:
 * locks the run of a started workflow task by its token and gives the
 * task's row; a stale or unknown token is LEASE_LOST, one of a queue the
 * caller may not work on is refused (before the lock). The plpgsql's
 * steps: the token read (its grammar, task_token.c; a malformed one is
 * _parse_token's error), the row by its key (_workflow_task_row), the
 * caller's rights (_authorize), the run's lock (_lock_run), the row again
 * under the lock, its fence and state; each helper called as its
 * expression was (step()).
 */
Datum
durable_lock_workflow_task(PG_FUNCTION_ARGS)
{
	Datum		token = PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0);
	int64		task_id = 0;
	int64		fence = 0;
	HeapTupleHeader t;
	TaskRow		row;
	bool		isnull;

	if (PG_ARGISNULL(0) ||
		!DurableReadToken(VARDATA_ANY(DatumGetTextPP(token)), VARSIZE_ANY_EXHDR(DatumGetTextPP(token)), "w",
						  &task_id, &fence))
	{
		/* _parse_token's error (or, should it pass the token, its reading) */
		Datum		args[2] = {token, CStringGetTextDatum("w")};
		bool		nulls[2] = {PG_ARGISNULL(0), false};
		HeapTupleHeader tok = DatumGetHeapTupleHeader(step(&parse_token_fn, args, nulls));

		task_id = DatumGetInt64(GetAttributeByNum(tok, 1, &isnull));
		fence = DatumGetInt64(GetAttributeByNum(tok, 2, &isnull));
	}
	t = task_row(task_id, &row);
	if (t == NULL)
		lease_lost(token, PG_ARGISNULL(0));
	{
		Datum		args[3] = {CStringGetTextDatum("worker"), row.v[T_TASK_QUEUE], row.v[T_NAMESPACE]};

		step(&authorize_fn, args, NULL);
	}
	{
		Datum		args[1] = {row.v[T_RUN_ID]};

		step(&lock_run_fn, args, NULL);	/* FOR UPDATE, without the executor (85_row_by_key.sql) */
	}
	t = task_row(task_id, &row);	/* again, now that its run is locked */
	if (t == NULL || DatumGetInt64(row.v[T_FENCE]) != fence ||
		strcmp(TextDatumGetCString(row.v[T_STATE]), "STARTED") != 0)
		lease_lost(token, PG_ARGISNULL(0));
	PG_RETURN_HEAPTUPLEHEADER(t);
}

/*
 * The completed task's row deleted as its statement
 *     DELETE FROM durable.workflow_tasks wt WHERE wt.task_id = $1
 * deletes it: directly (probed_table.c, as activity_result.c deletes its
 * task: found by a unique index on task_id, table_tuple_delete), or by the
 * statement itself, kept prepared, wherever it would do more (a trigger of
 * DELETE, a foreign key's, row security, an inheriting table, a role
 * without DELETE and SELECT, an ExecutorCheckPerms_hook) or the row was
 * changed meanwhile by another transaction. The statement was ~3 µs of a
 * completion's ~20 (its executor set up and torn down for one row).
 */
static DurableProbedTable task_table = {
	"workflow_tasks", 1, {"task_id"}, {INT8OID}, {F_INT8EQ}, 0, {0}, {0}, ACL_SELECT | ACL_DELETE
};

/* The task's row deleted directly (none there: nothing to delete); false, nothing written: the statement must. */
static bool
delete_direct(Datum task_id)
{
	Relation	rel = DurableOpenProbed(&task_table, RowExclusiveLock);
	Relation	index;
	TupleTableSlot *slot;
	bool		done = true;
	bool		written = false;

	if (rel == NULL)
		return false;
	DurableProbedDeleteBegin(rel);
	index = index_open(task_table.lookup.index, RowExclusiveLock);
	slot = table_slot_create(rel, NULL);
	if (DurableProbeIndexKeys(rel, index, 1, task_table.eqs, &task_id, GetActiveSnapshot(), slot))
		done = written = DurableProbedDelete(rel, slot);
	ExecDropSingleTupleTableSlot(slot);
	/* the locks stay to the transaction's end, as the statement's */
	index_close(index, NoLock);
	DurableDirectWriteEnd(written);
	table_close(rel, NoLock);
	return done;
}

static void
delete_task(Datum task_id, bool isnull)
{
	static SPIPlanPtr plan;
	Oid			types[1] = {INT8OID};
	Datum		args[1] = {task_id};
	char		nulls[1] = {isnull ? 'n' : ' '};

	if (!isnull && delete_direct(task_id))
		return;
	DurableRunStatement(&plan, "DELETE FROM durable.workflow_tasks wt WHERE wt.task_id = $1", 1, types, args, nulls,
						false, 0, SPI_OK_DELETE, NULL, NULL);
}

/* the statements of the plpgsql body, kept prepared */
static bool
statement_finds(SPIPlanPtr *plan, const char *sql, Datum run)
{
	Oid			types[1] = {UUIDOID};
	Datum		args[1] = {run};

	return DurableRunStatement(plan, sql, 1, types, args, NULL, false, 1, SPI_OK_SELECT, NULL, NULL) > 0;
}

/* key: a bigint or null */
static void
push_key_int8(JsonbParseState **state, const char *key, Datum v, bool isnull)
{
	DurableJsonbPushKey(state, key);
	if (isnull)
		DurableJsonbPushNull(state);
	else
		DurableJsonbPushInt64(state, DatumGetInt64(v));
}

/* key: a text or null */
static void
push_key_text(JsonbParseState **state, const char *key, text *t)
{
	DurableJsonbPushKey(state, key);
	DurableJsonbPushText(state, t);
}

/* _append(run, type, attributes): the event's id */
static int64
append(Datum run, const char *type, JsonbValue *attributes)
{
	Datum		args[3];
	Datum		event;

	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	args[0] = run;
	args[1] = CStringGetTextDatum(type);
	args[2] = JsonbPGetDatum(JsonbValueToJsonb(attributes));
	event = DurableCallDirect(durable_append, InvalidOid, 3, args, NULL, NULL);
	PopActiveSnapshot();
	return DatumGetInt64(event);
}

/*
 * The statements of _close_run (api/04_close.sql) that empty the tables of
 * a closed run, in the order of _run_rows' bits 1 to 32, kept prepared.
 */
static const char *const close_deletes[] = {
	"DELETE FROM durable.workflow_tasks t WHERE t.run_id = $1",
	"DELETE FROM durable.activity_tasks a WHERE a.run_id = $1",
	"DELETE FROM durable.timers t WHERE t.run_id = $1",
	"DELETE FROM durable.buffered_events b WHERE b.run_id = $1",
	"DELETE FROM durable.workflow_pauses p WHERE p.run_id = $1",
	"DELETE FROM durable.activity_pauses p WHERE p.run_id = $1",
};

/*
 * _close_run(run, 'COMPLETED', 'WorkflowExecutionCompleted', attributes,
 * result) as the plpgsql runs it for a run that has no parent, was not
 * started by a schedule and has no child (running or not: _run_rows'
 * probe of the children), which is the common close: the run's row
 * (_workflow_row), the namespace's clock (_now), the event (_append_at),
 * the row closed (_close_update, or its statement where that must), the
 * rows of the tables a close empties deleted where _run_rows says there
 * may be some (by the same statements, kept prepared). Each helper is
 * called as the plpgsql's expression called it (step()). _run_rows is
 * asked about the children alone first (which close this is), and about
 * the tables a close empties after the event and the update, where the
 * plpgsql asks: an operator's trigger firing on those (on workflows or
 * history_rows) may add rows of the run, which _close_run deletes and so
 * must this. Any other close (a parent
 * to tell, a schedule to tell, children to close or cancel; a retry policy
 * applies only to a failure) is _close_run's own. The plpgsql's statements
 * cost a close several µs of interpretation around helpers that are C.
 */
static void
close_completed(Datum run, Jsonb *attributes, Jsonb *result)
{
	static SPIPlanPtr update_plan;
	static SPIPlanPtr delete_plans[lengthof(close_deletes)];
	Datum		args[7];
	bool		nulls[7] = {false, false, false, false, result == NULL, true, true};
	HeapTupleHeader w;
	Datum		namespace;
	Datum		search_attributes;
	bool		isnull;
	bool		parent_null;
	bool		uncommon;
	int32		pending;
	Datum		closed;

	args[0] = run;
	w = DatumGetHeapTupleHeader(step(&workflow_row_fn, args, NULL));
	{
		Datum		v[lengthof(run_names)];
		bool		n[lengthof(run_names)];

		DurableReadColumns(PointerGetDatum(w), &run_columns, v, n);
		parent_null = n[0];
		search_attributes = v[1];
		isnull = n[1];
		namespace = v[2];
	}
	/* (w.search_attributes ? 'DurableScheduledById', the operator's own) */
	uncommon = !parent_null ||
		(!isnull &&
		 DatumGetBool(DirectFunctionCall2(jsonb_exists, search_attributes,
										  CStringGetTextDatum("DurableScheduledById"))));
	if (!uncommon)
	{
		args[1] = Int32GetDatum(RUN_ROWS_CHILDREN);
		uncommon = (DatumGetInt32(step(&run_rows_fn, args, NULL)) & RUN_ROWS_CHILDREN) != 0;
	}
	if (uncommon)
	{
		args[0] = run;
		args[1] = CStringGetTextDatum("COMPLETED");
		args[2] = CStringGetTextDatum("WorkflowExecutionCompleted");
		args[3] = JsonbPGetDatum(attributes);
		args[4] = JsonbPGetDatum(result);
		args[5] = (Datum) 0;
		args[6] = (Datum) 0;
		step(&close_run_fn, args, nulls);
		return;
	}
	/* closed := durable._now(w.namespace) */
	args[0] = namespace;
	closed = step(&namespace_now_fn, args, NULL);
	args[0] = run;
	args[1] = CStringGetTextDatum("WorkflowExecutionCompleted");
	args[2] = JsonbPGetDatum(attributes);
	args[3] = closed;
	(void) step(&append_at_fn, args, NULL);
	/* (_close_update's arguments: run, status, closed, result, failure, new_run_id) */
	args[0] = run;
	args[1] = CStringGetTextDatum("COMPLETED");
	args[2] = closed;
	args[3] = JsonbPGetDatum(result);
	args[4] = (Datum) 0;
	args[5] = (Datum) 0;
	nulls[3] = result == NULL;
	nulls[4] = nulls[5] = true;
	if (!DatumGetBool(step(&close_update_fn, args, nulls)))
	{
		Oid			types[6] = {UUIDOID, TEXTOID, TIMESTAMPTZOID, JSONBOID, JSONBOID, UUIDOID};
		char		spi_nulls[6] = {' ', ' ', ' ', result == NULL ? 'n' : ' ', 'n', 'n'};

		DurableRunStatement(&update_plan,
							"UPDATE durable.workflows wf SET status = $2, closed_at = $3, result = $4, failure = $5, "
							"deadline_at = NULL, new_run_id = $6 WHERE wf.run_id = $1",
							6, types, args, spi_nulls, false, 0, SPI_OK_UPDATE, NULL, NULL);
	}
	/* pending := durable._run_rows(run), the children known to be none */
	args[0] = run;
	args[1] = Int32GetDatum(RUN_ROWS_ALL & ~RUN_ROWS_CHILDREN);
	pending = DatumGetInt32(step(&run_rows_fn, args, NULL));
	for (int i = 0; i < lengthof(close_deletes); i++)
	{
		Oid			types[1] = {UUIDOID};

		if ((pending & (1 << i)) != 0)
			DurableRunStatement(&delete_plans[i], close_deletes[i], 1, types, &run, NULL, false, 0, SPI_OK_DELETE,
								NULL, NULL);
	}
}

/*
 * CompleteWorkflowExecution, the common close, as _cmd_close's branch for
 * it (api/06_commands.sql) applies it: the command's keys, the result
 * within the payload rule, then _close_run(run, 'COMPLETED',
 * 'WorkflowExecutionCompleted', {"result", "workflow_task_completed_event_id"},
 * result => the result) (close_completed). The other closing commands go
 * through _cmd_close.
 */
static void
complete_execution(HeapTupleHeader w, Jsonb *cmd, int64 completed, Datum run)
{
	static const char *const keys[] = {"type", "result"};
	JsonbValue	buf;
	JsonbValue *v = getKeyJsonValueFromContainer(&cmd->root, "result", 6, &buf);
	Jsonb	   *result = v == NULL ? NULL : JsonbValueToJsonb(v);
	JsonbParseState *state = NULL;

	DurableCheckKeys(cmd, lengthof(keys), keys, NULL, "CompleteWorkflowExecution");
	DurableCheckPayload(result, "workflow result");
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	DurableJsonbPushKey(&state, "result");
	if (v == NULL)
		DurableJsonbPushNull(&state);
	else
		pushJsonbValue(&state, WJB_VALUE, v);
	DurableJsonbPushKey(&state, "workflow_task_completed_event_id");
	DurableJsonbPushInt64(&state, completed);
	close_completed(run, JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL)), result);
}

/* durable.complete_workflow_task(task_token text, commands jsonb, identity text) */
Datum
durable_complete_workflow_task(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr buffered_plan;
	static SPIPlanPtr task_plan;
	Jsonb	   *commands = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	text	   *identity = PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2);
	HeapTupleHeader t;
	TaskRow		row;
	HeapTupleHeader w;
	Datum		run;
	Datum		d;
	text	   *task_identity;
	Datum		build_id;
	bool		build_id_null;
	int			n;
	bool		unseen = false;
	bool		needs_task = false;
	bool		closed = false;
	int64		completed;
	JsonbParseState *state = NULL;

	check_commands(commands);
	DurableCheckName(identity, "identity");
	{
		Datum		args[1] = {PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0)};
		bool		nulls[1] = {PG_ARGISNULL(0)};

		d = step(&lock_task_fn, args, nulls);
		if (d == (Datum) 0)
			elog(ERROR, "durable._lock_workflow_task returned no task");
		t = DatumGetHeapTupleHeader(d);
	}
	read_task(t, &row);
	if (row.n[T_SCHEDULED_EVENT_ID])
	{
		Datum		args[1] = {PointerGetDatum(t)};

		DurableFunctionRowArg(&record_transient_fn, 0, t);
		t = DatumGetHeapTupleHeader(step(&record_transient_fn, args, NULL));
		read_task(t, &row);
	}
	run = row.v[T_RUN_ID];
	{
		Datum		args[1] = {run};
		bool		nulls[1] = {row.n[T_RUN_ID]};

		/* (locked by _lock_workflow_task) */
		w = DatumGetHeapTupleHeader(step(&workflow_row_fn, args, nulls));
	}
	delete_task(row.v[T_TASK_ID], row.n[T_TASK_ID]);
	n = JB_ROOT_COUNT(commands);

	/*
	 * Closing while unseen events wait would lose them (a signal sent during
	 * this task): fail the task instead and let the workflow see them.
	 * (_run_rows: an index probe, no statement, that says where rows may be;
	 * only then a statement looks: api/83_run_rows.sql.)
	 */
	if (n > 0)
	{
		int			len = 0;
		const char *type = command_type(getIthJsonbValueFromContainer(&commands->root, n - 1), &len);

		if (type != NULL && in_list(&closing_types, type, len))
		{
			Datum		args[2] = {run, Int32GetDatum(RUN_ROWS_BUFFERED)};

			if (DatumGetInt32(step(&run_rows_fn, args, NULL)) != 0)
				unseen = statement_finds(&buffered_plan,
										 "SELECT 1 FROM durable.buffered_events b WHERE b.run_id = $1", run);
		}
	}
	task_identity = identity != NULL ? identity : row.n[T_IDENTITY] ? NULL : DatumGetTextPP(row.v[T_IDENTITY]);
	if (unseen)
	{
		Datum		args[2] = {run, Int32GetDatum(1)};

		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		push_key_int8(&state, "scheduled_event_id", row.v[T_SCHEDULED_EVENT_ID], row.n[T_SCHEDULED_EVENT_ID]);
		push_key_int8(&state, "started_event_id", row.v[T_STARTED_EVENT_ID], row.n[T_STARTED_EVENT_ID]);
		DurableJsonbPushKey(&state, "cause");
		DurableJsonbPushString(&state, "UNHANDLED_COMMAND", strlen("UNHANDLED_COMMAND"));
		push_key_text(&state, "identity", task_identity);
		DurableJsonbPushKey(&state, "failure");
		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		push_key_text(&state, "message", cstring_to_text(
			"new events arrived while the workflow task ran; the workflow sees them before it may close"));
		pushJsonbValue(&state, WJB_END_OBJECT, NULL);
		append(run, "WorkflowTaskFailed", pushJsonbValue(&state, WJB_END_OBJECT, NULL));
		step(&flush_buffered_fn, args, NULL);
		DurableScheduleWorkflowTask(run, false, 1, false);
		step(&hold_if_paused_fn, args, NULL);	/* 41_pause.sql */
		PG_RETURN_VOID();
	}

	/* WorkflowTaskCompleted: jsonb_build_object(...) || _build_id_attrs(t.build_id) */
	build_id = row.v[T_BUILD_ID];
	build_id_null = row.n[T_BUILD_ID];
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	push_key_int8(&state, "scheduled_event_id", row.v[T_SCHEDULED_EVENT_ID], row.n[T_SCHEDULED_EVENT_ID]);
	push_key_int8(&state, "started_event_id", row.v[T_STARTED_EVENT_ID], row.n[T_STARTED_EVENT_ID]);
	push_key_text(&state, "identity", task_identity);
	if (!build_id_null)
		push_key_text(&state, "build_id", DatumGetTextPP(build_id));
	completed = append(run, "WorkflowTaskCompleted", pushJsonbValue(&state, WJB_END_OBJECT, NULL));
	if (!build_id_null)			/* an unversioned worker's task has nothing to record */
	{
		Datum		args[2] = {PointerGetDatum(w), PointerGetDatum(t)};

		DurableFunctionRowArg(&record_build_id_fn, 0, w);
		DurableFunctionRowArg(&record_build_id_fn, 1, t);
		step(&record_build_id_fn, args, NULL);
	}

	for (int i = 0; i < n; i++)
	{
		JsonbValue *cmd = getIthJsonbValueFromContainer(&commands->root, i);
		int			len = 0;
		const char *type = command_type(cmd, &len);
		CommandKind *kind = command_kinds;
		Datum		args[3] = {PointerGetDatum(w), JsonbPGetDatum(JsonbValueToJsonb(cmd)), Int64GetDatum(completed)};
		Datum		result;

		while (kind->type != NULL &&
			   !(strlen(kind->type) == (size_t) len && memcmp(kind->type, type, len) == 0))
			kind++;
		if (kind->apply != NULL)
		{
			kind->apply(w, DatumGetJsonbP(args[1]), completed, run);
			result = (Datum) 0;
		}
		else
		{
			DurableFunctionRowArg(&kind->fn, 0, w);
			result = step(&kind->fn, args, NULL);
		}
		if (kind->after == AFTER_TASK || (kind->after == AFTER_TASK_IF_TRUE && DatumGetBool(result)))
			needs_task = true;
		if (kind->after == AFTER_CLOSED)
			closed = true;
	}

	if (!closed)
	{
		Datum		args[2] = {run, Int32GetDatum(RUN_ROWS_BUFFERED | RUN_ROWS_PAUSES)};
		int32		pending = DatumGetInt32(step(&run_rows_fn, args, NULL));

		args[1] = Int32GetDatum(1);
		if ((pending & RUN_ROWS_BUFFERED) != 0 && DatumGetInt32(step(&flush_buffered_fn, args, NULL)) > 0)
			needs_task = true;
		if (needs_task &&
			!statement_finds(&task_plan, "SELECT 1 FROM durable.workflow_tasks wt WHERE wt.run_id = $1", run))
			DurableScheduleWorkflowTask(run, false, 1, false);
		if ((pending & RUN_ROWS_PAUSES) != 0)
			step(&hold_if_paused_fn, args, NULL);	/* paused while this task ran (41_pause.sql) */
	}
	PG_RETURN_VOID();
}
