/*
 * authorize.c: durable._authorize(access, task_queue, namespace), the check
 * every entry point makes (api/02_access.sql), with the answers that allowed
 * a call kept per backend.
 *
 * The check is a scan of durable.grants with pg_has_role for each row, in
 * two plpgsql calls: 4-8 us, made three times per one-activity workflow
 * (the start, each workflow task's completion) and once per activity, for
 * the same few questions over and over. A backend keeps each (caller, access,
 * queue, namespace) that was allowed, and forgets them all when what the
 * answer was read from may have changed:
 *   - a grant row written: the statement trigger on durable.grants
 *     (durable._grants_changed) sends an invalidation of the table's
 *     pg_class row, which every backend takes in where it takes in any
 *     catalog change (the start of its next transaction, a lock), and
 *     this backend at its next command (a rolled back change: at the
 *     rollback);
 *   - a role, a membership, a function changed (pg_authid, pg_auth_members,
 *     pg_proc): pg_has_role's answer, the check's own code;
 *   - while this transaction has written a grant row, nothing is kept (the
 *     change may still roll back).
 * Each call first takes in the invalidations others sent (cheap when there
 * are none), so a revoke committed by another session is seen at this
 * backend's next call, also inside a transaction already open, as the full
 * check saw it at its next statement under READ COMMITTED. An allow is kept
 * only when the grants say so on a snapshot taken after every invalidation
 * this backend took in: the full check runs on the statement's snapshot
 * (under REPEATABLE READ, older than a revoke taken in meanwhile), and an
 * allow read there, kept, would outlive the invalidation already consumed.
 * Nothing is kept unless grants_changed fires always (a write with
 * session_replication_role = replica, or with the trigger disabled, would
 * tell no one); disabling it invalidates the table, so what was kept goes.
 * Nor in a database that subscribes to a publication (logical replication's
 * apply fires row triggers only).
 * A refusal is never kept: the full check runs again and raises its error.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "durable.h"

PG_FUNCTION_INFO_V1(durable_authorize);
PG_FUNCTION_INFO_V1(durable_grants_changed);

#define NAME_BYTES 255			/* _check_name's limit: longer names are not kept */
#define MAX_KEPT 1024			/* then all are forgotten, and kept anew */

typedef struct Allowed
{
	Oid			role;
	uint8		access;			/* 1 worker, 2 operator, 3 reader */
	bool		queue_null;
	uint16		queue_len;
	uint16		namespace_len;
	char		queue[NAME_BYTES];
	char		namespace[NAME_BYTES];
} Allowed;						/* the key, zero-padded: the whole entry */

static HTAB *allowed = NULL;
static DurableFunction full_check = {"_authorize_by_grants", 3, {TEXTOID, TEXTOID, TEXTOID}};
static DurableFunction may = {"_may", 3, {TEXTOID, TEXTOID, TEXTOID}};	/* the answer, without raising */
static Oid	grants = InvalidOid;	/* durable.grants */
static uint32 grants_hash = 0;	/* its pg_class row's hash in the RELOID cache */
static uint64 invalidations = 0;
static TransactionId grants_written_by = InvalidTransactionId;

static void
forget(void)
{
	invalidations++;
	if (allowed != NULL)
	{
		hash_destroy(allowed);
		allowed = NULL;
	}
}

static void
forget_on_syscache(int cacheid, uint32 hashvalue)
{
	/* any pg_class row with another hash than grants' is not ours (0: all) */
	if (cacheid == RELOID && hashvalue != 0 && OidIsValid(grants) && hashvalue != grants_hash)
		return;
	if (cacheid == RELOID)
		grants = InvalidOid;
	forget();
}

/* ALTER TABLE grants ... TRIGGER invalidates the relation, not its pg_class row */
static void
forget_on_relcache(Oid relid)
{
	if (!OidIsValid(relid) || relid == grants)
		forget();
}

static void
register_callbacks(void)
{
	static bool registered = false;

	if (registered)
		return;
	DurableWatchSyscache(RELOID, forget_on_syscache);
	DurableWatchSyscache(AUTHOID, forget_on_syscache);
	DurableWatchSyscache(AUTHMEMROLEMEM, forget_on_syscache);
	DurableWatchSyscache(PROCOID, forget_on_syscache);
	DurableWatchSyscache(SUBSCRIPTIONOID, forget_on_syscache);
	DurableWatchRelcache(forget_on_relcache);
	registered = true;
}

