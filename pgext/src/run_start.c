/*
 * run_start.c: durable._start_run(namespace, workflow_id, workflow_type,
 * task_queue, input, options), the run a start_workflow creates: its row,
 * its WorkflowExecutionStarted event and its first workflow task, in C on
 * the common path, and by durable._create_run (api/03_start.sql) itself
 * everywhere else.
 *
 * _create_run is plpgsql around C writers (run_insert.c, history_append.c,
 * task_insert.c): with 20,000 starts in one statement its own statements
 * and the helpers it calls for options no start gave (_priority_options,
 * the timeouts' CASEs, jsonb_build_object of WorkflowExecutionStarted's
 * attributes, _check_payload of an absent input) were ~12 µs of a ~42 µs
 * start (docs/performance.md, "The start on the server"). A start has no
 * parent, continues no run and carries no signal; here those of its
 * options that _create_run reads without parsing (memo, search
 * attributes, identity, request id) are taken as it takes them and the
 * rest (timeouts, start delay, retry policy, priority, fairness) send the
 * start to _create_run, as does anything but a plain object of options, a
 * null name, or an identity or request id that is not a string: every
 * error of theirs stays _create_run's own, and so does every path it
 * takes for them.
 *
 * The common path takes _create_run's steps in its order, each helper and
 * writer called as plpgsql's expression called it (the command counter
 * advanced and a fresh snapshot pushed: what the writers before it wrote is
 * seen, and what others committed meanwhile): the run id, the clock (the
 * SQL durable.now(), which a test may hold), the namespace's offset, the
 * input's payload check, the run's row (_insert_run: NULL when an open run
 * of the id conflicts, returned as is), the namespace's row
 * (_namespace_seen), WorkflowExecutionStarted at the run's start (the same
 * attributes jsonb_build_object made, pushed with jsonb_push.c's helpers:
 * a jsonb's keys are sorted, so only the set of keys and their values
 * count), and the first workflow task (_schedule_workflow_task, in C:
 * schedule_task.c). With no execution or run timeout there is no
 * deadline, and _wake_at(NULL) did nothing. pgTAP 94_run_start compares
 * this with _create_run on the same inputs.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "durable.h"
#include "command.h"

PG_FUNCTION_INFO_V1(durable_start_run);
PG_FUNCTION_INFO_V1(durable_start_workflow);

extern Datum durable_new_run_id(PG_FUNCTION_ARGS);
extern Datum durable_namespace_clock_offset(PG_FUNCTION_ARGS);
extern Datum durable_append_at(PG_FUNCTION_ARGS);
extern Datum durable_authorize(PG_FUNCTION_ARGS);
extern Datum durable_find_open_run(PG_FUNCTION_ARGS);

/* the plpgsql helpers the common path calls */
static DurableFunction namespace_seen_fn = {"_namespace_seen", 2, {TEXTOID, TIMESTAMPTZOID}};
static DurableFunction start_workflow_fn = {"_start_workflow", 7, {TEXTOID, TEXTOID, TEXTOID, JSONBOID, JSONBOID,
TEXTOID, INT4OID}};

/* the options _create_run parses (or whose value changes its path): the start goes to it */
static const char *const parsed_options[] = {
	"execution_timeout", "run_timeout", "task_timeout", "start_delay", "retry_policy",
	"priority", "fairness_key", "fairness_weight",
};

/* _create_run's default task timeout, and a run's first attempt */
#define TASK_TIMEOUT_SECONDS 10
#define FIRST_ATTEMPT 1

/* the arguments of _insert_run (api/86_run_insert.sql), in its order */
enum
{
	RUN_ID, NAMESPACE, WORKFLOW_ID, WORKFLOW_TYPE, TASK_QUEUE, INPUT, MEMO, SEARCH_ATTRIBUTES, FIRST_RUN_ID,
	CONTINUED_FROM_RUN_ID, PARENT_RUN_ID, PARENT_WORKFLOW_ID, PARENT_INITIATED_EVENT_ID, PARENT_CLOSE_POLICY,
	EXECUTION_STARTED_AT, STARTED_AT, EXECUTION_TIMEOUT, RUN_TIMEOUT, TASK_TIMEOUT, DEADLINE_AT, REQUEST_ID,
	START_DELAY, PRIORITY, FAIRNESS_KEY, FAIRNESS_WEIGHT, ATTEMPT, RETRY_POLICY,
	INSERT_RUN_ARGS
};

