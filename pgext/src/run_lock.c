/*
 * run_lock.c: durable._lock_run(run), the run's row locked as
 *     SELECT 1 FROM durable.workflows w WHERE w.run_id = run FOR UPDATE
 * locks it, without the executor: one probe of the primary key and
 * table_tuple_lock, as nodeLockRows.c does it.
 *
 * The run's lock is the mutex of everything that changes a run; each
 * workflow task completion (_lock_workflow_task) and each activity result
 * (_complete_activity_result) took it with that statement, an executor
 * start and end around one probe (docs/performance.md, "The close, session
 * 9"). Here, as the statement in READ COMMITTED: the row visible to the
 * caller's snapshot, locked in its latest version (waiting for a
 * transaction that holds it, then following an update); a row deleted
 * meanwhile is not locked and not found. Under REPEATABLE READ and
 * SERIALIZABLE a row updated or deleted since the snapshot is the
 * statement's serialization failure. The statement itself runs where the
 * direct lock would not do what it does: row security on the table, a role
 * without SELECT and UPDATE on it, an ExecutorCheckPerms_hook, no primary
 * key on run_id alone.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_lock_run);

static const char *lock_sql = "SELECT 1 FROM durable.workflows w WHERE w.run_id = $1 FOR UPDATE";
static SPIPlanPtr lock_plan;

/* the table and its primary key, the index the lock reads */
static DurableLookup workflows;
static const DurablePrimaryKey workflows_key = {"workflows", "run_id", UUIDOID};

/* The statement's lock: whether it found the row. */
static bool
lock_by_statement(Datum run)
{
	Oid			type = UUIDOID;

	return DurableRunStatement(&lock_plan, lock_sql, 1, &type, &run, NULL, false, 0, SPI_OK_SELECT, NULL, NULL) > 0;
}

/* durable._lock_run(run uuid) RETURNS boolean, STRICT: whether the run's row was found and locked. */
Datum
durable_lock_run(PG_FUNCTION_ARGS)
{
	Datum		run = PG_GETARG_DATUM(0);
	Relation	rel;
	Relation	index;
	TupleTableSlot *slot;
	Snapshot	snapshot = GetActiveSnapshot();
	ItemPointerData tid;
	TM_Result	result;
	TM_FailureData tmfd;
	bool		found;

	/* (no primary key on run_id alone to probe: the statement) */
	rel = DurableOpenLookup(&workflows, RowShareLock, DurableFillPrimaryKey, &workflows_key);
	if (rel == NULL)
		PG_RETURN_BOOL(lock_by_statement(run));
	if (rel->rd_rel->relrowsecurity || ExecutorCheckPerms_hook != NULL ||
		pg_class_aclmask(workflows.heap, GetUserId(), ACL_SELECT | ACL_UPDATE, ACLMASK_ALL) !=
		(ACL_SELECT | ACL_UPDATE))
	{
		table_close(rel, NoLock);
		PG_RETURN_BOOL(lock_by_statement(run));
	}
	/* what the executor refuses for a statement with FOR UPDATE */
	PreventCommandIfReadOnly("SELECT FOR UPDATE");
	PreventCommandIfParallelMode("SELECT FOR UPDATE");

	index = index_open(workflows.index, AccessShareLock);
	slot = table_slot_create(rel, NULL);
	found = DurableProbeIndex(rel, index, F_UUID_EQ, run, snapshot, slot);
	if (found)
		tid = slot->tts_tid;
	index_close(index, NoLock);
	if (found)
	{
		/* (nodeLockRows.c's flags: the latest version in READ COMMITTED, the snapshot's otherwise) */
		result = table_tuple_lock(rel, &tid, snapshot, slot, GetCurrentCommandId(true), LockTupleExclusive,
								  LockWaitBlock,
								  TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS |
								  (IsolationUsesXactSnapshot() ? 0 : TUPLE_LOCK_FLAG_FIND_LAST_VERSION), &tmfd);
		switch (result)
		{
			case TM_Ok:
				break;
			case TM_SelfModified:
				/* (changed by this very command: nothing of durable's does that) */
				found = false;
				break;
			case TM_Updated:
				if (IsolationUsesXactSnapshot())
					ereport(ERROR,
							(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
							 errmsg("could not serialize access due to concurrent update")));
				elog(ERROR, "unexpected table_tuple_lock status: %u", result);
				break;
			case TM_Deleted:
				/* (nodeLockRows.c's words, "update", for a deleted row too) */
				if (IsolationUsesXactSnapshot())
					ereport(ERROR,
							(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
							 errmsg("could not serialize access due to concurrent update")));
				found = false;	/* gone: not locked, as the statement finds nothing */
				break;
			default:
				elog(ERROR, "unrecognized table_tuple_lock status: %u", result);
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	/* the lock on the table stays to the transaction's end, as the statement's */
	table_close(rel, NoLock);
	PG_RETURN_BOOL(found);
}
