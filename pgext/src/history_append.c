/*
 * history_append.c: durable._append and durable._append_at, the one way an
 * event enters a run's history (seven calls per activity of a workflow).
 *
 * The next id is the last one plus one, read from the end of the primary key
 * under the run's row lock that every caller holds. The event goes into
 * durable.history_rows, its type as a code and its attributes packed
 * (history_pack.c); durable.history shows it as written.
 *
 * An INSERT through SPI cost ~12 µs a call, most of it the executor being
 * set up and torn down around one row (docs/performance.md, "Appends
 * without the executor"). So, as COPY and the catalogs do, the row is
 * written with the heap and index APIs: one backward probe of history_pkey
 * for the last id, the tuple formed here, heap_insert (which counts the
 * insert for pgstat and logs it for logical decoding as the executor's
 * does), then every index's entry with the unique check the executor would
 * make. The snapshot and command counter are handled as SPI handles them for
 * a statement (a new snapshot, the counter advanced before and after), so a
 * statement that appends several events to one run sees each one.
 *
 * What the executor would add is checked, and if history_rows has
 * any of it (an insert trigger or rule, row security, a CHECK, a column of
 * the operator's or with a type modifier, an index on an expression or with
 * a predicate, a role without the table rights, a parent it is a partition
 * of, all of which an operator may add, or an extension's permission hook)
 * the event goes through the INSERT statement, which does it all, as
 * before. A column added and dropped again is null in the row, as the
 * executor makes it.
 *
 * That check, the table's oid and its indexes' IndexInfos are kept per
 * backend (HistoryShape below): building them took a tenth of an append.
 * Everything they depend on is a catalog row whose change PostgreSQL
 * announces by an invalidation, which forgets them; the executor's own
 * per-statement checks read the same caches, so they see a change no
 * sooner.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/uuid.h"

#include "durable.h"
#include "history_pack.h"

PG_FUNCTION_INFO_V1(durable_append);
PG_FUNCTION_INFO_V1(durable_append_at);

extern Datum durable_run_now(PG_FUNCTION_ARGS);

/* history_rows's columns, as schema/01_tables.sql makes them */
#define HISTORY_NATTS 5
static const Oid history_types[HISTORY_NATTS] = {UUIDOID, INT8OID, INT2OID, TIMESTAMPTZOID, JSONBOID};

/* (packed with its own id: $5 is the type's name, $3 the attributes as given) */
#define APPEND_SQL \
	"INSERT INTO durable.history_rows AS h (run_id, event_id, event_code, event_time, attributes_packed) " \
	"SELECT $1, n.id, $2, $4, durable._event_pack($1, n.id, $5, $3) " \
	"  FROM (SELECT coalesce(max(p.event_id), 0) + 1 AS id " \
	"          FROM durable.history_rows p WHERE p.run_id = $1) n " \
	"RETURNING h.event_id"

/* what the insert into durable.history said of a missing value */
static void
refuse_null(const char *column)
{
	ereport(ERROR, (errcode(ERRCODE_NOT_NULL_VIOLATION),
					errmsg("null value in column \"%s\" of relation \"history\" violates not-null constraint",
						   column)));
}

/* One event, as the INSERT statement writes it (the fallback). */
static int64
append_by_statement(Datum run, int16 code, Jsonb *attributes, Datum time, text *type)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[5] = {UUIDOID, INT2OID, JSONBOID, TIMESTAMPTZOID, TEXTOID};
	Datum		args[5];
	bool		isnull;
	int64		event_id;

	args[0] = run;
	args[1] = Int16GetDatum(code);
	args[2] = JsonbPGetDatum(attributes);
	args[3] = time;
	args[4] = PointerGetDatum(type);
	SPI_connect();
	/* (run to its end, with no row limit: AFTER STATEMENT triggers fire at the end) */
	if (SPI_execute_plan(DurableKeptPlan(&plan, APPEND_SQL, 5, argtypes), args, NULL, false, 0) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "could not append to a run's history");
	event_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return event_id;
}

