/*
 * handback.c: the workflow tasks a hand-back (durable.complete_activity_tasks_eager,
 * api/76_handback.sql) defers to its end, kept in backend memory.
 *
 * While the hand-back delivers its outcomes, each workflow task they
 * schedule on its queue is not inserted: its WorkflowTaskScheduled is
 * appended as _schedule_workflow_task appends it, and the run, the event's
 * id and the time are kept here until _handback_close gives them to
 * _handback_take. They were kept in a transaction-local text setting,
 * parsed, searched and rewritten whole on every outcome, and split again by
 * a query at the end (9 µs per workflow of the C worker's one-activity
 * workflow, docs/performance.md, "The worker's calls in the server").
 *
 * The list behaves as that setting did: it belongs to the transaction that
 * opened it (keyed by the local transaction id, so it ends with the
 * transaction whatever way that ends), and a savepoint rolled back takes
 * back what was added under it, or the opening itself. The functions are
 * internal (no EXECUTE for the worker roles): a session cannot open a list
 * itself, and nothing defers unless the hand-back also armed the queue
 * (eager.c), which _schedule_workflow_task checks first.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/uuid.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_handback_open);
PG_FUNCTION_INFO_V1(durable_handback_defer);
PG_FUNCTION_INFO_V1(durable_handback_close);

extern Datum durable_append(PG_FUNCTION_ARGS);

typedef struct Deferred
{
	pg_uuid_t	run;
	int64		scheduled;		/* its WorkflowTaskScheduled */
	TimestampTz at;				/* when it was scheduled */
	SubTransactionId subid;		/* the subtransaction that deferred it (or took it over) */
} Deferred;

static bool opened = false;
static LocalTransactionId open_lxid = InvalidLocalTransactionId;
static SubTransactionId open_subid = InvalidSubTransactionId;
static Deferred *deferred = NULL;	/* in TopMemoryContext */
static int	ndeferred = 0;
static int	maxdeferred = 0;

static bool
is_open(void)
{
	return opened && open_lxid == MyProc->lxid;
}

static void
close_list(void)
{
	opened = false;
	open_lxid = InvalidLocalTransactionId;
	open_subid = InvalidSubTransactionId;
	ndeferred = 0;
}

/*
 * A subtransaction rolled back takes back what it deferred (and the list, if
 * it opened it); one that commits hands both to its parent.
 */
static void
handback_subxact(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid, void *arg)
{
	int			kept = 0;

	(void) arg;
	if (!opened)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		if (open_subid == mySubid)
		{
			close_list();
			return;
		}
		for (int i = 0; i < ndeferred; i++)
			if (deferred[i].subid != mySubid)
				deferred[kept++] = deferred[i];
		ndeferred = kept;
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		if (open_subid == mySubid)
			open_subid = parentSubid;
		for (int i = 0; i < ndeferred; i++)
			if (deferred[i].subid == mySubid)
				deferred[i].subid = parentSubid;
	}
}

/* durable._handback_open(): an empty list, until _handback_close or the transaction's end */
Datum
durable_handback_open(PG_FUNCTION_ARGS)
{
	static bool subxact_callback = false;

	if (!subxact_callback)
	{
		RegisterSubXactCallback(handback_subxact, NULL);
		subxact_callback = true;
	}
	close_list();
	opened = true;
	open_lxid = MyProc->lxid;
	open_subid = GetCurrentSubTransactionId();
	PG_RETURN_VOID();
}

/*
 * The run's workflow task deferred to the hand-back's end, when one is
 * under way (false: none is, nothing done): its WorkflowTaskScheduled
 * appended, as _schedule_workflow_task writes it, or, when the run's is
 * deferred already, the queue notified as for a task that is ready.
 */
bool
DurableHandbackDefer(Datum run, Datum namespace, bool namespace_null, Datum queue, bool queue_null,
					 Datum timeout, bool timeout_null)
{
	pg_uuid_t  *id;
	int64		scheduled;

	if (!is_open())
		return false;
	id = DatumGetUUIDP(run);
	for (int i = 0; i < ndeferred; i++)
		if (memcmp(&deferred[i].run, id, sizeof(pg_uuid_t)) == 0)
		{
			DurableNotify("workflow", namespace, namespace_null, queue, queue_null);
			return true;
		}

	scheduled = DatumGetInt64(DirectFunctionCall3(durable_append, run, CStringGetTextDatum("WorkflowTaskScheduled"),
		DurableScheduledAttributes(queue_null ? NULL : DatumGetTextPP(queue), timeout, timeout_null, 1, false)));

	if (ndeferred == maxdeferred)
	{
		maxdeferred = maxdeferred == 0 ? 64 : maxdeferred * 2;
		deferred = deferred == NULL
			? MemoryContextAlloc(TopMemoryContext, maxdeferred * sizeof(Deferred))
			: repalloc(deferred, maxdeferred * sizeof(Deferred));
	}
	memcpy(&deferred[ndeferred].run, id, sizeof(pg_uuid_t));
	deferred[ndeferred].scheduled = scheduled;
	deferred[ndeferred].at = DurableSqlNow();
	deferred[ndeferred].subid = GetCurrentSubTransactionId();
	ndeferred++;
	return true;
}

/*
 * durable._handback_defer(run uuid, namespace text, task_queue text,
 * task_timeout interval) returns boolean: DurableHandbackDefer's (false
 * for a null run).
 */
Datum
durable_handback_defer(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(DurableHandbackDefer(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), PG_ARGISNULL(1), PG_GETARG_DATUM(2),
										PG_ARGISNULL(2), PG_GETARG_DATUM(3), PG_ARGISNULL(3)));
}

/*
 * durable._handback_close(OUT runs uuid[], OUT scheduled bigint[], OUT
 * scheduled_at timestamptz[]): the tasks deferred, in the order they were,
 * and the list closed; three NULLs when none was.
 */
Datum
durable_handback_close(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {true, true, true};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "durable._handback_close must return a record");
	desc = BlessTupleDesc(desc);
	if (is_open() && ndeferred > 0)
	{
		Datum	   *runs = palloc(ndeferred * sizeof(Datum));
		Datum	   *events = palloc(ndeferred * sizeof(Datum));
		Datum	   *times = palloc(ndeferred * sizeof(Datum));

		for (int i = 0; i < ndeferred; i++)
		{
			pg_uuid_t  *u = palloc(sizeof(pg_uuid_t));

			memcpy(u, &deferred[i].run, sizeof(pg_uuid_t));
			runs[i] = UUIDPGetDatum(u);
			events[i] = Int64GetDatum(deferred[i].scheduled);
			times[i] = TimestampTzGetDatum(deferred[i].at);
		}
		values[0] = PointerGetDatum(construct_array(runs, ndeferred, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
		values[1] = PointerGetDatum(construct_array(events, ndeferred, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[2] = PointerGetDatum(construct_array(times, ndeferred, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL,
													TYPALIGN_DOUBLE));
		nulls[0] = nulls[1] = nulls[2] = false;
	}
	close_list();
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
