/* The threads C activities (and local activities) run on, one per running
 * activity, at most opts.max_concurrent_activities + 2 (UV_THREADPOOL_SIZE
 * when set), started as needed.
 *
 * libuv's pool, used before, woke a thread for every activity queued: a
 * futex wake and two context switches each, a third of the worker's CPU
 * with the bench's no-op activities. Here at most one thread is being
 * woken at a time: a woken thread that leaves work queued wakes the next,
 * and a thread whose activity ends takes the next queued one without
 * sleeping. Activities that return at once are then run by the one or two
 * threads awake; activities that block each get a thread all the same,
 * one wake-up after another. Finished activities go back to the loop
 * through one uv_async_t, in the order they finished, and so do the
 * heartbeats' wake-ups (durable__pool_heartbeat).
 *
 * A drain that timed out (or a second SIGTERM) closes the loop and frees
 * the worker while activities still run: the pool then outlives both, its
 * threads detached; an activity that ends or heartbeats touches only the
 * pool, nothing queued starts, and the last thread out frees the pool and
 * the activities left in it. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include "runtime.h"

typedef struct durable_activity_ctx_s act_t;

struct durable__pool {
	durable_worker_t *w;
	uv_mutex_t mu;                 /* guards all below */
	uv_cond_t cond;
	act_t *queued, *queued_tail;   /* linked by pool_next, oldest first */
	act_t *done;                   /* finished, newest first, for the loop */
	uv_thread_t *tids;             /* max of them, threads started */
	int threads, idle, max;
	int active;                    /* threads running an activity */
	int waking;                    /* a thread was signaled and has not run yet */
	int stopping;                  /* threads exit once nothing is queued */
	int closed;                    /* the loop side is gone: nothing goes back, nothing starts */
	int orphaned;                  /* the worker is gone: the last thread out frees the pool */
	int heartbeats;                /* an activity heartbeated since the loop last looked */
	uv_async_t finished;
};

/* Pools freed while an activity still ran, whose last thread is not out
 * yet (unit_pool_orphan waits for none before it exits). */
int durable__pool_orphans;

static void pool_thread(void *arg);
static void pool_destroy(struct durable__pool *p);

static int start_thread(struct durable__pool *p)
{
	/* libuv's pool threads had 8 MB stacks: activities keep them */
	uv_thread_options_t opts = {.flags = UV_THREAD_HAS_STACK_SIZE, .stack_size = 8u << 20};
	int rc = uv_thread_create_ex(&p->tids[p->threads], &opts, pool_thread, p);
	if (rc == 0)
		p->threads++;
	return rc;
}

/* With p->mu held, after work was queued or taken: while some waits, one
 * more thread, which does the same when it takes some: an idle one woken
 * (unless one is being woken already), or a new one while none is idle.
 * Failing to start one is no loss: a busy thread takes it when its
 * activity ends. */
static void more_hands(struct durable__pool *p)
{
	if (!p->queued || p->closed)
		return;
	if (p->idle > 0) {
		if (!p->waking) {
			p->waking = 1;
			uv_cond_signal(&p->cond);
		}
	} else if (p->threads < p->max) {
		start_thread(p);
	}
}

static void pool_thread(void *arg)
{
	struct durable__pool *p = arg;
	uv_mutex_lock(&p->mu);
	for (;;) {
		while ((!p->queued || p->closed) && !p->stopping) {
			p->idle++;
			uv_cond_wait(&p->cond, &p->mu);
			p->idle--;
			p->waking = 0;
		}
		act_t *a = p->closed ? NULL : p->queued;
		if (!a)
			break;
		p->queued = a->pool_next;
		if (!p->queued)
			p->queued_tail = NULL;
		more_hands(p);
		p->active++;
		uv_mutex_unlock(&p->mu);
		durable__activity_call(a);
		uv_mutex_lock(&p->mu);
		p->active--;
		a->pool_next = p->done;
		p->done = a;
		/* the first finished since the loop last looked wakes it */
		if (!a->pool_next && !p->closed)
			uv_async_send(&p->finished);
	}
	int last = p->orphaned && --p->threads == 0;
	uv_mutex_unlock(&p->mu);
	if (last) {
		pool_destroy(p);
		__atomic_sub_fetch(&durable__pool_orphans, 1, __ATOMIC_SEQ_CST);
	}
}

