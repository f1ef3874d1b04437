/* The workflow API: commands matched against the history by position,
 * futures resolved from recorded outcomes, waits that advance the horizon.
 *
 * The code re-runs from the start on a workflow task (unless its run was
 * kept, run.c: then it goes on from where the last task left it). It starts at the
 * first horizon (the first completed task) and may only see events older than
 * the horizon; a wait that is not satisfied moves to the next horizon, the
 * way the earlier task's run stopped there and the next one continued. So
 * every run takes the same decisions the earlier runs took, and the commands
 * it issues at a past horizon must equal the ones recorded for that task. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctx.h"
#include "json_text.h"

int durable__replaying(durable_ctx_t *ctx)
{
	return ctx->cur + 1 < ctx->nhz;
}

int durable_is_replaying(durable_ctx_t *ctx)
{
	return durable__replaying(ctx) || ctx->task->query_type != NULL ||
	       ctx->local_seen < json_object_size(ctx->task->local_results);
}

static int64_t horizon_limit(durable_ctx_t *ctx)
{
	return ctx->hz[ctx->cur].started_event_id;
}

/* failure is stolen. The one it replaces may still be in the workflow's
 * hands (durable_failure): the pool keeps it to the end of the task. */
int durable__set_failure(durable_ctx_t *ctx, json_t *failure)
{
	if (ctx->failure)
		json_array_append_new(ctx->pool, ctx->failure);
	ctx->failure = failure;
	return 0;
}

static json_t *make_failure(const char *type, const char *message)
{
	return json_pack("{s:s, s:s}", "message", message, "type", type);
}

