/* Loan application (use case 4, human in the loop): run a credit check, then
 * wait for a reviewer's `review_decision` signal for up to review_days days
 * (default 3); approve -> disburse, reject -> notify, no answer -> expire.
 *
 * Queue: "loans". Input: {"applicant": "ann", "amount": 5000, "review_days": 3}
 * Signal: durable.signal_workflow(id, 'review_decision', '{"approved": true, "reviewer": "bo"}')
 * Query:  durable.query_workflow(id, 'status') -> {"stage": ..., "credit_score": ...} */
#include <string.h>
#include <durable.h>

static const durable_activity_options_t quick = {.start_to_close_timeout = 10,
						  .retry = {.initial_interval = 0.2, .maximum_interval = 2}};

static int loan(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *status = durable_json(ctx, "{s:s}", "stage", "credit_check");
	json_t *score, *decision;
	DURABLE_TRY(durable_set_query_handler(ctx, "status", NULL, status));

	DURABLE_TRY(durable_activity(ctx, "credit_check", input, &quick, &score));
	json_object_set(status, "credit_score", score);
	json_object_set_new(status, "stage", json_string("awaiting_review"));

	double days = json_number_value(json_object_get(input, "review_days"));
	int rc = durable_await_signal(ctx, "review_decision", (days > 0 ? days : 3) * 86400, &decision);
	if (rc == DURABLE_ETIMEDOUT) {
		json_object_set_new(status, "stage", json_string("expired"));
		DURABLE_TRY(durable_activity(ctx, "notify_applicant", durable_json(ctx, "{s:s}", "outcome", "expired"), &quick,
					     NULL));
		*output = durable_json(ctx, "{s:s}", "decision", "expired");
		return 0;
	}
	DURABLE_TRY(rc);

	const char *reviewer = json_string_value(json_object_get(decision, "reviewer"));
	if (json_is_true(json_object_get(decision, "approved"))) {
		json_object_set_new(status, "stage", json_string("disbursing"));
		DURABLE_TRY(durable_activity(ctx, "disburse", input, &quick, NULL));
		*output = durable_json(ctx, "{s:s, s:s}", "decision", "approved", "reviewer", reviewer ? reviewer : "");
	} else {
		DURABLE_TRY(durable_activity(ctx, "notify_applicant", durable_json(ctx, "{s:s}", "outcome", "rejected"),
					     &quick, NULL));
		*output = durable_json(ctx, "{s:s, s:s}", "decision", "rejected", "reviewer", reviewer ? reviewer : "");
	}
	json_object_set_new(status, "stage", json_string("closed"));
	return 0;
}

static int credit_check(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	/* a stand-in score: deterministic in the applicant's name */
	const char *name = json_string_value(json_object_get(in, "applicant"));
	int score = 600;
	for (const char *p = name ? name : ""; *p; p++)
		score += *p % 7;
	*out = durable_activity_json(a, "i", score);
	return 0;
}

static int disburse(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	*out = durable_activity_json(a, "{s:O*}", "paid", json_object_get(in, "amount"));
	return 0;
}

static int notify_applicant(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)a;
	(void)arg;
	*out = in;
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "LoanApplication", loan));
	DURABLE_TRY(durable_worker_register_activity(w, "credit_check", credit_check, NULL));
	DURABLE_TRY(durable_worker_register_activity(w, "disburse", disburse, NULL));
	return durable_worker_register_activity(w, "notify_applicant", notify_applicant, NULL);
}
