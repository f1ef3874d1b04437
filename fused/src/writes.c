/*
 * What a complete document (or a write's complete ctl lines) does, once
 * docwrite.c has gathered it: it is validated here and by the store, and
 * either takes effect in one SQL call or transaction or fails with an errno
 * and changes nothing; the caller records the reason in last-error.
 */
#define _POSIX_C_SOURCE 200809L
#include "callers.h"
#include "fs.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

static int fail(struct db_err *e, int err, const char *fmt, const char *arg)
{
	snprintf(e->msg, sizeof e->msg, fmt, arg);
	return -err;
}

/*
 * A document as the store will see it; NULL (SQL NULL) for a blank one. Its
 * syntax was checked as it was written (jscan); its values are the store's
 * business (jsonb), so that the mount and SQL accept the same documents.
 */
static const char *payload(const char *data, size_t len)
{
	return blank(data, len) ? NULL : data; /* the caller NUL-terminated it */
}

/*
 * Starting: {"type", "id", "task_queue", "input", "options"}. The spec is
 * checked by the store, in the statement that starts: a spec that jsonb
 * accepts (1e400 in the input too) is one the mount accepts.
 */
#define START_SQL \
	"WITH x AS (SELECT $1::jsonb s)," \
	" chk AS (SELECT CASE" \
	"   WHEN jsonb_typeof(s) IS DISTINCT FROM 'object' THEN 'start spec: not a JSON object'" \
	"   WHEN k.bad IS NOT NULL THEN format('start spec: unknown key \"%s\" (use type, id, task_queue, input, options)', k.bad)" \
	"   WHEN jsonb_typeof(s->'type') IS DISTINCT FROM 'string' THEN 'start spec: \"type\" must be a string'" \
	"   WHEN jsonb_typeof(s->'id') IS DISTINCT FROM 'string' THEN 'start spec: \"id\" must be a string'" \
	"   WHEN jsonb_typeof(s->'task_queue') IS DISTINCT FROM 'string' THEN 'start spec: \"task_queue\" must be a string'" \
	"   WHEN s ? 'options' AND jsonb_typeof(s->'options') <> 'object' THEN 'start spec: \"options\" must be a JSON object'" \
	"  END AS problem, s FROM x, LATERAL (SELECT min(key) bad FROM jsonb_object_keys(" \
	"     CASE WHEN jsonb_typeof(s) = 'object' THEN s ELSE '{}' END) key" \
	"     WHERE key NOT IN ('type', 'id', 'task_queue', 'input', 'options')) k)" \
	"SELECT problem, CASE WHEN problem IS NULL THEN durable.start_workflow(s->>'id', s->>'type'," \
	" s->>'task_queue', s->'input', coalesce(s->'options', '{}'), $2) END FROM chk"

static int do_start(const char *data, size_t len, struct buf *reply, struct db_err *e)
{
	if (!payload(data, len))
		return fail(e, EINVAL, "start spec: %snothing written", "");
	const char *p[] = { data, conf.ns };
	PGresult *r;
	int rc = db_query(&r, e, false, START_SQL, 2, p);
	if (rc)
		return rc;
	if (!PQgetisnull(r, 0, 0))
		rc = fail(e, EINVAL, "%s", PQgetvalue(r, 0, 0));
	else
		rc = buf_printf(reply, "%s\n", PQgetvalue(r, 0, 1));
	PQclear(r);
	return rc;
}

static int do_signal(const struct node *n, const char *data, size_t len, struct db_err *e)
{
	const char *p[] = { n->wf, n->name, payload(data, len), conf.ns, callers_identity() };
	PGresult *r;
	int rc = db_query(&r, e, false,
		      "SELECT durable.signal_workflow($1, $2, $3::jsonb, NULL, $4, $5)", 5, p);
	PQclear(r);
	return rc;
}

struct verb {
	enum { V_CANCEL, V_TERMINATE, V_RESET, V_DELETE, V_PAUSE, V_UNPAUSE } op;
	char *arg;		/* reason */
	char event_id[24];	/* reset only */
};

/* "reset <event_id> [reason]": the event id must be a positive integer. */
static int parse_reset(struct verb *v, struct db_err *e)
{
	char *p = v->arg;
	size_t n = p ? strspn(p, "0123456789") : 0;
	if (n == 0 || n >= sizeof v->event_id || (p[n] && !isspace((unsigned char)p[n])))
		return fail(e, EINVAL, "ctl: reset needs an event id: \"reset <event_id> [reason]\"%s", "");
	memcpy(v->event_id, p, n);
	v->event_id[n] = '\0';
	p += n;
	while (isspace((unsigned char)*p))
		p++;
	v->arg = *p ? p : NULL;
	return 0;
}