/* durable._event_pack, which the statement calls */
static DurableFunction event_pack_fn = {"_event_pack", 4, {UUIDOID, INT8OID, TEXTOID, JSONBOID}};

/*
 * What plain_history finds of history_rows, kept per backend
 * (direct_insert.c's DurableShapeOf): forgotten by any invalidation of the
 * table or one of its indexes (an index, trigger, rule, policy, column,
 * grant, owner, partition, the table's drop: each changes a pg_class,
 * pg_index... row and so the table's relcache entry), of a function (the
 * right to execute _event_pack, its drop), or of a role or a role's
 * membership (rights held through roles, superuser); read again for
 * another role.
 */
#define MAX_INDEXES 32

typedef struct HistoryShape
{
	DurableShape base;			/* plain: an INSERT would do nothing the direct write leaves out */
	Oid			pkey_oid;		/* (while it is read) */
	int			pkey;			/* the primary key's place in indexes */
	DurableDirectIndex indexes[MAX_INDEXES];
} HistoryShape;

static HistoryShape shape;

/* history_rows's oid, remembered (relcache_watch.c) */
static DurableLookup history_table;

/* appends writing with the kept shape right now (an index's insert that appends: never in durable) */
static int	shape_in_use;

/* (DurableReadDirectIndexes' visit) no predicate; the primary key on (run_id, event_id), ready */
static bool
visit_index(Relation index, DurableDirectIndex *entry, void *arg)
{
	HistoryShape *s = arg;
	IndexInfo  *info = entry->info;

	if (info->ii_Predicate != NIL)
		return false;
	if (entry->oid == s->pkey_oid)
	{
		if (info->ii_NumIndexKeyAttrs != 2 || info->ii_IndexAttrNumbers[0] != 1 ||
			info->ii_IndexAttrNumbers[1] != 2 || !info->ii_ReadyForInserts)
			return false;
		s->pkey = entry - s->indexes;
	}
	return true;
}

/*
 * (DurableShapeOf's reader) True if an INSERT into rel would do nothing
 * that heap_insert and the indexes' inserts below leave out, for the
 * current role.
 */
static bool
plain_history(Relation rel, void *arg)
{
	HistoryShape *s = arg;
	TupleDesc	desc = RelationGetDescr(rel);
	TriggerDesc *trig = rel->trigdesc;
	Oid			pack;

	if (!DurableDirectInsertTable(rel) || desc->natts < HISTORY_NATTS)
		return false;
	if (trig != NULL && (trig->trig_insert_before_row || trig->trig_insert_after_row ||
						 trig->trig_insert_instead_row || trig->trig_insert_before_statement ||
						 trig->trig_insert_after_statement || trig->trig_insert_new_table))
		return false;
	if (desc->constr != NULL && (desc->constr->num_check > 0 || desc->constr->has_generated_stored))
		return false;
	/* the five columns, then only columns an operator added and dropped (null in every row) */
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (i < HISTORY_NATTS ? att->attisdropped || !DurableColumnTakes(att, history_types[i]) : !att->attisdropped)
			return false;
	}
	/*
	 * (as the statement: to insert, to read the last id, and to pack the
	 * event; the executor's permission hook is looked at on every call)
	 */
	s->base.userid = GetUserId();
	if (pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_INSERT) != ACLCHECK_OK ||
		pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return false;
	pack = DurableFunctionOid(&event_pack_fn, true);
	if (!OidIsValid(pack) || pg_proc_aclcheck(pack, GetUserId(), ACL_EXECUTE) != ACLCHECK_OK)
		return false;

	/* (RelationGetIndexList also finds the primary key) */
	s->pkey = -1;
	s->pkey_oid = RelationGetPrimaryKeyIndex(rel);
	return DurableReadDirectIndexes(rel, &s->base, s->indexes, MAX_INDEXES, visit_index, s) && s->pkey >= 0;
}

/*
 * The shape of rel for this call, or NULL where the statement must write:
 * the kept one, read again when it is not valid, unless another append of
 * this backend writes with it right now.
 */
