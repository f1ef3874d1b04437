/*
 * ready_pass.c: where a task that becomes ready goes in its queue
 * (api/41_priority.sql): its pass is read from two probes of the task
 * table's ready indexes, its key's last ready task and the queue's head.
 *
 * The probes walk the indexes themselves instead of running SQL. A
 * statement's plan is kept for the session, and it was made from the
 * table's statistics: a queue table is often analyzed nearly empty (a
 * VACUUM ANALYZE of an idle store), and planned on those statistics each
 * probe was a sequential scan of the whole table, which a burst then kept:
 * every inserted task read all the tasks before it (20,000 activities
 * scheduled in one transaction took 50 s). An index walk costs a few pages
 * whatever the statistics say, and skips the interpreter around the two
 * statements, the insert of every task's most common trigger.
 *
 * The rows are read as the plpgsql triggers read them: a trigger's probes
 * see the tasks inserted before by the same statement (SPI advanced the
 * command counter and took a new snapshot for each of its statements), and
 * the SQL-callable functions read with their caller's snapshot.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "nodes/primnodes.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_activity_task_pass);
PG_FUNCTION_INFO_V1(durable_workflow_task_pass);
PG_FUNCTION_INFO_V1(durable_ready_pass);
PG_FUNCTION_INFO_V1(durable_task_pass);

#define MAX_KEYS 4

/*
 * An index walked by equality on its leading columns, then in the order of
 * the next one (the value read): the two ready indexes of both task tables,
 * and the run table's primary key. The table and index names are the
 * schema's (schema/01_tables.sql, 40_flow.sql).
 */
typedef struct IndexShape
{
	const char *suffix;			/* the index is <table>_<suffix> */
	int			nkeys;
	const char *columns[MAX_KEYS + 1];	/* the equal columns, then the one read */
	bool		ready_only;		/* holds only the ready tasks: WHERE state = 'SCHEDULED' */
} IndexShape;

static const IndexShape ready_by_key = {"ready_by_key", 4, {"namespace", "task_queue", "fairness_key", "priority", "pass"}, true};
static const IndexShape ready = {"ready", 3, {"namespace", "task_queue", "priority", "pass"}, true};
static const IndexShape run_row = {"pkey", 1, {"run_id", NULL}, false};

/* What a walk needs of an index, checked against its shape once per backend. */
typedef struct KnownIndex
{
	Oid			heap;
	const IndexShape *shape;
	Oid			index;
	RegProcedure eq[MAX_KEYS];
	AttrNumber	read_att;		/* in the table; 0 when the shape reads nothing */
	AttrNumber	task_id_att;	/* in the table; 0 when it has none */
} KnownIndex;

#define KNOWN_MAX 8
static KnownIndex known[KNOWN_MAX];

/* the tables a placing reads that its caller does not give it, remembered (relcache_watch.c) */
static DurableLookup runs_table;
static DurableLookup workflow_tasks_table;
static int	known_next;
static bool callback_registered;

/*
 * The columns a trigger reads of its row and of the run, by name once per
 * backend: a search of the table's columns by name for each value read was
 * a good part of a trigger's own time (some 30 names compared per value).
 * The names are the callers' literals, so they are told apart by address.
 */
typedef struct KnownColumn
{
	Oid			heap;
	const char *name;
	AttrNumber	att;
} KnownColumn;

#define KNOWN_COLUMNS_MAX 24
static KnownColumn known_columns[KNOWN_COLUMNS_MAX];
static int	known_columns_next;

/* An index rebuilt or dropped (REINDEX, DROP EXTENSION), a table altered, is looked up again. */
static void
forget_indexes(Oid relid)
{
	for (int i = 0; i < KNOWN_MAX; i++)
		if (relid == InvalidOid || known[i].heap == relid || known[i].index == relid)
			known[i].heap = InvalidOid;
	for (int i = 0; i < KNOWN_COLUMNS_MAX; i++)
		if (relid == InvalidOid || known_columns[i].heap == relid)
			known_columns[i].heap = InvalidOid;
}

static void
register_callback(void)
{
	if (!callback_registered)
	{
		DurableWatchRelcache(forget_indexes);
		callback_registered = true;
	}
}

static AttrNumber
column(Relation heap, const char *name, bool missing_ok)
{
	TupleDesc	desc = RelationGetDescr(heap);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	if (!missing_ok)
		DurableRefuseChangedSchema(psprintf("table \"%s\"", RelationGetRelationName(heap)),
								   psprintf("has no column \"%s\"", name));
	return InvalidAttrNumber;
}

