/* A test plugin for tests/e2e/t_eager_slots.sh: how many activities a worker
 * runs at once, whether they were leased with a completion (eager
 * execution) or by a poll.
 *
 * SlotFan {"n": N}: runs N "slot" activities at once and returns how many
 * succeeded.
 * "slot": counts itself among the activities running in this process, writes
 * "slot <workflow id> <activity id> running <how many, itself included>" to
 * $DURABLE_LEDGER, sleeps 0.2 s and leaves. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <durable.h>
#include "parts.h"

static int running;   /* activities of this plugin running in this process */

static int slot(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	int now = __atomic_add_fetch(&running, 1, __ATOMIC_SEQ_CST);
	const char *path = getenv("DURABLE_LEDGER");
	FILE *f = path ? fopen(path, "a") : NULL;
	if (f) {
		fprintf(f, "slot %s %s running %d\n", durable_activity_workflow_id(a), durable_activity_id(a), now);
		fclose(f);
	}
	struct timespec t = {0, 200000000L};
	nanosleep(&t, NULL);
	__atomic_sub_fetch(&running, 1, __ATOMIC_SEQ_CST);
	*out = in;
	return 0;
}

static int fan(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	return fan_out(ctx, input, output, "slot", 60);
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "SlotFan", fan));
	return durable_worker_register_activity(w, "slot", slot, NULL);
}
