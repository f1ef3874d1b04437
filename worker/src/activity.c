/* Activity tasks: leased in batches up to the concurrency limit, C
 * activities run on the worker's threads (activity_pool.c), executables on child processes;
 * outcomes are sent together with complete_activity_tasks (one transaction
 * for everything that finished while the previous batch was in flight), on
 * a connection of their own, while the next poll runs on the other;
 * heartbeats go from the activity's thread to the loop through the pool's
 * uv_async_t (durable__pool_heartbeat), and from the loop (an executable's,
 * one that waited for the previous answer) through w->wakeup. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "runtime.h"
#include "json_text.h"

typedef struct durable_activity_ctx_s act_t;

int durable__activities_init(durable_worker_t *w)
{
	/* Each running C activity holds a pool thread; UV_THREADPOOL_SIZE, which
	 * sized libuv's pool before activity_pool.c, still overrides. */
	const char *env = getenv("UV_THREADPOOL_SIZE");
	int size = env && atoi(env) > 0 ? atoi(env) : w->opts.max_concurrent_activities + 2;
	return durable__pool_start(w, size < 4 ? 4 : size > 1024 ? 1024 : size);
}

void durable__activity_unref(act_t *a)
{
	if (--a->refs > 0)
		return;
	uv_mutex_destroy(&a->mu);
	free(a->token);
	free(a->workflow_id);
	free(a->activity_id);
	free(a->type);
	json_decref(a->input);
	json_decref(a->last_details);
	json_decref(a->result);
	json_decref(a->failure);
	json_decref(a->hb_details);
	json_decref(a->pool);
	free(a->json_error);
	free(a);
}

/* Outcomes ------------------------------------------------------------------ */

/* One row per outcome sent, read by column name: task_token, outcome
 * (COMPLETED, FAILED, CANCELED, LEASE_LOST, INVALID or DENIED), error. */
#define COMPLETE_ACTIVITY_TASKS_SQL \
	"SELECT task_token, outcome, error FROM durable.complete_activity_tasks($1::jsonb, $2)"
/* The hand-back (api/76_handback.sql): the outcomes offer the worker's free
 * workflow slots, with its run cache and build id, and the store answers,
 * after the outcome rows (kind activity_task), one row per workflow task it
 * leased to this worker with them (kind workflow_task, a poll's columns),
 * which runs at once as if polled. Read by column name. */
#define COMPLETE_HANDBACK_SQL \
	"SELECT kind, task_token, outcome, error, workflow_id, run_id, workflow_type, started_event_id, history " \
	"FROM durable.complete_activity_tasks_eager($1::jsonb, $2, $3, $4::int, $5, $6::jsonb, $7"
/* and the worker's sticky text, where the store has sticky histories */
#define HANDBACK_STICKY ", sticky => $8"

static const durable__pg_reads_t complete_reads = {
	"durable.complete_activity_tasks", (const char *const[]){"task_token", "outcome", "error", NULL}, 1};
static const durable__pg_reads_t handback_reads = {
	"durable.complete_activity_tasks_eager",
	(const char *const[]){"kind", "task_token", "outcome", "error", "workflow_id", "run_id", "workflow_type",
			      "started_event_id", "history", NULL},
	1};

typedef struct {
	durable_worker_t *w;
	json_t *sent;
	int offered;   /* workflow slots offered (the hand-back) */
	int sticky;    /* the hand-back named this process (sticky), not its cached runs */
} flush_t;

/* The workflow tasks an outcome batch may take back: one per outcome at
 * most (each makes at most its run's task ready), within a poll's batch.
 * None from a worker that does not run workflows, is stopping, or was told
 * not to (--no-handback). A busy worker offers too: since the store inserts
 * a task it hands back already leased (api/76_handback.sql), a hand-back
 * costs the store less than the poll it saves, and in the bursts the
 * offer no longer costs the rate it did when it was gated on both polls
 * coming back short (docs/performance.md, "Tasks inserted leased"). */
