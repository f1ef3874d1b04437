/*
 * What a role may do with each file, so that stat's modes tell the truth.
 *
 * Two things decide it in the store: EXECUTE on the entry point a file uses,
 * and the store's scoped grants, asked with durable.has_access (the answer
 * its own checks act on): reader, operator or worker access on the mount's
 * namespace, and for next, worker access on that task queue. The store stays
 * the authority: a mode is a promise about the next call, kept RIGHTS_TTL
 * seconds.
 */
#define _POSIX_C_SOURCE 200809L
#include "callers.h"
#include "fs.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RIGHTS_TTL 5	/* seconds: modes follow grant changes this fast */
#define MAX_ROLES 64
#define MAX_QUEUES 64	/* (role, queue) answers remembered for next */
#define ROLE_MAX 64

/* What each grant of the scoped model lets through (docs/security.md). */
#define READER (R_READ | R_LIST | R_RUNS | R_QUERY | R_QUEUES | R_QTASKS | R_SCHEDS | R_SCHED)
#define OPERATOR (READER | R_START | R_SIGNAL | R_CTL | R_SCTL | R_UPDATE | R_ACTCTL | R_LIMITS | R_SETLIMITS | \
		  R_BUILDS | R_SETBUILDS | R_SUPDATE)
#define WORKER (R_LEASE | R_COMPLETE | R_FAIL | R_HEARTBEAT)
/*
 * Rights that EXECUTE alone decides: declaring search attributes is for
 * durable_admin, whatever the role's grants on the namespace, so no grant
 * masks it (it did: the file read 0444 to the administrators who may write it).
 */
#define EXECUTE_ONLY (R_SATTR)

static const struct { const char *fn; unsigned right; } entry_points[] = {
	{ "describe_workflow", R_READ }, { "list_workflows", R_LIST }, { "list_runs", R_RUNS },
	{ "start_workflow", R_START }, { "signal_workflow", R_SIGNAL },
	{ "cancel_workflow", R_CTL }, { "query_workflow", R_QUERY },
	{ "list_task_queues", R_QUEUES }, { "list_activity_tasks", R_QTASKS },
	{ "poll_activity_tasks", R_LEASE }, { "complete_activity_task", R_COMPLETE },
	{ "fail_activity_task", R_FAIL }, { "heartbeat_activity_task", R_HEARTBEAT },
	{ "list_schedules", R_SCHEDS }, { "describe_schedule", R_SCHED },
	{ "pause_schedule", R_SCTL }, { "update_workflow", R_UPDATE },
	{ "pause_activity", R_ACTCTL }, { "list_task_queue_limits", R_LIMITS },
	{ "set_task_queue_limits", R_SETLIMITS }, { "add_search_attribute", R_SATTR },
	{ "list_build_id_rules", R_BUILDS }, { "set_build_id_rules", R_SETBUILDS },
	{ "update_schedule", R_SUPDATE },
};

struct rights {
	char role[ROLE_MAX];
	time_t at;
	unsigned bits;
};

/* Worker access to one task queue, for that queue's next. */
struct queue_right {
	char role[ROLE_MAX];
	char queue[256];
	time_t at;
	bool may;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct rights cache[MAX_ROLES];
static int cache_next;
static struct queue_right queues[MAX_QUEUES];
static int queues_next;

/* Asks the store, as the current caller's role; false if it could not say. */
static bool fetch(struct rights *out)
{
	struct db_err e = { "" };
	PGresult *r;
	/* has_function_privilege as current_user: the connection acts as the caller's role */
	if (db_query(&r, &e, true, &sql_callable_functions, NULL) != 0)
		return false;
	bool scoped = false;
	out->bits = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *fn = db_col(r, i, "proname");
		scoped |= !strcmp(fn, "has_access");
		for (size_t k = 0; k < sizeof entry_points / sizeof entry_points[0]; k++)
			if (!strcmp(fn, entry_points[k].fn))
				out->bits |= entry_points[k].right;
	}
	PQclear(r);
	if (!scoped || !out->bits)
		return true; /* an older store: EXECUTE says it all */
	const char *p[] = { conf.ns };
	/* the store's own answer for the role on the namespace (see sql_namespace_access) */
	if (db_query(&r, &e, true, &sql_namespace_access, p) != 0)
		return false;
	unsigned access = (db_true(r, 0, "reader") ? READER : 0) | (db_true(r, 0, "operator") ? OPERATOR : 0) |
			  (db_true(r, 0, "worker") ? WORKER : 0);
	out->bits &= access | EXECUTE_ONLY;
	PQclear(r);
	return true;
}