/* column(heap, name, false), remembered until heap changes (name: a literal) */
static AttrNumber
known_column(Relation heap, const char *name)
{
	KnownColumn *c;

	for (int i = 0; i < KNOWN_COLUMNS_MAX; i++)
		if (known_columns[i].heap == RelationGetRelid(heap) && known_columns[i].name == name)
			return known_columns[i].att;
	register_callback();
	c = &known_columns[known_columns_next];
	known_columns_next = (known_columns_next + 1) % KNOWN_COLUMNS_MAX;
	c->heap = InvalidOid;
	c->att = column(heap, name, false);
	c->name = name;
	c->heap = RelationGetRelid(heap);
	return c->att;
}

/*
 * Whether the index's predicate is exactly state = 'SCHEDULED': a walk counts
 * every row it finds as ready and never reads the state itself.
 */
static bool
holds_only_ready(Relation heap, Relation index)
{
	List	   *predicate = RelationGetIndexPredicate(index);
	OpExpr	   *op;
	Var		   *var;
	Const	   *value;

	if (list_length(predicate) != 1 || !IsA(linitial(predicate), OpExpr))
		return false;
	op = (OpExpr *) linitial(predicate);
	if (op->opno != TextEqualOperator || list_length(op->args) != 2 ||
		!IsA(linitial(op->args), Var) || !IsA(lsecond(op->args), Const))
		return false;
	var = (Var *) linitial(op->args);
	value = (Const *) lsecond(op->args);
	return var->varattno == column(heap, "state", false) && !value->constisnull &&
		value->consttype == TEXTOID && strcmp(TextDatumGetCString(value->constvalue), "SCHEDULED") == 0;
}

static const KnownIndex *
known_index(Relation heap, const IndexShape *shape)
{
	KnownIndex *k;
	char		name[NAMEDATALEN];
	Relation	index;

	for (int i = 0; i < KNOWN_MAX; i++)
		if (known[i].heap == RelationGetRelid(heap) && known[i].shape == shape)
			return &known[i];
	register_callback();
	k = &known[known_next];
	known_next = (known_next + 1) % KNOWN_MAX;
	k->heap = InvalidOid;
	snprintf(name, sizeof name, "%s_%s", RelationGetRelationName(heap), shape->suffix);
	k->index = get_relname_relid(name, RelationGetNamespace(heap));
	if (!OidIsValid(k->index))
		DurableRefuseChangedSchema(psprintf("index \"%s\"", name), "is missing");
	index = index_open(k->index, AccessShareLock);
	if (shape->ready_only && !holds_only_ready(heap, index))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("index \"%s\" does not hold only the ready tasks (WHERE state = 'SCHEDULED')", name),
				 errdetail("Tasks are placed in their queue by reading this index, and every row it holds counts as ready."),
				 errhint("Recreate the index as durable's schema defines it, with its WHERE state = 'SCHEDULED'.")));
	for (int i = 0; i < shape->nkeys + (shape->columns[shape->nkeys] != NULL); i++)
	{
		AttrNumber	att = column(heap, shape->columns[i], false);
		Oid			type = TupleDescAttr(RelationGetDescr(heap), att - 1)->atttypid;

		if (i >= index->rd_index->indnkeyatts || index->rd_index->indkey.values[i] != att)
			DurableRefuseChangedSchema(psprintf("index \"%s\"", name),
									   psprintf("does not have \"%s\" as its column %d", shape->columns[i], i + 1));
		if (i == shape->nkeys)
			break;
		if (type == TEXTOID)
			k->eq[i] = F_TEXTEQ;
		else if (type == INT2OID)
			k->eq[i] = F_INT2EQ;
		else if (type == UUIDOID)
			k->eq[i] = F_UUID_EQ;
		else
			DurableRefuseChangedSchema(psprintf("index \"%s\"", name),
									   psprintf("has column \"%s\" of an unexpected type", shape->columns[i]));
	}
	index_close(index, AccessShareLock);
	k->read_att = shape->columns[shape->nkeys] ? column(heap, shape->columns[shape->nkeys], false) : 0;
	k->task_id_att = column(heap, "task_id", true);
	k->shape = shape;
	k->heap = RelationGetRelid(heap);
	return k;
}

