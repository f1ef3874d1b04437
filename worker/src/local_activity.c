/* Local activities, the worker's side: a workflow task whose replay asked
 * for local activities is held here while they run (in parallel, on the
 * thread pool or as executables, like activity tasks), retried in the
 * worker with their retry policy and timeouts, then given to the run's
 * kept function (or the task is replayed again with their outcomes) until
 * it asks for nothing more; its commands (with a LocalActivity marker per
 * outcome) complete the task (run_cache.c durable__runs_locals).
 *
 * Meanwhile the task's lease is extended (durable.heartbeat_workflow_task)
 * at 40 % of the workflow task timeout, so a long local activity does not
 * make the store time the task out and hand it to another worker. A lost
 * lease (the run was reset, terminated, or the task timed out anyway)
 * asks the attempts to stop (durable_heartbeat() returns 1) and drops the
 * task's outcome. A backoff longer than local_retry_threshold is not waited
 * here: the failed attempt is recorded with its backoff, and the workflow
 * waits for it with a durable timer (workflow_local.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "runtime.h"

typedef struct durable_activity_ctx_s act_t;
typedef struct local local_t;

typedef struct durable__wtask {
	durable_worker_t *w;
	struct durable__wtask *next;   /* w->wtasks */
	char *token, *workflow_id, *run_id, *workflow_type;
	int64_t started_event_id;
	json_t *history;         /* a reference */
	json_t *results;         /* "<id>#<attempt>" -> the marker's details */
	int pending;             /* local activities of this round still going */
	int refs;                /* the task, each local's timer, the heartbeat timer and query */
	int lost;                /* the lease is gone: run nothing more, send nothing */
	int finished;
	uv_timer_t heartbeat;
	local_t *locals;
} wtask_t;

struct local {
	wtask_t *wt;
	char *key, *id, *type;
	json_t *input, *options; /* references */
	int attempt;
	int64_t scheduled_ms;    /* wall clock of the first attempt */
	uv_timer_t timer;        /* the attempt's timeout, or the backoff */
	act_t *a;                /* the running attempt, NULL between attempts */
	int timeout_is_schedule; /* the attempt's timer is the schedule-to-close deadline */
	local_t *next;
};