/* The options of a start as the common path reads them. */
typedef struct StartOptions
{
	Jsonb	   *memo;			/* coalesce(options -> 'memo', '{}') */
	Jsonb	   *search_attributes;
	text	   *identity;		/* options ->> 'identity' (NULL: SQL null) */
	text	   *request_id;
} StartOptions;

/* options ->> key of a string or JSON null member (NULL for either null); false: another kind */
static bool
string_member(Jsonb *options, const char *key, text **out)
{
	JsonbValue	buf;
	JsonbValue *v = getKeyJsonValueFromContainer(&options->root, key, strlen(key), &buf);

	*out = NULL;
	if (v == NULL || v->type == jbvNull)
		return true;
	if (v->type != jbvString)
		return false;
	*out = cstring_to_text_with_len(v->val.string.val, v->val.string.len);
	return true;
}

/* coalesce(options -> key, '{}') */
static Jsonb *
jsonb_member(Jsonb *options, const char *key, Jsonb *empty)
{
	JsonbValue	buf;
	JsonbValue *v = getKeyJsonValueFromContainer(&options->root, key, strlen(key), &buf);

	return v == NULL ? empty : JsonbValueToJsonb(v);
}

/*
 * '{}', made once per backend: every start of the common path reads it (no
 * callee changes or frees an argument it is given), where each made its own.
 */
static Jsonb *
empty_object(void)
{
	static Jsonb *empty;

	if (empty == NULL)
	{
		JsonbParseState *state = NULL;
		Jsonb	   *made;

		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		made = JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
		empty = MemoryContextAlloc(TopMemoryContext, VARSIZE(made));
		memcpy(empty, made, VARSIZE(made));
	}
	return empty;
}

/* Whether the start takes the common path: options a plain object, none that _create_run parses. */
static bool
read_options(Jsonb *options, StartOptions *o)
{
	Jsonb	   *empty = empty_object();

	if (!JB_ROOT_IS_OBJECT(options))
		return false;
	if (JB_ROOT_COUNT(options) > 0)
	{
		JsonbValue	buf;

		for (int i = 0; i < lengthof(parsed_options); i++)
			if (getKeyJsonValueFromContainer(&options->root, parsed_options[i], strlen(parsed_options[i]), &buf))
				return false;
	}
	if (JB_ROOT_COUNT(options) == 0)
	{
		o->memo = o->search_attributes = empty;
		o->identity = o->request_id = NULL;
		return true;
	}
	o->memo = jsonb_member(options, "memo", empty);
	o->search_attributes = jsonb_member(options, "search_attributes", empty);
	return string_member(options, "identity", &o->identity) && string_member(options, "request_id", &o->request_id);
}

/* Before a helper or writer: as plpgsql's expression of a volatile function (see the top). */
static void
step_begin(void)
{
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
}

/*
 * _namespace_seen(namespace, now), but for a namespace whose row this
 * backend saw committed (namespace_seen.c) or finds so now: the row
 * _namespace_seen looks for first, and then leaves as it is.
 */
static void
namespace_seen(Datum namespace, TimestampTz now)
{
	Datum		args[2] = {namespace, TimestampTzGetDatum(now)};

	if (DurableNamespaceSeen(DatumGetTextPP(namespace)))
		return;
	step_begin();
	if (!DurableNamespaceCommitted(DatumGetTextPP(namespace)))
		DurableCallFunction(DurableFunctionOid(&namespace_seen_fn, false), DEFAULT_COLLATION_OID, 2, args, NULL);
	PopActiveSnapshot();
}

/* key: a jsonb, a JSON null when NULL */
static void
push_jsonb(JsonbParseState **state, const char *key, Jsonb *j)
{
	DurableJsonbPushKey(state, key);
	DurableJsonbPushJsonb(state, j);
}

static void
push_null(JsonbParseState **state, const char *key)
{
	DurableJsonbPushKey(state, key);
	DurableJsonbPushNull(state);
}

