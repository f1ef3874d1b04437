/* A store older than this worker (durable 0.1, during an upgrade) lacks
 * some of its calls: the first call of each that the store refuses (42883)
 * turns the worker to the old path (workflow_poll.c, workflow_outcomes.c,
 * queries.c, activity.c), and says so.
 * After ALTER EXTENSION durable UPDATE the new calls are there, and the old
 * paths cost what the new ones were made to save (the query long poll holds
 * the xmin horizon): so while any old path is taken, each backstop tick
 * asks the catalog which of those calls the store has now, and the worker
 * takes each one back that it has, without a restart. A call that is there
 * and refused all the same (another signature) would turn the worker back
 * at once: it is retried only after the store's version changes again. */
#include <stdio.h>
#include <string.h>
#include "runtime.h"

#define STORE_SQL                                                                                            \
	"SELECT e.extversion, "                                                                              \
	"  'wait_for_query_tasks' = ANY (f.names) AS wait_for_query_tasks, "                                 \
	"  'complete_workflow_tasks_eager' = ANY (f.names) AS complete_workflow_tasks_eager, "               \
	"  'complete_activity_tasks_eager' = ANY (f.names) AS complete_activity_tasks_eager, "               \
	"  'task_schedule_to_start' = ANY (f.names) AS task_schedule_to_start, "                             \
	"  'workflow_task_history' = ANY (f.names) AS workflow_task_history "                                \
	"FROM pg_catalog.pg_extension e, LATERAL (SELECT pg_catalog.array_agg(p.proname::text) AS names "     \
	"  FROM pg_catalog.pg_proc p WHERE p.pronamespace = e.extnamespace) f WHERE e.extname = 'durable'"
static const durable__pg_reads_t store_reads = {
	"the store's calls (pg_proc)",
	(const char *const[]){"extversion", "wait_for_query_tasks", "complete_workflow_tasks_eager",
			      "complete_activity_tasks_eager", "task_schedule_to_start", "workflow_task_history", NULL},
	0};

/* whether the worker took an old path for a call the store lacked */
static int old_paths(durable_worker_t *w)
{
	return w->q_long_poll || w->store_no_eager || w->store_no_handback || w->no_schedule_to_start ||
	       w->store_no_sticky;
}

static int has(PGresult *res, const char *call)
{
	return strcmp(durable__pg_col(res, 0, call), "t") == 0;
}

/* *flag cleared, and said, when the store has call now */
static void take_back(PGresult *res, int *flag, const char *call, const char *what)
{
	if (*flag && has(res, call)) {
		*flag = 0;
		durable__log("INFO", "the store has %s now (durable %s): %s", call, durable__pg_col(res, 0, "extversion"),
			     what);
	}
}

static void on_store(durable__pg_t *pg, PGresult *res, void *arg)
{
	(void)pg;
	durable_worker_t *w = arg;
	w->store_checking = 0;
	if (durable__pg_status(res) < 0 || PQntuples(res) != 1)
		return;   /* logged by the connection if an answer lacked a column; tried again next tick */
	const char *version = durable__pg_col(res, 0, "extversion");
	/* the first look, or an update since the last: the calls it has are
	 * taken back; otherwise one refused although there is only refused
	 * again */
	int changed = strcmp(version, w->store_version) != 0;
	snprintf(w->store_version, sizeof(w->store_version), "%s", version);
	if (!changed)
		return;
	/* 0.1's poll_query_tasks names its columns otherwise: refused, it
	 * stopped the worker's waits for queries; the next tick waits again */
	if (w->q_long_poll && has(res, "wait_for_query_tasks"))
		w->q_retry = 1;
	take_back(res, &w->q_long_poll, "wait_for_query_tasks", "queries are waited for without a snapshot again");
	take_back(res, &w->store_no_eager, "complete_workflow_tasks_eager", "completions offer activity slots again");
	take_back(res, &w->store_no_handback, "complete_activity_tasks_eager",
		  "activity outcomes offer workflow slots again");
	take_back(res, &w->no_schedule_to_start, "task_schedule_to_start",
		  "backstop polls ask how long their tasks waited again");
	take_back(res, &w->store_no_sticky, "workflow_task_history",
		  "polls name this worker (sticky) instead of the runs it holds again");
}

void durable__old_store_check(durable_worker_t *w)
{
	durable__pg_t *pg = w->wf_pg ? w->wf_pg : w->act_pg;
	if (!old_paths(w) || w->store_checking || !durable__pg_connected(pg))
		return;
	if (durable__pg_call(pg, &store_reads, STORE_SQL, 0, NULL, on_store, w) == 0)
		w->store_checking = 1;
}

int durable__sticky(durable_worker_t *w)
{
	return w->opts.history_cache > 0 && !w->store_no_sticky;
}

/* Whether res refused a call for naming what the store lacks (42883, a
 * store older than this worker), and if so: *flag set, and the message
 * logged the first time. */
static int store_lacks(PGresult *res, const char *what, int *flag, const char *message)
{
	if (!res || strcmp(durable__pg_sqlstate(res), "42883") != 0 || !strstr(PQresultErrorMessage(res), what))
		return 0;
	if (!*flag)
		durable__log("INFO", "%s", message);
	*flag = 1;
	return 1;
}

int durable__sticky_unsupported(durable_worker_t *w, PGresult *res, int sent)
{
	/* a call the store has, but without `sticky` (durable before sticky
	 * histories): the worker names its cached runs again until it has */
	return sent && store_lacks(res, "sticky", &w->store_no_sticky,
				   "the store has no sticky histories (durable before 0.2): polls name the runs "
				   "this worker holds");
}

const char *durable__backstop_column(durable_worker_t *w, int backstop)
{
	return backstop && !w->no_schedule_to_start
		       ? ", extract(epoch FROM durable.task_schedule_to_start(task_token)) AS waited"
		       : "";
}

int durable__backstop_unsupported(durable_worker_t *w, PGresult *res)
{
	/* both kinds' backstop polls go out together and fail together */
	return store_lacks(res, "task_schedule_to_start", &w->no_schedule_to_start,
			   "the store has no task_schedule_to_start (durable before 0.2): "
			   "what a backstop poll finds counts however long it waited");
}