/* The key of a question, or false when it is not one to keep. */
static bool
make_key(FunctionCallInfo fcinfo, Allowed *key)
{
	text	   *access,
			   *queue,
			   *namespace;
	const char *a;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		return false;
	access = PG_GETARG_TEXT_PP(0);
	namespace = PG_GETARG_TEXT_PP(2);
	queue = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);
	if (VARSIZE_ANY_EXHDR(namespace) > NAME_BYTES || (queue && VARSIZE_ANY_EXHDR(queue) > NAME_BYTES))
		return false;
	memset(key, 0, sizeof(*key));
	a = VARDATA_ANY(access);
	if (VARSIZE_ANY_EXHDR(access) == 6 && memcmp(a, "worker", 6) == 0)
		key->access = 1;
	else if (VARSIZE_ANY_EXHDR(access) == 8 && memcmp(a, "operator", 8) == 0)
		key->access = 2;
	else if (VARSIZE_ANY_EXHDR(access) == 6 && memcmp(a, "reader", 6) == 0)
		key->access = 3;
	else
		return false;
	key->role = GetOuterUserId();	/* as durable._caller_role() */
	key->queue_null = queue == NULL;
	if (queue)
	{
		key->queue_len = VARSIZE_ANY_EXHDR(queue);
		memcpy(key->queue, VARDATA_ANY(queue), key->queue_len);
	}
	key->namespace_len = VARSIZE_ANY_EXHDR(namespace);
	memcpy(key->namespace, VARDATA_ANY(namespace), key->namespace_len);
	return true;
}

/* Looks durable.grants up, and the hash its pg_class row has in the RELOID cache. */
static void
find_grants(void)
{
	Oid			schema = DurableNamespaceOid();

	grants = OidIsValid(schema) ? get_relname_relid("grants", schema) : InvalidOid;
	grants_hash = OidIsValid(grants) ? GetSysCacheHashValue1(RELOID, ObjectIdGetDatum(grants)) : 0;
}

/*
 * Whether every write to grants tells every backend: grants_changed fires
 * always (with session_replication_role = replica too) after each statement
 * that inserts, updates, deletes or truncates. The caller holds a lock on
 * grants (the full check read it), so this takes in no invalidation.
 */
static bool
grants_tell_all(void)
{
	Relation	rel = try_relation_open(grants, AccessShareLock);
	TriggerDesc *desc = rel != NULL ? rel->trigdesc : NULL;
	bool		tells = false;

	for (int i = 0; desc != NULL && i < desc->numtriggers && !tells; i++)
	{
		Trigger    *t = &desc->triggers[i];

		tells = strcmp(t->tgname, "grants_changed") == 0 &&
			t->tgenabled == TRIGGER_FIRES_ALWAYS &&
			TRIGGER_FOR_AFTER(t->tgtype) && !TRIGGER_FOR_ROW(t->tgtype) &&
			TRIGGER_FOR_INSERT(t->tgtype) && TRIGGER_FOR_UPDATE(t->tgtype) &&
			TRIGGER_FOR_DELETE(t->tgtype) && TRIGGER_FOR_TRUNCATE(t->tgtype) &&
			t->tgnattr == 0 && t->tgqual == NULL;
	}
	if (rel != NULL)
		relation_close(rel, NoLock);
	return tells;
}

/*
 * Whether this database subscribes to a publication: logical replication's
 * apply fires no statement trigger, so a grant it writes would tell no one.
 * A subscription created later forgets what was kept (SUBSCRIPTIONOID).
 */
static bool
subscribes(void)
{
	CatCList   *list = SearchSysCacheList1(SUBSCRIPTIONNAME, ObjectIdGetDatum(MyDatabaseId));
	bool		any = list->n_members > 0;

	ReleaseSysCacheList(list);
	return any;
}

/*
 * Whether the grants allow the call on a snapshot taken now, after every
 * invalidation this backend took in: what may be kept until the next one.
 * (Not under SERIALIZABLE: a read on another snapshot than the transaction's
 * would take part in its conflict checks; such a call keeps nothing.)
 */
