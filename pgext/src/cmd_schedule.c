/*
 * cmd_schedule.c: durable._cmd_schedule_activity(w, cmd, completed), the
 * ScheduleActivityTask command of a workflow task's completion (once per
 * activity a workflow schedules), in C.
 *
 * As plpgsql it was the workflow poller's largest piece of CPU after the
 * poll itself: ~70 µs per one-activity workflow with profiling on
 * (docs/performance.md, "ScheduleActivityTask in C"), of which only
 * ~30 µs were the writes (_append, _insert_activity_task, already C); the
 * rest was a dozen helper calls (_timeout, _json_interval, _check_keys,
 * _priority_options, _json_text, _check_name, _check_path_name,
 * _check_payload, _retry_policy, _seconds, _priority_json) each paying a
 * plpgsql call, and the expressions around them.
 *
 * Here the common command (names, a queue, an input, timeouts given as
 * numbers of seconds, no retry policy or an empty one, no priority of its
 * own) is checked and applied without them, in the order the plpgsql did:
 * the timeouts, the clock, the keys, the priority, the ids, the queue, the
 * input, the timeouts' rule, the retry policy, the pending check, the
 * event, the task, the wake-up, the notification. Where a value is not
 * the common kind, or would fail a check, the plpgsql helper that checked
 * it is called (through fmgr, as an expression calls it) and its result
 * used: so every error is that helper's own (code, message, detail, hint),
 * and every uncommon value (a duration as text, a retry policy of its own,
 * a priority, a name over 255 bytes or outside ASCII) goes through the
 * same code as before. Only the two errors the command raised itself (no
 * timeout, an activity id already pending) are raised here, as they were.
 * The eager offer (api/72_eager.sql) is taken through its plpgsql
 * functions. The plpgsql body this replaces is kept as a twin in pgTAP
 * 93_cmd_schedule.sql, which compares the two.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "durable.h"
#include "command.h"

PG_FUNCTION_INFO_V1(durable_cmd_schedule_activity);

/* the C functions the plpgsql called through SQL */
extern Datum durable_append(PG_FUNCTION_ARGS);
extern Datum durable_wake_at(PG_FUNCTION_ARGS);
extern Datum durable_json_depth(PG_FUNCTION_ARGS);
extern Datum durable_insert_activity_task(PG_FUNCTION_ARGS);
extern Datum durable_insert_activity_task_leased(PG_FUNCTION_ARGS);
extern Datum durable_eager_take(PG_FUNCTION_ARGS);
extern Datum durable_eager_taken(PG_FUNCTION_ARGS);

#define WHAT "ScheduleActivityTask"

/* the command's keys (the plpgsql's _check_keys list) */
static const char *const command_keys[] = {
	"type", "activity_id", "activity_type", "task_queue", "input", "schedule_to_close_timeout",
	"schedule_to_start_timeout", "start_to_close_timeout", "heartbeat_timeout", "retry_policy", "fairness_key",
	"priority", "fairness_weight"
};
#define N_COMMAND_KEYS lengthof(command_keys)

/* durable's plpgsql helpers, called for what is not the common kind (call_function.c) */
static DurableFunction json_interval_fn = {"_json_interval", 3, {JSONBOID, TEXTOID, TEXTOID}};
static DurableFunction json_text_fn = {"_json_text", 4, {JSONBOID, TEXTOID, TEXTOID, BOOLOID}};
static DurableFunction check_name_fn = {"_check_name", 3, {TEXTOID, TEXTOID, INT4OID}};
static DurableFunction check_path_name_fn = {"_check_path_name", 2, {TEXTOID, TEXTOID}};
static DurableFunction check_payload_fn = {"_check_payload", 2, {JSONBOID, TEXTOID}};
static DurableFunction priority_options_fn = {"_priority_options", 5,
{JSONBOID, TEXTOID, INT2OID, TEXTOID, FLOAT8OID}};
static DurableFunction retry_policy_fn = {"_retry_policy", 2, {JSONBOID, TEXTOID}};

/*
 * fn called as the plpgsql's expression called it (its text arguments of
 * the default collation); (Datum) 0 when its result is null (every helper
 * called here returns a pointer, a timestamp or nothing).
 */
static Datum
call_sql(DurableFunction *fn, const Datum *args, const bool *nulls)
{
	return DurableCallFunction(DurableFunctionOid(fn, false), DEFAULT_COLLATION_OID, fn->nargs, args, nulls);
}

