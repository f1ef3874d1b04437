/* The worker: registry, the workflow-task poller and its outcomes sent in
 * batches (the tasks themselves run in workflow_task.c), the query
 * long-poller, signals and graceful drain. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "replay.h"
#include "json_text.h"
#include "runtime.h"

/* How long one wait for queries lasts. Short for a store without
 * wait_for_query_tasks: its long poll takes what is posted, so a worker
 * killed with -9 leaves a backend that takes queries for that long (see
 * docs/sdk.md). The wait takes nothing, and each return costs a call. */
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
	durable__log_reread();
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
	/* unique to this process's lifetime: a restarted worker (the same
	 * pid in a new container, the same --identity) is never taken for
	 * this one by the store's sticky marks */
	unsigned long long nonce;
	if (getrandom(&nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		nonce = (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
	}
	snprintf(w->sticky, sizeof(w->sticky), "%.64s:%d/%016llx", host, (int)getpid(), nonce);
	w->dsn = dup_or(opts->dsn, "");
	w->task_queue = strdup(opts->task_queue);
	w->namespace_ = dup_or(opts->namespace_, "default");
	w->identity = dup_or(opts->identity, ident);
	w->activities_dir = opts->activities_dir ? strdup(opts->activities_dir) : NULL;
	w->build_id = opts->build_id && *opts->build_id ? strdup(opts->build_id) : NULL;
	w->outcomes = json_array();
	w->wf_outcomes = json_array();
	/* complete_workflow_tasks runs each item in a subtransaction: beyond 64
	 * PostgreSQL's subtransaction cache overflows. */
	w->wf_batch_max = opts->completion_batch > 0 && opts->completion_batch < 64 ? opts->completion_batch : 64;
	/* With sticky histories the cache costs the store nothing per poll
	 * (a poll names this process, not the runs it holds), so it holds the
	 * runs in flight of a busy queue: about 1 KB of memory per event held
	 * (docs/sdk.md). Against a store without them, the oldest past
	 * OLD_STORE_CACHE are not named (cache.c). */
	w->cache_size_given = w->opts.history_cache != 0;
	w->cache_events_max = DURABLE__CACHE_EVENTS;
	if (w->opts.history_cache == 0)
		w->opts.history_cache = DURABLE__HISTORY_CACHE_DEFAULT;
	/* a kept run goes on with the events its cached history grew by; a
	 * kept run holds its own stack (fiber.c), so by default fewer */
	if (w->opts.run_cache == 0)
		w->opts.run_cache = DURABLE__RUN_CACHE_DEFAULT;
	if (w->opts.run_cache > w->opts.history_cache)
		w->opts.run_cache = w->opts.history_cache;
	if (opts->codec_key_file && *opts->codec_key_file) {
		char err[512];
		durable_codec_t codec;
		int rc = durable_codec_key_file(opts->codec_key_file, &codec, err, sizeof(err));
		if (rc < 0 || (rc = durable_worker_add_codec(w, &codec)) < 0) {
			durable__log("ERROR", "%s", rc == -ENOMEM ? "out of memory" : err);
			durable_worker_free(w);
			return rc;
		}
	}
	if (w->opts.history_cache > 0 && !(w->cache = json_object())) {
		durable_worker_free(w);
		return -ENOMEM;
	}
	if (!w->dsn || !w->task_queue || !w->namespace_ || !w->identity || !w->outcomes || !w->wf_outcomes ||
	    (opts->activities_dir && !w->activities_dir) || (opts->build_id && *opts->build_id && !w->build_id)) {
		durable_worker_free(w);
		return -ENOMEM;
	}
	*out = w;
	return 0;
}

int durable_worker_add_codec(durable_worker_t *w, const durable_codec_t *codec)
{
	return durable__codecs_add(&w->codecs, codec);
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
	json_decref(w->wf_outcomes);
	durable__runs_clear(w);
	durable__pool_free(w);
	durable__cache_free(w);
	free(w->dsn);
	free(w->task_queue);
	free(w->namespace_);
	free(w->identity);
	free(w->activities_dir);
	free(w->build_id);
	durable__codecs_free(&w->codecs);
	free(w);
}

/* Workflow tasks ---------------------------------------------------------- */

static void poll_workflows(durable_worker_t *w);

/* Outcomes of workflow tasks are queued and sent with complete_workflow_tasks,
 * up to wf_batch_max per call, each call one transaction (one WAL flush, one
 * turn at the NOTIFY queue's lock) on one of the completion connections.
 * Group commit: when no batch is in flight, what is queued leaves once the
 * current loop iteration's callbacks have run (so a lone outcome goes at
 * once, and the tasks of one poll go together); while one is in flight, the
 * next one collects, and leaves when it is answered or full (a full batch
 * takes any free connection). The store answers per item, in order:
 * COMPLETED, FAILED, LEASE_LOST, INVALID or DENIED (which changed nothing for that
 * task). A batch that deadlocks (40P01) or fails to serialize (40001) is sent
 * again; one that fails otherwise is sent again one item at a time; one
 * whose connection broke is queued again (if it had committed, each item
 * comes back LEASE_LOST, harmlessly). */

#define WF_BATCH_SQL "SELECT task_token, outcome, error FROM durable.complete_workflow_tasks($1::jsonb, $2)"
/* Eager execution: the batch offers the worker's free activity slots, and
 * the store answers, after the outcome rows (kind workflow_task), one row
 * per activity it leased to this worker (kind activity_task), which starts
 * at once as if polled. Read by column name. */
#define WF_BATCH_EAGER_SQL \
	"SELECT kind, task_token, outcome, error, workflow_id, activity_id, activity_type, input, attempt, " \
	"extract(epoch FROM deadline - durable.now()) AS seconds_left, heartbeat_details " \
	"FROM durable.complete_workflow_tasks_eager($1::jsonb, $2, $3, $4::int, $5)"
static const durable__pg_reads_t wf_batch_reads = {
	"durable.complete_workflow_tasks", (const char *const[]){"task_token", "outcome", "error", NULL}};
static const durable__pg_reads_t wf_batch_eager_reads = {
	"durable.complete_workflow_tasks_eager",
	(const char *const[]){"kind", "task_token", "outcome", "error", "workflow_id", "activity_id", "activity_type",
			      "input", "attempt", "seconds_left", "heartbeat_details", NULL}};
#define WF_BATCH_RETRIES 10   /* a batch that deadlocks (40P01) or fails to serialize (40001) */

typedef struct {
	durable_worker_t *w;
	int slot;                  /* index in done_pg, or -1 for wf_pg */
	int attempts;
	int offered;               /* activity slots offered (eager execution), held until the answer */
	json_t *sent;              /* the items, in order */
} wf_batch_t;

static void flush_workflow_outcomes(durable_worker_t *w);

static durable__pg_t *slot_pg(durable_worker_t *w, int slot)
{
	return slot < 0 ? w->wf_pg : w->done_pg[slot];
}

/* Puts items back at the head of the queue, in their order. */
static void requeue(durable_worker_t *w, json_t *items)
{
	json_t *all = json_copy(items);
	if (!all || json_array_extend(all, w->wf_outcomes) < 0) {
		json_decref(all);
		json_array_extend(w->wf_outcomes, items);   /* order matters less than keeping them */
		return;
	}
	json_decref(w->wf_outcomes);
	w->wf_outcomes = all;
}

static void log_dropped(json_t *items, const char *why)
{
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
		durable__log("ERROR", "workflow task %s: completion failed: %s",
			     json_string_value(json_object_get(it, "task_token")), why);
}

static void on_wf_batch(durable__pg_t *pg, PGresult *res, void *arg);

/* The activities the items schedule on this worker's queue: what an eager
 * offer needs, so that one batch does not hold slots another could use. */
static int own_activities(durable_worker_t *w, json_t *items)
{
	size_t i, j;
	json_t *it, *cmd;
	int n = 0;
	json_array_foreach(items, i, it) {
		json_array_foreach(json_object_get(it, "commands"), j, cmd) {
			const char *type = json_string_value(json_object_get(cmd, "type")),
				   *queue = json_string_value(json_object_get(cmd, "task_queue"));
			if (type && strcmp(type, "ScheduleActivityTask") == 0 && (!queue || strcmp(queue, w->task_queue) == 0))
				n++;
		}
	}
	return n;
}

/* Sends a batch; it is the caller's to free on failure. */
static int send_batch(durable_worker_t *w, int slot, json_t *items, int attempts)
{
	wf_batch_t *b = malloc(sizeof(*b));
	char *body = durable__json_text(items), slots[16];
	/* A stopping worker takes no new activities; one that does not run
	 * activities, or was told not to, offers nothing. */
	int offer = w->opts.no_eager_activities || w->store_no_eager || w->opts.no_activities || !w->act_pg ||
			    w->stopping || !w->act_idle
			    ? 0 : durable__activity_slots(w);
	int wanted = offer > 0 ? own_activities(w, items) : 0;
	offer = offer < wanted ? offer : wanted;
	offer = offer < 0 ? 0 : offer > 1000 ? 1000 : offer;
	snprintf(slots, sizeof(slots), "%d", offer);
	const char *p[] = {body, w->identity, w->task_queue, slots, w->namespace_};
	if (b) {
		b->w = w;
		b->slot = slot;
		b->attempts = attempts;
		b->offered = offer;
		b->sent = json_incref(items);
	}
	if (!b || !body ||
	    durable__pg_call(slot_pg(w, slot), offer ? &wf_batch_eager_reads : &wf_batch_reads,
			     offer ? WF_BATCH_EAGER_SQL : WF_BATCH_SQL, offer ? 5 : 2, p, on_wf_batch, b) < 0) {
		if (b)
			json_decref(b->sent);
		free(b);
		free(body);
		return -ENOMEM;
	}
	free(body);
	w->eager_offered += offer;
	if (slot >= 0)
		w->done_inflight[slot]++;
	else
		w->wf_flushing++;
	return 0;
}

static void on_wf_batch(durable__pg_t *pg, PGresult *res, void *arg)
{
	wf_batch_t *b = arg;
	durable_worker_t *w = b->w;
	size_t n = json_array_size(b->sent);
	w->eager_offered -= b->offered;
	if (b->slot >= 0)
		w->done_inflight[b->slot]--;
	else
		w->wf_flushing--;
	int st = durable__pg_status(res);
	const char *state = durable__pg_sqlstate(res);
	if (!res) {
		/* The connection broke: send them again, on whichever connection
		 * comes back first. A batch that did commit is refused per task
		 * (LEASE_LOST), harmlessly. */
		if (!w->closed)
			requeue(w, b->sent);
	} else if (st < 0 && strcmp(state, "42883") == 0 && b->offered > 0) {
		/* a store older than eager execution (durable 0.1, during an
		 * upgrade): complete as before from now on */
		durable__log("INFO", "the store has no complete_workflow_tasks_eager (durable before 0.2): "
			     "activities go through the poll");
		w->store_no_eager = 1;
		if (send_batch(w, b->slot, b->sent, b->attempts) < 0)
			log_dropped(b->sent, "out of memory");
	} else if (st < 0 && (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0) &&
		   b->attempts < WF_BATCH_RETRIES) {
		durable__log("INFO", "complete_workflow_tasks: %s (SQLSTATE %s), sending the %zu outcomes again",
			     PQresultErrorMessage(res), state, n);
		if (send_batch(w, b->slot, b->sent, b->attempts + 1) < 0)
			log_dropped(b->sent, "out of memory");
	} else if (st < 0 && n > 1) {
		/* Not an item's fault the store could pin (those come back per
		 * item): one at a time, so only the culprit fails. */
		durable__log("WARN", "complete_workflow_tasks failed for %zu outcomes, sending them one by one: %s", n,
			     PQresultErrorMessage(res));
		for (size_t i = 0; i < n; i++) {
			json_t *one = json_pack("[O]", json_array_get(b->sent, i));
			if (!one || send_batch(w, b->slot, one, 0) < 0) {
				json_t *it = json_array_get(b->sent, i);
				durable__log("ERROR", "workflow task %s: completion failed: out of memory",
					     json_string_value(json_object_get(it, "task_token")));
			}
			json_decref(one);
		}
	} else if (st < 0) {
		log_dropped(b->sent, PQresultErrorMessage(res));
	} else {
		int outcomes = 0, eager = 0, polled = 0;
		for (int i = 0; i < PQntuples(res); i++) {
			const char *token = durable__pg_col(res, i, "task_token"), *outcome = durable__pg_col(res, i, "outcome");
			/* only an offer's answer has activity rows, and a kind */
			if (b->offered > 0 && strcmp(durable__pg_col(res, i, "kind"), "activity_task") == 0) {
				/* EAGER: scheduled by these completions and inserted started;
				 * POLLED: taken from the queue's backlog by a poll made
				 * with them */
				durable__log("DEBUG", "activity task %s: leased with the completion (%s)", token, outcome);
				durable__activity_take(w, res, i);
				if (strcmp(outcome, "EAGER") == 0)
					eager++;
				else
					polled++;
				continue;
			}
			outcomes++;
			if (strcmp(outcome, "LEASE_LOST") == 0)
				durable__log("WARN", "workflow task %s: lease lost, result discarded: %s", token,
					     durable__pg_col(res, i, "error"));
			else if (strcmp(outcome, "INVALID") == 0 || strcmp(outcome, "DENIED") == 0)
				durable__log("ERROR", "workflow task %s: completion refused: %s", token,
					     durable__pg_col(res, i, "error"));
			else
				durable__log("DEBUG", "workflow task %s: %s", token, outcome);
		}
		if ((size_t)outcomes != n)
			durable__log("WARN", "complete_workflow_tasks answered %d rows for %zu outcomes", outcomes, n);
		w->eager_started += eager;
		w->eager_polled += polled;
	}
	/* slots offered and not taken go back to the activity poll; so do
	 * the backlog's tasks a failed offer had locked, whose notification
	 * was spent (a broken connection polls when it is back) */
	if (b->offered > 0 && (w->act_again || (res && st < 0)))
		durable__activities_poll(w);
	(void)pg;
	json_decref(b->sent);
	free(b);
	flush_workflow_outcomes(w);
	durable__worker_maybe_done(w);
}

/* A connection that is up and has no batch of ours in flight, or -2. */
static int free_slot(durable_worker_t *w)
{
	if (w->ndone == 0)
		return w->wf_flushing == 0 && durable__pg_connected(w->wf_pg) ? -1 : -2;
	for (int i = 0; i < w->ndone; i++)
		if (w->done_inflight[i] == 0 && durable__pg_connected(w->done_pg[i]))
			return i;
	return -2;
}

static int batches_in_flight(durable_worker_t *w)
{
	int n = w->wf_flushing;
	for (int i = 0; i < w->ndone; i++)
		n += w->done_inflight[i];
	return n;
}

/* A partial batch goes only when no batch is in flight (it collects what
 * finishes meanwhile); a full one goes on any free connection. */
static void flush_workflow_outcomes(durable_worker_t *w)
{
	size_t n;
	int slot;
	while (!w->closed && (n = json_array_size(w->wf_outcomes)) > 0 &&
	       (n >= (size_t)w->wf_batch_max || batches_in_flight(w) == 0) && (slot = free_slot(w)) != -2) {
		size_t take = n < (size_t)w->wf_batch_max ? n : (size_t)w->wf_batch_max;
		json_t *batch = json_array(), *rest = json_array();
		if (!batch || !rest) {
			json_decref(batch);
			json_decref(rest);
			return;   /* out of memory: they stay queued */
		}
		for (size_t i = 0; i < n; i++)
			json_array_append(i < take ? batch : rest, json_array_get(w->wf_outcomes, i));
		json_decref(w->wf_outcomes);
		w->wf_outcomes = rest;
		durable__wakeup_judge(w, &w->wf_unannounced, "workflow");
		if (send_batch(w, slot, batch, 0) < 0)
			log_dropped(batch, "out of memory");
		json_decref(batch);
	}
}

void durable__workflow_outcome_queue(durable_worker_t *w, json_t *item, const char *token)
{
	if (!item || json_array_append_new(w->wf_outcomes, item) < 0) {
		durable__log("ERROR", "workflow task %s: completion failed: out of memory", token);
		return;
	}
	if (json_array_size(w->wf_outcomes) >= (size_t)w->wf_batch_max)
		flush_workflow_outcomes(w);
	durable__worker_flush_soon(w);
}

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
			poll_workflows(w);
		return;
	}
	w->wf_poll_failed = 0;
	int n = PQntuples(res);
	durable__backstop_found(&w->wf_backstop_poll, &w->wf_unannounced, res, "workflow");
	for (int i = 0; i < n; i++)
		durable__workflow_task_run(w, res, i);
	/* A full batch means more may wait; a notification during the poll too. */
	if (n == w->opts.max_workflow_batch || w->wf_again)
		poll_workflows(w);   /* which trims first */
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
			      NULL}};

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
	poll_workflows(w);
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
	else if (w->ndone == 0)
		flush_workflow_outcomes(w);   /* without completion connections, outcomes go on this one */
}

