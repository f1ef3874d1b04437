/* A test plugin for local activities (tests/e2e/t_local_activity.sh). Each
 * attempt of an activity appends "<workflow_id> <type> <attempt>" to
 * $DURABLE_LEDGER, so the test counts how often the code really ran. */
#include <durable.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void ledger(durable_activity_ctx_t *a)
{
	char line[512];
	const char *path = getenv("DURABLE_LEDGER");
	int n = snprintf(line, sizeof line, "%s %s %d\n", durable_activity_workflow_id(a), durable_activity_type(a),
			 durable_activity_attempt(a));
	int fd = path ? open(path, O_WRONLY | O_CREAT | O_APPEND, 0644) : -1;
	if (fd >= 0) {
		if (write(fd, line, (size_t)n) != n)
			perror("ledger");
		close(fd);
	}
}

/* Waits until the test creates "<ledger>.go-<workflow id>" (or 60 s), or
 * until the worker says stop (a timeout). */
static int wait_for_go(durable_activity_ctx_t *a)
{
	char go[512];
	snprintf(go, sizeof go, "%s.go-%s", getenv("DURABLE_LEDGER"), durable_activity_workflow_id(a));
	for (int i = 0; i < 1200 && access(go, F_OK) != 0; i++) {
		if (durable_heartbeat(a, NULL))
			return DURABLE_ECANCELED;
		usleep(50000);
	}
	return 0;
}

static int la_echo(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	ledger(a);
	*out = durable_activity_json(a, "{sOsi}", "echo", in, "attempt", durable_activity_attempt(a));
	return 0;
}

/* Fails until attempt input.succeed_at. */
static int la_flaky(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	ledger(a);
	if (durable_activity_attempt(a) < json_integer_value(json_object_get(in, "succeed_at")))
		return durable_activity_fail(a, "Flaky", 0, "attempt %d fails", durable_activity_attempt(a));
	*out = durable_activity_json(a, "{si}", "attempt", durable_activity_attempt(a));
	return 0;
}

static int la_refuse(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	(void)in;
	(void)out;
	ledger(a);
	return durable_activity_fail(a, "CardDeclined", 1, "card declined, do not retry");
}

/* Runs until told to go: past its start-to-close timeout in the timeout
 * test, across a kill -9 in the crash test, past the workflow task
 * timeout in the lease test. */
static int la_block(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	ledger(a);
	int rc = wait_for_go(a);
	if (rc < 0)
		return durable_activity_fail(a, "Stopped", 0, "told to stop");
	*out = in;
	return 0;
}

static double num(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/* input: {"type": activity, "input": ..., "initial": s, "attempts": n,
 * "threshold": s, "start_to_close": s, "schedule_to_close": s}; the output
 * says what the local activity gave, or how it failed. */
static int local_one(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	const char *type = json_string_value(json_object_get(input, "type"));
	durable_local_activity_options_t o = {
		.start_to_close_timeout = num(input, "start_to_close"),
		.schedule_to_close_timeout = num(input, "schedule_to_close"),
		.retry = {.initial_interval = num(input, "initial"),
			  .maximum_attempts = (int)json_integer_value(json_object_get(input, "attempts"))},
		.local_retry_threshold = num(input, "threshold"),
	};
	json_t *r;
	int rc = durable_local_activity(ctx, type ? type : "la_echo", json_object_get(input, "input"), &o, &r);
	if (DURABLE_STOPPED(rc))
		return rc;
	if (rc == 0)
		*output = durable_json(ctx, "{sO}", "result", r);
	else
		*output = durable_json(ctx, "{sssO*}", "error", durable_strerror(rc), "failure", durable_failure(ctx));
	/* one more step after the local activity: a timer, so the marker and
	 * what follows are both replayed by the next task */
	DURABLE_TRY(durable_sleep(ctx, 0.1));
	return 0;
}

/* An order's small steps, each a local activity. */
static const durable_local_activity_options_t quick = {
	.start_to_close_timeout = 2,               /* seconds per attempt */
	.schedule_to_close_timeout = 30,           /* all attempts and backoffs */
	.retry = {.initial_interval = 0.1, .maximum_attempts = 5},
};

static int order_steps(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	static const char *const steps[] = {"validate", "price", "reserve"};
	json_t *order = input;
	for (size_t i = 0; i < 3; i++)
		DURABLE_TRY(durable_local_activity(ctx, steps[i], order, &quick, &order));
	*output = order;   /* borrowed both ways: nothing to free */
	return 0;
}
/* end of the sdk.md example */

/* validate, price, reserve: add {"<step>": true} to the order */
static int add_step(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	ledger(a);
	*out = durable_activity_keep(a, json_deep_copy(in));
	json_object_set_new(*out, (const char *)arg, json_true());
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "OrderSteps", order_steps));
	DURABLE_TRY(durable_worker_register_activity(w, "validate", add_step, "validated"));
	DURABLE_TRY(durable_worker_register_activity(w, "price", add_step, "priced"));
	DURABLE_TRY(durable_worker_register_activity(w, "reserve", add_step, "reserved"));
	DURABLE_TRY(durable_worker_register_workflow(w, "LocalOne", local_one));
	DURABLE_TRY(durable_worker_register_activity(w, "la_echo", la_echo, NULL));
	DURABLE_TRY(durable_worker_register_activity(w, "la_flaky", la_flaky, NULL));
	DURABLE_TRY(durable_worker_register_activity(w, "la_refuse", la_refuse, NULL));
	return durable_worker_register_activity(w, "la_block", la_block, NULL);
}
