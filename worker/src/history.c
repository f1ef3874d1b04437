/* Indexes a workflow history for replay: horizons, recorded commands in
 * order, each command's outcome, signals and the cancel request. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctx.h"

json_t *durable__attrs(json_t *ev)
{
	json_t *a = json_object_get(ev, "attributes");
	return json_is_object(a) ? a : NULL;
}

const char *durable__event_type(json_t *ev)
{
	const char *t = json_string_value(json_object_get(ev, "event_type"));
	return t ? t : "";
}

int64_t durable__attr_int(json_t *ev, const char *key)
{
	json_t *v = json_object_get(durable__attrs(ev), key);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

const char *durable__attr_str(json_t *ev, const char *key)
{
	const char *s = json_string_value(json_object_get(durable__attrs(ev), key));
	return s ? s : "";
}

json_t *durable__event(durable_ctx_t *ctx, int64_t event_id)
{
	if (event_id < 1 || event_id > ctx->max_event_id)
		return NULL;
	return ctx->by_id[event_id];
}

static int64_t event_id_of(json_t *ev)
{
	json_t *v = json_object_get(ev, "event_id");
	return json_is_integer(v) ? json_integer_value(v) : 0;
}

static int64_t event_time_of(json_t *ev)
{
	int64_t ms = 0;
	const char *s = json_string_value(json_object_get(ev, "event_time"));
	if (s)
		durable__parse_time(s, &ms);
	return ms;
}

/* Events a command of the workflow writes, in the order it issued them.
 * Cancel requests (RequestCancelActivityTask, CancelTimer) are left out:
 * the store writes no event for them when the target already finished, so
 * they cannot be matched by position; version markers are left out so that
 * adding durable_get_version() to running code stays compatible. */
static int is_command_event(json_t *ev, const char *t)
{
	static const char *const types[] = {
		"ActivityTaskScheduled", "TimerStarted", "StartChildWorkflowExecutionInitiated",
		"SignalExternalWorkflowExecutionInitiated",
		"RequestCancelExternalWorkflowExecutionInitiated", "MarkerRecorded",
		"UpsertWorkflowSearchAttributes", "WorkflowExecutionUpdateCompleted", NULL};
	/* the first letter first: an event then needs one strcmp here or none,
	 * not one per type (index_events runs for every event of every replay) */
	for (int i = 0; types[i]; i++)
		if (t[0] == types[i][0] && strcmp(t, types[i]) == 0)
			return strcmp(t, "MarkerRecorded") != 0 ||
			       strcmp(durable__attr_str(ev, "marker_name"), "Version") != 0;
	return 0;
}

/* The attribute naming the command an outcome event belongs to. */
static const char *outcome_key(const char *t)
{
	static const struct { const char *type, *key; } keys[] = {
		{"ActivityTaskCompleted", "scheduled_event_id"},
		{"ActivityTaskFailed", "scheduled_event_id"},
		{"ActivityTaskTimedOut", "scheduled_event_id"},
		{"ActivityTaskCanceled", "scheduled_event_id"},
		{"TimerFired", "started_event_id"},
		{"TimerCanceled", "started_event_id"},
		{"StartChildWorkflowExecutionFailed", "initiated_event_id"},
		{"ChildWorkflowExecutionCompleted", "initiated_event_id"},
		{"ChildWorkflowExecutionFailed", "initiated_event_id"},
		{"ChildWorkflowExecutionCanceled", "initiated_event_id"},
		{"ChildWorkflowExecutionTerminated", "initiated_event_id"},
		{"ChildWorkflowExecutionTimedOut", "initiated_event_id"},
		{"ExternalWorkflowExecutionSignaled", "initiated_event_id"},
		{"SignalExternalWorkflowExecutionFailed", "initiated_event_id"},
		{"ExternalWorkflowExecutionCancelRequested", "initiated_event_id"},
		{"RequestCancelExternalWorkflowExecutionFailed", "initiated_event_id"},
		{NULL, NULL}};
	for (int i = 0; keys[i].type; i++)
		if (t[0] == keys[i].type[0] && strcmp(t, keys[i].type) == 0)
			return keys[i].key;
	return NULL;
}