/*
 * NOTIFY is the wake-up; this is only the backstop. A notification can be
 * lost (one was, once, in the pipeline test under load, and a LISTEN
 * connection that reconnects misses what was sent meanwhile), and a lost one
 * would strand a ready task until the next notification of its queue. So
 * every BACKSTOP_MS each queue is polled once more; an idle worker pays one
 * empty poll per kind per interval.
 */
#define BACKSTOP_MS 5000
/* Every commit that makes work sends a notification, and the poll it causes
 * sees that commit; so work a backstop poll finds after this long without
 * any notification of its kind was announced to no one, or announced and
 * not acted on: a lost wake-up, logged and counted (e2e/t_wakeups.sh) --
 * unless its notification arrives just after the poll's answer, before the
 * worker sends an outcome, or the task is fresh (below). */
#define BACKSTOP_QUIET_MS 1000
/* A task the store says waited ready for less than this when the backstop
 * poll took it may be a fresh commit whose notification is on its way, and
 * is not counted: PostgreSQL makes a commit visible before it signals the
 * listeners, and a loaded machine can hold that signal back past the poll,
 * the task's run and its outcome; and a task's wait is counted from the
 * statement that made it ready, so a long transaction (forty workflows
 * started in one, on a loaded machine) commits tasks that look older than
 * they are. Half the backstop's interval: a wake-up lost for good is still
 * found by the next tick but one at the latest. */
