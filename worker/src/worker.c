/* The worker: registry, the workflow-task poller (replay on the loop, one
 * completion per task), the query long-poller, signals and graceful drain. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "replay.h"
#include "runtime.h"

/* Short, because a worker killed with -9 leaves its backend waiting that
 * long, and a query posted meanwhile goes to that backend (see docs/sdk.md). */
#define QUERY_WAIT_MS "2000"

durable__registered_t *durable__find(durable__registered_t *list, const char *name)
{
	for (; list; list = list->next)
		if (strcmp(list->name, name) == 0)
			return list;
	return NULL;
}

static int add(durable__registered_t **list, const char *name, durable_workflow_fn wf, durable_activity_fn act,
	       void *arg)
{
	durable__registered_t *r = durable__find(*list, name);
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r || !(r->name = strdup(name))) {
			free(r);
			return -ENOMEM;
		}
		r->next = *list;
		*list = r;
	}
	r->wf = wf;
	r->act = act;
	r->arg = arg;
	return 0;
}

int durable_worker_register_workflow(durable_worker_t *w, const char *type, durable_workflow_fn fn)
{
	return type && fn ? add(&w->workflows, type, fn, NULL, NULL) : -EINVAL;
}

int durable_worker_register_activity(durable_worker_t *w, const char *type, durable_activity_fn fn, void *arg)
{
	return type && fn ? add(&w->activities, type, NULL, fn, arg) : -EINVAL;
}

static char *dup_or(const char *s, const char *dflt)
{
	return strdup(s && *s ? s : dflt);
}

int durable_worker_new(const durable_worker_options_t *opts, durable_worker_t **out)
{
	char ident[300], host[256] = "host";
	if (!opts || !opts->task_queue || !*opts->task_queue)
		return -EINVAL;
	durable_worker_t *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->opts = *opts;
	if (w->opts.max_concurrent_activities <= 0)
		w->opts.max_concurrent_activities = 16;
	if (w->opts.max_workflow_batch <= 0 || w->opts.max_workflow_batch > 1000)
		w->opts.max_workflow_batch = 32;
	gethostname(host, sizeof(host) - 1);
	snprintf(ident, sizeof(ident), "%s:%d", host, (int)getpid());
	w->dsn = dup_or(opts->dsn, "");
	w->task_queue = strdup(opts->task_queue);
	w->namespace_ = dup_or(opts->namespace_, "default");
	w->identity = dup_or(opts->identity, ident);
	w->activities_dir = opts->activities_dir ? strdup(opts->activities_dir) : NULL;
	w->outcomes = json_array();
	if (w->opts.history_cache == 0)
		w->opts.history_cache = 128;
	if (w->opts.history_cache > 0 && !(w->cache = json_object())) {
		durable_worker_free(w);
		return -ENOMEM;
	}
	if (!w->dsn || !w->task_queue || !w->namespace_ || !w->identity || !w->outcomes ||
	    (opts->activities_dir && !w->activities_dir)) {
		durable_worker_free(w);
		return -ENOMEM;
	}
	*out = w;
	return 0;
}

static void free_list(durable__registered_t *r)
{
	while (r) {
		durable__registered_t *n = r->next;
		free(r->name);
		free(r);
		r = n;
	}
}

void durable_worker_free(durable_worker_t *w)
{
	if (!w)
		return;
	free_list(w->workflows);
	free_list(w->activities);
	json_decref(w->outcomes);
	json_decref(w->cache);
	free(w->dsn);
	free(w->task_queue);
	free(w->namespace_);
	free(w->identity);
	free(w->activities_dir);
	free(w);
}

/* Workflow tasks ---------------------------------------------------------- */

static void poll_workflows(durable_worker_t *w);

typedef struct {
	durable_worker_t *w;
	char token[];
} wf_done_t;

