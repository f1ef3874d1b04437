/* The defaults that include/durable.h and docs/sdk.md document, checked on
 * the commands a workflow issues with no options: if the code and the docs
 * part ways, this fails. */
#include <string.h>
#include "check.h"
#include "replay.h"

static int wf_all_defaults(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	durable_future_t *f[3];
	(void)input;
	(void)output;
	DURABLE_TRY(durable_timer_start(ctx, 5, &f[0]));
	DURABLE_TRY(durable_activity_start(ctx, "charge", NULL, NULL, &f[1]));
	DURABLE_TRY(durable_child_start(ctx, "Child", NULL, NULL, &f[2]));
	return durable_wait_all(ctx, f, 3);
}

static int wf_fairness(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	durable_activity_options_t opts = {.start_to_close_timeout = 30, .fairness_key = "acme"};
	durable_future_t *f;
	(void)input;
	(void)output;
	DURABLE_TRY(durable_activity_start(ctx, "export", NULL, &opts, &f));
	return durable_wait_all(ctx, &f, 1);
}

static json_t *cmd(const durable__outcome_t *out, size_t i)
{
	return json_array_get(out->commands, i);
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "(none)";
}

int main(void)
{
	json_t *history = started_history(NULL);
	durable__task_t t = {.workflow_id = "order-7", .run_id = "11111111-2222-3333-4444-555555555555",
			     .workflow_type = "T", .history = history, .started_event_id = 3};
	durable__outcome_t out = {0};
	CHECK(durable__replay(wf_all_defaults, &t, &out) == 0, "replay ran");
	CHECK(out.kind == DURABLE__COMPLETE && json_array_size(out.commands) == 3, "three commands");

	/* sdk.md: timers, activities and children share one counter of commands */
	CHECK(strcmp(str(cmd(&out, 0), "timer_id"), "t1") == 0, "timer id %s", str(cmd(&out, 0), "timer_id"));
	CHECK(strcmp(str(cmd(&out, 1), "activity_id"), "2") == 0, "activity id %s",
	      str(cmd(&out, 1), "activity_id"));
	/* durable.h: a child's default id is "<parent id>-child-<n>" */
	CHECK(strcmp(str(cmd(&out, 2), "workflow_id"), "order-7-child-3") == 0, "child id %s",
	      str(cmd(&out, 2), "workflow_id"));

	/* durable.h: an activity runs on the workflow's own queue, with a 300 s
	 * start-to-close timeout, and the server's retry defaults */
	json_t *act = cmd(&out, 1);
	CHECK(!json_object_get(act, "task_queue"), "no task_queue: the workflow's own");
	CHECK(!json_object_get(act, "fairness_key"), "no fairness_key");
	CHECK(json_number_value(json_object_get(act, "start_to_close_timeout")) == 300, "start_to_close 300 s");
	json_t *retry = json_object_get(act, "retry_policy");
	CHECK(!json_object_get(retry, "initial_interval") && !json_object_get(retry, "backoff_coefficient") &&
		      !json_object_get(retry, "maximum_interval") && !json_object_get(retry, "maximum_attempts"),
	      "retry policy left to the server's defaults");

	/* durable.h: a child runs on the parent's queue, TERMINATE on parent close, no timeout */
	json_t *child = cmd(&out, 2);
	CHECK(!json_object_get(child, "task_queue") && !json_object_get(child, "parent_close_policy") &&
		      !json_object_get(child, "workflow_execution_timeout"),
	      "child options left to the server's defaults");

	durable__outcome_free(&out);

	/* durable.h: a fairness key goes into the command as it was given */
	durable__outcome_t fair = {0};
	CHECK(durable__replay(wf_fairness, &t, &fair) == 0, "replay ran");
	CHECK(fair.kind == DURABLE__COMPLETE && json_array_size(fair.commands) == 1, "one command");
	CHECK(strcmp(str(cmd(&fair, 0), "fairness_key"), "acme") == 0, "fairness_key %s",
	      str(cmd(&fair, 0), "fairness_key"));
	durable__outcome_free(&fair);
	json_decref(history);
	return CHECK_DONE();
}