#define BACKSTOP_FRESH_MS (BACKSTOP_MS / 2)

static void poll_queries(durable_worker_t *w);

static void on_backstop(uv_timer_t *t)
{
	durable_worker_t *w = t->data;
	if (w->stopping)
		return;
	uint64_t now = uv_now(&w->loop);
	/* a whole interval without their notification */
	durable__wakeup_judge(w, &w->wf_unannounced, "workflow");
	durable__wakeup_judge(w, &w->act_unannounced, "activity");
	/* flagged before the poll goes, which then asks how long its tasks waited */
	if (!w->opts.no_workflows && w->wf_pg && !w->wf_polling) {
		w->wf_backstop_poll = now - w->wf_notified_ms >= BACKSTOP_QUIET_MS;
		poll_workflows(w);
		w->wf_backstop_poll = w->wf_backstop_poll && w->wf_polling;
	}
	if (!w->opts.no_activities && w->act_pg && !w->act_polling) {
		w->act_backstop_poll = now - w->act_notified_ms >= BACKSTOP_QUIET_MS;
		durable__activities_poll(w);
		w->act_backstop_poll = w->act_backstop_poll && w->act_polling;
	}
	/* a wait for queries that was canceled (pg_cancel_backend, a
	 * statement_timeout) left none in flight: wait again, not in a loop */
	if (w->q_retry)
		poll_queries(w);
	/* an old path taken for a call the store lacked: updated since? */
	durable__old_store_check(w);
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

void durable__backstop_found(int *flag, int *unannounced, PGresult *res, const char *kind)
{
	int col = PQfnumber(res, "waited");
	for (int i = 0; *flag && i < PQntuples(res); i++) {
		double waited_ms = col < 0 || PQgetisnull(res, i, col) ? -1 : strtod(PQgetvalue(res, i, col), NULL) * 1000;
		if (waited_ms >= 0 && waited_ms < BACKSTOP_FRESH_MS)
			durable__log("INFO", "the backstop poll found a task (%s) ready for %.0f ms: its notification "
				     "may still be on its way; not counted", kind, waited_ms);
		else
			(*unannounced)++;
	}
	*flag = 0;
}

void durable__wakeup_judge(durable_worker_t *w, int *unannounced, const char *kind)
{
	if (*unannounced == 0)
		return;
	w->lost_wakeups++;
	durable__log("WARN", "the backstop poll found %d %s task%s that no notification announced: "
		     "a lost wake-up (%llu so far)", *unannounced, kind, *unannounced == 1 ? "" : "s",
		     (unsigned long long)w->lost_wakeups);
	*unannounced = 0;
}

static void on_notify(durable__pg_t *pg, const char *channel, void *arg)
{
	durable_worker_t *w = arg;
	(void)channel;
	if (pg == w->wf_pg) {
		w->wf_notified_ms = uv_now(&w->loop);
		w->wf_backstop_poll = 0;   /* what the poll in flight finds may be this one's */
		w->wf_unannounced = 0;     /* or what it found: this is their notification, late */
		poll_workflows(w);
	} else {
		w->act_notified_ms = uv_now(&w->loop);
		w->act_backstop_poll = 0;
		w->act_unannounced = 0;
		durable__activities_poll(w);
	}
}

/* Queries ------------------------------------------------------------------- */

/* The worker waits for queries with a procedure that commits before it
 * waits (api/75_query_wait.sql): a wait inside a statement would hold its
 * snapshot, and with it the database's xmin horizon, for the whole wait.
 * When it says one is ready, a poll that does not wait takes it. */
#define QUERY_WAIT_SQL "CALL durable.wait_for_query_tasks($1, $2::int, $3, $4)"
/* A query is answered with the query_token its poll handed out, nothing else. */
#define QUERY_POLL_SQL                                                                       \
	"SELECT query_token, workflow_id, run_id, query_type, args, history "                   \
	"FROM durable.poll_query_tasks($1, $2, 10, $3::int, $4)"
#define QUERY_POLL_SQL_BUILD                                                                 \
	"SELECT query_token, workflow_id, run_id, query_type, args, history "                   \
	"FROM durable.poll_query_tasks($1, $2, 10, $3::int, $4, build_id => $5)"
static const durable__pg_reads_t query_wait_reads = {"durable.wait_for_query_tasks",
							    (const char *const[]){"ready", NULL}};
static const durable__pg_reads_t query_poll_reads = {
	"durable.poll_query_tasks",
	(const char *const[]){"query_token", "workflow_id", "run_id", "query_type", "args", "history", NULL}};
#define QUERY_ANSWER_SQL "SELECT durable.answer_query_task($1, $2::jsonb, $3)"
/* An update the workflow's validator accepted is recorded, and its caller told, at once. */
#define UPDATE_ACCEPT_SQL "SELECT durable.accept_update_task($1, $2::uuid, $3, $4, $5::jsonb, $6)"

static void on_answered(durable__pg_t *pg, PGresult *res, void *arg)
{
	(void)pg;
	(void)arg;
	int st = durable__pg_status(res);
	if (st == DURABLE_ELEASE)
		durable__log("WARN", "query answer refused: the caller gave up, or the query was offered again");
	else if (st < 0)
		durable__log("ERROR", "answer_query_task failed: %s", res ? PQresultErrorMessage(res) : "connection lost");
}

/* An update the store would not record: its caller hears why, not a timeout. */
static void on_accepted(durable__pg_t *pg, PGresult *res, void *arg)
{
	char *token = arg;
	if (durable__pg_status(res) < 0 && res && durable__pg_status(res) != DURABLE_ELEASE) {
		const char *p[] = {token, NULL, PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)};
		durable__log("WARN", "update not recorded: %s", p[2] ? p[2] : "?");
		durable__pg_query(pg, QUERY_ANSWER_SQL, 3, p, on_answered, NULL);
	} else {
		on_answered(pg, res, NULL);
	}
	free(token);
}

