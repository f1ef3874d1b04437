/*
 * task_token.c: durable._parse_token(token, kind), read on every completion,
 * failure and heartbeat. A token is "<kind><task_id>.<fence>", each number
 * 1 to 18 digits (api/02_internal.sql). The plpgsql body matched a regular
 * expression compiled from the kind on every call; this reads the same
 * grammar by hand and refuses what it refused, with the same error.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_parse_token);

/* Reads 1 to 18 ASCII digits at *p, before end, into *out; false if there are none or more. */
static bool
read_number(const char **p, const char *end, int64 *out)
{
	int64		n = 0;
	int			digits = 0;

	while (*p < end && **p >= '0' && **p <= '9')
	{
		if (++digits > 18)
			return false;
		n = n * 10 + (**p - '0');
		(*p)++;
	}
	*out = n;
	return digits > 0;
}

/*
 * Whether the len bytes at token are a token of kind ("<kind><task_id>.<fence>"),
 * and its two numbers; also for complete_activity_tasks' items (activity_outcomes.c).
 */
bool
DurableReadToken(const char *token, size_t len, const char *kind, int64 *task_id, int64 *fence)
{
	const char *end = token + len;
	size_t		kind_len = strlen(kind);
	const char *p = token + kind_len;

	return len >= kind_len && memcmp(token, kind, kind_len) == 0 &&
		read_number(&p, end, task_id) && p < end && *p++ == '.' && read_number(&p, end, fence) && p == end;
}

Datum
durable_parse_token(PG_FUNCTION_ARGS)
{
	char	   *token = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *kind = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	int64		task_id;
	int64		fence;
	bool		ok = false;

	if (token != NULL && kind != NULL)
		ok = DurableReadToken(token, strlen(token), kind, &task_id, &fence);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed %s task token", kind != NULL && strcmp(kind, "w") == 0 ? "workflow" : "activity"),
				 errdetail("Got %s.", token == NULL ? "NULL" : quote_literal_cstr(token)),
				 errhint("Pass the task_token exactly as the poll returned it.")));
	{
		TupleDesc	desc;
		Datum		values[2] = {Int64GetDatum(task_id), Int64GetDatum(fence)};
		bool		nulls[2] = {false, false};

		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "durable._parse_token must return a record");
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
	}
}