/*
 * Into slot, the first row of heap visible to snapshot whose leading index
 * columns equal values, in the index's order (dir), leaving out the task
 * leave_out (0: none). False when there is none; a null value matches
 * nothing, as "=" does. With a floor (not NULL), a backward walk reads
 * only the entries whose read column (a float8 pass) is at least *floor:
 * the same first row if it finds one, as those are the entries a walk from
 * the end reads first.
 */
static bool
first_row(Relation heap, const IndexShape *shape, const Datum *values, const bool *nulls, ScanDirection dir,
		  int64 leave_out, Snapshot snapshot, TupleTableSlot *slot, const float8 *floor)
{
	const KnownIndex *k = known_index(heap, shape);
	Relation	index;
	ScanKeyData keys[MAX_KEYS + 1];
	int			nkeys = shape->nkeys;
	IndexScanDesc scan;
	bool		found = false;

	for (int i = 0; i < shape->nkeys; i++)
		if (nulls[i])
			return false;
	index = index_open(k->index, AccessShareLock);
	for (int i = 0; i < shape->nkeys; i++)
		ScanKeyEntryInitialize(&keys[i], 0, i + 1, BTEqualStrategyNumber, InvalidOid,
							   index->rd_indcollation[i], k->eq[i], values[i]);
	if (floor != NULL)
	{
		Assert(ScanDirectionIsBackward(dir) && k->read_att != 0);
		/* (known_index checked that the read column is the index's next one, a float8 of a ready index) */
		ScanKeyEntryInitialize(&keys[nkeys], 0, nkeys + 1, BTGreaterEqualStrategyNumber, InvalidOid,
							   index->rd_indcollation[nkeys], F_FLOAT8GE, Float8GetDatum(*floor));
		nkeys++;
	}
	scan = index_beginscan(heap, index, snapshot, nkeys, 0);
	index_rescan(scan, keys, nkeys, NULL, 0);
	while (index_getnext_slot(scan, dir, slot))
	{
		bool		isnull;

		if (leave_out != 0 && k->task_id_att != 0 &&
			DatumGetInt64(slot_getattr(slot, k->task_id_att, &isnull)) == leave_out)
			continue;
		found = true;
		break;
	}
	index_endscan(scan);
	index_close(index, AccessShareLock);
	return found;
}

/* The column a walk of shape reads, of the row first_row put in slot. */
static float8
read_float8(Relation heap, const IndexShape *shape, TupleTableSlot *slot)
{
	bool		isnull;

	return DatumGetFloat8(slot_getattr(slot, known_index(heap, shape)->read_att, &isnull));
}

/*
 * The last pass this backend read of a key's ready tasks, per task table:
 * where the next walk of that key starts looking (a hint only, see
 * last_of_key). The key's values are kept as they came (short texts).
 */
typedef struct PassHint
{
	Oid			heap;			/* InvalidOid: unused */
	int16		priority;
	float8		pass;
	char	   *key;			/* namespace, task queue, fairness key, '\0'-separated, with lengths */
	Size		keylen;
} PassHint;

#define PASS_HINTS 8
static PassHint pass_hints[PASS_HINTS];
static int	pass_hints_next;

/* namespace, task_queue, fairness_key as one string of bytes (each text's length, then its bytes) */
static char *
hint_key(const Datum *by_key, Size *len)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < 3; i++)
	{
		text	   *t = DatumGetTextPP(by_key[i]);
		int32		n = VARSIZE_ANY_EXHDR(t);

		appendBinaryStringInfo(&buf, (char *) &n, sizeof n);
		appendBinaryStringInfo(&buf, VARDATA_ANY(t), n);
	}
	*len = buf.len;
	return buf.data;
}

/*
 * Into slot, the key's last ready task (by_key: namespace, task_queue,
 * fairness_key, priority, none null but maybe the key): the first row of a
 * backward walk of ready_by_key. The walk reads a whole leaf page of the
 * index before it returns its first row (nbtree's _bt_readpage), checking
 * every entry's keys: in a queue of a few thousand ready tasks, some
 * hundred entries, most of an insert's placing. So it first walks only
 * the entries whose pass is at least the last one this backend read of the
 * key: a row found there is the one the whole walk finds first (the walk
 * from the end reads those entries first); none found (the task read then
 * was leased since, or the hint is another backend's past), it walks them
 * all, as before, and the hint is forgotten until that walk finds a row
 * (a drained queue's placing walks once). Passes of a key only grow as its
 * tasks are placed, so the hint is mostly the key's last but one.
 */
