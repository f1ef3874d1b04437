/* The shape of the tree: which names exist under which folder, and modes. */
#define _POSIX_C_SOURCE 200809L
#include "callers.h"
#include "fs.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct child root_children[] = {
	{ "README", K_README }, { "start", K_START }, { "metrics", K_METRICS },
	{ "last-error", K_LASTERR }, { "workflows", K_WORKFLOWS },
	{ "by-status", K_BYSTATUS }, { "task-queues", K_QUEUES }, { "tasks", K_TASKS },
	{ "schedules", K_SCHEDULES }, { "where", K_WHERE }, { "batches", K_BATCHES },
	{ "search-attributes", K_SATTRS }, { NULL, 0 },
};

/* A run folder shows the run's own state; the workflow folder adds controls. */
#define RUN_FILES \
	{ "status", K_FIELD }, { "type", K_FIELD }, { "task_queue", K_FIELD }, \
	{ "run_id", K_FIELD }, { "started_at", K_FIELD }, { "closed_at", K_FIELD }, \
	{ "input", K_FIELD }, { "result", K_FIELD }, { "failure", K_FIELD }, \
	{ "pending", K_FIELD }, { "paused", K_FIELD }, { "history", K_HISTORY }
static const struct child wf_children[] = {
	RUN_FILES, { "signals", K_SIGNALS }, { "queries", K_QUERIES }, { "updates", K_UPDATES }, { "ctl", K_CTL },
	{ "activities", K_ACTS }, { "runs", K_RUNS }, { "last-error", K_LASTERR }, { NULL, 0 },
};
/* One pending activity of the workflow's latest run. */
static const struct child act_children[] = {
	{ "type", K_AFILE }, { "state", K_AFILE }, { "attempt", K_AFILE }, { "paused", K_AFILE },
	{ "last_failure", K_AFILE }, { "info", K_AFILE }, { "options", K_AOPTS }, { "ctl", K_ACTL },
	{ "last-error", K_LASTERR }, { NULL, 0 },
};
static const struct child run_children[] = { RUN_FILES, { NULL, 0 } };
static const struct child queue_children[] = {
	{ "backlog", K_QFILE }, { "pollers", K_QFILE }, { "tasks", K_QFILE }, { "next", K_NEXT },
	{ "max_concurrent", K_QLIMIT }, { "rate_per_second", K_QLIMIT },
	{ "key_max_concurrent", K_QLIMIT }, { "key_rate_per_second", K_QLIMIT }, { "keys", K_QKEYS },
	{ "build-ids", K_QBUILD }, { "last-error", K_LASTERR }, { NULL, 0 },
};
/* One fairness key's own limits in a queue. */
static const struct child key_children[] = {
	{ "max_concurrent", K_KLIMIT }, { "rate_per_second", K_KLIMIT }, { "last-error", K_LASTERR },
	{ NULL, 0 },
};
static const struct child task_children[] = {
	{ "result", K_TASKFILE }, { "failure", K_TASKFILE }, { "heartbeat", K_TASKFILE },
	{ "last-error", K_LASTERR }, { NULL, 0 },
};
static const struct child sched_children[] = {
	{ "spec", K_SDOC }, { "action", K_SDOC }, { "paused", K_SFILE },
	{ "next_runs", K_SFILE }, { "info", K_SFILE }, { "ctl", K_SCTL },
	{ "last-error", K_LASTERR }, { NULL, 0 },
};
static const struct child batch_children[] = {
	{ "operation", K_BFILE }, { "query", K_BFILE }, { "state", K_BFILE }, { "total", K_BFILE },
	{ "done", K_BFILE }, { "failed", K_BFILE }, { "rate_per_second", K_BFILE }, { "info", K_BFILE },
	{ "ctl", K_BCTL }, { "last-error", K_LASTERR }, { NULL, 0 },
};
static const struct child no_children[] = { { NULL, 0 } };

static const char *const statuses[] = {
	"RUNNING", "COMPLETED", "FAILED", "CANCELED", "TERMINATED", "TIMED_OUT",
	"CONTINUED_AS_NEW", NULL,
};

const struct child *tree_children(enum kind k)
{
	switch (k) {
	case K_ROOT: return root_children;
	case K_WF: return wf_children;
	case K_RUN: return run_children;
	case K_QUEUE: return queue_children;
	case K_TASK: return task_children;
	case K_SCHED: return sched_children;
	case K_ACT: return act_children;
	case K_BATCH: return batch_children;
	case K_QKEY: return key_children;
	default: return no_children;
	}
}

