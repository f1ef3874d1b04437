/* A test plugin for Workflow Update: a cart that takes update "add"
 * (validated: qty must be positive; the handler prices it with an activity
 * and answers with the new total), update "slow" (the handler sleeps 30 s
 * first) and signal "close" (the workflow returns its total). */
#include <errno.h>
#include <stdio.h>
#include <durable.h>

static int price(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	*out = durable_activity_json(a, "I", 10 * json_integer_value(json_object_get(in, "qty")));
	return 0;
}

static int validate_add(json_t *state, json_t *args, char *reason, size_t size)
{
	(void)state;
	json_int_t qty = json_integer_value(json_object_get(args, "qty"));
	if (qty > 0)
		return 0;
	snprintf(reason, size, "qty must be a positive integer");
	return -EINVAL;
}

static int cart(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	json_t *state = durable_json(ctx, "{s:i}", "total", 0);
	DURABLE_TRY(durable_set_update_handler(ctx, "add", validate_add, state));
	DURABLE_TRY(durable_set_update_handler(ctx, "slow", NULL, state));
	DURABLE_TRY(durable_set_query_handler(ctx, "total", NULL, state));
	for (;;) {
		durable_future_t *fs[3];
		size_t i;
		json_t *u, *r;
		DURABLE_TRY(durable_update_future(ctx, "add", &fs[0]));
		DURABLE_TRY(durable_update_future(ctx, "slow", &fs[1]));
		DURABLE_TRY(durable_signal_future(ctx, "close", &fs[2]));
		DURABLE_TRY(durable_wait_any(ctx, fs, 3, &i));
		if (i == 2)
			break;
		DURABLE_TRY(durable_future_get(ctx, fs[i], &u));
		const char *id = json_string_value(json_object_get(u, "update_id"));
		if (i == 1) {
			DURABLE_TRY(durable_sleep(ctx, 30));
			DURABLE_TRY(durable_complete_update(ctx, id, durable_json(ctx, "s", "slept")));
			continue;
		}
		DURABLE_TRY(durable_activity(ctx, "price", json_object_get(u, "input"), NULL, &r));
		json_int_t total = json_integer_value(json_object_get(state, "total")) + json_integer_value(r);
		json_object_set_new(state, "total", json_integer(total));
		DURABLE_TRY(durable_complete_update(ctx, id, json_object_get(state, "total")));
	}
	*output = json_object_get(state, "total");
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "Cart", cart));
	return durable_worker_register_activity(w, "price", price, NULL);
}
