/* A unit test of a workflow, with durable_test.h: the approval workflow
 * asks for a review and waits two days for a decision; without one it
 * escalates. The review request is a stub that counts its calls. The
 * two-day wait takes no real time: the harness skips the test namespace's
 * clock when nothing else can run. (docs/sdk.md shows this file.) */
#include <durable_test.h>

static int approval(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *decision;
	DURABLE_TRY(durable_activity(ctx, "request_review", input, NULL, NULL));
	int rc = durable_await_signal(ctx, "decision", 2 * 86400, &decision);
	if (rc == DURABLE_ETIMEDOUT) {
		DURABLE_TRY(durable_activity(ctx, "escalate", input, NULL, NULL));
		*output = durable_json(ctx, "{s:s}", "outcome", "escalated");
		return 0;
	}
	DURABLE_TRY(rc);
	*output = durable_json(ctx, "{s:O}", "outcome", decision);
	return 0;
}

/* Stubs stand in for the real activities. */
static int requests;
static int stub_request_review(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)a, (void)in, (void)arg;
	__atomic_add_fetch(&requests, 1, __ATOMIC_SEQ_CST);
	*out = json_true();
	return 0;
}

static int stub_escalate(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)a, (void)arg;
	*out = in;
	return 0;
}

int main(void)
{
	durable_test_t *t;
	if (durable_test_new(NULL, &t) < 0)
		return 2;
	durable_worker_t *w = durable_test_worker(t);
	durable_worker_register_workflow(w, "Approval", approval);
	durable_worker_register_activity(w, "request_review", stub_request_review, NULL);
	durable_worker_register_activity(w, "escalate", stub_escalate, NULL);
	json_t *doc = durable_test_json(t, "{s:s}", "doc", "budget-2027");

	/* The reviewer answers in time. */
	durable_test_start(t, "approve-1", "Approval", doc);
	durable_test_idle(t);                     /* it waits for the decision now */
	durable_test_signal(t, "approve-1", "decision", durable_test_json(t, "s", "approved"));
	DURABLE_EXPECT_RESULT(t, "approve-1", "{\"outcome\": \"approved\"}");
	DURABLE_EXPECT_EVENTS(t, "approve-1", "TimerFired", 0);

	/* Nobody answers: two days pass at once, and it escalates. */
	int64_t before = durable_test_now(t);
	durable_test_start(t, "approve-2", "Approval", doc);
	DURABLE_EXPECT_RESULT(t, "approve-2", "{\"outcome\": \"escalated\"}");
	DURABLE_EXPECT_EVENTS(t, "approve-2", "TimerFired", 1);
	DURABLE_EXPECT(durable_test_now(t) - before >= 2 * 86400 * 1000LL, "the namespace's clock moved two days");
	DURABLE_EXPECT(__atomic_load_n(&requests, __ATOMIC_SEQ_CST) == 2, "one review request each: %d", requests);

	durable_test_free(t);
	return DURABLE_TEST_DONE();
}