/* The last-error file that reports on writes to files of this folder. */
char *tree_folder_key(const struct node *n)
{
	struct buf b = { 0 };
	switch (n->kind) {
	case K_WF: case K_SIGNAL: case K_QUERY: case K_UPDATE: case K_CTL:
		buf_printf(&b, "w/%s", n->wf);
		break;
	case K_QUEUE: case K_NEXT: case K_QLIMIT: case K_QBUILD: case K_QKEY: case K_KLIMIT:
		buf_printf(&b, "q/%s", n->wf); /* a key's writes report in its queue's last-error too */
		break;
	case K_ACT: case K_AOPTS: case K_ACTL:
		buf_printf(&b, "a/%s/%s", n->wf, n->run);
		break;
	case K_TASK: case K_TASKFILE:
		buf_printf(&b, "t/%s", n->wf);
		break;
	case K_SCHED: case K_SCTL: case K_SDOC:
		buf_printf(&b, "s/%s", n->wf);
		break;
	case K_BATCH: case K_BCTL:
		buf_printf(&b, "b/%s", n->wf);
		break;
	default:
		buf_puts(&b, "/");
		break;
	}
	return b.data;
}

static bool is_status(const char *s)
{
	for (int i = 0; statuses[i]; i++)
		if (strcmp(statuses[i], s) == 0)
			return true;
	return false;
}

static bool matches(const char *s, const char *pattern)
{
	regex_t re;
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB))
		return false;
	bool ok = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static int lookup_static(const struct node *parent, const char *name, struct node *child)
{
	const struct child *c = tree_children(parent->kind);
	for (; c->name; c++) {
		if (strcmp(c->name, name) != 0)
			continue;
		const char *key_name = name;
		char *folder = NULL;
		if (c->kind == K_LASTERR)
			key_name = folder = tree_folder_key(parent);
		int rc = nodes_lookup(c->kind, parent->wf, parent->run, key_name, child);
		free(folder);
		return rc;
	}
	return -ENOENT;
}

/*
 * Resolves name under parent into *child (nlookup taken). Existence of
 * database objects is checked here, so that `ls workflows/nope` fails.
 */
int tree_lookup(const struct node *parent, const char *name, struct node *child,
		struct db_err *e)
{
	int rc;
	switch (parent->kind) {
	case K_ROOT: case K_WF: case K_RUN: case K_QUEUE: case K_TASK: case K_SCHED: case K_ACT:
	case K_BATCH:
	case K_QKEY:
		return lookup_static(parent, name, child);
	case K_QKEYS:
		/* keys exist implicitly, as queues do: one without limits reads none */
		return nodes_lookup(K_QKEY, parent->wf, name, NULL, child);
	case K_ACTS:
		if ((rc = activity_exists(parent->wf, name, e)) != 0)
			return rc;
		return nodes_lookup(K_ACT, parent->wf, name, NULL, child);
	case K_WHERE:	/* the folder's name is the filter: it exists if the store compiles it */
		if ((rc = where_check(name, e)) != 0)
			return rc;
		return nodes_lookup(K_WHEREDIR, NULL, NULL, name, child);
	case K_WHEREDIR:
		if ((rc = where_has(parent->name, name, e)) != 0)
			return rc;
		return nodes_lookup(K_WHERELINK, name, NULL, parent->name, child);
	case K_BATCHES:
		if (strcmp(name, "start") == 0)
			return nodes_lookup(K_BSTART, NULL, NULL, "start", child);
		if ((rc = batch_exists(name, e)) != 0)
			return rc;
		return nodes_lookup(K_BATCH, name, NULL, NULL, child);
	case K_SCHEDULES:
		if ((rc = schedule_exists(name, e)) != 0)
			return rc;
		return nodes_lookup(K_SCHED, name, NULL, NULL, child);
	case K_WORKFLOWS:
		if ((rc = workflow_exists(name, NULL, e)) != 0)
			return rc;
		return nodes_lookup(K_WF, name, NULL, NULL, child);
	case K_SIGNALS:
		return nodes_lookup(K_SIGNAL, parent->wf, NULL, name, child);
	case K_QUERIES:
		return nodes_lookup(K_QUERY, parent->wf, NULL, name, child);
	case K_UPDATES:
		return nodes_lookup(K_UPDATE, parent->wf, NULL, name, child);
	case K_RUNS:
		if (!matches(name, "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"))
			return -ENOENT;
		if ((rc = workflow_exists(parent->wf, name, e)) != 0)
			return rc;
		return nodes_lookup(K_RUN, parent->wf, name, NULL, child);
	case K_BYSTATUS:
		if (!is_status(name))
			return -ENOENT;
		return nodes_lookup(K_STATUSDIR, NULL, NULL, name, child);
	case K_STATUSDIR: {
		struct buf status = { 0 };
		rc = workflow_field(name, NULL, "status", &status, e);
		bool same = rc == 0 && status.len > 0 &&
			    strncmp(status.data, parent->name, status.len - 1) == 0 &&
			    strlen(parent->name) == status.len - 1;
		buf_free(&status);
		if (rc)
			return rc;
		if (!same)
			return -ENOENT;
		return nodes_lookup(K_STATUSLINK, name, NULL, parent->name, child);
	}
	case K_QUEUES:
		/* Queues exist implicitly, as in Temporal: next on a new one waits. */
		return nodes_lookup(K_QUEUE, name, NULL, NULL, child);
	case K_TASKS:
		if (!matches(name, "^a[0-9]{1,18}\\.[0-9]{1,18}$"))
			return -ENOENT;
		return nodes_lookup(K_TASK, name, NULL, NULL, child);
	default:
		return -ENOTDIR;
	}
}

