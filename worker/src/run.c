/* A run kept between its workflow tasks. A replay runs the workflow
 * function from its first event on every task, so a run of n tasks costs
 * n^2/2 steps. A kept run runs the function on its own stack (fiber.c):
 * where a wait would return DURABLE_BLOCKED at the end of the history, the
 * function stops there instead, and the run's next task indexes only the
 * new events and lets the wait go on. What the function does from there is
 * what a replay of the whole history would do: the same horizons, the same
 * futures resolved by the same events, the commands it sent matched with
 * the events the store recorded for them.
 *
 * A kept run is only trusted when the new events continue exactly what it
 * saw and sent (durable__ctx_extend); otherwise, and for queries, the task
 * replays.
 *
 * Local activities run within the task: the function waits for the
 * worker's round of them (durable__run_await_locals, the task's outcome is
 * DURABLE__LOCAL) and goes on with their outcomes (durable__run_locals),
 * as the replay with the results would (workflow_local.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ctx.h"
#include "fiber.h"
#include "json_text.h"
#include "run.h"

/* As large as the main thread's default, where a replay runs the same code
 * (8 MiB): virtual, only the pages the function touches cost memory. */
#define RUN_STACK_SIZE (8 * 1024 * 1024)

size_t durable__run_pool_bytes = DURABLE__RUN_POOL_BYTES;

struct durable__run {
	durable_ctx_t ctx;
	durable__task_t task;      /* the run's own: strings owned, history referenced */
	durable_workflow_fn fn;
	durable__fiber_t *fiber;
	int rc;                    /* what fn returned, once ended */
	json_t *output;
	int ended;
	int evicting;              /* being freed: the wait returns DURABLE_BLOCKED */
	int local_wait;            /* the function waits for a round of local activities */
};

int durable__run_await_locals(durable_ctx_t *ctx)
{
	durable__run_t *r = ctx->run;
	if (!r || r->evicting || ctx->no_keep || json_array_size(ctx->local_requests) == 0)
		return -1;
	r->local_wait = 1;
	durable__fiber_yield(r->fiber);
	r->local_wait = 0;
	if (r->evicting)
		ctx->stopped = DURABLE_BLOCKED;   /* unwound: every call returns it */
	return 0;
}

int durable__run_suspend(durable_ctx_t *ctx)
{
	durable__run_t *r = ctx->run;
	if (!r || r->evicting || ctx->no_keep)
		return -1;
	/* what it asked for runs first: a replay would have the outcomes here */
	if (json_array_size(ctx->local_requests) > 0)
		return durable__run_await_locals(ctx) < 0 || r->evicting ? -1 : 1;
	durable__fiber_yield(r->fiber);
	return r->evicting ? -1 : 0;
}

static void run_main(void *arg)
{
	durable__run_t *r = arg;
	r->rc = r->fn(&r->ctx, json_object_get(durable__started_attrs(&r->ctx), "input"), &r->output);
}

static int is_side_effect(json_t *cmd)
{
	const char *type = json_string_value(json_object_get(cmd, "type"));
	const char *name = json_string_value(json_object_get(cmd, "marker_name"));
	return type && name && strcmp(type, "RecordMarker") == 0 && strcmp(name, "SideEffect") == 0;
}

/* Runs the function until it waits or returns, and makes the task's outcome. */
static int step(durable__run_t *r, durable__outcome_t *out)
{
	if (durable__fiber_resume(r->fiber)) {
		r->ended = 1;
		durable__task_outcome(&r->ctx, r->rc, r->output, out);
		return 0;
	}
	durable__task_outcome(&r->ctx, DURABLE_BLOCKED, NULL, out);
	if (r->local_wait) {
		/* the worker runs them (out->local) and the commands go out later,
		 * with the markers of their outcomes; the next round asks anew */
		json_decref(r->ctx.local_requests);
		r->ctx.local_requests = NULL;
		return 0;
	}
	/* The commands went out with this task. A side effect's value is
	 * borrowed from its marker: the pool keeps those alive, and only those
	 * (the rest, an activity's input and the like, would only bring the
	 * run sooner to the pool's bound). */
	json_t *sent = r->ctx.commands, *c;
	size_t i;
	r->ctx.commands = json_array();
	json_array_foreach(sent, i, c) {
		if (!is_side_effect(c))
			continue;
		r->ctx.pool_bytes += durable__json_bytes(c);
		if (json_array_append(r->ctx.pool, c) < 0)
			r->ctx.no_keep = "out of memory";   /* cannot go on: it is freed after this task */
	}
	json_decref(sent);
	if (!r->ctx.commands) {
		r->ctx.no_keep = "out of memory";
		r->ctx.commands = json_array();
	}
	/* the pool only grows while the function waits: past the bound, it is
	 * unwound after this task (as an eviction), and the next one replays */
	if (r->ctx.pool_bytes > durable__run_pool_bytes || json_array_size(r->ctx.pool) > DURABLE__RUN_POOL_ENTRIES)
		r->ctx.no_keep = "its pool is past the bound";
	return 0;
}

