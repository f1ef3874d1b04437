/*
 * activity_outcomes.c: durable.complete_activity_tasks(outcomes, identity),
 * many activity outcomes in one call, in C.
 *
 * As plpgsql its loop cost about 12 µs per item of the store floor's
 * ~370 per workflow (docs/performance.md, "The activity's poll and
 * completion"): a look-up statement that matched each token with a regular
 * expression three times and probed its task in a LATERAL subquery, then a
 * dozen expressions per item (the kind, the checks, the rights cached in a
 * jsonb, the payload's size, the rows put back in order). Here each item is
 * read from the array, its token by task_token.c's grammar, its task's run,
 * namespace and queue by one probe of the primary key (activity_result.c,
 * or the same statement where the probe would not read what it reads), the
 * items sorted by run and then by their place, and each applied as before:
 * a result through the common item's C (DurableActivityResult), a failure
 * or a cancellation through the general path (_complete_activity_other,
 * plpgsql, api/07_activity_tasks.sql). The outcomes, errors, their order
 * and what is written are the plpgsql function's (pgTAP 05_activities,
 * 77_activity_result, 90_activity_outcomes).
 */
#include "postgres.h"

#include "catalog/pg_collation_d.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "durable.h"
#include "command.h"

PG_FUNCTION_INFO_V1(durable_complete_activity_tasks);

#define MSG_INVALID "each outcome needs a task_token and one of result, failure, canceled"
#define MSG_FAILURE "failure must be a JSON object with a \"message\" string"
#define MSG_LEASE_LOST "activity task lease is no longer held"

typedef struct OutcomeItem
{
	int			ord;			/* its place in the array, from 0 */
	Jsonb	   *item;
	text	   *token;			/* item ->> 'task_token' (NULL: null) */
	bool		token_ok;		/* a string of the token's grammar */
	int64		task_id;
	bool		found;			/* its task is there: */
	Datum		run;
	Datum		namespace;
	Datum		queue;
	/* what comes back */
	const char *outcome;
	text	   *error;
} OutcomeItem;

/* "<namespace>/<queue>": may the caller work there (_may, asked once per queue a call) */
typedef struct Allowed
{
	text	   *namespace;
	text	   *queue;
	bool		may;
} Allowed;

static const char *keys_sql =
"SELECT t.task_id, t.run_id, t.namespace, t.task_queue FROM durable.activity_tasks t WHERE t.task_id = ANY ($1)";
static SPIPlanPtr keys_plan;
static const char *other_sql =
"SELECT o.outcome, o.error FROM durable._complete_activity_other($1, $2, $3, $4) o";
static SPIPlanPtr other_plan;
static DurableFunction may_fn = {"_may", 3, {TEXTOID, TEXTOID, TEXTOID}};
static DurableFunction result_fn = {"_complete_activity_result", 5, {UUIDOID, INT8OID, TEXTOID, JSONBOID, TEXTOID}};

static JsonbValue *
field(Jsonb *object, const char *key)
{
	return getKeyJsonValueFromContainer(&object->root, key, strlen(key), NULL);
}

/* ^a[0-9]{1,18}\.[0-9]{1,18}$ (task_token.c's grammar), and the task id it names */
static bool
token_grammar(text *token, int64 *task_id)
{
	int64		fence;

	return DurableReadToken(VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token), "a", task_id, &fence);
}

/* (qsort_arg) items' places in order of their task ids */
static int
by_task_id(const void *a, const void *b, void *arg)
{
	const OutcomeItem *items = arg;
	int64		x = items[*(const int *) a].task_id;
	int64		y = items[*(const int *) b].task_id;

	return x < y ? -1 : x > y;
}

/*
 * The items' tasks by the look-up statement (where the direct probe would not
 * read what it reads). Each row is matched to its items (several may name
 * the same task) by a binary search of the items ordered by task id: a
 * batch's rows against all its items, one by one, were n² comparisons.
 */
