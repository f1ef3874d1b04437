/*
 * activity_result.c: durable._complete_activity_result(run, task, token,
 * result, identity), the common item of complete_activity_tasks (a result
 * for a started task, api/07_activity_tasks.sql), in C.
 *
 * As plpgsql (session 8, docs/performance.md "The cost of one activity") it
 * was three statements and a dozen expressions: the run's lock, the task's
 * DELETE ... RETURNING (the lease's check: fence and STARTED; and three
 * subqueries: whether the queue has limits, whether the activity has a
 * pause, the run's workflow task), the attributes built, the two appends or
 * one buffered insert, the workflow task scheduled or announced. The DELETE
 * alone was 13 µs of a one-activity workflow's ~370 (an executor set up and
 * torn down around one probe, a delete and three probes). Here:
 *
 * - the run is locked by _lock_run's C (run_lock.c);
 * - the task is found by its primary key, checked and deleted with the heap
 *   API, and the three rows probed by their keys (index_probe.c), all in one
 *   snapshot taken after the lock, as the statement's (a started task's
 *   state and fence change only under the run's lock; a heartbeat, which
 *   writes the row unlocked, makes the delete wait and then go through the
 *   statement, which follows the row as READ COMMITTED does);
 * - the attributes are built as jsonb_build_object builds them, the events
 *   appended by _append's C (history_append.c), the workflow task scheduled
 *   by _schedule_workflow_task or announced by _notify (called through fmgr,
 *   counted by track_functions as a call from SQL is).
 *
 * The rare branches stay statements, kept prepared: an identity too long
 * (_check_name's error), a pause's delete, the events buffered while the
 * workflow task is started or paused. The task's DELETE itself is the
 * statement, as before, wherever the direct one would not do what it does:
 * a trigger on DELETE of the tasks, a rule, row security, inheritance, a
 * partition, an ExecutorCheckPerms_hook, a role without the rights, a key
 * index missing or not a plain unique btree on the statement's columns, a
 * column missing or of another type, or a row another transaction changed
 * meanwhile (the delete's answer other than TM_Ok).
 *
 * run and task come from the caller's look-up of the token's task id; a
 * task gone meanwhile, a fence no longer held or a task not STARTED is
 * LEASE_LOST. The plpgsql text it replaced is in git history
 * (api/77_activity_result.sql before session 10); pgTAP
 * 77_activity_result.sql holds the twins.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_type_d.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/uuid.h"

#include "durable.h"
#include "command.h"

PG_FUNCTION_INFO_V1(durable_complete_activity_result);

/* run_lock.c, history_append.c */
extern Datum durable_lock_run(PG_FUNCTION_ARGS);
extern Datum durable_append(PG_FUNCTION_ARGS);

/* the four tables, their keys and the columns read (probed_table.c) */
enum
{
	T_FENCE, T_STATE, T_NAMESPACE, T_QUEUE, T_RUN, T_SCHEDULED, T_IDENTITY, T_ATTEMPT, T_LAST_FAILURE
};
static DurableProbedTable tasks = {
	"activity_tasks", 1, {"task_id"}, {INT8OID}, {F_INT8EQ},
	9, {"fence", "state", "namespace", "task_queue", "run_id", "scheduled_event_id", "identity", "attempt",
	"last_failure"},
	{INT8OID, TEXTOID, TEXTOID, TEXTOID, UUIDOID, INT8OID, TEXTOID, INT4OID, JSONBOID},
	ACL_DELETE | ACL_SELECT
};
static DurableProbedTable limits = {
	"task_queue_limits", 2, {"namespace", "task_queue"}, {TEXTOID, TEXTOID}, {F_TEXTEQ, F_TEXTEQ},
	0, {NULL}, {InvalidOid}, ACL_SELECT
};
static DurableProbedTable pauses = {
	"activity_pauses", 2, {"run_id", "scheduled_event_id"}, {UUIDOID, INT8OID}, {F_UUID_EQ, F_INT8EQ},
	0, {NULL}, {InvalidOid}, ACL_SELECT
};
enum
{
	W_STATE, W_NAMESPACE, W_QUEUE
};
static DurableProbedTable wtasks = {
	"workflow_tasks", 1, {"run_id"}, {UUIDOID}, {F_UUID_EQ},
	3, {"state", "namespace", "task_queue"}, {TEXTOID, TEXTOID, TEXTOID}, ACL_SELECT
};
static DurableProbedTable *const tables[] = {&tasks, &limits, &pauses, &wtasks};

#define NTABLES lengthof(tables)

static DurableFunction schedule_fn = {"_schedule_workflow_task", 2, {UUIDOID, INT4OID}};

