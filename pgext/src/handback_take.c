/*
 * handback_take.c: durable._handback_take, the hand-back's end
 * (api/76_handback.sql), in C.
 *
 * The workflow tasks the outcomes of a complete_activity_tasks_eager
 * deferred (handback.c) are leased to its worker where its poll, made now,
 * would take every one of them, and returned as the poll returns them;
 * otherwise inserted SCHEDULED in the order they were scheduled. The
 * plpgsql loop was some twenty assignments per task around the calls of C
 * it made (6 µs of self time per activity in the three-activity shape's
 * profile, and each call's fmgr and track_functions around it). Here:
 *
 *   - the gates, one kept statement: nothing else of the queue is ready,
 *     no run paused, and a versioned queue's rules give each run to this
 *     build (_build_id_rules, as the plpgsql asked them);
 *   - not taken: _insert_workflow_task of each, in order;
 *   - taken: _record_poller, durable.now() (both as SQL functions), each
 *     run read by its key (row_by_key.c), its place computed as the
 *     plpgsql computed it (the same float8 operators: their errors, their
 *     order of NaN), a task id from the sequence, then in the poll's order
 *     (priority, pass, task id) each one's WorkflowTaskStarted appended and
 *     its STARTED row inserted (task_insert.c), the deadline announced
 *     (_wake_at), and each history read after the appends, as the poll's
 *     next statement read it (_history_json_sticky).
 *
 * pgTAP 94_handback_c compares it with the plpgsql body on twins.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_type_d.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_handback_take);

extern Datum durable_append(PG_FUNCTION_ARGS);
extern Datum durable_wake_at(PG_FUNCTION_ARGS);
extern Datum durable_insert_workflow_task(PG_FUNCTION_ARGS);
extern Datum durable_insert_workflow_task_leased(PG_FUNCTION_ARGS);

/* The poll's gates for all the tasks at once (the plpgsql's _build_id_rules, then its take expression). */
static const char *gate_sql =
"SELECT NOT EXISTS (SELECT 1 FROM durable.workflow_tasks wt"
"                    WHERE wt.namespace = $1 AND wt.task_queue = $2 AND wt.state = 'SCHEDULED')"
"   AND NOT EXISTS (SELECT 1 FROM durable.workflow_pauses wp WHERE wp.run_id = ANY ($3))"
"   AND (r.mode IS NULL"
"        OR NOT EXISTS (SELECT 1 FROM durable.workflows w"
"                        WHERE w.run_id = ANY ($3)"
"                          AND $4 IS DISTINCT FROM CASE r.mode WHEN 'PINNED'"
"                              THEN coalesce(w.build_id, r.default_build_id) ELSE r.default_build_id END))"
"  FROM durable._build_id_rules($1, $2) r";
static SPIPlanPtr gate_plan;

static DurableFunction record_poller_fn = {"_record_poller", 4, {TEXTOID, TEXTOID, TEXTOID, TEXTOID}};

/* the run's columns a leased task takes */
enum
{
	RUN_PRIORITY,
	RUN_FAIRNESS_KEY,
	RUN_FAIRNESS_WEIGHT,
	RUN_WORKFLOW_ID,
	RUN_WORKFLOW_TYPE,
	RUN_TASK_TIMEOUT,
	RUN_COLUMNS
};
static const char *const run_names[RUN_COLUMNS] = {
	[RUN_PRIORITY] = "priority",
	[RUN_FAIRNESS_KEY] = "fairness_key",
	[RUN_FAIRNESS_WEIGHT] = "fairness_weight",
	[RUN_WORKFLOW_ID] = "workflow_id",
	[RUN_WORKFLOW_TYPE] = "workflow_type",
	[RUN_TASK_TIMEOUT] = "task_timeout",
};
static DurableRowColumns run_columns = {RUN_COLUMNS, run_names};

/* A task to lease: its run's columns and its place. */
typedef struct Taken
{
	int			i;				/* in the arrays (from 0) */
	Datum		row;			/* the run's (the columns point into it) */
	Datum		w[RUN_COLUMNS];
	bool		w_null[RUN_COLUMNS];
	int64		id;
	float8		pass;
} Taken;

/* A (priority, fairness key)'s last pass, and a priority's head (key NULL), among the tasks placed. */
typedef struct Place
{
	int16		priority;
	text	   *key;			/* NULL: the priority's head */
	float8		pass;
} Place;

