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

#include "access/xact.h"
#include "fmgr.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_eager_arm);
PG_FUNCTION_INFO_V1(durable_eager_armed);

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
 * Whether a hand-back armed the workflow queue (namespace, queue) in this
 * transaction: _eager_armed(namespace || '/workflow' || E'\x1f' || queue),
 * as the C _schedule_workflow_task (schedule_task.c) asks it, compared
 * without building the key. A null part makes the key null: false.
 */
bool
DurableWorkflowQueueArmed(text *namespace, text *queue)
{
	static const char middle[] = "/workflow\x1f";
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
