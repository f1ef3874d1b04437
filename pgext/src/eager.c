/*
 * eager.c: which activity queue this transaction's eager completion
 * (durable.complete_workflow_tasks_eager, api/72_eager.sql) authorized its
 * caller to take activities from.
 *
 * The offer itself travels in transaction-local settings (durable_eager.*),
 * which any session may set. What makes a forged offer harmless is that
 * each eager take also needs the queue armed here, and only the eager
 * completion arms it, after checking the caller's grant on the queue: these
 * functions are internal (no EXECUTE for the worker roles), so a session
 * cannot arm a queue by itself. The mark lives in backend memory, keyed by
 * the local transaction id, so it ends with the transaction whatever way
 * that ends. It replaces a grant lookup per eagerly taken activity.
 *
 * The hand-back (durable.complete_activity_tasks_eager, api/76_handback.sql)
 * sets the same mark under the key (namespace "/workflow", 0x1f, queue),
 * which no activity queue's key matches (a namespace has no "/"): while it
 * is set, the workflow tasks scheduled on that queue are not announced one
 * by one, and the hand-back announces those its poll leaves ready.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_eager_arm);
PG_FUNCTION_INFO_V1(durable_eager_armed);
PG_FUNCTION_INFO_V1(durable_eager_take);
PG_FUNCTION_INFO_V1(durable_eager_taken);

#define OFFER_SEPARATOR '\x1f'

static LocalTransactionId armed_lxid = InvalidLocalTransactionId;
static SubTransactionId armed_subid = InvalidSubTransactionId;
static char *armed_key = NULL;

static void
eager_disarm(void)
{
	if (armed_key != NULL)
		pfree(armed_key);
	armed_key = NULL;
	armed_lxid = InvalidLocalTransactionId;
	armed_subid = InvalidSubTransactionId;
}

/* The subtransaction that set the mark is rolled back: so is the mark. One
 * that commits hands it to its parent, whose rollback ends it too. */
static void
eager_subxact(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid, void *arg)
{
	(void) arg;
	if (armed_key == NULL || mySubid != armed_subid)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
		eager_disarm();
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		armed_subid = parentSubid;
}

/* _eager_arm(key text): key (namespace, 0x1f, queue) is armed until the end
 * of this transaction; NULL disarms. */
Datum
durable_eager_arm(PG_FUNCTION_ARGS)
{
	static bool subxact_callback = false;

	eager_disarm();
	if (!PG_ARGISNULL(0))
	{
		if (!subxact_callback)
		{
			RegisterSubXactCallback(eager_subxact, NULL);
			subxact_callback = true;
		}
		armed_key = MemoryContextStrdup(TopMemoryContext, text_to_cstring(PG_GETARG_TEXT_PP(0)));
		armed_lxid = MyProc->lxid;
		armed_subid = GetCurrentSubTransactionId();
	}
	PG_RETURN_VOID();
}

/*
 * Whether the key namespace || middle || queue is armed in this
 * transaction, compared without building it. A null part makes the key
 * null: false.
 */
static bool
armed_as(text *namespace, const char *middle, text *queue)
{
	size_t		ns_len;
	size_t		q_len;
	size_t		m_len = strlen(middle);

	if (namespace == NULL || queue == NULL || armed_key == NULL || armed_lxid != MyProc->lxid)
		return false;
	ns_len = VARSIZE_ANY_EXHDR(namespace);
	q_len = VARSIZE_ANY_EXHDR(queue);
	return strlen(armed_key) == ns_len + m_len + q_len &&
		memcmp(armed_key, VARDATA_ANY(namespace), ns_len) == 0 &&
		memcmp(armed_key + ns_len, middle, m_len) == 0 &&
		memcmp(armed_key + ns_len + m_len, VARDATA_ANY(queue), q_len) == 0;
}

/*
 * Whether a hand-back armed the workflow queue (namespace, queue) in this
 * transaction: _eager_armed(namespace || '/workflow' || E'\x1f' || queue),
 * as the C _schedule_workflow_task (schedule_task.c) asks it.
 */
bool
DurableWorkflowQueueArmed(text *namespace, text *queue)
{
	return armed_as(namespace, "/workflow\x1f", queue);
}

/* _eager_armed(key text): whether key is armed in this transaction. */
Datum
durable_eager_armed(PG_FUNCTION_ARGS)
{
	char	   *key;
	bool		armed;

	if (PG_ARGISNULL(0) || armed_key == NULL || armed_lxid != MyProc->lxid)
		PG_RETURN_BOOL(false);
	key = text_to_cstring(PG_GETARG_TEXT_PP(0));
	armed = strcmp(key, armed_key) == 0;
	pfree(key);
	PG_RETURN_BOOL(armed);
}

/* text's bytes equal to the len bytes at part */
static bool
text_is(text *t, const char *part, size_t len)
{
	return VARSIZE_ANY_EXHDR(t) == len && memcmp(VARDATA_ANY(t), part, len) == 0;
}

/*
 * Whether run w must wait for a poll though the offer fits: w is paused
 * (api/41_pause.sql), or a task of the queue is ready at the same or a
 * higher priority (api/41_priority.sql: it is ahead of the new one). Read
 * as the plpgsql read it, with a generic plan kept for the backend: the
 * plpgsql's expression was planned again at most calls (~95 us of
 * planning, docs/performance.md "_eager_take in C").
 */
