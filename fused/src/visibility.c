/*
 * where/<filter>/ and batches/: the list filter language and batch jobs in
 * the mount. A folder under where/ is named by its filter (Temporal's list
 * filter syntax, the store compiles it) and holds a symlink per workflow id
 * that has a run matching it; batches/<job_id>/ shows a batch job and takes
 * "stop" in its ctl; writing a JSON spec to batches/start starts one;
 * search-attributes lists the namespace's typed search attributes and takes
 * "add <name> <type>" and "remove <name>" from an administrator.
 * Every SQL call of these folders is named here.
 */
#define _POSIX_C_SOURCE 200809L
#include "callers.h"
#include "fs.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether the store compiles the filter (its errors then point into it). */
#define WHERE_CHECK_SQL \
	"SELECT 1 FROM durable.list_workflows(query => $1, page_size => 1, namespace => $2)"
/* The filter's runs in workflow id order, a page at a time (after_run_id). */
#define WHERE_PAGE_SQL \
	"SELECT workflow_id, run_id FROM durable.list_workflows(query => $1 || ' ORDER BY WorkflowId'," \
	" after_run_id => $2::uuid, page_size => $3::int, namespace => $4)"
/* Whether a workflow id has a run the filter matches. */
#define WHERE_HAS_SQL \
	"SELECT 1 FROM durable.list_workflows(query => '(' || $1 || ') AND WorkflowId = ' || $2," \
	" page_size => 1, namespace => $3)"
/* A column a file of batches/<job_id>/, named as the file (render_column finds it by name). */
#define BATCH_SQL \
	"SELECT d->>'operation' AS operation, d->>'query' AS query, d->>'state' AS state," \
	" d->>'total' AS total, d->>'done' AS done, d->>'failed' AS failed," \
	" d->>'rate_per_second' AS rate_per_second, d AS info FROM durable.describe_batch_job($1, $2) d"
#define BATCH_LIST_SQL "SELECT job_id FROM durable.list_batch_jobs($1)"
#define BATCH_START_SQL \
	"WITH x AS (SELECT $1::jsonb s)," \
	" chk AS (SELECT CASE" \
	"   WHEN jsonb_typeof(s) IS DISTINCT FROM 'object' THEN 'batch spec: not a JSON object'" \
	"   WHEN k.bad IS NOT NULL THEN format('batch spec: unknown key \"%s\"" \
	" (use job_id, operation, query, arguments, rate_per_second)', k.bad)" \
	"   WHEN jsonb_typeof(s->'job_id') IS DISTINCT FROM 'string' THEN 'batch spec: \"job_id\" must be a string'" \
	"   WHEN jsonb_typeof(s->'operation') IS DISTINCT FROM 'string' THEN 'batch spec: \"operation\" must be a string'" \
	"   WHEN jsonb_typeof(s->'query') IS DISTINCT FROM 'string' THEN 'batch spec: \"query\" must be a string'" \
	"   WHEN s ? 'rate_per_second' AND jsonb_typeof(s->'rate_per_second') <> 'number'" \
	"     THEN 'batch spec: \"rate_per_second\" must be a number'" \
	"  END AS problem, s FROM x, LATERAL (SELECT min(key) bad FROM jsonb_object_keys(" \
	"     CASE WHEN jsonb_typeof(s) = 'object' THEN s ELSE '{}' END) key" \
	"     WHERE key NOT IN ('job_id', 'operation', 'query', 'arguments', 'rate_per_second')) k)" \
	"SELECT problem, CASE WHEN problem IS NULL THEN durable.start_batch_job(s->>'job_id', s->>'operation'," \
	" s->>'query', coalesce(s->'arguments', '{}'), coalesce((s->>'rate_per_second')::float8, 50), $2) END" \
	" FROM chk"
#define BATCH_STOP_SQL "SELECT durable.stop_batch_job($1, $2, $3)"
#define SATTR_LIST_SQL \
	"SELECT name, type, CASE WHEN builtin THEN 'builtin' ELSE 'declared' END AS kind" \
	" FROM durable.list_search_attributes($1)"
#define SATTR_ADD_SQL "SELECT durable.add_search_attribute($1, $2, $3)"
#define SATTR_REMOVE_SQL "SELECT durable.remove_search_attribute($1, $2)"

/* A filter the store refuses is bad input, whatever its SQLSTATE (42601
 * syntax, 42703 an unknown attribute, 42883 an operator its type lacks). */
static int filter_errno(int rc, const struct db_err *e)
{
	return rc && strstr(e->msg, "list filter:") ? -EINVAL : rc;
}

