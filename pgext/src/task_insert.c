/*
 * task_insert.c: durable._insert_workflow_task, the insert of the workflow
 * task that _schedule_workflow_task makes (twice per one-activity workflow:
 * at its start and when its activity's outcome comes).
 *
 * As an INSERT statement inside plpgsql, one row cost about 24 µs of CPU,
 * half of it the placing trigger (api/41_priority.sql) and most of the rest
 * the executor set up and torn down around one row: the table's CHECK read
 * from its stored text and planned again, the partial indexes' predicates
 * planned again, the trigger called through fmgr with its own snapshot
 * (docs/performance.md, "Task rows"). So, as history_append.c does for
 * events, the row is written with the heap and index APIs: the trigger's
 * placing done here (ready_pass.c's DurablePlaceWorkflowTask), the task id
 * from the column's sequence, heap_insert, then every index's entry with
 * the executor's unique check.
 *
 * What the statement does beyond that is read once per change of the
 * table (a relcache invalidation of it, or any change of a function) and
 * kept: the columns' defaults, which must be constants (the task id's the
 * sequence's nextval); the CHECKs and the indexes' predicates, which must
 * read only columns this insert always gives the same value (the state
 * 'SCHEDULED', and the columns it leaves to their defaults), and are
 * evaluated once on those values. The row then passes the same CHECKs and
 * gets the same index entries as the statement's would. Anything else an
 * operator may add sends the task through the INSERT statement, which does
 * it all, as before: another insert trigger, a changed or disabled placing
 * trigger or one whose function is not durable's C function, a rule, row
 * security, a CHECK or partial index on a column that varies, an index on
 * an expression, an exclusion or deferred unique constraint, a column of
 * the operator's, a partition, an ExecutorCheckPerms_hook (sepgsql,
 * pgaudit), a role without INSERT on the table, session_replication_role =
 * replica (where the trigger does not fire), and a null argument (the
 * statement's own error).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/heap.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_language_d.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger_d.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_func.h"
#include "rewrite/rewriteHandler.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_insert_workflow_task);

/* workflow_tasks's columns, as schema/01_tables.sql makes them */
enum
{
	C_TASK_ID, C_RUN_ID, C_NAMESPACE, C_TASK_QUEUE, C_STATE, C_ATTEMPT, C_SCHEDULED_EVENT_ID,
	C_STARTED_EVENT_ID, C_FENCE, C_IDENTITY, C_SCHEDULED_AT, C_STARTED_AT, C_TIMEOUT_AT,
	C_LAST_FAILURE, C_PRIORITY, C_FAIRNESS_KEY, C_PASS, C_BUILD_ID, N_COLUMNS
};

/*
 * given: the INSERT names it (the rest take their defaults); varies: its
 * value differs from one call to the next (the trigger sets the priority,
 * key and pass)
 */
static const struct
{
	const char *name;
	Oid			type;
	bool		given;
	bool		varies;
}			columns[N_COLUMNS] = {
	{"task_id", INT8OID, false, true},
	{"run_id", UUIDOID, true, true},
	{"namespace", TEXTOID, true, true},
	{"task_queue", TEXTOID, true, true},
	{"state", TEXTOID, true, false},
	{"attempt", INT4OID, true, true},
	{"scheduled_event_id", INT8OID, true, true},
	{"started_event_id", INT8OID, false, false},
	{"fence", INT8OID, false, false},
	{"identity", TEXTOID, false, false},
	{"scheduled_at", TIMESTAMPTZOID, true, true},
	{"started_at", TIMESTAMPTZOID, false, false},
	{"timeout_at", TIMESTAMPTZOID, false, false},
	{"last_failure", JSONBOID, false, false},
	{"priority", INT2OID, false, true},
	{"fairness_key", TEXTOID, false, true},
	{"pass", FLOAT8OID, false, true},
	{"build_id", TEXTOID, false, false},
};

#define INSERT_SQL \
	"INSERT INTO durable.workflow_tasks (run_id, namespace, task_queue, state, attempt, " \
	"                                    scheduled_event_id, scheduled_at) " \
	"VALUES ($1, $2, $3, 'SCHEDULED', $4, $5, $6) RETURNING task_id"

#define MAX_TASK_INDEXES 16

