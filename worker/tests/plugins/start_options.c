/* A test plugin for start options and workflow retry:
 * "Quick" completes at once with its input (a start delay holds it);
 * "Flaky" fails (type "Flaky") until its attempt reaches input.succeed_on,
 * then returns {"attempt": n};
 * "FlakyParent" runs Flaky as a child with a retry policy of up to
 * input.max_attempts attempts and returns the child's result. */
#include <durable.h>

static int quick(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)ctx;
	*output = input;
	return 0;
}

static int flaky(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	int attempt = durable_workflow_attempt(ctx);
	if (attempt < json_integer_value(json_object_get(input, "succeed_on")))
		return durable_fail(ctx, "Flaky", "attempt %d fails", attempt);
	*output = durable_json(ctx, "{s:i}", "attempt", attempt);
	return 0;
}

static int flaky_parent(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	durable_retry_policy_t retry = {
		.initial_interval = 1,
		.maximum_attempts = (int)json_integer_value(json_object_get(input, "max_attempts")),
	};
	durable_child_options_t o = {.workflow_id = durable_child_id(ctx, "kid"), .retry_policy = &retry};
	return durable_child(ctx, "Flaky", input, &o, output);
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "Quick", quick));
	DURABLE_TRY(durable_worker_register_workflow(w, "Flaky", flaky));
	return durable_worker_register_workflow(w, "FlakyParent", flaky_parent);
}
