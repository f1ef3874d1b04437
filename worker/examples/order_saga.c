/* Order saga (use case 1): reserve inventory, charge the card, ship, then
 * confirm, each step on another service's task queue; when a step fails or
 * the order is canceled, undo what was done, in reverse order.
 *
 * Queues: "orders" (the workflow and confirm_order), "inventory"
 * (reserve/release), "payments" (charge/refund), "shipping" (ship_order, an
 * executable in examples/activities/). Input:
 *   {"order_id": "o-1", "amount": 40, "fail_at": "charge"|"ship"|null, "delay_ms": 0,
 *    "hold_refund": false}  (delay_ms: how long the charge takes; hold_refund:
 *    the refund waits for the test's cue, see held())
 * Every activity appends a line to the file named by $DURABLE_LEDGER (if
 * set), which is what the end-to-end test checks. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <durable.h>

#define RETRY_FAST {.initial_interval = 0.2, .maximum_interval = 2}

static const char *const declined[] = {"CardDeclined", NULL};
static const durable_activity_options_t inventory = {
	.task_queue = "inventory", .start_to_close_timeout = 5, .retry = RETRY_FAST};
static const durable_activity_options_t payments = {
	.task_queue = "payments", .start_to_close_timeout = 5,
	.retry = {.initial_interval = 0.2, .maximum_interval = 2, .non_retryable_error_types = declined}};
static const durable_activity_options_t shipping = {
	.task_queue = "shipping", .start_to_close_timeout = 10, .retry = RETRY_FAST};
static const durable_activity_options_t orders = {
	.task_queue = "orders", .start_to_close_timeout = 5, .retry = RETRY_FAST};

static int order(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *status = durable_json(ctx, "{s:s}", "step", "reserving"), *shipment = NULL;
	durable_saga_t *saga = durable_saga(ctx);
	DURABLE_TRY(durable_set_query_handler(ctx, "status", NULL, status));

	int rc = durable_activity(ctx, "reserve_inventory", input, &inventory, NULL);
	if (rc == 0 && (rc = durable_saga_add(saga, "release_inventory", input, &inventory)) == 0) {
		json_object_set_new(status, "step", json_string("charging"));
		rc = durable_activity(ctx, "charge_payment", input, &payments, NULL);
	}
	if (rc == 0 && (rc = durable_saga_add(saga, "refund_payment", input, &payments)) == 0) {
		json_object_set_new(status, "step", json_string("shipping"));
		rc = durable_activity(ctx, "ship_order", input, &shipping, &shipment);
	}
	if (rc == 0) {
		json_object_set_new(status, "step", json_string("confirming"));
		rc = durable_activity(ctx, "confirm_order", input, &orders, NULL);
	}
	if (rc == 0) {
		json_object_set_new(status, "step", json_string("done"));
		*output = durable_json(ctx, "{s:s, s:O}", "status", "completed", "shipment", shipment);
		return 0;
	}
	/* A step failed or the order was canceled: undo, newest first, even if
	 * a cancel arrives meanwhile; canceled orders then close CANCELED. */
	if (!DURABLE_STOPPED(rc))
		json_object_set_new(status, "step", json_string("compensating"));
	if ((rc = durable_saga_compensate(saga, rc)) != DURABLE_EFAILED)
		return rc;
	json_object_set_new(status, "step", json_string("compensated"));
	return durable_fail(ctx, "OrderFailed", "order compensated: %s",
			    json_string_value(json_object_get(durable_failure(ctx), "message")));
}

/* Activities ------------------------------------------------------------- */

static void ledger(durable_activity_ctx_t *a, const char *what, json_t *input)
{
	const char *path = getenv("DURABLE_LEDGER");
	char line[512];
	if (!path)
		return;
	int n = snprintf(line, sizeof(line), "%s %s %lld attempt=%d\n", what, durable_activity_workflow_id(a),
			 (long long)json_integer_value(json_object_get(input, "amount")), durable_activity_attempt(a));
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd >= 0) {
		/* one write per line: O_APPEND keeps lines of many processes whole */
		if (write(fd, line, (size_t)n) < 0)
			perror("ledger");
		close(fd);
	}
}

static int fails_at(json_t *input, const char *step)
{
	const char *f = json_string_value(json_object_get(input, "fail_at"));
	return f && strcmp(f, step) == 0;
}

/* Sleeps delay_ms in 50 ms steps, heartbeating: returns 1 if the workflow
 * asked to cancel meanwhile. */
static int delay(durable_activity_ctx_t *a, json_t *input)
{
	json_int_t ms = json_integer_value(json_object_get(input, "delay_ms"));
	struct timespec step = {0, 50 * 1000000};
	for (json_int_t waited = 0; waited < ms; waited += 50) {
		if (durable_heartbeat(a, durable_activity_json(a, "I", waited)))
			return 1;
		nanosleep(&step, NULL);
	}
	return 0;
}

static int reserve_inventory(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	if (fails_at(in, "reserve"))
		return durable_activity_fail(a, "OutOfStock", 1, "no stock for order %s",
					     json_string_value(json_object_get(in, "order_id")));
	ledger(a, "reserve", in);
	*out = json_true();
	return 0;
}

static int charge_payment(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	if (delay(a, in))
		return DURABLE_ECANCELED;   /* nothing charged */
	if (fails_at(in, "charge"))
		return durable_activity_fail(a, "CardDeclined", 0, "card declined for %lld",
					     (long long)json_integer_value(json_object_get(in, "amount")));
	ledger(a, "charge", in);
	*out = json_true();
	return 0;
}

/* With "hold_refund": waits, heartbeating, until the file
 * $DURABLE_LEDGER.go-<workflow id> exists (the test's cue): returns 1 if
 * the workflow asked to cancel meanwhile. */
static int held(durable_activity_ctx_t *a, json_t *input)
{
	char go[512];
	const char *path = getenv("DURABLE_LEDGER");
	struct timespec step = {0, 50 * 1000000};
	if (!path || !json_is_true(json_object_get(input, "hold_refund")))
		return 0;
	snprintf(go, sizeof(go), "%s.go-%s", path, durable_activity_workflow_id(a));
	while (access(go, F_OK) != 0) {
		if (durable_heartbeat(a, NULL))
			return 1;
		nanosleep(&step, NULL);
	}
	return 0;
}

static int refund_payment(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	if (held(a, in))
		return DURABLE_ECANCELED;   /* nothing refunded */
	ledger(a, "refund", in);
	*out = json_true();
	return 0;
}

#define SIMPLE(name, line)                                                                 \
	static int name(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)   \
	{                                                                                  \
		(void)arg;                                                                 \
		ledger(a, line, in);                                                       \
		*out = json_true();                                                        \
		return 0;                                                                  \
	}
SIMPLE(release_inventory, "release")
SIMPLE(confirm_order, "confirm")

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "Order", order));
	DURABLE_TRY(durable_worker_register_activity(w, "reserve_inventory", reserve_inventory, NULL));
	DURABLE_TRY(durable_worker_register_activity(w, "release_inventory", release_inventory, NULL));
	DURABLE_TRY(durable_worker_register_activity(w, "charge_payment", charge_payment, NULL));
	DURABLE_TRY(durable_worker_register_activity(w, "refund_payment", refund_payment, NULL));
	return durable_worker_register_activity(w, "confirm_order", confirm_order, NULL);
}