/* Compact text of v encoded (a query answer, an update's args), or NULL
 * with err set. */
static char *encoded_text(durable_worker_t *w, json_t *v, char *err, size_t errlen)
{
	json_t *e = durable__encode(&w->codecs, v ? v : json_null(), err, errlen);
	char *text = e ? durable__json_text(e) : NULL;
	json_decref(e);
	return text;
}

static void answer_query(durable_worker_t *w, PGresult *res, int row)
{
	const char *history_text = durable__pg_col(res, row, "history"), *args_text = durable__pg_col(res, row, "args");
	char cerr[512] = "";
	json_t *history = durable__decode_owned(&w->codecs, durable__json_load(history_text, strlen(history_text), 0, NULL), cerr, sizeof(cerr));
	json_t *args = durable__decode_owned(&w->codecs, durable__json_load(args_text, strlen(args_text), JSON_DECODE_ANY, NULL), cerr,
			       sizeof(cerr));
	if (cerr[0]) {
		char msg[600];
		snprintf(msg, sizeof(msg), "%s: %s", DURABLE__CODEC_FAILURE, cerr);
		durable__log("ERROR", "query %s of workflow %s: %s", durable__pg_col(res, row, "query_type"),
			     durable__pg_col(res, row, "workflow_id"), msg);
		const char *p[] = {durable__pg_col(res, row, "query_token"), NULL, msg};
		durable__pg_query(w->q_pg, QUERY_ANSWER_SQL, 3, p, on_answered, w);
		json_decref(history);
		json_decref(args);
		return;
	}
	json_t *started = json_array_get(history, 0);
	const char *type = json_string_value(json_object_get(json_object_get(started, "attributes"), "workflow_type"));
	durable__task_t task = {.workflow_id = durable__pg_col(res, row, "workflow_id"),
				.run_id = durable__pg_col(res, row, "run_id"),
				.workflow_type = type ? type : "", .history = history,
				.query_type = durable__pg_col(res, row, "query_type"), .query_args = args};
	durable__registered_t *reg = durable__find(w->workflows, task.workflow_type);
	durable__outcome_t out;
	char *answer = NULL;
	if (history && durable__replay(reg ? reg->wf : NULL, &task, &out) == 0) {
		/* an update's verdict is read by the store: not a payload */
		int verdict = strcmp(task.query_type, DURABLE__UPDATE_QUERY) == 0;
		answer = out.error ? NULL
			 : verdict ? durable__json_text(out.answer ? out.answer : json_null())
				   : encoded_text(w, out.answer, cerr, sizeof(cerr));
		if (!out.error && !answer) {
			char msg[600];
			snprintf(msg, sizeof(msg), "%s: %s", DURABLE__CODEC_FAILURE, cerr[0] ? cerr : "out of memory");
			out.error = strdup(msg);
		}
		if (verdict &&
		    json_is_true(json_object_get(out.answer, "accepted"))) {
			char *update_args = encoded_text(w, json_object_get(args, "args"), cerr, sizeof(cerr));
			const char *p[] = {durable__pg_col(res, row, "query_token"), task.run_id,
					   json_string_value(json_object_get(args, "update_id")),
					   json_string_value(json_object_get(args, "name")), update_args,
					   json_string_value(json_object_get(args, "identity"))};
			char *token = strdup(p[0]);
			if (!token || durable__pg_query(w->q_pg, UPDATE_ACCEPT_SQL, 6, p, on_accepted, token) < 0)
				free(token);
			free(update_args);
		} else {
			const char *p[] = {durable__pg_col(res, row, "query_token"), answer, out.error};
			durable__pg_query(w->q_pg, QUERY_ANSWER_SQL, 3, p, on_answered, w);
		}
		durable__outcome_free(&out);
	}
	free(answer);
	json_decref(history);
	json_decref(args);
}