static bool
must_wait(Datum run, bool run_null, text *namespace, text *queue, Datum priority, bool priority_null)
{
	static SPIPlanPtr plan = NULL;
	static const char sql[] =
		"SELECT EXISTS (SELECT 1 FROM durable.workflow_pauses p WHERE p.run_id = $1) "
		"OR EXISTS (SELECT 1 FROM durable.activity_tasks a "
		"WHERE a.namespace = $2 AND a.task_queue = $3 AND a.state = 'SCHEDULED' AND a.priority <= $4)";
	Oid			argtypes[4] = {UUIDOID, TEXTOID, TEXTOID, INT2OID};
	Datum		args[4] = {run, PointerGetDatum(namespace), PointerGetDatum(queue), priority};
	char		nulls[4] = {run_null ? 'n' : ' ', ' ', ' ', priority_null ? 'n' : ' '};
	Datum		result;
	bool		result_null;
	int			rc;

	SPI_connect();
	/* (not read-only: a new snapshot that sees this transaction's tasks, as a volatile plpgsql's statement) */
	rc = SPI_execute_plan(DurableKeptGenericPlan(&plan, sql, 4, argtypes), args, nulls, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not run \"%s\": %s", sql, SPI_result_code_string(rc));
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &result_null);
	SPI_finish();
	/* (EXISTS OR EXISTS is never null) */
	return result_null || DatumGetBool(result);
}

/* set_config(name, value, true), as the plpgsql called it */
static void
set_local(const char *name, const char *value)
{
	(void) set_config_option(name, value, superuser() ? PGC_SUSET : PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
}

/*
 * _eager_take(w durable.workflows, queue text, priority smallint): the
 * identity to lease a new activity of run w on queue to, taking one slot of
 * the offer, or NULL when it must wait for a poll. The offer is the
 * settings durable_eager.offer (namespace, 0x1f, queue, 0x1f, identity)
 * and durable_eager.slots (what is left of it), which the eager completion
 * set (api/72_eager.sql); the queue must also be armed here. In C: as
 * plpgsql its IF was planned again at most calls.
 */
Datum
durable_eager_take(PG_FUNCTION_ARGS)
{
	HeapTupleHeader w = PG_ARGISNULL(0) ? NULL : PG_GETARG_HEAPTUPLEHEADER(0);
	text	   *queue = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	char	   *offer = GetConfigOptionByName("durable_eager.offer", NULL, true);
	char	   *slots_text = GetConfigOptionByName("durable_eager.slots", NULL, true);
	int32		slots;
	bool		namespace_null = true;
	bool		run_null = true;
	Datum		namespace_datum = (Datum) 0;
	Datum		run = (Datum) 0;
	text	   *namespace;
	char	   *queue_part;
	char	   *identity;
	char		left[16];

	/* (current_setting(...)::integer: its errors for a malformed one) */
	if (slots_text == NULL)
		PG_RETURN_NULL();
	slots = DatumGetInt32(DirectFunctionCall1(int4in, CStringGetDatum(slots_text)));
	if (slots < 1 || offer == NULL)
		PG_RETURN_NULL();
	if (w != NULL)
	{
		namespace_datum = GetAttributeByName(w, "namespace", &namespace_null);
		run = GetAttributeByName(w, "run_id", &run_null);
	}
	if (namespace_null || queue == NULL)
		PG_RETURN_NULL();		/* the offer's parts are never null: distinct */
	namespace = DatumGetTextPP(namespace_datum);

	/* offer[1] = namespace, offer[2] = queue; the rest is the identity */
	queue_part = strchr(offer, OFFER_SEPARATOR);
	if (queue_part == NULL || !text_is(namespace, offer, queue_part - offer))
		PG_RETURN_NULL();
	queue_part++;
	identity = strchr(queue_part, OFFER_SEPARATOR);
	if (!text_is(queue, queue_part, identity == NULL ? strlen(queue_part) : (size_t) (identity - queue_part)))
		PG_RETURN_NULL();
	identity = identity == NULL ? "" : identity + 1;

	if (!armed_as(namespace, "\x1f", queue) ||
		must_wait(run, run_null, namespace, queue, PG_GETARG_DATUM(2), PG_ARGISNULL(2)))
		PG_RETURN_NULL();
	snprintf(left, sizeof(left), "%d", slots - 1);
	set_local("durable_eager.slots", left);
	PG_RETURN_TEXT_P(cstring_to_text(identity));
}

/*
 * _eager_taken(task bigint): task is added to durable_eager.taken, the
 * ids (comma-separated) the eager completion returns leased.
 */
Datum
durable_eager_taken(PG_FUNCTION_ARGS)
{
	char	   *taken = GetConfigOptionByName("durable_eager.taken", NULL, true);
	StringInfoData value;

	initStringInfo(&value);
	/* concat_ws(',', nullif(taken, ''), task) */
	if (taken != NULL && taken[0] != '\0')
		appendStringInfoString(&value, taken);
	if (!PG_ARGISNULL(0))
		appendStringInfo(&value, "%s" INT64_FORMAT, value.len > 0 ? "," : "", PG_GETARG_INT64(0));
	set_local("durable_eager.taken", value.data);
	pfree(value.data);
	PG_RETURN_VOID();
}