/* What an insert into the table needs, read once per change of it. */
typedef struct TaskTableShape
{
	bool		valid;			/* read since the table or a function last changed */
	Oid			relid;
	bool		plain;			/* the direct insert does what the statement would */
	AttrNumber	att[N_COLUMNS];
	Datum		fixed[N_COLUMNS];	/* the state, and the defaults (not the task id's) */
	bool		fixed_null[N_COLUMNS];
	Oid			sequence;		/* the task id's */
	int			nindexes;
	Oid			indexes[MAX_TASK_INDEXES];
	bool		has_entry[MAX_TASK_INDEXES];	/* its predicate holds for the row (or it has none) */
	MemoryContext cxt;			/* the fixed values */
} TaskTableShape;

static TaskTableShape shape;
static bool callbacks_registered;
static uint64 invalidations;	/* of the table or of any function, counted */

static void
forget_shape_of_relation(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == shape.relid)
	{
		shape.valid = false;
		invalidations++;
	}
}

/* (a function replaced: the placing trigger's may no longer be durable's C function) */
static void
forget_shape(Datum arg, int cacheid, uint32 hashvalue)
{
	shape.valid = false;
	invalidations++;
}

/* Whether the trigger is durable's placing trigger as api/41_priority.sql makes it. */
static bool
is_placing_trigger(const Trigger *trigger)
{
	Oid			argtypes[1];
	Oid			function = LookupFuncName(list_make2(makeString("durable"), makeString("_workflow_task_pass")),
										  0, argtypes, true);
	HeapTuple	proc;
	bool		ours = false;

	if (!OidIsValid(function) || trigger->tgfoid != function || !TRIGGER_FOR_ROW(trigger->tgtype) ||
		!TRIGGER_FOR_BEFORE(trigger->tgtype) || trigger->tgnargs != 0 || trigger->tgqual != NULL ||
		trigger->tgenabled != TRIGGER_FIRES_ON_ORIGIN || trigger->tgnewtable != NULL)
		return false;
	proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(function));
	if (HeapTupleIsValid(proc))
	{
		bool		isnull;
		Datum		src = SysCacheGetAttr(PROCOID, proc, Anum_pg_proc_prosrc, &isnull);
		Datum		bin;
		bool		bin_null;

		bin = SysCacheGetAttr(PROCOID, proc, Anum_pg_proc_probin, &bin_null);
		ours = ((Form_pg_proc) GETSTRUCT(proc))->prolang == ClanguageId && !isnull && !bin_null &&
			strcmp(TextDatumGetCString(src), "durable_workflow_task_pass") == 0 &&
			strcmp(TextDatumGetCString(bin), "$libdir/durable") == 0;
		ReleaseSysCache(proc);
	}
	return ours;
}

/* Whether expr reads a column whose value varies from one insert to the next. */
static bool
reads_varying(TaskTableShape *s, Node *expr)
{
	Bitmapset  *read = NULL;

	pull_varattnos(expr, 1, &read);
	if (bms_is_member(InvalidAttrNumber - FirstLowInvalidHeapAttributeNumber, read))
		return true;			/* a whole-row reference */
	for (int c = 0; c < N_COLUMNS; c++)
		if (columns[c].varies && bms_is_member(s->att[c] - FirstLowInvalidHeapAttributeNumber, read))
			return true;
	return false;
}

/*
 * expr (a CHECK's, or an index predicate's implicit-AND list) on a row of
 * the fixed values: as ExecCheck (null passes) or ExecQual (null fails).
 */
static bool
holds_for_fixed_row(Relation rel, TaskTableShape *s, Node *expr, bool is_check)
{
	EState	   *estate = CreateExecutorState();
	ExprContext *econtext = GetPerTupleExprContext(estate);
	TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsVirtual);
	bool		holds;

	ExecClearTuple(slot);
	for (int i = 0; i < RelationGetDescr(rel)->natts; i++)
	{
		slot->tts_values[i] = (Datum) 0;
		slot->tts_isnull[i] = true;
	}
	for (int c = 0; c < N_COLUMNS; c++)
		if (!columns[c].varies)
		{
			slot->tts_values[s->att[c] - 1] = s->fixed[c];
			slot->tts_isnull[s->att[c] - 1] = s->fixed_null[c];
		}
	ExecStoreVirtualTuple(slot);
	econtext->ecxt_scantuple = slot;
	if (is_check)
		holds = ExecCheck(ExecPrepareExpr((Expr *) expr, estate), econtext);
	else
		holds = ExecQual(ExecPrepareQual((List *) expr, estate), econtext);
	FreeExecutorState(estate);
	ExecDropSingleTupleTableSlot(slot);
	return holds;
}

