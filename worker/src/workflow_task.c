/* Running a leased workflow task: its history (polled, handed back, or
 * asked for whole) read, decoded and merged with the history cache, the
 * workflow run or replayed, and its outcome queued for the completion
 * batches (workflow_outcomes.c). */
#include <stdlib.h>
#include <string.h>
#include "json_text.h"
#include "replay.h"
#include "runtime.h"

/* A payload this worker cannot decode (no codec, no such key) or encode:
 * the task fails, and is retried with backoff until a worker that has the
 * key takes it. */
static void codec_failed_task(durable_worker_t *w, const char *token, const char *workflow_id, const char *run_id,
			      const char *why)
{
	durable__log("ERROR", "workflow %s run %s: task failed: %s: %s", workflow_id, run_id, DURABLE__CODEC_FAILURE,
		     why);
	durable__cache_drop(w, run_id);
	durable__workflow_outcome_queue(w, json_pack("{s:s, s:s, s:{s:s, s:s}}", "task_token", token, "cause",
						     "WORKFLOW_WORKER_UNHANDLED_FAILURE", "failure", "message", why,
						     "type", DURABLE__CODEC_FAILURE),
					token);
}

/* A leased workflow task as a poll (or a hand-back) answers it. */
typedef struct {
	const char *token, *workflow_id, *run_id, *workflow_type, *started_event_id, *history;
} polled_t;

static void run_polled(durable_worker_t *w, const polled_t *p, int whole);

/* Sticky histories (api/82_sticky.sql): a task came with only the events
 * after those the store last sent this worker for its run, and the worker
 * no longer holds those (it evicted the run, dropped it after a failed
 * task, or the poll that sent them never reached it). Its whole history is
 * asked for, and the task replays from it. The task's fields (not its
 * history) are copied into one block with it: the answer they came in is
 * freed when its callback returns. */
typedef struct {
	durable_worker_t *w;
	polled_t task;   /* its strings point into text */
	char text[];
} refetch_t;

#define TASK_HISTORY_SQL "SELECT history FROM durable.workflow_task_history($1) AS history"
static const durable__pg_reads_t task_history_reads = {"durable.workflow_task_history",
						       (const char *const[]){"history", NULL}, 0};

static void on_task_history(durable__pg_t *pg, PGresult *res, void *arg)
{
	(void)pg;
	refetch_t *r = arg;
	durable_worker_t *w = r->w;
	if (durable__pg_status(res) < 0 || PQntuples(res) != 1) {
		/* the lease is gone (another worker, a timeout) or the
		 * connection broke: the task comes back by its timeout */
		durable__log("WARN", "workflow %s: task %s: its whole history could not be read: %s",
			     r->task.workflow_id, r->task.token, res ? PQresultErrorMessage(res) : "no connection");
	} else {
		r->task.history = durable__pg_col(res, 0, "history");
		run_polled(w, &r->task, 1);
	}
	free(r);
	durable__worker_maybe_done(w);
}

/* s copied at *at, which moves past it */
static const char *pack(char **at, const char *s)
{
	size_t n = strlen(s) + 1;
	char *copy = memcpy(*at, s, n);
	*at += n;
	return copy;
}

static int refetch(durable_worker_t *w, const polled_t *p)
{
	size_t room = strlen(p->token) + strlen(p->workflow_id) + strlen(p->run_id) + strlen(p->workflow_type) +
		      strlen(p->started_event_id) + 5;
	refetch_t *r = malloc(sizeof(*r) + room);
	if (!r)
		return -1;
	char *at = r->text;
	r->w = w;
	r->task = (polled_t){pack(&at, p->token), pack(&at, p->workflow_id), pack(&at, p->run_id),
			     pack(&at, p->workflow_type), pack(&at, p->started_event_id), NULL};
	const char *params[] = {r->task.token};
	if (durable__pg_call(w->wf_pg, &task_history_reads, TASK_HISTORY_SQL, 1, params, on_task_history, r) < 0) {
		free(r);
		return -1;
	}
	w->histories_refetched++;
	return 0;
}

void durable__workflow_task_run(durable_worker_t *w, PGresult *res, int row)
{
	polled_t p = {durable__pg_col(res, row, "task_token"),	   durable__pg_col(res, row, "workflow_id"),
		      durable__pg_col(res, row, "run_id"),	   durable__pg_col(res, row, "workflow_type"),
		      durable__pg_col(res, row, "started_event_id"), durable__pg_col(res, row, "history")};
	run_polled(w, &p, 0);
}

static long long last_event_id(json_t *history)
{
	json_t *last = json_array_get(history, json_array_size(history) - 1);
	return last ? (long long)json_integer_value(json_object_get(last, "event_id")) : 0;
}