/* obj -> key (NULL: absent, or obj not an object), into *buf */
static JsonbValue *
member(Jsonb *obj, const char *key, JsonbValue *buf)
{
	if (obj == NULL || !JB_ROOT_IS_OBJECT(obj))
		return NULL;
	return getKeyJsonValueFromContainer(&obj->root, key, strlen(key), buf);
}

/*
 * _timeout(cmd, key, 'ScheduleActivityTask'): the duration, null when
 * absent, null or zero. A number of seconds from 0 to below 100 years is
 * make_interval's of it, as _json_interval makes it (and passes its
 * checks); anything else is _json_interval's to read or refuse.
 */
static Interval *
timeout(Jsonb *cmd, const char *key)
{
	JsonbValue	buf;
	JsonbValue *v = member(cmd, key, &buf);
	Interval   *result;

	if (v == NULL || v->type == jbvNull)
		return NULL;
	/* (compared as numerics first: a float8 cannot hold every JSON number, 1e400) */
	if (v->type == jbvNumeric &&
		DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(v->val.numeric),
										  NumericGetDatum(int64_to_numeric(0)))) >= 0 &&
		DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(v->val.numeric),
										  NumericGetDatum(int64_to_numeric(INT64CONST(3155760000))))) < 0)
	{
		result = DatumGetIntervalP(DirectFunctionCall7(make_interval, Int32GetDatum(0), Int32GetDatum(0),
													   Int32GetDatum(0), Int32GetDatum(0), Int32GetDatum(0),
													   Int32GetDatum(0),
													   DirectFunctionCall1(numeric_float8,
																		   NumericGetDatum(v->val.numeric))));
		return result->time == 0 ? NULL : result;
	}
	{
		Datum		args[3] = {JsonbPGetDatum(cmd), CStringGetTextDatum(key), CStringGetTextDatum(WHAT)};
		Interval	zero = {0};

		result = (Interval *) DatumGetPointer(call_sql(&json_interval_fn, args, NULL));
		if (result == NULL ||
			DatumGetBool(DirectFunctionCall2(interval_eq, IntervalPGetDatum(result), IntervalPGetDatum(&zero))))
			return NULL;
		return result;
	}
}

/* _json_text(cmd, key, 'ScheduleActivityTask', required): a non-empty string, or _json_text's answer */
static text *
json_text(Jsonb *cmd, const char *key, bool required)
{
	JsonbValue	buf;
	JsonbValue *v = member(cmd, key, &buf);
	Datum		args[4];

	if (v != NULL && v->type == jbvString && v->val.string.len > 0)
		return cstring_to_text_with_len(v->val.string.val, v->val.string.len);
	if ((v == NULL || v->type == jbvNull) && !required)
		return NULL;
	args[0] = JsonbPGetDatum(cmd);
	args[1] = CStringGetTextDatum(key);
	args[2] = CStringGetTextDatum(WHAT);
	args[3] = BoolGetDatum(required);
	return (text *) DatumGetPointer(call_sql(&json_text_fn, args, NULL));
}

/*
 * _check_name(name, field): at most 255 bytes, or _check_name's error
 * (also complete_workflow_task's identity's, workflow_complete.c)
 */
text *
DurableCheckName(text *name, const char *field)
{
	Datum		args[3];

	if (name == NULL || VARSIZE_ANY_EXHDR(name) <= 255)
		return name;
	args[0] = PointerGetDatum(name);
	args[1] = CStringGetTextDatum(field);
	args[2] = Int32GetDatum(255);
	return (text *) DatumGetPointer(call_sql(&check_name_fn, args, NULL));
}

/*
 * _check_path_name(name, field): a name of printable ASCII but "/", other
 * than "", "." and "..", passes its rule; any other is _check_path_name's
 * (its [:cntrl:] depends on the database's locale beyond ASCII).
 */
static text *
check_path_name(text *name, const char *field)
{
	const char *s;
	int			len;
	bool		plain;
	Datum		args[2];

	if (name == NULL)
		return NULL;
	s = VARDATA_ANY(name);
	len = VARSIZE_ANY_EXHDR(name);
	plain = len > 0 && !(len == 1 && s[0] == '.') && !(len == 2 && s[0] == '.' && s[1] == '.');
	for (int i = 0; i < len && plain; i++)
		plain = (unsigned char) s[i] >= 0x20 && (unsigned char) s[i] < 0x7f && s[i] != '/';
	if (plain)
		return name;
	args[0] = PointerGetDatum(name);
	args[1] = CStringGetTextDatum(field);
	return (text *) DatumGetPointer(call_sql(&check_path_name_fn, args, NULL));
}

