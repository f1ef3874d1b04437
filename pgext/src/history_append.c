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
 * the operator's, an index on an expression or with a predicate, a role
 * without the table rights, a parent it is a partition of, all of which an
 * operator may add, or an extension's permission hook) the event goes
 * through the INSERT statement, which does it all, as before. A column added
 * and dropped again is null in the row, as the executor makes it.
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
 * True if an INSERT into rel would do nothing that heap_insert and the
 * indexes' inserts below leave out. Lists rel's indexes' oids into
 * *indexes and their IndexInfos (made in the current memory context) into
 * *infos, and gives the primary key's position among them.
 */
static bool
plain_history(Relation rel, List **indexes, List **infos, int *pkey)
{
	TupleDesc	desc = RelationGetDescr(rel);
	TriggerDesc *trig = rel->trigdesc;
	Oid			pkey_oid;
	Oid			pack;
	ListCell   *lc;

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

		if (i < HISTORY_NATTS ? att->attisdropped || att->atttypid != history_types[i] : !att->attisdropped)
			return false;
	}
	/*
	 * (as the statement: to insert, to read the last id, and to pack the
	 * event; the executor's permission hook is looked at on every call)
	 */
	if (pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_INSERT) != ACLCHECK_OK ||
		pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return false;
	pack = DurableFunctionOid(&event_pack_fn, true);
	if (!OidIsValid(pack) || pg_proc_aclcheck(pack, GetUserId(), ACL_EXECUTE) != ACLCHECK_OK)
		return false;

	/* (RelationGetIndexList also finds the primary key) */
	*pkey = -1;
	pkey_oid = RelationGetPrimaryKeyIndex(rel);
	foreach(lc, RelationGetIndexList(rel))
	{
		/* (the lock the executor takes to insert, kept to the transaction's end) */
		Relation	index = index_open(lfirst_oid(lc), RowExclusiveLock);
		IndexInfo  *info = BuildIndexInfo(index);
		bool		usable = DurableDirectInsertIndex(index, info) && info->ii_Predicate == NIL;

		*indexes = lappend_oid(*indexes, RelationGetRelid(index));
		*infos = lappend(*infos, info);
		index_close(index, NoLock);
		if (!usable)
			return false;
		if (lfirst_oid(lc) == pkey_oid)
		{
			if (info->ii_NumIndexKeyAttrs != 2 || info->ii_IndexAttrNumbers[0] != 1 ||
				info->ii_IndexAttrNumbers[1] != 2 || !info->ii_ReadyForInserts)
				return false;
			*pkey = list_length(*indexes) - 1;
		}
	}
	return *pkey >= 0;
}

/*
 * What plain_history found, for history_rows (relid) and the role it
 * checked the rights of (userid). Forgotten (known false) by any
 * invalidation of the table or one of its indexes (an index, trigger, rule,
 * policy, column, grant, owner, partition, the table's drop: each changes
 * a pg_class, pg_index... row and so the table's relcache entry), of a
 * function (the right to execute _event_pack, its drop), of a role or a
 * role's membership (rights held through roles, superuser), or of a schema.
 */
typedef struct HistoryShape
{
	Oid			relid;			/* InvalidOid: look it up */
	bool		known;			/* the rest is true of relid and userid */
	Oid			userid;
	bool		plain;
	List	   *indexes;		/* oids */
	List	   *infos;			/* IndexInfo *, as BuildIndexInfo made them */
	int			pkey;
	MemoryContext cxt;			/* indexes and infos */
	int			in_use;			/* appends using infos right now */
} HistoryShape;

static HistoryShape shape;
static uint64 shape_invalidations = 0;

static void
forget_shape(void)
{
	shape.known = false;
	shape_invalidations++;
}

static void
forget_shape_rel(Oid relid)
{
	if (relid == InvalidOid || relid == shape.relid || list_member_oid(shape.indexes, relid))
	{
		shape.relid = InvalidOid;
		forget_shape();
	}
}

static void
forget_shape_syscache(int cacheid, uint32 hashvalue)
{
	if (cacheid == NAMESPACEOID)
		shape.relid = InvalidOid;
	forget_shape();
}

/*
 * history_rows, opened with the executor's lock (which takes in the
 * invalidations others committed), or NULL where durable has no such
 * table.
 */
