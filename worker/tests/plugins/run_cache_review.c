/* Review of the run cache: workflows whose kept run decides differently
 * from a replay of the same history (t_rc_review.sh). */
#include <durable.h>
#include <string.h>

static json_t *num(durable_ctx_t *ctx, void *arg)
{
	return durable_keep(ctx, json_integer((json_int_t)(long)arg));
}

/* an object whose insertion order ("zz", then "a") is not jsonb's ("a", "zz") */
static json_t *obj(durable_ctx_t *ctx, void *arg)
{
	(void)arg;
	return durable_json(ctx, "{s:i, s:i}", "zz", 1, "a", 2);
}

/* 70 side effects in the first task: past the 64 events a kept run needs */
static int past_keep_min(durable_ctx_t *ctx)
{
	json_t *v;
	for (long i = 0; i < 70; i++)
		DURABLE_TRY(durable_side_effect(ctx, num, (void *)i, &v));
	return 0;
}

/* past_keep_min, a wait, then a side effect and a wait, then what the code
 * decides from the side effect's value: its first key. */
static int key_order(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	json_t *v;
	DURABLE_TRY(past_keep_min(ctx));
	DURABLE_TRY(durable_sleep(ctx, 0.05));
	DURABLE_TRY(durable_side_effect(ctx, obj, NULL, &v));
	DURABLE_TRY(durable_sleep(ctx, 0.05));
	const char *first = json_object_iter_key(json_object_iter(v));
	*output = durable_json(ctx, "{s:s}", "first", first ? first : "?");
	return 0;
}

/* 2 MiB of stack after a wait: fine on the main thread's 8 MiB (a replay),
 * as on a kept run's fiber (8 MiB too; it was 1 MiB). */
static __attribute__((noinline)) int deep(int n)
{
	volatile char buf[2 << 20];
	memset((char *)buf, n, sizeof(buf));
	return buf[n] + buf[sizeof(buf) - 1];
}

static int deep_stack(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	DURABLE_TRY(past_keep_min(ctx));
	DURABLE_TRY(durable_sleep(ctx, 0.05));
	DURABLE_TRY(durable_sleep(ctx, 0.05));
	*output = durable_json(ctx, "{s:i}", "deep", deep(3));
	return 0;
}


/* As KeyOrder, but the first key picks the next command (a timer or a
 * marker), then it waits for the signal "go": a replay after the kept run
 * is gone issues the other command. */
static int key_order_cmd(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	(void)input;
	json_t *v, *m;
	DURABLE_TRY(past_keep_min(ctx));
	DURABLE_TRY(durable_sleep(ctx, 0.05));
	DURABLE_TRY(durable_side_effect(ctx, obj, NULL, &v));
	DURABLE_TRY(durable_sleep(ctx, 0.05));
	const char *first = json_object_iter_key(json_object_iter(v));
	if (first && first[0] == 'z')
		DURABLE_TRY(durable_sleep(ctx, 0.05));
	else
		DURABLE_TRY(durable_side_effect(ctx, num, (void *)7, &m));
	DURABLE_TRY(durable_await_signal(ctx, "go", -1, NULL));
	*output = durable_json(ctx, "{s:s}", "first", first ? first : "?");
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "KeyOrder", key_order));
	DURABLE_TRY(durable_worker_register_workflow(w, "KeyOrderCmd", key_order_cmd));
	return durable_worker_register_workflow(w, "DeepStack", deep_stack);
}
