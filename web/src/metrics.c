/*
 * /metrics: the gauges the mount's `metrics` file has (the same SQL calls),
 * and histograms the daemon measures itself:
 *  - workflow task schedule-to-start and timer lateness, exact, from the
 *    new events of every run whose history changed (read from
 *    durable.history: the daemon's role needs durable_admin for these);
 *  - activity schedule-to-start, sampled: each activity attempt seen
 *    STARTED at a sample (list_activity_tasks) counts once; attempts that
 *    start and finish between two samples are not seen.
 * Task queue samples for the console's charts are kept for an hour.
 */
#include "follow.h"
#include "db.h"
#include "http.h"
#include "session.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const double bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800 };
#define NB (sizeof bounds / sizeof bounds[0])
#define NSAMPLES 240 /* an hour of samples, one every 15 s */
#define MAX_RUNS 100000
#define RUN_BUCKETS 4096

enum hist { H_WORKFLOW_TASK, H_ACTIVITY, H_TIMER, H_COUNT };
static const char *const hist_name[H_COUNT] = {
	"durable_workflow_task_schedule_to_start_seconds",
	"durable_activity_schedule_to_start_seconds",
	"durable_timer_lateness_seconds",
};
static const char *const hist_help[H_COUNT] = {
	"Time from a workflow task being scheduled to a worker starting it (from history events).",
	"Time from an activity attempt being scheduled to a worker starting it (sampled every 15 s: "
	"attempts shorter than that may be missed).",
	"Time from a timer's due time to its TimerFired event.",
};

struct series {
	enum hist kind;
	char ns[128], queue[256];
	unsigned long long counts[NB + 1];
	unsigned long long n;
	double sum;
	struct series *next;
};

struct sample {
	time_t t;
	long workflow_backlog, activity_backlog, running, pollers, dispatched;
};

struct queue {
	char ns[128], name[256];
	struct sample samples[NSAMPLES];
	int head, count;
	unsigned long long dispatched; /* since the last sample */
	struct queue *next;
};

/* Where each followed run's history was read up to. */
struct run_cursor {
	char run[40];
	long long after;
	struct run_cursor *next;
};

/* Activity attempts already measured (task id, attempt), from the last sample. */
struct seen {
	long long task;
	int attempt;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct series *all_series;
static struct queue *queues;
static struct run_cursor *cursors[RUN_BUCKETS];
static int ncursors;
static bool history_readable = true;
static time_t started_at;
struct seen_set {
	struct seen *v;
	size_t n, cap;
};
static struct seen_set seen, seen_next;

static struct series *series_for(enum hist k, const char *ns, const char *queue)
{
	for (struct series *s = all_series; s; s = s->next)
		if (s->kind == k && strcmp(s->ns, ns) == 0 && strcmp(s->queue, queue) == 0)
			return s;
	struct series *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->kind = k;
	snprintf(s->ns, sizeof s->ns, "%s", ns);
	snprintf(s->queue, sizeof s->queue, "%s", queue);
	s->next = all_series;
	all_series = s;
	return s;
}

static void observe(enum hist k, const char *ns, const char *queue, double v)
{
	if (v < 0)
		v = 0; /* clocks of one store: only rounding can make it negative */
	struct series *s = series_for(k, ns, queue);
	if (!s)
		return;
	size_t b = 0;
	while (b < NB && v > bounds[b])
		b++;
	s->counts[b]++;
	s->n++;
	s->sum += v;
}

static struct queue *queue_for(const char *ns, const char *name)
{
	for (struct queue *q = queues; q; q = q->next)
		if (strcmp(q->ns, ns) == 0 && strcmp(q->name, name) == 0)
			return q;
	struct queue *q = calloc(1, sizeof *q);
	if (!q)
		return NULL;
	snprintf(q->ns, sizeof q->ns, "%s", ns);
	snprintf(q->name, sizeof q->name, "%s", name);
	q->next = queues;
	queues = q;
	return q;
}

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % RUN_BUCKETS;
}

static struct run_cursor **cursor_slot(const char *run)
{
	struct run_cursor **p = &cursors[hash(run)];
	while (*p && strcmp((*p)->run, run) != 0)
		p = &(*p)->next;
	return p;
}