/* Whether a failed wait or poll for queries is worth another (at the next
 * backstop tick): a canceled one (57014: an operator's pg_cancel_backend, a
 * statement_timeout) or a transient error. Any other (a missing grant, a
 * store whose poll_query_tasks hands out 0.1's ids) would fail the same way
 * each time, so it is logged once and the queue's queries go unanswered, as
 * they must. (A broken connection polls again when it reconnects.) */
static int query_retryable(PGresult *res)
{
	return durable__pg_transient(res) || strcmp(durable__pg_sqlstate(res), "57014") == 0;
}

static void on_queries(durable__pg_t *pg, PGresult *res, void *arg)
{
	(void)pg;
	durable_worker_t *w = arg;
	w->q_polling = 0;
	if (durable__pg_status(res) < 0) {
		if (res) {
			durable__log("ERROR", "poll_query_tasks failed: %s", PQresultErrorMessage(res));
			w->q_retry = query_retryable(res);
		}
		return;
	}
	for (int i = 0; i < PQntuples(res); i++)
		answer_query(w, res, i);
	poll_queries(w);
}

/* Takes what is posted: at once after a wait said so, or as the long poll
 * of a store without the wait. */
static void take_queries(durable_worker_t *w, const char *wait_ms)
{
	const char *p[] = {w->task_queue, w->identity, wait_ms, w->namespace_, w->build_id};
	/* an unversioned worker calls what a 0.1 store has too */
	if (durable__pg_call(w->q_pg, &query_poll_reads, w->build_id ? QUERY_POLL_SQL_BUILD : QUERY_POLL_SQL,
			     w->build_id ? 5 : 4, p, on_queries, w) == 0)
		w->q_polling = 1;
}

