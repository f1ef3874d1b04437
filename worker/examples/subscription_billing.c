/* Subscription billing (use case 3, long timers): bill, then wait 30 days,
 * for `months` months, unless a `cancel_subscription` signal comes first.
 *
 * Queue: "billing". Input: {"customer": "c-1", "amount": 9, "months": 12}
 * Result: {"months_billed": N, "canceled": bool} */
#include <durable.h>

static const durable_activity_options_t billing = {.start_to_close_timeout = 30,
						    .retry = {.initial_interval = 1, .maximum_interval = 3600}};

static int subscription(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_int_t months = json_integer_value(json_object_get(input, "months"));
	json_int_t billed = 0;
	int canceled = 0;
	json_t *status = durable_json(ctx, "{s:I}", "months_billed", (json_int_t)0);
	DURABLE_TRY(durable_set_query_handler(ctx, "status", NULL, status));
	while (billed < months) {
		json_t *charge = durable_json(ctx, "{s:O, s:O, s:I}", "customer", json_object_get(input, "customer"),
					   "amount", json_object_get(input, "amount"), "month", billed + 1);
		DURABLE_TRY(durable_activity(ctx, "bill", charge, &billing, NULL));
		billed++;
		json_object_set_new(status, "months_billed", json_integer(billed));
		if (billed == months)
			break;
		/* a month, or less if the customer cancels */
		json_t *why;
		int rc = durable_await_signal(ctx, "cancel_subscription", 30 * 86400, &why);
		if (rc == 0) {
			canceled = 1;
			break;
		}
		if (rc != DURABLE_ETIMEDOUT)
			return rc;
	}
	*output = durable_json(ctx, "{s:I, s:b}", "months_billed", billed, "canceled", canceled);
	return 0;
}

static int bill(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	*out = durable_activity_json(a, "{s:s, s:O}", "invoice", "paid", "month", json_object_get(in, "month"));
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "Subscription", subscription));
	return durable_worker_register_activity(w, "bill", bill, NULL);
}
