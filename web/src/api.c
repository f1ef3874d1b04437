/*
 * The console's JSON API: every call is one named SQL statement of the
 * store's API, run as the session's role. Reads take query-string
 * arguments; actions take a JSON body (and the CSRF token, checked in
 * http.c). The statements return JSON text that goes to the browser as is.
 */
#include "http.h"
#include "follow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ARGS 12

/* An argument: its name in the query string or the JSON body; "!" first
 * means required; a missing "ns" is the daemon's namespace. */
struct call {
	const char *path;
	const char *sql;
	const char *args[MAX_ARGS];
};

/* GET: reads. Paging of the list is keyset (after=<last workflow_id>), so a
 * page costs the same over a million workflows; an id prefix starts just
 * before the prefix and keeps the ids that have it. */
static const struct call reads[] = {
	{ "/api/workflows",
	  "WITH page AS (SELECT l.* FROM durable.list_workflows($1, $2, $3, $4::timestamptz, $5::timestamptz,"
	  "   $6::jsonb, coalesce($7, left($10, -1)), CASE WHEN $10 IS NULL THEN $8::int + 1 ELSE $8::int * 10 + 1 END,"
	  "   $9) l WHERE $10 IS NULL OR starts_with(l.workflow_id, $10) ORDER BY l.workflow_id LIMIT $8::int + 1)"
	  " SELECT json_build_object('workflows', coalesce((SELECT json_agg(p ORDER BY p.workflow_id) FROM"
	  "   (SELECT * FROM page ORDER BY workflow_id LIMIT $8::int) p), '[]'),"
	  "  'more', (SELECT count(*) FROM page) > $8::int)",
	  { "status", "type", "queue", "started_after", "started_before", "search", "after", "!page_size", "ns",
	    "prefix" } },
	/* a list filter (docs/sql-api.md, "Visibility queries"): runs in the
	 * query's order, paged by the last run id (after=<run_id>) */
	{ "/api/workflows/query",
	  "WITH page AS (SELECT l.* FROM durable.list_workflows(query => $1, after_run_id => $2::uuid,"
	  "   page_size => $3::int + 1, namespace => $4) WITH ORDINALITY AS l)"
	  " SELECT json_build_object('workflows', coalesce((SELECT json_agg(p ORDER BY p.ordinality) FROM"
	  "   (SELECT * FROM page ORDER BY ordinality LIMIT $3::int) p), '[]'),"
	  "  'more', (SELECT count(*) FROM page) > $3::int)",
	  { "!query", "after", "!page_size", "ns" } },
	{ "/api/workflow",
	  "SELECT json_build_object('describe', durable.describe_workflow($1, $2::uuid, $3),"
	  " 'runs', (SELECT coalesce(json_agg(r), '[]') FROM durable.list_runs($1, $3) r))",
	  { "!id", "run", "ns" } },
	{ "/api/history",
	  "SELECT coalesce(json_agg(h ORDER BY h.event_id), '[]') FROM"
	  " durable.get_history($1, $2::uuid, coalesce($3::bigint, 0), 2000, $4) h",
	  { "!id", "run", "after", "ns" } },
	{ "/api/schedules", "SELECT coalesce(json_agg(s), '[]') FROM durable.list_schedules($1) s", { "ns" } },
	{ "/api/schedule", "SELECT durable.describe_schedule($1, $2)", { "!id", "ns" } },
	{ "/api/queues", "SELECT coalesce(json_agg(q), '[]') FROM durable.list_task_queues($1) q", { "ns" } },
	{ "/api/namespaces", "SELECT coalesce(json_agg(n.namespace), '[]') FROM durable.list_namespaces() n", { NULL } },
};

/* POST: actions. Payloads arrive as the text the user typed and are cast
 * by the store, so JSON the page failed to catch is still refused there. */
static const struct call actions[] = {
	{ "/api/workflow/signal", "SELECT 'null' FROM durable.signal_workflow($1, $2, $3::jsonb, $4::uuid, $5)",
	  { "!id", "!name", "input", "run", "ns" } },
	{ "/api/workflow/query",
	  "SELECT coalesce(durable.query_workflow($1, $2, $3::jsonb, $4::uuid, coalesce($5::int, 5000), $6),"
	  " 'null'::jsonb)",
	  { "!id", "!type", "args", "run", "timeout_ms", "ns" } },
	{ "/api/workflow/cancel", "SELECT to_jsonb(durable.cancel_workflow($1, $2, $3::uuid, $4))",
	  { "!id", "reason", "run", "ns" } },
	{ "/api/workflow/terminate", "SELECT 'null' FROM durable.terminate_workflow($1, $2, NULL, $3::uuid, $4)",
	  { "!id", "reason", "run", "ns" } },
	{ "/api/workflow/reset", "SELECT to_jsonb(durable.reset_workflow($1, $2::bigint, $3, $4::uuid, $5))",
	  { "!id", "!event_id", "reason", "run", "ns" } },
	{ "/api/workflow/pause", "SELECT to_jsonb(durable.pause_workflow($1, $2, $3::uuid, $4))",
	  { "!id", "reason", "run", "ns" } },
	{ "/api/workflow/unpause", "SELECT to_jsonb(durable.unpause_workflow($1, $2, $3::uuid, $4))",
	  { "!id", "reason", "run", "ns" } },
	{ "/api/schedule/pause", "SELECT 'null' FROM durable.pause_schedule($1, $2, $3)", { "!id", "note", "ns" } },
	{ "/api/schedule/unpause", "SELECT to_jsonb(durable.unpause_schedule($1, $2, $3))",
	  { "!id", "note", "ns" } },
	{ "/api/schedule/trigger", "SELECT to_jsonb(durable.trigger_schedule($1, $2, $3))",
	  { "!id", "overlap_policy", "ns" } },
	{ "/api/schedule/backfill",
	  "SELECT to_jsonb(durable.backfill_schedule($1, $2::timestamptz, $3::timestamptz,"
	  " coalesce($4, 'ALLOW_ALL'), $5))",
	  { "!id", "!start_at", "!end_at", "overlap_policy", "ns" } },
};

