/* The workflow-task poll: what it asks the store for, and what it does with
 * the answer (the tasks themselves run in workflow_task.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "runtime.h"

static void on_wf_polled(durable__pg_t *pg, PGresult *res, void *arg)
{
	(void)pg;
	durable_worker_t *w = arg;
	w->wf_polling = 0;
	if (durable__pg_status(res) < 0) {
		/* a backstop poll refused for asking how long its tasks waited
		 * goes again at once without asking, still a backstop poll */
		int unsupported = durable__backstop_unsupported(w, res) || durable__sticky_unsupported(w, res,
													 w->wf_poll_sticky);
		w->wf_backstop_poll = unsupported && w->wf_backstop_poll;
		if (res && !unsupported)
			durable__log("ERROR", "poll_workflow_tasks failed: %s", PQresultErrorMessage(res));
		/* after a reconnect, the ready callback polls again; on a live
		 * connection, a notification that came during the failed poll
		 * would otherwise be dropped with it, and so would the tasks
		 * it had locked before it failed (durable__poll_again) */
		if (res && durable__poll_again(&w->wf_poll_failed, w->wf_again, unsupported))
			durable__workflows_poll(w);
		return;
	}
	w->wf_poll_failed = 0;
	int n = PQntuples(res);
	durable__backstop_found(&w->wf_backstop_poll, &w->wf_unannounced, res, "workflow");
	for (int i = 0; i < n; i++)
		durable__workflow_task_run(w, res, i);
	/* A full batch means more may wait; a notification during the poll too. */
	if (n == w->opts.max_workflow_batch || w->wf_again)
		durable__workflows_poll(w);   /* which trims first */
	else
		durable__cache_trim(w);   /* what the answer brought, and runs dropped meanwhile */
	durable__worker_maybe_done(w);
}

#define WF_POLL_COLUMNS "SELECT task_token, workflow_id, run_id, workflow_type, started_event_id, history"
/* $6 is the build id, $7 the sticky text: each only where the worker has one
 * (an unversioned worker against a store older than sticky histories calls
 * what a 0.1 store has too) */
#define WF_POLL_FROM " FROM durable.poll_workflow_tasks($1, $2, $3::int, $5::jsonb, $4"
#define WF_POLL_BUILD ", build_id => $6"
#define WF_POLL_STICKY ", sticky => $7"
static const durable__pg_reads_t wf_poll_reads = {
	"durable.poll_workflow_tasks",
	(const char *const[]){"task_token", "workflow_id", "run_id", "workflow_type", "started_event_id", "history",
			      NULL},
	1};

int durable__poll_again(int *failed, int notified, int unsupported)
{
	if (notified || unsupported)
		return 1;
	int again = !*failed;
	*failed = 1;
	return again;
}

void durable__workflows_poll(durable_worker_t *w)
{
	char batch[16];
	if (w->stopping || w->opts.no_workflows || !w->wf_pg)
		return;
	if (w->wf_polling) {
		w->wf_again = 1;
		return;
	}
	snprintf(batch, sizeof(batch), "%d", w->opts.max_workflow_batch);
	durable__cache_trim(w);
	/* a sticky poll names no cached runs: the store knows which it sent */
	int sticky = durable__sticky(w);
	char *cached_text = sticky ? NULL : durable__cache_param(w);
	const char *p[] = {w->task_queue, w->identity, batch, w->namespace_, cached_text, w->build_id, w->sticky};
	char sql[512];
	snprintf(sql, sizeof(sql), "%s%s%s%s%s)", WF_POLL_COLUMNS, durable__backstop_column(w, w->wf_backstop_poll),
		 WF_POLL_FROM, w->build_id || sticky ? WF_POLL_BUILD : "", sticky ? WF_POLL_STICKY : "");
	w->wf_again = 0;
	w->wf_poll_sticky = sticky;
	if (durable__pg_call(w->wf_pg, &wf_poll_reads, sql, sticky ? 7 : w->build_id ? 6 : 5, p, on_wf_polled, w) == 0) {
		w->wf_polling = 1;
		w->wf_poll_named = ++w->cache_requests;
	}
	free(cached_text);
}
