/*
 * durable.h: shared state and entry points of the durable extension.
 *
 * The extension keeps three things in shared memory: the clock offset of
 * 0.1's file (used only until the upgrade moves it into durable.clock), the earliest deadline the timer worker is waiting
 * for (so committing transactions know when to wake it), and the query
 * rendezvous slots through which query_workflow hands a query to a worker
 * and waits for its answer without a table round trip.
 */
#ifndef DURABLE_H
#define DURABLE_H

#include "postgres.h"

#include "access/htup.h"
#include "fmgr.h"
#include "nodes/parsenodes.h"	/* (AclMode) */
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/lockdefs.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"

/* the SQL version this library is built for (durable.control's default_version) */
#define DURABLE_SQL_VERSION "0.2"

#define DURABLE_QUERY_SLOTS 32
#define DURABLE_QUERY_PAYLOAD_MAX (64 * 1024)
#define DURABLE_NAME_MAX 256
#define DURABLE_QUERY_TOKEN_BYTES 16	/* random bytes of a query token */
#define DURABLE_MAX_TIMER_WORKERS 8

typedef enum DurableQueryState
{
	QUERY_FREE = 0,
	QUERY_PENDING,				/* posted, no worker has taken it */
	QUERY_TAKEN,				/* a worker is computing the answer */
	QUERY_ANSWERED				/* answer (or error) is in the slot */
} DurableQueryState;

typedef struct DurableQuerySlot
{
	DurableQueryState state;
	uint64		query_id;
	char		task_queue[DURABLE_NAME_MAX];
	char		namespace_name[DURABLE_NAME_MAX];
	char		workflow_id[DURABLE_NAME_MAX];
	char		run_id[40];
	char		query_type[DURABLE_NAME_MAX];
	int			taker_pid;		/* backend that took it, while TAKEN */
	uint8		taker_token[DURABLE_QUERY_TOKEN_BYTES];	/* handed to the taker, while TAKEN */
	bool		answer_is_error;
	int			args_len;
	int			answer_len;
	char		args[DURABLE_QUERY_PAYLOAD_MAX];
	char		answer[DURABLE_QUERY_PAYLOAD_MAX];
} DurableQuerySlot;

typedef struct DurableShared
{
	/* 0.1's clock offset file, read at start: the clock while 0.1's SQL is installed */
	pg_atomic_uint64 legacy_clock_offset_us;
	/* per timer worker: the TimestampTz it sleeps until, and its pgprocno + 1 (0: not running) */
	pg_atomic_uint64 next_wake[DURABLE_MAX_TIMER_WORKERS];
	/* per timer worker: the earliest deadline a commit woke it for since its tick began */
	pg_atomic_uint64 woken_for[DURABLE_MAX_TIMER_WORKERS];
	pg_atomic_uint32 timer_worker_procno[DURABLE_MAX_TIMER_WORKERS];
	pg_atomic_uint32 history_watchers;	/* sessions that called watch_history() */

	LWLock	   *query_lock;		/* protects the slots and next_query_id */
	uint64		next_query_id;
	ConditionVariable query_posted;	/* pollers sleep here */
	ConditionVariable query_answered;	/* query_workflow callers sleep here */
	DurableQuerySlot slots[DURABLE_QUERY_SLOTS];
} DurableShared;

extern DurableShared *durable_shared;

/* GUCs */
extern char *durable_database;
extern int	durable_tick_batch;
extern int	durable_tick_max_wait_ms;
extern int	durable_timer_workers;
extern int	durable_max_payload_bytes;

/* clock.c */
extern TimestampTz DurableNow(void);

/* history_watch.c: tells watchers that run (a uuid) grew; called by every append */
extern Datum durable_history_changed(PG_FUNCTION_ARGS);

