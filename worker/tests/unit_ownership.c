/* durable.h's JSON ownership rule, held to: what a workflow passes in is
 * borrowed (and what is sent is a copy), what it is handed lives until the
 * task ends, durable_json values belong to the context, and a failed
 * durable_json fails the task instead of sending null. Under ASan and
 * valgrind a stolen reference shows as a use after free, a kept one as a
 * leak. */
#include <string.h>
#include "check.h"
#include "replay.h"

static json_t *cmd(const durable__outcome_t *out, size_t i)
{
	return json_array_get(out->commands, i);
}

/* Passes its input on twice, changes a value after passing it, and returns
 * its input: no json_incref anywhere. */
static int wf_borrowed(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	durable_future_t *f[2];
	json_t *v = durable_json(ctx, "{s:i}", "n", 1);
	DURABLE_TRY(durable_activity_start(ctx, "a", input, NULL, &f[0]));
	DURABLE_TRY(durable_activity_start(ctx, "b", v, NULL, &f[1]));
	json_object_set_new(v, "n", json_integer(2));   /* after the call: not sent */
	DURABLE_TRY(durable_upsert_search_attributes(ctx, durable_json(ctx, "{s:s}", "stage", "x")));
	*output = input;
	return 0;
}

/* A failure in hand outlives the next one. */
static int wf_failures(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	durable_fail(ctx, "First", "one");
	json_t *first = durable_failure(ctx);
	durable_fail(ctx, "Second", "two");
	*output = durable_json(ctx, "{s:O, s:O}", "first", json_object_get(first, "message"), "second",
			       json_object_get(durable_failure(ctx), "message"));
	return 0;
}

/* A bad format: the workflow carries on as if nothing happened. */
static int wf_bad_format(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	*output = durable_json(ctx, "{s:i", "n", 1);
	return 0;
}

/* A value built with plain jansson, handed over; a query answered with a
 * durable_json value. */
static int answer(durable_ctx_t *ctx, json_t *state, json_t *args, json_t **out)
{
	(void)args;
	*out = durable_json(ctx, "{s:O}", "state", state);
	return 0;
}

static int wf_keep(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	json_t *list = durable_keep(ctx, json_array());
	json_array_append_new(list, json_string("x"));
	DURABLE_TRY(durable_set_query_handler(ctx, "list", answer, list));
	DURABLE_TRY(durable_continue_as_new(ctx, list));
	(void)output;
	return 0;
}

int main(void)
{
	json_t *history = started_history(json_pack("{s:s}", "order", "o-1"));
	durable__task_t t = {.workflow_id = "w", .run_id = "11111111-2222-3333-4444-555555555555",
			     .workflow_type = "T", .history = history, .started_event_id = 3};
	durable__outcome_t out = {0};

	CHECK(durable__replay(wf_borrowed, &t, &out) == 0 && out.kind == DURABLE__COMPLETE, "borrowed: ran");
	CHECK(json_array_size(out.commands) == 4, "four commands, got %zu", json_array_size(out.commands));
	json_t *in = json_object_get(json_array_get(history, 0), "attributes");
	in = json_object_get(in, "input");
	CHECK(json_equal(json_object_get(cmd(&out, 0), "input"), in), "the input passed on as it was");
	CHECK(json_integer_value(json_object_get(json_object_get(cmd(&out, 1), "input"), "n")) == 1,
	      "what was passed is sent, not what the code changed afterwards");
	CHECK(json_equal(json_object_get(cmd(&out, 3), "result"), in), "the input returned as the result");
	CHECK(strcmp(json_string_value(json_object_get(in, "order")) ?: "", "o-1") == 0, "the history's input is intact");
	durable__outcome_free(&out);

	CHECK(durable__replay(wf_failures, &t, &out) == 0 && out.kind == DURABLE__COMPLETE, "failures: ran");
	json_t *r = json_object_get(cmd(&out, 0), "result");
	CHECK(strcmp(json_string_value(json_object_get(r, "first")) ?: "", "one") == 0 &&
		      strcmp(json_string_value(json_object_get(r, "second")) ?: "", "two") == 0,
	      "both failures readable");
	durable__outcome_free(&out);

	CHECK(durable__replay(wf_bad_format, &t, &out) == 0, "bad format: ran");
	CHECK(out.kind == DURABLE__FAIL_TASK, "a bad durable_json format fails the task, kind %d", out.kind);
	CHECK(strcmp(out.cause, "WORKFLOW_WORKER_UNHANDLED_FAILURE") == 0, "cause %s", out.cause);
	durable__outcome_free(&out);

	CHECK(durable__replay(wf_keep, &t, &out) == 0 && out.kind == DURABLE__COMPLETE, "keep: ran");
	json_t *can = cmd(&out, 0), *list = json_pack("[s]", "x");
	CHECK(strcmp(json_string_value(json_object_get(can, "type")) ?: "", "ContinueAsNewWorkflowExecution") == 0 &&
		      json_equal(json_object_get(can, "input"), list),
	      "continued with the kept list");
	durable__outcome_free(&out);

	t.query_type = "list";
	CHECK(durable__replay(wf_keep, &t, &out) == 0 && out.kind == DURABLE__ANSWER && !out.error, "query ran");
	CHECK(json_equal(json_object_get(out.answer, "state"), list), "answered with a durable_json value");
	durable__outcome_free(&out);
	json_decref(list);

	json_decref(history);
	return CHECK_DONE();
}
