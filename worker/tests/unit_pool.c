/* Unit tests of the activity threads (activity_pool.c) on a real loop:
 * activities that block each get a thread up to the limit, however the
 * wake-ups chain (four that wait for each other all run at once); what
 * waits behind them runs when a thread comes free; every activity ends on
 * the loop thread, once; and the pool stops with its threads joined
 * (leaks and unjoined threads show under ASan and valgrind). */
#include <pthread.h>
#include <string.h>
#include "check.h"
#include "runtime.h"

#define LIMIT 4

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_in = PTHREAD_COND_INITIALIZER;
static int inside, most_inside, ran;
static int ended, ended_off_loop;
static pthread_t loop_thread;

/* Waits until LIMIT activities are inside at once: it returns only if the
 * pool ran that many in parallel. */
static int meet(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)a;
	(void)arg;
	pthread_mutex_lock(&mu);
	inside++;
	most_inside = inside > most_inside ? inside : most_inside;
	pthread_cond_broadcast(&all_in);
	while (most_inside < LIMIT)
		pthread_cond_wait(&all_in, &mu);
	inside--;
	ran++;
	pthread_mutex_unlock(&mu);
	*out = in;
	return 0;
}

static int quick(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)a;
	(void)arg;
	pthread_mutex_lock(&mu);
	ran++;
	pthread_mutex_unlock(&mu);
	*out = in;
	return 0;
}

static void submit(durable_worker_t *w, durable__registered_t *reg, int i);
static durable__registered_t meet_reg, quick_reg;
static int first_phase, total;

static void on_done(struct durable_activity_ctx_s *a)
{
	ended++;
	ended_off_loop += !pthread_equal(pthread_self(), loop_thread);
	CHECK(a->rc == 0 && json_integer_value(a->result) == (json_int_t)(intptr_t)a->local,
	      "activity %zu ended with its own result", (size_t)(intptr_t)a->local);
	durable_worker_t *w = a->w;
	durable__activity_unref(a);
	if (ended == first_phase) {
		/* again, now that the threads wait idle: the wake-ups chain */
		CHECK(most_inside == LIMIT, "the limit's worth ran at once, no more: %d", most_inside);
		pthread_mutex_lock(&mu);
		most_inside = 0;
		pthread_mutex_unlock(&mu);
		for (int i = first_phase; i < total; i++)
			submit(w, i < first_phase + LIMIT ? &meet_reg : &quick_reg, i);
	}
	if (ended == total)
		durable__pool_close(w);   /* the last: the loop may end */
}

static durable__registered_t meet_reg = {.act = meet}, quick_reg = {.act = quick};

static void submit(durable_worker_t *w, durable__registered_t *reg, int i)
{
	struct durable_activity_ctx_s *a = calloc(1, sizeof(*a));
	uv_mutex_init(&a->mu);
	a->w = w;
	a->reg = reg;
	a->refs = 1;
	a->input = json_integer(i);
	a->local = (void *)(intptr_t)i;
	a->on_done = on_done;
	CHECK(durable__pool_submit(w, a) == 0, "activity %d queued", i);
}

int main(void)
{
	durable_worker_options_t opts = {.task_queue = "unit"};
	durable_worker_t *w;
	CHECK(durable_worker_new(&opts, &w) == 0, "worker");
	CHECK(durable__pool_submit(w, NULL) == -EINVAL, "no pool before the loop starts it");
	CHECK(uv_loop_init(&w->loop) == 0, "loop");
	loop_thread = pthread_self();
	CHECK(durable__pool_start(w, LIMIT) == 0, "pool");
	/* twice the limit of activities that wait for LIMIT of them to be in
	 * at once, around 200 that return at once */
	int n = 0;
	for (int i = 0; i < 100; i++)
		submit(w, &quick_reg, n++);
	for (int i = 0; i < 2 * LIMIT; i++)
		submit(w, &meet_reg, n++);
	for (int i = 0; i < 100; i++)
		submit(w, &quick_reg, n++);
	first_phase = n;
	total = n + LIMIT + 50;
	uv_run(&w->loop, UV_RUN_DEFAULT);
	CHECK(ran == total && ended == total, "every activity ran once and ended once: %d ran, %d ended of %d", ran,
	      ended, total);
	CHECK(most_inside == LIMIT, "the limit's worth ran at once from idle threads, no more: %d", most_inside);
	CHECK(ended_off_loop == 0, "activities end on the loop thread");
	CHECK(uv_loop_close(&w->loop) == 0, "every handle closed");
	durable_worker_free(w);   /* joins the threads */
	return CHECK_DONE();
}
