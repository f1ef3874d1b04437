/*
 * queries.c: hand a query to a worker and wait for its answer.
 *
 * A query must reach a worker while the caller's transaction is still open,
 * so it cannot travel through a table (the worker would not see the row
 * before commit) nor through NOTIFY (delivered at commit too). Queries live
 * in shared-memory slots instead: query_workflow posts one and sleeps on a
 * condition variable; workers long-poll for posted queries of their task
 * queue and write the answer back into the slot.
 *
 * A worker may die between taking a query and answering it. The waiting
 * caller looks at least every TAKER_CHECK_MS whether the backend that took
 * its query still exists, and offers the query again if not; and a taker
 * whose client has gone takes nothing.
 *
 * Only the worker that took a query may answer it: each take draws a fresh
 * random token (like a lease's fencing token, but unguessable, because the
 * answer goes straight to a waiting caller), and an answer must name the
 * slot's current token. The sequential query id stays inside the slot; the
 * 0.1 entry points that answer by id are kept only for stores not yet
 * upgraded.
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/procarray.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_query_post);
PG_FUNCTION_INFO_V1(durable_query_take);
PG_FUNCTION_INFO_V1(durable_query_take_0_2);
PG_FUNCTION_INFO_V1(durable_query_answer);
PG_FUNCTION_INFO_V1(durable_query_answer_0_2);

#define QUERY_TOKEN_PREFIX 'q'
#define QUERY_TOKEN_LEN (1 + 2 * DURABLE_QUERY_TOKEN_BYTES)

#define TAKER_CHECK_MS 200

#define ERRCODE_DURABLE_QUERY_TIMEOUT MAKE_SQLSTATE('D','U','0','0','5')
#define ERRCODE_DURABLE_QUERY_FAILED MAKE_SQLSTATE('D','U','0','0','6')

static void
copy_name(char *dst, text *src, const char *what)
{
	int			len = VARSIZE_ANY_EXHDR(src);

	if (len >= DURABLE_NAME_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s is too long", what),
				 errdetail("It has %d bytes; the limit is %d.", len, DURABLE_NAME_MAX - 1)));
	memcpy(dst, VARDATA_ANY(src), len);
	dst[len] = '\0';
}

static long
ms_left(TimestampTz deadline)
{
	TimestampTz now = GetCurrentTimestamp();

	return now >= deadline ? 0 : (long) ((deadline - now + 999) / 1000);
}

static DurableQuerySlot *
find_slot(uint64 query_id)
{
	for (int i = 0; i < DURABLE_QUERY_SLOTS; i++)
		if (durable_shared->slots[i].state != QUERY_FREE &&
			durable_shared->slots[i].query_id == query_id)
			return &durable_shared->slots[i];
	return NULL;
}

static void
release_slot(uint64 query_id)
{
	DurableQuerySlot *slot;

	LWLockAcquire(durable_shared->query_lock, LW_EXCLUSIVE);
	slot = find_slot(query_id);
	if (slot)
		slot->state = QUERY_FREE;
	LWLockRelease(durable_shared->query_lock);
}

/*
 * durable._query_post(task_queue, namespace, workflow_id, run_id, query_type,
 *                     args, timeout_ms) returns text
 */
