/* What each read-only file says, rendered from the store's SQL API. */
#define _POSIX_C_SOURCE 200809L
#include "fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char readme[] =
	"durablefs: durable workflows as files.\n"
	"\n"
	"  start                      write {\"type\",\"id\",\"input\",\"task_queue\",\"options\"} to start one\n"
	"  workflows/<id>/            status type task_queue run_id started_at closed_at: one value each\n"
	"                             input result failure pending: JSON; history: one JSON event per line\n"
	"                             signals/<name>: write JSON to signal; queries/<name>: read to query\n"
	"                             updates/<name>: write JSON arguments, read the update's result\n"
	"                             ctl: write \"cancel\", \"terminate <reason>\", \"reset <event_id>\" or \"delete\"\n"
	"                             ctl also takes \"pause [reason]\" and \"unpause\"; paused: true or false\n"
	"                             activities/<activity id>/: state attempt options ...; ctl: pause,\n"
	"                             unpause, reset; write JSON to options to change timeouts and retries\n"
	"                             runs/<run_id>/: every run of the id\n"
	"  by-status/<STATUS>/        symlinks to the workflows whose latest run has that status\n"
	"  task-queues/<name>/        backlog, pollers, tasks; next: read to lease one activity task\n"
	"                             max_concurrent rate_per_second key_max_concurrent key_rate_per_second:\n"
	"                             a number or \"none\"; write one to change it;\n"
	"                             keys/<fairness key>/max_concurrent, rate_per_second: one key's own\n"
	"                             build-ids: \"<default build> <PINNED|AUTO_UPGRADE>\" or \"none\"\n"
	"  tasks/<token>/             write JSON to result, failure or heartbeat\n"
	"  schedules/<id>/             spec action paused next_runs info; write JSON to spec or\n"
	"                             action to change those fields; ctl: pause, unpause,\n"
	"                             trigger, backfill <start> <end>, set <policies JSON>\n"
	"  where/<filter>/            symlinks to the workflows with a run the filter matches, e.g.\n"
	"                             ls \"where/WorkflowType = 'Billing' AND ExecutionStatus = 'Running'\"\n"
	"  batches/<job_id>/          operation query state total done failed info; ctl: stop [reason]\n"
	"                             batches/start: write {\"job_id\",\"operation\",\"query\",...} to start one\n"
	"  search-attributes          name type builtin|declared, a line each; an administrator writes\n"
	"                             \"add <name> <type>\" or \"remove <name>\"\n"
	"  metrics                    Prometheus text format\n"
	"  last-error                 why the last refused write in that folder was refused\n"
	"\n"
	"Refused writes fail with an errno (EINVAL bad input, ENOENT unknown workflow,\n"
	"EPERM workflow not running, EACCES not allowed, ESTALE lease lost, EIO database).\n"
	"Full reference: docs/filesystem.md.\n";

int workflow_exists(const char *wf, const char *run, struct db_err *e)
{
	/* max_events 0: the run is resolved (DU001 if none) but nothing is read */
	const char *p[] = { wf, run, conf.ns };
	return db_run(e, true, &sql_workflow_exists, p);
}

int workflow_field(const char *wf, const char *run, const char *field, struct buf *out,
		   struct db_err *e)
{
	if (!sql_returns(&sql_workflow_files, field))
		return -ENOENT;
	const char *p[] = { wf, run, conf.ns };
	PGresult *r;
	int rc = db_query(&r, e, true, &sql_workflow_files, p);
	if (rc)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return -ENOENT;
	}
	/*
	 * A value that does not exist (closed_at of a running workflow, result
	 * before completion, no failure) is an empty file, not "null": a
	 * workflow can complete with the JSON result null.
	 */
	bool present = !db_null(r, 0, field);
	if (strcmp(field, "result") == 0)
		present = strcmp(db_col(r, 0, "status"), "COMPLETED") == 0;
	else if (strcmp(field, "failure") == 0)
		present = present && strcmp(db_col(r, 0, field), "null") != 0;
	if (present)
		rc = buf_printf(out, "%s\n", db_col(r, 0, field));
	PQclear(r);
	return rc;
}

/*
 * One JSON line per activity task of the queue (scheduled, started or in
 * backoff), in task order, without tokens: seeing a task must not let anyone
 * complete it. Capped so that a runaway queue cannot exhaust the daemon.
 */
#define MAX_TASK_LINES 100000
static int render_queue_tasks(const char *queue, struct buf *out, struct db_err *e)
{
	char after[24] = "0";
	int rc = 0, total = 0;
	for (;;) {
		const char *p[] = { queue, conf.ns, after };
		PGresult *r;
		rc = db_query(&r, e, true, &sql_queue_tasks, p);
		if (rc)
			return rc;
		int n = PQntuples(r);
		for (int i = 0; i < n && rc == 0; i++)
			rc = buf_printf(out, "%s\n", db_col(r, i, "task"));
		if (n > 0)
			snprintf(after, sizeof after, "%s", db_col(r, n - 1, "task_id"));
		PQclear(r);
		total += n;
		if (rc || n < 1000 || total >= MAX_TASK_LINES)
			return rc;
	}
}

