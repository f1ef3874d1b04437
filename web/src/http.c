#include "http.h"
#include "follow.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BODY (4u << 20) /* the store refuses payloads over 2 MB anyway */
#define COOKIE "durable_session"

struct config conf = { .listen = "127.0.0.1", .port = 8233, .ns = "default" };

const char *http_arg(struct req *r, const char *name)
{
	const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
	return v && *v ? v : NULL;
}

void reply_json(struct reply *p, unsigned status, char *json)
{
	p->status = status;
	p->body = json;
	p->type = "application/json";
}

static char *error_json(const char *sqlstate, const char *message, const char *detail, const char *hint)
{
	json_t *j = json_pack("{s:{s:s,s:s,s:s,s:s}}", "error", "sqlstate", sqlstate, "message", message,
			      "detail", detail ? detail : "", "hint", hint ? hint : "");
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

void reply_error(struct reply *p, unsigned status, const char *sqlstate, const char *message, const char *hint)
{
	reply_json(p, status, error_json(sqlstate, message, NULL, hint));
}

/* The store's SQLSTATE picks the HTTP status; the body carries it whole. */
void reply_db_error(struct reply *p, const struct db_err *e)
{
	static const struct { const char *state; unsigned status; } map[] = {
		{ "42501", 403 }, { "28P01", 401 }, { "28000", 401 }, { "25006", 403 },
		{ "DU001", 404 }, { "DU007", 404 }, { "DU002", 409 }, { "DU003", 409 },
		{ "DU005", 504 }, { "DU006", 422 }, { "08006", 503 }, { "08001", 503 },
	};
	unsigned status = 500;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(map[i].state, e->sqlstate) == 0)
			status = map[i].status;
	/* classes 22 (data exception) and 54 (limits): the input was bad */
	if (status == 500 && (strncmp(e->sqlstate, "22", 2) == 0 || strncmp(e->sqlstate, "54", 2) == 0 ||
			      strncmp(e->sqlstate, "0A", 2) == 0))
		status = 400;
	reply_json(p, status, error_json(e->sqlstate, e->message, e->detail, e->hint));
}

/* A state-changing request must be JSON (a cross-site form cannot send that
 * without a preflight we never allow), come from our own origin when the
 * browser says, and carry the session's CSRF token. */
static bool post_allowed(struct req *r, struct reply *p, bool need_csrf)
{
	const char *type = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
	if (!type || strncmp(type, "application/json", 16) != 0) {
		reply_error(p, 415, "22023", "requests that change something must be JSON",
			    "Send Content-Type: application/json.");
		return false;
	}
	const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
	if (origin && host) {
		const char *o = strstr(origin, "://");
		if (!o || strcmp(o + 3, host) != 0) {
			reply_error(p, 403, "42501", "request from another origin refused",
				    "Use the console's own pages.");
			return false;
		}
	}
	if (!need_csrf)
		return true;
	const char *token = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-CSRF-Token");
	if (!token || strlen(token) != 64 || sodium_memcmp(token, r->s->csrf, 64) != 0) {
		reply_error(p, 403, "42501", "missing or wrong CSRF token",
			    "Reload the page; if this repeats, sign in again.");
		return false;
	}
	return true;
}

/* Who is asking and what the role may do in the namespace the page shows
 * (?ns=, the daemon's by default): scoped grants differ per namespace. */
static void reply_me(struct req *r, struct reply *p)
{
	const char *ns = http_arg(r, "ns") ? http_arg(r, "ns") : conf.ns;
	bool act_workflows = r->s && r->s->act_workflows, act_schedules = r->s && r->s->act_schedules;
	if (r->s && conf.sign_in && strcmp(ns, conf.ns) != 0)
		act_workflows = act_schedules = session_may_operate(r->s, ns);
	json_t *j = json_pack("{s:b,s:b,s:s,s:b,s:b,s:s,s:s}", "sign_in", conf.sign_in, "signed_in",
			      r->s != NULL && conf.sign_in, "role", r->s ? r->s->role : "",
			      "act_workflows", act_workflows, "act_schedules", act_schedules,
			      "csrf", r->s && conf.sign_in ? r->s->csrf : "", "namespace", conf.ns);
	reply_json(p, 200, json_dumps(j, JSON_COMPACT));
	json_decref(j);
}