/*
 * WorkflowExecutionStarted's attributes, as _create_run's
 * jsonb_build_object(...) || request made them for a start of the common
 * path (no timeouts but the task's, no parent, no continued run, no delay,
 * the default priority, no retry policy).
 */
static Jsonb *
started_attributes(Datum run, text *workflow_type, text *task_queue, Jsonb *input, const StartOptions *o)
{
	JsonbParseState *state = NULL;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	DurableJsonbPushKey(&state, "workflow_type");
	DurableJsonbPushText(&state, workflow_type);
	DurableJsonbPushKey(&state, "task_queue");
	DurableJsonbPushText(&state, task_queue);
	push_jsonb(&state, "input", input);
	push_null(&state, "workflow_execution_timeout");
	push_null(&state, "workflow_run_timeout");
	DurableJsonbPushKey(&state, "workflow_task_timeout");
	DurableJsonbPushFloat8(&state, TASK_TIMEOUT_SECONDS);	/* _seconds(interval '10 seconds') */
	DurableJsonbPushKey(&state, "first_execution_run_id");
	DurableJsonbPushText(&state, cstring_to_text(DatumGetCString(DirectFunctionCall1(uuid_out, run))));
	push_null(&state, "continued_execution_run_id");
	push_null(&state, "parent_workflow_id");
	push_null(&state, "parent_run_id");
	push_null(&state, "parent_initiated_event_id");
	push_jsonb(&state, "memo", o->memo);
	push_jsonb(&state, "search_attributes", o->search_attributes);
	DurableJsonbPushKey(&state, "identity");
	DurableJsonbPushText(&state, o->identity);
	DurableJsonbPushKey(&state, "attempt");
	DurableJsonbPushInt64(&state, FIRST_ATTEMPT);
	if (o->request_id != NULL)
	{
		DurableJsonbPushKey(&state, "request_id");
		DurableJsonbPushText(&state, o->request_id);
	}
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
}

/* The run's row by _insert_run (run_insert.c): its run id, or null (*inserted false) when nothing was inserted. */
static void
insert_run(Datum run, FunctionCallInfo args, TimestampTz now, TimestampTz started, Interval *task_timeout,
		   const StartOptions *o, bool *inserted, bool *direct)
{
	LOCAL_FCINFO(fc, INSERT_RUN_ARGS);

	InitFunctionCallInfoData(*fc, NULL, INSERT_RUN_ARGS, InvalidOid, NULL, NULL);
	for (int i = 0; i < INSERT_RUN_ARGS; i++)
	{
		fc->args[i].value = (Datum) 0;
		fc->args[i].isnull = true;
	}
#define SET(i, v) (fc->args[i].value = (v), fc->args[i].isnull = false)
	SET(RUN_ID, run);
	SET(NAMESPACE, args->args[0].value);
	SET(WORKFLOW_ID, args->args[1].value);
	SET(WORKFLOW_TYPE, args->args[2].value);
	SET(TASK_QUEUE, args->args[3].value);
	if (!args->args[4].isnull)
		SET(INPUT, args->args[4].value);
	SET(MEMO, JsonbPGetDatum(o->memo));
	SET(SEARCH_ATTRIBUTES, JsonbPGetDatum(o->search_attributes));
	SET(FIRST_RUN_ID, run);
	SET(PARENT_CLOSE_POLICY, CStringGetTextDatum("TERMINATE"));
	SET(EXECUTION_STARTED_AT, TimestampTzGetDatum(now));
	SET(STARTED_AT, TimestampTzGetDatum(started));
	SET(TASK_TIMEOUT, IntervalPGetDatum(task_timeout));
	if (o->request_id != NULL)
		SET(REQUEST_ID, PointerGetDatum(o->request_id));
	SET(PRIORITY, Int16GetDatum(3));	/* _priority_options' defaults */
	SET(FAIRNESS_KEY, CStringGetTextDatum(""));
	SET(FAIRNESS_WEIGHT, Float8GetDatum(1.0));
	SET(ATTEMPT, Int32GetDatum(FIRST_ATTEMPT));
#undef SET
	step_begin();
	(void) DurableInsertRun(fc, direct);
	PopActiveSnapshot();
	*inserted = !fc->isnull;
}

