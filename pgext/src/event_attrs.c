/*
 * event_attrs.c: the small pieces of event attributes that several events
 * share: durable._priority_json (a task's priority, only what differs from
 * the defaults) and durable._build_id_attrs (the build that ran a workflow
 * task). Both are called for nearly every task.
 *
 * As SQL functions they were declared IMMUTABLE around jsonb_build_object,
 * which is only STABLE, so PostgreSQL never inlined them: each call was
 * parsed and planned again in every (sub)transaction, and a worker's batched
 * completions run each item in a subtransaction of its own.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "durable.h"
#include "command.h"

PG_FUNCTION_INFO_V1(durable_priority_json);
PG_FUNCTION_INFO_V1(durable_build_id_attrs);

/*
 * The keys of a priority that differ from the defaults, pushed into an
 * object being built (null: an argument that is null): durable._priority_json's
 * object, and cmd_schedule.c's event, which jsonb_build_object(...) ||
 * _priority_json(...) made.
 */
void
DurablePushPriorityAttrs(JsonbParseState **state, int16 priority, bool priority_null, text *fairness_key,
						 float8 weight, bool weight_null)
{
	if (!priority_null && priority != 3)
	{
		DurableJsonbPushKey(state, "priority");
		DurableJsonbPushInt64(state, priority);
	}
	if (fairness_key != NULL && VARSIZE_ANY_EXHDR(fairness_key) > 0)
	{
		DurableJsonbPushKey(state, "fairness_key");
		DurableJsonbPushText(state, fairness_key);
	}
	/* nullif(weight, 1) compares as float8 does: NaN equals NaN, and 1 is only 1 */
	if (!weight_null && float8_cmp_internal(weight, 1.0) != 0)
	{
		DurableJsonbPushKey(state, "fairness_weight");
		DurableJsonbPushFloat8(state, weight);
	}
}

/* durable._priority_json(priority smallint, fairness_key text, fairness_weight float8) */
Datum
durable_priority_json(PG_FUNCTION_ARGS)
{
	JsonbParseState *state = NULL;
	JsonbValue *object;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	DurablePushPriorityAttrs(&state, PG_ARGISNULL(0) ? 3 : PG_GETARG_INT16(0), PG_ARGISNULL(0),
							 PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1),
							 PG_ARGISNULL(2) ? 1.0 : PG_GETARG_FLOAT8(2), PG_ARGISNULL(2));
	object = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(object));
}

/* durable._build_id_attrs(build_id text): {"build_id": ...}, or {} for none */
Datum
durable_build_id_attrs(PG_FUNCTION_ARGS)
{
	JsonbParseState *state = NULL;
	JsonbValue *object;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	if (!PG_ARGISNULL(0))
	{
		DurableJsonbPushKey(&state, "build_id");
		DurableJsonbPushText(&state, PG_GETARG_TEXT_PP(0));
	}
	object = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(object));
}
