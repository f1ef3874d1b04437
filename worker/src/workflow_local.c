/* Local activities, the workflow's side: a marker per finished attempt
 * sequence, read back on replay; requests for the worker otherwise.
 *
 * A local activity resolves at the call that starts it (or at the wait
 * that finds its backoff timer fired), not at an event: the worker runs it
 * while it holds the workflow task and replays the task again with the
 * outcome (durable__task_t.local_results), so the code sees it at once and
 * issues its RecordMarker there. A replay meets the marker at the same
 * place in the commands, and takes the outcome from it.
 *
 * Each step of a local activity takes one command number (ctx->seq)
 * whether it is recorded or still running, so that the ids of what follows
 * are the same in the run that asks for it and the run that records it.
 *
 * A kept run (run.c) is not replayed for the outcomes: its request takes
 * the marker's place among the task's commands at once, and the code goes
 * on until it looks at the future or waits; there the function waits for
 * the worker's round of local activities (durable__run_await_locals), and
 * durable__local_apply puts each outcome where the request was. The code
 * sees the outcome at the same point and the task sends the same commands
 * as a replay that had the outcome from the start. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctx.h"
#include "json_text.h"

#define MARKER "LocalActivity"

struct durable__local {
	char type[128];
	json_t *input;            /* owned */
	json_t *options;          /* owned: what the worker needs to run and retry it */
	int attempt;              /* the next attempt */
	json_int_t scheduled_ms;  /* when the first attempt started (worker clock), 0 = not yet */
	durable_future_t *timer;  /* the backoff before the next attempt, or NULL */
	int requested;            /* asked the worker for the next attempt in this run */
	json_t *placeholder;      /* a kept run's request: its marker's place in ctx->commands (borrowed) */
};

void durable__local_free(struct durable__local *l)
{
	if (!l)
		return;
	json_decref(l->input);
	json_decref(l->options);
	free(l);
}

static json_t *options_json(const durable_local_activity_options_t *o)
{
	double stc = o->start_to_close_timeout, sch = o->schedule_to_close_timeout;
	if (!(stc > 0) && !(sch > 0))
		stc = 60;
	json_t *j = json_pack("{s:f, s:f, s:o, s:f}", "start_to_close_timeout", stc > 0 ? stc : 0.0,
			      "schedule_to_close_timeout", sch > 0 ? sch : 0.0, "retry_policy",
			      durable__retry_policy_json(&o->retry), "local_retry_threshold",
			      o->local_retry_threshold > 0 ? o->local_retry_threshold : 60.0);
	return j;
}

static void resolve(durable_ctx_t *ctx, durable_future_t *f, json_t *details)
{
	json_t *failure = json_object_get(details, "failure");
	f->resolve_event_id = 0;   /* visible from here on, before any event */
	if (!failure) {
		f->status = 0;
		f->result = json_object_get(details, "result");
		return;
	}
	const char *type = json_string_value(json_object_get(failure, "type"));
	f->status = type && strcmp(type, "TimeoutError") == 0 ? DURABLE_ETIMEDOUT : DURABLE_EFAILED;
	f->failure = failure;
	(void)ctx;
}

/* Asks the worker for the next attempt; the future stays pending. */
static int request(durable_ctx_t *ctx, durable_future_t *f)
{
	struct durable__local *l = f->local;
	char key[160];
	ctx->seq++;   /* the marker it becomes takes this number */
	if (l->requested)
		return 0;
	if (!ctx->local_requests && !(ctx->local_requests = json_array()))
		return -ENOMEM;
	if (ctx->run) {
		/* the marker's place (issue() numbers it), filled by durable__local_apply */
		json_t *mark = json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "RecordMarker", "marker_name", MARKER,
					 "details", "activity_id", f->id, "activity_type", l->type);
		ctx->seq--;
		int64_t ev = durable__issue(ctx, mark, "MarkerRecorded", "marker_name", NULL);
		if (ev < 0)
			return (int)ev;
		l->placeholder = json_array_get(ctx->commands, json_array_size(ctx->commands) - 1);
	}
	snprintf(key, sizeof(key), "%s#%d", f->id, l->attempt);
	json_t *r = json_pack("{s:s, s:s, s:s, s:O, s:i, s:I, s:O}", "key", key, "activity_id", f->id,
			      "activity_type", l->type, "input", l->input, "attempt", l->attempt,
			      "scheduled_time_ms", l->scheduled_ms, "options", l->options);
	if (!r || json_array_append_new(ctx->local_requests, r) < 0)
		return -ENOMEM;
	l->requested = 1;
	return 0;
}