/* _append_at(run, 'WorkflowExecutionStarted', attributes, started) */
static void
append_started(Datum run, Jsonb *attributes, TimestampTz started)
{
	Datum		args[4] = {run, CStringGetTextDatum("WorkflowExecutionStarted"), JsonbPGetDatum(attributes),
	TimestampTzGetDatum(started)};

	step_begin();
	(void) DurableCallDirect(durable_append_at, InvalidOid, 4, args, NULL, NULL);
	PopActiveSnapshot();
}

/* _create_run(namespace, workflow_id, workflow_type, task_queue, input, options): every other start */
static Datum
create_run(FunctionCallInfo fcinfo)
{
	static SPIPlanPtr plan;
	Oid			types[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, JSONBOID};
	Datum		args[6];
	char		nulls[6];
	Datum		run;
	bool		isnull;

	for (int i = 0; i < 6; i++)
	{
		args[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	DurableRunStatement(&plan, "SELECT durable._create_run($1, $2, $3, $4, $5, $6)", 6, types, args, nulls, false,
						0, SPI_OK_SELECT, &run, &isnull);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(run);
}

/*
 * durable._start_run(namespace, workflow_id, workflow_type, task_queue,
 * input, options) RETURNS uuid: _create_run(namespace, workflow_id,
 * workflow_type, task_queue, input, options), in C on the common path (see
 * the top); the new run's id, or null when an open run of the id is there.
 */
Datum
durable_start_run(PG_FUNCTION_ARGS)
{
	StartOptions o;
	Datum		run;
	TimestampTz now;
	TimestampTz started;
	Jsonb	   *input;
	Interval   *task_timeout = palloc0(sizeof(Interval));
	bool		inserted;
	bool		direct;

	for (int i = 0; i < 4; i++)
		if (PG_ARGISNULL(i))
			return create_run(fcinfo);
	if (PG_ARGISNULL(5) || !read_options(PG_GETARG_JSONB_P(5), &o))
		return create_run(fcinfo);
	input = PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4);

	run = DirectFunctionCall1(durable_new_run_id, (Datum) 0);
	now = DurableSqlNow();
	/* the namespace's clock (16_namespace_clock.sql): started_at, and its event's time, exactly */
	started = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(now),
													  DirectFunctionCall1(durable_namespace_clock_offset,
																		  PG_GETARG_DATUM(0))));
	DurableCheckPayload(input, "workflow input");
	task_timeout->time = TASK_TIMEOUT_SECONDS * USECS_PER_SEC;
	insert_run(run, fcinfo, now, started, task_timeout, &o, &inserted, &direct);
	if (!inserted)
		PG_RETURN_NULL();
	namespace_seen(PG_GETARG_DATUM(0), now);	/* its retention applies (30_retention.sql) */
	append_started(run, started_attributes(run, PG_GETARG_TEXT_PP(2), PG_GETARG_TEXT_PP(3), input, &o), started);
	/*
	 * _schedule_workflow_task(run) (schedule_task.c: its own command counter
	 * and snapshot), given the run's namespace, queue and task timeout when
	 * its row holds exactly what was given; read from the row when the
	 * statement wrote it (an operator's trigger may have changed them)
	 */
	if (direct)
		DurableScheduleWorkflowTaskOf(run, PG_GETARG_DATUM(0), PG_GETARG_DATUM(3), IntervalPGetDatum(task_timeout),
									  false, FIRST_ATTEMPT);
	else
		DurableScheduleWorkflowTask(run, false, FIRST_ATTEMPT, false);
	PG_RETURN_DATUM(run);
}

/*
 * Whether a name passes _check_start_args' and _check_namespace's rules
 * without their regular expression: 1 to 255 bytes; and a path name (all
 * but the workflow type) not "." or "..", and printable ASCII but "/" (the
 * rest of [:cntrl:] depends on the database's locale beyond ASCII: the
 * plpgsql decides).
 */
static bool
plain_name(text *name, bool path)
{
	const unsigned char *s = (const unsigned char *) VARDATA_ANY(name);
	int			len = VARSIZE_ANY_EXHDR(name);

	if (len == 0 || len > 255)
		return false;
	if (!path)
		return true;
	if (len <= 2 && memcmp(s, "..", len) == 0)	/* "." or ".." */
		return false;
	for (int i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7E || s[i] == '/')
			return false;
	return true;
}