/* whole: p's history is the run's whole history, asked for by refetch */
static void run_polled(durable_worker_t *w, const polled_t *p, int whole)
{
	const char *token = p->token, *run_id = p->run_id;
	json_error_t jerr;
	char cerr[512];
	/* a history none of whose objects has a codec's field holds no
	 * encoded payload: not walked for them (read by jansson, it is) */
	size_t len = strlen(p->history);
	int coded;
	json_t *loaded = durable__json_read_watch(p->history, len, 0, DURABLE_CODEC_FIELD, &coded);
	if (!loaded) {
		coded = 1;
		loaded = durable__json_load_jansson(p->history, len, 0, &jerr);
	}
	json_t *fresh = !loaded ? NULL : coded ? durable__decode(&w->codecs, loaded, cerr, sizeof(cerr))
					       : json_incref(loaded);
	json_decref(loaded);
	if (loaded && !fresh) {
		codec_failed_task(w, token, p->workflow_id, run_id, cerr);
		return;
	}
	json_t *history = fresh ? durable__cache_merge(w, run_id, fresh) : NULL;
	json_decref(fresh);
	long long started = strtoll(p->started_event_id, NULL, 10);
	if (history && !whole && started > 0 && last_event_id(history) < started) {
		/* Only the newest events, and they stop short of the task's own
		 * WorkflowTaskStarted (an empty answer among them): the store
		 * believed this worker held events it never got, the answer of a
		 * poll whose transaction rolled back and whose event ids came
		 * back. Taken as "nothing new", the task would replay without
		 * the signals that made it. */
		json_decref(history);
		history = NULL;
	}
	if (fresh && !history) {
		/* Only the newest events, and not those after what the cache
		 * holds: a sticky poll's (a mark this worker no longer matches),
		 * which the whole history mends; otherwise the cache let go of
		 * what it asked about, which cannot happen, and the task times
		 * out and comes back whole. */
		durable__cache_drop(w, run_id);
		if (!whole && !w->store_no_sticky && refetch(w, p) == 0) {
			durable__log("DEBUG", "workflow %s: task %s: sent only its newest events, which do not follow "
				     "what this worker holds: asking for its whole history", p->workflow_id, token);
			return;
		}
		durable__log("WARN", "workflow %s: task %s skipped: its history does not follow the cached one",
			     p->workflow_id, token);
		return;
	}
	durable__task_t task = {
		.workflow_id = p->workflow_id,
		.run_id = run_id,
		.workflow_type = p->workflow_type,
		.history = history,
		.started_event_id = started,
	};
	durable__registered_t *reg = durable__find(w->workflows, task.workflow_type);
	durable__outcome_t out;
	/* the run is kept before the send: a task that fails or closes the run drops it */
	if (!history || durable__runs_task(w, reg ? reg->wf : NULL, &task, &out) < 0) {
		durable__log("ERROR", "workflow %s: task %s not run (out of memory or bad history)", task.workflow_id,
			     token);
		json_decref(history);
		return;
	}
	if (out.kind == DURABLE__LOCAL) {
		/* local_activity.c runs them, replays again and sends the outcome */
		if (durable__local_start(w, token, &task, out.local) < 0)
			durable__log("ERROR", "workflow %s: task %s: cannot run its local activities (out of memory)",
				     task.workflow_id, token);
	} else {
		durable__workflow_task_send(w, token, &task, &out);
	}
	durable__outcome_free(&out);
	json_decref(history);
}

void durable__workflow_task_send(durable_worker_t *w, const char *token, const durable__task_t *t,
				 durable__outcome_t *o)
{
	durable__task_t task = *t;
	durable__outcome_t out = *o;
	char cerr[512];
	w->workflow_tasks++;
	json_t *last = json_array_get(out.commands, json_array_size(out.commands) - 1);
	const char *type = json_string_value(json_object_get(last, "type"));
	/* Keep the history of a run that goes on; a closed run or a failed task
	 * starts afresh. */
	if (out.kind != DURABLE__COMPLETE || durable__closes_run(type))
		durable__cache_drop(w, task.run_id);
	if (out.kind == DURABLE__COMPLETE) {
		if (type && strcmp(type, "FailWorkflowExecution") == 0)
			durable__log("INFO", "workflow %s (%s) fails: %s", task.workflow_id, task.workflow_type,
				     json_string_value(json_object_get(json_object_get(last, "failure"), "message")));
		else if (durable__closes_run(type))
			durable__log("DEBUG", "workflow %s (%s): %s", task.workflow_id, task.workflow_type, type);
		if (durable__debug_enabled()) {
			char *cmds = durable__json_text(out.commands);
			durable__log("DEBUG", "workflow %s: task %s -> %s", task.workflow_id, token, cmds ? cmds : "?");
			free(cmds);
		}
		json_t *commands = durable__encode_commands(&w->codecs, out.commands, cerr, sizeof(cerr));
		if (commands)
			durable__workflow_outcome_queue(w, durable__json_pair("task_token", token, "commands", commands),
							token);
		else
			codec_failed_task(w, token, task.workflow_id, task.run_id, cerr);
	} else {
		durable__log("ERROR", "workflow %s (%s) run %s: task failed: %s: %s", task.workflow_id,
			     task.workflow_type, task.run_id, out.cause,
			     json_string_value(json_object_get(out.failure, "message")));
		durable__workflow_outcome_queue(w, json_pack("{s:s, s:s, s:O}", "task_token", token, "cause", out.cause,
							     "failure", out.failure ? out.failure : json_null()),
						token);
	}
}
