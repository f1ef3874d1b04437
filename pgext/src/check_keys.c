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
#include "command.h"

PG_FUNCTION_INFO_V1(durable_check_keys);

/* format('%s', x) of plpgsql: a NULL is written as nothing */
static const char *
or_empty(const char *s)
{
	return s == NULL ? "" : s;
}

/* allowed[i]'s length (allowed[i] not NULL) */
static int
key_len(const char *const *allowed, const int *allowed_len, int i)
{
	return allowed_len != NULL ? allowed_len[i] : (int) strlen(allowed[i]);
}

/*
 * Refuses a key of obj not among the n allowed (allowed[i]: allowed_len[i]
 * bytes, not necessarily ended by a zero; allowed_len NULL: each one ended
 * by a zero, its length strlen's; allowed[i] NULL: a NULL of the SQL
 * array, which lets every key pass, as k <> ALL (allowed) is then never
 * true); obj must be an object. what names it in the errors (NULL:
 * nothing). Used by durable._check_keys and by the commands checked in C
 * (cmd_schedule.c, workflow_complete.c), with their keys as literals.
 */
void
DurableCheckKeys(Jsonb *obj, int n_allowed, const char *const *allowed, const int *allowed_len, const char *what)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (!JB_ROOT_IS_OBJECT(obj))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", or_empty(what)),
				 errdetail("Got %s.", JsonbToCString(NULL, &obj->root, VARSIZE(obj)))));

	it = JsonbIteratorInit(&obj->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		bool		known = false;

		if (tok != WJB_KEY)
			continue;
		for (int i = 0; i < n_allowed && !known; i++)
			known = allowed[i] == NULL ||
				(allowed_len != NULL ? allowed_len[i] == v.val.string.len &&
				 memcmp(allowed[i], v.val.string.val, v.val.string.len) == 0
				 : strncmp(allowed[i], v.val.string.val, v.val.string.len) == 0 &&
				 allowed[i][v.val.string.len] == '\0');
		if (!known)
		{
			StringInfoData names;

			initStringInfo(&names);
			for (int i = 0; i < n_allowed; i++)
			{
				if (allowed[i] == NULL)
					continue;	/* array_to_string skips NULLs */
				if (names.len > 0)
					appendStringInfoString(&names, ", ");
				appendBinaryStringInfo(&names, allowed[i], key_len(allowed, allowed_len, i));
			}
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s has an unknown field \"%s\"", or_empty(what),
							pnstrdup(v.val.string.val, v.val.string.len)),
					 errhint("Known fields: %s.", names.data)));
		}
	}
}

Datum
durable_check_keys(PG_FUNCTION_ARGS)
{
	const char *what = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	Datum	   *elems = NULL;
	bool	   *elem_nulls = NULL;
	int			n = 0;
	const char **allowed;
	int		   *allowed_len;

	if (PG_ARGISNULL(0))
		PG_RETURN_VOID();
	if (PG_ARGISNULL(1))
	{
		/* no list: only the object's type is checked (k <> ALL (NULL) is never true) */
		static const char *const any[1] = {NULL};
		static const int any_len[1] = {0};

		DurableCheckKeys(PG_GETARG_JSONB_P(0), 1, any, any_len, what);
		PG_RETURN_VOID();
	}
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), TEXTOID, -1, false, TYPALIGN_INT, &elems, &elem_nulls, &n);
	allowed = palloc(Max(n, 1) * sizeof(char *));
	allowed_len = palloc(Max(n, 1) * sizeof(int));
	for (int i = 0; i < n; i++)
	{
		text	   *a = elem_nulls[i] ? NULL : DatumGetTextPP(elems[i]);

		allowed[i] = a == NULL ? NULL : VARDATA_ANY(a);
		allowed_len[i] = a == NULL ? 0 : VARSIZE_ANY_EXHDR(a);
	}
	DurableCheckKeys(PG_GETARG_JSONB_P(0), n, allowed, allowed_len, what);
	PG_RETURN_VOID();
}
