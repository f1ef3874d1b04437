/* A test plugin for start options: "Quick" completes at once with its input
 * (the first workflow task is the observable thing: a start delay holds it). */
#include <durable.h>

static int quick(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)ctx;
	*output = input;
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	return durable_worker_register_workflow(w, "Quick", quick);
}