Datum
durable_query_post(PG_FUNCTION_ARGS)
{
	text	   *args = PG_GETARG_TEXT_PP(5);
	int32		timeout_ms = PG_GETARG_INT32(6);
	int			args_len = VARSIZE_ANY_EXHDR(args);
	DurableQuerySlot *slot = NULL;
	uint64		query_id = 0;
	TimestampTz deadline;
	text	   *answer = NULL;
	bool		is_error = false;
	bool		answered = false;
	bool		taken = false;
	char		task_queue[DURABLE_NAME_MAX];

	if (args_len > DURABLE_QUERY_PAYLOAD_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("query arguments are too large"),
				 errdetail("They have %d bytes; the limit is %d.", args_len, DURABLE_QUERY_PAYLOAD_MAX)));
	if (timeout_ms <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("query timeout must be positive")));
	copy_name(task_queue, PG_GETARG_TEXT_PP(0), "task queue name");

	LWLockAcquire(durable_shared->query_lock, LW_EXCLUSIVE);
	for (int i = 0; i < DURABLE_QUERY_SLOTS; i++)
		if (durable_shared->slots[i].state == QUERY_FREE)
		{
			slot = &durable_shared->slots[i];
			break;
		}
	if (slot == NULL)
	{
		LWLockRelease(durable_shared->query_lock);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("too many queries in flight"),
				 errdetail("All %d query slots are waiting for workers.", DURABLE_QUERY_SLOTS),
				 errhint("Retry the query later.")));
	}
	query_id = durable_shared->next_query_id++;
	slot->query_id = query_id;
	strlcpy(slot->task_queue, task_queue, DURABLE_NAME_MAX);
	copy_name(slot->namespace_name, PG_GETARG_TEXT_PP(1), "namespace");
	copy_name(slot->workflow_id, PG_GETARG_TEXT_PP(2), "workflow id");
	copy_name(slot->run_id, PG_GETARG_TEXT_PP(3), "run id");
	copy_name(slot->query_type, PG_GETARG_TEXT_PP(4), "query type");
	memcpy(slot->args, VARDATA_ANY(args), args_len);
	slot->args_len = args_len;
	slot->answer_len = 0;
	slot->answer_is_error = false;
	slot->state = QUERY_PENDING;
	LWLockRelease(durable_shared->query_lock);
	ConditionVariableBroadcast(&durable_shared->query_posted);

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	PG_TRY();
	{
		ConditionVariablePrepareToSleep(&durable_shared->query_answered);
		for (;;)
		{
			long		left;

			bool		reoffer = false;

			LWLockAcquire(durable_shared->query_lock, LW_EXCLUSIVE);
			slot = find_slot(query_id);
			taken = slot->state == QUERY_TAKEN;
			if (taken && BackendPidGetProc(slot->taker_pid) == NULL)
			{
				/* the worker's backend died holding the query: offer it again */
				slot->state = QUERY_PENDING;
				slot->taker_pid = 0;
				memset(slot->taker_token, 0, sizeof(slot->taker_token));
				taken = false;
				reoffer = true;
			}
			if (slot->state == QUERY_ANSWERED)
			{
				answered = true;
				is_error = slot->answer_is_error;
				answer = cstring_to_text_with_len(slot->answer, slot->answer_len);
			}
			LWLockRelease(durable_shared->query_lock);
			if (reoffer)
				ConditionVariableBroadcast(&durable_shared->query_posted);
			if (answered)
				break;
			left = ms_left(deadline);
			if (left == 0)
				break;
			ConditionVariableTimedSleep(&durable_shared->query_answered,
										Min(left, TAKER_CHECK_MS), PG_WAIT_EXTENSION);
			CHECK_FOR_INTERRUPTS();
		}
		ConditionVariableCancelSleep();
	}
	PG_FINALLY();
	{
		release_slot(query_id);
	}
	PG_END_TRY();

	if (!answered)
		ereport(ERROR,
				(errcode(ERRCODE_DURABLE_QUERY_TIMEOUT),
				 errmsg("query timed out after %d ms", timeout_ms),
				 taken ? errdetail("A worker took the query but did not answer in time.")
				 : errdetail("No worker polling task queue \"%s\" took the query.", task_queue),
				 errhint("Check that a worker is running for task queue \"%s\".", task_queue)));
	if (is_error)
		ereport(ERROR,
				(errcode(ERRCODE_DURABLE_QUERY_FAILED),
				 errmsg("query failed in the worker"),
				 errdetail("%s", text_to_cstring(answer))));
	PG_RETURN_TEXT_P(answer);
}

