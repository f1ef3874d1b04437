/* A test plugin for numbers on the way through the SDK: the input goes
 * through a C activity (whose first attempt heartbeats it and fails, so the
 * second gets it back as heartbeat details), then an executable one, and its
 * "rate" is upserted as a search attribute. */
#include <durable.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int echo_c(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	if (durable_activity_attempt(a) == 1) {
		durable_heartbeat(a, in);
		/* the test lets go once it saw the details in the store */
		char go[512];
		snprintf(go, sizeof go, "%s.go-%s", getenv("DURABLE_LEDGER"), durable_activity_workflow_id(a));
		for (int i = 0; i < 1200 && access(go, F_OK) != 0; i++)
			usleep(50000);
		return durable_activity_fail(a, "Again", 0, "once more, with the heartbeat details");
	}
	json_t *details = durable_activity_heartbeat_details(a);
	*out = durable_activity_json(a, "{sOsO}", "input", in, "details", details ? details : json_null());
	return 0;
}

static int numbers(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *via_c, *via_exec;
	DURABLE_TRY(durable_activity(ctx, "echo_c", input, NULL, &via_c));
	DURABLE_TRY(durable_activity(ctx, "echo_exec", json_object_get(via_c, "input"), NULL, &via_exec));
	json_t *rate = json_object_get(input, "rate");
	if (rate)
		DURABLE_TRY(durable_upsert_search_attributes(ctx, durable_json(ctx, "{sO}", "rate", rate)));
	*output = durable_json(ctx, "{sOsOsO}", "via_c", json_object_get(via_c, "input"),
			    "details", json_object_get(via_c, "details"), "via_exec", via_exec);
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "Numbers", numbers));
	return durable_worker_register_activity(w, "echo_c", echo_c, NULL);
}
