/* Model canary (use case 5): check a metric every hour for `hours` hours
 * (7 days = 168), roll back at the first bad reading, else promote. Each run
 * does at most `checks_per_run` checks and then continues as new, so the
 * history stays short however long the experiment runs.
 *
 * Queue: "canary". Input: {"model": "m-7", "hours": 168, "checks_per_run": 24,
 *                          "bad_at_hour": 0 (never)}  (hour counts from 1) */
#include <durable.h>

static const durable_activity_options_t quick = {.start_to_close_timeout = 60,
						  .retry = {.initial_interval = 1, .maximum_interval = 60}};

static int canary(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_int_t hours = json_integer_value(json_object_get(input, "hours"));
	json_int_t done = json_integer_value(json_object_get(input, "hours_done"));
	json_int_t per_run = json_integer_value(json_object_get(input, "checks_per_run"));
	if (per_run <= 0)
		per_run = 24;
	for (json_int_t i = 0; i < per_run && done < hours; i++) {
		json_t *reading;
		DURABLE_TRY(durable_sleep(ctx, 3600));
		done++;
		json_t *check = durable_json(ctx, "{s:O, s:I, s:I}", "model", json_object_get(input, "model"), "hour", done,
					     "bad_at_hour", json_integer_value(json_object_get(input, "bad_at_hour")));
		DURABLE_TRY(durable_activity(ctx, "check_metric", check, &quick, &reading));
		if (json_real_value(json_object_get(reading, "error_rate")) > 0.05) {
			DURABLE_TRY(durable_activity(ctx, "rollback", json_object_get(input, "model"), &quick, NULL));
			*output = durable_json(ctx, "{s:s, s:I}", "decision", "rolled_back", "hour", done);
			return 0;
		}
	}
	if (done < hours) {
		json_t *next = durable_keep(ctx, json_deep_copy(input));
		json_object_set_new(next, "hours_done", json_integer(done));
		return durable_continue_as_new(ctx, next);
	}
	DURABLE_TRY(durable_activity(ctx, "promote", json_object_get(input, "model"), &quick, NULL));
	*output = durable_json(ctx, "{s:s, s:I}", "decision", "promoted", "hours", done);
	return 0;
}

static int check_metric(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	json_int_t bad = json_integer_value(json_object_get(in, "bad_at_hour"));
	int is_bad = bad > 0 && json_integer_value(json_object_get(in, "hour")) >= bad;
	*out = durable_activity_json(a, "{s:f}", "error_rate", is_bad ? 0.2 : 0.01);
	return 0;
}

static int echo(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)a;
	(void)arg;
	*out = in;
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "Canary", canary));
	DURABLE_TRY(durable_worker_register_activity(w, "check_metric", check_metric, NULL));
	DURABLE_TRY(durable_worker_register_activity(w, "rollback", echo, NULL));
	return durable_worker_register_activity(w, "promote", echo, NULL);
}
