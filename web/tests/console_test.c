/* The workflows the console's browser tests drive (a durable-worker plugin).
 * Steps: runs input "steps" activities one after the other (each takes
 * input "ms" milliseconds, so the timeline visibly grows), sleeps a second, then waits for
 * the signal "approve" and returns its input. Its query "progress" answers
 * how many steps are done. */
#include <durable.h>
#include <time.h>

static int step(durable_activity_ctx_t *a, json_t *input, json_t **result, void *arg)
{
	(void)a;
	(void)arg;
	json_int_t ms = json_integer_value(json_object_get(input, "ms"));
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
	*result = json_incref(json_object_get(input, "n"));
	return 0;
}

static int steps(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_int_t n = json_integer_value(json_object_get(input, "steps"));
	json_int_t ms = json_integer_value(json_object_get(input, "ms"));
	DURABLE_TRY(durable_set_query_value(ctx, "progress", json_pack("{s:I}", "done", (json_int_t)0)));
	for (json_int_t i = 0; i < n; i++) {
		json_t *r;
		DURABLE_TRY(durable_activity(ctx, "step", json_pack("{s:I,s:I}", "n", i + 1, "ms", ms), NULL, &r));
		DURABLE_TRY(durable_set_query_value(ctx, "progress", json_pack("{s:I}", "done", i + 1)));
	}
	DURABLE_TRY(durable_sleep(ctx, 1)); /* a timer, for the timeline and its lateness */
	json_t *approval;
	DURABLE_TRY(durable_await_signal(ctx, "approve", 3600, &approval));
	*output = json_pack("{s:O}", "approved", approval);
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "Steps", steps));
	return durable_worker_register_activity(w, "step", step, NULL);
}
