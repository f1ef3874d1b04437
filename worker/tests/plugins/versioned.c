/* A test plugin built four times, -DVERSION=1 to 4, each a redeploy of
 * version 1 that a history of version 1 (stopped at its timer) meets:
 *  2 changes the first activity without durable_get_version: replaying
 *    must fail as non-deterministic;
 *  3 changes only what follows the timer, which that history has not
 *    recorded yet: compatible;
 *  4 makes version 2's change behind durable_get_version: compatible. */
#include <durable.h>

static int step(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)a;
	(void)arg;
	*out = in;
	return 0;
}

static int two_steps(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *r;
	const char *first = VERSION == 2 ? "prepare_v2" : "prepare";
	if (VERSION == 4) {
		int v;
		DURABLE_TRY(durable_get_version(ctx, "prepare-v2", DURABLE_DEFAULT_VERSION, 1, &v));
		first = v == DURABLE_DEFAULT_VERSION ? "prepare" : "prepare_v2";
	}
	DURABLE_TRY(durable_activity(ctx, first, input, NULL, &r));
	DURABLE_TRY(durable_sleep(ctx, 60));
	DURABLE_TRY(durable_activity(ctx, VERSION == 3 ? "finish_v3" : "finish", r, NULL, &r));
	*output = r;
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "TwoSteps", two_steps));
	DURABLE_TRY(durable_worker_register_activity(w, "prepare", step, NULL));
	DURABLE_TRY(durable_worker_register_activity(w, "prepare_v2", step, NULL));
	DURABLE_TRY(durable_worker_register_activity(w, "finish_v3", step, NULL));
	return durable_worker_register_activity(w, "finish", step, NULL);
}