static void on_query_wait(durable__pg_t *pg, PGresult *res, void *arg)
{
	(void)pg;
	durable_worker_t *w = arg;
	w->q_polling = 0;
	if (durable__pg_status(res) < 0) {
		if (res && strcmp(durable__pg_sqlstate(res), "42883") == 0) {
			/* a store older than the wait (durable 0.1, during an upgrade) */
			durable__log("INFO", "the store has no wait_for_query_tasks (durable before 0.2): "
				     "queries are long-polled, which holds a snapshot while it waits");
			w->q_long_poll = 1;
			poll_queries(w);
		} else if (res) {
			durable__log("ERROR", "wait_for_query_tasks failed: %s", PQresultErrorMessage(res));
			w->q_retry = query_retryable(res);
		}
		return;
	}
	const char *ready = PQntuples(res) == 1 ? durable__pg_col(res, 0, "ready") : NULL;
	if (w->stopping)
		return;
	if (ready && strcmp(ready, "t") == 0)
		take_queries(w, "0");
	else
		poll_queries(w);
}

static void poll_queries(durable_worker_t *w)
{
	if (w->stopping || w->q_polling || !w->q_pg)
		return;
	w->q_retry = 0;
	if (w->q_long_poll) {
		take_queries(w, QUERY_WAIT_MS);
		return;
	}
	const char *p[] = {w->task_queue, QUERY_WAIT_MS, w->namespace_, w->build_id};
	if (durable__pg_call(w->q_pg, &query_wait_reads, QUERY_WAIT_SQL, 4, p, on_query_wait, w) == 0)
		w->q_polling = 1;
}