/* One verb per line; all are checked before any is applied. */
static int parse_ctl(char *text, struct verb *verbs, int max, int *count, struct db_err *e)
{
	char *save = NULL;   /* strtok's own state is shared by every FUSE thread */
	*count = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		while (isspace((unsigned char)*line))
			line++;
		size_t l = strlen(line);
		while (l && isspace((unsigned char)line[l - 1]))
			line[--l] = '\0';
		if (l == 0)
			continue;
		char *arg = line + strcspn(line, " \t");
		if (*arg)
			*arg++ = '\0';
		while (isspace((unsigned char)*arg))
			arg++;
		if (*count == max)
			return fail(e, EINVAL, "ctl: at most %s verbs per write", "16");
		struct verb *v = &verbs[*count];
		v->arg = *arg ? arg : NULL;
		if (strcmp(line, "cancel") == 0)
			v->op = V_CANCEL;
		else if (strcmp(line, "terminate") == 0)
			v->op = V_TERMINATE;
		else if (strcmp(line, "delete") == 0)
			v->op = V_DELETE;
		else if (strcmp(line, "pause") == 0)
			v->op = V_PAUSE;
		else if (strcmp(line, "unpause") == 0)
			v->op = V_UNPAUSE;
		else if (strcmp(line, "reset") == 0) {
			v->op = V_RESET;
			if (parse_reset(v, e))
				return -EINVAL;
		} else
			return fail(e, EINVAL, "ctl: unknown verb \"%s\" (use cancel, terminate, reset, delete, pause or unpause)", line);
		(*count)++;
	}
	if (*count == 0)
		return fail(e, EINVAL, "ctl: %sno verb written", "");
	return 0;
}

/* All verbs of one write in one transaction: a refused verb undoes the others. */
static int do_ctl(const struct node *n, char *data, struct db_err *e)
{
	struct verb verbs[16];
	struct db_stmt stmts[16];
	int count, rc = parse_ctl(data, verbs, 16, &count, e);
	for (int i = 0; rc == 0 && i < count; i++) {
		struct db_stmt *s = &stmts[i];
		*s = (struct db_stmt){ NULL, 4, { n->wf, verbs[i].arg, conf.ns, callers_identity(), verbs[i].event_id } };
		if (verbs[i].op == V_RESET) {
			s->sql = "SELECT durable.reset_workflow($1, $5::bigint, $2, NULL, $3, $4)";
			s->nparams = 5;
		} else if (verbs[i].op == V_CANCEL) {
			s->sql = "SELECT durable.cancel_workflow($1, $2, NULL, $3, $4)";
		} else if (verbs[i].op == V_DELETE) {	/* every run; the folder goes with it */
			s->sql = "SELECT durable.delete_workflow($1, $2, $3, $4)";
		} else if (verbs[i].op == V_PAUSE || verbs[i].op == V_UNPAUSE) {
			/* who paused is the caller's role, as the store names it */
			s->sql = verbs[i].op == V_PAUSE ? "SELECT durable.pause_workflow($1, $2, NULL, $3)"
							: "SELECT durable.unpause_workflow($1, $2, NULL, $3)";
			s->nparams = 3;
		} else {
			s->sql = "SELECT durable.terminate_workflow($1, $2, NULL, NULL, $3, $4)";
		}
	}
	return rc ? rc : db_transaction(stmts, count, e);
}

/*
 * Schedule verbs, one per line, all checked before any is applied:
 *   pause [note] | unpause [note] | trigger [overlap_policy]
 *   backfill <start> <end> [overlap_policy]   (times as PostgreSQL reads them,
 *   without spaces: 2026-01-01T00:00:00Z)
 *   set <policies>   (a JSON object on the line: durable.update_schedule's)
 */
struct sverb {
	const char *sql;	/* $1 schedule id, $2 namespace, $3... args */
	int nargs;
	char *args[3];
};

/* Splits off the next word of *p (NULL at the end of the line). */
static char *next_word(char **p)
{
	char *s = *p;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return NULL;
	char *w = s;
	while (*s && *s != ' ' && *s != '\t')
		s++;
	if (*s)
		*s++ = '\0';
	*p = s;
	return w;
}