static void on_wf_done(durable__pg_t *pg, PGresult *res, void *arg)
{
	(void)pg;
	wf_done_t *d = arg;
	int st = durable__pg_status(res);
	if (st == DURABLE_ELEASE)
		durable__log("WARN", "workflow task %s: lease lost, result discarded", d->token);
	else if (st < 0)
		durable__log("ERROR", "workflow task %s: completion failed: %s", d->token,
			     res ? PQresultErrorMessage(res) : "connection lost");
	durable_worker_t *w = d->w;
	free(d);
	durable__worker_maybe_done(w);
}

/* Completing a task is a transaction of its own, so several connections
 * complete a batch in parallel while the polling connection polls again. */
static durable__pg_t *completion_pg(durable_worker_t *w)
{
	return w->ndone ? w->done_pg[w->rr++ % (unsigned)w->ndone] : w->wf_pg;
}

static void run_workflow_task(durable_worker_t *w, PGresult *res, int row)
{
	const char *token = PQgetvalue(res, row, 0);
	json_error_t jerr;
	json_t *fresh = json_loads(PQgetvalue(res, row, 5), 0, &jerr);
	json_t *history = fresh ? durable__cache_merge(w, PQgetvalue(res, row, 2), fresh) : NULL;
	json_decref(fresh);
	if (fresh && !history) {
		/* Cannot happen while the cache keeps what it asked about; if it
		 * does, the task times out and comes back with its whole history. */
		durable__log("WARN", "workflow %s: task %s skipped: its history does not follow the cached one",
			     PQgetvalue(res, row, 1), token);
		durable__cache_drop(w, PQgetvalue(res, row, 2));
		return;
	}
	durable__task_t task = {
		.workflow_id = PQgetvalue(res, row, 1),
		.run_id = PQgetvalue(res, row, 2),
		.workflow_type = PQgetvalue(res, row, 3),
		.history = history,
		.started_event_id = strtoll(PQgetvalue(res, row, 4), NULL, 10),
	};
	durable__registered_t *reg = durable__find(w->workflows, task.workflow_type);
	durable__outcome_t out;
	wf_done_t *tok = malloc(sizeof(*tok) + strlen(token) + 1);
	if (tok) {
		tok->w = w;
		strcpy(tok->token, token);
	}
	if (!history || !tok || durable__replay(reg ? reg->wf : NULL, &task, &out) < 0) {
		durable__log("ERROR", "workflow %s: task %s not run (out of memory or bad history)", task.workflow_id,
			     token);
		json_decref(history);
		free(tok);
		return;
	}
	w->workflow_tasks++;
	json_t *last = json_array_get(out.commands, json_array_size(out.commands) - 1);
	const char *type = json_string_value(json_object_get(last, "type"));
	/* Keep the history of a run that goes on; a closed run or a failed task
	 * starts afresh. */
	if (out.kind != DURABLE__COMPLETE || (type && strstr(type, "WorkflowExecution")))
		durable__cache_drop(w, task.run_id);
	if (out.kind == DURABLE__COMPLETE) {
		if (type && strcmp(type, "FailWorkflowExecution") == 0)
			durable__log("INFO", "workflow %s (%s) fails: %s", task.workflow_id, task.workflow_type,
				     json_string_value(json_object_get(json_object_get(last, "failure"), "message")));
		else if (type && strstr(type, "WorkflowExecution"))
			durable__log("DEBUG", "workflow %s (%s): %s", task.workflow_id, task.workflow_type, type);
		char *cmds = json_dumps(out.commands, JSON_COMPACT);
		const char *p[] = {token, cmds, w->identity};
		durable__log("DEBUG", "workflow %s: task %s -> %s", task.workflow_id, token, cmds);
		if (!cmds || durable__pg_query(completion_pg(w), "SELECT durable.complete_workflow_task($1, $2::jsonb, $3)", 3,
					       p, on_wf_done, tok) < 0)
			free(tok);
		free(cmds);
	} else {
		char *failure = json_dumps(out.failure, JSON_COMPACT);
		const char *p[] = {token, out.cause, failure, w->identity};
		durable__log("ERROR", "workflow %s (%s) run %s: task failed: %s: %s", task.workflow_id,
			     task.workflow_type, task.run_id, out.cause,
			     json_string_value(json_object_get(out.failure, "message")));
		if (!failure || durable__pg_query(completion_pg(w), "SELECT durable.fail_workflow_task($1, $2, $3::jsonb, $4)",
						  4, p, on_wf_done, tok) < 0)
			free(tok);
		free(failure);
	}
	durable__outcome_free(&out);
	json_decref(history);
}

