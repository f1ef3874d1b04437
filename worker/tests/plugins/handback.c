/* A test plugin for tests/e2e/t_handback.sh (the hand-back: workflow tasks
 * leased with activity outcomes).
 *
 * HandbackSeq {"n": N}: runs N "step" activities one after the other and
 * returns how many it ran.
 * HandbackHold: runs one "step" activity; then, in a worker started with
 * HANDBACK_HOLD set, holds the workflow task that the activity's outcome
 * brought back (the test kills that worker with -9 meanwhile); elsewhere
 * it completes.
 *
 * Append to $DURABLE_LEDGER: "<what> <workflow id> <detail>". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <durable.h>

static void ledger(const char *what, const char *workflow_id, const char *detail)
{
	const char *path = getenv("DURABLE_LEDGER");
	FILE *f = path ? fopen(path, "a") : NULL;
	if (f) {
		fprintf(f, "%s %s %s\n", what, workflow_id, detail);
		fclose(f);
	}
}

static int step(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	ledger("step", durable_activity_workflow_id(a), durable_activity_id(a));
	*out = in;
	return 0;
}

static int seq(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	durable_activity_options_t o = {.start_to_close_timeout = 30};
	int n = (int)json_integer_value(json_object_get(input, "n"));
	n = n < 1 ? 1 : n > 64 ? 64 : n;
	for (int i = 0; i < n; i++) {
		json_t *r;
		DURABLE_TRY(durable_activity(ctx, "step", durable_json(ctx, "i", i), &o, &r));
	}
	*output = durable_json(ctx, "{s:i}", "ran", n);
	return 0;
}

static int hold(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	durable_activity_options_t o = {.start_to_close_timeout = 30};
	json_t *r;
	DURABLE_TRY(durable_activity(ctx, "step", durable_json(ctx, "i", 1), &o, &r));
	if (getenv("HANDBACK_HOLD")) {
		ledger("hold", durable_workflow_id(ctx), "task");
		for (int i = 0; i < 6000; i++) {   /* ten minutes, unless killed */
			struct timespec t = {0, 100000000L};
			nanosleep(&t, NULL);
		}
	}
	*output = durable_json(ctx, "{s:b}", "done", 1);
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "HandbackSeq", seq));
	DURABLE_TRY(durable_worker_register_workflow(w, "HandbackHold", hold));
	return durable_worker_register_activity(w, "step", step, NULL);
}