/* durable._start_workflow(the arguments, first_attempt): the plpgsql body, for every other start */
static Datum
start_by_plpgsql(FunctionCallInfo fcinfo, int first_attempt)
{
	Datum		args[7];
	bool		nulls[7];
	Datum		run;

	for (int i = 0; i < 6; i++)
	{
		nulls[i] = PG_ARGISNULL(i);
		args[i] = nulls[i] ? (Datum) 0 : PG_GETARG_DATUM(i);
	}
	args[6] = Int32GetDatum(first_attempt);
	nulls[6] = false;
	step_begin();
	run = DurableCallFunction(DurableFunctionOid(&start_workflow_fn, false), DEFAULT_COLLATION_OID, 7, args, nulls);
	PopActiveSnapshot();
	if (run == (Datum) 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(run);
}

/*
 * durable.start_workflow(workflow_id, workflow_type, task_queue, input,
 * options, namespace) RETURNS uuid, SECURITY DEFINER: a start with plain
 * names (plain_name) and no options takes _start_workflow's steps here:
 * _check_start_args and _check_namespace pass, _check_start_options has
 * nothing to check, _authorize('operator', NULL, namespace), the id's open
 * run (_find_open_run), then the run (_start_run). An id with an open run
 * (whose conflict, DU002, is the plpgsql's to raise), any other start, and
 * a first attempt that lost its insert to a concurrent start go to
 * _start_workflow, the last at its second attempt, so that a start still
 * makes two attempts at most.
 */
Datum
durable_start_workflow(PG_FUNCTION_ARGS)
{
	Jsonb	   *options = PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4);
	Datum		args[6];
	bool		nulls[6];
	bool		isnull;
	Datum		run;

	for (int i = 0; i < 6; i++)
		if (i != 3 && i != 4 && PG_ARGISNULL(i))
			return start_by_plpgsql(fcinfo, 1);
	if ((options != NULL && (!JB_ROOT_IS_OBJECT(options) || JB_ROOT_COUNT(options) > 0)) ||
		!plain_name(PG_GETARG_TEXT_PP(0), true) || !plain_name(PG_GETARG_TEXT_PP(1), false) ||
		!plain_name(PG_GETARG_TEXT_PP(2), true) || !plain_name(PG_GETARG_TEXT_PP(5), true))
		return start_by_plpgsql(fcinfo, 1);

	/* _authorize('operator', NULL, namespace) */
	args[0] = CStringGetTextDatum("operator");
	args[1] = (Datum) 0;
	args[2] = PG_GETARG_DATUM(5);
	memset(nulls, false, sizeof(nulls));
	nulls[1] = true;
	step_begin();
	(void) DurableCallDirect(durable_authorize, DEFAULT_COLLATION_OID, 3, args, nulls, NULL);
	PopActiveSnapshot();

	/* _find_open_run(namespace, workflow_id) */
	args[0] = PG_GETARG_DATUM(5);
	args[1] = PG_GETARG_DATUM(0);
	step_begin();
	(void) DurableCallDirect(durable_find_open_run, DEFAULT_COLLATION_OID, 2, args, NULL, &isnull);
	PopActiveSnapshot();
	if (!isnull)
		return start_by_plpgsql(fcinfo, 1);

	/* _start_run(namespace, workflow_id, workflow_type, task_queue, input, coalesce(options, '{}')) */
	args[0] = PG_GETARG_DATUM(5);
	args[1] = PG_GETARG_DATUM(0);
	args[2] = PG_GETARG_DATUM(1);
	args[3] = PG_GETARG_DATUM(2);
	args[4] = PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3);
	args[5] = JsonbPGetDatum(options != NULL ? options : empty_object());
	memset(nulls, false, sizeof(nulls));
	nulls[4] = PG_ARGISNULL(3);
	step_begin();
	run = DurableCallDirect(durable_start_run, DEFAULT_COLLATION_OID, 6, args, nulls, &isnull);
	PopActiveSnapshot();
	if (!isnull)
		PG_RETURN_DATUM(run);
	return start_by_plpgsql(fcinfo, 2);
}
