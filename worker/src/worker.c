/* The worker: its registry, its loop and connections, signals and the
 * graceful drain. What runs on the connections is in workflow_poll.c,
 * workflow_outcomes.c, activity.c, queries.c and wakeups.c. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "json_text.h"
#include "runtime.h"

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

/* Lifecycle ------------------------------------------------------------------ */

static void flush_all(durable_worker_t *w)
{
	durable__workflow_outcomes_flush(w);
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
	durable__workflow_outcomes_flush(arg);
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
	durable__backstop_start(w);
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
		durable__pg_new(&w->loop, w->dsn, "workflows", durable__on_queue_ready, durable__on_queue_notify, w, &w->wf_pg);
		int n = w->opts.completion_connections > 0 ? w->opts.completion_connections : 2;
		for (int i = 0; i < n && i < 8; i++) {
			char name[32];
			snprintf(name, sizeof(name), "completions-%d", i + 1);
			if (durable__pg_new(&w->loop, w->dsn, name, on_done_ready, NULL, w, &w->done_pg[w->ndone]) == 0)
				w->ndone++;
		}
		durable__pg_new(&w->loop, w->dsn, "queries", durable__on_queries_ready, NULL, w, &w->q_pg);
	}
	if (!w->opts.no_activities) {
		durable__pg_new(&w->loop, w->dsn, "activities", durable__on_queue_ready, durable__on_queue_notify, w, &w->act_pg);
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
