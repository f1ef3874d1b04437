/*
 * Folder listings. Small folders are listed once when opened; workflows/ and
 * by-status/<STATUS>/ are streamed with the store's keyset paging
 * (list_workflows after_workflow_id), one page in memory at a time, so a
 * million workflows never sit in the daemon at once.
 */
#define _POSIX_C_SOURCE 200809L
#include "fs.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 1000

static const char *const statuses[] = {
	"RUNNING", "COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT",
	"CONTINUED_AS_NEW",
};

struct listing {
	enum kind kind;
	char *wf, *status;	/* for runs/ and by-status/<STATUS>/ */
	char *filter, *last_run;	/* for where/<filter>/: its pages go by run id */
	bool paged;
	char **names;		/* the page (or the whole small list) */
	mode_t *types;
	long base;		/* entry index of names[0] */
	int n;
	bool eof;		/* no page after this one */
};

/*
 * list_workflows in the first release of the store does not compile (its
 * OUT columns reuse parameter names: SQLSTATE 42P13). Until the fix ships we
 * read the same rows directly, which needs SELECT on durable.workflows
 * (durable_admin or superuser). See "Store gaps" in docs/filesystem.md.
 */
static atomic_bool list_broken;

static void clear_names(struct listing *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l->types);
	l->names = NULL;
	l->types = NULL;
	l->n = 0;
}

static int add(struct listing *l, const char *name, mode_t type)
{
	char **names = realloc(l->names, (size_t)(l->n + 1) * sizeof *names);
	if (!names)
		return -ENOMEM;
	l->names = names;
	mode_t *types = realloc(l->types, (size_t)(l->n + 1) * sizeof *types);
	if (!types)
		return -ENOMEM;
	l->types = types;
	if (!(l->names[l->n] = strdup(name)))
		return -ENOMEM;
	l->types[l->n++] = type;
	return 0;
}

static int add_link(void *arg, const char *name)
{
	return add(arg, name, S_IFLNK);
}

/*
 * A page of where/<filter>/: the workflow ids of the next runs that match,
 * each named once (a page that only repeats the last id is skipped).
 */
static int load_where_page(struct listing *l, const char *after, struct db_err *e)
{
	char *prev = xstrdup(after); /* after points into the page we drop */
	if (after && !prev)
		return -ENOMEM;
	if (!after) {
		free(l->last_run);
		l->last_run = NULL;
	}
	bool more = false;
	int rc;
	do {
		clear_names(l);
		char *from = xstrdup(l->last_run);
		rc = where_page(l->filter, from, PAGE, prev, add_link, l, &l->last_run, &more, e);
		free(from);
	} while (rc == 0 && l->n == 0 && more);
	l->eof = !more;
	free(prev);
	return rc;
}

/* Loads the page after `after` (NULL: the first page). */
static int load_page(struct listing *l, const char *after, struct db_err *e)
{
	if (l->kind == K_WHEREDIR)
		return load_where_page(l, after, e);
	char page[16];
	snprintf(page, sizeof page, "%d", PAGE);
	const char *p[] = { l->status, after, conf.ns, page };
	PGresult *r = NULL;
	int rc = -EIO;
	if (!atomic_load(&list_broken)) {
		rc = db_query(&r, e, true, &sql_list_workflows, p);
		if (rc && strncmp(e->msg, "42P13", 5) == 0) {
			logmsg("durable.list_workflows is broken (%s); reading durable.workflows", e->msg);
			atomic_store(&list_broken, true);
		}
	}
	if (atomic_load(&list_broken))
		rc = db_query(&r, e, true, &sql_list_workflows_from_table, p);
	if (rc)
		return rc;
	clear_names(l); /* after pointed into it, but the query is done */
	mode_t type = l->status ? S_IFLNK : S_IFDIR;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++)
		rc = add(l, db_col(r, i, "workflow_id"), type);
	l->eof = PQntuples(r) < PAGE;
	PQclear(r);
	return rc;
}

/*
 * A folder for each row's column of call's answer, in the store's order.
 * With file_names_only, names that cannot be file names (empty, or with a
 * slash) are left out: those are reached through SQL.
 */
static int add_dirs(struct listing *l, const struct sql_call *call, const char *const *p,
		    const char *column, bool file_names_only, struct db_err *e)
{
	PGresult *r;
	int rc = db_query(&r, e, true, call, p);
	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		const char *name = db_col(r, i, column);
		if (!file_names_only || (*name && !strchr(name, '/')))
			rc = add(l, name, S_IFDIR);
	}
	PQclear(r);
	return rc;
}