static void
keys_by_statement(OutcomeItem *items, int n)
{
	Datum	   *ids = palloc(Max(n, 1) * sizeof(Datum));
	int		   *order = palloc(Max(n, 1) * sizeof(int));
	int			nids = 0;
	Oid			type = INT8ARRAYOID;
	Datum		arg;
	int			rc;

	for (int i = 0; i < n; i++)
		if (items[i].token_ok)
		{
			order[nids] = i;
			ids[nids++] = Int64GetDatum(items[i].task_id);
		}
	qsort_arg(order, nids, sizeof(int), by_task_id, items);
	arg = PointerGetDatum(construct_array(ids, nids, INT8OID, sizeof(int64), true, TYPALIGN_DOUBLE));
	SPI_connect();
	rc = SPI_execute_plan(DurableKeptPlan(&keys_plan, keys_sql, 1, &type), &arg, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read durable.activity_tasks: %s", SPI_result_code_string(rc));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	row = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
		int			lo = 0;
		int			hi = nids;

		/* the first of the items with this task id, if any */
		while (lo < hi)
		{
			int			mid = lo + (hi - lo) / 2;

			if (items[order[mid]].task_id < id)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < nids && items[order[lo]].task_id == id; lo++)
		{
			OutcomeItem *it = &items[order[lo]];

			it->found = true;
			it->run = SPI_datumTransfer(SPI_getbinval(row, desc, 2, &isnull), false, UUID_LEN);
			it->namespace = SPI_datumTransfer(SPI_getbinval(row, desc, 3, &isnull), false, -1);
			it->queue = SPI_datumTransfer(SPI_getbinval(row, desc, 4, &isnull), false, -1);
		}
	}
	SPI_finish();
	pfree(order);
}

/* ORDER BY the task's run NULLS LAST, then the item's place */
static int
by_run(const void *a, const void *b)
{
	const OutcomeItem *x = a;
	const OutcomeItem *y = b;

	if (x->found != y->found)
		return x->found ? -1 : 1;
	if (x->found)
	{
		int			c = memcmp(DatumGetUUIDP(x->run)->data, DatumGetUUIDP(y->run)->data, UUID_LEN);

		if (c != 0)
			return c;
	}
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

/* (allowed kept in outer, the call's context) */
static bool
may(List **allowed, MemoryContext outer, Datum namespace, Datum queue)
{
	ListCell   *lc;
	Allowed    *a;
	Datum		args[3];
	bool		verdict;
	MemoryContext old;

	foreach(lc, *allowed)
	{
		a = lfirst(lc);
		if (DatumGetBool(DirectFunctionCall2Coll(texteq, DEFAULT_COLLATION_OID, PointerGetDatum(a->namespace), namespace)) &&
			DatumGetBool(DirectFunctionCall2Coll(texteq, DEFAULT_COLLATION_OID, PointerGetDatum(a->queue), queue)))
			return a->may;
	}
	args[0] = CStringGetTextDatum("worker");
	args[1] = queue;
	args[2] = namespace;
	verdict = DatumGetBool(DurableCallFunction(DurableFunctionOid(&may_fn, false), DEFAULT_COLLATION_OID, 3, args,
											   NULL));
	old = MemoryContextSwitchTo(outer);
	a = palloc(sizeof(Allowed));
	a->namespace = DatumGetTextPP(namespace);	/* (the items', in outer) */
	a->queue = DatumGetTextPP(queue);
	a->may = verdict;
	*allowed = lappend(*allowed, a);
	MemoryContextSwitchTo(old);
	return verdict;
}

/* A failure or a cancellation, by the general path. */
static void
other(OutcomeItem *it, const char *kind, Jsonb *payload, Datum identity, bool identity_null)
{
	Oid			types[4] = {TEXTOID, TEXTOID, JSONBOID, TEXTOID};
	Datum		args[4] = {PointerGetDatum(it->token), CStringGetTextDatum(kind), JsonbPGetDatum(payload), identity};
	char		nulls[4] = {' ', ' ', ' ', identity_null ? 'n' : ' '};
	int			rc;
	bool		isnull;
	bool		error_null;
	Datum		outcome;
	Datum		error;

	SPI_connect();
	rc = SPI_execute_plan(DurableKeptPlan(&other_plan, other_sql, 4, types), args, nulls, false, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not run \"%s\": %s", other_sql, SPI_result_code_string(rc));
	outcome = SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull), false, -1);
	error = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &error_null);
	if (!error_null)
		error = SPI_datumTransfer(error, false, -1);
	SPI_finish();
	/* (in the caller's context: SPI_finish freed SPI's) */
	it->outcome = TextDatumGetCString(outcome);
	it->error = error_null ? NULL : DatumGetTextPP(error);
}