static bool
last_of_key(Relation tasks, const Datum *by_key, const bool *nulls, int64 leave_out, Snapshot snapshot,
			TupleTableSlot *slot)
{
	PassHint   *hint = NULL;
	char	   *key;
	Size		keylen;
	int16		priority;
	bool		found;

	if (nulls[0] || nulls[1] || nulls[2] || nulls[3])
		return false;
	priority = DatumGetInt16(by_key[3]);
	key = hint_key(by_key, &keylen);
	for (int i = 0; i < PASS_HINTS; i++)
		if (pass_hints[i].heap == RelationGetRelid(tasks) && pass_hints[i].priority == priority &&
			pass_hints[i].keylen == keylen && memcmp(pass_hints[i].key, key, keylen) == 0)
			hint = &pass_hints[i];
	found = hint != NULL &&
		first_row(tasks, &ready_by_key, by_key, nulls, BackwardScanDirection, leave_out, snapshot, slot, &hint->pass);
	if (!found)
	{
		/* (forgotten: a key whose tasks are all leased, a drained queue, walks once, not twice, from now on) */
		if (hint != NULL)
			hint->heap = InvalidOid;
		hint = NULL;
		found = first_row(tasks, &ready_by_key, by_key, nulls, BackwardScanDirection, leave_out, snapshot, slot,
						  NULL);
	}
	if (found)
	{
		if (hint == NULL)
		{
			hint = &pass_hints[pass_hints_next];
			pass_hints_next = (pass_hints_next + 1) % PASS_HINTS;
			if (hint->key != NULL)
				pfree(hint->key);
			hint->heap = InvalidOid;
			hint->key = MemoryContextAlloc(TopMemoryContext, keylen);
			memcpy(hint->key, key, keylen);
			hint->keylen = keylen;
			hint->priority = priority;
			hint->heap = RelationGetRelid(tasks);
		}
		hint->pass = read_float8(tasks, &ready_by_key, slot);
	}
	pfree(key);
	return found;
}

/* durable.<relname>, read with AccessShareLock (its oid remembered, not looked up by name each time) */
static Relation
open_table(DurableLookup *lookup, const char *relname)
{
	Relation	rel = DurableOpenTable(lookup, relname, AccessShareLock);

	if (rel == NULL)
		DurableRefuseChangedSchema(psprintf("table \"%s\"", relname), "is missing");
	return rel;
}

/*
 * The pass of a task that becomes ready in tasks (either task table):
 *     greatest(head, last + 1 / weight, 0)
 * where last is its key's last ready pass and head the queue's first, read
 * only when the key has none (or the weight is not positive): a key's last
 * task is never ahead of the head. The same arithmetic, and errors, as the
 * SQL it replaces.
 */
static float8
task_pass(Relation tasks, Datum namespace, Datum task_queue, Datum priority, Datum fairness_key,
		  bool key_null, float8 weight, bool weight_null, int64 leave_out, Snapshot snapshot)
{
	TupleTableSlot *slot = table_slot_create(tasks, NULL);
	Datum		by_key[4] = {namespace, task_queue, fairness_key, priority};
	bool		by_key_nulls[4] = {false, false, key_null, false};
	Datum		head_key[3] = {namespace, task_queue, priority};
	bool		head_nulls[3] = {false, false, false};
	bool		has_last = last_of_key(tasks, by_key, by_key_nulls, leave_out, snapshot, slot);
	float8		pass = 0;

	if (has_last && !weight_null)
	{
		pass = float8_pl(read_float8(tasks, &ready_by_key, slot), float8_div(1.0, weight));
		pass = float8_gt(pass, 0) ? pass : 0;
	}
	if ((!has_last || weight_null || !(weight > 0)) &&
		first_row(tasks, &ready, head_key, head_nulls, ForwardScanDirection, leave_out, snapshot, slot, NULL))
	{
		float8		head = read_float8(tasks, &ready, slot);

		pass = float8_gt(head, pass) ? head : pass;
	}
	ExecDropSingleTupleTableSlot(slot);
	return pass;
}

/* As SPI gives each statement of a plpgsql trigger: a new snapshot that sees this command's rows. */
static Snapshot
push_statement_snapshot(void)
{
	PushActiveSnapshot(GetTransactionSnapshot());
	CommandCounterIncrement();
	UpdateActiveSnapshotCommandId();
	return GetActiveSnapshot();
}

