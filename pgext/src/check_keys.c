/*
 * check_keys.c: durable._check_keys(obj, allowed, what), which refuses an
 * options object or a command with a field it does not know (every start
 * and every command checks its keys). The plpgsql body ran a query over
 * jsonb_object_keys per call; this walks the object's keys once, in the
 * same order, and raises the same errors.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_check_keys);

/* format('%s', x) of plpgsql: a NULL is written as nothing */
static const char *
or_empty(const char *s)
{
	return s == NULL ? "" : s;
}

Datum
durable_check_keys(PG_FUNCTION_ARGS)
{
	Jsonb	   *obj;
	const char *what = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	Datum	   *allowed = NULL;
	bool	   *allowed_nulls = NULL;
	int			n_allowed = 0;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (PG_ARGISNULL(0))
		PG_RETURN_VOID();
	obj = PG_GETARG_JSONB_P(0);
	if (!JB_ROOT_IS_OBJECT(obj))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", or_empty(what)),
				 errdetail("Got %s.", JsonbToCString(NULL, &obj->root, VARSIZE(obj)))));
	if (!PG_ARGISNULL(1))
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), TEXTOID, -1, false, TYPALIGN_INT,
						  &allowed, &allowed_nulls, &n_allowed);

	it = JsonbIteratorInit(&obj->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		bool		known = false;

		if (tok != WJB_KEY)
			continue;
		/* k <> ALL (allowed): a NULL among the allowed leaves every key unknown-or-null, never refused */
		for (int i = 0; i < n_allowed && !known; i++)
		{
			text	   *a;

			if (allowed_nulls[i])
			{
				known = true;
				continue;
			}
			a = DatumGetTextPP(allowed[i]);
			known = VARSIZE_ANY_EXHDR(a) == v.val.string.len &&
				memcmp(VARDATA_ANY(a), v.val.string.val, v.val.string.len) == 0;
		}
		if (!known && !PG_ARGISNULL(1))
		{
			StringInfoData names;

			initStringInfo(&names);
			for (int i = 0; i < n_allowed; i++)
			{
				if (allowed_nulls[i])
					continue;	/* array_to_string skips NULLs */
				if (names.len > 0)
					appendStringInfoString(&names, ", ");
				appendStringInfoString(&names, TextDatumGetCString(allowed[i]));
			}
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s has an unknown field \"%s\"", or_empty(what),
							pnstrdup(v.val.string.val, v.val.string.len)),
					 errhint("Known fields: %s.", names.data)));
		}
	}
	PG_RETURN_VOID();
}