/* the hot path's C functions: jsonb_push.c, kept_plan.c */
struct JsonbParseState;
struct _SPI_plan;
extern void DurableJsonbPushKey(struct JsonbParseState **state, const char *key);
extern void DurableJsonbPushKeyLen(struct JsonbParseState **state, const char *key, int len);
extern void DurableJsonbPushString(struct JsonbParseState **state, const char *s, int len);
extern void DurableJsonbPushFloat8(struct JsonbParseState **state, float8 f);
extern void DurableJsonbPushNull(struct JsonbParseState **state);
extern void DurableJsonbPushInt64(struct JsonbParseState **state, int64 n);
extern void DurableJsonbPushText(struct JsonbParseState **state, struct varlena *t);
extern struct _SPI_plan *DurableKeptPlan(struct _SPI_plan **plan, const char *sql, int nargs, Oid *argtypes);
extern struct _SPI_plan *DurableKeptGenericPlan(struct _SPI_plan **plan, const char *sql, int nargs, Oid *argtypes);
extern uint64 DurableRunStatement(struct _SPI_plan **plan, const char *sql, int nargs, Oid *argtypes, Datum *args,
								  const char *nulls, bool read_only, long limit, int expected, Datum *first,
								  bool *first_null);
extern int64 DurableLoadLegacyClockOffset(void);

/* history_json.c, sticky.c: the histories polls send (a jsonb), and the marks of who holds which */
extern Datum DurableHistoryJsonb(Datum run, bool run_null, Datum from_event, bool from_null, int64 *last);
extern void DurableStickyDefineGucs(void);
extern Size DurableStickyShmemSize(void);
extern void DurableStickyShmemInit(void);

/*
 * From libpq/libpq.h, which cannot be included without the GSSAPI headers
 * (it pulls in libpq-be.h); the function is exported since PostgreSQL 14.
 */
extern bool pq_check_connection(void);

/* queries.c: the rendezvous of queries and workers (query_wait.c waits on it too) */
extern bool DurableAwaitPosted(bool (*look) (void *arg), void *arg, TimestampTz deadline);
extern bool DurableQueryPending(const char *task_queue);
extern void DurableQueryKey(char *dst, text *key);

/* ready_pass.c: what the placing triggers give a workflow task and an activity task (task_insert.c) */
struct RelationData;
struct SnapshotData;
struct TupleTableSlot;
extern void DurablePlaceWorkflowTask(struct RelationData *tasks, Datum run_id, bool run_id_null,
									 Datum namespace, bool namespace_null, Datum task_queue, bool queue_null,
									 struct SnapshotData *snapshot, Datum *values, bool *nulls);
extern float8 DurablePlaceActivityTask(struct RelationData *tasks, Datum namespace, Datum task_queue,
									   Datum priority, Datum fairness_key, Datum weight, const bool *nulls,
									   struct SnapshotData *snapshot);

/* task_token.c: a task token's grammar ("<kind><task_id>.<fence>", 1 to 18 digits each) */
extern bool DurableReadToken(const char *token, size_t len, const char *kind, int64 *task_id, int64 *fence);

/*
 * direct_insert.c: what history_append.c, task_insert.c, close_update.c and
 * run_insert.c share with the executor's INSERT, and the shape of its table
 * each of the last three keeps between calls (DurableShapeOf)
 */
struct IndexInfo;
struct ItemPointerData;
extern bool DurableDirectInsertTable(struct RelationData *rel);
struct FormData_pg_attribute;
extern bool DurableColumnTakes(const struct FormData_pg_attribute *att, Oid type);
extern bool DurableDirectInsertIndex(struct RelationData *index, struct IndexInfo *info);
extern void DurableInsertIndexEntry(struct RelationData *heap, struct RelationData *index, struct IndexInfo *info,
									const Datum *values, const bool *nulls, struct ItemPointerData *tid);
struct DurableShape;
extern void DurableInsertRowEntries(struct RelationData *heap, struct DurableShape *shape, const bool *has_entry,
									int skip, int natts, const Datum *values, const bool *nulls,
									struct ItemPointerData *tid, const bool *unchanged);
/* a direct write's start (the executor's refusals, a statement's snapshot) and end */
extern void DurableDirectWriteBegin(const char *command);
extern void DurableDirectWriteEnd(bool written);
extern bool DurableInsertArbiterEntry(struct RelationData *heap, struct RelationData *index, struct IndexInfo *info,
									  const Datum *values, const bool *nulls, struct ItemPointerData *tid);
