/*
 * sticky.c: which worker process holds which run's history, so that a poll
 * by that worker sends only the events it lacks (Temporal's sticky
 * execution). poll_workflow_tasks' `sticky` argument names the polling
 * worker process (a text unique to its lifetime); each history it is sent
 * leaves a mark here: (the run, that worker, the last event sent). The next
 * poll by the same worker that leases a task of the run sends only the
 * events after the mark. Any other poller, a run without a mark, or a mark
 * of another worker gets the whole history, as before.
 *
 * Why shared memory and not a column: the mark changes with every workflow
 * task, and no row the task path keeps is written per task (the task row
 * is deleted at completion; the run's row is only locked), so a column
 * would add an UPDATE, and its WAL, per task. A mark here costs no WAL; it
 * is lost on a server restart, and then the next history is whole.
 *
 * The mark is a hint, never the truth, but it only ever claims what a
 * committed poll sent: a history rendered in a transaction (or savepoint)
 * that rolls back was never the worker's to keep, and its
 * WorkflowTaskStarted's event id comes back for the next poll, which a mark
 * left at it would answer with nothing. So a poll's marks wait in the
 * backend (pending, below) and reach shared memory only when its
 * transaction commits; a savepoint rolled back takes its own with it. The
 * worker may still have let the run go since (evicted, a failed task, a
 * restart that kept its text, an answer lost with its connection). So the worker checks that the events it is sent continue those it
 * holds, and when they do not, asks for the whole history
 * (durable.workflow_task_history) and replays. A mark that is wrong costs
 * one call, never a wrong or a stuck run.
 *
 * The table is direct-mapped: a run's slot is its id's hash modulo the
 * size (durable.sticky_runs); a run that takes a slot another run held
 * makes that run's next history whole. No eviction, no list to keep: the
 * marks of closed runs are simply overwritten. Each slot has its own
 * spinlock around the few bytes it holds.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/uuid.h"

#include "durable.h"
#include "command.h"

typedef struct StickySlot
{
	slock_t		mutex;
	Oid			database;
	pg_uuid_t	run;
	uint64		worker;			/* the hash of the worker's sticky text; 0: empty */
	int64		last_event_id;
} StickySlot;

int			durable_sticky_runs = 65536;
static StickySlot *slots = NULL;

void
DurableStickyDefineGucs(void)
{
	DefineCustomIntVariable("durable.sticky_runs",
							"Runs whose worker the store remembers, to send it only the events it lacks.",
							"40 bytes of shared memory each. 0 turns sticky histories off: every poll "
							"that names no cached run gets whole histories.",
							&durable_sticky_runs,
							65536, 0, 16 * 1024 * 1024,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
}

Size
DurableStickyShmemSize(void)
{
	return MAXALIGN(mul_size(sizeof(StickySlot), (Size) durable_sticky_runs));
}

void
DurableStickyShmemInit(void)
{
	bool		found;

	if (durable_sticky_runs <= 0)
		return;
	slots = ShmemInitStruct("durable sticky runs", DurableStickyShmemSize(), &found);
	if (!found)
	{
		for (int i = 0; i < durable_sticky_runs; i++)
		{
			SpinLockInit(&slots[i].mutex);
			slots[i].worker = 0;
		}
	}
}

static StickySlot *
slot_of(const pg_uuid_t *run)
{
	uint32		h = hash_bytes(run->data, UUID_LEN);

	return &slots[h % (uint32) durable_sticky_runs];
}

static uint64
worker_key(text *sticky)
{
	uint64		h = hash_bytes_extended((const unsigned char *) VARDATA_ANY(sticky), VARSIZE_ANY_EXHDR(sticky), 0);

	return h == 0 ? 1 : h;		/* 0 marks an empty slot */
}

/*
 * The marks of this backend's transaction, not yet committed, oldest first:
 * each with the (sub)transaction nest level that made it. In
 * TopTransactionContext; forgotten at the end of every transaction.
 */
typedef struct PendingMark
{
	pg_uuid_t	run;
	uint64		worker;
	int64		last_event_id;
	int			level;
} PendingMark;

static PendingMark *pending = NULL;
static int	npending = 0;
static int	pending_room = 0;
static bool callbacks_registered = false;

static void
pending_forget(void)
{
	pending = NULL;				/* freed with TopTransactionContext */
	npending = 0;
	pending_room = 0;
}

static void
sticky_publish(const PendingMark *m)
{
	StickySlot *s = slot_of(&m->run);

	SpinLockAcquire(&s->mutex);
	s->database = MyDatabaseId;
	memcpy(s->run.data, m->run.data, UUID_LEN);
	s->worker = m->worker;
	s->last_event_id = m->last_event_id;
	SpinLockRelease(&s->mutex);
}

/*
 * At commit, the transaction's marks are the workers' (oldest first, so the
 * newest of a run stays); the run locks the polls took are still held, so
 * no later poll of those runs can read the marks before they are there.
 * Nothing here can fail.
 */
static void
sticky_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT && slots != NULL)
		for (int i = 0; i < npending; i++)
			sticky_publish(&pending[i]);
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
		pending_forget();
}