static int parse_sctl_line(char *line, struct sverb *v, struct db_err *e)
{
	char *rest = line;
	char *verb = next_word(&rest);
	while (*rest == ' ' || *rest == '\t')
		rest++;
	memset(v, 0, sizeof *v);
	if (strcmp(verb, "pause") == 0 || strcmp(verb, "unpause") == 0) {
		v->sql = verb[0] == 'p' ? "SELECT durable.pause_schedule($1, $3, $2)"
					: "SELECT durable.unpause_schedule($1, $3, $2)";
		v->nargs = 1;
		v->args[0] = *rest ? rest : NULL; /* the note: the rest of the line */
		return 0;
	}
	if (strcmp(verb, "set") == 0) {
		if (!*rest)
			return fail(e, EINVAL, "ctl: %s", "set needs the policies to change, as a JSON object");
		v->sql = "SELECT durable.update_schedule($1, policies => $3::jsonb, namespace => $2)";
		v->nargs = 1;
		v->args[0] = rest; /* the store reads the JSON and says what is wrong with it */
		return 0;
	}
	if (strcmp(verb, "trigger") == 0) {
		v->sql = "SELECT durable.trigger_schedule($1, $3, $2)";
		v->nargs = 1;
		v->args[0] = next_word(&rest);
	} else if (strcmp(verb, "backfill") == 0) {
		v->sql = "SELECT durable.backfill_schedule($1, $3::timestamptz, $4::timestamptz,"
			 " coalesce($5, 'ALLOW_ALL'), $2)";
		v->nargs = 3;
		v->args[0] = next_word(&rest);
		v->args[1] = next_word(&rest);
		v->args[2] = next_word(&rest);
		if (!v->args[1])
			return fail(e, EINVAL, "ctl: %s", "backfill needs a start and an end time");
	} else {
		return fail(e, EINVAL, "ctl: unknown verb \"%s\" (use pause, unpause, trigger, backfill or set)", verb);
	}
	if (next_word(&rest))
		return fail(e, EINVAL, "ctl: too many words after \"%s\"", verb);
	return 0;
}

static int do_sctl(const struct node *n, char *text, struct db_err *e)
{
	struct sverb verbs[16];
	int count = 0, rc = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line && rc == 0; line = strtok_r(NULL, "\n", &save)) {
		if (blank(line, strlen(line)))
			continue;
		if (count == 16)
			return fail(e, EINVAL, "ctl: at most %s verbs per write", "16");
		rc = parse_sctl_line(line, &verbs[count++], e);
	}
	if (rc == 0 && count == 0)
		return fail(e, EINVAL, "ctl: %sno verb written", "");
	if (rc)
		return rc;
	/* like a workflow's ctl: one transaction, all verbs or none */
	struct db_stmt stmts[16];
	for (int i = 0; i < count; i++)
		stmts[i] = (struct db_stmt){ verbs[i].sql, 2 + verbs[i].nargs,
			{ n->wf, conf.ns, verbs[i].args[0], verbs[i].args[1], verbs[i].args[2] } };
	return db_transaction(stmts, count, e);
}

/*
 * An activity's ctl, one verb per line, all or none in one transaction:
 *   pause [reason] | unpause | reset [heartbeat]
 * (reset heartbeat also forgets the heartbeat details).
 */
static int do_actl(const struct node *n, char *text, struct db_err *e)
{
	struct db_stmt stmts[16];
	int count = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *rest = line;
		char *verb = next_word(&rest);
		if (!verb)
			continue;
		while (*rest == ' ' || *rest == '\t')
			rest++;
		size_t l = strlen(rest);
		while (l && isspace((unsigned char)rest[l - 1]))
			rest[--l] = '\0';
		if (count == 16)
			return fail(e, EINVAL, "ctl: at most %s verbs per write", "16");
		struct db_stmt *s = &stmts[count++];
		*s = (struct db_stmt){ NULL, 3, { n->wf, n->run, conf.ns, *rest ? rest : NULL } };
		if (strcmp(verb, "pause") == 0) {
			s->sql = "SELECT durable.pause_activity($1, $2, $4, NULL, $3)";
			s->nparams = 4;
		} else if (strcmp(verb, "unpause") == 0 && !*rest) {
			s->sql = "SELECT durable.unpause_activity($1, $2, NULL, $3)";
		} else if (strcmp(verb, "reset") == 0 && (!*rest || strcmp(rest, "heartbeat") == 0)) {
			s->sql = *rest ? "SELECT durable.reset_activity($1, $2, true, NULL, $3)"
				       : "SELECT durable.reset_activity($1, $2, false, NULL, $3)";
		} else if (strcmp(verb, "unpause") == 0 || strcmp(verb, "reset") == 0) {
			return fail(e, EINVAL, "ctl: unexpected words after \"%s\" (use \"unpause\" or \"reset [heartbeat]\")", verb);
		} else {
			return fail(e, EINVAL, "ctl: unknown verb \"%s\" (use pause [reason], unpause or reset [heartbeat])", verb);
		}
	}
	if (count == 0)
		return fail(e, EINVAL, "ctl: %sno verb written", "");
	return db_transaction(stmts, count, e);
}

