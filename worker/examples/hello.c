/* The smallest workflow: one activity, its result returned. Also the
 * benchmark shapes: Hello (1 activity) and Hello10 (10 sequential), and
 * Slow: a heartbeating activity (input {"activity": T} picks another one,
 * e.g. an executable) that stops when the workflow is canceled. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <durable.h>

static int greet(durable_activity_ctx_t *a, json_t *input, json_t **result, void *arg)
{
	(void)arg;
	*result = durable_activity_json(a, "s+", "hello, ", json_is_string(input) ? json_string_value(input) : "world");
	return 0;
}

static int hello(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *r;
	DURABLE_TRY(durable_activity(ctx, "greet", input, NULL, &r));
	*output = r;
	return 0;
}

static int hello10(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *r = input;
	for (int i = 0; i < 10; i++)
		DURABLE_TRY(durable_activity(ctx, "greet", r, NULL, &r));
	*output = r;
	return 0;
}

/* Heartbeats every 100 ms for up to a minute; stops when asked to cancel,
 * or when an operator pauses it (the attempt then fails as ActivityPaused,
 * and runs again from the start once unpaused). */
static int slow_work(durable_activity_ctx_t *a, json_t *input, json_t **result, void *arg)
{
	(void)input;
	(void)arg;
	struct timespec tick = {0, 100 * 1000 * 1000};
	for (int i = 0; i < 600; i++) {
		int stop = durable_heartbeat(a, durable_activity_json(a, "{s:i}", "step", i));
		if (stop) {
			const char *path = getenv("DURABLE_LEDGER");
			FILE *f = path ? fopen(path, "a") : NULL;
			if (f) {
				fprintf(f, "slow %s %s at step %d attempt %d\n", durable_activity_workflow_id(a),
					stop == DURABLE_HEARTBEAT_PAUSED ? "paused" : "canceled", i,
					durable_activity_attempt(a));
				fclose(f);
			}
			return DURABLE_ECANCELED;
		}
		nanosleep(&tick, NULL);
	}
	*result = durable_activity_json(a, "s", "finished");
	return 0;
}

static int slow(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	static const durable_activity_options_t o = {.start_to_close_timeout = 120, .heartbeat_timeout = 5};
	const char *type = json_string_value(json_object_get(input, "activity"));
	int rc = durable_activity(ctx, type ? type : "slow_work", NULL, &o, NULL);
	if (rc == DURABLE_ECANCELED && durable_cancel_requested(ctx)) {
		/* stay open until told, so that the activity's own report of its
		 * cancellation lands in this run's history (the test waits for it) */
		json_t *ignored;
		rc = durable_await_signal(ctx, "finish", 3600, &ignored);
		if (rc != DURABLE_ETIMEDOUT)
			DURABLE_TRY(rc);
		return DURABLE_ECANCELED;
	}
	DURABLE_TRY(rc);
	*output = durable_json(ctx, "s", "finished");
	return 0;
}

/* Fans out to `n` Hello children (default 3) and returns their greetings,
 * then pings a workflow named in input "notify" with a signal, if any. */
static int family(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	durable_future_t *kids[16];
	json_int_t n = json_integer_value(json_object_get(input, "n"));
	if (n <= 0 || n > 16)
		n = 3;
	for (json_int_t i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "kid %lld", (long long)i);
		DURABLE_TRY(durable_child_start(ctx, "Hello", durable_json(ctx, "s", name), NULL, &kids[i]));
	}
	DURABLE_TRY(durable_wait_all(ctx, kids, (size_t)n));
	json_t *all = durable_json(ctx, "[]"), *r;
	for (json_int_t i = 0; i < n; i++) {
		DURABLE_TRY(durable_future_get(ctx, kids[i], &r));
		json_array_append(all, r);
	}
	const char *notify = json_string_value(json_object_get(input, "notify"));
	if (notify)
		DURABLE_TRY(durable_signal_external(ctx, notify, "family_done", durable_json(ctx, "I", n)));
	*output = all;
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "Family", family));
	DURABLE_TRY(durable_worker_register_workflow(w, "Slow", slow));
	DURABLE_TRY(durable_worker_register_activity(w, "slow_work", slow_work, NULL));
	DURABLE_TRY(durable_worker_register_workflow(w, "Hello", hello));
	DURABLE_TRY(durable_worker_register_workflow(w, "Hello10", hello10));
	return durable_worker_register_activity(w, "greet", greet, NULL);
}