/* The value of one argument as text, or NULL; *owned is set when malloc'd. */
static const char *arg_value(struct req *r, const char *name, char **owned)
{
	*owned = NULL;
	if (!r->json) {
		const char *v = http_arg(r, name);
		if (!v && strcmp(name, "page_size") == 0)
			v = "50";
		return v;
	}
	json_t *v = json_object_get(r->json, name);
	if (!v || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return json_string_value(v)[0] ? json_string_value(v) : NULL;
	/* numbers and booleans as their JSON text */
	*owned = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	return *owned;
}

/* Replies {<head><json>} and frees json. */
static void reply_wrapped(struct reply *p, const char *head, char *json)
{
	size_t len = strlen(head) + strlen(json) + 3;
	char *body = malloc(len);
	if (!body) {
		free(json);
		reply_error(p, 500, "53200", "out of memory", NULL);
		return;
	}
	snprintf(body, len, "{%s%s}", head, json);
	free(json);
	reply_json(p, 200, body);
}

static void run_call(struct req *r, struct reply *p, const struct call *c, bool action)
{
	const char *vals[MAX_ARGS] = { 0 };
	char *owned[MAX_ARGS] = { 0 };
	int n = 0;
	for (; n < MAX_ARGS && c->args[n]; n++) {
		const char *name = c->args[n];
		bool required = name[0] == '!';
		name += required;
		vals[n] = arg_value(r, name, &owned[n]);
		if (!vals[n] && strcmp(name, "ns") == 0)
			vals[n] = conf.ns;
		if (!vals[n] && required) {
			char msg[96];
			snprintf(msg, sizeof msg, "%s is required", name);
			reply_error(p, 400, "22023", msg, "Fill it in; nothing was changed.");
			goto out;
		}
	}
	struct db_err e;
	char *v = db_value(&r->s->slot, c->sql, n, vals, &e);
	if (!v) {
		reply_db_error(p, &e);
	} else if (action) {
		reply_wrapped(p, "\"result\":", v);
	} else {
		reply_json(p, 200, v);
	}
out:
	for (int i = 0; i < n; i++)
		free(owned[i]);
}

#define COUNTS_SECONDS 30

/* Counts per status: a full scan in the store, so each session keeps the
 * answer for COUNTS_SECONDS (the page says how old it is). */
static void counts(struct req *r, struct reply *p)
{
	const char *ns = http_arg(r, "ns") ? http_arg(r, "ns") : conf.ns;
	struct session *s = r->s;
	time_t now = time(NULL);
	char *v = NULL;
	pthread_mutex_lock(&s->cache_mu);
	if (s->counts && strcmp(s->counts_ns, ns) == 0 && now - s->counts_at < COUNTS_SECONDS)
		v = strdup(s->counts);
	long age = v ? (long)(now - s->counts_at) : 0;
	pthread_mutex_unlock(&s->cache_mu);
	if (!v) {
		struct db_err e;
		const char *vals[] = { ns };
		v = db_value(&s->slot,
			     "SELECT coalesce(json_object_agg(c.status, c.workflows), '{}') FROM durable.count_workflows($1) c",
			     1, vals, &e);
		if (!v) {
			reply_db_error(p, &e);
			return;
		}
		pthread_mutex_lock(&s->cache_mu);
		free(s->counts);
		s->counts = strdup(v);
		snprintf(s->counts_ns, sizeof s->counts_ns, "%s", ns);
		s->counts_at = now;
		pthread_mutex_unlock(&s->cache_mu);
	}
	char head[64];
	snprintf(head, sizeof head, "\"age_seconds\":%ld,\"counts\":", age);
	reply_wrapped(p, head, v);
}

bool api_handle(struct req *r, struct reply *p)
{
	bool post = strcmp(r->method, "POST") == 0;
	const struct call *table = post ? actions : reads;
	size_t count = post ? sizeof actions / sizeof actions[0] : sizeof reads / sizeof reads[0];
	for (size_t i = 0; i < count; i++)
		if (strcmp(r->url, table[i].path) == 0) {
			run_call(r, p, &table[i], post);
			return true;
		}
	if (!post && strcmp(r->url, "/api/events") == 0) {
		/* the history stream of one run: who may read it is checked by
		 * describing it as the session's role first */
		const char *vals[] = { http_arg(r, "id"), http_arg(r, "run"), http_arg(r, "ns") ? http_arg(r, "ns") : conf.ns };
		if (!vals[0]) {
			reply_error(p, 400, "22023", "id is required", "Name the workflow.");
			return true;
		}
		struct db_err e;
		char *run = db_value(&r->s->slot, "SELECT durable.describe_workflow($1, $2::uuid, $3)->>'run_id'", 3,
				     vals, &e);
		if (!run) {
			reply_db_error(p, &e);
			return true;
		}
		p->stream = sse_response(run);
		free(run);
		p->status = 200;
		p->type = "text/event-stream";
		if (!p->stream)
			reply_error(p, 503, "53300", "too many event streams", "Close some console tabs.");
		return true;
	}
	if (!post && strcmp(r->url, "/api/counts") == 0) {
		counts(r, p);
		return true;
	}
	if (!post && strcmp(r->url, "/api/queue_samples") == 0) {
		reply_json(p, 200, samples_json(http_arg(r, "ns") ? http_arg(r, "ns") : conf.ns));
		return true;
	}
	return false;
}