/* One item's outcome, as the plpgsql loop decided it. */
static void
apply(OutcomeItem *it, List **allowed, MemoryContext outer, int64 max_size, Datum identity,
	  bool identity_null)
{
	const char *kind = NULL;
	JsonbValue *payload = NULL;
	Jsonb	   *payload_jsonb;
	char	   *payload_text;

	it->error = NULL;
	if (JB_ROOT_IS_OBJECT(it->item))
	{
		if ((payload = field(it->item, "result")) != NULL)
			kind = "result";
		else if ((payload = field(it->item, "failure")) != NULL)
			kind = "failure";
		else if ((payload = field(it->item, "canceled")) != NULL)
			kind = "canceled";
	}
	if (!it->token_ok || kind == NULL)
	{
		it->outcome = "INVALID";
		it->error = cstring_to_text(MSG_INVALID);
		return;
	}
	if (strcmp(kind, "failure") == 0)
	{
		JsonbValue *message = NULL;

		if (payload->type == jbvBinary && JsonContainerIsObject(payload->val.binary.data))
			message = getKeyJsonValueFromContainer(payload->val.binary.data, "message", strlen("message"), NULL);
		if (message == NULL || message->type != jbvString)
		{
			it->outcome = "INVALID";
			it->error = cstring_to_text(MSG_FAILURE);
			return;
		}
	}
	payload_jsonb = JsonbValueToJsonb(payload);
	payload_text = JsonbToCString(NULL, &payload_jsonb->root, VARSIZE(payload_jsonb));
	if ((int64) strlen(payload_text) > max_size)
	{
		it->outcome = "INVALID";
		it->error = cstring_to_text(psprintf("%s is larger than durable.max_payload_bytes (" INT64_FORMAT ")",
											 kind, max_size));
		return;
	}
	pfree(payload_text);
	if (it->found && !may(allowed, outer, it->namespace, it->queue))
	{
		it->outcome = "DENIED";
		it->error = cstring_to_text(psprintf("permission denied for task queue \"%s\" of namespace \"%s\"",
											 TextDatumGetCString(it->queue), TextDatumGetCString(it->namespace)));
		return;
	}
	if (strcmp(kind, "result") == 0)
	{
		/*
		 * the common item, in C (activity_result.c), called as
		 * _complete_activity_result: track_functions counts it (pgTAP
		 * 77_activity_result checks which path a result took)
		 */
		Datum		args[5] = {it->run, Int64GetDatum(it->task_id), PointerGetDatum(it->token),
			JsonbPGetDatum(payload_jsonb), identity};
		bool		nulls[5] = {!it->found, !it->found, false, false, identity_null};

		it->outcome = TextDatumGetCString(DurableCallFunction(DurableFunctionOid(&result_fn, false), InvalidOid, 5,
															  args, nulls));
		if (strcmp(it->outcome, "LEASE_LOST") == 0)
			it->error = cstring_to_text(MSG_LEASE_LOST);
		return;
	}
	other(it, kind, payload_jsonb, identity, identity_null);
}

/*
 * durable.complete_activity_tasks(outcomes jsonb, identity text) RETURNS
 * TABLE (task_token text, outcome text, error text): a row per item, in the
 * items' order.
 */