static char *dup_str(const char *s)
{
	return strdup(s ? s : "");
}

int durable__run_start(durable_workflow_fn fn, const durable__task_t *task, durable__outcome_t *out,
		       durable__run_t **run)
{
	*run = NULL;
	memset(out, 0, sizeof(*out));
	durable__run_t *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->fn = fn;
	r->task.workflow_id = dup_str(task->workflow_id);
	r->task.run_id = dup_str(task->run_id);
	r->task.workflow_type = dup_str(task->workflow_type);
	r->task.history = json_incref(task->history);
	r->task.started_event_id = task->started_event_id;
	if (!r->task.workflow_id || !r->task.run_id || !r->task.workflow_type ||
	    durable__ctx_init(&r->ctx, &r->task) < 0 ||
	    durable__fiber_new(RUN_STACK_SIZE, run_main, r, &r->fiber) < 0) {
		r->ended = 1;   /* nothing to unwind */
		durable__run_free(r);
		return -ENOMEM;
	}
	r->ctx.run = r;
	/* a task whose local activities ran replays with their outcomes: the
	 * futures borrow from them, so the pool keeps them; later rounds of
	 * the kept run get theirs through durable__run_locals */
	if (task->local_results && json_array_append(r->ctx.pool, task->local_results) < 0) {
		r->ended = 1;   /* never ran: nothing to unwind */
		durable__run_free(r);
		return -ENOMEM;
	}
	r->task.local_results = task->local_results;
	step(r, out);
	r->task.local_results = NULL;
	r->ctx.local_seen = 0;
	*run = r;
	return 0;
}

int durable__run_resume(durable__run_t *r, const durable__task_t *task, durable__outcome_t *out)
{
	memset(out, 0, sizeof(*out));
	if (!durable__run_waiting(r) || task->history != r->task.history || task->query_type ||
	    task->local_results || strcmp(task->run_id, r->task.run_id) != 0)
		return -EAGAIN;
	int rc = durable__ctx_extend(&r->ctx, task->started_event_id);
	if (rc < 0)
		return rc;
	r->task.started_event_id = task->started_event_id;
	return step(r, out);
}

int durable__run_locals(durable__run_t *r, const durable__task_t *task, durable__outcome_t *out)
{
	memset(out, 0, sizeof(*out));
	if (!r || !r->local_wait || r->ended || r->ctx.no_keep || task->history != r->task.history ||
	    task->started_event_id != r->task.started_event_id || task->query_type ||
	    strcmp(task->run_id, r->task.run_id) != 0)
		return -EAGAIN;
	int rc = durable__local_apply(&r->ctx, task->local_results);
	if (rc < 0)
		return rc;
	return step(r, out);
}

int durable__run_waiting(const durable__run_t *r)
{
	return r && !r->ended && !r->ctx.no_keep && !r->local_wait;
}

int durable__run_goes_on(const durable__run_t *r, const durable__outcome_t *out)
{
	return r && !r->ended && !r->ctx.no_keep &&
	       (r->local_wait ? out->kind == DURABLE__LOCAL : out->kind == DURABLE__COMPLETE);
}

const char *durable__run_why_not(const durable__run_t *r, const durable__outcome_t *out)
{
	if (!r)
		return "not a kept run";
	if (r->ended)
		return "its function returned";
	if (r->ctx.no_keep)
		return r->ctx.no_keep;
	if (out->kind == DURABLE__FAIL_TASK)
		return "its task failed";
	if (out->kind == DURABLE__LOCAL)
		return "it asked for local activities where it could not wait for them";
	return "it does not wait";
}

void durable__run_free(durable__run_t *r)
{
	if (!r)
		return;
	if (!r->ended) {
		/* the wait returns DURABLE_BLOCKED, as at the end of a replay, and
		 * the function unwinds, freeing what it holds */
		r->evicting = 1;
		durable__fiber_resume(r->fiber);
	}
	durable__fiber_free(r->fiber);
	durable__ctx_release(&r->ctx);
	json_decref(r->task.history);
	free((char *)r->task.workflow_id);
	free((char *)r->task.run_id);
	free((char *)r->task.workflow_type);
	free(r);
}
