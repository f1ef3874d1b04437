/* The workflows the console's browser tests drive (a durable-worker plugin).
 * Steps: runs input "steps" activities one after the other (each takes
 * input "ms" milliseconds, so the timeline visibly grows), sleeps a second, then waits for
 * the signal "approve" and returns its input. With input "flaky": k the last
 * step fails its first k attempts (2 s, 4 s ... apart); with "wait": false it
 * returns without waiting for the signal; with "local": true the steps are
 * local activities. Its query "progress" answers how
 * many steps are done. Parent runs Steps children. */
#include <durable.h>
#include <time.h>

static int step(durable_activity_ctx_t *a, json_t *input, json_t **result, void *arg)
{
	(void)arg;
	json_int_t flaky = json_integer_value(json_object_get(input, "flaky"));
	if (durable_activity_attempt(a) <= flaky)
		return durable_activity_fail(a, "Flaky", 0, "flaky step (attempt %d)", durable_activity_attempt(a));
	json_int_t ms = json_integer_value(json_object_get(input, "ms"));
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
	*result = json_object_get(input, "n");
	return 0;
}

static int steps(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_int_t n = json_integer_value(json_object_get(input, "steps"));
	json_int_t ms = json_integer_value(json_object_get(input, "ms"));
	json_int_t flaky = json_integer_value(json_object_get(input, "flaky"));
	static const durable_activity_options_t retry = { .retry = { .initial_interval = 2 } };
	static const durable_local_activity_options_t local_retry = { .retry = { .initial_interval = 0.2 } };
	DURABLE_TRY(durable_set_query_value(ctx, "progress", durable_json(ctx, "{s:I}", "done", (json_int_t)0)));
	for (json_int_t i = 0; i < n; i++) {
		json_t *r;
		/* the last step fails its first "flaky" attempts */
		json_t *in = durable_json(ctx, "{s:I,s:I,s:I}", "n", i + 1, "ms", ms, "flaky", i == n - 1 ? flaky : 0);
		if (json_is_true(json_object_get(input, "local")))
			DURABLE_TRY(durable_local_activity(ctx, "step", in, &local_retry, &r));
		else
			DURABLE_TRY(durable_activity(ctx, "step", in, &retry, &r));
		DURABLE_TRY(durable_set_query_value(ctx, "progress", durable_json(ctx, "{s:I}", "done", i + 1)));
	}
	DURABLE_TRY(durable_sleep(ctx, 1)); /* a timer, for the timeline and its lateness */
	if (json_is_false(json_object_get(input, "wait"))) {
		*output = durable_json(ctx, "I", n);
		return 0;
	}
	json_t *approval;
	DURABLE_TRY(durable_await_signal(ctx, "approve", 3600, &approval));
	*output = durable_json(ctx, "{s:O}", "approved", approval);
	return 0;
}

/* Parent: runs input "children" Steps children (one step each, no signal
 * to wait for) at once and returns how many completed. */
static int parent(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	durable_future_t *kids[8];
	json_int_t n = json_integer_value(json_object_get(input, "children"));
	if (n < 1 || n > 8)
		n = 2;
	for (json_int_t i = 0; i < n; i++)
		DURABLE_TRY(durable_child_start(ctx, "Steps", durable_json(ctx, "{s:i,s:i,s:b}", "steps", 1, "ms", 300, "wait", 0),
						NULL, &kids[i]));
	DURABLE_TRY(durable_wait_all(ctx, kids, (size_t)n));
	*output = durable_json(ctx, "I", n);
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "Parent", parent));
	DURABLE_TRY(durable_worker_register_workflow(w, "Steps", steps));
	return durable_worker_register_activity(w, "step", step, NULL);
}