/* Stops the run: every further call returns DURABLE_ENONDET. */
static int nondet(durable_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int nondet(durable_ctx_t *ctx, const char *fmt, ...)
{
	va_list ap;
	if (!ctx->nondet[0]) {
		va_start(ap, fmt);
		vsnprintf(ctx->nondet, sizeof(ctx->nondet), fmt, ap);
		va_end(ap);
	}
	ctx->stopped = DURABLE_ENONDET;
	return DURABLE_ENONDET;
}

/* The attributes a message names a command or event by, in this order. */
static const char *const shown_keys[] = {"activity_type", "timer_id", "workflow_type", "signal_name", "marker_name",
					 "workflow_id", "update_id", NULL};

/* "ScheduleActivityTask(charge)" for a command, "ActivityTaskScheduled(charge)"
 * for an event: type, and the first of shown_keys that o has as a string. */
static const char *describe_as(const char *type, const char *shown, char *buf, size_t len)
{
	if (!type)
		type = "?";
	if (shown)
		snprintf(buf, len, "%s(%s)", type, shown);
	else
		snprintf(buf, len, "%s", type);
	return buf;
}

static const char *shown_of(json_t *o)
{
	for (size_t i = 0; shown_keys[i]; i++) {
		const char *v = json_string_value(json_object_get(o, shown_keys[i]));
		if (v)
			return v;
	}
	return NULL;
}

static const char *describe(json_t *cmd, char *buf, size_t len)
{
	return describe_as(json_string_value(json_object_get(cmd, "type")), shown_of(cmd), buf, len);
}

static const char *describe_event(json_t *ev, char *buf, size_t len)
{
	return describe_as(durable__event_type(ev), shown_of(durable__attrs(ev)), buf, len);
}

/* A command as a replay matches it with its recorded event, without the
 * JSON the command would be sent as: the event's type, up to two key
 * attributes' strings, and what messages name it by (describe's "type" and
 * shown). Every replay starts its run's commands again, and building each
 * as a JSON object to compare two keys was ~5,000 instructions a command. */
typedef struct {
	const char *type;          /* the command's */
	const char *shown;         /* the first of shown_keys it has, or NULL */
	const char *event_type;
	const char *key[2];        /* NULL: none */
	const char *val[2];        /* key[i]'s value: a string, or NULL when not one */
} match_t;

/* m for a built command (its strings borrowed from cmd) */
static void match_of(json_t *cmd, const char *event_type, const char *key1, const char *key2, match_t *m)
{
	*m = (match_t){json_string_value(json_object_get(cmd, "type")), shown_of(cmd), event_type, {key1, key2}, {0}};
	for (int i = 0; i < 2; i++)
		if (m->key[i])
			m->val[i] = json_string_value(json_object_get(cmd, m->key[i]));
}

/* Whether the recorded value v is the string s: as json_equal compares
 * them (a value that is not a string, or none, never is). */
static int same_string(json_t *v, const char *s)
{
	const char *r = json_string_value(v);
	size_t n = s ? strlen(s) : 0;
	return r && s && json_string_length(v) == n && memcmp(r, s, n) == 0;
}

static const char *describe_match(const match_t *m, char *buf, size_t len)
{
	return describe_as(m->type, m->shown, buf, len);
}

/* A new command goes out with this task: a kept run matches it with its
 * event when the next task comes (durable__ctx_extend). */
static int remember_live(durable_ctx_t *ctx, const char *event_type)
{
	if (ctx->nlive == ctx->live_cap) {
		size_t cap = ctx->live_cap ? ctx->live_cap * 2 : 16;
		durable__live_t *l = realloc(ctx->live, cap * sizeof(*l));
		if (!l)
			return -ENOMEM;
		ctx->live = l;
		ctx->live_cap = cap;
	}
	ctx->live[ctx->nlive++] = (durable__live_t){.event_type = event_type, .future = NULL};
	return 0;
}

/* Issues a command (stolen). The key attributes must match the recorded
 * event on replay. Returns the recorded event's id (> 0) when replaying, 0
 * when the command is new (it is then queued), or a negative status. */
/* issue(), for a cmd that holds nothing of the caller's (copy 0): sent as
 * it is, not copied. */
static int64_t issue_cmd(durable_ctx_t *ctx, json_t *cmd, const char *event_type, const char *key1,
			 const char *key2, int copy);

static int64_t issue(durable_ctx_t *ctx, json_t *cmd, const char *event_type,
		     const char *key1, const char *key2)
{
	return issue_cmd(ctx, cmd, event_type, key1, key2, 1);
}

/* The replay's side of issue(): the command the code issues again, m, is
 * the next recorded one. Its event's id, or DURABLE_ENONDET. */
static int64_t match_recorded(durable_ctx_t *ctx, const match_t *m)
{
	char a[200], b[200];
	if (ctx->cmd_next >= ctx->ncmd)
		return nondet(ctx, "workflow task completed at event %lld recorded fewer commands than the workflow issues now: %s is new",
			      (long long)ctx->hz[ctx->cur].completed_event_id, describe_match(m, b, sizeof(b)));
	int64_t id = ctx->cmd_events[ctx->cmd_next];
	json_t *ev = durable__event(ctx, id);
	int same = strcmp(durable__event_type(ev), m->event_type) == 0;
	for (int i = 0; same && i < 2; i++)
		if (m->key[i])
			same = same_string(json_object_get(durable__attrs(ev), m->key[i]), m->val[i]);
	if (!same)
		return nondet(ctx, "event %lld: the history has %s where the workflow now issues %s", (long long)id,
			      describe_event(ev, a, sizeof(a)), describe_match(m, b, sizeof(b)));
	if (durable__attr_int(ev, "workflow_task_completed_event_id") != ctx->hz[ctx->cur].completed_event_id)
		return nondet(ctx, "event %lld: %s was recorded by the workflow task completed at event %lld, but the workflow now issues it in the one completed at event %lld",
			      (long long)id, describe_match(m, b, sizeof(b)),
			      (long long)durable__attr_int(ev, "workflow_task_completed_event_id"),
			      (long long)ctx->hz[ctx->cur].completed_event_id);
	ctx->cmd_next++;
	return id;
}

/* issue() of a command the code issues while replaying, matched by m and
 * never built (durable__replaying must be true). */
static int64_t issue_replayed(durable_ctx_t *ctx, const match_t *m)
{
	if (ctx->stopped)
		return ctx->stopped;
	ctx->seq++;
	return match_recorded(ctx, m);
}

static int64_t issue_cmd(durable_ctx_t *ctx, json_t *cmd, const char *event_type, const char *key1,
			 const char *key2, int copy)
{
	char a[200], b[200];
	if (ctx->stopped) {
		json_decref(cmd);
		return ctx->stopped;
	}
	if (!cmd)
		return -ENOMEM;
	ctx->seq++;
	if (!durable__replaying(ctx)) {
		if (ctx->cmd_next < ctx->ncmd) {
			json_t *ev = durable__event(ctx, ctx->cmd_events[ctx->cmd_next]);
			nondet(ctx, "event %lld: the history has %s which the workflow did not issue; it now issues %s",
			       (long long)ctx->cmd_events[ctx->cmd_next], describe_event(ev, a, sizeof(a)),
			       describe(cmd, b, sizeof(b)));
			json_decref(cmd);
			return DURABLE_ENONDET;
		}
		/* The arguments in cmd are the caller's (borrowed): send a copy,
		 * so that what the code changes afterwards is not sent. */
		json_t *sent = copy ? json_deep_copy(cmd) : cmd;
		if (copy)
			json_decref(cmd);
		if (!sent || json_array_append_new(ctx->commands, sent) < 0)
			return -ENOMEM;
		return remember_live(ctx, event_type);
	}
	match_t m;
	match_of(cmd, event_type, key1, key2, &m);
	int64_t id = match_recorded(ctx, &m);
	json_decref(cmd);
	return id;
}

/* A command that is not matched by position (cancel requests): sent only
 * when new, since a past horizon's task already sent it. */
static int send_unmatched(durable_ctx_t *ctx, json_t *cmd)
{
	if (!cmd)
		return -ENOMEM;
	if (durable__replaying(ctx)) {
		json_decref(cmd);
		return 0;
	}
	return json_array_append_new(ctx->commands, cmd) < 0 ? -ENOMEM : 0;
}

/* A signal or cancel request to another workflow that failed: the store
 * records only a cause. */
static json_t *external_failure(const char *t, json_t *attrs)
{
	char msg[512];
	const char *cause = json_string_value(json_object_get(attrs, "cause"));
	const char *id = json_string_value(json_object_get(attrs, "workflow_id"));
	int not_found = cause && strcmp(cause, "EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND") == 0;
	snprintf(msg, sizeof(msg), "%s to workflow \"%s\" failed: %s",
		 strncmp(t, "Signal", 6) == 0 ? "signal" : "cancel request", id ? id : "?",
		 not_found ? "no workflow with that id is running" : cause ? cause : t);
	return json_pack("{s:s, s:s, s:s*, s:s*}", "message", msg, "type", cause ? cause : t, "cause", cause,
			 "workflow_id", id);
}

static void resolve_from_history(durable_ctx_t *ctx, durable_future_t *f)
{
	int64_t oid = f->cmd_event_id > 0 ? ctx->outcome[f->cmd_event_id] : 0;
	json_t *ev = oid ? durable__event(ctx, oid) : NULL;
	if (!ev)
		return;
	const char *t = durable__event_type(ev);
	json_t *attrs = durable__attrs(ev);
	f->resolve_event_id = oid;
	f->failure = json_object_get(attrs, "failure");
	if (strstr(t, "Completed") || strcmp(t, "TimerFired") == 0) {
		f->status = 0;
		f->result = json_object_get(attrs, "result");
	} else if (strcmp(t, "ExternalWorkflowExecutionSignaled") == 0 ||
		   strcmp(t, "ExternalWorkflowExecutionCancelRequested") == 0) {
		f->status = 0;   /* delivered; the result is null */
	} else if (strstr(t, "TimedOut")) {
		f->status = DURABLE_ETIMEDOUT;
	} else if (strstr(t, "Canceled")) {
		f->status = DURABLE_ECANCELED;
	} else if (strcmp(t, "StartChildWorkflowExecutionFailed") == 0) {
		f->status = DURABLE_EALREADY;
	} else {
		f->status = DURABLE_EFAILED;   /* Failed, Terminated */
	}
	if (f->status != 0 && !f->failure) {
		json_t *fl = f->kind == F_EXTERNAL ? external_failure(t, attrs) : json_pack("{s:s, s:s, s:O*}", "message", t, "type", t, "details",
				       json_object_get(attrs, "details"));
		/* the pool keeps it alive; on failure append_new frees it */
		f->failure = fl && json_array_append_new(ctx->pool, fl) == 0 ? fl : NULL;
	}
}

static int new_future(durable_ctx_t *ctx, int kind, const char *id, int64_t event_id, durable_future_t **out)
{
	durable_future_t *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->kind = kind;
	f->cmd_event_id = event_id;
	f->resolve_event_id = INT64_MAX;
	size_t n = strnlen(id, sizeof(f->id) - 1);   /* snprintf's "%s", cut as it cuts */
	memcpy(f->id, id, n);
	f->id[n] = '\0';
	f->next = ctx->futures;
	ctx->futures = f;
	if (event_id > 0) {
		ctx->future_of[event_id] = f;
	} else if (kind != F_SIGNAL && kind != F_UPDATE && kind != F_LOCAL && ctx->nlive > 0 &&
		   !ctx->live[ctx->nlive - 1].future && !ctx->live[ctx->nlive - 1].cancel_of) {
		/* the command issue() just sent: it learns its event later */
		ctx->live[ctx->nlive - 1].future = f;
	}
	resolve_from_history(ctx, f);
	*out = f;
	return 0;
}

/* The optional parts of a command: each returns < 0 when memory ran out
 * (json_object_set_new's refusal of a NULL value), so that the command is
 * dropped whole (-ENOMEM, the task retried) rather than sent without a
 * timeout or with half its retry policy (a maximum_attempts left out is
 * retries without end). */
static int put_duration(json_t *o, const char *key, double seconds)
{
	return seconds > 0 ? json_object_set_new(o, key, json_real(seconds)) : 0;
}

static json_t *retry_policy_json(const durable_retry_policy_t *r)
{
	json_t *o = json_object();
	if (!o || put_duration(o, "initial_interval", r->initial_interval) < 0 ||
	    (r->backoff_coefficient > 0 &&
	     json_object_set_new(o, "backoff_coefficient", json_real(r->backoff_coefficient)) < 0) ||
	    put_duration(o, "maximum_interval", r->maximum_interval) < 0 ||
	    (r->maximum_attempts > 0 &&
	     json_object_set_new(o, "maximum_attempts", json_integer(r->maximum_attempts)) < 0))
		goto fail;
	if (r->non_retryable_error_types) {
		json_t *a = json_array();
		if (json_object_set_new(o, "non_retryable_error_types", a) < 0)
			goto fail;
		for (size_t i = 0; r->non_retryable_error_types[i]; i++)
			if (json_array_append_new(a, json_string(r->non_retryable_error_types[i])) < 0)
				goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* Priority and fairness (api/41_priority.sql): what is 0 or NULL is left
 * out, and the store takes the workflow's. */
static int priority_valid(int priority, double weight)
{
	return priority >= 0 && priority <= 5 && (weight == 0 || (weight >= 0.001 && weight <= 1000));
}

static int put_priority(json_t *cmd, int priority, const char *fairness_key, double weight)
{
	if (priority > 0 && json_object_set_new(cmd, "priority", json_integer(priority)) < 0)
		return -1;
	if (fairness_key && json_object_set_new(cmd, "fairness_key", json_string(fairness_key)) < 0)
		return -1;
	return weight > 0 ? json_object_set_new(cmd, "fairness_weight", json_real(weight)) : 0;
}

/* snprintf's "%u" of v at out (room for 3 * sizeof(unsigned) + 1 bytes), without snprintf:
 * every replay starts every activity and timer again, and names each. */
static void put_uint(char *out, unsigned v)
{
	char digits[3 * sizeof(unsigned)], *d = digits + sizeof(digits);
	do
		*--d = (char)('0' + v % 10);
	while (v /= 10);
	size_t n = (size_t)(digits + sizeof(digits) - d);
	memcpy(out, d, n);
	out[n] = '\0';
}

/* Whether json_string (and json_pack's "s") would take s: a replayed start
 * is not built, so what building it refused (out of memory, as the
 * first run saw it) is refused here the same way. */
static int string_ok(const char *s)
{
	return s && durable__utf8_ok(s, strlen(s));
}

int durable_activity_start(durable_ctx_t *ctx, const char *type, json_t *input,
			   const durable_activity_options_t *opts, durable_future_t **f)
{
	static const durable_activity_options_t defaults = {.start_to_close_timeout = 300};
	char id[32];
	if (ctx->stopped)
		return ctx->stopped;
	if (!opts)
		opts = &defaults;
	if ((unsigned)opts->cancellation_type > DURABLE_CANCEL_ABANDON
	    || !priority_valid(opts->priority, opts->fairness_weight))
		return -EINVAL;
	put_uint(id, ctx->seq + 1);
	/* A replayed start is matched with its event by type and id, and its
	 * command is never sent: not built. A new one holds a copy of the
	 * input made here, and is sent as it is. */
	int64_t ev;
	if (durable__replaying(ctx)) {
		if (!string_ok(type))
			return -ENOMEM;
		match_t m = {"ScheduleActivityTask", type, "ActivityTaskScheduled", {"activity_type", "activity_id"},
			     {type, id}};
		ev = issue_replayed(ctx, &m);
	} else {
		/* built key by key: json_pack reads its format again at every call */
		json_t *cmd = json_object();
		if (cmd && (json_object_set_new(cmd, "type", json_string("ScheduleActivityTask")) < 0 ||
			    json_object_set_new(cmd, "activity_id", json_string(id)) < 0 ||
			    json_object_set_new(cmd, "activity_type", json_string(type)) < 0 ||
			    json_object_set_new(cmd, "input", input ? json_deep_copy(input) : json_null()) < 0)) {
			json_decref(cmd);
			cmd = NULL;
		}
		if (cmd && ((opts->task_queue &&
			     json_object_set_new(cmd, "task_queue", json_string(opts->task_queue)) < 0) ||
			    put_duration(cmd, "schedule_to_close_timeout", opts->schedule_to_close_timeout) < 0 ||
			    put_duration(cmd, "schedule_to_start_timeout", opts->schedule_to_start_timeout) < 0 ||
			    put_duration(cmd, "start_to_close_timeout",
					 opts->start_to_close_timeout > 0 || opts->schedule_to_close_timeout > 0
						 ? opts->start_to_close_timeout : 300) < 0 ||
			    put_duration(cmd, "heartbeat_timeout", opts->heartbeat_timeout) < 0 ||
			    json_object_set_new(cmd, "retry_policy", retry_policy_json(&opts->retry)) < 0 ||
			    put_priority(cmd, opts->priority, opts->fairness_key, opts->fairness_weight) < 0)) {
			json_decref(cmd);
			cmd = NULL;
		}
		ev = issue_cmd(ctx, cmd, "ActivityTaskScheduled", "activity_type", "activity_id", 0);
	}
	if (ev < 0)
		return (int)ev;
	int rc = new_future(ctx, F_ACTIVITY, id, ev, f);
	if (rc == 0)
		(*f)->cancel_type = opts->cancellation_type ? opts->cancellation_type : DURABLE_CANCEL_TRY_CANCEL;
	return rc;
}

int durable_timer_start(durable_ctx_t *ctx, double seconds, durable_future_t **f)
{
	char id[32];
	if (ctx->stopped)
		return ctx->stopped;
	if (!(seconds > 0))
		return -EINVAL;
	id[0] = 't';
	put_uint(id + 1, ctx->seq + 1);
	int64_t ev;
	if (durable__replaying(ctx)) {
		match_t m = {"StartTimer", id, "TimerStarted", {"timer_id", NULL}, {id, NULL}};
		ev = issue_replayed(ctx, &m);
	} else {
		json_t *cmd = json_pack("{s:s, s:s, s:f}", "type", "StartTimer", "timer_id", id,
					"start_to_fire_timeout", seconds);
		ev = issue(ctx, cmd, "TimerStarted", "timer_id", NULL);
	}
	if (ev < 0)
		return (int)ev;
	return new_future(ctx, F_TIMER, id, ev, f);
}

int durable_child_start(durable_ctx_t *ctx, const char *type, json_t *input,
			const durable_child_options_t *opts, durable_future_t **f)
{
	char id[128];
	if (ctx->stopped)
		return ctx->stopped;
	durable_cancellation_type_t ct = opts ? opts->cancellation_type : DURABLE_CANCEL_DEFAULT;
	if ((unsigned)ct > DURABLE_CANCEL_WAIT_CANCELLATION_REQUESTED ||
	    (opts && !priority_valid(opts->priority, opts->fairness_weight)))
		return -EINVAL;
	if (opts && opts->workflow_id)
		snprintf(id, sizeof(id), "%s", opts->workflow_id);
	else
		snprintf(id, sizeof(id), "%.100s-child-%u", ctx->task->workflow_id, ctx->seq + 1);
	int64_t ev;
	if (durable__replaying(ctx)) {
		if (!string_ok(type) || !string_ok(id))
			return -ENOMEM;
		match_t m = {"StartChildWorkflowExecution", type, "StartChildWorkflowExecutionInitiated",
			     {"workflow_type", "workflow_id"}, {type, id}};
		ev = issue_replayed(ctx, &m);
	} else {
		json_t *cmd = json_pack("{s:s, s:s, s:s, s:O}", "type", "StartChildWorkflowExecution", "workflow_id",
					id, "workflow_type", type, "input", input ? input : json_null());
		if (cmd && opts &&
		    ((opts->task_queue && json_object_set_new(cmd, "task_queue", json_string(opts->task_queue)) < 0) ||
		     (opts->parent_close_policy &&
		      json_object_set_new(cmd, "parent_close_policy", json_string(opts->parent_close_policy)) < 0) ||
		     put_duration(cmd, "workflow_execution_timeout", opts->execution_timeout) < 0 ||
		     put_priority(cmd, opts->priority, opts->fairness_key, opts->fairness_weight) < 0 ||
		     (opts->retry_policy &&
		      json_object_set_new(cmd, "retry_policy", retry_policy_json(opts->retry_policy)) < 0))) {
			json_decref(cmd);
			cmd = NULL;
		}
		ev = issue(ctx, cmd, "StartChildWorkflowExecutionInitiated", "workflow_type", "workflow_id");
	}
	if (ev < 0)
		return (int)ev;
	int rc = new_future(ctx, F_CHILD, id, ev, f);
	if (rc == 0)
		(*f)->cancel_type = ct ? ct : DURABLE_CANCEL_WAIT_CANCELLATION_COMPLETED;
	return rc;
}

/* JSON the context owns ------------------------------------------------- */

/* Stops the run with err (-EINVAL, -ENOMEM): every further call returns it. */
static void json_trouble(durable_ctx_t *ctx, int err, const char *what)
{
	durable__log("ERROR", "workflow %s: %s", ctx->task->workflow_id, what);
	if (!ctx->stopped || ctx->stopped == DURABLE_BLOCKED)
		ctx->stopped = err;
}

json_t *durable_keep(durable_ctx_t *ctx, json_t *value)
{
	const char *why;
	if (durable__pool_add(&ctx->pool, value, &why) < 0) {
		json_trouble(ctx, -ENOMEM, why);
		return NULL;
	}
	if (ctx->run)   /* a kept run's pool lives on: run.c bounds it */
		ctx->pool_bytes += durable__json_bytes(value);
	return value;
}

json_t *durable_json(durable_ctx_t *ctx, const char *fmt, ...)
{
	char why[300];
	int oom;
	va_list ap;
	va_start(ap, fmt);
	json_t *v = durable__vpack("durable_json", fmt, ap, why, sizeof(why), &oom);
	va_end(ap);
	if (!v) {
		json_trouble(ctx, oom ? -ENOMEM : -EINVAL, why);
		return NULL;
	}
	return durable_keep(ctx, v);
}

const char *durable_child_id(durable_ctx_t *ctx, const char *fmt, ...)
{
	char suffix[256], id[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(suffix, sizeof(suffix), fmt, ap);
	va_end(ap);
	snprintf(id, sizeof(id), "%s-%s", ctx->task->workflow_id, suffix);
	json_t *s = json_string(id);
	if (!s || json_array_append_new(ctx->pool, s) < 0) {
		if (!ctx->stopped)
			ctx->stopped = -ENOMEM;
		return NULL;
	}
	return json_string_value(s);
}

static size_t next_for(durable_ctx_t *ctx, durable_future_t *f);

/* A wait the history does not satisfy at this horizon: a replay goes on
 * at the next one. At the last one, a kept run stops until its next task
 * grows the history, then goes on at the next horizon (or, after a round
 * of local activities, looks again at this one); a replay's task ends
 * here (-1). */
static int next_horizon(durable_ctx_t *ctx)
{
	if (!durable__replaying(ctx)) {
		int rc = durable__run_suspend(ctx);
		if (rc < 0) {
			ctx->stopped = DURABLE_BLOCKED;
			return -1;
		}
		if (rc > 0)
			return 0;
	}
	ctx->cur++;
	return 0;
}

/* Resolved as of the current horizon. A signal (update) future resolves
 * with the next visible signal (accepted update) of its name that nobody
 * took yet. */
static int visible(durable_ctx_t *ctx, durable_future_t *f)
{
	if ((f->kind == F_SIGNAL || f->kind == F_UPDATE) && !f->taken) {
		size_t i = next_for(ctx, f);
		json_t *attrs = i < ctx->nsignals ? durable__attrs(durable__event(ctx, ctx->signals[i])) : NULL;
		f->resolve_event_id = i < ctx->nsignals ? ctx->signals[i] : INT64_MAX;
		f->result = f->kind == F_UPDATE ? attrs : json_object_get(attrs, "input");
	}
	return f->resolve_event_id < horizon_limit(ctx);
}

/* A wait returned f: a signal future now owns its signal. */
static void take(durable_ctx_t *ctx, durable_future_t *f)
{
	if ((f->kind != F_SIGNAL && f->kind != F_UPDATE) || f->taken || !visible(ctx, f))
		return;
	size_t i = next_for(ctx, f);
	if (i < ctx->nsignals)
		ctx->signal_used[i] = 1;
	f->taken = 1;
}

/* What a wait or a test sees of f: a local activity a kept run asked for
 * has its outcome first (a replay has it from the call that started it). */
static int observe(durable_ctx_t *ctx, durable_future_t *f)
{
	if (f->kind == F_LOCAL && f->resolve_event_id == INT64_MAX)
		durable__local_awaited(ctx, f);
	return visible(ctx, f);
}

int durable_future_is_ready(durable_ctx_t *ctx, durable_future_t *f)
{
	return observe(ctx, f);
}

static int cancel_visible(durable_ctx_t *ctx, int64_t before)
{
	return ctx->cancel_event_id && !ctx->cancel_delivered && !ctx->cancel_shield &&
	       ctx->cancel_event_id < horizon_limit(ctx) && ctx->cancel_event_id < before;
}

/* A cancel request was sent for f and its cancellation type waits for the
 * activity or child to end, which has not happened yet. */
static int settling(durable_ctx_t *ctx, durable_future_t *f)
{
	return f && f->cancel_sent && !visible(ctx, f) &&
	       (f->cancel_type == DURABLE_CANCEL_WAIT_CANCELLATION_COMPLETED ||
		f->cancel_type == DURABLE_CANCEL_WAIT_CANCELLATION_REQUESTED);
}

/* The workflow's cancellation reached a wait: what it waited for (fs) is
 * canceled too, each as its cancellation type says, and the wait returns
 * once those that wait for cancellation to complete have ended. */
static int deliver_cancel(durable_ctx_t *ctx, durable_future_t *const *fs, size_t n)
{
	ctx->cancel_delivered = 1;
	durable__set_failure(ctx, make_failure("CanceledError", "workflow cancellation requested"));
	for (size_t i = 0; i < n; i++)
		if (fs[i] && !visible(ctx, fs[i]))
			durable_future_cancel(ctx, fs[i]);
	for (;;) {
		if (ctx->stopped)
			return ctx->stopped;
		size_t i = 0;
		while (i < n && !settling(ctx, fs[i]))
			i++;
		if (i == n)
			return DURABLE_ECANCELED;
		if (next_horizon(ctx) < 0)
			return DURABLE_BLOCKED;
	}
}

/* Waits for the earliest of fs (by the event that resolved it), or for the
 * workflow's cancellation if that came first; the cancellation then cancels
 * scope (the futures the caller waits for, fs or more). */
static int wait_first(durable_ctx_t *ctx, durable_future_t *const *fs, size_t n, size_t *which,
		      durable_future_t *const *scope, size_t nscope)
{
	for (;;) {
		if (ctx->stopped)
			return ctx->stopped;
		int drc = durable__local_drive(ctx, fs, n);
		if (drc < 0)
			return drc;
		int64_t best = INT64_MAX;
		size_t bi = n;
		for (size_t i = 0; i < n; i++)
			if (fs[i] && observe(ctx, fs[i]) && fs[i]->resolve_event_id < best) {
				best = fs[i]->resolve_event_id;
				bi = i;
			}
		if (cancel_visible(ctx, best))
			return deliver_cancel(ctx, scope, nscope);
		if (bi < n) {
			take(ctx, fs[bi]);
			*which = bi;
			return 0;
		}
		if (next_horizon(ctx) < 0)
			return DURABLE_BLOCKED;
	}
}

static int future_outcome(durable_ctx_t *ctx, durable_future_t *f, json_t **result)
{
	if (result)
		*result = f->result;
	if (f->status != 0)
		durable__set_failure(ctx, json_incref(f->failure));
	return f->status;
}

int durable_future_get(durable_ctx_t *ctx, durable_future_t *f, json_t **result)
{
	size_t which;
	if (result)
		*result = NULL;
	if (!f)
		return -EINVAL;
	int rc = wait_first(ctx, &f, 1, &which, &f, 1);
	return rc < 0 ? rc : future_outcome(ctx, f, result);
}

int durable_wait_all(durable_ctx_t *ctx, durable_future_t *const *fs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t which;
		if (!fs[i])
			continue;
		int rc = wait_first(ctx, &fs[i], 1, &which, fs, n);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int durable_wait_any(durable_ctx_t *ctx, durable_future_t *const *fs, size_t n, size_t *index)
{
	size_t which = 0;
	if (n == 0 || !fs)
		return -EINVAL;   /* would wait forever */
	int rc = wait_first(ctx, fs, n, &which, fs, n);
	if (rc < 0)
		return rc;
	if (index)
		*index = which;
	return 0;
}

/* Asks the activity or child of f to cancel, once. A child's request is
 * a command matched by position; an activity's is not (the store writes no
 * event when the activity already ended). */
static int request_cancel(durable_ctx_t *ctx, durable_future_t *f)
{
	if (f->cancel_sent)
		return 0;
	f->cancel_sent = 1;
	if (f->kind == F_CHILD) {
		/* its future resolves by what comes first, the child told or
		 * its end (resolve_when_told): a kept run learns the request's
		 * event with the next task (durable__ctx_extend) */
		json_t *cmd = json_pack("{s:s, s:s, s:b}", "type", "RequestCancelExternalWorkflowExecution",
					"workflow_id", f->id, "child_workflow_only", 1);
		int64_t ev = issue(ctx, cmd, "RequestCancelExternalWorkflowExecutionInitiated", "workflow_id", NULL);
		if (ev < 0)
			return (int)ev;
		f->cancel_event_id = ev;
		if (ev > 0)
			ctx->future_of[ev] = f;
		else
			ctx->live[ctx->nlive - 1].cancel_of = f;
		return 0;
	}
	if (f->cmd_event_id > 0)
		return send_unmatched(ctx, json_pack("{s:s, s:I}", "type", "RequestCancelActivityTask",
						     "scheduled_event_id", (json_int_t)f->cmd_event_id));
	/* scheduled by this same task: the store finds it by its activity id */
	return send_unmatched(ctx, json_pack("{s:s, s:s}", "type", "RequestCancelActivityTask", "activity_id", f->id));
}

/* f resolves canceled, visible from event_id on (0: at once); the pool
 * keeps its failure alive. */
static void resolve_canceled(durable_ctx_t *ctx, durable_future_t *f, int64_t event_id, const char *message)
{
	json_t *fl = make_failure("CanceledError", message);
	f->resolve_event_id = event_id;
	f->status = DURABLE_ECANCELED;
	f->result = NULL;
	f->failure = fl && json_array_append_new(ctx->pool, fl) == 0 ? fl : NULL;
}

/* WAIT_CANCELLATION_REQUESTED: the child future resolves canceled at the
 * event that says the child was told, unless its own outcome came first
 * (then the request failed: the child was no longer running). */
static void resolve_when_told(durable_ctx_t *ctx, durable_future_t *f)
{
	int64_t oid = f->cancel_event_id > 0 ? ctx->outcome[f->cancel_event_id] : 0;
	json_t *ev = oid ? durable__event(ctx, oid) : NULL;
	if (!ev || oid > f->resolve_event_id ||
	    strcmp(durable__event_type(ev), "ExternalWorkflowExecutionCancelRequested") != 0)
		return;
	resolve_canceled(ctx, f, oid, "the child was asked to cancel");
}

int durable_future_cancel(durable_ctx_t *ctx, durable_future_t *f)
{
	if (ctx->stopped)
		return ctx->stopped;
	if (!f)
		return -EINVAL;
	if (visible(ctx, f))
		return 0;
	int rc = 0;
	if (f->kind == F_TIMER) {
		rc = send_unmatched(ctx, json_pack("{s:s, s:s}", "type", "CancelTimer", "timer_id", f->id));
	} else if ((f->kind == F_ACTIVITY || f->kind == F_CHILD) && f->cancel_type != DURABLE_CANCEL_ABANDON) {
		rc = request_cancel(ctx, f);
		if (rc == 0 && f->cancel_type == DURABLE_CANCEL_WAIT_CANCELLATION_REQUESTED)
			resolve_when_told(ctx, f);
		if (rc == 0 && f->cancel_type != DURABLE_CANCEL_TRY_CANCEL)
			return 0;   /* it resolves with what the activity or child does */
	} else if (f->kind == F_LOCAL) {
		rc = durable__local_cancel(ctx, f);
	}
	f->taken = 1;   /* a canceled signal future takes no signal */
	if (rc < 0)
		return rc;
	resolve_canceled(ctx, f, 0, "canceled by the workflow");
	return 0;
}

int durable_activity(durable_ctx_t *ctx, const char *type, json_t *input,
		     const durable_activity_options_t *opts, json_t **result)
{
	durable_future_t *f;
	if (result)
		*result = NULL;
	DURABLE_TRY(durable_activity_start(ctx, type, input, opts, &f));
	return durable_future_get(ctx, f, result);
}

int durable_sleep(durable_ctx_t *ctx, double seconds)
{
	durable_future_t *f;
	if (ctx->stopped)
		return ctx->stopped;
	if (!(seconds > 0))
		return 0;
	DURABLE_TRY(durable_timer_start(ctx, seconds, &f));
	return durable_future_get(ctx, f, NULL);
}

int durable_child(durable_ctx_t *ctx, const char *type, json_t *input,
		  const durable_child_options_t *opts, json_t **result)
{
	durable_future_t *f;
	if (result)
		*result = NULL;
	DURABLE_TRY(durable_child_start(ctx, type, input, opts, &f));
	return durable_future_get(ctx, f, result);
}

/* Signals and updates -------------------------------------------------- */

/* Both are deliveries: events the workflow takes by name, in arrival order. */
typedef struct {
	const char *event_type, *name_key, *what;
} delivery_t;

static const delivery_t SIGNAL = {"WorkflowExecutionSignaled", "signal_name", "a signal"};
static const delivery_t UPDATE = {"WorkflowExecutionUpdateAccepted", "update_name", "an update"};

static size_t next_delivery(durable_ctx_t *ctx, const delivery_t *d, const char *name)
{
	for (size_t i = 0; i < ctx->nsignals; i++) {
		if (ctx->signal_used[i] || ctx->signals[i] >= horizon_limit(ctx))
			continue;
		json_t *ev = durable__event(ctx, ctx->signals[i]);
		if (strcmp(durable__event_type(ev), d->event_type) == 0 &&
		    strcmp(durable__attr_str(ev, d->name_key), name) == 0)
			return i;
	}
	return ctx->nsignals;
}

static size_t next_for(durable_ctx_t *ctx, durable_future_t *f)
{
	return next_delivery(ctx, f->kind == F_UPDATE ? &UPDATE : &SIGNAL, f->id);
}

/* Marks delivery i taken; *attrs (if asked) are its event's attributes. */
static int take_delivery(durable_ctx_t *ctx, size_t i, json_t **attrs)
{
	ctx->signal_used[i] = 1;
	if (attrs)
		*attrs = durable__attrs(durable__event(ctx, ctx->signals[i]));
	return 0;
}

static int delivery_future(durable_ctx_t *ctx, int kind, const char *name, durable_future_t **f)
{
	if (ctx->stopped)
		return ctx->stopped;
	if (!name || strlen(name) >= sizeof(((durable_future_t *)0)->id))
		return -EINVAL;
	return new_future(ctx, kind, name, 0, f);
}

static int receive_delivery(durable_ctx_t *ctx, const delivery_t *d, const char *name, json_t **attrs)
{
	*attrs = NULL;
	if (ctx->stopped)
		return ctx->stopped;
	size_t i = next_delivery(ctx, d, name);
	return i < ctx->nsignals ? take_delivery(ctx, i, attrs) : DURABLE_EAGAIN;
}

static int await_delivery(durable_ctx_t *ctx, const delivery_t *d, const char *name, double timeout, json_t **attrs)
{
	durable_future_t *timer = NULL;
	char msg[64];
	*attrs = NULL;
	if (ctx->stopped)
		return ctx->stopped;
	size_t i = next_delivery(ctx, d, name);
	if (i < ctx->nsignals)
		return take_delivery(ctx, i, attrs);
	if (timeout >= 0)
		DURABLE_TRY(timeout > 0 ? durable_timer_start(ctx, timeout, &timer) : DURABLE_ETIMEDOUT);
	for (;;) {
		i = next_delivery(ctx, d, name);
		int64_t sig = i < ctx->nsignals ? ctx->signals[i] : INT64_MAX;
		int64_t tim = timer && visible(ctx, timer) ? timer->resolve_event_id : INT64_MAX;
		int64_t first = sig < tim ? sig : tim;
		if (cancel_visible(ctx, first))
			return deliver_cancel(ctx, &timer, 1);
		if (sig < tim) {
			if (timer)
				DURABLE_TRY(durable_future_cancel(ctx, timer));
			return take_delivery(ctx, i, attrs);
		}
		if (tim != INT64_MAX) {
			snprintf(msg, sizeof(msg), "timed out waiting for %s", d->what);
			durable__set_failure(ctx, make_failure("TimeoutError", msg));
			return DURABLE_ETIMEDOUT;
		}
		if (next_horizon(ctx) < 0)
			return DURABLE_BLOCKED;
	}
}

int durable_signal_future(durable_ctx_t *ctx, const char *name, durable_future_t **f)
{
	return delivery_future(ctx, F_SIGNAL, name, f);
}

int durable_signal_receive(durable_ctx_t *ctx, const char *name, json_t **payload)
{
	json_t *attrs;
	int rc = receive_delivery(ctx, &SIGNAL, name, &attrs);
	if (payload)
		*payload = json_object_get(attrs, "input");
	return rc;
}

int durable_await_signal(durable_ctx_t *ctx, const char *name, double timeout, json_t **payload)
{
	json_t *attrs;
	int rc = await_delivery(ctx, &SIGNAL, name, timeout, &attrs);
	if (payload)
		*payload = json_object_get(attrs, "input");
	return rc;
}

int durable_update_future(durable_ctx_t *ctx, const char *name, durable_future_t **f)
{
	return delivery_future(ctx, F_UPDATE, name, f);
}

static void update_out(json_t *attrs, const char **update_id, json_t **args)
{
	if (update_id)
		*update_id = json_string_value(json_object_get(attrs, "update_id"));
	if (args)
		*args = json_object_get(attrs, "input");
}

int durable_update_receive(durable_ctx_t *ctx, const char *name, const char **update_id, json_t **args)
{
	json_t *attrs;
	int rc = receive_delivery(ctx, &UPDATE, name, &attrs);
	update_out(attrs, update_id, args);
	return rc;
}

int durable_await_update(durable_ctx_t *ctx, const char *name, double timeout, const char **update_id,
			 json_t **args)
{
	json_t *attrs;
	int rc = await_delivery(ctx, &UPDATE, name, timeout, &attrs);
	update_out(attrs, update_id, args);
	return rc;
}

/* CompleteWorkflowUpdate: matched by position and update id on replay.
 * value is borrowed. */
static int finish_update(durable_ctx_t *ctx, const char *update_id, const char *key, json_t *value)
{
	if (!update_id)
		return -EINVAL;
	json_t *cmd = json_pack("{s:s, s:s, s:O}", "type", "CompleteWorkflowUpdate", "update_id", update_id, key,
				value ? value : json_null());
	int64_t ev = issue(ctx, cmd, "WorkflowExecutionUpdateCompleted", "update_id", NULL);
	return ev < 0 ? (int)ev : 0;
}

int durable_complete_update(durable_ctx_t *ctx, const char *update_id, json_t *result)
{
	return finish_update(ctx, update_id, "result", result);
}

int durable_fail_update(durable_ctx_t *ctx, const char *update_id, const char *type, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *failure = make_failure(type ? type : "UpdateError", msg);
	int rc = failure ? finish_update(ctx, update_id, "failure", failure) : -ENOMEM;
	json_decref(failure);
	return rc;
}

/* Signals and cancel requests to other workflows ----------------------- */

/* The store writes the outcome (...Signaled/...CancelRequested, or ...Failed)
 * with the command, so it is visible from the next workflow task on. */
static int external_start(durable_ctx_t *ctx, json_t *cmd, const char *event_type, const char *key2,
			  const char *workflow_id, durable_future_t **f)
{
	int64_t ev = issue(ctx, cmd, event_type, "workflow_id", key2);
	if (ev < 0)
		return (int)ev;
	return new_future(ctx, F_EXTERNAL, workflow_id, ev, f);
}

/* Waits for the outcome. Code built before these calls waited went on in
 * the same task: replaying a history it wrote (its next command recorded
 * by the same task), the call returns 0 as it did then. */
static int external_wait(durable_ctx_t *ctx, durable_future_t *f)
{
	if (durable__replaying(ctx) && !visible(ctx, f) && ctx->cmd_next < ctx->ncmd &&
	    durable__attr_int(durable__event(ctx, ctx->cmd_events[ctx->cmd_next]), "workflow_task_completed_event_id") ==
		    ctx->hz[ctx->cur].completed_event_id)
		return 0;
	return durable_future_get(ctx, f, NULL);
}

int durable_signal_external_start(durable_ctx_t *ctx, const char *workflow_id, const char *name, json_t *input,
				  durable_future_t **f)
{
	if (!workflow_id || !name)
		return -EINVAL;
	json_t *cmd = json_pack("{s:s, s:s, s:s, s:O}", "type", "SignalExternalWorkflowExecution",
				"workflow_id", workflow_id, "signal_name", name, "input", input ? input : json_null());
	return external_start(ctx, cmd, "SignalExternalWorkflowExecutionInitiated", "signal_name", workflow_id, f);
}

int durable_signal_external(durable_ctx_t *ctx, const char *workflow_id, const char *name, json_t *input)
{
	durable_future_t *f;
	DURABLE_TRY(durable_signal_external_start(ctx, workflow_id, name, input, &f));
	return external_wait(ctx, f);
}

int durable_cancel_external_start(durable_ctx_t *ctx, const char *workflow_id, durable_future_t **f)
{
	if (!workflow_id)
		return -EINVAL;
	json_t *cmd = json_pack("{s:s, s:s}", "type", "RequestCancelExternalWorkflowExecution",
				"workflow_id", workflow_id);
	return external_start(ctx, cmd, "RequestCancelExternalWorkflowExecutionInitiated", NULL, workflow_id, f);
}

int durable_cancel_external(durable_ctx_t *ctx, const char *workflow_id)
{
	durable_future_t *f;
	DURABLE_TRY(durable_cancel_external_start(ctx, workflow_id, &f));
	return external_wait(ctx, f);
}

int durable_cancel_requested(durable_ctx_t *ctx)
{
	return ctx->cancel_event_id && ctx->cancel_event_id < horizon_limit(ctx);
}

/* Run facts, time, randomness ----------------------------------------- */

const char *durable_workflow_id(durable_ctx_t *ctx) { return ctx->task->workflow_id; }
const char *durable_run_id(durable_ctx_t *ctx) { return ctx->task->run_id; }
const char *durable_workflow_type(durable_ctx_t *ctx) { return ctx->task->workflow_type; }

int durable_workflow_attempt(durable_ctx_t *ctx)
{
	/* runs started before 0.2 have no attempt: they are first runs */
	json_t *attempt = json_object_get(durable__started_attrs(ctx), "attempt");
	return json_is_integer(attempt) ? (int)json_integer_value(attempt) : 1;
}

int64_t durable_now(durable_ctx_t *ctx)
{
	return ctx->hz[ctx->cur].time_ms;
}

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t durable_random(durable_ctx_t *ctx)
{
	/* splitmix64: tiny, and the same sequence on every replay */
	return mix64(ctx->rng += 0x9e3779b97f4a7c15ULL);
}

void durable_uuid(durable_ctx_t *ctx, char out[37])
{
	uint64_t hi = durable_random(ctx), lo = durable_random(ctx);
	hi = (hi & ~0xf000ULL) | 0x4000ULL;                       /* version 4 */
	lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; /* variant 1 */
	snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(hi >> 32), (unsigned)(hi >> 16) & 0xffff,
		 (unsigned)hi & 0xffff, (unsigned)(lo >> 48), (unsigned long long)(lo & 0xffffffffffffULL));
}

/* Failures, continue-as-new ------------------------------------------- */

json_t *durable_failure(durable_ctx_t *ctx)
{
	return ctx->failure;
}

int durable_fail(durable_ctx_t *ctx, const char *type, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	durable__set_failure(ctx, make_failure(type ? type : "WorkflowError", msg));
	return DURABLE_EFAILED;
}

int durable_continue_as_new(durable_ctx_t *ctx, json_t *input)
{
	if (ctx->stopped)
		return ctx->stopped;
	json_t *copy = input ? json_deep_copy(input) : json_null();
	if (!copy)
		return -ENOMEM;
	json_decref(ctx->continue_input);
	ctx->continue_input = copy;
	return DURABLE_ECONTINUED;
}

/* Markers: side effects and versions ----------------------------------- */

int durable_side_effect(durable_ctx_t *ctx, durable_side_effect_fn fn, void *arg, json_t **result)
{
	*result = NULL;
	if (ctx->stopped)
		return ctx->stopped;
	ctx->side_effects++;
	if (durable__replaying(ctx)) {
		json_t *cmd = json_pack("{s:s, s:s}", "type", "RecordMarker", "marker_name", "SideEffect");
		int64_t ev = issue(ctx, cmd, "MarkerRecorded", "marker_name", NULL);
		if (ev < 0)
			return (int)ev;
		*result = json_object_get(json_object_get(durable__attrs(durable__event(ctx, ev)), "details"), "value");
		return 0;
	}
	/* what fn draws from durable_random() is not drawn again when a later
	 * task replays this (the marker answers): the sequence goes on as if
	 * fn had not drawn, in this task and in every later one. fn draws from
	 * a stream of its own, seeded by the sequence's state and the side
	 * effect's position, so it does not repeat what the workflow draws next. */
	uint64_t rng = ctx->rng;
	ctx->rng = mix64(rng ^ mix64(0x5eedull + ctx->side_effects));
	json_t *value = fn(ctx, arg);
	ctx->rng = rng;
	if (ctx->stopped)
		return ctx->stopped;
	/* the code sees the value as the store gives it back to a replay (jsonb
	 * orders an object's keys): a kept run, a live task and a replay decide
	 * alike */
	json_t *stored = durable__jsonb_order(value ? value : json_null());   /* value is borrowed */
	if (!stored)
		return -ENOMEM;
	json_t *cmd = json_pack("{s:s, s:s, s:{s:o}}", "type", "RecordMarker", "marker_name", "SideEffect",
				"details", "value", stored);
	int64_t ev = issue(ctx, cmd, "MarkerRecorded", "marker_name", NULL);
	if (ev < 0)
		return (int)ev;
	*result = json_object_get(json_object_get(json_array_get(ctx->commands, json_array_size(ctx->commands) - 1),
						  "details"), "value");
	return 0;
}

static int recorded_version(durable_ctx_t *ctx, const char *change_id, int *version)
{
	for (int64_t id = 1; id <= ctx->max_event_id; id++) {
		json_t *ev = ctx->by_id[id];
		if (!ev || strcmp(durable__event_type(ev), "MarkerRecorded") != 0 ||
		    strcmp(durable__attr_str(ev, "marker_name"), "Version") != 0)
			continue;
		json_t *d = json_object_get(durable__attrs(ev), "details");
		const char *id_ = json_string_value(json_object_get(d, "change_id"));
		if (id_ && strcmp(id_, change_id) == 0) {
			*version = (int)json_integer_value(json_object_get(d, "version"));
			return 1;
		}
	}
	return 0;
}

int durable_get_version(durable_ctx_t *ctx, const char *change_id, int min_supported, int max_supported,
			int *version)
{
	if (ctx->stopped)
		return ctx->stopped;
	json_t *known = json_object_get(ctx->versions, change_id);
	int v;
	if (known) {
		v = (int)json_integer_value(known);
	} else if (recorded_version(ctx, change_id, &v)) {
		/* recorded by an earlier task */
	} else if (durable__replaying(ctx)) {
		v = DURABLE_DEFAULT_VERSION;      /* this code ran before the change */
	} else {
		v = max_supported;
		json_t *cmd = json_pack("{s:s, s:s, s:{s:s, s:i}}", "type", "RecordMarker", "marker_name", "Version",
					"details", "change_id", change_id, "version", v);
		if (!cmd || json_array_append_new(ctx->commands, cmd) < 0)
			return -ENOMEM;
	}
	if (v < min_supported || v > max_supported)
		return nondet(ctx, "version %d of change \"%s\" is outside what this code supports (%d to %d)", v,
			      change_id, min_supported, max_supported);
	json_object_set_new(ctx->versions, change_id, json_integer(v));
	*version = v;
	return 0;
}

int durable_upsert_search_attributes(durable_ctx_t *ctx, json_t *attrs)
{
	json_t *cmd = attrs ? json_pack("{s:s, s:O}", "type", "UpsertWorkflowSearchAttributes", "search_attributes",
					attrs)
			    : json_pack("{s:s, s:{}}", "type", "UpsertWorkflowSearchAttributes", "search_attributes");
	int64_t ev = issue(ctx, cmd, "UpsertWorkflowSearchAttributes", NULL, NULL);
	return ev < 0 ? (int)ev : 0;
}

/* Queries, logging ------------------------------------------------------ */

static int set_handler(durable_ctx_t *ctx, const char *name, int is_update, durable_query_fn fn,
		       durable_update_validator_fn validate, json_t *state)
{
	durable__query_handler_t *q;
	for (q = ctx->queries; q; q = q->next)
		if (q->is_update == is_update && strcmp(q->name, name) == 0)
			break;
	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q || !(q->name = strdup(name))) {
			free(q);
			return -ENOMEM;
		}
		q->is_update = is_update;
		q->next = ctx->queries;
		ctx->queries = q;
	}
	json_incref(state);   /* before the decref: state may be the same value */
	json_decref(q->state);
	q->state = state ? state : json_null();
	q->fn = fn;
	q->validate = validate;
	return 0;
}

int durable_set_query_handler(durable_ctx_t *ctx, const char *name, durable_query_fn fn, json_t *state)
{
	return set_handler(ctx, name, 0, fn, NULL, state);
}

int durable_set_update_handler(durable_ctx_t *ctx, const char *name, durable_update_validator_fn validate,
			       json_t *state)
{
	if (!name)
		return -EINVAL;
	return set_handler(ctx, name, 1, NULL, validate, state);
}

int durable_set_query_value(durable_ctx_t *ctx, const char *name, json_t *value)
{
	return durable_set_query_handler(ctx, name, NULL, value);
}

void durable_log(durable_ctx_t *ctx, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	if (durable_is_replaying(ctx))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	durable__log("INFO", "workflow %s: %s", ctx->task->workflow_id, msg);
}

/* For workflow_local.c ------------------------------------------------- */

int64_t durable__issue(durable_ctx_t *ctx, json_t *cmd, const char *event_type, const char *key1, const char *key2)
{
	return issue(ctx, cmd, event_type, key1, key2);
}

int durable__new_future(durable_ctx_t *ctx, int kind, const char *id, int64_t event_id, durable_future_t **out)
{
	return new_future(ctx, kind, id, event_id, out);
}

json_t *durable__retry_policy_json(const durable_retry_policy_t *r)
{
	return retry_policy_json(r);
}

void durable__resolve(durable_ctx_t *ctx, durable_future_t *f)
{
	resolve_from_history(ctx, f);
}

void durable__resolve_told(durable_ctx_t *ctx, durable_future_t *f)
{
	if (f->cancel_type == DURABLE_CANCEL_WAIT_CANCELLATION_REQUESTED)
		resolve_when_told(ctx, f);
}

int durable__nondet(durable_ctx_t *ctx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return nondet(ctx, "%s", msg);
}
