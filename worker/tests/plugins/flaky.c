/* A test plugin for tests/e2e/t_wakeups.sh: Flaky runs five steps in
 * sequence with a short sleep between them; about one step in three fails
 * its first attempt and is retried after 50 ms. Every kind of wake-up a
 * worker waits for happens in it: new activity tasks, workflow tasks after
 * an outcome, retries after a backoff, fired timers. */
#include <string.h>
#include <durable.h>

static int step(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	unsigned h = 2166136261u;   /* FNV-1a of the workflow and activity ids */
	for (const char *p = durable_activity_workflow_id(a); *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (const char *p = durable_activity_id(a); *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	if (durable_activity_attempt(a) == 1 && h % 3 == 0)
		return durable_activity_fail(a, "Flaky", 0, "first attempt fails");
	*out = in;
	return 0;
}

static int flaky(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	durable_activity_options_t o = {.start_to_close_timeout = 30,
					.retry = {.initial_interval = 0.05, .maximum_attempts = 5}};
	json_t *r = input;
	for (int i = 0; i < 5; i++) {
		DURABLE_TRY(durable_activity(ctx, "step", r, &o, &r));
		DURABLE_TRY(durable_sleep(ctx, 0.02));
	}
	*output = r;
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "Flaky", flaky));
	return durable_worker_register_activity(w, "step", step, NULL);
}
