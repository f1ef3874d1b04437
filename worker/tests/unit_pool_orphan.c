/* Unit test of the activity threads when the worker goes first: a drain
 * that timed out (or a second SIGTERM) closes the loop and frees the
 * worker while an activity still runs on a pool thread. That activity may
 * still heartbeat and then return: it must touch neither the freed worker
 * nor the closed loop's handles (ASan: no use after free; libuv aborts on
 * a wake-up written to a closed loop), an activity queued behind it never
 * starts, and the last thread out frees what is left (no leak under ASan
 * and valgrind), which main waits for before it exits. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include "check.h"
#include "runtime.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int started, released;

static int stuck(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	started++;
	pthread_cond_broadcast(&cond);
	while (!released)
		pthread_cond_wait(&cond, &mu);
	pthread_mutex_unlock(&mu);
	/* the worker is gone by now: a heartbeat must not reach for it */
	durable_heartbeat(a, NULL);
	*out = in;
	return 0;
}

/* After main's checks: a failure here can only end the process. */
static int never(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)a;
	(void)in;
	(void)out;
	(void)arg;
	fprintf(stderr, "FAIL: an activity queued on a worker that is gone started\n");
	_exit(1);
}

static durable__registered_t stuck_reg = {.act = stuck}, never_reg = {.act = never};
static int ended;

static void on_done(struct durable_activity_ctx_s *a)
{
	ended++;
	durable__activity_unref(a);
}

static void submit(durable_worker_t *w, durable__registered_t *reg)
{
	struct durable_activity_ctx_s *a = calloc(1, sizeof(*a));
	uv_mutex_init(&a->mu);
	a->w = w;
	a->reg = reg;
	a->refs = 1;
	a->input = json_integer(1);
	a->on_done = on_done;
	CHECK(durable__pool_submit(w, a) == 0, "activity queued");
}

int main(void)
{
	durable_worker_options_t opts = {.task_queue = "unit"};
	durable_worker_t *w;
	CHECK(durable_worker_new(&opts, &w) == 0, "worker");
	CHECK(uv_loop_init(&w->loop) == 0, "loop");
	/* the heartbeats' wake-up, as durable_worker_run makes it */
	uv_async_init(&w->loop, &w->wakeup, durable__activities_wakeup);
	w->wakeup.data = w;
	CHECK(durable__pool_start(w, 1) == 0, "pool of one thread");
	submit(w, &stuck_reg);
	submit(w, &never_reg);   /* waits behind it: the only thread is taken */
	pthread_mutex_lock(&mu);
	while (!started)
		pthread_cond_wait(&cond, &mu);
	pthread_mutex_unlock(&mu);
	/* the drain timed out: the loop side goes (close_all), then the worker */
	uv_close((uv_handle_t *)&w->wakeup, NULL);
	durable__pool_close(w);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	CHECK(uv_loop_close(&w->loop) == 0, "every handle closed");
	durable_worker_free(w);   /* returns at once: the thread is busy */
	pthread_mutex_lock(&mu);
	released = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&mu);
	CHECK(ended == 0, "nothing ends on a loop that is gone");
	/* the last thread out frees the pool: eventually (a generous guard) */
	for (int i = 0; i < 60000 && __atomic_load_n(&durable__pool_orphans, __ATOMIC_SEQ_CST) > 0; i++)
		usleep(1000);
	CHECK(__atomic_load_n(&durable__pool_orphans, __ATOMIC_SEQ_CST) == 0, "the pool's last thread freed it");
	return CHECK_DONE();
}
