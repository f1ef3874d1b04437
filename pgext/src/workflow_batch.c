/*
 * workflow_batch.c: durable.complete_workflow_tasks(completions, identity),
 * the C worker's batch of workflow task outcomes (api/05_workflow_tasks.sql
 * says what it does), in C.
 *
 * As plpgsql its loop cost the workflow path, per item, a statement's row
 * of jsonb_array_elements, four or five expressions and two array appends,
 * and a call of complete_workflow_task through SQL: that function is
 * SECURITY DEFINER with its search_path pinned, and a pinned setting is
 * saved, set and restored around every call (1-2.4 µs, sql/README.md,
 * "Trigger functions and search_path"). Here the batch walks the array
 * itself and calls complete_workflow_task's C directly (it runs as the same
 * owner, with the same search_path, already set for the batch; counted by
 * track_functions as before), each item in a memory context emptied after
 * it. fail_workflow_task and _bad_input are called as their expressions
 * called them (call_function.c). The two passes are the plpgsql's: the
 * whole batch in one subtransaction, and, when an item fails with one of
 * the four SQLSTATEs an item may fail with, the batch undone and run again
 * item by item, each in a subtransaction of its own, its row carrying the
 * outcome (LEASE_LOST, DENIED, INVALID) and the error's message; any other
 * error ends the call, as it did. Each item's values are read with jsonb's
 * own operators (->, ->>, ?), so a token, cause or commands of any JSON
 * type is what it was. The plpgsql body this replaces is kept as a twin in
 * pgTAP 95_workflow_batch.sql, which compares the two.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_complete_workflow_tasks);

extern Datum durable_complete_workflow_task(PG_FUNCTION_ARGS);

static DurableFunction complete_fn = {"complete_workflow_task", 3, {TEXTOID, JSONBOID, TEXTOID}};
static DurableFunction fail_fn = {"fail_workflow_task", 4, {TEXTOID, TEXTOID, JSONBOID, TEXTOID}};
static DurableFunction bad_input_fn = {"_bad_input", 3, {TEXTOID, TEXTOID, TEXTOID}};

/* an item's outcome */
typedef enum
{
	COMPLETED,
	FAILED
} Outcome;

static const char *const outcome_names[] = {"COMPLETED", "FAILED"};

/* the SQLSTATEs an item may fail with (the plpgsql's handlers), and the outcome each gives; NULL: none */
static const char *
failed_outcome(int sqlerrcode)
{
	if (sqlerrcode == MAKE_SQLSTATE('D', 'U', '0', '0', '4'))
		return "LEASE_LOST";
	if (sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE)
		return "DENIED";
	if (sqlerrcode == ERRCODE_INVALID_PARAMETER_VALUE || sqlerrcode == ERRCODE_PROGRAM_LIMIT_EXCEEDED)
		return "INVALID";
	return NULL;
}

/* jsonb operator op (jsonb_object_field, jsonb_object_field_text, jsonb_exists) of item and key; (Datum) 0: null */
static Datum
json_op(PGFunction op, Jsonb *item, const char *key)
{
	Datum		args[2] = {JsonbPGetDatum(item), CStringGetTextDatum(key)};

	return DurableCallDirect(op, DEFAULT_COLLATION_OID, 2, args, NULL, NULL);
}

/* jsonb_typeof(item -> key) = 'string' */
static bool
is_string(Jsonb *item, const char *key)
{
	JsonbValue	buf;
	JsonbValue *v;

	if (!JB_ROOT_IS_OBJECT(item))
		return false;
	v = getKeyJsonValueFromContainer(&item->root, key, strlen(key), &buf);
	return v != NULL && v->type == jbvString;
}

/*
 * complete_workflow_task(token, commands, identity) by its C, as an
 * expression of the plpgsql called it (the command counter advanced, a
 * fresh snapshot), counted by track_functions under its oid
 */
static void
complete(Datum token, Datum commands, Datum identity, bool identity_null)
{
	FmgrInfo	flinfo;
	LOCAL_FCINFO(fc, 3);
	PgStat_FunctionCallUsage usage;

	MemSet(&flinfo, 0, sizeof(flinfo));
	flinfo.fn_addr = durable_complete_workflow_task;
	flinfo.fn_oid = DurableFunctionOid(&complete_fn, false);
	flinfo.fn_nargs = 3;
	flinfo.fn_stats = TRACK_FUNC_PL;	/* (fmgr_info's for a C function: counted when track_functions is all) */
	flinfo.fn_mcxt = CurrentMemoryContext;
	InitFunctionCallInfoData(*fc, &flinfo, 3, DEFAULT_COLLATION_OID, NULL, NULL);
	fc->args[0].value = token;
	fc->args[0].isnull = false;
	fc->args[1].value = commands;
	fc->args[1].isnull = false;
	fc->args[2].value = identity;
	fc->args[2].isnull = identity_null;
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_init_function_usage(fc, &usage);
	(void) FunctionCallInvoke(fc);
	pgstat_end_function_usage(&usage, true);
	PopActiveSnapshot();
}

/* fn(args) as an expression of the plpgsql called it (see workflow_complete.c's step) */
static void
call_step(DurableFunction *fn, const Datum *args, const bool *nulls)
{
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	(void) DurableCallFunction(DurableFunctionOid(fn, false), DEFAULT_COLLATION_OID, fn->nargs, args, nulls);
	PopActiveSnapshot();
}

/* durable._bad_input(message): raises invalid_parameter_value */
static void
bad_input(const char *message, const char *hint)
{
	Datum		args[3] = {CStringGetTextDatum(message), (Datum) 0, hint == NULL ? (Datum) 0 : CStringGetTextDatum(hint)};
	bool		nulls[3] = {false, true, hint == NULL};

	call_step(&bad_input_fn, args, nulls);
	elog(ERROR, "durable._bad_input returned");
}