/* From an activity's thread: the loop sends its heartbeat (or does nothing,
 * once the loop is gone). */
void durable__pool_heartbeat(act_t *a)
{
	struct durable__pool *p = a->threads;
	uv_mutex_lock(&p->mu);
	if (!p->closed && !p->heartbeats) {
		p->heartbeats = 1;
		uv_async_send(&p->finished);
	}
	uv_mutex_unlock(&p->mu);
}

static void on_finished(uv_async_t *h)
{
	struct durable__pool *p = h->data;
	uv_mutex_lock(&p->mu);
	act_t *done = p->done, *fifo = NULL;
	int heartbeats = p->heartbeats;
	p->done = NULL;
	p->heartbeats = 0;
	uv_mutex_unlock(&p->mu);
	if (heartbeats)
		durable__activities_heartbeats(p->w);
	while (done) {   /* in the order they finished */
		act_t *next = done->pool_next;
		done->pool_next = fifo;
		fifo = done;
		done = next;
	}
	while (fifo) {
		act_t *a = fifo;
		fifo = a->pool_next;
		durable__activity_finish(a);
	}
}

int durable__pool_start(durable_worker_t *w, int max_threads)
{
	struct durable__pool *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->w = w;
	p->max = max_threads;
	p->tids = calloc((size_t)max_threads, sizeof(*p->tids));
	if (!p->tids || uv_mutex_init(&p->mu) < 0) {
		free(p->tids);
		free(p);
		return -ENOMEM;
	}
	if (uv_cond_init(&p->cond) < 0) {
		uv_mutex_destroy(&p->mu);
		free(p->tids);
		free(p);
		return -ENOMEM;
	}
	uv_async_init(&w->loop, &p->finished, on_finished);
	p->finished.data = p;
	w->pool = p;
	return 0;
}

int durable__pool_submit(durable_worker_t *w, act_t *a)
{
	struct durable__pool *p = w->pool;
	int rc = 0;
	if (!p)
		return -EINVAL;
	a->pool_next = NULL;
	a->threads = p;
	uv_mutex_lock(&p->mu);
	if (p->threads == 0 && (rc = start_thread(p)) < 0) {
		uv_mutex_unlock(&p->mu);
		return rc;
	}
	if (p->queued_tail)
		p->queued_tail->pool_next = a;
	else
		p->queued = a;
	p->queued_tail = a;
	more_hands(p);
	uv_mutex_unlock(&p->mu);
	return 0;
}

void durable__pool_close(durable_worker_t *w)
{
	struct durable__pool *p = w->pool;
	if (!p)
		return;
	uv_mutex_lock(&p->mu);
	p->closed = 1;
	uv_mutex_unlock(&p->mu);
	uv_close((uv_handle_t *)&p->finished, NULL);
}

void durable__pool_free(durable_worker_t *w)
{
	struct durable__pool *p = w->pool;
	if (!p)
		return;
	w->pool = NULL;
	uv_mutex_lock(&p->mu);
	p->stopping = 1;
	uv_cond_broadcast(&p->cond);
	/* A thread still running an activity (a drain that timed out) may run
	 * for hours more: none is waited for, the last one out frees the pool. */
	if (p->active > 0) {
		p->orphaned = 1;
		__atomic_add_fetch(&durable__pool_orphans, 1, __ATOMIC_SEQ_CST);
		for (int i = 0; i < p->threads; i++)
			pthread_detach(p->tids[i]);
		uv_mutex_unlock(&p->mu);
		return;
	}
	uv_mutex_unlock(&p->mu);
	for (int i = 0; i < p->threads; i++)
		uv_thread_join(&p->tids[i]);
	pool_destroy(p);
}

/* Activities that never started or never went back to the loop (closed
 * first) are the pool's alone to let go of. */
static void drop_list(act_t *a)
{
	while (a) {
		act_t *next = a->pool_next;
		durable__activity_unref(a);
		a = next;
	}
}

static void pool_destroy(struct durable__pool *p)
{
	drop_list(p->queued);
	drop_list(p->done);
	uv_cond_destroy(&p->cond);
	uv_mutex_destroy(&p->mu);
	free(p->tids);
	free(p);
}