/*
 * _check_payload(payload, what): within the payload rule, or
 * _check_payload's error (the activity's input here, a workflow's result
 * in workflow_complete.c)
 */
void
DurableCheckPayload(Jsonb *payload, const char *what)
{
	Datum		args[2];

	if (payload == NULL)
		return;
	if (DatumGetInt32(DirectFunctionCall1(durable_json_depth, JsonbPGetDatum(payload))) <= 128 &&
		(int64) strlen(JsonbToCString(NULL, &payload->root, VARSIZE(payload))) <= (int64) durable_max_payload_bytes)
		return;
	args[0] = JsonbPGetDatum(payload);
	args[1] = CStringGetTextDatum(what);
	call_sql(&check_payload_fn, args, NULL);
}

/* least(a, b) of intervals, as SQL's: nulls left out, the first of two equal ones */
static Interval *
least_interval(Interval *a, Interval *b)
{
	if (a == NULL)
		return b;
	if (b == NULL)
		return a;
	return DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(a), IntervalPGetDatum(b))) > 0 ? b : a;
}

/* now + d (null when d is) folded into the least of *deadline so far */
static void
least_deadline(TimestampTz now, Interval *d, TimestampTz *deadline, bool *deadline_null)
{
	TimestampTz t;

	if (d == NULL)
		return;
	t = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(now),
												IntervalPGetDatum(d)));
	if (*deadline_null || t < *deadline)
		*deadline = t;
	*deadline_null = false;
}

/* (rp ->> key)::float8, as the plpgsql read the filled-in policy */
static float8
policy_number(Jsonb *rp, const char *key, bool *isnull)
{
	JsonbValue	buf;
	JsonbValue *v = member(rp, key, &buf);

	*isnull = v == NULL || v->type == jbvNull;
	if (*isnull)
		return 0;
	if (v->type == jbvNumeric)
		return DatumGetFloat8(DirectFunctionCall1(numeric_float8, NumericGetDatum(v->val.numeric)));
	/* (not in a policy _retry_policy filled in: ->>'s text, jsonb_push.c's reading) */
	return DatumGetFloat8(DirectFunctionCall1(float8in, CStringGetDatum(text_to_cstring(DurableJsonbValueText(v)))));
}

/* make_interval(secs => (rp ->> key)::float8) */
static Interval *
policy_interval(Jsonb *rp, const char *key)
{
	bool		isnull;
	float8		secs = policy_number(rp, key, &isnull);

	if (isnull)
		return NULL;
	return DatumGetIntervalP(DirectFunctionCall7(make_interval, Int32GetDatum(0), Int32GetDatum(0), Int32GetDatum(0),
												 Int32GetDatum(0), Int32GetDatum(0), Int32GetDatum(0),
												 Float8GetDatum(secs)));
}

/*
 * Temporal's default policy, _retry_policy('{}', 'retry_policy'), which the
 * plpgsql's planner folded once per session: kept per backend until the
 * function changes (call_function.c counts its changes, as the plan cache
 * forgot the folded constant), made under default_policy_changes.
 */
static Jsonb *default_policy;
static uint32 default_policy_changes;

static Jsonb *
retry_policy(Jsonb *rp)
{
	Datum		args[2];

	args[1] = CStringGetTextDatum("retry_policy");
	if (rp != NULL && !(JB_ROOT_IS_OBJECT(rp) && JB_ROOT_COUNT(rp) == 0))
	{
		/* a policy of its own: checked and filled in; a JSON null is none */
		Jsonb	   *own;

		args[0] = JsonbPGetDatum(rp);
		own = (Jsonb *) DatumGetPointer(call_sql(&retry_policy_fn, args, NULL));
		if (own != NULL)
			return own;
	}
	if (default_policy == NULL || default_policy_changes != retry_policy_fn.changes)
	{
		/* (counted before the call: a change during it makes the next call again) */
		uint32		changes = retry_policy_fn.changes;
		Jsonb	   *made;

		args[0] = DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"));
		made = (Jsonb *) DatumGetPointer(call_sql(&retry_policy_fn, args, NULL));
		if (made == NULL)
			return NULL;
		if (default_policy != NULL)
			pfree(default_policy);
		default_policy = MemoryContextAlloc(TopMemoryContext, VARSIZE(made));
		memcpy(default_policy, made, VARSIZE(made));
		default_policy_changes = changes;
	}
	return default_policy;
}