static int handback_offer(durable_worker_t *w, size_t outcomes)
{
	if (w->opts.no_handback || w->store_no_handback || w->opts.no_workflows || !w->wf_pg || w->stopping)
		return 0;
	return outcomes < (size_t)w->opts.max_workflow_batch ? (int)outcomes : w->opts.max_workflow_batch;
}

static void log_outcome(PGresult *res, int i)
{
	const char *o = durable__pg_col(res, i, "outcome"), *token = durable__pg_col(res, i, "task_token");
	if (strcmp(o, "LEASE_LOST") == 0 || strcmp(o, "INVALID") == 0 || strcmp(o, "DENIED") == 0)
		durable__log("WARN", "activity task %s: %s: %s", token, o, durable__pg_col(res, i, "error"));
	else
		durable__log("DEBUG", "activity task %s: %s", token, o);
}

static void on_completed(durable__pg_t *pg, PGresult *res, void *arg)
{
	(void)pg;
	flush_t *f = arg;
	durable_worker_t *w = f->w;
	w->completing = w->completing_on_poll = 0;
	w->handing_back -= f->offered > 0;
	if (res && f->offered > 0 && durable__sticky_unsupported(w, res, f->sticky)) {
		/* a store older than sticky histories: the same outcomes again,
		 * naming the cached runs */
		json_array_extend(f->sent, w->outcomes);
		json_decref(w->outcomes);
		w->outcomes = json_incref(f->sent);
	} else if (res && f->offered > 0 && strcmp(durable__pg_sqlstate(res), "42883") == 0) {
		/* a store older than the hand-back (durable 0.1, during an
		 * upgrade): complete as before from now on */
		durable__log("INFO", "the store has no complete_activity_tasks_eager (durable before 0.2): "
			     "workflow tasks go through the poll");
		w->store_no_handback = 1;
		json_array_extend(f->sent, w->outcomes);
		json_decref(w->outcomes);
		w->outcomes = json_incref(f->sent);
	} else if (!res || durable__pg_transient(res)) {
		/* The connection broke, or the server is going away (a failover, a
		 * restart): send them again once connected, to the new primary if
		 * need be. A batch that did commit is refused per task (LEASE_LOST),
		 * harmlessly; a lease that ran out meanwhile is refused the same way. */
		json_array_extend(f->sent, w->outcomes);
		json_decref(w->outcomes);
		w->outcomes = json_incref(f->sent);
	} else if (durable__pg_status(res) < 0) {
		durable__log("ERROR", "complete_activity_tasks failed, %zu outcomes dropped (the tasks will time out "
			     "and retry): %s", json_array_size(f->sent), PQresultErrorMessage(res));
	} else {
		int taken = 0;
		for (int i = 0; i < PQntuples(res); i++) {
			/* only an offer's answer has workflow rows, and a kind */
			if (f->offered > 0 && strcmp(durable__pg_col(res, i, "kind"), "workflow_task") == 0) {
				durable__log("DEBUG", "workflow task %s: handed back with the activity outcomes",
					     durable__pg_col(res, i, "task_token"));
				durable__workflow_task_run(w, res, i);
				taken++;
			} else {
				log_outcome(res, i);
			}
		}
		w->handed_back += (uint64_t)taken;
	}
	/* the cache grew by what came back: trimmed now unless a poll that
	 * names its entries is in flight, and then (or with nothing brought
	 * back) the runs dropped that no request in flight named go at least */
	if (!w->wf_polling)
		durable__cache_trim(w);
	else
		durable__cache_forget_dropped(w);
	/* the workflow tasks a failed hand-back had locked are ready again,
	 * their notification spent: the poll takes them (a broken
	 * connection: the ready callback polls) */
	if (res && f->offered > 0 && durable__pg_status(res) < 0)
		durable__workflows_poll(w);
	json_decref(f->sent);
	free(f);
	/* On the polling connection they take turns: a poll asked for
	 * meanwhile goes first, then what finished meanwhile. */
	if (w->act_again)
		durable__activities_poll(w);
	durable__activities_flush(w);
	durable__worker_maybe_done(w);
}

