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

/* Starting: {"type", "id", "task_queue", "input", "options"}, checked by the store (sql_start_workflow). */
static int do_start(const char *data, size_t len, struct buf *reply, struct db_err *e)
{
	if (!payload(data, len))
		return fail(e, EINVAL, "start spec: %snothing written", "");
	const char *p[] = { data, conf.ns };
	PGresult *r;
	int rc = db_query(&r, e, false, &sql_start_workflow, p);
	if (rc)
		return rc;
	if (!db_null(r, 0, "problem"))
		rc = fail(e, EINVAL, "%s", db_col(r, 0, "problem"));
	else
		rc = buf_printf(reply, "%s\n", db_col(r, 0, "run_id"));
	PQclear(r);
	return rc;
}

static int do_signal(const struct node *n, const char *data, size_t len, struct db_err *e)
{
	const char *p[] = { n->wf, n->name, payload(data, len), conf.ns, callers_identity() };
	return db_run(e, false, &sql_signal_workflow, p);
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
		static const struct sql_call *const calls[] = {
			[V_CANCEL] = &sql_cancel_workflow, [V_TERMINATE] = &sql_terminate_workflow,
			[V_RESET] = &sql_reset_workflow, [V_DELETE] = &sql_delete_workflow,
			[V_PAUSE] = &sql_pause_workflow, [V_UNPAUSE] = &sql_unpause_workflow,
		};
		*s = (struct db_stmt){ calls[verbs[i].op],
			{ n->wf, verbs[i].arg, conf.ns, callers_identity(), verbs[i].event_id } };
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
	const struct sql_call *call;	/* $1 schedule id, $2 namespace, $3... args */
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
		v->call = verb[0] == 'p' ? &sql_pause_schedule : &sql_unpause_schedule;
		v->args[0] = *rest ? rest : NULL; /* the note: the rest of the line */
		return 0;
	}
	if (strcmp(verb, "set") == 0) {
		if (!*rest)
			return fail(e, EINVAL, "ctl: %s", "set needs the policies to change, as a JSON object");
		v->call = &sql_set_schedule_policies;
		v->args[0] = rest; /* the store reads the JSON and says what is wrong with it */
		return 0;
	}
	if (strcmp(verb, "trigger") == 0) {
		v->call = &sql_trigger_schedule;
		v->args[0] = next_word(&rest);
	} else if (strcmp(verb, "backfill") == 0) {
		v->call = &sql_backfill_schedule;
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
		stmts[i] = (struct db_stmt){ verbs[i].call,
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
		*s = (struct db_stmt){ NULL, { n->wf, n->run, conf.ns, *rest ? rest : NULL } };
		if (strcmp(verb, "pause") == 0) {
			s->call = &sql_pause_activity;
		} else if (strcmp(verb, "unpause") == 0 && !*rest) {
			s->call = &sql_unpause_activity;
		} else if (strcmp(verb, "reset") == 0 && (!*rest || strcmp(rest, "heartbeat") == 0)) {
			s->call = *rest ? &sql_reset_activity_heartbeat : &sql_reset_activity;
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
	int rc = db_query(&r, e, false, &sql_update_activity_options, p);
	if (rc == 0)
		rc = buf_printf(reply, "%s\n", db_col(r, 0, "options"));
	PQclear(r);
	return rc;
}

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
	return db_run(e, false, n->kind == K_KLIMIT ? &sql_set_key_limit : &sql_set_queue_limit, p);
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
	return db_run(e, false, &sql_set_build_id_rules, p);
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
	return db_run(e, false, strcmp(n->name, "spec") == 0 ? &sql_update_schedule_spec : &sql_update_schedule_action,
		      p);
}

static int do_task(const struct node *n, const char *data, size_t len, struct buf *reply,
		   struct db_err *e)
{
	const char *p[] = { n->wf, payload(data, len), callers_identity() };
	PGresult *r;
	int rc;
	if (strcmp(n->name, "result") == 0) {
		rc = db_query(&r, e, false, &sql_complete_activity_task, p);
		if (rc == 0)
			rc = buf_puts(reply, "COMPLETED\n");
	} else if (strcmp(n->name, "failure") == 0) {
		rc = db_query(&r, e, false, &sql_fail_activity_task, p);
		if (rc == 0)
			rc = buf_printf(reply, "%s\n", db_col(r, 0, "outcome"));
	} else {
		rc = db_query(&r, e, false, &sql_heartbeat_activity_task, p);
		/* the worker learns here that the workflow wants the activity to
		 * stop, or that an operator paused it (stop, and fail the attempt) */
		if (rc == 0)
			rc = buf_printf(reply, "cancel_requested %s\npaused %s\n",
					db_true(r, 0, "cancel_requested") ? "true" : "false",
					db_true(r, 0, "paused") ? "true" : "false");
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
