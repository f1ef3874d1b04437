/*
 * jsonb_push.c: the steps every jsonb the hot path builds by hand takes
 * (history_json.c, event_attrs.c, history_pack.c, handback.c,
 * cmd_schedule.c, workflow_complete.c, run_start.c, activity_result.c):
 * a key, a string value, a float8 value, a bigint, a text, a jsonb or a
 * null; and the one reading, a value as ->> gives it (activity_outcomes.c).
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "durable.h"
#include "command.h"

void
DurableJsonbPushKey(JsonbParseState **state, const char *key)
{
	DurableJsonbPushKeyLen(state, key, strlen(key));
}

/* a key of len bytes, not necessarily ended by a zero (history_pack.c) */
void
DurableJsonbPushKeyLen(JsonbParseState **state, const char *key, int len)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = len;
	pushJsonbValue(state, WJB_KEY, &k);
}

void
DurableJsonbPushString(JsonbParseState **state, const char *s, int len)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = len;
	pushJsonbValue(state, WJB_VALUE, &v);
}

/* A float8 as jsonb_build_object writes it: its text as a number, or a string when not finite. */
void
DurableJsonbPushFloat8(JsonbParseState **state, float8 f)
{
	char	   *s = DatumGetCString(DirectFunctionCall1(float8out, Float8GetDatum(f)));
	JsonbValue	v;

	if (isnan(f) || isinf(f))
	{
		v.type = jbvString;
		v.val.string.val = s;
		v.val.string.len = strlen(s);
	}
	else
	{
		v.type = jbvNumeric;
		v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
															ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	}
	pushJsonbValue(state, WJB_VALUE, &v);
}

/* a JSON null: a SQL null, as jsonb_build_object writes it */
void
DurableJsonbPushNull(JsonbParseState **state)
{
	JsonbValue	v;

	v.type = jbvNull;
	pushJsonbValue(state, WJB_VALUE, &v);
}

/* a bigint (or smaller integer) as jsonb_build_object writes it */
void
DurableJsonbPushInt64(JsonbParseState **state, int64 n)
{
	JsonbValue	v;

	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(n);
	pushJsonbValue(state, WJB_VALUE, &v);
}

/* a text as a JSON string, or null when t is NULL */
void
DurableJsonbPushText(JsonbParseState **state, text *t)
{
	if (t == NULL)
		DurableJsonbPushNull(state);
	else
		DurableJsonbPushString(state, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

/* a jsonb as the value (a scalar one as that scalar), or null when j is NULL, as jsonb_build_object writes it */
void
DurableJsonbPushJsonb(JsonbParseState **state, Jsonb *j)
{
	JsonbValue	v;

	if (j == NULL)
	{
		DurableJsonbPushNull(state);
		return;
	}
	v.type = jbvBinary;
	v.val.binary.data = &j->root;
	v.val.binary.len = VARSIZE(j) - VARHDRSZ;
	pushJsonbValue(state, WJB_VALUE, &v);
}

/*
 * A JSON value as ->> gives it (the reading beside the pushing): a
 * string's text, NULL for a JSON null, any other value's JSON text (a
 * number's digits, true, an object's text).
 */
text *
DurableJsonbValueText(JsonbValue *v)
{
	Jsonb	   *j;

	if (v->type == jbvNull)
		return NULL;
	if (v->type == jbvString)
		return cstring_to_text_with_len(v->val.string.val, v->val.string.len);
	j = JsonbValueToJsonb(v);
	return cstring_to_text(JsonbToCString(NULL, &j->root, VARSIZE(j)));
}