/* ARRAY(SELECT jsonb_array_elements_text(rp -> 'non_retryable_error_types')), or '{}' when it is [] */
static ArrayType *
non_retryable_types(Jsonb *rp)
{
	JsonbValue	buf;
	JsonbValue *list = member(rp, "non_retryable_error_types", &buf);
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	Datum	   *elems;
	bool	   *nulls;
	int			n = 0;
	int			dims[1];
	int			lbs[1] = {1};

	if (list == NULL || list->type != jbvBinary || !JsonContainerIsArray(list->val.binary.data) ||
		JsonContainerSize(list->val.binary.data) == 0)
		return construct_empty_array(TEXTOID);
	elems = palloc(JsonContainerSize(list->val.binary.data) * sizeof(Datum));
	nulls = palloc(JsonContainerSize(list->val.binary.data) * sizeof(bool));
	it = JsonbIteratorInit(list->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		/* (jsonb_array_elements_text gives each as ->> does) */
		nulls[n] = v.type == jbvNull;
		elems[n] = nulls[n] ? (Datum) 0 : PointerGetDatum(DurableJsonbValueText(&v));
		n++;
	}
	dims[0] = n;
	return construct_md_array(elems, nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT);
}

/*
 * EXISTS (an activity task of the run with this activity id): the
 * statement, kept prepared, only when a probe of the run's activity tasks
 * finds one that may be it (run_rows.c); a workflow mostly schedules its
 * next activity once the last is done, and the statement's executor cost
 * ~3 µs to find nothing.
 */
static bool
pending(Datum run, bool run_null, text *activity_id)
{
	static SPIPlanPtr plan;
	Oid			types[2] = {UUIDOID, TEXTOID};
	Datum		args[2] = {run, PointerGetDatum(activity_id)};
	char		nulls[2] = {run_null ? 'n' : ' ', ' '};

	if (!run_null && !DurableRunMayHoldRowWith(DURABLE_RUN_ACTIVITY_TASKS, run, activity_id))
		return false;
	return DurableRunStatement(&plan, "SELECT 1 FROM durable.activity_tasks a WHERE a.run_id = $1 AND a.activity_id = $2",
							   2, types, args, nulls, false, 1, SPI_OK_SELECT, NULL, NULL) > 0;
}

/* _seconds(d): extract(epoch FROM d)::float8 */
static void
push_seconds(JsonbParseState **state, const char *key, Interval *d)
{
	DurableJsonbPushKey(state, key);
	if (d == NULL)
	{
		DurableJsonbPushNull(state);
		return;
	}
	DurableJsonbPushFloat8(state, DatumGetFloat8(DirectFunctionCall1(numeric_float8,
		DirectFunctionCall2(extract_interval, CStringGetTextDatum("epoch"), IntervalPGetDatum(d)))));
}

/*
 * The columns of the run's row w the command reads (row_by_key.c's
 * DurableReadColumns: their numbers found once per row type, not by name
 * per read); all null without a row.
 */
enum
{
	W_RUN_ID,
	W_NAMESPACE,
	W_WORKFLOW_ID,
	W_PRIORITY,
	W_FAIRNESS_KEY,
	W_FAIRNESS_WEIGHT,
	W_TASK_QUEUE,
	W_COLUMNS
};
static const char *const run_names[W_COLUMNS] = {
	"run_id", "namespace", "workflow_id", "priority", "fairness_key", "fairness_weight", "task_queue"
};
static DurableRowColumns run_columns = {W_COLUMNS, run_names};

static void
read_run(HeapTupleHeader w, Datum *v, bool *n)
{
	if (w != NULL)
		DurableReadColumns(PointerGetDatum(w), &run_columns, v, n);
	else
		for (int i = 0; i < W_COLUMNS; i++)
		{
			v[i] = (Datum) 0;
			n[i] = true;
		}
}

/* the most arguments of a direct call below (_insert_activity_task_leased's) */
#define CALL_MAX_ARGS 25