/* The outcome of the next attempt(s): the recorded marker on replay, the
 * worker's result (recorded now) when it has one, else a request. Returns
 * the marker's details (borrowed), NULL with *rc = 0 when requested. */
static json_t *next_marker(durable_ctx_t *ctx, durable_future_t *f, int *rc)
{
	struct durable__local *l = f->local;
	char key[160];
	*rc = 0;
	if (durable__replaying(ctx)) {
		json_t *cmd = json_pack("{s:s, s:s, s:{s:s, s:s}}", "type", "RecordMarker", "marker_name", MARKER,
					"details", "activity_id", f->id, "activity_type", l->type);
		int64_t ev = durable__issue(ctx, cmd, "MarkerRecorded", "marker_name", NULL);
		if (ev < 0) {
			*rc = (int)ev;
			return NULL;
		}
		return json_object_get(durable__attrs(durable__event(ctx, ev)), "details");
	}
	snprintf(key, sizeof(key), "%s#%d", f->id, l->attempt);
	json_t *got = json_object_get(ctx->task->local_results, key);
	if (!got) {
		*rc = request(ctx, f);
		return NULL;
	}
	ctx->local_seen++;
	json_t *cmd = json_pack("{s:s, s:s, s:O}", "type", "RecordMarker", "marker_name", MARKER, "details", got);
	int64_t ev = durable__issue(ctx, cmd, "MarkerRecorded", "marker_name", NULL);
	if (ev < 0) {
		*rc = (int)ev;
		return NULL;
	}
	return got;
}

int durable__local_step(durable_ctx_t *ctx, durable_future_t *f)
{
	struct durable__local *l = f->local;
	for (;;) {
		if (ctx->stopped)
			return ctx->stopped;
		if (l->timer) {
			if (!durable_future_is_ready(ctx, l->timer))
				return 0;
			l->timer = NULL;
		}
		int rc;
		json_t *details = next_marker(ctx, f, &rc);
		if (!details)
			return rc;
		const char *id = json_string_value(json_object_get(details, "activity_id"));
		const char *type = json_string_value(json_object_get(details, "activity_type"));
		if (!id || !type || strcmp(id, f->id) != 0 || strcmp(type, l->type) != 0)
			return durable__nondet(ctx, "a LocalActivity marker of %s (id %s) is recorded where the workflow now runs local activity %s (id %s)",
					       type ? type : "?", id ? id : "?", l->type, f->id);
		json_t *scheduled = json_object_get(details, "scheduled_time_ms");
		if (json_is_integer(scheduled))
			l->scheduled_ms = json_integer_value(scheduled);
		double backoff = json_number_value(json_object_get(details, "backoff"));
		if (!(backoff > 0)) {
			resolve(ctx, f, details);
			return 0;
		}
		/* a long backoff: wait for it with a timer, then the next attempt */
		l->attempt = (int)json_integer_value(json_object_get(details, "attempt")) + 1;
		l->requested = 0;
		DURABLE_TRY(durable_timer_start(ctx, backoff, &l->timer));
	}
}

int durable__local_drive(durable_ctx_t *ctx, durable_future_t *const *fs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fs[i] && fs[i]->kind == F_LOCAL && fs[i]->resolve_event_id == INT64_MAX && fs[i]->local->timer &&
		    durable_future_is_ready(ctx, fs[i]->local->timer))
			DURABLE_TRY(durable__local_step(ctx, fs[i]));
	return 0;
}

int durable__local_cancel(durable_ctx_t *ctx, durable_future_t *f)
{
	struct durable__local *l = f->local;
	if (l->timer)
		return durable_future_cancel(ctx, l->timer);
	if (!l->requested)
		return 0;
	/* not run yet: take the request back */
	size_t i;
	json_t *r;
	json_array_foreach(ctx->local_requests, i, r)
		if (strcmp(json_string_value(json_object_get(r, "activity_id")), f->id) == 0) {
			json_array_remove(ctx->local_requests, i);
			break;
		}
	json_array_foreach(ctx->commands, i, r)
		if (r == l->placeholder) {
			json_array_remove(ctx->commands, i);
			/* the commands no longer match what it expects the store to record */
			ctx->no_keep = "a local activity was canceled before it ran";
			break;
		}
	l->placeholder = NULL;
	l->requested = 0;
	return 0;
}