static void on_wf_polled(durable__pg_t *pg, PGresult *res, void *arg)
{
	(void)pg;
	durable_worker_t *w = arg;
	w->wf_polling = 0;
	if (durable__pg_status(res) < 0) {
		if (res)
			durable__log("ERROR", "poll_workflow_tasks failed: %s", PQresultErrorMessage(res));
		return;   /* after a reconnect, the ready callback polls again */
	}
	int n = PQntuples(res);
	for (int i = 0; i < n; i++)
		run_workflow_task(w, res, i);
	/* A full batch means more may wait; a notification during the poll too. */
	if (n == w->opts.max_workflow_batch || w->wf_again)
		poll_workflows(w);
	durable__worker_maybe_done(w);
}

static void poll_workflows(durable_worker_t *w)
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
	json_t *cached = durable__cache_param(w);
	char *cached_text = cached ? json_dumps(cached, JSON_COMPACT) : NULL;
	json_decref(cached);
	const char *p[] = {w->task_queue, w->identity, batch, w->namespace_, cached_text};
	w->wf_again = 0;
	if (durable__pg_query(w->wf_pg,
			      "SELECT task_token, workflow_id, run_id, workflow_type, started_event_id, history "
			      "FROM durable.poll_workflow_tasks($1, $2, $3::int, $5::jsonb, $4)",
			      5, p, on_wf_polled, w) == 0)
		w->wf_polling = 1;
	free(cached_text);
}

static void on_listen(durable__pg_t *pg, PGresult *res, void *arg)
{
	(void)pg;
	(void)arg;
	if (durable__pg_status(res) < 0 && res)
		durable__log("ERROR", "LISTEN failed: %s", PQresultErrorMessage(res));
}

/* LISTEN on the queue's channel, then poll: the order matters, so that no
 * task scheduled between the poll and the LISTEN goes unnoticed. */
static void on_channel(durable__pg_t *pg, PGresult *res, void *arg)
{
	durable_worker_t *w = arg;
	char *chan = pg == w->wf_pg ? w->wf_channel : w->act_channel;
	if (durable__pg_status(res) < 0 || PQntuples(res) != 1)
		return;
	snprintf(chan, sizeof(w->wf_channel), "%s", PQgetvalue(res, 0, 0));
	char sql[300], *quoted = durable__pg_quote_ident(pg, chan);
	if (quoted) {
		snprintf(sql, sizeof(sql), "LISTEN %s", quoted);
		durable__pg_query(pg, sql, 0, NULL, on_listen, w);
		free(quoted);
	}
	if (pg == w->wf_pg)
		poll_workflows(w);
	else
		durable__activities_poll(w);
}

static void on_ready(durable__pg_t *pg, const char *channel, void *arg)
{
	(void)channel;
	durable_worker_t *w = arg;
	const char *p[] = {pg == w->act_pg ? "activity" : "workflow", w->task_queue, w->namespace_};
	durable__pg_query(pg, "SELECT durable.task_queue_channel($1, $2, $3)", 3, p, on_channel, w);
	if (pg == w->act_pg)
		durable__activities_flush(w);
}

static void on_notify(durable__pg_t *pg, const char *channel, void *arg)
{
	durable_worker_t *w = arg;
	(void)channel;
	if (pg == w->wf_pg)
		poll_workflows(w);
	else
		durable__activities_poll(w);
}