/* The columns by name: durable's, of the right types, and no other live one. */
static bool
read_columns(Relation rel, TaskTableShape *s)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int c = 0; c < N_COLUMNS; c++)
		s->att[c] = InvalidAttrNumber;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		int			c;

		if (att->attisdropped)
			continue;
		for (c = 0; c < N_COLUMNS; c++)
			if (strcmp(NameStr(att->attname), columns[c].name) == 0)
				break;
		if (c == N_COLUMNS || att->atttypid != columns[c].type || att->attidentity || att->attgenerated)
			return false;
		s->att[c] = att->attnum;
	}
	for (int c = 0; c < N_COLUMNS; c++)
		if (s->att[c] == InvalidAttrNumber)
			return false;
	return true;
}

/* The defaults of the columns the INSERT leaves out: constants, and the task id's sequence. */
static bool
read_defaults(Relation rel, TaskTableShape *s)
{
	for (int c = 0; c < N_COLUMNS; c++)
	{
		Node	   *expr;

		s->fixed[c] = (Datum) 0;
		s->fixed_null[c] = true;
		if (columns[c].given)
			continue;
		expr = build_column_default(rel, s->att[c]);
		if (c == C_TASK_ID)
		{
			FuncExpr   *call = (FuncExpr *) expr;
			Const	   *seq;

			if (expr == NULL || !IsA(expr, FuncExpr) || call->funcid != F_NEXTVAL ||
				list_length(call->args) != 1 || !IsA(linitial(call->args), Const))
				return false;
			seq = linitial(call->args);
			if (seq->constisnull || seq->consttype != REGCLASSOID)
				return false;
			s->sequence = DatumGetObjectId(seq->constvalue);
			continue;
		}
		if (expr == NULL)
			continue;
		expr = (Node *) expression_planner((Expr *) expr);
		if (!IsA(expr, Const))
			return false;
		s->fixed_null[c] = ((Const *) expr)->constisnull;
		if (!s->fixed_null[c])
		{
			MemoryContext old = MemoryContextSwitchTo(s->cxt);

			s->fixed[c] = datumCopy(((Const *) expr)->constvalue, ((Const *) expr)->constbyval,
									((Const *) expr)->constlen);
			MemoryContextSwitchTo(old);
		}
	}
	{
		MemoryContext old = MemoryContextSwitchTo(s->cxt);

		s->fixed[C_STATE] = PointerGetDatum(cstring_to_text("SCHEDULED"));
		s->fixed_null[C_STATE] = false;
		MemoryContextSwitchTo(old);
	}
	for (int c = 0; c < N_COLUMNS; c++)
		if (!columns[c].varies && s->fixed_null[c] && TupleDescAttr(RelationGetDescr(rel), s->att[c] - 1)->attnotnull)
			return false;		/* the statement refuses every row */
	return true;
}

/* The indexes: plain columns, immediate; a predicate only on fixed columns, evaluated here. */
static bool
read_indexes(Relation rel, TaskTableShape *s)
{
	List	   *list = RelationGetIndexList(rel);
	ListCell   *lc;
	bool		plain = list_length(list) <= MAX_TASK_INDEXES;

	s->nindexes = 0;
	foreach(lc, list)
	{
		Relation	index;
		IndexInfo  *info;

		if (!plain)
			break;
		index = index_open(lfirst_oid(lc), AccessShareLock);
		info = BuildIndexInfo(index);
		if (info->ii_Expressions != NIL || info->ii_ExclusionOps != NULL ||
			(info->ii_Unique && !index->rd_index->indimmediate) ||
			(info->ii_Predicate != NIL && reads_varying(s, (Node *) info->ii_Predicate)))
			plain = false;
		else
		{
			s->indexes[s->nindexes] = RelationGetRelid(index);
			s->has_entry[s->nindexes] = info->ii_Predicate == NIL ||
				holds_for_fixed_row(rel, s, (Node *) info->ii_Predicate, false);
			s->nindexes++;
		}
		index_close(index, AccessShareLock);
	}
	list_free(list);
	return plain;
}