static bool
allowed_now(FunctionCallInfo fcinfo)
{
	LOCAL_FCINFO(call, 3);
	FmgrInfo	flinfo;
	Datum		result;

	fmgr_info(DurableFunctionOid(&may, false), &flinfo);
	InitFunctionCallInfoData(*call, &flinfo, 3, PG_GET_COLLATION(), NULL, NULL);
	for (int i = 0; i < 3; i++)
	{
		call->args[i].value = PG_GETARG_DATUM(i);
		call->args[i].isnull = PG_ARGISNULL(i);
	}
	PushActiveSnapshot(GetLatestSnapshot());
	result = FunctionCallInvoke(call);
	PopActiveSnapshot();
	return !call->isnull && DatumGetBool(result);
}

/*
 * durable._authorize(access text, task_queue text, namespace text) returns
 * void: raises 42501 unless the caller may (the full check,
 * durable._authorize_by_grants, says how), quietly when it was allowed
 * before and nothing it was read from changed since.
 */
Datum
durable_authorize(PG_FUNCTION_ARGS)
{
	Allowed		key;
	bool		keep;
	uint64		before;

	register_callbacks();
	/* what others committed since: as the full check's next statement saw it */
	AcceptInvalidationMessages();
	keep = make_key(fcinfo, &key);
	if (keep && allowed != NULL && hash_search(allowed, &key, HASH_FIND, NULL) != NULL)
		PG_RETURN_VOID();

	/* (an invalidation taken in by the lookups below: the check runs, and its answer is not kept) */
	before = invalidations;
	if (!OidIsValid(grants))
		find_grants();
	{
		LOCAL_FCINFO(call, 3);
		FmgrInfo	flinfo;

		fmgr_info(DurableFunctionOid(&full_check, false), &flinfo);
		InitFunctionCallInfoData(*call, &flinfo, 3, PG_GET_COLLATION(), NULL, NULL);
		for (int i = 0; i < 3; i++)
		{
			call->args[i].value = PG_GETARG_DATUM(i);
			call->args[i].isnull = PG_ARGISNULL(i);
		}
		FunctionCallInvoke(call);	/* raises when refused */
	}

	/*
	 * Allowed. Kept when this transaction wrote no grants, every write to
	 * grants tells this backend, the grants allow it now too, and nothing
	 * it read changed meanwhile (an invalidation taken during the checks).
	 */
	if (keep && OidIsValid(grants) &&
		!IsolationIsSerializable() && !IsInParallelMode() &&	/* for GetLatestSnapshot */
		!(TransactionIdIsValid(grants_written_by) && TransactionIdIsCurrentTransactionId(grants_written_by)) &&
		grants_tell_all() && !subscribes() && allowed_now(fcinfo) && invalidations == before)
	{
		if (allowed == NULL || hash_get_num_entries(allowed) >= MAX_KEPT)
		{
			HASHCTL		ctl;

			if (allowed != NULL)
				hash_destroy(allowed);
			allowed = NULL;		/* (hash_create may fail: never keep a freed table) */
			ctl.keysize = sizeof(Allowed);
			ctl.entrysize = sizeof(Allowed);
			ctl.hcxt = TopMemoryContext;
			allowed = hash_create("durable allowed calls", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		}
		hash_search(allowed, &key, HASH_ENTER, NULL);
	}
	PG_RETURN_VOID();
}

/*
 * The statement trigger grants_changed on durable.grants: every backend's
 * kept answers are forgotten once this transaction commits (and this one's
 * at the next command, or at the rollback), by an invalidation of the
 * table's pg_class row.
 */
Datum
durable_grants_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigger = (TriggerData *) fcinfo->context;
	Relation	pg_class;
	HeapTuple	row;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigger->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigger->tg_event))
		elog(ERROR, "durable._grants_changed: not called as an AFTER ... FOR EACH STATEMENT trigger");
	grants_written_by = GetTopTransactionId();
	forget();
	pg_class = table_open(RelationRelationId, AccessShareLock);
	row = SearchSysCacheCopy1(RELOID, ObjectIdGetDatum(RelationGetRelid(trigger->tg_relation)));
	if (!HeapTupleIsValid(row))
		elog(ERROR, "durable._grants_changed: no pg_class row for relation %u", RelationGetRelid(trigger->tg_relation));
	CacheInvalidateHeapTuple(pg_class, row, NULL);
	heap_freetuple(row);
	table_close(pg_class, AccessShareLock);
	return PointerGetDatum(NULL);
}