Datum
durable_complete_activity_tasks(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Jsonb	   *outcomes = PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0);
	bool		identity_null = PG_ARGISNULL(1);
	Datum		identity = identity_null ? (Datum) 0 : PG_GETARG_DATUM(1);
	int64		max_size = durable_max_payload_bytes;
	int			n;
	OutcomeItem	   *items;
	OutcomeItem	  **in_order;
	List	   *allowed = NIL;
	MemoryContext item_cxt;

	if (outcomes == NULL || !JB_ROOT_IS_ARRAY(outcomes) || JB_ROOT_IS_SCALAR(outcomes))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("outcomes must be a JSON array"),
				 errhint("Pass e.g. '[{\"task_token\": \"a1.1\", \"result\": 42}]'.")));
	InitMaterializedSRF(fcinfo, 0);
	n = JB_ROOT_COUNT(outcomes);
	items = palloc0(Max(n, 1) * sizeof(OutcomeItem));
	for (int i = 0; i < n; i++)
	{
		OutcomeItem	   *it = &items[i];
		JsonbValue *v = getIthJsonbValueFromContainer(&outcomes->root, i);

		it->ord = i;
		it->item = JsonbValueToJsonb(v);
		if (JB_ROOT_IS_OBJECT(it->item))
		{
			JsonbValue *token = field(it->item, "task_token");

			it->token = token == NULL ? NULL : DurableJsonbValueText(token);
			it->token_ok = token != NULL && token->type == jbvString && token_grammar(it->token, &it->task_id);
		}
	}
	{
		int64	   *ids = palloc(Max(n, 1) * sizeof(int64));
		bool	   *wanted = palloc(Max(n, 1) * sizeof(bool));
		Datum	   *runs = palloc(Max(n, 1) * sizeof(Datum));
		Datum	   *namespaces = palloc(Max(n, 1) * sizeof(Datum));
		Datum	   *queues = palloc(Max(n, 1) * sizeof(Datum));
		bool	   *found = palloc(Max(n, 1) * sizeof(bool));

		for (int i = 0; i < n; i++)
		{
			ids[i] = items[i].task_id;
			wanted[i] = items[i].token_ok;
		}
		if (DurableActivityTaskKeys(n, ids, wanted, runs, namespaces, queues, found))
			for (int i = 0; i < n; i++)
			{
				items[i].found = found[i];
				items[i].run = runs[i];
				items[i].namespace = namespaces[i];
				items[i].queue = queues[i];
			}
		else
			keys_by_statement(items, n);
	}
	/* applied run by run (in the given order within a run): see the function's comment in SQL */
	qsort(items, n, sizeof(OutcomeItem), by_run);
	/*
	 * Each item in a context of its own, emptied after it (as plpgsql empties
	 * its expressions' after each statement): a batch's hundred results
	 * would otherwise keep every probe's and append's memory to its end.
	 */
	item_cxt = AllocSetContextCreate(CurrentMemoryContext, "durable activity outcome", ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < n; i++)
	{
		OutcomeItem *it = &items[i];
		MemoryContext outer = MemoryContextSwitchTo(item_cxt);

		apply(it, &allowed, outer, max_size, identity, identity_null);
		MemoryContextSwitchTo(outer);
		it->outcome = pstrdup(it->outcome);
		if (it->error != NULL)
			it->error = DatumGetTextPCopy(PointerGetDatum(it->error));
		MemoryContextReset(item_cxt);
	}
	in_order = palloc(Max(n, 1) * sizeof(OutcomeItem *));
	for (int i = 0; i < n; i++)
		in_order[items[i].ord] = &items[i];
	for (int i = 0; i < n; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {in_order[i]->token == NULL, false, in_order[i]->error == NULL};

		values[0] = PointerGetDatum(in_order[i]->token);
		values[1] = CStringGetTextDatum(in_order[i]->outcome);
		values[2] = PointerGetDatum(in_order[i]->error);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
