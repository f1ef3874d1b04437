/*
 * schedule_task.c: durable._schedule_workflow_task(run, attempt), a run's
 * next workflow task, in C (api/02_internal.sql).
 *
 * Every activity's outcome schedules one (activity_result.c), and so does
 * every start and every workflow task whose completion finds new events:
 * its plpgsql body was 8 µs a call in the three-activity shape's profile,
 * most of it the interpreter's own work around six calls of C (the run's
 * row, the hand-back's mark, the append, the insert, the clock, the
 * notification). It does what the plpgsql did, step by step:
 *
 *   w := _workflow_row(run);
 *   armed := _eager_armed(w.namespace || '/workflow' || E'\x1f' || w.task_queue);
 *   IF armed AND attempt = 1 AND _handback_defer(run, w.namespace, w.task_queue, w.task_timeout) THEN RETURN;
 *   scheduled := _append(run, 'WorkflowTaskScheduled', {task_queue, start_to_close_timeout, attempt});
 *   _insert_workflow_task(run, w.namespace, w.task_queue, attempt, scheduled, durable.now());
 *   IF NOT armed THEN _notify('workflow', w.namespace, w.task_queue);
 *
 * under a new snapshot with the command counter advanced, as plpgsql runs
 * each expression of a volatile function, so that the row read and the
 * append see what the caller wrote (one for all: the steps before the
 * insert write nothing but the append, and the insert advances the counter
 * and takes a snapshot of its own, as for a statement). durable.now() and _notify are
 * called as SQL functions (a test's held clock, a stand-in). The C callers
 * (activity_result.c, workflow_complete.c) call
 * DurableScheduleWorkflowTask; pgTAP 94_handback_c compares it with the
 * plpgsql body on twins.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/snapmgr.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_schedule_workflow_task);

extern Datum durable_append(PG_FUNCTION_ARGS);
extern Datum durable_insert_workflow_task(PG_FUNCTION_ARGS);

/* the run's columns the task takes */
static const char *const run_names[] = {"namespace", "task_queue", "task_timeout"};
static DurableRowColumns run_columns = {3, run_names};

/*
 * WorkflowTaskScheduled's attributes: jsonb_build_object('task_queue',
 * queue, 'start_to_close_timeout', _seconds(timeout), 'attempt', attempt)
 * (queue NULL: a null).
 */
Datum
DurableScheduledAttributes(text *queue, Datum timeout, bool timeout_null, int32 attempt, bool attempt_null)
{
	JsonbParseState *state = NULL;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	DurableJsonbPushKey(&state, "task_queue");
	DurableJsonbPushText(&state, queue);
	DurableJsonbPushKey(&state, "start_to_close_timeout");
	if (timeout_null)
		DurableJsonbPushNull(&state);
	else	/* extract(epoch FROM task_timeout)::float8 */
		DurableJsonbPushFloat8(&state, DatumGetFloat8(DirectFunctionCall1(numeric_float8,
			DirectFunctionCall2(extract_interval, CStringGetTextDatum("epoch"), timeout))));
	DurableJsonbPushKey(&state, "attempt");
	if (attempt_null)
		DurableJsonbPushNull(&state);
	else
		DurableJsonbPushInt64(&state, attempt);
	return JsonbPGetDatum(JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL)));
}

/*
 * The task of run, whose namespace, queue and task timeout are w[0..2]
 * (w_null: which are null), with a snapshot pushed that sees what the
 * caller wrote.
 */
static void
schedule(Datum run, bool run_null, const Datum *w, const bool *w_null, int32 attempt, bool attempt_null)
{
	bool		armed;
	Datum		scheduled;
	bool		scheduled_null;
	TimestampTz now;

	armed = DurableWorkflowQueueArmed(w_null[0] ? NULL : DatumGetTextPP(w[0]), w_null[1] ? NULL : DatumGetTextPP(w[1]));

	/* a hand-back (api/76_handback.sql) inserts the task at its end, leased to its worker when its poll would take it */
	if (armed && !attempt_null && attempt == 1 && !run_null &&
		DurableHandbackDefer(run, w[0], w_null[0], w[1], w_null[1], w[2], w_null[2]))
		return;

	{
		Datum		args[3] = {run, CStringGetTextDatum("WorkflowTaskScheduled"),
			DurableScheduledAttributes(w_null[1] ? NULL : DatumGetTextPP(w[1]), w[2], w_null[2], attempt, attempt_null)};
		bool		nulls[3] = {run_null, false, false};

		scheduled = DurableCallDirect(durable_append, InvalidOid, 3, args, nulls, &scheduled_null);
	}

	/*
	 * INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue,
	 * state, attempt, scheduled_event_id, scheduled_at), in C
	 * (api/80_task_insert.sql; it takes its own snapshot)
	 */
	now = DurableSqlNow();
	{
		Datum		args[6] = {run, w[0], w[1], Int32GetDatum(attempt), scheduled, TimestampTzGetDatum(now)};
		bool		nulls[6] = {run_null, w_null[0], w_null[1], attempt_null, scheduled_null, false};

		(void) DurableCallDirect(durable_insert_workflow_task, InvalidOid, 6, args, nulls, NULL);
	}

	/* a hand-back polls the queue before its commit, and announces only what it leaves ready */
	if (!armed)
		DurableNotify("workflow", w[0], w_null[0], w[1], w_null[1]);
}

/*
 * durable._schedule_workflow_task(run, attempt) for the C: the run's next
 * workflow task, SCHEDULED and announced, or deferred to the hand-back
 * under way on its queue. The caller holds the run's row lock and knows
 * there is no workflow task yet.
 */
void
DurableScheduleWorkflowTask(Datum run, bool run_null, int32 attempt, bool attempt_null)
{
	Datum		row = (Datum) 0;
	bool		row_null = true;
	Datum		w[3] = {0, 0, 0};	/* namespace, task_queue, task_timeout */
	bool		w_null[3] = {true, true, true};

	/* what the transaction wrote so far, seen as plpgsql's next expression sees it */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	/* (_workflow_row is STRICT: no run, no row) */
	if (!run_null)
		row = DurableWorkflowRow(run, &row_null);
	if (!row_null)
		DurableReadColumns(row, &run_columns, w, w_null);
	schedule(run, run_null, w, w_null, attempt, attempt_null);
	PopActiveSnapshot();
}

/*
 * The same for a caller that holds the run's namespace, task queue and
 * task timeout (the start, which has just written them): no read of its
 * row. None of run, namespace and queue may be null.
 */
void
DurableScheduleWorkflowTaskOf(Datum run, Datum namespace, Datum queue, Datum timeout, bool timeout_null,
							  int32 attempt)
{
	Datum		w[3] = {namespace, queue, timeout};
	bool		w_null[3] = {false, false, timeout_null};

	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	schedule(run, false, w, w_null, attempt, false);
	PopActiveSnapshot();
}

/* durable._schedule_workflow_task(run uuid, attempt integer DEFAULT 1) RETURNS void */
Datum
durable_schedule_workflow_task(PG_FUNCTION_ARGS)
{
	DurableScheduleWorkflowTask(PG_GETARG_DATUM(0), PG_ARGISNULL(0), PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1),
								PG_ARGISNULL(1));
	PG_RETURN_VOID();
}