/* The connection outcomes go on: their own (activity-completions), where
 * they wait for no poll and no poll waits for them: in a burst the next
 * activities are polled while the last ones' outcomes commit
 * (docs/performance.md, "The worker's pipeline"). While it is down (broken,
 * or the server out of connection slots), the polling connection, one
 * request in flight, polls and outcomes in turn, so that neither can
 * starve the other. NULL: none now. */
static durable__pg_t *outcome_pg(durable_worker_t *w)
{
	if (durable__pg_connected(w->act_done_pg))
		return w->act_done_pg;
	return !w->act_polling && durable__pg_connected(w->act_pg) ? w->act_pg : NULL;
}

/* One batch in flight; the next collects everything that finishes
 * meanwhile (bigger batches, fewer transactions), within the slots: an
 * outcome not sent yet holds its slot (durable__activity_slots), so a
 * poll never leases more than the batch in flight leaves room for. */
void durable__activities_flush(durable_worker_t *w)
{
	durable__pg_t *pg;
	if (w->completing || json_array_size(w->outcomes) == 0 || !(pg = outcome_pg(w)))
		return;
	flush_t *f = malloc(sizeof(*f));
	char *body = durable__json_text(w->outcomes);
	if (!f || !body) {
		free(f);
		free(body);
		return;
	}
	durable__wakeup_judge(w, &w->act_unannounced, "activity");
	f->w = w;
	f->sent = w->outcomes;
	f->offered = handback_offer(w, json_array_size(f->sent));
	w->outcomes = json_array();
	char slots[16];
	snprintf(slots, sizeof(slots), "%d", f->offered);
	/* the run cache as the workflow poll passes it: entries it names stay
	 * until the answer (durable__cache_trim waits while handing_back) */
	f->sticky = f->offered > 0 && durable__sticky(w);
	char *cached_text = f->offered > 0 && !f->sticky ? durable__cache_param(w) : NULL;
	const char *p[] = {body, w->identity, w->task_queue, slots, w->namespace_, cached_text, w->build_id, w->sticky};
	int rc = f->offered > 0 ? durable__pg_call(pg, &handback_reads,
						   f->sticky ? COMPLETE_HANDBACK_SQL HANDBACK_STICKY ")" : COMPLETE_HANDBACK_SQL ")",
						   f->sticky ? 8 : 7, p, on_completed, f)
				: durable__pg_call(pg, &complete_reads, COMPLETE_ACTIVITY_TASKS_SQL, 2, p,
						   on_completed, f);
	free(cached_text);
	if (rc == 0) {
		w->completing = 1;
		w->completing_on_poll = pg == w->act_pg;
		w->handing_back += f->offered > 0;
		if (f->offered > 0)
			w->handback_named = ++w->cache_requests;
	} else {
		json_array_extend(w->outcomes, f->sent);
		json_decref(f->sent);
		free(f);
	}
	free(body);
}

/* The outcome's payload encoded (a result, or a failure's details); a
 * payload that cannot be fails the attempt as PayloadCodecError. */
static json_t *encoded_outcome(act_t *a)
{
	char err[512];
	json_t *v = a->rc == 0 ? durable__encode(&a->w->codecs, a->result, err, sizeof(err))
		    : durable__encode_failure(&a->w->codecs, a->failure, err, sizeof(err));
	if (v)
		return v;
	durable__log("ERROR", "activity %s (%s) of workflow %s: %s: %s", a->activity_id, a->type, a->workflow_id,
		     DURABLE__CODEC_FAILURE, err);
	a->rc = DURABLE_ECODEC;
	json_decref(a->failure);
	a->failure = json_pack("{s:s, s:s}", "message", err, "type", DURABLE__CODEC_FAILURE);
	return json_incref(a->failure);
}