/* a table's index written directly, read once per change of it (DurableReadDirectIndexes) */
typedef struct DurableDirectIndex
{
	Oid			oid;
	struct IndexInfo *info;		/* kept: its reader forgets it on the index's invalidation */
	struct ExprState *predicate;	/* prepared; NULL: none */
} DurableDirectIndex;
typedef bool (*DurableDirectIndexVisit) (struct RelationData *index, DurableDirectIndex *entry, void *arg);
struct EState;
/* what a direct writer keeps of a table between calls, for its CHECKs and predicates */
typedef struct DurableShapeMemory
{
	MemoryContext cxt;
	struct EState *estate;
	struct TupleTableSlot *slot;	/* the row they read */
} DurableShapeMemory;

/*
 * The part every direct writer's kept shape of a table has (embedded in
 * it, static, zeroed): whether it is still valid, and what DurableShapeOf
 * forgets it by. The caller's reader fills the rest of its shape.
 */
typedef struct DurableShape
{
	bool		valid;			/* read since the table, an index read or a function last changed */
	Oid			relid;
	Oid			userid;			/* the role whose rights the reader read (InvalidOid: it read none) */
	bool		plain;			/* the reader's answer: the direct write does what the statement would */
	int			nindexes;		/* DurableReadDirectIndexes' */
	const DurableDirectIndex *indexes;	/* (the caller's array, as it was read into) */
	DurableShapeMemory mem;		/* the shape's memory and the predicates' and CHECKs' executor state */
	bool		watched;		/* (in the list of shapes to forget) */
	struct DurableShape *next;
} DurableShape;

/* reads rel into the shape arg (in shape memory); false: the statement writes its rows */
typedef bool (*DurableShapeRead) (struct RelationData *rel, void *arg);

/* shape, for rel: read anew with read(rel, arg) unless still valid (name: its memory's, a literal) */
extern void DurableShapeOf(DurableShape *shape, struct RelationData *rel, const char *name, DurableShapeRead read,
						   void *arg);
extern bool DurableReadDirectIndexes(struct RelationData *rel, DurableShape *shape, DurableDirectIndex *indexes,
									 int max, DurableDirectIndexVisit visit, void *arg);
/* a table's CHECKs prepared for a direct write; false: more than max, or one calls a volatile function */
extern bool DurableReadChecks(struct RelationData *rel, struct EState *estate, struct ExprState **checks, int max,
							  int *nchecks);
extern bool DurableShapeHolds(DurableShapeMemory *mem, struct ExprState *expr, bool is_check, int natts,
							  const Datum *values, const bool *nulls);

/* A table and the index a file reads it by, remembered per backend: static, zeroed (not looked up yet). */
typedef struct DurableLookup
{
	bool		known;			/* heap and index looked up since either last changed */
	Oid			heap;			/* InvalidOid: no such table */
	Oid			index;			/* InvalidOid: none to read it by */
	bool		watched;		/* (relcache_watch.c's: in its list of lookups to forget) */
	struct DurableLookup *next;
} DurableLookup;

/*
 * direct_update.c: what close_update.c and lease_update.c share: the
 * shape of the table an update keeps (its set columns, the primary key on
 * one column, indexes, CHECKs, the role's rights), a row's new version
 * written as ExecUpdate writes it
 */