int tree_stat(const struct node *n, struct stat *st, struct db_err *e)
{
	memset(st, 0, sizeof *st);
	st->st_ino = n->ino;
	st->st_mode = kind_info(n->kind)->mode;
	st->st_nlink = kind_is_dir(n->kind) ? 2 : 1;
	st->st_uid = getuid();
	st->st_gid = getgid();
	callers_stat(n, st); /* modes say what this caller's role may do */
	st->st_blksize = 4096;
	/* everything is as of now: the content is computed when read */
	st->st_atime = st->st_mtime = st->st_ctime = time(NULL);
	if (S_ISLNK(st->st_mode)) {
		st->st_size = (off_t)(strlen("../../workflows/") + strlen(n->wf));
		return 0;
	}
	if (n->kind == K_HISTORY)
		return history_stat(n, st, e);
	/*
	 * Sizes are the truth for files whose content is cheap to compute;
	 * queries and next would have to run or lease to know, so they are 0
	 * like /proc files, and every dynamic file is direct_io so reads are
	 * never cut at a stale size.
	 */
	if (!kind_info(n->kind)->sized)
		return 0;
	struct buf b = { 0 };
	int rc = content_render(n, &b, e);
	st->st_size = (off_t)b.len;
	buf_free(&b);
	return rc;
}

/* The path of a file from the mount's root, as the user wrote it: for last-error. */
char *tree_path(const struct node *n)
{
	struct buf b = { 0 };
	const char *wf = n->wf ? n->wf : "", *name = n->name ? n->name : "";
	switch (n->kind) {
	case K_SIGNAL: buf_printf(&b, "workflows/%s/signals/%s", wf, name); break;
	case K_QUERY: buf_printf(&b, "workflows/%s/queries/%s", wf, name); break;
	case K_UPDATE: buf_printf(&b, "workflows/%s/updates/%s", wf, name); break;
	case K_CTL: buf_printf(&b, "workflows/%s/ctl", wf); break;
	case K_NEXT: buf_printf(&b, "task-queues/%s/next", wf); break;
	case K_TASKFILE: buf_printf(&b, "tasks/%s/%s", wf, name); break;
	case K_SCTL: buf_printf(&b, "schedules/%s/ctl", wf); break;
	case K_AOPTS: case K_ACTL: case K_AFILE:
		buf_printf(&b, "workflows/%s/activities/%s/%s", wf, n->run, name);
		break;
	case K_QLIMIT: case K_QBUILD: buf_printf(&b, "task-queues/%s/%s", wf, name); break;
	case K_KLIMIT: buf_printf(&b, "task-queues/%s/keys/%s/%s", wf, n->run, name); break;
	case K_SDOC: buf_printf(&b, "schedules/%s/%s", wf, name); break;
	case K_START: buf_puts(&b, "start"); break;
	case K_BSTART: buf_puts(&b, "batches/start"); break;
	case K_SATTRS: buf_puts(&b, "search-attributes"); break;
	case K_BCTL: buf_printf(&b, "batches/%s/ctl", wf); break;
	default:
		if (n->run)
			buf_printf(&b, "workflows/%s/runs/%s/%s", wf, n->run, name);
		else if (n->wf)
			buf_printf(&b, "%s/%s", wf, name);
		else
			buf_puts(&b, name);
		break;
	}
	return b.data;
}