void durable__activity_finish(act_t *a)
{
	durable_worker_t *w = a->w;
	json_t *o, *payload;
	if (a->on_done) {
		a->on_done(a);
		return;
	}
	uv_mutex_lock(&a->mu);
	int paused = a->paused && !a->cancel;
	uv_mutex_unlock(&a->mu);
	if (a->rc == DURABLE_ECANCELED && paused) {
		/* stopped for an operator's pause, not a cancel request: the attempt
		 * fails, and the store retries it once the activity is unpaused */
		json_decref(a->failure);
		a->failure = json_pack("{s:s, s:s}", "message", "stopped: the activity was paused by an operator",
				       "type", "ActivityPaused");
		a->rc = DURABLE_EFAILED;
	}
	payload = a->rc == 0 || a->failure ? encoded_outcome(a) : NULL;
	if (a->rc == 0)
		o = durable__json_pair("task_token", a->token, "result", payload ? json_incref(payload) : json_null());
	else if (a->rc == DURABLE_ECANCELED)
		o = durable__json_pair("task_token", a->token, "canceled", payload ? json_incref(payload) : json_null());
	else if (payload)
		o = durable__json_pair("task_token", a->token, "failure", json_incref(payload));
	else
		o = json_pack("{s:s, s:{s:s, s:s}}", "task_token", a->token, "failure", "message",
			      durable_strerror(a->rc), "type", "ActivityError");
	if (a->rc != 0)
		durable__log("INFO", "activity %s (%s) of workflow %s attempt %d: %s", a->activity_id, a->type,
			     a->workflow_id, a->attempt,
			     a->failure ? json_string_value(json_object_get(a->failure, "message")) : durable_strerror(a->rc));
	/* with the acknowledgement below ("activity task T: COMPLETED"), this
	 * tells which execution the store took (the HA test counts on it) */
	durable__log("DEBUG", "activity task %s finished: workflow %s activity %s attempt %d", a->token,
		     a->workflow_id, a->activity_id, a->attempt);
	json_decref(payload);
	if (o)
		json_array_append_new(w->outcomes, o);
	for (act_t **pp = &w->active; *pp; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	w->running--;
	w->activity_tasks++;
	durable__activity_unref(a);
	/* Activities that finish together (in this loop iteration) are
	 * reported together, and the poll for more asks for all their slots. */
	durable__worker_flush_soon(w);
}

/* Running ------------------------------------------------------------------- */

void durable__activity_call(act_t *a)
{
	json_t *result = NULL;
	a->rc = a->reg->act(a, a->input, &result, a->reg->arg);
	if (a->json_error && a->rc == 0) {
		/* never complete with the null a failed build left */
		a->rc = durable_activity_fail(a, "JsonError", 0, "%s", a->json_error);
		return;
	}
	a->result = json_incref(result);   /* borrowed: the activity's own or its context's */
}

int durable__activity_launch(durable_worker_t *w, act_t *a)
{
	char path[4096];
	a->reg = durable__find(w->activities, a->type);
	if (a->reg) {
		if (durable__pool_submit(w, a) == 0)
			return 0;
		a->rc = -ENOMEM;
	} else if (w->activities_dir && strchr(a->type, '/') == NULL && a->type[0] != '.' &&
		   snprintf(path, sizeof(path), "%s/%s", w->activities_dir, a->type) < (int)sizeof(path) &&
		   access(path, X_OK) == 0) {
		int rc = durable__exec_activity(a, path, durable__activity_finish);
		if (rc == 0)
			return 0;
		a->rc = rc;
	} else {
		a->rc = DURABLE_ENOTFOUND;
		a->failure = json_pack("{s:s, s:s}", "message", "activity type is not registered with this worker",
				       "type", "ActivityNotRegistered");
	}
	return a->rc;
}

static void start_activity(durable_worker_t *w, act_t *a)
{
	a->next = w->active;
	w->active = a;
	w->running++;
	if (durable__activity_launch(w, a) < 0)
		durable__activity_finish(a);
}

/* An input this worker cannot decode: the attempt fails (retryable, so a
 * worker that has the key may take the next one), the code never runs. */
static void codec_failed(durable_worker_t *w, act_t *a, const char *why)
{
	a->next = w->active;
	w->active = a;
	w->running++;
	a->rc = DURABLE_ECODEC;
	a->failure = json_pack("{s:s, s:s, s:b}", "message", why, "type", DURABLE__CODEC_FAILURE, "non_retryable", 0);
	durable__activity_finish(a);
}

static char *dup_val(PGresult *res, int row, const char *name)
{
	return strdup(durable__pg_col(res, row, name));
}

/* Starts the activity task of a row leased to this worker, read by column
 * name: task_token, workflow_id, activity_id, activity_type, input,
 * attempt, seconds_left, heartbeat_details (a poll's answer, and the
 * activity rows of an eager completion's). Out of memory, it is dropped:
 * its lease times out and the task is retried. */
void durable__activity_take(durable_worker_t *w, PGresult *res, int i)
{
	act_t *a = calloc(1, sizeof(*a));
	if (!a || uv_mutex_init(&a->mu) < 0) {
		free(a);
		return;
	}
	a->w = w;
	a->refs = 1;
	a->token = dup_val(res, i, "task_token");
	a->workflow_id = dup_val(res, i, "workflow_id");
	a->activity_id = dup_val(res, i, "activity_id");
	a->type = dup_val(res, i, "activity_type");
	char err[512] = "";
	const char *input = durable__pg_col(res, i, "input"), *details = durable__pg_col(res, i, "heartbeat_details");
	a->input = durable__decode_owned(&w->codecs, durable__json_load(input, strlen(input), JSON_DECODE_ANY, NULL),
					 err, sizeof(err));
	a->attempt = atoi(durable__pg_col(res, i, "attempt"));
	a->deadline_s = atof(durable__pg_col(res, i, "seconds_left"));
	if (*details)   /* "" is NULL: jsonb text is never empty */
		a->last_details = durable__decode_owned(&w->codecs, durable__json_load(details, strlen(details),
										   JSON_DECODE_ANY, NULL),
							err, sizeof(err));
	if (!a->token || !a->workflow_id || !a->activity_id || !a->type) {
		durable__activity_unref(a);
		return;
	}
	if (err[0])
		codec_failed(w, a, err);
	else
		start_activity(w, a);
}

int durable__activity_slots(durable_worker_t *w)
{
	return w->opts.max_concurrent_activities - w->running - w->act_polling - w->eager_offered -
	       (int)json_array_size(w->outcomes);
}

/* Names what a backstop poll found after a quiet spell: counted as a lost
 * wake-up unless its notification follows (wakeups.c), and then the attempt
 * tells a retry the timer worker offered from a task just scheduled. */
static void log_backstop_finds(PGresult *res, int n)
{
	for (int i = 0; i < n; i++)
		durable__log("INFO", "the backstop poll found activity %s of workflow %s, attempt %s",
			     durable__pg_col(res, i, "activity_id"), durable__pg_col(res, i, "workflow_id"),
			     durable__pg_col(res, i, "attempt"));
}

static void on_polled(durable__pg_t *pg, PGresult *res, void *arg)
{
	(void)pg;
	durable_worker_t *w = arg;
	int asked = w->act_polling;
	w->act_polling = 0;
	if (durable__pg_status(res) < 0) {
		int unsupported = durable__backstop_unsupported(w, res);   /* as in workflow_poll.c */
		w->act_backstop_poll = unsupported && w->act_backstop_poll;
		if (res && !unsupported)
			durable__log("ERROR", "poll_activity_tasks failed: %s", PQresultErrorMessage(res));
		durable__activities_flush(w);   /* outcomes that waited for the poll */
		/* a notification that came during the failed poll is not dropped
		 * with it, nor are the tasks it had locked (durable__poll_again;
		 * after a broken connection, the ready callback polls) */
		if (res && durable__poll_again(&w->act_poll_failed, w->act_again, unsupported))
			durable__activities_poll(w);
		return;
	}
	w->act_poll_failed = 0;
	int n = PQntuples(res);
	if (w->act_backstop_poll)
		log_backstop_finds(res, n);
	durable__backstop_found(&w->act_backstop_poll, &w->act_unannounced, res, "activity");
	/* a poll that got fewer than it asked for drained the queue: the worker
	 * has slots to spare, and its completions offer them */
	w->act_idle = n < asked;
	for (int i = 0; i < n; i++)
		durable__activity_take(w, res, i);
	if (n >= asked)
		w->act_again = 1;
	durable__activities_flush(w);
	if (w->act_again)
		durable__activities_poll(w);
	durable__worker_maybe_done(w);
}

static const durable__pg_reads_t poll_reads = {
	"durable.poll_activity_tasks",
	(const char *const[]){"task_token", "workflow_id", "activity_id", "activity_type", "input", "attempt",
			      "seconds_left", "heartbeat_details", NULL},
	1};

void durable__activities_poll(durable_worker_t *w)
{
	char batch[16];
	if (w->stopping || w->opts.no_activities || !w->act_pg)
		return;
	int free_slots = durable__activity_slots(w);
	if (w->act_polling || w->completing_on_poll || free_slots <= 0) {
		w->act_again = 1;
		return;
	}
	snprintf(batch, sizeof(batch), "%d", free_slots > 1000 ? 1000 : free_slots);
	const char *p[] = {w->task_queue, w->identity, batch, w->namespace_};
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "SELECT task_token, workflow_id, activity_id, activity_type, input, attempt, "
		 "extract(epoch FROM deadline - durable.now()) AS seconds_left, heartbeat_details%s "
		 "FROM durable.poll_activity_tasks($1, $2, $3::int, $4)",
		 durable__backstop_column(w, w->act_backstop_poll));
	w->act_again = 0;
	if (durable__pg_call(w->act_pg, &poll_reads, sql, 4, p, on_polled, w) == 0)
		w->act_polling = atoi(batch);
}