/* What the task's delete returns, as the statement's RETURNING. */
typedef struct Taken
{
	Datum		namespace;
	Datum		task_queue;
	int64		scheduled_event_id;
	Datum		identity;
	bool		identity_null;
	int32		attempt;
	Datum		last_failure;
	bool		last_failure_null;
	bool		limited;
	bool		paused;
	bool		has_wt;			/* the run has a workflow task: */
	Datum		wt_state;
	Datum		wt_namespace;
	Datum		wt_queue;
} Taken;

static const char *delete_sql =
"DELETE FROM durable.activity_tasks t"
" WHERE t.task_id = $1 AND t.fence = $2 AND t.state = 'STARTED'"
" RETURNING t.namespace, t.task_queue, t.scheduled_event_id, t.identity, t.attempt, t.last_failure,"
" EXISTS (SELECT 1 FROM durable.task_queue_limits l WHERE l.namespace = t.namespace AND l.task_queue = t.task_queue),"
" EXISTS (SELECT 1 FROM durable.activity_pauses p"
"          WHERE p.run_id = t.run_id AND p.scheduled_event_id = t.scheduled_event_id),"
" (SELECT x.state FROM durable.workflow_tasks x WHERE x.run_id = t.run_id),"
" (SELECT x.namespace FROM durable.workflow_tasks x WHERE x.run_id = t.run_id),"
" (SELECT x.task_queue FROM durable.workflow_tasks x WHERE x.run_id = t.run_id)";
static SPIPlanPtr delete_plan;
static const char *check_name_sql = "SELECT durable._check_name($1, 'identity')";
static SPIPlanPtr check_name_plan;
static const char *unpause_sql =
"DELETE FROM durable.activity_pauses p WHERE p.run_id = $1 AND p.scheduled_event_id = $2";
static SPIPlanPtr unpause_plan;
static const char *buffer_sql =
"INSERT INTO durable.buffered_events (run_id, event_type, event_time, attributes)"
" VALUES ($1, 'ActivityTaskStarted', durable._run_now($1), $2),"
"        ($1, 'ActivityTaskCompleted', durable._run_now($1), $3)";
static SPIPlanPtr buffer_plan;

static Datum
copy_varlena(TupleTableSlot *slot, AttrNumber att)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, att, &isnull);

	return isnull ? (Datum) 0 : datumCopy(d, false, -1);
}

static bool
text_is(Datum t, const char *s)
{
	text	   *v = DatumGetTextPP(t);

	return VARSIZE_ANY_EXHDR(v) == strlen(s) && memcmp(VARDATA_ANY(v), s, strlen(s)) == 0;
}

/* One row of t whose keys are keys, visible to snapshot; copied into slot. */
static bool
probe(Relation *rels, int i, const Datum *keys, Snapshot snapshot, TupleTableSlot **slot)
{
	DurableProbedTable *t = tables[i];
	Relation	index = index_open(t->lookup.index, AccessShareLock);
	bool		found;

	*slot = table_slot_create(rels[i], NULL);
	found = DurableProbeIndexKeys(rels[i], index, t->nkeys, t->eqs, keys, snapshot, *slot);
	/* the locks stay to the transaction's end, as the statement's */
	index_close(index, NoLock);
	return found;
}

/* the locks stay to the transaction's end, as the statement's */
static void
close_tables(Relation *rels)
{
	for (int i = 0; i < NTABLES; i++)
		table_close(rels[i], NoLock);
}

/*
 * The four tables opened under the statement's locks, if the direct path
 * does what the statement would on them as they are now; false (none left
 * open) if the statement must do it.
 */
static bool
open_tables(Relation *rels)
{
	int			opened;

	/* each table locked before the index remembered for it is read (relcache_watch.c) */
	for (opened = 0; opened < NTABLES; opened++)
	{
		rels[opened] = DurableOpenLookup(&tables[opened]->lookup, opened == 0 ? RowExclusiveLock : AccessShareLock,
										 DurableFillProbedTable, tables[opened]);
		if (rels[opened] == NULL)
		{
			/* (a table or its index not as the direct path needs it: the statement) */
			while (opened-- > 0)
				table_close(rels[opened], NoLock);
			return false;
		}
	}
	if (ExecutorCheckPerms_hook == NULL)
	{
		bool		fits = true;

		for (int i = 0; i < NTABLES && fits; i++)
			fits = DurableProbedFits(rels[i], tables[i]->rights);
		if (fits)
			return true;
	}
	close_tables(rels);
	return false;
}

