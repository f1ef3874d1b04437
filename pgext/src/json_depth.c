/*
 * json_depth.c: how deeply a jsonb value nests arrays and objects.
 *
 * Part of the one rule for payloads that the store and durablefs share
 * (docs/sql-api.md, "Payloads"): jsonb's syntax and values, at most
 * durable.max_payload_bytes, and at most 128 levels of nesting. A walk with
 * the jsonb iterator is linear and needs no recursion of its own.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/jsonb.h"

PG_FUNCTION_INFO_V1(durable_json_depth);

Datum
durable_json_depth(PG_FUNCTION_ARGS)
{
	Jsonb	   *j = PG_GETARG_JSONB_P(0);
	JsonbIterator *it = JsonbIteratorInit(&j->root);
	JsonbValue	v;
	JsonbIteratorToken tok;
	int32		depth = 0;
	int32		deepest = 0;

	/* a scalar at the top is stored as a one-element raw-scalar array */
	bool		raw_scalar = JB_ROOT_IS_SCALAR(j);

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (tok == WJB_BEGIN_ARRAY || tok == WJB_BEGIN_OBJECT)
		{
			depth++;
			if (depth > deepest)
				deepest = depth;
		}
		else if (tok == WJB_END_ARRAY || tok == WJB_END_OBJECT)
			depth--;
	}
	PG_RETURN_INT32(raw_scalar ? deepest - 1 : deepest);
}