/* Every run of the id, oldest first (resets, reruns and continue-as-new). */
static int list_runs(struct listing *l, struct db_err *e)
{
	const char *p[] = { l->wf, conf.ns };
	return add_dirs(l, &sql_list_runs, p, "run_id", false, e);
}

static int list_queues(struct listing *l, struct db_err *e)
{
	const char *p[] = { conf.ns };
	int rc = add_dirs(l, &sql_list_task_queues, p, "task_queue", false, e);
	if (rc)
		return rc;
	/* a queue with limits but no work yet too, for those who may see limits
	 * (EXECUTE is checked before any row is read: ask first) */
	PGresult *r;
	rc = db_query(&r, e, true, &sql_may_list_queue_limits, NULL);
	bool may = rc == 0 && db_true(r, 0, "may");
	PQclear(r);
	if (rc || !may)
		return rc;
	return add_dirs(l, &sql_limited_queues_without_work, p, "task_queue", false, e);
}

/* The pending activities of the workflow's latest run, by activity id. */
static int list_activities(struct listing *l, struct db_err *e)
{
	const char *p[] = { l->wf, conf.ns };
	return add_dirs(l, &sql_list_pending_activities, p, "activity_id", true, e);
}

static int add_dir(void *arg, const char *name)
{
	return add(arg, name, S_IFDIR);
}

/* The fairness keys of a queue that have limits of their own. */
static int list_keys(struct listing *l, struct db_err *e)
{
	const char *p[] = { conf.ns, l->wf };
	return add_dirs(l, &sql_list_fairness_keys, p, "fairness_key", true, e);
}

static int list_schedules(struct listing *l, struct db_err *e)
{
	const char *p[] = { conf.ns };
	return add_dirs(l, &sql_list_schedules, p, "schedule_id", false, e);
}

struct listing *listing_open(const struct node *dir, struct db_err *e, int *err)
{
	struct listing *l = calloc(1, sizeof *l);
	if (!l) {
		*err = -ENOMEM;
		return NULL;
	}
	l->kind = dir->kind;
	l->wf = xstrdup(dir->wf);
	l->base = 2;
	int rc = 0;
	switch (dir->kind) {
	case K_WORKFLOWS:
		l->paged = true;
		break;
	case K_STATUSDIR:
		l->paged = true;
		l->status = xstrdup(dir->name);
		break;
	case K_BYSTATUS:
		for (size_t i = 0; rc == 0 && i < sizeof statuses / sizeof *statuses; i++)
			rc = add(l, statuses[i], S_IFDIR);
		break;
	case K_RUNS:
		rc = list_runs(l, e);
		break;
	case K_QUEUES:
		rc = list_queues(l, e);
		break;
	case K_SCHEDULES:
		rc = list_schedules(l, e);
		break;
	case K_ACTS:
		rc = list_activities(l, e);
		break;
	case K_WHEREDIR:
		l->paged = true;
		l->filter = xstrdup(dir->name);
		break;
	case K_BATCHES:
		if ((rc = add(l, "start", S_IFREG)) == 0)
			rc = batch_list(add_dir, l, e);
		break;
	case K_QKEYS:
		rc = list_keys(l, e);
		break;
	default:
		for (const struct child *c = tree_children(dir->kind); rc == 0 && c->name; c++)
			rc = add(l, c->name, kind_info(c->kind)->mode & S_IFMT);
		break;
	}
	if (rc == 0 && l->paged)
		rc = load_page(l, NULL, e);
	if (rc) {
		listing_close(l);
		*err = rc;
		return NULL;
	}
	return l;
}

int listing_get(struct listing *l, long idx, const char **name, mode_t *type,
		struct db_err *e)
{
	if (idx < 2) {
		*name = idx == 0 ? "." : "..";
		*type = S_IFDIR;
		return 1;
	}
	if (l->paged && idx < l->base) { /* seekdir backwards: start over */
		int rc = load_page(l, NULL, e);
		if (rc)
			return rc;
		l->base = 2;
	}
	while (l->paged && idx >= l->base + l->n && !l->eof && l->n > 0) {
		long next_base = l->base + l->n;
		int rc = load_page(l, l->names[l->n - 1], e);
		if (rc)
			return rc;
		l->base = next_base;
	}
	if (idx >= l->base + l->n)
		return 0;
	*name = l->names[idx - l->base];
	*type = l->types[idx - l->base];
	return 1;
}

void listing_close(struct listing *l)
{
	if (!l)
		return;
	clear_names(l);
	free(l->wf);
	free(l->status);
	free(l->filter);
	free(l->last_run);
	free(l);
}