static void set_horizon(durable_ctx_t *ctx, durable__horizon_t *h, json_t *completed)
{
	int64_t started = durable__attr_int(completed, "started_event_id");
	json_t *sev = durable__event(ctx, started);
	h->started_event_id = started;
	h->completed_event_id = event_id_of(completed);
	h->time_ms = sev ? event_time_of(sev) : event_time_of(completed);
}

/* The current task's horizon (or, for a query, the end of the history). */
static void current_horizon(durable_ctx_t *ctx, int64_t started_event_id)
{
	durable__horizon_t *last = &ctx->hz[ctx->nhz++];
	json_t *sev = durable__event(ctx, started_event_id);
	size_t n = json_array_size(ctx->events);
	memset(last, 0, sizeof(*last));
	if (started_event_id > 0 && sev) {
		last->started_event_id = started_event_id;
		last->time_ms = event_time_of(sev);
	} else {
		last->started_event_id = ctx->max_event_id + 1;
		last->time_ms = n ? event_time_of(json_array_get(ctx->events, n - 1)) : 0;
	}
}

static int grow(void *p, size_t elem, size_t from, size_t to)
{
	void **a = p;
	if (to <= from && *a)
		return 0;
	void *q = realloc(*a, (to ? to : 1) * elem);
	if (!q)
		return -ENOMEM;
	memset((char *)q + from * elem, 0, (to - from) * elem);
	*a = q;
	return 0;
}

/* Makes room for the events up to index n (ids up to max_id): the arrays
 * by event id and those by event count. */
static int reserve(durable_ctx_t *ctx, size_t n, int64_t max_id)
{
	size_t had_ids = ctx->by_id ? (size_t)ctx->max_event_id + 1 : 0;
	size_t had = ctx->cmd_events ? ctx->nevents + 1 : 0, ids = (size_t)max_id + 1;
	if (grow(&ctx->by_id, sizeof(*ctx->by_id), had_ids, ids) < 0 ||
	    grow(&ctx->outcome, sizeof(*ctx->outcome), had_ids, ids) < 0 ||
	    grow(&ctx->future_of, sizeof(*ctx->future_of), had_ids, ids) < 0 ||
	    grow(&ctx->cmd_events, sizeof(*ctx->cmd_events), had, n + 1) < 0 ||
	    grow(&ctx->signals, sizeof(*ctx->signals), had, n + 1) < 0 ||
	    grow(&ctx->signal_used, 1, had, n + 1) < 0 ||
	    grow(&ctx->hz, sizeof(*ctx->hz), ctx->hz ? ctx->nevents + 2 : 0, n + 2) < 0)
		return -ENOMEM;
	return 0;
}

/* Indexes one event, ev, whose id and type the caller read: by id, and
 * what it is. */
static void index_event(durable_ctx_t *ctx, json_t *ev, int64_t id, const char *t)
{
	const char *key;
	if (id > 0)
		ctx->by_id[id] = ev;
	if (is_command_event(ev, t)) {
		ctx->cmd_events[ctx->ncmd++] = id;
	} else if ((key = outcome_key(t))) {
		int64_t k = durable__attr_int(ev, key);
		if (k > 0 && k <= ctx->max_event_id && ctx->outcome[k] == 0)
			ctx->outcome[k] = id;
	} else if (strcmp(t, "WorkflowExecutionSignaled") == 0 ||
		   strcmp(t, "WorkflowExecutionUpdateAccepted") == 0) {
		ctx->signals[ctx->nsignals++] = id;
	} else if (strcmp(t, "WorkflowExecutionCancelRequested") == 0 && ctx->cancel_event_id == 0) {
		ctx->cancel_event_id = id;
	}
}

/* Indexes events [from, n) (a kept run's new ones). */
static void index_events(durable_ctx_t *ctx, size_t from, size_t n)
{
	for (size_t i = from; i < n; i++) {
		json_t *ev = json_array_get(ctx->events, i);
		index_event(ctx, ev, event_id_of(ev), durable__event_type(ev));
	}
	ctx->nevents = n;
}

/* Every replay indexes its whole history: each event's id and type are
 * read once (a lookup by key in a jansson object is ~170 instructions),
 * then the largest id sizes the arrays, then the events are indexed and
 * the horizons set. */