/* Heartbeats ---------------------------------------------------------------- */

/* One row, read by column name: cancel_requested, paused. */
#define HEARTBEAT_SQL \
	"SELECT cancel_requested, paused FROM durable.heartbeat_activity_task_status($1, $2::jsonb)"
static const durable__pg_reads_t heartbeat_reads = {"durable.heartbeat_activity_task_status",
						    (const char *const[]){"cancel_requested", "paused", NULL}, 1};

static int column_true(PGresult *res, const char *name)
{
	return PQntuples(res) == 1 && strcmp(durable__pg_col(res, 0, name), "t") == 0;
}

static void on_heartbeat(durable__pg_t *pg, PGresult *res, void *arg)
{
	(void)pg;
	act_t *a = arg;
	int st = durable__pg_status(res);
	uv_mutex_lock(&a->mu);
	a->hb_inflight = 0;
	if (st == DURABLE_ELEASE || (st == 0 && column_true(res, "cancel_requested")))
		a->cancel = 1;   /* asked to cancel, or the lease is gone: stop either way */
	if (st == 0 && column_true(res, "paused"))
		a->paused = 1;   /* an operator paused it: stop, the attempt fails as ActivityPaused */
	int again = a->hb_pending;
	uv_mutex_unlock(&a->mu);
	if (again && a->refs > 1)
		uv_async_send(&a->w->wakeup);
	durable__activity_unref(a);
}