/* The new events of these runs. A run seen for the first time is read from
 * the daemon's start (its older events were measured by nobody, or by an
 * earlier daemon). Closed runs are forgotten. */
void metrics_follow_runs(void *conn, char **runs, int n)
{
	PGconn *c = conn;
	if (!history_readable || n == 0)
		return;
	size_t cap = 64;
	for (int i = 0; i < n; i++)
		cap += strlen(runs[i]) + 24;
	char *ids = malloc(cap), *afters = malloc(cap);
	if (!ids || !afters)
		goto out;
	size_t li = 0, la = 0;
	li += snprintf(ids + li, cap - li, "{");
	la += snprintf(afters + la, cap - la, "{");
	pthread_mutex_lock(&lock);
	for (int i = 0; i < n; i++) {
		struct run_cursor *rc = *cursor_slot(runs[i]);
		li += snprintf(ids + li, cap - li, "%s%s", i ? "," : "", runs[i]);
		la += snprintf(afters + la, cap - la, "%s%lld", i ? "," : "", rc ? rc->after : -1LL);
	}
	pthread_mutex_unlock(&lock);
	snprintf(ids + li, cap - li, "}");
	snprintf(afters + la, cap - la, "}");
	char since[32];
	snprintf(since, sizeof since, "%lld", (long long)started_at);
	const char *p[] = { ids, afters, since };
	PGresult *r = PQexecParams(
		c,
		"WITH x AS (SELECT * FROM unnest($1::uuid[], $2::bigint[]) AS x(run_id, after)),"
		" last AS (SELECT x.run_id, x.after, w.namespace, w.task_queue, w.status,"
		"   (SELECT max(h.event_id) FROM durable.history h WHERE h.run_id = x.run_id) AS upto"
		"   FROM x JOIN durable.workflows w ON w.run_id = x.run_id)"
		" SELECT l.run_id, NULL, l.upto, l.status, NULL, NULL FROM last l"
		" UNION ALL"
		" SELECT l.run_id, h.event_type, h.event_id, l.namespace,"
		"   coalesce(s.attributes->>'task_queue', l.task_queue),"
		"   extract(epoch FROM h.event_time - s.event_time) - CASE WHEN h.event_type = 'TimerFired'"
		"     THEN coalesce((s.attributes->>'start_to_fire_timeout')::float8, 0) ELSE 0 END"
		"   FROM last l JOIN durable.history h ON h.run_id = l.run_id"
		"    AND h.event_id > greatest(l.after, 0) AND h.event_id <= l.upto"
		"    AND (l.after >= 0 OR h.event_time >= to_timestamp($3::float8))"
		"   LEFT JOIN durable.history s ON s.run_id = h.run_id AND s.event_id ="
		"     (h.attributes->>CASE WHEN h.event_type = 'TimerFired' THEN 'started_event_id'"
		"                         ELSE 'scheduled_event_id' END)::bigint"
		"  WHERE h.event_type IN ('WorkflowTaskStarted', 'TimerFired', 'ActivityTaskStarted')",
		3, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (state && strcmp(state, "42501") == 0) {
			history_readable = false;
			fprintf(stderr, "durable-web: the daemon's role may not read durable.history: no workflow "
					"task or timer latency histograms (grant durable_admin to measure them)\n");
		}
		PQclear(r);
		goto out;
	}
	pthread_mutex_lock(&lock);
	for (int i = 0; i < PQntuples(r); i++) {
		const char *run = PQgetvalue(r, i, 0);
		if (PQgetisnull(r, i, 1)) {
			/* the run's cursor: forget closed runs, bound the table */
			struct run_cursor **slot = cursor_slot(run), *rc = *slot;
			bool open = strcmp(PQgetvalue(r, i, 3), "RUNNING") == 0;
			if (!open && rc) {
				*slot = rc->next;
				free(rc);
				ncursors--;
			} else if (open && !rc && ncursors < MAX_RUNS && (rc = calloc(1, sizeof *rc))) {
				snprintf(rc->run, sizeof rc->run, "%s", run);
				*slot = rc;
				ncursors++;
			}
			if (open && rc)
				rc->after = atoll(PQgetvalue(r, i, 2));
			continue;
		}
		const char *type = PQgetvalue(r, i, 1), *ns = PQgetvalue(r, i, 3), *queue = PQgetvalue(r, i, 4);
		struct queue *q = queue_for(ns, queue);
		if (q && strcmp(type, "TimerFired") != 0)
			q->dispatched++;
		if (PQgetisnull(r, i, 5))
			continue;
		double v = atof(PQgetvalue(r, i, 5));
		if (strcmp(type, "WorkflowTaskStarted") == 0)
			observe(H_WORKFLOW_TASK, ns, queue, v);
		else if (strcmp(type, "TimerFired") == 0)
			observe(H_TIMER, ns, "", v);
	}
	pthread_mutex_unlock(&lock);
	PQclear(r);
out:
	free(ids);
	free(afters);
}