static void on_q_ready(durable__pg_t *pg, const char *channel, void *arg)
{
	(void)pg;
	(void)channel;
	poll_queries(arg);
}

/* Lifecycle ------------------------------------------------------------------ */

static void flush_all(durable_worker_t *w)
{
	flush_workflow_outcomes(w);
	durable__activities_flush(w);
	if (w->act_again)
		durable__activities_poll(w);
}

static void on_flush(uv_idle_t *h)
{
	durable_worker_t *w = h->data;
	uv_idle_stop(h);
	flush_all(w);
	durable__worker_maybe_done(w);
}

/* An idle handle, not a check handle: it runs before the loop next waits
 * for I/O whatever phase armed it (an executable activity finishes in a
 * close callback, after the check phase), and it never sleeps. */
void durable__worker_flush_soon(durable_worker_t *w)
{
	if (w->flusher_on)
		uv_idle_start(&w->flusher, on_flush);
	else
		flush_all(w);   /* no loop of ours (unit tests) */
}

/* A completion connection came (back): outcomes may be waiting for it. */
static void on_done_ready(durable__pg_t *pg, const char *channel, void *arg)
{
	(void)pg;
	(void)channel;
	flush_workflow_outcomes(arg);
}

/* The activity outcomes' connection came (back): outcomes may be waiting for it. */
static void on_act_done_ready(durable__pg_t *pg, const char *channel, void *arg)
{
	(void)pg;
	(void)channel;
	durable__activities_flush(arg);
}