static pg_noinline Relation
open_history(void)
{
	static bool callbacks = false;
	Oid			schema;

	if (!callbacks)
	{
		DurableWatchRelcache(forget_shape_rel);
		DurableWatchSyscache(PROCOID, forget_shape_syscache);
		DurableWatchSyscache(AUTHOID, forget_shape_syscache);
		DurableWatchSyscache(AUTHMEMROLEMEM, forget_shape_syscache);
		DurableWatchSyscache(NAMESPACEOID, forget_shape_syscache);
		callbacks = true;
	}
	for (int tries = 0; tries < 2; tries++)
	{
		Oid			relid = shape.relid;
		Relation	rel;

		if (!OidIsValid(relid))
		{
			schema = DurableNamespaceOid();
			relid = OidIsValid(schema) ? get_relname_relid("history_rows", schema) : InvalidOid;
			if (!OidIsValid(relid))
				return NULL;
			shape.relid = relid;
			shape.known = false;
		}
		/*
		 * The lock takes in what others committed: when no invalidation of
		 * the table came with it, the kept oid is still history_rows (a
		 * drop, a rename or a move invalidates it).
		 */
		LockRelationOid(relid, RowExclusiveLock);
		if (shape.relid == relid)
			return relation_open(relid, NoLock);
		rel = try_relation_open(relid, NoLock);
		if (rel != NULL && RelationGetNamespace(rel) == DurableNamespaceOid() &&
			strcmp(RelationGetRelationName(rel), "history_rows") == 0)
		{
			shape.relid = relid;
			return rel;
		}
		if (rel != NULL)
			relation_close(rel, NoLock);
		UnlockRelationOid(relid, RowExclusiveLock);
		shape.relid = InvalidOid;
		shape.known = false;
	}
	return NULL;
}

/*
 * The shape of rel for this call: the kept one, or made again. While
 * another append in this backend uses the kept one (an index's insert that
 * appends: never in durable), this one is made for this call alone.
 */
static void
shape_of(Relation rel, bool *plain, List **indexes, List **infos, int *pkey)
{
	MemoryContext old;
	uint64		before = shape_invalidations;
	bool		keep = shape.in_use == 0;

	if (shape.known && shape.userid == GetUserId())
	{
		*plain = shape.plain;
		*indexes = shape.indexes;
		*infos = shape.infos;
		*pkey = shape.pkey;
		return;
	}
	if (!keep)
	{
		*indexes = NIL;
		*infos = NIL;
		*plain = plain_history(rel, indexes, infos, pkey);
		return;
	}
	shape.known = false;
	if (shape.cxt == NULL)
		shape.cxt = AllocSetContextCreate(CacheMemoryContext, "durable history_rows shape",
										  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(shape.cxt);
	shape.indexes = NIL;
	shape.infos = NIL;
	old = MemoryContextSwitchTo(shape.cxt);
	PG_TRY();
	{
		shape.plain = plain_history(rel, &shape.indexes, &shape.infos, &shape.pkey);
	}
	PG_FINALLY();
	{
		MemoryContextSwitchTo(old);
	}
	PG_END_TRY();
	shape.userid = GetUserId();
	/* (an invalidation taken while it was made, by an index's lock, leaves it for this call) */
	shape.known = shape_invalidations == before;
	*plain = shape.plain;
	*indexes = shape.indexes;
	*infos = shape.infos;
	*pkey = shape.pkey;
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

/* Every index's entry for the row at tid, unique ones checked as the executor does. */
static void
insert_index_entries(Relation rel, List *indexes, List *infos, Datum *values, bool *nulls, ItemPointer tid)
{
	ListCell   *lc,
			   *lc2;

	forboth(lc, indexes, lc2, infos)
	{
		DurableInsertIndexEntry(rel, lfirst(lc), lfirst(lc2), values, nulls, tid);
	}
}

/* The event as the next of run in rel, whose shape is plain (indexes: their oids). */
static int64
write_event(Relation rel, List *index_oids, List *infos, int pkey,
			Datum run, int16 code, Jsonb *attributes, Datum time, text *type)
{
	List	   *indexes = NIL;
	int64		event_id;
	Datum	   *values;
	bool	   *nulls;
	HeapTuple	tuple;
	ListCell   *lc;

	DurableDirectWriteBegin("INSERT");
	/* the locks stay to the transaction's end, as the executor's */
	foreach(lc, index_oids)
		indexes = lappend(indexes, index_open(lfirst_oid(lc), RowExclusiveLock));

	if (follows_last_written(rel, run))
		event_id = last_written.event_id + 1;
	else
		event_id = last_event_id(rel, list_nth(indexes, pkey), run, GetActiveSnapshot()) + 1;
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
	insert_index_entries(rel, indexes, infos, values, nulls, &tuple->t_self);
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
	foreach(lc, indexes)
		index_close(lfirst(lc), NoLock);
	list_free(indexes);
	return event_id;
}

/*
 * One event, written directly; false (nothing written) if history_rows is
 * not as plain_history wants it.
 */
static bool
append_direct(Datum run, int16 code, Jsonb *attributes, Datum time, text *type, int64 *event_id)
{
	Relation	rel = open_history();
	List	   *index_oids;
	List	   *infos;
	int			pkey;
	bool		plain;

	if (rel == NULL)
		return false;
	shape_of(rel, &plain, &index_oids, &infos, &pkey);
	/*
	 * (an extension that checks or audits permissions in the executor's
	 * hook, as sepgsql and pgaudit do, must see the statement)
	 */
	if (plain && ExecutorCheckPerms_hook == NULL)
	{
		shape.in_use++;
		PG_TRY();
		{
			*event_id = write_event(rel, index_oids, infos, pkey, run, code, attributes, time, type);
		}
		PG_FINALLY();
		{
			shape.in_use--;
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