/* The value of a column of a trigger's row, by name. */
static Datum
row_value(TriggerData *trigger, const char *name, bool *isnull)
{
	Relation	rel = trigger->tg_relation;

	return heap_getattr(trigger->tg_trigtuple, known_column(rel, name), RelationGetDescr(rel), isnull);
}

static TriggerData *
insert_trigger(FunctionCallInfo fcinfo, const char *name)
{
	TriggerData *trigger = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigger->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigger->tg_event) || !TRIGGER_FIRED_BY_INSERT(trigger->tg_event))
		elog(ERROR, "%s: not called as a BEFORE INSERT FOR EACH ROW trigger", name);
	return trigger;
}

/*
 * Whether the inserted row still needs its place: its pass is below 0 (the
 * column's default, -1). This was the triggers' WHEN (NEW.pass < 0), which
 * PostgreSQL read from its stored text and planned again for every
 * statement that inserted a task (api/41_priority.sql); a statement that
 * places its tasks itself (pass >= 0) keeps its row as given, as a null
 * pass is (the insert then refuses it), and NaN, which is not below 0.
 */
static bool
needs_place(TriggerData *trigger)
{
	bool		isnull;
	Datum		pass = row_value(trigger, "pass", &isnull);

	return !isnull && float8_lt(DatumGetFloat8(pass), 0);
}

/*
 * The pass the trigger activity_task_pass gives an activity task that
 * becomes ready, from its own namespace, task_queue, priority, fairness_key
 * and fairness_weight (nulls: which of these five are null), read with
 * snapshot. Also task_insert.c's, which writes the row itself.
 */
float8
DurablePlaceActivityTask(Relation tasks, Datum namespace, Datum task_queue, Datum priority, Datum fairness_key,
						 Datum weight, const bool *nulls, Snapshot snapshot)
{
	if (nulls[0] || nulls[1] || nulls[2])
		return 0;
	return task_pass(tasks, namespace, task_queue, priority, fairness_key, nulls[3],
					 nulls[4] ? 0 : DatumGetFloat8(weight), nulls[4], 0, snapshot);
}

/* The trigger activity_task_pass: an inserted activity task's pass, from its own priority and key. */
Datum
durable_activity_task_pass(PG_FUNCTION_ARGS)
{
	TriggerData *trigger = insert_trigger(fcinfo, "durable._activity_task_pass");
	Relation	tasks = trigger->tg_relation;
	bool		nulls[5];
	Datum		namespace,
				task_queue,
				priority,
				fairness_key,
				weight;
	int			pass_att;
	Datum		pass;
	bool		pass_null = false;
	Snapshot	snapshot;

	if (!needs_place(trigger))
		return PointerGetDatum(trigger->tg_trigtuple);
	namespace = row_value(trigger, "namespace", &nulls[0]);
	task_queue = row_value(trigger, "task_queue", &nulls[1]);
	priority = row_value(trigger, "priority", &nulls[2]);
	fairness_key = row_value(trigger, "fairness_key", &nulls[3]);
	weight = row_value(trigger, "fairness_weight", &nulls[4]);
	pass_att = known_column(tasks, "pass");
	snapshot = push_statement_snapshot();
	pass = Float8GetDatum(DurablePlaceActivityTask(tasks, namespace, task_queue, priority, fairness_key, weight,
												   nulls, snapshot));
	PopActiveSnapshot();
	return PointerGetDatum(heap_modify_tuple_by_cols(trigger->tg_trigtuple, RelationGetDescr(tasks), 1,
													 &pass_att, &pass, &pass_null));
}

/*
 * What the trigger workflow_task_pass gives a workflow task of the run run_id
 * that becomes ready in namespace's task_queue: its run's priority and
 * fairness key (null without a run, which the insert then refuses, as
 * before) and its pass, in values and nulls (priority, fairness_key, pass),
 * read with snapshot. Also task_insert.c's, which writes the row itself.
 */