static Place *
find_place(Place *places, int nplaces, int16 priority, text *key)
{
	for (int k = 0; k < nplaces; k++)
		if (places[k].priority == priority &&
			(key == NULL ? places[k].key == NULL
			 : places[k].key != NULL && VARSIZE_ANY_EXHDR(places[k].key) == VARSIZE_ANY_EXHDR(key) &&
			 memcmp(VARDATA_ANY(places[k].key), VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)) == 0))
			return &places[k];
	return NULL;
}

/* the poll's order: priority, pass (float8's order), task id */
static int
poll_order(const void *a, const void *b)
{
	const Taken *x = a;
	const Taken *y = b;
	int16		px = DatumGetInt16(x->w[RUN_PRIORITY]);
	int16		py = DatumGetInt16(y->w[RUN_PRIORITY]);
	int			c;

	if (px != py)
		return px < py ? -1 : 1;
	c = float8_cmp_internal(x->pass, y->pass);
	if (c != 0)
		return c;
	return x->id < y->id ? -1 : x->id > y->id ? 1 : 0;
}

/* Whether the poll, made now, would take every task: the gates' statement. */
static bool
gates_pass(Datum runs, Datum namespace, bool namespace_null, Datum queue, bool queue_null, Datum build_id,
		   bool build_id_null)
{
	Oid			types[4] = {TEXTOID, TEXTOID, UUIDARRAYOID, TEXTOID};
	Datum		args[4] = {namespace, queue, runs, build_id};
	char		nulls[4] = {namespace_null ? 'n' : ' ', queue_null ? 'n' : ' ', ' ', build_id_null ? 'n' : ' '};
	Datum		take = BoolGetDatum(false);
	bool		take_null = true;

	DurableRunStatement(&gate_plan, gate_sql, 4, types, args, nulls, true, 2, SPI_OK_SELECT, &take, &take_null);
	return !take_null && DatumGetBool(take);
}

/*
 * durable._handback_take(runs uuid[], scheduled bigint[], scheduled_at
 * timestamptz[], namespace text, task_queue text, identity text, slots
 * integer, cached jsonb, build_id text, sticky text) RETURNS TABLE
 * (task_token text, workflow_id text, run_id uuid, workflow_type text,
 * attempt integer, started_event_id bigint, history jsonb)
 */