int schedule_exists(const char *id, struct db_err *e)
{
	const char *p[] = { id, conf.ns };
	return db_run(e, true, &sql_schedule_exists, p);
}

int render_column(const struct sql_call *call, const char *const *p, const char *file,
		  struct buf *out, struct db_err *e)
{
	if (!sql_returns(call, file))
		return -ENOENT;
	PGresult *r;
	int rc = db_query(&r, e, true, call, p);
	if (rc)
		return rc;
	if (PQntuples(r) != 1)
		rc = -ENOENT;
	else if (!db_null(r, 0, file))
		rc = buf_printf(out, "%s\n", db_col(r, 0, file));
	PQclear(r);
	return rc;
}

/* A pending activity of the workflow's latest run; ENOENT once it finished. */
int activity_exists(const char *wf, const char *activity_id, struct db_err *e)
{
	struct buf b = { 0 };
	int rc = activity_field(wf, activity_id, "state", &b, e);
	buf_free(&b);
	return rc;
}

/* paused: true or false; last_failure, options, info: JSON; the rest one value. */
int activity_field(const char *wf, const char *activity_id, const char *file, struct buf *out,
		   struct db_err *e)
{
	const char *p[] = { wf, activity_id, conf.ns };
	return render_column(&sql_activity_files, p, file, out, e);
}

/* A queue's limit, or a fairness key's (key not NULL): the number, or "none". */
static int render_queue_limit(const char *queue, const char *key, const char *file, struct buf *out,
			      struct db_err *e)
{
	if (!sql_returns(&sql_queue_limits, file))
		return -ENOENT;
	const char *p[] = { conf.ns, queue, key };
	PGresult *r;
	int rc = db_query(&r, e, true, &sql_queue_limits, p);
	if (rc)
		return rc;
	rc = buf_printf(out, "%s\n", PQntuples(r) == 1 && !db_null(r, 0, file) ? db_col(r, 0, file) : "none");
	PQclear(r);
	return rc;
}

/* A queue's build id rules: "<default build id> <mode>", or "none". */
static int render_queue_builds(const char *queue, struct buf *out, struct db_err *e)
{
	const char *p[] = { conf.ns, queue };
	PGresult *r;
	int rc = db_query(&r, e, true, &sql_queue_build_rules, p);
	if (rc)
		return rc;
	if (PQntuples(r) == 1)
		rc = buf_printf(out, "%s %s\n", db_col(r, 0, "default_build_id"), db_col(r, 0, "mode"));
	else
		rc = buf_puts(out, "none\n");
	PQclear(r);
	return rc;
}

/* spec, action, info: JSON; paused: true or false; next_runs: one time a line */
static int render_schedule_file(const char *id, const char *file, struct buf *out,
				struct db_err *e)
{
	const char *p[] = { id, conf.ns };
	return render_column(&sql_schedule_files, p, file, out, e);
}

static int render_queue_file(const char *queue, const char *file, struct buf *out,
			     struct db_err *e)
{
	if (strcmp(file, "tasks") == 0)
		return render_queue_tasks(queue, out, e);
	const char *p[] = { conf.ns, queue };
	PGresult *r;
	int rc = db_query(&r, e, true, &sql_queue_state, p);
	if (rc)
		return rc;
	bool found = PQntuples(r) == 1;
	if (strcmp(file, "backlog") == 0)
		rc = buf_printf(out, "workflow %s\nactivity %s\nrunning %s\n",
				found ? db_col(r, 0, "workflow_backlog") : "0",
				found ? db_col(r, 0, "activity_backlog") : "0",
				found ? db_col(r, 0, "activities_running") : "0");
	else
		rc = buf_printf(out, "%s\n", found ? db_col(r, 0, "pollers") : "[]");
	PQclear(r);
	return rc;
}

/* Prometheus label values escape backslash, quote and newline. */
static void label(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			buf_printf(out, "\\%c", *s);
		else if (*s == '\n')
			buf_puts(out, "\\n");
		else
			buf_append(out, s, 1);
	}
}

