/*
 * where/<filter>/ and batches/: the list filter language and batch jobs in
 * the mount. A folder under where/ is named by its filter (Temporal's list
 * filter syntax, the store compiles it) and holds a symlink per workflow id
 * that has a run matching it; batches/<job_id>/ shows a batch job and takes
 * "stop" in its ctl; writing a JSON spec to batches/start starts one;
 * search-attributes lists the namespace's typed search attributes and takes
 * "add <name> <type>" and "remove <name>" from an administrator.
 * Their SQL calls are in sql.c (sql_where_*, sql_batch_*, sql_*search_attribute*).
 */
#define _POSIX_C_SOURCE 200809L
#include "callers.h"
#include "fs.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	int rc = filter_errno(db_run(e, true, &sql_where_page, page), e);
	if (rc) {
		struct db_err page_err = *e;
		int check_rc = filter_errno(db_run(e, true, &sql_where_check, check), e);
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
	int rc = filter_errno(db_query(&r, e, true, &sql_where_has, p), e);
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
	int rc = filter_errno(db_query(&r, e, true, &sql_where_page, p), e);
	if (rc)
		return rc;
	int n = PQntuples(r);
	const char *prev = last_name;
	for (int i = 0; rc == 0 && i < n; i++) {
		const char *name = db_col(r, i, "workflow_id");
		if (!prev || strcmp(prev, name) != 0)
			rc = add(arg, name);
		prev = name;
	}
	if (rc == 0) {
		free(*last_run);
		*last_run = n ? xstrdup(db_col(r, n - 1, "run_id")) : NULL;
		*more = n == page;
	}
	PQclear(r);
	return rc;
}

int batch_exists(const char *id, struct db_err *e)
{
	const char *p[] = { id, conf.ns };
	int rc = db_run(e, true, &sql_batch_files, p);
	return rc && strncmp(e->msg, "42704", 5) == 0 ? -ENOENT : rc; /* no such job */
}

int batch_list(int (*add)(void *, const char *), void *arg, struct db_err *e)
{
	const char *p[] = { conf.ns };
	PGresult *r;
	int rc = db_query(&r, e, true, &sql_batch_list, p);
	for (int i = 0; rc == 0 && i < PQntuples(r); i++)
		rc = add(arg, db_col(r, i, "job_id"));
	PQclear(r);
	return rc;
}

/* operation query state total done failed rate_per_second: one value each; info: JSON */
int batch_render(const char *id, const char *file, struct buf *out, struct db_err *e)
{
	const char *p[] = { id, conf.ns };
	return render_column(&sql_batch_files, p, file, out, e);
}

int batch_start(const char *spec, struct buf *reply, struct db_err *e)
{
	const char *p[] = { spec, conf.ns };
	PGresult *r;
	int rc = db_query(&r, e, false, &sql_batch_start, p);
	if (rc && strncmp(e->msg, "42710", 5) == 0)
		return -EEXIST; /* the job id is taken */
	if (rc)
		return filter_errno(rc, e);
	if (!db_null(r, 0, "problem")) {
		snprintf(e->msg, sizeof e->msg, "%s", db_col(r, 0, "problem"));
		rc = -EINVAL;
	} else {
		rc = buf_printf(reply, "%s\n", db_col(r, 0, "runs"));
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
	return db_run(e, false, &sql_batch_stop, p);
}

/* name type builtin|declared, one attribute a line (flat keyed, like cgroup files) */
int sattr_render(struct buf *out, struct db_err *e)
{
	const char *p[] = { conf.ns };
	PGresult *r;
	int rc = db_query(&r, e, true, &sql_search_attributes, p);
	if (rc)
		return rc;
	for (int i = 0; rc == 0 && i < PQntuples(r); i++)
		rc = buf_printf(out, "%s %s %s\n", db_col(r, i, "name"), db_col(r, i, "type"),
				db_col(r, i, "kind"));
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
		stmts[count++] = add ? (struct db_stmt){ &sql_add_search_attribute, { name, type, conf.ns } }
				     : (struct db_stmt){ &sql_remove_search_attribute, { name, conf.ns } };
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