/*
 * A folder of where/ exists if its name is a filter the store compiles, in
 * the folder's order (so no ORDER BY of its own): one query when it does; on
 * a refusal, the filter alone says whether the ORDER BY was what was wrong.
 * The reason of a refusal goes to the root's last-error.
 */
int where_check(const char *filter, struct db_err *e)
{
	const char *check[] = { filter, conf.ns };
	const char *page[] = { filter, NULL, "1", conf.ns };
	PGresult *r;
	int rc = filter_errno(db_query(&r, e, true, WHERE_PAGE_SQL, 4, page), e);
	PQclear(r);
	if (rc) {
		struct db_err page_err = *e;
		int check_rc = filter_errno(db_query(&r, e, true, WHERE_CHECK_SQL, 2, check), e);
		PQclear(r);
		if (check_rc)
			rc = check_rc;	/* the filter itself: its own reason */
		else if (rc == -EINVAL)
			snprintf(e->msg, sizeof e->msg, "%s", "list filter: a folder of where/ lists workflow ids"
				 " in id order: its filter takes no ORDER BY");
		else
			*e = page_err;
	}
	if (rc)
		lasterr_set("/", "lookup where/", -rc, e->msg);
	return rc;
}

/* The id as a string of the filter language: quoted, quotes and backslashes escaped. */
static char *filter_string(const char *s)
{
	struct buf b = { 0 };
	buf_puts(&b, "'");
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			buf_append(&b, "\\", 1);
		buf_append(&b, s, 1);
	}
	if (buf_puts(&b, "'")) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

int where_has(const char *filter, const char *wf, struct db_err *e)
{
	char *id = filter_string(wf);
	if (!id)
		return -ENOMEM;
	const char *p[] = { filter, id, conf.ns };
	PGresult *r;
	int rc = filter_errno(db_query(&r, e, true, WHERE_HAS_SQL, 3, p), e);
	free(id);
	if (rc == 0 && PQntuples(r) == 0)
		rc = -ENOENT;
	PQclear(r);
	return rc;
}

/*
 * The page of workflow ids after run after_run (NULL: the first): ids of
 * several matching runs come together (id order) and are named once; *last_run
 * gets the page's last run id, for the next page; *more whether there is one.
 */
int where_page(const char *filter, const char *after_run, int page, const char *last_name,
	       int (*add)(void *, const char *), void *arg, char **last_run, bool *more,
	       struct db_err *e)
{
	char size[16];
	snprintf(size, sizeof size, "%d", page);
	const char *p[] = { filter, after_run, size, conf.ns };
	PGresult *r;
	int rc = filter_errno(db_query(&r, e, true, WHERE_PAGE_SQL, 4, p), e);
	if (rc)
		return rc;
	int id = PQfnumber(r, "workflow_id"), run = PQfnumber(r, "run_id"), n = PQntuples(r);
	const char *prev = last_name;
	for (int i = 0; rc == 0 && i < n; i++) {
		const char *name = PQgetvalue(r, i, id);
		if (!prev || strcmp(prev, name) != 0)
			rc = add(arg, name);
		prev = name;
	}
	if (rc == 0) {
		free(*last_run);
		*last_run = n ? xstrdup(PQgetvalue(r, n - 1, run)) : NULL;
		*more = n == page;
	}
	PQclear(r);
	return rc;
}

int batch_exists(const char *id, struct db_err *e)
{
	const char *p[] = { id, conf.ns };
	PGresult *r;
	int rc = db_query(&r, e, true, BATCH_SQL, 2, p);
	PQclear(r);
	return rc && strncmp(e->msg, "42704", 5) == 0 ? -ENOENT : rc; /* no such job */
}

int batch_list(int (*add)(void *, const char *), void *arg, struct db_err *e)
{
	const char *p[] = { conf.ns };
	PGresult *r;
	int rc = db_query(&r, e, true, BATCH_LIST_SQL, 1, p);
	int col = rc ? 0 : PQfnumber(r, "job_id");
	for (int i = 0; rc == 0 && i < PQntuples(r); i++)
		rc = add(arg, PQgetvalue(r, i, col));
	PQclear(r);
	return rc;
}

/* operation query state total done failed rate_per_second: one value each; info: JSON */
int batch_render(const char *id, const char *file, struct buf *out, struct db_err *e)
{
	const char *p[] = { id, conf.ns };
	return render_column(BATCH_SQL, 2, p, file, out, e);
}