static HistoryShape *
shape_of(Relation rel)
{
	if (shape_in_use > 0 &&
		!(shape.base.valid && shape.base.relid == RelationGetRelid(rel) &&
		  (!OidIsValid(shape.base.userid) || shape.base.userid == GetUserId())))
		return NULL;
	DurableShapeOf(&shape.base, rel, "durable history_rows shape", plain_history, &shape);
	return shape.base.plain ? &shape : NULL;
}

/* The run's last event id, by a backward probe of the primary key; 0 for none. */
static int64
last_event_id(Relation rel, Relation pkey, Datum run, Snapshot snapshot)
{
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	IndexScanDesc scan = index_beginscan(rel, pkey, snapshot, 1, 0);
	ScanKeyData key;
	int64		last = 0;

	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, run);
	index_rescan(scan, &key, 1, NULL, 0);
	if (index_getnext_slot(scan, BackwardScanDirection, slot))
	{
		bool		isnull;

		last = DatumGetInt64(slot_getattr(slot, 2, &isnull));
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	return last;
}

/*
 * The event this backend wrote last, and when: its transaction, its
 * subtransaction, the command counter right after it and the rows this
 * backend had written to history_rows in that subtransaction. The next
 * append to the same run that finds all four unchanged (this backend wrote
 * nothing in between, no savepoint was rolled back or released) knows the
 * run's last id without the probe: a start appends two events in a row, an
 * activity's outcome three. The counter alone does not say it: a statement
 * that began before the last append (a modifying CTE, an INSERT ... SELECT
 * whose rows append) writes with its own, older command id and leaves the
 * counter unused. The rows written are counted by heap_insert, heap_update
 * and heap_delete for the statistics, whoever calls them; where they are
 * not counted (track_counts off) there is no kept id. Another session
 * cannot have written to the run in between: every caller holds the run's
 * row lock, and one that did not would collide on the first id and wait for
 * this one's end. Not under SERIALIZABLE, where the probe's predicate locks
 * are the statement's.
 */
static struct
{
	LocalTransactionId lxid;
	SubTransactionId subxid;
	CommandId	cid;
	PgStat_Counter rows_written;
	Oid			relid;
	pg_uuid_t	run;
	int64		event_id;
}			last_written;

/*
 * The rows this backend inserted, updated and deleted in rel in this
 * subtransaction, as pgstat counts them; -1 if they are not counted.
 */
static PgStat_Counter
rows_written(Relation rel)
{
	PgStat_TableXactStatus *trans = rel->pgstat_info != NULL ? rel->pgstat_info->trans : NULL;

	if (trans == NULL || trans->nest_level != GetCurrentTransactionNestLevel())
		return -1;
	return trans->tuples_inserted + trans->tuples_updated + trans->tuples_deleted;
}

static bool
follows_last_written(Relation rel, Datum run)
{
	return last_written.lxid == MyProc->lxid && last_written.lxid != InvalidLocalTransactionId &&
		last_written.subxid == GetCurrentSubTransactionId() &&
		last_written.cid == GetCurrentCommandId(false) &&
		last_written.relid == RelationGetRelid(rel) &&
		last_written.rows_written >= 0 && last_written.rows_written == rows_written(rel) &&
		memcmp(&last_written.run, DatumGetUUIDP(run), sizeof(pg_uuid_t)) == 0 &&
		!IsolationIsSerializable();
}