Datum
durable_handback_take(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum	   *runs;
	bool	   *runs_null;
	Datum	   *scheduled;
	bool	   *scheduled_null;
	Datum	   *scheduled_at;
	bool	   *scheduled_at_null;
	int			n;
	int			ns;
	int			nat;
	Datum		namespace = PG_GETARG_DATUM(3);
	bool		namespace_null = PG_ARGISNULL(3);
	Datum		queue = PG_GETARG_DATUM(4);
	bool		queue_null = PG_ARGISNULL(4);
	Datum		identity = PG_GETARG_DATUM(5);
	bool		identity_null = PG_ARGISNULL(5);
	struct varlena *cached = PG_ARGISNULL(7) ? NULL : (struct varlena *) PG_GETARG_JSONB_P(7);
	Datum		build_id = PG_GETARG_DATUM(8);
	bool		build_id_null = PG_ARGISNULL(8);
	Datum		sticky = PG_GETARG_DATUM(9);
	bool		sticky_null = PG_ARGISNULL(9);
	Taken	   *tasks;
	Place	   *places;
	int			nplaces = 0;
	Oid			seq;
	TimestampTz now;
	TimestampTz earliest = 0;
	bool		earliest_null = true;
	Datum	   *starteds;
	bool	   *starteds_null;
	MemoryContext scratch;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(6))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						errmsg("durable._handback_take needs runs, scheduled, scheduled_at and slots")));
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &runs, &runs_null, &n);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &scheduled,
					  &scheduled_null, &ns);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &scheduled_at,
					  &scheduled_at_null, &nat);
	if (ns != n || nat != n)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
						errmsg("durable._handback_take needs as many scheduled events and times as runs")));

	/* what the outcomes wrote, seen as the plpgsql's next statement saw it */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());

	if (n > PG_GETARG_INT32(6) ||
		!gates_pass(PG_GETARG_DATUM(0), namespace, namespace_null, queue, queue_null, build_id, build_id_null))
	{
		/* each inserted SCHEDULED, as _schedule_workflow_task inserts it, for the poll that follows */
		for (int i = 0; i < n; i++)
		{
			Datum		args[6] = {runs[i], namespace, queue, Int32GetDatum(1), scheduled[i], scheduled_at[i]};
			bool		nulls[6] = {runs_null[i], namespace_null, queue_null, false, scheduled_null[i],
			scheduled_at_null[i]};

			(void) DurableCallDirect(durable_insert_workflow_task, InvalidOid, 6, args, nulls, NULL);
		}
		PopActiveSnapshot();
		PG_RETURN_NULL();
	}

	{
		Datum		args[4] = {namespace, queue, CStringGetTextDatum("workflow"), identity};
		bool		nulls[4] = {namespace_null, queue_null, false, identity_null};

		DurableCallFunction(DurableFunctionOid(&record_poller_fn, false), DEFAULT_COLLATION_OID, 4, args, nulls);
	}
	now = DurableSqlNow();

	/* each task's place, in the order they were scheduled */
	tasks = palloc0(Max(n, 1) * sizeof(Taken));
	places = palloc(Max(2 * n, 1) * sizeof(Place));
	seq = get_relname_relid("workflow_tasks_task_id_seq", DurableNamespaceOid());
	if (!OidIsValid(seq))
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
						errmsg("relation \"durable.workflow_tasks_task_id_seq\" does not exist")));
	for (int i = 0; i < n; i++)
	{
		Taken	   *t = &tasks[i];
		bool		row_null = true;
		int16		priority;
		text	   *key;
		Place	   *last;
		Place	   *head;
		float8		p;

		t->i = i;
		/* (the runs' rows were locked by their outcomes: each has one, its columns NOT NULL) */
		if (!runs_null[i])
			t->row = DurableWorkflowRow(runs[i], &row_null);
		if (!row_null)
			DurableReadColumns(t->row, &run_columns, t->w, t->w_null);
		if (row_null || t->w_null[RUN_PRIORITY] || t->w_null[RUN_FAIRNESS_KEY] || t->w_null[RUN_FAIRNESS_WEIGHT])
			ereport(ERROR, (errcode(ERRCODE_NO_DATA_FOUND),
							errmsg("durable._handback_take: run %s has no row to lease its task by",
								   runs_null[i] ? "(null)" : DatumGetCString(DirectFunctionCall1(uuid_out, runs[i])))));
		priority = DatumGetInt16(t->w[RUN_PRIORITY]);
		key = DatumGetTextPP(t->w[RUN_FAIRNESS_KEY]);
		last = find_place(places, nplaces, priority, key);
		head = find_place(places, nplaces, priority, NULL);
		if (last != NULL)
		{
			/* the key's next: 1 / weight after its last */
			p = DatumGetFloat8(DirectFunctionCall2(float8pl, Float8GetDatum(last->pass),
												   DirectFunctionCall2(float8div, Float8GetDatum(1.0),
																	   t->w[RUN_FAIRNESS_WEIGHT])));
			p = float8_cmp_internal(p, 0.0) > 0 ? p : 0;
			last->pass = p;
		}
		else
		{
			/* its first: at the head of its priority */
			p = head == NULL ? 0 : head->pass;
			p = float8_cmp_internal(p, 0.0) >= 0 ? p : 0;
			places[nplaces++] = (Place) {priority, key, p};
		}
		if (head == NULL)
			places[nplaces++] = (Place) {priority, NULL, p};
		else if (float8_cmp_internal(head->pass, p) > 0)
			head->pass = p;
		t->id = nextval_internal(seq, true);
		t->pass = p;
	}

	/* leased in the poll's order, as poll_workflow_tasks leases them */
	qsort(tasks, n, sizeof(Taken), poll_order);
	starteds = palloc(Max(n, 1) * sizeof(Datum));
	starteds_null = palloc(Max(n, 1) * sizeof(bool));
	scratch = AllocSetContextCreate(CurrentMemoryContext, "durable hand-back task", ALLOCSET_DEFAULT_SIZES);
	for (int j = 0; j < n; j++)
	{
		Taken	   *t = &tasks[j];
		int			i = t->i;
		MemoryContext outer = MemoryContextSwitchTo(scratch);
		JsonbParseState *state = NULL;
		Datum		deadline = (Datum) 0;
		bool		deadline_null = t->w_null[RUN_TASK_TIMEOUT];

		/* jsonb_build_object('scheduled_event_id', ..., 'identity', ..., 'attempt', 1) || _build_id_attrs(build_id) */
		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		DurableJsonbPushKey(&state, "scheduled_event_id");
		if (scheduled_null[i])
			DurableJsonbPushNull(&state);
		else
			DurableJsonbPushInt64(&state, DatumGetInt64(scheduled[i]));
		DurableJsonbPushKey(&state, "identity");
		DurableJsonbPushText(&state, identity_null ? NULL : DatumGetTextPP(identity));
		DurableJsonbPushKey(&state, "attempt");
		DurableJsonbPushInt64(&state, 1);
		if (!build_id_null)
		{
			DurableJsonbPushKey(&state, "build_id");
			DurableJsonbPushText(&state, DatumGetTextPP(build_id));
		}
		{
			Datum		args[3] = {runs[i], CStringGetTextDatum("WorkflowTaskStarted"),
			JsonbPGetDatum(JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL)))};
			bool		nulls[3] = {false, false, false};

			starteds[j] = DurableCallDirect(durable_append, InvalidOid, 3, args, nulls, &starteds_null[j]);
		}
		if (!deadline_null)
			deadline = DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(now), t->w[RUN_TASK_TIMEOUT]);
		/*
		 * INSERT INTO durable.workflow_tasks (task_id, run_id, namespace,
		 * task_queue, state, attempt, scheduled_event_id, started_event_id,
		 * fence, identity, scheduled_at, started_at, timeout_at, priority,
		 * fairness_key, pass, build_id) VALUES (..., 'STARTED', 1, ..., 1,
		 * ...), in C (api/80_task_insert.sql)
		 */
		{
			Datum		args[14] = {Int64GetDatum(t->id), runs[i], namespace, queue, scheduled[i], starteds[j],
				identity, scheduled_at[i], TimestampTzGetDatum(now), deadline, t->w[RUN_PRIORITY],
			t->w[RUN_FAIRNESS_KEY], Float8GetDatum(t->pass), build_id};
			bool		nulls[14] = {false, false, namespace_null, queue_null, scheduled_null[i], starteds_null[j],
				identity_null, scheduled_at_null[i], false, deadline_null, false, false, false,
			build_id_null};

			(void) DurableCallDirect(durable_insert_workflow_task_leased, InvalidOid, 14, args, nulls, NULL);
		}
		/* least(earliest, now + timeout), nulls ignored */
		if (!deadline_null && (earliest_null || DatumGetTimestampTz(deadline) < earliest))
		{
			earliest = DatumGetTimestampTz(deadline);
			earliest_null = false;
		}
		MemoryContextSwitchTo(outer);
		MemoryContextReset(scratch);
	}
	{
		Datum		arg = TimestampTzGetDatum(earliest);

		(void) DurableCallDirect(durable_wake_at, InvalidOid, 1, &arg, &earliest_null, NULL);
	}
	PopActiveSnapshot();

	/* the histories read after the appends, as the poll's next statement read them */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	for (int j = 0; j < n; j++)
	{
		Taken	   *t = &tasks[j];
		int			i = t->i;
		MemoryContext outer = MemoryContextSwitchTo(scratch);
		char		token[2 + 2 * MAXINT8LEN + 4];
		Datum		values[7];
		bool		nulls[7] = {false, t->w_null[RUN_WORKFLOW_ID], false, t->w_null[RUN_WORKFLOW_TYPE], false,
		starteds_null[j], false};

		snprintf(token, sizeof(token), "w" INT64_FORMAT ".1", t->id);
		values[0] = CStringGetTextDatum(token);
		values[1] = t->w[RUN_WORKFLOW_ID];
		values[2] = runs[i];
		values[3] = t->w[RUN_WORKFLOW_TYPE];
		values[4] = Int32GetDatum(1);
		values[5] = starteds[j];
		values[6] = DurableHistorySticky(runs[i], DurableCachedEvent(cached, runs[i]), sticky, sticky_null, &nulls[6]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(outer);
		MemoryContextReset(scratch);
	}
	MemoryContextDelete(scratch);
	PopActiveSnapshot();
	PG_RETURN_NULL();
}
