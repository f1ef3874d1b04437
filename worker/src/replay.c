/* Runs one workflow task (or query) over its history and turns what the
 * workflow function did into the task's outcome: commands, a failed task
 * (non-determinism), or a query answer. Pure: no I/O, so unit tests feed it
 * hand-written histories. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctx.h"

void durable__outcome_free(durable__outcome_t *out)
{
	json_decref(out->commands);
	json_decref(out->failure);
	json_decref(out->answer);
	json_decref(out->local);
	free(out->error);
	memset(out, 0, sizeof(*out));
}

static uint64_t seed_of(const char *run_id)
{
	uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
	for (const char *p = run_id ? run_id : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

json_t *durable__started_attrs(durable_ctx_t *ctx)
{
	size_t n = json_array_size(ctx->events);
	for (size_t i = 0; i < n; i++) {
		json_t *ev = json_array_get(ctx->events, i);
		if (strcmp(durable__event_type(ev), "WorkflowExecutionStarted") == 0)
			return durable__attrs(ev);
	}
	return NULL;
}

static void fail_task(durable__outcome_t *out, const char *cause, const char *message)
{
	out->kind = DURABLE__FAIL_TASK;
	snprintf(out->cause, sizeof(out->cause), "%s", cause);
	out->failure = json_pack("{s:s, s:s}", "message", message, "type", cause);
}

/* An update's validation (durable.update_workflow's query "__update", args
 * {update_id, name, args}): {"accepted": true}, or false with a reason.
 * The worker records an accepted one; a rejected one is only answered. */
static void validate_update(durable_ctx_t *ctx, durable__outcome_t *out)
{
	char reason[512] = "";
	const char *name = json_string_value(json_object_get(ctx->task->query_args, "name"));
	durable__query_handler_t *q = ctx->queries;
	while (q && !(q->is_update && name && strcmp(q->name, name) == 0))
		q = q->next;
	int ok = 0;
	if (!q) {
		snprintf(reason, sizeof(reason), "workflow type %s takes no update \"%s\" now (no durable_set_update_handler)",
			 ctx->task->workflow_type, name ? name : "");
	} else if (!q->validate) {
		ok = 1;
	} else {
		int rc = q->validate(q->state, json_object_get(ctx->task->query_args, "args"), reason, sizeof(reason));
		ok = rc >= 0;
		if (!ok && !reason[0])
			snprintf(reason, sizeof(reason), "the validator of update \"%s\" refused it: %s", name,
				 durable_strerror(rc));
	}
	out->answer = ok ? json_pack("{s:b}", "accepted", 1) : json_pack("{s:b, s:s}", "accepted", 0, "reason", reason);
	if (!out->answer)
		out->error = strdup("out of memory");
}

static void answer_query(durable_ctx_t *ctx, durable__outcome_t *out)
{
	char msg[512];
	out->kind = DURABLE__ANSWER;
	if (ctx->nondet[0]) {
		snprintf(msg, sizeof(msg), "non-deterministic workflow: %s", ctx->nondet);
		out->error = strdup(msg);
		return;
	}
	if (strcmp(ctx->task->query_type, DURABLE__UPDATE_QUERY) == 0) {
		validate_update(ctx, out);
		return;
	}
	for (durable__query_handler_t *q = ctx->queries; q; q = q->next) {
		if (q->is_update || strcmp(q->name, ctx->task->query_type) != 0)
			continue;
		if (!q->fn) {
			out->answer = json_deep_copy(q->state);
			return;
		}
		json_t *answer = NULL;
		int rc = q->fn(ctx, q->state, ctx->task->query_args, &answer);
		if (rc >= 0 && ctx->stopped < 0 && ctx->stopped > -10000)
			rc = ctx->stopped;   /* durable_json failed */
		if (rc < 0) {
			snprintf(msg, sizeof(msg), "query handler %s failed: %s", q->name, durable_strerror(rc));
			out->error = strdup(msg);
			return;
		}
		out->answer = answer ? json_deep_copy(answer) : json_null();
		if (!out->answer)
			out->error = strdup("out of memory");
		return;
	}
	snprintf(msg, sizeof(msg), "unknown query type \"%s\" for workflow type %s", ctx->task->query_type,
		 ctx->task->workflow_type);
	out->error = strdup(msg);
}

/* The command that closes the run, for what the function returned. */
static json_t *closing_command(durable_ctx_t *ctx, int rc, json_t *output)
{
	switch (rc) {
	case 0:
		return json_pack("{s:s, s:O}", "type", "CompleteWorkflowExecution", "result",
				 output ? output : json_null());
	case DURABLE_ECONTINUED:
		return json_pack("{s:s, s:O}", "type", "ContinueAsNewWorkflowExecution", "input", ctx->continue_input);
	case DURABLE_ECANCELED:
		if (durable_cancel_requested(ctx))
			return json_pack("{s:s, s:O*}", "type", "CancelWorkflowExecution", "details", ctx->failure);
		/* canceled without being asked to is a failure */
		__attribute__((fallthrough));
	default:
		if (ctx->failure)
			return json_pack("{s:s, s:O}", "type", "FailWorkflowExecution", "failure", ctx->failure);
		return json_pack("{s:s, s:{s:s, s:s}}", "type", "FailWorkflowExecution", "failure", "message",
				 durable_strerror(rc), "type", "WorkflowError");
	}
}