/* Queries ------------------------------------------------------------------- */

static void poll_queries(durable_worker_t *w);

static void on_answered(durable__pg_t *pg, PGresult *res, void *arg)
{
	(void)pg;
	(void)arg;
	int st = durable__pg_status(res);
	if (st == DURABLE_ELEASE)
		durable__log("WARN", "query answered too late: the caller gave up");
	else if (st < 0)
		durable__log("ERROR", "answer_query_task failed: %s", res ? PQresultErrorMessage(res) : "connection lost");
}

static void answer_query(durable_worker_t *w, PGresult *res, int row)
{
	json_t *history = json_loads(PQgetvalue(res, row, 5), 0, NULL);
	json_t *args = json_loads(PQgetvalue(res, row, 4), JSON_DECODE_ANY, NULL);
	json_t *started = json_array_get(history, 0);
	const char *type = json_string_value(json_object_get(json_object_get(started, "attributes"), "workflow_type"));
	durable__task_t task = {.workflow_id = PQgetvalue(res, row, 1), .run_id = PQgetvalue(res, row, 2),
				.workflow_type = type ? type : "", .history = history,
				.query_type = PQgetvalue(res, row, 3), .query_args = args};
	durable__registered_t *reg = durable__find(w->workflows, task.workflow_type);
	durable__outcome_t out;
	char *answer = NULL;
	if (history && durable__replay(reg ? reg->wf : NULL, &task, &out) == 0) {
		answer = out.error ? NULL : json_dumps(out.answer ? out.answer : json_null(), JSON_ENCODE_ANY);
		const char *p[] = {PQgetvalue(res, row, 0), answer, out.error};
		durable__pg_query(w->q_pg, "SELECT durable.answer_query_task($1::bigint, $2::jsonb, $3)", 3, p,
				  on_answered, w);
		durable__outcome_free(&out);
	}
	free(answer);
	json_decref(history);
	json_decref(args);
}

static void on_queries(durable__pg_t *pg, PGresult *res, void *arg)
{
	(void)pg;
	durable_worker_t *w = arg;
	w->q_polling = 0;
	if (durable__pg_status(res) < 0)
		return;
	for (int i = 0; i < PQntuples(res); i++)
		answer_query(w, res, i);
	poll_queries(w);
}

static void poll_queries(durable_worker_t *w)
{
	if (w->stopping || w->q_polling || !w->q_pg)
		return;
	const char *p[] = {w->task_queue, w->identity, QUERY_WAIT_MS, w->namespace_};
	if (durable__pg_query(w->q_pg,
			      "SELECT query_id, workflow_id, run_id, query_type, args, history "
			      "FROM durable.poll_query_tasks($1, $2, 10, $3::int, $4)",
			      4, p, on_queries, w) == 0)
		w->q_polling = 1;
}

static void on_q_ready(durable__pg_t *pg, const char *channel, void *arg)
{
	(void)pg;
	(void)channel;
	poll_queries(arg);
}

/* Lifecycle ------------------------------------------------------------------ */

static void close_all(durable_worker_t *w)
{
	if (w->closed)
		return;
	w->closed = 1;
	durable__pg_close(w->wf_pg);
	for (int i = 0; i < w->ndone; i++)
		durable__pg_close(w->done_pg[i]);
	w->ndone = 0;
	durable__pg_close(w->act_pg);
	durable__pg_close(w->q_pg);
	w->wf_pg = w->act_pg = w->q_pg = NULL;
	uv_close((uv_handle_t *)&w->sigterm, NULL);
	uv_close((uv_handle_t *)&w->sigint, NULL);
	uv_close((uv_handle_t *)&w->wakeup, NULL);
	uv_close((uv_handle_t *)&w->drain_timer, NULL);
	durable__log("INFO", "stopped after %llu workflow tasks and %llu activity tasks",
		     (unsigned long long)w->workflow_tasks, (unsigned long long)w->activity_tasks);
}