int durable__ctx_index(durable_ctx_t *ctx)
{
	size_t n = json_array_size(ctx->events);
	struct seen {
		json_t *ev;
		int64_t id;
		const char *type;
	} *seen = malloc((n ? n : 1) * sizeof(*seen));
	if (!seen)
		return -ENOMEM;
	int64_t max_id = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *ev = json_array_get(ctx->events, i);
		seen[i] = (struct seen){ev, event_id_of(ev), durable__event_type(ev)};
		if (seen[i].id > max_id)
			max_id = seen[i].id;
	}
	if (reserve(ctx, n, max_id) < 0) {
		free(seen);
		return -ENOMEM;
	}
	ctx->max_event_id = max_id;
	for (size_t i = 0; i < n; i++)
		index_event(ctx, seen[i].ev, seen[i].id, seen[i].type);
	ctx->nevents = n;
	for (size_t i = 0; i < n; i++)
		if (strcmp(seen[i].type, "WorkflowTaskCompleted") == 0)
			set_horizon(ctx, &ctx->hz[ctx->nhz++], seen[i].ev);
	free(seen);
	current_horizon(ctx, ctx->task->started_event_id);
	return 0;
}

/* Whether events [from, n) continue what the kept run saw and sent; sets
 * *completed to the WorkflowTaskCompleted of its last task. */
static int continues(durable_ctx_t *ctx, size_t from, size_t n, int64_t started_event_id, json_t **completed)
{
	int64_t expect = ctx->max_event_id + 1;
	size_t k = 0;
	*completed = NULL;
	for (size_t i = from; i < n; i++, expect++) {
		json_t *ev = json_array_get(ctx->events, i);
		if (event_id_of(ev) != expect)
			return 0;
		const char *t = durable__event_type(ev);
		if (strcmp(t, "WorkflowTaskCompleted") == 0) {
			/* another task's, or a second one: not all that was decided is ours */
			if (*completed || durable__attr_int(ev, "started_event_id") != ctx->hz[ctx->nhz - 1].started_event_id)
				return 0;
			*completed = ev;
		} else if (is_command_event(ev, t)) {
			if (!*completed || k >= ctx->nlive || strcmp(t, ctx->live[k].event_type) != 0 ||
			    durable__attr_int(ev, "workflow_task_completed_event_id") != event_id_of(*completed))
				return 0;
			k++;
		}
	}
	return *completed && k == ctx->nlive && started_event_id > event_id_of(*completed) &&
	       started_event_id < expect;
}

int durable__ctx_extend(durable_ctx_t *ctx, int64_t started_event_id)
{
	size_t from = ctx->nevents, n = json_array_size(ctx->events);
	json_t *completed;
	if (n <= from || !continues(ctx, from, n, started_event_id, &completed))
		return -EAGAIN;
	if (reserve(ctx, n, ctx->max_event_id + (int64_t)(n - from)) < 0)
		return -ENOMEM;
	size_t ncmd = ctx->ncmd;
	ctx->max_event_id += (int64_t)(n - from);
	index_events(ctx, from, n);
	/* the task the run went live in is now a past horizon */
	set_horizon(ctx, &ctx->hz[ctx->nhz - 1], completed);
	current_horizon(ctx, started_event_id);
	/* the commands it issued then are recorded: their futures learn their
	 * events, and from now on they are matched, not sent */
	for (size_t k = 0; k < ctx->nlive; k++) {
		int64_t id = ctx->cmd_events[ncmd + k];
		durable_future_t *f = ctx->live[k].future, *child = ctx->live[k].cancel_of;
		if (f) {
			f->cmd_event_id = id;
			ctx->future_of[id] = f;
		} else if (child) {
			child->cancel_event_id = id;
			ctx->future_of[id] = child;
		}
	}
	ctx->nlive = 0;
	ctx->cmd_next = ctx->ncmd;
	/* outcomes that came: the futures waiting for them resolve, as a
	 * replay resolves them when it makes them */
	for (size_t i = from; i < n; i++) {
		json_t *ev = json_array_get(ctx->events, i);
		const char *key = outcome_key(durable__event_type(ev));
		int64_t k = key ? durable__attr_int(ev, key) : 0;
		durable_future_t *f = k > 0 && k <= ctx->max_event_id && ctx->outcome[k] == event_id_of(ev) ? ctx->future_of[k] : NULL;
		if (f && f->kind == F_CHILD && f->cancel_event_id == k)
			durable__resolve_told(ctx, f);   /* the child was told of its cancel request */
		else if (f && f->resolve_event_id == INT64_MAX)
			durable__resolve(ctx, f);
	}
	return 0;
}