static int render_metrics(struct buf *out, struct db_err *e)
{
	const char *p[] = { conf.ns };
	PGresult *r;
	int rc = db_query(&r, e, true, &sql_queue_metrics, p);
	if (rc)
		return rc;
	static const struct { const char *name, *help, *column; } gauges[] = {
		{ "durable_task_queue_workflow_backlog", "Workflow tasks waiting for a worker.", "workflow_backlog" },
		{ "durable_task_queue_activity_backlog", "Activity tasks waiting for a worker.", "activity_backlog" },
		{ "durable_task_queue_activities_running", "Activity tasks leased by a worker.", "activities_running" },
		{ "durable_task_queue_pollers", "Pollers seen recently.", "pollers" },
	};
	for (size_t m = 0; m < sizeof gauges / sizeof gauges[0]; m++) {
		buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", gauges[m].name, gauges[m].help, gauges[m].name);
		for (int i = 0; i < PQntuples(r); i++) {
			buf_printf(out, "%s{namespace=\"", gauges[m].name);
			label(out, conf.ns);
			buf_puts(out, "\",task_queue=\"");
			label(out, db_col(r, i, "task_queue"));
			buf_printf(out, "\"} %s\n", db_col(r, i, gauges[m].column));
		}
	}
	PQclear(r);
	/* a full scan in the store: fine for a scrape, not for every stat */
	if (db_query(&r, e, true, &sql_workflow_counts, p) == 0) {
		buf_puts(out, "# HELP durable_workflows Workflow ids by the status of their latest run.\n"
			      "# TYPE durable_workflows gauge\n");
		for (int i = 0; i < PQntuples(r); i++) {
			buf_puts(out, "durable_workflows{namespace=\"");
			label(out, conf.ns);
			buf_printf(out, "\",status=\"%s\"} %s\n", db_col(r, i, "status"), db_col(r, i, "workflows"));
		}
		PQclear(r);
	}
	buf_printf(out,
		   "# HELP durablefs_db_queries_total Statements durablefs sent.\n"
		   "# TYPE durablefs_db_queries_total counter\ndurablefs_db_queries_total %ld\n"
		   "# HELP durablefs_db_errors_total Statements or connections that failed.\n"
		   "# TYPE durablefs_db_errors_total counter\ndurablefs_db_errors_total %ld\n"
		   "# HELP durablefs_db_connects_total Connections opened.\n"
		   "# TYPE durablefs_db_connects_total counter\ndurablefs_db_connects_total %ld\n"
		   "# HELP durablefs_inodes Inodes the kernel holds.\n"
		   "# TYPE durablefs_inodes gauge\ndurablefs_inodes %ld\n",
		   atomic_load(&db_stat_queries), atomic_load(&db_stat_errors),
		   atomic_load(&db_stat_connects), nodes_count());
	return 0;
}

int content_render(const struct node *n, struct buf *out, struct db_err *e)
{
	switch (n->kind) {
	case K_README:
		return buf_puts(out, readme);
	case K_METRICS:
		return render_metrics(out, e);
	case K_LASTERR:
		return lasterr_get(n->name, out);
	case K_FIELD:
		return workflow_field(n->wf, n->run, n->name, out, e);
	case K_QFILE:
		return render_queue_file(n->wf, n->name, out, e);
	case K_SFILE: case K_SDOC:
		return render_schedule_file(n->wf, n->name, out, e);
	case K_AFILE: case K_AOPTS:
		return activity_field(n->wf, n->run, n->name, out, e);
	case K_QLIMIT: case K_KLIMIT:
		return render_queue_limit(n->wf, n->kind == K_KLIMIT ? n->run : NULL, n->name, out, e);
	case K_BFILE:
		return batch_render(n->wf, n->name, out, e);
	case K_SATTRS:
		return sattr_render(out, e);
	case K_QBUILD:
		return render_queue_builds(n->wf, out, e);
	default:
		return 0;
	}
}

/* A query or an update of node n: one statement that blocks up to
 * conf.query_timeout_ms while a worker answers; its JSON answer and a
 * newline go to out. Not retried: a retry would ask the worker twice. */
static int ask_worker(const struct sql_call *call, const struct node *n, const char *args,
		      struct buf *out, struct db_err *e)
{
	char timeout[24];
	snprintf(timeout, sizeof timeout, "%d", conf.query_timeout_ms);
	const char *p[] = { n->wf, n->name, n->run, timeout, conf.ns, args };
	PGresult *r;
	int rc = db_query(&r, e, false, call, p);
	if (rc)
		return rc;
	rc = buf_printf(out, "%s\n", db_null(r, 0, "answer") ? "null" : db_col(r, 0, "answer"));
	PQclear(r);
	return rc;
}

int content_query(const struct node *n, const char *args, struct buf *out, struct db_err *e)
{
	return ask_worker(&sql_query_workflow, n, args, out, e);
}

/* An update: validated by a worker, recorded, run by the workflow, its
 * result read back. Each read is one update (a fresh update id). */
int content_update(const struct node *n, const char *args, struct buf *out, struct db_err *e)
{
	return ask_worker(&sql_update_workflow, n, args, out, e);
}