static void close_all(durable_worker_t *w)
{
	if (w->closed)
		return;
	w->closed = 1;
	durable__local_abandon(w);
	durable__pg_close(w->wf_pg);
	for (int i = 0; i < w->ndone; i++)
		durable__pg_close(w->done_pg[i]);
	w->ndone = 0;
	durable__pg_close(w->act_pg);
	durable__pg_close(w->act_done_pg);
	durable__pg_close(w->q_pg);
	w->wf_pg = w->act_pg = w->act_done_pg = w->q_pg = NULL;
	uv_close((uv_handle_t *)&w->sigterm, NULL);
	uv_close((uv_handle_t *)&w->sigint, NULL);
	uv_close((uv_handle_t *)&w->wakeup, NULL);
	durable__pool_close(w);
	__atomic_store_n(&w->stop_async_on, 0, __ATOMIC_SEQ_CST);
	uv_close((uv_handle_t *)&w->stop_async, NULL);
	uv_close((uv_handle_t *)&w->drain_timer, NULL);
	uv_close((uv_handle_t *)&w->backstop, NULL);
	if (w->flusher_on)
		uv_close((uv_handle_t *)&w->flusher, NULL);
	w->flusher_on = 0;
	durable__wakeup_judge(w, &w->wf_unannounced, "workflow");
	durable__wakeup_judge(w, &w->act_unannounced, "activity");
	durable__log("INFO", "stopped after %llu workflow tasks (%llu whole histories asked for; kept runs: %llu went on, "
		     "%llu overtaken, %llu evicted, "
		     "%llu replayed, %llu handed back with activity outcomes) and %llu activity tasks (%llu lost wake-ups; "
		     "with a completion: %llu eager, %llu polled)",
		     (unsigned long long)w->workflow_tasks, (unsigned long long)w->histories_refetched,
		     (unsigned long long)w->runs_resumed,
		     (unsigned long long)w->runs_overtaken, (unsigned long long)w->runs_evicted,
		     (unsigned long long)w->runs_replayed, (unsigned long long)w->handed_back,
		     (unsigned long long)w->activity_tasks, (unsigned long long)w->lost_wakeups,
		     (unsigned long long)w->eager_started, (unsigned long long)w->eager_polled);
}

void durable__worker_maybe_done(durable_worker_t *w)
{
	if (!w || !w->stopping || w->closed)
		return;
	if (w->running > 0 || w->local_tasks > 0 || w->completing || json_array_size(w->outcomes) > 0 ||
	    json_array_size(w->wf_outcomes) > 0 || durable__pg_busy(w->wf_pg))
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

static void on_stop_async(uv_async_t *a)
{
	if (!((durable_worker_t *)a->data)->stopping)
		durable_worker_stop(a->data);
}

int durable__worker_stop_async(durable_worker_t *w)
{
	if (!__atomic_load_n(&w->stop_async_on, __ATOMIC_SEQ_CST))
		return -EAGAIN;
	return uv_async_send(&w->stop_async);
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
	uv_timer_init(&w->loop, &w->backstop);
	w->backstop.data = w;
	/* DURABLE_BACKSTOP_MS: another interval, for tests that must see
	 * wake-ups that do not depend on the backstop */
	const char *every = getenv("DURABLE_BACKSTOP_MS");
	uint64_t backstop_ms = every && atoll(every) > 0 ? (uint64_t)atoll(every) : BACKSTOP_MS;
	uv_timer_start(&w->backstop, on_backstop, backstop_ms, backstop_ms);
	uv_async_init(&w->loop, &w->wakeup, durable__activities_wakeup);
	w->wakeup.data = w;
	uv_async_init(&w->loop, &w->stop_async, on_stop_async);
	w->stop_async.data = w;
	__atomic_store_n(&w->stop_async_on, 1, __ATOMIC_SEQ_CST);
	uv_idle_init(&w->loop, &w->flusher);
	w->flusher.data = w;
	w->flusher_on = 1;
	durable__activities_init(w);
	durable__log("INFO", "worker %s%s%s polling task queue %s (namespace %s): %s%s%s", w->identity,
		     w->build_id ? " build " : "", w->build_id ? w->build_id : "", w->task_queue, w->namespace_,
		     w->opts.no_workflows ? "" : "workflows ", w->opts.no_activities ? "" : "activities ",
		     w->activities_dir ? w->activities_dir : "");
	if (!w->opts.no_workflows) {
		durable__pg_new(&w->loop, w->dsn, "workflows", on_ready, on_notify, w, &w->wf_pg);
		int n = w->opts.completion_connections > 0 ? w->opts.completion_connections : 2;
		for (int i = 0; i < n && i < 8; i++) {
			char name[32];
			snprintf(name, sizeof(name), "completions-%d", i + 1);
			if (durable__pg_new(&w->loop, w->dsn, name, on_done_ready, NULL, w, &w->done_pg[w->ndone]) == 0)
				w->ndone++;
		}
		durable__pg_new(&w->loop, w->dsn, "queries", on_q_ready, NULL, w, &w->q_pg);
	}
	if (!w->opts.no_activities) {
		durable__pg_new(&w->loop, w->dsn, "activities", on_ready, on_notify, w, &w->act_pg);
		durable__pg_new(&w->loop, w->dsn, "activity-completions", on_act_done_ready, NULL, w, &w->act_done_pg);
	}
	durable__json_pool_t *pool = durable__json_pool_begin();
	uv_run(&w->loop, UV_RUN_DEFAULT);
	if (!w->closed)
		close_all(w);
	uv_run(&w->loop, UV_RUN_DEFAULT);   /* let the close callbacks run */
	durable__json_pool_end(pool);
	rc = uv_loop_close(&w->loop);
	if (rc < 0)
		durable__log("WARN", "loop closed with handles open: %s", uv_strerror(rc));
	return 0;
}
