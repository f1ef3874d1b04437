/*
 * jsonb_push.c: the steps every jsonb the hot path builds by hand takes
 * (history_json.c, event_attrs.c, history_pack.c, handback.c): a key, a
 * string value, a float8 value.
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "durable.h"

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