/* Whether the direct insert does what the INSERT statement would, on rel as it is now. */
static bool
read_shape(Relation rel, TaskTableShape *s)
{
	TriggerDesc *trig = rel->trigdesc;
	TupleConstr *constr = RelationGetDescr(rel)->constr;
	int			insert_triggers = 0;

	/* (a partition's bounds are a constraint the executor checks) */
	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relam != HEAP_TABLE_AM_OID ||
		rel->rd_rel->relispartition || rel->rd_rel->relrowsecurity || rel->rd_rules != NULL)
		return false;
	if (!read_columns(rel, s) || !read_defaults(rel, s))
		return false;
	/* exactly one insert trigger: durable's placing trigger */
	for (int i = 0; trig != NULL && i < trig->numtriggers; i++)
		if (TRIGGER_FOR_INSERT(trig->triggers[i].tgtype))
		{
			if (!is_placing_trigger(&trig->triggers[i]))
				return false;
			insert_triggers++;
		}
	if (insert_triggers != 1)
		return false;
	for (int i = 0; constr != NULL && i < constr->num_check; i++)
	{
		Node	   *check = stringToNode(constr->check[i].ccbin);

		if (reads_varying(s, check) || !holds_for_fixed_row(rel, s, check, true))
			return false;
	}
	return read_indexes(rel, s);
}

static TaskTableShape *
shape_of(Relation rel)
{
	uint64		before;

	if (shape.valid && shape.relid == RelationGetRelid(rel))
		return &shape;
	if (!callbacks_registered)
	{
		CacheRegisterRelcacheCallback(forget_shape_of_relation, (Datum) 0);
		CacheRegisterSyscacheCallback(PROCOID, forget_shape, (Datum) 0);
		callbacks_registered = true;
	}
	if (shape.cxt == NULL)
		shape.cxt = AllocSetContextCreate(CacheMemoryContext, "durable workflow_tasks shape", ALLOCSET_SMALL_SIZES);
	MemoryContextReset(shape.cxt);
	shape.valid = false;
	shape.relid = RelationGetRelid(rel);
	before = invalidations;
	shape.plain = read_shape(rel, &shape);
	/* (an invalidation that came while it was read leaves it to be read again next time) */
	shape.valid = invalidations == before;
	return &shape;
}