#define DURABLE_UPDATE_MAX_COLUMNS 8
#define DURABLE_UPDATE_MAX_INDEXES 32
#define DURABLE_UPDATE_MAX_CHECKS 16
typedef struct DurableUpdateColumn
{
	const char *name;
	Oid			type;
	RegProcedure eq;			/* the key's: its btree equality, as the probe compares */
} DurableUpdateColumn;
struct Trigger;
struct HeapTupleData;
typedef struct DurableUpdateShape
{
	DurableShape base;			/* plain: the direct update does what the statement would; its memory holds all */
	/* the caller's, set before the first call */
	DurableUpdateColumn key;	/* the row's key: a primary key on this column alone */
	int			ncolumns;		/* the columns the update sets */
	const DurableUpdateColumn *columns;
	/* a trigger that never fires for the caller's rows (its WHEN), or NULL (DurableNeverFiresOnState: see there) */
	bool		(*never_fires) (struct DurableUpdateShape *s, const struct Trigger *trigger);
	int			state_column;	/* DurableNeverFiresOnState's: the set column (of columns) that holds state_value */
	const char *state_value;
	/* the columns the caller reads of the row (beside those it sets), found once per change of the table */
	int			nreads;
	const DurableUpdateColumn *reads;
	/* an index the caller scans for its rows: told each index, sets scan_index to the one (none: the statement) */
	bool		(*visit) (struct DurableUpdateShape *s, struct RelationData *rel, struct RelationData *index,
						  DurableDirectIndex *entry);
	/* read */
	DurableLookup table;		/* the table's oid, remembered */
	int16		key_att;		/* (AttrNumbers) */
	int16		att[DURABLE_UPDATE_MAX_COLUMNS];
	int16		read_att[DURABLE_UPDATE_MAX_COLUMNS * 2];
	Oid			scan_index;		/* visit's answer */
	Oid			pkey;
	DurableDirectIndex indexes[DURABLE_UPDATE_MAX_INDEXES];
	bool		unchanged[DURABLE_UPDATE_MAX_INDEXES];	/* the update sets none of its columns */
	int			nchecks;
	struct ExprState *checks[DURABLE_UPDATE_MAX_CHECKS];
} DurableUpdateShape;
/* a direct update under way: its table, primary key and slot open, the row read */
typedef struct DurableUpdate
{
	struct RelationData *rel;
	struct RelationData *pkey;
	struct TupleTableSlot *slot;
	struct HeapTupleData *old_row;
	Datum	   *values;			/* the row's, natts of them */
	bool	   *nulls;
	int			result;			/* DurableUpdateRow's heap_update's TM_Result; TM_Invisible: not tried */
} DurableUpdate;
extern bool DurableUpdateBegin(DurableUpdateShape *s, const char *relname, const char *name, DurableUpdate *u);
extern void DurableUpdateEnd(DurableUpdate *u, bool written);
extern bool DurableUpdateFind(DurableUpdateShape *s, DurableUpdate *u, Datum key);
extern void DurableUpdateFrom(DurableUpdate *u, struct TupleTableSlot *slot);
extern bool DurableUpdateRow(DurableUpdateShape *s, DurableUpdate *u);
extern bool DurableNeverFiresOnState(DurableUpdateShape *s, const struct Trigger *trigger);
extern bool DurableTextEqConst(Node *qual, Var **var, Datum *value, Oid *collation);

/* run_rows.c: whether a table of _close_run's (bit 1 << table) may hold a row of run whose text column (activity_tasks': activity_id) equals value */
#define DURABLE_RUN_ACTIVITY_TASKS 1
extern bool DurableRunMayHoldRowWith(int table, Datum run, struct varlena *value);

/* index_probe.c: the first row visible to snapshot whose index's leading column(s) equal key(s), into slot */
extern bool DurableProbeIndex(struct RelationData *heap, struct RelationData *index, RegProcedure eq, Datum key,
							  struct SnapshotData *snapshot, struct TupleTableSlot *slot);
extern bool DurableProbeIndexKeys(struct RelationData *heap, struct RelationData *index, int nkeys,
								  const RegProcedure *eqs, const Datum *keys, struct SnapshotData *snapshot,
								  struct TupleTableSlot *slot);

/*
 * probed_table.c: a table a direct path reads (or deletes) rows of by a
 * unique index on one or two columns (static, its looked-up part zeroed),
 * the columns it reads of them found once per change of the table; a row
 * found so deleted as the DELETE statement deletes it
 */
