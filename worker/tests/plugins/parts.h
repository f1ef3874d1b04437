/* Parts the test plugins share (each plugin is its own .so, built from its
 * own .c: what several of them run is here, static inline, once). */
#ifndef DURABLE_TEST_PLUGIN_PARTS_H
#define DURABLE_TEST_PLUGIN_PARTS_H
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <durable.h>

/* Appends "<activity type> <workflow id> <what>" to $DURABLE_LEDGER, which
 * the tests read to count what really ran. */
static inline void ledger(durable_activity_ctx_t *a, const char *what)
{
	const char *path = getenv("DURABLE_LEDGER");
	FILE *f = path ? fopen(path, "a") : NULL;
	if (f) {
		fprintf(f, "%s %s %s\n", durable_activity_type(a), durable_activity_workflow_id(a), what);
		fclose(f);
	}
}

/* An activity: input "i" + 1, after input's "delay_ms" (so that a kill -9
 * lands while some run). */
static inline int bump(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	json_int_t delay = json_integer_value(json_object_get(in, "delay_ms"));
	if (delay > 0)
		usleep((useconds_t)delay * 1000);
	*out = durable_activity_json(a, "I", json_integer_value(json_object_get(in, "i")) + 1);
	return 0;
}

/* A workflow's fan-out: input {"n": N} runs N activities of type at once
 * (N within 1 to 64, each given its index and start_to_close seconds),
 * waits for all and returns {"ok": how many succeeded}. */
static inline int fan_out(durable_ctx_t *ctx, json_t *input, json_t **output, const char *type,
			  double start_to_close)
{
	durable_activity_options_t o = {.start_to_close_timeout = start_to_close};
	durable_future_t *fs[64];
	int n = (int)json_integer_value(json_object_get(input, "n")), ok = 0;
	n = n < 1 ? 1 : n > 64 ? 64 : n;
	for (int i = 0; i < n; i++)
		DURABLE_TRY(durable_activity_start(ctx, type, durable_json(ctx, "i", i), &o, &fs[i]));
	DURABLE_TRY(durable_wait_all(ctx, fs, n));
	for (int i = 0; i < n; i++) {
		json_t *r;
		if (durable_future_get(ctx, fs[i], &r) == 0)
			ok++;
	}
	*output = durable_json(ctx, "{s:i}", "ok", ok);
	return 0;
}

#endif
