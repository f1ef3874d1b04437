/* A test plugin for tests/e2e/t_eager.sh (eager activity execution).
 *
 * EagerFan {"n": N}: runs N "tally" activities at once and returns how
 * many succeeded.
 * EagerHang: runs one "hang" activity (start-to-close 3 s, retried after
 * 0.2 s): its first attempt never ends (the test kills the worker running
 * it), a later one returns its attempt.
 *
 * Activities append to $DURABLE_LEDGER: "<activity> <workflow id> <what>". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <durable.h>
#include "parts.h"


static int tally(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	ledger(a, durable_activity_id(a));
	*out = in;
	return 0;
}

static int hang(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	(void)in;
	char what[64];
	snprintf(what, sizeof(what), "attempt %d", durable_activity_attempt(a));
	ledger(a, what);
	if (durable_activity_attempt(a) == 1)
		for (int i = 0; i < 6000; i++) {   /* ten minutes, unless killed */
			struct timespec t = {0, 100000000L};
			nanosleep(&t, NULL);
		}
	*out = durable_activity_json(a, "{s:i}", "attempt", durable_activity_attempt(a));
	return 0;
}

static int fan(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	return fan_out(ctx, input, output, "tally", 30);
}

static int hang_wf(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	durable_activity_options_t o = {.start_to_close_timeout = 3, .retry = {.initial_interval = 0.2}};
	return durable_activity(ctx, "hang", NULL, &o, output);
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "EagerFan", fan));
	DURABLE_TRY(durable_worker_register_workflow(w, "EagerHang", hang_wf));
	DURABLE_TRY(durable_worker_register_activity(w, "tally", tally, NULL));
	return durable_worker_register_activity(w, "hang", hang, NULL);
}