#define HEARTBEAT_SQL "SELECT durable.heartbeat_workflow_task($1)"

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double num(json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static void free_wtask(wtask_t *wt)
{
	free(wt->token);
	free(wt->workflow_id);
	free(wt->run_id);
	free(wt->workflow_type);
	json_decref(wt->history);
	json_decref(wt->results);
	free(wt);
}

static void free_local(local_t *l)
{
	free(l->key);
	free(l->id);
	free(l->type);
	json_decref(l->input);
	json_decref(l->options);
	free(l);
}

static void release(wtask_t *wt)
{
	if (--wt->refs > 0)
		return;
	durable_worker_t *w = wt->w;
	for (wtask_t **pp = &w->wtasks; *pp; pp = &(*pp)->next)
		if (*pp == wt) {
			*pp = wt->next;
			break;
		}
	free_wtask(wt);
	w->local_tasks--;
	durable__worker_maybe_done(w);
}

static void on_closed_heartbeat(uv_handle_t *h)
{
	release(h->data);
}

static void finish(wtask_t *wt)
{
	if (wt->finished)
		return;
	wt->finished = 1;
	uv_close((uv_handle_t *)&wt->heartbeat, on_closed_heartbeat);
	release(wt);
}

static void on_closed_local(uv_handle_t *h)
{
	local_t *l = h->data;
	wtask_t *wt = l->wt;
	for (local_t **pp = &wt->locals; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	free_local(l);
	release(wt);
}

static void round_done(wtask_t *wt);

/* The local activity ends with these marker details (stolen). */
static void record(local_t *l, json_t *details)
{
	wtask_t *wt = l->wt;
	if (details) {
		json_object_set_new(details, "activity_id", json_string(l->id));
		json_object_set_new(details, "activity_type", json_string(l->type));
		json_object_set_new(details, "attempt", json_integer(l->attempt));
		json_object_set_new(details, "scheduled_time_ms", json_integer(l->scheduled_ms));
		json_object_set_new(wt->results, l->key, details);
	}
	uv_close((uv_handle_t *)&l->timer, on_closed_local);
	if (--wt->pending == 0)
		round_done(wt);
}

static void start_attempt(local_t *l);

static void on_backoff(uv_timer_t *t)
{
	start_attempt(t->data);
}

static int non_retryable(json_t *failure, json_t *policy)
{
	const char *type = json_string_value(json_object_get(failure, "type"));
	size_t i;
	json_t *t;
	if (json_is_true(json_object_get(failure, "non_retryable")))
		return 1;
	if (type && strcmp(type, "ActivityNotRegistered") == 0)
		return 1;   /* no other worker runs it: retrying cannot help */
	json_array_foreach(json_object_get(policy, "non_retryable_error_types"), i, t)
		if (type && json_is_string(t) && strcmp(json_string_value(t), type) == 0)
			return 1;
	return 0;
}

/* An attempt failed (failure stolen): retry here, record a long backoff
 * for a timer, or record the failure as the outcome. */
static void failed(local_t *l, json_t *failure, int may_retry)
{
	json_t *policy = json_object_get(l->options, "retry_policy");
	double initial = num(policy, "initial_interval") > 0 ? num(policy, "initial_interval") : 1.0;
	double coeff = num(policy, "backoff_coefficient") > 0 ? num(policy, "backoff_coefficient") : 2.0;
	double maxi = num(policy, "maximum_interval") > 0 ? num(policy, "maximum_interval") : 100 * initial;
	json_int_t max_attempts = json_integer_value(json_object_get(policy, "maximum_attempts"));
	double backoff = initial;
	for (int i = 1; i < l->attempt && backoff < maxi; i++)
		backoff *= coeff;
	if (backoff > maxi)
		backoff = maxi;
	double sch = num(l->options, "schedule_to_close_timeout");
	int final = !may_retry || l->wt->lost || non_retryable(failure, policy) ||
		    (max_attempts > 0 && l->attempt >= max_attempts) ||
		    (sch > 0 && wall_ms() + (int64_t)(backoff * 1000) >= l->scheduled_ms + (int64_t)(sch * 1000));
	durable__log("INFO", "local activity %s (%s) of workflow %s attempt %d: %s%s", l->id, l->type,
		     l->wt->workflow_id, l->attempt, json_string_value(json_object_get(failure, "message")),
		     final ? "" : ", will retry");
	if (final) {
		record(l, json_pack("{s:o}", "failure", failure));
	} else if (backoff > num(l->options, "local_retry_threshold")) {
		record(l, json_pack("{s:o, s:f}", "failure", failure, "backoff", backoff));
	} else {
		json_decref(failure);
		l->attempt++;
		uv_timer_start(&l->timer, on_backoff, (uint64_t)(backoff * 1000), 0);
	}
}

static void on_attempt_done(act_t *a)
{
	local_t *l = a->local;
	if (l) {
		/* not abandoned at a timeout */
		uv_timer_stop(&l->timer);
		l->a = NULL;
		a->local = NULL;
		if (a->rc == 0) {
			record(l, json_pack("{s:O}", "result", a->result ? a->result : json_null()));
		} else {
			json_t *failure = a->failure ? json_incref(a->failure)
						     : json_pack("{s:s, s:s}", "message", durable_strerror(a->rc),
								 "type", "ActivityError");
			failed(l, failure, 1);
		}
	}
	durable__activity_unref(a);
}

/* Tells a running attempt to stop: its durable_heartbeat() returns 1. */
static void ask_to_stop(act_t *a)
{
	uv_mutex_lock(&a->mu);
	a->cancel = 1;
	uv_mutex_unlock(&a->mu);
}

/* The attempt ran out of time: it is abandoned (a C function cannot be
 * stopped, but durable_heartbeat() tells it to; an executable is killed at
 * the same deadline by exec_activity.c) and counts as failed. */
static void on_attempt_timeout(uv_timer_t *t)
{
	local_t *l = t->data;
	act_t *a = l->a;
	char msg[200];
	if (!a)
		return;
	ask_to_stop(a);
	a->local = NULL;
	l->a = NULL;
	snprintf(msg, sizeof(msg), "local activity %s attempt %d timed out (%s)", l->type, l->attempt,
		 l->timeout_is_schedule ? "schedule-to-close" : "start-to-close");
	failed(l, json_pack("{s:s, s:s, s:s}", "message", msg, "type", "TimeoutError", "timeout_type",
			    l->timeout_is_schedule ? "SCHEDULE_TO_CLOSE" : "START_TO_CLOSE"),
	       !l->timeout_is_schedule);
}

static void start_attempt(local_t *l)
{
	wtask_t *wt = l->wt;
	if (wt->lost) {
		record(l, NULL);
		return;
	}
	act_t *a = calloc(1, sizeof(*a));
	if (!a || uv_mutex_init(&a->mu) < 0) {
		free(a);
		failed(l, json_pack("{s:s, s:s}", "message", "out of memory", "type", "ActivityError"), 0);
		return;
	}
	a->w = wt->w;
	a->refs = 1;
	a->token = strdup("");
	a->workflow_id = strdup(wt->workflow_id);
	a->activity_id = strdup(l->id);
	a->type = strdup(l->type);
	a->input = json_incref(l->input);
	a->attempt = l->attempt;
	a->on_done = on_attempt_done;
	a->local = l;
	if (!a->token || !a->workflow_id || !a->activity_id || !a->type) {
		durable__activity_unref(a);
		failed(l, json_pack("{s:s, s:s}", "message", "out of memory", "type", "ActivityError"), 0);
		return;
	}
	/* this attempt's deadline: start-to-close, or what is left of schedule-to-close */
	double stc = num(l->options, "start_to_close_timeout"), sch = num(l->options, "schedule_to_close_timeout");
	double left = sch > 0 ? (double)(l->scheduled_ms + (int64_t)(sch * 1000) - wall_ms()) / 1000 : 0;
	if (sch > 0 && left < 0.001)
		left = 0.001;
	l->timeout_is_schedule = sch > 0 && (!(stc > 0) || left < stc);
	a->deadline_s = l->timeout_is_schedule ? left : stc;
	l->a = a;
	if (a->deadline_s > 0)
		uv_timer_start(&l->timer, on_attempt_timeout, (uint64_t)(a->deadline_s * 1000), 0);
	if (durable__activity_launch(wt->w, a) < 0)
		on_attempt_done(a);
}

static int start_local(wtask_t *wt, json_t *req)
{
	local_t *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->wt = wt;
	l->key = strdup(json_string_value(json_object_get(req, "key")));
	l->id = strdup(json_string_value(json_object_get(req, "activity_id")));
	l->type = strdup(json_string_value(json_object_get(req, "activity_type")));
	l->input = json_incref(json_object_get(req, "input"));
	l->options = json_incref(json_object_get(req, "options"));
	l->attempt = (int)json_integer_value(json_object_get(req, "attempt"));
	l->scheduled_ms = json_integer_value(json_object_get(req, "scheduled_time_ms"));
	if (l->scheduled_ms <= 0)
		l->scheduled_ms = wall_ms();
	if (!l->key || !l->id || !l->type) {
		free_local(l);
		return -ENOMEM;
	}
	uv_timer_init(&wt->w->loop, &l->timer);
	l->timer.data = l;
	l->next = wt->locals;
	wt->locals = l;
	wt->refs++;
	wt->pending++;
	start_attempt(l);
	return 0;
}

/* Starts a round; 0, or -EPROTO when the replay asked again for something
 * that already has its outcome (it would loop). */
static int start_round(wtask_t *wt, json_t *requests)
{
	size_t i;
	json_t *req;
	json_array_foreach(requests, i, req)
		if (json_object_get(wt->results, json_string_value(json_object_get(req, "key"))))
			return -EPROTO;
	wt->pending++;   /* until every request started: none may end the round early */
	json_array_foreach(requests, i, req)
		if (start_local(wt, req) < 0)
			durable__log("ERROR", "workflow %s: local activity %s not started (out of memory)", wt->workflow_id,
				     json_string_value(json_object_get(req, "activity_type")));
	if (--wt->pending == 0)
		round_done(wt);
	return 0;
}

static void round_done(wtask_t *wt)
{
	if (wt->lost) {
		durable__log("WARN", "workflow %s: task %s: lease lost while its local activities ran; outcome dropped",
			     wt->workflow_id, wt->token);
		durable__runs_drop(wt->w, wt->run_id);   /* it waits for outcomes that will not come */
		finish(wt);
		return;
	}
	durable__task_t task = {.workflow_id = wt->workflow_id, .run_id = wt->run_id,
				.workflow_type = wt->workflow_type, .history = wt->history,
				.started_event_id = wt->started_event_id, .local_results = wt->results};
	durable__registered_t *reg = durable__find(wt->w->workflows, wt->workflow_type);
	durable__outcome_t out;
	if (durable__runs_locals(wt->w, reg ? reg->wf : NULL, &task, &out) < 0) {
		durable__log("ERROR", "workflow %s: task %s not run (out of memory)", wt->workflow_id, wt->token);
		finish(wt);
		return;
	}
	if (out.kind == DURABLE__LOCAL && start_round(wt, out.local) == 0) {
		durable__outcome_free(&out);
		return;
	}
	if (out.kind == DURABLE__LOCAL) {
		durable__outcome_free(&out);
		out.kind = DURABLE__FAIL_TASK;
		snprintf(out.cause, sizeof(out.cause), "WORKFLOW_WORKER_UNHANDLED_FAILURE");
		out.failure = json_pack("{s:s, s:s}", "message",
					"the workflow asked again for a local activity whose outcome it was given",
					"type", "WORKFLOW_WORKER_UNHANDLED_FAILURE");
	}
	durable__workflow_task_send(wt->w, wt->token, &task, &out);
	durable__outcome_free(&out);
	finish(wt);
}

/* The lease ----------------------------------------------------------------- */

static void on_heartbeat(durable__pg_t *pg, PGresult *res, void *arg)
{
	(void)pg;
	wtask_t *wt = arg;
	if (durable__pg_status(res) == DURABLE_ELEASE && !wt->lost) {
		wt->lost = 1;
		for (local_t *l = wt->locals; l; l = l->next)
			if (l->a)
				ask_to_stop(l->a);
	} else if (res && durable__pg_status(res) < 0) {
		durable__log("WARN", "workflow %s: heartbeat_workflow_task failed: %s", wt->workflow_id,
			     PQresultErrorMessage(res));
	}
	release(wt);
}

static void on_heartbeat_due(uv_timer_t *t)
{
	wtask_t *wt = t->data;
	durable_worker_t *w = wt->w;
	durable__pg_t *pg = w->ndone > 0 ? w->done_pg[0] : w->wf_pg;
	const char *p[] = {wt->token};
	if (wt->lost || !pg)
		return;
	wt->refs++;
	if (durable__pg_query(pg, HEARTBEAT_SQL, 1, p, on_heartbeat, wt) < 0)
		wt->refs--;
}

/* The workflow task timeout, from the run's first event (10 s if absent). */
static double task_timeout_s(json_t *history)
{
	json_t *started = json_array_get(history, 0);
	double s = json_number_value(json_object_get(json_object_get(started, "attributes"), "workflow_task_timeout"));
	return s > 0 ? s : 10;
}

int durable__local_start(durable_worker_t *w, const char *token, const durable__task_t *task, json_t *requests)
{
	wtask_t *wt = calloc(1, sizeof(*wt));
	if (!wt)
		return -ENOMEM;
	wt->w = w;
	wt->refs = 1;
	wt->token = strdup(token);
	wt->workflow_id = strdup(task->workflow_id);
	wt->run_id = strdup(task->run_id);
	wt->workflow_type = strdup(task->workflow_type);
	wt->started_event_id = task->started_event_id;
	wt->history = json_incref(task->history);
	wt->results = json_object();
	if (!wt->token || !wt->workflow_id || !wt->run_id || !wt->workflow_type || !wt->results) {
		free_wtask(wt);
		return -ENOMEM;
	}
	w->local_tasks++;
	wt->next = w->wtasks;
	w->wtasks = wt;
	uv_timer_init(&w->loop, &wt->heartbeat);
	wt->heartbeat.data = wt;
	wt->refs++;   /* the heartbeat timer, until closed */
	uint64_t every = (uint64_t)(task_timeout_s(wt->history) * 400);
	uv_timer_start(&wt->heartbeat, on_heartbeat_due, every ? every : 1, every ? every : 1);
	if (start_round(wt, requests) < 0)
		round_done(wt);   /* cannot happen on a first round; keeps the shapes */
	return 0;
}

/* The worker is closing without waiting: let go of every task (their
 * leases run out, and another worker runs the local activities again). */
void durable__local_abandon(durable_worker_t *w)
{
	for (wtask_t *wt = w->wtasks; wt; wt = wt->next) {
		if (wt->finished)
			continue;
		wt->lost = 1;
		for (local_t *l = wt->locals; l; l = l->next) {
			if (l->a) {
				ask_to_stop(l->a);
				l->a->local = NULL;
				l->a = NULL;
			}
			if (!uv_is_closing((uv_handle_t *)&l->timer))
				uv_close((uv_handle_t *)&l->timer, on_closed_local);
		}
		finish(wt);
	}
}
