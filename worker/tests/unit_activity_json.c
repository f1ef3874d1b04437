/* The ownership rule on the activity side (include/durable.h): input is the
 * context's, *result and heartbeat details are borrowed (the details sent
 * are a copy), durable_activity_json values live until the activity
 * returns, and a failed one fails the activity instead of completing it
 * with null. Leaks and double frees show under ASan and valgrind. */
#include <string.h>
#include "check.h"
#include "runtime.h"

/* Returns its own input's part, heartbeats a value it then changes. */
static int borrowed(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	json_t *progress = durable_activity_json(a, "{s:i}", "step", 1);
	durable_heartbeat(a, progress);
	json_object_set_new(progress, "step", json_integer(2));   /* after: not sent */
	*out = json_object_get(in, "keep");
	return 0;
}

static int built(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	json_t *list = durable_activity_keep(a, json_array());
	json_array_append(list, in);
	*out = durable_activity_json(a, "{s:O}", "list", list);
	return 0;
}

static int bad_format(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)in;
	(void)arg;
	*out = durable_activity_json(a, "{s:i", "n", 1);
	return 0;
}

static struct durable_activity_ctx_s *call(durable_worker_t *w, durable_activity_fn fn, json_t *input)
{
	static durable__registered_t reg;
	struct durable_activity_ctx_s *a = calloc(1, sizeof(*a));
	reg.act = fn;
	uv_mutex_init(&a->mu);
	a->w = w;
	a->reg = &reg;
	a->refs = 1;
	a->activity_id = strdup("1");
	a->workflow_id = strdup("wf");
	a->input = input;
	durable__activity_call(a);
	return a;
}


int main(void)
{
	durable_worker_options_t opts = {.task_queue = "unit"};
	durable_worker_t *w;
	CHECK(durable_worker_new(&opts, &w) == 0, "worker");
	CHECK(uv_loop_init(&w->loop) == 0, "loop");
	uv_async_init(&w->loop, &w->wakeup, durable__activities_wakeup);
	w->wakeup.data = w;

	struct durable_activity_ctx_s *a = call(w, borrowed, json_pack("{s:s}", "keep", "me"));
	CHECK(a->rc == 0 && strcmp(json_string_value(a->result) ?: "", "me") == 0, "a part of the input returned");
	CHECK(json_integer_value(json_object_get(a->hb_details, "step")) == 1,
	      "the heartbeat sends the details as they were at the call");
	json_t *input = a->input;
	a->input = NULL;
	json_decref(input);   /* the worker frees the input: the result must outlive it */
	CHECK(strcmp(json_string_value(a->result) ?: "", "me") == 0, "the result holds its own reference");
	durable__activity_unref(a);

	a = call(w, built, json_integer(7));
	CHECK(a->rc == 0 && json_integer_value(json_array_get(json_object_get(a->result, "list"), 0)) == 7,
	      "durable_activity_json and _keep values as the result");
	json_decref(a->pool);   /* the context's values go when the activity ends */
	a->pool = NULL;
	CHECK(json_integer_value(json_array_get(json_object_get(a->result, "list"), 0)) == 7, "the result outlives them");
	durable__activity_unref(a);

	a = call(w, bad_format, NULL);
	CHECK(a->rc == DURABLE_EFAILED && !a->result, "a bad format fails the activity, rc %d", a->rc);
	CHECK(strcmp(json_string_value(json_object_get(a->failure, "type")) ?: "", "JsonError") == 0, "as a JsonError");
	durable__activity_unref(a);

	uv_close((uv_handle_t *)&w->wakeup, NULL);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	CHECK(uv_loop_close(&w->loop) == 0, "every handle closed");
	durable_worker_free(w);
	return CHECK_DONE();
}