static int seen_cmp(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;
	if (x->task != y->task)
		return x->task < y->task ? -1 : 1;
	return (x->attempt > y->attempt) - (x->attempt < y->attempt);
}

/* seen is sorted (see metrics_sample_queues): a lookup per started attempt */
static bool was_seen(long long task, int attempt)
{
	struct seen key = { task, attempt };
	return seen.n && bsearch(&key, seen.v, seen.n, sizeof key, seen_cmp);
}

static void keep_seen(long long task, int attempt)
{
	if (seen_next.n == seen_next.cap) {
		size_t cap = seen_next.cap ? seen_next.cap * 2 : 256;
		struct seen *s = realloc(seen_next.v, cap * sizeof *s);
		if (!s)
			return;
		seen_next.v = s;
		seen_next.cap = cap;
	}
	seen_next.v[seen_next.n++] = (struct seen){ task, attempt };
}

/* One sample of every queue of the daemon's namespace: the backlog for the
 * chart, and the activities that started since the last sample. */
void metrics_sample_queues(void *conn)
{
	PGconn *c = conn;
	const char *p[] = { conf.ns };
	PGresult *r = PQexecParams(c,
				   "SELECT task_queue, workflow_backlog, activity_backlog, activities_running,"
				   " jsonb_array_length(pollers) FROM durable.list_task_queues($1)",
				   1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return;
	}
	time_t now = time(NULL);
	pthread_mutex_lock(&lock);
	for (int i = 0; i < PQntuples(r); i++) {
		struct queue *q = queue_for(conf.ns, PQgetvalue(r, i, 0));
		if (!q)
			continue;
		struct sample *s = &q->samples[q->head];
		*s = (struct sample){ now, atol(PQgetvalue(r, i, 1)), atol(PQgetvalue(r, i, 2)),
				      atol(PQgetvalue(r, i, 3)), atol(PQgetvalue(r, i, 4)), (long)q->dispatched };
		q->dispatched = 0;
		q->head = (q->head + 1) % NSAMPLES;
		if (q->count < NSAMPLES)
			q->count++;
	}
	pthread_mutex_unlock(&lock);
	json_t *names = json_array();
	for (int i = 0; names && i < PQntuples(r); i++)
		json_array_append_new(names, json_string(PQgetvalue(r, i, 0)));
	PQclear(r);
	char *names_json = names ? json_dumps(names, JSON_COMPACT) : NULL;
	json_decref(names);
	/* activity attempts running now, measured once each: one statement for
	 * every queue of the sample */
	seen_next.n = 0;
	if (names_json) {
		const char *a[] = { names_json, conf.ns };
		r = PQexecParams(c,
				 "SELECT q.name, t.task_id, t.attempt, extract(epoch FROM t.started_at - t.scheduled_at)"
				 " FROM jsonb_array_elements_text($1::jsonb) q(name),"
				 " LATERAL durable.list_activity_tasks(q.name, $2, 10000) t WHERE t.state = 'STARTED'",
				 2, NULL, a, NULL, NULL, 0);
		free(names_json);
		if (PQresultStatus(r) == PGRES_TUPLES_OK) {
			pthread_mutex_lock(&lock);
			for (int k = 0; k < PQntuples(r); k++) {
				long long task = atoll(PQgetvalue(r, k, 1));
				int attempt = atoi(PQgetvalue(r, k, 2));
				/* an attempt's own scheduled time is not listed: attempt 1 only */
				if (!was_seen(task, attempt) && attempt == 1)
					observe(H_ACTIVITY, conf.ns, PQgetvalue(r, k, 0), atof(PQgetvalue(r, k, 3)));
				keep_seen(task, attempt);
			}
			pthread_mutex_unlock(&lock);
		}
		PQclear(r);
	}
	pthread_mutex_lock(&lock);
	if (seen_next.n)
		qsort(seen_next.v, seen_next.n, sizeof *seen_next.v, seen_cmp);
	struct seen_set t = seen;
	seen = seen_next;
	seen_next = t;
	pthread_mutex_unlock(&lock);
}