void durable__activities_wakeup(uv_async_t *h)
{
	durable__activities_heartbeats(h->data);
}

void durable__activities_heartbeats(durable_worker_t *w)
{
	if (!w->act_pg)
		return;   /* no connection to send them on (unit tests) */
	for (act_t *a = w->active; a; a = a->next) {
		uv_mutex_lock(&a->mu);
		json_t *details = NULL;
		int send = a->hb_pending && !a->hb_inflight;
		if (send) {
			details = a->hb_details;
			a->hb_details = NULL;
			a->hb_pending = 0;
			a->hb_inflight = 1;
		}
		uv_mutex_unlock(&a->mu);
		if (!send)
			continue;
		char err[512];
		json_t *enc = details ? durable__encode(&w->codecs, details, err, sizeof(err)) : NULL;
		char *body = enc ? durable__json_text(enc) : NULL;
		json_decref(enc);
		if (details && !enc)
			durable__log("ERROR", "activity %s: heartbeat details not sent: %s: %s", a->activity_id,
				     DURABLE__CODEC_FAILURE, err);
		const char *p[] = {a->token, body};
		a->refs++;
		if (durable__pg_call(w->act_pg, &heartbeat_reads, HEARTBEAT_SQL, 2, p, on_heartbeat, a) < 0) {
			a->refs--;
			a->hb_inflight = 0;
		}
		free(body);
		json_decref(details);
	}
}

