/* Ingestion pipeline (use case 2): fetch `parts` pieces of a source in
 * parallel, then normalize, validate and upload; the stage is a search
 * attribute, so an operator sees where each pipeline is.
 *
 * Queue: "pipeline". Input: {"source": "s3://bucket/x", "parts": 3, "bad": false}
 * A "bad" source fails validation (non-retryable): the pipeline FAILS. */
#include <stdio.h>
#include <durable.h>

static const durable_activity_options_t step = {.start_to_close_timeout = 30,
						 .retry = {.initial_interval = 0.2, .maximum_interval = 5}};

static int stage(durable_ctx_t *ctx, const char *name)
{
	return durable_upsert_search_attributes(ctx, durable_json(ctx, "{s:s}", "stage", name));
}

static int pipeline(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	durable_future_t *fetches[64];
	json_int_t parts = json_integer_value(json_object_get(input, "parts"));
	if (parts < 1 || parts > 64)
		return durable_fail(ctx, "BadInput", "parts must be 1 to 64, got %lld", (long long)parts);
	DURABLE_TRY(stage(ctx, "fetching"));
	for (json_int_t i = 0; i < parts; i++)
		DURABLE_TRY(durable_activity_start(ctx, "fetch", durable_json(ctx, "{s:O, s:I}", "source",
						   json_object_get(input, "source"), "part", i), &step, &fetches[i]));
	DURABLE_TRY(durable_wait_all(ctx, fetches, (size_t)parts));
	json_t *rows = durable_json(ctx, "[]"), *r, *normalized, *valid, *uploaded;
	for (json_int_t i = 0; i < parts; i++) {
		DURABLE_TRY(durable_future_get(ctx, fetches[i], &r));
		json_array_append(rows, r);
	}
	DURABLE_TRY(stage(ctx, "normalizing"));
	DURABLE_TRY(durable_activity(ctx, "normalize", rows, &step, &normalized));
	DURABLE_TRY(stage(ctx, "validating"));
	json_t *check = durable_json(ctx, "{s:O, s:b}", "rows", normalized, "bad", json_is_true(json_object_get(input, "bad")));
	DURABLE_TRY(durable_activity(ctx, "validate", check, &step, &valid));
	DURABLE_TRY(stage(ctx, "uploading"));
	DURABLE_TRY(durable_activity(ctx, "upload", valid, &step, &uploaded));
	DURABLE_TRY(stage(ctx, "done"));
	*output = uploaded;
	return 0;
}

static int fetch(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	*out = durable_activity_json(a, "{s:I, s:I}", "part", json_integer_value(json_object_get(in, "part")), "bytes",
			 (json_int_t)(1000 + json_integer_value(json_object_get(in, "part"))));
	return 0;
}

static int normalize(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	json_int_t total = 0;
	size_t i;
	json_t *v;
	json_array_foreach(in, i, v)
		total += json_integer_value(json_object_get(v, "bytes"));
	*out = durable_activity_json(a, "{s:I, s:I}", "rows", (json_int_t)json_array_size(in), "bytes", total);
	return 0;
}

static int validate(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	if (json_is_true(json_object_get(in, "bad")))
		return durable_activity_fail(a, "ValidationError", 1, "schema mismatch in %lld rows",
					     (long long)json_integer_value(json_object_get(json_object_get(in, "rows"), "rows")));
	*out = json_object_get(in, "rows");
	return 0;
}

static int upload(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	*out = durable_activity_json(a, "{s:O, s:s}", "uploaded", json_object_get(in, "bytes"), "by", durable_activity_id(a));
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "Pipeline", pipeline));
	DURABLE_TRY(durable_worker_register_activity(w, "fetch", fetch, NULL));
	DURABLE_TRY(durable_worker_register_activity(w, "normalize", normalize, NULL));
	DURABLE_TRY(durable_worker_register_activity(w, "validate", validate, NULL));
	return durable_worker_register_activity(w, "upload", upload, NULL);
}