/*
 * The run, namespace and queue of each wanted task of task_ids, read by
 * its primary key in a new snapshot (as a statement's: complete_activity_tasks'
 * look-up); found[i] false for a task not there. false, nothing read, if
 * the statement must read them. That statement is a SELECT of
 * activity_tasks: the table alone is opened, under its lock (kept to the
 * transaction's end, as the statement's), with its rights.
 */
bool
DurableActivityTaskKeys(int n, const int64 *task_ids, const bool *wanted, Datum *runs, Datum *namespaces,
						Datum *queues, bool *found)
{
	Relation	rel = DurableOpenLookup(&tasks.lookup, AccessShareLock, DurableFillProbedTable, &tasks);
	Relation	index;
	TupleTableSlot *slot;

	if (rel == NULL)
		return false;
	if (ExecutorCheckPerms_hook != NULL || !DurableProbedFits(rel, ACL_SELECT))
	{
		table_close(rel, NoLock);
		return false;
	}
	PushActiveSnapshot(GetTransactionSnapshot());
	index = index_open(tasks.lookup.index, AccessShareLock);
	slot = table_slot_create(rel, NULL);
	for (int i = 0; i < n; i++)
	{
		Datum		key = Int64GetDatum(task_ids[i]);
		bool		isnull;

		found[i] = wanted[i] && DurableProbeIndexKeys(rel, index, 1, tasks.eqs, &key, GetActiveSnapshot(), slot);
		if (found[i])
		{
			runs[i] = datumCopy(slot_getattr(slot, tasks.atts[T_RUN], &isnull), false, UUID_LEN);
			namespaces[i] = copy_varlena(slot, tasks.atts[T_NAMESPACE]);
			queues[i] = copy_varlena(slot, tasks.atts[T_QUEUE]);
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, NoLock);
	PopActiveSnapshot();
	table_close(rel, NoLock);
	return true;
}

typedef enum
{
	TAKE_DONE,					/* taken, or no row the lease holds */
	TAKE_BY_STATEMENT			/* nothing done: the statement must do it */
} TakeResult;

/* The task's delete and its three reads, directly. */
static TakeResult
take_direct(int64 task_id, int64 fence, Taken *out, bool *found)
{
	Relation	rels[NTABLES];
	TupleTableSlot *slot;
	Snapshot	snapshot;
	bool		isnull;
	Datum		key = Int64GetDatum(task_id);
	Datum		keys[2];

	*found = false;
	if (!open_tables(rels))
		return TAKE_BY_STATEMENT;

	/* (the snapshot after the run's lock) */
	DurableProbedDeleteBegin(rels[0]);
	snapshot = GetActiveSnapshot();

	if (!probe(rels, 0, &key, snapshot, &slot) ||
		DatumGetInt64(slot_getattr(slot, tasks.atts[T_FENCE], &isnull)) != fence ||
		!text_is(slot_getattr(slot, tasks.atts[T_STATE], &isnull), "STARTED"))
	{
		/* (no row the lease holds: the statement deletes nothing) */
		ExecDropSingleTupleTableSlot(slot);
		DurableDirectWriteEnd(false);
		close_tables(rels);
		return TAKE_DONE;
	}
	if (!DurableProbedDelete(rels[0], slot))
	{
		/* (changed meanwhile, by a heartbeat: the statement follows the row or fails to serialize) */
		ExecDropSingleTupleTableSlot(slot);
		DurableDirectWriteEnd(false);
		close_tables(rels);
		return TAKE_BY_STATEMENT;
	}
	*found = true;
	out->namespace = copy_varlena(slot, tasks.atts[T_NAMESPACE]);
	out->task_queue = copy_varlena(slot, tasks.atts[T_QUEUE]);
	out->scheduled_event_id = DatumGetInt64(slot_getattr(slot, tasks.atts[T_SCHEDULED], &isnull));
	out->identity = copy_varlena(slot, tasks.atts[T_IDENTITY]);
	out->identity_null = slot_attisnull(slot, tasks.atts[T_IDENTITY]);
	out->attempt = DatumGetInt32(slot_getattr(slot, tasks.atts[T_ATTEMPT], &isnull));
	out->last_failure = copy_varlena(slot, tasks.atts[T_LAST_FAILURE]);
	out->last_failure_null = slot_attisnull(slot, tasks.atts[T_LAST_FAILURE]);
	keys[0] = slot_getattr(slot, tasks.atts[T_RUN], &isnull);
	keys[1] = Int64GetDatum(out->scheduled_event_id);
	{
		TupleTableSlot *other;

		out->paused = probe(rels, 2, keys, snapshot, &other);
		ExecDropSingleTupleTableSlot(other);
		out->has_wt = probe(rels, 3, keys, snapshot, &other);
		if (out->has_wt)
		{
			out->wt_state = copy_varlena(other, wtasks.atts[W_STATE]);
			out->wt_namespace = copy_varlena(other, wtasks.atts[W_NAMESPACE]);
			out->wt_queue = copy_varlena(other, wtasks.atts[W_QUEUE]);
		}
		ExecDropSingleTupleTableSlot(other);
		keys[0] = out->namespace;
		keys[1] = out->task_queue;
		out->limited = probe(rels, 1, keys, snapshot, &other);
		ExecDropSingleTupleTableSlot(other);
	}
	ExecDropSingleTupleTableSlot(slot);
	DurableDirectWriteEnd(true);
	close_tables(rels);
	return TAKE_DONE;
}

static Datum
transfer(HeapTuple row, TupleDesc desc, int col, bool byval, bool *isnull)
{
	Datum		d = SPI_getbinval(row, desc, col, isnull);

	return *isnull ? (Datum) 0 : SPI_datumTransfer(d, byval, byval ? sizeof(Datum) : -1);
}

/* The task's delete and its three reads, by the statement. */
static bool
take_by_statement(int64 task_id, int64 fence, Taken *out)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		args[2] = {Int64GetDatum(task_id), Int64GetDatum(fence)};
	bool		found;
	int			rc;

	SPI_connect();
	rc = SPI_execute_plan(DurableKeptPlan(&delete_plan, delete_sql, 2, types), args, NULL, false, 0);
	if (rc != SPI_OK_DELETE_RETURNING)
		elog(ERROR, "could not delete a task of durable.activity_tasks: %s", SPI_result_code_string(rc));
	found = SPI_processed > 0;
	if (found)
	{
		HeapTuple	row = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		bool		wt_null;

		out->namespace = transfer(row, desc, 1, false, &isnull);
		out->task_queue = transfer(row, desc, 2, false, &isnull);
		out->scheduled_event_id = DatumGetInt64(SPI_getbinval(row, desc, 3, &isnull));
		out->identity = transfer(row, desc, 4, false, &out->identity_null);
		out->attempt = DatumGetInt32(SPI_getbinval(row, desc, 5, &isnull));
		out->last_failure = transfer(row, desc, 6, false, &out->last_failure_null);
		out->limited = DatumGetBool(SPI_getbinval(row, desc, 7, &isnull));
		out->paused = DatumGetBool(SPI_getbinval(row, desc, 8, &isnull));
		out->wt_state = transfer(row, desc, 9, false, &wt_null);
		out->has_wt = !wt_null;
		out->wt_namespace = transfer(row, desc, 10, false, &isnull);
		out->wt_queue = transfer(row, desc, 11, false, &isnull);
	}
	SPI_finish();
	return found;
}

