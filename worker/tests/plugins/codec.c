/* A test plugin for payload codecs: workflow "Vault" carries a secret
 * through everything a worker sends to the store: its input, a C activity
 * ("seal", which heartbeats the secret too) and an executable one
 * (echo_exec), a side effect, a signal ("approve"), a query ("state") and
 * its result. The test then looks for the secret in the database. */
#include <string.h>
#include <unistd.h>
#include <durable.h>

/* Heartbeats the secret, then waits (at most a minute) for the file named
 * by "gate" to exist, so the test can look at the heartbeat in the store. */
static int seal(durable_activity_ctx_t *a, json_t *in, json_t **out, void *arg)
{
	(void)arg;
	const char *secret = json_string_value(json_object_get(in, "secret"));
	const char *gate = json_string_value(json_object_get(in, "gate"));
	durable_heartbeat(a, durable_activity_json(a, "{s:s}", "progress", secret ? secret : ""));
	for (int i = 0; gate && i < 1200 && access(gate, F_OK) != 0; i++)
		usleep(50000);
	*out = durable_activity_json(a, "{s:s, s:s}", "sealed", secret ? secret : "", "by", "seal");
	return 0;
}

static json_t *side(durable_ctx_t *ctx, void *arg)
{
	return durable_json(ctx, "{s:s}", "noted", (const char *)arg);
}

static int vault(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	const char *secret = json_string_value(json_object_get(input, "secret"));
	json_t *state = durable_json(ctx, "{s:s, s:s}", "secret", secret ? secret : "", "stage", "started");
	json_t *sealed, *echoed, *noted, *approval;
	DURABLE_TRY(durable_set_query_handler(ctx, "state", NULL, state));
	DURABLE_TRY(durable_activity(ctx, "seal", input, NULL, &sealed));
	DURABLE_TRY(durable_activity(ctx, "echo_exec", durable_json(ctx, "{s:s}", "echo", secret ? secret : ""), NULL,
				     &echoed));
	DURABLE_TRY(durable_side_effect(ctx, side, (void *)(secret ? secret : ""), &noted));
	json_object_set_new(state, "stage", json_string("waiting"));
	DURABLE_TRY(durable_await_signal(ctx, "approve", -1, &approval));
	*output = durable_json(ctx, "{s:O, s:O, s:O, s:O, s:O}", "input", input, "sealed", sealed, "echoed", echoed,
			    "noted", noted, "approval", approval);
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "Vault", vault));
	return durable_worker_register_activity(w, "seal", seal, NULL);
}