/* The activity's view ---------------------------------------------------------- */

const char *durable_activity_type(durable_activity_ctx_t *a) { return a->type; }
const char *durable_activity_workflow_id(durable_activity_ctx_t *a) { return a->workflow_id; }
const char *durable_activity_id(durable_activity_ctx_t *a) { return a->activity_id; }
int durable_activity_attempt(durable_activity_ctx_t *a) { return a->attempt; }
json_t *durable_activity_heartbeat_details(durable_activity_ctx_t *a) { return a->last_details; }

/* Runs on the activity's thread: the activity may keep changing details
 * after the call, so the loop thread gets a copy. */
int durable_heartbeat(durable_activity_ctx_t *a, json_t *details)
{
	details = details ? json_deep_copy(details) : NULL;
	uv_mutex_lock(&a->mu);
	json_decref(a->hb_details);
	a->hb_details = details;
	a->hb_pending = 1;
	int stop = a->cancel ? 1 : a->paused ? DURABLE_HEARTBEAT_PAUSED : 0;
	uv_mutex_unlock(&a->mu);
	/* a pool thread's goes through the pool, which outlives the worker
	 * (a drain that timed out); an executable's is on the loop already */
	if (a->threads)
		durable__pool_heartbeat(a);
	else
		uv_async_send(&a->w->wakeup);
	return stop;
}

static void json_trouble(durable_activity_ctx_t *a, const char *what)
{
	durable__log("ERROR", "activity %s of workflow %s: %s", a->activity_id, a->workflow_id, what);
	if (!a->json_error)
		a->json_error = strdup(what);
}

json_t *durable_activity_keep(durable_activity_ctx_t *a, json_t *value)
{
	const char *why;
	if (durable__pool_add(&a->pool, value, &why) < 0) {
		json_trouble(a, why);
		return NULL;
	}
	return value;
}

json_t *durable_activity_json(durable_activity_ctx_t *a, const char *fmt, ...)
{
	char why[300];
	int oom;
	va_list ap;
	va_start(ap, fmt);
	json_t *v = durable__vpack("durable_activity_json", fmt, ap, why, sizeof(why), &oom);
	va_end(ap);
	if (!v) {
		json_trouble(a, why);
		return NULL;
	}
	return durable_activity_keep(a, v);
}

int durable_activity_fail(durable_activity_ctx_t *a, const char *type, int non_retryable, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_decref(a->failure);
	a->failure = json_pack("{s:s, s:s, s:b}", "message", msg, "type", type ? type : "ActivityError",
			       "non_retryable", non_retryable);
	return DURABLE_EFAILED;
}