/* The event as the next of run in rel, whose shape s is plain. */
static int64
write_event(Relation rel, const HistoryShape *s, Datum run, int16 code, Jsonb *attributes, Datum time, text *type)
{
	Relation	indexes[MAX_INDEXES];
	int			nindexes = s->base.nindexes;
	int64		event_id;
	Datum	   *values;
	bool	   *nulls;
	HeapTuple	tuple;

	DurableDirectWriteBegin("INSERT");
	/* the locks stay to the transaction's end, as the executor's */
	for (int i = 0; i < nindexes; i++)
		indexes[i] = index_open(s->indexes[i].oid, RowExclusiveLock);

	if (follows_last_written(rel, run))
		event_id = last_written.event_id + 1;
	else
		event_id = last_event_id(rel, indexes[s->pkey], run, GetActiveSnapshot()) + 1;
	values = palloc(RelationGetDescr(rel)->natts * sizeof(Datum));
	nulls = palloc(RelationGetDescr(rel)->natts * sizeof(bool));
	for (int i = 0; i < RelationGetDescr(rel)->natts; i++)
		nulls[i] = i >= HISTORY_NATTS;
	values[0] = run;
	values[1] = Int64GetDatum(event_id);
	values[2] = Int16GetDatum(code);
	values[3] = time;
	values[4] = JsonbPGetDatum(DurableEventPack(run, event_id, VARDATA_ANY(type),
												 VARSIZE_ANY_EXHDR(type), attributes));
	tuple = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	heap_insert(rel, tuple, GetCurrentCommandId(true), 0, NULL);
	/* every index's entry, unique ones checked as the executor does */
	for (int i = 0; i < nindexes; i++)
		DurableInsertIndexEntry(rel, indexes[i], s->indexes[i].info, values, nulls, &tuple->t_self);
	heap_freetuple(tuple);
	pfree(values);
	pfree(nulls);

	DurableDirectWriteEnd(true);
	last_written.lxid = MyProc->lxid;
	last_written.subxid = GetCurrentSubTransactionId();
	last_written.cid = GetCurrentCommandId(false);
	last_written.rows_written = rows_written(rel);
	last_written.relid = RelationGetRelid(rel);
	memcpy(&last_written.run, DatumGetUUIDP(run), sizeof(pg_uuid_t));
	last_written.event_id = event_id;
	for (int i = 0; i < nindexes; i++)
		index_close(indexes[i], NoLock);
	return event_id;
}

/*
 * One event, written directly; false (nothing written) if history_rows is
 * not as plain_history wants it.
 */
static bool
append_direct(Datum run, int16 code, Jsonb *attributes, Datum time, text *type, int64 *event_id)
{
	/* (the executor's lock, which takes in the invalidations others committed) */
	Relation	rel = DurableOpenTable(&history_table, "history_rows", RowExclusiveLock);
	HistoryShape *s;

	if (rel == NULL)
		return false;
	s = shape_of(rel);
	/*
	 * (an extension that checks or audits permissions in the executor's
	 * hook, as sepgsql and pgaudit do, must see the statement)
	 */
	if (s != NULL && ExecutorCheckPerms_hook == NULL)
	{
		shape_in_use++;
		PG_TRY();
		{
			*event_id = write_event(rel, s, run, code, attributes, time, type);
		}
		PG_FINALLY();
		{
			shape_in_use--;
		}
		PG_END_TRY();
		table_close(rel, NoLock);
		return true;
	}
	table_close(rel, NoLock);
	return false;
}

static Datum
append(FunctionCallInfo fcinfo, bool at)
{
	Datum		run;
	int16		code;
	text	   *type;
	Jsonb	   *attributes;
	Datum		time;
	int64		event_id;

	if (PG_ARGISNULL(0))
		refuse_null("run_id");
	if (PG_ARGISNULL(1))
		refuse_null("event_type");
	if (at && PG_ARGISNULL(3))
		refuse_null("event_time");
	run = PG_GETARG_DATUM(0);
	type = PG_GETARG_TEXT_PP(1);
	attributes = PG_ARGISNULL(2)
		? DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")))
		: PG_GETARG_JSONB_P(2);
	code = DurableEventCode(VARDATA_ANY(type), VARSIZE_ANY_EXHDR(type));
	time = at ? PG_GETARG_DATUM(3) : DirectFunctionCall1(durable_run_now, run);
	if (!append_direct(run, code, attributes, time, type, &event_id))
		event_id = append_by_statement(run, code, attributes, time, type);
	DirectFunctionCall1(durable_history_changed, run);
	PG_RETURN_INT64(event_id);
}

/* durable._append(run, event_type, attributes) */
Datum
durable_append(PG_FUNCTION_ARGS)
{
	return append(fcinfo, false);
}

/* durable._append_at(run, event_type, attributes, at) */
Datum
durable_append_at(PG_FUNCTION_ARGS)
{
	return append(fcinfo, true);
}
