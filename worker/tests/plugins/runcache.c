/* A test plugin for kept runs (tests/e2e/t_run_cache.sh): a long workflow
 * whose state lives in C locals across its waits, so that a run that went
 * on wrongly (or replayed wrongly) shows in its result. */
#include <durable.h>
#include "parts.h"

#include <unistd.h>


static const durable_activity_options_t short_timeout = {.start_to_close_timeout = 3};

/* input {"n": steps, "delay_ms": per activity, "local": bool}. Step i adds
 * bump(i) = i+1 to the sum: an activity, every 4th step a 50 ms timer,
 * with "local" every 5th a local activity too, and "add" signals taken as
 * they come. The query
 * "progress" answers the steps done. At the end it waits for the signal
 * "finish", takes the "add" signals left, and returns
 * {"sum": n(n+1)/2 + the adds, "steps": n, "adds": how many}. */
static int steps(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_int_t n = json_integer_value(json_object_get(input, "n"));
	json_int_t delay = json_integer_value(json_object_get(input, "delay_ms"));
	int local = json_is_true(json_object_get(input, "local"));
	json_int_t sum = 0, adds = 0;
	json_t *payload, *r;
	for (json_int_t i = 0; i < n; i++) {
		DURABLE_TRY(durable_activity(ctx, "bump", durable_json(ctx, "{s:I, s:I}", "i", i, "delay_ms", delay),
					     &short_timeout, &r));
		if (local && i % 5 == 4) {
			/* a local activity gives the same as the activity */
			DURABLE_TRY(durable_local_activity(ctx, "bump", durable_json(ctx, "{s:I}", "i", i), NULL, &r));
		}
		sum += json_integer_value(r);
		if (i % 4 == 3)
			DURABLE_TRY(durable_sleep(ctx, 0.05));
		while (durable_signal_receive(ctx, "add", &payload) == 0) {
			sum += json_integer_value(payload);
			adds++;
		}
		DURABLE_TRY(durable_set_query_value(ctx, "progress", durable_json(ctx, "I", i + 1)));
	}
	DURABLE_TRY(durable_await_signal(ctx, "finish", -1, NULL));
	while (durable_signal_receive(ctx, "add", &payload) == 0) {
		sum += json_integer_value(payload);
		adds++;
	}
	*output = durable_json(ctx, "{s:I, s:I, s:I}", "sum", sum, "steps", n, "adds", adds);
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "Steps", steps));
	return durable_worker_register_activity(w, "bump", bump, NULL);
}