#define DURABLE_PROBED_MAX_COLUMNS 9
typedef struct DurableProbedTable
{
	const char *relname;		/* in schema durable */
	int			nkeys;
	const char *keys[2];
	Oid			key_types[2];
	RegProcedure eqs[2];		/* the keys' btree equalities, as the probe compares */
	int			ncolumns;		/* read from the row found */
	const char *columns[DURABLE_PROBED_MAX_COLUMNS];
	Oid			column_types[DURABLE_PROBED_MAX_COLUMNS];
	AclMode		rights;			/* the statement's */
	/* looked up (DurableFillProbedTable), the index read only under the table's lock (DurableOpenLookup) */
	DurableLookup lookup;
	int16		atts[DURABLE_PROBED_MAX_COLUMNS];	/* (AttrNumbers) */
} DurableProbedTable;
extern void DurableFillProbedTable(DurableLookup *lookup, const void *arg);
extern bool DurableProbedFits(struct RelationData *rel, AclMode rights);
extern struct RelationData *DurableOpenProbed(DurableProbedTable *t, LOCKMODE lockmode);
extern void DurableProbedDeleteBegin(struct RelationData *rel);
extern bool DurableProbedDelete(struct RelationData *rel, struct TupleTableSlot *slot);

/* activity_result.c: an activity's result (complete_activity_tasks' common item), the tasks' keys */
struct varlena;
extern const char *DurableActivityResult(Datum run, bool run_null, Datum task, bool task_null, struct varlena *token,
										 Datum result, bool result_null, Datum identity, bool identity_null);
extern bool DurableActivityTaskKeys(int n, const int64 *task_ids, const bool *wanted, Datum *runs,
									Datum *namespaces, Datum *queues, bool *found);

/*
 * call_function.c: a SQL function of durable's schema the C calls, found by
 * name and argument types (static, its remembered part zeroed), and the
 * call; and a C function of durable's called directly
 */
#define DURABLE_CALL_MAX_ARGS 7
typedef struct DurableFunction
{
	const char *name;			/* in schema durable */
	int			nargs;
	Oid			argtypes[DURABLE_CALL_MAX_ARGS];
	/* remembered (call_function.c's) */
	Oid			oid;			/* InvalidOid: to look up */
	uint32		hashvalue;		/* its pg_proc row's, in the PROCOID cache */
	/* times forgotten: a value made by calling it is kept against this, not against oid, which any lookup makes valid again */
	uint32		changes;
	bool		watched;		/* (in the list of functions to forget) */
	struct DurableFunction *next;
} DurableFunction;

extern Oid	DurableFunctionOid(DurableFunction *fn, bool missing_ok);
/* fn's argument i is of row's type, its oid looked up again if that changed */
extern void DurableFunctionRowArg(DurableFunction *fn, int i, HeapTupleHeader row);
extern Datum DurableCallFunction(Oid fn, Oid collation, int nargs, const Datum *args, const bool *nulls);
extern Datum DurableCallDirect(PGFunction fn, Oid collation, int nargs, const Datum *args, const bool *nulls,
							   bool *isnull);
extern void DurableNotify(const char *kind, Datum namespace, bool namespace_null, Datum task_queue, bool task_queue_null);
extern TimestampTz DurableSqlNow(void);

/* run_insert.c: _insert_run for the C; *direct: written directly, exactly as given */
extern Datum DurableInsertRun(FunctionCallInfo fcinfo, bool *direct);

/* namespace_seen.c: a namespace whose row this backend saw committed (and none deleted since) */
extern bool DurableNamespaceSeen(struct varlena *namespace);
extern bool DurableNamespaceCommitted(struct varlena *namespace);

/* row_by_key.c: a run's row for the C, and a row's columns read by name (the numbers found once per row type) */
extern Datum DurableWorkflowRow(Datum run, bool *isnull);
typedef struct DurableRowColumns
{
	int			n;
	const char *const *names;
	/* remembered: the row type they were found in, and its identifier in the typcache */
	Oid			type;
	uint64		identifier;
	int16		atts[16];
} DurableRowColumns;
extern void DurableReadColumns(Datum row, DurableRowColumns *cols, Datum *values, bool *nulls);

/*
 * eager.c, handback.c, schedule_task.c, sticky.c: a run's next workflow
 * task (_schedule_workflow_task), and what the hand-back keeps of it
 */
struct varlena;
extern bool DurableWorkflowQueueArmed(struct varlena *namespace, struct varlena *queue);
/* (a jsonb) */
extern Datum DurableScheduledAttributes(struct varlena *queue, Datum timeout, bool timeout_null, int32 attempt,
										bool attempt_null);