void durable__worker_maybe_done(durable_worker_t *w)
{
	if (!w || !w->stopping || w->closed)
		return;
	if (w->running > 0 || w->completing || json_array_size(w->outcomes) > 0 || durable__pg_busy(w->wf_pg))
		return;
	for (int i = 0; i < w->ndone; i++)
		if (durable__pg_busy(w->done_pg[i]))
			return;
	close_all(w);
}

static void on_drain_timeout(uv_timer_t *t)
{
	durable_worker_t *w = t->data;
	durable__log("WARN", "drain timed out with %d activities running; they will time out and be retried",
		     w->running);
	close_all(w);
	uv_stop(&w->loop);
}

void durable_worker_stop(durable_worker_t *w)
{
	if (w->stopping) {
		durable__log("WARN", "second stop request: exiting without waiting");
		close_all(w);
		uv_stop(&w->loop);
		return;
	}
	w->stopping = 1;
	durable__log("INFO", "draining: %d activities running", w->running);
	/* The query long-poll holds its connection; nothing to finish there. */
	durable__pg_close(w->q_pg);
	w->q_pg = NULL;
	uv_timer_start(&w->drain_timer, on_drain_timeout, 60000, 0);
	durable__worker_maybe_done(w);
}

static void on_signal(uv_signal_t *s, int signum)
{
	durable__log("INFO", "signal %d", signum);
	durable_worker_stop(s->data);
}

int durable_worker_run(durable_worker_t *w)
{
	/* A child that exits without reading its stdin would otherwise kill the
	 * worker with SIGPIPE when its input is written; EPIPE is handled. */
	signal(SIGPIPE, SIG_IGN);
	int rc = uv_loop_init(&w->loop);
	if (rc < 0)
		return rc;
	uv_signal_init(&w->loop, &w->sigterm);
	uv_signal_init(&w->loop, &w->sigint);
	w->sigterm.data = w->sigint.data = w;
	uv_signal_start(&w->sigterm, on_signal, SIGTERM);
	uv_signal_start(&w->sigint, on_signal, SIGINT);
	uv_timer_init(&w->loop, &w->drain_timer);
	w->drain_timer.data = w;
	uv_async_init(&w->loop, &w->wakeup, durable__activities_wakeup);
	w->wakeup.data = w;
	durable__activities_init(w);
	durable__log("INFO", "worker %s polling task queue %s (namespace %s): %s%s%s", w->identity, w->task_queue,
		     w->namespace_, w->opts.no_workflows ? "" : "workflows ",
		     w->opts.no_activities ? "" : "activities ", w->activities_dir ? w->activities_dir : "");
	if (!w->opts.no_workflows) {
		durable__pg_new(&w->loop, w->dsn, "workflows", on_ready, on_notify, w, &w->wf_pg);
		int n = w->opts.completion_connections > 0 ? w->opts.completion_connections : 2;
		for (int i = 0; i < n && i < 8; i++) {
			char name[32];
			snprintf(name, sizeof(name), "completions-%d", i + 1);
			if (durable__pg_new(&w->loop, w->dsn, name, NULL, NULL, w, &w->done_pg[w->ndone]) == 0)
				w->ndone++;
		}
		durable__pg_new(&w->loop, w->dsn, "queries", on_q_ready, NULL, w, &w->q_pg);
	}
	if (!w->opts.no_activities)
		durable__pg_new(&w->loop, w->dsn, "activities", on_ready, on_notify, w, &w->act_pg);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	if (!w->closed)
		close_all(w);
	uv_run(&w->loop, UV_RUN_DEFAULT);   /* let the close callbacks run */
	rc = uv_loop_close(&w->loop);
	if (rc < 0)
		durable__log("WARN", "loop closed with handles open: %s", uv_strerror(rc));
	return 0;
}