/*
 * One item applied: its token a string (else _bad_input's error), its
 * failure through fail_workflow_task, its commands ('[]' when it has none)
 * through complete_workflow_task.
 */
static Outcome
apply_item(Jsonb *item, Datum identity, bool identity_null)
{
	Datum		token;

	if (!is_string(item, "task_token"))
		bad_input("each completion needs a task_token string", NULL);
	token = json_op(jsonb_object_field_text, item, "task_token");
	if (DatumGetBool(json_op(jsonb_exists, item, "failure")))
	{
		Datum		cause = json_op(jsonb_object_field_text, item, "cause");
		Datum		failure = json_op(jsonb_object_field, item, "failure");
		Datum		args[4] = {token, cause != (Datum) 0 ? cause : CStringGetTextDatum("WORKFLOW_WORKER_UNHANDLED_FAILURE"),
		failure, identity};
		bool		nulls[4] = {false, false, failure == (Datum) 0, identity_null};

		call_step(&fail_fn, args, nulls);
		return FAILED;
	}
	else
	{
		Datum		commands = json_op(jsonb_object_field, item, "commands");

		complete(token, commands != (Datum) 0 ? commands : DirectFunctionCall1(jsonb_in, CStringGetDatum("[]")),
				 identity, identity_null);
		return COMPLETED;
	}
}

/* items [from, to) of a batch, and where their outcomes go */
typedef struct Items
{
	Jsonb	   *completions;
	int			from;
	int			to;
	Datum		identity;
	bool		identity_null;
	MemoryContext item_cxt;		/* each item's, emptied after it */
	Outcome    *outcomes;
} Items;

/*
 * Runs apply_item on the items in one subtransaction, as a plpgsql block
 * with an exception handler runs its body. True: they went through (their
 * outcomes). False: one failed with one of the item's SQLSTATEs, and all
 * are undone; *failure the outcome, *message the error's message (in the
 * caller's context). Any other error is raised again, as the plpgsql's
 * handler left it.
 */
static bool
in_subtransaction(Items *items, const char **failure, char **message)
{
	MemoryContext caller = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool done = false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(caller);
	PG_TRY();
	{
		for (int i = items->from; i < items->to; i++)
		{
			Jsonb	   *item;

			/* (the item's copy too, emptied after it) */
			MemoryContextSwitchTo(items->item_cxt);
			item = JsonbValueToJsonb(getIthJsonbValueFromContainer(&items->completions->root, i));
			items->outcomes[i] = apply_item(item, items->identity, items->identity_null);
			MemoryContextSwitchTo(caller);
			MemoryContextReset(items->item_cxt);
		}
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller);
		CurrentResourceOwner = owner;
		done = true;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller);
		CurrentResourceOwner = owner;
		*failure = failed_outcome(edata->sqlerrcode);
		if (*failure == NULL)
			ReThrowError(edata);
		*message = edata->message;
	}
	PG_END_TRY();
	MemoryContextReset(items->item_cxt);
	return done;
}

/*
 * durable.complete_workflow_tasks(completions jsonb, identity text)
 * RETURNS TABLE (task_token text, outcome text, error text)
 */
Datum
durable_complete_workflow_tasks(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Jsonb	   *completions = PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0);
	Items		items;
	int			n;
	bool		whole;
	const char *failure = NULL;
	char	   *message = NULL;
	Datum		values[3];
	bool		nulls[3];
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext row_cxt;

	InitMaterializedSRF(fcinfo, 0);
	if (completions == NULL || JB_ROOT_IS_SCALAR(completions) || !JB_ROOT_IS_ARRAY(completions))
		bad_input("completions must be a JSON array", "Pass e.g. '[{\"task_token\": \"w1.1\", \"commands\": []}]'.");
	n = JB_ROOT_COUNT(completions);
	items.completions = completions;
	items.identity = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	items.identity_null = PG_ARGISNULL(1);
	items.item_cxt = AllocSetContextCreate(CurrentMemoryContext, "durable batch item", ALLOCSET_DEFAULT_SIZES);
	items.outcomes = palloc(Max(n, 1) * sizeof(Outcome));

	/* the whole batch in one subtransaction; an item failed: undone, and run again item by item */
	items.from = 0;
	items.to = n;
	whole = in_subtransaction(&items, &failure, &message);

	/* each report row's copies (its item, token, outcome and message) in a context emptied after it */
	row_cxt = AllocSetContextCreate(CurrentMemoryContext, "durable batch report", ALLOCSET_SMALL_SIZES);
	for (int i = 0; i < n; i++)
	{
		Jsonb	   *item;
		Datum		token;

		MemoryContextSwitchTo(row_cxt);
		item = JsonbValueToJsonb(getIthJsonbValueFromContainer(&completions->root, i));
		token = json_op(jsonb_object_field_text, item, "task_token");
		values[0] = token;
		nulls[0] = token == (Datum) 0;
		items.from = i;
		items.to = i + 1;
		if (!whole && !in_subtransaction(&items, &failure, &message))
		{
			values[1] = CStringGetTextDatum(failure);
			values[2] = CStringGetTextDatum(message);
			nulls[1] = nulls[2] = false;
		}
		else
		{
			values[1] = CStringGetTextDatum(outcome_names[items.outcomes[i]]);
			nulls[1] = false;
			nulls[2] = true;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(outer);
		MemoryContextReset(row_cxt);
	}
	MemoryContextDelete(row_cxt);
	MemoryContextDelete(items.item_cxt);
	return (Datum) 0;
}