/* A savepoint rolled back takes its marks; one released gives them to its parent. */
static void
sticky_subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	int			kept = 0;

	if (event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB)
		return;
	for (int i = 0; i < npending; i++)
	{
		if (pending[i].level >= level)
		{
			if (event == SUBXACT_EVENT_ABORT_SUB)
				continue;
			pending[i].level = level - 1;
		}
		pending[kept++] = pending[i];
	}
	npending = kept;
}

/* The last event id the worker keyed by key was sent for run, or 0: this
 * transaction's own marks first, then the committed ones. */
static int64
sticky_from(const pg_uuid_t *run, uint64 key)
{
	StickySlot *s;
	int64		from = 0;

	for (int i = npending - 1; i >= 0; i--)
		if (memcmp(pending[i].run.data, run->data, UUID_LEN) == 0)
			return pending[i].worker == key ? pending[i].last_event_id : 0;
	s = slot_of(run);
	SpinLockAcquire(&s->mutex);
	if (s->worker == key && s->database == MyDatabaseId && memcmp(s->run.data, run->data, UUID_LEN) == 0)
		from = s->last_event_id;
	SpinLockRelease(&s->mutex);
	return from;
}

/* Marks run as sent to the worker keyed by key up to last_event_id, when
 * (and if) this transaction commits. */
static void
sticky_mark(const pg_uuid_t *run, uint64 key, int64 last_event_id)
{
	PendingMark *m;

	if (!callbacks_registered)
	{
		RegisterXactCallback(sticky_xact_callback, NULL);
		RegisterSubXactCallback(sticky_subxact_callback, NULL);
		callbacks_registered = true;
	}
	if (npending == pending_room)
	{
		int			room = pending_room == 0 ? 16 : pending_room * 2;

		pending = pending == NULL
			? MemoryContextAlloc(TopTransactionContext, room * sizeof(PendingMark))
			: repalloc(pending, room * sizeof(PendingMark));
		pending_room = room;
	}
	m = &pending[npending++];
	memcpy(m->run.data, run->data, UUID_LEN);
	m->worker = key;
	m->last_event_id = last_event_id;
	m->level = GetCurrentTransactionNestLevel();
}

PG_FUNCTION_INFO_V1(durable_history_json_sticky);

/*
 * durable._history_json_sticky(run, from_event, sticky): _history_json(run,
 * from_event), where a from_event of 0 (the worker named no cached events
 * of the run) becomes the mark the worker named sticky left on run, if it
 * did; and the run's mark is then this worker and the last event sent.
 * A null sticky, or durable.sticky_runs = 0: _history_json(run, from_event).
 */
Datum
durable_history_json_sticky(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *run;
	int64		from;
	int64		last = 0;
	uint64		key;
	Datum		history;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_DATUM(DurableHistoryJsonb(PG_GETARG_DATUM(0), PG_ARGISNULL(0), PG_GETARG_DATUM(1),
											 PG_ARGISNULL(1), NULL));
	run = PG_GETARG_UUID_P(0);
	from = PG_GETARG_INT64(1);
	if (PG_ARGISNULL(2) || slots == NULL)
		PG_RETURN_DATUM(DurableHistoryJsonb(UUIDPGetDatum(run), false, Int64GetDatum(from), false, NULL));
	key = worker_key(PG_GETARG_TEXT_PP(2));
	if (from == 0)
		from = sticky_from(run, key);
	history = DurableHistoryJsonb(UUIDPGetDatum(run), false, Int64GetDatum(from), false, &last);
	/* nothing after the mark (never in a poll, which appends its Started
	 * event first): it stays as it was */
	if (last > 0)
		sticky_mark(run, key, last);
	PG_RETURN_DATUM(history);
}

/*
 * _history_json_sticky(run, from_event, sticky) for the C (the hand-back's
 * take, handback_take.c): what a poll sends with a task it leases; *isnull
 * as the function answers.
 */
Datum
DurableHistorySticky(Datum run, Datum from_event, Datum sticky, bool sticky_null, bool *isnull)
{
	Datum		args[3] = {run, from_event, sticky};
	bool		nulls[3] = {false, false, sticky_null};

	return DurableCallDirect(durable_history_json_sticky, InvalidOid, 3, args, nulls, isnull);
}

/*
 * coalesce((cached ->> run::text)::bigint, 0): the last event of run the
 * worker says it holds (cached: a poll's, NULL for none), with the cast's
 * own error for a value that is not a bigint.
 */
Datum
DurableCachedEvent(struct varlena *cached_jsonb, Datum run)
{
	Jsonb	   *cached = (Jsonb *) cached_jsonb;
	char	   *key;
	JsonbValue *v;
	text	   *last;

	if (cached == NULL || !JB_ROOT_IS_OBJECT(cached))
		return Int64GetDatum(0);
	key = DatumGetCString(DirectFunctionCall1(uuid_out, run));
	v = getKeyJsonValueFromContainer(&cached->root, key, strlen(key), NULL);
	last = v == NULL ? NULL : DurableJsonbValueText(v);
	if (last == NULL)
		return Int64GetDatum(0);
	return DirectFunctionCall1(int8in, CStringGetDatum(text_to_cstring(last)));
}