/* argument i of a direct call of nargs being set up */
static void
set_arg(Datum *args, bool *nulls, int nargs, int i, Datum value, bool isnull)
{
	if (i >= nargs)
		elog(ERROR, "argument %d of %d", i + 1, nargs);
	args[i] = isnull ? (Datum) 0 : value;
	nulls[i] = isnull;
}

#define ARG(i, datum, null) set_arg(call_args, call_nulls, nargs, (i), (datum), (null))

Datum
durable_cmd_schedule_activity(PG_FUNCTION_ARGS)
{
	HeapTupleHeader w = PG_ARGISNULL(0) ? NULL : PG_GETARG_HEAPTUPLEHEADER(0);
	Jsonb	   *cmd = PG_ARGISNULL(1) ? NULL : PG_GETARG_JSONB_P(1);
	bool		completed_null = PG_ARGISNULL(2);
	int64		completed = completed_null ? 0 : PG_GETARG_INT64(2);
	bool		has_keys = cmd != NULL && JB_ROOT_IS_OBJECT(cmd);
	JsonbValue	buf;
	JsonbValue *v;
	Interval   *s2c;
	Interval   *s2s;
	Interval   *stc;
	Interval   *hb;
	Jsonb	   *rp = NULL;
	TimestampTz now;
	Datum		wv[W_COLUMNS];
	bool		wn[W_COLUMNS];
	Datum		run;
	bool		run_null;
	Datum		namespace;
	bool		namespace_null;
	Datum		workflow_id;
	bool		workflow_id_null;
	int16		priority;
	bool		priority_null;
	text	   *fairness_key;
	float8		weight;
	bool		weight_null;
	text	   *activity_id;
	text	   *activity_type;
	text	   *queue;
	JsonbValue *input_value;
	Jsonb	   *input = NULL;
	Interval   *initial;
	float8		backoff;
	bool		backoff_null;
	Interval   *max_interval;
	float8		max_attempts;
	bool		max_attempts_null;
	ArrayType  *non_retryable;
	JsonbParseState *state = NULL;
	int64		scheduled;
	TimestampTz deadline = 0;
	bool		deadline_null = true;
	text	   *eager = NULL;
	char	   *slots;
	Datum		task = (Datum) 0;
	bool		task_null = true;
	Datum		call_args[CALL_MAX_ARGS];
	bool		call_nulls[CALL_MAX_ARGS];
	int			nargs;

	/* the DECLARE section's: the four timeouts (timeout() reads an absent one, or a cmd not an object, as none), the retry policy, the clock */
	s2c = timeout(cmd, "schedule_to_close_timeout");
	s2s = timeout(cmd, "schedule_to_start_timeout");
	stc = timeout(cmd, "start_to_close_timeout");
	hb = timeout(cmd, "heartbeat_timeout");
	v = member(cmd, "retry_policy", &buf);
	if (v != NULL)
		rp = JsonbValueToJsonb(v);
	now = DurableSqlNow();

	if (cmd != NULL)
		DurableCheckKeys(cmd, N_COMMAND_KEYS, command_keys, NULL, WHAT);

	/* the workflow's priority unless the command sets its own (api/41_priority.sql) */
	read_run(w, wv, wn);
	run = wv[W_RUN_ID];
	run_null = wn[W_RUN_ID];
	namespace = wv[W_NAMESPACE];
	namespace_null = wn[W_NAMESPACE];
	workflow_id = wv[W_WORKFLOW_ID];
	workflow_id_null = wn[W_WORKFLOW_ID];
	priority_null = wn[W_PRIORITY];
	priority = priority_null ? 0 : DatumGetInt16(wv[W_PRIORITY]);
	fairness_key = wn[W_FAIRNESS_KEY] ? NULL : DatumGetTextPP(wv[W_FAIRNESS_KEY]);
	weight_null = wn[W_FAIRNESS_WEIGHT];
	weight = weight_null ? 0 : DatumGetFloat8(wv[W_FAIRNESS_WEIGHT]);
	if (has_keys && (member(cmd, "priority", &buf) != NULL || member(cmd, "fairness_weight", &buf) != NULL ||
					 member(cmd, "fairness_key", &buf) != NULL))
	{
		Datum		args[5] = {JsonbPGetDatum(cmd), CStringGetTextDatum(WHAT), Int16GetDatum(priority),
		PointerGetDatum(fairness_key), Float8GetDatum(weight)};
		bool		nulls[5] = {false, false, priority_null, fairness_key == NULL, weight_null};
		HeapTupleHeader prio = (HeapTupleHeader) DatumGetPointer(call_sql(&priority_options_fn, args, nulls));
		bool		isnull;
		Datum		d;

		d = GetAttributeByNum(prio, 1, &priority_null);
		priority = priority_null ? 0 : DatumGetInt16(d);
		d = GetAttributeByNum(prio, 2, &isnull);
		fairness_key = isnull ? NULL : DatumGetTextPP(d);
		d = GetAttributeByNum(prio, 3, &weight_null);
		weight = weight_null ? 0 : DatumGetFloat8(d);
	}

	activity_id = DurableCheckName(json_text(cmd, "activity_id", true), WHAT ": \"activity_id\"");
	activity_type = DurableCheckName(json_text(cmd, "activity_type", true), WHAT ": \"activity_type\"");
	queue = json_text(cmd, "task_queue", false);
	if (queue == NULL)
		queue = wn[W_TASK_QUEUE] ? NULL : DatumGetTextPP(wv[W_TASK_QUEUE]);
	queue = check_path_name(DurableCheckName(queue, WHAT ": \"task_queue\""), WHAT ": \"task_queue\"");
	input_value = member(cmd, "input", &buf);
	if (input_value != NULL)
		input = JsonbValueToJsonb(input_value);
	DurableCheckPayload(input, "activity input");
	if (s2c == NULL && stc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ScheduleActivityTask needs start_to_close_timeout or schedule_to_close_timeout"),
				 errdetail("Activity %s (%s) has neither.", activity_id == NULL ? "" : text_to_cstring(activity_id),
						   activity_type == NULL ? "" : text_to_cstring(activity_type)),
				 errhint("Without one, a worker that dies mid-activity would hold it forever.")));
	stc = least_interval(stc != NULL ? stc : s2c, s2c);

	/*
	 * An activity always has a policy: none, a null one or an empty one is
	 * Temporal's default (the C worker sends an empty one for an activity
	 * without options).
	 */
	rp = retry_policy(rp);
	initial = policy_interval(rp, "initial_interval");
	backoff = policy_number(rp, "backoff_coefficient", &backoff_null);
	max_interval = policy_interval(rp, "maximum_interval");
	max_attempts = policy_number(rp, "maximum_attempts", &max_attempts_null);
	non_retryable = non_retryable_types(rp);

	if (activity_id != NULL && pending(run, run_null, activity_id))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("activity id \"%s\" is already pending", text_to_cstring(activity_id)),
				 errhint("Give each pending activity of a workflow its own activity_id.")));

	/* jsonb_build_object(...) || _priority_json(...) */
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	DurableJsonbPushKey(&state, "activity_id");
	DurableJsonbPushText(&state, activity_id);
	DurableJsonbPushKey(&state, "activity_type");
	DurableJsonbPushText(&state, activity_type);
	DurableJsonbPushKey(&state, "task_queue");
	DurableJsonbPushText(&state, queue);
	DurableJsonbPushKey(&state, "input");
	if (input_value != NULL)
		pushJsonbValue(&state, WJB_VALUE, input_value);
	else
		DurableJsonbPushNull(&state);
	push_seconds(&state, "schedule_to_close_timeout", s2c);
	push_seconds(&state, "schedule_to_start_timeout", s2s);
	push_seconds(&state, "start_to_close_timeout", stc);
	push_seconds(&state, "heartbeat_timeout", hb);
	DurableJsonbPushKey(&state, "retry_policy");
	DurableJsonbPushJsonb(&state, rp);
	DurableJsonbPushKey(&state, "workflow_task_completed_event_id");
	if (completed_null)
		DurableJsonbPushNull(&state);
	else
		DurableJsonbPushInt64(&state, completed);
	DurablePushPriorityAttrs(&state, priority, priority_null, fairness_key, weight, weight_null);
	{
		JsonbValue *attributes = pushJsonbValue(&state, WJB_END_OBJECT, NULL);

		nargs = 3;
		ARG(0, run, run_null);
		ARG(1, CStringGetTextDatum("ActivityTaskScheduled"), false);
		ARG(2, JsonbPGetDatum(JsonbValueToJsonb(attributes)), false);
		scheduled = DatumGetInt64(DurableCallDirect(durable_append, InvalidOid, nargs, call_args, call_nulls, NULL));
	}
	least_deadline(now, s2s, &deadline, &deadline_null);
	least_deadline(now, s2c, &deadline, &deadline_null);

	/*
	 * Eager execution: the worker completing this task takes the activity
	 * now, inserted started as a poll would have leased it. Only inside
	 * complete_workflow_tasks_eager, which offers the worker's free slots
	 * (current_setting('durable_eager.slots', true) > '0', compared as text).
	 */
	slots = GetConfigOptionByName("durable_eager.slots", NULL, true);
	if (slots != NULL &&
		DatumGetBool(DirectFunctionCall2Coll(text_gt, DEFAULT_COLLATION_OID, CStringGetTextDatum(slots),
											 CStringGetTextDatum("0"))))
	{
		Datum		args[3] = {PointerGetDatum(w), PointerGetDatum(queue), Int16GetDatum(priority)};
		bool		nulls[3] = {w == NULL, queue == NULL, priority_null};

		eager = (text *) DatumGetPointer(DurableCallDirect(durable_eager_take, DEFAULT_COLLATION_OID, 3, args, nulls,
														   NULL));
		if (eager != NULL)
		{
			deadline_null = true;
			least_deadline(now, stc, &deadline, &deadline_null);
			least_deadline(now, s2c, &deadline, &deadline_null);
			least_deadline(now, hb, &deadline, &deadline_null);
		}
	}

	/* the task: SCHEDULED, or the eager one STARTED, leased to its worker (api/80_task_insert.sql) */
	{
		int			i = 0;

		nargs = eager == NULL ? 23 : CALL_MAX_ARGS;
		ARG(i++, run, run_null);
		ARG(i++, namespace, namespace_null);
		ARG(i++, workflow_id, workflow_id_null);
		ARG(i++, Int64GetDatum(scheduled), false);
		ARG(i++, PointerGetDatum(activity_id), activity_id == NULL);
		ARG(i++, PointerGetDatum(activity_type), activity_type == NULL);
		ARG(i++, PointerGetDatum(queue), queue == NULL);
		ARG(i++, JsonbPGetDatum(input), input == NULL);
		if (eager != NULL)
			ARG(i++, PointerGetDatum(eager), false);
		ARG(i++, TimestampTzGetDatum(now), false);
		ARG(i++, TimestampTzGetDatum(now), false);
		if (eager != NULL)
			ARG(i++, TimestampTzGetDatum(now), false);
		ARG(i++, IntervalPGetDatum(s2c), s2c == NULL);
		ARG(i++, IntervalPGetDatum(s2s), s2s == NULL);
		ARG(i++, IntervalPGetDatum(stc), stc == NULL);
		ARG(i++, IntervalPGetDatum(hb), hb == NULL);
		ARG(i++, IntervalPGetDatum(initial), initial == NULL);
		ARG(i++, Float8GetDatum(backoff), backoff_null);
		ARG(i++, IntervalPGetDatum(max_interval), max_interval == NULL);
		/* max_attempts::integer */
		ARG(i++, max_attempts_null ? (Datum) 0 : DirectFunctionCall1(dtoi4, Float8GetDatum(max_attempts)),
			max_attempts_null);
		ARG(i++, PointerGetDatum(non_retryable), false);
		ARG(i++, TimestampTzGetDatum(deadline), deadline_null);
		ARG(i++, PointerGetDatum(fairness_key), fairness_key == NULL);
		ARG(i++, Int16GetDatum(priority), priority_null);
		ARG(i++, Float8GetDatum(weight), weight_null);
		Assert(i == nargs);
		task = DurableCallDirect(eager == NULL ? durable_insert_activity_task : durable_insert_activity_task_leased,
								 InvalidOid, nargs, call_args, call_nulls, &task_null);
	}

	if (!deadline_null)
	{
		nargs = 1;
		ARG(0, TimestampTzGetDatum(deadline), false);
		(void) DurableCallDirect(durable_wake_at, InvalidOid, nargs, call_args, call_nulls, NULL);
	}
	if (eager == NULL)
	{
		DurableNotify("activity", namespace, namespace_null, PointerGetDatum(queue), queue == NULL);
	}
	else
	{
		Datum		args[1] = {task};
		bool		nulls[1] = {task_null};

		(void) DurableCallDirect(durable_eager_taken, InvalidOid, 1, args, nulls, NULL);
	}
	PG_RETURN_VOID();
}
