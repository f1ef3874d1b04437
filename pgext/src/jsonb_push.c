/*
 * jsonb_push.c: the two steps every jsonb the hot path builds by hand takes
 * (history_json.c, event_attrs.c): a key, and a string value.
 */
#include "postgres.h"

#include "utils/jsonb.h"

#include "durable.h"

void
DurableJsonbPushKey(JsonbParseState **state, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
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