/* options: the fields to change, as JSON; the reply is every option after. */
static int do_activity_options(const struct node *n, const char *data, size_t len, struct buf *reply,
			       struct db_err *e)
{
	if (!payload(data, len))
		return fail(e, EINVAL, "options: %snothing written (write the fields to change, as JSON)", "");
	const char *p[] = { n->wf, n->run, data, conf.ns };
	PGresult *r;
	int rc = db_query(&r, e, false,
			  "SELECT durable.update_activity_options($1, $2, $3::jsonb, NULL, $4)", 4, p);
	if (rc == 0)
		rc = buf_printf(reply, "%s\n", PQgetvalue(r, 0, 0));
	PQclear(r);
	return rc;
}

/* The store takes all of a queue's limits at once: the others keep their values. */
#define SET_LIMIT_SQL \
	"SELECT durable.set_task_queue_limits($1," \
	" CASE WHEN $3 = 'max_concurrent' THEN $4::integer ELSE l.max_concurrent END," \
	" CASE WHEN $3 = 'rate_per_second' THEN $5::float8 ELSE l.rate_per_second END," \
	" CASE WHEN $3 = 'key_max_concurrent' THEN $4::integer ELSE l.key_max_concurrent END," \
	" CASE WHEN $3 = 'key_rate_per_second' THEN $5::float8 ELSE l.key_rate_per_second END, $2)" \
	" FROM (SELECT 1) one LEFT JOIN durable.list_task_queue_limits($2) l" \
	"   ON l.task_queue = $1 AND l.fairness_key IS NULL"
#define SET_KEY_LIMIT_SQL \
	"SELECT durable.set_fairness_key_limits($1, $6," \
	" CASE WHEN $3 = 'max_concurrent' THEN $4::integer ELSE l.max_concurrent END," \
	" CASE WHEN $3 = 'rate_per_second' THEN $5::float8 ELSE l.rate_per_second END, $2)" \
	" FROM (SELECT 1) one LEFT JOIN durable.list_task_queue_limits($2) l" \
	"   ON l.task_queue = $1 AND l.fairness_key = $6"

/* One value: a whole number (for *max_concurrent) or a number (rates), or
 * "none"; for the queue (K_QLIMIT) or one of its fairness keys (K_KLIMIT). */
static int do_queue_limit(const struct node *n, char *text, struct db_err *e)
{
	char *value = text + strspn(text, " \t\r\n");
	char *rest = value + strcspn(value, " \t\r\n");
	bool integral = strstr(n->name, "max_concurrent") != NULL;
	if (!*value)
		return fail(e, EINVAL, "%s: nothing written (write a number, or \"none\" for no limit)", n->name);
	if (*rest)
		*rest++ = '\0';
	if (!blank(rest, strlen(rest)))
		return fail(e, EINVAL, "%s: one value per write (a number, or \"none\")", n->name);
	bool none = strcmp(value, "none") == 0;
	char *end = NULL;
	double v = none ? 0 : strtod(value, &end);
	if (!none && (end == value || *end || !(v == v) || (integral && strspn(value, "0123456789") != strlen(value)) ||
		      (integral && strlen(value) > 9)))
		return fail(e, EINVAL, integral ? "%s: not a whole number (write e.g. 4, or \"none\")"
						: "%s: not a number (write e.g. 2.5, or \"none\")", n->name);
	const char *p[] = { n->wf, conf.ns, n->name, !none && integral ? value : NULL,
			    !none && !integral ? value : NULL, n->run };
	PGresult *r;
	int rc = n->kind == K_KLIMIT ? db_query(&r, e, false, SET_KEY_LIMIT_SQL, 6, p)
				     : db_query(&r, e, false, SET_LIMIT_SQL, 5, p);
	PQclear(r);
	return rc;
}

/* "<build id> [PINNED|AUTO_UPGRADE]" (PINNED when left out), or "none". */
static int do_queue_builds(const struct node *n, char *text, struct db_err *e)
{
	char *words[3] = { 0 }, *save = NULL;
	int nw = 0;
	for (char *w = strtok_r(text, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save))
		if (nw < 3)
			words[nw++] = w;
		else
			nw = 4;
	if (nw == 0 || nw > 2 || (strcmp(words[0], "none") == 0 && nw != 1))
		return fail(e, EINVAL, "%s: write \"<build id> [PINNED|AUTO_UPGRADE]\", or \"none\"", n->name);
	bool none = strcmp(words[0], "none") == 0;
	const char *p[] = { n->wf, none ? NULL : words[0], nw == 2 ? words[1] : "PINNED", conf.ns };
	PGresult *r;
	int rc = db_query(&r, e, false, "SELECT durable.set_build_id_rules($1, $2, $3, $4)", 4, p);
	PQclear(r);
	return rc;
}