/* The task, written directly; false (nothing written) if the statement must write it. */
static bool
insert_direct(FunctionCallInfo fcinfo, int64 *task_id)
{
	Oid			schema = DurableNamespaceOid();
	Oid			relid = OidIsValid(schema) ? get_relname_relid("workflow_tasks", schema) : InvalidOid;
	Relation	rel;
	TaskTableShape *s;
	TupleDesc	desc;
	Datum	   *values;
	bool	   *nulls;
	Datum		placed[3];
	bool		placed_null[3];
	HeapTuple	tuple;

	if (!OidIsValid(relid))
		return false;
	for (int arg = 0; arg < 6; arg++)
		if (PG_ARGISNULL(arg) && arg != 4)
			return false;		/* the statement's own error */
	rel = table_open(relid, RowExclusiveLock);
	s = shape_of(rel);
	desc = RelationGetDescr(rel);
	/*
	 * (the trigger does not fire as a replica; an extension that checks or
	 * audits permissions in the executor's hook must see the statement)
	 */
	if (!s->plain || SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA ||
		ExecutorCheckPerms_hook != NULL ||
		pg_class_aclcheck(relid, GetUserId(), ACL_INSERT) != ACLCHECK_OK)
	{
		table_close(rel, NoLock);
		return false;
	}

	/* what the executor refuses before it writes anything */
	PreventCommandIfReadOnly("INSERT");
	PreventCommandIfParallelMode("INSERT");

	/* as SPI for a statement: a new snapshot, with the command counter advanced */
	PushActiveSnapshot(GetTransactionSnapshot());
	CommandCounterIncrement();
	UpdateActiveSnapshotCommandId();

	placed[0] = s->fixed[C_PRIORITY];
	placed_null[0] = s->fixed_null[C_PRIORITY];
	placed[1] = s->fixed[C_FAIRNESS_KEY];
	placed_null[1] = s->fixed_null[C_FAIRNESS_KEY];
	placed[2] = s->fixed[C_PASS];
	placed_null[2] = s->fixed_null[C_PASS];
	/* the trigger's test (ready_pass.c's needs_place) on the row as the defaults make it */
	if (!placed_null[2] && DatumGetFloat8(placed[2]) < 0)
	{
		DurablePlaceWorkflowTask(rel, PG_GETARG_DATUM(0), false, PG_GETARG_DATUM(1), false,
								 PG_GETARG_DATUM(2), false, GetActiveSnapshot(), placed, placed_null);
		if (placed_null[0] || placed_null[1])
		{
			/* no run: the statement refuses the null priority, as before */
			PopActiveSnapshot();
			table_close(rel, NoLock);
			return false;
		}
	}

	values = palloc(desc->natts * sizeof(Datum));
	nulls = palloc(desc->natts * sizeof(bool));
	for (int i = 0; i < desc->natts; i++)
	{
		values[i] = (Datum) 0;
		nulls[i] = true;
	}
	for (int c = 0; c < N_COLUMNS; c++)
	{
		values[s->att[c] - 1] = s->fixed[c];
		nulls[s->att[c] - 1] = s->fixed_null[c];
	}
#define SET(c, v, n) (values[s->att[c] - 1] = (v), nulls[s->att[c] - 1] = (n))
	SET(C_RUN_ID, PG_GETARG_DATUM(0), false);
	SET(C_NAMESPACE, PG_GETARG_DATUM(1), false);
	SET(C_TASK_QUEUE, PG_GETARG_DATUM(2), false);
	SET(C_ATTEMPT, PG_GETARG_DATUM(3), false);
	SET(C_SCHEDULED_EVENT_ID, PG_ARGISNULL(4) ? (Datum) 0 : PG_GETARG_DATUM(4), PG_ARGISNULL(4));
	SET(C_SCHEDULED_AT, PG_GETARG_DATUM(5), false);
	SET(C_PRIORITY, placed[0], placed_null[0]);
	SET(C_FAIRNESS_KEY, placed[1], placed_null[1]);
	SET(C_PASS, placed[2], placed_null[2]);
	for (int c = 0; c < N_COLUMNS; c++)
		if (nulls[s->att[c] - 1] && c != C_TASK_ID && TupleDescAttr(desc, s->att[c] - 1)->attnotnull)
		{
			/* the statement's not-null error (a null scheduled_event_id, a default dropped) */
			pfree(values);
			pfree(nulls);
			PopActiveSnapshot();
			table_close(rel, NoLock);
			return false;
		}
	/* the default's nextval, with its permission check */
	*task_id = nextval_internal(s->sequence, true);
	SET(C_TASK_ID, Int64GetDatum(*task_id), false);
#undef SET

	tuple = heap_form_tuple(desc, values, nulls);
	heap_insert(rel, tuple, GetCurrentCommandId(true), 0, NULL);
	for (int i = 0; i < s->nindexes; i++)
	{
		Relation	index;
		IndexInfo  *info;
		Datum		key_values[INDEX_MAX_KEYS];
		bool		key_nulls[INDEX_MAX_KEYS];

		if (!s->has_entry[i])
			continue;
		index = index_open(s->indexes[i], RowExclusiveLock);
		info = BuildIndexInfo(index);
		if (info->ii_ReadyForInserts)	/* as the executor: not an index being built */
		{
			for (int k = 0; k < info->ii_NumIndexAttrs; k++)
			{
				key_values[k] = values[info->ii_IndexAttrNumbers[k] - 1];
				key_nulls[k] = nulls[info->ii_IndexAttrNumbers[k] - 1];
			}
			index_insert(index, key_values, key_nulls, &tuple->t_self, rel,
						 index->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO, false, info);
		}
		/* the locks stay to the transaction's end, as the executor's */
		index_close(index, NoLock);
	}
	heap_freetuple(tuple);
	pfree(values);
	pfree(nulls);

	PopActiveSnapshot();
	CommandCounterIncrement();
	table_close(rel, NoLock);
	return true;
}

/* The task, by the INSERT statement (the fallback). */
static int64
insert_by_statement(FunctionCallInfo fcinfo)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[6] = {UUIDOID, TEXTOID, TEXTOID, INT4OID, INT8OID, TIMESTAMPTZOID};
	Datum		args[6];
	char		args_null[7] = "      ";
	bool		isnull;
	int64		task_id;

	for (int arg = 0; arg < 6; arg++)
	{
		args[arg] = PG_ARGISNULL(arg) ? (Datum) 0 : PG_GETARG_DATUM(arg);
		if (PG_ARGISNULL(arg))
			args_null[arg] = 'n';
	}
	SPI_connect();
	/* (run to its end, with no row limit: AFTER STATEMENT triggers fire at the end) */
	if (SPI_execute_plan(DurableKeptPlan(&plan, INSERT_SQL, 6, argtypes), args, args_null, false, 0) !=
		SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "could not insert a workflow task");
	task_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return task_id;
}

/*
 * durable._insert_workflow_task(run, namespace, task_queue, attempt,
 * scheduled_event_id, scheduled_at): a SCHEDULED workflow task, placed in
 * its queue as the trigger places it; returns its task id.
 */
Datum
durable_insert_workflow_task(PG_FUNCTION_ARGS)
{
	int64		task_id;

	if (!insert_direct(fcinfo, &task_id))
		task_id = insert_by_statement(fcinfo);
	PG_RETURN_INT64(task_id);
}
