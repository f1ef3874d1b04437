/* A test plugin for the run cache's replays (tests/e2e/t_run_cache_kinds.sh):
 * long workflows of each kind of call a kept run must go on with, each
 * summing what it got in C locals across its waits, so that a run that went
 * on wrongly (or replayed wrongly, after a kill -9) shows in its result. */
#include <durable.h>
#include "parts.h"

#include <unistd.h>


static json_int_t num(json_t *input, const char *key)
{
	return json_integer_value(json_object_get(input, key));
}

static json_t *arg(durable_ctx_t *ctx, json_int_t i, json_t *input)
{
	return durable_json(ctx, "{s:I, s:I}", "i", i, "delay_ms", num(input, "delay_ms"));
}

static const durable_activity_options_t short_timeout = {.start_to_close_timeout = 5};

/* {"n", "delay_ms"}: n local activities in sequence (one workflow task);
 * returns {"sum": n(n+1)/2}. */
static int locals(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_int_t sum = 0;
	json_t *r;
	for (json_int_t i = 0; i < num(input, "n"); i++) {
		DURABLE_TRY(durable_local_activity(ctx, "bump", arg(ctx, i, input), NULL, &r));
		sum += json_integer_value(r);
	}
	*output = durable_json(ctx, "{s:I}", "sum", sum);
	return 0;
}

/* {"n", "delay_ms"}: n steps of a local activity, then an activity (a local
 * activity in every task); returns {"sum": n(n+1)}. */
static int local_steps(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_int_t sum = 0;
	json_t *r;
	for (json_int_t i = 0; i < num(input, "n"); i++) {
		DURABLE_TRY(durable_local_activity(ctx, "bump", arg(ctx, i, input), NULL, &r));
		sum += json_integer_value(r);
		DURABLE_TRY(durable_activity(ctx, "bump", arg(ctx, i, input), &short_timeout, &r));
		sum += json_integer_value(r);
	}
	*output = durable_json(ctx, "{s:I}", "sum", sum);
	return 0;
}

static int sleeper(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	(void)output;
	return durable_sleep(ctx, 3600);
}

/* {"n", "delay_ms", "cancel_type"}: a child started and canceled (with that
 * durable_cancellation_type_t), then n activities; returns {"sum":
 * n(n+1)/2, "child": what waiting for the child returned}. */
static int cancel_child(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	durable_child_options_t o = {.cancellation_type = (durable_cancellation_type_t)num(input, "cancel_type")};
	durable_future_t *child;
	json_int_t sum = 0;
	json_t *r;
	DURABLE_TRY(durable_child_start(ctx, "Sleeper", NULL, &o, &child));
	DURABLE_TRY(durable_activity(ctx, "bump", arg(ctx, -1, input), &short_timeout, &r));
	DURABLE_TRY(durable_future_cancel(ctx, child));
	int child_rc = durable_future_get(ctx, child, NULL);
	for (json_int_t i = 0; i < num(input, "n"); i++) {
		DURABLE_TRY(durable_activity(ctx, "bump", arg(ctx, i, input), &short_timeout, &r));
		sum += json_integer_value(r);
	}
	*output = durable_json(ctx, "{s:I, s:i}", "sum", sum, "child", child_rc);
	return 0;
}

static int child(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	*output = durable_json(ctx, "I", json_integer_value(input) + 1);
	return 0;
}

static json_t *pick(durable_ctx_t *ctx, void *a)
{
	return durable_json(ctx, "I", *(json_int_t *)a * 2);
}

/* {"n", "delay_ms", "again", "sum"}: n steps of an activity, and every
 * third a side effect, every fourth a 50 ms timer, every fifth a version,
 * every seventh a child workflow; "add" signals and "add" updates are
 * taken as they come, query "progress" answers the steps done. Then it
 * continues as new "again" times, carrying its sum and adds; the last run
 * returns {"sum", "adds"}. */
static int kinds(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_int_t sum = num(input, "sum"), adds = num(input, "adds");
	json_t *r, *payload, *state = durable_json(ctx, "{s:I}", "progress", 0);
	int v;
	DURABLE_TRY(durable_set_query_handler(ctx, "progress", NULL, state));
	DURABLE_TRY(durable_set_update_handler(ctx, "add", NULL, state));
	for (json_int_t i = 0; i < num(input, "n"); i++) {
		DURABLE_TRY(durable_activity(ctx, "bump", arg(ctx, i, input), &short_timeout, &r));
		sum += json_integer_value(r);
		if (i % 3 == 0) {
			DURABLE_TRY(durable_side_effect(ctx, pick, &i, &r));
			sum += json_integer_value(r) - 2 * i;   /* adds nothing when it comes back right */
		}
		if (i % 4 == 1)
			DURABLE_TRY(durable_sleep(ctx, 0.05));
		if (i % 5 == 2) {
			DURABLE_TRY(durable_get_version(ctx, "kinds-v1", DURABLE_DEFAULT_VERSION, 1, &v));
			sum += v - 1;
		}
		if (i % 7 == 3) {
			DURABLE_TRY(durable_child(ctx, "Child", durable_json(ctx, "I", i), NULL, &r));
			sum += json_integer_value(r) - (i + 1);
		}
		while (durable_signal_receive(ctx, "add", &payload) == 0) {
			sum += json_integer_value(payload);
			adds++;
		}
		const char *update_id;
		json_t *args;
		while (durable_update_receive(ctx, "add", &update_id, &args) == 0) {
			sum += json_integer_value(args);
			adds++;
			DURABLE_TRY(durable_complete_update(ctx, update_id, durable_json(ctx, "I", sum)));
		}
		json_object_set_new(state, "progress", json_integer(i + 1));
	}
	if (num(input, "again") > 0)
		return durable_continue_as_new(ctx, durable_json(ctx, "{s:I, s:I, s:I, s:I, s:I}", "n", num(input, "n"),
								 "delay_ms", num(input, "delay_ms"), "again",
								 num(input, "again") - 1, "sum", sum, "adds", adds));
	*output = durable_json(ctx, "{s:I, s:I}", "sum", sum, "adds", adds);
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "Locals", locals));
	DURABLE_TRY(durable_worker_register_workflow(w, "LocalSteps", local_steps));
	DURABLE_TRY(durable_worker_register_workflow(w, "Sleeper", sleeper));
	DURABLE_TRY(durable_worker_register_workflow(w, "CancelChild", cancel_child));
	DURABLE_TRY(durable_worker_register_workflow(w, "Child", child));
	DURABLE_TRY(durable_worker_register_workflow(w, "Kinds", kinds));
	return durable_worker_register_activity(w, "bump", bump, NULL);
}