static void
push_int64(JsonbParseState **state, const char *key, int64 n)
{
	DurableJsonbPushKey(state, key);
	DurableJsonbPushInt64(state, n);
}

/* a text or null, as jsonb_build_object writes it */
static void
push_text(JsonbParseState **state, const char *key, Datum t, bool isnull)
{
	DurableJsonbPushKey(state, key);
	DurableJsonbPushText(state, isnull ? NULL : DatumGetTextPP(t));
}

/* a jsonb or null, as jsonb_build_object writes it */
static void
push_jsonb(JsonbParseState **state, const char *key, Datum j, bool isnull)
{
	DurableJsonbPushKey(state, key);
	DurableJsonbPushJsonb(state, isnull ? NULL : DatumGetJsonbP(j));
}

static Datum
end_object(JsonbParseState **state)
{
	return JsonbPGetDatum(JsonbValueToJsonb(pushJsonbValue(state, WJB_END_OBJECT, NULL)));
}

/* split_part(token, '.', 2)::bigint, with the cast's error */
static int64
token_fence(text *token)
{
	char	   *s = text_to_cstring(token);
	char	   *dot = strchr(s, '.');
	char	   *field = dot != NULL ? dot + 1 : "";	/* (split_part's empty field) */
	char	   *end = strchr(field, '.');

	if (end != NULL)
		*end = '\0';
	return DatumGetInt64(DirectFunctionCall1(int8in, CStringGetDatum(field)));
}

/*
 * The result for task (of run) with token: COMPLETED, or LEASE_LOST when the
 * token no longer holds the lease (complete_activity_tasks calls it for its
 * common item; durable._complete_activity_result is it in SQL).
 */