/* "q" and the token in lower-case hex (hex_encode, as encode(..., 'hex')) */
static void
token_to_text(const uint8 *token, char *out)
{
	out[0] = QUERY_TOKEN_PREFIX;
	(void) hex_encode((const char *) token, DURABLE_QUERY_TOKEN_BYTES, out + 1);
	out[QUERY_TOKEN_LEN] = '\0';
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parses "q<32 lower-case hex digits>"; false when the text is not one. */
static bool
token_from_text(text *t, uint8 *token)
{
	const char *s = VARDATA_ANY(t);

	if (VARSIZE_ANY_EXHDR(t) != QUERY_TOKEN_LEN || s[0] != QUERY_TOKEN_PREFIX)
		return false;
	for (int i = 0; i < DURABLE_QUERY_TOKEN_BYTES; i++)
	{
		int			hi = hex_value(s[1 + 2 * i]);
		int			lo = hex_value(s[2 + 2 * i]);

		if (hi < 0 || lo < 0)
			return false;
		token[i] = (uint8) (hi << 4 | lo);
	}
	return true;
}

/*
 * Calls look(arg) until it says it is done or the deadline passes, sleeping
 * on query_posted between looks; returns what the last look said. A look
 * runs before any sleep, and again after the sleep is prepared (a post may
 * have raced the prepare), so a query posted at any moment is seen.
 * Shared by the long poll (take_queries) and by durable.wait_for_query_tasks
 * (query_wait.c), which waits here holding no snapshot.
 */
bool
DurableAwaitPosted(bool (*look) (void *arg), void *arg, TimestampTz deadline)
{
	bool		sleeping = false;
	bool		done;

	for (;;)
	{
		long		left;

		done = look(arg);
		if (done)
			break;
		left = ms_left(deadline);
		if (left == 0)
			break;
		if (!sleeping)
		{
			ConditionVariablePrepareToSleep(&durable_shared->query_posted);
			sleeping = true;
			continue;
		}
		/*
		 * Only a post or the deadline wakes the sleep, and the looks are
		 * where a client that went away is noticed: a backend whose client
		 * is gone would sit out wait_ms (up to ten minutes), holding its
		 * connection slot. So with a client it looks again at least every
		 * TAKER_CHECK_MS.
		 */
		if (whereToSendOutput == DestRemote)
			left = Min(left, TAKER_CHECK_MS);
		ConditionVariableTimedSleep(&durable_shared->query_posted, left, PG_WAIT_EXTENSION);
		CHECK_FOR_INTERRUPTS();
	}
	if (sleeping)
		ConditionVariableCancelSleep();
	return done;
}

/*
 * Copies a _query_queue key into a slot-sized buffer, refusing one too long
 * as the poll and the post refuse it (54000), for durable.wait_for_query_tasks.
 */
void
DurableQueryKey(char *dst, text *key)
{
	copy_name(dst, key, "task queue name");
}

/* Whether a query of task_queue (a _query_queue key) waits for a worker. */
bool
DurableQueryPending(const char *task_queue)
{
	bool		pending = false;

	LWLockAcquire(durable_shared->query_lock, LW_SHARED);
	for (int i = 0; i < DURABLE_QUERY_SLOTS && !pending; i++)
		pending = durable_shared->slots[i].state == QUERY_PENDING &&
			strcmp(durable_shared->slots[i].task_queue, task_queue) == 0;
	LWLockRelease(durable_shared->query_lock);
	return pending;
}

typedef struct TakeState
{
	ReturnSetInfo *rsinfo;
	const char *task_queue;
	int32		max;
	bool		fenced;
	int			found;
} TakeState;

/* One look of the long poll: takes what is pending; done when it took any. */
static bool
take_pending(void *arg)
{
	TakeState  *ts = arg;

	/* a long poll whose client went away must not take queries */
	if (whereToSendOutput == DestRemote && !pq_check_connection())
		return true;
	LWLockAcquire(durable_shared->query_lock, LW_EXCLUSIVE);
	for (int i = 0; i < DURABLE_QUERY_SLOTS && ts->found < ts->max; i++)
	{
		DurableQuerySlot *slot = &durable_shared->slots[i];
		Datum		values[6];
		bool		nulls[6] = {0};
		char		token[QUERY_TOKEN_LEN + 1];

		if (slot->state != QUERY_PENDING || strcmp(slot->task_queue, ts->task_queue) != 0)
			continue;
		if (!pg_strong_random(slot->taker_token, sizeof(slot->taker_token)))
		{
			LWLockRelease(durable_shared->query_lock);
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate a random query token")));
		}
		slot->state = QUERY_TAKEN;
		slot->taker_pid = MyProcPid;
		token_to_text(slot->taker_token, token);
		values[0] = ts->fenced ? CStringGetTextDatum(token) : Int64GetDatum((int64) slot->query_id);
		values[1] = CStringGetTextDatum(slot->namespace_name);
		values[2] = CStringGetTextDatum(slot->workflow_id);
		values[3] = CStringGetTextDatum(slot->run_id);
		values[4] = CStringGetTextDatum(slot->query_type);
		values[5] = PointerGetDatum(cstring_to_text_with_len(slot->args, slot->args_len));
		tuplestore_putvalues(ts->rsinfo->setResult, ts->rsinfo->setDesc, values, nulls);
		ts->found++;
	}
	LWLockRelease(durable_shared->query_lock);
	return ts->found > 0;
}

/*
 * Takes up to max pending queries of a task queue, waiting up to wait_ms
 * for the first. Each taken slot gets a fresh token; fenced callers (0.2)
 * get it as the first column, 0.1 callers get the query id. The wait runs
 * inside the caller's statement, so its snapshot holds the xmin horizon
 * back meanwhile: a worker waits with durable.wait_for_query_tasks instead.
 */
static Datum
take_queries(FunctionCallInfo fcinfo, bool fenced)
{
	int32		wait_ms = PG_GETARG_INT32(2);
	char		task_queue[DURABLE_NAME_MAX];
	TakeState	ts = {(ReturnSetInfo *) fcinfo->resultinfo, task_queue, PG_GETARG_INT32(1), fenced, 0};

	copy_name(task_queue, PG_GETARG_TEXT_PP(0), "task queue name");
	if (ts.max <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_tasks must be positive")));
	InitMaterializedSRF(fcinfo, 0);
	(void) DurableAwaitPosted(take_pending, &ts,
							  TimestampTzPlusMilliseconds(GetCurrentTimestamp(), Max(wait_ms, 0)));
	return (Datum) 0;
}

/*
 * 0.1: durable._query_take(task_queue, max, wait_ms) returns setof
 *   (query_id bigint, namespace text, workflow_id text, run_id text,
 *    query_type text, args text)
 */
Datum
durable_query_take(PG_FUNCTION_ARGS)
{
	return take_queries(fcinfo, false);
}

/*
 * 0.2: durable._query_take(task_queue, max, wait_ms) returns setof
 *   (query_token text, namespace text, workflow_id text, run_id text,
 *    query_type text, args text)
 */
Datum
durable_query_take_0_2(PG_FUNCTION_ARGS)
{
	return take_queries(fcinfo, true);
}

static void
check_answer_size(text *answer)
{
	int			len = VARSIZE_ANY_EXHDR(answer);

	if (len > DURABLE_QUERY_PAYLOAD_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("query answer is too large"),
				 errdetail("It has %d bytes; the limit is %d.", len, DURABLE_QUERY_PAYLOAD_MAX)));
}

/* Writes the answer into a slot; the caller holds query_lock. */
static void
fill_answer(DurableQuerySlot *slot, text *answer, bool is_error)
{
	int			len = VARSIZE_ANY_EXHDR(answer);

	memcpy(slot->answer, VARDATA_ANY(answer), len);
	slot->answer_len = len;
	slot->answer_is_error = is_error;
	slot->state = QUERY_ANSWERED;
}

/*
 * 0.1: durable._query_answer(query_id, answer, is_error) returns boolean:
 * false when nobody waits for that query any more (it timed out).
 */
Datum
durable_query_answer(PG_FUNCTION_ARGS)
{
	uint64		query_id = (uint64) PG_GETARG_INT64(0);
	text	   *answer = PG_GETARG_TEXT_PP(1);
	bool		is_error = PG_GETARG_BOOL(2);
	DurableQuerySlot *slot;
	bool		delivered = false;

	check_answer_size(answer);
	LWLockAcquire(durable_shared->query_lock, LW_EXCLUSIVE);
	slot = find_slot(query_id);
	if (slot && (slot->state == QUERY_TAKEN || slot->state == QUERY_PENDING))
	{
		fill_answer(slot, answer, is_error);
		delivered = true;
	}
	LWLockRelease(durable_shared->query_lock);
	if (delivered)
		ConditionVariableBroadcast(&durable_shared->query_answered);
	PG_RETURN_BOOL(delivered);
}

/*
 * 0.2: durable._query_answer(query_token, answer, is_error) returns boolean:
 * true when the token is the one handed out with the query that still waits
 * for it; false for any other well-formed token (guessed, replayed after the
 * answer, or from a taker whose query was offered again), which changes
 * nothing and which the asker never sees.
 */
Datum
durable_query_answer_0_2(PG_FUNCTION_ARGS)
{
	text	   *token_text = PG_GETARG_TEXT_PP(0);
	text	   *answer = PG_GETARG_TEXT_PP(1);
	bool		is_error = PG_GETARG_BOOL(2);
	uint8		token[DURABLE_QUERY_TOKEN_BYTES];
	bool		delivered = false;

	if (!token_from_text(token_text, token))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("malformed query token"),
				 errdetail("A query token is \"q\" followed by %d lower-case hex digits.",
						   2 * DURABLE_QUERY_TOKEN_BYTES),
				 errhint("Pass the query_token that poll_query_tasks returned.")));
	check_answer_size(answer);
	LWLockAcquire(durable_shared->query_lock, LW_EXCLUSIVE);
	for (int i = 0; i < DURABLE_QUERY_SLOTS; i++)
	{
		DurableQuerySlot *slot = &durable_shared->slots[i];

		if (slot->state == QUERY_TAKEN &&
			memcmp(slot->taker_token, token, DURABLE_QUERY_TOKEN_BYTES) == 0)
		{
			fill_answer(slot, answer, is_error);
			delivered = true;
			break;
		}
	}
	LWLockRelease(durable_shared->query_lock);
	if (delivered)
		ConditionVariableBroadcast(&durable_shared->query_answered);
	PG_RETURN_BOOL(delivered);
}