/*
 * A schedule's spec or action file: the written object names the fields to
 * change (null removes one), as durable.update_schedule takes them.
 */
static int do_sdoc(const struct node *n, const char *data, size_t len, struct db_err *e)
{
	if (!payload(data, len))
		return fail(e, EINVAL, "%s: nothing written", n->name);
	const char *p[] = { n->wf, conf.ns, data };
	PGresult *r;
	int rc = db_query(&r, e, false, strcmp(n->name, "spec") == 0
		? "SELECT durable.update_schedule($1, spec => $3::jsonb, namespace => $2)"
		: "SELECT durable.update_schedule($1, action => $3::jsonb, namespace => $2)", 3, p);
	PQclear(r);
	return rc;
}

static int do_task(const struct node *n, const char *data, size_t len, struct buf *reply,
		   struct db_err *e)
{
	const char *p[] = { n->wf, payload(data, len), callers_identity() };
	PGresult *r;
	int rc;
	if (strcmp(n->name, "result") == 0) {
		rc = db_query(&r, e, false,
			      "SELECT durable.complete_activity_task($1, $2::jsonb, $3)", 3, p);
		if (rc == 0)
			rc = buf_puts(reply, "COMPLETED\n");
	} else if (strcmp(n->name, "failure") == 0) {
		rc = db_query(&r, e, false,
			      "SELECT durable.fail_activity_task($1, $2::jsonb, $3)", 3, p);
		if (rc == 0)
			rc = buf_printf(reply, "%s\n", PQgetvalue(r, 0, 0));
	} else {
		rc = db_query(&r, e, false,
			      "SELECT cancel_requested, paused"
			      " FROM durable.heartbeat_activity_task_status($1, $2::jsonb)", 2, p);
		/* the worker learns here that the workflow wants the activity to
		 * stop, or that an operator paused it (stop, and fail the attempt) */
		if (rc == 0)
			rc = buf_printf(reply, "cancel_requested %s\npaused %s\n",
					strcmp(PQgetvalue(r, 0, PQfnumber(r, "cancel_requested")), "t") == 0 ? "true" : "false",
					strcmp(PQgetvalue(r, 0, PQfnumber(r, "paused")), "t") == 0 ? "true" : "false");
	}
	if (r)
		PQclear(r);
	return rc;
}

int write_apply(const struct node *n, const char *data, size_t len, struct buf *reply,
		struct db_err *e)
{
	/* a private, NUL-terminated copy: libpq and strtok need one */
	char *text = malloc(len + 1);
	if (!text)
		return -ENOMEM;
	memcpy(text, data, len);
	text[len] = '\0';
	int rc;
	if (memchr(data, '\0', len)) {
		rc = fail(e, EINVAL, "NUL bytes in a %s", "write");
	} else {
		switch (n->kind) {
		case K_START: rc = do_start(text, len, reply, e); break;
		case K_SIGNAL: rc = do_signal(n, text, len, e); break;
		case K_CTL: rc = do_ctl(n, text, e); break;
		case K_SCTL: rc = do_sctl(n, text, e); break;
		case K_BCTL: rc = batch_ctl(n->wf, text, e); break;
		case K_SATTRS: rc = sattr_ctl(text, e); break;
		case K_BSTART:
			rc = blank(text, len) ? fail(e, EINVAL, "batch spec: %snothing written", "")
					      : batch_start(text, reply, e);
			break;
		case K_SDOC: rc = do_sdoc(n, text, len, e); break;
		case K_TASKFILE: rc = do_task(n, text, len, reply, e); break;
		case K_ACTL: rc = do_actl(n, text, e); break;
		case K_AOPTS: rc = do_activity_options(n, text, len, reply, e); break;
		case K_QLIMIT: case K_KLIMIT: rc = do_queue_limit(n, text, e); break;
		case K_QBUILD: rc = do_queue_builds(n, text, e); break;
		case K_QUERY: case K_UPDATE:
			/* the arguments (jscan checked them), sent by the next read */
			rc = blank(text, len) ? 0 : buf_append(reply, text, len);
			break;
		default: rc = fail(e, EBADF, "%s is not writable", "file"); break;
		}
	}
	free(text);
	if (rc == 0 && (n->kind == K_SIGNAL || n->kind == K_CTL))
		watch_kick(n->wf);
	return rc;
}