const char *
DurableActivityResult(Datum run, bool run_null, Datum task, bool task_null, text *token, Datum result,
					  bool result_null, Datum identity, bool identity_null)
{
	int64		fence;
	Taken		a;
	bool		found;
	JsonbParseState *state = NULL;
	Datum		started_attrs;
	Datum		attrs;
	int64		started_event = 0;

	if (!run_null)
		DirectFunctionCall1(durable_lock_run, run);
	if (task_null || token == NULL)
		return "LEASE_LOST";
	fence = token_fence(token);
	memset(&a, 0, sizeof(a));
	if (take_direct(DatumGetInt64(task), fence, &a, &found) == TAKE_BY_STATEMENT)
		found = take_by_statement(DatumGetInt64(task), fence, &a);
	if (!found)
		return "LEASE_LOST";
	if (run_null)
		/* (the caller's look-up gives both or neither; the appends would refuse it) */
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("null value in column \"run_id\" of relation \"history\" violates not-null constraint")));
	/* checked as _finish_activity checks it: only once the lease is known to be held */
	if (!identity_null && VARSIZE_ANY_EXHDR(DatumGetTextPP(identity)) > 255)
	{
		Oid			type = TEXTOID;

		DurableRunStatement(&check_name_plan, check_name_sql, 1, &type, &identity, NULL, false, 0, SPI_OK_SELECT,
							NULL, NULL);
	}
	if (a.limited)				/* _slot_freed */
		DurableNotify("activity", a.namespace, false, a.task_queue, false);
	if (a.paused)				/* _drop_activity_task */
	{
		Oid			types[2] = {UUIDOID, INT8OID};
		Datum		args[2] = {run, Int64GetDatum(a.scheduled_event_id)};

		DurableRunStatement(&unpause_plan, unpause_sql, 2, types, args, NULL, false, 0, SPI_OK_DELETE, NULL, NULL);
	}

	/* _deliver_activity_outcome's two events, and _deliver's handling of each */
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	push_int64(&state, "scheduled_event_id", a.scheduled_event_id);
	push_text(&state, "identity", a.identity, a.identity_null);
	push_int64(&state, "attempt", a.attempt);
	push_jsonb(&state, "last_failure", a.last_failure, a.last_failure_null);
	started_attrs = end_object(&state);
	if (a.has_wt && (text_is(a.wt_state, "STARTED") || text_is(a.wt_state, "PAUSED")))
	{
		Oid			types[3] = {UUIDOID, JSONBOID, JSONBOID};
		Datum		args[3];

		args[0] = run;
		args[1] = started_attrs;
		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		push_int64(&state, "scheduled_event_id", a.scheduled_event_id);
		push_jsonb(&state, "result", result, result_null);
		push_text(&state, "identity", identity_null ? a.identity : identity, identity_null && a.identity_null);
		push_jsonb(&state, "started_event_id", (Datum) 0, true);
		args[2] = end_object(&state);
		DurableRunStatement(&buffer_plan, buffer_sql, 3, types, args, NULL, false, 0, SPI_OK_INSERT, NULL, NULL);
		return "COMPLETED";
	}
	started_event = DatumGetInt64(DirectFunctionCall3(durable_append, run, CStringGetTextDatum("ActivityTaskStarted"),
													  started_attrs));
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	push_int64(&state, "scheduled_event_id", a.scheduled_event_id);
	push_jsonb(&state, "result", result, result_null);
	push_text(&state, "identity", identity_null ? a.identity : identity, identity_null && a.identity_null);
	push_int64(&state, "started_event_id", started_event);
	attrs = end_object(&state);
	DirectFunctionCall3(durable_append, run, CStringGetTextDatum("ActivityTaskCompleted"), attrs);
	if (!a.has_wt)
	{
		Datum		args[2] = {run, Int32GetDatum(1)};

		DurableCallFunction(DurableFunctionOid(&schedule_fn, false), InvalidOid, 2, args, NULL);
	}
	else if (text_is(a.wt_state, "SCHEDULED"))
		/* a poller may have skipped this task while we held the run locked */
		DurableNotify("workflow", a.wt_namespace, false, a.wt_queue, false);
	return "COMPLETED";
}

/*
 * durable._complete_activity_result(run uuid, task bigint, token text,
 * result jsonb, identity text) RETURNS text: COMPLETED, or LEASE_LOST when
 * the token no longer holds the lease.
 */
Datum
durable_complete_activity_result(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(DurableActivityResult(PG_GETARG_DATUM(0), PG_ARGISNULL(0),
														   PG_GETARG_DATUM(1), PG_ARGISNULL(1),
														   PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2),
														   PG_GETARG_DATUM(3), PG_ARGISNULL(3),
														   PG_GETARG_DATUM(4), PG_ARGISNULL(4))));
}