int durable__closes_run(const char *command_type)
{
	static const char *const closing[] = {"CompleteWorkflowExecution", "FailWorkflowExecution",
					      "CancelWorkflowExecution", "ContinueAsNewWorkflowExecution", NULL};
	for (int i = 0; command_type && closing[i]; i++)
		if (strcmp(command_type, closing[i]) == 0)
			return 1;
	return 0;
}

static int is_workflow_status(int rc)
{
	return rc == 0 || rc == DURABLE_ECONTINUED || rc == DURABLE_ECANCELED || rc == DURABLE_EFAILED ||
	       rc == DURABLE_ETIMEDOUT || rc == DURABLE_EALREADY || rc == DURABLE_ENOTFOUND;
}

static void finish_task(durable_ctx_t *ctx, int rc, json_t *output, durable__outcome_t *out)
{
	char msg[700];
	if (!ctx->nondet[0] && ctx->cmd_next < ctx->ncmd && rc != -ENOMEM) {
		int64_t id = ctx->cmd_events[ctx->cmd_next];
		json_t *ev = durable__event(ctx, id);
		snprintf(ctx->nondet, sizeof(ctx->nondet),
			 "event %lld: the history has %s which the workflow no longer issues (it %s first)",
			 (long long)id, durable__event_type(ev),
			 rc == DURABLE_BLOCKED ? "blocks" : "returns");
		(void)ev;
	}
	if (ctx->nondet[0]) {
		fail_task(out, "NON_DETERMINISTIC_ERROR", ctx->nondet);
		return;
	}
	if (json_array_size(ctx->local_requests) > 0 && (rc == DURABLE_BLOCKED || is_workflow_status(rc))) {
		/* the task completes once they ran: the worker replays it again then */
		out->kind = DURABLE__LOCAL;
		out->local = json_incref(ctx->local_requests);
		return;
	}
	if (rc == DURABLE_BLOCKED) {
		out->kind = DURABLE__COMPLETE;
		out->commands = json_incref(ctx->commands);
		return;
	}
	if (!is_workflow_status(rc)) {
		snprintf(msg, sizeof(msg), "workflow %s returned %d (%s)", ctx->task->workflow_type, rc,
			 durable_strerror(rc));
		fail_task(out, "WORKFLOW_WORKER_UNHANDLED_FAILURE", msg);
		return;
	}
	json_t *close = closing_command(ctx, rc, output);
	if (!close || json_array_append_new(ctx->commands, close) < 0) {
		fail_task(out, "WORKFLOW_WORKER_UNHANDLED_FAILURE", "out of memory");
		return;
	}
	out->kind = DURABLE__COMPLETE;
	out->commands = json_incref(ctx->commands);
}

int durable__ctx_init(durable_ctx_t *ctx, const durable__task_t *task)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->task = task;
	ctx->events = task->history;
	ctx->rng = seed_of(task->run_id);
	ctx->commands = json_array();
	ctx->pool = json_array();
	ctx->versions = json_object();
	if (!ctx->commands || !ctx->pool || !ctx->versions || durable__ctx_index(ctx) < 0)
		return -ENOMEM;
	return 0;
}

void durable__task_outcome(durable_ctx_t *ctx, int rc, json_t *output, durable__outcome_t *out)
{
	/* a failed durable_json/keep stopped the run: never complete with null */
	if (rc >= 0 && ctx->stopped < 0 && ctx->stopped > -10000)
		rc = ctx->stopped;
	if (ctx->task->query_type)
		answer_query(ctx, out);
	else
		finish_task(ctx, rc, output, out);
}

int durable__replay(durable_workflow_fn fn, const durable__task_t *task, durable__outcome_t *out)
{
	durable_ctx_t ctx;
	json_t *output = NULL;
	char msg[300];

	memset(out, 0, sizeof(*out));
	if (durable__ctx_init(&ctx, task) < 0) {
		durable__ctx_release(&ctx);
		return -ENOMEM;
	}
	if (!fn) {
		snprintf(msg, sizeof(msg), "workflow type \"%s\" is not registered with this worker",
			 task->workflow_type);
		if (task->query_type) {
			out->kind = DURABLE__ANSWER;
			out->error = strdup(msg);
		} else {
			fail_task(out, "WORKFLOW_WORKER_UNHANDLED_FAILURE", msg);
		}
		durable__ctx_release(&ctx);
		return 0;
	}
	int rc = fn(&ctx, json_object_get(durable__started_attrs(&ctx), "input"), &output);
	durable__task_outcome(&ctx, rc, output, out);
	durable__ctx_release(&ctx);
	return 0;
}

const char *durable_strerror(int status)
{
	switch (status) {
	case DURABLE_OK: return "ok";
	case DURABLE_BLOCKED: return "blocked: waiting for the history to grow";
	case DURABLE_EFAILED: return "failed";
	case DURABLE_ECANCELED: return "canceled";
	case DURABLE_ETIMEDOUT: return "timed out";
	case DURABLE_ENONDET: return "non-deterministic workflow";
	case DURABLE_ECONTINUED: return "continued as new";
	case DURABLE_ECODEC: return "a payload could not be encoded or decoded (PayloadCodecError)";
	case DURABLE_ENOTFOUND: return "not found";
	case DURABLE_EAGAIN: return "nothing there yet";
	case DURABLE_ELEASE: return "task lease lost";
	case DURABLE_EDB: return "database error";
	case DURABLE_EALREADY: return "already started";
	default: return status < 0 && status > -4096 ? strerror(-status) : "unknown status";
	}
}