int batch_start(const char *spec, struct buf *reply, struct db_err *e)
{
	const char *p[] = { spec, conf.ns };
	PGresult *r;
	int rc = db_query(&r, e, false, BATCH_START_SQL, 2, p);
	if (rc && strncmp(e->msg, "42710", 5) == 0)
		return -EEXIST; /* the job id is taken */
	if (rc)
		return filter_errno(rc, e);
	if (!PQgetisnull(r, 0, 0)) {
		snprintf(e->msg, sizeof e->msg, "%s", PQgetvalue(r, 0, 0));
		rc = -EINVAL;
	} else {
		rc = buf_printf(reply, "%s\n", PQgetvalue(r, 0, 1)); /* how many runs it acts on */
	}
	PQclear(r);
	return rc;
}

/* "stop [reason]": the only verb; a stopped or completed job stays as it is. */
int batch_ctl(const char *id, char *text, struct db_err *e)
{
	char *line = text;
	while (isspace((unsigned char)*line))
		line++;
	size_t l = strlen(line);
	while (l && isspace((unsigned char)line[l - 1]))
		line[--l] = '\0';
	if (strchr(line, '\n')) {
		snprintf(e->msg, sizeof e->msg, "ctl: one verb per write (\"stop [reason]\")");
		return -EINVAL;
	}
	char *reason = line + strcspn(line, " \t");
	if (*reason)
		*reason++ = '\0';
	while (isspace((unsigned char)*reason))
		reason++;
	if (strcmp(line, "stop") != 0) {
		snprintf(e->msg, sizeof e->msg, "ctl: unknown verb \"%.64s\" (use stop [reason])", line);
		return -EINVAL;
	}
	const char *p[] = { id, *reason ? reason : NULL, conf.ns };
	PGresult *r;
	int rc = db_query(&r, e, false, BATCH_STOP_SQL, 3, p);
	PQclear(r);
	return rc;
}

/* name type builtin|declared, one attribute a line (flat keyed, like cgroup files) */
int sattr_render(struct buf *out, struct db_err *e)
{
	const char *p[] = { conf.ns };
	PGresult *r;
	int rc = db_query(&r, e, true, SATTR_LIST_SQL, 1, p);
	if (rc)
		return rc;
	int name = PQfnumber(r, "name"), type = PQfnumber(r, "type"), kind = PQfnumber(r, "kind");
	for (int i = 0; rc == 0 && i < PQntuples(r); i++)
		rc = buf_printf(out, "%s %s %s\n", PQgetvalue(r, i, name), PQgetvalue(r, i, type),
				PQgetvalue(r, i, kind));
	PQclear(r);
	return rc;
}

/*
 * "add <name> <type>" and "remove <name>", a line each, all checked, then
 * applied in one transaction: all or none.
 */
int sattr_ctl(char *text, struct db_err *e)
{
	struct db_stmt stmts[16];
	int count = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *words = NULL;
		char *verb = strtok_r(line, " \t", &words), *name = verb ? strtok_r(NULL, " \t", &words) : NULL;
		char *type = name ? strtok_r(NULL, " \t", &words) : NULL;
		char *extra = type ? strtok_r(NULL, " \t", &words) : NULL;
		if (!verb)
			continue;
		if (count == 16) {
			snprintf(e->msg, sizeof e->msg, "search-attributes: at most 16 verbs per write");
			return -EINVAL;
		}
		bool add = strcmp(verb, "add") == 0;
		if (!(add || strcmp(verb, "remove") == 0) || !name || (add ? !type || extra : type != NULL)) {
			snprintf(e->msg, sizeof e->msg,
				 "search-attributes: \"%.64s\" is not \"add <name> <type>\" or \"remove <name>\"", verb);
			return -EINVAL;
		}
		stmts[count++] = add ? (struct db_stmt){ SATTR_ADD_SQL, 3, { name, type, conf.ns } }
				     : (struct db_stmt){ SATTR_REMOVE_SQL, 2, { name, conf.ns } };
	}
	if (count == 0) {
		snprintf(e->msg, sizeof e->msg, "search-attributes: no verb written");
		return -EINVAL;
	}
	int rc = db_transaction(stmts, count, e);
	if (rc && strncmp(e->msg, "42710", 5) == 0)
		return -EEXIST;		/* declared already */
	if (rc && strncmp(e->msg, "42704", 5) == 0)
		return -ENOENT;		/* not declared */
	if (rc && strncmp(e->msg, "54000", 5) == 0)
		return -ENOSPC;		/* no free slot of that type */
	return rc;
}