void durable__local_awaited(durable_ctx_t *ctx, durable_future_t *f)
{
	if (f->local && f->local->requested && f->local->placeholder && !ctx->stopped)
		durable__run_await_locals(ctx);
}

static size_t command_index(durable_ctx_t *ctx, json_t *cmd)
{
	size_t i, n = json_array_size(ctx->commands);
	for (i = n; i > 0; i--)   /* most often among the last */
		if (json_array_get(ctx->commands, i - 1) == cmd)
			return i - 1;
	return n;
}

int durable__local_apply(durable_ctx_t *ctx, json_t *results)
{
	char key[160];
	size_t k = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < ctx->nlocals; i++) {
			durable_future_t *f = ctx->locals[i];
			struct durable__local *l = f->local;
			if (f->resolve_event_id != INT64_MAX || !l->requested)
				continue;
			snprintf(key, sizeof(key), "%s#%d", f->id, l->attempt);
			json_t *got = json_object_get(results, key);
			size_t at = l->placeholder ? command_index(ctx, l->placeholder) : json_array_size(ctx->commands);
			if (pass == 0) {
				if (!got || json_number_value(json_object_get(got, "backoff")) > 0 ||
				    at == json_array_size(ctx->commands))
					return -EAGAIN;
				continue;
			}
			/* as next_marker records it: a copy is sent, the code sees got (kept alive by the pool) */
			json_t *cmd = json_pack("{s:s, s:s, s:O}", "type", "RecordMarker", "marker_name", MARKER, "details", got);
			json_t *sent = cmd ? json_deep_copy(cmd) : NULL;
			json_decref(cmd);
			if (!sent || json_array_set_new(ctx->commands, at, sent) < 0 ||
			    json_array_append(ctx->pool, got) < 0)
				return -ENOMEM;
			ctx->pool_bytes += durable__json_bytes(got);
			json_t *scheduled = json_object_get(got, "scheduled_time_ms");
			if (json_is_integer(scheduled))
				l->scheduled_ms = json_integer_value(scheduled);
			l->placeholder = NULL;
			l->requested = 0;
			resolve(ctx, f, got);
		}
	}
	/* the resolved ones are done with */
	for (size_t i = 0; i < ctx->nlocals; i++)
		if (ctx->locals[i]->resolve_event_id == INT64_MAX)
			ctx->locals[k++] = ctx->locals[i];
	ctx->nlocals = k;
	return 0;
}

int durable_local_activity_start(durable_ctx_t *ctx, const char *type, json_t *input,
				 const durable_local_activity_options_t *opts, durable_future_t **f)
{
	static const durable_local_activity_options_t defaults;
	char id[32];
	*f = NULL;
	if (ctx->stopped)
		return ctx->stopped;
	if (!type || !*type || strlen(type) >= sizeof(((struct durable__local *)0)->type))
		return -EINVAL;
	struct durable__local *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	snprintf(l->type, sizeof(l->type), "%s", type);
	/* borrowed, and run after this replay ends: a copy of what it is now */
	l->input = input ? json_deep_copy(input) : json_null();
	l->options = options_json(opts ? opts : &defaults);
	l->attempt = 1;
	snprintf(id, sizeof(id), "%u", ctx->seq + 1);
	int rc = l->options && l->input ? durable__new_future(ctx, F_LOCAL, id, 0, f) : -ENOMEM;
	if (rc < 0) {
		durable__local_free(l);
		return rc;
	}
	(*f)->local = l;
	/* a kept run's local round gives it its outcome (durable__local_apply) */
	if (ctx->nlocals == ctx->locals_cap) {
		size_t cap = ctx->locals_cap ? ctx->locals_cap * 2 : 8;
		durable_future_t **a = realloc(ctx->locals, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		ctx->locals = a;
		ctx->locals_cap = cap;
	}
	ctx->locals[ctx->nlocals++] = *f;
	return durable__local_step(ctx, *f);
}

int durable_local_activity(durable_ctx_t *ctx, const char *type, json_t *input,
			   const durable_local_activity_options_t *opts, json_t **result)
{
	durable_future_t *f;
	if (result)
		*result = NULL;
	DURABLE_TRY(durable_local_activity_start(ctx, type, input, opts, &f));
	return durable_future_get(ctx, f, result);
}
