/*
 * jsonb_push.c: the two steps every jsonb the hot path builds by hand takes
 * (history_json.c, event_attrs.c, history_pack.c): a key, and a string value.
 */
#include "postgres.h"

#include "utils/jsonb.h"

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