extern bool DurableHandbackDefer(Datum run, Datum namespace, bool namespace_null, Datum queue, bool queue_null,
								 Datum timeout, bool timeout_null);
extern void DurableScheduleWorkflowTask(Datum run, bool run_null, int32 attempt, bool attempt_null);
extern void DurableScheduleWorkflowTaskOf(Datum run, Datum namespace, Datum queue, Datum timeout, bool timeout_null,
										  int32 attempt);
/* (cached: a jsonb, NULL for none) */
extern Datum DurableCachedEvent(struct varlena *cached, Datum run);
extern Datum DurableHistorySticky(Datum run, Datum from_event, Datum sticky, bool sticky_null, bool *isnull);

/* cache_watch.c: the extension's one invalidation callback of each kind, told to each watcher */
typedef void (*DurableRelcacheForget) (Oid relid);
typedef void (*DurableSyscacheForget) (int cacheid, uint32 hashvalue);
extern void DurableWatchRelcache(DurableRelcacheForget forget);
extern void DurableWatchSyscache(int cacheid, DurableSyscacheForget forget);

/* Fills in lookup->heap and lookup->index (both InvalidOid when called); arg is the caller's. */
typedef void (*DurableLookupFill) (DurableLookup *lookup, const void *arg);

/* The table opened with lockmode, its remembered index valid under the lock; NULL: no table or index. */
extern struct RelationData *DurableOpenLookup(DurableLookup *lookup, LOCKMODE lockmode, DurableLookupFill fill,
											  const void *arg);

/* DurableOpenLookup's fill for a table read by its primary key on one column (arg: a DurablePrimaryKey) */
typedef struct DurablePrimaryKey
{
	const char *relname;		/* in schema durable */
	const char *column;			/* the key's only column */
	Oid			type;			/* the column's */
} DurablePrimaryKey;

extern void DurableFillPrimaryKey(DurableLookup *lookup, const void *arg);

/* durable.<relname> opened with lockmode, its oid remembered in lookup; NULL: no such table */
extern struct RelationData *DurableOpenTable(DurableLookup *lookup, const char *relname, LOCKMODE lockmode);

/* plan_sizes.c: the extension's schema in this database (InvalidOid: not installed), cached */
extern Oid DurableNamespaceOid(void);

/* version.c */
extern char *DurableInstalledVersion(void);
extern pg_attribute_noreturn() void DurableRefuseOldSql(const char *what);
extern pg_attribute_noreturn() void DurableRefuseChangedSchema(const char *object, const char *problem);

/* prepare.c */
extern int	durable_timer_lead_ms;
extern void DurableTimerPrepareDefineGucs(void);
/* DurableBurstSize: too far ahead to count yet (look at DurableBurstCountAt) */
#define DURABLE_BURST_LATER (-1)
extern int	DurableBurstSize(TimestampTz next_due);
extern TimestampTz DurableBurstCountAt(TimestampTz next_due);
extern TimestampTz DurablePrepareStart(TimestampTz next_due, int burst);
extern int	DurablePreparedRound(int me, TimestampTz due, int part);

/* wakeup.c */
extern void DurableWakeupInit(void);
extern void DurableWakeTimerWorkersAtCommit(void);

/* purge.c */
extern int	durable_purge_batch;
extern int	durable_purge_interval_ms;
extern int	durable_purge_delay_ms;
extern void DurablePurgeDefineGucs(void);
extern bool DurablePurgeStep(TimestampTz next_due);
extern long DurablePurgeWaitMs(void);

/* step.c */
extern bool DurableStep(const char *sql, int32 arg, bool async_commit, const char *activity,
						Datum *result, bool *isnull);

/* batch.c */
extern int	durable_batch_step_items;
extern void DurableBatchDefineGucs(void);
extern bool DurableBatchStep(void);
extern long DurableBatchWaitMs(void);

/* malloc_trim.c */
extern void DurableMallocDefineGucs(void);

/* plan_sizes.c */
extern void DurablePlanSizesInit(void);

/* bgworker.c */
extern void DurableRegisterTimerWorker(void);
extern PGDLLEXPORT void durable_timer_worker_main(Datum arg);

#endif							/* DURABLE_H */