void
DurablePlaceWorkflowTask(Relation tasks, Datum run_id, bool run_id_null, Datum namespace, bool namespace_null,
						 Datum task_queue, bool queue_null, Snapshot snapshot, Datum *values, bool *nulls)
{
	Relation	runs;
	TupleTableSlot *run;
	bool		weight_null = true;
	float8		weight = 1;

	values[0] = values[1] = values[2] = (Datum) 0;
	nulls[0] = nulls[1] = true;
	nulls[2] = false;
	runs = open_table(&runs_table, "workflows");
	run = table_slot_create(runs, NULL);
	if (first_row(runs, &run_row, &run_id, &run_id_null, ForwardScanDirection, 0, snapshot, run, NULL))
	{
		Datum		w;

		values[0] = slot_getattr(run, known_column(runs, "priority"), &nulls[0]);
		values[1] = slot_getattr(run, known_column(runs, "fairness_key"), &nulls[1]);
		if (!nulls[1])
			values[1] = datumCopy(values[1], false, -1);
		w = slot_getattr(run, known_column(runs, "fairness_weight"), &weight_null);
		if (!weight_null)
			weight = DatumGetFloat8(w);
	}
	/* coalesce(weight, 1) */
	if (namespace_null || queue_null || nulls[0])
		values[2] = Float8GetDatum(0);
	else
		values[2] = Float8GetDatum(task_pass(tasks, namespace, task_queue, values[0], values[1], nulls[1],
											 weight, false, 0, snapshot));
	ExecDropSingleTupleTableSlot(run);
	table_close(runs, AccessShareLock);
}

/* The trigger workflow_task_pass: an inserted workflow task takes its run's priority and key, and its pass. */
Datum
durable_workflow_task_pass(PG_FUNCTION_ARGS)
{
	TriggerData *trigger = insert_trigger(fcinfo, "durable._workflow_task_pass");
	Relation	tasks = trigger->tg_relation;
	int			atts[3];
	Datum		values[3];
	bool		nulls[3];
	bool		run_id_null,
				namespace_null,
				queue_null;
	Datum		run_id,
				namespace,
				task_queue;
	HeapTuple	row;

	if (!needs_place(trigger))
		return PointerGetDatum(trigger->tg_trigtuple);
	atts[0] = known_column(tasks, "priority");
	atts[1] = known_column(tasks, "fairness_key");
	atts[2] = known_column(tasks, "pass");
	run_id = row_value(trigger, "run_id", &run_id_null);
	namespace = row_value(trigger, "namespace", &namespace_null);
	task_queue = row_value(trigger, "task_queue", &queue_null);
	DurablePlaceWorkflowTask(tasks, run_id, run_id_null, namespace, namespace_null, task_queue, queue_null,
							 push_statement_snapshot(), values, nulls);
	row = heap_modify_tuple_by_cols(trigger->tg_trigtuple, RelationGetDescr(tasks), 3, atts, values, nulls);
	PopActiveSnapshot();
	return PointerGetDatum(row);
}

/*
 * durable._task_pass(tasks regclass, namespace, task_queue, priority,
 * fairness_key, weight, leave_out bigint): the pass of a task of tasks that
 * becomes ready, leaving out the task leave_out (a task set back to
 * SCHEDULED is already among the ready ones).
 */
Datum
durable_task_pass(PG_FUNCTION_ARGS)
{
	Relation	tasks;
	float8		pass;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_FLOAT8(0);
	tasks = table_open(PG_GETARG_OID(0), AccessShareLock);
	pass = task_pass(tasks, PG_GETARG_DATUM(1), PG_GETARG_DATUM(2), PG_GETARG_DATUM(3),
					 PG_ARGISNULL(4) ? (Datum) 0 : PG_GETARG_DATUM(4), PG_ARGISNULL(4),
					 PG_ARGISNULL(5) ? 0 : PG_GETARG_FLOAT8(5), PG_ARGISNULL(5),
					 PG_ARGISNULL(6) ? 0 : PG_GETARG_INT64(6), GetActiveSnapshot());
	table_close(tasks, AccessShareLock);
	PG_RETURN_FLOAT8(pass);
}

/*
 * durable._ready_pass(namespace, task_queue, priority, fairness_key, weight):
 * the pass of the next workflow task of a key (the timer worker's set-based
 * firing places many at once with it).
 */
Datum
durable_ready_pass(PG_FUNCTION_ARGS)
{
	Relation	tasks;
	float8		pass;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_FLOAT8(0);
	tasks = open_table(&workflow_tasks_table, "workflow_tasks");
	pass = task_pass(tasks, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), PG_GETARG_DATUM(2),
					 PG_ARGISNULL(3) ? (Datum) 0 : PG_GETARG_DATUM(3), PG_ARGISNULL(3),
					 PG_ARGISNULL(4) ? 0 : PG_GETARG_FLOAT8(4), PG_ARGISNULL(4), 0, GetActiveSnapshot());
	table_close(tasks, AccessShareLock);
	PG_RETURN_FLOAT8(pass);
}