struct out {
	char *p;
	size_t len, cap;
	bool failed;
};

static void put(struct out *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *b, const char *fmt, ...)
{
	while (!b->failed) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
		} else if (b->p && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		} else {
			size_t cap = b->cap * 2 + (size_t)n + 256;
			char *q = realloc(b->p, cap);
			if (!q) {
				b->failed = true;
				break;
			}
			b->p = q;
			b->cap = cap;
		}
	}
}

/* A label value escaped as the text format wants (\\, \", \n). */
static void label(struct out *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			put(b, "\\%c", *s);
		else if (*s == '\n')
			put(b, "\\n");
		else
			put(b, "%c", *s);
	}
}

/* A series' labels, {namespace="..."[,task_queue="...", the last value's quote left open */
static void series_labels(struct out *b, const struct series *s)
{
	put(b, "{namespace=\"");
	label(b, s->ns);
	if (s->kind != H_TIMER) {
		put(b, "\",task_queue=\"");
		label(b, s->queue);
	}
}

static struct db_slot slot; /* the daemon's role, for scrapes */

void metrics_init(void)
{
	db_slot_init(&slot, NULL, NULL, true);
	started_at = time(NULL);
}

/* The gauges of the mount's metrics file, from the same two SQL calls. */
static void store_gauges(struct out *b)
{
	struct db_err e;
	const char *p[] = { conf.ns };
	char *v = db_value(&slot,
			   "SELECT coalesce(json_agg(json_build_array(task_queue, workflow_backlog, activity_backlog,"
			   " activities_running, jsonb_array_length(pollers))), '[]') FROM durable.list_task_queues($1)",
			   1, p, &e);
	json_t *rows = v ? json_loads(v, 0, NULL) : NULL;
	free(v);
	static const char *const names[] = {
		"durable_task_queue_workflow_backlog", "durable_task_queue_activity_backlog",
		"durable_task_queue_activities_running", "durable_task_queue_pollers",
	};
	static const char *const help[] = {
		"Workflow tasks waiting for a worker.", "Activity tasks waiting for a worker.",
		"Activity tasks leased by a worker.", "Pollers seen recently.",
	};
	for (int m = 0; rows && m < 4; m++) {
		put(b, "# HELP %s %s\n# TYPE %s gauge\n", names[m], help[m], names[m]);
		size_t i;
		json_t *row;
		json_array_foreach(rows, i, row) {
			put(b, "%s{namespace=\"", names[m]);
			label(b, conf.ns);
			put(b, "\",task_queue=\"");
			label(b, json_string_value(json_array_get(row, 0)));
			put(b, "\"} %lld\n", (long long)json_integer_value(json_array_get(row, m + 1)));
		}
	}
	json_decref(rows);
	/* a full scan in the store: fine for a scrape */
	v = db_value(&slot, "SELECT coalesce(json_object_agg(status, workflows), '{}') FROM durable.count_workflows($1)",
		     1, p, &e);
	json_t *counts = v ? json_loads(v, 0, NULL) : NULL;
	free(v);
	if (counts) {
		put(b, "# HELP durable_workflows Workflow ids by the status of their latest run.\n"
		       "# TYPE durable_workflows gauge\n");
		const char *status;
		json_t *n;
		json_object_foreach(counts, status, n) {
			put(b, "durable_workflows{namespace=\"");
			label(b, conf.ns);
			put(b, "\",status=\"%s\"} %lld\n", status, (long long)json_integer_value(n));
		}
	}
	json_decref(counts);
	put(b, "# HELP durable_web_store_up Whether the last scrape reached the store.\n"
	       "# TYPE durable_web_store_up gauge\ndurable_web_store_up %d\n", rows && counts ? 1 : 0);
}

