/* A test plugin built twice: -DVERSION=1 and -DVERSION=2. Version 2 changed
 * the first activity without durable_get_version: replaying a history of
 * version 1 must fail the workflow task as non-deterministic. */
#include <durable.h>

static int step(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)a;
	(void)arg;
	*out = json_incref(in);
	return 0;
}

static int two_steps(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *r;
	DURABLE_TRY(durable_activity(ctx, VERSION == 1 ? "prepare" : "prepare_v2", json_incref(input), NULL, &r));
	DURABLE_TRY(durable_sleep(ctx, 60));
	DURABLE_TRY(durable_activity(ctx, "finish", json_incref(r), NULL, &r));
	*output = json_incref(r);
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "TwoSteps", two_steps));
	DURABLE_TRY(durable_worker_register_activity(w, "prepare", step, NULL));
	DURABLE_TRY(durable_worker_register_activity(w, "prepare_v2", step, NULL));
	return durable_worker_register_activity(w, "finish", step, NULL);
}
