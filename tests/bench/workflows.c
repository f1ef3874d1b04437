/*
 * workflows.c: the benchmark's workflow shapes as a durable-worker plugin:
 * BenchSeq1 (one activity), BenchSeq3 and BenchSeq10 (three and ten in
 * sequence: BenchSeq3 is the peers bench's match for DBOS's three-step
 * workflow) and BenchPar10
 * (ten at once, then wait for all), BenchSeqN (as many in sequence as its
 * input says: the long-history bench), BenchLocal10 (BenchSeq10's ten
 * steps as local activities), over a "noop" activity that returns its
 * input. Built and loaded by tests/bench/run.sh.
 */
#include <durable.h>

static int noop(durable_activity_ctx_t *a, json_t *input, json_t **result, void *arg)
{
	(void)a;
	(void)arg;
	*result = input;
	return 0;
}

static int seq(durable_ctx_t *ctx, int n, json_t *input, json_t **output)
{
	json_t *r = input;

	for (int i = 0; i < n; i++)
		DURABLE_TRY(durable_activity(ctx, "noop", r, NULL, &r));
	*output = r;
	return 0;
}

static int seq1(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	return seq(ctx, 1, input, output);
}

static int seq3(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	return seq(ctx, 3, input, output);
}

static int seq10(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	return seq(ctx, 10, input, output);
}

static int seqn(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	return seq(ctx, (int)json_integer_value(input), input, output);
}

static int par10(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	durable_future_t *fs[10];

	for (int i = 0; i < 10; i++)
		DURABLE_TRY(durable_activity_start(ctx, "noop", input, NULL, &fs[i]));
	DURABLE_TRY(durable_wait_all(ctx, fs, 10));
	*output = durable_json(ctx, "i", 10);
	return 0;
}

static int local10(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *r = input;

	for (int i = 0; i < 10; i++)
		DURABLE_TRY(durable_local_activity(ctx, "noop", r, NULL, &r));
	*output = r;
	return 0;
}

/* The long-history bench's other shapes (tests/bench/long_history.sh
 * LONG_HISTORY_SHAPE): BenchLocalN, N local activities in sequence (one
 * workflow task); BenchLocalSeqN, N steps of a local activity then an
 * activity (a local activity in every task); BenchCancelChildN, a child
 * started and canceled, then N activities; BenchChildN, N children
 * (BenchEcho, which returns its input) in sequence. */
static int localn(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *r = input;

	for (json_int_t i = 0; i < json_integer_value(input); i++)
		DURABLE_TRY(durable_local_activity(ctx, "noop", r, NULL, &r));
	*output = r;
	return 0;
}

static int local_seqn(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *r = input;

	for (json_int_t i = 0; i < json_integer_value(input); i++) {
		DURABLE_TRY(durable_local_activity(ctx, "noop", r, NULL, &r));
		DURABLE_TRY(durable_activity(ctx, "noop", r, NULL, &r));
	}
	*output = r;
	return 0;
}

static int sleeper(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	(void)output;
	return durable_sleep(ctx, 3600);
}

static int cancel_childn(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	durable_future_t *child;
	json_t *r = input;

	DURABLE_TRY(durable_child_start(ctx, "BenchSleeper", NULL, NULL, &child));
	DURABLE_TRY(durable_activity(ctx, "noop", r, NULL, &r));
	DURABLE_TRY(durable_future_cancel(ctx, child));
	int rc = durable_future_get(ctx, child, NULL);
	if (rc != DURABLE_ECANCELED)
		return rc < 0 ? rc : DURABLE_EFAILED;
	return seq(ctx, (int)json_integer_value(input), input, output);
}

static int echo(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)ctx;
	*output = input;
	return 0;
}

static int childn(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *r = input;

	for (json_int_t i = 0; i < json_integer_value(input); i++)
		DURABLE_TRY(durable_child(ctx, "BenchEcho", r, NULL, &r));
	*output = r;
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "BenchEcho", echo));
	DURABLE_TRY(durable_worker_register_workflow(w, "BenchChildN", childn));
	DURABLE_TRY(durable_worker_register_workflow(w, "BenchLocalN", localn));
	DURABLE_TRY(durable_worker_register_workflow(w, "BenchLocalSeqN", local_seqn));
	DURABLE_TRY(durable_worker_register_workflow(w, "BenchSleeper", sleeper));
	DURABLE_TRY(durable_worker_register_workflow(w, "BenchCancelChildN", cancel_childn));
	DURABLE_TRY(durable_worker_register_workflow(w, "BenchLocal10", local10));
	DURABLE_TRY(durable_worker_register_workflow(w, "BenchSeq1", seq1));
	DURABLE_TRY(durable_worker_register_workflow(w, "BenchSeq3", seq3));
	DURABLE_TRY(durable_worker_register_workflow(w, "BenchSeq10", seq10));
	DURABLE_TRY(durable_worker_register_workflow(w, "BenchPar10", par10));
	DURABLE_TRY(durable_worker_register_workflow(w, "BenchSeqN", seqn));
	return durable_worker_register_activity(w, "noop", noop, NULL);
}