char *metrics_render(void)
{
	struct out b = { 0 };
	store_gauges(&b);
	pthread_mutex_lock(&lock);
	for (int k = 0; k < H_COUNT; k++) {
		put(&b, "# HELP %s %s\n# TYPE %s histogram\n", hist_name[k], hist_help[k], hist_name[k]);
		for (struct series *s = all_series; s; s = s->next) {
			if (s->kind != (enum hist)k)
				continue;
			unsigned long long cum = 0;
			for (size_t i = 0; i <= NB; i++) {
				cum += s->counts[i];
				put(&b, "%s_bucket", hist_name[k]);
				series_labels(&b, s);
				if (i < NB)
					put(&b, "\",le=\"%g\"} %llu\n", bounds[i], cum);
				else
					put(&b, "\",le=\"+Inf\"} %llu\n", cum);
			}
			for (int part = 0; part < 2; part++) {
				put(&b, "%s_%s", hist_name[k], part ? "count" : "sum");
				series_labels(&b, s);
				if (part)
					put(&b, "\"} %llu\n", s->n);
				else
					put(&b, "\"} %.6f\n", s->sum);
			}
		}
	}
	int runs = ncursors;
	pthread_mutex_unlock(&lock);
	put(&b, "# HELP durable_web_sessions Signed-in console sessions.\n# TYPE durable_web_sessions gauge\n"
		"durable_web_sessions %d\n", session_count());
	put(&b, "# HELP durable_web_event_streams Browsers following a workflow live.\n"
		"# TYPE durable_web_event_streams gauge\ndurable_web_event_streams %d\n", sse_count());
	put(&b, "# HELP durable_web_followed_runs Open runs whose new events the daemon measures.\n"
		"# TYPE durable_web_followed_runs gauge\ndurable_web_followed_runs %d\n", runs);
	if (b.failed) {
		free(b.p);
		return strdup("# out of memory\n");
	}
	return b.p ? b.p : strdup("");
}

/* {queue: [[t, workflow_backlog, activity_backlog, running, pollers, dispatched], ...]} oldest first */
char *samples_json(const char *ns)
{
	json_t *all = json_object();
	pthread_mutex_lock(&lock);
	for (struct queue *q = queues; q; q = q->next) {
		if (strcmp(q->ns, ns) != 0 || q->count == 0)
			continue;
		json_t *arr = json_array();
		for (int i = 0; i < q->count; i++) {
			struct sample *s = &q->samples[(q->head - q->count + i + NSAMPLES) % NSAMPLES];
			json_array_append_new(arr, json_pack("[I,I,I,I,I,I]", (json_int_t)s->t,
							     (json_int_t)s->workflow_backlog,
							     (json_int_t)s->activity_backlog, (json_int_t)s->running,
							     (json_int_t)s->pollers, (json_int_t)s->dispatched));
		}
		json_object_set_new(all, q->name, arr);
	}
	pthread_mutex_unlock(&lock);
	char *out = json_dumps(all, JSON_COMPACT);
	json_decref(all);
	return out;
}

void metrics_free(void)
{
	pthread_mutex_lock(&lock);
	while (all_series) {
		struct series *s = all_series;
		all_series = s->next;
		free(s);
	}
	while (queues) {
		struct queue *q = queues;
		queues = q->next;
		free(q);
	}
	for (int i = 0; i < RUN_BUCKETS; i++)
		while (cursors[i]) {
			struct run_cursor *c = cursors[i];
			cursors[i] = c->next;
			free(c);
		}
	free(seen.v);
	free(seen_next.v);
	seen = seen_next = (struct seen_set){ 0 };
	pthread_mutex_unlock(&lock);
	db_slot_fini(&slot);
}
