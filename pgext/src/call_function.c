/*
 * call_function.c: the SQL functions of durable that its C calls through
 * fmgr (_notify, durable.now, _may, _schedule_workflow_task,
 * _complete_activity_result, _event_pack, _authorize_by_grants): each
 * found once by its name and argument types and its oid remembered per
 * backend, and called as an expression calls it.
 *
 * A remembered oid is forgotten on an invalidation of the function's
 * pg_proc row (its drop, or CREATE OR REPLACE, which may change its
 * language or symbol) or of all rows: a function dropped and created again
 * while a session stays connected (an upgrade script that re-creates it,
 * DROP and CREATE EXTENSION) is then looked up again, where the old oid
 * failed with "cache lookup failed for function" (pgTAP 92_function_oids).
 * A function created under the same name and argument types can only come
 * after the old one's drop, so the old oid's invalidation covers it.
 *
 * Beside them, DurableCallDirect: a C function of durable's own called
 * without fmgr, as its SQL function's caller would call it, set up in one
 * place rather than in each caller.
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

#include "durable.h"

/* every DurableFunction looked up, linked through their next */
static DurableFunction *functions;

/* invalidations of functions taken in since the first lookup, counted */
static uint64 invalidations;

static void
forget_functions(int cacheid, uint32 hashvalue)
{
	for (DurableFunction *fn = functions; fn != NULL; fn = fn->next)
		if (hashvalue == 0 || fn->hashvalue == hashvalue)
		{
			fn->oid = InvalidOid;
			fn->changes++;
		}
	invalidations++;
}

/*
 * The oid of durable.<fn->name>(fn->argtypes), remembered until the
 * function changes; InvalidOid when there is none and missing_ok, else
 * LookupFuncName's error.
 */
Oid
DurableFunctionOid(DurableFunction *fn, bool missing_ok)
{
	uint64		before;
	Oid			oid;

	if (OidIsValid(fn->oid))
		return fn->oid;
	if (!fn->watched)
	{
		DurableWatchSyscache(PROCOID, forget_functions);
		fn->next = functions;
		functions = fn;
		fn->watched = true;
	}
	before = invalidations;
	oid = LookupFuncName(list_make2(makeString("durable"), makeString(unconstify(char *, fn->name))), fn->nargs,
						 fn->argtypes, missing_ok);
	/* (an invalidation taken in during the lookup may predate what it found: used, not kept) */
	if (OidIsValid(oid) && invalidations == before)
	{
		fn->hashvalue = GetSysCacheHashValue1(PROCOID, ObjectIdGetDatum(oid));
		fn->oid = oid;
	}
	return oid;
}

/*
 * The function fn called as a SQL expression calls it, with nargs args
 * (nulls: which are null; NULL: none), under collation, counted by
 * track_functions; its result ((Datum) 0 when null).
 */
Datum
DurableCallFunction(Oid fn, Oid collation, int nargs, const Datum *args, const bool *nulls)
{
	FmgrInfo	flinfo;
	LOCAL_FCINFO(fcinfo, DURABLE_CALL_MAX_ARGS);
	PgStat_FunctionCallUsage usage;
	Datum		result;

	Assert(nargs <= DURABLE_CALL_MAX_ARGS);
	fmgr_info(fn, &flinfo);
	InitFunctionCallInfoData(*fcinfo, &flinfo, nargs, collation, NULL, NULL);
	for (int i = 0; i < nargs; i++)
	{
		fcinfo->args[i].value = args[i];
		fcinfo->args[i].isnull = nulls != NULL && nulls[i];
	}
	/* (a strict function given a null is not called, as an expression would not call it) */
	for (int i = 0; i < nargs && flinfo.fn_strict; i++)
		if (fcinfo->args[i].isnull)
			return (Datum) 0;
	pgstat_init_function_usage(fcinfo, &usage);
	result = FunctionCallInvoke(fcinfo);
	pgstat_end_function_usage(&usage, true);
	return fcinfo->isnull ? (Datum) 0 : result;
}

/*
 * fn's argument i's type: the row type of the value about to be passed
 * (workflow_complete.c's helpers that take a row)
 */
void
DurableFunctionRowArg(DurableFunction *fn, int i, HeapTupleHeader row)
{
	Oid			type = HeapTupleHeaderGetTypeId(row);

	/* (a table made again has a new row type, and its functions new oids: looked up again) */
	if (fn->argtypes[i] != type)
	{
		fn->argtypes[i] = type;
		fn->oid = InvalidOid;
	}
}

/*
 * A C function of durable's, fn, called directly, as its SQL function's
 * caller would call it but without fmgr (no flinfo, no track_functions
 * count, no strictness check: fn reads its own nulls), with nargs args
 * (nulls: which are null; NULL: none) under collation; its result ((Datum)
 * 0 when null), *isnull (unless NULL) as fn answers. For a call counted
 * under its SQL function's oid, DurableCallFunction.
 */
Datum
DurableCallDirect(PGFunction fn, Oid collation, int nargs, const Datum *args, const bool *nulls, bool *isnull)
{
	LOCAL_FCINFO(fcinfo, FUNC_MAX_ARGS);
	Datum		result;

	Assert(nargs <= FUNC_MAX_ARGS);
	InitFunctionCallInfoData(*fcinfo, NULL, nargs, collation, NULL, NULL);
	for (int i = 0; i < nargs; i++)
	{
		fcinfo->args[i].value = args[i];
		fcinfo->args[i].isnull = nulls != NULL && nulls[i];
	}
	result = fn(fcinfo);
	if (isnull != NULL)
		*isnull = fcinfo->isnull;
	return fcinfo->isnull ? (Datum) 0 : result;
}

static DurableFunction notify_fn = {"_notify", 3, {TEXTOID, TEXTOID, TEXTOID}};
static DurableFunction now_fn = {"now", 0};

/* durable._notify(kind, namespace, task_queue), the plpgsql one: a queue told that a task is ready */
void
DurableNotify(const char *kind, Datum namespace, bool namespace_null, Datum task_queue, bool task_queue_null)
{
	Datum		args[3] = {CStringGetTextDatum(kind), namespace, task_queue};
	bool		nulls[3] = {false, namespace_null, task_queue_null};

	DurableCallFunction(DurableFunctionOid(&notify_fn, false), DEFAULT_COLLATION_OID, 3, args, nulls);
}

/*
 * durable.now() as SQL sees it: the C clock (clock.c), unless a test holds
 * it (pgTAP's hold_clock replaces the function), as the plpgsql did.
 */
TimestampTz
DurableSqlNow(void)
{
	return DatumGetTimestampTz(DurableCallFunction(DurableFunctionOid(&now_fn, false), InvalidOid, 0, NULL, NULL));
}
