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

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "BenchLocal10", local10));
	DURABLE_TRY(durable_worker_register_workflow(w, "BenchSeq1", seq1));
	DURABLE_TRY(durable_worker_register_workflow(w, "BenchSeq3", seq3));
	DURABLE_TRY(durable_worker_register_workflow(w, "BenchSeq10", seq10));
	DURABLE_TRY(durable_worker_register_workflow(w, "BenchPar10", par10));
	DURABLE_TRY(durable_worker_register_workflow(w, "BenchSeqN", seqn));
	return durable_worker_register_activity(w, "noop", noop, NULL);
}