/* The role's rights, from the cache or the store; false if unknown. */
static bool rights(const char *role, struct rights *out)
{
	time_t now = time(NULL);
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_ROLES; i++)
		if (cache[i].at && now - cache[i].at < RIGHTS_TTL && !strcmp(cache[i].role, role)) {
			*out = cache[i];
			pthread_mutex_unlock(&lock);
			return true;
		}
	pthread_mutex_unlock(&lock);
	memset(out, 0, sizeof *out);
	if (!fetch(out))
		return false;
	snprintf(out->role, sizeof out->role, "%s", role);
	out->at = now;
	pthread_mutex_lock(&lock);
	struct rights *slot = NULL;
	for (int i = 0; i < MAX_ROLES && !slot; i++)
		if (cache[i].at && !strcmp(cache[i].role, role))
			slot = &cache[i];
	if (!slot) {
		slot = &cache[cache_next];
		cache_next = (cache_next + 1) % MAX_ROLES;
	}
	*slot = *out;
	pthread_mutex_unlock(&lock);
	return true;
}

/* Worker access to queue, from the cache or the store; true if unknown. */
static bool queue_granted(const char *role, const char *queue)
{
	time_t now = time(NULL);
	pthread_mutex_lock(&lock);
	for (int i = 0; i < MAX_QUEUES; i++)
		if (queues[i].at && now - queues[i].at < RIGHTS_TTL && !strcmp(queues[i].role, role) &&
		    !strcmp(queues[i].queue, queue)) {
			bool may = queues[i].may;
			pthread_mutex_unlock(&lock);
			return may;
		}
	pthread_mutex_unlock(&lock);
	struct db_err e = { "" };
	PGresult *r;
	const char *p[] = { queue, conf.ns };
	if (db_query(&r, &e, true, &sql_queue_worker_access, p) != 0)
		return true; /* an older store, or it could not say */
	bool may = db_true(r, 0, "may");
	PQclear(r);
	pthread_mutex_lock(&lock);
	struct queue_right *q = &queues[queues_next];
	queues_next = (queues_next + 1) % MAX_QUEUES;
	snprintf(q->role, sizeof q->role, "%s", role);
	snprintf(q->queue, sizeof q->queue, "%s", queue);
	q->may = may;
	q->at = now;
	pthread_mutex_unlock(&lock);
	return may;
}

/*
 * The rights that reading (*r) and writing (*w) n need, any of them; 0: none.
 * The kind's row says, except where the file's name decides.
 */
static void needs(const struct node *n, unsigned *r, unsigned *w)
{
	*r = kind_info(n->kind)->read;
	*w = kind_info(n->kind)->write;
	if (n->kind == K_QFILE && n->name && !strcmp(n->name, "tasks"))
		*r = R_QTASKS;
	if (n->kind == K_TASKFILE)
		*r = *w = !strcmp(n->name, "result") ? R_COMPLETE
			: !strcmp(n->name, "failure") ? R_FAIL : R_HEARTBEAT;
}

void rights_of(const struct node *n, const char *role, bool *may_read, bool *may_write)
{
	unsigned r, w;
	needs(n, &r, &w);
	*may_read = *may_write = true;
	struct rights have;
	if (!(r | w) || !rights(role, &have))
		return;
	*may_read = !r || (have.bits & r);
	*may_write = !w || (have.bits & w);
	if (n->kind == K_NEXT && *may_read)
		*may_read = queue_granted(role, n->wf); /* n->wf: the queue's name */
}
