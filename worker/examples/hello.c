/* The smallest workflow: one activity, its result returned. Also the
 * benchmark shapes: Hello (1 activity) and Hello10 (10 sequential). */
#include <durable.h>

static int greet(durable_activity_ctx_t *a, json_t *input, json_t **result, void *arg)
{
	(void)a;
	(void)arg;
	*result = json_pack("s+", "hello, ", json_is_string(input) ? json_string_value(input) : "world");
	return 0;
}

static int hello(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *r;
	DURABLE_TRY(durable_activity(ctx, "greet", json_incref(input), NULL, &r));
	*output = json_incref(r);
	return 0;
}

static int hello10(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *r = input;
	for (int i = 0; i < 10; i++)
		DURABLE_TRY(durable_activity(ctx, "greet", json_incref(r), NULL, &r));
	*output = json_incref(r);
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "Hello", hello));
	DURABLE_TRY(durable_worker_register_workflow(w, "Hello10", hello10));
	return durable_worker_register_activity(w, "greet", greet, NULL);
}