static void do_login(struct req *r, struct reply *p)
{
	const char *role = json_string_value(json_object_get(r->json, "role"));
	const char *password = json_string_value(json_object_get(r->json, "password"));
	if (!conf.sign_in) {
		reply_error(p, 400, "22023", "sign-in is not configured",
			    "Start durable-web with --sign-in to let users act as their own roles.");
		return;
	}
	if (!role || !*role || !password) {
		reply_error(p, 400, "22023", "role and password are required", "Fill in both fields.");
		return;
	}
	struct db_err e;
	struct session *s = session_create(role, password, &e);
	if (!s) {
		/* slow down guessing: this connection's thread waits, no other */
		if (strcmp(e.sqlstate, "28P01") == 0)
			nanosleep(&(struct timespec){ 1, 0 }, NULL);
		reply_db_error(p, &e);
		return;
	}
	snprintf(p->cookie, sizeof p->cookie, COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict", s->id);
	r->s = s;
	reply_me(r, p);
}

static void do_logout(struct req *r, struct reply *p)
{
	session_end(r->s);
	snprintf(p->cookie, sizeof p->cookie, COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
	reply_json(p, 200, strdup("{}"));
}

static void route(struct req *r, struct reply *p)
{
	bool post = strcmp(r->method, "POST") == 0;
	if (!post && strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		reply_error(p, 405, "22023", "method not allowed", "Use GET or POST.");
		return;
	}
	if (!post && assets_handle(r->url, p))
		return;
	if (!post && strcmp(r->url, "/metrics") == 0) {
		p->status = 200;
		p->type = "text/plain; version=0.0.4; charset=utf-8";
		p->body = metrics_render();
		return;
	}
	if (strncmp(r->url, "/api/", 5) != 0) {
		reply_error(p, 404, "22023", "no such page", "Start at /.");
		return;
	}
	if (post) {
		if (r->too_big) {
			reply_error(p, 413, "54000", "request body too large", "Send at most 4 MB.");
			return;
		}
		json_error_t je;
		r->json = json_loadb(r->body ? r->body : "", r->len, 0, &je);
		if (!r->json || !json_is_object(r->json)) {
			reply_error(p, 400, "22P02", "request body is not a JSON object",
				    "Send a JSON object; nothing was changed.");
			return;
		}
	}
	if (post && strcmp(r->url, "/api/login") == 0) {
		if (post_allowed(r, p, false))
			do_login(r, p);
		return;
	}
	if (conf.sign_in) {
		const char *id = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, COOKIE);
		r->s = session_get(id);
	} else {
		r->s = session_anonymous();
	}
	if (strcmp(r->url, "/api/me") == 0) {
		reply_me(r, p);
		return;
	}
	if (!r->s) {
		reply_error(p, 401, "28000", "not signed in", "Sign in with a PostgreSQL role and password.");
		return;
	}
	if (post && !conf.sign_in) {
		reply_error(p, 403, "25006", "this console is read-only",
			    "Start durable-web with --sign-in to let users act as their own roles.");
		return;
	}
	if (post && !post_allowed(r, p, true))
		return;
	if (post && strcmp(r->url, "/api/logout") == 0) {
		do_logout(r, p);
		return;
	}
	if (!api_handle(r, p))
		reply_error(p, 404, "22023", "no such API call", "See docs/web.md for the API.");
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct reply *p)
{
	struct MHD_Response *resp = p->stream;
	if (!resp && p->body) {
		/* the body is handed over, not copied: a history page can be large */
		resp = MHD_create_response_from_buffer(strlen(p->body), p->body, MHD_RESPMEM_MUST_FREE);
		if (resp)
			p->body = NULL;
	} else if (!resp) {
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", p->type ? p->type : "text/plain");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
	if (p->type && strncmp(p->type, "application/json", 16) == 0)
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (p->cookie[0])
		MHD_add_response_header(resp, "Set-Cookie", p->cookie);
	enum MHD_Result rc = MHD_queue_response(conn, p->status ? p->status : 500, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **ctx)
{
	(void)cls;
	(void)version;
	struct req *r = *ctx;
	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		*ctx = r;
		return MHD_YES; /* headers only: the body (if any) comes next */
	}
	if (*upload_size) {
		if (r->len + *upload_size > MAX_BODY) {
			r->too_big = true;
		} else {
			if (r->len + *upload_size + 1 > r->cap) {
				size_t cap = (r->len + *upload_size + 1) * 2;
				char *b = realloc(r->body, cap);
				if (!b)
					return MHD_NO;
				r->body = b;
				r->cap = cap;
			}
			memcpy(r->body + r->len, upload, *upload_size);
			r->len += *upload_size;
			r->body[r->len] = 0;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	r->conn = conn;
	r->method = method;
	r->url = url;
	struct reply p = { 0 };
	route(r, &p);
	enum MHD_Result rc = send_reply(conn, &p);
	free(p.body);
	return rc;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **ctx, enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)conn;
	(void)why;
	struct req *r = *ctx;
	if (!r)
		return;
	session_put(r->s);
	json_decref(r->json);
	free(r->body);
	free(r);
	*ctx = NULL;
}

struct MHD_Daemon *http_start(void)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_PASSIVE, .ai_socktype = SOCK_STREAM }, *ai;
	char port[16];
	snprintf(port, sizeof port, "%d", conf.port);
	int gai = getaddrinfo(conf.listen, port, &hints, &ai);
	if (gai) {
		fprintf(stderr, "durable-web: cannot listen on %s: %s (give a numeric address)\n", conf.listen,
			gai_strerror(gai));
		return NULL;
	}
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, (uint16_t)conf.port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
		MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_CONNECTION_LIMIT, 256u,
		MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_END);
	freeaddrinfo(ai);
	return d;
}
