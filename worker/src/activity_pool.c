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
 * through one uv_async_t, in the order they finished. */
#include <errno.h>
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
	int closed;                    /* the loop side is gone: nothing goes back */
	uv_async_t finished;
};

static void pool_thread(void *arg);

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
	if (!p->queued)
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
		while (!p->queued && !p->stopping) {
			p->idle++;
			uv_cond_wait(&p->cond, &p->mu);
			p->idle--;
			p->waking = 0;
		}
		act_t *a = p->queued;
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
	uv_mutex_unlock(&p->mu);
}

static void on_finished(uv_async_t *h)
{
	struct durable__pool *p = h->data;
	uv_mutex_lock(&p->mu);
	act_t *done = p->done, *fifo = NULL;
	p->done = NULL;
	uv_mutex_unlock(&p->mu);
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
	/* A thread still running an activity (a drain that timed out) keeps
	 * the pool: both are left to the exiting process. */
	int busy = p->active;
	uv_mutex_unlock(&p->mu);
	if (busy > 0)
		return;
	for (int i = 0; i < p->threads; i++)
		uv_thread_join(&p->tids[i]);
	uv_cond_destroy(&p->cond);
	uv_mutex_destroy(&p->mu);
	free(p->tids);
	free(p);
}
