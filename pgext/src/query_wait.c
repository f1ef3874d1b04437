/*
 * query_wait.c: a worker waits for queries holding no snapshot.
 *
 * poll_query_tasks(..., wait_ms) waits inside its SELECT, and a statement
 * keeps its snapshot to the end: for the whole wait the backend's xmin
 * holds back the horizon of every table in the database. A worker that
 * long-polls back to back holds it back all the time, so VACUUM and HOT
 * pruning lag, and the dead index entries of leased and deleted tasks
 * cannot be killed: every walk over a queue's head crosses them.
 *
 * durable.wait_for_query_tasks is a procedure instead. CALLed on its own
 * (non-atomic), it checks its arguments and the caller's grant in the
 * CALL's transaction, commits (SPI_commit releases the portal's snapshot;
 * the transaction it starts takes none until asked), and only then sleeps
 * on query_posted, reading nothing but shared memory. It says whether a
 * query waits; the worker then takes it with poll_query_tasks(..., 0).
 *
 * A procedure that can commit may be neither SECURITY DEFINER nor carry
 * SET options (ExecuteCallStmt makes those atomic), so this one runs as
 * its caller and calls durable._query_wait_key, which is SECURITY DEFINER
 * with a pinned search_path, for the checks and the queue's key. It calls
 * it through fmgr, as internal helpers are called: the procedure's own
 * EXECUTE grant is the gate, and no role gets one on the helper. The name
 * is looked up schema-qualified with its argument types, so the caller's
 * search_path resolves nothing here.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_wait_for_query_tasks);

#define WAIT_KEY_NARGS 4

/* durable._query_wait_key(text, integer, text, text): the checks and the queue's key */
static DurableFunction wait_key_fn = {"_query_wait_key", WAIT_KEY_NARGS, {TEXTOID, INT4OID, TEXTOID, TEXTOID}};

typedef struct WaitState
{
	const char *task_queue;
	bool		pending;
} WaitState;

/* One look: done when a query waits, or when nobody is left to tell. */
static bool
look_pending(void *arg)
{
	WaitState  *ws = arg;

	if (whereToSendOutput == DestRemote && !pq_check_connection())
		return true;
	ws->pending = DurableQueryPending(ws->task_queue);
	return ws->pending;
}

/*
 * CALL durable.wait_for_query_tasks(task_queue, wait_ms, namespace,
 *                                   build_id, INOUT ready boolean)
 */
Datum
durable_wait_for_query_tasks(PG_FUNCTION_ARGS)
{
	bool		nonatomic = fcinfo->context && IsA(fcinfo->context, CallContext) &&
		!castNode(CallContext, fcinfo->context)->atomic;
	LOCAL_FCINFO(keyinfo, WAIT_KEY_NARGS);
	FmgrInfo	keyflinfo;
	char		key[DURABLE_NAME_MAX];
	WaitState	ws = {key, false};
	TimestampTz deadline;
	TupleDesc	tupdesc;
	Datum		ready;
	bool		ready_null = false;
	Datum		key_datum;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "durable.wait_for_query_tasks must return a row");

	/* bad input and a missing grant are refused first, however it is called */
	fmgr_info(DurableFunctionOid(&wait_key_fn, false), &keyflinfo);
	InitFunctionCallInfoData(*keyinfo, &keyflinfo, WAIT_KEY_NARGS, PG_GET_COLLATION(), NULL, NULL);
	for (int i = 0; i < WAIT_KEY_NARGS; i++)
		keyinfo->args[i] = fcinfo->args[i];
	key_datum = FunctionCallInvoke(keyinfo);
	if (keyinfo->isnull)
		elog(ERROR, "durable._query_wait_key gave no key");
	DurableQueryKey(key, DatumGetTextPP(key_datum));

	if (!nonatomic)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("durable.wait_for_query_tasks must be called on its own, outside a transaction block"),
				 errdetail("It commits before it waits, so that it holds no snapshot while it waits."),
				 errhint("CALL it in autocommit mode, not after BEGIN nor from a function; "
						 "inside a transaction, use poll_query_tasks(..., wait_ms => 0).")));

	/*
	 * A CALL from a DO block or a procedure, or one in a libpq pipeline, is
	 * non-atomic too, and its commit would commit what the caller wrote
	 * before it, which the caller may yet mean to roll back. Its commit is
	 * only to drop the CALL's own snapshot: refused where it would be more.
	 */
	if (TransactionIdIsValid(GetTopTransactionIdIfAny()))
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("durable.wait_for_query_tasks must be called on its own, outside a transaction block"),
				 errdetail("Its transaction has written: the commit before the wait would commit that too."),
				 errhint("CALL it in autocommit mode, not after BEGIN nor from a function; "
						 "inside a transaction, use poll_query_tasks(..., wait_ms => 0).")));

	/* from here on this backend holds no snapshot: shared memory only */
	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect_ext failed");
	SPI_commit();
	SPI_finish();
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), PG_GETARG_INT32(1));
	(void) DurableAwaitPosted(look_pending, &ws, deadline);

	ready = BoolGetDatum(ws.pending);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), &ready, &ready_null)));
}
