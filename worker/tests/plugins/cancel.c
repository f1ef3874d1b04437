/* A test plugin for cancellation types and signals to other workflows.
 *
 * ActCancel {"type": T, "activity": A}: runs activity A (default "patient")
 * with cancellation type T until signal "stop", then cancels it; the
 * future's status is recorded in a SideEffect marker when it resolves, and
 * the workflow waits for signal "finish" before it returns {"rc", "result"}.
 * ChildCancel {"type": T, "hold": B}: the same with a Patient child (given
 * this input).
 * ParentWaits {"type": T}: waits on a Patient child; canceled, it closes
 * CANCELED once the wait returns.
 * Patient {"hold": B}: waits for signal "never"; canceled, it runs activity
 * "cleanup" (with hold: first waits for signal "release") and closes
 * CANCELED.
 * SignalOther {"target": ID, "cancel": B}: signals (asks to cancel) ID and
 * returns {"rc", "failure"}; query "rc" answers rc from a replay.
 *
 * Activities append to $DURABLE_LEDGER: "<activity> <workflow id> <what>". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <durable.h>
#include "parts.h"


static void nap(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&t, NULL);
}

/* Heartbeats until asked to cancel, then cleans up for input "cleanup_ms"
 * (default 1000) while still heartbeating, and reports canceled. "stubborn"
 * finishes its work instead. Both give up after ten minutes. */
static int patient(durable_activity_ctx_t *a, json_t *input, json_t **result, void *arg)
{
	int stubborn = arg != NULL;
	long cleanup = json_integer_value(json_object_get(input, "cleanup_ms"));
	ledger(a, "started");
	for (int i = 0; i < 6000; i++) {
		if (durable_heartbeat(a, durable_activity_json(a, "{s:i}", "step", i))) {
			ledger(a, "cancel seen");
			for (long t = 0; t < (cleanup > 0 ? cleanup : 1000); t += 100) {
				durable_heartbeat(a, durable_activity_json(a, "{s:s}", "cleanup", "running"));
				nap(100);
			}
			ledger(a, stubborn ? "finished anyway" : "cleaned up");
			if (stubborn)
				break;
			return DURABLE_ECANCELED;
		}
		nap(100);
	}
	*result = durable_activity_json(a, "s", "done");
	return 0;
}

static int cleanup(durable_activity_ctx_t *a, json_t *input, json_t **result, void *arg)
{
	(void)input;
	(void)arg;
	nap(500);
	ledger(a, "ran");
	*result = NULL;
	return 0;
}

static json_t *value_of(durable_ctx_t *ctx, void *arg)
{
	return durable_json(ctx, "i", *(int *)arg);
}

/* Records rc in the history (a SideEffect marker), waits for "finish",
 * and returns {"rc", "result"}. */
static int record_then_finish(durable_ctx_t *ctx, int rc, json_t *result, json_t **output)
{
	json_t *recorded, *ignored;
	DURABLE_TRY(durable_side_effect(ctx, value_of, &rc, &recorded));
	DURABLE_TRY(durable_await_signal(ctx, "finish", -1, &ignored));
	*output = durable_json(ctx, "{s:O, s:O*}", "rc", recorded, "result", result);
	return 0;
}

static durable_cancellation_type_t type_of(json_t *input)
{
	return (durable_cancellation_type_t)json_integer_value(json_object_get(input, "type"));
}

static int cancel_on_stop(durable_ctx_t *ctx, durable_future_t *f, json_t **output)
{
	durable_future_t *fs[2] = {f, NULL};
	size_t which;
	json_t *r = NULL;
	DURABLE_TRY(durable_signal_future(ctx, "stop", &fs[1]));
	DURABLE_TRY(durable_wait_any(ctx, fs, 2, &which));
	if (which == 1)
		DURABLE_TRY(durable_future_cancel(ctx, f));
	int rc = durable_future_get(ctx, f, &r);
	if (DURABLE_STOPPED(rc))
		return rc;
	return record_then_finish(ctx, rc, r, output);
}

static int act_cancel(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	durable_activity_options_t o = {.start_to_close_timeout = 600, .heartbeat_timeout = 3,
					.cancellation_type = type_of(input)};
	const char *type = json_string_value(json_object_get(input, "activity"));
	durable_future_t *f;
	DURABLE_TRY(durable_activity_start(ctx, type ? type : "patient", input, &o, &f));
	return cancel_on_stop(ctx, f, output);
}

static int child_cancel(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	durable_child_options_t o = {.workflow_id = durable_child_id(ctx, "kid"), .cancellation_type = type_of(input)};
	durable_future_t *f;
	DURABLE_TRY(durable_child_start(ctx, "Patient", input, &o, &f));
	return cancel_on_stop(ctx, f, output);
}

static int parent_waits(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	durable_child_options_t o = {.workflow_id = durable_child_id(ctx, "kid"), .cancellation_type = type_of(input)};
	json_t *r;
	DURABLE_TRY(durable_child(ctx, "Patient", NULL, &o, &r));
	*output = r;
	return 0;
}

static int patient_wf(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	json_t *p;
	int rc = durable_await_signal(ctx, "never", -1, &p);
	if (rc == DURABLE_ECANCELED) {
		if (json_is_true(json_object_get(input, "hold")))
			DURABLE_TRY(durable_await_signal(ctx, "release", -1, &p));
		durable_activity_options_t o = {.start_to_close_timeout = 60};
		DURABLE_TRY(durable_activity(ctx, "cleanup", NULL, &o, NULL));
		return DURABLE_ECANCELED;
	}
	DURABLE_TRY(rc);
	*output = durable_json(ctx, "s", "signaled");
	return 0;
}

static int signal_other(durable_ctx_t *ctx, json_t *input, json_t **output)
{
	const char *target = json_string_value(json_object_get(input, "target"));
	int rc = json_is_true(json_object_get(input, "cancel")) ? durable_cancel_external(ctx, target)
								: durable_signal_external(ctx, target, "never", json_true());
	if (DURABLE_STOPPED(rc))
		return rc;
	DURABLE_TRY(durable_set_query_value(ctx, "rc", durable_json(ctx, "i", rc)));
	*output = durable_json(ctx, "{s:i, s:O*}", "rc", rc, "failure", rc ? durable_failure(ctx) : NULL);
	return 0;
}

int durable_plugin_init(durable_worker_t *w)
{
	DURABLE_TRY(durable_worker_register_workflow(w, "ActCancel", act_cancel));
	DURABLE_TRY(durable_worker_register_workflow(w, "ChildCancel", child_cancel));
	DURABLE_TRY(durable_worker_register_workflow(w, "ParentWaits", parent_waits));
	DURABLE_TRY(durable_worker_register_workflow(w, "Patient", patient_wf));
	DURABLE_TRY(durable_worker_register_workflow(w, "SignalOther", signal_other));
	DURABLE_TRY(durable_worker_register_activity(w, "patient", patient, NULL));
	DURABLE_TRY(durable_worker_register_activity(w, "stubborn", patient, (void *)1));
	return durable_worker_register_activity(w, "cleanup", cleanup, NULL);
}