void durable__ctx_release(durable_ctx_t *ctx)
{
	free(ctx->future_of);
	free(ctx->live);
	free(ctx->locals);
	free(ctx->by_id);
	free(ctx->outcome);
	free(ctx->cmd_events);
	free(ctx->signals);
	free(ctx->signal_used);
	free(ctx->hz);
	json_decref(ctx->commands);
	json_decref(ctx->failure);
	json_decref(ctx->pool);
	json_decref(ctx->continue_input);
	json_decref(ctx->versions);
	json_decref(ctx->local_requests);
	durable__sagas_free(ctx);
	while (ctx->futures) {
		durable_future_t *f = ctx->futures;
		ctx->futures = f->next;
		durable__local_free(f->local);
		free(f);
	}
	while (ctx->queries) {
		durable__query_handler_t *q = ctx->queries;
		ctx->queries = q->next;
		free(q->name);
		json_decref(q->state);
		free(q);
	}
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm), so
 * that parsing needs neither timegm() nor the TZ environment. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* n digits at s as a number, or -1 when one is not a digit */
static int64_t digits(const char *s, int n)
{
	int64_t v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* The store's own form, "YYYY-MM-DDTHH:MM:SS[.f...][+HH[:MM]]", read
 * without sscanf, which took 6,000 instructions a call and every replay
 * reads each task's times again (docs/performance.md, "The worker's CPU,
 * session 11"). The seconds come out as the same double sscanf's %lf
 * makes: their digits (at most 15, an exact integer) divided by an exact
 * power of ten is the correctly rounded value strtod gives. Anything else
 * is left to the general parser below: 0 when read, -1 when not this form. */
static int parse_time_fast(const char *s, int64_t *ms)
{
	static const double tens[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13};
	/* in order, each after the one before it was there: s may end anywhere */
	int64_t y, mo, d, h, mi, sec;
	if ((y = digits(s, 4)) < 0 || s[4] != '-' || (mo = digits(s + 5, 2)) < 0 || s[7] != '-' ||
	    (d = digits(s + 8, 2)) < 0 || !s[10] || (h = digits(s + 11, 2)) < 0 || s[13] != ':' ||
	    (mi = digits(s + 14, 2)) < 0 || s[16] != ':' || (sec = digits(s + 17, 2)) < 0)
		return -1;
	const char *z = s + 19;
	int k = 0;
	if (*z == '.') {
		while (k < 14 && z[1 + k] >= '0' && z[1 + k] <= '9')
			k++;
		if (k == 0 || k == 14)
			return -1;
		sec = sec * (int64_t)tens[k] + digits(z + 1, k);
		z += 1 + k;
	}
	int64_t off = 0;
	if (*z == '+' || *z == '-') {
		int64_t oh = digits(z + 1, 2), om = 0;
		if (oh < 0 || (z[3] != ':' && z[3] != '\0') || (z[3] == ':' && ((om = digits(z + 4, 2)) < 0 || z[6] != '\0')))
			return -1;
		off = (oh * 60 + om) * 60 * (*z == '-' ? -1 : 1);
	} else if (*z != '\0' && *z != 'Z') {
		return -1;
	}
	int64_t t = days_from_civil(y, (int)mo, (int)d) * 86400 + h * 3600 + mi * 60 - off;
	*ms = t * 1000 + (int64_t)((double)sec / tens[k] * 1000.0 + 0.5);
	return 0;
}

int durable__parse_time(const char *s, int64_t *ms)
{
	return parse_time_fast(s, ms) == 0 ? 0 : durable__parse_time_any(s, ms);
}

int durable__parse_time_any(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, n = 0;
	double sec;
	if (sscanf(s, "%d-%d-%d%*c%d:%d:%lf%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
		return -EINVAL;
	int64_t off = 0;
	const char *z = s + n;
	if (*z == '+' || *z == '-') {
		int oh = 0, om = 0;
		if (sscanf(z + 1, "%2d:%2d", &oh, &om) < 1)
			return -EINVAL;
		off = (oh * 60 + om) * 60 * (*z == '-' ? -1 : 1);
	}
	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 - off;
	*ms = t * 1000 + (int64_t)(sec * 1000.0 + 0.5);
	return 0;
}
